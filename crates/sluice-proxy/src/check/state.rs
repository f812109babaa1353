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
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};

/// What a server is, as checks (or the runtime API) make it: HAProxy's operational state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum State {
    Up = 0,
    Down = 1,
    /// Kept for compatibility: maintenance is now an administrative flag ([`Admin`]).
    Maint = 2,
    /// `set server ... health stopping`: no new balanced traffic (HAProxy's NOLB).
    Stopping = 3,
}

/// Administrative flags (HAProxy's `srv_admin_state` bits, same values).
pub mod admin {
    /// Forced maintenance (`disable server`, `set server ... state maint`).
    pub const FMAINT: u8 = 0x01;
    /// Maintenance from the configuration (`disabled`).
    pub const CMAINT: u8 = 0x04;
    /// Forced drain (`set server ... state drain`): weight 0 for new balanced traffic.
    pub const FDRAIN: u8 = 0x08;
    /// Maintenance because the server has no address: `init-addr none`, or the resolvers
    /// found none for longer than `hold` (`crate::resolvers`).
    pub const RMAINT: u8 = 0x20;
    /// Any maintenance.
    pub const MAINT: u8 = FMAINT | CMAINT | RMAINT;
}

/// Codes of HAProxy's `HCHK_STATUS_*` enumeration, as `show servers state` prints them.
pub mod hchk {
    pub const INI: u8 = 1;
    /// Health analysis (`observe`) changed the health.
    pub const HANA: u8 = 4;
    pub const SOCKERR: u8 = 5;
    pub const L4OK: u8 = 6;
    pub const L4TOUT: u8 = 7;
    pub const L4CON: u8 = 8;
    pub const L6OK: u8 = 9;
    pub const L6TOUT: u8 = 10;
    pub const L6RSP: u8 = 11;
    pub const L7TOUT: u8 = 12;
    pub const L7RSP: u8 = 13;
    pub const L7OKD: u8 = 15;
    pub const L7OKCD: u8 = 16;
    pub const L7STS: u8 = 17;
    pub const PROCERR: u8 = 18;
    pub const PROCTOUT: u8 = 19;
    pub const PROCOK: u8 = 20;

    /// The code of a check result.
    pub fn of(status: crate::check::Status) -> u8 {
        use crate::check::Status as S;
        match status {
            S::L4Ok => L4OK,
            S::L4Tout => L4TOUT,
            S::L4Con => L4CON,
            S::L6Ok => L6OK,
            S::L6Tout => L6TOUT,
            S::L6Rsp => L6RSP,
            S::L7Tout => L7TOUT,
            S::L7Rsp => L7RSP,
            S::L7Ok => L7OKD,
            S::L7OkC => L7OKCD,
            S::L7Sts => L7STS,
            S::SockErr => SOCKERR,
            S::ProcErr => PROCERR,
            S::ProcTout => PROCTOUT,
            S::ProcOk => PROCOK,
        }
    }

    /// HAProxy's short name of a code (`show stat`'s `check_status`).
    pub fn name(code: u8) -> &'static str {
        match code {
            INI => "INI",
            HANA => "HANA",
            SOCKERR => "SOCKERR",
            L4OK => "L4OK",
            L4TOUT => "L4TOUT",
            L4CON => "L4CON",
            L6OK => "L6OK",
            L6TOUT => "L6TOUT",
            L6RSP => "L6RSP",
            L7TOUT => "L7TOUT",
            L7RSP => "L7RSP",
            L7OKD => "L7OK",
            L7OKCD => "L7OKC",
            L7STS => "L7STS",
            PROCERR => "PROCERR",
            PROCTOUT => "PROCTOUT",
            PROCOK => "PROCOK",
            _ => "UNK",
        }
    }

    /// Whether a code is a passed check.
    pub fn passed(code: u8) -> bool {
        matches!(code, L4OK | L6OK | L7OKD | L7OKCD | PROCOK)
    }
}

/// What the configuration says about a server's checks and weight.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    pub disabled: bool,
    pub weight: u32,
    pub rise: u32,
    pub fall: u32,
    /// A primary health check is configured (`check`).
    pub checked: bool,
    /// `init-state` (checked servers only; `None`: up, one failure takes it down).
    pub init: Option<InitState>,
    /// `observe`, `error-limit`, `on-error`.
    pub observe: Option<super::observe::Observe>,
}

pub use sluice_model::proxy::server::InitState;

