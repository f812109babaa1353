//! The PROXY protocol (`proxy-protocol.txt`): the header a proxy in front puts at the start
//! of a connection to say who the client was, in its text form ([`v1`]) or binary form
//! ([`v2`]).
//!
//! [`parse`] is pure: bytes in, [`Parsed`] out, no I/O and no allocation, so that the accept
//! side can peek at a socket, parse, and then read exactly the header's length (the bytes
//! after it belong to the application). It is strict, as HAProxy is: a wrong signature, a
//! bad length, an address that does not parse or a port out of range is an error, and the
//! connection is closed. [`write_v1`]/[`write_v2`] build the header for `send-proxy` and
//! `send-proxy-v2`; [`send`] adds the TLVs servers are configured to get, [`ssl`] the
//! client's TLS details they carry. [`cip`] reads NetScaler's Client IP insertion header.

pub mod accept;
pub mod cip;
pub mod crc32c;
pub mod send;
pub mod ssl;
pub mod v1;
pub mod v2;

use std::net::SocketAddr;

/// The v2 signature, the first 12 bytes of every binary header.
pub const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";
/// The v1 signature.
pub const V1_SIGNATURE: &[u8] = b"PROXY ";
/// The longest v1 line, CRLF included.
pub const V1_MAX_LEN: usize = 107;
/// The fixed part of a v2 header (signature, version/command, family, length).
pub const V2_FIXED_LEN: usize = 16;

/// What the sender asks of the receiver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// The connection was made by the proxy itself (a health check): use the real addresses.
    Local,
    /// Relayed on behalf of a client: the header's addresses are the client's.
    Proxy,
}

/// The transport protocol the addresses are for (v2; v1 is always stream).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Unspec,
    Stream,
    Dgram,
}

/// The addresses a header carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Addresses<'a> {
    /// `UNKNOWN` (v1) or `AF_UNSPEC` (v2): keep the connection's own addresses.
    Unknown,
    /// TCP over IPv4 or IPv6.
    Inet { src: SocketAddr, dst: SocketAddr },
    /// UNIX socket paths (v2), up to their first NUL byte.
    Unix { src: &'a [u8], dst: &'a [u8] },
}

/// A parsed header, borrowing the input for the UNIX paths and the TLVs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header<'a> {
    /// 1 or 2.
    pub version: u8,
    pub command: Command,
    pub transport: Transport,
    pub addresses: Addresses<'a>,
    /// The v2 TLVs as received (validated: they exactly fill the header); empty for v1.
    pub tlvs: &'a [u8],
}

impl<'a> Header<'a> {
    /// The client and the address it connected to, when the header says them (a PROXY
    /// command with TCP addresses).
    pub fn inet(&self) -> Option<(SocketAddr, SocketAddr)> {
        match (self.command, self.addresses) {
            (Command::Proxy, Addresses::Inet { src, dst }) => Some((src, dst)),
            _ => None,
        }
    }

    /// The TLVs, in order.
    pub fn tlvs(&self) -> v2::Tlvs<'a> {
        v2::Tlvs::new(self.tlvs)
    }

    /// The value of the first TLV of type `kind`.
    pub fn tlv(&self, kind: u8) -> Option<&'a [u8]> {
        self.tlvs().find(|t| t.kind == kind).map(|t| t.value)
    }

    /// `PP2_TYPE_ALPN`: the protocol the client negotiated.
    pub fn alpn(&self) -> Option<&'a [u8]> {
        self.tlv(v2::TYPE_ALPN)
    }

    /// `PP2_TYPE_AUTHORITY`: the host name the client asked for (SNI).
    pub fn authority(&self) -> Option<&'a [u8]> {
        self.tlv(v2::TYPE_AUTHORITY)
    }

    /// `PP2_TYPE_SSL`: the client's TLS details.
    pub fn ssl(&self) -> Option<v2::Ssl<'a>> {
        self.tlv(v2::TYPE_SSL).and_then(v2::Ssl::parse)
    }
}

/// Why a header was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Neither signature: the peer does not speak the PROXY protocol.
    NotProxy,
    /// v1: no CRLF in the first 107 bytes.
    TooLong,
    /// v1: a protocol other than TCP4, TCP6, UNKNOWN.
    BadProtocol,
    /// v1: an address that does not parse or does not match the protocol.
    BadAddress,
    /// v1: a port that is not a decimal number from 0 to 65535 without leading zeroes.
    BadPort,
    /// v1: missing or extra fields, bad separators.
    BadSyntax,
    /// v2: a version other than 2.
    BadVersion,
    /// v2: a command other than LOCAL or PROXY.
    BadCommand,
    /// v2: an unknown address family or transport.
    BadFamily,
    /// v2: the length is shorter than the addresses need.
    BadLength,
    /// v2: TLVs that do not exactly fill the header.
    BadTlv,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Error::NotProxy => "not a PROXY protocol header",
            Error::TooLong => "PROXY v1 header longer than 107 bytes",
            Error::BadProtocol => "PROXY v1 header with an unknown protocol",
            Error::BadAddress => "PROXY header with an invalid address",
            Error::BadPort => "PROXY header with an invalid port",
            Error::BadSyntax => "malformed PROXY v1 header",
            Error::BadVersion => "PROXY v2 header with an unknown version",
            Error::BadCommand => "PROXY v2 header with an unknown command",
            Error::BadFamily => "PROXY v2 header with an unknown address family",
            Error::BadLength => "PROXY v2 header with an invalid length",
            Error::BadTlv => "PROXY v2 header with malformed TLVs",
        })
    }
}

