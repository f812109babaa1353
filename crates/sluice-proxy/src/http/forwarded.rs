//! `option forwarded`: the RFC 7239 `Forwarded` header a backend adds to the requests it
//! sends, with the parameters the line asks for (`proto`, `host`, `by`, `for`, each from
//! the stream or from a sample expression).

use sluice_model::{Model, Proxy};
use sluice_rules::message::{HttpMessage, SampleSource};
use sluice_rules::sample::rfc7239::{self, NodeText};
use sluice_rules::sample::Place;
use sluice_rules::{SampleExpr, Value};
use std::io::Write;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// Where a parameter's value comes from.
#[derive(Debug)]
enum Source {
    /// From the stream (the `Host` header, an address, a port).
    Stream,
    /// From a sample expression (`host-expr`, `for-expr`...).
    Expr(SampleExpr),
}

/// The `by` or `for` parameter: a node name and, when asked for, a port.
#[derive(Debug)]
struct Node {
    name: Source,
    port: Option<Source>,
}

/// What `option forwarded` of a backend asks for.
#[derive(Debug)]
pub struct Forwarded {
    proto: bool,
    host: Option<Source>,
    by: Option<Node>,
    for_: Option<Node>,
}

/// What the header is made from, besides the request and the expressions.
pub struct ForwardedIn {
    /// The client connection is TLS (`proto=https`).
    pub tls: bool,
    /// The client's address, after the rules (`for`).
    pub src: Option<SocketAddr>,
    /// The address the client reached, after the rules (`by`).
    pub dst: Option<SocketAddr>,
}

impl Forwarded {
    /// The backend's `option forwarded`, if on; `Err` when an expression does not compile.
    pub fn of(model: &Model, proxy: &Proxy) -> Result<Option<Forwarded>, String> {
        if !proxy.kind.is_backend() {
            // HAProxy ignores the option in frontends.
            return Ok(None);
        }
        let Some(option) = proxy.option("forwarded") else {
            return Ok(None);
        };
        let expr = |text: Option<&String>, word: &str| -> Result<Source, String> {
            let text = text.ok_or_else(|| format!("'{word}' expects a sample expression"))?;
            sluice_rules::compile_sample(model, proxy, text, Place::HttpRequest)
                .map(Source::Expr)
                .map_err(|e| format!("'option forwarded {word}': {e}"))
        };
        // Without arguments: `proto for`.
        if option.args.is_empty() {
            return Ok(Some(Forwarded {
                proto: true,
                host: None,
                by: None,
                for_: Some(Node {
                    name: Source::Stream,
                    port: None,
                }),
            }));
        }
        let mut f = Forwarded {
            proto: false,
            host: None,
            by: None,
            for_: None,
        };
        let (mut by_port, mut for_port) = (None, None);
        let mut args = option.args.iter();
        while let Some(word) = args.next() {
            match word.as_str() {
                "proto" => f.proto = true,
                "host" => f.host = Some(Source::Stream),
                "host-expr" => f.host = Some(expr(args.next(), word)?),
                "by" => f.by = Some(node(Source::Stream)),
                "by-expr" => f.by = Some(node(expr(args.next(), word)?)),
                "by_port" => by_port = Some(Source::Stream),
                "by_port-expr" => by_port = Some(expr(args.next(), word)?),
                "for" => f.for_ = Some(node(Source::Stream)),
                "for-expr" => f.for_ = Some(node(expr(args.next(), word)?)),
                "for_port" => for_port = Some(Source::Stream),
                "for_port-expr" => for_port = Some(expr(args.next(), word)?),
                other => return Err(format!("'option forwarded': unknown parameter '{other}'")),
            }
        }
        // A port without its node is ignored, as HAProxy does.
        if let Some(by) = f.by.as_mut() {
            by.port = by_port;
        }
        if let Some(for_) = f.for_.as_mut() {
            for_.port = for_port;
        }
        Ok(Some(f))
    }

    /// The element this request gets (`proto=http;for=127.0.0.1`).
    pub fn value(
        &self,
        src: &dyn SampleSource,
        msg: &dyn HttpMessage,
        io: &ForwardedIn,
    ) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        let sep = |out: &mut Vec<u8>| {
            if !out.is_empty() {
                out.push(b';');
            }
        };
        if self.proto {
            out.extend_from_slice(if io.tls {
                b"proto=https"
            } else {
                b"proto=http"
            });
        }
        if let Some(host) = &self.host {
            sep(&mut out);
            // Always quoted, so that any valid host can be written.
            out.extend_from_slice(b"host=\"");
            let value = match host {
                Source::Stream => msg
                    .find_header(b"host", 0)
                    .and_then(|i| msg.header(i))
                    .map(|(_, v)| v.to_vec()),
                Source::Expr(e) => e.eval(src).map(|v| {
                    let mut text = Vec::new();
                    v.write_to(&mut text);
                    text
                }),
            };
            if let Some(v) = value.filter(|v| rfc7239::is_valid_host(v)) {
                out.extend_from_slice(&v);
            }
            out.push(b'"');
        }
        if let Some(by) = &self.by {
            sep(&mut out);
            out.extend_from_slice(b"by=");
            write_node(&mut out, by, src, io.dst);
        }
        if let Some(for_) = &self.for_ {
            sep(&mut out);
            out.extend_from_slice(b"for=");
            write_node(&mut out, for_, src, io.src);
        }
        out
    }
}

