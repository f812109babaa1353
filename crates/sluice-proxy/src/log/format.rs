//! Log formats: HAProxy's built-in strings (`option tcplog`, `httplog`, `httpslog`, their CLF
//! variants) and `log-format` strings, compiled once into items and rendered per line into a
//! reused buffer.
//!
//! Rendering follows HAProxy's `sess_build_logline`: spaces between items are separators
//! that collapse when an item printed nothing (`%hr` without captures); a missing value
//! prints `-`; `Q` quotes strings and addresses (never numbers or dates); `X` prints
//! addresses, ports and a few numbers in hex; `E` backslash-escapes `"`, `\` and `]`;
//! request fields escape non-printable characters, `"` and `#` as `#XX`, captured headers
//! also `{`, `|` and `}` (section 8.6).

use crate::stream::log::Record;
use sluice_rules::{SampleExpr, SampleSource};
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::time::{Instant, SystemTime};

use super::time::{self, Cache};

/// `option tcplog`.
pub const TCP: &str = "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq";
/// `option tcplog clf`.
pub const TCP_CLF: &str = "%{+Q}o %{-Q}ci - - [%T] \"TCP \" 000 %B \"\" \"\" %cp %ms %ft %b %s %Th %Tw %Tc %Tt %U %ts-- %ac %fc %bc %sc %rc %sq %bq \"\" \"\" ";
/// `option httplog`.
pub const HTTP: &str = "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r";
/// `option httplog clf`.
pub const HTTP_CLF: &str = "%{+Q}o %{-Q}ci - - [%trg] %r %ST %B \"\" \"\" %cp %ms %ft %b %s %TR %Tw %Tc %Tr %Ta %tsc %ac %fc %bc %sc %rc %sq %bq %CC %CS %hrl %hsl";
/// `option httpslog`.
pub const HTTPS: &str = "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r %[fc_err]/%[ssl_fc_err,hex]/%[ssl_c_err]/%[ssl_c_ca_err]/%[ssl_fc_is_resumed] %[ssl_fc_sni]/%sslv/%sslc";

/// Every alias HAProxy 3.4 documents (section 8.2.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alias {
    O,
    DateUtc,
    DateLocalTz,
    Ts,
    DateLocal,
    Ms,
    ReqDate,
    ReqDateUtc,
    ReqDateLocalTz,
    Ta,
    Tc,
    Td,
    Th,
    Ti,
    Tq,
    TR,
    Tr,
    Tt,
    Tu,
    Tw,
    BytesOut,
    ReqCookie,
    ResCookie,
    Hostname,
    Method,
    Path,
    PathOnly,
    Query,
    Uri,
    Version,
    UniqueId,
    Status,
    BytesIn,
    ActConn,
    Backend,
    BeConn,
    BackendIp,
    BackendPort,
    BeQueue,
    ClientIp,
    ClientPort,
    Frontend,
    FeConn,
    FrontendIp,
    FrontendPort,
    FrontendTransport,
    LogCounter,
    ReqHeaders,
    ReqHeadersList,
    ResHeaders,
    ResHeadersList,
    Origin,
    Pid,
    Request,
    Retries,
    RequestCounter,
    Server,
    SrvConn,
    ServerIp,
    ServerPort,
    SrvQueue,
    SslCipher,
    SslVersion,
    Term,
    TermCookie,
}

const ALIASES: &[(&str, Alias)] = &[
    ("o", Alias::O),
    ("T", Alias::DateUtc),
    ("Tl", Alias::DateLocalTz),
    ("Ts", Alias::Ts),
    ("t", Alias::DateLocal),
    ("ms", Alias::Ms),
    ("tr", Alias::ReqDate),
    ("trg", Alias::ReqDateUtc),
    ("trl", Alias::ReqDateLocalTz),
    ("Ta", Alias::Ta),
    ("Tc", Alias::Tc),
    ("Td", Alias::Td),
    ("Th", Alias::Th),
    ("Ti", Alias::Ti),
    ("Tq", Alias::Tq),
    ("TR", Alias::TR),
    ("Tr", Alias::Tr),
    ("Tt", Alias::Tt),
    ("Tu", Alias::Tu),
    ("Tw", Alias::Tw),
    ("B", Alias::BytesOut),
    ("CC", Alias::ReqCookie),
    ("CS", Alias::ResCookie),
    ("H", Alias::Hostname),
    ("HM", Alias::Method),
    ("HP", Alias::Path),
    ("HPO", Alias::PathOnly),
    ("HQ", Alias::Query),
    ("HU", Alias::Uri),
    ("HV", Alias::Version),
    ("ID", Alias::UniqueId),
    ("ST", Alias::Status),
    ("U", Alias::BytesIn),
    ("ac", Alias::ActConn),
    ("b", Alias::Backend),
    ("bc", Alias::BeConn),
    ("bi", Alias::BackendIp),
    ("bp", Alias::BackendPort),
    ("bq", Alias::BeQueue),
    ("ci", Alias::ClientIp),
    ("cp", Alias::ClientPort),
    ("f", Alias::Frontend),
    ("fc", Alias::FeConn),
    ("fi", Alias::FrontendIp),
    ("fp", Alias::FrontendPort),
    ("ft", Alias::FrontendTransport),
    ("lc", Alias::LogCounter),
    ("hr", Alias::ReqHeaders),
    ("hrl", Alias::ReqHeadersList),
    ("hs", Alias::ResHeaders),
    ("hsl", Alias::ResHeadersList),
    ("OG", Alias::Origin),
    ("pid", Alias::Pid),
    ("r", Alias::Request),
    ("rc", Alias::Retries),
    ("rt", Alias::RequestCounter),
    ("s", Alias::Server),
    ("sc", Alias::SrvConn),
    ("si", Alias::ServerIp),
    ("sp", Alias::ServerPort),
    ("sq", Alias::SrvQueue),
    ("sslc", Alias::SslCipher),
    ("sslv", Alias::SslVersion),
    ("ts", Alias::Term),
    ("tsc", Alias::TermCookie),
];

