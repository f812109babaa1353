//! Converter implementations (see [`registry::CONVERTERS`](super::registry::CONVERTERS)).
//! Arithmetic never panics: overflow wraps as in HAProxy's 64-bit arithmetic, division or
//! modulo by zero gives no value.

use super::{Arg, Value};
use crate::message::SampleSource;
use regex::bytes::RegexBuilder;
use std::borrow::Cow;
use std::net::IpAddr;

type Out<'a> = Option<Value<'a>>;

fn bytes_of<'v, 'a>(v: &'v Value<'a>) -> &'v [u8] {
    v.as_bytes().unwrap_or(&[])
}

/// Takes the bytes of a string-like value, keeping the borrow.
fn into_cow(v: Value<'_>) -> Option<Cow<'_, [u8]>> {
    match v {
        Value::Str(s) | Value::Bin(s) | Value::Meth(s) => Some(s),
        _ => None,
    }
}

pub(crate) fn lower<'a>(_: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    let s = into_cow(v)?;
    // No copy when there is nothing to change (the common case for host names).
    if !s.iter().any(u8::is_ascii_uppercase) {
        return Some(Value::Str(s));
    }
    Some(Value::Str(Cow::Owned(s.to_ascii_lowercase())))
}

pub(crate) fn upper<'a>(_: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    let s = into_cow(v)?;
    if !s.iter().any(u8::is_ascii_lowercase) {
        return Some(Value::Str(s));
    }
    Some(Value::Str(Cow::Owned(s.to_ascii_uppercase())))
}

pub(crate) fn length<'a>(_: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    Some(Value::Sint(i64::try_from(bytes_of(&v).len()).ok()?))
}

fn trim_set<'a>(args: &[Arg], v: Value<'a>, left: bool) -> Out<'a> {
    let set = args.first().and_then(Arg::bytes).unwrap_or(b" ");
    let s = into_cow(v)?;
    let keep = |b: &u8| !set.contains(b);
    let (start, end) = if left {
        (s.iter().position(keep).unwrap_or(s.len()), s.len())
    } else {
        (0, s.iter().rposition(keep).map_or(0, |e| e + 1))
    };
    Some(Value::Str(match s {
        Cow::Borrowed(b) => Cow::Borrowed(b.get(start..end)?),
        Cow::Owned(o) => Cow::Owned(o.get(start..end)?.to_vec()),
    }))
}

pub(crate) fn ltrim<'a>(args: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    trim_set(args, v, true)
}

pub(crate) fn rtrim<'a>(args: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    trim_set(args, v, false)
}

fn int_op<'a>(
    args: &[Arg],
    v: Value<'a>,
    src: &dyn SampleSource,
    op: fn(i64, i64) -> Option<i64>,
) -> Out<'a> {
    let a = v.to_int()?;
    let b = args.first()?.int(src)?;
    op(a, b).map(Value::Sint)
}

