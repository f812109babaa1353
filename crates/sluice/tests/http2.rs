//! End-to-end: HTTP/2 clients (the `h2` crate) against the real binary, HTTP/1.1 servers
//! behind: `bind ... proto h2`, the preface on a plain HTTP bind, TLS with ALPN h2; rules,
//! error pages and concurrent streams as for HTTP/1 clients.

use bytes::Bytes;
use h2::client::SendRequest;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;
use common::free_port;
use common::http::{connect, find, request, Sluice};

const DEFAULTS: &str = "global\n    chroot /\n\ndefaults\n    mode http\n    retries 0\n    \
                        timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n";

/// An HTTP/1.1 server answering 200 with the request head then its body (content-length
/// or chunked, decoded) as the response body, after `delay`.
fn echo_body_server(delay: Duration) -> u16 {
    echo_body_server_counted(delay).0
}

/// [`echo_body_server`], and the number of connections it accepted.
fn echo_body_server_counted(delay: Duration) -> (u16, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("address").port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            count.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                loop {
                    let Some(end) = read_until(&mut s, &mut buf, |b| find(b, b"\r\n\r\n")) else {
                        return;
                    };
                    let head: Vec<u8> = buf.drain(..end + 4).collect();
                    let lower = String::from_utf8_lossy(&head).to_lowercase();
                    let mut body = Vec::new();
                    if lower.contains("transfer-encoding: chunked") {
                        loop {
                            let Some(e) = read_until(&mut s, &mut buf, |b| find(b, b"\r\n")) else {
                                return;
                            };
                            let line: Vec<u8> = buf.drain(..e + 2).collect();
                            let size = String::from_utf8_lossy(&line[..e]).to_string();
                            let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
                            if size == 0 {
                                // Trailers up to the empty line.
                                let Some(e) = read_until(&mut s, &mut buf, |b| {
                                    if b.starts_with(b"\r\n") {
                                        Some(0)
                                    } else {
                                        find(b, b"\r\n\r\n").map(|i| i + 2)
                                    }
                                }) else {
                                    return;
                                };
                                let t: Vec<u8> = buf.drain(..e + 2).collect();
                                body.extend_from_slice(b"[trailers]");
                                body.extend_from_slice(&t);
                                break;
                            }
                            let Some(_) = read_until(&mut s, &mut buf, |b| {
                                (b.len() >= size + 2).then_some(size)
                            }) else {
                                return;
                            };
                            body.extend(buf.drain(..size));
                            buf.drain(..2);
                        }
                    } else if let Some(len) = lower
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                    {
                        let Some(_) =
                            read_until(&mut s, &mut buf, |b| (b.len() >= len).then_some(len))
                        else {
                            return;
                        };
                        body.extend(buf.drain(..len));
                    }
                    std::thread::sleep(delay);
                    if lower.contains("x-want-trailers") {
                        // A chunked answer with a trailer field.
                        let mut resp =
                            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
                        resp.extend_from_slice(format!("{:x}\r\n", body.len() + 4).as_bytes());
                        resp.extend_from_slice(b"body");
                        resp.extend_from_slice(&body);
                        resp.extend_from_slice(b"\r\n0\r\nx-checksum: 42\r\n\r\n");
                        if s.write_all(&resp).is_err() {
                            return;
                        }
                        continue;
                    }
                    let resp = format!(
                        "HTTP/1.1 200 OK\r\nx-server: echo\r\ncontent-length: {}\r\n\r\n",
                        head.len() + body.len()
                    );
                    if s.write_all(resp.as_bytes()).is_err()
                        || s.write_all(&head).is_err()
                        || s.write_all(&body).is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    (port, accepted)
}

/// Reads into `buf` until `done` finds what it looks for; `None` when the peer closes.
fn read_until(
    s: &mut std::net::TcpStream,
    buf: &mut Vec<u8>,
    done: impl Fn(&[u8]) -> Option<usize>,
) -> Option<usize> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(i) = done(buf) {
            return Some(i);
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// An HTTP/2 connection with prior knowledge to 127.0.0.1:`port`.
async fn h2_connect(port: u16) -> SendRequest<Bytes> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    handshake(tcp).await
}

async fn handshake<T>(io: T) -> SendRequest<Bytes>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (send, conn) = h2::client::handshake(io).await.expect("h2 handshake");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    send
}

/// A response: status, headers, body.
struct Got {
    status: u16,
    headers: http::HeaderMap,
    body: String,
}