impl std::error::Error for Error {}

/// The outcome of [`parse`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parsed<'a> {
    /// More bytes are needed (everything so far is a valid beginning).
    Partial,
    /// A whole header of `len` bytes; what follows belongs to the application.
    Complete {
        len: usize,
        header: Header<'a>,
    },
    Error(Error),
}

/// Parses a v1 or v2 header at the start of `buf`.
pub fn parse(buf: &[u8]) -> Parsed<'_> {
    let Some(&first) = buf.first() else {
        return Parsed::Partial;
    };
    match first {
        b'P' => v1::parse(buf),
        b'\r' => v2::parse(buf),
        _ => Parsed::Error(Error::NotProxy),
    }
}

/// Whether `buf` starts like some version's signature (a prefix of it counts).
fn starts_like(buf: &[u8], signature: &[u8]) -> bool {
    let n = buf.len().min(signature.len());
    buf.get(..n) == signature.get(..n)
}

/// Appends the v1 header for a client at `src` that connected to `dst`: `TCP4` when both
/// are IPv4 (IPv4-mapped IPv6 counts as IPv4), `TCP6` otherwise, `UNKNOWN` when either is
/// missing (a UNIX socket client).
pub fn write_v1(out: &mut Vec<u8>, addrs: Option<(SocketAddr, SocketAddr)>) {
    use std::io::Write;
    let Some((src, dst)) = addrs else {
        out.extend_from_slice(b"PROXY UNKNOWN\r\n");
        return;
    };
    let (s, d) = (unmap(src), unmap(dst));
    // `write!` into a Vec cannot fail.
    let _ = match (s, d) {
        (SocketAddr::V4(s), SocketAddr::V4(d)) => write!(
            out,
            "PROXY TCP4 {} {} {} {}\r\n",
            s.ip(),
            d.ip(),
            s.port(),
            d.port()
        ),
        _ => write!(
            out,
            "PROXY TCP6 {} {} {} {}\r\n",
            v6(s),
            v6(d),
            s.port(),
            d.port()
        ),
    };
}

/// Appends a v2 header: a PROXY command with the client's addresses (`AF_UNSPEC` when they
/// are unknown), or a LOCAL command when `addrs` is `None` and `local` is set (health
/// checks), then `tlvs` as (type, value) pairs. Values longer than 65535 bytes are cut.
pub fn write_v2(
    out: &mut Vec<u8>,
    addrs: Option<(SocketAddr, SocketAddr)>,
    local: bool,
    tlvs: &[(u8, &[u8])],
) {
    out.extend_from_slice(&V2_SIGNATURE);
    out.push(if local && addrs.is_none() { 0x20 } else { 0x21 });
    let start = out.len();
    let addr_len: usize = match addrs.map(|(s, d)| (unmap(s), unmap(d))) {
        None => {
            out.extend_from_slice(&[0x00, 0, 0]);
            0
        }
        Some((SocketAddr::V4(s), SocketAddr::V4(d))) => {
            out.extend_from_slice(&[0x11, 0, 0]);
            out.extend_from_slice(&s.ip().octets());
            out.extend_from_slice(&d.ip().octets());
            out.extend_from_slice(&s.port().to_be_bytes());
            out.extend_from_slice(&d.port().to_be_bytes());
            12
        }
        Some((s, d)) => {
            out.extend_from_slice(&[0x21, 0, 0]);
            out.extend_from_slice(&v6(s).octets());
            out.extend_from_slice(&v6(d).octets());
            out.extend_from_slice(&s.port().to_be_bytes());
            out.extend_from_slice(&d.port().to_be_bytes());
            36
        }
    };
    let mut len = addr_len;
    for (kind, value) in tlvs {
        let value = value
            .get(..value.len().min(usize::from(u16::MAX)))
            .unwrap_or_default();
        let vlen = u16::try_from(value.len()).unwrap_or(u16::MAX);
        if len + 3 + value.len() > usize::from(u16::MAX) {
            break;
        }
        out.push(*kind);
        out.extend_from_slice(&vlen.to_be_bytes());
        out.extend_from_slice(value);
        len += 3 + value.len();
    }
    let len = u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes();
    if let Some(slot) = out.get_mut(start + 1..start + 3) {
        slot.copy_from_slice(&len);
    }
}

fn unmap(a: SocketAddr) -> SocketAddr {
    match a {
        SocketAddr::V6(v) => match v.ip().to_ipv4_mapped() {
            Some(ip) => SocketAddr::new(ip.into(), v.port()),
            None => a,
        },
        v4 => v4,
    }
}

fn v6(a: SocketAddr) -> std::net::Ipv6Addr {
    match a {
        SocketAddr::V4(v) => v.ip().to_ipv6_mapped(),
        SocketAddr::V6(v) => *v.ip(),
    }
}

#[cfg(test)]
mod tests;
