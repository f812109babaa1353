//! Agent checks (`agent-check`, `agent-port`, `agent-addr`, `agent-inter`, `agent-send`): a
//! program on the server answers one line that sets the server's weight (`75%`), its
//! administrative state (`ready`, `drain`, `maint`) and its health (`up`, `down`,
//! `stopped`, `fail`), as with HAProxy. An agent that cannot be reached changes nothing:
//! reachability is the health check's business.
//! `maxconn:<n>` in the reply becomes the server's connection limit.

use super::report::{self, Cause, Level};
use super::state::{admin, State};
use super::{Outcome, Status};
use crate::backend::server::Target as ServerTarget;
use crate::plan::Plan;
use sluice_model::Model;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One server's agent.
#[derive(Clone, Debug)]
pub struct AgentSpec {
    pub backend: usize,
    pub server: usize,
    pub addr: SocketAddr,
    /// No `agent-addr`: the agent is on the server, and follows it when it moves.
    pub follows: bool,
    /// `agent-send`: what is written before reading the reply.
    pub send: Vec<u8>,
    /// `agent-inter`, else `inter`, else 2 s.
    pub inter: Duration,
    /// How long one exchange may take (`timeout check`, else `inter`).
    pub timeout: Duration,
    /// `option log-health-checks`.
    pub log: bool,
}

/// The agents of every server with `agent-check` and an agent port.
pub fn specs(model: &Model, plan: &Plan) -> (Vec<AgentSpec>, Vec<String>) {
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    for (pi, proxy) in model.proxies.iter().enumerate() {
        let Some(be) = plan.backend(pi) else { continue };
        for (si, s) in proxy.servers.iter().enumerate() {
            let o = &s.options.other;
            let flag = |name: &str| o.iter().rev().find(|(n, _, _)| n == name);
            let value = |name: &str| flag(name).and_then(|(_, v, _)| v.as_deref());
            // `no-agent-check` after `agent-check` (default-server then server) wins.
            let on = o
                .iter()
                .rev()
                .find(|(n, _, _)| n == "agent-check" || n == "no-agent-check")
                .is_some_and(|(n, _, _)| n == "agent-check");
            if !on {
                continue;
            }
            let Some(srv) = be.servers.get(si) else {
                continue;
            };
            let Some(port) = value("agent-port").and_then(|p| p.parse::<u16>().ok()) else {
                warnings.push(format!(
                    "server '{}/{}' : 'agent-check' without 'agent-port': the agent is not queried",
                    proxy.name, s.name
                ));
                continue;
            };
            let ip = value("agent-addr")
                .and_then(|a| a.parse::<IpAddr>().ok())
                .or(match &srv.target() {
                    ServerTarget::Addr(a) => Some(a.ip()),
                    ServerTarget::Relative(ip, _) => Some(*ip),
                    ServerTarget::Unix(_) => None,
                });
            let Some(ip) = ip else {
                warnings.push(format!(
                    "server '{}/{}' : the agent of a UNIX-socket server needs 'agent-addr'",
                    proxy.name, s.name
                ));
                continue;
            };
            let inter = value("agent-inter")
                .and_then(parse_time)
                .or(s.options.inter)
                .filter(|d| !d.is_zero())
                .unwrap_or(Duration::from_secs(2));
            let timeout = crate::plan::timeout(proxy, "check").unwrap_or(inter);
            out.push(AgentSpec {
                backend: pi,
                server: si,
                addr: SocketAddr::new(ip, port),
                follows: value("agent-addr").is_none(),
                send: value("agent-send")
                    .map(|v| v.as_bytes().to_vec())
                    .unwrap_or_default(),
                inter,
                timeout,
                log: proxy.option("log-health-checks").is_some(),
            });
        }
    }
    (out, warnings)
}

fn parse_time(v: &str) -> Option<Duration> {
    sluice_model::units::parse_time(v, sluice_model::units::TimeUnit::Millis)
        .ok()
        .map(|t| t.duration)
}

/// Queries the agent every `inter` until the checker stops.
pub async fn agent_loop(plan: Arc<Plan>, mut spec: AgentSpec) {
    loop {
        let start = Instant::now();
        // The server may have moved (`set server addr`, the resolvers).
        let moved = plan
            .backend(spec.backend)
            .and_then(|be| be.servers.get(spec.server))
            .and_then(|s| s.address.ip());
        if let (true, Some(ip)) = (spec.follows, moved) {
            spec.addr.set_ip(ip);
        }
        let off = plan
            .backend(spec.backend)
            .and_then(|be| be.servers.get(spec.server))
            .is_some_and(|s| s.health.agent_off());
        if !off {
            if let Ok(Some((line, mut stream))) =
                tokio::time::timeout(spec.timeout, query(&spec)).await
            {
                // The reply takes effect before the connection closes, as with HAProxy:
                // whoever sees the close sees the new state.
                apply(&plan, &spec, &line, start.elapsed());
                let _ = tokio::time::timeout(Duration::from_millis(10), stream.shutdown()).await;
            }
        }
        tokio::time::sleep(spec.inter).await;
    }
}

/// One exchange: connect, send, read up to the end of the first line. The connection is
/// returned open, for the caller to close once the line is applied.
async fn query(spec: &AgentSpec) -> Option<(String, TcpStream)> {
    let mut stream = TcpStream::connect(spec.addr).await.ok()?;
    if !spec.send.is_empty() {
        stream.write_all(&spec.send).await.ok()?;
    }
    let mut buf = Vec::with_capacity(128);
    let mut chunk = [0u8; 512];
    loop {
        let n = stream.read(&mut chunk).await.ok()?;
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        if let Some(end) = buf.iter().position(|c| *c == b'\n' || *c == b'\r') {
            buf.truncate(end);
            break;
        }
        if n == 0 || buf.len() > 1024 {
            // A reply without end of line is ignored, as HAProxy does.
            return None;
        }
    }
    Some((String::from_utf8_lossy(&buf).into_owned(), stream))
}

