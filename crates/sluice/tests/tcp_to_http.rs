//! End to end: HTTP seen from TCP streams, with the real binary and real servers and
//! clients on 127.0.0.1 — HTTP fetches (`path`, `url`, `req.hdr`, the `HTTP` ACL) in a
//! `mode tcp` frontend's `tcp-request content` rules and `use_backend` on the raw bytes,
//! `tcp-request content switch-mode http`, a TCP frontend's stream sent to an HTTP backend,
//! `bind ... proto none` and `proto h1`.

mod common;

use common::free_port;
use common::http::{connect, echo_server, read_response, request, Sluice};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

const DEFAULTS: &str =
    "defaults\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n";

const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// A server answering each request head with a 200 whose `x-server` header is `tag`.
fn tagged_server(tag: &'static str) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        buf.drain(..end + 4);
                        let resp = format!(
                            "HTTP/1.1 200 OK\r\nx-server: {tag}\r\ncontent-length: 0\r\n\r\n"
                        );
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

/// One command's answer on the stats socket.
fn cli(path: &Path, line: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut s = loop {
        match UnixStream::connect(path) {
            Ok(s) => break s,
            Err(e) => {
                assert!(Instant::now() < deadline, "no stats socket: {e}");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    };
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s.write_all(format!("{line}\n").as_bytes()).expect("send");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("answer");
    out
}

/// Whether the server closes `s` without answering anything.
fn closed_without_answer(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 256];
    matches!(s.read(&mut buf), Ok(0) | Err(_))
}

#[test]
fn http_fetches_on_raw_tcp_bytes_route_and_track() {
    let port = free_port();
    let (api, other) = (tagged_server("api"), tagged_server("other"));
    let dir = tempfile::tempdir().expect("temporary directory");
    let sock = dir.path().join("stats.sock");
    let cfg = format!(
        "global\n    stats socket {} level admin\n{DEFAULTS}\n\
         backend t\n    stick-table type string len 32 size 1k store http_req_cnt,gpc0\n\n\
         frontend fe\n    mode tcp\n    bind 127.0.0.1:{port}\n\
         \x20   tcp-request inspect-delay 3s\n\
         \x20   tcp-request content reject if {{ req.hdr(x-block) -m found }}\n\
         \x20   tcp-request content track-sc0 url table t\n\
         \x20   tcp-request content sc-inc-gpc0(0)\n\
         \x20   use_backend api if {{ path_beg /api }} HTTP\n\
         \x20   default_backend other\n\n\
         backend api\n    mode tcp\n    server s 127.0.0.1:{api}\n\n\
         backend other\n    mode tcp\n    server s 127.0.0.1:{other}\n",
        sock.display()
    );
    let _s = Sluice::start(&cfg, &[port]);

    // The request head comes in two parts: the rules wait for all of it.
    let started = Instant::now();
    let mut c = connect(port);
    c.write_all(b"GET /api/users?id=1 HT").expect("send");
    std::thread::sleep(Duration::from_millis(300));
    c.write_all(b"TP/1.1\r\nhost: test\r\n\r\n").expect("send");
    let (head, _) = read_response(&mut c);
    assert!(head.contains("x-server: api"), "{head}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    let (head, _) = request(&mut connect(port), "/index.html", "");
    assert!(head.contains("x-server: other"), "{head}");

    // A header the rules read from the raw bytes.
    let mut c = connect(port);
    c.write_all(b"GET /api/x HTTP/1.1\r\nhost: test\r\nx-block: 1\r\n\r\n")
        .expect("send");
    assert!(closed_without_answer(&mut c));

    // What the content rules tracked: the URL of each request they saw.
    let table = cli(&sock, "show table t");
    assert!(table.contains("used:2"), "{table}");
    assert!(table.contains("key=/api/users?id=1 "), "{table}");
    assert!(table.contains("key=/index.html "), "{table}");
    assert!(table.contains("gpc0=1"), "{table}");
    assert!(!table.contains("key=/api/x"), "{table}");
}

#[test]
fn bytes_that_are_not_http_are_decided_on_without_waiting() {
    let port = free_port();
    let other = free_port();
    // A plain TCP server echoing what it gets.
    let l = TcpListener::bind(("127.0.0.1", other)).expect("bind");
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            std::thread::spawn(move || {
                let mut chunk = [0u8; 1024];
                while let Ok(n) = s.read(&mut chunk) {
                    if n == 0 || s.write_all(&chunk[..n]).is_err() {
                        return;
                    }
                }
            });
        }
    });
    let cfg = format!(
        "{DEFAULTS}\nfrontend fe\n    mode tcp\n    bind 127.0.0.1:{port}\n\
         \x20   tcp-request inspect-delay 5s\n\
         \x20   tcp-request content reject if {{ path_beg /forbidden }}\n\
         \x20   tcp-request content accept if !HTTP\n\
         \x20   default_backend echo\n\n\
         backend echo\n    mode tcp\n    server s 127.0.0.1:{other}\n"
    );
    let _s = Sluice::start(&cfg, &[port]);
    let started = Instant::now();
    let mut c = connect(port);
    c.write_all(b"\x16\x03\x01hello").expect("send");
    let mut got = [0u8; 8];
    c.read_exact(&mut got).expect("echo");
    assert_eq!(&got, b"\x16\x03\x01hello");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn switch_mode_http_runs_the_frontends_http_rules() {
    let port = free_port();
    let echo = echo_server(Duration::ZERO);
    let cfg = format!(
        "{DEFAULTS}\nfrontend fe\n    mode tcp\n    bind 127.0.0.1:{port}\n\
         \x20   tcp-request inspect-delay 2s\n\
         \x20   tcp-request content set-var(req.mode) internal.strm.is_htx,iif(http,tcp)\n\
         \x20   tcp-request content switch-mode http if HTTP\n\
         \x20   tcp-request content reject\n\
         \x20   http-request set-header x-stream-mode %[var(req.mode)]\n\
         \x20   http-request set-header x-frontend %[fe_name]\n\
         \x20   http-after-response set-header x-seen yes\n\
         \x20   default_backend be\n\n\
         backend be\n    mode http\n    server s 127.0.0.1:{echo}\n"
    );
    let _s = Sluice::start(&cfg, &[port]);
    let mut c = connect(port);
    // The first request was read by the TCP stream's rules; the second by the HTTP
    // stream's, on the same connection.
    let (head, body) = request(&mut c, "/one", "");
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("x-seen: yes"), "{head}");
    assert!(body.contains("x-stream-mode: tcp\r\n"), "{body}");
    assert!(body.contains("x-frontend: fe\r\n"), "{body}");
    let (head, body) = request(&mut c, "/two", "");
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(body.contains("x-stream-mode: http\r\n"), "{body}");

    // Bytes that are not HTTP meet the final `reject`.
    let mut c = connect(port);
    c.write_all(b"\x00\x01\x02\x03").expect("send");
    c.shutdown(std::net::Shutdown::Write).expect("shutdown");
    assert!(closed_without_answer(&mut c));
}

