//! HAProxy's address forms (manual section 2.9).
//!
//! `[<family>@]<host>[:<port>]` where the family prefix is one of `ipv4@`, `ipv6@`, `unix@`,
//! `abns@`, `abnsz@`, `fd@<n>`, `sockpair@<n>`, the datagram/stream variants (`udp@`, `tcp4@`,
//! `quic4@`, `mptcp@`...) and `rhttp@`. A path starting with `/` is a UNIX socket. The last colon separates
//! the port, so `:::443` is IPv6 "any" on port 443. Hosts may be names: resolving them belongs to
//! the environment preflight, never to the model.

use std::net::IpAddr;

/// How the address is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// No prefix: IPv4, IPv6 or a host name, decided by the host text.
    Inet,
    Ipv4,
    Ipv6,
    Unix,
    Abns,
    Abnsz,
    /// An inherited file descriptor (`fd@N`).
    Fd,
    /// A socket pair passed by the parent (`sockpair@N`).
    Sockpair,
    Udp,
    Quic,
    /// Reverse HTTP (`rhttp@`): no socket.
    Rhttp,
}

/// The host part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    /// Empty, `*`, `0.0.0.0` or `::`: every address.
    Any,
    Ip(IpAddr),
    /// A name to resolve (DNS or `/etc/hosts`).
    Name(String),
    /// A UNIX socket path or abstract name.
    Path(String),
    /// A file descriptor number (`fd@`, `sockpair@`).
    Fd(u32),
}

/// The port part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Port {
    /// No port written.
    None,
    Single(u16),
    /// `8000-8010` (binds only).
    Range(u16, u16),
    /// `+N` / `-N`: relative to the port the client connected to (servers only).
    Offset(i32),
}

/// One parsed address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
    pub family: Family,
    pub host: Host,
    pub port: Port,
    /// The text as written (for messages).
    pub text: String,
}

impl Address {
    /// The first port, when there is a fixed one.
    pub fn port_number(&self) -> Option<u16> {
        match self.port {
            Port::Single(p) | Port::Range(p, _) => Some(p),
            _ => None,
        }
    }

    /// Whether the socket is a filesystem UNIX socket.
    pub fn unix_path(&self) -> Option<&str> {
        match (&self.family, &self.host) {
            (Family::Unix, Host::Path(p)) => Some(p),
            _ => None,
        }
    }

    pub fn host_name(&self) -> Option<&str> {
        match &self.host {
            Host::Name(n) => Some(n),
            _ => None,
        }
    }
}

/// What the address is for: it decides whether a port is required and which forms are allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Use {
    /// `bind`, `stats socket`, `nameserver`, `peer`: a port is required for IP families.
    Listen,
    /// `server`: the port may be missing (then the client's) or an offset.
    Server,
    /// A log target or a nameserver: port optional (a default applies).
    Target,
}

/// Why an address is invalid. The message follows HAProxy's wording.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressError {
    pub message: String,
    pub help: String,
}

fn error(message: String, help: &str) -> AddressError {
    AddressError {
        message,
        help: help.to_string(),
    }
}

const PREFIXES: &[(&str, Family)] = &[
    ("ipv4@", Family::Ipv4),
    ("ipv6@", Family::Ipv6),
    ("ip@", Family::Inet),
    ("tcp@", Family::Inet),
    ("tcp4@", Family::Ipv4),
    ("tcp6@", Family::Ipv6),
    // MPTCP (HAProxy 3.1+) is a stream socket that falls back to plain TCP with peers
    // lacking it: Sluice serves it as TCP.
    ("mptcp@", Family::Inet),
    ("mptcp4@", Family::Ipv4),
    ("mptcp6@", Family::Ipv6),
    ("udp@", Family::Udp),
    ("udp4@", Family::Udp),
    ("udp6@", Family::Udp),
    ("quic4@", Family::Quic),
    ("quic6@", Family::Quic),
    ("quic@", Family::Quic),
    ("unix@", Family::Unix),
    ("uxst@", Family::Unix),
    ("uxdg@", Family::Unix),
    ("abns@", Family::Abns),
    ("abnsz@", Family::Abnsz),
    ("fd@", Family::Fd),
    ("sockpair@", Family::Sockpair),
    ("rhttp@", Family::Rhttp),
];

