//! HTTP/1.1 proxying through a real worker, real backends and a real client.

mod common;

use common::{closed_port, read_message, request, Backend, Behaviour, Proxy, DEFAULTS};
use std::io::{BufReader, Read, Write};

fn one_backend(extra_defaults: &str, server: &Backend) -> String {
    format!(
        "{DEFAULTS}{extra_defaults}frontend fe\n    bind @FE@\n    default_backend be\nbackend be\n    server s1 {}\n",
        server.addr
    )
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n";

#[test]
fn keep_alive_many_requests_reuse_server_connections() {
    let b = Backend::start("s1", Behaviour::Name);
    let p = Proxy::start(&one_backend("", &b));
    let mut c = p.connect();
    for _ in 0..50 {
        let r = request(&mut c, GET).expect("response");
        assert_eq!(r.status(), 200);
        assert_eq!(r.body, b"s1");
        assert_eq!(r.header("connection"), None);
    }
    assert_eq!(b.requests(), 50);
    assert!(
        b.connections() <= 2,
        "server connections: {}",
        b.connections()
    );
}

#[test]
fn httpclose_closes_both_sides() {
    let b = Backend::start("s1", Behaviour::Name);
    let p = Proxy::start(&one_backend("    option httpclose\n", &b));
    for _ in 0..3 {
        let mut c = p.connect();
        c.write_all(GET).expect("write");
        let mut all = Vec::new();
        c.read_to_end(&mut all).expect("read to close");
        let r = read_message(&mut BufReader::new(&all[..]), true).expect("response");
        assert_eq!(r.status(), 200);
        assert_eq!(r.header("connection"), Some("close"));
    }
    assert_eq!(b.connections(), 3);
    let heads = b.heads.lock().map(|h| h.clone()).unwrap_or_default();
    assert!(
        heads.iter().all(|h| h.contains("connection: close")),
        "{heads:?}"
    );
}

#[test]
fn roundrobin_spreads_over_four_servers() {
    let bs: Vec<Backend> = ["a", "b", "c", "d"]
        .iter()
        .map(|n| Backend::start(n, Behaviour::Name))
        .collect();
    let mut cfg = format!("{DEFAULTS}frontend fe\n    bind @FE@\n    default_backend be\nbackend be\n    balance roundrobin\n");
    for (i, b) in bs.iter().enumerate() {
        cfg.push_str(&format!("    server s{i} {}\n", b.addr));
    }
    let p = Proxy::start(&cfg);
    let mut c = p.connect();
    for _ in 0..40 {
        assert_eq!(request(&mut c, GET).map(|r| r.status()), Some(200));
    }
    let counts: Vec<usize> = bs.iter().map(Backend::requests).collect();
    assert_eq!(counts, vec![10, 10, 10, 10]);
}

#[test]
fn down_server_is_skipped_by_redispatch() {
    let up = Backend::start("up", Behaviour::Name);
    let cfg = format!(
        "{DEFAULTS}    retries 1\n    option redispatch\nfrontend fe\n    bind @FE@\n    default_backend be\nbackend be\n    balance roundrobin\n    server down {}\n    server up {}\n",
        closed_port(),
        up.addr
    );
    let p = Proxy::start(&cfg);
    for _ in 0..6 {
        let mut c = p.connect();
        let r = request(&mut c, GET).expect("response");
        assert_eq!(r.status(), 200);
        assert_eq!(r.body, b"up");
    }
}

#[test]
fn no_usable_server_gives_503() {
    let cfg = format!(
        "{DEFAULTS}    retries 1\nfrontend fe\n    bind @FE@\n    default_backend be\nbackend be\n    server down {}\n",
        closed_port()
    );
    let p = Proxy::start(&cfg);
    let mut c = p.connect();
    let r = request(&mut c, GET).expect("response");
    assert_eq!(r.status(), 503);
    assert_eq!(r.header("connection"), Some("close"));
}

#[test]
fn chunked_request_and_response_bodies() {
    let b = Backend::start("echo", Behaviour::Echo);
    let p = Proxy::start(&one_backend("", &b));
    let mut c = p.connect();
    let req = b"POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    let r = request(&mut c, req).expect("response");
    assert_eq!(r.status(), 200);
    assert!(r.chunked);
    assert_eq!(r.body, b"hello world");
    // The connection goes on after a chunked exchange.
    assert_eq!(request(&mut c, GET).map(|r| r.status()), Some(200));
}

#[test]
fn one_mebibyte_bodies_arrive_intact() {
    let b = Backend::start("echo", Behaviour::Echo);
    let p = Proxy::start(&one_backend("", &b));
    let body: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
    let mut c = p.connect();
    let mut req = format!(
        "POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(&body);
    let writer = {
        let mut w = c.try_clone().expect("clone");
        std::thread::spawn(move || w.write_all(&req).is_ok())
    };
    let mut r = BufReader::new(c.try_clone().expect("clone"));
    let resp = read_message(&mut r, true).expect("response");
    assert!(writer.join().unwrap_or(false));
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.body.len(), body.len());
    assert!(resp.body == body, "body differs");
    assert_eq!(request(&mut c, GET).map(|r| r.status()), Some(200));
}

#[test]
fn malformed_request_gets_400_and_never_reaches_the_server() {
    let b = Backend::start("s1", Behaviour::Name);
    let p = Proxy::start(&one_backend("", &b));
    let mut c = p.connect();
    let smuggle =
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!";
    let r = request(&mut c, smuggle).expect("response");
    assert_eq!(r.status(), 400);
    assert_eq!(r.header("connection"), Some("close"));
    let mut c = p.connect();
    let r = request(
        &mut c,
        b"GET / HTTP/1.1\r\nHost: t\r\nBad Header: x\r\n\r\n",
    )
    .expect("response");
    assert_eq!(r.status(), 400);
    assert_eq!(b.requests(), 0);
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let b = Backend::start("echo", Behaviour::Echo);
    let p = Proxy::start(&one_backend("", &b));
    let mut c = p.connect();
    let mut all = Vec::new();
    for i in 0..3 {
        let body = format!("req{i}");
        all.extend_from_slice(
            format!(
                "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        );
    }
    c.write_all(&all).expect("write");
    let mut r = BufReader::new(c.try_clone().expect("clone"));
    for i in 0..3 {
        let m = read_message(&mut r, true).expect("response");
        assert_eq!(m.body, format!("req{i}").as_bytes());
    }
}

#[test]
fn server_timeout_gives_504() {
    let b = Backend::start("slow", Behaviour::Slow(3000));
    let cfg = format!(
        "{DEFAULTS}frontend fe\n    bind @FE@\n    default_backend be\nbackend be\n    timeout server 300ms\n    server s1 {}\n",
        b.addr
    );
    let p = Proxy::start(&cfg);
    let mut c = p.connect();
    let started = std::time::Instant::now();
    let r = request(&mut c, GET).expect("response");
    assert_eq!(r.status(), 504);
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}

#[test]
fn forwardfor_adds_the_client_address() {
    let b = Backend::start("s1", Behaviour::Name);
    let p = Proxy::start(&one_backend("    option forwardfor\n", &b));
    let mut c = p.connect();
    assert_eq!(request(&mut c, GET).map(|r| r.status()), Some(200));
    let heads = b.heads.lock().map(|h| h.clone()).unwrap_or_default();
    assert!(
        heads
            .iter()
            .any(|h| h.contains("x-forwarded-for: 127.0.0.1")),
        "{heads:?}"
    );
}

#[test]
fn expect_continue_is_passed_through() {
    let b = Backend::start("echo", Behaviour::Echo);
    let p = Proxy::start(&one_backend("", &b));
    let mut c = p.connect();
    // The test backend never sends 100; the client sends its body anyway (as curl does
    // after a second), and the answer comes back.
    c.write_all(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        .expect("write");
    std::thread::sleep(std::time::Duration::from_millis(100));
    c.write_all(b"body").expect("write");
    let mut r = BufReader::new(c.try_clone().expect("clone"));
    let m = read_message(&mut r, true).expect("response");
    assert_eq!(m.status(), 200);
    assert_eq!(m.body, b"body");
}

#[test]
fn transfer_codings_other_than_chunked_get_422_and_http10_chunked_closes() {
    let b = Backend::start("s1", Behaviour::Name);
    let p = Proxy::start(&one_backend("", &b));
    let mut c = p.connect();
    let gzip = b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n";
    let r = request(&mut c, gzip).expect("response");
    assert_eq!(r.status(), 422);
    assert_eq!(b.requests(), 0);

    // HTTP/1.0 has no chunked coding: the body is read as chunked and the exchange ends
    // the connection.
    let mut c = p.connect();
    c.write_all(b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
        .expect("write");
    let mut all = Vec::new();
    c.read_to_end(&mut all).expect("read to close");
    let r = read_message(&mut BufReader::new(&all[..]), true).expect("response");
    assert_eq!(r.status(), 200);
    assert_eq!(b.requests(), 1);
}

#[test]
fn default_ports_of_absolute_targets_are_normalized_before_forwarding() {
    let b = Backend::start("s1", Behaviour::Name);
    let p = Proxy::start(&one_backend("", &b));
    let mut c = p.connect();
    let req = b"GET http://user@example.com:80/x HTTP/1.1\r\nHost: example.com:80\r\n\r\n";
    assert_eq!(request(&mut c, req).map(|r| r.status()), Some(200));
    // A port that is not the scheme's default stays, and must agree with Host.
    let req = b"GET http://example.com:8080/y HTTP/1.1\r\nHost: example.com\r\n\r\n";
    assert_eq!(request(&mut c, req).map(|r| r.status()), Some(400));
    let mut c = p.connect();
    let req = b"GET http://example.com:8080/z HTTP/1.1\r\nHost: example.com:8080\r\n\r\n";
    assert_eq!(request(&mut c, req).map(|r| r.status()), Some(200));
    let heads = b.heads.lock().map(|h| h.clone()).unwrap_or_default();
    assert_eq!(heads.len(), 2, "{heads:?}");
    assert_eq!(
        heads[0], "GET http://user@example.com/x HTTP/1.1\nHost: example.com",
        "{heads:?}"
    );
    assert_eq!(
        heads[1], "GET http://example.com:8080/z HTTP/1.1\nHost: example.com:8080",
        "{heads:?}"
    );
}

#[test]
fn a_rule_naming_a_disabled_backend_gives_way_to_the_next_rule() {
    let on = Backend::start("on", Behaviour::Name);
    let off = Backend::start("off", Behaviour::Name);
    let dflt = Backend::start("default", Behaviour::Name);
    let cfg = format!(
        "{DEFAULTS}frontend fe\n    bind @FE@\n    use_backend off if {{ path /x }}\n    use_backend %[req.hdr(x-target)] if {{ req.hdr(x-target) -m found }}\n    use_backend on if {{ path /x }}\n    default_backend dflt\n\
         backend off\n    disabled\n    server s1 {}\nbackend on\n    server s1 {}\nbackend dflt\n    server s1 {}\n",
        off.addr, on.addr, dflt.addr
    );
    let p = Proxy::start(&cfg);
    let mut c = p.connect();
    let r = request(&mut c, b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n").expect("response");
    assert_eq!(r.body, b"on");
    // A dynamic name with no backend goes to the default one, past the later rules.
    let r = request(
        &mut c,
        b"GET /x HTTP/1.1\r\nHost: t\r\nx-target: nowhere\r\n\r\n",
    )
    .expect("response");
    assert_eq!(r.body, b"default");
    assert_eq!(off.requests(), 0);
}

/// A SOCKS4 proxy on 127.0.0.1: grants every CONNECT, relays both ways, and keeps the
/// requests it received.
fn socks4_proxy() -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind proxy");
    let addr = l.local_addr().expect("addr");
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let s2 = seen.clone();
    std::thread::spawn(move || {
        for c in l.incoming() {
            let Ok(mut c) = c else { return };
            let mut req = [0u8; 16];
            if c.read_exact(&mut req).is_err() {
                continue;
            }
            if let Ok(mut s) = s2.lock() {
                s.push(req.to_vec());
            }
            let port = u16::from_be_bytes([req[2], req[3]]);
            let ip = std::net::Ipv4Addr::new(req[4], req[5], req[6], req[7]);
            let Ok(up) = std::net::TcpStream::connect((ip, port)) else {
                continue;
            };
            if c.write_all(&[0, 0x5A, 0, 0, 0, 0, 0, 0]).is_err() {
                continue;
            }
            let (mut c2, mut up2) = match (c.try_clone(), up.try_clone()) {
                (Ok(a), Ok(b)) => (a, b),
                _ => continue,
            };
            let (mut c, mut up) = (c, up);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c2, &mut up2);
            });
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut up, &mut c);
            });
        }
    });
    (addr, seen)
}

#[test]
fn socks4_servers_are_reached_through_the_proxy() {
    let b = Backend::start("s1", Behaviour::Name);
    let (proxy, seen) = socks4_proxy();
    let cfg = format!(
        "{DEFAULTS}frontend fe\n    bind @FE@\n    default_backend be\nbackend be\n    server s1 {} socks4 {proxy}\n",
        b.addr
    );
    let p = Proxy::start(&cfg);
    let mut c = p.connect();
    let r = request(&mut c, GET).expect("response");
    assert_eq!(r.body, b"s1");
    let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
    assert_eq!(seen.len(), 1);
    assert_eq!(u16::from_be_bytes([seen[0][2], seen[0][3]]), b.addr.port());
    assert_eq!(&seen[0][..2], &[4, 1]);
    assert_eq!(&seen[0][8..], b"HAProxy\0");
}
