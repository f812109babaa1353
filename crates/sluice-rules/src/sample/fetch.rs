//! Sample fetch implementations (see [`registry::FETCHES`](super::registry::FETCHES)).

use super::{Arg, Fetched, Value};
use crate::message::{HttpMessage, SampleSource, TcpInfoField};
use std::borrow::Cow;

type Emit<'e, 'a> = &'e mut dyn FnMut(Value<'a>) -> bool;

fn one<'a>(v: Option<Value<'a>>, emit: Emit<'_, 'a>) -> Fetched {
    if let Some(v) = v {
        emit(v);
    }
    Fetched::Done
}

pub(crate) fn always_true<'a>(
    _: &'a [Arg],
    _: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    one(Some(Value::Bool(true)), emit)
}

pub(crate) fn always_false<'a>(
    _: &'a [Arg],
    _: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    one(Some(Value::Bool(false)), emit)
}

pub(crate) fn str_const<'a>(
    args: &'a [Arg],
    _: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    one(args.first().and_then(Arg::bytes).map(Value::str), emit)
}

/// `bin(<hex>)`: the bytes the hexadecimal text stands for.
pub(crate) fn bin_const<'a>(
    args: &'a [Arg],
    _: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let v = args
        .first()
        .and_then(Arg::bytes)
        .and_then(super::conv::hex_decode)
        .map(|b| Value::Bin(std::borrow::Cow::Owned(b)));
    one(v, emit)
}

pub(crate) fn int_const<'a>(
    args: &'a [Arg],
    src: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    one(args.first().and_then(|a| a.int(src)).map(Value::Sint), emit)
}

pub(crate) fn bool_const<'a>(
    args: &'a [Arg],
    _: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let v = args
        .first()
        .and_then(Arg::bytes)
        .map(|b| Value::Bool(matches!(b, b"1" | b"true" | b"TRUE" | b"True")));
    one(v, emit)
}

pub(crate) fn var<'a>(
    args: &'a [Arg],
    src: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let found = args
        .first()
        .and_then(Arg::text)
        .and_then(|name| super::read_var(src, name));
    let v = found.or_else(|| args.get(1).and_then(Arg::bytes).map(Value::str));
    one(v, emit)
}

/// The stream's addresses: the connection's, with what rules changed.
fn addrs(s: &dyn SampleSource) -> (Option<std::net::SocketAddr>, Option<std::net::SocketAddr>) {
    let c = s.connection();
    match s.changes() {
        Some(ch) => ch.addrs(c.src(), c.dst()),
        None => (c.src(), c.dst()),
    }
}

pub(crate) fn src<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    one(addrs(s).0.map(|a| Value::Ip(a.ip())), emit)
}

pub(crate) fn src_port<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    one(addrs(s).0.map(|a| Value::Sint(a.port().into())), emit)
}

pub(crate) fn dst<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    one(addrs(s).1.map(|a| Value::Ip(a.ip())), emit)
}

pub(crate) fn dst_port<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    one(addrs(s).1.map(|a| Value::Sint(a.port().into())), emit)
}

pub(crate) fn fc_src<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    one(s.connection().fc_src().map(|a| Value::Ip(a.ip())), emit)
}

pub(crate) fn fc_src_port<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let v = s
        .connection()
        .fc_src()
        .map(|a| Value::Sint(a.port().into()));
    one(v, emit)
}

pub(crate) fn fc_dst<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    one(s.connection().fc_dst().map(|a| Value::Ip(a.ip())), emit)
}

pub(crate) fn fc_dst_port<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let v = s
        .connection()
        .fc_dst()
        .map(|a| Value::Sint(a.port().into()));
    one(v, emit)
}

/// `ipv4(<address>)` and `ipv6(<address>)`: a constant address (checked when compiled).
pub(crate) fn ip_const<'a>(
    args: &'a [Arg],
    _: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let ip = args
        .first()
        .and_then(Arg::text)
        .and_then(|t| t.parse::<std::net::IpAddr>().ok());
    one(ip.map(Value::Ip), emit)
}