fn node(name: Source) -> Node {
    Node { name, port: None }
}

/// Writes a node: `127.0.0.1`, `"[::1]"`, `"127.0.0.1:8080"`, `_name`, or `unknown` when
/// nothing valid is known. A node with a port is quoted.
fn write_node(out: &mut Vec<u8>, node: &Node, src: &dyn SampleSource, addr: Option<SocketAddr>) {
    let start = out.len();
    let quoted = node.port.is_some();
    if quoted {
        out.push(b'"');
    }
    let name_at = out.len();
    match &node.name {
        Source::Stream => match addr.map(|a| a.ip()) {
            Some(IpAddr::V4(ip)) => sluice_rules::text::push_ipv4(out, ip),
            Some(IpAddr::V6(ip)) => write_ipv6(out, ip, quoted),
            None => {}
        },
        Source::Expr(e) => match e.eval(src) {
            Some(Value::Ip(IpAddr::V6(ip))) => write_ipv6(out, ip, quoted),
            Some(v) => {
                let mut text = Vec::new();
                v.write_to(&mut text);
                write_text(out, &text, rfc7239::node_name_text(&text), quoted);
            }
            None => {}
        },
    }
    if out.len() == name_at {
        out.extend_from_slice(b"unknown");
    }
    if let Some(port) = &node.port {
        out.push(b':');
        let port_at = out.len();
        match port {
            Source::Stream => {
                if let Some(a) = addr {
                    let _ = write!(out, "{}", a.port());
                }
            }
            Source::Expr(e) => {
                if let Some(v) = e.eval(src) {
                    let mut text = Vec::new();
                    v.write_to(&mut text);
                    write_text(out, &text, rfc7239::node_port_text(&text), true);
                }
            }
        }
        // No port after all: the `:` goes too.
        if out.len() == port_at {
            out.pop();
        }
    }
    if out.get(start) == Some(&b'"') {
        out.push(b'"');
    }
}

fn write_ipv6(out: &mut Vec<u8>, ip: Ipv6Addr, quoted: bool) {
    // A bracketed address must be quoted: open the quotes here when the node has none.
    if !quoted {
        out.push(b'"');
    }
    let _ = write!(out, "[{ip}]");
}

fn write_text(out: &mut Vec<u8>, text: &[u8], form: NodeText, quoted: bool) {
    match form {
        NodeText::Ipv6(ip) => write_ipv6(out, ip, quoted),
        NodeText::Verbatim => out.extend_from_slice(text),
        NodeText::Obfuscate => {
            out.push(b'_');
            out.extend_from_slice(text);
        }
        NodeText::Invalid => {}
    }
}

/// Adds `value` to the request: appended to its last `Forwarded` header when all of them
/// are valid (the proxies before this one are trusted), else in a header of its own.
pub fn apply(msg: &mut dyn HttpMessage, value: &[u8]) {
    let mut last = None;
    let mut valid = true;
    let mut i = 0;
    while let Some(idx) = msg.find_header(b"forwarded", i) {
        i = idx + 1;
        let Some((_, v)) = msg.header(idx) else {
            break;
        };
        if !rfc7239::is_valid(v) {
            valid = false;
            break;
        }
        last = Some((idx, v.to_vec()));
    }
    match last.filter(|_| valid) {
        Some((idx, mut joined)) => {
            joined.extend_from_slice(b", ");
            joined.extend_from_slice(value);
            msg.set_header_value(idx, &joined);
        }
        None => msg.add_header(b"forwarded", value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_rules::message::SimpleMessage;

    #[test]
    fn appends_to_a_valid_header_only() {
        let mut msg = SimpleMessage::request("GET", "/", &[("Forwarded", "for=10.0.0.1")]);
        apply(&mut msg, b"for=127.0.0.1");
        let found: Vec<_> = (0..msg.header_count())
            .filter_map(|i| msg.header(i))
            .filter(|(n, _)| n.eq_ignore_ascii_case(b"forwarded"))
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .collect();
        assert_eq!(found, ["for=10.0.0.1, for=127.0.0.1"]);

        let mut msg = SimpleMessage::request("GET", "/", &[("Forwarded", "bogus")]);
        apply(&mut msg, b"for=127.0.0.1");
        let found: Vec<_> = (0..msg.header_count())
            .filter_map(|i| msg.header(i))
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .collect();
        assert_eq!(found, ["bogus", "for=127.0.0.1"]);
    }
}
