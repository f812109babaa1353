//! The heads Sluice sends: the received start line as it was, the received headers minus
//! hop-by-hop `Connection` (kept for upgrades), then what the proxy adds.
//!
//! Rules see and change a head through [`Msg`], an [`HttpMessage`] over the parsed spans.
//! Nothing is copied until a rule writes: the first header edit turns the span list into a
//! field list ([`Edits`]) whose new names and values live in one reused arena, so a rewrite
//! allocates nothing once the arena has grown. The writers below apply the edits.

pub use crate::http::forwardfor::Xff;
use sluice_http::Header;
use sluice_http::{RequestHead, ResponseHead, Version};
use sluice_rules::HttpMessage;
use std::io::Write;
use std::net::IpAddr;

/// A byte range of the edit arena.
#[derive(Clone, Copy, Debug)]
struct Span32 {
    start: u32,
    end: u32,
}

/// One header field of an edited head.
#[derive(Clone, Copy, Debug)]
enum Field {
    /// Received field `n`, unchanged.
    Orig(u32),
    /// Received field `n`'s name with a new value.
    Value(u32, Span32),
    /// A field added by a rule.
    New(Span32, Span32),
}

/// What rules changed in one head. Kept in the exchange's scratch and reused.
#[derive(Debug, Default)]
pub struct Edits {
    /// `fields` replaces the received header list.
    active: bool,
    fields: Vec<Field>,
    arena: Vec<u8>,
    method: Option<Span32>,
    uri: Option<Span32>,
    status: Option<u16>,
    reason: Option<Span32>,
}

impl Edits {
    /// Forgets every edit (the next head).
    pub fn clear(&mut self) {
        self.active = false;
        self.fields.clear();
        self.arena.clear();
        self.method = None;
        self.uri = None;
        self.status = None;
        self.reason = None;
    }

    /// Whether nothing was changed.
    pub fn is_empty(&self) -> bool {
        !self.active && self.method.is_none() && self.uri.is_none() && self.status.is_none()
    }

    /// The request target after edits, when a rule changed it.
    pub fn uri(&self) -> Option<&[u8]> {
        self.uri.map(|r| self.get(r))
    }

    fn push(&mut self, bytes: &[u8]) -> Span32 {
        let start = u32::try_from(self.arena.len()).unwrap_or(u32::MAX);
        self.arena.extend_from_slice(bytes);
        let end = u32::try_from(self.arena.len()).unwrap_or(u32::MAX);
        Span32 { start, end }
    }

    fn get(&self, r: Span32) -> &[u8] {
        self.arena
            .get(r.start as usize..r.end as usize)
            .unwrap_or_default()
    }

    /// The name of field `f` (no value slicing: header lookups compare names only).
    fn field_name<'a>(arena: &'a [u8], f: Field, buf: &'a [u8], spans: &[Header]) -> &'a [u8] {
        match f {
            Field::Orig(n) | Field::Value(n, _) => {
                spans.get(n as usize).map_or(&[][..], |h| h.name.slice(buf))
            }
            Field::New(n, _) => arena
                .get(n.start as usize..n.end as usize)
                .unwrap_or_default(),
        }
    }

    /// Field `i` as (name, value), against the received head `spans` over `buf`.
    fn field<'a>(&'a self, f: Field, buf: &'a [u8], spans: &[Header]) -> (&'a [u8], &'a [u8]) {
        match f {
            Field::Orig(n) => spans.get(n as usize).map_or((&[][..], &[][..]), |h| {
                (h.name.slice(buf), h.value.slice(buf))
            }),
            Field::Value(n, v) => (
                spans.get(n as usize).map_or(&[][..], |h| h.name.slice(buf)),
                self.get(v),
            ),
            Field::New(n, v) => (self.get(n), self.get(v)),
        }
    }
}

/// A parsed head as rules see it: the received bytes plus the edits so far.
pub struct Msg<'a> {
    buf: &'a [u8],
    spans: &'a [Header],
    method: &'a [u8],
    uri: &'a [u8],
    version: &'static [u8],
    status: u16,
    edits: &'a mut Edits,
}

fn version_bytes(v: Option<Version>) -> &'static [u8] {
    match v {
        Some(Version::Http10) => b"HTTP/1.0",
        _ => b"HTTP/1.1",
    }
}

