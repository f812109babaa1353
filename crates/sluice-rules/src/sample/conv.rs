//! Converter implementations (see [`registry::CONVERTERS`](super::registry::CONVERTERS)).
//! Arithmetic never panics and follows HAProxy's signed 64-bit rules: results that overflow
//! are capped at the nearest bound, division by zero gives the largest integer and modulo by
//! zero gives zero.

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
    int_op(args, v, s, |a, b| Some(a.saturating_add(b)))
}
pub(crate) fn sub<'a>(args: &'a [Arg], v: Value<'a>, s: &'a dyn SampleSource) -> Out<'a> {
    int_op(args, v, s, |a, b| Some(a.saturating_sub(b)))
}
pub(crate) fn mul<'a>(args: &'a [Arg], v: Value<'a>, s: &'a dyn SampleSource) -> Out<'a> {
    int_op(args, v, s, |a, b| Some(a.saturating_mul(b)))
}
pub(crate) fn div<'a>(args: &'a [Arg], v: Value<'a>, s: &'a dyn SampleSource) -> Out<'a> {
    // By zero: the largest integer; MIN / -1 is capped like any overflow.
    int_op(args, v, s, |a, b| {
        Some(if b == 0 {
            i64::MAX
        } else {
            a.saturating_div(b)
        })
    })
}
pub(crate) fn modulo<'a>(args: &'a [Arg], v: Value<'a>, s: &'a dyn SampleSource) -> Out<'a> {
    // By zero: zero; MIN % -1 is zero as well.
    int_op(args, v, s, |a, b| Some(a.checked_rem(b).unwrap_or(0)))
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
    Some(Value::Sint(v.to_int()?.saturating_neg()))
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

pub(crate) fn base64<'a>(_: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    Some(Value::Str(Cow::Owned(crate::base64::encode(bytes_of(&v)))))
}

pub(crate) fn b64dec<'a>(_: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    crate::base64::decode(bytes_of(&v), true).map(|b| Value::Bin(Cow::Owned(b)))
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

/// How `json` reads its input.
#[derive(Clone, Copy, PartialEq, Eq)]
enum JsonInput {
    Ascii,
    Utf8,
    Utf8S,
    Utf8P,
    Utf8Ps,
}

/// What decoding one UTF-8 character found.
enum Utf8Char {
    /// A valid character.
    Ok(u32),
    /// A character encoded with more bytes than needed (its value).
    Overlong(u32),
    /// A broken sequence or a value JSON cannot carry in one `\uXXXX`.
    Bad,
}

/// Decodes the character at the start of `s` (not empty); returns it and its length.
fn utf8_next(s: &[u8]) -> (Utf8Char, usize) {
    let Some(&lead) = s.first() else {
        return (Utf8Char::Bad, 1);
    };
    let (len, min, init) = match lead {
        0..=0x7f => return (Utf8Char::Ok(u32::from(lead)), 1),
        0xc0..=0xdf => (2, 0x80, u32::from(lead & 0x1f)),
        0xe0..=0xef => (3, 0x800, u32::from(lead & 0x0f)),
        0xf0..=0xf7 => (4, 0x1_0000, u32::from(lead & 0x07)),
        _ => return (Utf8Char::Bad, 1),
    };
    let mut cp = init;
    for i in 1..len {
        match s.get(i) {
            Some(&c) if c & 0xc0 == 0x80 => cp = cp << 6 | u32::from(c & 0x3f),
            _ => return (Utf8Char::Bad, i),
        }
    }
    // JSON escapes carry 16 bits; surrogates are not characters.
    if cp > 0xffff || (0xd800..=0xdfff).contains(&cp) {
        return (Utf8Char::Bad, len);
    }
    if cp < min {
        return (Utf8Char::Overlong(cp), len);
    }
    (Utf8Char::Ok(cp), len)
}