/// Item flags (`%{+Q,-X}`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags {
    pub quote: bool,
    pub hex: bool,
    pub escape: bool,
    /// `json` / `cbor`: the value is encoded.
    pub encoding: Option<Encoding>,
    /// `bin` (global only): CBOR comes out as raw bytes rather than hexadecimal.
    pub bin: bool,
}

/// A structured encoding of log values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Json,
    Cbor,
}

#[derive(Debug)]
enum Item {
    Text(Box<[u8]>),
    /// One or more spaces in the format: printed once, and not after an empty item.
    Sep,
    Alias(Alias, Flags, Option<Box<str>>),
    Sample(Box<SampleExpr>, Flags, Option<Box<str>>),
}

/// What the format reads, so that streams copy only that.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    /// The request line (`%r`, `%HM`...).
    pub request_line: bool,
    /// Request headers (captures, `%[...]`).
    pub request_head: bool,
    /// Response headers.
    pub response_head: bool,
    pub counters: bool,
    /// The request's unique ID (`%ID`, `%[unique-id]`).
    pub unique_id: bool,
    /// The stream's variables (`%[var(txn.x)]`).
    pub vars: bool,
}

/// A compiled format.
#[derive(Debug)]
pub struct Format {
    items: Vec<Item>,
    pub needs: Needs,
    /// `%{+json}o` / `%{+cbor}o`: the line is one object of the named items.
    encoding: Option<(Encoding, bool)>,
}

/// Compiles `%[...]` expressions (the rules crate's compiler).
pub type SampleCompiler<'a> = dyn FnMut(&str) -> Result<SampleExpr, String> + 'a;

impl Format {
    /// Compiles a log-format string. Errors read like HAProxy's.
    pub fn compile(text: &str, samples: &mut SampleCompiler<'_>) -> Result<Format, String> {
        let mut items = Vec::new();
        let mut needs = Needs::default();
        let mut encoding = None;
        let mut lit: Vec<u8> = Vec::new();
        let mut global = Flags::default();
        let b = text.as_bytes();
        let mut i = 0;
        let flush = |lit: &mut Vec<u8>, items: &mut Vec<Item>| {
            if !lit.is_empty() {
                items.push(Item::Text(std::mem::take(lit).into()));
            }
        };
        while let Some(&c) = b.get(i) {
            if c == b' ' {
                flush(&mut lit, &mut items);
                if !matches!(items.last(), Some(Item::Sep)) {
                    items.push(Item::Sep);
                }
                i += 1;
                continue;
            }
            if c != b'%' {
                lit.push(c);
                i += 1;
                continue;
            }
            if b.get(i + 1) == Some(&b'%') {
                lit.push(b'%');
                i += 2;
                continue;
            }
            i += 1;
            // `%(name[:type])`: item names only matter to JSON/CBOR encodings.
            let mut item_name: Option<Box<str>> = None;
            if b.get(i) == Some(&b'(') {
                let close = text
                    .get(i..)
                    .and_then(|r| r.find(')'))
                    .ok_or_else(|| format!("missing ')' in log-format '{text}'"))?;
                let inner = text.get(i + 1..i + close).unwrap_or("");
                let n = inner.split(':').next().unwrap_or("");
                if !n.is_empty() {
                    item_name = Some(n.into());
                }
                i += close + 1;
            }
            let mut flags = global;
            let mut explicit = Vec::new();
            if b.get(i) == Some(&b'{') {
                let close = text
                    .get(i..)
                    .and_then(|r| r.find('}'))
                    .ok_or_else(|| format!("missing '}}' in log-format '{text}'"))?;
                let args = text.get(i + 1..i + close).unwrap_or("");
                for a in args.split(',').filter(|a| !a.is_empty()) {
                    let (on, name) = match a.as_bytes().first() {
                        Some(b'+') => (true, a.get(1..).unwrap_or("")),
                        Some(b'-') => (false, a.get(1..).unwrap_or("")),
                        _ => (true, a),
                    };
                    match name {
                        "Q" => flags.quote = on,
                        "X" => flags.hex = on,
                        "E" => flags.escape = on,
                        "json" => flags.encoding = on.then_some(Encoding::Json),
                        "cbor" => flags.encoding = on.then_some(Encoding::Cbor),
                        "bin" => flags.bin = on,
                        _ => return Err(format!("unknown log-format flag '{name}' in '{text}'")),
                    }
                    explicit.push(name);
                }
                i += close + 1;
            }
            flush(&mut lit, &mut items);
            if b.get(i) == Some(&b'[') {
                let end = sluice_rules::logformat::expr_end(b, i + 1)
                    .ok_or_else(|| format!("missing ']' after '%[' in log-format '{text}'"))?;
                let inner = text.get(i + 1..end).unwrap_or("").trim();
                let expr = samples(inner).map_err(|e| {
                    format!("failed to parse sample expression <{inner}> in log-format: {e}")
                })?;
                needs.request_head = true;
                needs.response_head = true;
                needs.request_line = true;
                needs.unique_id |= inner.contains("unique-id");
                // `last_rule_*` and the tracked entries (`sc0_*`, `sc_*(n)`) ride along
                // with the variables.
                needs.vars |=
                    inner.contains("var(") || inner.contains("last_rule_") || reads_trackers(inner);
                items.push(Item::Sample(Box::new(expr), flags, item_name));
                i = end + 1;
                continue;
            }
            let start = i;
            while b.get(i).is_some_and(|c| c.is_ascii_alphanumeric()) {
                i += 1;
            }
            let name = text.get(start..i).unwrap_or("");
            let Some((_, alias)) = ALIASES.iter().find(|(n, _)| *n == name) else {
                return Err(if name.is_empty() {
                    format!("missing alias or '[' after '%' in log-format '{text}'")
                } else {
                    format!("no such format alias '{name}' in log-format '{text}'")
                });
            };
            match alias {
                Alias::O => {
                    global = flags;
                    // `bin` only applies globally; an encoding set here encodes the line.
                    encoding = flags.encoding.map(|e| (e, flags.bin));
                    global.encoding = None;
                }
                Alias::Request
                | Alias::Method
                | Alias::Uri
                | Alias::Path
                | Alias::PathOnly
                | Alias::Query
                | Alias::Version => needs.request_line = true,
                Alias::ReqHeaders | Alias::ReqHeadersList | Alias::ReqCookie => {
                    needs.request_head = true
                }
                Alias::ResHeaders | Alias::ResHeadersList | Alias::ResCookie => {
                    needs.response_head = true
                }
                Alias::LogCounter | Alias::RequestCounter => needs.counters = true,
                Alias::UniqueId => needs.unique_id = true,
                _ => {}
            }
            if *alias != Alias::O {
                items.push(Item::Alias(*alias, flags, item_name));
            }
        }
        flush(&mut lit, &mut items);
        Ok(Format {
            items,
            needs,
            encoding,
        })
    }

