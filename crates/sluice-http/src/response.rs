//! Response heads: parsed in place from the server connection's buffer into a reusable
//! [`ResponseHead`]. Every defect is answered to the client with 502, as HAProxy does.

use crate::error::{Error, ErrorKind};
use crate::framing::{self, ForwardHeaders, Framing};
use crate::head::{Config, Header, HeaderList, Parsed, Span, Version};
use crate::request::Method;
use crate::validate::{self, StartLine};

/// A parsed response head: spans into the buffer it was parsed from, plus its framing.
///
/// Reusable like [`crate::RequestHead`]. A 1xx other than 101 is interim: after it, parse
/// the next head from the same connection.
#[derive(Debug, Default)]
pub struct ResponseHead {
    version: Option<Version>,
    status: u16,
    reason: Span,
    list: HeaderList,
    head_len: usize,
    framing: Framing,
    cl_canonical: Option<Span>,
}

impl ResponseHead {
    /// An empty head.
    pub fn new() -> ResponseHead {
        ResponseHead::default()
    }

    /// Parses the response head at the start of `buf`, for a request made with `method`
    /// (HEAD and CONNECT change the framing).
    pub fn parse(&mut self, buf: &[u8], config: &Config, method: Method) -> Parsed {
        self.clear();
        let window = buf.get(..config.max_head_len).unwrap_or(buf);
        let lines = config.header_lines();
        let mut scratch = self.list.take_scratch(lines);
        let mut resp = httparse::Response::new(&mut []);
        let status = httparse::ParserConfig::default().parse_response_with_uninit_headers(
            &mut resp,
            window,
            &mut scratch,
        );
        let outcome = match status {
            Ok(httparse::Status::Complete(len)) => {
                self.head_len = len;
                self.version = resp.version.map(Version::from_minor);
                self.status = resp.code.unwrap_or(0);
                // httparse gives "" for a reason with obs-text; the span is then empty
                self.reason = Span::within(window, resp.reason.unwrap_or("").as_bytes());
                self.list.record(window, resp.headers);
                None
            }
            Ok(httparse::Status::Partial) => Some(Parsed::Partial),
            Err(_) => Some(validate::diagnose(window, StartLine::Response, lines)),
        };
        self.list.give_scratch(scratch);
        match outcome {
            None => match self.check(window, method) {
                Ok(()) => Parsed::Complete {
                    head_len: self.head_len,
                },
                Err(e) => Parsed::Error(e),
            },
            Some(Parsed::Partial) if window.len() >= config.max_head_len => {
                Parsed::Error(Error::new(ErrorKind::HeadTooLarge, config.max_head_len))
            }
            Some(other) => other,
        }
    }

    fn clear(&mut self) {
        self.version = None;
        self.status = 0;
        self.reason = Span::default();
        self.head_len = 0;
        self.framing = Framing::default();
        self.cl_canonical = None;
        self.list.headers.clear();
    }

    fn check(&mut self, buf: &[u8], method: Method) -> Result<(), Error> {
        let head = buf.get(..self.head_len).unwrap_or_default();
        validate::check_crlf(head)?;
        if self.status < 100 {
            // the code starts after "HTTP/1.x "
            let at = memchr::memchr(b' ', head).map_or(0, |i| i + 1);
            return Err(Error::new(ErrorKind::InvalidStatus, at));
        }
        let skip_framing = self.status < 200 || self.status == 204;
        let fields = framing::scan(buf, &self.list.headers, skip_framing)?;
        let version = self.version.unwrap_or(Version::Http11);
        self.framing = framing::response(&fields, version, self.status, method)?;
        if fields.cl_rewrite {
            self.cl_canonical = Some(fields.cl_canonical);
        }
        Ok(())
    }

    /// Length of the head, final empty line included.
    pub fn head_len(&self) -> usize {
        self.head_len
    }

    /// The protocol version.
    pub fn version(&self) -> Option<Version> {
        self.version
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The reason phrase (empty when it had bytes above 127).
    pub fn reason<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        self.reason.slice(buf)
    }

