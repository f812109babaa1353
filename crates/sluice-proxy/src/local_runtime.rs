//! The single-threaded runtime of a service thread (checks, peers, resolvers, log rings).

use std::future::Future;

/// Runs `service` on a current-thread runtime with a `LocalSet` (so that it can
/// `spawn_local`), until it returns; then drops the tasks it left, which closes their
/// sockets. Returns at once if the runtime cannot be built.
pub(crate) fn run_local(service: impl Future<Output = ()>) {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
    else {
        return;
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, service);
    // Inside the runtime's lifetime: the tasks' sockets deregister cleanly.
    drop(local);
}
