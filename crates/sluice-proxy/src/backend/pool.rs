//! The idle server connections of one thread, by server, for `http-reuse`.
//!
//! Per thread, so taking and giving back a connection is a `Vec` pop/push with no lock. A
//! connection the server closed while idle is readable (EOF): it is found out without a
//! system call from the readiness tokio already holds, and dropped.
//!
//! As HAProxy's manual says, a server's idle connections are purged progressively: every
//! `pool-purge-delay` (5 s by default) after the first one was kept, half (rounded up) of
//! those that stayed idle through a whole delay are closed, the least recently used first;
//! `pool-purge-delay 0` keeps none. `pool-max-conn` bounds the idle connections of
//! a server over all threads (-1, the default: only this pool's own bound per thread; 0: none
//! kept). The purge runs from the thread's once-a-second heartbeat ([`IdlePool::purge`]), so
//! a delay is honoured to within a second.

use crate::plan::Plan;
use crate::tls::connector::ServerStream;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Wake, Waker};
use tokio::time::Instant;

/// Most idle connections kept per server and thread.
const MAX_IDLE_PER_SERVER: usize = 256;

/// One idle connection.
#[derive(Debug)]
struct Kept {
    /// The heartbeat it was kept at.
    at: u32,
    /// It served more than one request (`http-reuse aggressive` gives those to first
    /// requests).
    proven: bool,
    /// The server's address generation when it was kept: after `set server addr` or a
    /// new DNS answer, connections to the old address are not reused.
    generation: u32,
    conn: ServerStream,
}

impl Kept {
    fn is_plain(&self) -> bool {
        matches!(self.conn, ServerStream::Plain(_))
    }
}

/// One server's idle connections on this thread.
#[derive(Debug, Default)]
struct Idle {
    /// The least recently used first, each with the heartbeat it was kept at.
    conns: Vec<Kept>,
    /// When the next purge runs (`None`: nothing idle).
    purge_at: Option<Instant>,
    /// Connections are kept at all (`pool-purge-delay` and `pool-max-conn` are not 0).
    keeps: bool,
    /// `pool-max-conn` is set: the server's count over all threads is kept up to date.
    counted: bool,
}

/// Idle connections by backend (proxy index) and server (position).
pub struct IdlePool {
    plan: Arc<Plan>,
    slots: Vec<Vec<Idle>>,
    /// Connections kept now, all servers together (the purge has nothing to do at zero).
    kept: usize,
    /// Heartbeats so far: a connection's age, counted without reading the clock.
    beats: u32,
    /// Polls readiness without registering interest in being woken.
    noop: Waker,
    /// The worker's shared counts of plain idle connections, and this thread's index
    /// (other threads take over ours through it, see [`super::takeover`]).
    shared: Option<(Arc<super::takeover::Takeover>, usize)>,
}

struct Noop;
impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

impl IdlePool {
    /// An empty pool for the plan's backends and servers.
    pub fn new(plan: Arc<Plan>) -> IdlePool {
        let slots = plan
            .backends
            .iter()
            .map(|b| {
                let servers = b.as_ref().map_or(&[][..], |b| &b.servers[..]);
                servers
                    .iter()
                    .map(|s| Idle {
                        keeps: !s.purge_delay.is_zero() && s.pool_max != Some(0),
                        counted: s.pool_max.is_some(),
                        ..Idle::default()
                    })
                    .collect()
            })
            .collect();
        IdlePool {
            plan,
            slots,
            kept: 0,
            beats: 0,
            noop: Waker::from(Arc::new(Noop)),
            shared: None,
        }
    }

    /// Publishes this thread's plain idle connections in `takeover`, as thread `thread`.
    pub fn share(&mut self, takeover: Arc<super::takeover::Takeover>, thread: usize) {
        self.shared = Some((takeover, thread));
    }

    /// The most recently used plain (TCP, not TLS) idle connection to the server, for
    /// another thread.
    pub fn take_plain(
        &mut self,
        backend: usize,
        server: usize,
        proven_only: bool,
    ) -> Option<tokio::net::TcpStream> {
        let idle = self.slots.get_mut(backend)?.get_mut(server)?;
        while let Some(at) = idle
            .conns
            .iter()
            .rposition(|k| k.is_plain() && (k.proven || !proven_only))
        {
            let kept = idle.conns.remove(at);
            let moved = self
                .plan
                .backend(backend)
                .and_then(|b| b.servers.get(server))
                .is_some_and(|s| s.address.generation() != kept.generation);
            let mut conn = kept.conn;
            self.kept -= 1;
            if idle.counted {
                if let Some(srv) = self
                    .plan
                    .backend(backend)
                    .and_then(|b| b.servers.get(server))
                {
                    srv.forget_idle(1);
                }
            }
            if let Some((t, me)) = self.shared.as_ref() {
                t.released(*me, backend, server, 1);
            }
            if !moved && still_idle(&mut conn, &self.noop) {
                if let ServerStream::Plain(tcp) = conn {
                    return Some(tcp);
                }
            }
        }
        None
    }

