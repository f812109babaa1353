//! What the sample fetches of a check read: the log-format values of `http-check send`
//! (`hdr`, `uri-lf`, `body-lf`) and the `set-var` rules see the backend and the server being
//! checked (`be_name`, `srv_name`), the servers' states (`srv_is_up`), the check's own
//! variables (`check.*`, `txn.*`...) and a unique ID made from the backend's
//! `unique-id-format`, as HAProxy's checks do.

use crate::plan::Plan;
use sluice_rules::{Connection, HttpMessage, LogFormat, SampleSource, UniqueId, Vars};
use std::sync::Arc;

/// The checked server, for the fetches of its checks.
#[derive(Clone)]
pub struct CheckContext {
    pub plan: Arc<Plan>,
    pub backend: usize,
    pub server: usize,
    /// The backend's `unique-id-format`, compiled.
    pub unique_id_format: Option<Arc<LogFormat>>,
    /// The node name of `http-check send-state`.
    pub node: Arc<str>,
}

impl std::fmt::Debug for CheckContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckContext")
            .field("backend", &self.backend)
            .field("server", &self.server)
            .finish()
    }
}

/// One run of a check: its variables and its unique ID live as long as the run.
pub struct CheckSource<'a> {
    pub context: &'a CheckContext,
    pub vars: &'a Vars,
    pub unique_id: &'a UniqueId,
}

impl CheckSource<'_> {
    fn backend(&self) -> Option<&crate::backend::Backend> {
        self.context.plan.backend(self.context.backend)
    }
}

impl Connection for CheckSource<'_> {
    fn frontend_name(&self) -> &str {
        ""
    }

    fn backend_name(&self) -> Option<&str> {
        self.backend().map(|b| b.name.as_str())
    }

    fn server_name(&self) -> Option<&str> {
        self.backend()?
            .servers
            .get(self.context.server)
            .map(|s| s.name.as_str())
    }

    fn srv_is_up(&self, backend: &str, server: &str) -> Option<bool> {
        let plan = &self.context.plan;
        let be = plan.backend(*plan.backend_names.get(backend)?)?;
        let s = be.servers.iter().find(|s| s.name == server)?;
        Some(s.health.usable())
    }

    fn unique_id_source(&self) -> Option<(&UniqueId, &LogFormat)> {
        let format = self.context.unique_id_format.as_deref()?;
        Some((self.unique_id, format))
    }
}

impl SampleSource for CheckSource<'_> {
    fn connection(&self) -> &dyn Connection {
        self
    }

    fn request(&self) -> Option<&dyn HttpMessage> {
        None
    }

    fn response(&self) -> Option<&dyn HttpMessage> {
        None
    }

    fn vars(&self) -> Option<&Vars> {
        Some(self.vars)
    }
}

/// The `X-Haproxy-Server-State` value of `http-check send-state`: the state with the checks
/// left before it changes, then the server's address, names, node, weights and load
/// (`UP 2/3; address=...; port=...; name=be/srv; node=lb1; weight=1/2; scur=0/0; qcur=0`).
pub fn server_state(context: &CheckContext) -> Option<String> {
    use super::state::State;
    let be = context.plan.backend(context.backend)?;
    let srv = be.servers.get(context.server)?;
    let h = &srv.health;
    let (rise, fall) = (h.settings.rise, h.settings.fall);
    let counter = h.counter();
    let state = match h.state() {
        State::Down | State::Maint if counter == 0 => "DOWN".to_string(),
        State::Down | State::Maint => format!("DOWN {counter}/{rise}"),
        up_state => {
            let word = if up_state == State::Stopping {
                "NOLB"
            } else {
                "UP"
            };
            if counter >= rise + fall - 1 {
                word.to_string()
            } else {
                format!("{word} {}/{fall}", (counter + 1).saturating_sub(rise))
            }
        }
    };
    let (address, port) = match srv.target() {
        crate::backend::server::Target::Addr(a) => (a.ip().to_string(), a.port().to_string()),
        crate::backend::server::Target::Relative(ip, _) => (ip.to_string(), String::new()),
        crate::backend::server::Target::Unix(_) => ("unix".to_string(), "unix".to_string()),
    };
    let total_weight: u32 = be
        .servers
        .iter()
        .filter(|s| s.health.usable() && s.backup == srv.backup)
        .map(|s| s.health.effective_weight())
        .sum();
    let load = |s: &crate::backend::server::Server| {
        s.connections.load(std::sync::atomic::Ordering::Relaxed)
    };
    let backend_load: u32 = be.servers.iter().map(load).sum();
    Some(format!(
        "{state}; address={address}; port={port}; name={}/{}; node={}; weight={}/{total_weight}; scur={}/{backend_load}; qcur={}",
        be.name,
        srv.name,
        context.node,
        h.effective_weight(),
        load(srv),
        be.queue.waiting_for(context.server),
    ))
}

/// The node name `send-state` gives: the global `node`, else the system's host name.
pub fn node_name(model: &sluice_model::Model) -> Arc<str> {
    let configured = model
        .global
        .other
        .iter()
        .rev()
        .find(|s| s.keyword() == "node")
        .and_then(|s| s.words.get(1))
        .map(|w| w.text.clone());
    let name = configured.unwrap_or_else(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_default()
    });
    Arc::from(name)
}
