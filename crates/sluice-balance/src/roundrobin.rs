//! `balance roundrobin`: each server in turn, as often as its weight, smoothly interleaved.

use crate::algorithm::{Algorithm, RequestKey};
use crate::schedule::Rotation;
use crate::snapshot::{ServerId, Snapshot};

/// Weighted round robin.
///
/// The cycle is computed once per snapshot: weights 2 and 1 give `a b a a b a ...`, weights
/// 5, 1 and 1 give `a a b a c a a`, never a burst of one server. Weight changes (slow start,
/// `set weight`) rebuild the snapshot; [`RoundRobin::rebuild`] keeps the position so the
/// cycle goes on rather than restarting at the first server.
///
/// Shared state: one position counter, one relaxed `fetch_add` per selection. Servers at
/// their `maxconn` are skipped; when all are, `select` returns `None` (queue).
#[derive(Debug)]
pub struct RoundRobin {
    rotation: Rotation,
}

impl RoundRobin {
    /// Builds from `snapshot`; the position is the backend's shared one, so the cycle goes
    /// on where it stopped.
    pub fn rebuild(&self, snapshot: &Snapshot) -> Self {
        RoundRobin {
            rotation: Rotation::new(snapshot.candidates(), snapshot.turn()),
        }
    }
}

impl Algorithm for RoundRobin {
    type Params = ();

    fn build(_: &(), snapshot: &Snapshot) -> Self {
        RoundRobin {
            rotation: Rotation::new(snapshot.candidates(), snapshot.turn()),
        }
    }

    #[inline]
    fn select(&self, _: &RequestKey<'_>) -> Option<ServerId> {
        self.rotation.pick()
    }
}