/// Parses one address (no comma lists; see [`parse_list`]).
pub fn parse(text: &str, usage: Use) -> Result<Address, AddressError> {
    // `stream+` / `dgram+` only select the socket type.
    let body = text
        .strip_prefix("stream+")
        .or_else(|| text.strip_prefix("dgram+"))
        .unwrap_or(text);
    let (family, rest) = match PREFIXES.iter().find(|(p, _)| body.starts_with(p)) {
        Some((prefix, family)) => (*family, body.get(prefix.len()..).unwrap_or("")),
        None if body.starts_with('/') => (Family::Unix, body),
        None => {
            if let Some(at) = body.find('@') {
                let prefix = body.get(..=at).unwrap_or(body);
                if !prefix.contains(':') && !prefix.contains('/') {
                    return Err(error(
                        format!("unknown address family '{prefix}' in '{text}'"),
                        "use one of ipv4@, ipv6@, unix@, abns@, fd@, sockpair@, udp@, quic4@",
                    ));
                }
            }
            (Family::Inet, body)
        }
    };
    let address = |host, port| Address {
        family,
        host,
        port,
        text: text.to_string(),
    };
    match family {
        Family::Unix | Family::Abns | Family::Abnsz => {
            if rest.is_empty() {
                return Err(error(
                    format!("missing socket path in '{text}'"),
                    "write the path of the UNIX socket after the prefix",
                ));
            }
            return Ok(address(Host::Path(rest.to_string()), Port::None));
        }
        Family::Fd | Family::Sockpair => {
            return match rest.parse::<u32>() {
                Ok(fd) => Ok(address(Host::Fd(fd), Port::None)),
                Err(_) => Err(error(
                    format!("invalid file descriptor '{rest}' in '{text}'"),
                    "write the descriptor number, e.g. fd@3",
                )),
            };
        }
        Family::Rhttp => return Ok(address(Host::Name(rest.to_string()), Port::None)),
        _ => {}
    }
    let (host_text, port_text) = split_host_port(rest);
    let host = parse_host(host_text);
    let port = match port_text {
        None => Port::None,
        Some(p) => parse_port(p, text, usage)?,
    };
    if usage == Use::Listen && port == Port::None {
        return Err(error(
            format!("missing port specification in '{text}'"),
            "add the port after a colon, e.g. *:80 or 0.0.0.0:443",
        ));
    }
    if let (Host::Name(name), Family::Ipv4 | Family::Ipv6 | Family::Inet) = (&host, family) {
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(error(
                format!("invalid address: '{name}' in '{text}'"),
                "write an IP address or a host name",
            ));
        }
    }
    Ok(address(host, port))
}

/// Parses a comma-separated list of addresses (`bind :80,:81`).
pub fn parse_list(text: &str, usage: Use) -> Result<Vec<Address>, AddressError> {
    text.split(',').map(|part| parse(part, usage)).collect()
}

fn split_host_port(rest: &str) -> (&str, Option<&str>) {
    if let Some(inner) = rest.strip_prefix('[') {
        if let Some(close) = inner.find(']') {
            let host = inner.get(..close).unwrap_or("");
            let after = inner.get(close + 1..).unwrap_or("");
            return (host, after.strip_prefix(':'));
        }
    }
    match rest.rfind(':') {
        Some(colon) => (
            rest.get(..colon).unwrap_or(""),
            Some(rest.get(colon + 1..).unwrap_or("")),
        ),
        None => (rest, None),
    }
}

fn parse_host(text: &str) -> Host {
    match text {
        "" | "*" => Host::Any,
        _ => match text.parse::<IpAddr>() {
            Ok(ip) if ip.is_unspecified() => Host::Any,
            Ok(ip) => Host::Ip(ip),
            Err(_) => Host::Name(text.to_string()),
        },
    }
}

fn parse_port(text: &str, whole: &str, usage: Use) -> Result<Port, AddressError> {
    let invalid = |t: &str| {
        error(
            format!("invalid port '{t}'"),
            "ports are numbers from 1 to 65535",
        )
    };
    let Some(first) = text.chars().next() else {
        return match usage {
            Use::Listen => Err(error(
                format!("missing port specification in '{whole}'"),
                "add the port after the colon, e.g. *:80",
            )),
            _ => Ok(Port::None),
        };
    };
    if first == '+' || first == '-' {
        if usage != Use::Server {
            return Err(invalid(text));
        }
        let offset = text
            .get(1..)
            .and_then(leading_number)
            .and_then(|v| i32::try_from(v).ok())
            .filter(|v| *v <= 65535)
            .ok_or_else(|| invalid(text))?;
        return Ok(Port::Offset(if first == '-' { -offset } else { offset }));
    }
    if !first.is_ascii_digit() {
        return Err(error(
            format!("invalid character '{first}' in port number '{text}' in '{whole}'"),
            "ports are numbers from 1 to 65535; a '$NAME' here is an environment variable \
             that is not set",
        ));
    }
    // HAProxy's `str2sa_range()` reads each port with `atoi()`: the leading digits count and
    // anything after them is ignored (`host:8443/auth` is port 8443). The port is mandatory
    // (so 0 is invalid) only where something listens; elsewhere 0 means "no port".
    let lowest = u32::from(usage == Use::Listen);
    let number = |t: &str| -> Result<u16, AddressError> {
        leading_number(t)
            .filter(|p| (lowest..=65535).contains(p))
            .and_then(|p| u16::try_from(p).ok())
            .ok_or_else(|| invalid(t))
    };
    if let Some((low, high)) = text.split_once('-') {
        if usage != Use::Listen {
            return Err(invalid(text));
        }
        let (low, high) = (number(low)?, number(high)?);
        if low > high {
            return Err(error(
                format!("invalid port range '{text}'"),
                "write the lower port first, e.g. 8000-8010",
            ));
        }
        return Ok(Port::Range(low, high));
    }
    match number(text)? {
        0 => Ok(Port::None),
        port => Ok(Port::Single(port)),
    }
}

