//! The text header: `PROXY TCP4|TCP6 <src> <dst> <sport> <dport>\r\n` or
//! `PROXY UNKNOWN[ anything]\r\n`, at most 107 bytes.

use super::{
    starts_like, Addresses, Command, Error, Header, Parsed, Transport, V1_MAX_LEN, V1_SIGNATURE,
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Parses a v1 header at the start of `buf`.
pub fn parse(buf: &[u8]) -> Parsed<'_> {
    if !starts_like(buf, V1_SIGNATURE) {
        return Parsed::Error(Error::NotProxy);
    }
    let window = buf.get(..buf.len().min(V1_MAX_LEN)).unwrap_or(buf);
    let Some(lf) = window.iter().position(|&b| b == b'\n') else {
        if window
            .iter()
            .any(|&b| !(b == b'\r' || (0x20..0x7f).contains(&b)))
        {
            return Parsed::Error(Error::BadSyntax);
        }
        return if window.len() >= V1_MAX_LEN {
            Parsed::Error(Error::TooLong)
        } else {
            Parsed::Partial
        };
    };
    // A bare LF, or a CR anywhere but right before it, is malformed.
    let Some(line) = lf.checked_sub(1).and_then(|cr| {
        (window.get(cr) == Some(&b'\r'))
            .then(|| window.get(..cr))
            .flatten()
    }) else {
        return Parsed::Error(Error::BadSyntax);
    };
    match parse_line(line) {
        Ok(addresses) => Parsed::Complete {
            len: lf + 1,
            header: Header {
                version: 1,
                command: Command::Proxy,
                transport: Transport::Stream,
                addresses,
                tlvs: &[],
            },
        },
        Err(e) => Parsed::Error(e),
    }
}

/// The line without its CRLF.
fn parse_line(line: &[u8]) -> Result<Addresses<'static>, Error> {
    let rest = line.get(V1_SIGNATURE.len()..).ok_or(Error::BadSyntax)?;
    if rest.iter().any(|&b| !(0x20..0x7f).contains(&b)) {
        return Err(Error::BadSyntax);
    }
    if rest == b"UNKNOWN" || rest.starts_with(b"UNKNOWN ") {
        // The sender may add anything; the receiver ignores it.
        return Ok(Addresses::Unknown);
    }
    let text = std::str::from_utf8(rest).map_err(|_| Error::BadSyntax)?;
    let mut fields = text.split(' ');
    let proto = fields.next().ok_or(Error::BadSyntax)?;
    let v6 = match proto {
        "TCP4" => false,
        "TCP6" => true,
        _ => return Err(Error::BadProtocol),
    };
    let (Some(src), Some(dst), Some(sport), Some(dport), None) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return Err(Error::BadSyntax);
    };
    let ip = |s: &str| -> Result<IpAddr, Error> {
        if v6 {
            s.parse::<Ipv6Addr>()
                .map(IpAddr::V6)
                .map_err(|_| Error::BadAddress)
        } else {
            s.parse::<Ipv4Addr>()
                .map(IpAddr::V4)
                .map_err(|_| Error::BadAddress)
        }
    };
    Ok(Addresses::Inet {
        src: SocketAddr::new(ip(src)?, port(sport)?),
        dst: SocketAddr::new(ip(dst)?, port(dport)?),
    })
}

/// A decimal port from 0 to 65535, no sign, no leading zero.
fn port(s: &str) -> Result<u16, Error> {
    let b = s.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 5
        && b.iter().all(u8::is_ascii_digit)
        && (b.len() == 1 || b.first() != Some(&b'0'));
    if !ok {
        return Err(Error::BadPort);
    }
    s.parse::<u16>().map_err(|_| Error::BadPort)
}