impl<'a> Msg<'a> {
    /// A request head parsed from `buf`.
    pub fn request(req: &'a RequestHead, buf: &'a [u8], edits: &'a mut Edits) -> Self {
        Msg {
            buf,
            spans: req.header_spans(),
            method: req.method_bytes(buf),
            uri: req.target(buf),
            version: if req.is_http2() {
                b"HTTP/2.0"
            } else {
                version_bytes(req.version())
            },
            status: 0,
            edits,
        }
    }

    /// Applies the scheme-based normalisation the parser found (a default or empty port in
    /// an absolute-form or CONNECT target and in the Host header), as HAProxy does before
    /// any rule: rules, logs and the server see `http://h/` for `http://h:80/`.
    pub fn normalize_authority(&mut self, req: &RequestHead) {
        let Some(n) = req.normalization() else {
            return;
        };
        let without = |whole: &[u8], at: usize, cut: sluice_http::Span| {
            let (from, to) = (cut.start().saturating_sub(at), cut.end().saturating_sub(at));
            let mut out = Vec::with_capacity(whole.len());
            out.extend_from_slice(whole.get(..from).unwrap_or_default());
            out.extend_from_slice(whole.get(to..).unwrap_or_default());
            out
        };
        if let Some(cut) = n.target_port {
            // Written directly: `set_uri` would also rewrite or add the Host header.
            let uri = without(self.uri, req.target_span().start(), cut);
            self.edits.uri = Some(self.edits.push(&uri));
        }
        if let (Some(cut), Some(i)) = (n.host_port, req.host_index()) {
            if let Some(h) = self.spans.get(i) {
                let value = without(h.value.slice(self.buf), h.value.start(), cut);
                self.materialize();
                let v = self.edits.push(&value);
                if let Some(f) = self.edits.fields.get_mut(i) {
                    *f = Field::Value(i as u32, v);
                }
            }
        }
    }

    /// A response head parsed from `buf`.
    pub fn response(resp: &'a ResponseHead, buf: &'a [u8], edits: &'a mut Edits) -> Self {
        Msg {
            buf,
            spans: resp.header_spans(),
            method: &[],
            uri: &[],
            version: version_bytes(resp.version()),
            status: resp.status(),
            edits,
        }
    }

    /// A request whose target is an absolute URI keeps its authority equal to a Host header
    /// a rule wrote, as HAProxy does.
    fn sync_uri_host(&mut self, host: &[u8]) {
        if self.method.is_empty() {
            return;
        }
        let uri = self.uri();
        let Some((start, end)) = authority_host(uri) else {
            return;
        };
        let host = host.trim_ascii();
        if uri.get(start..end) == Some(host) {
            return;
        }
        let mut new = Vec::with_capacity(uri.len() + host.len());
        new.extend_from_slice(uri.get(..start).unwrap_or_default());
        new.extend_from_slice(host);
        new.extend_from_slice(uri.get(end..).unwrap_or_default());
        self.edits.uri = Some(self.edits.push(&new));
    }

    /// Switches from the received spans to an editable field list (once per head).
    fn materialize(&mut self) {
        if !self.edits.active {
            self.edits.fields.clear();
            let n = u32::try_from(self.spans.len()).unwrap_or(u32::MAX);
            self.edits.fields.extend((0..n).map(Field::Orig));
            self.edits.active = true;
        }
    }
}