/// What an agent's line asks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reply {
    /// `NN%`: the weight as a share of the configured one.
    pub weight_percent: Option<u32>,
    /// `up`, `down`, `stopped`, `fail` (the last one wins).
    pub health: Option<String>,
    /// `ready`, `drain`, `maint`.
    pub admin: Option<String>,
    /// `maxconn:N`: the server's new connection limit.
    pub maxconn: Option<u32>,
    /// The text after `#`.
    pub description: String,
    /// The first word nothing understood.
    pub unknown: Option<String>,
}

impl Reply {
    /// Reads a line: words separated by spaces, tabs or commas, then `#` and a description.
    pub fn parse(line: &str) -> Reply {
        let (words, description) = line.split_once('#').unwrap_or((line, ""));
        let mut r = Reply {
            description: description.trim().to_string(),
            ..Reply::default()
        };
        for w in words.split([' ', '\t', ',']).filter(|w| !w.is_empty()) {
            let lower = w.to_ascii_lowercase();
            match lower.as_str() {
                "up" | "down" | "stopped" | "fail" => r.health = Some(lower),
                "ready" | "drain" | "maint" => r.admin = Some(lower),
                _ if lower.ends_with('%') => {
                    r.weight_percent = lower.trim_end_matches('%').parse().ok();
                }
                _ if lower.starts_with("maxconn:") => {
                    r.maxconn = lower.trim_start_matches("maxconn:").parse().ok();
                }
                _ => {
                    r.unknown.get_or_insert_with(|| w.to_string());
                }
            }
        }
        r
    }
}

fn apply(plan: &Plan, spec: &AgentSpec, line: &str, took: Duration) {
    let Some(be) = plan.backend(spec.backend) else {
        return;
    };
    let Some(srv) = be.servers.get(spec.server) else {
        return;
    };
    let h = &srv.health;
    let reply = Reply::parse(line);
    if let Some(m) = reply.maxconn {
        be.queue.set_maxconn(spec.server, m);
    }
    if let Some(p) = reply.weight_percent {
        let w = (u64::from(h.settings.weight) * u64::from(p) / 100).min(256) as u32;
        if w != h.weight() {
            h.set_weight(w);
            be.epoch.bump();
        }
    }
    match reply.admin.as_deref() {
        Some("maint") => crate::cli::servers::enter_maintenance(be, srv),
        Some("drain") => {
            crate::cli::servers::leave_maintenance(be, srv);
            if h.set_admin(admin::FDRAIN, 0) {
                be.epoch.bump();
            }
        }
        Some("ready") => {
            crate::cli::servers::leave_maintenance(be, srv);
            if h.set_admin(0, admin::FDRAIN) {
                be.epoch.bump();
            }
        }
        _ => {}
    }
    let Some(health) = reply.health.as_deref() else {
        return;
    };
    let info = if reply.description.is_empty() {
        format!("via agent : {health}")
    } else {
        format!("via agent : {health} ({})", reply.description)
    };
    let up = health == "up";
    let outcome = Outcome {
        status: if up { Status::L7Ok } else { Status::L7Sts },
        code: None,
        info,
        duration: took,
    };
    if spec.log {
        let line = format!(
            "Agent check for {}server {}/{} {}{}",
            if srv.backup { "backup " } else { "" },
            be.name,
            srv.name,
            if up { "succeeded" } else { "failed" },
            report::status_text(&outcome)
        );
        report::notify(&be.name, Level::Warning, report::syslog::NOTICE, &line);
    }
    let was_down = h.agent_down();
    h.set_agent_down(!up);
    if h.in_maintenance() {
        return;
    }
    let counts = || crate::check::scheduler::counts_of(be, spec.server);
    if !up && h.state() == State::Up {
        h.set_counter(0);
        h.set_state(State::Down);
        be.epoch.bump();
        let c = counts();
        let line = report::down(&be.name, &srv.name, srv.backup, Cause::Check(&outcome), c);
        report::notify(&be.name, Level::Warning, report::syslog::ALERT, &line);
        if c.active == 0 && c.backup == 0 {
            report::no_server(&be.name);
        }
    } else if up && was_down && h.state() != State::Up {
        // The agent let the server go: it comes back as its health check allows.
        if !h.settings.checked || h.counter() >= h.settings.rise || h.checks_off() {
            h.set_counter(h.settings.rise + h.settings.fall - 1);
            h.set_state(State::Up);
            be.epoch.bump();
            let line = report::up(
                &be.name,
                &srv.name,
                srv.backup,
                Cause::Check(&outcome),
                counts(),
            );
            report::notify(&be.name, Level::Warning, report::syslog::NOTICE, &line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_replies() {
        let r = Reply::parse("75%,maxconn:30,maint,down");
        assert_eq!(r.weight_percent, Some(75));
        assert_eq!(r.maxconn, Some(30));
        assert_eq!(r.admin.as_deref(), Some("maint"));
        assert_eq!(r.health.as_deref(), Some("down"));
        let r = Reply::parse("UP 50% # back from upgrade");
        assert_eq!(r.health.as_deref(), Some("up"));
        assert_eq!(r.weight_percent, Some(50));
        assert_eq!(r.description, "back from upgrade");
        assert_eq!(
            Reply::parse("bogus ready").unknown.as_deref(),
            Some("bogus")
        );
    }
}
