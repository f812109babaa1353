//! What a TLS ClientHello in the request buffer offers: `req.ssl_ver`, the cipher list,
//! supported groups, signature algorithms, key share groups, and whether the elliptic
//! curves and session ticket extensions are there. Lengths are checked against what
//! holds them, so a list that runs past its extension gives nothing.

use super::{Arg, Fetched, Value};
use crate::message::SampleSource;
use std::borrow::Cow;

type Emit<'e, 'a> = &'e mut dyn FnMut(Value<'a>) -> bool;

/// `Err(true)`: more bytes are needed; `Err(false)`: not (valid) TLS.
type Parsed<T> = Result<T, bool>;

fn u16_at(b: &[u8], at: usize) -> Option<usize> {
    Some(usize::from(*b.get(at)?) << 8 | usize::from(*b.get(at + 1)?))
}

/// Splits `n` bytes off the front of `b`.
fn split(b: &[u8], n: usize) -> Option<(&[u8], &[u8])> {
    (b.len() >= n).then(|| b.split_at(n))
}

/// Splits a block prefixed by its 16-bit length off the front of `b`.
fn block16(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let n = u16_at(b, 0)?;
    split(b.get(2..)?, n)
}

/// The body of the ClientHello of the first record (after its 4-byte header), once the
/// whole record is buffered.
fn hello_body(payload: &[u8]) -> Parsed<&[u8]> {
    match payload {
        [] => return Err(true),
        [t, ..] if *t != 0x16 => return Err(false),
        [_] | [_, _] => return Err(true),
        [_, major, ..] if *major < 3 => return Err(false),
        _ => {}
    }
    let record_len = u16_at(payload, 3).ok_or(true)?;
    let record = payload.get(5..5 + record_len).ok_or(true)?;
    if record.first() != Some(&1) {
        return Err(false);
    }
    let hs_len = record
        .get(1..4)
        .ok_or(false)?
        .iter()
        .fold(0usize, |acc, &b| acc << 8 | usize::from(b));
    let body = record.get(4..4 + hs_len).ok_or(false)?;
    // TLS 1.0 at least, as the client offers it.
    if body.first().is_none_or(|&m| m < 3) || body.get(1).is_none_or(|&m| m < 1) {
        return Err(false);
    }
    Ok(body)
}

/// The cipher suites of a ClientHello body, and what follows them.
fn ciphers(body: &[u8]) -> Option<(&[u8], &[u8])> {
    let (_, rest) = split(body, 2 + 32)?;
    let sid = usize::from(*rest.first()?);
    if sid > 32 {
        return None;
    }
    let (_, rest) = split(rest.get(1..)?, sid)?;
    let (suites, rest) = block16(rest)?;
    (suites.len() >= 2).then_some((suites, rest))
}

/// The extension block of a ClientHello body (empty when it has none).
fn extensions(body: &[u8]) -> Option<&[u8]> {
    let (_, rest) = ciphers(body)?;
    let methods = usize::from(*rest.first()?);
    if methods < 1 {
        return None;
    }
    let (_, rest) = split(rest.get(1..)?, methods)?;
    if rest.is_empty() {
        return Some(rest);
    }
    block16(rest).map(|(exts, _)| exts)
}

/// The data of extension `kind`: `Some(None)` when absent, `None` when the block is
/// malformed.
fn extension(exts: &[u8], kind: usize) -> Option<Option<&[u8]>> {
    let mut rest = exts;
    while rest.len() >= 4 {
        let t = u16_at(rest, 0)?;
        let (data, next) = block16(rest.get(2..)?)?;
        if t == kind {
            return Some(Some(data));
        }
        rest = next;
    }
    Some(None)
}