fn millis(d: std::time::Duration) -> Value<'static> {
    Value::Sint(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// `fe_client_timeout`, `be_server_timeout`...: the configured value, in milliseconds.
fn configured_timeout<'a>(
    kind: crate::message::TimeoutKind,
    s: &'a dyn SampleSource,
    emit: Emit<'_, 'a>,
) -> Fetched {
    one(s.connection().timeout(kind).map(millis), emit)
}

/// `cur_server_timeout`...: the value a `set-timeout` rule set, else the configured one.
fn current_timeout<'a>(
    kind: crate::message::TimeoutKind,
    s: &'a dyn SampleSource,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let set = s.changes().and_then(|c| c.timeout(kind));
    one(
        set.or_else(|| s.connection().timeout(kind)).map(millis),
        emit,
    )
}

macro_rules! timeout_fetches {
    ($($configured:ident, $current:ident, $kind:ident;)*) => {$(
        pub(crate) fn $configured<'a>(
            _: &'a [Arg],
            s: &'a dyn SampleSource,
            _: bool,
            emit: Emit<'_, 'a>,
        ) -> Fetched {
            configured_timeout(crate::message::TimeoutKind::$kind, s, emit)
        }

        pub(crate) fn $current<'a>(
            _: &'a [Arg],
            s: &'a dyn SampleSource,
            _: bool,
            emit: Emit<'_, 'a>,
        ) -> Fetched {
            current_timeout(crate::message::TimeoutKind::$kind, s, emit)
        }
    )*};
}

timeout_fetches! {
    client_timeout, cur_client_timeout, Client;
    connect_timeout, cur_connect_timeout, Connect;
    queue_timeout, cur_queue_timeout, Queue;
    server_timeout, cur_server_timeout, Server;
    tarpit_timeout, cur_tarpit_timeout, Tarpit;
    tunnel_timeout, cur_tunnel_timeout, Tunnel;
}

/// `be_max_retries`: the backend's `retries`.
pub(crate) fn be_max_retries<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    one(s.connection().max_retries().map(Value::Sint), emit)
}

/// `cur_max_retries`: the retries a `set-retries` rule set, else the backend's.
pub(crate) fn cur_max_retries<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let set = s.changes().and_then(|c| c.retries).map(i64::from);
    one(
        set.or_else(|| s.connection().max_retries())
            .map(Value::Sint),
        emit,
    )
}

pub(crate) fn be_conn<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let be = args.first().and_then(Arg::text);
    one(s.connection().be_conn(be).map(Value::Sint), emit)
}

pub(crate) fn nbsrv<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let conn = s.connection();
    let be = args.first().and_then(Arg::text).or(conn.backend_name());
    one(be.and_then(|b| conn.nbsrv(b)).map(Value::Sint), emit)
}

pub(crate) fn srv_is_up<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let v = args
        .first()
        .and_then(Arg::text)
        .and_then(|t| t.split_once('/'))
        .and_then(|(b, srv)| s.connection().srv_is_up(b, srv))
        .map(Value::Bool);
    one(v, emit)
}

pub(crate) fn fe_name<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    one(
        Some(Value::str(s.connection().frontend_name().as_bytes())),
        emit,
    )
}

pub(crate) fn be_name<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    one(
        s.connection()
            .backend_name()
            .map(|n| Value::str(n.as_bytes())),
        emit,
    )
}

pub(crate) fn srv_name<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    one(
        s.connection()
            .server_name()
            .map(|n| Value::str(n.as_bytes())),
        emit,
    )
}

pub(crate) fn unique_id<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    one(crate::unique_id::of(s).map(Value::str), emit)
}

pub(crate) fn ssl_fc<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    one(Some(Value::Bool(s.connection().ssl_fc())), emit)
}

