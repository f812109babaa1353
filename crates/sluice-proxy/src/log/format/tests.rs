//! Each alias against the example lines of the manual's section 8.2 (HTTP and TCP formats),
//! with a record built to the example's timers and counters.

use super::*;
use crate::error::{Error, ErrorKind, Side};
use std::time::{Duration, UNIX_EPOCH};

struct Hdrs(&'static [(&'static str, &'static str)]);

impl Heads for Hdrs {
    fn request_header(&self, name: &str) -> Option<&[u8]> {
        self.0
            .iter()
            .rev()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_bytes())
    }
    fn response_header(&self, _: &str) -> Option<&[u8]> {
        None
    }
    fn request_headers(&self, name: &str, each: &mut dyn FnMut(&[u8]) -> bool) {
        for (n, v) in self.0 {
            if n.eq_ignore_ascii_case(name) && !each(v.as_bytes()) {
                return;
            }
        }
    }
    fn response_headers(&self, _: &str, _: &mut dyn FnMut(&[u8]) -> bool) {}
}

fn compile(text: &str) -> Format {
    Format::compile(text, &mut |_| Err("no samples here".into())).expect("format compiles")
}

/// 06/Feb/2009:12:14:14.655 (UTC seconds of the manual's dates).
fn at(secs: u64, ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(secs * 1000 + ms)
}

fn local_clf(t: SystemTime, with_ms: bool) -> String {
    let mut out = Vec::new();
    date(&mut out, t, true, with_ms, false, &mut Cache::default());
    String::from_utf8_lossy(&out).into_owned()
}

/// The HTTP example: TR/Tw/Tc/Tr/Ta = 10/0/30/69/109.
fn http_record() -> Record {
    let start = Instant::now();
    let mut r = Record {
        frontend: 0,
        backend: Some(1),
        server: Some(0),
        client: Some("10.0.1.2:33317".parse().expect("addr")),
        local: Some("10.0.3.31:8012".parse().expect("addr")),
        status: 200,
        http: true,
        ..Record::default()
    };
    r.t.start = start;
    r.t.start_wall = at(1_233_922_454, 655);
    r.t.first_byte = Some(start);
    r.t.head_done = Some(start + Duration::from_millis(10));
    r.t.queued = Some(Duration::ZERO);
    r.t.connect_start = Some(start + Duration::from_millis(10));
    r.t.connected = Some(start + Duration::from_millis(40));
    r.t.response = Some(start + Duration::from_millis(109));
    r
}

fn view<'a>(
    rec: &'a Record,
    end: Instant,
    req: Option<RequestLine<'a>>,
    heads: &'a dyn Heads,
    caps: &'a Captures,
) -> View<'a> {
    View {
        slots: None,
        asap: false,
        origin: "txn_close",
        rec,
        end,
        bytes_in: 120,
        bytes_out: 2750,
        frontend: "http-in",
        backend: Some("static"),
        server: Some("srv1"),
        server_addr: Some("127.0.0.1:8000".parse().expect("addr")),
        request: req,
        heads,
        captures: caps,
        samples: None,
        actconn: 1,
        feconn: 1,
        beconn: 1,
        srvconn: 1,
        log_counter: 7,
        request_counter: 42,
        hostname: "lb1",
        pid: 14389,
        unique_id: None,
    }
}

