//! HAProxy's health messages, printed on stderr as `[WARNING]  (pid) : ...` (and `[ALERT]`
//! when a backend has no server left), sent to the backend's `log` targets at HAProxy's
//! syslog level ([`notify`]), and handed to whoever subscribed (tests).

use super::Outcome;
use crate::log::direct::Direct;
use sluice_model::Model;
use std::collections::HashMap;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Mutex;

/// Syslog levels of HAProxy's health messages.
pub mod syslog {
    /// `backend ... has no server available!`.
    pub const EMERG: u8 = 0;
    /// A server goes down (check, tracking or maintenance).
    pub const ALERT: u8 = 1;
    /// A check result (`option log-health-checks`), a server comes up.
    pub const NOTICE: u8 = 5;
}

/// One backend's logging for health messages.
struct Sink {
    /// `backend`, or `proxy` for a `listen` section (HAProxy's proxy type word).
    kind: &'static str,
    log: Option<Direct>,
}

/// The process's backends by name (installed when the worker starts).
static SINKS: Mutex<Option<HashMap<String, Sink>>> = Mutex::new(None);

/// Resolves every backend's log targets for health messages. Returns the targets that could
/// not be resolved (one message per backend); those backends log nothing.
pub fn install(model: &Model) -> Vec<String> {
    let mut errors = Vec::new();
    let mut map = HashMap::new();
    for p in model.proxies.iter().filter(|p| !p.disabled) {
        if !p.kind.is_backend() {
            continue;
        }
        let log = Direct::build(model, p).unwrap_or_else(|e| {
            errors.push(e.to_string());
            None
        });
        let kind = if p.kind.is_frontend() {
            "proxy"
        } else {
            "backend"
        };
        map.insert(p.name.clone(), Sink { kind, log });
    }
    if let Ok(mut s) = SINKS.lock() {
        *s = Some(map);
    }
    errors
}

/// Sends `text` to `backend`'s log targets at syslog `level` (nothing when it has none).
pub fn log(backend: &str, level: u8, text: &str) {
    if let Ok(mut s) = SINKS.lock() {
        if let Some(d) = s
            .as_mut()
            .and_then(|m| m.get_mut(backend))
            .and_then(|k| k.log.as_mut())
        {
            d.send(level, text);
        }
    }
}

/// Prints `text` on stderr at `level` and logs it to `backend`'s targets at `syslog`.
pub fn notify(backend: &str, level: Level, syslog: u8, text: &str) {
    emit(level, text);
    log(backend, syslog, text);
}

/// `backend 'be' has no server available!` on stderr, and its unquoted form in the logs.
pub fn no_server(backend: &str) {
    let kind = SINKS
        .lock()
        .ok()
        .and_then(|s| s.as_ref()?.get(backend).map(|k| k.kind))
        .unwrap_or("backend");
    emit(
        Level::Alert,
        &format!("{kind} '{backend}' has no server available!"),
    );
    log(
        backend,
        syslog::EMERG,
        &format!("{kind} {backend} has no server available!"),
    );
}

/// The severity HAProxy gives a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Notice,
    Warning,
    Alert,
}

/// Subscribers of every message (transitions are rare: a lock here costs nothing).
static SUBSCRIBERS: Mutex<Vec<Sender<(Level, String)>>> = Mutex::new(Vec::new());

/// Receives every health message from now on (all backends of the process).
pub fn subscribe() -> Receiver<(Level, String)> {
    let (tx, rx) = channel();
    if let Ok(mut s) = SUBSCRIBERS.lock() {
        s.push(tx);
    }
    rx
}

/// Prints one message on stderr in HAProxy's shape and hands it to the subscribers.
pub fn emit(level: Level, message: &str) {
    let tag = match level {
        Level::Notice => "[NOTICE]   ",
        Level::Warning => "[WARNING]  ",
        Level::Alert => "[ALERT]    ",
    };
    eprintln!("{tag}({}) : {message}", std::process::id());
    // Hook: the log helper routes these to the proxies' `log` targets from here.
    if let Ok(mut subs) = SUBSCRIBERS.lock() {
        subs.retain(|tx| tx.send((level, message.to_string())).is_ok());
    }
}