pub(crate) fn hostname<'a>(
    _: &'a [Arg],
    _: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    one(
        crate::host::hostname().map(|h| Value::str(h.as_bytes())),
        emit,
    )
}

pub(crate) fn env<'a>(
    args: &'a [Arg],
    _: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let v = args
        .first()
        .and_then(Arg::text)
        .and_then(std::env::var_os)
        .map(|v| Value::Str(Cow::Owned(v.into_encoded_bytes())));
    one(v, emit)
}

pub(crate) fn rand<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let r = crate::host::random_u32();
    let v = match args.first().and_then(|a| a.int(s)) {
        // HAProxy scales a 32-bit random number to [0, range).
        Some(range) if range > 0 => ((u64::from(r) * range as u64) >> 32) as i64,
        _ => i64::from(r),
    };
    one(Some(Value::Sint(v)), emit)
}

/// `uuid([version])`: a random UUID in its text form, version 4 (default) or 7 (time
/// ordered); other versions give nothing.
pub(crate) fn uuid<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let version = args.first().and_then(|a| a.int(s)).unwrap_or(4);
    let mut b = [0u8; 16];
    for chunk in b.chunks_mut(4) {
        let r = crate::host::random_u32().to_be_bytes();
        chunk.copy_from_slice(r.get(..chunk.len()).unwrap_or(&r));
    }
    match version {
        4 => {}
        7 => {
            let ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0);
            let t = ms.to_be_bytes();
            b[..6].copy_from_slice(&t[2..]);
        }
        _ => return one(None, emit),
    }
    b[6] = (b[6] & 0x0f) | ((version as u8) << 4);
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut out = Vec::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push(b'-');
        }
        const HEX: &[u8; 16] = b"0123456789abcdef";
        out.push(HEX[usize::from(byte >> 4)]);
        out.push(HEX[usize::from(byte & 0x0f)]);
    }
    one(Some(Value::string(out)), emit)
}

pub(crate) fn req_ssl_sni<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let Some(payload) = s.connection().payload() else {
        return Fetched::Miss;
    };
    match crate::tls::client_hello_sni(payload) {
        crate::tls::Sni::Found(name) => one(Some(Value::str(name)), emit),
        crate::tls::Sni::Absent => Fetched::Done,
        crate::tls::Sni::Incomplete => Fetched::Miss,
    }
}

pub(crate) fn req_proto_http<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    one(Some(Value::Bool(s.request().is_some())), emit)
}

/// `http_auth_bearer([<header>])`: the token of a `Bearer` credential in `Authorization`
/// (or the named header); the scheme is matched without case, spaces after it skipped.
pub(crate) fn http_auth_bearer<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let Some(msg) = request(s) else {
        return Fetched::Done;
    };
    let name = args
        .first()
        .and_then(Arg::bytes)
        .filter(|n| !n.is_empty())
        .unwrap_or(b"authorization");
    let mut token = None;
    for_each_value(msg, Some(name), false, &mut |v| {
        let v = trim(v);
        let scheme_end = v.iter().position(|&b| b == b' ').unwrap_or(v.len());
        let (scheme, rest) = v.split_at(scheme_end);
        if scheme.eq_ignore_ascii_case(b"bearer") {
            let t = trim(rest);
            token = (!t.is_empty()).then_some(t);
        }
        true
    });
    one(token.map(Value::str), emit)
}

pub(crate) fn http_first_req<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    one(s.connection().http_first_req().map(Value::Bool), emit)
}

pub(crate) fn bc_reused<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    one(s.connection().bc_reused().map(Value::Bool), emit)
}

/// `so_name`: the name of the bind line that accepted the connection.
pub(crate) fn so_name<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    one(
        s.connection()
            .listener_name()
            .map(|n| Value::str(n.as_bytes())),
        emit,
    )
}

fn tcp_info<'a>(s: &'a dyn SampleSource, field: TcpInfoField, emit: Emit<'_, 'a>) -> Fetched {
    one(s.connection().fc_tcp_info(field).map(Value::Sint), emit)
}

