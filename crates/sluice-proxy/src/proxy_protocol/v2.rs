//! The binary header: the 12-byte signature, version and command, family and transport,
//! the length of what follows, the addresses, then TLVs.

use super::{
    starts_like, Addresses, Command, Error, Header, Parsed, Transport, V2_FIXED_LEN, V2_SIGNATURE,
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

pub const TYPE_ALPN: u8 = 0x01;
pub const TYPE_AUTHORITY: u8 = 0x02;
pub const TYPE_CRC32C: u8 = 0x03;
pub const TYPE_NOOP: u8 = 0x04;
pub const TYPE_UNIQUE_ID: u8 = 0x05;
pub const TYPE_SSL: u8 = 0x20;
pub const SUBTYPE_SSL_VERSION: u8 = 0x21;
pub const SUBTYPE_SSL_CN: u8 = 0x22;
pub const SUBTYPE_SSL_CIPHER: u8 = 0x23;
pub const SUBTYPE_SSL_SIG_ALG: u8 = 0x24;
pub const SUBTYPE_SSL_KEY_ALG: u8 = 0x25;
pub const TYPE_NETNS: u8 = 0x30;

/// The longest TLV value accepted (HAProxy refuses more, to bound what a client makes it
/// allocate).
pub const MAX_TLV_LEN: usize = 1024;
/// The longest `PP2_TYPE_AUTHORITY` accepted.
pub const MAX_AUTHORITY_LEN: usize = 255;
/// The longest `PP2_TYPE_UNIQUE_ID` accepted (HAProxy's unique ID buffer).
pub const MAX_UNIQUE_ID_LEN: usize = 128;

/// Length of the address block by family.
const INET_LEN: usize = 12;
const INET6_LEN: usize = 36;
const UNIX_LEN: usize = 216;

/// Parses a v2 header at the start of `buf`.
pub fn parse(buf: &[u8]) -> Parsed<'_> {
    if !starts_like(buf, &V2_SIGNATURE) {
        return Parsed::Error(Error::NotProxy);
    }
    // Version and command are checked as soon as they are there.
    if let Some(&vc) = buf.get(12) {
        if vc >> 4 != 2 {
            return Parsed::Error(Error::BadVersion);
        }
        if vc & 0x0f > 1 {
            return Parsed::Error(Error::BadCommand);
        }
    }
    let (Some(&vc), Some(&fam), Some(&hi), Some(&lo)) =
        (buf.get(12), buf.get(13), buf.get(14), buf.get(15))
    else {
        return Parsed::Partial;
    };
    let command = if vc & 0x0f == 0 {
        Command::Local
    } else {
        Command::Proxy
    };
    let transport = match fam & 0x0f {
        0 => Transport::Unspec,
        1 => Transport::Stream,
        2 => Transport::Dgram,
        _ => return Parsed::Error(Error::BadFamily),
    };
    let need = match fam >> 4 {
        0 => 0,
        1 => INET_LEN,
        2 => INET6_LEN,
        3 => UNIX_LEN,
        _ => return Parsed::Error(Error::BadFamily),
    };
    let len = usize::from(u16::from_be_bytes([hi, lo]));
    if len < need {
        return Parsed::Error(Error::BadLength);
    }
    let Some(body) = buf.get(V2_FIXED_LEN..V2_FIXED_LEN + len) else {
        return Parsed::Partial;
    };
    let (addr, tlvs) = body.split_at(need);
    let addresses = match fam >> 4 {
        1 => inet(addr, 4),
        2 => inet(addr, 16),
        3 => {
            let (src, dst) = addr.split_at(UNIX_LEN / 2);
            Some(Addresses::Unix {
                src: until_nul(src),
                dst: until_nul(dst),
            })
        }
        _ => Some(Addresses::Unknown),
    };
    let Some(addresses) = addresses else {
        return Parsed::Error(Error::BadAddress);
    };
    let whole = buf.get(..V2_FIXED_LEN + len).unwrap_or_default();
    if !tlvs_valid(whole, V2_FIXED_LEN + need) {
        return Parsed::Error(Error::BadTlv);
    }
    Parsed::Complete {
        len: V2_FIXED_LEN + len,
        header: Header {
            version: 2,
            command,
            transport,
            addresses,
            tlvs,
        },
    }
}