pub(crate) fn add<'a>(args: &'a [Arg], v: Value<'a>, s: &'a dyn SampleSource) -> Out<'a> {
    int_op(args, v, s, |a, b| Some(a.wrapping_add(b)))
}
pub(crate) fn sub<'a>(args: &'a [Arg], v: Value<'a>, s: &'a dyn SampleSource) -> Out<'a> {
    int_op(args, v, s, |a, b| Some(a.wrapping_sub(b)))
}
pub(crate) fn mul<'a>(args: &'a [Arg], v: Value<'a>, s: &'a dyn SampleSource) -> Out<'a> {
    int_op(args, v, s, |a, b| Some(a.wrapping_mul(b)))
}
pub(crate) fn div<'a>(args: &'a [Arg], v: Value<'a>, s: &'a dyn SampleSource) -> Out<'a> {
    int_op(args, v, s, |a, b| a.checked_div(b))
}
pub(crate) fn modulo<'a>(args: &'a [Arg], v: Value<'a>, s: &'a dyn SampleSource) -> Out<'a> {
    int_op(args, v, s, |a, b| a.checked_rem(b))
}
pub(crate) fn and<'a>(args: &'a [Arg], v: Value<'a>, s: &'a dyn SampleSource) -> Out<'a> {
    int_op(args, v, s, |a, b| Some(a & b))
}
pub(crate) fn or<'a>(args: &'a [Arg], v: Value<'a>, s: &'a dyn SampleSource) -> Out<'a> {
    int_op(args, v, s, |a, b| Some(a | b))
}
pub(crate) fn xor<'a>(args: &'a [Arg], v: Value<'a>, s: &'a dyn SampleSource) -> Out<'a> {
    int_op(args, v, s, |a, b| Some(a ^ b))
}
pub(crate) fn neg<'a>(_: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    Some(Value::Sint(v.to_int()?.wrapping_neg()))
}
pub(crate) fn cpl<'a>(_: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    Some(Value::Sint(!v.to_int()?))
}
pub(crate) fn not<'a>(_: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    Some(Value::Bool(v.to_int()? == 0))
}
pub(crate) fn to_bool<'a>(_: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    Some(Value::Bool(v.to_int()? != 0))
}
pub(crate) fn even<'a>(_: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    Some(Value::Bool(v.to_int()? & 1 == 0))
}
pub(crate) fn odd<'a>(_: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    Some(Value::Bool(v.to_int()? & 1 == 1))
}

pub(crate) fn iif<'a>(args: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    let pick = if v.to_bool()? { 0 } else { 1 };
    args.get(pick).and_then(Arg::bytes).map(Value::str)
}

pub(crate) fn hex<'a>(_: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let s = bytes_of(&v);
    let mut out = Vec::with_capacity(s.len() * 2);
    for &b in s {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 15)]);
    }
    Some(Value::Str(Cow::Owned(out)))
}

/// Decodes hexadecimal text (even length).
pub(crate) fn hex_decode(s: &[u8]) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    s.chunks(2)
        .map(|p| Some(nibble(*p.first()?)? << 4 | nibble(*p.get(1)?)?))
        .collect()
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub(crate) fn base64<'a>(_: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    let s = bytes_of(&v);
    let mut out = Vec::with_capacity(s.len().div_ceil(3) * 4);
    for chunk in s.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize]);
            } else {
                out.push(b'=');
            }
        }
    }
    Some(Value::Str(Cow::Owned(out)))
}

pub(crate) fn b64dec<'a>(_: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    let s = bytes_of(&v);
    let s = s
        .strip_suffix(b"==")
        .or_else(|| s.strip_suffix(b"="))
        .unwrap_or(s);
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for &c in s {
        let d = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = acc << 6 | u32::from(d);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(Value::Bin(Cow::Owned(out)))
}

pub(crate) fn prepare_json(args: &mut [Arg]) -> Result<(), String> {
    match args.first().and_then(Arg::bytes) {
        None | Some(b"" | b"ascii" | b"utf8" | b"utf8s" | b"utf8p" | b"utf8ps") => Ok(()),
        Some(other) => Err(format!(
            "json: unexpected input code '{}' (expects 'ascii', 'utf8', 'utf8s', 'utf8p' or 'utf8ps')",
            String::from_utf8_lossy(other)
        )),
    }
}