/// `fc_rtt`/`fc_rttvar([unit])`: milliseconds unless the unit is `us`.
fn tcp_time<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    field: TcpInfoField,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let us = s.connection().fc_tcp_info(field);
    let v = match args.first().and_then(Arg::bytes) {
        Some(b"us") => us,
        _ => us.map(|us| us / 1000),
    };
    one(v.map(Value::Sint), emit)
}

pub(crate) fn fc_rtt<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    tcp_time(args, s, TcpInfoField::Rtt, emit)
}
pub(crate) fn fc_rttvar<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    tcp_time(args, s, TcpInfoField::RttVar, emit)
}
pub(crate) fn fc_unacked<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    tcp_info(s, TcpInfoField::Unacked, emit)
}
pub(crate) fn fc_sacked<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    tcp_info(s, TcpInfoField::Sacked, emit)
}
pub(crate) fn fc_lost<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    tcp_info(s, TcpInfoField::Lost, emit)
}
pub(crate) fn fc_retrans<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    tcp_info(s, TcpInfoField::Retrans, emit)
}
pub(crate) fn fc_fackets<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    tcp_info(s, TcpInfoField::Fackets, emit)
}
pub(crate) fn fc_reordering<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    tcp_info(s, TcpInfoField::Reordering, emit)
}

fn request(s: &dyn SampleSource) -> Option<&dyn HttpMessage> {
    s.request()
}

/// The message `hdr` and friends read: the response in response rules, else the request.
fn current(s: &dyn SampleSource) -> Option<&dyn HttpMessage> {
    s.response().or_else(|| s.request())
}

pub(crate) fn method<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    one(
        request(s).map(|m| Value::Meth(Cow::Borrowed(m.method()))),
        emit,
    )
}

pub(crate) fn url<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    one(request(s).map(|m| Value::str(m.uri())), emit)
}

pub(crate) fn path<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    one(request(s).map(|m| Value::str(uri_path(m.uri()))), emit)
}

pub(crate) fn query<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    one(
        request(s).and_then(|m| uri_query(m.uri())).map(Value::str),
        emit,
    )
}

pub(crate) fn base<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let Some(m) = request(s) else {
        return Fetched::Done;
    };
    let path = uri_path(m.uri());
    let host = m
        .find_header(b"host", 0)
        .and_then(|i| m.header(i))
        .map(|(_, v)| v);
    let v = match host {
        Some(h) if !h.is_empty() => {
            let mut out = Vec::with_capacity(h.len() + path.len());
            out.extend_from_slice(h);
            out.extend_from_slice(path);
            Value::Str(Cow::Owned(out))
        }
        _ => Value::str(path),
    };
    one(Some(v), emit)
}

pub(crate) fn req_ver<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    one(
        request(s).map(|m| Value::str(version_number(m.version()))),
        emit,
    )
}

pub(crate) fn res_ver<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    one(
        s.response()
            .map(|m| Value::str(version_number(m.version()))),
        emit,
    )
}

pub(crate) fn status<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    one(s.response().map(|m| Value::Sint(m.status().into())), emit)
}

/// `txn.status`: the transaction's status, whoever set it (server, `return`, `deny`).
pub(crate) fn txn_status<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let status = s
        .connection()
        .txn_status()
        .or_else(|| s.response().map(|m| m.status().into()));
    one(status.map(Value::Sint), emit)
}

/// `txn.sess_term_state`: the two characters of the termination state, `--` while the
/// stream is not over.
pub(crate) fn txn_sess_term_state<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let state = s.connection().sess_term_state().unwrap_or(*b"--");
    one(Some(Value::string(state.to_vec())), emit)
}

fn version_number(v: &[u8]) -> &[u8] {
    v.strip_prefix(b"HTTP/").unwrap_or(v)
}

pub(crate) fn hdr<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    all: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    headers(current(s), args, all, true, emit)
}

