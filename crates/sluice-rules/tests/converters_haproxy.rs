//! Converters and fetches checked against the values HAProxy gives for the same input.

mod common;

use common::rules;
use sluice_rules::{SimpleConnection, SimpleMessage, Txn};

fn render_with(setup: &str, fmt: &str, uri: &str) -> String {
    let r = rules(&format!(
        "{setup}    http-request set-header X-Out \"{fmt}\"\n"
    ));
    let mut req = SimpleMessage::request("GET", uri, &[("Host", "example.com"), ("X-In", "")]);
    let conn = SimpleConnection::new("10.1.2.3:40000", "127.0.0.1:8080");
    r.run_http_request(&mut req, &conn, &mut Txn::new());
    req.get("X-Out").unwrap_or_default()
}

fn value(fmt: &str) -> String {
    render_with("", fmt, "/")
}

/// Bytes 0 to 255, the input of HAProxy's hash tests.
const ALL_BYTES: &str = "var(txn.key)";

fn hashes_setup() -> String {
    let hex: String = (0..=255u8).map(|b| format!("{b:02x}")).collect();
    format!("    http-request set-var(txn.key) bin({hex})\n")
}

fn hash(conv: &str) -> String {
    render_with(&hashes_setup(), &format!("%[{ALL_BYTES},{conv}]"), "/")
}

#[test]
fn hashes_of_all_byte_values() {
    assert_eq!(hash("length"), "0", "a NUL byte ends the string");
    assert_eq!(hash("bytes(1),length"), "255");
    assert_eq!(hash("crc32"), "688229491");
    assert_eq!(hash("crc32(1)"), "4230317029");
    assert_eq!(hash("crc32c"), "2621708363");
    assert_eq!(hash("crc32c(1)"), "2242979626");
    assert_eq!(hash("djb2"), "2589693061");
    assert_eq!(hash("djb2(1)"), "600622701");
    assert_eq!(hash("sdbm"), "905707648");
    assert_eq!(hash("sdbm(1)"), "3103804144");
    assert_eq!(hash("wt6"), "4090277559");
    assert_eq!(hash("wt6(1)"), "1192658767");
    assert_eq!(hash("xxh3"), "-7779787747613135503");
    assert_eq!(hash("xxh3(1)"), "5930632130106562027");
    assert_eq!(hash("xxh32"), "1497633363");
    assert_eq!(hash("xxh32(1)"), "1070421674");
    assert_eq!(hash("xxh64"), "2282408585429094475");
    assert_eq!(hash("xxh64(1)"), "-4689339368900765961");
}

#[test]
fn integers_to_bytes_and_back() {
    assert_eq!(value("%[int(1),htonl,hex]"), "00000001");
    assert_eq!(value("%[int(258),htonl,hex]"), "00000102");
    assert_eq!(value("%[int(-1),htonl,hex]"), "FFFFFFFF");
    assert_eq!(value("%[str(ff),hex2i]"), "255");
    assert_eq!(value("%[str(zz),hex2i]"), "");
    assert_eq!(value("%[str(),hex2i]"), "0");
}

#[test]
fn chunked_renderings() {
    assert_eq!(
        value("%[bin(01020304050607),be2dec(:,2)]"),
        "258:772:1286:7"
    );
    assert_eq!(
        value("%[bin(01020304050607),be2dec(-,2,1)]"),
        "258-772-1286"
    );
    assert_eq!(value("%[bin(01020304050607),be2dec(,2,1)]"), "2587721286");
    assert_eq!(value("%[bin(7f000001),be2dec(.,1)]"), "127.0.0.1");
    assert_eq!(
        value("%[bin(01020304050607),le2dec(:,2)]"),
        "513:1027:1541:7"
    );
    assert_eq!(
        value("%[str(0123456789),le2dec(-,3)]"),
        "3289392-3486771-3684150-57"
    );
    assert_eq!(
        value("%[bin(ffffffffffffffff),be2dec(:,8)]"),
        "18446744073709551615"
    );
    assert_eq!(value("%[bin(01020304050607),be2hex]"), "01020304050607");
    assert_eq!(
        value("%[bin(01020304050607),be2hex(:,2)]"),
        "0102:0304:0506:07"
    );
    assert_eq!(
        value("%[bin(01020304050607),be2hex(--,2,1)]"),
        "0102--0304--0506"
    );
    assert_eq!(
        value("%[bin(0102030405060708),be2hex(,3,1)]"),
        "010203040506"
    );
    assert_eq!(value("%[str(),be2hex(:,1)]"), "");
}

#[test]
fn chunk_sizes_are_checked_at_compile_time() {
    let cfg = "    http-request set-header X %[str(a),be2dec(:,9)]\n";
    let res = std::panic::catch_unwind(|| rules(cfg));
    assert!(res.is_err(), "a chunk of 9 bytes is refused");
}

