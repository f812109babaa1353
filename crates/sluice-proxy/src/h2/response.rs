//! An HTTP/1.1 response head (as the HTTP/1 session writes it) as an HTTP/2 one, and the
//! trailers of a chunked body.
//!
//! Connection-specific fields (RFC 9113 §8.2.2) are dropped: `connection` and the fields it
//! names, `keep-alive`, `proxy-connection`, `transfer-encoding`, `upgrade`; so is
//! `content-length` when `transfer-encoding` came with it (the session would have closed).

use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Response, StatusCode};
use sluice_http::ResponseHead;

/// Whether `name` (lowercase) never crosses into HTTP/2.
fn connection_specific(name: &[u8]) -> bool {
    matches!(
        name,
        b"connection" | b"keep-alive" | b"proxy-connection" | b"transfer-encoding" | b"upgrade"
    )
}

/// The HTTP/2 response of the parsed head `resp` (`buf`: the bytes it was parsed from);
/// `None` when a status or a field cannot be carried (the stream is then reset).
pub fn head(resp: &ResponseHead, buf: &[u8]) -> Option<Response<()>> {
    let status = StatusCode::from_u16(resp.status()).ok()?;
    // Fields `connection` names are hop-by-hop too (RFC 9110 §7.6.1).
    let mut named: Vec<&[u8]> = Vec::new();
    for (n, v) in resp.headers(buf) {
        if n.eq_ignore_ascii_case(b"connection") {
            named.extend(v.split(|b| *b == b',').map(trim).filter(|t| !t.is_empty()));
        }
    }
    let drop_length = resp.framing().drop_content_length;
    let mut out = Response::new(());
    *out.status_mut() = status;
    let headers = out.headers_mut();
    for (n, v) in resp.headers(buf) {
        let name = HeaderName::from_bytes(n).ok()?;
        let lower = name.as_str().as_bytes();
        if connection_specific(lower)
            || (drop_length && lower == b"content-length")
            || named.iter().any(|t| t.eq_ignore_ascii_case(lower))
        {
            continue;
        }
        headers.append(name, HeaderValue::from_bytes(v).ok()?);
    }
    Some(out)
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|b| !matches!(b, b' ' | b'\t'));
    let end = s.iter().rposition(|b| !matches!(b, b' ' | b'\t'));
    match (start, end) {
        (Some(a), Some(b)) => s.get(a..=b).unwrap_or_default(),
        _ => &[],
    }
}

/// The trailer fields in `tail`: the framing bytes a chunked body ended with (after its last
/// payload byte: CRLF, the last-chunk line, the fields, the empty line), already checked by
/// the chunked decoder. Fields HTTP/2 forbids in trailers are left out.
pub fn trailers(tail: &[u8]) -> HeaderMap {
    let mut map = HeaderMap::new();
    let mut lines = tail
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    // Up to the last chunk: its size is zero ("0", "000", "0;ext").
    let last = lines.by_ref().find(|l| {
        let size = l.split(|b| matches!(b, b';' | b' ' | b'\t')).next();
        size.is_some_and(|s| !s.is_empty() && s.iter().all(|b| *b == b'0'))
    });
    if last.is_none() {
        return map;
    }
    for line in lines {
        if line.is_empty() {
            break;
        }
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (n, v) = line.split_at(colon);
        let v = trim(v.get(1..).unwrap_or_default());
        let (Ok(name), Ok(value)) = (HeaderName::from_bytes(n), HeaderValue::from_bytes(v)) else {
            continue;
        };
        let lower = name.as_str().as_bytes();
        if connection_specific(lower) || matches!(lower, b"content-length" | b"te" | b"host") {
            continue;
        }
        map.append(name, value);
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_http::{Config, Method, Parsed};

    fn parsed(text: &[u8]) -> Response<()> {
        let mut r = ResponseHead::new();
        assert!(matches!(
            r.parse(text, &Config::default(), Method::Get),
            Parsed::Complete { .. }
        ));
        head(&r, text).expect("converted")
    }

    #[test]
    fn connection_fields_are_dropped() {
        let r = parsed(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close, x-hop\r\n\
              Keep-Alive: timeout=5\r\nX-Hop: 1\r\nX-Kept: 2\r\nSet-Cookie: a\r\nSet-Cookie: b\r\n\r\n",
        );
        assert_eq!(r.status(), 200);
        let names: Vec<&str> = r.headers().keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["content-length", "x-kept", "set-cookie"]);
        assert_eq!(r.headers().get_all("set-cookie").iter().count(), 2);
    }

    #[test]
    fn chunked_drops_transfer_encoding() {
        let r = parsed(b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert_eq!(r.status(), 404);
        assert!(r.headers().is_empty());
    }

    #[test]
    fn trailer_fields() {
        let t = trailers(b"\r\n0\r\nX-Sum: 12 \r\nConnection: x\r\n\r\n");
        assert_eq!(t.len(), 1);
        assert_eq!(t.get("x-sum").map(|v| v.as_bytes()), Some(&b"12"[..]));
        assert!(trailers(b"\r\n0\r\n\r\n").is_empty());
        assert!(trailers(b"0;ext=1\r\n\r\n").is_empty());
    }
}
