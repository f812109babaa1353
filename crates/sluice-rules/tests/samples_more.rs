//! Fetches and converters HAProxy's regression tests use: cookies, header blocks, dates,
//! map outputs, `acl()`, proxy and process state, `has_ctl`. Each test checks what a user
//! would read in a header.

mod common;

use common::{compile_error, rules, rules_in};
use sluice_rules::{SimpleConnection, SimpleMessage, Txn, Verdict};

fn conn() -> SimpleConnection {
    let mut c = SimpleConnection::new("127.0.0.1:40000", "192.0.2.10:8080");
    c.frontend = "fe".into();
    c.nbsrv = vec![("app".into(), 2), ("other".into(), 0)];
    c.servers = vec![
        ("app".into(), "s1".into(), true),
        ("app".into(), "s2".into(), false),
    ];
    c
}

fn request() -> SimpleMessage {
    SimpleMessage::request(
        "GET",
        "http://www.example.com/p/a.html?x=1&y=two",
        &[
            ("Host", "www.example.com"),
            ("X-Num", "42"),
            ("Cookie", "cook1=0; cook2=123; cook3=22"),
            ("Cookie", "cook4=1"),
        ],
    )
}

/// Renders `fmt` through `http-request set-header X-Out`, with `extra` lines before it.
fn value_with(extra: &str, fmt: &str) -> String {
    let r = rules(&format!(
        "{extra}\n    http-request set-header X-Out \"{fmt}\""
    ));
    let mut req = request();
    r.run_http_request(&mut req, &conn(), &mut Txn::new());
    req.get("X-Out").unwrap_or_default()
}

fn value(fmt: &str) -> String {
    value_with("", fmt)
}

/// Renders `fmt` through `http-response set-header X-Out` on `res`.
fn response_value(fmt: &str, res: &mut SimpleMessage) -> String {
    let r = rules(&format!("    http-response set-header X-Out \"{fmt}\""));
    r.run_http_response(res, &conn(), &mut Txn::new());
    res.get("X-Out").unwrap_or_default()
}

#[test]
fn request_cookies() {
    assert_eq!(value("%[req.cook_cnt]"), "4");
    assert_eq!(value("%[req.cook_cnt(cook2)]"), "1");
    assert_eq!(value("%[req.cook_val(cook2),add(1)]"), "124");
    assert_eq!(value("%[req.cook_names]"), "cook1,cook2,cook3,cook4");
    assert_eq!(value("%[req.cook_names(|)]"), "cook1|cook2|cook3|cook4");
    assert_eq!(value("%[req.cook]"), "0", "no name: the first cookie");
    assert_eq!(value("%[req.cook(cook3)]"), "22");
    assert_eq!(value("%[req.cook(nope)]"), "");
    assert_eq!(value("%[cook_cnt]"), "4");
}

#[test]
fn response_cookies_take_the_first_pair_of_each_line() {
    let mut res = SimpleMessage::response(
        200,
        &[("Set-Cookie", "c1=v1; path=/"), ("Set-Cookie", "c2=12345")],
    );
    assert_eq!(response_value("%[res.cook_names]", &mut res), "c1,c2");
    assert_eq!(response_value("%[res.cook_cnt]", &mut res), "2");
    assert_eq!(response_value("%[res.cook(c1)]", &mut res), "v1");
    assert_eq!(response_value("%[scook_val(c2)]", &mut res), "12345");
    assert_eq!(response_value("%[res.cook_cnt(path)]", &mut res), "0");
}

#[test]
fn header_blocks_and_names() {
    assert_eq!(value("%[req.hdr_names]"), "host,x-num,cookie,cookie");
    assert_eq!(value("%[req.hdr_names(|)]"), "host|x-num|cookie|cookie");
    assert_eq!(
        value_with(
            "    acl has req.hdrs -m sub \"x-num: 42\\r\\n\"",
            "%[bool(1)]"
        ),
        "1"
    );
    assert_eq!(
        value("%[req.hdrs,length]"),
        (("host: www.example.com\r\n".len()
            + "x-num: 42\r\n".len()
            + "cookie: cook1=0; cook2=123; cook3=22\r\n".len()
            + "cookie: cook4=1\r\n".len()
            + 2)
        .to_string())
    );
    assert!(value("%[req.hdrs_bin,hex,lower]").contains("782d6e756d023432"));
    let mut res = SimpleMessage::response(200, &[("X-IP", "10.1.2.3:80"), ("X-List", "a, b")]);
    assert_eq!(response_value("%[res.hdr_names]", &mut res), "x-ip,x-list");
    assert_eq!(response_value("%[res.hdr_ip(x-ip)]", &mut res), "10.1.2.3");
    assert_eq!(response_value("%[shdr_cnt(x-list)]", &mut res), "2");
    assert_eq!(response_value("%[res.fhdr_cnt(x-list)]", &mut res), "1");
}

