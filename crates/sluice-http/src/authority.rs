//! The authority of an absolute-form or CONNECT target against the Host header, and the
//! scheme-based normalisation of both (RFC 9110 §4.2.3, RFC 3986 §6.2.3).
//!
//! A port that is empty or the scheme's default (80 for `http`, 443 for `https`) means the
//! same as no port: `http://h:80/`, `http://h:/` and `http://h/` name one resource, and a
//! `Host: h` goes with each. A CONNECT target always has a port; when it is 80 or 443, a
//! Host header without a port (or with an empty one) goes with it too.
//!
//! Normalisation, as HAProxy applies it: an absolute-form target loses an empty or default
//! port, and then so does the Host header; a CONNECT target keeps its port, and the Host
//! header loses only a port equal to the target's default one.

use crate::head::Span;

/// What normalisation removes: `:port` ranges of the buffer the head was parsed from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Normalization {
    /// The `:port` of the target's authority to drop.
    pub target_port: Option<Span>,
    /// The `:port` of the Host header's value to drop.
    pub host_port: Option<Span>,
}

/// How the target names its authority.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind<'a> {
    /// `scheme://authority/...`: the scheme, for its default port.
    Absolute(&'a [u8]),
    /// `CONNECT host:port`.
    Connect,
}

/// `host[:port]` split at the port: `(host, None)` without a colon, `(host, Some(b""))` for
/// an empty port, and the colon's offset. Bracketed IPv6 literals keep their colons.
fn split_port(a: &[u8]) -> (&[u8], Option<(&[u8], usize)>) {
    let after_host = match a.first() {
        Some(b'[') => a.iter().position(|&b| b == b']').map_or(a.len(), |i| i + 1),
        _ => a.iter().rposition(|&b| b == b':').unwrap_or(a.len()),
    };
    let host = a.get(..after_host).unwrap_or(a);
    match a.get(after_host) {
        Some(b':') => (
            host,
            Some((a.get(after_host + 1..).unwrap_or_default(), after_host)),
        ),
        _ => (host, None),
    }
}

fn default_port<'a>(kind: Kind<'_>, target_port: Option<&'a [u8]>) -> Option<&'a [u8]> {
    match kind {
        Kind::Absolute(scheme) if scheme.eq_ignore_ascii_case(b"http") => Some(b"80"),
        Kind::Absolute(scheme) if scheme.eq_ignore_ascii_case(b"https") => Some(b"443"),
        Kind::Absolute(_) => None,
        Kind::Connect => target_port.filter(|p| matches!(*p, b"80" | b"443")),
    }
}

/// The port a request means: an empty or missing port is the default one.
fn effective<'a>(port: Option<&'a [u8]>, default: Option<&'a [u8]>) -> Option<&'a [u8]> {
    match port {
        None | Some(b"") => default,
        p => p,
    }
}

/// Whether the target's `authority` and the Host header's value name the same host and
/// port.
pub(crate) fn matches(kind: Kind<'_>, authority: &[u8], host: &[u8]) -> bool {
    let (a_host, a_port) = split_port(authority);
    let (h_host, h_port) = split_port(host);
    let a_port = a_port.map(|(p, _)| p);
    let h_port = h_port.map(|(p, _)| p);
    let default = default_port(kind, a_port);
    a_host.eq_ignore_ascii_case(h_host) && effective(a_port, default) == effective(h_port, default)
}