/// C's `atoi()` on a port: the value of the leading digits (0 when there are none), `None`
/// past any port.
fn leading_number(text: &str) -> Option<u32> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    match text.get(..digits) {
        Some("") => Some(0),
        Some(d) => d.parse::<u32>().ok(),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listen(text: &str) -> Result<Address, String> {
        parse(text, Use::Listen).map_err(|e| e.message)
    }

    #[test]
    fn wildcard_and_ipv6_any() {
        let a = listen("*:80").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((a.host, a.port), (Host::Any, Port::Single(80)));
        let a = listen(":::443").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((a.host, a.port), (Host::Any, Port::Single(443)));
        let a = listen("[::1]:8443").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.port_number(), Some(8443));
        assert!(matches!(a.host, Host::Ip(ip) if ip.is_loopback()));
    }

    #[test]
    fn missing_and_invalid_ports() {
        assert_eq!(
            listen("*:"),
            Err("missing port specification in '*:'".into())
        );
        assert_eq!(
            listen("0.0.0.0:"),
            Err("missing port specification in '0.0.0.0:'".into())
        );
        assert_eq!(listen(":92000"), Err("invalid port '92000'".into()));
        assert_eq!(
            listen("10.0.0.1"),
            Err("missing port specification in '10.0.0.1'".into())
        );
        assert_eq!(listen(":0"), Err("invalid port '0'".into()));
    }

    #[test]
    fn ports_are_read_like_atoi() {
        // HAProxy ignores what follows the digits, and a server port 0 is no port.
        let server = |t: &str| parse(t, Use::Server).map(|a| a.port).map_err(|e| e.message);
        assert_eq!(server("kc:8443/auth"), Ok(Port::Single(8443)));
        assert_eq!(server("kc:0"), Ok(Port::None));
        assert_eq!(listen(":8080x").map(|a| a.port), Ok(Port::Single(8080)));
        // A port that does not start with a digit (an unquoted `$VAR`) is still refused.
        assert_eq!(
            server("app:$PORT"),
            Err("invalid character '$' in port number '$PORT' in 'app:$PORT'".into())
        );
        assert_eq!(server("app:99999/x"), Err("invalid port '99999/x'".into()));
        assert!(listen(":0x").is_err());
    }

    #[test]
    fn port_ranges_only_for_binds() {
        assert_eq!(
            listen(":8000-8010").map(|a| a.port),
            Ok(Port::Range(8000, 8010))
        );
        assert!(parse("10.0.0.1:8000-8010", Use::Server).is_err());
    }

    #[test]
    fn server_ports_are_optional_and_may_be_offsets() {
        let a = parse("10.0.0.1", Use::Server).map(|a| a.port);
        assert_eq!(a, Ok(Port::None));
        assert_eq!(
            parse("10.0.0.1:+1000", Use::Server).map(|a| a.port),
            Ok(Port::Offset(1000))
        );
        assert_eq!(
            parse("10.0.0.1:-1", Use::Server).map(|a| a.port),
            Ok(Port::Offset(-1))
        );
        let named = parse("db.example:5432", Use::Server).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(named.host_name(), Some("db.example"));
    }

    #[test]
    fn socket_families() {
        let a = listen("/var/run/haproxy.sock").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.unix_path(), Some("/var/run/haproxy.sock"));
        let a = listen("unix@/tmp/s").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.unix_path(), Some("/tmp/s"));
        assert_eq!(listen("fd@3").map(|a| a.host), Ok(Host::Fd(3)));
        assert_eq!(listen("abns@name").map(|a| a.family), Ok(Family::Abns));
        assert_eq!(
            listen("ipv4@127.0.0.1:80").map(|a| a.family),
            Ok(Family::Ipv4)
        );
        assert_eq!(listen("quic4@:443").map(|a| a.family), Ok(Family::Quic));
        assert!(listen("fd@x").is_err());
        assert!(listen("bogus@1.2.3.4:80").is_err());
        assert_eq!(
            listen("mptcp@[::]:5000").map(|a| a.family),
            Ok(Family::Inet)
        );
        assert_eq!(
            listen("mptcp4@0.0.0.0:80").map(|a| a.family),
            Ok(Family::Ipv4)
        );
        assert_eq!(
            listen("ip@10.0.0.1:80").map(|a| a.port),
            Ok(Port::Single(80))
        );
    }

    #[test]
    fn lists() {
        let list = parse_list(":80,:81", Use::Listen).unwrap_or_default();
        assert_eq!(list.len(), 2);
        assert!(parse_list(":80,:", Use::Listen).is_err());
    }
}
