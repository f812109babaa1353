//! HAProxy's health messages, printed on stderr as `[WARNING]  (pid) : ...` (and `[ALERT]`
//! when a backend has no server left), and handed to whoever subscribed (tests; the log
//! helper's syslog routing can subscribe the same way).

use super::Outcome;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Mutex;

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
    /// `track`: the tracked server's `backend/server`.
    Via(&'a str),
}

/// `Server be/s1 is DOWN, reason: ... 0 active and 0 backup servers left. ...`
pub fn down(backend: &str, server: &str, backup: bool, cause: Cause<'_>, c: Counts) -> String {
    let mut s = format!(
        "{}Server {backend}/{server} is DOWN",
        if backup { "Backup " } else { "" }
    );
    match cause {
        Cause::Check(o) => s.push_str(&status_text(o)),
        Cause::Via(t) => s.push_str(&format!(" via {t}")),
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
        Cause::Via(t) => s.push_str(&format!(" via {t}")),
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
