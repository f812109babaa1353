//! Log-format strings as rule arguments take them (`X-Client-IP %[src]`,
//! `%[req.hdr(host),lower]`, `%ci:%cp`): compiled once into literal text, sample expressions
//! and aliases, rendered per request into a caller's buffer.
//!
//! Only the aliases rule values need are here; full log lines belong to the logging code.

use crate::problem::Problem;
use crate::sample::{Place, SampleExpr};
use crate::{Env, SampleSource};
use std::io::Write;

/// The `%<alias>` fields supported in rule values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alias {
    /// `%ci`: client address.
    ClientIp,
    /// `%cp`: client port.
    ClientPort,
    /// `%fi`: frontend (local) address.
    FrontendIp,
    /// `%fp`: frontend port.
    FrontendPort,
    /// `%f`: frontend name.
    Frontend,
    /// `%b`: backend name.
    Backend,
    /// `%s`: server name.
    Server,
    /// `%ST`: response status.
    Status,
    /// `%H`: host name.
    Hostname,
    /// `%ID`: unique id.
    UniqueId,
    /// `%HM`: method.
    Method,
    /// `%HU`: request target.
    Uri,
    /// `%HP`: path.
    Path,
    /// `%HQ`: query string with its `?`.
    Query,
    /// `%HV`: version.
    Version,
    /// `%r`: request line.
    RequestLine,
    /// `%pid`: process id.
    Pid,
    /// `%Ts`: Unix time in seconds.
    Timestamp,
}

/// Aliases by name, longest first so that `%HM` is not read as `%H` then `M`.
const ALIASES: &[(&str, Alias)] = &[
    ("pid", Alias::Pid),
    ("ci", Alias::ClientIp),
    ("cp", Alias::ClientPort),
    ("fi", Alias::FrontendIp),
    ("fp", Alias::FrontendPort),
    ("ST", Alias::Status),
    ("ID", Alias::UniqueId),
    ("HM", Alias::Method),
    ("HU", Alias::Uri),
    ("HP", Alias::Path),
    ("HQ", Alias::Query),
    ("HV", Alias::Version),
    ("Ts", Alias::Timestamp),
    ("H", Alias::Hostname),
    ("f", Alias::Frontend),
    ("b", Alias::Backend),
    ("s", Alias::Server),
    ("r", Alias::RequestLine),
];

#[derive(Debug)]
enum Node {
    Text(Box<[u8]>),
    Expr { expr: SampleExpr, quote: bool },
    Alias { alias: Alias, quote: bool },
}

/// A compiled log-format string.
#[derive(Debug)]
pub struct LogFormat {
    nodes: Vec<Node>,
}

/// Literal text of a format, as the bytes the configuration wrote (`\xE0` included, see
/// `sluice_config::raw`).
fn text_node(lit: Vec<u8>) -> Node {
    Node::Text(sluice_config::raw::bytes_of_utf8(&lit).into_owned().into())
}

impl LogFormat {
    /// Compiles `text` for `place`. Errors name the part that is wrong.
    pub(crate) fn compile(text: &str, place: Place, env: &mut Env<'_>) -> Result<Self, Problem> {
        let mut nodes = Vec::new();
        let mut lit = Vec::new();
        let bytes = text.as_bytes();
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            if b != b'%' {
                lit.push(b);
                i += 1;
                continue;
            }
            if bytes.get(i + 1) == Some(&b'%') {
                lit.push(b'%');
                i += 2;
                continue;
            }
            i += 1;
            let mut quote = false;
            if bytes.get(i) == Some(&b'{') {
                let close = text.get(i..).and_then(|r| r.find('}')).ok_or_else(|| {
                    Problem::syntax(format!("missing '}}' in log-format '{text}'"))
                })?;
                let flags = text.get(i + 1..i + close).unwrap_or("");
                quote = flags.split(',').any(|f| f == "+Q");
                i += close + 1;
            }
            // `%{...}o`: options for the whole format, nothing printed.
            if bytes.get(i) == Some(&b'o')
                && !bytes.get(i + 1).is_some_and(|b| b.is_ascii_alphanumeric())
            {
                i += 1;
                // HAProxy prints no separator before the first field: `%{+X}o TEXT` is TEXT.
                if nodes.is_empty() && lit.is_empty() {
                    while bytes.get(i) == Some(&b' ') {
                        i += 1;
                    }
                }
                continue;
            }
            if !lit.is_empty() {
                nodes.push(text_node(std::mem::take(&mut lit)));
            }
            if bytes.get(i) == Some(&b'[') {
                let end = expr_end(bytes, i + 1).ok_or_else(|| {
                    Problem::syntax(format!("missing ']' after '%[' in log-format '{text}'"))
                })?;
                let inner = text.get(i + 1..end).unwrap_or("");
                let expr = SampleExpr::compile(inner.trim(), place, env).map_err(|p| {
                    p.context(&format!("failed to parse sample expression '{inner}': "))
                })?;
                nodes.push(Node::Expr { expr, quote });
                i = end + 1;
                continue;
            }
            let rest = text.get(i..).unwrap_or("");
            let (name, alias) = ALIASES
                .iter()
                .find(|(n, _)| rest.starts_with(n))
                .ok_or_else(|| {
                    let word: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
                    // HAProxy's aliases outnumber Sluice's: a compatibility gap, not a typo.
                    Problem::new(
                        sluice_config::Category::Compatibility,
                        Some("not-implemented-refused"),
                        format!("log-format alias '%{word}' is not supported by Sluice in rule values"),
                    )
                    .with_help("use %[expr] with a sample fetch, or one of %ci, %cp, %fi, %fp, %f, %b, %s, %ST, %H, %ID, %HM, %HU, %HP, %HQ, %HV, %r, %pid, %Ts")
                })?;
            nodes.push(Node::Alias {
                alias: *alias,
                quote,
            });
            i += name.len();
        }
        if !lit.is_empty() {
            nodes.push(text_node(lit));
        }
        Ok(Self { nodes })
    }

    /// Whether the format is constant text (no field).
    pub fn as_literal(&self) -> Option<&[u8]> {
        match self.nodes.as_slice() {
            [] => Some(b""),
            [Node::Text(t)] => Some(t),
            _ => None,
        }
    }

    /// Renders into `out` (cleared first). A missing sample prints nothing: in rule
    /// arguments (header values, reply bodies, redirect targets) HAProxy leaves it out, the
    /// `-` is only for log lines (the data plane's own formatter).
    pub fn render(&self, src: &dyn SampleSource, out: &mut Vec<u8>) {
        out.clear();
        for node in &self.nodes {
            match node {
                Node::Text(t) => out.extend_from_slice(t),
                Node::Expr { expr, quote } => {
                    if *quote {
                        out.push(b'"');
                    }
                    if let Some(v) = expr.eval(src) {
                        v.write_to(out);
                    }
                    if *quote {
                        out.push(b'"');
                    }
                }
                Node::Alias { alias, quote } => {
                    if *quote {
                        out.push(b'"');
                    }
                    render_alias(*alias, src, out);
                    if *quote {
                        out.push(b'"');
                    }
                }
            }
        }
    }
}

