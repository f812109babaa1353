//! Request heads: parsed in place from the connection's buffer into a reusable
//! [`RequestHead`] of byte spans.

use crate::authority::{self, Normalization};
use crate::error::{Error, ErrorKind};
use crate::framing::{self, ForwardHeaders, Framing};
use crate::head::{Config, Header, HeaderList, Parsed, Span, Version};
use crate::validate::{self, StartLine, TargetForm};

/// The request method; the ones that change framing or routing are named.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Method {
    /// GET.
    #[default]
    Get,
    /// HEAD: the response has no body.
    Head,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// DELETE.
    Delete,
    /// CONNECT: authority-form target, a 2xx answer opens a tunnel.
    Connect,
    /// OPTIONS: may use the `*` target.
    Options,
    /// TRACE.
    Trace,
    /// PATCH.
    Patch,
    /// Any other token (methods are case-sensitive: `get` is not GET).
    Other,
}

impl Method {
    /// The method named by `token`.
    pub fn from_bytes(token: &[u8]) -> Method {
        match token {
            b"GET" => Method::Get,
            b"HEAD" => Method::Head,
            b"POST" => Method::Post,
            b"PUT" => Method::Put,
            b"DELETE" => Method::Delete,
            b"CONNECT" => Method::Connect,
            b"OPTIONS" => Method::Options,
            b"TRACE" => Method::Trace,
            b"PATCH" => Method::Patch,
            _ => Method::Other,
        }
    }
}

/// A parsed request head: spans into the buffer it was parsed from, plus its framing.
///
/// Keep one per connection and call [`RequestHead::parse`] for every request: the header
/// list keeps its allocation, so a keep-alive connection allocates nothing per request.
/// After `Partial` or `Error` the accessors describe nothing meaningful.
#[derive(Debug, Default)]
pub struct RequestHead {
    method: Method,
    method_span: Span,
    target: Span,
    form: Option<TargetForm>,
    authority: Option<Span>,
    /// The default or empty ports normalisation drops (absolute-form and CONNECT only).
    normalization: Option<Normalization>,
    version: Option<Version>,
    list: HeaderList,
    host: Option<usize>,
    head_len: usize,
    framing: Framing,
    cl_canonical: Option<Span>,
    /// The request came from an HTTP/2 stream (translated to HTTP/1.1 for this parser).
    http2: bool,
}

impl RequestHead {
    /// An empty head.
    pub fn new() -> RequestHead {
        RequestHead::default()
    }