    /// Renders one line into `out` (appended).
    pub fn render(&self, v: &View<'_>, clock: &mut Cache, out: &mut Vec<u8>) {
        if let Some((enc, bin)) = self.encoding {
            return self.render_object(enc, bin, v, clock, out);
        }
        // Whether the last thing written was a separator (or nothing yet).
        let mut after_sep = true;
        for item in &self.items {
            match item {
                Item::Sep => {
                    if !after_sep {
                        out.push(b' ');
                        after_sep = true;
                    }
                }
                Item::Text(t) => {
                    out.extend_from_slice(t);
                    after_sep = false;
                }
                Item::Alias(a, f, _) => {
                    let before = out.len();
                    match f.encoding {
                        Some(e) => encode_value(e, false, &alias_value(*a, *f, v, clock), out),
                        None => alias(*a, *f, v, clock, out),
                    }
                    if out.len() != before {
                        after_sep = false;
                    }
                }
                Item::Sample(expr, f, _) => {
                    let before = out.len();
                    match f.encoding {
                        Some(e) => encode_value(e, false, &sample_value(expr, v), out),
                        None => sample(expr, *f, v, out),
                    }
                    if out.len() != before {
                        after_sep = false;
                    }
                }
            }
        }
    }

    /// `%{+json}o` / `%{+cbor}o`: one object (a JSON object, a CBOR map) of the named items;
    /// text and unnamed items are left out.
    fn render_object(
        &self,
        enc: Encoding,
        bin: bool,
        v: &View<'_>,
        clock: &mut Cache,
        out: &mut Vec<u8>,
    ) {
        let mut cbor = Vec::new();
        match enc {
            Encoding::Json => out.push(b'{'),
            Encoding::Cbor => cbor.push(0xBF),
        }
        let mut first = true;
        for item in &self.items {
            let (name, value) = match item {
                Item::Alias(a, f, Some(n)) => (n, alias_value(*a, *f, v, clock)),
                Item::Sample(e, _, Some(n)) => (n, sample_value(e, v)),
                _ => continue,
            };
            match enc {
                Encoding::Json => {
                    if !first {
                        out.push(b',');
                    }
                    json_string(out, name.as_bytes());
                    out.push(b':');
                    encode_value(enc, bin, &value, out);
                }
                Encoding::Cbor => {
                    cbor_head(&mut cbor, 3, name.len() as u64);
                    cbor.extend_from_slice(name.as_bytes());
                    cbor_value(&mut cbor, &value);
                }
            }
            first = false;
        }
        match enc {
            Encoding::Json => out.push(b'}'),
            Encoding::Cbor => {
                cbor.push(0xFF);
                if bin {
                    out.extend_from_slice(&cbor);
                } else {
                    hex_upper(out, &cbor);
                }
            }
        }
    }
}

/// A log value before encoding.
enum Val {
    Missing,
    Int(i64),
    Bool(bool),
    Text(Vec<u8>),
    Bytes(Vec<u8>),
}

fn sample_value(expr: &SampleExpr, v: &View<'_>) -> Val {
    use sluice_rules::sample::Value;
    let Some(src) = v.samples else {
        return Val::Missing;
    };
    match expr.eval(src) {
        None => Val::Missing,
        Some(Value::Sint(n)) => Val::Int(n),
        Some(Value::Bool(b)) => Val::Bool(b),
        Some(val) => {
            let binary = val.kind() == sluice_rules::sample::SampleType::Bin;
            let mut b = Vec::new();
            val.write_to(&mut b);
            if binary {
                Val::Bytes(b)
            } else {
                Val::Text(b)
            }
        }
    }
}

