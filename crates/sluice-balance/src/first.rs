//! `balance first`: fill the server with the lowest id, then the next.

use crate::algorithm::{Algorithm, RequestKey};
use crate::snapshot::{ServerId, ServerState, Snapshot};

/// The first server by id that still has a free connection slot.
///
/// Weights are ignored (beyond 0 meaning "not balanced"). A server without `maxconn` is never
/// full, so it takes everything once reached. When every candidate is full, `select` returns
/// `None` and the caller queues the request.
///
/// Shared state: none; reads each server's connection counter in id order.
#[derive(Debug)]
pub struct First {
    by_id: Vec<ServerState>,
}

impl Algorithm for First {
    type Params = ();

    fn build(_: &(), snapshot: &Snapshot) -> Self {
        let mut by_id = snapshot.candidates().to_vec();
        by_id.sort_by_key(|s| s.id);
        First { by_id }
    }

    #[inline]
    fn select(&self, _: &RequestKey<'_>) -> Option<ServerId> {
        self.by_id.iter().find(|s| !s.is_full()).map(|s| s.id)
    }
}