#[test]
fn request_line_forms() {
    assert_eq!(value("%[pathq]"), "/p/a.html?x=1&y=two");
    assert_eq!(value("%[baseq]"), "www.example.com/p/a.html?x=1&y=two");
    assert_eq!(value("%[meth(GET)]"), "GET");
    assert_eq!(value("%[req_proto_http]"), "1");
    let r = rules("    http-request deny if { method,lower -m str get } { meth(GET) -m str GET }");
    let mut req = request();
    assert!(matches!(
        r.run_http_request(&mut req, &conn(), &mut Txn::new()),
        Verdict::Deny { .. }
    ));
}

#[test]
fn dates_in_utc_with_fractions_and_offsets() {
    assert_eq!(
        value("%[int(1000000000),utime(%Y-%m-%dT%H:%M:%S)]"),
        "2001-09-09T01:46:40"
    );
    assert_eq!(
        value("%[int(1000000000),utime(%Y-%m-%dT%H:%M:%S,-100)]"),
        "2001-09-09T01:45:00"
    );
    assert_eq!(
        value("%[int(1234567890123),ms_utime(%H:%M:%S.%3N)]"),
        "23:31:30.123"
    );
    assert_eq!(value("%[int(1234567890123),ms_utime(%N)]"), "123000000");
    assert_eq!(
        value("%[int(1234567890123),ms_utime(%H:%M:%S.%3N,877)]"),
        "23:31:31.000"
    );
    assert_eq!(
        value("%[int(1234567890123456),us_utime(%H:%M:%S.%6N,-123456)]"),
        "23:31:30.000000"
    );
    assert_eq!(value("%[int(1234567890123456),us_utime(%3N)]"), "123");
    assert!(value("%[int(1000000000),ltime(%Y)]").starts_with("2001"));
    assert_eq!(
        value("%[int(1000000000),http_date]"),
        "Sun, 09 Sep 2001 01:46:40 GMT"
    );
    assert_eq!(
        value("%[int(1000000000),http_date(3600)]"),
        "Sun, 09 Sep 2001 02:46:40 GMT"
    );
    assert_eq!(
        value("%[int(1000000000023),http_date(0,ms)]"),
        "Sun, 09 Sep 2001 01:46:40.023 GMT"
    );
    assert_eq!(
        value("%[int(1000000000123),http_date(-1000,ms)]"),
        "Sun, 09 Sep 2001 01:46:39.123 GMT"
    );
    assert_eq!(
        value("%[int(1000000000000023),http_date(0,us)]"),
        "Sun, 09 Sep 2001 01:46:40.000023 GMT"
    );
    let s: i64 = value("%[date]").parse().unwrap_or(0);
    let ms: i64 = value("%[date(0,ms)]").parse().unwrap_or(0);
    assert!((ms / 1000 - s).abs() <= 1, "{s} {ms}");
    let us: i64 = value("%[date_us]").parse().unwrap_or(-1);
    assert!((0..1_000_000).contains(&us));
    let e = compile_error("    http-request set-header X %[date(0,ns)]");
    assert!(e.contains("date"), "{e}");
}

