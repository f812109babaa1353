//! Body framing (RFC 9112 §6) and the connection semantics of one message, read from its
//! headers in one pass.
//!
//! Decisions, against HAProxy 3.4's defaults:
//!
//! - Transfer-Encoding and Content-Length together: Transfer-Encoding wins, the
//!   Content-Length headers must be removed before forwarding
//!   ([`Framing::drop_content_length`]) and the connection closes after the response, as
//!   HAProxy does without `h1-do-not-close-on-insecure-transfer-encoding`.
//! - Request Transfer-Encoding whose last coding is not `chunked`, or with `chunked` twice,
//!   or with an empty element: 400 (HAProxy: 400). Other codings before `chunked`
//!   (`gzip, chunked`): 422, as HAProxy, which does not forward them.
//! - Response Transfer-Encoding that does not end with one `chunked`: 502, as HAProxy.
//! - Transfer-Encoding in an HTTP/1.0 message: read as chunked, and the connection closes
//!   after the exchange (RFC 9112 §6.1 calls the framing faulty), as HAProxy does.
//! - Content-Length: a comma list of decimal numbers that all agree (`5, 5` is 5; the
//!   forwarded message carries one value, see [`crate::ForwardHeaders`]); a sign, a
//!   non-digit, an empty element or more than 64 bits is 400; values that differ are 400.
//! - HTTP/1.0 GET, HEAD or DELETE with a payload: 413 unless
//!   `h1-accept-payload-with-any-method`, as HAProxy.
//! - Responses to HEAD, and 1xx, 204, 304 have no body; 101 and 2xx to CONNECT turn the
//!   connection into a tunnel; a response without framing is read until the server closes.

use crate::error::{Error, ErrorKind};
use crate::head::{name_is, Config, Header, Span, Version};
use crate::request::Method;
use crate::validate::{is_tchar, is_websocket_accept, is_websocket_key, trim_ows};

/// How the body of a message is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// No body: the next message starts right after the head.
    None,
    /// Exactly this many bytes (Content-Length).
    Length(u64),
    /// Chunked transfer coding: feed the body to a [`crate::ChunkedDecoder`].
    Chunked,
    /// Responses only: the body runs until the server closes the connection.
    UntilClose,
    /// After the head, the connection carries another protocol (101 Switching Protocols, or
    /// a 2xx answer to CONNECT): relay bytes both ways until either side closes.
    Tunnel,
}

/// The tokens of the `Connection` headers that matter to a proxy (case ignored).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnectionTokens {
    /// `close`.
    pub close: bool,
    /// `keep-alive`.
    pub keep_alive: bool,
    /// `upgrade`.
    pub upgrade: bool,
}

/// What a request asks to switch to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Upgrade {
    /// No upgrade (or one that HTTP/1.0 rules say to ignore).
    #[default]
    None,
    /// `Upgrade: websocket` with `Connection: upgrade` and a valid `Sec-WebSocket-Key`.
    WebSocket,
    /// Another protocol, with `Connection: upgrade`.
    Other,
}

/// The framing and connection semantics of one parsed head.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Framing {
    /// How the body is delimited.
    pub body: Body,
    /// Transfer-Encoding and Content-Length were both present: forward without
    /// Content-Length (the forwarding iterator does it) and close after the response.
    pub drop_content_length: bool,
    /// Whether the connection may carry another message after this one (version default,
    /// `Connection` tokens, and closes the framing forces).
    pub keep_alive: bool,
    /// The `Connection` tokens as received.
    pub connection: ConnectionTokens,
    /// An HTTP/1.1 request with `Expect: 100-continue`.
    pub expect_continue: bool,
    /// The upgrade a request asks for, or the one a 101 response grants.
    pub upgrade: Upgrade,
}

impl Default for Framing {
    fn default() -> Framing {
        Framing {
            body: Body::None,
            drop_content_length: false,
            keep_alive: false,
            connection: ConnectionTokens::default(),
            expect_continue: false,
            upgrade: Upgrade::None,
        }
    }
}