/// JSON string escaping into ASCII: quotes, backslashes, slashes and controls are escaped,
/// characters above 127 become `\uXXXX`. The input mode says how bytes above 127 are read:
/// `ascii` takes each byte as a character; the UTF-8 modes decode, and either fail on a bad
/// sequence (`utf8`, `utf8p`) or drop it (`utf8s`, `utf8ps`); the `p` modes accept overlong
/// encodings.
pub(crate) fn json<'a>(args: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    use std::io::Write;
    let mode = match args.first().and_then(Arg::bytes) {
        Some(b"utf8") => JsonInput::Utf8,
        Some(b"utf8s") => JsonInput::Utf8S,
        Some(b"utf8p") => JsonInput::Utf8P,
        Some(b"utf8ps") => JsonInput::Utf8Ps,
        _ => JsonInput::Ascii,
    };
    let s = bytes_of(&v);
    let mut out = Vec::with_capacity(s.len() + 8);
    let mut i = 0;
    while let Some(rest) = s.get(i..).filter(|r| !r.is_empty()) {
        let c = if mode == JsonInput::Ascii {
            i += 1;
            u32::from(rest[0])
        } else {
            let (c, len) = utf8_next(rest);
            i += len.max(1);
            match c {
                Utf8Char::Ok(c) => c,
                Utf8Char::Overlong(c) if matches!(mode, JsonInput::Utf8P | JsonInput::Utf8Ps) => c,
                Utf8Char::Overlong(_) | Utf8Char::Bad => match mode {
                    JsonInput::Utf8S | JsonInput::Utf8Ps => continue,
                    _ => return None,
                },
            }
        };
        match c {
            0x22 => out.extend_from_slice(b"\\\""),
            0x5c => out.extend_from_slice(b"\\\\"),
            0x2f => out.extend_from_slice(b"\\/"),
            0x0a => out.extend_from_slice(b"\\n"),
            0x0d => out.extend_from_slice(b"\\r"),
            0x09 => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            c if !(0x20..=0x7f).contains(&c) => {
                let _ = write!(out, "\\u{c:04x}");
            }
            c => out.push(c as u8),
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
    // A count of 0 takes every field from the index to the end (to the start for a
    // negative index).
    let count = match args.get(2) {
        Some(Arg::Int(c)) if *c > 0 => usize::try_from(*c).unwrap_or(usize::MAX),
        Some(Arg::Int(0)) => usize::MAX,
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
        (IpAddr::V6(a), _, Some(Arg::Mask(m))) => match m.addr() {
            // A mask written as an address: bitwise.
            IpAddr::V6(mask) if !mask.is_unspecified() => {
                Some(Value::Ip(IpAddr::V6((a.to_bits() & mask.to_bits()).into())))
            }
            _ => {
                let net = ipnet::IpNet::new(ip, m.prefix_len()).ok()?;
                Some(Value::Ip(net.network()))
            }
        },
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

/// `concat([<start>][,<var>][,<end>])`: the input, then `<start>`, the variable and
/// `<end>`, all appended.
pub(crate) fn concat<'a>(args: &'a [Arg], v: Value<'a>, src: &'a dyn SampleSource) -> Out<'a> {
    let mut out = bytes_of(&v).to_vec();
    if let Some(p) = args.first().and_then(Arg::bytes) {
        out.extend_from_slice(p);
    }
    if let Some(Arg::Var(name)) = args.get(1) {
        if let Some(val) = super::read_var(src, name) {
            val.write_to(&mut out);
        }
    }
    if let Some(sfx) = args.get(2).and_then(Arg::bytes) {
        out.extend_from_slice(sfx);
    }
    Some(Value::Str(Cow::Owned(out)))
}

pub(crate) fn host_only<'a>(_: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    let s = into_cow(v)?;
    let end = host_end(&s);
    let host = s.get(..end)?;
    // Lowercased, copying only when needed.
    if host.iter().any(u8::is_ascii_uppercase) {
        return Some(Value::Str(Cow::Owned(host.to_ascii_lowercase())));
    }
    Some(Value::Str(match s {
        Cow::Borrowed(b) => Cow::Borrowed(b.get(..end)?),
        Cow::Owned(o) => Cow::Owned(o.get(..end)?.to_vec()),
    }))
}