#[test]
fn add_item_adds_the_delimiter_only_between_items() {
    let setup = "    http-request set-var(txn.v) str(var_content)\n    http-request set-var(txn.in) req.hdr(x-in)\n";
    let run = |uri: &str, fmt: &str| render_with(setup, fmt, uri);
    assert_eq!(
        run("/", "%[var(txn.in),add_item(',',txn.v,_suff_)]"),
        "var_content_suff_"
    );
    assert_eq!(run("/", "%[str(in),add_item(',',txn.v)]"), "in,var_content");
    assert_eq!(run("/", "%[str(in),add_item(',',,_suff_)]"), "in,_suff_");
    assert_eq!(run("/", "%[str(in),add_item(',',txn.none)]"), "in");
}

#[test]
fn base64url() {
    for (plain, enc) in [
        ("f", "Zg"),
        ("fo", "Zm8"),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg"),
        ("fooba", "Zm9vYmE"),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(value(&format!("%[str({plain}),ub64enc]")), enc);
        assert_eq!(value(&format!("%[str({enc}),ub64dec]")), plain);
    }
    assert_eq!(value("%[bin(14fb9c03d97f12d97e),ub64enc]"), "FPucA9l_Etl-");
    assert_eq!(
        value("%[str(FPucA9l_Etl-),ub64dec,hex,lower]"),
        "14fb9c03d97f12d97e"
    );
    assert_eq!(value("%[str(a+b/),ub64dec]"), "", "not the URL alphabet");
    assert_eq!(value("%[str(Z),ub64dec]"), "", "impossible length");
}

#[test]
fn url_dec_turns_plus_into_space_in_query_strings() {
    let setup = "    http-request set-var(txn.url) url\n";
    let uri = "/bla+%20?foo%3Dbar%2B42+42%20";
    assert_eq!(
        render_with(setup, "%[var(txn.url),url_dec]", uri),
        "/bla+ ?foo=bar+42 42 "
    );
    assert_eq!(
        render_with(setup, "%[var(txn.url),url_dec(1)]", uri),
        "/bla  ?foo=bar+42 42 "
    );
    assert_eq!(value("%[str(%zz),url_dec]"), "");
}

#[test]
fn json_escapes_to_ascii() {
    assert_eq!(value("%[str(foo 1/2),json]"), "foo 1\\/2");
    assert_eq!(value("%[str(\\xC3\\xA9),json(utf8)]"), "\\u00e9");
    assert_eq!(value("%[str(\\xC3\\xA9),json]"), "\\u00c3\\u00a9");
    // Beyond 16 bits cannot be escaped.
    assert_eq!(value("%[str(\\xF0\\x9F\\x98\\x80),json(utf8)]"), "");
    assert_eq!(value("%[str(a\\xF0\\x9F\\x98\\x80),json(utf8s)]"), "a");
}

#[test]
fn string_helpers() {
    assert_eq!(value("%[str(A),base2]"), "01000001");
    assert_eq!(value("%[str(Az),base2]"), "0100000101111010");
    assert_eq!(
        render_with("", "%[url_param(s),url_dec,cut_crlf]", "/?s=hello%0Aworld"),
        "hello"
    );
    assert_eq!(
        render_with(
            "",
            "%[url_param(s),url_dec,cut_crlf,length]",
            "/?s=first%0Dsecond"
        ),
        "5"
    );
    assert_eq!(value("%[str(Example.COM:8080),host_only]"), "example.com");
    assert_eq!(value("%[str(example.com),port_only]"), "0");
    assert_eq!(value("%[str([::1]:80),port_only]"), "80");
}

#[test]
fn language_picks_the_highest_q_factor() {
    let lang = |header: &str, conv: &str| value(&format!("%[str({header}),{conv}]"));
    assert_eq!(
        lang("fr;q=0.2\\, en;q=0.8\\, de", "language(es;fr;en)"),
        "en"
    );
    assert_eq!(
        lang("fr;q=0.2\\, en;q=0.8\\, de", "language(de;it,none)"),
        "de"
    );
    assert_eq!(lang("es-AR", "language(es;fr;en)"), "es");
    assert_eq!(lang("fr;q=0\\, en;q=0.1", "language(es;fr;en)"), "en");
    assert_eq!(lang("ja", "language(es;fr;en)"), "");
    assert_eq!(lang("ja", "language(de;it,none)"), "none");
}

#[test]
fn strcmp_compares_with_a_variable() {
    let setup = "    http-request set-var(txn.h) str(abc)\n";
    let cmp = |input: &str| render_with(setup, &format!("%[str({input}),strcmp(txn.h)]"), "/");
    assert_eq!(cmp("abc"), "0");
    assert!(cmp("abd").parse::<i64>().unwrap() > 0);
    assert!(cmp("ab").parse::<i64>().unwrap() < 0);
    assert!(cmp("abcd").parse::<i64>().unwrap() > 0);
    assert_eq!(render_with("", "%[str(a),strcmp(txn.none)]", "/"), "");
}