#[test]
fn map_outputs_addresses_and_keys() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("v.map"),
        "example.org org\n/images images\nmid middle\n.png png\n^/api/v[0-9]+$ api\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("ip.map"),
        "example.org 10.0.0.1\n/images 10.0.0.2\nmid 10.0.0.3\n.png 10.0.0.4\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("i.map"), "100-200 150\n7 700\n").unwrap();
    std::fs::write(dir.path().join("a.map"), "192.168.1.0/24 24\n").unwrap();
    let render = |fmt: &str| {
        let r = rules_in(
            &format!("    http-request set-header X-Out \"{fmt}\""),
            Some(dir.path()),
        );
        let mut req = request();
        r.run_http_request(&mut req, &conn(), &mut Txn::new());
        req.get("X-Out").unwrap_or_default()
    };
    assert_eq!(render("%[str(/imagesXY),map_beg_ip(ip.map)]"), "10.0.0.2");
    assert_eq!(render("%[str(/imagesXY),map_beg_key(v.map)]"), "/images");
    assert_eq!(render("%[str(xxmidyy),map_sub_key(v.map)]"), "mid");
    assert_eq!(render("%[str(/images/logo),map_dir_key(v.map)]"), "/images");
    assert_eq!(
        render("%[str(sub.example.org),map_dom_ip(ip.map)]"),
        "10.0.0.1"
    );
    assert_eq!(render("%[str(logo.png),map_end_key(v.map)]"), ".png");
    assert_eq!(
        render("%[str(/api/v2),map_reg_key(v.map)]"),
        "^/api/v[0-9]+$"
    );
    assert_eq!(
        render("%[str(example.org),map_str_key(v.map)]"),
        "example.org"
    );
    assert_eq!(render("%[int(150),map_int_key(i.map)]"), "100-200");
    assert_eq!(
        render("%[ipv4(192.168.1.7),map_ip_key(a.map)]"),
        "192.168.1.0/24"
    );
    assert_eq!(render("%[str(nowhere),map_str_key(v.map)]"), "");
}

#[test]
fn acl_fetch_combines_named_acls() {
    let extra =
        "    acl a1 always_true\n    acl a2 acl(a1)\n    acl a3 acl(!a2)\n    acl a4 acl(a2,!a3)";
    assert_eq!(
        value_with(
            extra,
            "%[acl(a1)] %[acl(a2)] %[acl(a3)] %[acl(a4)] %[acl(TRUE)]"
        ),
        "1 1 0 1 1"
    );
    let e = compile_error("    acl loop acl(loop)\n    http-request deny if loop");
    assert!(e.contains("itself"), "{e}");
    let e = compile_error("    http-request set-header X %[acl(nosuch)]");
    assert!(e.contains("nosuch"), "{e}");
}

#[test]
fn proxy_and_process_state() {
    assert_eq!(value("%[fe_defbe]"), "app");
    assert_eq!(
        value("%[str(fe),fe_exists] %[str(nosuchfe),fe_exists]"),
        "1 0"
    );
    assert_eq!(value("%[str(app),nbsrv] %[str(other),nbsrv]"), "2 0");
    assert_eq!(
        value("%[str(app/s1),srv_is_up] %[str(app/s2),srv_is_up]"),
        "1 0"
    );
    assert_eq!(value("%[pid]"), std::process::id().to_string());
    assert_eq!(value("%[thread] %[tgroup]"), "0 0");
    assert_eq!(value("%[src_is_local] %[fc_src_is_local]"), "1 1");
    assert_eq!(
        value("%[dst_is_local] %[fc_dst_is_local]"),
        "0 0",
        "192.0.2.10 is a documentation address"
    );
}

#[test]
fn dump_all_vars_lists_scopes_in_order() {
    let extra = "    http-request set-var(txn.name) str(ab)\n\
                 http-request set-var(txn.count) int(42)\n\
                 http-request set-var(sess.flag) bool(1)\n\
                 http-request set-var(txn.raw) bin(4142)";
    assert_eq!(
        value_with(extra, "%[dump_all_vars]"),
        "sess.flag=true, txn.name=\"ab\", txn.count=42, txn.raw=x4142"
    );
    assert_eq!(value_with(extra, "%[dump_all_vars(txn,c)]"), "txn.count=42");
    assert_eq!(
        value_with(extra, "%[dump_all_vars(txn,,|)]"),
        "txn.name=\"ab\"|txn.count=42|txn.raw=x4142"
    );
}