pub(crate) fn port_only<'a>(_: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    let s = bytes_of(&v);
    let end = host_end(s);
    // No port: 0.
    let Some(port) = s.get(end..)?.strip_prefix(b":") else {
        return Some(Value::Sint(0));
    };
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
    let in_form = args
        .first()
        .and_then(|a| a.int(src))
        .is_some_and(|i| i != 0);
    let s = into_cow(v)?;
    // Outside a form, `+` means a space only in the query string (after the first `?`).
    let mut plus_is_space = in_form;
    if !s.iter().any(|&b| b == b'%' || b == b'+') {
        return Some(Value::Str(s));
    }
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        match b {
            b'?' => {
                plus_is_space = true;
                out.push(b);
                i += 1;
            }
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
    // The first `name=value` or bare `name` (an empty value).
    let mut found: Option<(usize, usize)> = None;
    let mut at = 0;
    for pair in s.split(|&b| b == delim) {
        let start = at;
        at += pair.len() + 1;
        let (k, vstart) = match pair.iter().position(|&b| b == b'=') {
            Some(eq) => (pair.get(..eq).unwrap_or(&[]), start + eq + 1),
            None => (pair, start + pair.len()),
        };
        if name.is_none_or(|n| n == k) {
            found = Some((vstart, start + pair.len()));
            break;
        }
    }
    let (start, end) = found?;
    Some(Value::Str(match s {
        Cow::Borrowed(b) => Cow::Borrowed(b.get(start..end)?),
        Cow::Owned(o) => Cow::Owned(o.get(start..end)?.to_vec()),
    }))
}

/// Bob Jenkins' 32-bit integer mix then a prime multiply: HAProxy's "avalanche" for hash
/// converters.
fn avalanche(mut a: u32) -> u32 {
    a = a.wrapping_add(0x7ed5_5d16).wrapping_add(a << 12);
    a = (a ^ 0xc761_c23c) ^ (a >> 19);
    a = a.wrapping_add(0x1656_67b1).wrapping_add(a << 5);
    a = a.wrapping_add(0xd3a2_646c) ^ (a << 9);
    a = a.wrapping_add(0xfd70_46c5).wrapping_add(a << 3);
    a = (a ^ 0xb55a_4f09) ^ (a >> 16);
    // Spread over the whole 32-bit space with a large prime, as HAProxy does.
    a.wrapping_mul(3_221_225_473)
}

fn hashed<'a>(args: &[Arg], h: u32) -> Out<'a> {
    let h = match args.first() {
        Some(Arg::Int(i)) if *i != 0 => avalanche(h),
        _ => h,
    };
    Some(Value::Sint(i64::from(h)))
}

/// A reflected CRC-32 of `s` with the (reversed) polynomial `poly`: IEEE 802.3 for `crc32`
/// (`hash_crc32`), Castagnoli for `crc32c` (`hash_crc32c`).
fn crc32_reflected(poly: u32, s: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in s {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ poly
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// CRC-32 (IEEE 802.3), as `hash_crc32`.
pub(crate) fn crc32_of(s: &[u8]) -> u32 {
    crc32_reflected(0xedb8_8320, s)
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

/// `map_<match>_key`: the key of the entry that matched, as written in the file.
pub(crate) fn map_key<'a>(args: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    let Some(Arg::Map(m)) = args.first() else {
        return None;
    };
    m.lookup_key(&v).map(Value::str)
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

/// CRC-32C (Castagnoli), as `hash_crc32c`.
pub(crate) fn crc32c_of(s: &[u8]) -> u32 {
    crc32_reflected(0x82f6_3b78, s)
}

pub(crate) fn crc32c<'a>(args: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    hashed(args, crc32c_of(bytes_of(&v)))
}

pub(crate) fn xxh3<'a>(args: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    let h = xxhash_rust::xxh3::xxh3_64_with_seed(bytes_of(&v), seed(args));
    Some(Value::Sint(h as i64))
}

