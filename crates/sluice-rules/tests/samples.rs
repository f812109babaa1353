//! One test per fetch and converter family, through the ACLs and values a user writes.

mod common;

use common::rules;
use sluice_rules::{SimpleConnection, SimpleMessage, Txn, Verdict};

fn conn() -> SimpleConnection {
    let mut c = SimpleConnection::new("10.1.2.3:40000", "127.0.0.1:8080");
    c.nbsrv = vec![("app".into(), 2), ("other".into(), 0)];
    c.servers = vec![
        ("app".into(), "s1".into(), true),
        ("app".into(), "s2".into(), false),
    ];
    c
}

/// Renders `fmt` through `set-header X-Out` on `req`.
fn render(fmt: &str, req: &mut SimpleMessage) -> Option<String> {
    let r = rules(&format!("    http-request set-header X-Out \"{fmt}\""));
    r.run_http_request(req, &conn(), &mut Txn::new());
    req.get("X-Out")
}

fn get(uri: &str) -> SimpleMessage {
    SimpleMessage::request(
        "GET",
        uri,
        &[
            ("Host", "www.Example.com:8080"),
            ("Accept", "text/html, application/json"),
            ("Cookie", "a=1; session=abc; b=2"),
            ("X-Num", "42"),
        ],
    )
}

fn value(fmt: &str) -> String {
    render(fmt, &mut get("/p/a.html?x=1&y=two")).unwrap_or_default()
}

/// Whether `acl` (written after `acl t`) matches the default request.
fn matches(acl: &str) -> bool {
    matches_on(acl, get("/p/a.html?x=1&y=two"))
}

fn matches_on(acl: &str, mut req: SimpleMessage) -> bool {
    let r = rules(&format!("    acl t {acl}\n    http-request deny if t"));
    matches!(
        r.run_http_request(&mut req, &conn(), &mut Txn::new()),
        Verdict::Deny { .. }
    )
}

#[test]
fn connection_fetches() {
    assert_eq!(value("%[src]"), "10.1.2.3");
    assert_eq!(value("%[src_port]"), "40000");
    assert_eq!(value("%[dst]:%[dst_port]"), "127.0.0.1:8080");
    assert!(matches("src 10.0.0.0/8"));
    assert!(!matches("src 192.168.0.0/16"));
    assert!(matches("dst_port 8080"));
    assert!(!matches("ssl_fc -m bool"));
    assert!(matches("always_true"));
    assert!(!matches("always_false"));
}

#[test]
fn request_line_fetches() {
    assert_eq!(value("%[path]"), "/p/a.html");
    assert_eq!(value("%[query]"), "x=1&y=two");
    assert_eq!(value("%[url]"), "/p/a.html?x=1&y=two");
    assert_eq!(value("%[base]"), "www.Example.com:8080/p/a.html");
    assert_eq!(value("%[method]"), "GET");
    assert_eq!(value("%[req.ver]"), "1.1");
    assert_eq!(value("%[url_param(y)]"), "two");
    assert_eq!(value("%[urlp(x)]"), "1");
    assert_eq!(value("%[url_param(zz)]"), "");
}

#[test]
fn header_fetches() {
    assert_eq!(value("%[req.hdr(host)]"), "www.Example.com:8080");
    assert_eq!(
        value("%[hdr(accept)]"),
        "application/json",
        "last comma-separated value"
    );
    assert_eq!(value("%[hdr(accept,1)]"), "text/html");
    assert_eq!(value("%[req.fhdr(accept)]"), "text/html, application/json");
    assert_eq!(value("%[hdr_cnt(accept)]"), "2");
    assert_eq!(value("%[req.hdr_cnt(x-missing)]"), "0");
    assert_eq!(value("%[req.cook(session)]"), "abc");
    assert_eq!(value("%[cook(b)]"), "2");
    assert!(
        matches("hdr(accept) application/json"),
        "ACLs try every value"
    );
    assert!(matches("hdr_val(x-num) gt 40"));
}

