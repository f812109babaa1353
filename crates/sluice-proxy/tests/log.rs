//! Traffic logs through a real worker: a UDP socket here plays the syslog server and
//! receives the datagrams, which must have HAProxy's shape field by field.

mod common;

use common::{closed_port, request, Backend, Behaviour, Proxy};
use regex::Regex;
use std::io::{Read, Write};
use std::net::UdpSocket;
use std::time::Duration;

const TIMEOUTS: &str =
    "    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n    timeout http-request 5s\n";

/// A syslog server on 127.0.0.1.
struct Syslog(UdpSocket);

impl Syslog {
    fn start() -> Syslog {
        let s = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        s.set_read_timeout(Some(Duration::from_secs(5))).ok();
        Syslog(s)
    }

    fn addr(&self) -> String {
        self.0.local_addr().expect("addr").to_string()
    }

    fn recv(&self) -> String {
        let mut buf = [0u8; 4096];
        let n = self.0.recv(&mut buf).expect("a log datagram");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    /// Nothing arrives within `ms`.
    fn silent(&self, ms: u64) -> bool {
        self.0
            .set_read_timeout(Some(Duration::from_millis(ms)))
            .ok();
        let mut buf = [0u8; 4096];
        let r = self.0.recv(&mut buf);
        self.0.set_read_timeout(Some(Duration::from_secs(5))).ok();
        match r {
            Ok(n) => panic!("unexpected log: {}", String::from_utf8_lossy(&buf[..n])),
            Err(_) => true,
        }
    }
}

/// A TCP server that reads once, answers `reply` and closes.
fn once_server(reply: &'static [u8]) -> std::net::SocketAddr {
    let srv = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = srv.local_addr().expect("addr");
    std::thread::spawn(move || {
        for s in srv.incoming() {
            let Ok(mut s) = s else { return };
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let _ = s.write_all(reply);
        }
    });
    addr
}

fn assert_match(re: &str, line: &str) {
    let r = Regex::new(re).expect("regex");
    assert!(r.is_match(line), "line:  {line:?}\nshape: {re}");
}

/// `<134>Feb  6 12:14:14 tag[pid]: ` (local0.info, HAProxy's default header).
const HDR: &str = r"^<134>[A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d [^\s\[]+\[\d+\]: ";
const DATE: &str = r"\[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d\.\d{3}\]";

#[test]
fn httplog_line_has_haproxys_shape() {
    let sys = Syslog::start();
    let b = Backend::start("s1", Behaviour::Name);
    let cfg = format!(
        "global\n    log {} local0\ndefaults\n    mode http\n    log global\n    option httplog\n{TIMEOUTS}\
         frontend fe\n    bind @FE@\n    capture request header Host len 32\n    capture response header Content-Length len 8\n    default_backend be\n\
         backend be\n    server s1 {}\n",
        sys.addr(),
        b.addr
    );
    let p = Proxy::start(&cfg);
    let mut c = p.connect();
    let r =
        request(&mut c, b"GET /index.html?x=1 HTTP/1.1\r\nHost: www\r\n\r\n").expect("response");
    assert_eq!(r.status(), 200);
    let line = sys.recv();
    // client_ip:port [request_date] frontend backend/server TR/Tw/Tc/Tr/Ta status bytes
    // CC CS termination act/fe/be/srv/retries srvq/beq {req captures} {resp captures} "request"
    assert_match(
        &format!(
            r#"{HDR}127\.0\.0\.1:\d+ {DATE} fe be/s1 \d+/0/\d+/\d+/\d+ 200 \d+ - - ---- 1/1/1/1/0 0/0 \{{www\}} \{{2\}} "GET /index\.html\?x=1 HTTP/1\.1"\n$"#
        ),
        &line,
    );
    // %B counts what went to the client: head and body.
    let bytes: u64 = line
        .split(' ')
        .nth(10)
        .and_then(|b| b.parse().ok())
        .unwrap_or(0);
    assert!(bytes > 40, "{line}");
}

#[test]
fn tcplog_line_and_server_down() {
    let sys = Syslog::start();
    let b = once_server(b"hello");
    let cfg = format!(
        "defaults\n    mode tcp\n    option tcplog\n{TIMEOUTS}\
         frontend fe\n    log {} local0\n    bind @FE@\n    default_backend be\n\
         backend be\n    server s1 {}\n",
        sys.addr(),
        b
    );
    let p = Proxy::start(&cfg);
    let mut c = p.connect();
    c.write_all(b"GET / HTTP/1.0\r\n\r\n").expect("write");
    let mut all = Vec::new();
    c.read_to_end(&mut all).ok();
    drop(c);
    let line = sys.recv();
    // client [accept_date] frontend backend/server Tw/Tc/Tt bytes termination counts queues
    assert_match(
        &format!(
            r"{HDR}127\.0\.0\.1:\d+ {DATE} fe be/s1 0/\d+/\d+ {} -- \d+/\d+/\d+/\d+/0 0/0\n$",
            all.len()
        ),
        &line,
    );

    // A server that refuses: SC, <NOSRV> is not used since a server was chosen.
    let cfg = format!(
        "defaults\n    mode tcp\n    option tcplog\n    retries 0\n{TIMEOUTS}\
         frontend fe\n    log {} local0\n    bind @FE@\n    default_backend be\n\
         backend be\n    server s1 {}\n",
        sys.addr(),
        closed_port()
    );
    let p2 = Proxy::start(&cfg);
    let mut c = p2.connect();
    c.write_all(b"x").ok();
    let mut all = Vec::new();
    c.read_to_end(&mut all).ok();
    let line = sys.recv();
    assert_match(
        &format!(r"{HDR}127\.0\.0\.1:\d+ {DATE} fe be/\S+ 0/-1/\d+ 0 SC "),
        &line,
    );
}

#[test]
fn custom_format_with_sample_and_rfc5424_header() {
    let sys = Syslog::start();
    let b = Backend::start("s1", Behaviour::Name);
    let cfg = format!(
        "global\n    log-send-hostname lb1\n    log-tag edge\ndefaults\n    mode http\n{TIMEOUTS}\
         frontend fe\n    log {} format rfc5424 local1 info\n    log-format \"%ci:%cp %ST %[req.hdr(host)] %{{+Q}}HM %b/%s\"\n    bind @FE@\n    default_backend be\n\
         backend be\n    server s1 {}\n",
        sys.addr(),
        b.addr
    );
    let p = Proxy::start(&cfg);
    let mut c = p.connect();
    let r = request(&mut c, b"GET / HTTP/1.1\r\nHost: example.org\r\n\r\n").expect("response");
    assert_eq!(r.status(), 200);
    let line = sys.recv();
    // <local1.info>1 ISO-date host tag pid - - msg
    assert_match(
        r#"^<142>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d lb1 edge \d+ - - 127\.0\.0\.1:\d+ 200 example\.org "GET" be/s1\n$"#,
        &line,
    );
}

#[test]
fn dontlognull_skips_silent_connections() {
    let sys = Syslog::start();
    let b = Backend::start("s1", Behaviour::Name);
    let cfg = format!(
        "defaults\n    mode tcp\n    option tcplog\n    option dontlognull\n{TIMEOUTS}\
         frontend fe\n    log {} local0\n    bind @FE@\n    default_backend be\n\
         backend be\n    server s1 {}\n",
        sys.addr(),
        b.addr
    );
    let p = Proxy::start(&cfg);
    let c = p.connect();
    drop(c);
    assert!(sys.silent(500));
    let mut c = p.connect();
    c.write_all(b"GET / HTTP/1.0\r\n\r\n").expect("write");
    let mut all = Vec::new();
    c.read_to_end(&mut all).ok();
    let line = sys.recv();
    assert!(line.contains(" fe be/s1 "), "{line}");
}

#[test]
fn bad_request_and_no_server_states() {
    let sys = Syslog::start();
    let cfg = format!(
        "defaults\n    mode http\n    option httplog\n    retries 0\n{TIMEOUTS}\
         frontend fe\n    log {} local0\n    bind @FE@\n    default_backend be\n\
         backend be\n    server s1 {}\n",
        sys.addr(),
        closed_port()
    );
    let p = Proxy::start(&cfg);
    let mut c = p.connect();
    let r = request(&mut c, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").expect("503");
    assert_eq!(r.status(), 503);
    let line = sys.recv();
    assert_match(
        &format!(r#"{HDR}127\.0\.0\.1:\d+ {DATE} fe be/\S+ \d+/0/-1/-1/\d+ 503 \d+ - - SC-- "#),
        &line,
    );
    let mut c = p.connect();
    c.write_all(b"GET / HTTP/1.1\r\nBad Header\r\n\r\n")
        .expect("write");
    let mut all = Vec::new();
    c.read_to_end(&mut all).ok();
    let line = sys.recv();
    assert_match(
        &format!(
            r#"{HDR}127\.0\.0\.1:\d+ {DATE} fe fe/<NOSRV> -1/-1/-1/-1/\d+ 400 \d+ - - PR-- .* "<BADREQ>"\n$"#
        ),
        &line,
    );
}

#[test]
fn client_abort_during_data_is_cd() {
    let sys = Syslog::start();
    // A server that answers slowly and forever: the client leaves mid-body.
    let srv = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = srv.local_addr().expect("addr");
    std::thread::spawn(move || {
        if let Ok((mut s, _)) = srv.accept() {
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\nabc");
            std::thread::sleep(Duration::from_secs(3));
        }
    });
    let cfg = format!(
        "defaults\n    mode http\n    option httplog\n{TIMEOUTS}\
         frontend fe\n    log {} local0\n    bind @FE@\n    default_backend be\n\
         backend be\n    server s1 {addr}\n",
        sys.addr()
    );
    let p = Proxy::start(&cfg);
    let mut c = p.connect();
    c.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        .expect("write");
    let mut buf = [0u8; 64];
    let _ = c.read(&mut buf);
    drop(c);
    let line = sys.recv();
    assert_match(
        &format!(r#"{HDR}.* fe be/s1 .* 200 \d+ - - [CS]D-- "#),
        &line,
    );
}

#[test]
fn server_abort_during_data_is_sd() {
    let sys = Syslog::start();
    let srv = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = srv.local_addr().expect("addr");
    std::thread::spawn(move || {
        if let Ok((mut s, _)) = srv.accept() {
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nabc");
        }
    });
    let cfg = format!(
        "defaults\n    mode http\n    option httplog\n{TIMEOUTS}\
         frontend fe\n    log {} local0\n    bind @FE@\n    default_backend be\n\
         backend be\n    server s1 {addr}\n",
        sys.addr()
    );
    let p = Proxy::start(&cfg);
    let mut c = p.connect();
    c.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        .expect("write");
    let mut all = Vec::new();
    c.read_to_end(&mut all).ok();
    let line = sys.recv();
    assert_match(&format!(r#"{HDR}.* fe be/s1 .* 200 \d+ - - SD-- "#), &line);
}

#[test]
fn legacy_format_logs_at_accept() {
    let sys = Syslog::start();
    let b = Backend::start("s1", Behaviour::Name);
    let cfg = format!(
        "defaults\n    mode http\n{TIMEOUTS}\
         listen www\n    log {} local0 info\n    bind @FE@\n    server s1 {}\n",
        sys.addr(),
        b.addr
    );
    let p = Proxy::start(&cfg);
    let _c = p.connect();
    let line = sys.recv();
    assert_match(
        &format!(
            r"{HDR}Connect from 127\.0\.0\.1:\d+ to 127\.0\.0\.1:{} \(www/HTTP\)\n$",
            p.addr.port()
        ),
        &line,
    );
}

#[test]
fn level_filter_and_separate_errors() {
    let sys = Syslog::start();
    let b = Backend::start("s1", Behaviour::Name);
    // Only errors (err) pass a target at level err; a 200 is info.
    let cfg = format!(
        "defaults\n    mode http\n    option httplog\n    option log-separate-errors\n    retries 0\n{TIMEOUTS}\
         frontend fe\n    log {} local0 err\n    bind @FE@\n    use_backend down if {{ path /down }}\n    default_backend be\n\
         backend be\n    server s1 {}\nbackend down\n    server s1 {}\n",
        sys.addr(),
        b.addr,
        closed_port()
    );
    let p = Proxy::start(&cfg);
    let mut c = p.connect();
    let r = request(&mut c, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").expect("200");
    assert_eq!(r.status(), 200);
    assert!(sys.silent(300));
    let mut c = p.connect();
    let r = request(&mut c, b"GET /down HTTP/1.1\r\nHost: a\r\n\r\n").expect("503");
    assert_eq!(r.status(), 503);
    let line = sys.recv();
    // local0.err = 16*8+3
    assert!(line.starts_with("<131>"), "{line}");
}

#[test]
fn httpslog_starts_and_logs_the_http_part() {
    let sys = Syslog::start();
    let b = Backend::start("s1", Behaviour::Name);
    let cfg = format!(
        "defaults\n    mode http\n    option httpslog\n{TIMEOUTS}\
         frontend fe\n    log {} local0\n    bind @FE@\n    default_backend be\n\
         backend be\n    server s1 {}\n",
        sys.addr(),
        b.addr
    );
    let p = Proxy::start(&cfg);
    let mut c = p.connect();
    let r = request(&mut c, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").expect("200");
    assert_eq!(r.status(), 200);
    let line = sys.recv();
    assert_match(
        &format!(
            r#"{HDR}127\.0\.0\.1:\d+ {DATE} fe be/s1 .* 200 \d+ - - ---- .* "GET / HTTP/1\.1" \S+/\S+/\S+/\S+/\S+ \S+/-/-\n$"#
        ),
        &line,
    );
}

#[test]
fn sampled_targets_share_the_lines_out() {
    let (odd, even) = (Syslog::start(), Syslog::start());
    let b = Backend::start("s1", Behaviour::Name);
    let cfg = format!(
        "defaults\n    mode http\n    option httplog\n{TIMEOUTS}\
         frontend fe\n    bind @FE@\n    log {} sample 1:2 local0\n    log {} sample 2:2 local0\n    default_backend be\n\
         backend be\n    server s1 {}\n",
        odd.addr(),
        even.addr(),
        b.addr
    );
    let p = Proxy::start(&cfg);
    for i in 1..=4 {
        let mut c = p.connect();
        let req = format!("GET /r{i} HTTP/1.1\r\nHost: a\r\n\r\n");
        let r = request(&mut c, req.as_bytes()).expect("200");
        assert_eq!(r.status(), 200);
        // Lines go out in request order; each target takes every other one.
        let (sys, other) = if i % 2 == 1 {
            (&odd, &even)
        } else {
            (&even, &odd)
        };
        let line = sys.recv();
        assert!(line.contains(&format!("\"GET /r{i} HTTP/1.1\"")), "{line}");
        assert!(other.silent(100));
    }
}

#[test]
fn log_formats_read_the_streams_variables() {
    let sys = Syslog::start();
    let b = Backend::start("s1", Behaviour::Name);
    let cfg = format!(
        "defaults\n    mode http\n{TIMEOUTS}\
         frontend fe\n    bind @FE@\n    log {} local0\n    log-format \"who=%[var(txn.who)] st=%[var(txn.st)]\"\n\
         \x20   http-request set-var(txn.who) req.hdr(x-who)\n    http-response set-var(txn.st) status\n    default_backend be\n\
         backend be\n    server s1 {}\n",
        sys.addr(),
        b.addr
    );
    let p = Proxy::start(&cfg);
    let mut c = p.connect();
    let r = request(&mut c, b"GET / HTTP/1.1\r\nHost: a\r\nx-who: ann\r\n\r\n").expect("200");
    assert_eq!(r.status(), 200);
    let line = sys.recv();
    assert!(line.ends_with(": who=ann st=200\n"), "{line}");
}

#[test]
fn a_stream_refused_by_content_rules_is_logged() {
    let sys = Syslog::start();
    let b = Backend::start("s1", Behaviour::Name);
    let cfg = format!(
        "defaults\n    mode tcp\n{TIMEOUTS}\
         frontend fe\n    bind @FE@\n    log {} local0\n    log-format \"first=%[var(txn.first)] %ts\"\n\
         \x20   tcp-request inspect-delay 1s\n    tcp-request content set-var(txn.first) req.payload(0,4)\n\
         \x20   tcp-request content reject\n    default_backend be\n\
         backend be\n    server s1 {}\n",
        sys.addr(),
        b.addr
    );
    let p = Proxy::start(&cfg);
    let mut c = p.connect();
    c.write_all(b"ABCDEFGH").expect("send");
    let mut all = Vec::new();
    let _ = c.read_to_end(&mut all);
    assert!(all.is_empty());
    let line = sys.recv();
    assert!(line.ends_with(": first=ABCD PR\n"), "{line}");
}

#[test]
fn rule_captures_are_logged_with_header_captures_and_normalised_targets() {
    let sys = Syslog::start();
    let b = Backend::start("s1", Behaviour::Name);
    let cfg = format!(
        "defaults\n    mode http\n{TIMEOUTS}\
         frontend fe\n    log {} local0\n    log-format \"%r %hr %hs\"\n    bind @FE@\n\
         \x20   capture request header x-a len 8\n\
         \x20   http-request capture req.hdr(host) len 64\n\
         \x20   declare capture response len 4\n\
         \x20   http-response capture res.hdr(content-length) id 0\n\
         \x20   default_backend be\n\
         backend be\n    server s1 {}\n",
        sys.addr(),
        b.addr
    );
    let p = Proxy::start(&cfg);
    let mut c = p.connect();
    let req = b"GET http://example.org:80/p HTTP/1.1\r\nHost: example.org:80\r\nx-a: one\r\n\r\n";
    let r = request(&mut c, req).expect("response");
    assert_eq!(r.status(), 200);
    // The default port is gone from the target and from Host before the rules capture it;
    // the response slot holds the rule's capture.
    assert_match(
        r#"GET http://example\.org/p HTTP/1\.1 \{one\|example\.org\} \{2\}\n$"#,
        &sys.recv(),
    );
}
