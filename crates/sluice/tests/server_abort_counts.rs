//! End-to-end: a server that breaks off a response in the middle of its body counts one
//! failure (`http_fail_cnt`) for the tracked entries, whatever the status said; a client
//! that stops reading a response does not.

mod common;

use common::free_port;
use common::http::{connect, find, Sluice};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// A server that answers `200` announcing `announced` body bytes, sends `sent` of them
/// and closes.
fn short_server(announced: usize, sent: usize) -> u16 {
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
                let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {announced}\r\n\r\n");
                let _ = s.write_all(head.as_bytes());
                let _ = s.write_all(&vec![b'x'; sent]);
                // Give the bytes time to reach the client before the close.
                std::thread::sleep(Duration::from_millis(200));
            });
        }
    });
    port
}

fn cli(path: &Path, line: &str) -> String {
    let mut s = UnixStream::connect(path).expect("connect to the stats socket");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s.write_all(format!("{line}\n").as_bytes()).expect("send");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("answer");
    out
}

#[test]
fn a_server_that_breaks_off_the_body_counts_one_failure() {
    let (fe, cut, big) = (
        free_port(),
        short_server(100, 3),
        short_server(1_000_000, 100),
    );
    let dir = tempfile::tempdir().expect("temporary directory");
    let sock = dir.path().join("stats.sock");
    let cfg = format!(
        "global
    chroot /
    uid 0
    stats socket {sock} level admin

defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s

backend st
    stick-table type string size 10 store http_fail_cnt

frontend fe
    bind 127.0.0.1:{fe}
    http-request track-sc0 path table st
    use_backend big if {{ path /cli }}
    default_backend cut

backend cut
    server s1 127.0.0.1:{cut}

backend big
    server s1 127.0.0.1:{big}
",
        sock = sock.display()
    );
    let _sluice = Sluice::start(&cfg, &[fe]);

    // The server closes after 3 of 100 bytes: the client connection is closed too.
    let mut c = connect(fe);
    c.write_all(b"GET /srv HTTP/1.1\r\nhost: test\r\n\r\n")
        .expect("send");
    let mut got = Vec::new();
    let _ = c.read_to_end(&mut got);
    assert!(got.starts_with(b"HTTP/1.1 200"), "{got:?}");
    assert!(got.ends_with(b"xxx"), "{got:?}");

    // The client reads 100 bytes of a long body and leaves.
    let mut c = connect(fe);
    c.write_all(b"GET /cli HTTP/1.1\r\nhost: test\r\n\r\n")
        .expect("send");
    let mut some = [0u8; 64];
    let n = c.read(&mut some).expect("the head");
    assert!(n > 0);
    drop(c);

    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let shown = cli(&sock, "show table st");
        let srv = shown.lines().find(|l| l.contains("key=/srv "));
        let client = shown.lines().find(|l| l.contains("key=/cli "));
        if let (Some(srv), Some(client)) = (srv, client) {
            if srv.ends_with("http_fail_cnt=1") {
                assert!(client.ends_with("http_fail_cnt=0"), "{shown}");
                break;
            }
        }
        assert!(Instant::now() < deadline, "{shown}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