    /// An idle connection to the server, the most recently used first; with
    /// `proven_only`, one that served more than one request.
    #[inline]
    pub fn take(
        &mut self,
        backend: usize,
        server: usize,
        proven_only: bool,
    ) -> Option<ServerStream> {
        let idle = self.slots.get_mut(backend)?.get_mut(server)?;
        loop {
            let at = if proven_only {
                idle.conns.iter().rposition(|k| k.proven)?
            } else {
                idle.conns.len().checked_sub(1)?
            };
            let kept = idle.conns.remove(at);
            self.kept -= 1;
            if let (Some((t, me)), true) = (self.shared.as_ref(), kept.is_plain()) {
                t.released(*me, backend, server, 1);
            }
            let moved = self
                .plan
                .backend(backend)
                .and_then(|b| b.servers.get(server))
                .is_some_and(|s| s.address.generation() != kept.generation);
            let mut conn = kept.conn;
            if idle.counted {
                if let Some(srv) = self
                    .plan
                    .backend(backend)
                    .and_then(|b| b.servers.get(server))
                {
                    srv.forget_idle(1);
                }
            }
            if !moved && still_idle(&mut conn, &self.noop) {
                return Some(conn);
            }
        }
    }

    /// Keeps a connection whose last response was read completely, unless the server's
    /// `pool-max-conn` or `pool-purge-delay 0` says to close it (dropped: closed).
    /// `proven`: it has served more than one request.
    #[inline]
    pub fn put(&mut self, backend: usize, server: usize, conn: ServerStream, proven: bool) {
        let Some(idle) = self.slots.get_mut(backend).and_then(|b| b.get_mut(server)) else {
            return;
        };
        if !idle.keeps || idle.conns.len() >= MAX_IDLE_PER_SERVER {
            return;
        }
        let srv = || {
            self.plan
                .backend(backend)
                .and_then(|b| b.servers.get(server))
        };
        if idle.counted {
            let Some(srv) = srv() else { return };
            if srv
                .pool_max
                .is_some_and(|max| srv.idle.load(Ordering::Relaxed) >= max)
            {
                return;
            }
            srv.idle.fetch_add(1, Ordering::Relaxed);
        }
        if idle.purge_at.is_none() {
            let Some(srv) = srv() else { return };
            idle.purge_at = Some(Instant::now() + srv.purge_delay);
        }
        let generation = srv().map_or(0, |s| s.address.generation());
        let kept = Kept {
            at: self.beats,
            proven,
            generation,
            conn,
        };
        if let (Some((t, me)), true) = (self.shared.as_ref(), kept.is_plain()) {
            t.kept(*me, backend, server);
        }
        idle.conns.push(kept);
        self.kept += 1;
    }

    /// The heartbeat (once a second): closes, for each server whose purge time has come,
    /// half (rounded up) of the connections idle for a whole `pool-purge-delay`, the least
    /// recently used first; the next purge is one delay later while some remain.
    pub fn purge(&mut self, now: Instant) {
        self.beats = self.beats.wrapping_add(1);
        if self.kept == 0 {
            return;
        }
        let beats = self.beats;
        for (b, servers) in self.slots.iter_mut().enumerate() {
            let Some(backend) = self.plan.backend(b) else {
                continue;
            };
            for (s, (idle, srv)) in servers.iter_mut().zip(&backend.servers).enumerate() {
                if !idle.purge_at.is_some_and(|at| at <= now) {
                    continue;
                }
                // Whole beats in the delay (at least one): a connection kept more beats ago
                // than that was idle through all of it. The oldest are first.
                let delay = u32::try_from(srv.purge_delay.as_millis().div_ceil(1000))
                    .unwrap_or(u32::MAX)
                    .max(1);
                let unused = idle
                    .conns
                    .iter()
                    .take_while(|k| beats.wrapping_sub(k.at) > delay)
                    .count();
                let close = unused.div_ceil(2);
                let plain = idle.conns.drain(..close).filter(|k| k.is_plain()).count();
                if let Some((t, me)) = self.shared.as_ref() {
                    t.released(*me, b, s, plain);
                }
                self.kept -= close;
                srv.forget_idle(close);
                idle.purge_at = (!idle.conns.is_empty()).then(|| now + srv.purge_delay);
            }
        }
    }

    /// Drops every idle connection (soft stop).
    pub fn clear(&mut self) {
        for (b, servers) in self.slots.iter_mut().enumerate() {
            for (s, idle) in servers.iter_mut().enumerate() {
                if let Some(srv) = self.plan.backend(b).and_then(|b| b.servers.get(s)) {
                    srv.forget_idle(idle.conns.len());
                }
                if let Some((t, me)) = self.shared.as_ref() {
                    let plain = idle.conns.iter().filter(|k| k.is_plain()).count();
                    t.released(*me, b, s, plain);
                }
                idle.conns.clear();
                idle.purge_at = None;
            }
        }
        self.kept = 0;
    }
}

/// An idle connection must have nothing to read: readable means closed (or a protocol
/// error from the server). Uses the readiness tokio has recorded; no system call.
fn still_idle(conn: &mut ServerStream, noop: &Waker) -> bool {
    let mut cx = Context::from_waker(noop);
    conn.still_idle(&mut cx)
}
