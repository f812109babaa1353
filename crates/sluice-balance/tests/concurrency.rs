//! `select` is called from every worker thread at once: shares must hold under contention.

mod common;

use common::*;
use sluice_balance::{Algorithm, RequestKey, ServerId};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::thread;

const THREADS: usize = 4;
const PER_THREAD: usize = 25_000;

fn hammer(
    b: &(impl Algorithm + ?Sized),
    on_pick: impl Fn(ServerId) + Sync,
) -> BTreeMap<u32, usize> {
    let per_thread: Vec<BTreeMap<u32, usize>> = thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                scope.spawn(|| {
                    let mut counts = BTreeMap::new();
                    for _ in 0..PER_THREAD {
                        if let Some(id) = b.select(&RequestKey::new()) {
                            on_pick(id);
                            *counts.entry(id.0).or_insert(0) += 1;
                        }
                    }
                    counts
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("no panic"))
            .collect()
    });
    let mut total = BTreeMap::new();
    for counts in per_thread {
        for (id, n) in counts {
            *total.entry(id).or_insert(0) += n;
        }
    }
    total
}

#[test]
fn roundrobin_weights_hold_under_four_threads() {
    let b = balancer(&["roundrobin"], weighted(&[3, 1]));
    let total = hammer(&b, |_| {});
    // Each position of the cycle is handed out exactly once, whatever the interleaving.
    assert_eq!(total.get(&1), Some(&75_000));
    assert_eq!(total.get(&2), Some(&25_000));
}

#[test]
fn weighted_shares_hold_under_four_threads_for_every_keyless_algorithm() {
    for algo in ["static-rr", "random(1)", "uri", "source"] {
        let b = balancer(&[algo], weighted(&[3, 1]));
        let total = hammer(&b, |_| {});
        let share = *total.get(&1).unwrap_or(&0) as f64 / (THREADS * PER_THREAD) as f64;
        assert!((share - 0.75).abs() <= 0.05, "{algo}: {share}");
    }
}

#[test]
fn leastconn_stays_even_under_four_threads() {
    let servers = weighted(&[1, 1, 1, 1]);
    let b = balancer(&["leastconn"], servers.clone());
    hammer(&b, |id| open_connection(&servers, id));
    let loads: Vec<u32> = servers
        .iter()
        .map(|s| s.connections.load(Ordering::Relaxed))
        .collect();
    let (min, max) = (loads.iter().min().copied(), loads.iter().max().copied());
    // Racing threads may read the same counts; the spread stays within a few per thread.
    assert!(
        max.zip(min)
            .is_some_and(|(max, min)| max - min <= 4 * THREADS as u32),
        "{loads:?}"
    );
}