#[test]
fn a_tcp_frontend_sending_to_an_http_backend_speaks_http() {
    let port = free_port();
    let echo = echo_server(Duration::ZERO);
    let cfg = format!(
        "{DEFAULTS}\nfrontend fe\n    mode tcp\n    bind 127.0.0.1:{port}\n    default_backend be\n\n\
         backend be\n    mode http\n    http-request set-header x-backend %[be_name]\n    \
         server s 127.0.0.1:{echo}\n"
    );
    let _s = Sluice::start(&cfg, &[port]);
    let mut c = connect(port);
    for path in ["/a", "/b"] {
        let (head, body) = request(&mut c, path, "");
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert!(body.contains("x-backend: be\r\n"), "{body}");
        assert!(body.starts_with(&format!("GET {path} ")), "{body}");
    }
    // An invalid request is answered as an HTTP frontend answers it.
    let mut c = connect(port);
    c.write_all(b"GET / BAD-VERSION\r\n\r\n").expect("send");
    let (head, _) = read_response(&mut c);
    assert!(head.starts_with("http/1.1 400"), "{head}");
}

#[test]
fn proto_none_and_proto_h1_forbid_upgrades() {
    let (none, h1, sw_h1) = (free_port(), free_port(), free_port());
    let echo = echo_server(Duration::ZERO);
    let cfg = format!(
        "{DEFAULTS}\n\
         frontend raw\n    mode tcp\n    bind 127.0.0.1:{none} proto none\n\
         \x20   tcp-request inspect-delay 2s\n\
         \x20   tcp-request content switch-mode http if HTTP\n\
         \x20   default_backend be\n\n\
         listen only_h1\n    mode http\n    bind 127.0.0.1:{h1} proto h1\n    server s 127.0.0.1:{echo}\n\n\
         frontend switch_h1\n    mode tcp\n    bind 127.0.0.1:{sw_h1}\n\
         \x20   tcp-request inspect-delay 2s\n\
         \x20   tcp-request content switch-mode http proto h1 if HTTP\n\
         \x20   tcp-request content reject\n\
         \x20   default_backend be\n\n\
         backend be\n    mode http\n    server s 127.0.0.1:{echo}\n"
    );
    let _s = Sluice::start(&cfg, &[none, h1, sw_h1]);

    // `proto none`: the stream may not become HTTP, the connection is closed.
    let mut c = connect(none);
    c.write_all(b"GET / HTTP/1.1\r\nhost: test\r\n\r\n")
        .expect("send");
    assert!(closed_without_answer(&mut c));

    // `proto h1`, on the bind line or the switch: the HTTP/2 preface is a bad request.
    for port in [h1, sw_h1] {
        let mut c = connect(port);
        c.write_all(H2_PREFACE).expect("send");
        let (head, _) = read_response(&mut c);
        assert!(head.starts_with("http/1.1 400"), "port {port}: {head}");
    }
    // HTTP/1 requests go through both.
    for port in [h1, sw_h1] {
        let (head, _) = request(&mut connect(port), "/", "");
        assert!(head.starts_with("http/1.1 200"), "port {port}: {head}");
    }
}

