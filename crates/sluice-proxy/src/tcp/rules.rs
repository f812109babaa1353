//! TCP-level rules: `tcp-request connection`/`session` at accept (both modes), and
//! `tcp-request content` with `tcp-request inspect-delay` on the first bytes of a `mode tcp`
//! stream (HTTP mode runs content rules per request, see [`crate::http::rules`]).

use crate::http::buf::Buf;
use crate::http::rules::Conn;
use crate::plan::{Plan, ProxyRules};
use crate::stream::io::ClientIo;
use crate::stream::Addrs;
use sluice_rules::{Txn, Verdict};
use tokio::io::AsyncReadExt;
use tokio::time::Instant;

/// Runs the frontend's `tcp-request connection` then `session` rules on a new client
/// connection; `false`: close it now (`reject`, `silent-drop`).
pub fn on_accept(plan: &Plan, fe: usize, addrs: Addrs) -> bool {
    let Some(r) = plan.rules(fe) else {
        return true;
    };
    let c = &r.compiled;
    if c.tcp_connection.is_empty() && c.tcp_session.is_empty() {
        return true;
    }
    // `expect-proxy` is the PROXY protocol stage's: it runs before these rules see `src`.
    let conn = Conn::new(plan, fe, addrs);
    let mut txn = Txn::new();
    for list in [&c.tcp_connection, &c.tcp_session] {
        if matches!(
            list.run_tcp(&conn, &mut txn),
            Verdict::Reject | Verdict::SilentDrop
        ) {
            return false;
        }
    }
    true
}

/// Whether the buffered bytes are all the rules could wait for: a whole TLS record when the
/// stream starts like TLS (the ClientHello for `req.ssl_sni`), any byte otherwise.
fn looks_complete(data: &[u8]) -> bool {
    match data {
        [] => false,
        [0x16, rest @ ..] => match rest {
            [_, _, hi, lo, ..] => data.len() >= 5 + usize::from(u16::from_be_bytes([*hi, *lo])),
            _ => false,
        },
        _ => true,
    }
}

/// Runs `rules`' `tcp-request content` rules on what the client sent into `buf`, reading
/// more while the rules have not decided and the bytes look incomplete, until
/// `inspect-delay` expires (then the rules run on what is there, as HAProxy does).
/// `false`: close the connection.
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
    loop {
        let data = buf.filled();
        let settled = eof
            || buf.is_full()
            || deadline.map_or(true, |d| Instant::now() >= d)
            || looks_complete(data);
        let view = Conn {
            payload: Some(data),
            tls: conn.tls,
            ..Conn::new(plan, conn.fe, conn.addrs)
        };
        txn.clear();
        match list.run_tcp(&view, txn) {
            Verdict::Reject | Verdict::SilentDrop => return false,
            Verdict::Allow => return true,
            _ if settled => return true,
            _ => {}
        }
        let Some(d) = deadline else {
            return true;
        };
        match tokio::time::timeout_at(d, client.read(buf.spare())).await {
            Ok(Ok(0)) => eof = true,
            Ok(Ok(n)) => buf.commit(n),
            Ok(Err(_)) => return false,
            // Expired: the next round decides on what is there.
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::looks_complete;

    #[test]
    fn tls_records_are_complete_when_whole() {
        assert!(!looks_complete(b""));
        assert!(!looks_complete(&[0x16, 3, 1]));
        assert!(!looks_complete(&[0x16, 3, 1, 0, 4, 1, 2, 3]));
        assert!(looks_complete(&[0x16, 3, 1, 0, 2, 1, 2]));
        assert!(looks_complete(b"GET"));
    }
}