#[test]
fn derived_acl_criteria() {
    assert!(matches("path_beg /p/"));
    assert!(matches("path_end .html"));
    assert!(matches("path_sub a.ht"));
    assert!(matches("path_reg ^/p/[a-z]+\\.html$"));
    assert!(matches("path_dir p"));
    assert!(matches("path_len 9"));
    assert!(matches("url_beg /p"));
    assert!(matches("hdr_beg(host) www."));
    assert!(matches("hdr_end(host) :8080"));
    assert!(matches("hdr_dom(host) -i example"));
    assert!(!matches("hdr_dom(host) exam"));
    assert!(matches("hdr_sub(accept) json"));
    assert!(matches("hdr_reg(host) ^www"));
    assert!(matches("hdr_len(x-num) 2"));
    assert!(matches("base_beg www.Example.com:8080/p"));
    assert!(matches("urlp(x) 1"));
    assert!(matches("hdr_cnt(accept) 2"));
    let mut req = get("/");
    req.headers.push(("X-Real-IP".into(), "10.9.8.7".into()));
    assert!(matches_on("hdr_ip(x-real-ip) 10.0.0.0/8", req));
}

#[test]
fn state_and_constant_fetches() {
    assert_eq!(value("%[nbsrv(app)]"), "2");
    assert!(matches("nbsrv(other) lt 1"));
    assert!(matches("srv_is_up(app/s1)"));
    assert!(!matches("srv_is_up(app/s2)"));
    assert_eq!(value("%[str(hello)]"), "hello");
    assert_eq!(value("%[int(7)]"), "7");
    assert!(matches("int(5) 1:10"));
    let r: i64 = value("%[rand(10)]").parse().unwrap();
    assert!((0..10).contains(&r));
    assert!(!value("%[hostname]").is_empty());
    std::env::set_var("SLUICE_RULES_TEST_ENV", "yes");
    assert_eq!(value("%[env(SLUICE_RULES_TEST_ENV)]"), "yes");
}

#[test]
fn payload_fetches_need_a_buffer() {
    let hello = {
        // The TLS parser has its own unit tests; here only "not available yet" matters.
        let r = rules("    acl sni req.ssl_sni -m found\n    http-request deny if sni");
        let mut req = get("/");
        r.run_http_request(&mut req, &conn(), &mut Txn::new())
    };
    assert_eq!(hello, Verdict::Continue, "no payload: no match, no panic");
    let r = rules("    acl big req.len gt 3\n    http-request deny if big");
    let mut c = conn();
    c.payload = Some(b"hello".to_vec());
    let mut req = get("/");
    assert!(matches!(
        r.run_http_request(&mut req, &c, &mut Txn::new()),
        Verdict::Deny { .. }
    ));
}

#[test]
fn string_converters() {
    assert_eq!(value("%[req.hdr(host),lower]"), "www.example.com:8080");
    assert_eq!(value("%[req.hdr(host),upper]"), "WWW.EXAMPLE.COM:8080");
    assert_eq!(value("%[req.hdr(host),host_only]"), "www.example.com");
    assert_eq!(value("%[req.hdr(host),port_only]"), "8080");
    assert_eq!(value("%[req.hdr(host),length]"), "20");
    assert_eq!(value("%[str(a.b.c),field(2,.)]"), "b");
    assert_eq!(value("%[str(a.b.c),field(-1,.)]"), "c");
    assert_eq!(value("%[str(a..b),word(2,.)]"), "b");
    // A count of 0 runs to the end (to the start for a negative index), separators kept.
    assert_eq!(value("%[str(f1_f2_f3__f5),field(2,_,0)]"), "f2_f3__f5");
    assert_eq!(value("%[str(f1_f2_f3__f5),field(-2,_,3)]"), "f2_f3_");
    assert_eq!(value("%[str(f1_f2_f3__f5),field(-3,_,0)]"), "f1_f2_f3");
    assert_eq!(value("%[str(f1_f2_f3__f5),word(2,_,0)]"), "f2_f3__f5");
    assert_eq!(value("%[str(f1_f2_f3__f5),word(-3,_,0)]"), "f1_f2");
    assert_eq!(value("%[str(xxabcxx),ltrim(x)]"), "abcxx");
    assert_eq!(value("%[str(xxabcxx),rtrim(x)]"), "xxabc");
    assert_eq!(value("%[path,regsub(/,_,g)]"), "_p_a.html");
    assert_eq!(value("%[path,regsub(^/P,/q,i)]"), "/q/a.html");
    assert_eq!(value("%[str(a%20b),url_dec]"), "a b");
    assert_eq!(value("%[str(a b),url_enc]"), "a%20b");
    let mut req = get("/");
    req.headers.push(("X-Q".into(), "say \"hi\"\u{e9}".into()));
    assert_eq!(
        render("%[req.hdr(x-q),json(utf8)]", &mut req).as_deref(),
        Some("say \\\"hi\\\"\\u00e9")
    );
    assert_eq!(
        render("%[req.hdr(x-q),json]", &mut req).as_deref(),
        Some("say \\\"hi\\\"\\u00c3\\u00a9"),
        "ascii by default: one escape per byte"
    );
    // Everything is appended after the input.
    assert_eq!(value("%[str(x),concat(<,,>)]"), "x<>");
    assert_eq!(value("%[query,param(y)]"), "two");
}