async fn fetch(
    send: &SendRequest<Bytes>,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[&[u8]]>,
) -> Result<Got, h2::Error> {
    let mut req = http::Request::builder()
        .method(method)
        .uri(format!("http://test.local{path}"));
    for (n, v) in headers {
        req = req.header(*n, *v);
    }
    let req = req.body(()).expect("request");
    let mut send = send.clone().ready().await?;
    let (resp, mut stream) = send.send_request(req, body.is_none())?;
    if let Some(parts) = body {
        for (i, p) in parts.iter().enumerate() {
            stream.send_data(Bytes::copy_from_slice(p), i + 1 == parts.len())?;
        }
    }
    let resp = resp.await?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let mut recv = resp.into_body();
    let mut out = Vec::new();
    while let Some(chunk) = recv.data().await {
        let chunk = chunk?;
        let _ = recv.flow_control().release_capacity(chunk.len());
        out.extend_from_slice(&chunk);
    }
    Ok(Got {
        status,
        headers,
        body: String::from_utf8_lossy(&out).into_owned(),
    })
}

async fn get(send: &SendRequest<Bytes>, path: &str) -> Got {
    fetch(send, "GET", path, &[], None)
        .await
        .expect("a response")
}

#[test]
fn get_and_post_through_to_an_http1_server() {
    let srv = echo_body_server(Duration::ZERO);
    let fe = free_port();
    let cfg = format!(
        "{DEFAULTS}\nfrontend fe\n    bind 127.0.0.1:{fe} proto h2\n    default_backend be\n\n\
         backend be\n    server s1 127.0.0.1:{srv}\n"
    );
    let _s = Sluice::start(&cfg, &[fe]);
    runtime().block_on(async {
        let c = h2_connect(fe).await;
        let r = get(&c, "/a?b=c").await;
        assert_eq!(r.status, 200);
        assert_eq!(
            r.headers.get("x-server").map(|v| v.as_bytes()),
            Some(&b"echo"[..])
        );
        assert!(r.headers.get("connection").is_none(), "{:?}", r.headers);
        assert!(r.body.starts_with("GET /a?b=c HTTP/1.1\r\n"), "{}", r.body);
        assert!(r.body.contains("host: test.local\r\n"), "{}", r.body);

        // A body with its length.
        let r = fetch(
            &c,
            "POST",
            "/up",
            &[("content-length", "5")],
            Some(&[b"hello"]),
        )
        .await
        .expect("a response");
        assert_eq!(r.status, 200);
        assert!(r.body.contains("content-length: 5\r\n"), "{}", r.body);
        assert!(r.body.ends_with("\r\n\r\nhello"), "{}", r.body);

        // A body without length: chunked to the server, in as many frames as sent.
        let r = fetch(&c, "POST", "/up", &[], Some(&[b"hello ", b"world"]))
            .await
            .expect("a response");
        assert_eq!(r.status, 200);
        assert!(
            r.body.contains("transfer-encoding: chunked\r\n"),
            "{}",
            r.body
        );
        assert!(
            r.body.contains("\r\n\r\nhello world[trailers]"),
            "{}",
            r.body
        );

        // Trailers both ways: after the last chunk to the server, as HEADERS to the client.
        let req = http::Request::builder()
            .method("POST")
            .uri("http://test.local/t")
            .header("x-want-trailers", "1")
            .body(())
            .expect("request");
        let mut send = c.clone().ready().await.expect("ready");
        let (resp, mut stream) = send.send_request(req, false).expect("send");
        stream
            .send_data(Bytes::from_static(b"-data"), false)
            .expect("data");
        let mut t = http::HeaderMap::new();
        t.insert("x-sum", http::HeaderValue::from_static("7"));
        stream.send_trailers(t).expect("trailers");
        let resp = resp.await.expect("response");
        assert_eq!(resp.status(), 200);
        let mut body = resp.into_body();
        let mut got = Vec::new();
        while let Some(chunk) = body.data().await {
            got.extend_from_slice(&chunk.expect("data"));
        }
        assert_eq!(got, b"body-data[trailers]x-sum: 7\r\n\r\n");
        let trailers = body.trailers().await.expect("trailers").expect("some");
        assert_eq!(
            trailers.get("x-checksum").map(|v| v.as_bytes()),
            Some(&b"42"[..])
        );

        // Cookies in several fields reach the server as one.
        let r = fetch(
            &c,
            "GET",
            "/",
            &[("cookie", "a=1"), ("cookie", "b=2")],
            None,
        )
        .await
        .expect("a response");
        assert!(r.body.contains("cookie: a=1; b=2\r\n"), "{}", r.body);
    });
}

#[test]
fn later_streams_reuse_idle_server_connections() {
    let (srv, accepted) = echo_body_server_counted(Duration::ZERO);
    let fe = free_port();
    let cfg = format!(
        "{DEFAULTS}\nfrontend fe\n    bind 127.0.0.1:{fe} proto h2\n    default_backend be\n\n\
         backend be\n    server s1 127.0.0.1:{srv}\n"
    );
    let _s = Sluice::start(&cfg, &[fe]);
    runtime().block_on(async {
        let c = h2_connect(fe).await;
        for _ in 0..3 {
            // With a body: `http-reuse safe` gives an idle connection to later requests only.
            let r = fetch(&c, "POST", "/", &[("content-length", "2")], Some(&[b"ab"]))
                .await
                .expect("a response");
            assert_eq!(r.status, 200);
        }
    });
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "one server connection for three streams"
    );
}