pub(crate) fn req_hdr<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    all: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    headers(s.request(), args, all, true, emit)
}

pub(crate) fn req_fhdr<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    all: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    headers(s.request(), args, all, false, emit)
}

pub(crate) fn res_hdr<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    all: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    headers(s.response(), args, all, true, emit)
}

pub(crate) fn res_fhdr<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    all: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    headers(s.response(), args, all, false, emit)
}

pub(crate) fn hdr_cnt<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    count(current(s), args, true, emit)
}

pub(crate) fn req_hdr_cnt<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    count(s.request(), args, true, emit)
}

pub(crate) fn req_fhdr_cnt<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    count(s.request(), args, false, emit)
}

pub(crate) fn res_hdr_cnt<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    count(s.response(), args, true, emit)
}

fn count<'a>(
    msg: Option<&'a dyn HttpMessage>,
    args: &'a [Arg],
    split: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let Some(msg) = msg else {
        return Fetched::Done;
    };
    let name = args.first().and_then(Arg::bytes);
    let mut n = 0i64;
    for_each_value(msg, name, split, &mut |_| {
        n += 1;
        false
    });
    one(Some(Value::Sint(n)), emit)
}

/// Calls `f` on each value of the fields named `name` (all fields when `None`), split on
/// commas when `split`, until `f` returns true.
pub(crate) fn for_each_value<'a>(
    msg: &'a dyn HttpMessage,
    name: Option<&[u8]>,
    split: bool,
    f: &mut dyn FnMut(&'a [u8]) -> bool,
) -> bool {
    for i in 0..msg.header_count() {
        let Some((n, v)) = msg.header(i) else {
            continue;
        };
        if name.is_some_and(|name| !n.eq_ignore_ascii_case(name)) {
            continue;
        }
        if !split {
            if f(v) {
                return true;
            }
            continue;
        }
        for part in CommaValues::new(v) {
            if f(part) {
                return true;
            }
        }
    }
    false
}

/// The occurrence semantics of `hdr(name[,occ])`: in ACLs every value; elsewhere the last one
/// unless `occ` says which (positive from the first, negative from the last).
fn headers<'a>(
    msg: Option<&'a dyn HttpMessage>,
    args: &'a [Arg],
    all: bool,
    split: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let Some(msg) = msg else {
        return Fetched::Done;
    };
    let name = args.first().and_then(Arg::bytes).filter(|n| !n.is_empty());
    let occ = match args.get(1) {
        Some(Arg::Int(i)) if *i != 0 => Some(*i),
        _ => None,
    };
    match occ {
        None if all => {
            for_each_value(msg, name, split, &mut |v| emit(Value::str(v)));
        }
        Some(n) if n > 0 => {
            let mut seen = 0i64;
            let mut found = None;
            for_each_value(msg, name, split, &mut |v| {
                seen += 1;
                if seen == n {
                    found = Some(v);
                    true
                } else {
                    false
                }
            });
            if let Some(v) = found {
                emit(Value::str(v));
            }
        }
        occ => {
            // From the end: keep a small ring of the last |occ| values.
            let back = occ.map_or(1, |n| n.unsigned_abs()) as usize;
            let mut total = 0usize;
            for_each_value(msg, name, split, &mut |_| {
                total += 1;
                false
            });
            if back <= total {
                let want = total - back;
                let mut seen = 0usize;
                let mut found = None;
                for_each_value(msg, name, split, &mut |v| {
                    if seen == want {
                        found = Some(v);
                        return true;
                    }
                    seen += 1;
                    false
                });
                if let Some(v) = found {
                    emit(Value::str(v));
                }
            }
        }
    }
    Fetched::Done
}

/// The comma-separated elements of a header value, trimmed, with quoted strings kept whole.
pub(crate) struct CommaValues<'a> {
    rest: Option<&'a [u8]>,
}

impl<'a> CommaValues<'a> {
    pub(crate) fn new(v: &'a [u8]) -> Self {
        Self { rest: Some(v) }
    }
}