#[test]
fn binary_and_hash_converters() {
    assert_eq!(value("%[str(hello),base64]"), "aGVsbG8=");
    assert_eq!(
        value("%[str(aGVsbG8=),b64dec]"),
        "hello",
        "binary prints as a string, as HAProxy casts it"
    );
    assert_eq!(value("%[str(AB),hex]"), "4142");
    assert_eq!(value("%[str(hello),bytes(1,3)]"), "ell");
    assert_eq!(value("%[str(123456789),crc32]"), "3421780262");
    assert_eq!(value("%[str(a),djb2]"), "177670");
    assert_eq!(value("%[str(a),sdbm]"), "97");
    assert!(value("%[str(a),wt6]").parse::<u32>().is_ok());
    assert_eq!(
        value("%[str(abc),sha1,hex]"),
        "A9993E364706816ABA3E25717850C26C9CD0D89D"
    );
    assert_eq!(value("%[str(abc),sha2,hex]").len(), 64);
    assert_eq!(value("%[str(abc),digest(sha512),length]"), "64");
}

#[test]
fn arithmetic_converters_never_panic() {
    assert_eq!(value("%[int(7),add(3)]"), "10");
    assert_eq!(value("%[int(7),sub(10)]"), "-3");
    assert_eq!(value("%[int(7),mul(3)]"), "21");
    assert_eq!(value("%[int(7),div(2)]"), "3");
    assert_eq!(
        value("%[int(7),div(0)]"),
        "9223372036854775807",
        "division by zero gives the largest integer"
    );
    assert_eq!(value("%[int(7),mod(0)]"), "0");
    assert_eq!(
        value("%[int(-9223372036854775808),div(-1)]"),
        "9223372036854775807"
    );
    assert_eq!(
        value("%[int(9223372036854775807),add(1)]"),
        "9223372036854775807",
        "overflow is capped"
    );
    assert_eq!(
        value("%[int(-9223372036854775808),sub(1)]"),
        "-9223372036854775808"
    );
    assert_eq!(
        value("%[int(4611686018427387904),mul(-4)]"),
        "-9223372036854775808"
    );
    assert_eq!(
        value("%[int(-9223372036854775808),neg]"),
        "9223372036854775807"
    );
    assert_eq!(
        value("%[int(6),and(3)]|%[int(6),or(1)]|%[int(6),xor(2)]"),
        "2|7|4"
    );
    assert_eq!(
        value("%[int(0),not]|%[int(3),bool]|%[int(3),odd]|%[int(3),even]"),
        "1|1|1|0"
    );
    assert_eq!(value("%[ssl_fc,iif(https,http)]"), "http");
    assert_eq!(
        value("%[req.hdr(x-num),add(1)]"),
        "43",
        "strings cast to integers"
    );
}

