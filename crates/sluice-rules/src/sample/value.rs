//! Sample values and HAProxy's casts between sample types.

use std::borrow::Cow;
use std::net::IpAddr;

/// The type of a sample, as HAProxy's manual names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SampleType {
    /// `boolean`.
    Bool,
    /// `integer` (signed 64 bits).
    Sint,
    /// `string`.
    Str,
    /// `ip` (IPv4 or IPv6).
    Ip,
    /// `binary`.
    Bin,
    /// `method` (an HTTP method, matched as a string).
    Meth,
    /// Any type (converters such as `bool` or `iif` that accept several).
    Any,
}

impl SampleType {
    /// The name the manual uses.
    pub fn name(self) -> &'static str {
        match self {
            SampleType::Bool => "boolean",
            SampleType::Sint => "integer",
            SampleType::Str => "string",
            SampleType::Ip => "ip",
            SampleType::Bin => "binary",
            SampleType::Meth => "method",
            SampleType::Any => "any",
        }
    }

    /// Whether a value of type `self` can be cast to `to` (HAProxy's `sample_casts` table,
    /// reduced to the types Sluice has).
    pub fn casts_to(self, to: SampleType) -> bool {
        use SampleType::*;
        if self == to || to == Any || self == Any {
            return true;
        }
        matches!(
            (self, to),
            (Bool, Sint | Str | Bin)
                | (Sint, Bool | Str | Bin | Ip)
                | (Str, Sint | Ip | Bin | Meth)
                | (Ip, Str | Bin)
                | (Bin, Str)
                | (Meth, Str | Bin)
        )
    }
}

