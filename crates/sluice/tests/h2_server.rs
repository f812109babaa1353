//! End-to-end: servers spoken to in HTTP/2 (`server ... proto h2`), with an HTTP/2 server
//! written with the `h2` crate; clients in HTTP/1.1 and in HTTP/2 (prior knowledge). Also
//! CONNECT and WebSocket over HTTP/2 on the client side (RFC 8441).

use bytes::Bytes;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

mod common;
use common::free_port;
use common::http::{connect, find, read_response, Sluice};

const DEFAULTS: &str = "global\n    chroot /\n\ndefaults\n    mode http\n    retries 0\n    \
                        timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// An HTTP/2 server (prior knowledge, extended CONNECT enabled) on its own thread; returns
/// its port and the number of connections it accepted.
///
/// It answers 200 with `x-method`, `x-path`, `x-authority`, `x-scheme` and `x-protocol`
/// fields and the request body as its body (streamed when the request has no length), the
/// request trailers as its trailers; `/reset` is reset (REFUSED_STREAM is not retried:
/// INTERNAL_ERROR); an extended CONNECT is answered 200 and its bytes are echoed back.
fn h2_server() -> (u16, Arc<AtomicUsize>) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("address").port();
    l.set_nonblocking(true).expect("nonblocking");
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        runtime().block_on(async move {
            let l = tokio::net::TcpListener::from_std(l).expect("listener");
            loop {
                let Ok((tcp, _)) = l.accept().await else {
                    return;
                };
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut b = h2::server::Builder::new();
                    b.enable_connect_protocol();
                    let Ok(mut conn) = b.handshake::<_, Bytes>(tcp).await else {
                        return;
                    };
                    while let Some(Ok((req, respond))) = conn.accept().await {
                        tokio::spawn(answer(req, respond));
                    }
                });
            }
        })
    });
    (port, accepted)
}

async fn answer(req: http::Request<h2::RecvStream>, mut respond: h2::server::SendResponse<Bytes>) {
    let (parts, mut body) = req.into_parts();
    if parts.uri.path() == "/reset" {
        respond.send_reset(h2::Reason::INTERNAL_ERROR);
        return;
    }
    let protocol = parts
        .extensions
        .get::<h2::ext::Protocol>()
        .map(|p| p.as_str().to_string());
    let mut resp = http::Response::builder()
        .status(200)
        .header("x-method", parts.method.as_str())
        .header("x-path", parts.uri.path())
        .header(
            "x-authority",
            parts.uri.authority().map_or("", |a| a.as_str()),
        )
        .header("x-scheme", parts.uri.scheme_str().unwrap_or(""))
        .header("x-protocol", protocol.as_deref().unwrap_or(""));
    if let Some(len) = parts.headers.get("content-length") {
        resp = resp.header("content-length", len);
    }
    let end = body.is_end_stream();
    let Ok(mut send) = respond.send_response(resp.body(()).expect("response"), end) else {
        return;
    };
    if end {
        return;
    }
    while let Some(Ok(chunk)) = body.data().await {
        let _ = body.flow_control().release_capacity(chunk.len());
        if send.send_data(chunk, false).is_err() {
            return;
        }
    }
    match body.trailers().await {
        Ok(Some(t)) => {
            let _ = send.send_trailers(t);
        }
        _ => {
            let _ = send.send_data(Bytes::new(), true);
        }
    }
}

