//! RFC 7239 `Forwarded` header converters: `rfc7239_is_valid`, `rfc7239_field`, and the
//! node helpers `rfc7239_n2nn`/`rfc7239_n2np` (read a node) and `rfc7239_nn`/`rfc7239_np`
//! (write one).
//!
//! A header is a list of elements (`,`), each a list of `name=value` pairs (`;`), a value
//! being a token or a quoted string. The parameters HAProxy knows are checked: `proto`
//! (http or https), `host`, and the `for`/`by` nodes (an IPv4 address, a bracketed IPv6
//! address, `unknown` or an obfuscated `_name`, with an optional port or `_port`).

use super::{Arg, Value};
use crate::message::SampleSource;
use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

type Out<'a> = Option<Value<'a>>;

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_obfs(s: &[u8]) -> bool {
    s.len() > 1
        && s.first() == Some(&b'_')
        && s.iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Splits `s` on `sep` outside quoted strings.
fn split_outside_quotes(s: &[u8], sep: u8) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, &b) in s.iter().enumerate() {
        if escaped {
            escaped = false;
        } else if quoted && b == b'\\' {
            escaped = true;
        } else if b == b'"' {
            quoted = !quoted;
        } else if b == sep && !quoted {
            parts.push(s.get(start..i).unwrap_or(&[]));
            start = i + 1;
        }
    }
    parts.push(s.get(start..).unwrap_or(&[]));
    parts
}

/// A value: a token as is, or a quoted string without its quotes and escapes.
fn value(v: &[u8]) -> Option<Cow<'_, [u8]>> {
    if let Some(inner) = v.strip_prefix(b"\"").and_then(|r| r.strip_suffix(b"\"")) {
        let mut out = Vec::with_capacity(inner.len());
        let mut it = inner.iter();
        while let Some(&b) = it.next() {
            match b {
                b'\\' => out.push(*it.next()?),
                b'"' => return None,
                _ => out.push(b),
            }
        }
        return Some(Cow::Owned(out));
    }
    (!v.is_empty() && v.iter().all(|&b| is_tchar(b))).then_some(Cow::Borrowed(v))
}

/// A node's name and optional port.
#[derive(Debug, PartialEq, Eq)]
enum NodeName<'a> {
    Ip(IpAddr),
    Unknown,
    Obfuscated(&'a [u8]),
}

#[derive(Debug, PartialEq, Eq)]
enum NodePort<'a> {
    Number(u16),
    Obfuscated(&'a [u8]),
}

fn parse_node(node: &[u8]) -> Option<(NodeName<'_>, Option<NodePort<'_>>)> {
    let (name, rest) = if let Some(v6) = node.strip_prefix(b"[") {
        let end = v6.iter().position(|&b| b == b']')?;
        let ip: Ipv6Addr = std::str::from_utf8(v6.get(..end)?).ok()?.parse().ok()?;
        (NodeName::Ip(IpAddr::V6(ip)), v6.get(end + 1..)?)
    } else {
        let end = node.iter().position(|&b| b == b':').unwrap_or(node.len());
        let text = node.get(..end)?;
        let name = if text.eq_ignore_ascii_case(b"unknown") {
            NodeName::Unknown
        } else if is_obfs(text) {
            NodeName::Obfuscated(text)
        } else {
            let ip: Ipv4Addr = std::str::from_utf8(text).ok()?.parse().ok()?;
            NodeName::Ip(IpAddr::V4(ip))
        };
        (name, node.get(end..)?)
    };
    let port = match rest {
        [] => None,
        [b':', port @ ..] if is_obfs(port) => Some(NodePort::Obfuscated(port)),
        [b':', port @ ..] if (1..=5).contains(&port.len()) => Some(NodePort::Number(
            std::str::from_utf8(port).ok()?.parse().ok()?,
        )),
        _ => return None,
    };
    Some((name, port))
}