/// `htonl`: the low 32 bits of the integer as 4 bytes in network order.
pub(crate) fn htonl<'a>(_: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    let n = v.to_int()? as u32;
    Some(Value::Bin(Cow::Owned(n.to_be_bytes().to_vec())))
}

/// `hex2i`: hexadecimal text to an integer; no value when a character is not a hex digit.
pub(crate) fn hex2i<'a>(_: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    let mut n = 0i64;
    for &c in bytes_of(&v) {
        let d = (c as char).to_digit(16)?;
        n = n.wrapping_shl(4).wrapping_add(i64::from(d));
    }
    Some(Value::Sint(n))
}

/// `add_item(delim[,var[,suffix]])`: appends the variable and the suffix, with the delimiter
/// first when the input is not empty and something is appended.
pub(crate) fn add_item<'a>(args: &'a [Arg], v: Value<'a>, src: &'a dyn SampleSource) -> Out<'a> {
    let mut out = into_cow(v)?.into_owned();
    let mut item = Vec::new();
    if let Some(Arg::Var(name)) = args.get(1) {
        if let Some(val) = super::read_var(src, name) {
            val.write_to(&mut item);
        }
    }
    if let Some(sfx) = args.get(2).and_then(Arg::bytes) {
        item.extend_from_slice(sfx);
    }
    if !out.is_empty() && !item.is_empty() {
        out.extend_from_slice(args.first().and_then(Arg::bytes).unwrap_or(b""));
    }
    out.append(&mut item);
    Some(Value::Str(Cow::Owned(out)))
}

pub(crate) fn prepare_add_item(args: &mut [Arg]) -> Result<(), String> {
    let has_var = matches!(args.get(1), Some(Arg::Var(_)));
    let has_suffix = matches!(args.get(2), Some(Arg::Str(_)));
    if has_var || has_suffix {
        Ok(())
    } else {
        Err("add_item: expects a variable, a suffix, or both after the delimiter".into())
    }
}

/// Checks `be2dec`/`le2dec`/`be2hex` chunk sizes (1 to 8 bytes; `be2hex` may omit it).
pub(crate) fn prepare_chunked(args: &mut [Arg]) -> Result<(), String> {
    match args.get(1) {
        None | Some(Arg::None) => Ok(()),
        Some(Arg::Int(1..=8)) => Ok(()),
        Some(_) => Err("chunk size must be between 1 and 8 bytes".into()),
    }
}

/// Splits the input into chunks of `args[1]` bytes (the last one may be shorter unless
/// `args[2]` asks to drop it), renders each with `render` and joins them with `args[0]`.
fn chunked<'a>(args: &[Arg], v: Value<'a>, render: impl Fn(&[u8], &mut Vec<u8>)) -> Out<'a> {
    let sep = args.first().and_then(Arg::bytes).unwrap_or(b"");
    let size = match args.get(1) {
        Some(Arg::Int(n)) => usize::try_from(*n).ok().filter(|n| (1..=8).contains(n))?,
        _ => 1,
    };
    let truncate = matches!(args.get(2), Some(Arg::Int(t)) if *t != 0);
    let s = bytes_of(&v);
    let mut out = Vec::with_capacity(s.len() * 3);
    for (i, chunk) in s.chunks(size).enumerate() {
        if truncate && chunk.len() < size {
            break;
        }
        if i > 0 {
            out.extend_from_slice(sep);
        }
        render(chunk, &mut out);
    }
    Some(Value::Str(Cow::Owned(out)))
}

