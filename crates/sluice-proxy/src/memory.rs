//! Giving memory back to the system after a burst.
//!
//! The allocator is the binary's choice (`crates/sluice`), so the data plane only knows a
//! hook: the binary installs a function that returns the calling thread's freed pages to the
//! system (jemalloc: flush the thread's cache, purge its arena). A worker thread calls it
//! after it dropped the free buffers a burst of simultaneous requests left
//! (`Ctx::trim_scratch`): an idle process would otherwise keep their pages, since the
//! allocator returns pages only while it is being called.

use std::sync::OnceLock;

static RELEASE: OnceLock<fn()> = OnceLock::new();

/// Installs the function that gives the calling thread's freed pages back (once per
/// process; later calls are ignored).
pub fn set_release(f: fn()) {
    let _ = RELEASE.set(f);
}

/// Gives the calling thread's freed pages back, when a hook is installed.
pub fn release() {
    if let Some(f) = RELEASE.get() {
        f();
    }
}
