//! Fetches on the PROXY v2 header a client connection started with (`accept-proxy`):
//! `fc_pp_authority`, `fc_pp_unique_id` and `fc_pp_tlv(<id>)`. The data plane hands over
//! the header's TLVs as received (validated when the header was read).

use super::{Arg, Fetched, Value};
use crate::message::SampleSource;

type Emit<'e, 'a> = &'e mut dyn FnMut(Value<'a>) -> bool;

/// `PP2_TYPE_AUTHORITY`.
const TYPE_AUTHORITY: u8 = 0x02;
/// `PP2_TYPE_UNIQUE_ID`.
const TYPE_UNIQUE_ID: u8 = 0x05;

/// The symbolic names `fc_pp_tlv` accepts, with their types (the suffixes of the PPv2
/// specification's constants).
const NAMES: &[(&str, u8)] = &[
    ("ALPN", 0x01),
    ("AUTHORITY", 0x02),
    ("CRC32C", 0x03),
    ("NOOP", 0x04),
    ("UNIQUE_ID", 0x05),
    ("SSL", 0x20),
    ("SSL_VERSION", 0x21),
    ("SSL_CN", 0x22),
    ("SSL_CIPHER", 0x23),
    ("SSL_SIG_ALG", 0x24),
    ("SSL_KEY_ALG", 0x25),
    ("NETNS", 0x30),
];

/// The TLV type `fc_pp_tlv(<id>)` names: a number from 0 to 255 (decimal, or hex with
/// `0x`), or one of [`NAMES`] (`CRC32` is accepted for `CRC32C`, as HAProxy's manual
/// spells it).
pub fn tlv_id(text: &str) -> Option<u8> {
    let t = text.trim();
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return u8::from_str_radix(hex, 16).ok();
    }
    if let Ok(n) = t.parse::<u8>() {
        return Some(n);
    }
    if t == "CRC32" {
        return Some(0x03);
    }
    NAMES.iter().find(|(n, _)| *n == t).map(|(_, id)| *id)
}

/// The TLVs of a block, in order: (type, value).
fn tlvs(mut rest: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    std::iter::from_fn(move || {
        let (&kind, &hi, &lo) = (rest.first()?, rest.get(1)?, rest.get(2)?);
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        let value = rest.get(3..3 + len)?;
        rest = rest.get(3 + len..).unwrap_or_default();
        Some((kind, value))
    })
}

/// The first TLV of type `kind` as text: nothing when it holds a NUL byte, which a string
/// sample cannot carry (a match would otherwise see only what precedes it).
fn first_text(s: &dyn SampleSource, kind: u8) -> Option<Value<'_>> {
    let block = s.connection().proxy_tlvs()?;
    let (_, value) = tlvs(block).find(|(k, _)| *k == kind)?;
    (!value.contains(&0)).then(|| Value::str(value))
}

/// `fc_pp_authority`: the authority (the host name the client asked for) the header
/// carries.
pub(crate) fn fc_pp_authority<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    if let Some(v) = first_text(s, TYPE_AUTHORITY) {
        emit(v);
    }
    Fetched::Done
}

/// `fc_pp_unique_id`: the unique ID the header carries.
pub(crate) fn fc_pp_unique_id<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    if let Some(v) = first_text(s, TYPE_UNIQUE_ID) {
        emit(v);
    }
    Fetched::Done
}

/// `fc_pp_tlv(<id>)`: the value of each TLV of that type, in the header's order, bytes as
/// received (NUL bytes included). The type was resolved when compiled ([`tlv_id`]).
pub(crate) fn fc_pp_tlv<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    all: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let Some(Arg::Int(id)) = args.first() else {
        return Fetched::Done;
    };
    let Some(block) = s.connection().proxy_tlvs() else {
        return Fetched::Done;
    };
    for (_, value) in tlvs(block).filter(|(k, _)| i64::from(*k) == *id) {
        if emit(Value::str(value)) || !all {
            break;
        }
    }
    Fetched::Done
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Connection, Stream};

    struct Proxied(Vec<u8>);

    impl Connection for Proxied {
        fn proxy_tlvs(&self) -> Option<&[u8]> {
            Some(&self.0)
        }
    }

    fn collect(f: super::super::registry::FetchFn, args: &[Arg], conn: &Proxied) -> Vec<Vec<u8>> {
        let src = Stream::tcp(conn);
        let mut out = Vec::new();
        f(args, &src, true, &mut |v| {
            let mut b = Vec::new();
            v.write_to(&mut b);
            out.push(b);
            false
        });
        out
    }

    #[test]
    fn names_and_numbers() {
        assert_eq!(tlv_id("0xE1"), Some(0xE1));
        assert_eq!(tlv_id("225"), Some(225));
        assert_eq!(tlv_id("AUTHORITY"), Some(2));
        assert_eq!(tlv_id("CRC32"), Some(3));
        assert_eq!(tlv_id("SSL_CN"), Some(0x22));
        assert_eq!(tlv_id("256"), None);
        assert_eq!(tlv_id("authority"), None);
    }

    #[test]
    fn text_fetches_refuse_nul_and_tlv_keeps_it() {
        let mut block = vec![0x02, 0, 6];
        block.extend_from_slice(b"pub\0ic");
        block.extend_from_slice(&[0x05, 0, 2]);
        block.extend_from_slice(b"id");
        block.extend_from_slice(&[0xE1, 0, 1, b'a', 0xE1, 0, 0]);
        let conn = Proxied(block);
        assert!(collect(fc_pp_authority, &[], &conn).is_empty());
        assert_eq!(collect(fc_pp_unique_id, &[], &conn), vec![b"id".to_vec()]);
        assert_eq!(
            collect(fc_pp_tlv, &[Arg::Int(2)], &conn),
            vec![b"pub\0ic".to_vec()]
        );
        assert_eq!(
            collect(fc_pp_tlv, &[Arg::Int(0xE1)], &conn),
            vec![b"a".to_vec(), Vec::new()]
        );
        assert!(collect(fc_pp_tlv, &[Arg::Int(0x30)], &conn).is_empty());
    }
}