/// What one pass over the headers finds.
#[derive(Debug, Default)]
pub(crate) struct Fields {
    /// Index of the first Host header.
    pub host: Option<usize>,
    /// Offset of a second Host header.
    pub second_host: Option<usize>,
    pub content_length: Option<u64>,
    /// The first Content-Length element, to forward alone when the value was a list or
    /// repeated.
    pub cl_canonical: Span,
    pub cl_rewrite: bool,
    pub cl_at: usize,
    pub te_present: bool,
    pub te_chunked: u32,
    pub te_last_chunked: bool,
    /// Codings other than `chunked` (`gzip` in `gzip, chunked`).
    pub te_other: u32,
    pub te_at: usize,
    pub connection: ConnectionTokens,
    pub expect_continue: bool,
    pub upgrade_websocket: bool,
    pub upgrade_present: bool,
    pub ws_keys: u32,
    pub ws_key_valid: bool,
    pub ws_key_at: usize,
    pub ws_accepts: u32,
    pub ws_accept_valid: bool,
}

/// Reads the headers that drive framing. `skip_framing` (1xx and 204 responses) ignores
/// Content-Length and Transfer-Encoding, which such responses cannot use.
pub(crate) fn scan(buf: &[u8], headers: &[Header], skip_framing: bool) -> Result<Fields, Error> {
    let mut f = Fields::default();
    for (i, h) in headers.iter().enumerate() {
        let name = h.name.slice(buf);
        let value = h.value.slice(buf);
        match name.len() {
            4 if name_is(name, b"host") => {
                if f.host.is_none() {
                    f.host = Some(i);
                } else if f.second_host.is_none() {
                    f.second_host = Some(h.name.start());
                }
            }
            6 if name_is(name, b"expect") => {
                f.expect_continue |= value.eq_ignore_ascii_case(b"100-continue");
            }
            7 if name_is(name, b"upgrade") => {
                f.upgrade_present = true;
                for p in value.split(|&b| b == b',') {
                    let p = trim_ows(p);
                    // "websocket" possibly with a version, e.g. "websocket/13"
                    let proto = p.split(|&b| b == b'/').next().unwrap_or_default();
                    f.upgrade_websocket |= proto.eq_ignore_ascii_case(b"websocket");
                }
            }
            10 if name_is(name, b"connection") => {
                for t in value.split(|&b| b == b',') {
                    let t = trim_ows(t);
                    f.connection.close |= t.eq_ignore_ascii_case(b"close");
                    f.connection.keep_alive |= t.eq_ignore_ascii_case(b"keep-alive");
                    f.connection.upgrade |= t.eq_ignore_ascii_case(b"upgrade");
                }
            }
            14 if !skip_framing && name_is(name, b"content-length") => {
                content_length(buf, value, h.value.start(), &mut f)?;
            }
            17 if !skip_framing && name_is(name, b"transfer-encoding") => {
                transfer_encoding(value, h.value.start(), &mut f)?;
            }
            17 if name_is(name, b"sec-websocket-key") => {
                f.ws_keys += 1;
                f.ws_key_valid = is_websocket_key(value);
                f.ws_key_at = h.name.start();
            }
            20 if name_is(name, b"sec-websocket-accept") => {
                f.ws_accepts += 1;
                f.ws_accept_valid = is_websocket_accept(value);
            }
            _ => {}
        }
    }
    Ok(f)
}

fn content_length(buf: &[u8], value: &[u8], at: usize, f: &mut Fields) -> Result<(), Error> {
    for raw in value.split(|&b| b == b',') {
        let elem = trim_ows(raw);
        // an empty value has no bytes of its own: point at the header's value
        let elem_at = if elem.is_empty() {
            at
        } else {
            Span::within(buf, elem).start()
        };
        let bad = Error::new(ErrorKind::InvalidContentLength, elem_at);
        if elem.is_empty() {
            return Err(bad);
        }
        let mut n: u64 = 0;
        for &b in elem {
            if !b.is_ascii_digit() {
                return Err(bad);
            }
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(b - b'0')))
                .ok_or(bad)?;
        }
        match f.content_length {
            None => {
                f.content_length = Some(n);
                f.cl_canonical = Span::within(buf, elem);
                f.cl_at = elem_at;
            }
            Some(prev) if prev == n => f.cl_rewrite = true,
            Some(_) => {
                return Err(Error::new(ErrorKind::ConflictingContentLength, elem_at));
            }
        }
    }
    Ok(())
}

fn transfer_encoding(value: &[u8], at: usize, f: &mut Fields) -> Result<(), Error> {
    let bad = Error::new(ErrorKind::InvalidTransferEncoding, at);
    if !f.te_present {
        f.te_at = at;
    }
    f.te_present = true;
    for elem in value.split(|&b| b == b',') {
        let elem = trim_ows(elem);
        let mut parts = elem.splitn(2, |&b| b == b';');
        let coding = trim_ows(parts.next().unwrap_or_default());
        let has_params = parts.next().is_some();
        if coding.is_empty() || !coding.iter().all(|&b| is_tchar(b)) {
            return Err(bad);
        }
        if coding.eq_ignore_ascii_case(b"chunked") {
            if has_params {
                return Err(bad);
            }
            f.te_chunked += 1;
            f.te_last_chunked = true;
        } else {
            f.te_other += 1;
            f.te_last_chunked = false;
        }
    }
    Ok(())
}