impl HttpMessage for Msg<'_> {
    fn method(&self) -> &[u8] {
        match self.edits.method {
            Some(r) => self.edits.get(r),
            None => self.method,
        }
    }
    fn uri(&self) -> &[u8] {
        match self.edits.uri {
            Some(r) => self.edits.get(r),
            None => self.uri,
        }
    }
    fn version(&self) -> &[u8] {
        self.version
    }
    fn status(&self) -> u16 {
        self.edits.status.unwrap_or(self.status)
    }
    fn header_count(&self) -> usize {
        if self.edits.active {
            self.edits.fields.len()
        } else {
            self.spans.len()
        }
    }
    fn header(&self, index: usize) -> Option<(&[u8], &[u8])> {
        if self.edits.active {
            let f = *self.edits.fields.get(index)?;
            // A value a rule wrote is read back without its outer blanks, as a parsed one.
            let (name, value) = self.edits.field(f, self.buf, self.spans);
            Some((name, value.trim_ascii()))
        } else {
            let h = self.spans.get(index)?;
            Some((h.name.slice(self.buf), h.value.slice(self.buf)))
        }
    }
    fn set_method(&mut self, method: &[u8]) {
        self.edits.method = Some(self.edits.push(method));
    }
    fn set_uri(&mut self, uri: &[u8]) {
        self.edits.uri = Some(self.edits.push(uri));
        // An absolute URI brings its authority to the Host header.
        if let Some((start, end)) = authority_host(uri) {
            let host = uri.get(start..end).unwrap_or_default();
            match self.find_header(b"host", 0) {
                Some(i) => self.set_header_value(i, host),
                None => self.add_header(b"Host", host),
            }
        }
    }
    fn set_status(&mut self, status: u16, reason: Option<&[u8]>) {
        self.edits.status = Some(status);
        self.edits.reason = reason.map(|r| self.edits.push(r));
    }
    fn add_header(&mut self, name: &[u8], value: &[u8]) {
        self.materialize();
        let n = self.edits.push(name);
        let v = self.edits.push(value);
        self.edits.fields.push(Field::New(n, v));
        if name.eq_ignore_ascii_case(b"host") {
            self.sync_uri_host(value);
        }
    }
    fn set_header_value(&mut self, index: usize, value: &[u8]) {
        if self
            .header(index)
            .is_some_and(|(n, _)| n.eq_ignore_ascii_case(b"host"))
        {
            self.sync_uri_host(value);
        }
        self.materialize();
        let v = self.edits.push(value);
        if let Some(f) = self.edits.fields.get_mut(index) {
            *f = match *f {
                Field::Orig(n) | Field::Value(n, _) => Field::Value(n, v),
                Field::New(n, _) => Field::New(n, v),
            };
        }
    }
    fn remove_header(&mut self, index: usize) {
        self.materialize();
        if index < self.edits.fields.len() {
            self.edits.fields.remove(index);
        }
    }
    fn fields_size(&self) -> usize {
        use sluice_rules::message::field_size;
        if self.edits.active {
            let fields = self.edits.fields.iter();
            fields
                .map(|&f| {
                    let (name, value) = self.edits.field(f, self.buf, self.spans);
                    field_size(name, value.trim_ascii())
                })
                .sum()
        } else {
            let spans = self.spans.iter();
            spans
                .map(|h| field_size(h.name.slice(self.buf), h.value.slice(self.buf)))
                .sum()
        }
    }
    // The two lookups below run several times per request in rule-heavy configurations:
    // they compare names only, straight over the spans or the edited field list.
    fn find_header(&self, name: &[u8], from: usize) -> Option<usize> {
        let found = if self.edits.active {
            let arena = &self.edits.arena;
            self.edits.fields.get(from..)?.iter().position(|&f| {
                Edits::field_name(arena, f, self.buf, self.spans).eq_ignore_ascii_case(name)
            })
        } else {
            let spans = self.spans.get(from..)?;
            spans
                .iter()
                .position(|h| h.name.slice(self.buf).eq_ignore_ascii_case(name))
        };
        found.map(|i| i + from)
    }
    fn remove_headers(&mut self, name: &[u8]) -> usize {
        if self.find_header(name, 0).is_none() {
            return 0;
        }
        self.materialize();
        let (buf, spans) = (self.buf, self.spans);
        let Edits { fields, arena, .. } = &mut *self.edits;
        let before = fields.len();
        fields.retain(|&f| !Edits::field_name(arena, f, buf, spans).eq_ignore_ascii_case(name));
        before - fields.len()
    }
}

/// In an absolute URI (`scheme://[userinfo@]host[:port]/path`), where the host and port are.
pub fn authority_host(uri: &[u8]) -> Option<(usize, usize)> {
    let colon = uri.iter().position(|&b| b == b':')?;
    let scheme = uri.get(..colon)?;
    let scheme_ok = scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !scheme_ok || uri.get(colon..colon + 3) != Some(b"://") {
        return None;
    }
    let start = colon + 3;
    let rest = uri.get(start..)?;
    let end = start
        + rest
            .iter()
            .position(|&b| matches!(b, b'/' | b'?' | b'#'))
            .unwrap_or(rest.len());
    let auth = uri.get(start..end)?;
    let host_start = auth
        .iter()
        .rposition(|&b| b == b'@')
        .map_or(start, |at| start + at + 1);
    Some((host_start, end))
}