/// JSON string escaping. Every mode escapes controls, quotes and backslashes; `ascii` also
/// escapes bytes above 127, the utf8 modes pass valid UTF-8 through.
pub(crate) fn json<'a>(args: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    use std::io::Write;
    let ascii = !matches!(args.first().and_then(Arg::bytes), Some(m) if m.starts_with(b"utf8"));
    let s = bytes_of(&v);
    let mut out = Vec::with_capacity(s.len() + 8);
    let text = String::from_utf8_lossy(s);
    for ch in text.chars() {
        match ch {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '/' => out.extend_from_slice(b"\\/"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            c if (c as u32) < 0x20 || (ascii && (c as u32) > 0x7e) => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{:04x}", u);
                }
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    Some(Value::Str(Cow::Owned(out)))
}

/// `field(n,delims[,count])` / `word(...)`: the n-th part (negative: from the end); `word`
/// skips empty parts.
fn split_pick<'a>(args: &[Arg], v: Value<'a>, skip_empty: bool) -> Out<'a> {
    let n = match args.first()? {
        Arg::Int(n) => *n,
        _ => return None,
    };
    let delims = args.get(1).and_then(Arg::bytes)?;
    let count = match args.get(2) {
        Some(Arg::Int(c)) if *c > 0 => *c as usize,
        _ => 1,
    };
    let s = into_cow(v)?;
    let bytes: &[u8] = &s;
    let parts: Vec<(usize, usize)> = {
        let mut parts = Vec::new();
        let mut start = 0;
        for (i, b) in bytes.iter().enumerate() {
            if delims.contains(b) {
                parts.push((start, i));
                start = i + 1;
            }
        }
        parts.push((start, bytes.len()));
        if skip_empty {
            parts.retain(|(a, b)| a < b);
        }
        parts
    };
    if n == 0 {
        return None;
    }
    let len = parts.len();
    let first = if n > 0 {
        usize::try_from(n - 1).ok()?
    } else {
        len.checked_sub(usize::try_from(n.unsigned_abs()).ok()?)?
    };
    let (lo, hi) = if n > 0 {
        (first, first.saturating_add(count).min(len).checked_sub(1)?)
    } else {
        (first.saturating_sub(count - 1), first)
    };
    let (start, _) = *parts.get(lo)?;
    let (_, end) = *parts.get(hi)?;
    Some(Value::Str(match s {
        Cow::Borrowed(b) => Cow::Borrowed(b.get(start..end)?),
        Cow::Owned(o) => Cow::Owned(o.get(start..end)?.to_vec()),
    }))
}

pub(crate) fn field<'a>(args: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    split_pick(args, v, false)
}

pub(crate) fn word<'a>(args: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    split_pick(args, v, true)
}

pub(crate) fn prepare_regsub(args: &mut [Arg]) -> Result<(), String> {
    let flags = args.get(2).and_then(Arg::bytes).unwrap_or(b"").to_vec();
    if let Some(bad) = flags.iter().find(|f| !matches!(f, b'g' | b'i')) {
        return Err(format!(
            "regsub: invalid flag '{}' (expects 'g' and/or 'i')",
            *bad as char
        ));
    }
    if flags.contains(&b'i') {
        if let Some(Arg::Regex(re)) = args.first() {
            let rebuilt = RegexBuilder::new(re.as_str())
                .case_insensitive(true)
                .build()
                .map_err(|e| format!("regsub: {e}"))?;
            if let Some(first) = args.first_mut() {
                *first = Arg::Regex(rebuilt);
            }
        }
    }
    Ok(())
}