/// Framing of a request.
pub(crate) fn request(
    f: &Fields,
    version: Version,
    method: Method,
    config: &Config,
) -> Result<Framing, Error> {
    let mut out = Framing {
        connection: f.connection,
        ..Framing::default()
    };
    let mut force_close = false;
    if f.te_present {
        let bad = Error::new(ErrorKind::InvalidTransferEncoding, f.te_at);
        if f.te_chunked != 1 || !f.te_last_chunked {
            return Err(bad);
        }
        if f.te_other > 0 {
            return Err(Error::new(ErrorKind::UnsupportedTransferCoding, f.te_at));
        }
        out.body = Body::Chunked;
        // HTTP/1.0 has no chunked coding: the body is read as chunked all the same, and
        // the connection ends with the exchange so that nothing after it is misread.
        if version == Version::Http10 || f.content_length.is_some() {
            out.drop_content_length = true;
            force_close = true;
        }
    } else if let Some(n) = f.content_length {
        out.body = Body::Length(n);
    }
    let payload = matches!(out.body, Body::Chunked) || matches!(out.body, Body::Length(n) if n > 0);
    if payload
        && version == Version::Http10
        && matches!(method, Method::Get | Method::Head | Method::Delete)
        && !config.accept_payload_with_any_method
    {
        return Err(Error::new(ErrorKind::PayloadNotAllowed, f.cl_at));
    }
    out.keep_alive = keep_alive(version, f.connection) && !force_close;
    if version == Version::Http11 {
        out.expect_continue = f.expect_continue;
        if f.connection.upgrade && f.upgrade_present {
            out.upgrade = if f.upgrade_websocket {
                if f.ws_keys != 1 || !f.ws_key_valid {
                    return Err(Error::new(ErrorKind::InvalidWebSocketKey, f.ws_key_at));
                }
                Upgrade::WebSocket
            } else {
                Upgrade::Other
            };
        }
    }
    Ok(out)
}

/// Framing of a response to a request made with `method`.
pub(crate) fn response(
    f: &Fields,
    version: Version,
    status: u16,
    method: Method,
) -> Result<Framing, Error> {
    let mut out = Framing {
        connection: f.connection,
        ..Framing::default()
    };
    let mut force_close = false;
    let bad_te = Error::new(ErrorKind::InvalidTransferEncoding, f.te_at);
    // A response must end its codings with exactly one `chunked`: reading it until the
    // server closes would forward a body the client cannot delimit either.
    if f.te_present && (f.te_chunked != 1 || !f.te_last_chunked) {
        return Err(bad_te);
    }
    out.drop_content_length = f.te_present && f.content_length.is_some();
    if out.drop_content_length || (f.te_present && version == Version::Http10) {
        force_close = true;
    }
    out.body = if status == 101 {
        if f.upgrade_websocket {
            if f.ws_accepts != 1 || !f.ws_accept_valid {
                return Err(Error::new(ErrorKind::InvalidWebSocketAccept, 0));
            }
            out.upgrade = Upgrade::WebSocket;
        } else {
            out.upgrade = Upgrade::Other;
        }
        Body::Tunnel
    } else if method == Method::Connect && (200..300).contains(&status) {
        Body::Tunnel
    } else if status < 200 || status == 204 || status == 304 || method == Method::Head {
        Body::None
    } else if f.te_present {
        if f.te_last_chunked {
            Body::Chunked
        } else {
            force_close = true;
            Body::UntilClose
        }
    } else if let Some(n) = f.content_length {
        Body::Length(n)
    } else {
        force_close = true;
        Body::UntilClose
    };
    out.keep_alive = keep_alive(version, f.connection) && !force_close;
    Ok(out)
}

fn keep_alive(version: Version, c: ConnectionTokens) -> bool {
    match version {
        Version::Http11 => !c.close,
        Version::Http10 => c.keep_alive && !c.close,
    }
}

