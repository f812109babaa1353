//! Whole-message and cookie fetches: `req.hdrs`, `req.hdr_names`, `req.hdrs_bin` and their
//! response forms, the `req.cook*`/`res.cook*` families, `pathq`, `baseq` and `meth`.

use super::fetch::{for_each_value, trim, uri_path};
use super::{Arg, Fetched, Value};
use crate::message::{HttpMessage, SampleSource};
use std::borrow::Cow;

type Emit<'e, 'a> = &'e mut dyn FnMut(Value<'a>) -> bool;

/// Calls `f(name, value)` on each cookie of the message until it returns true: every
/// `name=value` of the request's `Cookie` lines, or the first pair of each `Set-Cookie`
/// line of a response (what follows it are attributes).
fn for_each_cookie<'a>(
    msg: &'a dyn HttpMessage,
    response: bool,
    f: &mut dyn FnMut(&'a [u8], &'a [u8]) -> bool,
) {
    let header: &[u8] = if response { b"set-cookie" } else { b"cookie" };
    for_each_value(msg, Some(header), false, &mut |line| {
        for part in line.split(|&b| b == b';') {
            let part = trim(part);
            if let Some(eq) = part.iter().position(|&b| b == b'=') {
                let name = trim(part.get(..eq).unwrap_or(&[]));
                let value = trim(part.get(eq + 1..).unwrap_or(&[]));
                if f(name, value) {
                    return true;
                }
            }
            if response {
                break;
            }
        }
        false
    });
}

fn message(s: &dyn SampleSource, response: bool) -> Option<&dyn HttpMessage> {
    if response {
        s.response()
    } else {
        s.request()
    }
}

fn name_arg(args: &[Arg]) -> Option<&[u8]> {
    args.first().and_then(Arg::bytes).filter(|n| !n.is_empty())
}

/// The values of the cookies named by the first argument: in ACLs all of them, else the
/// last one; without a name, the first cookie of the message.
fn cookies<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    response: bool,
    all: bool,
    emit: &mut dyn FnMut(&'a [u8]) -> bool,
) {
    let Some(msg) = message(s, response) else {
        return;
    };
    let name = name_arg(args);
    let mut last = None;
    for_each_cookie(msg, response, &mut |n, v| {
        if name.is_some_and(|want| want != n) {
            return false;
        }
        if all {
            return emit(v);
        }
        last = Some(v);
        // Without a name the first cookie is the answer.
        name.is_none()
    });
    if let Some(v) = last {
        emit(v);
    }
}

fn cook<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    response: bool,
    all: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    cookies(args, s, response, all, &mut |v| emit(Value::str(v)));
    Fetched::Done
}

fn cook_val<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    response: bool,
    all: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    cookies(
        args,
        s,
        response,
        all,
        &mut |v| match super::value::parse_int_prefix(v) {
            Some(i) => emit(Value::Sint(i)),
            None => false,
        },
    );
    Fetched::Done
}

fn cook_cnt<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    response: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let Some(msg) = message(s, response) else {
        return Fetched::Done;
    };
    let name = name_arg(args);
    let mut n = 0i64;
    for_each_cookie(msg, response, &mut |k, _| {
        if name.is_none_or(|want| want == k) {
            n += 1;
        }
        false
    });
    emit(Value::Sint(n));
    Fetched::Done
}

/// The first byte of a `<delim>` argument, `,` when there is none.
fn delimiter(args: &[Arg]) -> u8 {
    args.first()
        .and_then(Arg::bytes)
        .and_then(|d| d.first().copied())
        .unwrap_or(b',')
}

fn cook_names<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    response: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let Some(msg) = message(s, response) else {
        return Fetched::Done;
    };
    let delim = delimiter(args);
    let mut out = Vec::new();
    for_each_cookie(msg, response, &mut |k, _| {
        if !out.is_empty() {
            out.push(delim);
        }
        out.extend_from_slice(k);
        false
    });
    emit(Value::string(out));
    Fetched::Done
}