pub(crate) fn be2dec<'a>(args: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    chunked(args, v, |c, out| {
        let n = c.iter().fold(0u64, |n, &b| n << 8 | u64::from(b));
        out.extend_from_slice(n.to_string().as_bytes());
    })
}

pub(crate) fn le2dec<'a>(args: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    chunked(args, v, |c, out| {
        let n = c.iter().rev().fold(0u64, |n, &b| n << 8 | u64::from(b));
        out.extend_from_slice(n.to_string().as_bytes());
    })
}

pub(crate) fn be2hex<'a>(args: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    chunked(args, v, |c, out| {
        for &b in c {
            out.push(DIGITS[usize::from(b >> 4)]);
            out.push(DIGITS[usize::from(b & 15)]);
        }
    })
}

const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// `ub64enc`: base64url without padding.
pub(crate) fn ub64enc<'a>(_: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    let s = bytes_of(&v);
    let mut out = Vec::with_capacity(s.len().div_ceil(3) * 4);
    for chunk in s.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(B64URL[((n >> (18 - 6 * i)) & 63) as usize]);
        }
    }
    Some(Value::Str(Cow::Owned(out)))
}

/// `ub64dec`: base64url, padding optional; no value on a character outside the alphabet or
/// an impossible length.
pub(crate) fn ub64dec<'a>(_: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    let s = bytes_of(&v);
    let s = s
        .strip_suffix(b"==")
        .or_else(|| s.strip_suffix(b"="))
        .unwrap_or(s);
    if s.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for &c in s {
        let d = B64URL.iter().position(|&a| a == c)? as u32;
        acc = acc << 6 | d;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(Value::Bin(Cow::Owned(out)))
}

/// `strcmp(<var>)`: compares the input with the variable as `strcmp(3)` would (the
/// difference of the first differing bytes, else of the lengths); no value without the
/// variable.
pub(crate) fn strcmp<'a>(args: &'a [Arg], v: Value<'a>, src: &'a dyn SampleSource) -> Out<'a> {
    let Some(Arg::Var(name)) = args.first() else {
        return None;
    };
    let other = src
        .vars()?
        .get(name)?
        .clone()
        .cast(super::SampleType::Str)?;
    let (l, r) = (bytes_of(&v), other.as_bytes()?);
    let diff = l
        .iter()
        .zip(r)
        .find(|(a, b)| a != b)
        .map(|(a, b)| i64::from(*a) - i64::from(*b));
    let len_diff = i64::try_from(l.len()).ok()? - i64::try_from(r.len()).ok()?;
    Some(Value::Sint(diff.unwrap_or(len_diff)))
}

/// `base2`: eight binary digits per input byte.
pub(crate) fn base2<'a>(_: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    let s = bytes_of(&v);
    let mut out = Vec::with_capacity(s.len() * 8);
    for &b in s {
        for bit in (0..8).rev() {
            out.push(if b >> bit & 1 == 1 { b'1' } else { b'0' });
        }
    }
    Some(Value::Str(Cow::Owned(out)))
}

/// `cut_crlf`: the input up to its first CR or LF.
pub(crate) fn cut_crlf<'a>(_: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    let s = into_cow(v)?;
    let end = s
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(s.len());
    Some(Value::Str(match s {
        Cow::Borrowed(b) => Cow::Borrowed(b.get(..end)?),
        Cow::Owned(mut o) => {
            o.truncate(end);
            Cow::Owned(o)
        }
    }))
}

/// The q-factor of an `Accept-Language` item's parameters, in thousandths (1000 when
/// absent).
fn qvalue(params: &[u8]) -> u32 {
    for p in params.split(|&b| b == b';') {
        let p = p.trim_ascii();
        let Some(q) = p.strip_prefix(b"q=").or_else(|| p.strip_prefix(b"Q=")) else {
            continue;
        };
        let (int, frac) = match q.iter().position(|&b| b == b'.') {
            Some(dot) => (&q[..dot], &q[dot + 1..]),
            None => (q, &q[q.len()..]),
        };
        let mut v = if int == b"1" { 1000 } else { 0 };
        for (i, &d) in frac.iter().take(3).enumerate() {
            if !d.is_ascii_digit() {
                break;
            }
            v += u32::from(d - b'0') * [100, 10, 1][i];
        }
        return v.min(1000);
    }
    1000
}