/// What to remove from the target (whose authority is `authority`, at offset `a_at` of the
/// buffer) and from the Host header value (`host` at `h_at`), if anything.
pub(crate) fn normalization(
    kind: Kind<'_>,
    authority: &[u8],
    a_at: usize,
    host: Option<(&[u8], usize)>,
) -> Option<Normalization> {
    let (_, a_port) = split_port(authority);
    let default = default_port(kind, a_port.map(|(p, _)| p));
    let default = default?;
    let (a_port, a_colon) = a_port?;
    let host_port = |only_default: bool| {
        let (h, h_at) = host?;
        let (_, (port, colon)) = match split_port(h) {
            (host, Some(p)) => (host, p),
            _ => return None,
        };
        let drop = port == default || (!only_default && port.is_empty());
        drop.then(|| Span::new(h_at + colon, h_at + h.len()))
    };
    let n = match kind {
        Kind::Absolute(_) => {
            if !(a_port.is_empty() || a_port == default) {
                return None;
            }
            Normalization {
                target_port: Some(Span::new(a_at + a_colon, a_at + authority.len())),
                host_port: host_port(false),
            }
        }
        Kind::Connect => Normalization {
            target_port: None,
            host_port: host_port(true),
        },
    };
    (n.target_port.is_some() || n.host_port.is_some()).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HTTP: Kind<'static> = Kind::Absolute(b"http");
    const HTTPS: Kind<'static> = Kind::Absolute(b"https");

    #[test]
    fn default_and_empty_ports_mean_no_port() {
        for (kind, a, h) in [
            (HTTP, "h:80", "h"),
            (HTTP, "h", "h:80"),
            (HTTP, "h:", "h:80"),
            (HTTP, "h", "h:"),
            (HTTPS, "h:443", "H"),
            (HTTP, "h:8080", "h:8080"),
            (Kind::Connect, "h:80", "h"),
            (Kind::Connect, "h:443", "h:"),
            (Kind::Connect, "h:8443", "h:8443"),
            (HTTP, "[::1]:80", "[::1]"),
        ] {
            assert!(matches(kind, a.as_bytes(), h.as_bytes()), "{a} {h}");
        }
        for (kind, a, h) in [
            (HTTP, "h1", "h2"),
            (HTTP, "h:80", "h:81"),
            (HTTP, "h:8080", "h"),
            (HTTP, "h", "h:81"),
            (HTTPS, "h:80", "h"),
            (Kind::Connect, "h:80", "h:443"),
            (Kind::Connect, "h:8080", "h"),
            (HTTP, "[::1]:80", "[::2]"),
        ] {
            assert!(!matches(kind, a.as_bytes(), h.as_bytes()), "{a} {h}");
        }
    }

    fn cut(kind: Kind<'_>, a: &str, h: &str) -> (String, String) {
        // The authority at offset 100 and the host at 200 of an imaginary buffer.
        let n =
            normalization(kind, a.as_bytes(), 100, Some((h.as_bytes(), 200))).unwrap_or_default();
        let strip = |s: &str, at: usize, span: Option<Span>| match span {
            Some(sp) => format!("{}{}", &s[..sp.start() - at], &s[sp.end() - at..]),
            None => s.to_string(),
        };
        (strip(a, 100, n.target_port), strip(h, 200, n.host_port))
    }

    #[test]
    fn normalisation_follows_the_target() {
        let pair = |a: &str, h: &str| (a.to_string(), h.to_string());
        assert_eq!(cut(HTTP, "h:80", "h:80"), pair("h", "h"));
        assert_eq!(cut(HTTP, "h:80", "h:"), pair("h", "h"));
        assert_eq!(cut(HTTP, "h:", "h:80"), pair("h", "h"));
        assert_eq!(cut(HTTP, "h", "h:80"), pair("h", "h:80"));
        assert_eq!(cut(HTTP, "h:8080", "h:8080"), pair("h:8080", "h:8080"));
        assert_eq!(cut(HTTPS, "h:80", "h:80"), pair("h:80", "h:80"));
        assert_eq!(cut(HTTP, ":", ":80"), pair("", ""));
        assert_eq!(cut(Kind::Connect, "h:80", "h:80"), pair("h:80", "h"));
        assert_eq!(cut(Kind::Connect, "h:443", "h:"), pair("h:443", "h:"));
        assert_eq!(
            cut(Kind::Connect, "h:8443", "h:8443"),
            pair("h:8443", "h:8443")
        );
    }
}
