//! The runtime API on `stats socket`: HAProxy's command-line interface for admins and tools.
//!
//! - [`listener`]: the sockets of the `stats socket` lines (bound with the proxies'
//!   listeners, exported to a re-executed worker and adopted back under stable keys).
//! - [`session`]: the accept loop (on the worker's first thread) and one task per client:
//!   non-interactive (one line, the answer, close), interactive and prompt modes, `stats
//!   timeout`.
//! - [`parse`]: a line into commands and words (`;`, spaces, backslash escapes, payloads).
//! - [`dispatch`]: the command table, access levels, `help` and unknown commands.
//! - [`info`], [`servers`], [`server_addr`], [`del_server`], [`resolvers`], [`stat`],
//!   [`unsupported`]: the command families.
//!
//! Commands read the worker's [`Plan`] and counters, and change servers through their
//! shared [`Health`](crate::check::state::Health) (atomics) and their backend's epoch, the
//! way the checker does: the request path never takes a lock.

pub mod del_server;
pub mod dispatch;
pub mod info;
pub mod listener;
pub mod parse;
pub mod resolvers;
pub mod server_addr;
pub mod servers;
pub mod session;
pub mod stat;
pub mod stick;
pub mod unsupported;
pub mod vars;

use crate::counters::Totals;
use crate::plan::Plan;
use sluice_model::Model;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// HAProxy's default `stats timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// What a session may do (`level` on the `stats socket` line; `operator` by default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    User,
    Operator,
    Admin,
}

impl Level {
    /// The level a `level` option names; `operator` when absent or unknown.
    pub fn parse(word: Option<&str>) -> Level {
        match word {
            Some("user") => Level::User,
            Some("admin") => Level::Admin,
            _ => Level::Operator,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Level::User => "user",
            Level::Operator => "operator",
            Level::Admin => "admin",
        }
    }
}

/// What every session of a worker reads: shared, read-only but for atomics.
pub struct Runtime {
    pub model: Arc<Model>,
    pub plan: Arc<Plan>,
    pub totals: Totals,
    pub started: Instant,
    pub started_at: SystemTime,
    pub pid: u32,
    /// Idle limit of a session waiting for a command (`stats timeout`).
    pub timeout: Duration,
}

impl Runtime {
    pub fn new(model: Arc<Model>, plan: Arc<Plan>, totals: Totals) -> Runtime {
        let timeout = model
            .global
            .stats_timeout
            .filter(|d| !d.is_zero())
            .unwrap_or(DEFAULT_TIMEOUT);
        Runtime {
            model,
            plan,
            totals,
            started: Instant::now(),
            started_at: SystemTime::now(),
            pid: std::process::id(),
            timeout,
        }
    }

    /// HAProxy's version shape with Sluice's own version.
    pub fn version() -> String {
        format!(
            "{}-sluice-{}",
            sluice_config::version::COMPAT_VERSION,
            env!("CARGO_PKG_VERSION")
        )
    }

    /// The proxy id HAProxy would give the proxy at index `i` of the model: its `id` line,
    /// else the position among proxies counted from 2 (HAProxy's runtime API takes an
    /// internal proxy first).
    pub fn proxy_id(&self, i: usize) -> u64 {
        self.model
            .proxies
            .get(i)
            .and_then(|p| p.other.iter().rev().find(|s| s.keyword() == "id"))
            .and_then(|s| s.words.get(1))
            .and_then(|w| w.text.parse().ok())
            .unwrap_or_else(|| {
                let pos = self
                    .model
                    .proxies
                    .iter()
                    .take(i)
                    .filter(|p| p.kind != sluice_model::proxy::ProxyKind::Defaults)
                    .count();
                u64::try_from(pos).unwrap_or(u64::MAX).saturating_add(2)
            })
    }
}
