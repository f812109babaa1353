//! MQTT: `mqtt_is_valid` and `mqtt_field_value(<packettype>,<field or property id>)` on
//! the first packet of a stream, which can only be a CONNECT (client) or a CONNACK
//! (server). MQTT 3.1, 3.1.1 and 5.0 are read; properties exist in 5.0 only.

use super::{Arg, Value};
use crate::message::SampleSource;

type Out<'a> = Option<Value<'a>>;

const CONNECT: i64 = 1;
const CONNACK: i64 = 2;

/// A cursor that never reads past its slice.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.buf.len() < n {
            return None;
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }
    fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
    }
    fn u32(&mut self) -> Option<u32> {
        let b = self.take(4)?;
        Some(u32::from_be_bytes(b.try_into().ok()?))
    }
    /// A variable byte integer: up to four bytes of seven bits.
    fn varint(&mut self) -> Option<u32> {
        let mut v = 0u32;
        for i in 0..4 {
            let b = self.u8()?;
            v |= u32::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    /// A string or binary data: a 16-bit length and the bytes.
    fn block(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }
    /// A UTF-8 string, which MQTT forbids to hold a NUL.
    fn text(&mut self) -> Option<&'a [u8]> {
        let s = self.block()?;
        (std::str::from_utf8(s).is_ok() && !s.contains(&0)).then_some(s)
    }
}

/// A field's value: text or a number (printed in decimal).
#[derive(Debug, PartialEq, Eq)]
enum Field<'a> {
    Bytes(&'a [u8]),
    Int(u64),
}

/// Properties by identifier, in the order they came.
type Props<'a> = Vec<(u8, Field<'a>)>;

/// Reads a property list (its length, then identifier and typed value each).
fn properties<'a>(r: &mut Reader<'a>) -> Option<Props<'a>> {
    let len = usize::try_from(r.varint()?).ok()?;
    let mut p = Reader { buf: r.take(len)? };
    let mut out = Vec::new();
    while !p.buf.is_empty() {
        let id = p.u8()?;
        let value = match id {
            1 | 23 | 25 | 36 | 37 | 40 | 41 | 42 => Field::Int(p.u8()?.into()),
            19 | 33 | 34 | 35 => Field::Int(p.u16()?.into()),
            2 | 17 | 24 | 39 => Field::Int(p.u32()?.into()),
            11 => Field::Int(p.varint()?.into()),
            3 | 8 | 18 | 21 | 26 | 28 | 31 => Field::Bytes(p.text()?),
            9 | 22 => Field::Bytes(p.block()?),
            // User properties (a name and a value) are skipped, as HAProxy does.
            38 => {
                p.text()?;
                p.text()?;
                continue;
            }
            _ => return None,
        };
        out.push((id, value));
    }
    Some(out)
}

/// What a CONNECT or CONNACK holds.
#[derive(Debug, Default)]
struct Packet<'a> {
    kind: i64,
    version: u8,
    fields: Vec<(&'static str, Field<'a>)>,
    props: Props<'a>,
}

/// The first packet of `buf`: `Err(true)` when more bytes are needed, `Err(false)` when
/// it is not a valid CONNECT or CONNACK.
fn parse(buf: &[u8]) -> Result<Packet<'_>, bool> {
    let mut r = Reader { buf };
    let first = r.u8().ok_or(true)?;
    let kind = i64::from(first >> 4);
    // Both packets have their flags at zero.
    if first & 0x0f != 0 || !(kind == CONNECT || kind == CONNACK) {
        return Err(false);
    }
    let mut len = 0usize;
    let mut complete = false;
    for i in 0..4 {
        let Some(b) = r.u8() else {
            return Err(true);
        };
        len |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            complete = true;
            break;
        }
    }
    if !complete {
        return Err(false);
    }
    let body = r.take(len).ok_or(true)?;
    let parsed = if kind == CONNECT {
        connect(body)
    } else {
        connack(body)
    };
    parsed.ok_or(false)
}

