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
    let global = match global {
        Some(s) => Some(s.clone().acquire_owned().await.ok()?),
        None => None,
    };
    let frontend = match frontend {
        Some(s) => Some(s.clone().acquire_owned().await.ok()?),
        None => None,
    };
    Some(Permits { global, frontend })
}