impl<'a> Iterator for CommaValues<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest?;
        let mut in_quote = false;
        let mut escaped = false;
        let mut end = rest.len();
        for (i, &b) in rest.iter().enumerate() {
            if escaped {
                escaped = false;
            } else if in_quote && b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_quote = !in_quote;
            } else if b == b',' && !in_quote {
                end = i;
                break;
            }
        }
        let (item, next) = (rest.get(..end)?, rest.get(end + 1..));
        self.rest = if end < rest.len() { next } else { None };
        Some(trim(item))
    }
}

pub(crate) fn trim(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    v.get(start..end).unwrap_or(&[])
}

/// The path of a request target: origin form up to `?`, or the part after the authority of an
/// absolute URI.
pub fn uri_path(uri: &[u8]) -> &[u8] {
    let start = if uri.first() == Some(&b'/') {
        0
    } else if let Some(scheme_end) = crate::sample::fetch::find(uri, b"://") {
        let after = scheme_end + 3;
        match uri
            .get(after..)
            .and_then(|r| r.iter().position(|&b| b == b'/' || b == b'?'))
        {
            Some(p) => after + p,
            None => return &[],
        }
    } else {
        0
    };
    let rest = uri.get(start..).unwrap_or(&[]);
    let end = rest.iter().position(|&b| b == b'?').unwrap_or(rest.len());
    rest.get(..end).unwrap_or(&[])
}

/// The query string (after `?`), or `None` without a `?`.
pub fn uri_query(uri: &[u8]) -> Option<&[u8]> {
    let q = uri.iter().position(|&b| b == b'?')?;
    uri.get(q + 1..)
}

pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

pub(crate) fn url_param<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    all: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let Some(q) = request(s).and_then(|m| uri_query(m.uri())) else {
        return Fetched::Done;
    };
    let name = args.first().and_then(Arg::bytes);
    let delim = args
        .get(1)
        .and_then(Arg::bytes)
        .and_then(|d| d.first().copied())
        .unwrap_or(b'&');
    // A third argument `i` compares names without case.
    let ci = args.get(2).and_then(Arg::bytes) == Some(&b"i"[..]);
    params(q, name, delim, ci, all, emit);
    Fetched::Done
}

/// Emits the values of `name=value` pairs of `q` (the first, or all when `all`).
pub(crate) fn params<'a>(
    q: &'a [u8],
    name: Option<&[u8]>,
    delim: u8,
    ci: bool,
    all: bool,
    emit: Emit<'_, 'a>,
) {
    for pair in q.split(|&b| b == delim || (delim == b'&' && b == b';')) {
        let (k, v) = match pair.iter().position(|&b| b == b'=') {
            Some(eq) => (
                pair.get(..eq).unwrap_or(&[]),
                pair.get(eq + 1..).unwrap_or(&[]),
            ),
            // The empty value points into `q` (callers locate it there).
            None => (pair, pair.get(pair.len()..).unwrap_or(&[])),
        };
        let same = |n: &[u8]| {
            if ci {
                n.eq_ignore_ascii_case(k)
            } else {
                n == k
            }
        };
        let wanted = name.is_none_or(same) && (pair.contains(&b'=') || name.is_none());
        if wanted && (emit(Value::str(v)) || !all) {
            return;
        }
    }
}

/// A fetch that never has a value: HAProxy keywords Sluice accepts and ignores.
pub(crate) fn nothing<'a>(
    _: &'a [Arg],
    _: &'a dyn SampleSource,
    _: bool,
    _: Emit<'_, 'a>,
) -> Fetched {
    Fetched::Done
}

pub(crate) fn fe_id<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    one(s.connection().frontend_id().map(Value::Sint), emit)
}

pub(crate) fn be_id<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    one(s.connection().backend_id().map(Value::Sint), emit)
}

pub(crate) fn srv_id<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    one(s.connection().server_id().map(Value::Sint), emit)
}

