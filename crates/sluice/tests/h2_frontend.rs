//! End-to-end: the HTTP/2 client side's corner cases, as HAProxy behaves: the absolute URI
//! an HTTP/2 request is seen with (scheme-based normalisation, `HTTP/2.0` in logs and
//! fetches, the origin form for servers), invalid requests answered 400 or reset without
//! losing the connection, interim responses from HTTP/2 servers, and an upgrade an HTTP/2
//! server cannot take (its stream reset unsent).
//!
//! Malformed requests are written frame by frame (the `h2` crate would refuse to send
//! them): HPACK literals without indexing, and only the status of answers decoded.

use bytes::Bytes;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::sync::mpsc;
use std::time::Duration;

mod common;
use common::free_port;
use common::http::{connect, find, read_response, Sluice};

const DEFAULTS: &str = "global\n    chroot /\n\ndefaults\n    mode http\n    retries 0\n    \
                        timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n";

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

const DATA: u8 = 0;
const HEADERS: u8 = 1;
const RST_STREAM: u8 = 3;
const SETTINGS: u8 = 4;
const GOAWAY: u8 = 7;
const WINDOW_UPDATE: u8 = 8;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;

/// One HTTP/2 frame: type, flags, stream, payload.
#[derive(Debug)]
struct Frame {
    kind: u8,
    flags: u8,
    stream: u32,
    payload: Vec<u8>,
}

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).expect("small frame");
    let mut out = len.to_be_bytes()[1..].to_vec();
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

fn read_frame(s: &mut TcpStream) -> Option<Frame> {
    let mut head = [0u8; 9];
    s.read_exact(&mut head).ok()?;
    let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
    let mut payload = vec![0u8; len];
    s.read_exact(&mut payload).ok()?;
    Some(Frame {
        kind: head[3],
        flags: head[4],
        stream: u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff,
        payload,
    })
}

/// An HPACK integer with an `n`-bit prefix (RFC 7541 §5.1), the first byte's high bits
/// `first`.
fn hpack_int(out: &mut Vec<u8>, first: u8, n: u32, mut v: usize) {
    let max = (1usize << n) - 1;
    if v < max {
        out.push(first | v as u8);
        return;
    }
    out.push(first | max as u8);
    v -= max;
    while v >= 128 {
        out.push((v % 128) as u8 | 0x80);
        v /= 128;
    }
    out.push(v as u8);
}

/// A header block of literals without indexing, names and values as given (any bytes).
fn block(fields: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in fields {
        out.push(0);
        hpack_int(&mut out, 0, 7, name.len());
        out.extend_from_slice(name.as_bytes());
        hpack_int(&mut out, 0, 7, value.len());
        out.extend_from_slice(value);
    }
    out
}

/// A raw HTTP/2 client connection past the preface and SETTINGS exchange.
fn raw_client(port: u16) -> TcpStream {
    let mut s = connect(port);
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s.write_all(PREFACE).expect("preface");
    s.write_all(&frame(SETTINGS, 0, 0, &[])).expect("settings");
    loop {
        let f = read_frame(&mut s).expect("the server's SETTINGS");
        if f.kind == SETTINGS && f.flags & 1 == 0 {
            s.write_all(&frame(SETTINGS, 1, 0, &[])).expect("ack");
            return s;
        }
    }
}

/// The next frame on `stream` (others, WINDOW_UPDATE and SETTINGS, are skipped); a GOAWAY
/// fails the test: the connection must survive.
fn next_on(s: &mut TcpStream, stream: u32) -> Frame {
    loop {
        let f = read_frame(s).expect("a frame");
        assert_ne!(f.kind, GOAWAY, "the connection was closed: {f:?}");
        if f.stream == stream && f.kind != WINDOW_UPDATE {
            return f;
        }
    }
}

/// The status of a response HEADERS frame, when Sluice's encoder sent it as an indexed
/// field of the static table (200, 204, 206, 304, 400, 404, 500).
fn status(f: &Frame) -> Option<u16> {
    assert_eq!(f.kind, HEADERS, "{f:?}");
    match f.payload.first()? {
        0x88 => Some(200),
        0x89 => Some(204),
        0x8a => Some(206),
        0x8b => Some(304),
        0x8c => Some(400),
        0x8d => Some(404),
        0x8e => Some(500),
        _ => None,
    }
}

