//! An HTTP/2 request head as an HTTP/1.1 one (RFC 9113 §8.3.1, §8.2.2, §8.2.3).
//!
//! `:method`, `:scheme`, `:authority` and `:path` make the request line (in absolute form
//! with an authority, as HAProxy sees HTTP/2 requests; origin form without); `:authority`
//! becomes `Host`
//! (`host` fields are then ignored, as HAProxy does); cookie fields are joined
//! with "; "; connection-specific fields are refused (the `h2` crate refuses most of them
//! already) and `te` is dropped. The body keeps `content-length` when given, and is sent
//! chunked otherwise when the stream goes on after HEADERS. What HTTP/1.1 could read
//! differently (CR, LF or NUL in a value or the path, a space in the path) is refused: the
//! stream is then reset with PROTOCOL_ERROR, as a malformed request (§8.1.1).

use http::request::Parts;
use http::Method;

/// How the translated request's body is framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReqBody {
    /// END_STREAM came with HEADERS.
    None,
    /// The client gave `content-length`: DATA is passed as it is.
    Length,
    /// No `content-length`: DATA is sent in chunks, the trailers after the last one.
    Chunked,
    /// CONNECT (plain, or extended with `:protocol`, RFC 8441): DATA is the tunnel's bytes,
    /// passed as they are once the server accepted it.
    Tunnel,
}

/// Why a request is malformed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Malformed {
    /// A connection-specific field (RFC 9113 §8.2.2).
    ConnectionHeader,
    /// A byte HTTP/1.1 would read differently in a value, a name or the path.
    BadByte,
    /// Several `host` fields and no `:authority`.
    HostMismatch,
    /// `content-length` says more than END_STREAM on HEADERS lets come.
    LengthMismatch,
    /// An extended CONNECT without `:path` or `:scheme`, or a plain one without
    /// `:authority` (RFC 9113 §8.5, RFC 8441 §4).
    BadConnect,
    /// A `:method` that is not a token, a `:scheme` that is not a scheme: HAProxy answers
    /// these 400 (logged as bad requests) rather than resetting the stream.
    BadRequest,
}

/// The request an invalid `:method` or `:scheme` stands for: a line the HTTP/1 codec
/// refuses (`<` is no token character), so that the session answers 400 with the
/// frontend's error page and logs it, as for a bad HTTP/1 request.
pub const BAD_REQUEST: &[u8] = b"<BADREQ> / HTTP/1.1\r\n\r\n";