pub(crate) fn queue<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let be = args.first().and_then(Arg::text);
    one(s.connection().queue(be).map(Value::Sint), emit)
}

/// The queue divided by the usable servers; the whole queue when none is usable.
pub(crate) fn avg_queue<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let conn = s.connection();
    let be = args.first().and_then(Arg::text);
    let Some(queue) = conn.queue(be) else {
        return Fetched::Done;
    };
    let servers = be
        .or_else(|| conn.backend_name())
        .and_then(|b| conn.nbsrv(b));
    let avg = match servers {
        Some(n) if n > 0 => (queue + n - 1) / n,
        _ => queue,
    };
    one(Some(Value::Sint(avg)), emit)
}

pub(crate) fn connslots<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let be = args.first().and_then(Arg::text);
    one(s.connection().connslots(be).map(Value::Sint), emit)
}

pub(crate) fn ssl_fc_sni<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    one(s.connection().ssl_sni().map(Value::str), emit)
}

pub(crate) fn ssl_fc_has_sni<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let conn = s.connection();
    one(
        Some(Value::Bool(conn.ssl_fc() && conn.ssl_sni().is_some())),
        emit,
    )
}

pub(crate) fn ssl_fc_alpn<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    one(s.connection().ssl_alpn().map(Value::str), emit)
}

pub(crate) fn req_ssl_hello_type<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let Some(payload) = s.connection().payload() else {
        return Fetched::Miss;
    };
    match crate::tls::hello_type(payload) {
        Ok(kind) => one(Some(Value::Sint(i64::from(kind))), emit),
        Err(true) => Fetched::Miss,
        Err(false) => Fetched::Done,
    }
}

/// Every protocol the ClientHello offers (the first one for a single value).
pub(crate) fn req_ssl_alpn<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    all: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let Some(payload) = s.connection().payload() else {
        return Fetched::Miss;
    };
    match crate::tls::client_hello_alpn(payload) {
        Ok(names) => {
            for name in names {
                if emit(Value::str(name)) || !all {
                    break;
                }
            }
            Fetched::Done
        }
        Err(_) => Fetched::Miss,
    }
}

/// HAProxy's `strl2ic`: optional sign and leading digits; no digit gives no value.
fn leading_int(b: &[u8]) -> Option<i64> {
    let t = b.trim_ascii();
    let (neg, digits) = match t.first() {
        Some(b'-') => (true, t.get(1..).unwrap_or(&[])),
        Some(b'+') => (false, t.get(1..).unwrap_or(&[])),
        _ => (false, t),
    };
    let n = digits.iter().take_while(|c| c.is_ascii_digit()).count();
    if n == 0 {
        return None;
    }
    let v = digits.get(..n)?.iter().fold(0i64, |acc, &c| {
        acc.saturating_mul(10).saturating_add(i64::from(c - b'0'))
    });
    Some(if neg { -v } else { v })
}

fn header_ints<'a>(
    msg: Option<&'a dyn HttpMessage>,
    args: &'a [Arg],
    all: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    headers(
        msg,
        args,
        all,
        true,
        &mut |v| match v.as_bytes().and_then(leading_int) {
            Some(i) => emit(Value::Sint(i)),
            None => false,
        },
    )
}

/// An address in a header value: plain, IPv4 with a `:port`, or IPv6 in brackets (with or
/// without a port).
fn header_ip(t: &str) -> Option<std::net::IpAddr> {
    if let Ok(ip) = t.parse() {
        return Some(ip);
    }
    if let Some(rest) = t.strip_prefix('[') {
        let (v6, _) = rest.split_once(']')?;
        return v6
            .parse::<std::net::Ipv6Addr>()
            .ok()
            .map(std::net::IpAddr::V6);
    }
    let (v4, port) = t.split_once(':')?;
    port.parse::<u16>().ok()?;
    v4.parse::<std::net::Ipv4Addr>()
        .ok()
        .map(std::net::IpAddr::V4)
}

