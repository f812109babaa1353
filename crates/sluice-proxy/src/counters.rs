//! Per-thread counters, summed on read.
//!
//! Each thread owns one [`ThreadCounters`] and is its only writer: an increment is a relaxed
//! load and store, no locked instruction, no cache line shared with another writer. Readers
//! (stats, tests) sum every thread's values with [`Totals::sum`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// What is counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Counter {
    /// Client connections accepted.
    Accepted,
    /// HTTP requests received (complete heads).
    Requests,
    /// Connections opened to servers.
    ServerConnects,
    /// Idle server connections reused.
    ServerReuses,
    /// Error responses sent by Sluice itself.
    ErrorResponses,
    /// Failed connection attempts to servers.
    ConnectErrors,
    /// Connections closed for a missing or malformed PROXY header (`accept-proxy`).
    ProxyHeaderErrors,
    /// Connections closed before or during a failed TLS handshake (`bind ... ssl`).
    TlsHandshakeErrors,
    /// Failed TLS handshakes with servers (`server ... ssl`), counted in `ConnectErrors` too.
    ServerTlsErrors,
}

const COUNT: usize = 9;

/// One thread's counters (cache-line aligned so threads do not share a line).
#[derive(Debug, Default)]
#[repr(align(64))]
pub struct ThreadCounters {
    values: [AtomicU64; COUNT],
    /// Per-proxy and per-server traffic.
    pub traffic: TrafficTable,
}

impl ThreadCounters {
    /// Counters with a traffic table for `proxies` proxies of `servers(i)` servers each.
    pub fn with_traffic(proxies: usize, servers: impl Fn(usize) -> usize) -> ThreadCounters {
        ThreadCounters {
            values: Default::default(),
            traffic: TrafficTable::new(proxies, servers),
        }
    }

    /// Adds one; only the owning thread calls it.
    #[inline]
    pub fn incr(&self, c: Counter) {
        if let Some(v) = self.values.get(c as usize) {
            v.store(v.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
        }
    }

    /// The current value.
    pub fn get(&self, c: Counter) -> u64 {
        self.values
            .get(c as usize)
            .map_or(0, |v| v.load(Ordering::Relaxed))
    }
}

/// The counters of every thread of a worker.
#[derive(Clone, Debug, Default)]
pub struct Totals {
    pub(crate) threads: Vec<Arc<ThreadCounters>>,
}

impl Totals {
    /// The sum over all threads.
    pub fn sum(&self, c: Counter) -> u64 {
        self.threads.iter().map(|t| t.get(c)).sum()
    }

    /// The sum over all threads of one traffic counter.
    pub fn traffic(&self, row: Row, t: Traffic) -> u64 {
        self.threads
            .iter()
            .filter_map(|th| th.traffic.row(row))
            .map(|r| r.get(t))
            .sum()
    }
}

/// What is counted of the traffic of a proxy side or a server (`show stat`'s cumulative
/// columns).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Traffic {
    /// Sessions: client connections for a frontend, streams for a backend or server.
    Sessions,
    /// HTTP requests (frontends).
    Requests,
    /// Times the balancer chose the server (backends: streams sent to a server).
    Chosen,
    BytesIn,
    BytesOut,
    Http1xx,
    Http2xx,
    Http3xx,
    Http4xx,
    Http5xx,
    HttpOther,
    /// Requests denied by a rule.
    DeniedRequests,
    /// Invalid, incomplete or timed-out requests.
    RequestErrors,
    /// Failed connections to servers.
    ConnectErrors,
    /// Failed or missing server responses.
    ResponseErrors,
    /// Connection retries.
    Retries,
    /// Redispatches to another server.
    Redispatches,
    /// Response bytes fed to the compressor (`comp_in`).
    CompIn,
    /// Compressed bytes it gave (`comp_out`).
    CompOut,
    /// Responses compressed (`comp_rsp`).
    CompResponses,
}

const TRAFFIC: usize = 20;

/// One row of traffic counters.
#[derive(Debug, Default)]
pub struct TrafficRow([AtomicU64; TRAFFIC]);

impl TrafficRow {
    /// Adds `n`; only the owning thread writes.
    #[inline]
    pub fn add(&self, t: Traffic, n: u64) {
        if let Some(v) = self.0.get(t as usize) {
            v.store(v.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
        }
    }

    pub fn get(&self, t: Traffic) -> u64 {
        self.0
            .get(t as usize)
            .map_or(0, |v| v.load(Ordering::Relaxed))
    }
}

/// One thread's traffic counters: a frontend row and a backend row per proxy, a row per
/// server. Written by the thread alone, summed over threads on read ([`Totals::traffic`]).
#[derive(Debug, Default)]
pub struct TrafficTable {
    frontends: Box<[TrafficRow]>,
    backends: Box<[TrafficRow]>,
    /// By proxy index, one row per server of the backend.
    servers: Box<[Box<[TrafficRow]>]>,
}

/// Which row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Row {
    Frontend(usize),
    Backend(usize),
    Server(usize, usize),
}

impl TrafficTable {
    /// Rows for `proxies` proxies, proxy `i` having `servers(i)` servers.
    pub fn new(proxies: usize, servers: impl Fn(usize) -> usize) -> TrafficTable {
        let rows = |n: usize| (0..n).map(|_| TrafficRow::default()).collect();
        TrafficTable {
            frontends: rows(proxies),
            backends: rows(proxies),
            servers: (0..proxies).map(|i| rows(servers(i))).collect(),
        }
    }

    pub fn row(&self, r: Row) -> Option<&TrafficRow> {
        match r {
            Row::Frontend(p) => self.frontends.get(p),
            Row::Backend(p) => self.backends.get(p),
            Row::Server(p, s) => self.servers.get(p)?.get(s),
        }
    }
}

thread_local! {
    /// The running thread's traffic table (set when a worker thread starts).
    static THREAD_TRAFFIC: std::cell::RefCell<Option<Arc<ThreadCounters>>> =
        const { std::cell::RefCell::new(None) };
}

/// Makes `counters` the table this thread's traffic is counted in.
pub fn install_thread(counters: Arc<ThreadCounters>) {
    THREAD_TRAFFIC.with(|t| *t.borrow_mut() = Some(counters));
}

/// Runs `f` on this thread's traffic table, when the thread is a worker thread.
#[inline]
pub fn with_traffic(f: impl FnOnce(&TrafficTable)) {
    THREAD_TRAFFIC.with(|t| {
        if let Ok(t) = t.try_borrow() {
            if let Some(c) = t.as_ref() {
                f(&c.traffic);
            }
        }
    });
}
