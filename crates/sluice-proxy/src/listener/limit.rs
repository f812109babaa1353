//! `maxconn`: the global limit and each frontend's, as semaphores shared by the threads.
//! Taken once per accepted connection (not per request), before `accept()`, so that
//! connections beyond the limit wait in the kernel's backlog as with HAProxy.

use crate::stream::Permits;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Waits for a slot under every limit that applies.
pub async fn acquire(
    global: Option<&Arc<Semaphore>>,
    frontend: Option<&Arc<Semaphore>>,
) -> Option<Permits> {
    // Each slot is held by `permits` as soon as it is taken, so that a closed semaphore
    // after the first gives the first back.
    let mut permits = Permits::none();
    if let Some(s) = global {
        permits.hold_global(s.clone().acquire_owned().await.ok()?);
    }
    if let Some(s) = frontend {
        permits.hold_frontend(s.clone().acquire_owned().await.ok()?);
    }
    Some(permits)
}
