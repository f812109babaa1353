//! Property: whatever the servers and the request, `select` does not panic and returns only
//! a candidate of its snapshot (usable, non-zero weight, backup only when allowed).

mod common;

use proptest::prelude::*;
use sluice_balance::{
    Algorithm, Balance, Balancer, HashFunction, HashMethod, HashType, RequestKey, ServerState,
    Snapshot,
};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::Ordering;

const ALGORITHMS: &[&[&str]] = &[
    &["roundrobin"],
    &["static-rr"],
    &["leastconn"],
    &["first"],
    &["source"],
    &["uri", "whole"],
    &["uri", "len", "3", "depth", "1", "path-only"],
    &["url_param", "id"],
    &["hdr(host)", "use_domain_only"],
    &["random"],
    &["random(5)"],
    &["rdp-cookie"],
    &["hash", "req.cookie(x)"],
];

fn server() -> impl Strategy<Value = (u16, bool, bool, u32, u32)> {
    (0u16..=300, any::<bool>(), any::<bool>(), 0u32..8, 0u32..4)
}

fn hash_type() -> impl Strategy<Value = HashType> {
    (
        prop_oneof![Just(HashMethod::MapBased), Just(HashMethod::Consistent)],
        prop_oneof![
            Just(HashFunction::Sdbm),
            Just(HashFunction::Djb2),
            Just(HashFunction::Wt6),
            Just(HashFunction::Crc32),
            Just(HashFunction::None),
        ],
        any::<bool>(),
    )
        .prop_map(|(method, function, avalanche)| HashType {
            method,
            function,
            avalanche,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn select_returns_only_candidates(
        servers in prop::collection::vec(server(), 0..12),
        allbackups in any::<bool>(),
        algorithm in 0..ALGORITHMS.len(),
        hash_type in hash_type(),
        factor in prop_oneof![Just(0u32), 100u32..300],
        bytes in prop::collection::vec(any::<u8>(), 0..40),
        ip in any::<u32>(),
    ) {
        let servers: Vec<ServerState> = servers
            .iter()
            .enumerate()
            .map(|(i, &(weight, backup, usable, conns, maxconn))| {
                let s = ServerState::new(i as u32 * 37 % 11 + i as u32)
                    .weight(weight)
                    .backup(backup)
                    .usable(usable)
                    .maxconn(maxconn);
                s.connections.store(conns, Ordering::Relaxed);
                s
            })
            .collect();
        let snapshot = Snapshot::new(servers, allbackups);
        let balance = Balance::parse(ALGORITHMS[algorithm])
            .expect("valid words")
            .with_hash_type(hash_type)
            .with_hash_balance_factor(factor);
        let b = Balancer::build(&balance, &snapshot);
        let keys = [
            RequestKey::new(),
            RequestKey::new()
                .with_uri(&bytes)
                .with_header(&bytes)
                .with_url_param(&bytes)
                .with_rdp_cookie(&bytes)
                .with_sample(&bytes)
                .with_source(IpAddr::V4(Ipv4Addr::from(ip))),
        ];
        for key in keys.iter().cycle().take(20) {
            if let Some(id) = b.select(key) {
                let s = snapshot.candidates().iter().find(|s| s.id == id);
                prop_assert!(s.is_some(), "{id} is not a candidate");
                let s = s.expect("checked");
                prop_assert!(s.usable && s.weight > 0);
                prop_assert!(!s.backup || snapshot.using_backups());
            }
        }
        if snapshot.is_empty() {
            prop_assert_eq!(b.select(&keys[1]), None);
        }
    }

    #[test]
    fn parse_never_panics(words in prop::collection::vec("[a-z_()0-9-]{0,12}", 0..5)) {
        let _ = Balance::parse(&words);
        let _ = sluice_balance::parse_hash_type(&words);
    }
}