fn get_fields<'a>(scheme: &'a str, path: &'a str) -> Vec<(&'static str, &'a [u8])> {
    vec![
        (":method", b"GET"),
        (":scheme", scheme.as_bytes()),
        (":path", path.as_bytes()),
    ]
}

/// A frontend answering 200 itself, with a log line per request on a syslog socket.
fn answering_frontend(extra: &str) -> (Sluice, u16, UdpSocket) {
    let syslog = UdpSocket::bind("127.0.0.1:0").expect("bind syslog");
    syslog
        .set_read_timeout(Some(Duration::from_secs(3)))
        .expect("timeout");
    let log_port = syslog.local_addr().expect("address").port();
    let fe = free_port();
    let cfg = format!(
        "{DEFAULTS}\nfrontend fe\n    bind 127.0.0.1:{fe} proto h2\n    \
         log 127.0.0.1:{log_port} local0\n{extra}    http-request return status 200 \
         hdr x-url \"%[url]\" hdr x-ver \"%[req.ver]\" hdr x-host \"%[req.hdr(host)]\"\n"
    );
    (Sluice::start(&cfg, &[fe]), fe, syslog)
}

fn log_line(syslog: &UdpSocket) -> String {
    let mut buf = [0u8; 2048];
    let n = syslog.recv(&mut buf).expect("a log line");
    String::from_utf8_lossy(&buf[..n]).trim_end().to_string()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// GETs `uri` over a new HTTP/2 connection; returns the answer's fields.
fn h2_get(port: u16, uri: &str) -> http::HeaderMap {
    runtime().block_on(async {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        let (send, conn) = h2::client::handshake(tcp).await.expect("handshake");
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut send = send.ready().await.expect("ready");
        let req = http::Request::get(uri).body(()).expect("request");
        let (resp, _) = send.send_request(req, true).expect("sent");
        let resp = resp.await.expect("a response");
        assert_eq!(resp.status(), 200);
        resp.headers().clone()
    })
}

fn field<'h>(h: &'h http::HeaderMap, name: &str) -> &'h str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

#[test]
fn an_http2_request_is_seen_with_its_absolute_uri_normalised() {
    let (_s, fe, syslog) = answering_frontend(
        "    http-request capture req.hdr(host) len 512\n    \
         log-format \"uri: %r; host: %hr; ver: %HV\"\n",
    );
    // A default port goes from the URI and from Host; any other stays.
    for (uri, seen, host) in [
        (
            "http://hostname:80/a?b=c",
            "http://hostname/a?b=c",
            "hostname",
        ),
        (
            "http://hostname:8080/",
            "http://hostname:8080/",
            "hostname:8080",
        ),
        ("https://hostname:443/", "https://hostname/", "hostname"),
        (
            "https://hostname:80/",
            "https://hostname:80/",
            "hostname:80",
        ),
    ] {
        let h = h2_get(fe, uri);
        assert_eq!(field(&h, "x-url"), seen, "{uri}");
        assert_eq!(field(&h, "x-host"), host, "{uri}");
        assert_eq!(field(&h, "x-ver"), "2.0", "{uri}");
        let line = log_line(&syslog);
        assert!(
            line.ends_with(&format!(
                "uri: GET {seen} HTTP/2.0; host: {{{host}}}; ver: HTTP/2.0"
            )),
            "{line}"
        );
    }
}