fn header_ips<'a>(
    msg: Option<&'a dyn HttpMessage>,
    args: &'a [Arg],
    all: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    headers(msg, args, all, true, &mut |v| {
        let ip = v
            .as_bytes()
            .and_then(|b| std::str::from_utf8(b).ok())
            .and_then(|t| header_ip(t.trim()));
        match ip {
            Some(ip) => emit(Value::Ip(ip)),
            None => false,
        }
    })
}

pub(crate) fn hdr_val<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    all: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    header_ints(current(s), args, all, emit)
}

pub(crate) fn req_hdr_val<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    all: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    header_ints(s.request(), args, all, emit)
}

pub(crate) fn res_hdr_val<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    all: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    header_ints(s.response(), args, all, emit)
}

pub(crate) fn hdr_ip<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    all: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    header_ips(current(s), args, all, emit)
}

pub(crate) fn req_hdr_ip<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    all: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    header_ips(s.request(), args, all, emit)
}

pub(crate) fn res_hdr_ip<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    all: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    header_ips(s.response(), args, all, emit)
}

pub(crate) fn res_fhdr_cnt<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    count(s.response(), args, false, emit)
}

/// The slot number argument of `capture.req.hdr(N)`/`capture.res.hdr(N)`.
fn slot_arg(args: &[Arg], src: &dyn SampleSource) -> Option<usize> {
    usize::try_from(args.first()?.int(src)?).ok()
}

/// `capture.req.hdr(N)`: what request capture slot N holds.
pub(crate) fn capture_req_hdr<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let v = slot_arg(args, s).and_then(|i| s.captures()?.request.get(i));
    one(v.map(Value::string), emit)
}

/// `capture.res.hdr(N)`: what response capture slot N holds.
pub(crate) fn capture_res_hdr<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let v = slot_arg(args, s).and_then(|i| s.captures()?.response.get(i));
    one(v.map(Value::string), emit)
}

/// A kept line part, `None` when empty (not seen or not valid).
fn kept(v: &[u8]) -> Option<&[u8]> {
    (!v.is_empty()).then_some(v)
}

/// `capture.req.method`: the request's method, on both sides.
pub(crate) fn capture_req_method<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let v = s.captures().and_then(|c| kept(&c.method));
    one(v.map(Value::str), emit)
}

/// `capture.req.uri`: the request's URI from its first slash, on both sides.
pub(crate) fn capture_req_uri<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let v = s.captures().filter(|c| !c.method.is_empty());
    one(v.map(|c| Value::str(&c.uri)), emit)
}

/// `capture.req.ver`: the request's version (`HTTP/1.1`); fails when it was not valid.
pub(crate) fn capture_req_ver<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let v = s.captures().and_then(|c| kept(&c.req_version));
    one(v.map(Value::str), emit)
}

/// `capture.res.ver`: the response's version; fails when there was none or it was not valid.
pub(crate) fn capture_res_ver<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let v = s.captures().and_then(|c| kept(&c.res_version));
    one(v.map(Value::str), emit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_queries_of_each_target_form() {
        assert_eq!(uri_path(b"/a/b?x=1"), b"/a/b");
        assert_eq!(uri_path(b"http://h:80/a?x"), b"/a");
        assert_eq!(uri_path(b"http://h"), b"");
        assert_eq!(uri_path(b"*"), b"*");
        assert_eq!(uri_query(b"/a?x=1&y"), Some(&b"x=1&y"[..]));
        assert_eq!(uri_query(b"/a"), None);
    }

    #[test]
    fn comma_values_respect_quotes() {
        let v: Vec<_> = CommaValues::new(b" a, \"b,c\" ,d").collect();
        assert_eq!(v, [&b"a"[..], b"\"b,c\"", b"d"]);
        let v: Vec<_> = CommaValues::new(b"").collect();
        assert_eq!(v, [&b""[..]]);
    }
}