fn connect(body: &[u8]) -> Option<Packet<'_>> {
    let mut r = Reader { buf: body };
    let name = r.text()?;
    let version = r.u8()?;
    match (name, version) {
        (b"MQIsdp", 3) | (b"MQTT", 4) | (b"MQTT", 5) => {}
        _ => return None,
    }
    let flags = r.u8()?;
    // The reserved bit is zero; a will QoS of 3 does not exist; no will, no will QoS.
    let will = flags & 0x04 != 0;
    let will_qos = (flags >> 3) & 3;
    if flags & 1 != 0 || will_qos == 3 || (!will && (will_qos != 0 || flags & 0x20 != 0)) {
        return None;
    }
    let keepalive = r.u16()?;
    let mut p = Packet {
        kind: CONNECT,
        version,
        ..Packet::default()
    };
    p.fields.push(("protocol_name", Field::Bytes(name)));
    p.fields
        .push(("protocol_version", Field::Int(version.into())));
    p.fields.push(("flags", Field::Int(flags.into())));
    p.fields.push(("keepalive", Field::Int(keepalive.into())));
    if version == 5 {
        p.props = properties(&mut r)?;
    }
    p.fields
        .push(("client_identifier", Field::Bytes(r.text()?)));
    if will {
        if version == 5 {
            let will_props = properties(&mut r)?;
            p.props.extend(will_props);
        }
        p.fields.push(("will_topic", Field::Bytes(r.text()?)));
        p.fields.push(("will_payload", Field::Bytes(r.block()?)));
    }
    if flags & 0x80 != 0 {
        p.fields.push(("username", Field::Bytes(r.text()?)));
    }
    if flags & 0x40 != 0 {
        p.fields.push(("password", Field::Bytes(r.block()?)));
    }
    r.buf.is_empty().then_some(p)
}

fn connack(body: &[u8]) -> Option<Packet<'_>> {
    let mut r = Reader { buf: body };
    let flags = r.u8()?;
    let reason = r.u8()?;
    if flags & 0xfe != 0 {
        return None;
    }
    // Only 5.0 has properties: a longer CONNACK is a 5.0 one.
    let version = if r.buf.is_empty() { 4 } else { 5 };
    let mut p = Packet {
        kind: CONNACK,
        version,
        ..Packet::default()
    };
    p.fields.push(("flags", Field::Int(flags.into())));
    p.fields.push(("reason_code", Field::Int(reason.into())));
    p.fields
        .push(("protocol_version", Field::Int(version.into())));
    if version == 5 {
        p.props = properties(&mut r)?;
    }
    r.buf.is_empty().then_some(p)
}

/// `mqtt_is_valid`: whether the input starts with a whole, valid CONNECT or CONNACK.
pub(crate) fn mqtt_is_valid<'a>(_: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    match parse(v.as_bytes()?) {
        Ok(_) => Some(Value::Bool(true)),
        Err(false) => Some(Value::Bool(false)),
        // Not all there yet: no answer rather than a wrong one.
        Err(true) => None,
    }
}

/// The packet type argument: a name or its number.
fn packet_type(text: &str) -> Option<i64> {
    match text.to_ascii_lowercase().as_str() {
        "connect" => Some(CONNECT),
        "connack" => Some(CONNACK),
        t => t.parse().ok(),
    }
}

/// Checks the packet type and the field when the configuration is loaded.
pub(crate) fn prepare_mqtt_field(args: &mut [Arg]) -> Result<(), String> {
    let text = |i: usize| {
        args.get(i)
            .and_then(Arg::text)
            .unwrap_or("")
            .trim()
            .to_string()
    };
    let (kind, field) = (text(0), text(1));
    let t = packet_type(&kind).filter(|t| *t == CONNECT || *t == CONNACK);
    let Some(t) = t else {
        return Err(format!(
            "'mqtt_field_value': packet type '{kind}' cannot be read (only connect/1 and connack/2 start a stream)"
        ));
    };
    let names: &[&str] = if t == CONNECT {
        &[
            "flags",
            "protocol_name",
            "protocol_version",
            "client_identifier",
            "will_topic",
            "will_payload",
            "username",
            "password",
            "keepalive",
        ]
    } else {
        &["flags", "protocol_version", "reason_code"]
    };
    let known = names.iter().any(|n| n.eq_ignore_ascii_case(&field))
        || field.parse::<u8>().is_ok_and(|id| id > 0);
    if !known {
        return Err(format!(
            "'mqtt_field_value': '{field}' is not a field or property id of a {} packet",
            if t == CONNECT { "CONNECT" } else { "CONNACK" }
        ));
    }
    if let Some(a) = args.first_mut() {
        *a = Arg::Int(t);
    }
    Ok(())
}