/// An alias as a value: a number when it prints one, else its text.
fn alias_value(a: Alias, f: Flags, v: &View<'_>, clock: &mut Cache) -> Val {
    let mut b = Vec::new();
    let plain = Flags {
        quote: false,
        escape: false,
        encoding: None,
        ..f
    };
    alias(a, plain, v, clock, &mut b);
    if b == b"-" {
        return Val::Missing;
    }
    match std::str::from_utf8(&b)
        .ok()
        .and_then(|t| t.parse::<i64>().ok())
    {
        Some(n) if !b.starts_with(b"+") => Val::Int(n),
        _ => Val::Text(b),
    }
}

fn encode_value(enc: Encoding, bin: bool, val: &Val, out: &mut Vec<u8>) {
    match enc {
        Encoding::Json => match val {
            Val::Missing => out.extend_from_slice(b"null"),
            Val::Int(n) => int(out, *n),
            Val::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Val::Text(t) | Val::Bytes(t) => json_string(out, t),
        },
        Encoding::Cbor => {
            let mut c = Vec::new();
            cbor_value(&mut c, val);
            if bin {
                out.extend_from_slice(&c);
            } else {
                hex_upper(out, &c);
            }
        }
    }
}

/// A JSON string. Every byte outside 32..126 is escaped on its own (`\u00XX`, or the short
/// forms), so that the output is plain ASCII whatever the logged bytes were.
fn json_string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            32..=126 => out.push(c),
            _ => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[(c >> 4) as usize]);
                out.push(HEX[(c & 15) as usize]);
            }
        }
    }
    out.push(b'"');
}