#[test]
fn concurrent_streams_on_one_connection() {
    let delay = Duration::from_millis(400);
    let srv = echo_body_server(delay);
    let fe = free_port();
    let cfg = format!(
        "{DEFAULTS}\nfrontend fe\n    bind 127.0.0.1:{fe} proto h2\n    default_backend be\n\n\
         backend be\n    server s1 127.0.0.1:{srv}\n"
    );
    let _s = Sluice::start(&cfg, &[fe]);
    runtime().block_on(async {
        let c = h2_connect(fe).await;
        let start = Instant::now();
        let (a, b, d) = tokio::join!(get(&c, "/one"), get(&c, "/two"), get(&c, "/three"));
        let took = start.elapsed();
        for (r, path) in [(a, "/one"), (b, "/two"), (d, "/three")] {
            assert_eq!(r.status, 200);
            assert!(
                r.body.starts_with(&format!("GET {path} HTTP/1.1")),
                "{}",
                r.body
            );
        }
        // Side by side, not one after the other.
        assert!(took < delay * 2, "three streams took {took:?}");
    });
}

#[test]
fn rules_and_error_pages_apply() {
    let srv = echo_body_server(Duration::ZERO);
    let (fe, empty) = (free_port(), free_port());
    let cfg = format!(
        "{DEFAULTS}\nfrontend fe\n    bind 127.0.0.1:{fe} proto h2\n    \
         http-request deny if {{ path_beg /denied }}\n    \
         http-request set-header x-added %[req.hdr(x-in)]-seen\n    \
         http-response set-header x-resp done\n    default_backend be\n\n\
         frontend nosrv\n    bind 127.0.0.1:{empty} proto h2\n    default_backend none\n\n\
         backend be\n    server s1 127.0.0.1:{srv}\n\n\
         backend none\n"
    );
    let _s = Sluice::start(&cfg, &[fe, empty]);
    runtime().block_on(async {
        let c = h2_connect(fe).await;
        let r = fetch(&c, "GET", "/ok", &[("x-in", "v")], None)
            .await
            .expect("a response");
        assert_eq!(r.status, 200);
        assert!(r.body.contains("x-added: v-seen\r\n"), "{}", r.body);
        assert_eq!(
            r.headers.get("x-resp").map(|v| v.as_bytes()),
            Some(&b"done"[..])
        );

        let r = get(&c, "/denied").await;
        assert_eq!(r.status, 403);
        assert!(r.body.contains("403 Forbidden"), "{}", r.body);
        // The connection goes on after a denied stream.
        assert_eq!(get(&c, "/ok").await.status, 200);

        let c = h2_connect(empty).await;
        let r = get(&c, "/").await;
        assert_eq!(r.status, 503);
        assert!(r.body.contains("503 Service Unavailable"), "{}", r.body);
    });
}

#[test]
fn malformed_requests_are_reset() {
    let srv = echo_body_server(Duration::ZERO);
    let fe = free_port();
    let cfg = format!(
        "{DEFAULTS}\nfrontend fe\n    bind 127.0.0.1:{fe} proto h2\n    default_backend be\n\n\
         backend be\n    server s1 127.0.0.1:{srv}\n"
    );
    let _s = Sluice::start(&cfg, &[fe]);
    runtime().block_on(async {
        let c = h2_connect(fe).await;
        // `host` naming another authority than `:authority`: ignored, the server gets the
        // authority (as HAProxy does: no desync between the two).
        let r = fetch(&c, "GET", "/", &[("host", "other.example")], None)
            .await
            .expect("a response");
        assert_eq!(r.status, 200);
        assert!(r.body.contains("host: test.local\r\n"), "{}", r.body);
        assert!(!r.body.contains("other.example"), "{}", r.body);
        // A body longer than its content-length.
        let e = fetch(&c, "POST", "/", &[("content-length", "2")], Some(&[b"abc"]))
            .await
            .err()
            .expect("a reset");
        assert!(e.reason().is_some(), "{e}");
        // The connection still serves.
        assert_eq!(get(&c, "/").await.status, 200);
    });
}