macro_rules! cookie_fetches {
    ($($name:ident, $val:ident, $cnt:ident, $names:ident, $response:expr;)*) => {$(
        pub(crate) fn $name<'a>(
            args: &'a [Arg],
            s: &'a dyn SampleSource,
            all: bool,
            emit: Emit<'_, 'a>,
        ) -> Fetched {
            cook(args, s, $response, all, emit)
        }

        pub(crate) fn $val<'a>(
            args: &'a [Arg],
            s: &'a dyn SampleSource,
            all: bool,
            emit: Emit<'_, 'a>,
        ) -> Fetched {
            cook_val(args, s, $response, all, emit)
        }

        pub(crate) fn $cnt<'a>(
            args: &'a [Arg],
            s: &'a dyn SampleSource,
            _: bool,
            emit: Emit<'_, 'a>,
        ) -> Fetched {
            cook_cnt(args, s, $response, emit)
        }

        pub(crate) fn $names<'a>(
            args: &'a [Arg],
            s: &'a dyn SampleSource,
            _: bool,
            emit: Emit<'_, 'a>,
        ) -> Fetched {
            cook_names(args, s, $response, emit)
        }
    )*};
}

cookie_fetches! {
    req_cook, req_cook_val, req_cook_cnt, req_cook_names, false;
    res_cook, res_cook_val, res_cook_cnt, res_cook_names, true;
}

fn hdr_names<'a>(args: &'a [Arg], msg: Option<&'a dyn HttpMessage>, emit: Emit<'_, 'a>) -> Fetched {
    let Some(msg) = msg else {
        return Fetched::Done;
    };
    let delim = delimiter(args);
    let mut out = Vec::new();
    for i in 0..msg.header_count() {
        if let Some((name, _)) = msg.header(i) {
            if i > 0 {
                out.push(delim);
            }
            // Names as HAProxy stores them: lower case.
            out.extend(name.iter().map(u8::to_ascii_lowercase));
        }
    }
    emit(Value::string(out));
    Fetched::Done
}

/// `req.hdr_names([<delim>])`: the request's header names, in order.
pub(crate) fn req_hdr_names<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    hdr_names(args, s.request(), emit)
}

/// `res.hdr_names([<delim>])`: the response's header names, in order.
pub(crate) fn res_hdr_names<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    hdr_names(args, s.response(), emit)
}

fn hdrs<'a>(msg: Option<&'a dyn HttpMessage>, emit: Emit<'_, 'a>) -> Fetched {
    let Some(msg) = msg else {
        return Fetched::Done;
    };
    let mut out = Vec::new();
    for i in 0..msg.header_count() {
        if let Some((name, value)) = msg.header(i) {
            out.extend(name.iter().map(u8::to_ascii_lowercase));
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
    }
    // The empty line that ends the block: its absence would mean a truncated one.
    out.extend_from_slice(b"\r\n");
    emit(Value::string(out));
    Fetched::Done
}

/// `req.hdrs`: the request's header block, empty line included.
pub(crate) fn req_hdrs<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    hdrs(s.request(), emit)
}

/// `res.hdrs`: the response's header block, empty line included.
pub(crate) fn res_hdrs<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    hdrs(s.response(), emit)
}

fn push_string(out: &mut Vec<u8>, s: &[u8]) {
    crate::varint::put(out, s.len() as u64);
    out.extend_from_slice(s);
}

fn hdrs_bin<'a>(msg: Option<&'a dyn HttpMessage>, emit: Emit<'_, 'a>) -> Fetched {
    let Some(msg) = msg else {
        return Fetched::Done;
    };
    let mut out = Vec::new();
    for i in 0..msg.header_count() {
        if let Some((name, value)) = msg.header(i) {
            let lower: Vec<u8> = name.iter().map(u8::to_ascii_lowercase).collect();
            push_string(&mut out, &lower);
            push_string(&mut out, value);
        }
    }
    // An empty name and an empty value end the list.
    out.extend_from_slice(&[0, 0]);
    emit(Value::Bin(Cow::Owned(out)));
    Fetched::Done
}