/// A CBOR item head: major type and argument.
fn cbor_head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    match n {
        0..=23 => out.push(m | n as u8),
        24..=0xFF => out.extend_from_slice(&[m | 24, n as u8]),
        0x100..=0xFFFF => {
            out.push(m | 25);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        0x1_0000..=0xFFFF_FFFF => {
            out.push(m | 26);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
        _ => {
            out.push(m | 27);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

/// A CBOR value: text strings keep their bytes as they are, binary samples become an
/// indefinite-length byte string.
fn cbor_value(out: &mut Vec<u8>, val: &Val) {
    match val {
        Val::Missing => out.push(0xF6),
        Val::Bool(b) => out.push(if *b { 0xF5 } else { 0xF4 }),
        Val::Int(n) if *n >= 0 => cbor_head(out, 0, *n as u64),
        Val::Int(n) => cbor_head(out, 1, (-1 - *n) as u64),
        Val::Text(t) => {
            cbor_head(out, 3, t.len() as u64);
            out.extend_from_slice(t);
        }
        Val::Bytes(b) => {
            out.push(0x5F);
            cbor_head(out, 2, b.len() as u64);
            out.extend_from_slice(b);
            out.push(0xFF);
        }
    }
}

fn hex_upper(out: &mut Vec<u8>, b: &[u8]) {
    for &c in b {
        out.push(HEX[(c >> 4) as usize]);
        out.push(HEX[(c & 15) as usize]);
    }
}

/// The request line split into its parts (as received, URI truncated by HAProxy's
/// `tune.http.logurilen` is not applied).
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestLine<'a> {
    pub line: &'a [u8],
    pub method: &'a [u8],
    pub uri: &'a [u8],
    pub version: &'a [u8],
}

impl<'a> RequestLine<'a> {
    /// Splits `GET /x HTTP/1.1` (without the line end).
    pub fn split(line: &'a [u8]) -> RequestLine<'a> {
        let line = line
            .strip_suffix(b"\r\n")
            .or_else(|| line.strip_suffix(b"\n"))
            .unwrap_or(line);
        let first = line.iter().position(|&c| c == b' ').unwrap_or(line.len());
        let last = line.iter().rposition(|&c| c == b' ').unwrap_or(line.len());
        let method = line.get(..first).unwrap_or_default();
        let (uri, version) = if last > first {
            (
                line.get(first + 1..last).unwrap_or_default(),
                line.get(last + 1..).unwrap_or_default(),
            )
        } else {
            (line.get(first + 1..).unwrap_or_default(), &b""[..])
        };
        RequestLine {
            line,
            method,
            uri,
            version,
        }
    }
}

/// Header and cookie captures of a frontend (`capture request header`...).
#[derive(Clone, Debug, Default)]
pub struct Captures {
    pub request: Vec<(String, usize)>,
    pub response: Vec<(String, usize)>,
    pub cookie: Option<(String, usize)>,
}

/// Heads kept for the line (parsed again from copies made while the stream ran).
pub trait Heads {
    /// The last value of request header `name`.
    fn request_header(&self, name: &str) -> Option<&[u8]>;
    fn response_header(&self, name: &str) -> Option<&[u8]>;
    /// Every value of a header (for cookie captures).
    fn request_headers(&self, name: &str, each: &mut dyn FnMut(&[u8]) -> bool);
    fn response_headers(&self, name: &str, each: &mut dyn FnMut(&[u8]) -> bool);
}

/// No heads (TCP streams, tests).
pub struct NoHeads;

impl Heads for NoHeads {
    fn request_header(&self, _: &str) -> Option<&[u8]> {
        None
    }
    fn response_header(&self, _: &str) -> Option<&[u8]> {
        None
    }
    fn request_headers(&self, _: &str, _: &mut dyn FnMut(&[u8]) -> bool) {}
    fn response_headers(&self, _: &str, _: &mut dyn FnMut(&[u8]) -> bool) {}
}

/// Everything a line reads, resolved by the caller.
pub struct View<'a> {
    pub rec: &'a Record,
    /// Every capture slot, when rules fill some (`%hr`/`%hs` print them instead of the
    /// `capture ... header` values read from the heads).
    pub slots: Option<&'a super::CaptureCopy>,
    /// When the stream ended.
    pub end: Instant,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub frontend: &'a str,
    pub backend: Option<&'a str>,
    pub server: Option<&'a str>,
    pub server_addr: Option<SocketAddr>,
    pub request: Option<RequestLine<'a>>,
    pub heads: &'a dyn Heads,
    pub captures: &'a Captures,
    pub samples: Option<&'a dyn SampleSource>,
    pub actconn: u32,
    pub feconn: u32,
    pub beconn: u32,
    pub srvconn: u32,
    pub log_counter: u64,
    pub request_counter: u64,
    pub hostname: &'a str,
    pub pid: u32,
    pub unique_id: Option<&'a [u8]>,
    /// `option logasap`: the line is written before the stream ends, so the total time and
    /// the byte count are partial and printed with a `+`.
    pub asap: bool,
    /// What `%OG` prints: the step the line is written at.
    pub origin: &'static str,
}

/// Encoding maps of section 8.6.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Map {
    /// Non-printable characters only.
    Plain,
    /// Request line: also `"` and `#`.
    Url,
    /// Captured headers: also `{`, `|`, `}`.
    Header,
}

fn needs_escape(c: u8, map: Map) -> bool {
    if !(32..127).contains(&c) {
        return true;
    }
    match map {
        Map::Plain => false,
        Map::Url => c == b'"' || c == b'#',
        Map::Header => matches!(c, b'"' | b'#' | b'{' | b'|' | b'}'),
    }
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn encode(out: &mut Vec<u8>, s: &[u8], map: Map, f: Flags) {
    for &c in s {
        if needs_escape(c, map) {
            out.push(b'#');
            out.push(HEX[(c >> 4) as usize]);
            out.push(HEX[(c & 15) as usize]);
        } else if f.escape && matches!(c, b'"' | b'\\' | b']') {
            out.push(b'\\');
            out.push(c);
        } else {
            out.push(c);
        }
    }
}

/// RFC 5424 structured-data escaping (`E`): a backslash before `"`, `\\` and `]`.
fn escape_sd(out: &mut Vec<u8>, s: &[u8]) {
    for &c in s {
        if matches!(c, b'"' | b'\\' | b']') {
            out.push(b'\\');
        }
        out.push(c);
    }
}

/// A string field: quoted with `Q`, `-` when missing or empty.
fn text(out: &mut Vec<u8>, s: Option<&[u8]>, map: Map, f: Flags) {
    if f.quote {
        out.push(b'"');
    }
    match s {
        Some(s) if !s.is_empty() => encode(out, s, map, f),
        _ => out.push(b'-'),
    }
    if f.quote {
        out.push(b'"');
    }
}

/// A number that is not final yet (`option logasap`): `+` first.
fn partial(out: &mut Vec<u8>, asap: bool, v: i64) {
    if asap {
        out.push(b'+');
    }
    int(out, v);
}

fn int(out: &mut Vec<u8>, v: i64) {
    let _ = write!(out, "{v}");
}

fn ip(out: &mut Vec<u8>, a: Option<IpAddr>, f: Flags) {
    match a {
        Some(IpAddr::V4(v4)) if f.hex => {
            let _ = write!(out, "{:08X}", u32::from(v4));
        }
        Some(IpAddr::V6(v6)) if f.hex => {
            let _ = write!(out, "{:032X}", u128::from(v6));
        }
        Some(a) => {
            // IPv4-mapped client addresses print as IPv4, as HAProxy's do.
            let a = match a {
                IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
                v4 => v4,
            };
            let mut b = [0u8; 48];
            let n = {
                let mut c = std::io::Cursor::new(&mut b[..]);
                let _ = write!(c, "{a}");
                c.position() as usize
            };
            text(out, b.get(..n), Map::Plain, f);
        }
        None => text(out, None, Map::Plain, f),
    }
}

fn port(out: &mut Vec<u8>, p: Option<u16>, f: Flags) {
    match p {
        Some(p) if f.hex => {
            let _ = write!(out, "{p:04X}");
        }
        Some(p) => int(out, i64::from(p)),
        None => out.push(b'-'),
    }
}

fn ms(d: Option<std::time::Duration>) -> i64 {
    d.map_or(-1, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn between(a: Option<Instant>, b: Option<Instant>) -> Option<std::time::Duration> {
    Some(b?.saturating_duration_since(a?))
}

/// HAProxy's timers (section 8.4), in ms, `-1` when the stream never got there.
pub struct Timers {
    pub th: i64,
    pub ti: i64,
    pub tr_req: i64,
    pub tw: i64,
    pub tc: i64,
    pub tr: i64,
    pub ta: i64,
    pub tt: i64,
}

impl Timers {
    pub fn of(rec: &Record, end: Instant) -> Timers {
        let t = &rec.t;
        let th = ms(Some(t.handshake));
        let after_th = t.start + t.handshake;
        let first = t.first_byte.map(|f| f.max(after_th));
        let ti = if rec.http {
            ms(between(Some(after_th), first))
        } else {
            -1
        };
        let tr_req = ms(between(first, t.head_done));
        let tw = ms(t.queued);
        let tc = ms(between(t.connect_start, t.connected));
        let tr = ms(between(t.connected, t.response));
        let tt = ms(Some(end.saturating_duration_since(t.start)));
        let ta = if rec.http {
            ms(Some(
                end.saturating_duration_since(first.unwrap_or(after_th)),
            ))
        } else {
            tt
        };
        Timers {
            th,
            ti,
            tr_req,
            tw,
            tc,
            tr,
            ta,
            tt,
        }
    }

    /// `Td`: what is left of `Tt` once every known timer is taken away.
    pub fn td(&self, http: bool) -> i64 {
        let mut d = self.tt;
        let parts: &[i64] = if http {
            &[self.th, self.ti, self.tr_req, self.tw, self.tc, self.tr]
        } else {
            &[self.th, self.tw, self.tc]
        };
        for p in parts {
            if *p > 0 {
                d -= p;
            }
        }
        d.max(0)
    }
}

/// The termination state's two characters (section 8.5).
pub fn term_state(rec: &Record) -> [u8; 2] {
    use crate::error::{ErrorKind as K, Side};
    if let Some(t) = rec.term {
        return t;
    }
    let Some(e) = rec.error else {
        return *b"--";
    };
    let t = &rec.t;
    let phase = if rec.http && t.head_done.is_none() {
        b'R'
    } else if t.connected.is_none() {
        if t.queued.is_none() && t.connect_start.is_none() && rec.http {
            b'R'
        } else {
            b'C'
        }
    } else if rec.http && t.response.is_none() {
        b'H'
    } else {
        b'D'
    };
    let cause = match (e.kind, e.side) {
        (K::Timeout, Side::Client) => b'c',
        (K::Timeout, Side::Server) => b's',
        (K::Protocol, Side::Client) if phase == b'R' => b'P',
        (K::Protocol, Side::Server) if phase == b'H' => b'P',
        (K::Refused, _) => b'P',
        (_, Side::Client) => b'C',
        (_, Side::Server) | (K::NoServer, _) | (K::Connect, _) => b'S',
        (K::Timeout, Side::Internal) => b'c',
        _ => b'I',
    };
    [cause, phase]
}

/// The status of the line: the one recorded, else the error response Sluice sent for a
/// server-side failure before any response (503, 504, 502), else `-1` (none).
pub fn implied_status(rec: &Record) -> i64 {
    use crate::error::{ErrorKind as K, Side};
    if rec.status != 0 {
        return i64::from(rec.status);
    }
    match rec.error {
        Some(e) if rec.http && rec.t.response.is_none() => match (e.kind, e.side) {
            (K::NoServer | K::Connect, _) => 503,
            (K::Timeout, Side::Server) if e.retryable => 503,
            (K::Timeout, Side::Server) => 504,
            (_, Side::Server) => 502,
            _ => -1,
        },
        _ => -1,
    }
}

/// Whether the stream counts as an error (`option log-separate-errors`, `dontlog-normal`):
/// a termination cause other than none or a local answer (`L`: `http-request return`,
/// redirects), or a status of 500 and above, as HAProxy decides.
pub fn is_error(rec: &Record) -> bool {
    !matches!(term_state(rec)[0], b'-' | b'L') || implied_status(rec) >= 500
}

fn date(out: &mut Vec<u8>, at: SystemTime, local: bool, ms: bool, tz: bool, clock: &mut Cache) {
    let (secs, micros) = time::split(at);
    let tm = if local {
        clock.local(secs)
    } else {
        time::utc(secs)
    };
    time::clf_date(out, &tm);
    if ms {
        out.push(b'.');
        time::millis(out, micros);
    }
    if tz {
        out.push(b' ');
        time::offset(out, tm.gmtoff, false);
    }
}

/// The wall-clock date of the request (first byte; accept when none).
fn request_wall(rec: &Record) -> SystemTime {
    let t = &rec.t;
    match t.first_byte {
        Some(f) => match f.checked_duration_since(t.start) {
            Some(d) => t.start_wall + d,
            None => t.start_wall,
        },
        None => t.start_wall,
    }
}

/// `%hr`/`%hs` from the transaction's slots: `{a|b}`, or space-separated for `%hrl`.
fn slot_list(out: &mut Vec<u8>, slots: &[Option<Vec<u8>>], f: Flags, clf: bool) {
    if slots.is_empty() {
        return;
    }
    if clf {
        for (i, v) in slots.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            text(out, v.as_deref(), Map::Header, f);
        }
        return;
    }
    if f.quote {
        out.push(b'"');
    }
    out.push(b'{');
    for (i, v) in slots.iter().enumerate() {
        if i > 0 {
            out.push(b'|');
        }
        if let Some(v) = v {
            encode(out, v, Map::Header, f);
        }
    }
    out.push(b'}');
    if f.quote {
        out.push(b'"');
    }
}

fn capture_list(
    out: &mut Vec<u8>,
    caps: &[(String, usize)],
    heads: &dyn Heads,
    response: bool,
    f: Flags,
    clf: bool,
) {
    if caps.is_empty() {
        return;
    }
    if clf {
        for (i, (name, len)) in caps.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            let v = get(heads, response, name).map(|v| v.get(..(*len).min(v.len())).unwrap_or(v));
            text(out, v, Map::Header, f);
        }
        return;
    }
    if f.quote {
        out.push(b'"');
    }
    out.push(b'{');
    for (i, (name, len)) in caps.iter().enumerate() {
        if i > 0 {
            out.push(b'|');
        }
        if let Some(v) = get(heads, response, name) {
            encode(
                out,
                v.get(..(*len).min(v.len())).unwrap_or(v),
                Map::Header,
                f,
            );
        }
    }
    out.push(b'}');
    if f.quote {
        out.push(b'"');
    }
}

fn get<'h>(heads: &'h dyn Heads, response: bool, name: &str) -> Option<&'h [u8]> {
    if response {
        heads.response_header(name)
    } else {
        heads.request_header(name)
    }
}

/// The first `name=value` of a cookie whose name starts with the captured name, from
/// `Cookie` (request) or `Set-Cookie` (response).
fn cookie<'a>(v: &View<'a>, response: bool) -> Option<Vec<u8>> {
    let (name, len) = v.captures.cookie.as_ref()?;
    let mut found: Option<Vec<u8>> = None;
    let mut each = |value: &[u8]| -> bool {
        let parts: Box<dyn Iterator<Item = &[u8]>> = if response {
            Box::new(value.split(|&c| c == b';').take(1))
        } else {
            Box::new(value.split(|&c| c == b';'))
        };
        for part in parts {
            let part = part.trim_ascii();
            if part.starts_with(name.as_bytes()) && part.contains(&b'=') {
                found = Some(part.get(..(*len).min(part.len())).unwrap_or(part).to_vec());
                return false;
            }
        }
        true
    };
    if response {
        v.heads.response_headers("set-cookie", &mut each);
    } else {
        v.heads.request_headers("cookie", &mut each);
    }
    found
}

