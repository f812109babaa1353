//! What a user checks about balancing: shares follow weights, order is smooth, backups and
//! down servers behave as HAProxy documents, hashes stick.

mod common;

use common::*;
use sluice_balance::{
    parse_hash_type, Algorithm, Balance, Balancer, RequestKey, ServerId, ServerState, Snapshot,
};
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};

#[test]
fn roundrobin_weights_3_to_1_give_75_percent() {
    for algo in ["roundrobin", "static-rr"] {
        let b = balancer(&[algo], weighted(&[3, 1]));
        let c = counts(&b, 10_000);
        let share = c.get(&1).copied().unwrap_or(0) as f64 / 10_000.0;
        assert!((share - 0.75).abs() <= 0.01, "{algo}: server 1 got {share}");
    }
}

#[test]
fn roundrobin_interleaves_smoothly() {
    let order = |weights: &[u16]| -> String {
        let b = balancer(&["roundrobin"], weighted(weights));
        (0..2 * weights.iter().map(|&w| w as usize).sum::<usize>())
            .filter_map(|_| b.select(&RequestKey::new()))
            .map(|ServerId(id)| char::from(b'a' + id as u8 - 1))
            .collect()
    };
    assert_eq!(order(&[2, 1]), "abaaba");
    assert_eq!(order(&[5, 1, 1]), "aabacaaaabacaa");
    assert_eq!(order(&[1, 1, 1]), "abcabc");
}

#[test]
fn weight_zero_is_never_chosen() {
    for algo in [
        &["roundrobin"][..],
        &["static-rr"],
        &["leastconn"],
        &["first"],
        &["random"],
        &["source"],
        &["uri"],
    ] {
        let b = balancer(algo, weighted(&[0, 1, 0, 1]));
        for i in 0..1000u32 {
            let uri = format!("/k{i}");
            let key = RequestKey::new()
                .with_uri(uri.as_bytes())
                .with_source(IpAddr::V4(Ipv4Addr::from(i)));
            let id = b.select(&key);
            assert!(
                matches!(id, Some(ServerId(2)) | Some(ServerId(4))),
                "{algo:?} chose {id:?}"
            );
        }
    }
}

#[test]
fn backup_takes_over_only_when_all_actives_are_down() {
    let servers = |a_up: bool, b_up: bool| {
        vec![
            ServerState::new(1).usable(a_up),
            ServerState::new(2).usable(b_up),
            ServerState::new(3).backup(true),
            ServerState::new(4).backup(true),
        ]
    };
    let rr = Balance::parse(&["roundrobin"]).expect("valid");

    let one_up = Balancer::build(&rr, &Snapshot::new(servers(false, true), false));
    let seen: BTreeSet<_> = (0..100)
        .filter_map(|_| one_up.select(&RequestKey::new()))
        .collect();
    assert_eq!(seen, BTreeSet::from([ServerId(2)]));

    // All actives down: only the first usable backup, without allbackups.
    let snapshot = Snapshot::new(servers(false, false), false);
    assert!(snapshot.using_backups());
    let all_down = Balancer::build(&rr, &snapshot);
    let seen: BTreeSet<_> = (0..100)
        .filter_map(|_| all_down.select(&RequestKey::new()))
        .collect();
    assert_eq!(seen, BTreeSet::from([ServerId(3)]));

    // The first backup down too: the next one.
    let mut s = servers(false, false);
    s[2].usable = false;
    let next = Balancer::build(&rr, &Snapshot::new(s, false));
    assert_eq!(next.select(&RequestKey::new()), Some(ServerId(4)));
}

#[test]
fn allbackups_balances_over_every_backup() {
    let servers = vec![
        ServerState::new(1).usable(false),
        ServerState::new(2).backup(true).weight(3),
        ServerState::new(3).backup(true).weight(1),
    ];
    let rr = Balance::parse(&["roundrobin"]).expect("valid");
    let b = Balancer::build(&rr, &Snapshot::new(servers, true));
    let c = counts(&b, 4000);
    assert_eq!(c.get(&2), Some(&3000));
    assert_eq!(c.get(&3), Some(&1000));
}

