//! `unique-id-format`: compiled from the proxy or its defaults, made once per request from
//! the first reader, the same for every later one; `%{+X}o` prints nothing; `uuid`.

mod common;

use sluice_rules::{Connection, LogFormat, SimpleMessage, Stream, UniqueId};

/// A connection whose unique ID comes from `slot` and `format`.
struct Conn<'a> {
    slot: &'a UniqueId,
    format: &'a LogFormat,
}

impl Connection for Conn<'_> {
    fn unique_id_source(&self) -> Option<(&UniqueId, &LogFormat)> {
        Some((self.slot, self.format))
    }
}

fn format_of(body: &str) -> LogFormat {
    common::rules(body)
        .unique_id_format
        .expect("a compiled unique-id-format")
}

#[test]
fn made_once_from_the_request_and_kept() {
    let format = format_of("    unique-id-format %{+X}o\\ TEST-%[req.hdr(in)]-%ID");
    let mut slot = UniqueId::new();
    let req = SimpleMessage::request("GET", "/", &[("in", "foo")]);
    let conn = Conn {
        slot: &slot,
        format: &format,
    };
    let src = Stream::request(&conn, &req);
    assert_eq!(slot.get(), None, "nothing is made before a reader asks");
    let first = sluice_rules::unique_id::of(&src).map(<[u8]>::to_vec);
    // `%ID` inside the format reads the ID being made: it prints `-`, and does not loop.
    assert_eq!(first.as_deref(), Some(&b"TEST-foo--"[..]));
    let other = SimpleMessage::request("GET", "/", &[("in", "bar")]);
    let later = Stream::request(&conn, &other);
    assert_eq!(sluice_rules::unique_id::of(&later), first.as_deref());
    slot.clear();
    assert_eq!(slot.get(), None);
}

#[test]
fn inherited_from_defaults_and_truncated() {
    let long = "x".repeat(300);
    let text = common::frontend("").replace(
        "defaults\n",
        &format!("defaults\n    unique-id-format {long}-%[uuid]\n"),
    );
    let model = common::model(&text);
    let rules = sluice_rules::compile(&model, "fe", &Default::default()).expect("compiles");
    let format = rules.unique_id_format.expect("inherited");
    let slot = UniqueId::new();
    let req = SimpleMessage::request("GET", "/", &[]);
    let conn = Conn {
        slot: &slot,
        format: &format,
    };
    let id = sluice_rules::unique_id::of(&Stream::request(&conn, &req)).map(<[u8]>::len);
    assert_eq!(id, Some(sluice_rules::unique_id::MAX_LEN));
}

#[test]
fn uuid_versions() {
    let format = format_of("    unique-id-format %[uuid]/%[uuid(7)]/%[uuid(3)]");
    let slot = UniqueId::new();
    let req = SimpleMessage::request("GET", "/", &[]);
    let conn = Conn {
        slot: &slot,
        format: &format,
    };
    let src = Stream::request(&conn, &req);
    let id = sluice_rules::unique_id::of(&src).expect("an id");
    let text = String::from_utf8(id.to_vec()).expect("text");
    let parts: Vec<&str> = text.split('/').collect();
    assert_eq!(parts.len(), 3, "{text}");
    for (p, v) in parts[..2].iter().zip(['4', '7']) {
        assert_eq!(p.len(), 36, "{p}");
        assert_eq!(p.as_bytes()[14], v as u8, "{p}");
        assert!(matches!(p.as_bytes()[19], b'8' | b'9' | b'a' | b'b'), "{p}");
        assert_eq!(p.matches('-').count(), 4, "{p}");
    }
    assert_eq!(parts[2], "", "unsupported versions give nothing");
}