/// One sample. Strings borrow from the message when a fetch can, converters produce owned
/// values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Sint(i64),
    /// A string (bytes: header values need not be UTF-8).
    Str(Cow<'a, [u8]>),
    /// An address.
    Ip(IpAddr),
    /// Binary data.
    Bin(Cow<'a, [u8]>),
    /// An HTTP method.
    Meth(Cow<'a, [u8]>),
}

/// A value that owns its bytes (variables, pre-parsed constants).
pub type OwnedValue = Value<'static>;

impl<'a> Value<'a> {
    /// The value's type.
    pub fn kind(&self) -> SampleType {
        match self {
            Value::Bool(_) => SampleType::Bool,
            Value::Sint(_) => SampleType::Sint,
            Value::Str(_) => SampleType::Str,
            Value::Ip(_) => SampleType::Ip,
            Value::Bin(_) => SampleType::Bin,
            Value::Meth(_) => SampleType::Meth,
        }
    }

    /// A string value borrowing `bytes`.
    pub fn str(bytes: &'a [u8]) -> Self {
        Value::Str(Cow::Borrowed(bytes))
    }

    /// An owned string value.
    pub fn string(bytes: Vec<u8>) -> Value<'static> {
        Value::Str(Cow::Owned(bytes))
    }

    /// Detaches the value from what it borrows.
    pub fn into_owned(self) -> OwnedValue {
        match self {
            Value::Bool(b) => Value::Bool(b),
            Value::Sint(i) => Value::Sint(i),
            Value::Ip(ip) => Value::Ip(ip),
            Value::Str(s) => Value::Str(Cow::Owned(s.into_owned())),
            Value::Bin(s) => Value::Bin(Cow::Owned(s.into_owned())),
            Value::Meth(s) => Value::Meth(Cow::Owned(s.into_owned())),
        }
    }

    /// A copy that borrows from `self`.
    pub fn reborrow(&self) -> Value<'_> {
        match self {
            Value::Bool(b) => Value::Bool(*b),
            Value::Sint(i) => Value::Sint(*i),
            Value::Ip(ip) => Value::Ip(*ip),
            Value::Str(s) => Value::Str(Cow::Borrowed(s)),
            Value::Bin(s) => Value::Bin(Cow::Borrowed(s)),
            Value::Meth(s) => Value::Meth(Cow::Borrowed(s)),
        }
    }

    /// The bytes of a string-like value, without conversion.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Str(s) | Value::Bin(s) | Value::Meth(s) => Some(s),
            _ => None,
        }
    }

    /// Casts to a string (integers and addresses are formatted).
    pub fn to_str(self) -> Option<Value<'a>> {
        Some(match self {
            Value::Str(s) | Value::Bin(s) | Value::Meth(s) => Value::Str(s),
            Value::Bool(b) => Value::Str(Cow::Borrowed(if b { b"1" } else { b"0" })),
            Value::Sint(i) => {
                let mut text = Vec::new();
                crate::text::push_int(&mut text, i);
                Value::Str(Cow::Owned(text))
            }
            Value::Ip(ip) => {
                let mut text = Vec::with_capacity(15);
                crate::text::push_ip(&mut text, ip);
                Value::Str(Cow::Owned(text))
            }
        })
    }

    /// Casts to an integer; a string must be a whole number (HAProxy's `c_str2int` accepts
    /// leading digits only).
    pub fn to_int(&self) -> Option<i64> {
        match self {
            Value::Sint(i) => Some(*i),
            Value::Bool(b) => Some(i64::from(*b)),
            Value::Str(s) => parse_int_prefix(s),
            _ => None,
        }
    }

    /// Casts to a boolean.
    pub fn to_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Sint(i) => Some(*i != 0),
            Value::Str(s) => parse_int_prefix(s).map(|i| i != 0),
            _ => None,
        }
    }

    /// Casts to an address.
    pub fn to_ip(&self) -> Option<IpAddr> {
        match self {
            Value::Ip(ip) => Some(*ip),
            Value::Str(s) => std::str::from_utf8(s).ok()?.trim().parse().ok(),
            Value::Sint(i) => u32::try_from(*i)
                .ok()
                .map(|v| IpAddr::V4(std::net::Ipv4Addr::from(v))),
            _ => None,
        }
    }

    /// Casts to `to`, or `None` when HAProxy has no such cast or it fails.
    pub fn cast(self, to: SampleType) -> Option<Value<'a>> {
        if self.kind() == to || to == SampleType::Any {
            return Some(self);
        }
        match to {
            // As HAProxy: a NUL byte ends the string.
            SampleType::Str => match self {
                Value::Bin(s) => Some(Value::Str(until_nul(s))),
                other => other.to_str(),
            },
            SampleType::Sint => self.to_int().map(Value::Sint),
            SampleType::Bool => self.to_bool().map(Value::Bool),
            SampleType::Ip => self.to_ip().map(Value::Ip),
            SampleType::Bin => match self.to_str()? {
                Value::Str(s) => Some(Value::Bin(s)),
                _ => None,
            },
            SampleType::Meth => match self {
                Value::Str(s) | Value::Bin(s) => Some(Value::Meth(s)),
                _ => None,
            },
            SampleType::Any => Some(self),
        }
    }

    /// Appends the value as a log-format field would print it.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Value::Str(s) | Value::Meth(s) => out.extend_from_slice(s),
            // Printed as cast to a string: up to the first NUL byte.
            Value::Bin(s) => {
                let end = s.iter().position(|&b| b == 0).unwrap_or(s.len());
                out.extend_from_slice(s.get(..end).unwrap_or(&[]));
            }
            Value::Bool(b) => out.push(if *b { b'1' } else { b'0' }),
            Value::Sint(i) => crate::text::push_int(out, *i),
            Value::Ip(ip) => crate::text::push_ip(out, *ip),
        }
    }
}

/// The bytes before the first NUL, keeping the borrow.
fn until_nul(s: Cow<'_, [u8]>) -> Cow<'_, [u8]> {
    match s.iter().position(|&b| b == 0) {
        None => s,
        Some(end) => match s {
            Cow::Borrowed(b) => Cow::Borrowed(b.get(..end).unwrap_or(&[])),
            Cow::Owned(mut o) => {
                o.truncate(end);
                Cow::Owned(o)
            }
        },
    }
}

/// Parses an optional sign and the leading digits of `s` (`"12abc"` gives 12, `"abc"` none).
pub fn parse_int_prefix(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, s.get(1..)?),
        Some(b'+') => (false, s.get(1..)?),
        _ => (false, s),
    };
    let end = digits
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    if end == 0 {
        return None;
    }
    let mut v: i64 = 0;
    for &b in digits.get(..end)? {
        v = v.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    Some(if neg { -v } else { v })
}
