//! Where rules plug in, one function per stage. Until the rules crate is wired, routing is
//! `use_backend` lines without a condition (in order), then `default_backend`; conditional
//! lines are skipped.

use crate::frontend::Frontend;

/// The backend (proxy index) for a request or connection of `fe`.
#[inline]
pub fn route_static(fe: &Frontend) -> Option<usize> {
    fe.routes
        .iter()
        .find(|r| !r.conditional)
        .map(|r| r.backend)
        .or(fe.default_backend)
}
