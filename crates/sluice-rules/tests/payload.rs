//! Content inspection: payload fetches on bytes that may still grow, `wait_end`, the
//! response buffer of `tcp-response content`, request bodies and `wait-for-body`.

mod common;

use common::{compile_error, model, rules};
use sluice_rules::sample::Value;
use sluice_rules::{compile, CompileOptions, SimpleConnection, Txn, Verdict};

fn conn(payload: &[u8], pending: bool) -> SimpleConnection {
    SimpleConnection {
        payload: Some(payload.to_vec()),
        pending,
        ..SimpleConnection::new("10.1.2.3:40000", "127.0.0.1:8080")
    }
}

fn bin(v: &[u8]) -> Option<Value<'static>> {
    Some(Value::Bin(v.to_vec().into()))
}

#[test]
fn rules_wait_while_a_condition_cannot_tell_yet() {
    let r = rules(
        "    tcp-request content set-var(txn.len) req.len\n\
         tcp-request content accept if { req.len ge 4 }\n\
         tcp-request content reject if WAIT_END",
    );
    // Two bytes, more may come: `req.len ge 4` cannot tell yet, the rules wait.
    let mut txn = Txn::new();
    assert_eq!(
        r.tcp_content.inspect_tcp(&conn(b"ab", true), &mut txn),
        None
    );
    assert_eq!(txn.vars.get("txn.len"), Some(&Value::Sint(2)));
    // Four: decided at once.
    let mut txn = Txn::new();
    assert_eq!(
        r.tcp_content.inspect_tcp(&conn(b"abcd", true), &mut txn),
        Some(Verdict::Allow)
    );
    // The delay is over with two bytes: `wait_end` is true, the rule rejects.
    let mut txn = Txn::new();
    assert_eq!(
        r.tcp_content.inspect_tcp(&conn(b"ab", false), &mut txn),
        Some(Verdict::Reject)
    );
}

#[test]
fn payload_fetches_read_either_direction() {
    let r = rules(
        "    tcp-request content set-var(txn.p) payload(4,5)\n\
         tcp-request content set-var(txn.lv) payload_lv(0,4)\n\
         tcp-request content set-var(txn.rel) req.payload_lv(0,4,+1)\n\
         tcp-request content set-var(txn.rest) req.payload(9,0)",
    );
    let mut txn = Txn::new();
    r.tcp_content
        .run_tcp(&conn(b"\0\0\0\x05helloZZ", false), &mut txn);
    assert_eq!(txn.vars.get("txn.p").cloned(), bin(b"hello"));
    assert_eq!(txn.vars.get("txn.lv").cloned(), bin(b"hello"));
    assert_eq!(txn.vars.get("txn.rel").cloned(), bin(b"elloZ"));
    assert_eq!(txn.vars.get("txn.rest").cloned(), bin(b"ZZ"));
}

#[test]
fn response_rules_read_the_response_buffer() {
    let m = model(
        "defaults\n    mode tcp\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n\
         backend be\n    server s1 127.0.0.1:9000\n\
         \x20   tcp-response content set-var(txn.rp) res.payload(4,6)\n\
         \x20   tcp-response content set-var(txn.drp) payload(4,6)\n\
         \x20   tcp-response content accept if { res.len ge 12 }\n\
         \x20   tcp-response content reject if { res.payload(0,3) -m str BAD }\n",
    );
    let r = compile(&m, "be", &CompileOptions::default()).expect("compiles");
    let response = |bytes: &[u8], pending: bool| SimpleConnection {
        res_payload: Some(bytes.to_vec()),
        on_response: true,
        pending,
        ..SimpleConnection::default()
    };
    let mut txn = Txn::new();
    let v = r
        .tcp_response
        .inspect_tcp(&response(b"\0\0\0\x06onions", true), &mut txn);
    assert_eq!(v, None, "10 bytes of 12: wait");
    let mut txn = Txn::new();
    let v = r
        .tcp_response
        .inspect_tcp(&response(b"\0\0\0\x06onionsQQ", true), &mut txn);
    assert_eq!(v, Some(Verdict::Allow));
    assert_eq!(txn.vars.get("txn.rp").cloned(), bin(b"onions"));
    assert_eq!(txn.vars.get("txn.drp").cloned(), bin(b"onions"));
    // The `accept` before cannot tell on three bytes: the `reject` waits behind it.
    let mut txn = Txn::new();
    let v = r
        .tcp_response
        .inspect_tcp(&response(b"BAD", true), &mut txn);
    assert_eq!(v, None);
    let v = r
        .tcp_response
        .inspect_tcp(&response(b"BAD", false), &mut txn);
    assert_eq!(v, Some(Verdict::Reject));
}

#[test]
fn response_fetches_are_refused_on_the_request() {
    let e = compile_error("    tcp-request content set-var(txn.n) res.len");
    assert!(e.contains("response buffer"), "{e}");
}