/// `, reason: ..., code: N, info: "...", check duration: Nms` (HAProxy's order).
pub fn status_text(o: &Outcome) -> String {
    let mut s = format!(", reason: {}", o.status.describe());
    if let Some(code) = o.code {
        s.push_str(&format!(", code: {code}"));
    }
    if !o.info.is_empty() {
        s.push_str(&format!(", info: \"{}\"", o.info));
    }
    s.push_str(&format!(", check duration: {}ms", o.duration.as_millis()));
    s
}

/// Counts for the end of a transition message.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    pub active: usize,
    pub backup: usize,
    pub sessions: u32,
    pub queued: usize,
}

/// Where a transition comes from.
pub enum Cause<'a> {
    Check(&'a Outcome),
    /// A check whose result was already logged (`option log-health-checks`): HAProxy then
    /// leaves the reason out of the transition line.
    Logged,
    /// `track`: the tracked server's `backend/server`.
    Via(&'a str),
    /// `observe`: what the traffic showed (HAProxy's "Health analyze").
    Analysis(&'a str),
}

/// `Server be/s1 is DOWN, reason: ... 0 active and 0 backup servers left. ...`
pub fn down(backend: &str, server: &str, backup: bool, cause: Cause<'_>, c: Counts) -> String {
    let mut s = format!(
        "{}Server {backend}/{server} is DOWN",
        if backup { "Backup " } else { "" }
    );
    match cause {
        Cause::Check(o) => s.push_str(&status_text(o)),
        Cause::Logged => {}
        Cause::Via(t) => s.push_str(&format!(" via {t}")),
        Cause::Analysis(info) => s.push_str(&format!(", reason: Health analyze, info: \"{info}\"")),
    }
    s.push_str(&format!(
        ". {} active and {} backup servers left.{} {} sessions active, 0 requeued, {} remaining in queue.",
        c.active,
        c.backup,
        if c.backup > 0 && c.active == 0 { " Running on backup." } else { "" },
        c.sessions,
        c.queued
    ));
    s
}

/// `Server be/s1 is UP, reason: ... 1 active and 0 backup servers online. ...`
pub fn up(backend: &str, server: &str, backup: bool, cause: Cause<'_>, c: Counts) -> String {
    let mut s = format!(
        "{}Server {backend}/{server} is UP",
        if backup { "Backup " } else { "" }
    );
    match cause {
        Cause::Check(o) => s.push_str(&status_text(o)),
        Cause::Logged => {}
        Cause::Via(t) => s.push_str(&format!(" via {t}")),
        Cause::Analysis(info) => s.push_str(&format!(", reason: Health analyze, info: \"{info}\"")),
    }
    s.push_str(&format!(
        ". {} active and {} backup servers online.{} 0 sessions requeued, {} total in queue.",
        c.active,
        c.backup,
        if c.backup > 0 && c.active == 0 {
            " Running on backup."
        } else {
            ""
        },
        c.queued
    ));
    s
}

/// `option log-health-checks`: `Health check for server be/s1 failed, reason: ..., status: 0/2 DOWN.`
pub fn check_result(
    backend: &str,
    server: &str,
    backup: bool,
    o: &Outcome,
    (counter, rise, fall, is_up): (u32, u32, u32, bool),
) -> String {
    let (n, of) = if is_up {
        ((counter + 1).saturating_sub(rise), fall)
    } else {
        (counter, rise)
    };
    format!(
        "Health check for {}server {backend}/{server} {}{}, status: {n}/{of} {}.",
        if backup { "backup " } else { "" },
        if o.status.passed() {
            "succeeded"
        } else {
            "failed"
        },
        status_text(o),
        if is_up { "UP" } else { "DOWN" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;

    #[test]
    fn down_line_has_haproxy_wording() {
        let o = Outcome::new(Status::L4Con, "Connection refused");
        let line = down("be", "s1", false, Cause::Check(&o), Counts::default());
        assert_eq!(
            line,
            "Server be/s1 is DOWN, reason: Layer4 connection problem, info: \"Connection refused\", check duration: 0ms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue."
        );
        let ok = Outcome::new(Status::L7Ok, "OK").with_code(200);
        let c = Counts {
            active: 1,
            ..Counts::default()
        };
        assert_eq!(
            up("be", "s1", false, Cause::Check(&ok), c),
            "Server be/s1 is UP, reason: Layer7 check passed, code: 200, info: \"OK\", check duration: 0ms. 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue."
        );
    }
}