impl Settings {
    /// The state and health counter a checked server starts with (`init-state`).
    pub fn initial(&self) -> (State, u32) {
        let (rise, fall) = (self.rise.max(1), self.fall.max(1));
        if !self.checked {
            return (State::Up, rise);
        }
        match self.init {
            None | Some(InitState::Up) => (State::Up, rise),
            Some(InitState::FullyUp) => (State::Up, rise + fall - 1),
            Some(InitState::Down) => (State::Down, rise - 1),
            Some(InitState::FullyDown) => (State::Down, 0),
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            disabled: false,
            weight: 1,
            rise: 2,
            fall: 3,
            checked: false,
            init: None,
            observe: None,
        }
    }
}

/// One server's health: its state and HAProxy's health counter (0 to `rise + fall - 1`; up
/// at `rise` and above), its administrative flags and runtime weight (the runtime API), and
/// the last check's result. All atomics: written off the request path (checker, runtime
/// API), read by every thread when it rebuilds its balancer.
#[derive(Debug)]
pub struct Health {
    state: AtomicU8,
    counter: AtomicU32,
    admin: AtomicU8,
    /// The user weight (`set weight`), 0 to 256.
    weight: AtomicU32,
    /// `disable health`: checks stopped, the server counts as up.
    checks_off: AtomicBool,
    /// Seconds since the Unix epoch of the last state change.
    changed: AtomicU64,
    /// Process-wide order of the last state change (0: none since start), so that log
    /// backends (`balance sticky`) know which usable server came back last.
    changed_seq: AtomicU64,
    /// Last check: HAProxy status code, protocol code (0: none), duration in ms.
    last_status: AtomicU8,
    last_code: AtomicU32,
    last_duration: AtomicU32,
    /// Errors in a row the traffic showed (`observe`).
    pub(crate) consecutive_errors: AtomicU32,
    /// The agent (`agent-check`) said `down`, `stopped` or `fail`: checks cannot bring the
    /// server up until it says `up`.
    agent_down: AtomicBool,
    /// `disable agent`: the agent is not queried.
    agent_off: AtomicBool,
    /// The configured values.
    pub settings: Settings,
}

/// Numbers the servers' state changes in the order they happen.
static CHANGES: AtomicU64 = AtomicU64::new(0);

