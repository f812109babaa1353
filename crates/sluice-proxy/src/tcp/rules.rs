//! TCP-level rules: `tcp-request connection`/`session` at accept (both modes), and
//! `tcp-request content` with `tcp-request inspect-delay` on the first bytes of a `mode tcp`
//! stream (HTTP mode runs content rules per request, see [`crate::http::rules`]).

use super::raw_http::RawRequest;
use crate::http::buf::Buf;
use crate::http::rules::{Conn, Contents};
use crate::plan::{Plan, ProxyRules};
use crate::stream::io::ClientIo;
use crate::stream::Addrs;
use sluice_rules::{Txn, Vars, Verdict};
use tokio::io::AsyncReadExt;
use tokio::time::Instant;

/// The addresses of a client connection after its accept rules.
#[derive(Clone, Copy, Debug, Default)]
pub struct Accepted {
    /// The connection's own (`fc_src`, `fc_dst`): `set-src`/`set-dst` of `tcp-request
    /// connection` rules change them.
    pub fc: Addrs,
    /// The session's (`src`, `dst`, logs, `option forwardfor`): the connection's, changed
    /// again by `tcp-request session` rules.
    pub session: Addrs,
}

/// `addrs` with the address changes of `txn`.
pub fn changed(addrs: Addrs, txn: &Txn) -> Addrs {
    let (peer, local) = txn.changes.addrs(addrs.peer, addrs.local);
    Addrs { peer, local }
}

/// What the `tcp-request connection` rules decided for a new connection.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionStage {
    /// The connection's addresses, with the rules' `set-src`/`set-dst`.
    pub fc: Addrs,
    /// An `expect-proxy layer4` rule matched: a PROXY header comes first.
    pub expect_proxy: bool,
    /// An `expect-netscaler-cip layer4` rule matched: a NetScaler CIP header comes first.
    pub expect_netscaler_cip: bool,
}

/// Runs the frontend's `tcp-request connection` rules on a connection just accepted, before
/// anything is read from it (no PROXY header, no TLS handshake yet: they see the real
/// addresses, as in HAProxy); `None`: close it now (`reject`, `silent-drop`).
pub fn connection_stage(
    plan: &Plan,
    fe: usize,
    addrs: Addrs,
    socket: crate::stream::Socket,
) -> Option<ConnectionStage> {
    let plain = ConnectionStage {
        fc: addrs,
        expect_proxy: false,
        expect_netscaler_cip: false,
    };
    let Some(r) = plan.rules(fe) else {
        return Some(plain);
    };
    if r.compiled.tcp_connection.is_empty() {
        return Some(plain);
    }
    let mut txn = Txn::new();
    let mut conn = Conn::new(plan, fe, addrs);
    conn.socket = socket;
    if matches!(
        r.compiled.tcp_connection.run_tcp(&conn, &mut txn),
        Verdict::Reject | Verdict::SilentDrop
    ) {
        return None;
    }
    let fc = changed(addrs, &txn);
    // Trackers of connection rules belong to the session, which starts later.
    let tracked = std::mem::take(&mut txn.vars.stick);
    if tracked.is_empty() {
        crate::stick::forget(fc);
    } else {
        crate::stick::park(fc, tracked);
    }
    Some(ConnectionStage {
        fc,
        expect_proxy: txn.expect_proxy,
        expect_netscaler_cip: txn.expect_netscaler_cip,
    })
}

/// Runs the frontend's `tcp-request session` rules once the session starts (after the PROXY
/// header and the TLS handshake): `session` are its addresses (the PROXY header's, if any),
/// `fc` the connection's own; `None`: close it now. The variables are the session's
/// (`sess.*`) the rules set, for the connection's later rules.
pub fn on_session(plan: &Plan, fe: usize, session: Addrs, fc: Addrs) -> Option<(Accepted, Vars)> {
    let same = Accepted { fc, session };
    let mut txn = Txn::new();
    // The trackers of the connection's rules, if any: the session keeps them.
    if let Some(tracked) = crate::stick::unpark(fc) {
        txn.vars.stick = tracked;
    }
    let Some(r) = plan
        .rules(fe)
        .filter(|r| !r.compiled.tcp_session.is_empty())
    else {
        txn.vars.stick.count_session(sluice_stick::now_ms());
        let mut vars = Vars::default();
        txn.vars.take_session(&mut vars);
        return Some((same, vars));
    };
    let conn = Conn::new(plan, fe, session);
    if matches!(
        r.compiled.tcp_session.run_tcp(&conn, &mut txn),
        Verdict::Reject | Verdict::SilentDrop
    ) {
        return None;
    }
    txn.vars.stick.count_session(sluice_stick::now_ms());
    let mut vars = Vars::default();
    txn.vars.take_session(&mut vars);
    Some((
        Accepted {
            fc,
            session: changed(session, &txn),
        },
        vars,
    ))
}