/// `req.hdrs_bin`: the request's headers as length-prefixed names and values.
pub(crate) fn req_hdrs_bin<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    hdrs_bin(s.request(), emit)
}

/// `res.hdrs_bin`: the response's headers as length-prefixed names and values.
pub(crate) fn res_hdrs_bin<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    hdrs_bin(s.response(), emit)
}

/// The request target from its first slash: the path and the query string, without the
/// scheme and authority of an absolute URI.
fn path_and_query(uri: &[u8]) -> &[u8] {
    let path = uri_path(uri);
    let start = if path.is_empty() {
        // `http://h?x`: the query alone.
        uri.iter().position(|&b| b == b'?').unwrap_or(uri.len())
    } else {
        // `path` borrows from `uri`: its offset there.
        (path.as_ptr() as usize).saturating_sub(uri.as_ptr() as usize)
    };
    uri.get(start..).unwrap_or(&[])
}

/// `pathq`: the path with its query string.
pub(crate) fn pathq<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    if let Some(m) = s.request() {
        emit(Value::str(path_and_query(m.uri())));
    }
    Fetched::Done
}

/// `baseq`: the first Host header followed by the path and the query string.
pub(crate) fn baseq<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let Some(m) = s.request() else {
        return Fetched::Done;
    };
    let host = m
        .find_header(b"host", 0)
        .and_then(|i| m.header(i))
        .map(|(_, v)| v)
        .unwrap_or(&[]);
    let pq = path_and_query(m.uri());
    let mut out = Vec::with_capacity(host.len() + pq.len());
    out.extend_from_slice(host);
    out.extend_from_slice(pq);
    emit(Value::string(out));
    Fetched::Done
}

/// `base,sdbm(1)` and friends: HAProxy's sdbm hash with the avalanche step.
fn sdbm_avalanche<'a>(data: Vec<u8>, s: &'a dyn SampleSource) -> Option<Value<'a>> {
    static AVALANCHE: [Arg; 1] = [Arg::Int(1)];
    super::conv::sdbm(&AVALANCHE, Value::string(data), s)
}

/// The first Host header's value, empty without one.
fn host(m: &dyn HttpMessage) -> &[u8] {
    m.find_header(b"host", 0)
        .and_then(|i| m.header(i))
        .map(|(_, v)| v)
        .unwrap_or(&[])
}

/// `base32`: a 32-bit hash of `base` (host and path).
pub(crate) fn base32<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    if let Some(m) = s.request() {
        let mut data = host(m).to_vec();
        data.extend_from_slice(uri_path(m.uri()));
        if let Some(v) = sdbm_avalanche(data, s) {
            emit(v);
        }
    }
    Fetched::Done
}

/// `url32`: a 32-bit hash of the host followed by the whole URL.
pub(crate) fn url32<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    if let Some(m) = s.request() {
        let mut data = host(m).to_vec();
        data.extend_from_slice(m.uri());
        if let Some(v) = sdbm_avalanche(data, s) {
            emit(v);
        }
    }
    Fetched::Done
}

/// `<hash>+src`: the 32-bit hash in network order followed by the source address's bytes
/// (4 for IPv4, 16 for IPv6).
fn with_src<'a>(hash: Option<Value<'_>>, s: &'a dyn SampleSource) -> Option<Value<'a>> {
    let Value::Sint(h) = hash? else {
        return None;
    };
    let c = s.connection();
    let src = match s.changes() {
        Some(ch) => ch.addrs(c.src(), c.dst()).0,
        None => c.src(),
    }?;
    let mut out = u32::try_from(h).ok()?.to_be_bytes().to_vec();
    match src.ip() {
        std::net::IpAddr::V4(v4) => out.extend_from_slice(&v4.octets()),
        std::net::IpAddr::V6(v6) => out.extend_from_slice(&v6.octets()),
    }
    Some(Value::Bin(Cow::Owned(out)))
}

