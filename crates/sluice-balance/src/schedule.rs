//! Weighted, smooth interleavings of servers, computed once per snapshot.
//!
//! A schedule lists candidate indexes so that each appears as often as its weight and as
//! evenly spread as possible (weights 5:1:1 give `a a b a c a a`, not `a a a a a b c`). Round
//! robin walks it with a counter; map-based hashing indexes it with `hash % len`.

use crate::snapshot::{ServerId, ServerState};
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicUsize, Ordering as Atomic};
use std::sync::Arc;

/// Above this many steps (entries × servers) the exact interleaving costs too much to build;
/// the heap-based one is used instead.
const EXACT_BUDGET: u64 = 1 << 26;

/// A schedule walked by a shared position counter: the state behind round robin.
///
/// Shared between threads: one `AtomicUsize`, advanced by one relaxed `fetch_add` per
/// selection. Relaxed is enough: the counter only spreads requests, it orders no memory, and
/// two threads never get the same position. Contended cache-line traffic on it is the whole
/// cost, about what HAProxy pays for its round-robin lock, without the lock.
#[derive(Debug)]
pub(crate) struct Rotation {
    table: Vec<u32>,
    candidates: Vec<ServerState>,
    next: Arc<AtomicUsize>,
}

impl Rotation {
    /// `next`: the position counter, shared with the other rotations of the same backend
    /// (see [`Snapshot::sharing_turn_of`](crate::snapshot::Snapshot::sharing_turn_of)).
    pub(crate) fn new(candidates: &[ServerState], next: Arc<AtomicUsize>) -> Self {
        Rotation {
            table: build(candidates, true),
            candidates: candidates.to_vec(),
            next,
        }
    }

    /// The next server in turn that is not at its `maxconn`.
    #[inline]
    pub(crate) fn pick(&self) -> Option<ServerId> {
        let len = self.table.len();
        if len == 0 {
            return None;
        }
        let pos = self.next.fetch_add(1, Atomic::Relaxed);
        // Usually the first try succeeds; a full server is skipped like HAProxy's
        // round robin skips saturated servers.
        let tries = self.candidates.len().min(len);
        for step in 0..tries {
            let slot = self.table.get(pos.wrapping_add(step) % len);
            if let Some(s) = slot.and_then(|&i| self.candidates.get(i as usize)) {
                if !s.is_full() {
                    return Some(s.id);
                }
            }
        }
        // Many full servers: look at each candidate once, from a rotating start.
        let n = self.candidates.len();
        (0..n)
            .filter_map(|k| self.candidates.get(pos.wrapping_add(k) % n))
            .find(|s| !s.is_full())
            .map(|s| s.id)
    }

    /// The `hash`-th entry of the table, full or not (map-based hashing keeps affinity).
    #[inline]
    pub(crate) fn at(&self, hash: u32) -> Option<ServerId> {
        let len = self.table.len();
        if len == 0 {
            return None;
        }
        self.table
            .get(hash as usize % len)
            .and_then(|&i| self.candidates.get(i as usize))
            .map(|s| s.id)
    }
}

/// One cycle of the interleaving of `servers` by weight, reduced by the weights' greatest
/// common divisor (weights 100 and 50 give the same 3-entry cycle as 2 and 1).
pub(crate) fn build(servers: &[ServerState], reduce: bool) -> Vec<u32> {
    let mut weights: Vec<u64> = servers
        .iter()
        .map(|s| u64::from(s.effective_weight()))
        .collect();
    if reduce {
        let g = weights.iter().fold(0, |g, &w| gcd(g, w));
        if g > 1 {
            weights.iter_mut().for_each(|w| *w /= g);
        }
    }
    let total: u64 = weights.iter().sum();
    if total.saturating_mul(weights.len() as u64) <= EXACT_BUDGET {
        smooth(&weights, total)
    } else {
        by_deadline(&weights, total)
    }
}

/// HAProxy's map interleaving (also nginx's smooth weighted round robin): at each step every
/// server gains its weight, the richest is picked and pays the total. Exact, but O(total × n).
fn smooth(weights: &[u64], total: u64) -> Vec<u32> {
    let total_i = i64::try_from(total).unwrap_or(i64::MAX);
    let mut score = vec![0i64; weights.len()];
    let mut out = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    for _ in 0..total {
        let mut best: Option<(usize, i64)> = None;
        for (i, (s, &w)) in score.iter_mut().zip(weights).enumerate() {
            *s += i64::try_from(w).unwrap_or(0);
            match best {
                Some((_, b)) if *s <= b => {}
                _ => best = Some((i, *s)),
            }
        }
        if let Some((i, _)) = best {
            if let Some(s) = score.get_mut(i) {
                *s -= total_i;
            }
            out.push(u32::try_from(i).unwrap_or(u32::MAX));
        }
    }
    out
}

/// Earliest deadline first: server `i`'s `k`-th turn falls at `(k + ½) / wᵢ` of the cycle.
/// Nearly as smooth, O(total × log n), for very large farms.
fn by_deadline(weights: &[u64], total: u64) -> Vec<u32> {
    let mut heap: BinaryHeap<Turn> = weights
        .iter()
        .enumerate()
        .filter(|(_, &w)| w > 0)
        .map(|(i, &w)| Turn {
            halves: 1,
            weight: w,
            index: u32::try_from(i).unwrap_or(u32::MAX),
        })
        .collect();
    let mut out = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    while let Some(turn) = heap.pop() {
        out.push(turn.index);
        // Each server gets exactly `weight` turns per cycle.
        if turn.halves / 2 + 1 < turn.weight {
            heap.push(Turn {
                halves: turn.halves + 2,
                ..turn
            });
        }
    }
    out
}

/// A server's next turn, at time `halves / (2 × weight)`.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Turn {
    halves: u64,
    weight: u64,
    index: u32,
}

impl Ord for Turn {
    fn cmp(&self, other: &Self) -> Ordering {
        // BinaryHeap pops the greatest: the earliest time, then the lowest index, is greatest.
        let a = u128::from(self.halves) * u128::from(other.weight);
        let b = u128::from(other.halves) * u128::from(self.weight);
        b.cmp(&a).then(other.index.cmp(&self.index))
    }
}

impl PartialOrd for Turn {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(weights: &[u16]) -> String {
        let servers: Vec<ServerState> = weights
            .iter()
            .enumerate()
            .map(|(i, &w)| ServerState::new(i as u32 + 1).weight(w))
            .collect();
        build(&servers, true)
            .iter()
            .map(|&i| char::from(b'a' + i as u8))
            .collect()
    }

    #[test]
    fn smooth_spreads_the_heavy_server() {
        assert_eq!(names(&[5, 1, 1]), "aabacaa");
        assert_eq!(names(&[2, 1]), "aba");
        assert_eq!(names(&[4, 2]), "aba");
    }

    #[test]
    fn deadline_matches_counts() {
        let cycle = by_deadline(&[5, 1, 1], 7);
        assert_eq!(cycle.len(), 7);
        assert_eq!(cycle.iter().filter(|&&i| i == 0).count(), 5);
        assert_eq!(by_deadline(&[2, 1], 3), vec![0, 1, 0]);
    }
}