/// Expands `\N` references of `subst` with `caps` into `out`.
pub(crate) fn expand(subst: &[u8], caps: &regex::bytes::Captures<'_>, out: &mut Vec<u8>) {
    let mut i = 0;
    while let Some(&b) = subst.get(i) {
        if b == b'\\' {
            if let Some(d) = subst.get(i + 1).filter(|d| d.is_ascii_digit()) {
                if let Some(m) = caps.get(usize::from(d - b'0')) {
                    out.extend_from_slice(m.as_bytes());
                }
                i += 2;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
}

pub(crate) fn regsub<'a>(args: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    let Some(Arg::Regex(re)) = args.first() else {
        return None;
    };
    let subst = args.get(1).and_then(Arg::bytes).unwrap_or(b"");
    let global = args
        .get(2)
        .and_then(Arg::bytes)
        .is_some_and(|f| f.contains(&b'g'));
    let s = into_cow(v)?;
    if !re.is_match(&s) {
        return Some(Value::Str(s));
    }
    let mut out = Vec::with_capacity(s.len());
    let mut last = 0;
    for caps in re.captures_iter(&s) {
        let Some(m) = caps.get(0) else { continue };
        out.extend_from_slice(s.get(last..m.start())?);
        expand(subst, &caps, &mut out);
        last = m.end();
        if !global {
            break;
        }
    }
    out.extend_from_slice(s.get(last..)?);
    Some(Value::Str(Cow::Owned(out)))
}

pub(crate) fn prepare_ipmask(args: &mut [Arg]) -> Result<(), String> {
    match args.first() {
        Some(Arg::Mask(_)) => Ok(()),
        _ => Err("ipmask: expects an IPv4 mask".into()),
    }
}

pub(crate) fn ipmask<'a>(args: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    let ip = v.to_ip()?;
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    match (ip, args.first(), args.get(1)) {
        (IpAddr::V4(_), Some(Arg::Mask(m)), _) => {
            let net = ipnet::IpNet::new(ip, m.prefix_len()).ok()?;
            Some(Value::Ip(net.network()))
        }
        (IpAddr::V6(_), _, Some(Arg::Mask(m))) => {
            let net = ipnet::IpNet::new(ip, m.prefix_len()).ok()?;
            Some(Value::Ip(net.network()))
        }
        // No IPv6 mask: IPv6 addresses do not convert.
        _ => None,
    }
}

pub(crate) fn bytes<'a>(args: &'a [Arg], v: Value<'a>, src: &'a dyn SampleSource) -> Out<'a> {
    let off = usize::try_from(args.first()?.int(src)?).ok()?;
    let s = into_cow(v)?;
    let end = match args.get(1) {
        Some(Arg::None) | None => s.len(),
        Some(a) => off
            .saturating_add(usize::try_from(a.int(src)?).ok()?)
            .min(s.len()),
    };
    if off > s.len() {
        return None;
    }
    let end = end.max(off);
    Some(Value::Bin(match s {
        Cow::Borrowed(b) => Cow::Borrowed(b.get(off..end)?),
        Cow::Owned(o) => Cow::Owned(o.get(off..end)?.to_vec()),
    }))
}

pub(crate) fn concat<'a>(args: &'a [Arg], v: Value<'a>, src: &'a dyn SampleSource) -> Out<'a> {
    let mut out = bytes_of(&v).to_vec();
    let mut tail = Vec::new();
    if let Some(p) = args.first().and_then(Arg::bytes) {
        let mut o = p.to_vec();
        o.append(&mut out);
        out = o;
    }
    if let Some(Arg::Var(name)) = args.get(1) {
        if let Some(val) = src.vars().and_then(|vars| vars.get(name)) {
            val.write_to(&mut tail);
        }
    }
    out.append(&mut tail);
    if let Some(sfx) = args.get(2).and_then(Arg::bytes) {
        out.extend_from_slice(sfx);
    }
    Some(Value::Str(Cow::Owned(out)))
}

pub(crate) fn host_only<'a>(_: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    let s = into_cow(v)?;
    let end = host_end(&s);
    Some(Value::Str(match s {
        Cow::Borrowed(b) => Cow::Borrowed(b.get(..end)?),
        Cow::Owned(o) => Cow::Owned(o.get(..end)?.to_vec()),
    }))
}

pub(crate) fn port_only<'a>(_: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    let s = bytes_of(&v);
    let end = host_end(s);
    let port = s.get(end..)?.strip_prefix(b":")?;
    super::value::parse_int_prefix(port).map(Value::Sint)
}

/// End of the host part of `host[:port]` or `[v6][:port]`.
fn host_end(s: &[u8]) -> usize {
    if s.first() == Some(&b'[') {
        return s.iter().position(|&b| b == b']').map_or(s.len(), |p| p + 1);
    }
    match s.iter().rposition(|&b| b == b':') {
        Some(p) if s.iter().filter(|&&b| b == b':').count() == 1 => p,
        _ => s.len(),
    }
}