/// An HTTP/1.1 server answering 200 with the request head as its body.
fn head_echo_server() -> u16 {
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
                        let head: Vec<u8> = buf.drain(..end + 4).collect();
                        let resp =
                            format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", head.len());
                        if s.write_all(resp.as_bytes()).is_err() || s.write_all(&head).is_err() {
                            return;
                        }
                        continue;
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

#[test]
fn http1_servers_get_the_origin_form() {
    let srv = head_echo_server();
    let fe = free_port();
    let cfg = format!(
        "{DEFAULTS}\nfrontend fe\n    bind 127.0.0.1:{fe} proto h2\n    \
         http-request set-header x-seen \"%[url]\"\n    default_backend be\n\n\
         backend be\n    server s1 127.0.0.1:{srv}\n"
    );
    let _s = Sluice::start(&cfg, &[fe]);
    let body = runtime().block_on(async {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", fe))
            .await
            .expect("connect");
        let (send, conn) = h2::client::handshake(tcp).await.expect("handshake");
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut send = send.ready().await.expect("ready");
        let req = http::Request::get("http://hostname:80/p?q=1")
            .body(())
            .expect("request");
        let (resp, _) = send.send_request(req, true).expect("sent");
        let resp = resp.await.expect("a response");
        let mut recv = resp.into_body();
        let mut out = Vec::new();
        while let Some(d) = recv.data().await {
            out.extend_from_slice(&d.expect("data"));
        }
        String::from_utf8_lossy(&out).into_owned()
    });
    assert!(body.starts_with("GET /p?q=1 HTTP/1.1\r\n"), "{body}");
    assert!(body.contains("host: hostname\r\n"), "{body}");
    // Rules saw the absolute URI, normalised.
    assert!(body.contains("x-seen: http://hostname/p?q=1\r\n"), "{body}");
}

#[test]
fn an_invalid_method_or_scheme_is_answered_400_on_its_stream() {
    let (_s, fe, syslog) = answering_frontend("    log-format \"status=%ST req=%r\"\n");
    let mut c = raw_client(fe);
    let mut bad_method = get_fields("http", "/");
    bad_method[0].1 = b"GET?";
    let bad_scheme = get_fields("http://localhost/?", "/");
    for (id, fields) in [(1, bad_method), (3, bad_scheme)] {
        c.write_all(&frame(
            HEADERS,
            END_STREAM | END_HEADERS,
            id,
            &block(&fields),
        ))
        .expect("request");
        let f = next_on(&mut c, id);
        assert_eq!(status(&f), Some(400), "stream {id}: {f:?}");
        // The bad request is logged as HAProxy logs one.
        let line = log_line(&syslog);
        assert!(line.ends_with("status=400 req=<BADREQ>"), "{line}");
    }
    // The connection goes on.
    c.write_all(&frame(
        HEADERS,
        END_STREAM | END_HEADERS,
        5,
        &block(&get_fields("http", "/")),
    ))
    .expect("request");
    assert_eq!(status(&next_on(&mut c, 5)), Some(200));
}

#[test]
fn a_malformed_request_or_trailer_resets_only_its_stream() {
    // The body is read before the answer: the trailers are seen.
    let (_s, fe, _syslog) = answering_frontend("    http-request wait-for-body time 1s\n");
    let mut c = raw_client(fe);
    let protocol_error = 1u32.to_be_bytes().to_vec();
    // A path that is not absolute.
    c.write_all(&frame(
        HEADERS,
        END_STREAM | END_HEADERS,
        1,
        &block(&get_fields("http", "hello-world")),
    ))
    .expect("request");
    let f = next_on(&mut c, 1);
    assert_eq!((f.kind, &f.payload), (RST_STREAM, &protocol_error));
    // An upper-case field name, and CR in a value.
    let mut upper = get_fields("http", "/");
    upper.push(("X-Up", b"v"));
    let mut cr = get_fields("http", "/");
    cr.push(("x-cr", b"a\rb"));
    for (id, fields) in [(3, upper), (5, cr)] {
        c.write_all(&frame(
            HEADERS,
            END_STREAM | END_HEADERS,
            id,
            &block(&fields),
        ))
        .expect("request");
        let f = next_on(&mut c, id);
        assert_eq!((f.kind, &f.payload), (RST_STREAM, &protocol_error), "{id}");
    }
    // An upper-case trailer name.
    let post: Vec<(&str, &[u8])> =
        vec![(":method", b"POST"), (":scheme", b"http"), (":path", b"/")];
    c.write_all(&frame(HEADERS, END_HEADERS, 7, &block(&post)))
        .expect("request");
    c.write_all(&frame(DATA, 0, 7, b"body")).expect("data");
    c.write_all(&frame(
        HEADERS,
        END_STREAM | END_HEADERS,
        7,
        &block(&[("X-Tlr", b"value")]),
    ))
    .expect("trailers");
    let f = loop {
        let f = next_on(&mut c, 7);
        if f.kind != HEADERS && f.kind != DATA {
            break f;
        }
    };
    assert_eq!((f.kind, &f.payload), (RST_STREAM, &protocol_error));
    // The HPACK state and the connection are intact.
    c.write_all(&frame(
        HEADERS,
        END_STREAM | END_HEADERS,
        9,
        &block(&get_fields("http", "/")),
    ))
    .expect("request");
    assert_eq!(status(&next_on(&mut c, 9)), Some(200));
}

/// An HTTP/2 server (the `h2` crate) answering every request with two 103 Early Hints, then
/// 200 with a body.
fn early_hints_server() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("address").port();
    l.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        runtime().block_on(async move {
            let l = tokio::net::TcpListener::from_std(l).expect("listener");
            while let Ok((tcp, _)) = l.accept().await {
                tokio::spawn(async move {
                    let Ok(mut conn) = h2::server::handshake(tcp).await else {
                        return;
                    };
                    while let Some(Ok((_req, mut respond))) = conn.accept().await {
                        for link in ["</a.css>; rel=preload", "</b.js>; rel=preload"] {
                            let hint = http::Response::builder()
                                .status(103)
                                .header("link", link)
                                .body(())
                                .expect("103");
                            let _ = respond.send_informational(hint);
                        }
                        let resp = http::Response::builder()
                            .status(200)
                            .header("content-length", "4")
                            .body(())
                            .expect("200");
                        if let Ok(mut send) = respond.send_response(resp, false) {
                            let _ = send.send_data(Bytes::from_static(b"done"), true);
                        }
                    }
                });
            }
        })
    });
    port
}