    /// Parses the request head at the start of `buf` (the connection's read buffer, which
    /// may hold more: body bytes or pipelined requests).
    ///
    /// Call again with the grown buffer after `Partial`. Only the first
    /// `config.max_head_len` bytes are looked at, so the answer for a given prefix never
    /// depends on bytes past the limit. Each call reads the head from its start: a
    /// connection stage facing a client that trickles bytes should call again only once
    /// the new bytes hold an LF (or the buffer is full), to keep the work linear.
    pub fn parse(&mut self, buf: &[u8], config: &Config) -> Parsed {
        self.clear();
        let window = buf.get(..config.max_head_len).unwrap_or(buf);
        let lines = config.header_lines();
        let mut scratch = self.list.take_scratch(lines);
        let mut req = httparse::Request::new(&mut []);
        let status = req.parse_with_uninit_headers(window, &mut scratch);
        let outcome = match status {
            Ok(httparse::Status::Complete(len)) => {
                self.head_len = len;
                self.method_span = Span::within(window, req.method.unwrap_or("").as_bytes());
                self.target = Span::within(window, req.path.unwrap_or("").as_bytes());
                self.version = req.version.map(Version::from_minor);
                self.list.record(window, req.headers);
                None
            }
            Ok(httparse::Status::Partial) => Some(Parsed::Partial),
            Err(_) => Some(validate::diagnose(window, StartLine::Request, lines)),
        };
        self.list.give_scratch(scratch);
        match outcome {
            None => match self.check(window, config) {
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
        self.method = Method::Get;
        self.form = None;
        self.authority = None;
        self.normalization = None;
        self.version = None;
        self.host = None;
        self.head_len = 0;
        self.framing = Framing::default();
        self.cl_canonical = None;
        self.http2 = false;
        self.list.headers.clear();
    }

    /// Notes that the request came from an HTTP/2 stream: rules and logs then say
    /// `HTTP/2.0`, and servers get the origin form (see [`RequestHead::is_http2`]).
    pub fn mark_http2(&mut self) {
        self.http2 = true;
    }

    /// Whether the request came from an HTTP/2 stream (set after each parse).
    pub fn is_http2(&self) -> bool {
        self.http2
    }

    /// The checks `httparse` does not make, on a complete head.
    fn check(&mut self, buf: &[u8], config: &Config) -> Result<(), Error> {
        let head = buf.get(..self.head_len).unwrap_or_default();
        validate::check_crlf(head)?;
        self.method = Method::from_bytes(self.method_span.slice(buf));
        let target = self.target.slice(buf);
        let (form, authority) = validate::check_target(
            target,
            self.method == Method::Connect,
            self.method == Method::Options,
            self.target.start(),
            config.accept_unsafe_request,
        )?;
        self.form = Some(form);
        self.authority =
            authority.map(|(s, e)| Span::new(self.target.start() + s, self.target.start() + e));
        let version = self.version.unwrap_or(Version::Http11);
        let fields = framing::scan(buf, &self.list.headers, false)?;
        if let Some(at) = fields.second_host {
            return Err(Error::new(ErrorKind::DuplicateHost, at));
        }
        self.host = fields.host;
        let host = self
            .host
            .and_then(|i| self.list.headers.get(i))
            .map(|h| h.value);
        // An HTTP/1.1 request without Host is forwarded as it is, as HAProxy does (RFC 9112
        // asks servers, not intermediaries, to refuse it).
        match host {
            None => {}
            Some(h) => {
                if !validate::is_authority(h.slice(buf), false) {
                    return Err(Error::new(ErrorKind::InvalidHost, h.start()));
                }
                let checked = !config.accept_unsafe_request;
                if let (Some(a), Some(kind), true) =
                    (self.authority, self.authority_kind(target), checked)
                {
                    if !authority::matches(kind, a.slice(buf), h.slice(buf)) {
                        return Err(Error::new(ErrorKind::HostMismatch, h.start()));
                    }
                }
            }
        }
        if let (Some(a), Some(kind)) = (self.authority, self.authority_kind(target)) {
            self.normalization = authority::normalization(
                kind,
                a.slice(buf),
                a.start(),
                host.map(|h| (h.slice(buf), h.start())),
            );
        }
        self.framing = framing::request(&fields, version, self.method, config)?;
        if fields.cl_rewrite {
            self.cl_canonical = Some(fields.cl_canonical);
        }
        Ok(())
    }

    /// How the target names its authority (`None` for the origin and asterisk forms).
    fn authority_kind<'t>(&self, target: &'t [u8]) -> Option<authority::Kind<'t>> {
        match self.form? {
            TargetForm::Authority => Some(authority::Kind::Connect),
            TargetForm::Absolute => {
                let sep = memchr::memmem::find(target, b"://")?;
                Some(authority::Kind::Absolute(target.get(..sep)?))
            }
            _ => None,
        }
    }

    /// The default or empty ports that scheme-based normalisation removes from the target
    /// and the Host header, as HAProxy does before rules run: absolute-form and CONNECT
    /// requests only.
    pub fn normalization(&self) -> Option<Normalization> {
        self.normalization
    }

    /// The index of the Host header among [`RequestHead::header_spans`].
    pub fn host_index(&self) -> Option<usize> {
        self.host
    }

    /// Length of the head, final empty line included.
    pub fn head_len(&self) -> usize {
        self.head_len
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The method as received.
    pub fn method_bytes<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        self.method_span.slice(buf)
    }