/// Finds the `]` closing a `%[...]` expression that starts at `from`, skipping quoted text
/// and nested brackets. Shared with the log-line formats of the data plane.
pub fn expr_end(bytes: &[u8], from: usize) -> Option<usize> {
    let mut depth = 0u32;
    let mut quote: Option<u8> = None;
    let mut i = from;
    while let Some(&b) = bytes.get(i) {
        match (quote, b) {
            (Some(q), b) if b == q => quote = None,
            (Some(_), b'\\') => i += 1,
            (Some(_), _) => {}
            (None, b'\'' | b'"') => quote = Some(b),
            (None, b'\\') => i += 1,
            (None, b'[') => depth += 1,
            (None, b']') if depth == 0 => return Some(i),
            (None, b']') => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

fn render_alias(alias: Alias, src: &dyn SampleSource, out: &mut Vec<u8>) {
    let conn = src.connection();
    let req = src.request();
    let dash = |out: &mut Vec<u8>| out.push(b'-');
    match alias {
        Alias::ClientIp => match conn.src() {
            Some(a) => crate::text::push_ip(out, a.ip()),
            None => dash(out),
        },
        Alias::ClientPort => match conn.src() {
            Some(a) => crate::text::push_int(out, a.port()),
            None => dash(out),
        },
        Alias::FrontendIp => match conn.dst() {
            Some(a) => crate::text::push_ip(out, a.ip()),
            None => dash(out),
        },
        Alias::FrontendPort => match conn.dst() {
            Some(a) => crate::text::push_int(out, a.port()),
            None => dash(out),
        },
        Alias::Frontend => out.extend_from_slice(conn.frontend_name().as_bytes()),
        Alias::Backend => out.extend_from_slice(conn.backend_name().unwrap_or("-").as_bytes()),
        Alias::Server => out.extend_from_slice(conn.server_name().unwrap_or("-").as_bytes()),
        Alias::Status => match src.response() {
            Some(r) => drop(write!(out, "{}", r.status())),
            None => dash(out),
        },
        Alias::Hostname => out.extend_from_slice(crate::host::hostname().unwrap_or("").as_bytes()),
        Alias::UniqueId => out.extend_from_slice(crate::unique_id::of(src).unwrap_or(b"-")),
        Alias::Method => out.extend_from_slice(req.map_or(&b"-"[..], |r| r.method())),
        Alias::Uri => out.extend_from_slice(req.map_or(&b"-"[..], |r| r.uri())),
        Alias::Path => out
            .extend_from_slice(req.map_or(&b"-"[..], |r| crate::sample::fetch::uri_path(r.uri()))),
        Alias::Query => {
            if let Some(q) = req.and_then(|r| crate::sample::fetch::uri_query(r.uri())) {
                out.push(b'?');
                out.extend_from_slice(q);
            }
        }
        Alias::Version => out.extend_from_slice(req.map_or(&b"-"[..], |r| r.version())),
        Alias::RequestLine => match req {
            Some(r) => {
                out.extend_from_slice(r.method());
                out.push(b' ');
                out.extend_from_slice(r.uri());
                out.push(b' ');
                out.extend_from_slice(r.version());
            }
            None => dash(out),
        },
        Alias::Pid => drop(write!(out, "{}", std::process::id())),
        Alias::Timestamp => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            drop(write!(out, "{now}"))
        }
    }
}