/// The headers of a head in order, ready to forward: without Content-Length when
/// Transfer-Encoding won, and with a single Content-Length value when it was repeated or a
/// list. Yields `(name, value)` slices of the parsed buffer.
#[derive(Debug, Clone)]
pub struct ForwardHeaders<'a> {
    pub(crate) buf: &'a [u8],
    pub(crate) headers: std::slice::Iter<'a, Header>,
    pub(crate) drop_cl: bool,
    pub(crate) canonical: Option<Span>,
    pub(crate) cl_sent: bool,
}

impl<'a> Iterator for ForwardHeaders<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let h = self.headers.next()?;
            let name = h.name.slice(self.buf);
            if name.len() == 14 && name_is(name, b"content-length") {
                if self.drop_cl || self.cl_sent {
                    continue;
                }
                self.cl_sent = true;
                if let Some(c) = self.canonical {
                    return Some((name, c.slice(self.buf)));
                }
            }
            return Some((name, h.value.slice(self.buf)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(lines: &[(&str, &str)]) -> Result<Fields, Error> {
        // Lay the headers out in one buffer so spans point into it.
        let mut buf = Vec::new();
        let mut hs = Vec::new();
        for (n, v) in lines {
            let ns = buf.len();
            buf.extend_from_slice(n.as_bytes());
            let vs = buf.len() + 2;
            buf.extend_from_slice(b": ");
            buf.extend_from_slice(v.as_bytes());
            hs.push(Header {
                name: Span::new(ns, ns + n.len()),
                value: Span::new(vs, vs + v.len()),
            });
            buf.extend_from_slice(b"\r\n");
        }
        scan(&buf, &hs, false)
    }

    fn req(lines: &[(&str, &str)], v: Version, m: Method) -> Result<Framing, ErrorKind> {
        let f = fields(lines).map_err(|e| e.kind())?;
        request(&f, v, m, &Config::default()).map_err(|e| e.kind())
    }

    fn resp(lines: &[(&str, &str)], status: u16, m: Method) -> Result<Framing, ErrorKind> {
        let f = fields(lines).map_err(|e| e.kind())?;
        response(&f, Version::Http11, status, m).map_err(|e| e.kind())
    }

    use Method::*;
    use Version::*;

    #[test]
    fn chunked_last_is_chunked() {
        // Valid, but Sluice forwards no coding other than chunked (HAProxy: 422).
        assert_eq!(
            req(&[("Transfer-Encoding", "gzip, chunked")], Http11, Post),
            Err(ErrorKind::UnsupportedTransferCoding)
        );
        let f = req(&[("transfer-encoding", "CHUNKED")], Http11, Post).unwrap();
        assert_eq!(f.body, Body::Chunked);
    }

    #[test]
    fn chunked_not_last_in_a_request_is_refused() {
        for te in [
            "chunked, identity",
            "xchunked",
            "chunked, chunked",
            "",
            "chunked;a=b",
            " , chunked",
        ] {
            assert_eq!(
                req(&[("Transfer-Encoding", te)], Http11, Post),
                Err(ErrorKind::InvalidTransferEncoding),
                "{te:?}"
            );
        }
    }

    #[test]
    fn te_split_over_two_headers_counts_as_one_list() {
        let f = req(
            &[
                ("Transfer-Encoding", "gzip"),
                ("Transfer-Encoding", "chunked"),
            ],
            Http11,
            Post,
        );
        assert_eq!(f, Err(ErrorKind::UnsupportedTransferCoding));
        let f = req(
            &[
                ("Transfer-Encoding", "chunked"),
                ("Transfer-Encoding", "gzip"),
            ],
            Http11,
            Post,
        );
        assert_eq!(f, Err(ErrorKind::InvalidTransferEncoding));
    }

    #[test]
    fn te_wins_over_cl_which_is_dropped_and_the_connection_closes() {
        let f = req(
            &[("Content-Length", "4"), ("Transfer-Encoding", "chunked")],
            Http11,
            Post,
        )
        .unwrap();
        assert_eq!(f.body, Body::Chunked);
        assert!(f.drop_content_length);
        assert!(!f.keep_alive);
    }

    #[test]
    fn content_length_lists() {
        assert_eq!(
            req(&[("Content-Length", "5, 5")], Http11, Post)
                .unwrap()
                .body,
            Body::Length(5)
        );
        assert_eq!(
            req(
                &[("Content-Length", "5"), ("content-length", "5")],
                Http11,
                Post
            )
            .unwrap()
            .body,
            Body::Length(5)
        );
        assert_eq!(
            req(&[("Content-Length", "5, 6")], Http11, Post),
            Err(ErrorKind::ConflictingContentLength)
        );
        assert_eq!(
            req(
                &[("Content-Length", "5"), ("Content-Length", "6")],
                Http11,
                Post
            ),
            Err(ErrorKind::ConflictingContentLength)
        );
        for bad in [
            "+5",
            "-5",
            "5a",
            "0x5",
            "",
            "5,",
            "18446744073709551616",
            "5 5",
        ] {
            assert_eq!(
                req(&[("Content-Length", bad)], Http11, Post),
                Err(ErrorKind::InvalidContentLength),
                "{bad:?}"
            );
        }
        assert_eq!(
            req(&[("Content-Length", "18446744073709551615")], Http11, Post)
                .unwrap()
                .body,
            Body::Length(u64::MAX)
        );
    }

    #[test]
    fn http10_rules() {
        assert!(!req(&[], Http10, Get).unwrap().keep_alive);
        assert!(
            req(&[("Connection", "Keep-Alive")], Http10, Get)
                .unwrap()
                .keep_alive
        );
        // Chunked in HTTP/1.0: read as chunked, and the connection closes after.
        let f = req(&[("Transfer-Encoding", "chunked")], Http10, Post).unwrap();
        assert_eq!(f.body, Body::Chunked);
        assert!(!f.keep_alive);
        let f = response(
            &fields(&[("Transfer-Encoding", "chunked")]).unwrap(),
            Http10,
            200,
            Get,
        )
        .unwrap();
        assert_eq!(f.body, Body::Chunked);
        assert!(!f.keep_alive);
        assert_eq!(
            req(&[("Content-Length", "3")], Http10, Get),
            Err(ErrorKind::PayloadNotAllowed)
        );
        assert!(req(&[("Content-Length", "0")], Http10, Get).is_ok());
        assert!(req(&[("Content-Length", "3")], Http10, Post).is_ok());
        // Expect and Upgrade mean nothing in HTTP/1.0.
        let f = req(&[("Expect", "100-continue")], Http10, Post).unwrap();
        assert!(!f.expect_continue);
    }

    #[test]
    fn connection_tokens_ignore_case() {
        let f = req(&[("Connection", "foo, CLOSE")], Http11, Get).unwrap();
        assert!(f.connection.close);
        assert!(!f.keep_alive);
        let f = req(&[("Expect", "100-Continue")], Http11, Post).unwrap();
        assert!(f.expect_continue);
    }

    #[test]
    fn websocket_upgrade_needs_a_key() {
        let h = [("Connection", "Upgrade"), ("Upgrade", "websocket")];
        assert_eq!(req(&h, Http11, Get), Err(ErrorKind::InvalidWebSocketKey));
        let h = [
            ("Connection", "keep-alive, Upgrade"),
            ("Upgrade", "WebSocket"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ];
        assert_eq!(req(&h, Http11, Get).unwrap().upgrade, Upgrade::WebSocket);
        // Without Connection: upgrade, Upgrade is not a request to switch.
        assert_eq!(
            req(&[("Upgrade", "h2c")], Http11, Get).unwrap().upgrade,
            Upgrade::None
        );
    }

    #[test]
    fn response_bodies() {
        assert_eq!(
            resp(&[("Content-Length", "9")], 200, Head).unwrap().body,
            Body::None
        );
        assert_eq!(resp(&[], 204, Get).unwrap().body, Body::None);
        assert_eq!(
            resp(&[("Content-Length", "9")], 304, Get).unwrap().body,
            Body::None
        );
        assert_eq!(resp(&[], 100, Get).unwrap().body, Body::None);
        assert_eq!(resp(&[], 200, Connect).unwrap().body, Body::Tunnel);
        let f = resp(&[], 200, Get).unwrap();
        assert_eq!(f.body, Body::UntilClose);
        assert!(!f.keep_alive);
        // A response's codings must end with one chunked (HAProxy: 502).
        for te in [
            "gzip",
            "chunked, gzip",
            "chunked, chunked",
            "chunked, gzip, chunked",
        ] {
            assert_eq!(
                resp(&[("Transfer-Encoding", te)], 200, Get),
                Err(ErrorKind::InvalidTransferEncoding),
                "{te}"
            );
        }
        let f = resp(&[("Transfer-Encoding", "gzip, chunked")], 200, Get).unwrap();
        assert_eq!(f.body, Body::Chunked);
        let h = [("Connection", "upgrade"), ("Upgrade", "websocket")];
        assert_eq!(resp(&h, 101, Get), Err(ErrorKind::InvalidWebSocketAccept));
    }
}
