//! Health checks: one checker for the whole process, on its own thread with a current-thread
//! runtime (checks never run once per worker thread), one task per `check`-enabled server.
//!
//! - [`state`]: the health every thread reads (atomics), HAProxy's rise/fall arithmetic, and
//!   each thread's balancer rebuilt when its backend's epoch moves.
//! - [`rules`]: what a check does, from `option httpchk`/`tcp-check`/`redis-check`... lines.
//! - [`tcp`] and [`http`]: running one check; [`spop`]: the SPOP hello of `spop-check`;
//!   [`context`]: what the sample fetches of a check read; [`external`]: `option
//!   external-check` programs.
//! - [`scheduler`]: when checks run (`inter`, `fastinter`, `downinter`, `spread-checks`),
//!   state transitions, `track`, and the stop.
//! - [`report`]: HAProxy's messages (`Server be/s1 is DOWN, reason: ...`).

pub mod agent;
pub mod context;
pub mod external;
pub mod http;
pub mod observe;
pub mod report;
pub mod rules;
pub mod scheduler;
pub mod spop;
pub mod state;
pub mod tcp;

use std::time::Duration;

pub use scheduler::start;

/// HAProxy's check statuses (`HCHK_STATUS_*`) that Sluice produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// `L4OK`.
    L4Ok,
    /// `L4TOUT`.
    L4Tout,
    /// `L4CON`.
    L4Con,
    /// `L6OK`.
    L6Ok,
    /// `L6TOUT`.
    L6Tout,
    /// `L6RSP`.
    L6Rsp,
    /// `L7TOUT`.
    L7Tout,
    /// `L7RSP`.
    L7Rsp,
    /// `L7OK` (`L7OKD` when a code comes with it).
    L7Ok,
    /// `L7OKC`: conditionally passed (NOLB in HAProxy; taken as passed here).
    L7OkC,
    /// `L7STS`.
    L7Sts,
    /// `SOCKERR`.
    SockErr,
    /// `PROCOK`: the external check program exited with 0.
    ProcOk,
    /// `PROCERR`: it exited with another status (or could not start).
    ProcErr,
    /// `PROCTOUT`: it was still running when the check's time was up.
    ProcTout,
}

impl Status {
    /// HAProxy's description (the `reason:` of its messages).
    pub fn describe(self) -> &'static str {
        match self {
            Status::L4Ok => "Layer4 check passed",
            Status::L4Tout => "Layer4 timeout",
            Status::L4Con => "Layer4 connection problem",
            Status::L6Ok => "Layer6 check passed",
            Status::L6Tout => "Layer6 timeout",
            Status::L6Rsp => "Layer6 invalid response",
            Status::L7Tout => "Layer7 timeout",
            Status::L7Rsp => "Layer7 invalid response",
            Status::L7Ok => "Layer7 check passed",
            Status::L7OkC => "Layer7 check conditionally passed",
            Status::L7Sts => "Layer7 wrong status",
            Status::SockErr => "Socket error",
            Status::ProcOk => "External check passed",
            Status::ProcErr => "External check error",
            Status::ProcTout => "External check timeout",
        }
    }

    /// Whether the check passed.
    pub fn passed(self) -> bool {
        matches!(
            self,
            Status::L4Ok | Status::L6Ok | Status::L7Ok | Status::L7OkC | Status::ProcOk
        )
    }

    /// The status named in `ok-status`/`error-status`/`tout-status`.
    pub fn parse(word: &str) -> Option<Status> {
        Some(match word.to_ascii_uppercase().as_str() {
            "L4OK" => Status::L4Ok,
            "L4TOUT" => Status::L4Tout,
            "L4CON" => Status::L4Con,
            "L6OK" => Status::L6Ok,
            "L6TOUT" => Status::L6Tout,
            "L6RSP" => Status::L6Rsp,
            "L7TOUT" => Status::L7Tout,
            "L7RSP" => Status::L7Rsp,
            "L7OK" => Status::L7Ok,
            "L7OKC" => Status::L7OkC,
            "L7STS" => Status::L7Sts,
            _ => return None,
        })
    }
}

/// The result of one check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub status: Status,
    /// A protocol code (HTTP status, LDAP result code), shown as `code: N`.
    pub code: Option<u32>,
    /// HAProxy's `info: "..."` (empty: none).
    pub info: String,
    pub duration: Duration,
}

impl Outcome {
    pub fn new(status: Status, info: impl Into<String>) -> Outcome {
        Outcome {
            status,
            code: None,
            info: info.into(),
            duration: Duration::ZERO,
        }
    }

    pub fn with_code(mut self, code: u32) -> Outcome {
        self.code = Some(code);
        self
    }
}