/// `mqtt_field_value`: a field of the packet, or a 5.0 property by its identifier, as a
/// string (numbers in decimal).
pub(crate) fn mqtt_field_value<'a>(
    args: &'a [Arg],
    v: Value<'a>,
    _: &'a dyn SampleSource,
) -> Out<'a> {
    let Some(Arg::Int(kind)) = args.first() else {
        return None;
    };
    let field = args.get(1)?.text()?.trim();
    let p = parse(v.as_bytes()?).ok()?;
    if p.kind != *kind {
        return None;
    }
    let found = match field.parse::<u8>() {
        Ok(id) => {
            if p.version != 5 {
                return None;
            }
            p.props.into_iter().find(|(i, _)| *i == id).map(|(_, f)| f)
        }
        Err(_) => p
            .fields
            .into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(field))
            .map(|(_, f)| f),
    }?;
    Some(Value::string(match found {
        Field::Bytes(b) => b.to_vec(),
        Field::Int(i) => i.to_string().into_bytes(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn field<'a>(p: &Packet<'a>, name: &str) -> Option<&'a [u8]> {
        p.fields.iter().find_map(|(n, f)| match f {
            Field::Bytes(b) if *n == name => Some(*b),
            _ => None,
        })
    }

    fn prop(p: &Packet<'_>, id: u8) -> Option<u64> {
        p.props.iter().find_map(|(i, f)| match f {
            Field::Int(v) if *i == id => Some(*v),
            _ => None,
        })
    }

    #[test]
    fn connect_311_with_will_user_and_password() {
        let b = unhex("103a00044d51545404ee003c0008746573745f737562000977696c6c746f706963000b77696c6c7061796c6f61640004746573740006706173737764");
        let p = parse(&b).unwrap();
        assert_eq!(field(&p, "client_identifier"), Some(&b"test_sub"[..]));
        assert_eq!(field(&p, "will_payload"), Some(&b"willpayload"[..]));
        assert_eq!(field(&p, "password"), Some(&b"passwd"[..]));
        assert_eq!(p.version, 4);
    }

    #[test]
    fn connect_50_properties_include_the_will_ones() {
        let b = unhex("107e00044d51545405ee003c182700000014170126000161000162260001630001642100140008746573745f7375622a03000a746578742f706c61696e08000c77696c6c727370746f7069632600016500016626000167000168000977696c6c746f706963000b77696c6c7061796c6f61640004746573740006706173737764");
        let p = parse(&b).unwrap();
        assert_eq!(prop(&p, 39), Some(20));
        assert_eq!(prop(&p, 23), Some(1));
        assert!(p
            .props
            .iter()
            .any(|(i, f)| *i == 8 && *f == Field::Bytes(b"willrsptopic")));
        assert_eq!(field(&p, "username"), Some(&b"test"[..]));
    }

    #[test]
    fn connack_50_properties() {
        let b =
            unhex("20250000221100000078217fff24012501270000ffff22000a2600016100016226000163000164");
        let p = parse(&b).unwrap();
        assert_eq!(p.version, 5);
        assert_eq!(prop(&p, 17), Some(120));
        assert_eq!(prop(&p, 33), Some(32767));
        assert_eq!(prop(&p, 39), Some(65535));
        assert_eq!(prop(&p, 34), Some(10));
        assert_eq!(parse(&unhex("20020000")).map(|p| p.version), Ok(4));
    }

    #[test]
    fn invalid_packets() {
        assert_eq!(parse(&unhex("d000")).err(), Some(false), "PINGREQ");
        assert_eq!(
            parse(&unhex("111400044d5154540402003c0008746573745f737562")).err(),
            Some(false),
            "flags"
        );
        assert_eq!(
            parse(&unhex(
                "10ffffffff1400044d5154540402003c0008746573745f737562"
            ))
            .err(),
            Some(false),
            "remaining length over four bytes"
        );
        assert_eq!(
            parse(&unhex("101300044d5154540402003c000874657374a5f737")).err(),
            Some(false),
            "lengths do not add up"
        );
        assert_eq!(parse(&unhex("1018")).err(), Some(true), "incomplete");
    }
}