/// Source and destination addresses then ports, all in network order.
fn inet(addr: &[u8], ip_len: usize) -> Option<Addresses<'static>> {
    let ip = |at: usize| -> Option<IpAddr> {
        let b = addr.get(at..at + ip_len)?;
        Some(if ip_len == 4 {
            IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(b).ok()?))
        } else {
            IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(b).ok()?))
        })
    };
    let port = |at: usize| -> Option<u16> {
        let b = addr.get(at..at + 2)?;
        Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
    };
    let ports = 2 * ip_len;
    Some(Addresses::Inet {
        src: SocketAddr::new(ip(0)?, port(ports)?),
        dst: SocketAddr::new(ip(ip_len)?, port(ports + 2)?),
    })
}

fn until_nul(b: &[u8]) -> &[u8] {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    b.get(..end).unwrap_or(b)
}

/// Whether the TLVs of `header` (from byte `start` on) are a whole number of TLVs (each:
/// type, 16-bit length, value) that HAProxy would accept: no value longer than
/// [`MAX_TLV_LEN`], an authority of at most [`MAX_AUTHORITY_LEN`] bytes, a unique ID of at
/// most [`MAX_UNIQUE_ID_LEN`], and a CRC32C TLV of 4 bytes that matches the whole header
/// (computed with its own value zeroed).
fn tlvs_valid(header: &[u8], start: usize) -> bool {
    let mut at = start;
    while at < header.len() {
        let (Some(&kind), Some(&hi), Some(&lo)) =
            (header.get(at), header.get(at + 1), header.get(at + 2))
        else {
            return false;
        };
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        let value_at = at + 3;
        let Some(value) = header.get(value_at..value_at + len) else {
            return false;
        };
        let ok = match kind {
            TYPE_CRC32C => crc32c_matches(header, value_at, value),
            TYPE_AUTHORITY => len <= MAX_AUTHORITY_LEN,
            TYPE_UNIQUE_ID => len <= MAX_UNIQUE_ID_LEN,
            _ => true,
        };
        if !ok || len > MAX_TLV_LEN {
            return false;
        }
        at = value_at + len;
    }
    true
}

/// Whether the CRC32C TLV `value`, at byte `at` of `header`, is the checksum of `header`
/// with the value's four bytes taken as zeroes.
fn crc32c_matches(header: &[u8], at: usize, value: &[u8]) -> bool {
    let Ok(expected) = <[u8; 4]>::try_from(value) else {
        return false;
    };
    let (Some(before), Some(after)) = (header.get(..at), header.get(at + 4..)) else {
        return false;
    };
    let crc = super::crc32c::Crc32c::new()
        .update(before)
        .update(&[0; 4])
        .update(after)
        .finish();
    crc == u32::from_be_bytes(expected)
}

/// One TLV.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    pub kind: u8,
    pub value: &'a [u8],
}

/// The TLVs of a block, in order; stops at the first one that does not fit.
#[derive(Clone, Debug)]
pub struct Tlvs<'a> {
    rest: &'a [u8],
}

impl<'a> Tlvs<'a> {
    pub fn new(block: &'a [u8]) -> Tlvs<'a> {
        Tlvs { rest: block }
    }
}

impl<'a> Iterator for Tlvs<'a> {
    type Item = Tlv<'a>;

    fn next(&mut self) -> Option<Tlv<'a>> {
        let (&kind, &hi, &lo) = (self.rest.first()?, self.rest.get(1)?, self.rest.get(2)?);
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        let value = self.rest.get(3..3 + len)?;
        self.rest = self.rest.get(3 + len..).unwrap_or_default();
        Some(Tlv { kind, value })
    }
}

/// `PP2_TYPE_SSL`: client flags, verify result, then sub-TLVs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ssl<'a> {
    pub client: u8,
    pub verify: u32,
    pub sub: &'a [u8],
}

impl<'a> Ssl<'a> {
    /// Reads the SSL TLV's value; `None` when shorter than its fixed part.
    pub fn parse(value: &'a [u8]) -> Option<Ssl<'a>> {
        let client = *value.first()?;
        let v = value.get(1..5)?;
        let verify = u32::from_be_bytes(<[u8; 4]>::try_from(v).ok()?);
        Some(Ssl {
            client,
            verify,
            sub: value.get(5..).unwrap_or_default(),
        })
    }

    /// Whether the client connected over TLS (`PP2_CLIENT_SSL`).
    pub fn is_tls(&self) -> bool {
        self.client & 0x01 != 0
    }

    /// The value of the first sub-TLV of type `kind` (`SUBTYPE_SSL_*`).
    pub fn get(&self, kind: u8) -> Option<&'a [u8]> {
        Tlvs::new(self.sub)
            .find(|t| t.kind == kind)
            .map(|t| t.value)
    }
}