/// `language(<langs>[,<default>])`: the `Accept-Language` value with the highest q-factor
/// among `langs` (`;`-separated); a value with a variant (`es-AR`) also matches its base
/// language when only that is listed.
pub(crate) fn language<'a>(args: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    let list = args.first().and_then(Arg::bytes)?;
    let allowed =
        |lang: &[u8]| -> Option<&'a [u8]> { list.split(|&b| b == b';').find(|l| *l == lang) };
    let mut best: Option<(&'a [u8], u32)> = None;
    for item in bytes_of(&v).split(|&b| b == b',') {
        let item = item.trim_ascii();
        let (lang, params) = match item.iter().position(|&b| b == b';') {
            Some(p) => (item[..p].trim_ascii(), &item[p + 1..]),
            None => (item, &item[item.len()..]),
        };
        let q = qvalue(params);
        if q == 0 || lang.is_empty() {
            continue;
        }
        let found = allowed(lang).or_else(|| {
            let base = lang.split(|&b| b == b'-').next()?;
            allowed(base)
        });
        if let Some(l) = found {
            if best.is_none_or(|(_, bq)| q > bq) {
                best = Some((l, q));
            }
        }
    }
    match best {
        Some((l, _)) => Some(Value::str(l)),
        None => args.get(1).and_then(Arg::bytes).map(Value::str),
    }
}

/// One `tag=value<SOH>` field of a FIX message at `pos`: the tag, the value and where the
/// next field starts. `Err(true)`: the field is incomplete (more data may come);
/// `Err(false)`: malformed.
fn fix_field(s: &[u8], pos: usize) -> Result<(&[u8], &[u8], usize), bool> {
    let rest = s.get(pos..).ok_or(true)?;
    let eq = rest
        .iter()
        .position(|&b| b == b'=' || b == 0x01)
        .ok_or(true)?;
    if rest.get(eq) != Some(&b'=') {
        return Err(false);
    }
    let after = rest.get(eq + 1..).ok_or(true)?;
    let soh = after.iter().position(|&b| b == 0x01).ok_or(true)?;
    let tag = rest.get(..eq).ok_or(false)?;
    let value = after.get(..soh).ok_or(false)?;
    Ok((tag, value, pos + eq + 1 + soh + 1))
}

/// Checks a FIX message: BeginString (a known version), BodyLength (right) and MsgType
/// first, numeric non-empty tags with non-empty values, and a CheckSum field that matches.
/// `None` when the message is not complete yet.
fn fix_check(s: &[u8]) -> Option<bool> {
    let mut pos = 0;
    let mut sum = 0u32;
    let mut body: Option<(usize, usize)> = None;
    for idx in 0.. {
        let (tag, value, next) = match fix_field(s, pos) {
            Ok(f) => f,
            Err(incomplete) => return if incomplete { None } else { Some(false) },
        };
        if tag.is_empty() || !tag.iter().all(u8::is_ascii_digit) || value.is_empty() {
            return Some(false);
        }
        let ok = match (idx, tag) {
            (0, b"8") => matches!(
                value,
                b"FIX.4.0" | b"FIX.4.1" | b"FIX.4.2" | b"FIX.4.3" | b"FIX.4.4" | b"FIXT.1.1"
            ),
            (1, b"9") => {
                let len = std::str::from_utf8(value).ok()?.parse::<usize>().ok();
                body = len.map(|l| (next, l));
                body.is_some()
            }
            (2, b"35") => true,
            (0..=2, _) => false,
            (_, b"10") => {
                let Some((start, len)) = body else {
                    return Some(false);
                };
                let want = format!("{:03}", sum % 256);
                return Some(pos.checked_sub(start) == Some(len) && value == want.as_bytes());
            }
            _ => true,
        };
        if !ok {
            return Some(false);
        }
        sum = s
            .get(pos..next)?
            .iter()
            .fold(sum, |a, &b| a.wrapping_add(u32::from(b)));
        pos = next;
    }
    None
}