/// `base32+src`: `base32` followed by the source address, as binary.
pub(crate) fn base32_src<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    all: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let mut hash = None;
    base32(args, s, all, &mut |v| {
        hash = Some(v.into_owned());
        true
    });
    if let Some(v) = with_src(hash, s) {
        emit(v);
    }
    Fetched::Done
}

/// `url32+src`: `url32` followed by the source address, as binary.
pub(crate) fn url32_src<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    all: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let mut hash = None;
    url32(args, s, all, &mut |v| {
        hash = Some(v.into_owned());
        true
    });
    if let Some(v) = with_src(hash, s) {
        emit(v);
    }
    Fetched::Done
}

/// The `host[:port]` of an absolute URL, `None` for the other forms.
fn url_authority(uri: &[u8]) -> Option<&[u8]> {
    let at = super::fetch::find(uri, b"://")? + 3;
    let rest = uri.get(at..)?;
    let end = rest
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    rest.get(..end)
}

/// The host and the port of an absolute URL (80 when it has none).
fn url_host_port(uri: &[u8]) -> Option<(&str, Option<u16>)> {
    let auth = std::str::from_utf8(url_authority(uri)?).ok()?;
    let auth = auth.rsplit_once('@').map_or(auth, |(_, h)| h);
    if let Some(v6) = auth.strip_prefix('[') {
        let (host, rest) = v6.split_once(']')?;
        let port = rest.strip_prefix(':').and_then(|p| p.parse().ok());
        return Some((host, port));
    }
    match auth.split_once(':') {
        Some((host, port)) => Some((host, port.parse().ok())),
        None => Some((auth, None)),
    }
}

/// `url_ip`: the address of an absolute URL whose host is written as one.
pub(crate) fn url_ip<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let ip = s
        .request()
        .and_then(|m| url_host_port(m.uri()))
        .and_then(|(h, _)| h.parse::<std::net::IpAddr>().ok());
    if let Some(ip) = ip {
        emit(Value::Ip(ip));
    }
    Fetched::Done
}

/// `url_port`: the port of an absolute URL, 80 when it names none. As in HAProxy, the URL
/// must name its host by address (a name is not resolved): otherwise nothing.
pub(crate) fn url_port<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let url = s.request().and_then(|m| url_host_port(m.uri()));
    if let Some((_, port)) = url.filter(|(h, _)| h.parse::<std::net::IpAddr>().is_ok()) {
        emit(Value::Sint(i64::from(port.unwrap_or(80))));
    }
    Fetched::Done
}

/// `urlp_val`: `url_param` as an integer.
pub(crate) fn urlp_val<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    all: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    super::fetch::url_param(args, s, all, &mut |v| match v
        .as_bytes()
        .and_then(super::value::parse_int_prefix)
    {
        Some(i) => emit(Value::Sint(i)),
        None => false,
    })
}

/// The first cookie of an RDP connection request: after the TPKT header (4 bytes, version
/// 3) and the X.224 header (7 bytes) comes `Cookie: <name>=<value>\r\n`. `Err(true)`: more
/// bytes are needed; `Err(false)`: not RDP, or no cookie.
fn rdp_cookie(payload: &[u8]) -> Result<(&[u8], &[u8]), bool> {
    const PREFIX: &[u8] = b"Cookie:";
    let rest = match payload.first() {
        None => return Err(true),
        Some(3) => payload.get(11..).ok_or(true)?,
        Some(_) => return Err(false),
    };
    let Some(head) = rest.get(..PREFIX.len()) else {
        return Err(PREFIX.starts_with(rest));
    };
    if !head.eq_ignore_ascii_case(PREFIX) {
        return Err(false);
    }
    let line = rest.get(PREFIX.len()..).unwrap_or(&[]);
    let line = match line.iter().position(|&b| b != b' ') {
        Some(start) => line.get(start..).unwrap_or(&[]),
        None => return Err(true),
    };
    let end = super::fetch::find(line, b"\r\n").ok_or(true)?;
    let pair = line.get(..end).unwrap_or(&[]);
    let eq = pair.iter().position(|&b| b == b'=').ok_or(false)?;
    Ok((
        pair.get(..eq).unwrap_or(&[]),
        pair.get(eq + 1..).unwrap_or(&[]),
    ))
}