#[test]
fn no_usable_server_means_none() {
    let servers = vec![
        ServerState::new(1).usable(false),
        ServerState::new(2).weight(0),
    ];
    let snapshot = Snapshot::new(servers, true);
    assert!(snapshot.is_empty());
    for algo in [
        "roundrobin",
        "leastconn",
        "first",
        "random",
        "source",
        "uri",
    ] {
        let b = Balancer::build(&Balance::parse(&[algo]).expect("valid"), &snapshot);
        let key = RequestKey::new().with_uri(b"/x");
        assert_eq!(b.select(&key), None, "{algo}");
    }
}

#[test]
fn leastconn_picks_the_least_loaded() {
    let servers = weighted(&[1, 1, 1]);
    set_connections(&servers, 1, 5);
    set_connections(&servers, 2, 2);
    set_connections(&servers, 3, 9);
    let b = balancer(&["leastconn"], servers.clone());
    assert_eq!(b.select(&RequestKey::new()), Some(ServerId(2)));

    // Relative to weight: 6 connections on weight 4 beat 2 on weight 1.
    let servers = weighted(&[4, 1]);
    set_connections(&servers, 1, 6);
    set_connections(&servers, 2, 2);
    let b = balancer(&["leastconn"], servers);
    assert_eq!(b.select(&RequestKey::new()), Some(ServerId(1)));
}

#[test]
fn leastconn_rotates_among_equal_loads() {
    let b = balancer(&["leastconn"], weighted(&[1, 1, 1]));
    let c = counts(&b, 300);
    assert_eq!(c.values().copied().collect::<Vec<_>>(), [100, 100, 100]);
}

#[test]
fn leastconn_evens_out_open_connections() {
    let servers = weighted(&[1, 1, 1, 1]);
    let b = balancer(&["leastconn"], servers.clone());
    for _ in 0..400 {
        let id = b.select(&RequestKey::new()).expect("a server");
        open_connection(&servers, id);
    }
    for s in &servers {
        assert_eq!(s.current(), 100, "server {}", s.id);
    }
}

#[test]
fn first_fills_server_1_to_maxconn_then_server_2() {
    // Declared out of id order: `first` goes by id.
    let servers = vec![
        ServerState::new(2).maxconn(3),
        ServerState::new(1).maxconn(3),
        ServerState::new(3).maxconn(3),
    ];
    let b = balancer(&["first"], servers.clone());
    let mut order = Vec::new();
    for _ in 0..9 {
        let id = b.select(&RequestKey::new()).expect("a free slot");
        open_connection(&servers, id);
        order.push(id.0);
    }
    assert_eq!(order, [1, 1, 1, 2, 2, 2, 3, 3, 3]);
    // All full: none, and the caller queues.
    assert_eq!(b.select(&RequestKey::new()), None);
    // Server 1 frees a slot: it gets the next request.
    set_connections(&servers, 1, 2);
    assert_eq!(b.select(&RequestKey::new()), Some(ServerId(1)));
}

#[test]
fn roundrobin_skips_servers_at_maxconn() {
    let servers = vec![ServerState::new(1).maxconn(1), ServerState::new(2)];
    set_connections(&servers, 1, 1);
    let b = balancer(&["roundrobin"], servers.clone());
    assert!((0..10).all(|_| b.select(&RequestKey::new()) == Some(ServerId(2))));
    set_connections(&servers, 2, 0);
    let all_full = vec![
        ServerState::new(1).maxconn(1),
        ServerState::new(2).maxconn(1),
    ];
    set_connections(&all_full, 1, 1);
    set_connections(&all_full, 2, 1);
    let b = balancer(&["roundrobin"], all_full);
    assert_eq!(b.select(&RequestKey::new()), None);
}

/// The server of each of `keys` under `balance uri` with `hash_type`, with server `removed`
/// (if any) down.
fn uri_map(hash_type: &[&str], removed: Option<u32>, keys: &[String]) -> Vec<Option<ServerId>> {
    let servers = (1..=10)
        .map(|i| ServerState::new(i).usable(Some(i) != removed))
        .collect();
    let balance = Balance::parse(&["uri"])
        .expect("valid")
        .with_hash_type(parse_hash_type(hash_type).expect("valid"));
    let b = Balancer::build(&balance, &Snapshot::new(servers, false));
    keys.iter()
        .map(|k| b.select(&RequestKey::new().with_uri(k.as_bytes())))
        .collect()
}