/// Reads a chunked body (with its trailers) after a head already read into `buf`.
fn read_chunked(s: &mut std::net::TcpStream, buf: &mut Vec<u8>) -> (String, String) {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = find(buf, b"\r\n0\r\n")
            .map(|i| i + 5)
            .or_else(|| buf.starts_with(b"0\r\n").then_some(3))
        {
            if let Some(t) = find(&buf[end - 2..], b"\r\n\r\n") {
                let tail = String::from_utf8_lossy(&buf[end..end - 2 + t + 2]).to_string();
                let body = String::from_utf8_lossy(&buf[..end]).to_string();
                return (body, tail);
            }
        }
        let n = s.read(&mut chunk).expect("read a chunked body");
        assert!(n > 0, "closed in a chunked body: {buf:?}");
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[test]
fn http1_clients_reach_an_http2_server() {
    let (srv, accepted) = h2_server();
    let fe = free_port();
    let cfg = format!(
        "{DEFAULTS}\nfrontend fe\n    bind 127.0.0.1:{fe}\n    default_backend be\n\n\
         backend be\n    server s1 127.0.0.1:{srv} proto h2\n"
    );
    let _s = Sluice::start(&cfg, &[fe]);
    let mut c = connect(fe);

    // A GET: `:authority` from Host, `:scheme` https (HAProxy's default), no body.
    c.write_all(b"GET /a?b=c HTTP/1.1\r\nhost: test.local\r\n\r\n")
        .expect("send");
    let (head, _) = read_response(&mut c);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("x-method: get\r\n"), "{head}");
    assert!(head.contains("x-path: /a\r\n"), "{head}");
    assert!(head.contains("x-authority: test.local\r\n"), "{head}");
    assert!(head.contains("x-scheme: https\r\n"), "{head}");

    // A body with its length comes back with it, on the same server connection.
    c.write_all(b"POST /up HTTP/1.1\r\nhost: test.local\r\ncontent-length: 5\r\n\r\nhello")
        .expect("send");
    let (head, body) = read_response(&mut c);
    assert!(head.contains("content-length: 5\r\n"), "{head}");
    assert_eq!(body, "hello");

    // A chunked body with trailers: DATA then trailing HEADERS to the server; its answer
    // (no length) comes back chunked, with the trailers after the last chunk.
    c.write_all(
        b"POST /up HTTP/1.1\r\nhost: test.local\r\ntransfer-encoding: chunked\r\n\r\n\
          6\r\nhello \r\n5\r\nworld\r\n0\r\nx-sum: 42\r\n\r\n",
    )
    .expect("send");
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(e) = find(&buf, b"\r\n\r\n") {
            break e + 4;
        }
        let n = c.read(&mut chunk).expect("read");
        assert!(n > 0, "closed");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
    assert!(head.contains("transfer-encoding: chunked\r\n"), "{head}");
    let mut rest = buf.split_off(head_end);
    let (body, trailers) = read_chunked(&mut c, &mut rest);
    assert!(body.contains("hello ") && body.contains("world"), "{body}");
    assert!(trailers.contains("x-sum: 42\r\n"), "{trailers}");

    // One HTTP/2 connection carried the three streams.
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[test]
fn a_stream_reset_by_the_server_is_a_502() {
    let (srv, _) = h2_server();
    let fe = free_port();
    let cfg = format!(
        "{DEFAULTS}\nfrontend fe\n    bind 127.0.0.1:{fe}\n    default_backend be\n\n\
         backend be\n    server s1 127.0.0.1:{srv} proto h2\n"
    );
    let _s = Sluice::start(&cfg, &[fe]);
    let mut c = connect(fe);
    c.write_all(b"GET /reset HTTP/1.1\r\nhost: test.local\r\n\r\n")
        .expect("send");
    let (head, _) = read_response(&mut c);
    assert!(head.starts_with("http/1.1 502"), "{head}");
}

#[test]
fn http2_clients_reach_an_http2_server() {
    let (srv, _) = h2_server();
    let fe = free_port();
    let cfg = format!(
        "{DEFAULTS}\nfrontend fe\n    bind 127.0.0.1:{fe} proto h2\n    default_backend be\n\n\
         backend be\n    server s1 127.0.0.1:{srv} proto h2\n"
    );
    let _s = Sluice::start(&cfg, &[fe]);
    runtime().block_on(async {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", fe))
            .await
            .expect("connect");
        let (send, conn) = h2::client::handshake(tcp).await.expect("handshake");
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let req = http::Request::builder()
            .method("POST")
            .uri("http://test.local/up")
            .body(())
            .expect("request");
        let mut send = send.ready().await.expect("ready");
        let (resp, mut body) = send.send_request(req, false).expect("send");
        body.send_data(Bytes::from_static(b"hello "), false)
            .expect("data");
        body.send_data(Bytes::from_static(b"world"), true)
            .expect("data");
        let resp = resp.await.expect("response");
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["x-method"], "POST");
        assert_eq!(resp.headers()["x-authority"], "test.local");
        let mut recv = resp.into_body();
        let mut got = Vec::new();
        while let Some(d) = recv.data().await {
            let d = d.expect("data");
            let _ = recv.flow_control().release_capacity(d.len());
            got.extend_from_slice(&d);
        }
        assert_eq!(got, b"hello world");
    });
}