/// Whether rules may not touch a header: the body framing was decided from the received
/// ones, so the received ones are sent whatever the rules did (no smuggling by rewrite).
#[inline]
fn is_framing(name: &[u8]) -> bool {
    name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"transfer-encoding")
}

/// Calls `f` on each header to send: the received ones as forwarded by the codec, or,
/// after edits, the edited list with the received framing headers.
fn each_header<'a>(
    forward: impl Iterator<Item = (&'a [u8], &'a [u8])>,
    edits: Option<&'a Edits>,
    buf: &'a [u8],
    spans: &'a [Header],
    mut f: impl FnMut(&[u8], &[u8]),
) {
    match edits.filter(|e| e.active) {
        None => forward.for_each(|(n, v)| f(n, v)),
        Some(e) => {
            for field in &e.fields {
                let (n, v) = e.field(*field, buf, spans);
                if !is_framing(n) {
                    f(n, v);
                }
            }
            for (n, v) in forward.filter(|(n, _)| is_framing(n)) {
                f(n, v);
            }
        }
    }
}

/// The reason phrase HAProxy writes for `status`.
pub fn reason(status: u16) -> &'static [u8] {
    if let Some(p) = sluice_http::errors::page(status) {
        return p.reason.as_bytes();
    }
    match status {
        100 => b"Continue",
        101 => b"Switching Protocols",
        200 => b"OK",
        201 => b"Created",
        202 => b"Accepted",
        204 => b"No Content",
        206 => b"Partial Content",
        301 => b"Moved Permanently",
        302 => b"Found",
        303 => b"See Other",
        304 => b"Not Modified",
        307 => b"Temporary Redirect",
        308 => b"Permanent Redirect",
        401 => b"Unauthorized",
        407 => b"Proxy Authentication Required",
        _ => b"Other",
    }
}

/// What the request head sent to the server gets.
pub struct RequestOut<'a> {
    /// `option forwardfor` of the frontend and backend, combined (see [`ForwardFor::combine`]).
    pub forwardfor: Option<Xff<'a>>,
    /// `option originalto`: the header name and the address the client connected to.
    pub originalto: Option<(&'a str, IpAddr)>,
    /// `unique-id-header`: the header name and the request's unique ID.
    pub unique_id: Option<(&'a str, &'a [u8])>,
    /// Ask the server to close after the response.
    pub close: bool,
    /// Forward `Connection`/`Upgrade` as they are (upgrade requests).
    pub upgrade: bool,
    /// What rules changed.
    pub edits: Option<&'a Edits>,
}

/// Appends the origin form of `uri`: the path and query of an absolute URI (the path `/`
/// when it has none); other forms as they are.
fn origin_form(out: &mut Vec<u8>, uri: &[u8]) {
    let sep = uri.windows(3).position(|w| w == b"://");
    let Some(sep) = sep.filter(|_| !matches!(uri.first(), Some(b'/' | b'*'))) else {
        out.extend_from_slice(uri);
        return;
    };
    let after = uri.get(sep + 3..).unwrap_or_default();
    match after.iter().position(|&c| c == b'/' || c == b'?') {
        Some(i) => {
            if after.get(i) == Some(&b'?') {
                out.push(b'/');
            }
            out.extend_from_slice(after.get(i..).unwrap_or_default());
        }
        None => out.push(b'/'),
    }
}

fn start_line(buf: &[u8]) -> &[u8] {
    let end = buf
        .iter()
        .position(|&b| b == b'\n')
        .map_or(buf.len(), |i| i + 1);
    buf.get(..end).unwrap_or(buf)
}

/// Whether a `TE` value has the bare `trailers` element.
fn te_asks_trailers(value: &[u8]) -> bool {
    value
        .split(|&b| b == b',')
        .any(|e| e.trim_ascii().eq_ignore_ascii_case(b"trailers"))
}