/// Runs `f` on the extension block of the buffered ClientHello, emitting what it gives.
fn with_extensions<'a>(
    s: &'a dyn SampleSource,
    emit: Emit<'_, 'a>,
    f: impl FnOnce(&'a [u8]) -> Option<Value<'a>>,
) -> Fetched {
    let Some(payload) = s.connection().payload() else {
        return Fetched::Miss;
    };
    match hello_body(payload) {
        Ok(body) => {
            if let Some(v) = extensions(body).and_then(f) {
                emit(v);
            }
            Fetched::Done
        }
        Err(true) => Fetched::Miss,
        Err(false) => Fetched::Done,
    }
}

/// The list of an extension whose body is a 16-bit length and the list, which must fit.
fn listed(exts: &[u8], kind: usize) -> Option<Value<'_>> {
    let data = extension(exts, kind)??;
    let (list, _) = block16(data)?;
    Some(Value::Bin(Cow::Borrowed(list)))
}

/// `req.ssl_cipherlist`: the cipher suites the client offers, two bytes each.
pub(crate) fn req_ssl_cipherlist<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let Some(payload) = s.connection().payload() else {
        return Fetched::Miss;
    };
    match hello_body(payload) {
        Ok(body) => {
            if let Some((suites, _)) = ciphers(body) {
                emit(Value::Bin(Cow::Borrowed(suites)));
            }
            Fetched::Done
        }
        Err(true) => Fetched::Miss,
        Err(false) => Fetched::Done,
    }
}

/// `req.ssl_supported_groups`: the supported_groups extension's list.
pub(crate) fn req_ssl_supported_groups<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    with_extensions(s, emit, |exts| listed(exts, 10))
}

/// `req.ssl_sigalgs`: the signature_algorithms extension's list.
pub(crate) fn req_ssl_sigalgs<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    with_extensions(s, emit, |exts| listed(exts, 13))
}

/// `req.ssl_keyshare_groups`: the group of each key share the client sent.
pub(crate) fn req_ssl_keyshare_groups<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    with_extensions(s, emit, |exts| {
        let mut groups = None;
        with_groups(exts, &mut groups)?;
        groups.map(|g| Value::Bin(Cow::Owned(g)))
    })
}

/// The group of each entry of the key_share extension, two bytes each.
fn with_groups(exts: &[u8], out: &mut Option<Vec<u8>>) -> Option<()> {
    let data = extension(exts, 51)??;
    let (mut shares, _) = block16(data)?;
    let mut groups = Vec::new();
    while !shares.is_empty() {
        groups.extend_from_slice(shares.get(..2)?);
        let (_, next) = block16(shares.get(2..)?)?;
        shares = next;
    }
    *out = Some(groups);
    Some(())
}

/// `req.ssl_ec_ext`: whether the client sent the elliptic curves (supported groups)
/// extension.
pub(crate) fn req_ssl_ec_ext<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    with_extensions(s, emit, |exts| {
        Some(Value::Bool(extension(exts, 10)?.is_some()))
    })
}

/// `req.ssl_st_ext`: 0 without a session ticket extension, 1 with an empty one, 2 with a
/// ticket.
pub(crate) fn req_ssl_st_ext<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    with_extensions(s, emit, |exts| {
        let v = match extension(exts, 35)? {
            None => 0,
            Some([]) => 1,
            Some(_) => 2,
        };
        Some(Value::Sint(v))
    })
}

