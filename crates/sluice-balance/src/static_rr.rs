//! `balance static-rr`: round robin over a map computed once.

use crate::algorithm::{Algorithm, RequestKey};
use crate::schedule::Rotation;
use crate::snapshot::{ServerId, Snapshot};

/// Static weighted round robin.
///
/// In HAProxy, `static-rr` differs from `roundrobin` by ignoring weight changes made at run
/// time and by having no limit on the number of servers. Here both algorithms walk the same
/// precomputed cycle, rebuilt with the snapshot, with the backend's shared position, so they
/// choose alike.
///
/// Shared state: one position counter, one relaxed `fetch_add` per selection.
#[derive(Debug)]
pub struct StaticRr {
    rotation: Rotation,
}

impl Algorithm for StaticRr {
    type Params = ();

    fn build(_: &(), snapshot: &Snapshot) -> Self {
        StaticRr {
            rotation: Rotation::new(snapshot.candidates(), snapshot.turn()),
        }
    }

    #[inline]
    fn select(&self, _: &RequestKey<'_>) -> Option<ServerId> {
        self.rotation.pick()
    }
}