fn moved(before: &[Option<ServerId>], after: &[Option<ServerId>]) -> f64 {
    let n = before.iter().zip(after).filter(|(a, b)| a != b).count();
    n as f64 / before.len() as f64
}

#[test]
fn consistent_hash_remaps_only_the_removed_share() {
    let keys: Vec<String> = (0..10_000).map(|i| format!("/object/{i}")).collect();
    let before = uri_map(&["consistent"], None, &keys);
    let after = uri_map(&["consistent"], Some(4), &keys);
    let share = moved(&before, &after);
    assert!(share <= 0.15, "{share} of keys moved");
    // Only keys that were on the removed server moved.
    for (b, a) in before.iter().zip(&after) {
        if b != a {
            assert_eq!(*b, Some(ServerId(4)));
        }
    }
}

#[test]
fn map_based_hash_remaps_most_keys() {
    let keys: Vec<String> = (0..10_000).map(|i| format!("/object/{i}")).collect();
    let before = uri_map(&["map-based"], None, &keys);
    let after = uri_map(&["map-based"], Some(4), &keys);
    assert!(moved(&before, &after) > 0.5);
}

#[test]
fn hashes_spread_over_all_servers() {
    let keys: Vec<String> = (0..10_000).map(|i| format!("/object/{i}")).collect();
    for ht in [
        &["map-based"][..],
        &["consistent"],
        &["consistent", "wt6"],
        &["map-based", "crc32", "avalanche"],
    ] {
        let map = uri_map(ht, None, &keys);
        for id in 1..=10 {
            let n = map.iter().filter(|s| **s == Some(ServerId(id))).count();
            // Even is 1000; consistent hashing is lumpier by design.
            assert!((500..=1600).contains(&n), "{ht:?}: server {id} got {n}");
        }
    }
}

#[test]
fn same_key_same_server_across_rebuilds() {
    let keys: Vec<String> = (0..1000).map(|i| format!("/k/{i}")).collect();
    for ht in [
        &["map-based"][..],
        &["consistent"],
        &["consistent", "djb2", "avalanche"],
    ] {
        assert_eq!(uri_map(ht, None, &keys), uri_map(ht, None, &keys), "{ht:?}");
    }
    let build = || balancer(&["source"], weighted(&[1, 2, 3, 1]));
    let (a, b) = (build(), build());
    for i in 0..1000u32 {
        let key = RequestKey::new().with_source(IpAddr::V4(Ipv4Addr::from(i * 7919)));
        assert_eq!(a.select(&key), b.select(&key));
        assert_eq!(a.select(&key), a.select(&key));
    }
}

#[test]
fn uri_depth_groups_a_directory() {
    let b = balancer(&["uri", "depth", "2"], weighted(&[1; 8]));
    let at = |u: &str| b.select(&RequestKey::new().with_uri(u.as_bytes()));
    for d in 0..50 {
        let dir = format!("/static/d{d}");
        assert_eq!(at(&format!("{dir}/a.css")), at(&format!("{dir}/b/c.js")));
    }
}

#[test]
fn url_param_sticks_and_falls_back_to_round_robin() {
    let b = balancer(&["url_param", "uid"], weighted(&[1, 1, 1, 1]));
    let at = |u: &str| b.select(&RequestKey::new().with_uri(u.as_bytes()));
    for u in 0..100 {
        let first = at(&format!("/cart?uid={u}&x=1"));
        assert_eq!(first, at(&format!("/checkout?y=2&uid={u}")));
    }
    // Without the parameter: round robin, every server in turn.
    let seen: Vec<_> = (0..8).filter_map(|_| at("/cart?other=1")).collect();
    let distinct: BTreeSet<_> = seen.iter().collect();
    assert_eq!(distinct.len(), 4);
}