/// The HTTP/1.1 head of `parts` (request line, fields, empty line) and its body framing;
/// `end_stream`: END_STREAM was on HEADERS.
pub fn translate(parts: &Parts, end_stream: bool) -> Result<(Vec<u8>, ReqBody), Malformed> {
    if parts.extensions.get::<::h2::ext::BadRequest>().is_some() {
        return Err(Malformed::BadRequest);
    }
    let protocol = parts
        .extensions
        .get::<::h2::ext::Protocol>()
        .map(|p| p.as_str());
    if parts.method == Method::CONNECT {
        return match protocol {
            Some(p) => extended_connect(parts, p),
            None => connect(parts),
        };
    }
    let path = match parts.uri.path_and_query().map(|p| p.as_str()) {
        Some(p) if !p.is_empty() => p,
        _ if parts.method == Method::OPTIONS => "*",
        _ => "/",
    };
    if path.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(Malformed::BadByte);
    }
    let authority = parts.uri.authority().map(|a| a.as_str());
    if authority.is_some_and(|a| a.contains('@')) {
        // userinfo is not allowed in http(s) authorities (RFC 9113 §8.3.1).
        return Err(Malformed::BadByte);
    }
    // With `:authority`, `host` fields are ignored (RFC 9113 §8.3.1 lets them differ; what
    // HAProxy routes on, and forwards, is the authority): no desync between the two.
    let mut host_seen = false;
    for _ in parts.headers.get_all(http::header::HOST) {
        if host_seen && authority.is_none() {
            return Err(Malformed::HostMismatch);
        }
        host_seen = true;
    }
    let host_seen = host_seen && authority.is_none();
    // Neither `:authority` nor `host` (HTTP/2 allows it): forwarded without Host, as
    // HAProxy does.
    let has_length = parts.headers.contains_key(http::header::CONTENT_LENGTH);
    let mut head = Vec::with_capacity(256);
    head.extend_from_slice(parts.method.as_str().as_bytes());
    head.push(b' ');
    // With `:authority`, the URI rules and logs see is absolute, as HAProxy builds it
    // (`:scheme://:authority:path`); the HTTP/1 codec then applies the scheme-based
    // normalisation (`http://h:80/` is `http://h/`) and servers get the origin form.
    if let (Some(a), Some(scheme), true) =
        (authority, parts.uri.scheme_str(), path.starts_with('/'))
    {
        head.extend_from_slice(scheme.as_bytes());
        head.extend_from_slice(b"://");
        head.extend_from_slice(a.as_bytes());
    }
    head.extend_from_slice(path.as_bytes());
    head.extend_from_slice(b" HTTP/1.1\r\n");
    if let (Some(a), false) = (authority, host_seen) {
        field(&mut head, b"host", a.as_bytes())?;
    }
    let mut cookies: Vec<&[u8]> = Vec::new();
    for (name, value) in &parts.headers {
        let n = name.as_str();
        match n {
            "connection" | "keep-alive" | "proxy-connection" | "transfer-encoding" | "upgrade" => {
                return Err(Malformed::ConnectionHeader)
            }
            // Hop-by-hop in HTTP/1.1; `trailers` is the only value HTTP/2 allows.
            "te" => continue,
            "host" if authority.is_some() => continue,
            "cookie" => {
                cookies.push(value.as_bytes());
                continue;
            }
            _ => {}
        }
        field(&mut head, n.as_bytes(), value.as_bytes())?;
    }
    if !cookies.is_empty() {
        let joined = cookies.join(&b"; "[..]);
        field(&mut head, b"cookie", &joined)?;
    }
    let body = if end_stream {
        // No DATA will come: a length announcing some is malformed (RFC 9113 §8.1.1).
        let lengths = parts.headers.get_all(http::header::CONTENT_LENGTH);
        if lengths
            .iter()
            .any(|v| v.as_bytes().iter().any(|b| *b != b'0'))
        {
            return Err(Malformed::LengthMismatch);
        }
        ReqBody::None
    } else if has_length {
        ReqBody::Length
    } else {
        head.extend_from_slice(b"transfer-encoding: chunked\r\n");
        ReqBody::Chunked
    };
    head.extend_from_slice(b"\r\n");
    Ok((head, body))
}

/// A plain CONNECT: `CONNECT host:port HTTP/1.1`, the tunnel's bytes after a 2xx answer.
fn connect(parts: &Parts) -> Result<(Vec<u8>, ReqBody), Malformed> {
    let Some(authority) = parts.uri.authority().map(|a| a.as_str()) else {
        return Err(Malformed::BadConnect);
    };
    if authority.bytes().any(|b| b <= b' ' || b == 0x7f) || authority.contains('@') {
        return Err(Malformed::BadByte);
    }
    let mut head = Vec::with_capacity(256);
    head.extend_from_slice(b"CONNECT ");
    head.extend_from_slice(authority.as_bytes());
    head.extend_from_slice(b" HTTP/1.1\r\n");
    field(&mut head, b"host", authority.as_bytes())?;
    fields(&mut head, parts)?;
    head.extend_from_slice(b"\r\n");
    Ok((head, ReqBody::Tunnel))
}

/// An extended CONNECT (RFC 8441) as the HTTP/1.1 upgrade it stands for: `GET` with
/// `Connection: upgrade` and `Upgrade: <protocol>`; a WebSocket handshake gets the key
/// HTTP/1.1 needs (HTTP/2 has none), as HAProxy adds one.
fn extended_connect(parts: &Parts, protocol: &str) -> Result<(Vec<u8>, ReqBody), Malformed> {
    let (Some(path), Some(_)) = (
        parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .filter(|p| !p.is_empty()),
        parts.uri.scheme(),
    ) else {
        return Err(Malformed::BadConnect);
    };
    if path.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(Malformed::BadByte);
    }
    let authority = parts.uri.authority().map(|a| a.as_str());
    let mut head = Vec::with_capacity(256);
    head.extend_from_slice(b"GET ");
    head.extend_from_slice(path.as_bytes());
    head.extend_from_slice(b" HTTP/1.1\r\n");
    let host = parts.headers.get(http::header::HOST).map(|h| h.as_bytes());
    field(
        &mut head,
        b"host",
        host.or(authority.map(str::as_bytes)).unwrap_or_default(),
    )?;
    field(&mut head, b"connection", b"upgrade")?;
    field(&mut head, b"upgrade", protocol.as_bytes())?;
    if protocol.eq_ignore_ascii_case("websocket") {
        if !parts.headers.contains_key("sec-websocket-key") {
            field(&mut head, b"sec-websocket-key", &websocket_key())?;
        }
        if !parts.headers.contains_key("sec-websocket-version") {
            field(&mut head, b"sec-websocket-version", b"13")?;
        }
    }
    fields(&mut head, parts)?;
    head.extend_from_slice(b"\r\n");
    Ok((head, ReqBody::Tunnel))
}