/// The protocol version a hello announces, as major * 65536 + minor: the ClientHello's
/// own version for SSLv3 and later records, or the version of an SSLv2 CLIENT-HELLO.
fn ssl_version(payload: &[u8]) -> Parsed<i64> {
    let first = *payload.first().ok_or(true)?;
    let (version, need, data_len) = if (0x14..=0x17).contains(&first) || first == 0xff {
        if payload.len() < 11 {
            return Err(true);
        }
        let record = u16_at(payload, 1).ok_or(true)?;
        let msg_len = u16_at(payload, 3).ok_or(true)?;
        if record < 0x0300 || !(6..=(1 << 14) + 2048).contains(&msg_len) {
            return Err(false);
        }
        let hello = u16_at(payload, 9).ok_or(true)?;
        (hello, msg_len, payload.len() - 5)
    } else {
        // SSLv2: a 2-byte (high bit set) or 3-byte (with padding) header.
        let (len, pad, at) = if first & 0x80 != 0 {
            (
                usize::from(first & 0x7f) << 8 | usize::from(*payload.get(1).ok_or(true)?),
                0,
                2,
            )
        } else {
            if payload.len() < 4 {
                return Err(true);
            }
            (
                usize::from(first & 0x3f) << 8 | usize::from(*payload.get(1).ok_or(true)?),
                usize::from(*payload.get(2).ok_or(true)?),
                3,
            )
        };
        let msg = payload.get(at..).ok_or(true)?;
        if *msg.first().ok_or(true)? != 1 {
            return Err(false);
        }
        let fields = msg.get(1..9).ok_or(true)?;
        let version = u16_at(fields, 0).ok_or(true)?;
        let suites = u16_at(fields, 2).ok_or(true)?;
        let session = u16_at(fields, 4).ok_or(true)?;
        let challenge = u16_at(fields, 6).ok_or(true)?;
        if suites % 3 != 0
            || (session != 0 && session != 16)
            || !(16..=32).contains(&challenge)
            || len != 9 + suites + session + challenge
        {
            return Err(false);
        }
        (version, suites + session + challenge + pad, msg.len() - 9)
    };
    if data_len < need {
        return Err(true);
    }
    Ok(((version >> 8) as i64) << 16 | (version & 0xff) as i64)
}

/// `req.ssl_ver`: the protocol version of the hello in the request buffer.
pub(crate) fn req_ssl_ver<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let Some(payload) = s.connection().payload() else {
        return Fetched::Miss;
    };
    match ssl_version(payload) {
        Ok(v) => {
            emit(Value::Sint(v));
            Fetched::Done
        }
        Err(true) => Fetched::Miss,
        Err(false) => Fetched::Done,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    const RANDOM: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn hello(exts: &str) -> Vec<u8> {
        unhex(&format!(
            "1603010069 01000065 0303 {RANDOM} 00 00021302 0100 003a {exts}"
        ))
    }

    #[test]
    fn extension_lists() {
        let h = hello(
            "000000140012 00000f 7777772e6578616d706c652e636f6d 000a00060004001d0017 \
             000d0006000404030804 0033000a0008001d0004aabbccdd",
        );
        let body = hello_body(&h).unwrap();
        let exts = extensions(body).unwrap();
        assert_eq!(
            listed(exts, 10),
            Some(Value::Bin(Cow::Borrowed(&[0, 0x1d, 0, 0x17][..])))
        );
        assert_eq!(
            listed(exts, 13),
            Some(Value::Bin(Cow::Borrowed(&[4, 3, 8, 4][..])))
        );
        assert_eq!(extension(exts, 35), Some(None));
        let mut groups = None;
        let _ = with_groups(exts, &mut groups);
        assert_eq!(groups, Some(vec![0, 0x1d]));
    }

    #[test]
    fn over_announced_lists_give_nothing() {
        let h = unhex(&format!(
            "1603010059 01000055 0303 {RANDOM} 00 00021302 0100 002a 000a00020020 ff010020 {}",
            "aa".repeat(32)
        ));
        let exts = extensions(hello_body(&h).unwrap()).unwrap();
        assert_eq!(listed(exts, 10), None);
    }

    #[test]
    fn versions_of_each_hello_format() {
        let h = unhex(&format!(
            "160301 0037 01000033 0303 {RANDOM} 00 00021302 0100 0008 0023 0004 aabbccdd"
        ));
        assert_eq!(ssl_version(&h), Ok(0x0003_0003));
        assert_eq!(ssl_version(&h[..20]), Err(true));
        let v2 = unhex("801c 01 0300 0003 0000 0010 010080 1112131415161718191a1b1c1d1e1f20");
        assert_eq!(ssl_version(&v2), Ok(0x0003_0000));
        assert_eq!(ssl_version(b"GET / HTTP/1.0\r\n\r\n"), Err(false));
    }
}