    /// The header spans, in order.
    pub fn header_spans(&self) -> &[Header] {
        &self.list.headers
    }

    /// The headers as `(name, value)` slices, in order, as received.
    pub fn headers<'a>(&'a self, buf: &'a [u8]) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + 'a {
        self.list.pairs(buf)
    }

    /// The value of the first header called `name` (case ignored).
    pub fn header<'a>(&self, buf: &'a [u8], name: &str) -> Option<&'a [u8]> {
        self.list.find(buf, name)
    }

    /// The body framing and connection semantics.
    pub fn framing(&self) -> &Framing {
        &self.framing
    }

    /// The headers to send to the client: see [`ForwardHeaders`].
    pub fn forward_headers<'a>(&'a self, buf: &'a [u8]) -> ForwardHeaders<'a> {
        ForwardHeaders {
            buf,
            headers: self.list.headers.iter(),
            drop_cl: self.framing.drop_content_length,
            canonical: self.cl_canonical,
            cl_sent: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::Body;

    fn parse(buf: &[u8], m: Method) -> (ResponseHead, Parsed) {
        let mut h = ResponseHead::new();
        let p = h.parse(buf, &Config::default(), m);
        (h, p)
    }

    #[test]
    fn a_plain_ok() {
        let buf = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
        let (h, p) = parse(buf, Method::Get);
        assert_eq!(
            p,
            Parsed::Complete {
                head_len: buf.len() - 2
            }
        );
        assert_eq!(h.status(), 200);
        assert_eq!(h.reason(buf), b"OK");
        assert_eq!(h.framing().body, Body::Length(2));
        assert!(h.framing().keep_alive);
    }

    #[test]
    fn no_reason_is_fine() {
        let buf = b"HTTP/1.1 204\r\n\r\n";
        assert_eq!(
            parse(buf, Method::Get).1,
            Parsed::Complete {
                head_len: buf.len()
            }
        );
    }

    #[test]
    fn bad_status_lines() {
        let kind = |b: &[u8]| match parse(b, Method::Get).1 {
            Parsed::Error(e) => Some(e.kind()),
            _ => None,
        };
        assert_eq!(
            kind(b"HTTP/1.1 20 OK\r\n\r\n"),
            Some(ErrorKind::InvalidStatus)
        );
        assert_eq!(
            kind(b"HTTP/1.1 2000 OK\r\n\r\n"),
            Some(ErrorKind::InvalidStatus)
        );
        assert_eq!(
            kind(b"HTTP/1.1 099 X\r\n\r\n"),
            Some(ErrorKind::InvalidStatus)
        );
        assert_eq!(
            kind(b"HTTP/1.1 200 OK\nX: y\r\n\r\n"),
            Some(ErrorKind::BareLf)
        );
        assert_eq!(
            kind(b"HTTP/2.0 200 OK\r\n\r\n"),
            Some(ErrorKind::UnsupportedVersion)
        );
        assert_eq!(
            kind(b"HTTP/1.1 200 OK\r\nX : y\r\n\r\n"),
            Some(ErrorKind::HeaderNameWhitespace)
        );
        assert_eq!(
            kind(b"HTTP/1.1 200 OK\r\nX: y\r\n z\r\n\r\n"),
            Some(ErrorKind::ObsFold)
        );
    }

    #[test]
    fn interim_then_final() {
        let buf = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        let mut h = ResponseHead::new();
        let c = Config::default();
        let Parsed::Complete { head_len } = h.parse(buf, &c, Method::Post) else {
            panic!("interim response not parsed");
        };
        assert_eq!(h.framing().body, Body::None);
        let rest = &buf[head_len..];
        assert!(matches!(
            h.parse(rest, &c, Method::Post),
            Parsed::Complete { .. }
        ));
        assert_eq!(h.status(), 200);
    }

    #[test]
    fn websocket_switch() {
        let buf = b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
        let (h, p) = parse(buf, Method::Get);
        assert!(matches!(p, Parsed::Complete { .. }));
        assert_eq!(h.framing().body, Body::Tunnel);
    }
}
