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

fn main() {
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    std::process::exit(sluice::main_with(&argv));
}