#[test]
fn has_ctl_masks() {
    let extra = "    http-request set-var(txn.in) req.hdr(data),b64dec";
    let check = |data: &str, conv: &str| {
        let r = rules(&format!(
            "{extra}\n    http-request set-header X-Out \"%[var(txn.in),{conv}]\""
        ));
        let mut req = SimpleMessage::request("GET", "/", &[("Data", data)]);
        r.run_http_request(&mut req, &conn(), &mut Txn::new());
        req.get("X-Out").unwrap_or_default()
    };
    // "a<tab>b": only "any" and the tab mask see it.
    assert_eq!(check("YQli", "has_ctl"), "0");
    assert_eq!(check("YQli", "has_ctl(any)"), "1");
    assert_eq!(check("YQli", "has_ctl(0x200)"), "1");
    // "a<cr>b": everything but the tab mask.
    assert_eq!(check("YQ1i", "has_ctl()"), "1");
    assert_eq!(check("YQ1i", "has_ctl(http)"), "1");
    assert_eq!(check("YQ1i", "has_ctl(0x200)"), "0");
    // "a<del>b": bit 32.
    assert_eq!(check("YX9i", "has_ctl"), "1");
    assert_eq!(check("YX9i", "has_ctl(http)"), "0");
    assert_eq!(check("aGVsbG8gd29ybGQ=", "has_ctl(any)"), "0");
    let e = compile_error("    http-request set-var(txn.c) req.hdr(data),has_ctl(bogus)");
    assert!(e.contains("has_ctl"), "{e}");
    let e = compile_error("    http-request set-var(txn.c) req.hdr(data),has_ctl(0x400000000)");
    assert!(e.contains("has_ctl"), "{e}");
}

#[test]
fn url_hashes_parts_and_parameters() {
    assert_eq!(value("%[base32]"), value("%[base,sdbm(1)]"));
    assert_eq!(
        value("%[url32]"),
        value("%[str(www.example.comhttp://www.example.com/p/a.html?x=1&y=two),sdbm(1)]")
    );
    assert_eq!(
        value("%[base32+src,hex,lower]"),
        format!(
            "{:08x}7f000001",
            value("%[base32]").parse::<u32>().unwrap_or(0)
        )
    );
    assert_eq!(value("%[url32+src,hex,length]"), "16");
    assert_eq!(value("%[url_port]"), "", "the host is a name: not resolved");
    assert_eq!(value("%[url_ip]"), "", "the host is a name");
    assert_eq!(value("%[urlp_val(x),add(1)]"), "2");
    assert_eq!(value("%[url_param(X)]"), "");
    assert_eq!(value("%[url_param(X,,i)]"), "1");
    let r = rules("    http-request set-header X-Out \"%[url_ip] %[url_port]\"");
    let mut req = SimpleMessage::request("GET", "http://10.1.2.3:8080/x", &[]);
    r.run_http_request(&mut req, &conn(), &mut Txn::new());
    assert_eq!(req.get("X-Out").as_deref(), Some("10.1.2.3 8080"));
    let mut req = SimpleMessage::request("GET", "http://10.1.2.3/x", &[]);
    r.run_http_request(&mut req, &conn(), &mut Txn::new());
    assert_eq!(req.get("X-Out").as_deref(), Some("10.1.2.3 80"));
}

#[test]
fn rdp_cookie_from_the_connection_request() {
    let r = rules(
        "    tcp-request content reject if { req.rdp_cookie(MSTSHASH) -m str public }\n\
         tcp-request content reject if { req.rdp_cookie_cnt(other) gt 0 }",
    );
    let mut c = conn();
    let mut hello = b"\x03\x00\x00\x24\x06\xe0\x00\x00\x00\x00\x00".to_vec();
    hello.extend_from_slice(b"Cookie: mstshash=public\r\n");
    c.payload = Some(hello.clone());
    assert_eq!(r.tcp_content.run_tcp(&c, &mut Txn::new()), Verdict::Reject);
    hello.truncate(hello.len() - 2);
    hello.extend_from_slice(b"\0x\r\n");
    c.payload = Some(hello);
    assert_eq!(
        r.tcp_content.run_tcp(&c, &mut Txn::new()),
        Verdict::Continue
    );
}