#[test]
fn early_hints_from_an_http2_server_reach_an_http1_client() {
    let srv = early_hints_server();
    let fe = free_port();
    let cfg = format!(
        "{DEFAULTS}\nfrontend fe\n    bind 127.0.0.1:{fe}\n    default_backend be\n\n\
         backend be\n    server s1 127.0.0.1:{srv} proto h2\n"
    );
    let _s = Sluice::start(&cfg, &[fe]);
    let mut c = connect(fe);
    c.write_all(b"GET / HTTP/1.1\r\nhost: a\r\n\r\n")
        .expect("request");
    // The three heads and the body, however they are split into reads.
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    while !got.ends_with(b"done") {
        let n = c.read(&mut chunk).expect("read");
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&got).to_lowercase();
    let heads: Vec<&str> = text.split("\r\n\r\n").collect();
    assert_eq!(heads.len(), 4, "{text}");
    for (head, link) in heads
        .iter()
        .zip(["</a.css>; rel=preload", "</b.js>; rel=preload"])
    {
        assert!(head.starts_with("http/1.1 103"), "{head}");
        assert!(head.contains(&format!("link: {link}")), "{head}");
    }
    assert!(heads[2].starts_with("http/1.1 200"), "{}", heads[2]);
    assert!(!heads[2].contains("link"), "{}", heads[2]);
    assert_eq!(heads[3], "done");
}

/// A raw HTTP/2 server without extended CONNECT: reports the first frame a client sends
/// on a stream.
fn plain_h2_server() -> (u16, mpsc::Receiver<Frame>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("address").port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let mut preface = [0u8; 24];
            if s.read_exact(&mut preface).is_err()
                || s.write_all(&frame(SETTINGS, 0, 0, &[])).is_err()
            {
                continue;
            }
            while let Some(f) = read_frame(&mut s) {
                if f.kind == SETTINGS && f.flags & 1 == 0 {
                    let _ = s.write_all(&frame(SETTINGS, 1, 0, &[]));
                }
                if f.stream != 0 {
                    let _ = tx.send(f);
                    break;
                }
            }
        }
    });
    (port, rx)
}

#[test]
fn an_upgrade_an_http2_server_cannot_take_resets_its_stream_unsent() {
    let (srv, frames) = plain_h2_server();
    let fe = free_port();
    let cfg = format!(
        "{DEFAULTS}\nfrontend fe\n    bind 127.0.0.1:{fe}\n    default_backend be\n\n\
         backend be\n    server s1 127.0.0.1:{srv} proto h2\n"
    );
    let _s = Sluice::start(&cfg, &[fe]);
    let mut c = connect(fe);
    c.write_all(
        b"GET / HTTP/1.1\r\nhost: a\r\nconnection: upgrade\r\nupgrade: custom_protocol\r\n\r\n",
    )
    .expect("request");
    let (head, _) = read_response(&mut c);
    assert!(head.starts_with("http/1.1 502"), "{head}");
    // The server saw the stream reset (INTERNAL_ERROR), never its HEADERS.
    let f = frames
        .recv_timeout(Duration::from_secs(5))
        .expect("a frame on a stream");
    assert_eq!(
        (f.kind, f.stream, f.payload),
        (RST_STREAM, 1, 2u32.to_be_bytes().to_vec())
    );
}