#[test]
fn hdr_use_domain_only_hashes_the_main_label() {
    let b = balancer(&["hdr(Host)", "use_domain_only"], weighted(&[1; 8]));
    let at = |h: &str| b.select(&RequestKey::new().with_header(h.as_bytes()));
    for d in 0..50 {
        assert_eq!(
            at(&format!("www.site{d}.com")),
            at(&format!("api.site{d}.org"))
        );
    }
}

#[test]
fn random_2_never_picks_a_down_server_and_prefers_the_idle_one() {
    let servers = vec![
        ServerState::new(1),
        ServerState::new(2).usable(false),
        ServerState::new(3),
        ServerState::new(4).backup(true),
    ];
    set_connections(&servers, 1, 50);
    let b = balancer(&["random(2)"], servers);
    let c = counts(&b, 10_000);
    assert_eq!(c.get(&2), None);
    assert_eq!(c.get(&4), None);
    // Server 1 wins only when both draws land on it: about a quarter of the time.
    let busy = c.get(&1).copied().unwrap_or(0);
    assert!((1500..=3500).contains(&busy), "busy server got {busy}");
}

#[test]
fn random_respects_weights() {
    let b = balancer(&["random(1)"], weighted(&[3, 1]));
    let c = counts(&b, 20_000);
    let share = c.get(&1).copied().unwrap_or(0) as f64 / 20_000.0;
    assert!((0.65..=0.85).contains(&share), "share {share}");
}

#[test]
fn hash_balance_factor_bounds_a_hot_key() {
    let hottest = |factor: u32| {
        let servers = weighted(&[1, 1, 1, 1]);
        let balance = Balance::parse(&["hdr(X-Tenant)"])
            .expect("valid")
            .with_hash_type(parse_hash_type(&["consistent"]).expect("valid"))
            .with_hash_balance_factor(factor);
        let b = Balancer::build(&balance, &Snapshot::new(servers.clone(), false));
        for _ in 0..100 {
            let id = b
                .select(&RequestKey::new().with_header(b"hot"))
                .expect("a server");
            open_connection(&servers, id);
        }
        servers.iter().map(|s| s.current()).max().unwrap_or(0)
    };
    assert_eq!(hottest(0), 100);
    // 150% of the average of 25, plus rounding.
    let max = hottest(150);
    assert!(max <= 38, "a server holds {max} of 100 connections");
}

#[test]
fn rebuild_keeps_the_round_robin_position() {
    let balance = Balance::parse(&["roundrobin"]).expect("valid");
    let snapshot = Snapshot::new(weighted(&[1, 1, 1]), false);
    let mut b = Balancer::build(&balance, &snapshot);
    let mut seen = Vec::new();
    for _ in 0..6 {
        seen.extend(b.select(&RequestKey::new()).map(|s| s.0));
        // A rebuild after every request (think slow start) must not pin server 1.
        b = b.rebuild(&balance, &snapshot);
    }
    assert_eq!(seen, [1, 2, 3, 1, 2, 3]);
}

#[test]
fn balancers_sharing_a_turn_take_servers_in_turn_together() {
    // Each worker thread builds its own balancer from its own snapshot of the backend; round
    // robin must still go a, b, c across them, as HAProxy's one shared round robin does.
    let servers = weighted(&[1, 1, 1]);
    let config = Balance::parse(&["roundrobin"]).expect("roundrobin");
    let first = Snapshot::new(servers.clone(), false);
    let second = Snapshot::new(servers, false).sharing_turn_of(&first);
    let (a, b) = (
        Balancer::build(&config, &first),
        Balancer::build(&config, &second),
    );
    let order: String = [&a, &b, &b, &a, &b, &a]
        .iter()
        .filter_map(|x| x.select(&RequestKey::new()))
        .map(|ServerId(id)| char::from(b'a' + id as u8 - 1))
        .collect();
    assert_eq!(order, "abcabc");
    // A rebuild (weight change) goes on where the cycle stopped.
    let rebuilt = a.rebuild(
        &config,
        &Snapshot::new(weighted(&[1, 1, 1]), false).sharing_turn_of(&first),
    );
    assert_eq!(rebuilt.select(&RequestKey::new()), Some(ServerId(1)));
}