pub(crate) fn fix_is_valid<'a>(_: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    fix_check(bytes_of(&v)).map(Value::Bool)
}

/// Turns a FIX tag name `fix_tag_value` knows into its number.
pub(crate) fn prepare_fix_tag(args: &mut [Arg]) -> Result<(), String> {
    let Some(Arg::Str(tag)) = args.first() else {
        return Err("fix_tag_value: missing tag".into());
    };
    let number: &[u8] = match &tag[..] {
        b"BeginString" => b"8",
        b"BodyLength" => b"9",
        b"MsgType" => b"35",
        b"SenderCompID" => b"49",
        b"TargetCompID" => b"56",
        b"CheckSum" => b"10",
        t if !t.is_empty() && t.iter().all(u8::is_ascii_digit) => return Ok(()),
        t => {
            return Err(format!(
                "fix_tag_value: unknown tag '{}' (a number, or BeginString, BodyLength, MsgType, SenderCompID, TargetCompID, CheckSum)",
                String::from_utf8_lossy(t)
            ))
        }
    };
    if let Some(first) = args.first_mut() {
        *first = Arg::Str(number.into());
    }
    Ok(())
}

/// `fix_tag_value(<tag>)`: the value of the first field with this tag.
pub(crate) fn fix_tag_value<'a>(args: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    let want = args.first().and_then(Arg::bytes)?;
    let s = into_cow(v)?;
    let mut pos = 0;
    let (start, end) = loop {
        let (tag, value, next) = fix_field(&s, pos).ok()?;
        if tag == want {
            let start = pos + tag.len() + 1;
            break (start, start + value.len());
        }
        pos = next;
    };
    Some(Value::Bin(match s {
        Cow::Borrowed(b) => Cow::Borrowed(b.get(start..end)?),
        Cow::Owned(o) => Cow::Owned(o.get(start..end)?.to_vec()),
    }))
}

/// The slot of `capture-req(N)`/`capture-res(N)`.
fn capture_slot(args: &[Arg], src: &dyn SampleSource) -> Option<usize> {
    usize::try_from(args.first()?.int(src)?).ok()
}

/// `capture-req(N)`: stores the sample in request capture slot N (when it exists) and
/// passes it on unchanged.
pub(crate) fn capture_req<'a>(args: &'a [Arg], v: Value<'a>, src: &'a dyn SampleSource) -> Out<'a> {
    if let (Some(id), Some(caps)) = (capture_slot(args, src), src.captures()) {
        caps.request.set(id, bytes_of(&v), usize::MAX);
    }
    Some(v)
}

