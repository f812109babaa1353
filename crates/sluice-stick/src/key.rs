//! Table keys: the `type` of a `stick-table` line and the values stored under it.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Default length of `string` and `binary` keys (HAProxy's).
pub const DEFAULT_KEY_LEN: usize = 32;

/// A table's key type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    /// IPv4 addresses (IPv6 ones that map IPv4 addresses are converted).
    Ip,
    /// IPv6 addresses (IPv4 ones are stored as IPv4-mapped).
    Ipv6,
    /// Signed 32-bit integers.
    Integer,
    /// Text up to `len` bytes (longer text is cut).
    String {
        /// The longest key kept.
        len: usize,
    },
    /// Bytes, `len` of them (shorter values are padded with zeros).
    Binary {
        /// The key length.
        len: usize,
    },
}

impl KeyType {
    /// The name `show table` prints.
    pub fn name(self) -> &'static str {
        match self {
            KeyType::Ip => "ip",
            KeyType::Ipv6 => "ipv6",
            KeyType::Integer => "integer",
            KeyType::String { .. } => "string",
            KeyType::Binary { .. } => "binary",
        }
    }
}

/// One key, already converted to its table's type.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// An `ip` table's key.
    Ipv4(Ipv4Addr),
    /// An `ipv6` table's key.
    Ipv6(Ipv6Addr),
    /// An `integer` table's key.
    Int(i32),
    /// A `string` table's key.
    Str(Box<str>),
    /// A `binary` table's key.
    Bin(Box<[u8]>),
}

/// A value offered as a key, before conversion to a table's type.
#[derive(Clone, Copy, Debug)]
pub enum Sample<'a> {
    /// An address.
    Ip(IpAddr),
    /// An integer.
    Int(i64),
    /// Text.
    Str(&'a [u8]),
    /// Bytes.
    Bin(&'a [u8]),
}

impl KeyType {
    /// Converts `sample` to a key of this type, as HAProxy casts samples to table keys;
    /// `None` when it cannot be (text that is no address for an `ip` table...).
    pub fn key(self, sample: Sample<'_>) -> Option<Key> {
        match (self, sample) {
            (KeyType::Ip, Sample::Ip(IpAddr::V4(a))) => Some(Key::Ipv4(a)),
            (KeyType::Ip, Sample::Ip(IpAddr::V6(a))) => a.to_ipv4_mapped().map(Key::Ipv4),
            (KeyType::Ip, Sample::Str(s)) => match std::str::from_utf8(s).ok()?.trim().parse() {
                Ok(IpAddr::V4(a)) => Some(Key::Ipv4(a)),
                Ok(IpAddr::V6(a)) => a.to_ipv4_mapped().map(Key::Ipv4),
                Err(_) => None,
            },
            (KeyType::Ip, Sample::Int(i)) => u32::try_from(i).ok().map(|i| Key::Ipv4(i.into())),
            (KeyType::Ipv6, Sample::Ip(IpAddr::V4(a))) => Some(Key::Ipv6(a.to_ipv6_mapped())),
            (KeyType::Ipv6, Sample::Ip(IpAddr::V6(a))) => Some(Key::Ipv6(a)),
            (KeyType::Ipv6, Sample::Str(s)) => match std::str::from_utf8(s).ok()?.trim().parse() {
                Ok(IpAddr::V4(a)) => Some(Key::Ipv6(a.to_ipv6_mapped())),
                Ok(IpAddr::V6(a)) => Some(Key::Ipv6(a)),
                Err(_) => None,
            },
            (KeyType::Integer, Sample::Int(i)) => Some(Key::Int(i as i32)),
            (KeyType::Integer, Sample::Str(s)) => {
                let t = std::str::from_utf8(s).ok()?.trim();
                t.parse::<i64>().ok().map(|i| Key::Int(i as i32))
            }
            (KeyType::Integer, Sample::Ip(IpAddr::V4(a))) => Some(Key::Int(u32::from(a) as i32)),
            (KeyType::String { len }, s) => {
                let mut text = match s {
                    Sample::Str(b) | Sample::Bin(b) => String::from_utf8_lossy(b).into_owned(),
                    Sample::Ip(a) => a.to_string(),
                    Sample::Int(i) => i.to_string(),
                };
                if text.len() > len {
                    let mut cut = len;
                    while !text.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    text.truncate(cut);
                }
                Some(Key::Str(text.into()))
            }
            (KeyType::Binary { len }, s) => {
                let mut bytes = match s {
                    Sample::Str(b) | Sample::Bin(b) => b.to_vec(),
                    Sample::Ip(IpAddr::V4(a)) => a.octets().to_vec(),
                    Sample::Ip(IpAddr::V6(a)) => a.octets().to_vec(),
                    Sample::Int(i) => i.to_be_bytes().to_vec(),
                };
                bytes.resize(len, 0);
                Some(Key::Bin(bytes.into()))
            }
            _ => None,
        }
    }

    /// Parses a key as the runtime API writes it (`key 192.0.2.1`, `key 42`, hex for
    /// binary tables).
    pub fn parse(self, text: &str) -> Option<Key> {
        match self {
            KeyType::Binary { .. } => {
                let bytes = hex(text)?;
                self.key(Sample::Bin(&bytes))
            }
            KeyType::Integer => text.trim().parse::<i64>().ok().map(|i| Key::Int(i as i32)),
            _ => self.key(Sample::Str(text.as_bytes())),
        }
    }
}

fn hex(text: &str) -> Option<Vec<u8>> {
    let t = text.as_bytes();
    if t.len() % 2 != 0 {
        return None;
    }
    t.chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
        .collect()
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Ipv4(a) => write!(f, "{a}"),
            Key::Ipv6(a) => write!(f, "{a}"),
            Key::Int(i) => write!(f, "{i}"),
            Key::Str(s) => f.write_str(s),
            Key::Bin(b) => {
                for byte in b.iter() {
                    write!(f, "{byte:02x}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_convert_between_families() {
        let v4: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(
            KeyType::Ipv6.key(Sample::Ip(v4)).unwrap().to_string(),
            "::ffff:192.0.2.1"
        );
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(
            KeyType::Ip.key(Sample::Ip(mapped)).unwrap().to_string(),
            "192.0.2.1"
        );
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert!(KeyType::Ip.key(Sample::Ip(v6)).is_none());
    }

    #[test]
    fn strings_are_cut_and_binaries_padded() {
        let k = KeyType::String { len: 3 }
            .key(Sample::Str(b"abcdef"))
            .unwrap();
        assert_eq!(k.to_string(), "abc");
        let k = KeyType::Binary { len: 4 }
            .key(Sample::Bin(b"\x01"))
            .unwrap();
        assert_eq!(k.to_string(), "01000000");
        assert_eq!(KeyType::Binary { len: 4 }.parse("01000000"), Some(k));
        assert_eq!(KeyType::Integer.parse("42"), Some(Key::Int(42)));
    }
}
