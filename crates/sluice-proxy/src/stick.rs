//! Stick counters in the data plane: where a stream's tracked entries are counted
//! (`sluice_rules::stick` keeps them and knows HAProxy's counters; this module says when).
//!
//! Trackers started by `tcp-request connection` rules must reach the session, which starts
//! later in the connection's task (after a PROXY header or a TLS handshake). They wait here,
//! on the thread that accepted the connection, under the connection's own addresses; the
//! session takes them ([`unpark`]) before its own rules run. A connection that closes before
//! its session starts leaves them behind: they are dropped (and their `conn_cur` given
//! back) after [`PARKED_LIMIT`], or when its addresses come back.

use crate::http::rules::Conn;
use crate::plan::Plan;
use crate::stream::Addrs;
use sluice_rules::stick::{StickCounters, StickRules, StickServer};
use sluice_rules::{HttpMessage, SampleSource, Stream, Txn, Vars, Verdict};
use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// How long trackers wait for their session.
pub const PARKED_LIMIT: Duration = Duration::from_secs(60);

type Key = (Option<SocketAddr>, Option<SocketAddr>);

thread_local! {
    static PARKED: RefCell<HashMap<Key, (StickCounters, Instant)>> = RefCell::new(HashMap::new());
}

fn key(a: Addrs) -> Key {
    (a.peer, a.local)
}

/// Keeps the trackers of a connection's `tcp-request connection` rules for its session.
pub fn park(fc: Addrs, counters: StickCounters) {
    let now = Instant::now();
    PARKED.with(|p| {
        let mut p = p.borrow_mut();
        p.retain(|_, (_, at)| now.duration_since(*at) < PARKED_LIMIT);
        p.insert(key(fc), (counters, now));
    });
}

/// The trackers parked for the connection `fc`, if any.
pub fn unpark(fc: Addrs) -> Option<StickCounters> {
    PARKED.with(|p| {
        let mut p = p.borrow_mut();
        if p.is_empty() {
            return None;
        }
        p.remove(&key(fc)).map(|(c, _)| c)
    })
}

/// Forgets what a closed connection left behind, so that a new connection from the same
/// addresses does not inherit it.
pub fn forget(fc: Addrs) {
    let _ = unpark(fc);
}

/// An HTTP exchange starts on a connection with `meter`'s byte counts, `buffered` of the
/// bytes read being still unprocessed (this exchange's request, read while waiting for it).
pub fn exchange_starts(
    txn: &mut Txn,
    meter: Option<&std::rc::Rc<crate::stream::log::Meter>>,
    buffered: usize,
) {
    if let Some(m) = meter {
        let read = m.read.get().saturating_sub(buffered as u64);
        txn.vars.stick.mark_bytes(read, m.written.get());
    }
}

/// The exchange ended: the bytes it moved count for every tracked entry.
pub fn exchange_ends(txn: &mut Txn, meter: Option<&std::rc::Rc<crate::stream::log::Meter>>) {
    if let Some(m) = meter.filter(|_| !txn.vars.stick.is_empty()) {
        let now = sluice_stick::now_ms();
        txn.vars
            .stick
            .count_bytes_since_mark(m.read.get(), m.written.get(), now);
    }
}

/// An HTTP request was received (after `tcp-request content` rules): every tracked entry
/// counts it.
pub fn on_http_request(txn: &Txn) {
    if !txn.vars.stick.is_empty() {
        txn.vars.stick.count_http_request(sluice_stick::now_ms());
    }
}

/// The protocol glitches the client connection counted since its previous stream (HTTP/2)
/// count for every entry tracked now.
pub fn on_glitches(txn: &Txn, meter: Option<&crate::stream::log::Meter>) {
    let Some(n) = meter.map(|m| m.new_glitches.get()).filter(|n| *n > 0) else {
        return;
    };
    if !txn.vars.stick.is_empty() {
        txn.vars
            .stick
            .count_glitches(u64::from(n), sluice_stick::now_ms());
    }
}

/// The request rules answered: `tarpit` and `auth` count as client errors, as in HAProxy.
pub fn on_verdict(txn: &Txn, v: &Verdict) {
    if txn.vars.stick.is_empty() {
        return;
    }
    if matches!(v, Verdict::Tarpit { .. } | Verdict::Auth { .. }) {
        txn.vars
            .stick
            .count_response(400, false, sluice_stick::now_ms());
    }
}

/// The server answered `status`: 4xx are errors, 5xx failures.
pub fn on_response(txn: &Txn, status: u16) {
    if !txn.vars.stick.is_empty() {
        txn.vars
            .stick
            .count_response(status, true, sluice_stick::now_ms());
    }
}

/// The server broke off its response's body: a failure for every tracked entry.
pub fn on_server_abort(txn: &Txn) {
    if !txn.vars.stick.is_empty() {
        txn.vars.stick.count_server_abort(sluice_stick::now_ms());
    }
}