/// `capture-res(N)`: as [`capture_req`], in response slot N.
pub(crate) fn capture_res<'a>(args: &'a [Arg], v: Value<'a>, src: &'a dyn SampleSource) -> Out<'a> {
    if let (Some(id), Some(caps)) = (capture_slot(args, src), src.captures()) {
        caps.response.set(id, bytes_of(&v), usize::MAX);
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{SimpleConnection, Stream};

    fn json_of(mode: &str, input: &[u8]) -> Option<String> {
        let conn = SimpleConnection::new("10.0.0.1:1000", "10.0.0.2:80");
        let src = Stream::tcp(&conn);
        let args = [Arg::Str(mode.as_bytes().into())];
        let out = json(&args, Value::str(input), &src)?;
        Some(String::from_utf8_lossy(out.as_bytes()?).into_owned())
    }

    fn fix(fields: &str) -> Vec<u8> {
        fields.replace('|', "\x01").into_bytes()
    }

    #[test]
    fn fix_messages() {
        let ok = fix("8=FIX.4.0|9=66|35=A|34=1|49=EXECUTOR|52=20201029-10:54:19|56=CLIENT1|98=0|108=30|10=147|");
        assert_eq!(fix_check(&ok), Some(true));
        let t = fix("8=FIXT.1.1|9=86|35=A|34=1|49=EXECUTOR|52=20201029-13:13:22.626384|56=CLIENT1|98=0|108=30|141=Y|1137=7|10=184|");
        assert_eq!(fix_check(&t), Some(true));
        // Wrong checksum, wrong length, wrong order, empty tag, unknown version.
        let bad = [
            "8=FIX.4.0|9=66|35=A|34=1|49=EXECUTOR|52=20201029-10:54:19|56=CLIENT1|98=0|108=30|10=148|",
            "8=FIX.4.0|9=65|35=A|34=1|49=EXECUTOR|52=20201029-10:54:19|56=CLIENT1|98=0|108=30|10=147|",
            "9=66|8=FIX.4.0|35=A|10=000|",
            "8=FIX.4.0|9=5|35=A|=1|10=000|",
            "8=FIX.9.9|9=5|35=A|10=000|",
        ];
        for b in bad {
            assert_eq!(fix_check(&fix(b)), Some(false), "{b}");
        }
        // Incomplete: more may come.
        assert_eq!(fix_check(&ok[..40]), None);
        assert_eq!(fix_check(b""), None);

        let conn = SimpleConnection::new("10.0.0.1:1000", "10.0.0.2:80");
        let src = Stream::tcp(&conn);
        let mut args = [Arg::Str((*b"SenderCompID").into())];
        assert!(prepare_fix_tag(&mut args).is_ok());
        let got = fix_tag_value(&args, Value::Bin(Cow::Borrowed(&ok)), &src);
        assert_eq!(
            got.as_ref().and_then(Value::as_bytes),
            Some(&b"EXECUTOR"[..])
        );
        let args = [Arg::Str((*b"10").into())];
        let got = fix_tag_value(&args, Value::Bin(Cow::Borrowed(&ok)), &src);
        assert_eq!(got.as_ref().and_then(Value::as_bytes), Some(&b"147"[..]));
        let args = [Arg::Str((*b"999").into())];
        assert!(fix_tag_value(&args, Value::Bin(Cow::Borrowed(&ok)), &src).is_none());
        let mut bad = [Arg::Str((*b"Nope").into())];
        assert!(prepare_fix_tag(&mut bad).is_err());
    }

    #[test]
    fn json_input_modes() {
        assert_eq!(
            json_of("utf8", b"\xe0").as_deref(),
            None,
            "bad sequence fails"
        );
        assert_eq!(
            json_of("utf8s", b"-\xe0-").as_deref(),
            Some("--"),
            "or is dropped"
        );
        assert_eq!(json_of("ascii", b"\xe0").as_deref(), Some("\\u00e0"));
        // Overlong '/' (C0 AF): refused by utf8, fixed by the permissive modes.
        assert_eq!(json_of("utf8", b"\xc0\xaf"), None);
        assert_eq!(json_of("utf8p", b"\xc0\xaf").as_deref(), Some("\\/"));
        assert_eq!(json_of("utf8s", b"a\xc0\xaf").as_deref(), Some("a"));
        assert_eq!(json_of("utf8ps", b"\xc0\xaf\xff").as_deref(), Some("\\/"));
        assert_eq!(json_of("utf8p", b"\xff"), None);
        assert_eq!(
            json_of("utf8", b"\"\n\x01\x7f").as_deref(),
            Some("\\\"\\n\\u0001\x7f")
        );
        // A truncated sequence at the end never reads past the input.
        assert_eq!(json_of("utf8s", b"ok\xe2\x82").as_deref(), Some("ok"));
    }
}
