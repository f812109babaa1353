//! End to end: `option http-drop-request-trailers` (a backend's: the server gets chunked
//! requests without their trailer fields) and `option http-drop-response-trailers` (a
//! frontend's: the client gets chunked responses without them), with `no option` in a
//! proxy undoing what `defaults` enabled.

mod common;

use common::free_port;
use common::http::{connect, find, Sluice};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

const DEFAULTS: &str = "defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n";

/// Reads from `s` until `buf` holds a chunked message's end (the last chunk and the empty
/// line after its trailers), counted from `from`.
fn read_chunked_end(s: &mut TcpStream, buf: &mut Vec<u8>, from: usize) {
    let mut chunk = [0u8; 4096];
    loop {
        let tail = buf.get(from..).unwrap_or_default();
        if let Some(last) = find(tail, b"\r\n0\r\n") {
            if find(&tail[last + 3..], b"\r\n\r\n").is_some() {
                return;
            }
        }
        let n = s.read(&mut chunk).expect("read");
        assert!(
            n > 0,
            "closed before the end: {:?}",
            String::from_utf8_lossy(buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// A server that reports each chunked request it receives (head and body as received) and
/// answers it with an empty 200.
fn capturing_server() -> (u16, mpsc::Receiver<String>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("address").port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                read_chunked_end(&mut s, &mut buf, 0);
                let _ = tx.send(String::from_utf8_lossy(&buf).into_owned());
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
            });
        }
    });
    (port, rx)
}

/// A server answering every request with a chunked response that has a trailer field.
fn trailer_server() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while find(&buf, b"\r\n\r\n").is_none() {
                    match s.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n\
                      5\r\nworld\r\n0\r\nx-res-trailer: r1\r\n\r\n",
                );
            });
        }
    });
    port
}

/// Sends a chunked POST to `path` with a trailer field and returns the response head.
fn post_with_trailer(port: u16, path: &str) -> String {
    let mut c = connect(port);
    let req = format!(
        "POST {path} HTTP/1.1\r\nhost: test\r\ntransfer-encoding: chunked\r\n\r\n\
         5\r\nhello\r\n0\r\nx-req-trailer: v1\r\n\r\n"
    );
    c.write_all(req.as_bytes()).expect("send");
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while find(&buf, b"\r\n\r\n").is_none() {
        let n = c.read(&mut chunk).expect("read a response");
        assert!(n > 0, "closed before a response");
        buf.extend_from_slice(&chunk[..n]);
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// The whole chunked response a client gets for a GET on `port`.
fn chunked_response(port: u16) -> String {
    let mut c = connect(port);
    c.write_all(b"GET / HTTP/1.1\r\nhost: test\r\n\r\n")
        .expect("send");
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    let head_end = loop {
        if let Some(e) = find(&buf, b"\r\n\r\n") {
            break e + 4;
        }
        let n = c.read(&mut chunk).expect("read a response");
        assert!(n > 0, "closed before a response");
        buf.extend_from_slice(&chunk[..n]);
    };
    // The body starts at `head_end - 2`: "\r\n0\r\n" may follow the head's last line.
    read_chunked_end(&mut c, &mut buf, head_end - 2);
    String::from_utf8_lossy(&buf).into_owned()
}

#[test]
fn request_trailers_are_dropped_by_the_backends_option() {
    let port = free_port();
    let (server, received) = capturing_server();
    let cfg = format!(
        "{DEFAULTS}    option http-drop-request-trailers\n\n\
         frontend fe\n    bind 127.0.0.1:{port}\n    use_backend keep if {{ path_beg /keep }}\n    \
         default_backend drop\n\n\
         backend drop\n    server s 127.0.0.1:{server}\n\n\
         backend keep\n    no option http-drop-request-trailers\n    server s 127.0.0.1:{server}\n"
    );
    let _s = Sluice::start(&cfg, &[port]);

    let head = post_with_trailer(port, "/drop");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let got = received
        .recv_timeout(Duration::from_secs(5))
        .expect("the server got the request");
    assert!(got.starts_with("POST /drop "), "{got}");
    assert!(got.ends_with("\r\n\r\n5\r\nhello\r\n0\r\n\r\n"), "{got:?}");
    assert!(!got.contains("x-req-trailer"), "{got:?}");

    let head = post_with_trailer(port, "/keep");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let got = received
        .recv_timeout(Duration::from_secs(5))
        .expect("the server got the request");
    assert!(
        got.ends_with("5\r\nhello\r\n0\r\nx-req-trailer: v1\r\n\r\n"),
        "{got:?}"
    );
}

#[test]
fn response_trailers_are_dropped_by_the_frontends_option() {
    let (drop, keep) = (free_port(), free_port());
    let server = trailer_server();
    let cfg = format!(
        "{DEFAULTS}\n\
         frontend drop\n    bind 127.0.0.1:{drop}\n    option http-drop-response-trailers\n    \
         default_backend be\n\n\
         frontend keep\n    bind 127.0.0.1:{keep}\n    default_backend be\n\n\
         backend be\n    server s 127.0.0.1:{server}\n"
    );
    let _s = Sluice::start(&cfg, &[drop, keep]);

    let got = chunked_response(drop);
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    assert!(got.ends_with("\r\n\r\n5\r\nworld\r\n0\r\n\r\n"), "{got:?}");
    assert!(!got.contains("x-res-trailer"), "{got:?}");

    let got = chunked_response(keep);
    assert!(
        got.ends_with("5\r\nworld\r\n0\r\nx-res-trailer: r1\r\n\r\n"),
        "{got:?}"
    );
}