#[test]
fn param_finds_bare_names() {
    assert_eq!(value("%[str(a=1&test=34),param(test)]"), "34");
    assert_eq!(
        value("%[str(a=b&test&c=d),param(test)]|%[str(a=b&test&c=d),param(test),length]"),
        "|0"
    );
    assert_eq!(value("%[str(test=),param(test),length]"), "0");
    assert_eq!(value("%[str(a=b),param(test),length]"), "");
    assert_eq!(value("%[str(a=b;test=x),param(test,;)]"), "x");
}

#[test]
fn ipmask_accepts_ipv6_masks_written_as_addresses() {
    let mask = |addr: &str, m: &str| value(&format!("%[str({addr}),ipmask(24,{m})]"));
    assert_eq!(
        mask("2001:db8::bad:c0f:ffff", "120"),
        "2001:db8::bad:c0f:ff00"
    );
    assert_eq!(
        mask(
            "2001:db8::bad:c0f:ffff",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fee0"
        ),
        "2001:db8::bad:c0f:fee0"
    );
    let a3 = "2001:db8:c001:c01a:ffff:ffff:10:ffff";
    assert_eq!(mask(a3, "ffff:ffff:ffff:ffff::"), "2001:db8:c001:c01a::");
    assert_eq!(
        mask(a3, "ffff:ffff:ffff:ffff:0:ffff:ffff:0"),
        "2001:db8:c001:c01a:0:ffff:10:0"
    );
    assert_eq!(value("%[str(192.168.1.255),ipmask(25)]"), "192.168.1.128");
}

fn with_header(name: &str, value: &str, fmt: &str) -> String {
    let r = rules(&format!("    http-request set-header X-Out \"{fmt}\"\n"));
    let mut req = SimpleMessage::request("GET", "/", &[("Host", "example.com"), (name, value)]);
    let conn = SimpleConnection::new("10.1.2.3:40000", "127.0.0.1:8080");
    r.run_http_request(&mut req, &conn, &mut Txn::new());
    req.get("X-Out").unwrap_or_default()
}

#[test]
fn bearer_tokens() {
    assert_eq!(
        with_header("x-tok", "Bearer abc", "%[http_auth_bearer(x-tok)]"),
        "abc"
    );
    assert_eq!(
        with_header("x-tok", "bearer   xyz123", "%[http_auth_bearer(x-tok)]"),
        "xyz123"
    );
    assert_eq!(
        with_header("x-tok", "Bearer", "%[http_auth_bearer(x-tok)]"),
        ""
    );
    assert_eq!(
        with_header("x-tok", "Basic abc", "%[http_auth_bearer(x-tok)]"),
        ""
    );
    assert_eq!(
        with_header("Authorization", "Bearer abcdef", "%[http_auth_bearer]"),
        "abcdef"
    );
    assert_eq!(
        with_header("Authorization", "Basic YTpi", "%[http_auth_bearer]"),
        ""
    );
}

#[test]
fn header_addresses_with_ports_or_brackets() {
    let ip = |v: &str| with_header("x-a", v, "%[req.hdr_ip(x-a)]");
    assert_eq!(ip("192.168.2.1"), "192.168.2.1");
    assert_eq!(ip("192.168.2.1:6789"), "192.168.2.1");
    assert_eq!(ip("[2001:db8::20]"), "2001:db8::20");
    assert_eq!(ip("[2001:db8::20]:80"), "2001:db8::20");
    assert_eq!(ip("2001:db8::20"), "2001:db8::20");
    assert_eq!(ip("192.168.2.1:port"), "");
    assert_eq!(ip("[2001:db8::20"), "");
}

/// A connection that knows its listener, kernel counters and reuse.
struct Known;

impl sluice_rules::Connection for Known {
    fn fc_tcp_info(&self, field: sluice_rules::TcpInfoField) -> Option<i64> {
        use sluice_rules::TcpInfoField as F;
        Some(match field {
            F::Rtt => 12_345,
            F::RttVar => 2_500,
            F::Lost => 3,
            _ => 0,
        })
    }
    fn listener_name(&self) -> Option<&str> {
        Some("foo")
    }
    fn http_first_req(&self) -> Option<bool> {
        Some(false)
    }
    fn bc_reused(&self) -> Option<bool> {
        Some(true)
    }
}

#[test]
fn connection_facts() {
    let r = rules("    http-request set-header X-Out \"%[so_name] %[fc_rtt] %[fc_rtt(us)] %[fc_rttvar] %[fc_lost] %[fc_unacked] %[http_first_req] %[bc_reused]\"\n");
    let mut req = SimpleMessage::request("GET", "/", &[("Host", "example.com")]);
    r.run_http_request(&mut req, &Known, &mut Txn::new());
    assert_eq!(req.get("X-Out").as_deref(), Some("foo 12 12345 2 3 0 0 1"));
    // Unknown on a connection that does not say.
    assert_eq!(value("%[so_name]|%[fc_rtt]|%[bc_reused]"), "||");
}