    /// The request-target as received.
    pub fn target<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        self.target.slice(buf)
    }

    /// Where the request-target is in the buffer.
    pub fn target_span(&self) -> Span {
        self.target
    }

    /// The form of the request-target.
    pub fn target_form(&self) -> Option<TargetForm> {
        self.form
    }

    /// The authority of an absolute-form or CONNECT target.
    pub fn authority<'a>(&self, buf: &'a [u8]) -> Option<&'a [u8]> {
        self.authority.map(|s| s.slice(buf))
    }

    /// The protocol version.
    pub fn version(&self) -> Option<Version> {
        self.version
    }

    /// The Host header's value.
    pub fn host<'a>(&self, buf: &'a [u8]) -> Option<&'a [u8]> {
        let h = self.list.headers.get(self.host?)?;
        Some(h.value.slice(buf))
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

    /// The headers to send to the server: see [`ForwardHeaders`].
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

    fn parse(buf: &[u8]) -> (RequestHead, Parsed) {
        let mut h = RequestHead::new();
        let p = h.parse(buf, &Config::default());
        (h, p)
    }

    fn error(buf: &[u8]) -> Option<(ErrorKind, usize)> {
        match parse(buf).1 {
            Parsed::Error(e) => Some((e.kind(), e.offset())),
            _ => None,
        }
    }

    #[test]
    fn unsafe_violations_allow_fragments_high_bytes_and_a_different_host() {
        let cases: [&[u8]; 3] = [
            b"GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n",
            b"GET /\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n",
            b"GET http://a/ HTTP/1.1\r\nHost: b\r\n\r\n",
        ];
        let lax = Config {
            accept_unsafe_request: true,
            ..Config::default()
        };
        for buf in cases {
            assert!(error(buf).is_some(), "strict: {buf:?}");
            let mut h = RequestHead::new();
            assert!(
                matches!(h.parse(buf, &lax), Parsed::Complete { .. }),
                "lax: {buf:?}"
            );
        }
    }

    #[test]
    fn a_plain_get() {
        let buf = b"GET /index.html?x=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n";
        let (h, p) = parse(buf);
        assert_eq!(
            p,
            Parsed::Complete {
                head_len: buf.len()
            }
        );
        assert_eq!(h.method(), Method::Get);
        assert_eq!(h.target(buf), b"/index.html?x=1");
        assert_eq!(h.version(), Some(Version::Http11));
        assert_eq!(h.host(buf), Some(&b"example.com"[..]));
        assert_eq!(h.header(buf, "accept"), Some(&b"*/*"[..]));
        assert_eq!(h.framing().body, Body::None);
        assert!(h.framing().keep_alive);
    }

    #[test]
    fn partial_until_the_empty_line() {
        assert_eq!(parse(b"GET / HTTP/1.1\r\nHost: a\r\n").1, Parsed::Partial);
        assert_eq!(parse(b"").1, Parsed::Partial);
    }

    #[test]
    fn reuse_across_requests() {
        let mut h = RequestHead::new();
        let c = Config::default();
        let a = b"POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc";
        assert_eq!(
            h.parse(a, &c),
            Parsed::Complete {
                head_len: a.len() - 3
            }
        );
        assert_eq!(h.framing().body, Body::Length(3));
        let b = b"GET /b HTTP/1.1\r\nHost: b\r\n\r\n";
        assert_eq!(h.parse(b, &c), Parsed::Complete { head_len: b.len() });
        assert_eq!(h.framing().body, Body::None);
        assert_eq!(h.target(b), b"/b");
        assert_eq!(h.header_spans().len(), 1);
    }

    #[test]
    fn host_rules() {
        assert_eq!(error(b"GET / HTTP/1.1\r\n\r\n"), None);
        assert_eq!(error(b"GET / HTTP/1.0\r\n\r\n"), None);
        assert_eq!(
            error(b"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"),
            Some((ErrorKind::DuplicateHost, 25))
        );
        assert_eq!(
            error(b"GET http://a.example/ HTTP/1.1\r\nHost: b.example\r\n\r\n"),
            Some((ErrorKind::HostMismatch, 38))
        );
        assert_eq!(
            error(b"GET http://A.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n"),
            None
        );
        assert_eq!(
            error(b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n"),
            Some((ErrorKind::InvalidHost, 22))
        );
    }

    #[test]
    fn connect_and_options() {
        let buf = b"CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n";
        let (h, p) = parse(buf);
        assert!(matches!(p, Parsed::Complete { .. }));
        assert_eq!(h.target_form(), Some(TargetForm::Authority));
        assert_eq!(h.authority(buf), Some(&b"a.example:443"[..]));
        assert_eq!(
            error(b"CONNECT /x HTTP/1.1\r\nHost: a\r\n\r\n"),
            Some((ErrorKind::InvalidTarget, 8))
        );
        assert_eq!(error(b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"), None);
    }

    #[test]
    fn version_handling() {
        assert_eq!(
            error(b"GET / HTTP/1.2\r\nHost: a\r\n\r\n"),
            Some((ErrorKind::UnsupportedVersion, 6))
        );
        assert_eq!(
            error(b"GET / HTTP/2.0\r\nHost: a\r\n\r\n").map(|e| e.0.request_status()),
            Some(505)
        );
        assert_eq!(
            error(b"GET / HTTX/1.1\r\nHost: a\r\n\r\n"),
            Some((ErrorKind::InvalidVersion, 6))
        );
        assert_eq!(error(b"GET /\r\n\r\n"), Some((ErrorKind::InvalidTarget, 5)));
    }

    #[test]
    fn bad_methods() {
        assert_eq!(
            error(b"G(T / HTTP/1.1\r\n"),
            Some((ErrorKind::InvalidMethod, 1))
        );
        assert_eq!(
            error(b" GET / HTTP/1.1\r\n"),
            Some((ErrorKind::InvalidMethod, 0))
        );
    }

    #[test]
    fn leading_empty_lines_are_skipped() {
        let buf = b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
        assert_eq!(
            parse(buf).1,
            Parsed::Complete {
                head_len: buf.len()
            }
        );
    }

    #[test]
    fn size_limit() {
        let c = Config::from_tune(128, 64, 101);
        let mut h = RequestHead::new();
        let mut buf = b"GET / HTTP/1.1\r\nHost: a\r\nX: ".to_vec();
        buf.resize(200, b'x');
        let p = h.parse(&buf, &c);
        assert_eq!(p, Parsed::Error(Error::new(ErrorKind::HeadTooLarge, 64)));
        // exactly at the limit is fine
        let mut ok = b"GET / HTTP/1.1\r\nHost: a\r\nX: ".to_vec();
        ok.resize(60, b'x');
        ok.extend_from_slice(b"\r\n\r\n");
        assert_eq!(h.parse(&ok, &c), Parsed::Complete { head_len: 64 });
    }

    #[test]
    fn header_count_limit_counts_the_start_line() {
        let c = Config::from_tune(16384, 1024, 4);
        let mut h = RequestHead::new();
        let ok = b"GET / HTTP/1.1\r\nHost: a\r\nB: b\r\nC: c\r\n\r\n";
        assert_eq!(h.parse(ok, &c), Parsed::Complete { head_len: ok.len() });
        let over = b"GET / HTTP/1.1\r\nHost: a\r\nB: b\r\nC: c\r\nD: d\r\n\r\n";
        assert_eq!(
            h.parse(over, &c),
            Parsed::Error(Error::new(ErrorKind::TooManyHeaders, 37))
        );
    }

    #[test]
    fn forwarded_headers_lose_a_dropped_content_length() {
        let buf = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n";
        let (h, _) = parse(buf);
        let names: Vec<&[u8]> = h.forward_headers(buf).map(|(n, _)| n).collect();
        assert_eq!(names, vec![&b"Host"[..], b"Transfer-Encoding"]);
        let buf =
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\ncontent-length: 5\r\n\r\n";
        let (h, _) = parse(buf);
        let fwd: Vec<(&[u8], &[u8])> = h.forward_headers(buf).collect();
        assert_eq!(
            fwd,
            vec![(&b"Host"[..], &b"a"[..]), (b"Content-Length", b"5")]
        );
    }
}