#[inline]
fn header(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Writes the request head for the server into `out` (cleared first).
pub fn request(out: &mut Vec<u8>, req: &RequestHead, buf: &[u8], o: &RequestOut<'_>) {
    out.clear();
    let edits = o.edits.filter(|e| !e.is_empty());
    let rewritten = edits.filter(|e| e.method.is_some() || e.uri.is_some());
    let none = Edits::default();
    match rewritten.or(req.is_http2().then_some(&none)) {
        Some(e) => {
            let method = e.method.map_or(req.method_bytes(buf), |r| e.get(r));
            let uri = e.uri.map_or(req.target(buf), |r| e.get(r));
            out.extend_from_slice(method);
            out.push(b' ');
            if req.is_http2() {
                // HTTP/2 requests carry an absolute URI (`:scheme`, `:authority`): HTTP/1.1
                // servers get its origin form, as HAProxy sends it.
                origin_form(out, uri);
            } else {
                out.extend_from_slice(uri);
            }
            out.push(b' ');
            out.extend_from_slice(version_bytes(req.version()));
            out.extend_from_slice(b"\r\n");
        }
        None => out.extend_from_slice(start_line(buf)),
    }
    let mut has_xff = false;
    let xff_name = o.forwardfor.map(|f| f.header.as_bytes());
    each_header(
        req.forward_headers(buf),
        edits,
        buf,
        req.header_spans(),
        |name, value| {
            if !o.upgrade && name.eq_ignore_ascii_case(b"connection") {
                return;
            }
            // `TE` is hop-by-hop: of its codings only `trailers` means anything to the next
            // hop (RFC 9110 §10.1.4); the rest are the client's wishes for this hop.
            if name.len() == 2 && name.eq_ignore_ascii_case(b"te") {
                if te_asks_trailers(value) {
                    header(out, name, b"trailers");
                }
                return;
            }
            if let Some(x) = xff_name {
                if name.eq_ignore_ascii_case(x) {
                    has_xff = true;
                }
            }
            header(out, name, value);
        },
    );
    if let Some(Xff {
        header,
        ip,
        if_none,
    }) = o.forwardfor
    {
        if !(if_none && has_xff) {
            out.extend_from_slice(header.as_bytes());
            out.extend_from_slice(b": ");
            let ip = match ip {
                IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
                v4 => v4,
            };
            sluice_rules::text::push_ip(out, ip);
            out.extend_from_slice(b"\r\n");
        }
    }
    if let Some((name, ip)) = o.originalto {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        sluice_rules::text::push_ip(out, ip);
        out.extend_from_slice(b"\r\n");
    }
    if let Some((name, id)) = o.unique_id {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(id);
        out.extend_from_slice(b"\r\n");
    }
    if !o.upgrade {
        if o.close {
            out.extend_from_slice(b"connection: close\r\n");
        } else if req.version() == Some(Version::Http10) {
            out.extend_from_slice(b"connection: keep-alive\r\n");
        }
    }
    out.extend_from_slice(b"\r\n");
}

/// Writes the response head for the client into `out` (cleared first).
/// `close`: the client connection closes after this response; `client_v10`: the client
/// spoke HTTP/1.0 (keep-alive must then be said).
pub fn response(out: &mut Vec<u8>, resp: &ResponseHead, buf: &[u8], close: bool, client_v10: bool) {
    response_edited(out, resp, buf, close, client_v10, None);
}

/// [`response`] with what rules changed.
pub fn response_edited(
    out: &mut Vec<u8>,
    resp: &ResponseHead,
    buf: &[u8],
    close: bool,
    client_v10: bool,
    edits: Option<&Edits>,
) {
    out.clear();
    let edits = edits.filter(|e| !e.is_empty());
    match edits.and_then(|e| e.status.map(|s| (e, s))) {
        Some((e, status)) => {
            out.extend_from_slice(version_bytes(resp.version()));
            let _ = write!(out, " {status} ");
            match e.reason {
                Some(r) => out.extend_from_slice(e.get(r)),
                None => out.extend_from_slice(reason(status)),
            }
            out.extend_from_slice(b"\r\n");
        }
        None => out.extend_from_slice(start_line(buf)),
    }
    let tunnel = resp.status() == 101;
    each_header(
        resp.forward_headers(buf),
        edits,
        buf,
        resp.header_spans(),
        |name, value| {
            if !tunnel && name.eq_ignore_ascii_case(b"connection") {
                return;
            }
            header(out, name, value);
        },
    );
    if !tunnel {
        if close {
            out.extend_from_slice(b"connection: close\r\n");
        } else if client_v10 {
            out.extend_from_slice(b"connection: keep-alive\r\n");
        }
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authority_of_absolute_uris() {
        let host = |uri: &str| {
            authority_host(uri.as_bytes()).and_then(|(s, e)| uri.get(s..e).map(str::to_string))
        };
        assert_eq!(host("http://a.b:81/p?q").as_deref(), Some("a.b:81"));
        assert_eq!(host("https://u:p@a.b?q").as_deref(), Some("a.b"));
        assert_eq!(host("http://a.b").as_deref(), Some("a.b"));
        assert_eq!(host("/p?u=http://x/"), None);
        assert_eq!(host("a.b:443"), None);
        assert_eq!(host("1x://a/"), None);
    }

    #[test]
    fn host_rewrites_and_absolute_uris_stay_in_sync() {
        let buf = b"GET http://old.example/p HTTP/1.1\r\nhost: old.example\r\nx-a:  v  \r\n\r\n";
        let mut req = RequestHead::new();
        let parsed = req.parse(buf, &sluice_http::Config::default());
        assert!(
            matches!(parsed, sluice_http::Parsed::Complete { .. }),
            "{parsed:?}"
        );
        let mut edits = Edits::default();
        let mut msg = Msg::request(&req, buf, &mut edits);
        msg.set_header(b"host", b"new.example");
        assert_eq!(msg.uri(), b"http://new.example/p");
        msg.set_uri(b"http://third.example:8080/q");
        let host = msg.find_header(b"host", 0).and_then(|i| msg.header(i));
        assert_eq!(host.map(|h| h.1), Some(&b"third.example:8080"[..]));
        // A value a rule wrote reads back without its outer blanks.
        msg.add_header(b"x-b", b" w ");
        let b = msg.find_header(b"x-b", 0).and_then(|i| msg.header(i));
        assert_eq!(b.map(|h| h.1), Some(&b"w"[..]));
    }

    #[test]
    fn te_keeps_only_trailers() {
        assert!(te_asks_trailers(b"trailers, gzip"));
        assert!(te_asks_trailers(b"gzip , TRAILERS"));
        assert!(!te_asks_trailers(b"gzip"));
        assert!(!te_asks_trailers(b"trailers;q=0.5"));
    }

    #[test]
    fn normalisation_drops_default_ports_from_target_and_host() {
        let buf = b"GET http://u@h:80/p HTTP/1.1\r\nhost: h:\r\n\r\n";
        let mut req = RequestHead::new();
        let parsed = req.parse(buf, &sluice_http::Config::default());
        assert!(
            matches!(parsed, sluice_http::Parsed::Complete { .. }),
            "{parsed:?}"
        );
        let mut edits = Edits::default();
        let mut msg = Msg::request(&req, buf, &mut edits);
        msg.normalize_authority(&req);
        assert_eq!(msg.uri(), b"http://u@h/p");
        let host = msg.find_header(b"host", 0).and_then(|i| msg.header(i));
        assert_eq!(host.map(|h| h.1), Some(&b"h"[..]));
    }

    #[test]
    fn http2_requests_go_to_servers_in_origin_form() {
        let buf = b"GET http://h:80/p?q HTTP/1.1\r\nhost: h:80\r\n\r\n";
        let mut req = RequestHead::new();
        let parsed = req.parse(buf, &sluice_http::Config::default());
        assert!(matches!(parsed, sluice_http::Parsed::Complete { .. }));
        req.mark_http2();
        let mut edits = Edits::default();
        let mut msg = Msg::request(&req, buf, &mut edits);
        msg.normalize_authority(&req);
        assert_eq!(msg.version(), b"HTTP/2.0");
        let mut out = Vec::new();
        let o = RequestOut {
            forwardfor: None,
            originalto: None,
            unique_id: None,
            close: false,
            upgrade: false,
            edits: Some(&edits),
        };
        request(&mut out, &req, buf, &o);
        assert!(
            out.starts_with(b"GET /p?q HTTP/1.1\r\nhost: h\r\n"),
            "{out:?}"
        );
        for (uri, origin) in [
            (&b"http://h"[..], &b"/"[..]),
            (b"http://h?x", b"/?x"),
            (b"/a?b=http://c", b"/a?b=http://c"),
            (b"*", b"*"),
        ] {
            let mut out = Vec::new();
            origin_form(&mut out, uri);
            assert_eq!(out, origin);
        }
    }
}