pub(crate) fn url_dec<'a>(args: &'a [Arg], v: Value<'a>, src: &'a dyn SampleSource) -> Out<'a> {
    let plus_is_space = args
        .first()
        .and_then(|a| a.int(src))
        .is_some_and(|i| i != 0);
    let s = into_cow(v)?;
    if !s.iter().any(|&b| b == b'%' || (plus_is_space && b == b'+')) {
        return Some(Value::Str(s));
    }
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        match b {
            b'%' => {
                let h = s.get(i + 1..i + 3).and_then(hex_decode)?;
                out.extend_from_slice(&h);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some(Value::Str(Cow::Owned(out)))
}

pub(crate) fn url_enc<'a>(_: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    use std::io::Write;
    let s = bytes_of(&v);
    let mut out = Vec::with_capacity(s.len());
    for &b in s {
        // Query-string encoding: unreserved characters pass through.
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    Some(Value::Str(Cow::Owned(out)))
}

pub(crate) fn param<'a>(args: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    let name = args.first().and_then(Arg::bytes);
    let delim = args
        .get(1)
        .and_then(Arg::bytes)
        .and_then(|d| d.first().copied())
        .unwrap_or(b'&');
    let s = into_cow(v)?;
    let mut found: Option<(usize, usize)> = None;
    let base = s.as_ptr() as usize;
    super::fetch::params(&s, name, delim, false, &mut |val| {
        if let Some(b) = val.as_bytes() {
            if let Some(start) = (b.as_ptr() as usize).checked_sub(base) {
                found = Some((start, start + b.len()));
            }
        }
        true
    });
    let (start, end) = found?;
    Some(Value::Str(match s {
        Cow::Borrowed(b) => Cow::Borrowed(b.get(start..end)?),
        Cow::Owned(o) => Cow::Owned(o.get(start..end)?.to_vec()),
    }))
}

/// Bob Jenkins' 32-bit integer mix, HAProxy's "avalanche" for hash converters.
fn avalanche(mut a: u32) -> u32 {
    a = a.wrapping_add(0x7ed5_5d16).wrapping_add(a << 12);
    a = (a ^ 0xc761_c23c) ^ (a >> 19);
    a = a.wrapping_add(0x1656_67b1).wrapping_add(a << 5);
    a = a.wrapping_add(0xd3a2_646c) ^ (a << 9);
    a = a.wrapping_add(0xfd70_46c5).wrapping_add(a << 3);
    a = (a ^ 0xb55a_4f09) ^ (a >> 16);
    a
}

fn hashed<'a>(args: &[Arg], h: u32) -> Out<'a> {
    let h = match args.first() {
        Some(Arg::Int(i)) if *i != 0 => avalanche(h),
        _ => h,
    };
    Some(Value::Sint(i64::from(h)))
}

/// CRC-32 (IEEE 802.3), as `hash_crc32`.
pub(crate) fn crc32_of(s: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in s {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

pub(crate) fn crc32<'a>(args: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    hashed(args, crc32_of(bytes_of(&v)))
}

pub(crate) fn djb2<'a>(args: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    let h = bytes_of(&v).iter().fold(5381u32, |h, &b| {
        h.wrapping_mul(33).wrapping_add(u32::from(b))
    });
    hashed(args, h)
}

pub(crate) fn sdbm<'a>(args: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    let h = bytes_of(&v).iter().fold(0u32, |h, &b| {
        u32::from(b)
            .wrapping_add(h << 6)
            .wrapping_add(h << 16)
            .wrapping_sub(h)
    });
    hashed(args, h)
}

