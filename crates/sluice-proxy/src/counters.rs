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
}

impl ThreadCounters {
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
}