fn render(f: &Format, v: &View<'_>) -> String {
    let mut out = Vec::new();
    f.render(v, &mut Cache::default(), &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn manual_http_example() {
    let rec = http_record();
    let end = rec.t.start + Duration::from_millis(109);
    let caps = Captures {
        request: vec![("Host".into(), 20)],
        response: vec![("X-Cache".into(), 8)],
        cookie: None,
    };
    let heads = Hdrs(&[("Host", "1wt.eu")]);
    let req = RequestLine::split(b"GET /index.html HTTP/1.1\r\n");
    let v = view(&rec, end, Some(req), &heads, &caps);
    let line = render(&compile(HTTP), &v);
    let date = local_clf(rec.t.start_wall, true);
    assert_eq!(
        line,
        format!("10.0.1.2:33317 [{date}] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {{1wt.eu}} {{}} \"GET /index.html HTTP/1.1\"")
    );
}

#[test]
fn manual_tcp_example() {
    let start = Instant::now();
    let mut rec = Record {
        client: Some("10.0.1.2:33313".parse().expect("addr")),
        backend: Some(1),
        server: Some(0),
        retries: 3,
        ..Record::default()
    };
    rec.t.start = start;
    rec.t.start_wall = at(1_233_922_371, 443);
    rec.t.queued = Some(Duration::ZERO);
    rec.t.connect_start = Some(start);
    rec.t.connected = Some(start);
    let end = start + Duration::from_millis(5007);
    let caps = Captures::default();
    let mut v = view(&rec, end, None, &NoHeads, &caps);
    v.frontend = "fnt";
    v.backend = Some("bck");
    v.bytes_out = 212;
    (v.actconn, v.feconn, v.beconn, v.srvconn) = (0, 0, 0, 0);
    let date = local_clf(rec.t.start_wall, true);
    assert_eq!(
        render(&compile(TCP), &v),
        format!("10.0.1.2:33313 [{date}] fnt bck/srv1 0/0/5007 212 -- 0/0/0/0/3 0/0")
    );
}

/// Empty trailing items leave the separator before them, as HAProxy's lines do.
#[test]
fn clf_quotes_strings_not_numbers() {
    let rec = http_record();
    let end = rec.t.start + Duration::from_millis(109);
    let caps = Captures::default();
    let req = RequestLine::split(b"GET /index.html HTTP/1.1");
    let v = view(&rec, end, Some(req), &NoHeads, &caps);
    let line = render(&compile(HTTP_CLF), &v);
    assert_eq!(
        line,
        "10.0.1.2 - - [06/Feb/2009:12:14:14 +0000] \"GET /index.html HTTP/1.1\" 200 2750 \"\" \"\" 33317 655 \"http-in\" \"static\" \"srv1\" 10 0 30 69 109 \"----\" 1 1 1 1 0 0 0 \"-\" \"-\" "
    );
}

#[test]
fn every_alias_renders() {
    let rec = http_record();
    let end = rec.t.start + Duration::from_millis(120);
    let caps = Captures {
        request: vec![("Host".into(), 3), ("User-Agent".into(), 64)],
        response: vec![],
        cookie: Some(("SESS".into(), 12)),
    };
    let heads = Hdrs(&[
        ("Host", "1wt.eu"),
        ("User-Agent", "a{b}|\"c\""),
        ("Cookie", "x=1; SESSID=abcdef0123456789"),
    ]);
    let req = RequestLine::split(b"POST http://h/p/a?q=1&r=\x01 HTTP/1.0");
    let v = view(&rec, end, Some(req), &heads, &caps);
    let cases: &[(&str, &str)] = &[
        ("%ci %cp %fi %fp", "10.0.1.2 33317 10.0.3.31 8012"),
        ("%{+X}ci:%{+X}cp", "0A000102:8225"),
        ("%si:%sp %bi:%bp", "127.0.0.1:8000 -:-"),
        ("%f %ft %b %s", "http-in http-in static srv1"),
        ("%Th/%Ti/%TR/%Tw/%Tc/%Tr/%Ta/%Tt", "0/0/10/0/30/69/120/120"),
        ("%Tq %Td %Tu", "10 11 120"),
        ("%ST %B %U", "200 2750 120"),
        ("%ts %tsc %rc %sq/%bq", "-- ---- 0 0/0"),
        ("%ac/%fc/%bc/%sc %lc %rt %pid %H", "1/1/1/1 7 42 14389 lb1"),
        (
            "%HM|%HU|%HP|%HPO|%HQ|%HV",
            "POST|http://h/p/a?q=1&r=#01|http://h/p/a|/p/a|?q=1&r=#01|HTTP/1.0",
        ),
        ("%{+Q}r", "\"POST http://h/p/a?q=1&r=#01 HTTP/1.0\""),
        ("%hr", "{1wt|a#7Bb#7D#7C#22c#22}"),
        ("%hrl", "1wt a#7Bb#7D#7C#22c#22"),
        ("%hs%CC %CS", "SESSID=abcde -"),
        ("%ID %sslv %sslc %OG", "- - - txn_close"),
        ("%{+Q}ID %{+E}HU", "\"-\" http://h/p/a?q=1&r=#01"),
        ("%Ts %ms", "1233922454 655"),
        ("%T", "06/Feb/2009:12:14:14 +0000"),
        ("%trg", "06/Feb/2009:12:14:14 +0000"),
        ("100%% %%ci", "100% %ci"),
        ("a   b", "a b"),
        ("%hs %hs x", "x"),
    ];
    for (fmt, want) in cases {
        assert_eq!(&render(&compile(fmt), &v), want, "format {fmt}");
    }
}

#[test]
fn termination_states() {
    let mut rec = http_record();
    rec.error = Some(Error::new(ErrorKind::Closed, Side::Client));
    assert_eq!(&term_state(&rec), b"CD");
    rec.error = Some(Error::new(ErrorKind::Timeout, Side::Server));
    rec.t.response = None;
    assert_eq!(&term_state(&rec), b"sH");
    rec.error = Some(Error::retryable(ErrorKind::Connect, Side::Server));
    rec.t.connected = None;
    assert_eq!(&term_state(&rec), b"SC");
    assert_eq!(implied_status(&http_record_with(rec.error)), 503);
    rec.error = Some(Error::new(ErrorKind::Protocol, Side::Client));
    rec.t.head_done = None;
    assert_eq!(&term_state(&rec), b"PR");
    rec.error = Some(Error::new(ErrorKind::Timeout, Side::Client));
    assert_eq!(&term_state(&rec), b"cR");
    rec.error = None;
    assert_eq!(&term_state(&rec), b"--");
    rec.term = Some(*b"LR");
    assert_eq!(&term_state(&rec), b"LR");
}

fn http_record_with(e: Option<Error>) -> Record {
    let mut r = http_record();
    r.error = e;
    r.status = 0;
    r.t.response = None;
    r.t.connected = None;
    r
}

#[test]
fn bad_formats_are_refused() {
    let mut none = |_: &str| -> Result<SampleExpr, String> { Err("no".into()) };
    assert!(Format::compile("%zz", &mut none).is_err());
    assert!(Format::compile("%{+Q", &mut none).is_err());
    assert!(Format::compile("%[src", &mut none).is_err());
    assert!(Format::compile("%{+Z}ci", &mut none).is_err());
    assert!(Format::compile("%", &mut none).is_err());
}

#[test]
fn json_strings_escape_every_byte_outside_the_printable_range() {
    let mut out = Vec::new();
    json_string(&mut out, b"A\x1b[31m\tB\"C\\D\xc3\xa9");
    assert_eq!(
        String::from_utf8_lossy(&out),
        r#""A\u001B[31m\tB\"C\\D\u00C3\u00A9""#
    );
}

#[test]
fn cbor_keeps_text_bytes_and_chunks_binary() {
    let mut out = Vec::new();
    cbor_value(&mut out, &Val::Text(b"A\xaaB".to_vec()));
    cbor_value(&mut out, &Val::Bytes(vec![0xaa]));
    cbor_value(&mut out, &Val::Int(-2));
    cbor_value(&mut out, &Val::Int(500));
    cbor_value(&mut out, &Val::Missing);
    let mut hex = Vec::new();
    hex_upper(&mut hex, &out);
    assert_eq!(
        String::from_utf8_lossy(&hex),
        "6341AA42".to_owned() + "5F41AAFF" + "21" + "1901F4" + "F6"
    );
}

#[test]
fn encoded_lines_name_their_items() {
    let rec = http_record();
    let caps = Captures::default();
    let end = rec.t.start + Duration::from_millis(120);
    let v = view(&rec, end, None, &NoHeads, &caps);
    let json = compile("%{+json}o %(client)ci %(port)cp %f");
    assert_eq!(render(&json, &v), r#"{"client":"10.0.1.2","port":33317}"#);
    let inline = compile("x=%{+json}ci");
    assert_eq!(render(&inline, &v), r#"x="10.0.1.2""#);
    let cbor = compile("%{+cbor}o %(p)cp");
    // BF, "p", 33317 (0x8225), FF
    assert_eq!(render(&cbor, &v), "BF6170198225FF");
}