fn alias(a: Alias, f: Flags, v: &View<'_>, clock: &mut Cache, out: &mut Vec<u8>) {
    let rec = v.rec;
    let timers = || Timers::of(rec, v.end);
    let req = v.request;
    match a {
        Alias::O => {}
        Alias::DateUtc => date(out, rec.t.start_wall, false, false, true, clock),
        Alias::DateLocalTz => date(out, rec.t.start_wall, true, false, true, clock),
        Alias::DateLocal => date(out, rec.t.start_wall, true, true, false, clock),
        Alias::Ts => {
            let (s, _) = time::split(rec.t.start_wall);
            if f.hex {
                let _ = write!(out, "{s:08X}");
            } else {
                int(out, s);
            }
        }
        Alias::Ms => {
            let (_, micros) = time::split(rec.t.start_wall);
            time::millis(out, micros);
        }
        Alias::ReqDate => date(out, request_wall(rec), true, true, false, clock),
        Alias::ReqDateUtc => date(out, request_wall(rec), false, false, true, clock),
        Alias::ReqDateLocalTz => date(out, request_wall(rec), true, false, true, clock),
        Alias::Ta => partial(out, v.asap, timers().ta),
        Alias::Tc => int(out, timers().tc),
        Alias::Td => int(out, timers().td(rec.http)),
        Alias::Th => int(out, timers().th),
        Alias::Ti => int(out, timers().ti),
        Alias::Tq => {
            let t = timers();
            let q = if t.th < 0 || t.ti < 0 || t.tr_req < 0 {
                -1
            } else {
                t.th + t.ti + t.tr_req
            };
            int(out, q)
        }
        Alias::TR => int(out, timers().tr_req),
        Alias::Tr => int(out, timers().tr),
        Alias::Tt => partial(out, v.asap, timers().tt),
        Alias::Tu => {
            let t = timers();
            int(out, t.tt - t.ti.max(0))
        }
        Alias::Tw => int(out, timers().tw),
        Alias::BytesOut => partial(out, v.asap, i64::try_from(v.bytes_out).unwrap_or(i64::MAX)),
        Alias::BytesIn => int(out, i64::try_from(v.bytes_in).unwrap_or(i64::MAX)),
        Alias::ReqCookie | Alias::ResCookie => {
            let c = cookie(v, a == Alias::ResCookie);
            text(out, c.as_deref(), Map::Header, f)
        }
        Alias::Hostname => text(out, Some(v.hostname.as_bytes()), Map::Plain, f),
        Alias::Method => text(out, req.map(|r| r.method), Map::Url, f),
        Alias::Uri => text(out, req.map(|r| r.uri), Map::Url, f),
        Alias::Path => {
            let p = req.map(|r| {
                let q = r.uri.iter().position(|&c| c == b'?').unwrap_or(r.uri.len());
                r.uri.get(..q).unwrap_or(r.uri)
            });
            text(out, p, Map::Url, f)
        }
        Alias::PathOnly => {
            let p = req.map(|r| {
                let q = r.uri.iter().position(|&c| c == b'?').unwrap_or(r.uri.len());
                let p = r.uri.get(..q).unwrap_or(r.uri);
                // Absolute form: drop the scheme and authority.
                match p.windows(3).position(|w| w == b"://") {
                    Some(s) => {
                        let rest = p.get(s + 3..).unwrap_or_default();
                        let slash = rest.iter().position(|&c| c == b'/').unwrap_or(rest.len());
                        rest.get(slash..).unwrap_or_default()
                    }
                    None => p,
                }
            });
            text(out, p, Map::Url, f)
        }
        Alias::Query => {
            let q = req.and_then(|r| {
                let i = r.uri.iter().position(|&c| c == b'?')?;
                r.uri.get(i..)
            });
            text(out, q, Map::Url, f)
        }
        Alias::Version => text(out, req.map(|r| r.version), Map::Url, f),
        Alias::Request => match req {
            Some(r) => text(out, Some(r.line), Map::Url, f),
            None => text(out, Some(b"<BADREQ>"), Map::Plain, f),
        },
        Alias::UniqueId => text(out, v.unique_id, Map::Plain, f),
        Alias::Status => int(out, implied_status(rec)),
        Alias::ActConn => int(out, i64::from(v.actconn)),
        Alias::FeConn => int(out, i64::from(v.feconn)),
        Alias::BeConn => int(out, i64::from(v.beconn)),
        Alias::SrvConn => int(out, i64::from(v.srvconn)),
        Alias::Backend => text(
            out,
            Some(v.backend.unwrap_or(v.frontend).as_bytes()),
            Map::Plain,
            f,
        ),
        Alias::Frontend | Alias::FrontendTransport => {
            text(out, Some(v.frontend.as_bytes()), Map::Plain, f)
        }
        Alias::Server => text(
            out,
            Some(v.server.unwrap_or("<NOSRV>").as_bytes()),
            Map::Plain,
            f,
        ),
        Alias::BackendIp => ip(out, None, f),
        Alias::BackendPort => port(out, None, f),
        Alias::ServerIp => ip(out, v.server_addr.map(|a| a.ip()), f),
        Alias::ServerPort => port(out, v.server_addr.map(|a| a.port()), f),
        Alias::ClientIp => match rec.client {
            Some(a) => ip(out, Some(a.ip()), f),
            None => text(out, Some(b"unix"), Map::Plain, f),
        },
        Alias::ClientPort => port(out, rec.client.map(|a| a.port()), f),
        Alias::FrontendIp => match rec.local {
            Some(a) => ip(out, Some(a.ip()), f),
            None => text(out, Some(b"unix"), Map::Plain, f),
        },
        Alias::FrontendPort => port(out, rec.local.map(|a| a.port()), f),
        Alias::SrvQueue => int(out, i64::from(rec.srv_queue)),
        Alias::BeQueue => int(out, i64::from(rec.be_queue)),
        Alias::LogCounter => int(out, i64::try_from(v.log_counter).unwrap_or(0)),
        Alias::RequestCounter => {
            if f.hex {
                let _ = write!(out, "{:04X}", v.request_counter);
            } else {
                int(out, i64::try_from(v.request_counter).unwrap_or(0));
            }
        }
        Alias::Pid => {
            if f.hex {
                let _ = write!(out, "{:04X}", v.pid);
            } else {
                int(out, i64::from(v.pid));
            }
        }
        Alias::ReqHeaders | Alias::ReqHeadersList => match v.slots {
            Some(s) => slot_list(out, &s.request, f, a == Alias::ReqHeadersList),
            None => capture_list(
                out,
                &v.captures.request,
                v.heads,
                false,
                f,
                a == Alias::ReqHeadersList,
            ),
        },
        Alias::ResHeaders | Alias::ResHeadersList => match v.slots {
            Some(s) => slot_list(out, &s.response, f, a == Alias::ResHeadersList),
            None => capture_list(
                out,
                &v.captures.response,
                v.heads,
                true,
                f,
                a == Alias::ResHeadersList,
            ),
        },
        Alias::Origin => text(out, Some(v.origin.as_bytes()), Map::Plain, f),
        Alias::Retries => {
            if rec.redispatched {
                out.push(b'+');
            }
            int(out, i64::from(rec.retries));
        }
        Alias::SslCipher | Alias::SslVersion => text(out, None, Map::Plain, f),
        Alias::Term | Alias::TermCookie => {
            if f.quote {
                out.push(b'"');
            }
            out.extend_from_slice(&term_state(rec));
            if a == Alias::TermCookie {
                out.extend_from_slice(&rec.cookie.unwrap_or(*b"--"));
            }
            if f.quote {
                out.push(b'"');
            }
        }
    }
}