pub(crate) fn wt6<'a>(args: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    let (mut h0, mut h1) = (0xa53c_965au32, 0x5ca6_953au32);
    let (mut step0, mut step1) = (6u32, 18u32);
    for &b in bytes_of(&v) {
        let t = u32::from(b);
        h0 = !(h0 ^ t);
        h1 = !(h1.wrapping_add(t));
        let t = h1.rotate_left(step0);
        h1 = h0.rotate_left(step1);
        h0 = t;
        let t = ((h0 >> 16) ^ h1) & 0xffff;
        step0 = t & 0x1f;
        step1 = t >> 11;
    }
    hashed(args, h0 ^ h1)
}

pub(crate) fn sha1<'a>(_: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    use sha1::Digest;
    Some(Value::Bin(Cow::Owned(
        sha1::Sha1::digest(bytes_of(&v)).to_vec(),
    )))
}

pub(crate) fn prepare_sha2(args: &mut [Arg]) -> Result<(), String> {
    match args.first() {
        None | Some(Arg::None) | Some(Arg::Int(224 | 256 | 384 | 512)) => Ok(()),
        _ => Err("sha2: bits must be 224, 256, 384 or 512".into()),
    }
}

fn sha2_bits(bits: i64, data: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    match bits {
        224 => sha2::Sha224::digest(data).to_vec(),
        384 => sha2::Sha384::digest(data).to_vec(),
        512 => sha2::Sha512::digest(data).to_vec(),
        _ => sha2::Sha256::digest(data).to_vec(),
    }
}

pub(crate) fn sha2<'a>(args: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    let bits = match args.first() {
        Some(Arg::Int(b)) => *b,
        _ => 256,
    };
    Some(Value::Bin(Cow::Owned(sha2_bits(bits, bytes_of(&v)))))
}

pub(crate) fn prepare_digest(args: &mut [Arg]) -> Result<(), String> {
    match args.first().and_then(Arg::bytes) {
        Some(b"sha1" | b"sha224" | b"sha256" | b"sha384" | b"sha512") => Ok(()),
        Some(other) => Err(format!(
            "digest: algorithm '{}' is not supported by Sluice (sha1, sha224, sha256, sha384, sha512)",
            String::from_utf8_lossy(other)
        )),
        None => Err("digest: missing algorithm".into()),
    }
}

pub(crate) fn digest<'a>(args: &'a [Arg], v: Value<'a>, s: &'a dyn SampleSource) -> Out<'a> {
    match args.first().and_then(Arg::bytes)? {
        b"sha1" => sha1(args, v, s),
        algo => {
            let bits = std::str::from_utf8(algo.get(3..)?).ok()?.parse().ok()?;
            Some(Value::Bin(Cow::Owned(sha2_bits(bits, bytes_of(&v)))))
        }
    }
}

pub(crate) fn map<'a>(args: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    let Some(Arg::Map(m)) = args.first() else {
        return None;
    };
    match m.lookup(&v) {
        Some(found) => Some(found),
        None => m.default_value(args.get(1)),
    }
}

pub(crate) fn map_regm<'a>(args: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    let Some(Arg::Map(m)) = args.first() else {
        return None;
    };
    match m.lookup_regm(bytes_of(&v)) {
        Some(found) => Some(found),
        None => m.default_value(args.get(1)),
    }
}

/// Stands for an ignored converter: no value.
pub(crate) fn nothing<'a>(_: &'a [Arg], _: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    None
}

fn seed(args: &[Arg]) -> u64 {
    match args.first() {
        Some(Arg::Int(i)) => *i as u64,
        _ => 0,
    }
}

pub(crate) fn xxh32<'a>(args: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    // HAProxy truncates the seed to 32 bits.
    let h = xxhash_rust::xxh32::xxh32(bytes_of(&v), seed(args) as u32);
    Some(Value::Sint(i64::from(h)))
}

pub(crate) fn xxh64<'a>(args: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    // A signed integer sample: HAProxy keeps the 64 bits and reads them as signed.
    let h = xxhash_rust::xxh64::xxh64(bytes_of(&v), seed(args));
    Some(Value::Sint(h as i64))
}