#[test]
fn process_constants() {
    assert_eq!(value("%[quic_enabled]"), "0");
    let up: i64 = value("%[uptime]").parse().unwrap_or(-1);
    assert!(up >= 0);
}

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Runs `tcp-request content set-var(txn.out) <fmt>` on `payload` and returns txn.out.
fn content_value(fmt: &str, payload: &[u8]) -> String {
    let r = rules(&format!(
        "    tcp-request content set-var-fmt(txn.out) \"{fmt}\"\n\
         tcp-request content reject if {{ var(txn.out) -m found }}"
    ));
    let mut c = conn();
    c.payload = Some(payload.to_vec());
    let mut txn = Txn::new();
    r.tcp_content.run_tcp(&c, &mut txn);
    txn.vars
        .get("txn.out")
        .and_then(|v| {
            v.as_bytes()
                .map(|b| String::from_utf8_lossy(b).into_owned())
        })
        .unwrap_or_default()
}

#[test]
fn client_hello_contents() {
    let random = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    let hello = unhex(&format!(
        "1603010069 01000065 0303 {random} 00 00021302 0100 003a \
         000000140012 00000f 7777772e6578616d706c652e636f6d 000a00060004001d0017 \
         000d0006000404030804 0033000a0008001d0004aabbccdd"
    ));
    assert_eq!(
        content_value(
            "%[req.ssl_supported_groups,hex,lower] %[req.ssl_sigalgs,hex,lower] \
             %[req.ssl_keyshare_groups,hex,lower] %[req.ssl_cipherlist,hex,lower]",
            &hello
        ),
        "001d0017 04030804 001d 1302"
    );
    assert_eq!(
        content_value(
            "%[req.ssl_ver] %[req_ssl_ver] %[req.ssl_ec_ext] %[req.ssl_st_ext]",
            &hello
        ),
        "196611 196611 1 0"
    );
    // A supported_groups list announced longer than its extension.
    let bad = unhex(&format!(
        "1603010059 01000055 0303 {random} 00 00021302 0100 002a 000a00020020 ff010020 {}",
        "aa".repeat(32)
    ));
    assert_eq!(
        content_value("[%[req.ssl_supported_groups,hex]]", &bad),
        "[]"
    );
    let r = rules("    tcp-request content reject if { req.ssl_ver 3.3 } { req_ssl_ver gt 3.0 }");
    let mut c = conn();
    c.payload = Some(hello);
    assert_eq!(r.tcp_content.run_tcp(&c, &mut Txn::new()), Verdict::Reject);
}

