//! HTTP fetches on a raw TCP stream: in a `mode tcp` frontend, `tcp-request content` rules
//! may read `path`, `req.hdr(...)`, the `HTTP` ACL... HAProxy then reads the bytes buffered
//! so far as an HTTP/1 request head. While the head is incomplete those fetches cannot tell
//! yet (the rules wait, within `inspect-delay`); bytes that are not HTTP give no value.

use crate::h2::preface::PREFACE;
use crate::http::head::{Edits, Msg};
use sluice_http::{Parsed, RequestHead};
use sluice_rules::HttpMessage;

/// The HTTP/2 preface's first part, which HTTP/1 parsing sees as a request head without
/// fields (`PRI * HTTP/2.0`): the `HTTP` ACL matches it, as in HAProxy.
const PREFACE_HEAD: &[u8] = b"PRI * HTTP/2.0\r\n\r\n";

/// What the buffered bytes of a raw stream are, read as an HTTP/1 request.
pub enum RawRequest<'a> {
    /// A complete request head.
    Head(Msg<'a>),
    /// The HTTP/2 connection preface.
    Preface,
    /// The start of a head: more bytes may complete it.
    Pending,
    /// Not an HTTP/1 request (or nothing yet).
    NotHttp,
}

/// Reads `buf` as an HTTP/1 request head with `parser` (reused between rounds) and the
/// frontend's parsing settings.
pub fn read<'a>(
    buf: &'a [u8],
    parser: &'a mut RequestHead,
    edits: &'a mut Edits,
    config: &sluice_http::Config,
) -> RawRequest<'a> {
    if buf.is_empty() {
        return RawRequest::NotHttp;
    }
    if buf.starts_with(PREFACE_HEAD) {
        return RawRequest::Preface;
    }
    if PREFACE.starts_with(buf) {
        return RawRequest::Pending;
    }
    match parser.parse(buf, config) {
        Parsed::Complete { .. } => RawRequest::Head(Msg::request(parser, buf, edits)),
        Parsed::Partial if buf.len() < config.max_head_len => RawRequest::Pending,
        Parsed::Partial | Parsed::Error(_) => RawRequest::NotHttp,
    }
}

/// The request head HTTP fetches read in `request`, if it is one.
pub fn message<'r>(request: &'r RawRequest<'_>) -> Option<&'r dyn HttpMessage> {
    match request {
        RawRequest::Head(m) => Some(m),
        RawRequest::Preface => Some(&PrefaceHead),
        RawRequest::Pending | RawRequest::NotHttp => None,
    }
}

/// The HTTP/2 preface as a request head for the fetches: method `PRI`, target `*`.
pub struct PrefaceHead;

impl HttpMessage for PrefaceHead {
    fn method(&self) -> &[u8] {
        b"PRI"
    }
    fn uri(&self) -> &[u8] {
        b"*"
    }
    fn version(&self) -> &[u8] {
        b"HTTP/2.0"
    }
    fn status(&self) -> u16 {
        0
    }
    fn header_count(&self) -> usize {
        0
    }
    fn header(&self, _: usize) -> Option<(&[u8], &[u8])> {
        None
    }
    // Content rules on a raw stream do not rewrite the request.
    fn set_method(&mut self, _: &[u8]) {}
    fn set_uri(&mut self, _: &[u8]) {}
    fn set_status(&mut self, _: u16, _: Option<&[u8]>) {}
    fn add_header(&mut self, _: &[u8], _: &[u8]) {}
    fn set_header_value(&mut self, _: usize, _: &[u8]) {}
    fn remove_header(&mut self, _: usize) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(bytes: &[u8]) -> &'static str {
        let mut parser = RequestHead::new();
        let mut edits = Edits::default();
        match read(
            bytes,
            &mut parser,
            &mut edits,
            &sluice_http::Config::default(),
        ) {
            RawRequest::Head(_) => "head",
            RawRequest::Preface => "preface",
            RawRequest::Pending => "pending",
            RawRequest::NotHttp => "not http",
        }
    }

    #[test]
    fn request_heads_are_told_from_their_start_and_from_other_bytes() {
        assert_eq!(kind(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"), "head");
        assert_eq!(kind(b"GET /a HTTP/1.1\r\nHost: x\r\n"), "pending");
        assert_eq!(kind(b"GET /a"), "pending");
        assert_eq!(kind(b"\x16\x03\x01\x02\x00"), "not http");
        assert_eq!(kind(b"GET / BAD-VERSION\r\n\r\n"), "not http");
        assert_eq!(kind(b""), "not http");
    }

    #[test]
    fn the_http2_preface_reads_as_a_request_head() {
        assert_eq!(kind(PREFACE), "preface");
        assert_eq!(kind(b"PRI * HTTP/2.0\r\n\r\n"), "preface");
        assert_eq!(kind(b"PRI * HT"), "pending");
    }
}