fn valid_host(h: &[u8]) -> bool {
    !h.is_empty()
        && h.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=%:[]".contains(&b))
}

/// An element's parameters: lower-case name and value.
type Pairs<'a> = Vec<(Vec<u8>, Cow<'a, [u8]>)>;

/// The parameters of each element, checked; `None` when the header is not valid.
fn parse(header: &[u8]) -> Option<Vec<Pairs<'_>>> {
    let mut elements = Vec::new();
    for element in split_outside_quotes(header, b',') {
        let mut pairs: Pairs<'_> = Vec::new();
        for pair in split_outside_quotes(element.trim_ascii(), b';') {
            let pair = pair.trim_ascii();
            if pair.is_empty() {
                continue;
            }
            let eq = pair.iter().position(|&b| b == b'=')?;
            let name = pair.get(..eq)?.to_ascii_lowercase();
            let v = value(pair.get(eq + 1..)?)?;
            let ok = match name.as_slice() {
                b"proto" => v.eq_ignore_ascii_case(b"http") || v.eq_ignore_ascii_case(b"https"),
                b"host" => valid_host(&v),
                b"for" | b"by" => parse_node(&v).is_some(),
                _ => false,
            };
            // A parameter appears once per element.
            if !ok || pairs.iter().any(|(n, _)| *n == name) {
                return None;
            }
            pairs.push((name, v));
        }
        if pairs.is_empty() {
            return None;
        }
        elements.push(pairs);
    }
    Some(elements)
}

/// `rfc7239_is_valid`: whether the input is a valid `Forwarded` header value.
pub(crate) fn rfc7239_is_valid<'a>(_: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    Some(Value::Bool(parse(v.as_bytes()?).is_some()))
}

/// Checks that `rfc7239_field` names a parameter it can extract.
pub(crate) fn prepare_field(args: &mut [Arg]) -> Result<(), String> {
    let name = args.first().and_then(Arg::text).unwrap_or("").trim();
    match name.to_ascii_lowercase().as_str() {
        "proto" | "host" | "for" | "by" => Ok(()),
        _ => Err(format!(
            "'rfc7239_field': unknown field '{name}' (expects proto, host, for or by)"
        )),
    }
}

/// `rfc7239_field(<field>)`: the value of the first element's parameter, unquoted.
pub(crate) fn rfc7239_field<'a>(args: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    let want = args.first()?.text()?.trim().to_ascii_lowercase();
    let elements = parse(v.as_bytes()?)?;
    let found = elements
        .iter()
        .flatten()
        .find(|(n, _)| n.as_slice() == want.as_bytes())?;
    Some(Value::string(found.1.to_vec()))
}

/// `rfc7239_n2nn`: the name part of a node: an address, or `unknown`/`_name` as text.
pub(crate) fn rfc7239_n2nn<'a>(_: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    let (name, _) = parse_node(v.as_bytes()?)?;
    Some(match name {
        NodeName::Ip(ip) => Value::Ip(ip),
        NodeName::Unknown => Value::string(b"unknown".to_vec()),
        NodeName::Obfuscated(o) => Value::string(o.to_vec()),
    })
}

/// `rfc7239_n2np`: the port part of a node: a number, or `_port` as text.
pub(crate) fn rfc7239_n2np<'a>(_: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    let (_, port) = parse_node(v.as_bytes()?)?;
    Some(match port? {
        NodePort::Number(n) => Value::Sint(n.into()),
        NodePort::Obfuscated(o) => Value::string(o.to_vec()),
    })
}

/// `rfc7239_nn`: a node name from an address (IPv6 in brackets) or a string (`_` added,
/// `unknown` when empty).
pub(crate) fn rfc7239_nn<'a>(_: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    let out = match v {
        Value::Ip(IpAddr::V4(ip)) => ip.to_string().into_bytes(),
        Value::Ip(IpAddr::V6(ip)) => format!("[{ip}]").into_bytes(),
        other => {
            let s = other.as_bytes()?;
            if s.is_empty() {
                b"unknown".to_vec()
            } else {
                let mut o = vec![b'_'];
                o.extend_from_slice(s);
                is_obfs(&o).then_some(o)?
            }
        }
    };
    Some(Value::string(out))
}

