//! NetScaler's Client IP insertion protocol (`accept-netscaler-cip <magic>`, `tcp-request
//! connection expect-netscaler-cip layer4`): the connection starts with a 32-bit magic
//! number, then a copy of the client's IP and TCP headers, from which the client's address
//! and the address it reached are read.
//!
//! Two layouts exist. The legacy one: magic, the length of the IP and TCP headers (32 bits),
//! then those headers. The standard one: magic, the CIP length (32 bits, not checked), a
//! 16-bit type that is zero, the length of the IP and TCP headers (16 bits), then those
//! headers. They are told apart by the byte after the first eight: an IPv4 header's first
//! byte has 0x40 in its high bits, the standard layout's type starts with zero. Only the
//! version, the protocol (TCP), the addresses and the ports are read; checksums and options
//! are not.
//!
//! Like [`super::parse`], [`parse`] is pure: bytes in, the header's length and addresses
//! out, and a partial header asks for more bytes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// IP protocol number of TCP.
const PROTO_TCP: u8 = 6;
/// An IPv6 header without extension headers.
const IPV6_HEADER_LEN: usize = 40;
/// The smallest IPv4 header.
const IPV4_MIN_HEADER_LEN: usize = 20;
/// The smallest TCP header.
const TCP_MIN_HEADER_LEN: usize = 20;

/// Why a CIP header was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The magic number is not the one the listener declares.
    BadMagic,
    /// Neither layout, an IP version other than 4 and 6, or a protocol other than TCP.
    BadProtocol,
    /// The announced length is too short for the IP and TCP headers it must hold.
    BadLength,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Error::BadMagic => "NetScaler CIP header with a wrong magic number",
            Error::BadProtocol => "NetScaler CIP header with an unknown format or protocol",
            Error::BadLength => "NetScaler CIP header with an invalid length",
        })
    }
}

impl std::error::Error for Error {}

/// The outcome of [`parse`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// More bytes are needed; `need`: how many in all, once known.
    Partial {
        need: Option<usize>,
    },
    /// A whole header of `len` bytes announcing a client at `src` that reached `dst`.
    Complete {
        len: usize,
        src: SocketAddr,
        dst: SocketAddr,
    },
    Error(Error),
}

/// Parses a CIP header whose magic number must be `magic` at the start of `buf`.
pub fn parse(buf: &[u8], magic: u32) -> Parsed {
    let word = |at: usize| -> Option<[u8; 4]> { buf.get(at..at + 4)?.try_into().ok() };
    let Some(first) = word(0) else {
        // The magic is checked as soon as its bytes are there.
        let expected = magic.to_be_bytes();
        let n = buf.len().min(4);
        if buf.get(..n) != expected.get(..n) {
            return Parsed::Error(Error::BadMagic);
        }
        return Parsed::Partial { need: None };
    };
    if u32::from_be_bytes(first) != magic {
        return Parsed::Error(Error::BadMagic);
    }
    let (Some(&b8), Some(second)) = (buf.get(8), word(4)) else {
        return Parsed::Partial { need: None };
    };
    let (offset, headers_len) = if b8 & 0xD0 == 0x40 {
        // Legacy: the IP header follows the 32-bit length at once.
        let len = usize::try_from(u32::from_be_bytes(second)).unwrap_or(usize::MAX);
        (8, len)
    } else if b8 == 0 {
        let (Some(&hi), Some(&lo)) = (buf.get(10), buf.get(11)) else {
            return Parsed::Partial { need: None };
        };
        (12, usize::from(u16::from_be_bytes([hi, lo])))
    } else {
        return Parsed::Error(Error::BadProtocol);
    };
    let Some(&version_byte) = buf.get(offset) else {
        return Parsed::Partial { need: None };
    };
    let (ip_len, min_len) = match version_byte >> 4 {
        4 => {
            let ihl = usize::from(version_byte & 0x0f) * 4;
            if ihl < IPV4_MIN_HEADER_LEN {
                return Parsed::Error(Error::BadLength);
            }
            (ihl, ihl + TCP_MIN_HEADER_LEN)
        }
        6 => (IPV6_HEADER_LEN, IPV6_HEADER_LEN + TCP_MIN_HEADER_LEN),
        _ => return Parsed::Error(Error::BadProtocol),
    };
    if headers_len < min_len {
        return Parsed::Error(Error::BadLength);
    }
    let total = offset.saturating_add(headers_len);
    let Some(headers) = buf.get(offset..total) else {
        return Parsed::Partial { need: Some(total) };
    };
    let Some((proto, src_ip, dst_ip)) = ip_fields(headers, version_byte >> 4) else {
        return Parsed::Error(Error::BadLength);
    };
    if proto != PROTO_TCP {
        return Parsed::Error(Error::BadProtocol);
    }
    let port = |at: usize| -> Option<u16> {
        let b = headers.get(ip_len + at..ip_len + at + 2)?;
        Some(u16::from_be_bytes(b.try_into().ok()?))
    };
    let (Some(src_port), Some(dst_port)) = (port(0), port(2)) else {
        return Parsed::Error(Error::BadLength);
    };
    Parsed::Complete {
        len: total,
        src: SocketAddr::new(src_ip, src_port),
        dst: SocketAddr::new(dst_ip, dst_port),
    }
}

