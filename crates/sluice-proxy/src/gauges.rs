//! Live counts and rates that sample fetches read: connections open on the process, a
//! frontend and each of its listeners (`act_conn`, `fe_conn`, `dst_conn`), sessions and
//! requests per second (`fe_sess_rate`, `fe_req_rate`, `be_sess_rate`, `srv_sess_rate`),
//! and whether the process is stopping (`stopping`).
//!
//! Shared by every thread: an update is one relaxed atomic operation, off the per-byte path
//! (once per connection, request or server choice).

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Connections open on the process.
static ACT_CONN: AtomicI64 = AtomicI64::new(0);
/// A stop has begun.
static STOPPING: AtomicBool = AtomicBool::new(false);

/// Connections open on the process now.
pub fn act_conn() -> i64 {
    ACT_CONN.load(Ordering::Relaxed)
}

/// Whether a stop has begun.
pub fn stopping() -> bool {
    STOPPING.load(Ordering::Relaxed)
}

/// Notes that a stop has begun.
pub fn set_stopping() {
    STOPPING.store(true, Ordering::Relaxed);
}

/// Events per second: the current second's count, plus the previous second's weighted by
/// the part of it still within the last second (HAProxy's frequency counters read the
/// same way).
#[derive(Debug, Default)]
pub struct Rate {
    /// The second the counts are for (seconds since the epoch) in the high bits, the
    /// current second's count in the low 32 bits: one word, updated in one operation.
    current: AtomicU64,
    /// The previous second's count.
    previous: AtomicU64,
}

const COUNT_BITS: u32 = 32;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;

/// Milliseconds since the epoch.
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Rate {
    /// Counts one event now.
    pub fn hit(&self) {
        self.hit_at(now_ms());
    }

    fn hit_at(&self, ms: u64) {
        let second = ms / 1000;
        let mut word = self.current.load(Ordering::Relaxed);
        loop {
            let (at, count) = (word >> COUNT_BITS, word & COUNT_MASK);
            let next = if at == second {
                (second << COUNT_BITS) | (count + 1).min(COUNT_MASK)
            } else {
                (second << COUNT_BITS) | 1
            };
            match self.current.compare_exchange_weak(
                word,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    if at != second {
                        // The count of the second before, or none after a gap.
                        let kept = if at + 1 == second { count } else { 0 };
                        self.previous.store(kept, Ordering::Relaxed);
                    }
                    return;
                }
                Err(w) => word = w,
            }
        }
    }

    /// Events over the last second.
    pub fn per_second(&self) -> i64 {
        self.per_second_at(now_ms())
    }

    fn per_second_at(&self, ms: u64) -> i64 {
        let second = ms / 1000;
        let word = self.current.load(Ordering::Relaxed);
        let (at, count) = (word >> COUNT_BITS, word & COUNT_MASK);
        let (current, previous) = if at == second {
            (count, self.previous.load(Ordering::Relaxed))
        } else if at + 1 == second {
            (0, count)
        } else {
            (0, 0)
        };
        let left = 1000 - ms % 1000;
        i64::try_from(current + previous * left / 1000).unwrap_or(i64::MAX)
    }
}

/// What is counted of a frontend.
#[derive(Debug, Default)]
pub struct FrontendGauges {
    /// Connections open on the frontend.
    pub conn: AtomicI64,
    /// By bind index: connections open on the listener.
    pub per_bind: Box<[AtomicI64]>,
    /// Sessions (accepted connections) per second.
    pub sessions: Rate,
    /// HTTP requests per second.
    pub requests: Rate,
}

impl FrontendGauges {
    /// The gauges of a frontend of `binds` bind lines.
    pub fn new(binds: usize) -> FrontendGauges {
        FrontendGauges {
            per_bind: (0..binds).map(|_| AtomicI64::new(0)).collect(),
            ..FrontendGauges::default()
        }
    }
}

/// What is counted of a backend.
#[derive(Debug, Default)]
pub struct BackendGauges {
    /// Streams sent to the backend per second.
    pub sessions: Rate,
    /// By server position: streams sent to the server per second.
    pub servers: Box<[Rate]>,
}

impl BackendGauges {
    /// The gauges of a backend of `servers` servers.
    pub fn new(servers: usize) -> BackendGauges {
        BackendGauges {
            sessions: Rate::default(),
            servers: (0..servers).map(|_| Rate::default()).collect(),
        }
    }
}

/// A connection accepted by frontend `fe` on bind line `bind`: counted until
/// [`conn_closed`].
pub fn conn_opened(plan: &crate::plan::Plan, fe: usize, bind: Option<usize>) {
    ACT_CONN.fetch_add(1, Ordering::Relaxed);
    if let Some(g) = plan.frontend(fe).map(|f| &f.gauges) {
        g.conn.fetch_add(1, Ordering::Relaxed);
        g.sessions.hit();
        if let Some(b) = bind.and_then(|b| g.per_bind.get(b)) {
            b.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The connection [`conn_opened`] counted closed.
pub fn conn_closed(plan: &crate::plan::Plan, fe: usize, bind: Option<usize>) {
    ACT_CONN.fetch_sub(1, Ordering::Relaxed);
    if let Some(g) = plan.frontend(fe).map(|f| &f.gauges) {
        g.conn.fetch_sub(1, Ordering::Relaxed);
        if let Some(b) = bind.and_then(|b| g.per_bind.get(b)) {
            b.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// Counts a request received by frontend `fe`.
pub fn on_request(plan: &crate::plan::Plan, fe: usize) {
    if let Some(f) = plan.frontend(fe) {
        f.gauges.requests.hit();
    }
}

/// Counts a stream sent to server `server` of backend `be`.
pub fn on_server_chosen(plan: &crate::plan::Plan, be: usize, server: usize) {
    if let Some(b) = plan.backend(be) {
        b.gauges.sessions.hit();
        if let Some(r) = b.gauges.servers.get(server) {
            r.hit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_counts_the_last_second() {
        let r = Rate::default();
        assert_eq!(r.per_second_at(10_000), 0);
        for _ in 0..4 {
            r.hit_at(10_100);
        }
        assert_eq!(r.per_second_at(10_900), 4);
        // Half of the previous second still counts halfway through the next one.
        r.hit_at(11_500);
        assert_eq!(r.per_second_at(11_500), 1 + 2);
        // Two seconds later, nothing.
        assert_eq!(r.per_second_at(13_000), 0);
        // After a gap the previous count is forgotten.
        r.hit_at(20_000);
        assert_eq!(r.per_second_at(20_000), 1);
    }
}
