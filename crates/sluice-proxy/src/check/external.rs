//! `option external-check`: a program run for each check (`external-check command`), with
//! HAProxy's arguments (`<proxy_address> <proxy_port> <server_address> <server_port>`) and
//! environment (`HAPROXY_PROXY_*`, `HAPROXY_SERVER_*`, `PATH` from `external-check path`).
//! Exit status 0 passes the check; any other fails it; a program still running when the
//! check's time is up (`timeout check`, else `inter`) is killed and the check times out.
//!
//! The environment starts empty unless the global `external-check preserve-env` keeps the
//! process's own.

use super::{Outcome, Status};
use sluice_model::address::{Family, Host};
use sluice_model::{Model, Proxy};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::time::Instant;

/// What a backend's external checks run.
#[derive(Clone, Debug)]
pub struct Program {
    /// `external-check command`.
    pub command: PathBuf,
    /// `external-check path`: the `PATH` the program gets (empty by default).
    pub path: String,
    /// The global `external-check preserve-env`.
    pub preserve_env: bool,
    /// The first IPv4, IPv6 or UNIX listener of the proxy (`NOT_USED` in a backend), and
    /// its port (`NOT_USED` for a UNIX socket or without a listener).
    pub proxy_addr: Option<String>,
    pub proxy_port: Option<String>,
}

/// The backend's external check, when `option external-check` is its check type.
/// `Err` when the configuration asks for one Sluice cannot run (no command).
pub fn program(model: &Model, proxy: &Proxy) -> Option<Result<Program, String>> {
    let chosen = proxy.check_type()?;
    if chosen.name != "external-check" || chosen.negated {
        return None;
    }
    // The proxy's own lines come after its defaults' ones: the last one wins.
    let setting = |what: &str| {
        proxy
            .other
            .iter()
            .rev()
            .find(|s| {
                s.keyword() == "external-check" && s.words.get(1).is_some_and(|w| w.text == what)
            })
            .and_then(|s| s.words.get(2))
            .map(|w| w.text.clone())
    };
    let Some(command) = setting("command") else {
        return Some(Err(
            "'option external-check' without 'external-check command'".into(),
        ));
    };
    let preserve_env = model.global.other.iter().any(|s| {
        s.keyword() == "external-check" && s.words.iter().skip(1).any(|w| w.text == "preserve-env")
    });
    let listener = proxy
        .binds
        .iter()
        .flat_map(|b| b.addresses.iter())
        .find(|a| {
            matches!(
                a.family,
                Family::Inet | Family::Ipv4 | Family::Ipv6 | Family::Unix
            )
        });
    let (proxy_addr, proxy_port) = match listener {
        Some(a) => match &a.host {
            Host::Path(p) => (Some(p.clone()), None),
            Host::Ip(ip) => (Some(ip.to_string()), a.port_number().map(|p| p.to_string())),
            Host::Any => (
                Some(
                    if a.family == Family::Ipv6 {
                        "::"
                    } else {
                        "0.0.0.0"
                    }
                    .to_string(),
                ),
                a.port_number().map(|p| p.to_string()),
            ),
            Host::Name(n) => (Some(n.clone()), a.port_number().map(|p| p.to_string())),
            Host::Fd(_) => (None, None),
        },
        None => (None, None),
    };
    Some(Ok(Program {
        command: PathBuf::from(command),
        path: setting("path").unwrap_or_default(),
        preserve_env,
        proxy_addr,
        proxy_port,
    }))
}

/// The server an external check is about.
#[derive(Clone, Debug)]
pub struct Server {
    pub backend_id: i64,
    pub backend_name: String,
    pub server_id: u32,
    pub server_name: String,
    /// Address and port, when the server has them (empty for a UNIX socket).
    pub addr: String,
    pub port: String,
    pub maxconn: u32,
    pub ssl: bool,
    /// `h1`, `h2` or `tcp`.
    pub proto: &'static str,
}

/// Runs the program once for `server`, killing it at `deadline`.
pub async fn run(
    program: &Program,
    server: &Server,
    connections: &std::sync::atomic::AtomicU32,
    limit: Duration,
) -> Outcome {
    let start = Instant::now();
    let deadline = start + limit;
    let not_used = || "NOT_USED".to_string();
    let mut cmd = Command::new(&program.command);
    cmd.arg(program.proxy_addr.clone().unwrap_or_else(not_used))
        .arg(program.proxy_port.clone().unwrap_or_else(not_used))
        .arg(&server.addr)
        .arg(&server.port)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if !program.preserve_env {
        cmd.env_clear();
    }
    let vars: [(&str, OsString); 13] = [
        (
            "HAPROXY_PROXY_ADDR",
            program.proxy_addr.clone().unwrap_or_default().into(),
        ),
        ("HAPROXY_PROXY_ID", server.backend_id.to_string().into()),
        ("HAPROXY_PROXY_NAME", server.backend_name.clone().into()),
        (
            "HAPROXY_PROXY_PORT",
            program.proxy_port.clone().unwrap_or_default().into(),
        ),
        ("HAPROXY_SERVER_ADDR", server.addr.clone().into()),
        (
            "HAPROXY_SERVER_CURCONN",
            connections.load(Ordering::Relaxed).to_string().into(),
        ),
        ("HAPROXY_SERVER_ID", server.server_id.to_string().into()),
        ("HAPROXY_SERVER_MAXCONN", server.maxconn.to_string().into()),
        ("HAPROXY_SERVER_NAME", server.server_name.clone().into()),
        ("HAPROXY_SERVER_PORT", server.port.clone().into()),
        (
            "HAPROXY_SERVER_SSL",
            if server.ssl { "1" } else { "0" }.into(),
        ),
        ("HAPROXY_SERVER_PROTO", server.proto.into()),
        ("PATH", program.path.clone().into()),
    ];
    cmd.envs(vars);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            let mut o = Outcome::new(Status::ProcErr, super::tcp::strerror(&e));
            o.duration = start.elapsed();
            return o;
        }
    };
    // The checker's runtime has no child reaper: the exit is polled, briefly at first.
    let mut pause = Duration::from_millis(1);
    let mut outcome = loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                break match status.code() {
                    Some(0) => Outcome::new(Status::ProcOk, "").with_code(0),
                    Some(code) => Outcome::new(Status::ProcErr, "")
                        .with_code(u32::try_from(code).unwrap_or(0)),
                    None => Outcome::new(Status::ProcErr, "killed by a signal"),
                };
            }
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break Outcome::new(Status::ProcTout, "");
            }
            Ok(None) => {}
            Err(e) => break Outcome::new(Status::ProcErr, super::tcp::strerror(&e)),
        }
        tokio::time::sleep(pause.min(deadline.saturating_duration_since(Instant::now()))).await;
        pause = (pause * 2).min(Duration::from_millis(20));
    };
    outcome.duration = start.elapsed();
    outcome
}