/// Runs `rules`' `tcp-request content` rules on what the client sent into `buf`, as HAProxy
/// does: a rule whose condition cannot tell yet on the bytes at hand (`req.len`, a payload
/// not all there, `wait_end`) makes the rules wait for more and run again, until the
/// buffer is full, the client closes or `inspect-delay` expires; then they decide on what
/// is there. Without an inspect-delay they run once, at once. `false`: close the connection.
pub async fn inspect<S: ClientIo>(
    client: &mut S,
    buf: &mut Buf,
    plan: &Plan,
    rules: &ProxyRules,
    conn: Conn<'_>,
    txn: &mut Txn,
) -> bool {
    let list = &rules.compiled.tcp_content;
    if list.is_empty() {
        return true;
    }
    let deadline = rules.inspect_delay.map(|d| Instant::now() + d);
    let mut eof = false;
    // HTTP fetches read the bytes as an HTTP/1 request head (see `super::raw_http`).
    let mut parser = sluice_http::RequestHead::new();
    let mut edits = crate::http::head::Edits::default();
    let default_config = sluice_http::Config::default();
    let http_config = plan.frontend(conn.fe).map_or(&default_config, |f| &f.http);
    loop {
        let final_ = eof || buf.is_full() || deadline.map_or(true, |d| Instant::now() >= d);
        // As in HAProxy, the rules first run when bytes come (or when waiting ends).
        if buf.is_empty() && !final_ {
            match read_more(client, buf, deadline).await {
                Some(more) => eof |= !more,
                None => return false,
            }
            continue;
        }
        let verdict = {
            let request = super::raw_http::read(buf.filled(), &mut parser, &mut edits, http_config);
            let view = Conn {
                payload: Some(buf.filled()),
                tls: conn.tls,
                fc: conn.fc,
                socket: conn.socket,
                contents: Contents {
                    final_,
                    raw_stream: true,
                    request_head_pending: matches!(request, RawRequest::Pending),
                    ..Contents::default()
                },
                ..Conn::new(plan, conn.fe, conn.addrs)
            };
            // Rules run again on more bytes; what they track stays tracked (the first
            // tracking of a counter is the one that counts).
            let tracked = std::mem::take(&mut txn.vars.stick);
            txn.clear();
            txn.vars.stick = tracked;
            let msg = super::raw_http::message(&request);
            list.inspect_tcp_on(&view, msg.map(|m| (m, false)), txn)
        };
        match verdict {
            Some(Verdict::Reject | Verdict::SilentDrop) => return false,
            Some(_) => return true,
            None => {}
        }
        match read_more(client, buf, deadline).await {
            Some(more) => eof |= !more,
            None => return false,
        }
    }
}

/// Reads what the client sends next into `buf`, until `deadline`: `Some(false)` when it
/// closed, `None` on an error. An expired (or absent) deadline reads nothing.
async fn read_more<S: ClientIo>(
    client: &mut S,
    buf: &mut Buf,
    deadline: Option<Instant>,
) -> Option<bool> {
    let d = deadline?;
    match tokio::time::timeout_at(d, client.read(buf.spare())).await {
        Ok(Ok(0)) => Some(false),
        Ok(Ok(n)) => {
            buf.commit(n);
            Some(true)
        }
        Ok(Err(_)) => None,
        // Expired: the next round decides on what is there.
        Err(_) => Some(true),
    }
}

/// Runs the backend's `tcp-response content` rules on the response bytes held in `data`
/// (`final_`: no more can come); `None` waits for more, `Some(false)` closes the
/// connection. `request` is the stream's connection as the request rules saw it.
pub fn inspect_response(
    rules: &ProxyRules,
    request: &Conn<'_>,
    data: &[u8],
    final_: bool,
    txn: &mut Txn,
) -> Option<bool> {
    let view = Conn {
        contents: Contents {
            res_payload: Some(data),
            on_response: true,
            final_,
            ..Contents::default()
        },
        ..*request
    };
    match rules.compiled.tcp_response.inspect_tcp(&view, txn)? {
        Verdict::Reject | Verdict::SilentDrop => Some(false),
        _ => Some(true),
    }
}
