//! End-to-end: content inspection. Rules that read the request body (`wait-for-body`,
//! `option http-buffer-request`, `req.body`, `req.body_param`), the raw bytes of a TCP
//! stream (`req.payload`, `wait_end` with `tcp-request inspect-delay`) and the server's
//! first bytes (`res.payload`, `res.len` with `tcp-response inspect-delay`), with a real
//! client and real servers.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener};
use std::time::{Duration, Instant};

mod common;
use common::free_port;
use common::http::*;

/// An HTTP server that answers each request with `<name>:` and the body it received (by
/// `content-length`, or the raw chunked bytes up to the last chunk).
fn body_echo_server(name: &'static str) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    if let Some(end) = find(&buf, b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                        let body_end = match head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                        {
                            Some(n) => (buf.len() >= end + 4 + n).then_some(end + 4 + n),
                            None if head.contains("transfer-encoding: chunked") => {
                                find(&buf[end + 4..], b"0\r\n\r\n").map(|e| end + 4 + e + 5)
                            }
                            None => Some(end + 4),
                        };
                        if let Some(body_end) = body_end {
                            let body: Vec<u8> = buf.drain(..body_end).skip(end + 4).collect();
                            let mut resp = format!(
                                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{name}:",
                                body.len() + name.len() + 1
                            )
                            .into_bytes();
                            resp.extend_from_slice(&body);
                            if s.write_all(&resp).is_err() {
                                return;
                            }
                            continue;
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

/// A TCP server that sends `first`, waits a little, sends `then`, then echoes what it reads.
fn tcp_server(first: &'static [u8], then: &'static [u8]) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            std::thread::spawn(move || {
                let _ = s.write_all(first);
                std::thread::sleep(Duration::from_millis(100));
                let _ = s.write_all(then);
                let mut chunk = [0u8; 1024];
                while let Ok(n) = s.read(&mut chunk) {
                    if n == 0 || s.write_all(&chunk[..n]).is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

/// Sends `parts` with a pause between them, then reads until the connection closes or
/// `want` bytes came.
fn exchange(port: u16, parts: &[&[u8]], want: usize) -> Vec<u8> {
    let mut s = connect(port);
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            std::thread::sleep(Duration::from_millis(100));
        }
        s.write_all(p).expect("send");
    }
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    while out.len() < want {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&chunk[..n]),
        }
    }
    let _ = s.shutdown(Shutdown::Both);
    out
}

#[test]
fn request_rules_wait_for_the_body_and_route_or_deny_on_it() {
    let fe = free_port();
    let (orders, other) = (body_echo_server("orders"), body_echo_server("other"));
    let cfg = format!(
        "global\n    chroot /\n\
         defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\
         frontend fe\n    bind 127.0.0.1:{fe}\n\
         \x20   http-request wait-for-body time 2s if METH_POST\n\
         \x20   http-request deny status 403 if {{ req.body -m sub forbidden }}\n\
         \x20   http-request set-header x-body-len %[req.body_len]\n\
         \x20   use_backend orders if {{ req.body_param(kind) -m str order }}\n\
         \x20   default_backend other\n\
         backend orders\n    server s1 127.0.0.1:{orders}\n\
         backend other\n    server s1 127.0.0.1:{other}\n"
    );
    let _sluice = Sluice::start(&cfg, &[fe]);

    // The head comes first and the body later: the rules wait for it, route on one of its
    // parameters, and the server receives it unchanged.
    let head = b"POST /submit HTTP/1.1\r\nhost: test\r\ncontent-length: 20\r\n\r\n";
    let got = exchange(fe, &[head, b"kind=order&", b"qty=12345"], usize::MAX);
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.ends_with("orders:kind=order&qty=12345"), "{text}");

    // Another parameter value goes to the default backend; a chunked body is read whole
    // (without its framing) and forwarded as it came.
    let head = b"POST /submit HTTP/1.1\r\nhost: test\r\ntransfer-encoding: chunked\r\n\r\n";
    let got = exchange(
        fe,
        &[head, b"5\r\nkind=\r\n", b"4\r\nnote\r\n0\r\n\r\n"],
        usize::MAX,
    );
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.ends_with("other:5\r\nkind=\r\n4\r\nnote\r\n0\r\n\r\n"),
        "{text}"
    );

    // A word in the body, sent after the head, is denied.
    let head = b"POST /submit HTTP/1.1\r\nhost: test\r\ncontent-length: 18\r\n\r\n";
    let got = exchange(fe, &[head, b"this is forbid", b"den!"], usize::MAX);
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 403"), "{text}");
}

