//! Nanoseconds per `select` for each algorithm, with 10 and 100 servers, on one thread.
//!
//! For later comparison between versions, not a claim about speed: run it in release mode
//! on a quiet machine (`cargo run --release -p sluice-balance --example select_bench`).

use sluice_balance::{
    parse_hash_type, Algorithm, Balance, Balancer, RequestKey, ServerState, Snapshot,
};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

const ROUNDS: u32 = 2_000_000;

fn main() {
    let algorithms: &[(&str, &[&str], &[&str])] = &[
        ("roundrobin", &["roundrobin"], &["map-based"]),
        ("static-rr", &["static-rr"], &["map-based"]),
        ("leastconn", &["leastconn"], &["map-based"]),
        ("first", &["first"], &["map-based"]),
        ("random(2)", &["random"], &["map-based"]),
        ("source map-based", &["source"], &["map-based"]),
        ("source consistent", &["source"], &["consistent"]),
        ("uri map-based", &["uri"], &["map-based"]),
        ("uri consistent", &["uri"], &["consistent"]),
        ("url_param", &["url_param", "uid"], &["map-based"]),
        (
            "hdr(host)",
            &["hdr(host)", "use_domain_only"],
            &["consistent"],
        ),
    ];
    let uris: Vec<String> = (0..1024)
        .map(|i| format!("/static/img/{i}.png?uid={i}"))
        .collect();
    let hosts: Vec<String> = (0..1024).map(|i| format!("www.site{i}.example")).collect();
    println!(
        "{:<20} {:>12} {:>12}",
        "algorithm", "10 servers", "100 servers"
    );
    for (name, words, hash_type) in algorithms {
        let mut row = format!("{name:<20}");
        for n in [10u32, 100] {
            let servers = (1..=n)
                .map(|i| ServerState::new(i).weight((i % 4 + 1) as u16 * 10))
                .collect();
            let balance = Balance::parse(words)
                .expect("valid words")
                .with_hash_type(parse_hash_type(hash_type).expect("valid hash type"));
            let b = Balancer::build(&balance, &Snapshot::new(servers, false));
            let start = Instant::now();
            for i in 0..ROUNDS {
                let k = (i & 1023) as usize;
                let key = RequestKey::new()
                    .with_source(IpAddr::V4(Ipv4Addr::from(i.wrapping_mul(2_654_435_761))))
                    .with_uri(uris.get(k).map_or(&b"/"[..], |u| u.as_bytes()))
                    .with_header(hosts.get(k).map_or(&b""[..], |h| h.as_bytes()));
                black_box(b.select(black_box(&key)));
            }
            let ns = start.elapsed().as_nanos() as f64 / f64::from(ROUNDS);
            row.push_str(&format!(" {ns:>9.1} ns"));
        }
        println!("{row}");
    }
}
