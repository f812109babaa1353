//! `sluice`: HAProxy's command line in front of Sluice's configuration checker.

/// jemalloc: what each idle connection holds is two 128-byte-aligned blocks (tokio's task
/// cell and I/O state), which glibc's allocator pads by up to the alignment each; jemalloc's
/// size classes hold them as they are (docs/performance.md, memory per idle connection).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options (read at its first allocation; `_RJEM_MALLOC_CONF` in the environment
/// still overrides them). Pages freed after a burst of requests are given back to the
/// system after one second instead of ten, so that memory follows the connections that
/// are actually open.
#[export_name = "_rjem_malloc_conf"]
pub static ALLOCATOR_OPTIONS: &[u8; 37] = b"dirty_decay_ms:1000,muzzy_decay_ms:0\0";

/// Gives the calling thread's freed pages back to the system: its cache of freed blocks goes
/// back to its arena, and the arena's unused pages are purged. A worker thread calls it
/// after it dropped the free buffers a burst left (`sluice_proxy::memory`): jemalloc's decay
/// runs only while the allocator is called, so an idle process would keep a burst's pages.
fn release_freed_pages() {
    let mut arena: libc::c_uint = 0;
    let mut len = std::mem::size_of::<libc::c_uint>();
    // SAFETY: NUL-terminated names of documented controls; "thread.arena" writes one
    // `unsigned` into `arena` (its size is passed in `len`); the others read and write nothing.
    unsafe {
        tikv_jemalloc_sys::mallctl(
            c"thread.tcache.flush".as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        );
        if tikv_jemalloc_sys::mallctl(
            c"thread.arena".as_ptr(),
            (&mut arena as *mut libc::c_uint).cast(),
            &mut len,
            std::ptr::null_mut(),
            0,
        ) != 0
        {
            return;
        }
        let Ok(name) = std::ffi::CString::new(format!("arena.{arena}.purge")) else {
            return;
        };
        tikv_jemalloc_sys::mallctl(
            name.as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        );
    }
}

fn main() {
    sluice_proxy::memory::set_release(release_freed_pages);
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    std::process::exit(sluice::main_with(&argv));
}