#[test]
fn switch_mode_arguments_are_checked() {
    let dir = common::Dir::new();
    let port = free_port();
    let cfg = format!(
        "{DEFAULTS}\nfrontend fe\n    mode tcp\n    bind 127.0.0.1:{port} proto none\n\
         \x20   tcp-request content switch-mode tcp\n    default_backend be\n\n\
         backend be\n    mode tcp\n    server s 127.0.0.1:1\n"
    );
    dir.write("bad.cfg", &cfg);
    let run = dir.run(&["-c", "-f", "bad.cfg"]);
    let stderr = run.stderr_lines().join("\n");
    assert!(stderr.contains("bad.cfg:9"), "{stderr}");
    assert!(stderr.contains("'tcp'"), "{stderr}");
    // `proto none` itself is accepted.
    assert!(!stderr.contains("proto"), "{stderr}");

    // `proto none` is for TCP frontends.
    let cfg = format!(
        "{DEFAULTS}\nfrontend fe\n    mode http\n    bind 127.0.0.1:{port} proto none\n    default_backend be\n\n\
         backend be\n    mode http\n    server s 127.0.0.1:1\n"
    );
    dir.write("bad2.cfg", &cfg);
    let run = dir.run(&["-c", "-f", "bad2.cfg"]);
    let stderr = run.stderr_lines().join("\n");
    assert!(stderr.contains("bad2.cfg:8"), "{stderr}");
    assert!(
        stderr.contains("MUX protocol 'none' is not usable"),
        "{stderr}"
    );

    // Only a proxy that accepts connections switches them.
    let cfg = format!(
        "{DEFAULTS}\nfrontend fe\n    mode tcp\n    bind 127.0.0.1:{port}\n    default_backend be\n\n\
         backend be\n    mode tcp\n    tcp-request content switch-mode http\n    server s 127.0.0.1:1\n"
    );
    dir.write("bad3.cfg", &cfg);
    let run = dir.run(&["-c", "-f", "bad3.cfg"]);
    let stderr = run.stderr_lines().join("\n");
    assert!(stderr.contains("bad3.cfg:13"), "{stderr}");
    assert!(stderr.contains("frontend capability"), "{stderr}");
}

