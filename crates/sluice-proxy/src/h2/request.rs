//! An HTTP/2 request head as an HTTP/1.1 one (RFC 9113 §8.3.1, §8.2.2, §8.2.3).
//!
//! `:method` and `:path` make the request line in origin form; `:authority` becomes `Host`
//! when there is none (both must then name the same authority); cookie fields are joined
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
}

/// Why a request is malformed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Malformed {
    /// A connection-specific field (RFC 9113 §8.2.2).
    ConnectionHeader,
    /// A byte HTTP/1.1 would read differently in a value, a name or the path.
    BadByte,
    /// `host` and `:authority` name different authorities.
    HostMismatch,
    /// `content-length` says more than END_STREAM on HEADERS lets come.
    LengthMismatch,
    /// A method Sluice does not translate (CONNECT).
    Unsupported,
}

/// The HTTP/1.1 head of `parts` (request line, fields, empty line) and its body framing;
/// `end_stream`: END_STREAM was on HEADERS.
pub fn translate(parts: &Parts, end_stream: bool) -> Result<(Vec<u8>, ReqBody), Malformed> {
    if parts.method == Method::CONNECT {
        return Err(Malformed::Unsupported);
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
    let mut host_seen = false;
    for host in parts.headers.get_all(http::header::HOST) {
        if host_seen {
            return Err(Malformed::HostMismatch);
        }
        host_seen = true;
        if authority.is_some_and(|a| !a.as_bytes().eq_ignore_ascii_case(host.as_bytes())) {
            return Err(Malformed::HostMismatch);
        }
    }
    // Neither `:authority` nor `host` (HTTP/2 allows it; HAProxy forwards such requests
    // without Host): HTTP/1.1 would need a Host, HTTP/1.0 does not. A body of unknown
    // length needs chunks, so HTTP/1.1 with an empty Host (RFC 9112 §3.2) then.
    let has_length = parts.headers.contains_key(http::header::CONTENT_LENGTH);
    let chunked = !end_stream && !has_length;
    let anonymous = authority.is_none() && !host_seen && !chunked;
    let mut head = Vec::with_capacity(256);
    head.extend_from_slice(parts.method.as_str().as_bytes());
    head.push(b' ');
    head.extend_from_slice(path.as_bytes());
    head.extend_from_slice(if anonymous {
        b" HTTP/1.0\r\n"
    } else {
        b" HTTP/1.1\r\n"
    });
    match (authority, host_seen) {
        (Some(a), false) => field(&mut head, b"host", a.as_bytes())?,
        (None, false) if !anonymous => head.extend_from_slice(b"host: \r\n"),
        _ => {}
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
                "GET /a?b=c HTTP/1.1\r\nhost: example.com\r\naccept: */*\r\n\r\n".into(),
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
    fn host_and_authority_must_agree() {
        let p = parts("GET", "http://a/", &[("host", b"A")]);
        let (h, _) = text(translate(&p, true));
        assert_eq!(h.matches("host").count(), 1);
        let p = parts("GET", "http://a/", &[("host", b"b")]);
        assert_eq!(translate(&p, true), Err(Malformed::HostMismatch));
        // No authority at all: HTTP/1.0, which needs no Host.
        let p = parts("GET", "/", &[]);
        let (h, _) = text(translate(&p, true));
        assert_eq!(h, "GET / HTTP/1.0\r\n\r\n");
        // ... unless its body needs chunks: HTTP/1.1 with an empty Host.
        let (h, b) = text(translate(&p, false));
        assert_eq!(
            h,
            "GET / HTTP/1.1\r\nhost: \r\ntransfer-encoding: chunked\r\n\r\n"
        );
        assert_eq!(b, ReqBody::Chunked);
    }

    #[test]
    fn smuggling_bytes_are_refused() {
        // http's values refuse CR, LF and NUL already: checked here again all the same.
        assert!(!valid_value(b"a\rb") && !valid_value(b"a\0") && valid_value(b"a\tb"));
        let p = parts("GET", "http://a/", &[("connection", b"close")]);
        assert_eq!(translate(&p, true), Err(Malformed::ConnectionHeader));
        let p = parts("CONNECT", "a:443", &[]);
        assert_eq!(translate(&p, true), Err(Malformed::Unsupported));
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