#[test]
fn ipmask_and_addresses() {
    assert_eq!(value("%[src,ipmask(24)]"), "10.1.2.0");
    assert_eq!(value("%[src,ipmask(255.255.0.0)]"), "10.1.0.0");
    assert!(matches("src,ipmask(16) 10.1.0.0"));
}

#[test]
fn variables() {
    let r = rules(
        "    http-request set-var(txn.host) req.hdr(host),lower\n\
         \x20   http-request set-var-fmt(txn.both) \"%[var(txn.host)]!%[path]\"\n\
         \x20   http-request set-header X-Host %[var(txn.host)]\n\
         \x20   http-request set-header X-Both %[var(txn.both)]\n\
         \x20   http-request set-header X-Sum %[int(1),add(txn.n)]\n\
         \x20   http-request unset-var(txn.host)\n\
         \x20   http-request set-header X-Gone %[var(txn.host,none)]",
    );
    let mut req = get("/x");
    let mut txn = Txn::new();
    r.run_http_request(&mut req, &conn(), &mut txn);
    assert_eq!(req.get("X-Host").as_deref(), Some("www.example.com:8080"));
    assert_eq!(
        req.get("X-Both").as_deref(),
        Some("www.example.com:8080!/x")
    );
    assert_eq!(
        req.get("X-Sum").as_deref(),
        Some(""),
        "unset variable: no value"
    );
    assert_eq!(req.get("X-Gone").as_deref(), Some("none"));
}

#[test]
fn type_errors_are_reported_at_compile_time() {
    let e = common::compile_error("    http-request set-header X %[src,lower,nope]");
    assert!(e.contains("unknown converter 'nope'"), "{e}");
    let e = common::compile_error("    http-request set-header X %[ssl_fc,ipmask(24)]");
    assert!(
        e.contains("expects ip, the expression gives boolean"),
        "{e}"
    );
    let e = common::compile_error("    http-response set-header X %[path]");
    assert!(e.contains("HTTP request headers"), "{e}");
    let e = common::compile_error("    http-request set-header X %[nbsrv(missing)]");
    assert!(e.contains("no such backend 'missing'"), "{e}");
    let e = common::compile_error("    http-request set-header X %[str(a),regsub(a,b,z)]");
    assert!(e.contains("invalid flag"), "{e}");
}

#[test]
fn header_values_as_numbers_and_hashes() {
    assert_eq!(value("%[req.hdr_val(x-num),add(1)]"), "43");
    assert_eq!(value("%[hdr_val(x-num)]"), "42");
    // Reference values of XXH32 and XXH64 for the empty input, seed 0.
    assert_eq!(value("%[str(),xxh32]"), 0x02CC_5D05u32.to_string());
    assert_eq!(
        value("%[str(),xxh64]"),
        (0xEF46_DB37_51D8_E999u64 as i64).to_string()
    );
}

#[test]
fn payload_fetches_read_the_buffered_request() {
    use sluice_rules::sample::Value;
    let conn_with = |payload: &[u8]| {
        let mut c = SimpleConnection::new("10.1.2.3:40000", "127.0.0.1:8080");
        c.payload = Some(payload.to_vec());
        c
    };
    let rules = rules(
        "    tcp-request content set-var(txn.p) req.payload(1,2)\n\
         tcp-request content set-var(txn.lv) req.payload_lv(0,1)\n\
         tcp-request content set-var(txn.t) req.ssl_hello_type",
    );
    let conn = conn_with(b"\x03abcd");
    let mut txn = Txn::new();
    rules.tcp_content.run_tcp(&conn, &mut txn);
    assert_eq!(
        txn.vars.get("txn.p"),
        Some(&Value::Bin(b"ab".to_vec().into()))
    );
    assert_eq!(
        txn.vars.get("txn.lv"),
        Some(&Value::Bin(b"abc".to_vec().into()))
    );
    // Not TLS: no hello type.
    assert_eq!(txn.vars.get("txn.t"), None);
}
