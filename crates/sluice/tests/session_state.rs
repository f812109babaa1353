//! End-to-end: the real binary with a real server on 127.0.0.1 for session-scoped variables
//! (`sess.*` live for the client connection, across its requests, and no further) and
//! capture slots (`declare capture`, `capture ... id N`/`len N`, the `capture.*` fetches and
//! the `capture-req()`/`capture-res()` converters) read back in response rules.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

mod common;
use common::free_port;
use common::http::Sluice;

/// A server answering each request with 200, an `x-srv` header and an empty body.
fn server() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    while let Some(end) = find(&buf, b"\r\n\r\n") {
                        buf.drain(..end + 4);
                        let resp =
                            "HTTP/1.1 200 OK\r\nx-srv: from-server\r\ncontent-length: 0\r\n\r\n";
                        if s.write_all(resp.as_bytes()).is_err() {
                            return;
                        }
                    }
                    match s.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
            });
        }
    });
    port
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// One response head on `s` (lowercased; the responses here have no body).
fn request(s: &mut TcpStream, path: &str, headers: &str) -> String {
    let req = format!("GET {path} HTTP/1.1\r\nhost: test\r\n{headers}\r\n");
    s.write_all(req.as_bytes()).expect("send a request");
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(e) = find(&buf, b"\r\n\r\n") {
            return String::from_utf8_lossy(&buf[..e + 4]).to_lowercase();
        }
        let n = s.read(&mut chunk).expect("read a response");
        assert!(n > 0, "connection closed before a response: {buf:?}");
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    s
}

fn header<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
}

const DEFAULTS: &str = "global\n    chroot /\n\ndefaults\n    mode http\n    retries 0\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n";

#[test]
fn session_variables_live_for_the_connection_and_no_further() {
    let (fe, never) = (free_port(), free_port());
    let srv = server();
    let rules = "    tcp-request session set-var(sess.tag) str(s)\n    \
                 http-request set-var(sess.first) path if { http_first_req }\n    \
                 http-request set-var(txn.t) path if { http_first_req }\n    \
                 http-after-response set-header x-s \"%[var(sess.first)]|%[var(txn.t)]|%[var(sess.tag)]\"\n";
    let cfg = format!(
        "{DEFAULTS}\n\
         listen plain\n    bind 127.0.0.1:{fe}\n{rules}    server s 127.0.0.1:{srv}\n\n\
         listen never\n    bind 127.0.0.1:{never}\n    http-reuse never\n{rules}    server s 127.0.0.1:{srv}\n"
    );
    let _s = Sluice::start(&cfg, &[fe, never]);
    for port in [fe, never] {
        let mut a = connect(port);
        let mut b = connect(port);
        let h = request(&mut a, "/a", "");
        assert_eq!(header(&h, "x-s"), Some("/a|/a|s"), "{h}");
        let h = request(&mut b, "/b", "");
        assert_eq!(header(&h, "x-s"), Some("/b|/b|s"), "{h}");
        // Later requests keep their connection's session variables, not the transaction's.
        for _ in 0..2 {
            let h = request(&mut a, "/a2", "");
            assert_eq!(header(&h, "x-s"), Some("/a||s"), "{h}");
            let h = request(&mut b, "/b2", "");
            assert_eq!(header(&h, "x-s"), Some("/b||s"), "{h}");
        }
        // A new connection starts without them.
        let mut c = connect(port);
        let h = request(&mut c, "/c", "");
        assert_eq!(header(&h, "x-s"), Some("/c|/c|s"), "{h}");
    }
}

#[test]
fn capture_slots_are_read_back_on_the_response() {
    let fe = free_port();
    let srv = server();
    let cfg = format!(
        "{DEFAULTS}\n\
         frontend fe\n    bind 127.0.0.1:{fe}\n    \
         declare capture request len 4\n    capture request header host len 32\n    \
         declare capture response len 32\n    declare capture response len 32\n    \
         http-request capture path id 0\n    \
         http-request capture req.hdr(x-a) len 8\n    \
         http-request set-var(txn.v) req.hdr(x-b),capture-req(1)\n    \
         default_backend be\n\n\
         backend be\n    \
         http-response capture res.hdr(x-srv) id 0\n    \
         http-response set-var(txn.r) str(conv),capture-res(1)\n    \
         http-response set-header x-c \"%[capture.req.hdr(0)]|%[capture.req.hdr(1)]|%[capture.req.hdr(2)]|%[capture.req.hdr(3)]|%[capture.res.hdr(0)]|%[capture.res.hdr(1)]\"\n    \
         http-after-response set-header x-l \"%[capture.req.method] %[capture.req.uri] %[capture.req.ver] %[capture.res.ver]\"\n    \
         server s 127.0.0.1:{srv}\n"
    );
    let _s = Sluice::start(&cfg, &[fe]);
    let mut c = connect(fe);
    let h = request(&mut c, "/long/path?q=1", "x-a: abcdefghijk\r\n");
    assert_eq!(
        header(&h, "x-c"),
        Some("/lon|test|abcdefgh||from-server|conv"),
        "{h}"
    );
    assert_eq!(
        header(&h, "x-l"),
        Some("get /long/path?q=1 http/1.1 http/1.1"),
        "{h}"
    );
    // The next request on the connection starts with empty slots; the converter fills one.
    let h = request(&mut c, "/x", "x-b: conv-req\r\n");
    assert_eq!(
        header(&h, "x-c"),
        Some("/x|conv-req|||from-server|conv"),
        "{h}"
    );
}
