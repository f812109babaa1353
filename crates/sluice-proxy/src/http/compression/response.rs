//! Which responses are compressed, and the head of a compressed one.
//!
//! As HAProxy: an HTTP/1.1 request and response, not HEAD, status 200 to 203, a body whose
//! end is known (a length or chunks), no `Content-Encoding` already, no `Cache-Control:
//! no-transform`, one valid ETag at most, a `Content-Type` that is not `multipart/*` and is
//! in the configured list (when there is one), and not shorter than `minsize-res`. The
//! decision is taken on the server's head, before the `http-response` rules (`res.comp`
//! reads it there).

use super::head::{self, Line};
use super::{Algorithm, Effective};
use sluice_http::{Body, Method, ResponseHead, Version};

/// The coding and level the response `resp` (its head in `buf`) is compressed with, given
/// what the request accepted (`offer`, see [`super::negotiate::for_request`]).
pub fn decide(
    offer: Option<(Effective<'_>, Algorithm)>,
    resp: &ResponseHead,
    buf: &[u8],
    method: Method,
    request_11: bool,
) -> Option<(Algorithm, u32)> {
    let (conf, algo) = offer?;
    applies(&conf, resp, buf, method, request_11).then_some((algo, conf.level))
}

/// Whether the response `resp` (its head in `buf`) to a `method` request is compressed.
/// `request_11`: the request was HTTP/1.1 (or HTTP/2).
pub fn applies(
    conf: &Effective<'_>,
    resp: &ResponseHead,
    buf: &[u8],
    method: Method,
    request_11: bool,
) -> bool {
    if !request_11 || resp.version() != Some(Version::Http11) || method == Method::Head {
        return false;
    }
    if !(200..=203).contains(&resp.status()) {
        return false;
    }
    match resp.framing().body {
        Body::Length(n) if n > 0 && n >= conf.minsize => {}
        Body::Chunked => {}
        _ => return false,
    }
    let mut etags = 0;
    let mut content_type = None;
    for (name, value) in resp.headers(buf) {
        let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
        let value = value.trim_ascii();
        if is("content-encoding") {
            return false;
        }
        if is("cache-control")
            && value
                .split(|&b| b == b',')
                .any(|d| d.trim_ascii().eq_ignore_ascii_case(b"no-transform"))
        {
            return false;
        }
        if is("etag") {
            etags += 1;
            if etags > 1 || !valid_etag(value) {
                return false;
            }
        }
        if is("content-type") && content_type.is_none() {
            content_type = Some(value);
        }
    }
    // A type is required when the configuration lists some.
    super::config::type_allowed(content_type, conf.types)
}

/// Rewrites the head sent to the client for a body compressed with `algo`: no length (the
/// body goes in chunks), `Content-Encoding`, a weak ETag (the bytes differ, the meaning does
/// not) and `Vary: Accept-Encoding` for caches. `chunked`: the server's response already was.
pub fn rewrite_head(out: &mut Vec<u8>, algo: Algorithm, chunked: bool) {
    let mut added: Vec<(&str, &[u8])> = Vec::with_capacity(3);
    if algo != Algorithm::Identity {
        added.push(("Content-Encoding", algo.token().as_bytes()));
    }
    if !chunked {
        added.push(("Transfer-Encoding", b"chunked"));
    }
    // A `Vary` that already names it (or `*`) is not repeated.
    let varies = head::values(out, "vary").any(|v| {
        v.split(|&b| b == b',').any(|t| {
            let t = t.trim_ascii();
            t == b"*" || t.eq_ignore_ascii_case(b"accept-encoding")
        })
    });
    if !varies {
        added.push(("Vary", b"Accept-Encoding"));
    }
    let mut etag_seen = false;
    head::rewrite(
        out,
        |name, value| {
            if name.eq_ignore_ascii_case(b"content-length") {
                Line::Drop
            } else if name.eq_ignore_ascii_case(b"etag") && !etag_seen {
                etag_seen = true;
                if value.first() == Some(&b'"') {
                    Line::Value([&b"W/"[..], value].concat())
                } else {
                    Line::Keep
                }
            } else {
                Line::Keep
            }
        },
        &added,
    );
}

/// A strong (`"x"`) or weak (`W/"x"`) entity tag.
fn valid_etag(v: &[u8]) -> bool {
    let opaque = v.strip_prefix(b"W/").unwrap_or(v);
    opaque.len() >= 2 && opaque.first() == Some(&b'"') && opaque.last() == Some(&b'"')
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_http::{Config, Parsed};

    fn parsed(text: &str) -> (ResponseHead, Vec<u8>) {
        let buf = text.as_bytes().to_vec();
        let mut resp = ResponseHead::new();
        let config = Config::from_tune(16384, 1024, 101);
        assert!(matches!(
            resp.parse(&buf, &config, Method::Get),
            Parsed::Complete { .. }
        ));
        (resp, buf)
    }

    fn conf(types: &[Box<[u8]>], minsize: u64) -> Effective<'_> {
        Effective {
            algos: &[Algorithm::Gzip],
            types,
            minsize,
            offload: false,
            level: 1,
        }
    }

    fn compressed(head: &str, types: &[&str], minsize: u64, method: Method) -> bool {
        let types: Vec<Box<[u8]>> = types.iter().map(|t| t.as_bytes().into()).collect();
        let (resp, buf) = parsed(head);
        applies(&conf(&types, minsize), &resp, &buf, method, true)
    }

    #[test]
    fn the_response_decides() {
        let ok = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 100\r\n\r\n";
        assert!(compressed(ok, &["text/plain"], 0, Method::Get));
        assert!(!compressed(ok, &["text/html"], 0, Method::Get));
        assert!(!compressed(ok, &[], 101, Method::Get));
        assert!(compressed(ok, &[], 100, Method::Get));
        assert!(!compressed(ok, &[], 0, Method::Head));
        let refused = [
            "HTTP/1.1 400 Bad\r\ncontent-length: 100\r\n\r\n",
            "HTTP/1.0 200 OK\r\ncontent-length: 100\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-encoding: br\r\ncontent-length: 100\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncache-control: public, no-transform\r\ncontent-length: 100\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-type: multipart/mixed\r\ncontent-length: 100\r\n\r\n",
            "HTTP/1.1 200 OK\r\netag: invalid\r\ncontent-length: 100\r\n\r\n",
            "HTTP/1.1 200 OK\r\netag: \"a\"\r\netag: \"a\"\r\ncontent-length: 100\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            "HTTP/1.1 204 No Content\r\n\r\n",
        ];
        for head in refused {
            assert!(!compressed(head, &[], 0, Method::Get), "{head}");
        }
        let chunked = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\netag: W/\"1\"\r\n\r\n";
        assert!(compressed(chunked, &[], 1_000_000, Method::Get));
        // Without a type, a configured list refuses.
        let untyped = "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n";
        assert!(!compressed(untyped, &["text/plain"], 0, Method::Get));
    }

    #[test]
    fn the_head_announces_the_coding() {
        let mut out =
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nETag: \"123\"\r\nx: y\r\n\r\n".to_vec();
        rewrite_head(&mut out, Algorithm::Gzip, false);
        assert_eq!(
            String::from_utf8_lossy(&out),
            "HTTP/1.1 200 OK\r\nETag: W/\"123\"\r\nx: y\r\nContent-Encoding: gzip\r\n\
             Transfer-Encoding: chunked\r\nVary: Accept-Encoding\r\n\r\n"
        );
        let mut out = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        rewrite_head(&mut out, Algorithm::Identity, true);
        assert_eq!(
            String::from_utf8_lossy(&out),
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nVary: Accept-Encoding\r\n\r\n"
        );
        let mut out = b"HTTP/1.1 200 OK\r\nVary: Origin, accept-encoding\r\n\r\n".to_vec();
        rewrite_head(&mut out, Algorithm::Gzip, true);
        assert_eq!(
            String::from_utf8_lossy(&out),
            "HTTP/1.1 200 OK\r\nVary: Origin, accept-encoding\r\nContent-Encoding: gzip\r\n\r\n"
        );
    }
}