/// The RDP cookie when its name is the argument's (without case), or any without one.
fn rdp_lookup<'a>(args: &[Arg], s: &'a dyn SampleSource) -> Result<Option<&'a [u8]>, Fetched> {
    let payload = s.connection().payload().ok_or(Fetched::Miss)?;
    match rdp_cookie(payload) {
        Ok((name, value)) => {
            let wanted = name_arg(args).is_none_or(|n| n.eq_ignore_ascii_case(name));
            Ok(wanted.then_some(value))
        }
        Err(true) => Err(Fetched::Miss),
        Err(false) => Ok(None),
    }
}

/// `req.rdp_cookie([<name>])`: the value of the RDP connection's cookie.
pub(crate) fn req_rdp_cookie<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    match rdp_lookup(args, s) {
        Ok(Some(v)) => {
            emit(Value::str(v));
            Fetched::Done
        }
        Ok(None) => Fetched::Done,
        Err(f) => f,
    }
}

/// `req.rdp_cookie_cnt([<name>])`: 1 when the RDP connection has the cookie, else 0 (only
/// the first cookie is read, as the protocol sends one).
pub(crate) fn req_rdp_cookie_cnt<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    match rdp_lookup(args, s) {
        Ok(found) => {
            emit(Value::Sint(i64::from(found.is_some())));
            Fetched::Done
        }
        Err(f) => f,
    }
}

/// `meth(<method>)`: a constant method.
pub(crate) fn meth_const<'a>(
    args: &'a [Arg],
    _: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    if let Some(m) = args.first().and_then(Arg::bytes) {
        emit(Value::Meth(Cow::Borrowed(m)));
    }
    Fetched::Done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_follow_spoe() {
        let mut out = Vec::new();
        crate::varint::put(&mut out, 5);
        crate::varint::put(&mut out, 240);
        crate::varint::put(&mut out, 300);
        assert_eq!(out, [5, 240, 0, 252, 3]);
    }

    #[test]
    fn rdp_cookies() {
        let hello = b"\x03\x00\x00\x24\x06\xe0\x00\x00\x00\x00\x00Cookie: mstshash=pub\0x\r\n";
        assert_eq!(rdp_cookie(hello), Ok((&b"mstshash"[..], &b"pub\0x"[..])));
        assert_eq!(rdp_cookie(&hello[..20]), Err(true));
        assert_eq!(rdp_cookie(b"GET / HTTP/1.1\r\n"), Err(false));
    }

    #[test]
    fn absolute_url_hosts_and_ports() {
        assert_eq!(
            url_host_port(b"http://10.0.0.1:8080/x"),
            Some(("10.0.0.1", Some(8080)))
        );
        assert_eq!(url_host_port(b"http://[::1]/x"), Some(("::1", None)));
        assert_eq!(url_host_port(b"http://h?q"), Some(("h", None)));
        assert_eq!(url_host_port(b"/x"), None);
    }

    #[test]
    fn path_and_query_of_each_form() {
        assert_eq!(path_and_query(b"/a?x=1"), b"/a?x=1");
        assert_eq!(path_and_query(b"http://h:80/a/b?x"), b"/a/b?x");
        assert_eq!(path_and_query(b"http://h?x"), b"?x");
        assert_eq!(path_and_query(b"http://h"), b"");
    }
}