#[test]
fn a_converter_that_settles_decides_without_waiting() {
    // An invalid FIX message stays invalid with more bytes: no wait.
    let r = rules("    tcp-request content reject unless { req.payload(0,0),fix_is_valid }");
    let mut txn = Txn::new();
    assert_eq!(
        r.tcp_content
            .inspect_tcp(&conn(b"9=12\x01", true), &mut txn),
        Some(Verdict::Reject)
    );
    // A valid start of one may become whole: wait.
    let mut txn = Txn::new();
    assert_eq!(
        r.tcp_content
            .inspect_tcp(&conn(b"8=FIX.4.4\x019=", true), &mut txn),
        None
    );
}

#[test]
fn rdp_cookie_acl_forms() {
    let r = rules(
        "    tcp-request content set-var(txn.a) int(1) if { req_rdp_cookie(mstshash) -m str hello }\n\
         tcp-request content set-var(txn.n) int(1) if { req_rdp_cookie_cnt(mstshash) gt 0 }",
    );
    let mut packet = b"\x03\x00\x00\x23\x1e\xe0\x00\x00\x00\x00\x00".to_vec();
    packet.extend_from_slice(b"Cookie: mstshash=hello\r\n");
    let mut txn = Txn::new();
    r.tcp_content.run_tcp(&conn(&packet, false), &mut txn);
    assert_eq!(txn.vars.get("txn.a"), Some(&Value::Sint(1)));
    assert_eq!(txn.vars.get("txn.n"), Some(&Value::Sint(1)));
}

#[test]
fn body_fetches_and_wait_for_body() {
    let r = rules(
        "    http-request wait-for-body time 1s at-least 10k if METH_POST\n\
         http-request set-var(txn.u) req.body_param(user)\n\
         http-request set-var(txn.len) req.body_len",
    );
    let nothing = SimpleConnection::default();
    let post = sluice_rules::SimpleMessage::request("POST", "/", &[("host", "x")]);
    let src = sluice_rules::Stream::request(&nothing, &post);
    let w = r.http_request.body_wait(&src).expect("a POST waits");
    assert_eq!(w.time, std::time::Duration::from_secs(1));
    assert_eq!(w.at_least, Some(10 * 1024));
    let get = sluice_rules::SimpleMessage::request("GET", "/", &[("host", "x")]);
    let src = sluice_rules::Stream::request(&nothing, &get);
    assert_eq!(r.http_request.body_wait(&src), None);

    let c = SimpleConnection {
        req_body: Some(b"user=ann&x=1".to_vec()),
        ..SimpleConnection::default()
    };
    let mut msg = post.clone();
    let mut txn = Txn::new();
    r.run_http_request(&mut msg, &c, &mut txn);
    assert_eq!(txn.vars.get("txn.u"), Some(&Value::string(b"ann".to_vec())));
    assert_eq!(txn.vars.get("txn.len"), Some(&Value::Sint(12)));

    let e = compile_error("    http-request wait-for-body at-least 10");
    assert!(e.contains("time"), "{e}");
}

#[test]
fn a_negated_condition_that_could_not_tell_matches_once_final() {
    let r = rules("    tcp-request content reject if WAIT_END !{ req.len ge 4 }");
    let mut txn = Txn::new();
    assert_eq!(
        r.tcp_content.inspect_tcp(&conn(b"ab", true), &mut txn),
        None
    );
    assert_eq!(
        r.tcp_content.inspect_tcp(&conn(b"ab", false), &mut txn),
        Some(Verdict::Reject)
    );
    assert_eq!(
        r.tcp_content.inspect_tcp(&conn(b"abcd", false), &mut txn),
        Some(Verdict::Continue)
    );
}

#[test]
fn the_last_rule_that_ended_a_rule_set_is_remembered() {
    let r = rules(
        "    tcp-request content set-var(txn.x) str(a)\n\
         tcp-request content accept if { req.len ge 2 }",
    );
    sluice_rules::origin::set_source_names(["test.cfg".to_string()]);
    let mut txn = Txn::new();
    r.tcp_content.run_tcp(&conn(b"ab", false), &mut txn);
    let origin = txn.vars.last_rule.expect("the accept ended the rules");
    // common::frontend's text: the rules follow `frontend fe` (6) and its `bind` (7).
    assert_eq!(origin.line, 9);
    assert_eq!(
        sluice_rules::origin::source_name(origin.file).as_deref(),
        Some("test.cfg")
    );
    // A set-var does not end anything; nothing matched: no last rule.
    let mut txn = Txn::new();
    r.tcp_content.run_tcp(&conn(b"a", false), &mut txn);
    assert_eq!(txn.vars.last_rule, None);
}

#[test]
fn early_hints_are_collected_in_order() {
    let r = rules(
        "    http-request early-hint Link \"</a.css>; rel=preload\"\n\
         http-request early-hint Link \"</%[path]>; rel=preload\"",
    );
    let mut msg = sluice_rules::SimpleMessage::request("GET", "/b.js", &[("host", "x")]);
    let mut txn = Txn::new();
    r.run_http_request(&mut msg, &SimpleConnection::default(), &mut txn);
    let hints: Vec<_> = txn
        .early_hints
        .iter()
        .map(|(n, v)| {
            (
                String::from_utf8_lossy(n).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            )
        })
        .collect();
    assert_eq!(
        hints,
        [
            ("Link".to_string(), "</a.css>; rel=preload".to_string()),
            ("Link".to_string(), "<//b.js>; rel=preload".to_string()),
        ]
    );
}