/// The protocol, source and destination of an IP header of version `version`.
fn ip_fields(h: &[u8], version: u8) -> Option<(u8, IpAddr, IpAddr)> {
    if version == 4 {
        let src: [u8; 4] = h.get(12..16)?.try_into().ok()?;
        let dst: [u8; 4] = h.get(16..20)?.try_into().ok()?;
        Some((
            *h.get(9)?,
            Ipv4Addr::from(src).into(),
            Ipv4Addr::from(dst).into(),
        ))
    } else {
        let src: [u8; 16] = h.get(8..24)?.try_into().ok()?;
        let dst: [u8; 16] = h.get(24..40)?.try_into().ok()?;
        Some((
            *h.get(6)?,
            Ipv6Addr::from(src).into(),
            Ipv6Addr::from(dst).into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
        digits
            .chunks(2)
            .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap_or("0"), 16).unwrap_or(0))
            .collect()
    }

    const TCP: &str = "04d2 0051 00000000 00000000 5002 2000 0000 0000";

    fn sa(s: &str) -> SocketAddr {
        s.parse()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    #[test]
    fn standard_ipv4_and_what_follows() {
        let mut buf = hex(&format!(
            "12345678 0000002c 0000 0028 45000028 00010000 4006 0000 c0a80001 0a000002 {TCP}"
        ));
        buf.extend_from_slice(b"GET / HTTP/1.1\r\n");
        assert_eq!(
            parse(&buf, 0x1234_5678),
            Parsed::Complete {
                len: 52,
                src: sa("192.168.0.1:1234"),
                dst: sa("10.0.0.2:81")
            }
        );
    }

    #[test]
    fn legacy_ipv4_and_standard_ipv6() {
        let legacy = hex(&format!(
            "00000000 00000028 45000028 00010000 4006 0000 c0a80001 0a000002 {TCP}"
        ));
        assert_eq!(
            parse(&legacy, 0),
            Parsed::Complete {
                len: 48,
                src: sa("192.168.0.1:1234"),
                dst: sa("10.0.0.2:81")
            }
        );
        let v6 = hex(&format!(
            "12345678 00000040 0000 003c 60000000 0014 06 40 \
             20010db8000000000000000000000001 20010db8000000000000000000000002 {TCP}"
        ));
        assert_eq!(
            parse(&v6, 0x1234_5678),
            Parsed::Complete {
                len: 72,
                src: sa("[2001:db8::1]:1234"),
                dst: sa("[2001:db8::2]:81")
            }
        );
    }

    #[test]
    fn partial_then_errors() {
        let whole = hex(&format!(
            "12345678 0000002c 0000 0028 45000028 00010000 4006 0000 c0a80001 0a000002 {TCP}"
        ));
        for n in 0..whole.len() {
            assert!(
                matches!(parse(&whole[..n], 0x1234_5678), Parsed::Partial { .. }),
                "{n}"
            );
        }
        assert_eq!(parse(&whole, 1), Parsed::Error(Error::BadMagic));
        assert_eq!(
            parse(&whole[..2], 0x1299_0000),
            Parsed::Error(Error::BadMagic)
        );
        let mut udp = whole.clone();
        udp[12 + 9] = 17;
        assert_eq!(parse(&udp, 0x1234_5678), Parsed::Error(Error::BadProtocol));
        let mut short = whole.clone();
        short[11] = 0x10;
        assert_eq!(parse(&short, 0x1234_5678), Parsed::Error(Error::BadLength));
        let mut odd = whole;
        odd[8] = 0x99;
        assert_eq!(parse(&odd, 0x1234_5678), Parsed::Error(Error::BadProtocol));
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..200), magic in any::<u32>()) {
            match parse(&data, magic) {
                Parsed::Complete { len, .. } => prop_assert!(len <= data.len()),
                Parsed::Partial { need: Some(n) } => prop_assert!(n > data.len()),
                _ => {}
            }
            let mut with_magic = magic.to_be_bytes().to_vec();
            with_magic.extend_from_slice(&data);
            if let Parsed::Complete { len, .. } = parse(&with_magic, magic) {
                prop_assert!(len <= with_magic.len());
            }
        }
    }
}
