//! Server health shared by every thread, and each thread's view of it.
//!
//! The checker is the only writer: it updates a server's [`Health`] (atomics), then bumps its
//! backend's epoch. A worker thread compares the epoch with the one its balancer was built
//! at (one relaxed load per request) and rebuilds its [`Local`] balancer when it moved, so
//! the request path never takes a lock and never sees a half-applied change for long.

use crate::backend::Backend;
use sluice_balance::{Algorithm, Balancer, RequestKey, ServerId, Snapshot};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};

/// What a server is, as checks (and `disabled`) make it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum State {
    Up = 0,
    Down = 1,
    /// `disabled`: maintenance, never checked, never balanced to.
    Maint = 2,
}

/// One server's health: its state and HAProxy's health counter (0 to `rise + fall - 1`; up
/// at `rise` and above).
#[derive(Debug)]
pub struct Health {
    state: AtomicU8,
    counter: AtomicU32,
}

impl Health {
    /// A server starts up (HAProxy's default `init-state`), or in maintenance.
    pub fn new(disabled: bool) -> Health {
        Health {
            state: AtomicU8::new(if disabled { State::Maint } else { State::Up } as u8),
            counter: AtomicU32::new(0),
        }
    }

    #[inline]
    pub fn state(&self) -> State {
        match self.state.load(Ordering::Relaxed) {
            0 => State::Up,
            1 => State::Down,
            _ => State::Maint,
        }
    }

    /// May take new traffic.
    #[inline]
    pub fn usable(&self) -> bool {
        self.state() == State::Up
    }

    pub fn set_state(&self, s: State) {
        self.state.store(s as u8, Ordering::Relaxed);
    }

    pub fn counter(&self) -> u32 {
        self.counter.load(Ordering::Relaxed)
    }

    pub fn set_counter(&self, v: u32) {
        self.counter.store(v, Ordering::Relaxed);
    }
}

/// HAProxy's rise/fall arithmetic on the health counter, for one check result. Returns the
/// new counter and whether the server is up after it.
pub fn step(counter: u32, rise: u32, fall: u32, passed: bool) -> (u32, bool) {
    let (rise, fall) = (rise.max(1), fall.max(1));
    let top = rise + fall - 1;
    let c = if passed {
        // Reaching `rise` means fully up at once: `fall` failures are needed to go down.
        match counter.saturating_add(1) {
            c if c >= rise => top,
            c => c,
        }
    } else {
        // Dropping below `rise` means down at once: `rise` successes are needed to come back.
        match counter.saturating_sub(1) {
            c if c < rise => 0,
            c => c,
        }
    };
    (c, c >= rise)
}

/// Bumped by the checker after every state change of a backend's servers.
#[derive(Debug, Default)]
pub struct Epoch(AtomicU64);

impl Epoch {
    #[inline]
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// Published after the servers' states were written.
    pub fn bump(&self) {
        self.0.fetch_add(1, Ordering::Release);
    }
}

/// The backend's servers as they are now (state read from their [`Health`]).
pub fn snapshot(backend: &Backend) -> Snapshot {
    Snapshot::new(
        backend.servers.iter().map(|s| s.state()).collect(),
        backend.snapshot.allbackups(),
    )
}

/// A thread's balancer and the snapshot it was built from.
#[derive(Debug)]
pub struct Local {
    pub balancer: Balancer,
    pub snapshot: Snapshot,
}

impl Local {
    #[inline]
    pub fn select(&self, key: &RequestKey<'_>) -> Option<ServerId> {
        self.balancer.select(key)
    }
}

/// One thread's balancer of one backend, rebuilt when the backend's epoch moves.
#[derive(Debug)]
pub struct LocalBalancer {
    epoch: Cell<u64>,
    current: RefCell<Rc<Local>>,
}

impl LocalBalancer {
    pub fn new(backend: &Backend) -> LocalBalancer {
        let epoch = backend.epoch.get();
        let snapshot = snapshot(backend);
        let balancer = Balancer::build(&backend.balance, &snapshot);
        LocalBalancer {
            epoch: Cell::new(epoch),
            current: RefCell::new(Rc::new(Local { balancer, snapshot })),
        }
    }

    /// The balancer for this request: one relaxed load when nothing changed. The `Rc` keeps
    /// it alive for a request that waits in the queue while another one rebuilds.
    #[inline]
    pub fn get(&self, backend: &Backend) -> Rc<Local> {
        let now = backend.epoch.get();
        if now != self.epoch.get() {
            self.rebuild(backend, now);
        }
        self.current.borrow().clone()
    }

    #[cold]
    fn rebuild(&self, backend: &Backend, now: u64) {
        std::sync::atomic::fence(Ordering::Acquire);
        let snapshot = snapshot(backend);
        let balancer = self
            .current
            .borrow()
            .balancer
            .rebuild(&backend.balance, &snapshot);
        *self.current.borrow_mut() = Rc::new(Local { balancer, snapshot });
        self.epoch.set(now);
    }
}

#[cfg(test)]
mod tests {
    use super::step;

    #[test]
    fn rise_and_fall_follow_haproxy() {
        // rise 2, fall 3: starts at `rise` (up, one failure takes it down).
        let (c, up) = step(2, 2, 3, false);
        assert_eq!((c, up), (0, false));
        let (c, up) = step(c, 2, 3, true);
        assert_eq!((c, up), (1, false));
        let (c, up) = step(c, 2, 3, true);
        assert_eq!((c, up), (4, true));
        // Fully up: three failures to go down.
        let (c, up) = step(c, 2, 3, false);
        assert_eq!((c, up), (3, true));
        let (c, up) = step(c, 2, 3, false);
        assert_eq!((c, up), (2, true));
        let (c, up) = step(c, 2, 3, false);
        assert_eq!((c, up), (0, false));
        // A success in between restores full health.
        let (c, _) = step(3, 2, 3, true);
        assert_eq!(c, 4);
    }
}