fn next_change() -> u64 {
    CHANGES.fetch_add(1, Ordering::Relaxed) + 1
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Health {
    /// A server starts up (HAProxy's default `init-state`), or in maintenance.
    pub fn new(disabled: bool) -> Health {
        Health::with(Settings {
            disabled,
            ..Settings::default()
        })
    }

    /// A server with its configured weight, `rise`, `fall` and checks.
    pub fn with(settings: Settings) -> Health {
        let (state, counter) = settings.initial();
        Health {
            state: AtomicU8::new(state as u8),
            counter: AtomicU32::new(counter),
            admin: AtomicU8::new(if settings.disabled {
                admin::CMAINT | admin::FMAINT
            } else {
                0
            }),
            weight: AtomicU32::new(settings.weight.min(256)),
            checks_off: AtomicBool::new(false),
            changed: AtomicU64::new(now_secs()),
            changed_seq: AtomicU64::new(0),
            last_status: AtomicU8::new(hchk::INI),
            last_code: AtomicU32::new(0),
            last_duration: AtomicU32::new(0),
            consecutive_errors: AtomicU32::new(0),
            agent_down: AtomicBool::new(false),
            agent_off: AtomicBool::new(false),
            settings,
        }
    }

    /// The operational state (what checks or `set server ... health` made it).
    #[inline]
    pub fn state(&self) -> State {
        match self.state.load(Ordering::Relaxed) {
            0 => State::Up,
            1 => State::Down,
            3 => State::Stopping,
            _ => State::Maint,
        }
    }

    /// May take new traffic: up and not in maintenance.
    #[inline]
    pub fn usable(&self) -> bool {
        self.state() == State::Up && self.admin() & admin::MAINT == 0
    }

    pub fn set_state(&self, s: State) {
        if self.state.swap(s as u8, Ordering::Relaxed) != s as u8 {
            self.changed.store(now_secs(), Ordering::Relaxed);
            self.changed_seq.store(next_change(), Ordering::Relaxed);
        }
    }

    /// When the state last changed, in the order of all servers' changes (0: never).
    pub fn change_seq(&self) -> u64 {
        self.changed_seq.load(Ordering::Relaxed)
    }

    pub fn counter(&self) -> u32 {
        self.counter.load(Ordering::Relaxed)
    }

    pub fn set_counter(&self, v: u32) {
        self.counter.store(v, Ordering::Relaxed);
    }

    /// The administrative flags ([`admin`]).
    #[inline]
    pub fn admin(&self) -> u8 {
        self.admin.load(Ordering::Relaxed)
    }

    /// Sets and clears administrative flags; true when they changed.
    pub fn set_admin(&self, set: u8, clear: u8) -> bool {
        let before = self
            .admin
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |a| {
                Some((a | set) & !clear)
            })
            .unwrap_or_else(|a| a);
        let after = (before | set) & !clear;
        if before != after {
            self.changed.store(now_secs(), Ordering::Relaxed);
            self.changed_seq.store(next_change(), Ordering::Relaxed);
        }
        before != after
    }

    /// In maintenance (configuration or runtime API).
    #[inline]
    pub fn in_maintenance(&self) -> bool {
        self.admin() & admin::MAINT != 0
    }

    /// The user weight (`set weight`).
    #[inline]
    pub fn weight(&self) -> u32 {
        self.weight.load(Ordering::Relaxed)
    }

    pub fn set_weight(&self, w: u32) {
        self.weight.store(w.min(256), Ordering::Relaxed);
    }

    /// The weight balancing uses: 0 while draining.
    #[inline]
    pub fn effective_weight(&self) -> u32 {
        if self.admin() & admin::FDRAIN != 0 {
            0
        } else {
            self.weight()
        }
    }

    /// The agent holds the server down.
    pub fn agent_down(&self) -> bool {
        self.agent_down.load(Ordering::Relaxed)
    }

    /// `disable agent` / `enable agent`.
    pub fn set_agent_off(&self, off: bool) {
        self.agent_off.store(off, Ordering::Relaxed);
    }

    pub fn agent_off(&self) -> bool {
        self.agent_off.load(Ordering::Relaxed)
    }

    pub fn set_agent_down(&self, down: bool) {
        self.agent_down.store(down, Ordering::Relaxed);
    }

    /// `disable health` / `enable health`.
    pub fn set_checks_off(&self, off: bool) {
        self.checks_off.store(off, Ordering::Relaxed);
    }

    pub fn checks_off(&self) -> bool {
        self.checks_off.load(Ordering::Relaxed)
    }

    /// Whether the checker must skip this server now (maintenance or `disable health`).
    #[inline]
    pub fn checks_paused(&self) -> bool {
        self.in_maintenance() || self.checks_off()
    }

    /// Seconds since the last state change.
    pub fn since_change(&self) -> u64 {
        now_secs().saturating_sub(self.changed.load(Ordering::Relaxed))
    }

    /// Records the result of a check (HAProxy's status code).
    pub fn record_check(&self, status: u8, code: Option<u32>, duration: std::time::Duration) {
        self.last_status.store(status, Ordering::Relaxed);
        self.last_code.store(code.unwrap_or(0), Ordering::Relaxed);
        self.last_duration.store(
            u32::try_from(duration.as_millis()).unwrap_or(u32::MAX),
            Ordering::Relaxed,
        );
    }

    /// The last check: HAProxy status code, protocol code (0: none), duration in ms.
    pub fn last_check(&self) -> (u8, u32, u32) {
        (
            self.last_status.load(Ordering::Relaxed),
            self.last_code.load(Ordering::Relaxed),
            self.last_duration.load(Ordering::Relaxed),
        )
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
    // Every thread takes the backend's servers in turn with the others.
    .sharing_turn_of(&backend.snapshot)
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
    use super::{step, Health, InitState, Settings, State};

    #[test]
    fn init_state_sets_the_first_state_and_counter() {
        let at = |init, checked| {
            let h = Health::with(Settings {
                rise: 4,
                fall: 5,
                checked,
                init,
                ..Settings::default()
            });
            (h.state(), h.counter())
        };
        assert_eq!(at(None, true), (State::Up, 4));
        assert_eq!(at(Some(InitState::Up), true), (State::Up, 4));
        assert_eq!(at(Some(InitState::FullyUp), true), (State::Up, 8));
        assert_eq!(at(Some(InitState::Down), true), (State::Down, 3));
        assert_eq!(at(Some(InitState::FullyDown), true), (State::Down, 0));
        // Without checks nothing could bring the server up: the setting does not apply.
        assert_eq!(at(Some(InitState::FullyDown), false), (State::Up, 4));
        // `down`: one success brings it up; `fully-down`: `rise` successes.
        assert_eq!(step(3, 4, 5, true), (8, true));
        let mut c = 0;
        for _ in 0..3 {
            c = step(c, 4, 5, true).0;
        }
        assert_eq!(step(c, 4, 5, true), (8, true));
        // `fully-up`: `fall` failures take it down.
        let mut c = 8;
        for _ in 0..4 {
            let (n, up) = step(c, 4, 5, false);
            assert!(up);
            c = n;
        }
        assert_eq!(step(c, 4, 5, false), (0, false));
    }

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