/// `rfc7239_np`: a node port from a number, or a string with `_` added.
pub(crate) fn rfc7239_np<'a>(_: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    let out = match v {
        Value::Sint(n) => u16::try_from(n).ok()?.to_string().into_bytes(),
        other => {
            let mut o = vec![b'_'];
            o.extend_from_slice(other.as_bytes()?);
            is_obfs(&o).then_some(o)?
        }
    };
    Some(Value::string(out))
}

/// Whether `header` is a valid `Forwarded` field value: `option forwarded` appends its
/// element to a request's header only when every one is.
pub fn is_valid(header: &[u8]) -> bool {
    parse(header).is_some()
}

/// Whether `host` may be written as the `host` parameter (quoted).
pub fn is_valid_host(host: &[u8]) -> bool {
    valid_host(host)
}

/// How `option forwarded` writes a node name or port an expression gave as text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeText {
    /// An IPv6 address: written in brackets, and quoted.
    Ipv6(Ipv6Addr),
    /// Valid as it is.
    Verbatim,
    /// The characters of an obfuscated identifier without its leading `_`: written after one.
    Obfuscate,
    /// Nothing valid can be written.
    Invalid,
}

/// Whether `text` is made of the characters an obfuscated identifier may have after its `_`.
fn obfuscatable(text: &[u8]) -> bool {
    !text.is_empty()
        && text
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// How a node name given as text (`127.0.0.1`, `[::1]`, `unknown`, `_name`, `name`) is
/// written.
pub fn node_name_text(text: &[u8]) -> NodeText {
    match parse_node(text) {
        Some((NodeName::Ip(IpAddr::V6(ip)), None)) => NodeText::Ipv6(ip),
        Some((_, None)) => NodeText::Verbatim,
        _ if obfuscatable(text) => NodeText::Obfuscate,
        _ => NodeText::Invalid,
    }
}

/// How a node port given as text (`8080`, `_port`, `port`) is written.
pub fn node_port_text(text: &[u8]) -> NodeText {
    let number = (1..=5).contains(&text.len())
        && text.iter().all(u8::is_ascii_digit)
        && std::str::from_utf8(text)
            .ok()
            .and_then(|t| t.parse::<u16>().ok())
            .is_some();
    if number || is_obfs(text) {
        NodeText::Verbatim
    } else if obfuscatable(text) {
        NodeText::Obfuscate
    } else {
        NodeText::Invalid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity() {
        assert!(parse(b"for=127.0.0.1;proto=http").is_some());
        assert!(parse(b"proto=custom").is_none());
        assert!(parse(br#"for="[::1]:8080";host="haproxy.org";proto=https"#).is_some());
        assert!(parse(br#"for="_name:_port", by=unknown"#).is_some());
        assert!(parse(b"for=127.0.0.1:80").is_none(), "a port needs quotes");
        assert!(parse(b"for=1.2.3.4;for=5.6.7.8").is_none(), "twice");
        assert!(parse(b"secret=x").is_none());
    }

    #[test]
    fn nodes() {
        assert_eq!(
            parse_node(b"[ab:cd:ff:ff:ff:ff:ff:ff]:9998"),
            Some((
                NodeName::Ip("ab:cd:ff:ff:ff:ff:ff:ff".parse().unwrap()),
                Some(NodePort::Number(9998))
            ))
        );
        assert_eq!(
            parse_node(b"_name:_port"),
            Some((
                NodeName::Obfuscated(b"_name"),
                Some(NodePort::Obfuscated(b"_port"))
            ))
        );
        assert_eq!(parse_node(b"999.1.1.1"), None);
    }
}