/// A WebSocket handshake nonce: 16 bytes in base64. Not a secret (RFC 6455 §4.1 asks for
/// a fresh value, which tells caches apart), so the standard library's hasher seeds do.
fn websocket_key() -> Vec<u8> {
    use std::hash::{BuildHasher, Hasher};
    let state = std::collections::hash_map::RandomState::new();
    let mut nonce = [0u8; 16];
    for (i, half) in nonce.chunks_mut(8).enumerate() {
        let mut h = state.build_hasher();
        h.write_usize(i);
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        half.copy_from_slice(&h.finish().to_le_bytes());
    }
    sluice_rules::base64::encode(&nonce)
}

/// The regular fields of a CONNECT, as `translate` passes them.
fn fields(head: &mut Vec<u8>, parts: &Parts) -> Result<(), Malformed> {
    for (name, value) in &parts.headers {
        match name.as_str() {
            "connection" | "keep-alive" | "proxy-connection" | "transfer-encoding" | "upgrade" => {
                return Err(Malformed::ConnectionHeader)
            }
            "te" | "host" | "content-length" => continue,
            n => field(head, n.as_bytes(), value.as_bytes())?,
        }
    }
    Ok(())
}

/// Appends `name: value\r\n`, refusing what would end the line early.
fn field(head: &mut Vec<u8>, name: &[u8], value: &[u8]) -> Result<(), Malformed> {
    if !valid_value(value) || name.is_empty() {
        return Err(Malformed::BadByte);
    }
    head.extend_from_slice(name);
    head.extend_from_slice(b": ");
    head.extend_from_slice(value);
    head.extend_from_slice(b"\r\n");
    Ok(())
}

/// A field value HTTP/1.1 reads as HTTP/2 meant it: no CR, LF or NUL (RFC 9113 §8.2.1).
pub fn valid_value(value: &[u8]) -> bool {
    !value.iter().any(|b| matches!(b, b'\r' | b'\n' | 0))
}

/// Whether trailers carry a field that frames the message or routes it (`host`,
/// `content-length`, the connection-specific ones): HAProxy refuses those.
pub fn forbidden_trailers(trailers: &http::HeaderMap) -> bool {
    trailers.keys().any(|name| {
        matches!(
            name.as_str(),
            "host"
                | "content-length"
                | "connection"
                | "keep-alive"
                | "proxy-connection"
                | "transfer-encoding"
                | "upgrade"
                | "te"
        )
    })
}