/// An HTTP/1.1 WebSocket server: answers the handshake 101 (with the accept of the key it
/// got, checked by Sluice) and echoes what follows.
fn websocket_server() -> u16 {
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
                let head = String::from_utf8_lossy(&buf).to_lowercase();
                if !head.contains("upgrade: websocket") || !head.contains("sec-websocket-key: ") {
                    let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
                    return;
                }
                // Any well-formed accept value: Sluice checks its form, not its digest.
                let _ = s.write_all(
                    b"HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\n\
                      upgrade: websocket\r\nsec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
                );
                loop {
                    match s.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if s.write_all(&chunk[..n]).is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    port
}

#[test]
fn websocket_over_http2_reaches_an_http1_server() {
    let ws = websocket_server();
    let fe = free_port();
    let cfg = format!(
        "{DEFAULTS}\nfrontend fe\n    bind 127.0.0.1:{fe} proto h2\n    default_backend be\n\n\
         backend be\n    server s1 127.0.0.1:{ws}\n"
    );
    let _s = Sluice::start(&cfg, &[fe]);
    runtime().block_on(async {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", fe))
            .await
            .expect("connect");
        let (send, conn) = h2::client::handshake(tcp).await.expect("handshake");
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut send = send.ready().await.expect("ready");
        // Sluice's SETTINGS allow extended CONNECT (once they have been read).
        for _ in 0..100 {
            if send.is_extended_connect_protocol_enabled() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(send.is_extended_connect_protocol_enabled());
        let mut req = http::Request::builder()
            .method("CONNECT")
            .uri("http://test.local/chat")
            .body(())
            .expect("request");
        req.extensions_mut()
            .insert(h2::ext::Protocol::from("websocket"));
        let (resp, mut up) = send.send_request(req, false).expect("send");
        let resp = tokio::time::timeout(Duration::from_secs(5), resp)
            .await
            .expect("in time")
            .expect("response");
        assert_eq!(resp.status(), 200);
        up.send_data(Bytes::from_static(b"ping"), false)
            .expect("data");
        let mut down = resp.into_body();
        let echoed = tokio::time::timeout(Duration::from_secs(5), down.data())
            .await
            .expect("in time")
            .expect("data")
            .expect("data");
        assert_eq!(&echoed[..], b"ping");
    });
}

#[test]
fn an_http1_upgrade_becomes_an_extended_connect() {
    let (srv, _) = h2_server();
    let fe = free_port();
    let cfg = format!(
        "{DEFAULTS}\nfrontend fe\n    bind 127.0.0.1:{fe}\n    default_backend be\n\n\
         backend be\n    server s1 127.0.0.1:{srv} proto h2\n"
    );
    let _s = Sluice::start(&cfg, &[fe]);
    let mut c = connect(fe);
    c.write_all(
        b"GET /chat HTTP/1.1\r\nhost: test.local\r\nconnection: upgrade\r\nupgrade: custom\r\n\r\n",
    )
    .expect("send");
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while find(&buf, b"\r\n\r\n").is_none() {
        let n = c.read(&mut chunk).expect("read");
        assert!(n > 0, "closed");
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf).to_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(head.contains("upgrade: custom\r\n"), "{head}");
    assert!(head.contains("x-method: connect\r\n"), "{head}");
    assert!(head.contains("x-protocol: custom\r\n"), "{head}");
    // The tunnel: the server echoes.
    c.write_all(b"ping").expect("send");
    let mut got = [0u8; 4];
    c.read_exact(&mut got).expect("echo");
    assert_eq!(&got, b"ping");
}

#[test]
fn other_server_protocols_are_refused_at_check() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("haproxy.cfg");
    let cfg = format!(
        "{DEFAULTS}\nbackend be\n    server s1 127.0.0.1:8080 proto fcgi\n    server s2 127.0.0.1:8081 proto h2\n"
    );
    std::fs::write(&path, &cfg).expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["-c", "-f"])
        .arg(&path)
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    let line = |what: &str| {
        let n = cfg.lines().position(|l| l.contains(what)).expect("line") + 1;
        format!("haproxy.cfg:{n}]")
    };
    assert!(!out.status.success(), "{err}");
    assert!(err.contains(&line("proto fcgi")), "{err}");
    assert!(err.contains("'fcgi'"), "{err}");
    assert!(!err.contains(&line("proto h2")), "{err}");
}