#[test]
fn the_preface_switches_a_plain_http_bind_to_http2() {
    let srv = echo_body_server(Duration::ZERO);
    let fe = free_port();
    let cfg = format!(
        "{DEFAULTS}\nfrontend fe\n    bind 127.0.0.1:{fe}\n    default_backend be\n\n\
         backend be\n    server s1 127.0.0.1:{srv}\n"
    );
    let _s = Sluice::start(&cfg, &[fe]);
    runtime().block_on(async {
        let c = h2_connect(fe).await;
        let r = get(&c, "/h2").await;
        assert_eq!(r.status, 200);
        assert!(r.body.starts_with("GET /h2 HTTP/1.1\r\n"), "{}", r.body);
    });
    // HTTP/1.1 clients are served on the same bind as before.
    let mut s = connect(fe);
    let (head, body) = request(&mut s, "/h1", "");
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(body.starts_with("GET /h1 HTTP/1.1"), "{body}");
    // A request line that only starts like the preface is HTTP/1's to answer.
    let mut s = connect(fe);
    s.write_all(b"PRI * HTTP/1.1\r\nhost: x\r\n\r\n")
        .expect("send");
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    assert!(
        got.starts_with(b"HTTP/1.1 4") || got.starts_with(b"HTTP/1.1 5"),
        "{got:?}"
    );
}

#[test]
fn tls_with_alpn_h2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ck = rcgen::generate_simple_self_signed(vec!["a.test".to_string()]).expect("rcgen");
    let pem = format!("{}{}", ck.cert.pem(), ck.signing_key.serialize_pem());
    let crt = dir.path().join("a.pem");
    std::fs::write(&crt, pem).expect("write pem");
    let srv = echo_body_server(Duration::ZERO);
    let fe = free_port();
    let cfg = format!(
        "{DEFAULTS}\nfrontend fe\n    bind 127.0.0.1:{fe} ssl crt {} alpn h2,http/1.1\n    \
         http-request set-header x-alpn %[ssl_fc_alpn]\n    default_backend be\n\n\
         backend be\n    server s1 127.0.0.1:{srv}\n",
        crt.display()
    );
    let _s = Sluice::start(&cfg, &[fe]);
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ck.cert.der().clone()).expect("root");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    runtime().block_on(async {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", fe))
            .await
            .expect("connect");
        let name = rustls::pki_types::ServerName::try_from("a.test").expect("name");
        let tls = connector.connect(name, tcp).await.expect("TLS handshake");
        assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
        let c = handshake(tls).await;
        let (a, b) = tokio::join!(get(&c, "/x"), get(&c, "/y"));
        for r in [a, b] {
            assert_eq!(r.status, 200);
            assert!(r.body.contains("x-alpn: h2\r\n"), "{}", r.body);
        }
    });
}

#[test]
fn proto_accepts_h1_and_h2_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let check = |proto: &str| {
        let cfg = format!(
            "{DEFAULTS}\nfrontend fe\n    bind 127.0.0.1:{} proto {proto}\n    \
             default_backend be\n\nbackend be\n    server s1 127.0.0.1:9\n",
            free_port()
        );
        let path = dir.path().join("h.cfg");
        std::fs::write(&path, cfg).expect("write");
        std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["-c", "-f"])
            .arg(&path)
            .output()
            .expect("run sluice -c")
    };
    for ok in ["h1", "h2"] {
        let out = check(ok);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
    }
    let out = check("h3");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("MUX protocol 'h3'"), "{err}");
}

#[test]
fn idle_connections_close_and_a_soft_stop_ends_them() {
    let srv = echo_body_server(Duration::ZERO);
    let fe = free_port();
    let cfg = format!(
        "{DEFAULTS}    timeout http-keep-alive 500ms\n\nfrontend fe\n    \
         bind 127.0.0.1:{fe} proto h2\n    default_backend be\n\n\
         backend be\n    server s1 127.0.0.1:{srv}\n"
    );
    let s = Sluice::start(&cfg, &[fe]);
    runtime().block_on(async {
        // Idle past `timeout http-keep-alive`: GOAWAY, then the connection closes.
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", fe))
            .await
            .expect("connect");
        let (c, conn) = h2::client::handshake(tcp).await.expect("h2 handshake");
        let conn = tokio::spawn(conn);
        assert_eq!(get(&c, "/").await.status, 200);
        let ended = tokio::time::timeout(Duration::from_secs(3), conn).await;
        assert!(ended.is_ok(), "the idle connection is still open");

        // A soft stop (SIGUSR1) with a connection open: GOAWAY, and the process ends.
        let c = h2_connect(fe).await;
        assert_eq!(get(&c, "/").await.status, 200);
        let killed = std::process::Command::new("kill")
            .args(["-USR1", &s.pid().to_string()])
            .status()
            .expect("kill");
        assert!(killed.success());
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(("127.0.0.1", fe)).is_ok()
        || std::path::Path::new(&format!("/proc/{}/stat", s.pid())).exists()
            && std::fs::read_to_string(format!("/proc/{}/stat", s.pid()))
                .is_ok_and(|st| !st.contains(") Z "))
    {
        assert!(
            Instant::now() < deadline,
            "sluice still runs after a soft stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