fn stream<'a>(
    conn: &'a Conn<'_>,
    request: Option<&'a dyn HttpMessage>,
    response: Option<&'a dyn HttpMessage>,
    txn: &'a Txn,
) -> Stream<'a> {
    Stream {
        conn,
        request,
        response,
        vars: Some(&txn.vars),
        changes: Some(&txn.changes),
        captures: Some(&txn.captures),
    }
}

/// `stick match` and `stick on` of backend `be`: the server its table remembers for this
/// request, unless `use-server` chose one (`forced`); the connect step uses it only while
/// it is usable. The keys of `stick on` and `stick store-request` wait in `txn` for the
/// server the request goes to.
pub fn persistence(
    plan: &Plan,
    be: usize,
    rules: &StickRules,
    conn: &Conn<'_>,
    msg: &dyn HttpMessage,
    txn: &mut Txn,
    forced: Option<usize>,
) -> Option<usize> {
    let (server, keys) = {
        let src = stream(conn, Some(msg), None, txn);
        let server = forced.or_else(|| sticky_server(plan, be, rules, &src));
        (server, rules.remember(&src))
    };
    txn.vars.stick.wait_for_server(keys);
    server
}

/// The server of backend `be` the first matching `stick match`/`stick on` line names.
fn sticky_server(
    plan: &Plan,
    be: usize,
    rules: &StickRules,
    src: &dyn SampleSource,
) -> Option<usize> {
    let found = rules.find(src)?;
    let servers = &plan.backend(be)?.servers;
    let by_key = found.key.as_deref().and_then(|k| {
        servers.iter().position(|s| {
            if found.by_addr {
                s.addr(None).is_some_and(|a| a.to_string() == k)
            } else {
                s.name == k
            }
        })
    });
    by_key.or_else(|| servers.iter().position(|s| i64::from(s.id) == found.id))
}

/// [`persistence`] for a `mode tcp` stream: keys come from the connection (addresses,
/// session variables). The keys to store wait in the session's `vars`.
pub fn tcp_persistence(
    plan: &Plan,
    fe: usize,
    be: usize,
    (addrs, fc): (Addrs, Addrs),
    vars: &mut Vars,
) -> Option<usize> {
    let rules = &plan.rules(be)?.compiled.stick;
    if rules.is_empty() {
        return None;
    }
    let mut conn = Conn::new(plan, fe, addrs);
    conn.fc = fc;
    conn.be = Some(be);
    let (server, keys) = {
        let src = Stream {
            vars: Some(vars),
            ..Stream::tcp(&conn)
        };
        (sticky_server(plan, be, rules, &src), rules.remember(&src))
    };
    vars.stick.wait_for_server(keys);
    server
}

/// A `mode tcp` stream reached server `srv` of backend `be`: the keys it gave are stored.
pub fn tcp_connected(plan: &Plan, be: usize, srv: usize, vars: &mut Vars) {
    if vars.stick.is_empty() {
        return;
    }
    let Some(server) = plan.backend(be).and_then(|b| b.servers.get(srv)) else {
        return;
    };
    let addr = server.addr(None).map(|a| a.to_string());
    vars.stick.store_server(&StickServer {
        id: i64::from(server.id),
        name: &server.name,
        addr: addr.as_deref(),
    });
}

/// A server answered: the keys the request gave are stored with it, then the backend's
/// `stick store-response` lines run on the response.
pub fn on_server_response(plan: &Plan, conn: &Conn<'_>, msg: &dyn HttpMessage, txn: &mut Txn) {
    let (Some(be), Some(srv)) = (conn.be, conn.srv) else {
        return;
    };
    let Some(server) = plan.backend(be).and_then(|b| b.servers.get(srv)) else {
        return;
    };
    let rules = plan.rules(be).map(|r| &r.compiled.stick);
    if txn.vars.stick.is_empty() && !rules.is_some_and(|r| r.on_response()) {
        return;
    }
    let addr = server.addr(None).map(|a| a.to_string());
    let who = StickServer {
        id: i64::from(server.id),
        name: &server.name,
        addr: addr.as_deref(),
    };
    txn.vars.stick.store_server(&who);
    if let Some(r) = rules.filter(|r| r.on_response()) {
        r.store_response(&stream(conn, None, Some(msg), txn), &who);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parked_trackers_wait_for_their_connection() {
        let a = Addrs {
            peer: "192.0.2.1:1000".parse().ok(),
            local: "192.0.2.9:80".parse().ok(),
        };
        let b = Addrs {
            peer: "192.0.2.2:1000".parse().ok(),
            ..a
        };
        park(a, StickCounters::default());
        assert!(unpark(b).is_none());
        assert!(unpark(a).is_some());
        assert!(unpark(a).is_none());
    }
}