fn sample(expr: &SampleExpr, f: Flags, v: &View<'_>, out: &mut Vec<u8>) {
    let Some(src) = v.samples else {
        return text(out, None, Map::Plain, f);
    };
    let at = out.len();
    let value = expr.eval(src);
    match value {
        Some(val) => {
            if f.quote {
                out.push(b'"');
            }
            let start = out.len();
            val.write_to(out);
            // A sample is logged as it is (section 8.6 encodes only the request line and
            // captured headers); `E` escapes what RFC 5424 structured data forbids.
            let needs = f.escape
                && out
                    .get(start..)
                    .is_some_and(|s| s.iter().any(|c| matches!(c, b'"' | b'\\' | b']')));
            if needs {
                let raw: Vec<u8> = out.get(start..).unwrap_or_default().to_vec();
                out.truncate(start);
                escape_sd(out, &raw);
            }
            if out.len() == start {
                out.push(b'-');
            }
            if f.quote {
                out.push(b'"');
            }
        }
        None => {
            out.truncate(at);
            text(out, None, Map::Plain, f)
        }
    }
}

#[cfg(test)]
mod tests;

/// Whether a sample expression reads the stream's tracked entries: a fetch named `sc_...`
/// or `scN_...` (N a digit).
fn reads_trackers(expr: &str) -> bool {
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|w| {
            let b = w.as_bytes();
            w.starts_with("sc_")
                || (b.len() > 3 && b[..2] == *b"sc" && b[2].is_ascii_digit() && b[3] == b'_')
        })
}