/// Two GET requests on one HTTP/2 connection with prior knowledge to `port`: the bodies
/// (the echo server's copy of each request head).
fn two_h2_requests(port: u16) -> Vec<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        let (send, conn) = h2::client::handshake(tcp).await.expect("h2 handshake");
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut bodies = Vec::new();
        for path in ["/one", "/two"] {
            let req = http::Request::builder()
                .uri(format!("http://test.local{path}"))
                .body(())
                .expect("request");
            let mut send = send.clone().ready().await.expect("ready");
            let (resp, _) = send.send_request(req, true).expect("send");
            let resp = resp.await.expect("a response");
            assert_eq!(resp.status().as_u16(), 200);
            let mut body = resp.into_body();
            let mut out = Vec::new();
            while let Some(chunk) = body.data().await {
                let chunk = chunk.expect("body");
                let _ = body.flow_control().release_capacity(chunk.len());
                out.extend_from_slice(&chunk);
            }
            bodies.push(String::from_utf8_lossy(&out).into_owned());
        }
        bodies
    })
}

#[test]
fn an_http2_client_of_a_switched_tcp_frontend_gets_http2() {
    let (auto, h2) = (free_port(), free_port());
    let echo = echo_server(Duration::ZERO);
    let cfg = format!(
        "{DEFAULTS}\n\
         frontend auto\n    mode tcp\n    bind 127.0.0.1:{auto}\n\
         \x20   tcp-request inspect-delay 2s\n\
         \x20   tcp-request content set-var(req.mode) internal.strm.is_htx,iif(http,tcp)\n\
         \x20   tcp-request content switch-mode http if HTTP\n\
         \x20   tcp-request content reject\n\
         \x20   http-request set-header x-stream-mode %[var(req.mode)]\n\
         \x20   default_backend be\n\n\
         frontend forced\n    mode tcp\n    bind 127.0.0.1:{h2}\n\
         \x20   tcp-request inspect-delay 2s\n\
         \x20   tcp-request content switch-mode http proto h2\n\
         \x20   http-request set-header x-stream-mode h2\n\
         \x20   default_backend be\n\n\
         backend be\n    mode http\n    server s 127.0.0.1:{echo}\n"
    );
    let _s = Sluice::start(&cfg, &[auto, h2]);
    // Each HTTP/2 stream is an HTTP one: its content rules see an HTTP stream.
    for body in two_h2_requests(auto) {
        assert!(body.contains("x-stream-mode: http\r\n"), "{body}");
    }
    for body in two_h2_requests(h2) {
        assert!(body.contains("x-stream-mode: h2\r\n"), "{body}");
    }
}

#[test]
fn a_switched_stream_is_not_sent_to_a_tcp_backend() {
    let port = free_port();
    let echo = echo_server(Duration::ZERO);
    let cfg = format!(
        "{DEFAULTS}\nfrontend fe\n    mode tcp\n    bind 127.0.0.1:{port}\n\
         \x20   tcp-request inspect-delay 2s\n\
         \x20   tcp-request content switch-mode http if HTTP\n\
         \x20   default_backend raw\n\n\
         backend raw\n    mode tcp\n    server s 127.0.0.1:{echo}\n"
    );
    let _s = Sluice::start(&cfg, &[port]);
    let (head, _) = request(&mut connect(port), "/", "");
    assert!(head.starts_with("http/1.1 500"), "{head}");
}