#[test]
fn a_body_that_does_not_come_in_time_is_answered_408() {
    let fe = free_port();
    let other = body_echo_server("other");
    let cfg = format!(
        "global\n    chroot /\n\
         defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\
         frontend fe\n    bind 127.0.0.1:{fe}\n\
         \x20   http-request wait-for-body time 300ms\n\
         \x20   http-request return status 200 hdr x-seen %[req.body] if {{ path /peek }}\n\
         \x20   default_backend other\n\
         backend other\n    server s1 127.0.0.1:{other}\n"
    );
    let _sluice = Sluice::start(&cfg, &[fe]);
    let start = Instant::now();
    let head = b"POST / HTTP/1.1\r\nhost: test\r\ncontent-length: 10\r\n\r\nabc";
    let got = exchange(fe, &[head], usize::MAX);
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(start.elapsed() >= Duration::from_millis(250));

    // A whole body is seen by the rules; the connection stays open after their answer.
    let mut s = connect(fe);
    for _ in 0..2 {
        s.write_all(b"POST /peek HTTP/1.1\r\nhost: test\r\ncontent-length: 5\r\n\r\nhello")
            .expect("send");
        let (head, _) = read_response(&mut s);
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert!(head.contains("x-seen: hello"), "{head}");
    }
}

#[test]
fn tcp_content_rules_wait_for_the_bytes_they_read() {
    let fe = free_port();
    let (a, b) = (tcp_server(b"A:", b""), tcp_server(b"B:", b""));
    let cfg = format!(
        "global\n    chroot /\n\
         defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\
         frontend fe\n    bind 127.0.0.1:{fe}\n\
         \x20   tcp-request inspect-delay 300ms\n\
         \x20   tcp-request content reject if WAIT_END !{{ req.len ge 4 }}\n\
         \x20   tcp-request content accept if {{ req.len ge 4 }}\n\
         \x20   use_backend b if {{ req.payload(0,4) -m str PING }}\n\
         \x20   default_backend a\n\
         backend a\n    server s1 127.0.0.1:{a}\n\
         backend b\n    server s1 127.0.0.1:{b}\n"
    );
    let _sluice = Sluice::start(&cfg, &[fe]);
    // "PI", a pause, "NG": the rules wait for the four bytes and route on them.
    let got = exchange(fe, &[b"PI", b"NG"], 6);
    assert_eq!(got, b"B:PING");
    let got = exchange(fe, &[b"PO", b"NG"], 6);
    assert_eq!(got, b"A:PONG");
    // Two bytes and nothing more: refused once the inspect-delay is over.
    let start = Instant::now();
    let got = exchange(fe, &[b"PI"], 1);
    assert!(got.is_empty(), "{got:?}");
    assert!(start.elapsed() >= Duration::from_millis(250));
}

#[test]
fn tcp_response_rules_read_the_servers_first_bytes() {
    let fe = free_port();
    let (bad, good) = (tcp_server(b"BA", b"D!"), tcp_server(b"GO", b"OD"));
    let cfg = format!(
        "global\n    chroot /\n\
         defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\
         frontend fe\n    bind 127.0.0.1:{fe}\n\
         \x20   tcp-request inspect-delay 1s\n\
         \x20   tcp-request content accept if {{ req.len ge 1 }}\n\
         \x20   use_backend bad if {{ req.payload(0,1) -m str b }}\n\
         \x20   default_backend good\n\
         backend bad\n    server s1 127.0.0.1:{bad}\n\
         \x20   tcp-response inspect-delay 2s\n\
         \x20   tcp-response content reject if {{ res.payload(0,3) -m str BAD }}\n\
         \x20   tcp-response content accept if {{ res.len ge 4 }}\n\
         backend good\n    server s1 127.0.0.1:{good}\n\
         \x20   tcp-response inspect-delay 2s\n\
         \x20   tcp-response content reject if {{ res.payload(0,3) -m str BAD }}\n\
         \x20   tcp-response content accept if {{ res.len ge 4 }}\n"
    );
    let _sluice = Sluice::start(&cfg, &[fe]);
    // The server's "GO" waits for "OD": four bytes, accepted, then the stream flows.
    let got = exchange(fe, &[b"g"], 5);
    assert_eq!(got, b"GOODg");
    // "BA" then "D!": refused on the third byte, the client gets nothing.
    let got = exchange(fe, &[b"b"], 1);
    assert!(got.is_empty(), "{got:?}");
}

#[test]
fn a_client_that_expects_100_continue_gets_it_from_the_proxy() {
    let fe = free_port();
    let other = body_echo_server("other");
    let cfg = format!(
        "global\n    chroot /\n\
         defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\
         frontend fe\n    bind 127.0.0.1:{fe}\n\
         \x20   option http-buffer-request\n\
         \x20   default_backend other\n\
         backend other\n    server s1 127.0.0.1:{other}\n"
    );
    let _sluice = Sluice::start(&cfg, &[fe]);
    let mut s = connect(fe);
    s.write_all(
        b"POST / HTTP/1.1\r\nhost: test\r\nexpect: 100-continue\r\ncontent-length: 5\r\n\r\n",
    )
    .expect("send the head");
    let mut interim = [0u8; 25];
    s.read_exact(&mut interim).expect("an interim answer");
    assert_eq!(&interim[..], b"HTTP/1.1 100 Continue\r\n\r\n");
    s.write_all(b"hello").expect("send the body");
    let (head, body) = read_response(&mut s);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert_eq!(body, "other:hello");
}
