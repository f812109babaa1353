//! End-to-end: fetches that read the connection, through the real binary: `so_name` (the
//! bind line's name), the kernel's TCP counters (`fc_rtt`, `fc_lost`...), `http_first_req`
//! and `bc_reused`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

mod common;
use common::free_port;
use common::http::Sluice;

/// A keep-alive server answering each request with an empty 200.
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
                        if s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                            .is_err()
                        {
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

/// One response head on `s` (lowercased); bodies are empty here.
fn read_head(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while find(&buf, b"\r\n\r\n").is_none() {
        let n = s.read(&mut byte).expect("read a response");
        assert!(n > 0, "connection closed before a response: {buf:?}");
        buf.push(byte[0]);
    }
    String::from_utf8_lossy(&buf).to_lowercase()
}

fn header(head: &str, name: &str) -> Option<String> {
    head.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .map(|v| v.trim().to_string())
}

fn get(s: &mut TcpStream) -> String {
    s.write_all(b"GET / HTTP/1.1\r\nhost: test\r\n\r\n")
        .expect("send a request");
    read_head(s)
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    s
}

const DEFAULTS: &str = "global\n    chroot /\n\ndefaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n";

#[test]
fn connection_fetches_see_the_listener_the_kernel_and_the_exchange() {
    let (a, b) = (free_port(), free_port());
    let srv = server();
    let cfg = format!(
        "{DEFAULTS}
frontend fe
    bind 127.0.0.1:{a} name first
    bind 127.0.0.1:{b}
    http-request return status 200 hdr so %[so_name] hdr first %[http_first_req] hdr rtt %[fc_rtt(us)] hdr lost %[fc_lost] if {{ path /ret }}
    http-response set-header so %[so_name]
    http-response set-header reused %[bc_reused]
    http-response set-header first %[http_first_req]
    default_backend be

backend be
    server s1 127.0.0.1:{srv}
"
    );
    let _s = Sluice::start(&cfg, &[a, b]);

    let mut c = connect(a);
    c.write_all(b"GET /ret HTTP/1.1\r\nhost: test\r\n\r\n")
        .expect("send");
    let h = read_head(&mut c);
    assert_eq!(header(&h, "so").as_deref(), Some("first"), "{h}");
    assert_eq!(header(&h, "first").as_deref(), Some("1"), "{h}");
    let rtt = header(&h, "rtt").unwrap_or_default();
    assert!(rtt.parse::<u64>().is_ok(), "fc_rtt is a number: {h}");
    assert!(header(&h, "lost")
        .unwrap_or_default()
        .parse::<u64>()
        .is_ok());

    let h = get(&mut c);
    assert_eq!(header(&h, "so").as_deref(), Some("first"), "{h}");
    assert_eq!(header(&h, "first").as_deref(), Some("0"), "{h}");
    assert_eq!(header(&h, "reused").as_deref(), Some("0"), "{h}");
    let h = get(&mut c);
    assert_eq!(
        header(&h, "reused").as_deref(),
        Some("1"),
        "the server connection is kept: {h}"
    );

    // A bind line without a name: no value.
    let mut c = connect(b);
    let h = get(&mut c);
    assert_eq!(header(&h, "so").as_deref(), Some(""), "{h}");
    assert_eq!(header(&h, "first").as_deref(), Some("1"), "{h}");
}
