//! PROXY protocol end to end: `accept-proxy` (v1, v2, malformed), `send-proxy` and
//! `send-proxy-v2` seen by a backend that parses them, and server connections that carried
//! one client's header never serving another client.

mod common;

use common::{read_message, request, Backend, Behaviour, Proxy, DEFAULTS};
use sluice_proxy::proxy_protocol::{parse, write_v2, Parsed};
use std::io::{BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n";

fn sa(s: &str) -> SocketAddr {
    s.parse().expect("address")
}

/// Each header a backend received: (version, source).
type Seen = Arc<Mutex<Vec<(u8, Option<SocketAddr>)>>>;

/// A backend that expects a PROXY header on each connection, then answers every request
/// with the header's source address as the body. Records each header's (version, source).
struct PpBackend {
    addr: SocketAddr,
    seen: Seen,
}

impl PpBackend {
    fn start() -> PpBackend {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let s = s.clone();
                std::thread::spawn(move || serve(stream, s));
            }
        });
        PpBackend { addr, seen }
    }

    fn seen(&self) -> Vec<(u8, Option<SocketAddr>)> {
        self.seen.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

fn serve(mut stream: TcpStream, seen: Seen) {
    // Read byte by byte until a header parses: nothing after it may be consumed here.
    let mut head = Vec::new();
    let (version, src) = loop {
        let mut b = [0u8; 1];
        if stream.read_exact(&mut b).is_err() {
            return;
        }
        head.push(b[0]);
        match parse(&head) {
            Parsed::Partial => continue,
            Parsed::Complete { header, .. } => {
                break (header.version, header.inet().map(|(s, _)| s))
            }
            Parsed::Error(_) => return,
        }
    };
    if let Ok(mut v) = seen.lock() {
        v.push((version, src));
    }
    let Ok(mut w) = stream.try_clone() else {
        return;
    };
    let mut r = BufReader::new(stream);
    while let Some(_req) = read_message(&mut r, false) {
        let body = src.map(|s| s.ip().to_string()).unwrap_or_default();
        let out = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        if w.write_all(out.as_bytes()).is_err() {
            return;
        }
    }
}

fn front(bind_opts: &str, server: &str) -> String {
    format!(
        "{DEFAULTS}    option forwardfor\nfrontend fe\n    bind @FE@ {bind_opts}\n    default_backend be\nbackend be\n    server s1 {server}\n"
    )
}

#[test]
fn accept_proxy_v1_sets_the_client_address() {
    let b = Backend::start("s1", Behaviour::Name);
    let p = Proxy::start(&front("accept-proxy", &b.addr.to_string()));
    let mut c = p.connect();
    c.write_all(b"PROXY TCP4 203.0.113.7 192.0.2.1 5555 80\r\n")
        .expect("write");
    let r = request(&mut c, GET).expect("response");
    assert_eq!(r.status(), 200);
    // Keep-alive goes on after the header.
    assert_eq!(request(&mut c, GET).map(|r| r.status()), Some(200));
    let heads = b.heads.lock().map(|h| h.clone()).unwrap_or_default();
    assert_eq!(heads.len(), 2);
    assert!(
        heads
            .iter()
            .all(|h| h.contains("x-forwarded-for: 203.0.113.7")),
        "{heads:?}"
    );
}

#[test]
fn accept_proxy_v2_sets_the_client_address() {
    let b = Backend::start("s1", Behaviour::Name);
    let p = Proxy::start(&front("accept-proxy", &b.addr.to_string()));
    let mut c = p.connect();
    let mut hdr = Vec::new();
    write_v2(
        &mut hdr,
        Some((sa("[2001:db8::7]:4000"), sa("[2001:db8::1]:80"))),
        false,
        &[(1, b"http/1.1")],
    );
    // The header and the request in one write, as a load balancer in front sends them.
    hdr.extend_from_slice(GET);
    c.write_all(&hdr).expect("write");
    let r =
        read_message(&mut BufReader::new(c.try_clone().expect("clone")), true).expect("response");
    assert_eq!(r.status(), 200);
    let heads = b.heads.lock().map(|h| h.clone()).unwrap_or_default();
    assert!(
        heads
            .iter()
            .any(|h| h.contains("x-forwarded-for: 2001:db8::7")),
        "{heads:?}"
    );
}

#[test]
fn malformed_or_missing_header_closes_the_connection() {
    let b = Backend::start("s1", Behaviour::Name);
    let p = Proxy::start(&front("accept-proxy", &b.addr.to_string()));
    for bad in [
        &b"PROXY TCP4 203.0.113.7 192.0.2.1 5555 99999\r\nGET / HTTP/1.1\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: t\r\n\r\n",
        b"\r\n\r\n\x00\r\nQUIT\n\x31\x11\x00\x0c",
    ] {
        let mut c = p.connect();
        c.write_all(bad).expect("write");
        let mut all = Vec::new();
        let _ = c.read_to_end(&mut all);
        assert!(
            all.is_empty(),
            "answered: {:?}",
            String::from_utf8_lossy(&all)
        );
    }
    assert_eq!(b.requests(), 0);
}

#[test]
fn a_bad_header_ends_the_connection_with_a_close_not_a_reset() {
    let b = Backend::start("s1", Behaviour::Name);
    let p = Proxy::start(&front("accept-proxy", &b.addr.to_string()));
    for _ in 0..20 {
        let mut c = p.connect();
        c.write_all(b"PROXY TCP4 not an address at all\r\n")
            .expect("write");
        c.write_all(GET).expect("write");
        // What the client sent before the close was read: the close is a FIN, and the
        // client reads the end of the stream instead of a reset.
        let mut all = Vec::new();
        let read = c.read_to_end(&mut all);
        assert!(read.is_ok(), "{read:?}");
        assert!(all.is_empty());
    }
    assert_eq!(b.requests(), 0);
}

#[test]
fn header_timeout_closes_the_connection() {
    let b = Backend::start("s1", Behaviour::Name);
    let cfg = front("accept-proxy", &b.addr.to_string())
        .replace("timeout client 10s", "timeout client 300ms");
    let p = Proxy::start(&cfg);
    let mut c = p.connect();
    c.write_all(b"PROXY TCP4 1.2.3.4").expect("write");
    let started = std::time::Instant::now();
    let mut all = Vec::new();
    let _ = c.read_to_end(&mut all);
    assert!(all.is_empty());
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn send_proxy_v1_and_v2_reach_the_server() {
    for (opt, version) in [("send-proxy", 1u8), ("send-proxy-v2", 2)] {
        let b = PpBackend::start();
        let p = Proxy::start(&front("", &format!("{} {opt}", b.addr)));
        let mut c = p.connect();
        let r = request(&mut c, GET).expect("response");
        assert_eq!(r.status(), 200);
        assert_eq!(r.body, b"127.0.0.1");
        assert_eq!(
            b.seen(),
            vec![(version, Some(c.local_addr().expect("addr")))]
        );
    }
}

#[test]
fn accept_proxy_in_send_proxy_v2_out_carries_the_original_client() {
    let b = PpBackend::start();
    let p = Proxy::start(&front("accept-proxy", &format!("{} send-proxy-v2", b.addr)));
    let mut c = p.connect();
    c.write_all(b"PROXY TCP4 198.51.100.9 192.0.2.1 4242 443\r\n")
        .expect("write");
    let r = request(&mut c, GET).expect("response");
    assert_eq!(r.body, b"198.51.100.9");
    assert_eq!(b.seen(), vec![(2, Some(sa("198.51.100.9:4242")))]);
}

#[test]
fn a_connection_with_a_proxy_header_never_serves_another_client() {
    let b = PpBackend::start();
    let p = Proxy::start(&front("accept-proxy", &format!("{} send-proxy", b.addr)));
    let mut clients = Vec::new();
    for (i, ip) in ["198.51.100.1", "198.51.100.2", "198.51.100.3"]
        .iter()
        .enumerate()
    {
        let mut c = p.connect();
        c.write_all(format!("PROXY TCP4 {ip} 192.0.2.1 {} 80\r\n", 1000 + i).as_bytes())
            .expect("write");
        clients.push((c, *ip));
    }
    // Interleaved keep-alive requests: each client always gets its own identity back.
    for _ in 0..3 {
        for (c, ip) in &mut clients {
            let r = request(c, GET).expect("response");
            assert_eq!(r.body, ip.as_bytes());
        }
    }
    assert_eq!(b.seen().len(), 3, "{:?}", b.seen());
}
