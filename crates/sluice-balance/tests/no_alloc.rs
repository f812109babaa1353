//! `select` allocates nothing: counted with a global allocator, on this thread only.

mod common;

use common::*;
use sluice_balance::{
    parse_hash_type, Algorithm, Balance, Balancer, RequestKey, ServerState, Snapshot,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::{IpAddr, Ipv4Addr};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn select_does_not_allocate() {
    // The counter does see allocations.
    let before = allocations();
    std::hint::black_box(Box::new(1u8));
    assert!(allocations() > before);

    let cases: &[(&[&str], &[&str], u32)] = &[
        (&["roundrobin"], &["map-based"], 0),
        (&["static-rr"], &["map-based"], 0),
        (&["leastconn"], &["map-based"], 0),
        (&["first"], &["map-based"], 0),
        (&["random(3)"], &["map-based"], 150),
        (&["source"], &["consistent"], 0),
        (&["uri", "depth", "2", "path-only"], &["consistent"], 125),
        (&["url_param", "uid"], &["map-based", "crc32"], 0),
        (
            &["hdr(host)", "use_domain_only"],
            &["map-based", "wt6", "avalanche"],
            0,
        ),
        (&["rdp-cookie"], &["consistent", "djb2"], 0),
        (&["hash", "req.cookie(id)"], &["map-based", "none"], 0),
    ];
    for (words, hash_type, factor) in cases {
        let servers: Vec<ServerState> = weighted(&[3, 1, 2, 5]);
        let balance = Balance::parse(words)
            .expect("valid")
            .with_hash_type(parse_hash_type(hash_type).expect("valid"))
            .with_hash_balance_factor(*factor);
        let b = Balancer::build(&balance, &Snapshot::new(servers, false));
        let keys = [
            RequestKey::new(),
            RequestKey::new()
                .with_source(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)))
                .with_uri(b"http://h/a/b/c?uid=42")
                .with_header(b"www.example.com")
                .with_rdp_cookie(b"user1")
                .with_sample(b"1234"),
        ];
        // Warm up (the random generator seeds itself on first use).
        b.select(&keys[0]);
        let before = allocations();
        for key in keys.iter().cycle().take(1000) {
            std::hint::black_box(b.select(key));
        }
        assert_eq!(allocations() - before, 0, "{words:?} allocated");
    }
}