#[test]
fn protocol_glitches_are_counted_per_connection_and_in_stick_tables() {
    let fe = free_port();
    let cfg = format!(
        "{DEFAULTS}\nfrontend fe\n    bind 127.0.0.1:{fe} proto h2\n    \
         tcp-request session track-sc0 src\n    \
         stick-table type ip size 10 store glitch_cnt,glitch_rate(1m)\n    \
         http-request return status 200 content-type text/plain \
         lf-string \"gl=%[fc_glitches] cnt=%[sc0_glitch_cnt] rate=%[sc0_glitch_rate]\"\n"
    );
    let _s = Sluice::start(&cfg, &[fe]);
    // A valid request on stream `id`: the answer's body.
    let get = |c: &mut TcpStream, id: u32| -> String {
        c.write_all(&frame(
            HEADERS,
            END_STREAM | END_HEADERS,
            id,
            &block(&get_fields("http", "/")),
        ))
        .expect("request");
        assert_eq!(status(&next_on(c, id)), Some(200));
        let data = next_on(c, id);
        assert_eq!(data.kind, DATA, "{data:?}");
        String::from_utf8_lossy(&data.payload).into_owned()
    };
    // A valid request: no glitch.
    let mut c = raw_client(fe);
    assert_eq!(get(&mut c, 1), "gl=0 cnt=0 rate=0");
    // Two malformed requests (a relative path, an upper-case name): two glitches, counted
    // for the connection and for the tracked entry.
    let mut upper = get_fields("http", "/");
    upper.push(("X-Up", b"v"));
    for (id, fields) in [(3, get_fields("http", "hello-world")), (5, upper)] {
        c.write_all(&frame(
            HEADERS,
            END_STREAM | END_HEADERS,
            id,
            &block(&fields),
        ))
        .expect("request");
        assert_eq!(next_on(&mut c, id).kind, RST_STREAM);
    }
    assert_eq!(get(&mut c, 7), "gl=2 cnt=2 rate=2");
    // A 400 for an invalid scheme is no glitch; a new connection starts from zero while
    // the entry keeps its count.
    let mut c = raw_client(fe);
    c.write_all(&frame(
        HEADERS,
        END_STREAM | END_HEADERS,
        1,
        &block(&get_fields("http://localhost/?", "/")),
    ))
    .expect("request");
    assert_eq!(status(&next_on(&mut c, 1)), Some(400));
    assert_eq!(get(&mut c, 3), "gl=0 cnt=2 rate=2");
}

/// A server that reports the first request line of each connection it accepts.
fn request_line_server() -> (u16, mpsc::Receiver<String>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("address").port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while find(&buf, b"\r\n").is_none() {
                match s.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let line = buf.split(|&b| b == b'\r').next().unwrap_or_default();
            let _ = tx.send(String::from_utf8_lossy(line).into_owned());
        }
    });
    (port, rx)
}

#[test]
fn a_complete_request_still_reaches_the_server_when_the_client_closes_at_once() {
    // HAProxy's h2_desync_attacks.vtc: HEADERS with END_STREAM, then the client closes the
    // connection. The request was complete: it goes to the server (abortonclose, on by
    // default, abandons requests whose client resets the stream, not these).
    let (srv, lines) = request_line_server();
    let fe = free_port();
    let cfg = format!(
        "{DEFAULTS}\nfrontend fe\n    bind 127.0.0.1:{fe} proto h2\n    default_backend be\n\n\
         backend be\n    server s1 127.0.0.1:{srv}\n"
    );
    let _s = Sluice::start(&cfg, &[fe]);
    let mut c = raw_client(fe);
    let mut fields = get_fields("http", "/sent-then-closed");
    fields.push((":authority", b"hostname"));
    c.write_all(&frame(HEADERS, 0x5, 1, &block(&fields)))
        .expect("request");
    // The end of the client's stream right behind the request (a FIN: a full close with
    // frames of Sluice's still unread would be a reset, which may discard the request
    // before it is read, for HAProxy as for Sluice).
    c.shutdown(std::net::Shutdown::Write).expect("close");
    let line = lines
        .recv_timeout(Duration::from_secs(5))
        .expect("the server got a connection");
    assert_eq!(line, "GET /sent-then-closed HTTP/1.1");
    drop(c);
}

#[test]
fn log_lines_read_the_http_version_of_the_client_connection() {
    let (_s, fe, syslog) =
        answering_frontend("    log-format \"major=%[fc_http_major] ver=%HV\"\n");
    h2_get(fe, "http://hostname/");
    let line = log_line(&syslog);
    assert!(line.ends_with("major=2 ver=HTTP/2.0"), "{line}");
}
