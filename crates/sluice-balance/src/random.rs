//! `balance random[(draws)]`: the least loaded of N servers drawn at random.

use crate::algorithm::{Algorithm, RequestKey};
use crate::hash::{HashParams, Ring};
use crate::snapshot::{ServerId, ServerState, Snapshot};
use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

/// HAProxy's default number of draws: the "power of two choices".
pub const DEFAULT_DRAWS: u32 = 2;

/// Parameters of [`Random`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RandomParams {
    /// How many servers to draw before keeping the least loaded (at least 1).
    pub draws: u32,
    /// `hash-balance-factor` (the hash type itself does not apply: draws use the ring).
    pub balance_factor: u32,
}

impl Default for RandomParams {
    fn default() -> Self {
        RandomParams {
            draws: DEFAULT_DRAWS,
            balance_factor: 0,
        }
    }
}

impl From<&HashParams> for RandomParams {
    fn from(hash: &HashParams) -> Self {
        RandomParams {
            balance_factor: hash.balance_factor,
            ..Default::default()
        }
    }
}

/// Random with N draws.
///
/// Each draw is a random point on the consistent-hash ring, so weights are respected; of the
/// servers drawn, the one with the fewest connections for its weight wins. If the winner is
/// at its `maxconn`, `select` returns `None` and the request queues in the backend, as in
/// HAProxy.
///
/// Shared state: none. Random numbers come from a per-thread generator (xorshift, seeded from
/// the standard library's per-process random keys), so threads never touch a common line.
#[derive(Debug)]
pub struct Random {
    ring: Ring,
    draws: u32,
    factor: u32,
}

thread_local! {
    static STATE: Cell<u64> = const { Cell::new(0) };
}

/// A fast per-thread pseudo-random number (xorshift64*). Not for cryptography.
fn next_u32() -> u32 {
    STATE.with(|state| {
        let mut x = state.get();
        if x == 0 {
            // First use on this thread: RandomState's keys are random per thread, and the
            // cell's address differs between threads. No allocation, unlike thread::current().
            x = RandomState::new().hash_one(state as *const Cell<u64> as usize) | 1;
        }
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        state.set(x);
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
    })
}

/// True when `a` carries more connections per unit of weight than `b`.
fn busier(a: &ServerState, b: &ServerState) -> bool {
    u64::from(a.current()) * u64::from(b.effective_weight())
        > u64::from(b.current()) * u64::from(a.effective_weight())
}

impl Algorithm for Random {
    type Params = RandomParams;

    fn build(params: &RandomParams, snapshot: &Snapshot) -> Self {
        Random {
            ring: Ring::new(snapshot.candidates()),
            draws: params.draws.max(1),
            factor: params.balance_factor,
        }
    }

    fn select(&self, _: &RequestKey<'_>) -> Option<ServerId> {
        let mut best: Option<&ServerState> = None;
        for _ in 0..self.draws {
            let drawn = self.ring.select(next_u32(), self.factor);
            let Some(drawn) = drawn else { break };
            best = match best {
                Some(b) if busier(drawn, b) => Some(b),
                _ => Some(drawn),
            };
        }
        best.filter(|s| !s.is_full()).map(|s| s.id)
    }
}
