//! The servers of one backend as plain data, and the set a request may go to.
//!
//! A [`Snapshot`] is built off the hot path (at start, and again whenever a server changes
//! state or weight); algorithms are then built from it. Only the connection counters are live:
//! each [`ServerState`] shares an atomic with the caller, who increments it when a connection
//! to the server opens and decrements it when it closes.

use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;

/// HAProxy's largest server weight.
pub const MAX_WEIGHT: u16 = 256;

/// A server's identifier, as HAProxy's `id` server keyword gives it (by default its position
/// in the backend, from 1).
///
/// `first` orders servers by it, and consistent hashing places servers on its ring by it, so
/// that two load balancers with the same ids send the same keys to the same servers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServerId(pub u32);

impl fmt::Display for ServerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// One server as the balancer sees it.
#[derive(Clone, Debug)]
pub struct ServerState {
    /// The server's identifier.
    pub id: ServerId,
    /// Relative share of the traffic, 0 to 256; 0 means "never chosen by balancing" (the server
    /// still takes persistent traffic, which is the caller's business). Larger values are
    /// treated as 256.
    pub weight: u16,
    /// Used only when no non-backup server is usable.
    pub backup: bool,
    /// Up, and neither in maintenance nor draining: may take new traffic.
    pub usable: bool,
    /// Connections currently open to the server. Owned by the caller; the balancer only reads it.
    pub connections: Arc<AtomicU32>,
    /// Most concurrent connections the server takes; 0 means no limit.
    pub maxconn: u32,
}

impl ServerState {
    /// A usable, non-backup server of weight 1 with no connection limit and its own counter.
    pub fn new(id: u32) -> Self {
        ServerState {
            id: ServerId(id),
            weight: 1,
            backup: false,
            usable: true,
            connections: Arc::new(AtomicU32::new(0)),
            maxconn: 0,
        }
    }

    /// Sets the weight.
    pub fn weight(mut self, weight: u16) -> Self {
        self.weight = weight;
        self
    }

    /// Marks the server as a backup server.
    pub fn backup(mut self, backup: bool) -> Self {
        self.backup = backup;
        self
    }

    /// Sets whether the server may take new traffic.
    pub fn usable(mut self, usable: bool) -> Self {
        self.usable = usable;
        self
    }

    /// Sets the connection limit (0: none).
    pub fn maxconn(mut self, maxconn: u32) -> Self {
        self.maxconn = maxconn;
        self
    }

    /// Shares the caller's connection counter instead of a private one.
    pub fn connections(mut self, counter: Arc<AtomicU32>) -> Self {
        self.connections = counter;
        self
    }

    /// Connections open now. Relaxed: a balancing decision tolerates a slightly stale count.
    #[inline]
    pub fn current(&self) -> u32 {
        self.connections.load(Ordering::Relaxed)
    }

    /// True when the server has a limit and has reached it.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.maxconn != 0 && self.current() >= self.maxconn
    }

    /// The weight used for balancing: 0 to 256.
    #[inline]
    pub(crate) fn effective_weight(&self) -> u32 {
        u32::from(self.weight.min(MAX_WEIGHT))
    }

    /// Takes part in balancing: usable and of non-zero weight.
    fn balances(&self) -> bool {
        self.usable && self.weight > 0
    }
}

/// The servers of a backend, and the candidates a new request may be balanced to.
///
/// The candidates are the usable non-backup servers of non-zero weight. When there are none,
/// they are the backup servers instead: only the first usable one in declaration order, or
/// all of them with `option allbackups`.
#[derive(Clone, Debug)]
pub struct Snapshot {
    servers: Vec<ServerState>,
    candidates: Vec<ServerState>,
    using_backups: bool,
    allbackups: bool,
    /// Round robin's position in its cycle, shared by every snapshot of the backend (each
    /// thread's, each rebuild's): the servers are taken in turn across the threads, as with
    /// HAProxy's one shared round robin, and a weight change does not restart the cycle.
    turn: Arc<AtomicUsize>,
}

impl Snapshot {
    /// Builds a snapshot from the servers in declaration order. Not for the hot path: it
    /// allocates.
    pub fn new(servers: Vec<ServerState>, allbackups: bool) -> Self {
        let mut candidates: Vec<ServerState> = servers
            .iter()
            .filter(|s| s.balances() && !s.backup)
            .cloned()
            .collect();
        let mut using_backups = false;
        if candidates.is_empty() {
            let backups = servers.iter().filter(|s| s.balances() && s.backup);
            candidates = if allbackups {
                backups.cloned().collect()
            } else {
                backups.take(1).cloned().collect()
            };
            using_backups = !candidates.is_empty();
        }
        Snapshot {
            servers,
            candidates,
            using_backups,
            allbackups,
            turn: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// This snapshot, taking servers in turn with `other` (another thread's or an earlier
    /// snapshot of the same backend).
    pub fn sharing_turn_of(mut self, other: &Snapshot) -> Self {
        self.turn = other.turn.clone();
        self
    }

    /// Round robin's shared position.
    pub(crate) fn turn(&self) -> Arc<AtomicUsize> {
        self.turn.clone()
    }

    /// Every server, in declaration order.
    pub fn servers(&self) -> &[ServerState] {
        &self.servers
    }

    /// The servers a new request may be balanced to, in declaration order.
    pub fn candidates(&self) -> &[ServerState] {
        &self.candidates
    }

    /// True when all non-backup servers are unusable and backup servers take the traffic.
    pub fn using_backups(&self) -> bool {
        self.using_backups
    }

    /// Whether `option allbackups` was given.
    pub fn allbackups(&self) -> bool {
        self.allbackups
    }

    /// True when no server can take a new request: the caller answers 503.
    ///
    /// When an algorithm's `select` returns `None` and this is false, every candidate is at
    /// its `maxconn`: the caller queues the request in the backend.
    pub fn is_empty(&self) -> bool {
        self.candidates.is_empty()
    }
}