/// Trailers as the end of a chunked body: the last chunk, the fields, the empty line.
pub fn last_chunk(trailers: Option<&http::HeaderMap>) -> Vec<u8> {
    let mut out = b"0\r\n".to_vec();
    for (name, value) in trailers.into_iter().flatten() {
        let n = name.as_str();
        if matches!(
            n,
            "connection"
                | "keep-alive"
                | "proxy-connection"
                | "transfer-encoding"
                | "upgrade"
                | "te"
                | "content-length"
                | "host"
        ) || !valid_value(value.as_bytes())
        {
            continue;
        }
        out.extend_from_slice(n.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(method: &str, uri: &str, headers: &[(&str, &[u8])]) -> Parts {
        let mut b = http::Request::builder().method(method).uri(uri);
        for (n, v) in headers {
            b = b.header(*n, http::HeaderValue::from_bytes(v).expect("value"));
        }
        b.body(()).expect("request").into_parts().0
    }

    fn text(r: Result<(Vec<u8>, ReqBody), Malformed>) -> (String, ReqBody) {
        let (h, b) = r.expect("translated");
        (String::from_utf8(h).expect("utf-8"), b)
    }

    #[test]
    fn get_with_authority() {
        let p = parts("GET", "https://example.com/a?b=c", &[("accept", b"*/*")]);
        assert_eq!(
            text(translate(&p, true)),
            (
                "GET https://example.com/a?b=c HTTP/1.1\r\nhost: example.com\r\naccept: */*\r\n\r\n"
                    .into(),
                ReqBody::None
            )
        );
    }

    #[test]
    fn body_framing() {
        let p = parts("POST", "http://a/", &[("content-length", b"5")]);
        let (h, b) = text(translate(&p, false));
        assert!(h.contains("content-length: 5\r\n"));
        assert_eq!(b, ReqBody::Length);
        let p = parts("POST", "http://a/", &[]);
        let (h, b) = text(translate(&p, false));
        assert!(h.ends_with("transfer-encoding: chunked\r\n\r\n"));
        assert_eq!(b, ReqBody::Chunked);
    }

    #[test]
    fn length_without_data() {
        let p = parts("POST", "http://a/", &[("content-length", b"0")]);
        assert_eq!(text(translate(&p, true)).1, ReqBody::None);
        let p = parts("POST", "http://a/", &[("content-length", b"3")]);
        assert_eq!(translate(&p, true), Err(Malformed::LengthMismatch));
    }

    #[test]
    fn cookies_are_joined() {
        let p = parts(
            "GET",
            "http://a/",
            &[("cookie", b"a=1"), ("cookie", b"b=2")],
        );
        let (h, _) = text(translate(&p, true));
        assert!(h.contains("cookie: a=1; b=2\r\n"), "{h}");
    }

    #[test]
    fn the_authority_wins_over_host() {
        let p = parts("GET", "http://a/", &[("host", b"A")]);
        let (h, _) = text(translate(&p, true));
        assert_eq!(h.matches("host").count(), 1);
        let p = parts("GET", "http://a/", &[("host", b"b")]);
        let (h, _) = text(translate(&p, true));
        assert!(h.contains("host: a\r\n") && !h.contains("host: b"), "{h}");
        // No authority at all: no Host either.
        let p = parts("GET", "/", &[]);
        let (h, _) = text(translate(&p, true));
        assert_eq!(h, "GET / HTTP/1.1\r\n\r\n");
        let (h, b) = text(translate(&p, false));
        assert_eq!(h, "GET / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n");
        assert_eq!(b, ReqBody::Chunked);
    }

    #[test]
    fn smuggling_bytes_are_refused() {
        // http's values refuse CR, LF and NUL already: checked here again all the same.
        assert!(!valid_value(b"a\rb") && !valid_value(b"a\0") && valid_value(b"a\tb"));
        let p = parts("GET", "http://a/", &[("connection", b"close")]);
        assert_eq!(translate(&p, true), Err(Malformed::ConnectionHeader));
    }

    #[test]
    fn framing_and_routing_fields_are_forbidden_in_trailers() {
        let mut t = http::HeaderMap::new();
        t.insert("x-sum", http::HeaderValue::from_static("1"));
        assert!(!forbidden_trailers(&t));
        for name in ["host", "content-length", "te", "connection"] {
            let mut bad = t.clone();
            bad.insert(
                http::HeaderName::from_static(name),
                http::HeaderValue::from_static("x"),
            );
            assert!(forbidden_trailers(&bad), "{name}");
        }
    }

    #[test]
    fn connect_becomes_a_tunnel() {
        let p = parts("CONNECT", "a:443", &[("x-a", b"1")]);
        let (h, b) = text(translate(&p, false));
        assert_eq!(h, "CONNECT a:443 HTTP/1.1\r\nhost: a:443\r\nx-a: 1\r\n\r\n");
        assert_eq!(b, ReqBody::Tunnel);
        // Extended CONNECT (RFC 8441): the HTTP/1.1 upgrade it stands for, with the
        // WebSocket key HTTP/1.1 needs.
        let mut p = parts("CONNECT", "https://a/chat", &[]);
        p.extensions.insert(::h2::ext::Protocol::from("websocket"));
        let (h, b) = text(translate(&p, false));
        assert!(
            h.starts_with("GET /chat HTTP/1.1\r\nhost: a\r\nconnection: upgrade\r\nupgrade: websocket\r\nsec-websocket-key: "),
            "{h}"
        );
        assert!(h.contains("sec-websocket-version: 13\r\n"), "{h}");
        assert_eq!(b, ReqBody::Tunnel);
        // Without `:path`, an extended CONNECT is malformed.
        let mut p = parts("CONNECT", "a:443", &[]);
        p.extensions.insert(::h2::ext::Protocol::from("websocket"));
        assert_eq!(translate(&p, false), Err(Malformed::BadConnect));
    }

    #[test]
    fn trailers() {
        let mut t = http::HeaderMap::new();
        t.insert("x-sum", http::HeaderValue::from_static("1"));
        t.insert("connection", http::HeaderValue::from_static("x"));
        assert_eq!(last_chunk(Some(&t)), b"0\r\nx-sum: 1\r\n\r\n");
        assert_eq!(last_chunk(None), b"0\r\n\r\n");
    }
}