#[test]
fn json_query_values() {
    let check = |json: &str, conv: &str| {
        let r = rules(&format!(
            "    http-request set-var(txn.o) req.fhdr(x-j),{conv}\n    http-request set-header X-Out %[var(txn.o)]"
        ));
        let mut req = SimpleMessage::request("GET", "/", &[("X-J", json)]);
        r.run_http_request(&mut req, &conn(), &mut Txn::new());
        req.get("X-Out").unwrap_or_default()
    };
    assert_eq!(
        check(
            r#"{"iss":"kubernetes.io/serviceaccount"}"#,
            "json_query('$.iss')"
        ),
        "kubernetes.io/serviceaccount"
    );
    assert_eq!(
        check(r#"{"integer":-4}"#, "json_query('$.integer',int),add(1)"),
        "-3"
    );
    assert_eq!(check(r#"{"double":4.5}"#, "json_query('$.double')"), "4.5");
    assert_eq!(check(r#"{"b":true}"#, "json_query('$.b')"), "1");
    assert_eq!(check(r#"{"my.key":"v"}"#, r"json_query('$.my\\.key')"), "v");
    assert_eq!(
        check(r#"{"k":["a","b"],"x":1}"#, "json_query('$.k')"),
        r#"["a","b"]"#
    );
    assert_eq!(check(r#"{"k":{"a":1}}"#, "json_query('$.k.a')"), "1");
    let r = rules("    http-request deny unless { req.hdr(x-j),json_query('$.u') -m str public }");
    let mut req = SimpleMessage::request("GET", "/", &[("X-J", r#"{"u":"public\u0000x"}"#)]);
    assert!(matches!(
        r.run_http_request(&mut req, &conn(), &mut Txn::new()),
        Verdict::Deny { .. }
    ));
    let e = compile_error("    http-request set-var(txn.x) req.hdr(x),json_query(nopath)");
    assert!(e.contains("json_query"), "{e}");
}

#[test]
fn a_listen_section_is_its_own_default_backend() {
    let text = "defaults\n    mode http\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n\
                listen l1\n    bind :8081\n    http-request set-header X-Out %[fe_defbe]\n    server s1 127.0.0.1:9000\n";
    let model = common::model(text);
    let r = match sluice_rules::compile(&model, "l1", &sluice_rules::CompileOptions::default()) {
        Ok(r) => r,
        Err(d) => panic!("{:?}", d.items),
    };
    let mut c = conn();
    c.frontend = "l1".into();
    let mut req = request();
    r.run_http_request(&mut req, &c, &mut Txn::new());
    assert_eq!(req.get("X-Out").as_deref(), Some("l1"));
}

#[test]
fn mqtt_connect_fields_and_properties() {
    let connect = unhex(
        "107e00044d51545405ee003c182700000014170126000161000162260001630001642100140008746573745f7375622a03000a746578742f706c61696e08000c77696c6c727370746f7069632600016500016626000167000168000977696c6c746f706963000b77696c6c7061796c6f61640004746573740006706173737764",
    );
    assert_eq!(
        content_value(
            "%[req.payload(0,0),mqtt_field_value(connect,protocol_name)] \
             %[req.payload(0,0),mqtt_field_value(1,protocol_version)] \
             %[req.payload(0,0),mqtt_field_value(CONNECT,flags)] \
             %[req.payload(0,0),mqtt_field_value(connect,client_identifier)] \
             %[req.payload(0,0),mqtt_field_value(connect,will_topic)] \
             %[req.payload(0,0),mqtt_field_value(connect,username)] \
             %[req.payload(0,0),mqtt_field_value(connect,39)] \
             %[req.payload(0,0),mqtt_field_value(connect,3)] \
             %[req.payload(0,0),mqtt_is_valid]",
            &connect
        ),
        "MQTT 5 238 test_sub willtopic test 20 text/plain 1"
    );
    assert_eq!(
        content_value("[%[req.payload(0,0),mqtt_is_valid]]", &unhex("d000")),
        "[0]"
    );
    let e = compile_error(
        "    tcp-request content set-var(txn.x) req.payload(0,0),mqtt_field_value(publish,flags)",
    );
    assert!(e.contains("mqtt_field_value"), "{e}");
}

#[test]
fn forwarded_header_values() {
    let check = |fwd: &str, conv: &str| {
        let r = rules(&format!(
            "    http-request set-var(txn.o) req.fhdr(forwarded),{conv}\n    http-request set-header X-Out %[var(txn.o)]"
        ));
        let mut req = SimpleMessage::request("GET", "/", &[("Forwarded", fwd)]);
        r.run_http_request(&mut req, &conn(), &mut Txn::new());
        req.get("X-Out").unwrap_or_default()
    };
    assert_eq!(check("for=127.0.0.1;proto=http", "rfc7239_is_valid"), "1");
    assert_eq!(check("proto=custom", "rfc7239_is_valid"), "0");
    let fwd = r#"proto=https;host="haproxy.org:80";for="127.0.0.1:9999""#;
    assert_eq!(check(fwd, "rfc7239_field(host)"), "haproxy.org:80");
    assert_eq!(check(fwd, "rfc7239_field(for),rfc7239_n2nn"), "127.0.0.1");
    assert_eq!(
        check(fwd, "rfc7239_field(for),rfc7239_n2np,add(1)"),
        "10000"
    );
    assert_eq!(
        check(r#"for="_name:_port""#, "rfc7239_field(for),rfc7239_n2np"),
        "_port"
    );
    assert_eq!(
        value("%[ipv6(::1),rfc7239_nn]:%[int(8080),rfc7239_np] %[str(test),rfc7239_nn] %[str(),rfc7239_nn]"),
        "[::1]:8080 _test unknown"
    );
    let e =
        compile_error("    http-request set-var(txn.x) req.hdr(forwarded),rfc7239_field(secret)");
    assert!(e.contains("rfc7239_field"), "{e}");
}
