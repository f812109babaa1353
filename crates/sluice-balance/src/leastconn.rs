//! `balance leastconn`: the server with the fewest connections for its weight.

use crate::algorithm::{Algorithm, RequestKey};
use crate::snapshot::{ServerId, ServerState, Snapshot};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Least connections, weighted.
///
/// A server's load is `(connections + 1) / weight`: the load it would have with this request,
/// as HAProxy counts it, so that between idle servers the heavier one goes first. Among equal
/// loads the choice rotates, so that all servers get used.
///
/// Shared state: a rotation counter (one relaxed `fetch_add` per selection) giving where the
/// scan starts, and each server's connection counter (relaxed loads). The scan is O(servers):
/// HAProxy keeps a tree updated on every connection change instead; reading the counters
/// keeps the connection path free of balancer work, and for the farm sizes seen in practice
/// (tens of servers) the scan is a few nanoseconds per server.
#[derive(Debug)]
pub struct LeastConn {
    candidates: Vec<ServerState>,
    next: AtomicUsize,
}

impl Algorithm for LeastConn {
    type Params = ();

    fn build(_: &(), snapshot: &Snapshot) -> Self {
        LeastConn {
            candidates: snapshot.candidates().to_vec(),
            next: AtomicUsize::new(0),
        }
    }

    fn select(&self, _: &RequestKey<'_>) -> Option<ServerId> {
        let n = self.candidates.len();
        if n == 0 {
            return None;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        // From `start` to the end, then from the beginning: no division per server.
        let (head, tail) = self.candidates.split_at(start.min(n));
        let mut best: Option<(&ServerState, u64)> = None;
        for s in tail.iter().chain(head) {
            let current = s.current();
            if s.maxconn != 0 && current >= s.maxconn {
                continue;
            }
            let load = u64::from(current) + 1;
            let weight = u64::from(s.effective_weight());
            // load / weight < best_load / best_weight, without division.
            match best {
                Some((b, b_load)) if load * u64::from(b.effective_weight()) >= b_load * weight => {}
                _ => best = Some((s, load)),
            }
        }
        best.map(|(s, _)| s.id)
    }
}
