//! End-to-end: HTTP compression (`compression algo/type/offload/minsize-res`, `filter
//! compression`, `res.comp`): a real server on 127.0.0.1 behind the real binary, clients
//! with and without `Accept-Encoding`, HTTP/1.1 and HTTP/2; what the client decodes is what
//! the server sent.

use bytes::Bytes;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

mod common;
use common::free_port;
use common::http::{connect, find, Sluice};

const DEFAULTS: &str = "global\n    chroot /\n\ndefaults\n    mode http\n    retries 0\n    \
                        timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n";

/// The large page the server sends: text that compresses well but is not one repeated line.
fn big_page() -> Vec<u8> {
    let mut page = b"<html><body>\n".to_vec();
    for i in 0..6000 {
        page.extend_from_slice(
            format!(
                "<p id=\"{i}\">line {i} of the page, {}</p>\n",
                i * 7919 % 1000
            )
            .as_bytes(),
        );
    }
    page.extend_from_slice(b"</body></html>\n");
    page
}

/// A keep-alive HTTP/1.1 server whose answer depends on the path (see the match below).
/// Each response says in `x-seen-ae` the `Accept-Encoding` it was sent ("none" without).
fn content_server() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(s) = s else { continue };
            std::thread::spawn(move || serve(s));
        }
    });
    port
}

fn serve(mut s: TcpStream) {
    let big = big_page();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let Some(end) = find(&buf, b"\r\n\r\n") else {
            match s.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_string();
        buf.drain(..end + 4);
        let mut words = head.split_whitespace();
        let method = words.next().unwrap_or("").to_string();
        let path = words.next().unwrap_or("").to_string();
        let seen = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .filter(|(n, _)| n.eq_ignore_ascii_case("accept-encoding"))
            .map(|(_, v)| v.trim().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let seen = if seen.is_empty() { "none".into() } else { seen };
        if method == "POST" {
            // `/echo`: the request body as received (chunk framing removed), and its coding.
            let Some(body) = read_body(&mut s, &mut buf, &head) else {
                return;
            };
            let coding = head
                .lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(n, _)| n.eq_ignore_ascii_case("content-encoding"))
                .map_or("none".to_string(), |(_, v)| v.trim().to_string());
            let out = format!(
                "HTTP/1.1 200 OK\r\nx-seen-ce: {coding}\r\ncontent-type: application/octet-stream\r\n\
                 content-length: {}\r\n\r\n",
                body.len()
            );
            if s.write_all(out.as_bytes()).is_err() || s.write_all(&body).is_err() {
                return;
            }
            continue;
        }
        let (status, headers, body): (&str, Vec<&str>, Vec<u8>) = match path.as_str() {
            "/big" => (
                "200 OK",
                vec!["content-type: text/html", "etag: \"abc\""],
                big.clone(),
            ),
            "/small" => ("200 OK", vec!["content-type: text/plain"], vec![b'x'; 100]),
            "/image" => ("200 OK", vec!["content-type: image/png"], big.clone()),
            "/missing" => (
                "404 Not Found",
                vec!["content-type: text/html"],
                big.clone(),
            ),
            "/encoded" => (
                "200 OK",
                vec!["content-type: text/html", "content-encoding: br"],
                b"BROTLI?".to_vec(),
            ),
            "/no-transform" => (
                "200 OK",
                vec!["content-type: text/html", "cache-control: no-transform"],
                big.clone(),
            ),
            _ => ("200 OK", vec!["content-type: text/html"], big.clone()),
        };
        let mut out = format!("HTTP/1.1 {status}\r\nx-seen-ae: {seen}\r\n");
        for h in &headers {
            out.push_str(h);
            out.push_str("\r\n");
        }
        let chunked = path == "/chunked";
        if chunked {
            out.push_str("transfer-encoding: chunked\r\n\r\n");
        } else {
            out.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
        }
        let mut bytes = out.into_bytes();
        if method != "HEAD" {
            if chunked {
                // Chunks of uneven sizes, some sent apart.
                for part in body.chunks(3001) {
                    bytes.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
                    bytes.extend_from_slice(part);
                    bytes.extend_from_slice(b"\r\n");
                    if s.write_all(&bytes).is_err() {
                        return;
                    }
                    bytes.clear();
                }
                bytes.extend_from_slice(b"0\r\n\r\n");
            } else {
                bytes.extend_from_slice(&body);
            }
        }
        if s.write_all(&bytes).is_err() {
            return;
        }
    }
}

/// The body of the request whose head is `head`: its content-length, or its chunks decoded.
fn read_body(s: &mut TcpStream, buf: &mut Vec<u8>, head: &str) -> Option<Vec<u8>> {
    let mut chunk = [0u8; 16384];
    let mut more = |s: &mut TcpStream, buf: &mut Vec<u8>| match s.read(&mut chunk) {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            true
        }
    };
    let lower = head.to_lowercase();
    let mut body = Vec::new();
    if lower.contains("transfer-encoding: chunked") {
        loop {
            let line_end = loop {
                if let Some(e) = find(buf, b"\r\n") {
                    break e;
                }
                if !more(s, buf) {
                    return None;
                }
            };
            let size = String::from_utf8_lossy(&buf[..line_end]).to_string();
            let size = usize::from_str_radix(size.trim(), 16).ok()?;
            buf.drain(..line_end + 2);
            while buf.len() < size + 2 {
                if !more(s, buf) {
                    return None;
                }
            }
            if size == 0 {
                buf.drain(..2);
                return Some(body);
            }
            body.extend_from_slice(&buf[..size]);
            buf.drain(..size + 2);
        }
    }
    let len: usize = lower
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < len {
        if !more(s, buf) {
            return None;
        }
    }
    body.extend(buf.drain(..len));
    Some(body)
}

/// One response read from `s`: its head (lowercase) and its body with any chunk framing
/// removed (not decompressed). `head_only`: the answer to a HEAD request.
fn read_response(s: &mut TcpStream, head_only: bool) -> (String, Vec<u8>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    let mut more = |s: &mut TcpStream, buf: &mut Vec<u8>| {
        let n = s.read(&mut chunk).expect("read a response");
        assert!(n > 0, "connection closed in a response: {buf:?}");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head_end = loop {
        if let Some(e) = find(&buf, b"\r\n\r\n") {
            break e + 4;
        }
        more(s, &mut buf);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
    buf.drain(..head_end);
    if head_only {
        return (head, Vec::new());
    }
    let mut body = Vec::new();
    if header(&head, "transfer-encoding").as_deref() == Some("chunked") {
        loop {
            let line_end = loop {
                if let Some(e) = find(&buf, b"\r\n") {
                    break e;
                }
                more(s, &mut buf);
            };
            let size = String::from_utf8_lossy(&buf[..line_end]).to_string();
            let size = usize::from_str_radix(size.trim(), 16).expect("a chunk size");
            buf.drain(..line_end + 2);
            while buf.len() < size + 2 {
                more(s, &mut buf);
            }
            if size == 0 {
                assert_eq!(&buf[..2], b"\r\n", "no trailers expected");
                buf.drain(..2);
                break;
            }
            body.extend_from_slice(&buf[..size]);
            buf.drain(..size + 2);
        }
    } else {
        let len: usize = header(&head, "content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        while buf.len() < len {
            more(s, &mut buf);
        }
        body.extend_from_slice(&buf[..len]);
        buf.drain(..len);
    }
    assert!(buf.is_empty(), "bytes after the response: {buf:?}");
    (head, body)
}

fn header(head: &str, name: &str) -> Option<String> {
    head.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .map(|v| v.trim().to_string())
}

fn get(s: &mut TcpStream, method: &str, path: &str, headers: &str) -> (String, Vec<u8>) {
    let req = format!("{method} {path} HTTP/1.1\r\nhost: test\r\n{headers}\r\n");
    s.write_all(req.as_bytes()).expect("send a request");
    read_response(s, method == "HEAD")
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("a valid gzip stream");
    out
}

fn start(frontend: &str, backend: &str) -> (Sluice, u16) {
    let srv = content_server();
    let fe = free_port();
    let cfg = format!(
        "{DEFAULTS}\nfrontend fe\n    bind 127.0.0.1:{fe}\n{frontend}    default_backend be\n\n\
         backend be\n{backend}    server s1 127.0.0.1:{srv}\n"
    );
    (Sluice::start(&cfg, &[fe]), fe)
}

#[test]
fn gzip_bodies_decode_to_what_the_server_sent_and_the_connection_goes_on() {
    let (_s, fe) = start(
        "",
        "    compression algo gzip\n    compression type text/html text/plain\n",
    );
    let page = big_page();
    let mut c = connect(fe);

    // A large body with a length: compressed, in chunks, with the headers a cache needs.
    let (head, body) = get(&mut c, "GET", "/big", "accept-encoding: gzip, deflate\r\n");
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert_eq!(header(&head, "content-encoding").as_deref(), Some("gzip"));
    assert_eq!(
        header(&head, "transfer-encoding").as_deref(),
        Some("chunked")
    );
    assert_eq!(header(&head, "content-length"), None);
    assert_eq!(header(&head, "vary").as_deref(), Some("accept-encoding"));
    assert_eq!(header(&head, "etag").as_deref(), Some("w/\"abc\""));
    assert!(body.len() < page.len() / 4, "{} bytes", body.len());
    assert_eq!(gunzip(&body), page);

    // Next request on the same connection: a chunked body, q-values.
    let (head, body) = get(
        &mut c,
        "GET",
        "/chunked",
        "accept-encoding: deflate;q=0.5, gzip;q=0.9, *;q=0\r\n",
    );
    assert_eq!(header(&head, "content-encoding").as_deref(), Some("gzip"));
    assert_eq!(gunzip(&body), page);

    // A small body is compressed too (no minimum by default).
    let (head, body) = get(&mut c, "GET", "/small", "accept-encoding: gzip\r\n");
    assert_eq!(header(&head, "content-encoding").as_deref(), Some("gzip"));
    assert_eq!(gunzip(&body), vec![b'x'; 100]);

    // Without Accept-Encoding the body is the server's, with its length.
    let (head, body) = get(&mut c, "GET", "/big", "");
    assert_eq!(header(&head, "content-encoding"), None);
    assert_eq!(header(&head, "vary"), None);
    assert_eq!(header(&head, "etag").as_deref(), Some("\"abc\""));
    assert_eq!(
        header(&head, "content-length"),
        Some(page.len().to_string())
    );
    assert_eq!(body, page);
}

#[test]
fn excluded_responses_pass_as_they_are() {
    let (_s, fe) = start(
        "",
        "    compression algo gzip\n    compression type text/html\n",
    );
    let page = big_page();
    let mut c = connect(fe);
    let ae = "accept-encoding: gzip\r\n";
    for path in ["/image", "/missing", "/no-transform"] {
        let (head, body) = get(&mut c, "GET", path, ae);
        assert_eq!(header(&head, "content-encoding"), None, "{path}: {head}");
        assert_eq!(
            header(&head, "content-length"),
            Some(page.len().to_string())
        );
        assert_eq!(body, page, "{path}");
    }
    // Already encoded by the server: left alone.
    let (head, body) = get(&mut c, "GET", "/encoded", ae);
    assert_eq!(header(&head, "content-encoding").as_deref(), Some("br"));
    assert_eq!(body, b"BROTLI?");
    // HEAD: the head says what a GET would get, uncompressed.
    let (head, _) = get(&mut c, "HEAD", "/big", ae);
    assert_eq!(header(&head, "content-encoding"), None, "{head}");
    assert_eq!(
        header(&head, "content-length"),
        Some(page.len().to_string())
    );
    // Not text/html: `/small` is text/plain, not in the list.
    let (head, _) = get(&mut c, "GET", "/small", ae);
    assert_eq!(header(&head, "content-encoding"), None, "{head}");
    // An old browser saying Mozilla/4 gets no compression.
    let (head, _) = get(
        &mut c,
        "GET",
        "/big",
        "accept-encoding: gzip\r\nuser-agent: Mozilla/4\r\n",
    );
    assert_eq!(header(&head, "content-encoding"), None, "{head}");
    // An HTTP/1.0 client neither.
    c.write_all(b"GET /big HTTP/1.0\r\naccept-encoding: gzip\r\n\r\n")
        .expect("send");
    let (head, body) = read_response(&mut c, false);
    assert_eq!(header(&head, "content-encoding"), None, "{head}");
    assert_eq!(body, page);
}

#[test]
fn offload_and_raw_deflate_in_the_frontend() {
    let (_s, fe) = start(
        "    filter compression\n    compression algo raw-deflate\n    compression offload\n",
        "",
    );
    let page = big_page();
    let mut c = connect(fe);
    let (head, body) = get(&mut c, "GET", "/big", "accept-encoding: deflate\r\n");
    assert_eq!(
        header(&head, "content-encoding").as_deref(),
        Some("deflate")
    );
    // `offload`: the server was not told what the client accepts.
    assert_eq!(header(&head, "x-seen-ae").as_deref(), Some("none"));
    let mut plain = Vec::new();
    flate2::read::DeflateDecoder::new(&body[..])
        .read_to_end(&mut plain)
        .expect("raw deflate");
    assert_eq!(plain, page);
    // No coding in common: the header goes to the server as it was.
    let (head, body) = get(&mut c, "GET", "/big", "accept-encoding: br\r\n");
    assert_eq!(header(&head, "content-encoding"), None);
    assert_eq!(header(&head, "x-seen-ae").as_deref(), Some("br"));
    assert_eq!(body, page);
}

#[test]
fn res_comp_fetches_and_minsize() {
    let (_s, fe) = start(
        "",
        "    compression algo deflate gzip\n    compression minsize-res 1k\n    \
         http-response set-header x-comp %[res.comp]\n    \
         http-response set-header x-algo %[res.comp_algo]\n",
    );
    let page = big_page();
    let mut c = connect(fe);
    let (head, body) = get(
        &mut c,
        "GET",
        "/big",
        "accept-encoding: gzip;q=0.8, deflate\r\n",
    );
    assert_eq!(
        header(&head, "content-encoding").as_deref(),
        Some("deflate")
    );
    assert_eq!(header(&head, "x-comp").as_deref(), Some("1"));
    assert_eq!(header(&head, "x-algo").as_deref(), Some("deflate"));
    let mut plain = Vec::new();
    flate2::read::ZlibDecoder::new(&body[..])
        .read_to_end(&mut plain)
        .expect("zlib");
    assert_eq!(plain, page);
    // 100 bytes: under `minsize-res`.
    let (head, body) = get(&mut c, "GET", "/small", "accept-encoding: gzip\r\n");
    assert_eq!(header(&head, "content-encoding"), None);
    assert_eq!(header(&head, "x-comp").as_deref(), Some("0"));
    assert_eq!(header(&head, "x-algo").as_deref(), Some(""));
    assert_eq!(body.len(), 100);
}

#[test]
fn http2_clients_get_compressed_responses() {
    let srv = content_server();
    let fe = free_port();
    let cfg = format!(
        "{DEFAULTS}\nfrontend fe\n    bind 127.0.0.1:{fe} proto h2\n    compression algo gzip\n    \
         default_backend be\n\nbackend be\n    server s1 127.0.0.1:{srv}\n"
    );
    let _s = Sluice::start(&cfg, &[fe]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", fe))
            .await
            .expect("connect");
        let (send, conn) = h2::client::handshake(tcp).await.expect("h2 handshake");
        tokio::spawn(async move {
            let _ = conn.await;
        });
        for (path, ae) in [
            ("/big", Some("gzip")),
            ("/chunked", Some("gzip")),
            ("/big", None),
        ] {
            let mut req = http::Request::builder()
                .method("GET")
                .uri(format!("http://test.local{path}"));
            if let Some(ae) = ae {
                req = req.header("accept-encoding", ae);
            }
            let req = req.body(()).expect("request");
            let mut ready = send.clone().ready().await.expect("ready");
            let (resp, _) = ready.send_request(req, true).expect("send");
            let resp = resp.await.expect("a response");
            assert_eq!(resp.status(), 200);
            let encoding = resp
                .headers()
                .get("content-encoding")
                .map(|v| v.as_bytes().to_vec());
            let mut recv = resp.into_body();
            let mut body = Vec::new();
            while let Some(chunk) = recv.data().await {
                let chunk: Bytes = chunk.expect("data");
                let _ = recv.flow_control().release_capacity(chunk.len());
                body.extend_from_slice(&chunk);
            }
            if ae.is_some() {
                assert_eq!(encoding.as_deref(), Some(&b"gzip"[..]), "{path}");
                assert_eq!(gunzip(&body), big_page(), "{path}");
            } else {
                assert_eq!(encoding, None);
                assert_eq!(body, big_page());
            }
        }
    });
}

#[test]
fn configuration_mistakes_are_reported_with_their_line() {
    let dir = common::Dir::new();
    let path = dir.write(
        "haproxy.cfg",
        "global\n    chroot /\n    uid 0\n\ndefaults\n    mode http\n    timeout connect 1s\n    \
         timeout client 1s\n    timeout server 1s\n\nbackend be\n    compression algo brotli\n    \
         compression direction sideways\n    server s1 127.0.0.1:8080\n",
    );
    let run = dir.run(&["-c", "--check-env=warn", "-f", &path.to_string_lossy()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "haproxy.cfg:12] : 'compression algo' : 'brotli' is not a supported algorithm"
        ),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("haproxy.cfg:13]"), "{}", run.stderr);
}

#[test]
fn request_bodies_are_compressed_towards_the_server() {
    let (_s, fe) = start(
        "",
        "    compression direction both\n    compression algo-res gzip\n    \
         compression type-res text/html\n    compression algo-req gzip\n    \
         compression type-req text/plain\n    compression minsize-req 800\n",
    );
    let text: Vec<u8> = (0..2000u32).map(|i| b'a' + (i % 7) as u8).collect();
    let mut c = connect(fe);
    let post = |c: &mut TcpStream, extra: &str, body: &[u8]| {
        let head =
            format!("POST /echo HTTP/1.1\r\nhost: test\r\ncontent-type: text/plain\r\n{extra}\r\n");
        c.write_all(head.as_bytes()).expect("send a head");
        c.write_all(body).expect("send a body");
        read_response(c, false)
    };
    // Over the minimum: the server gets gzip in chunks.
    let (head, body) = post(
        &mut c,
        &format!("content-length: {}\r\n", text.len()),
        &text,
    );
    assert_eq!(
        header(&head, "x-seen-ce").as_deref(),
        Some("gzip"),
        "{head}"
    );
    assert_eq!(gunzip(&body), text);
    // Under it: as sent.
    let (head, body) = post(&mut c, "content-length: 50\r\n", &text[..50]);
    assert_eq!(
        header(&head, "x-seen-ce").as_deref(),
        Some("none"),
        "{head}"
    );
    assert_eq!(body, &text[..50]);
    // A chunked body, on the same connection.
    let mut chunked = Vec::new();
    for part in text.chunks(700) {
        chunked.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        chunked.extend_from_slice(part);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let (head, body) = post(&mut c, "transfer-encoding: chunked\r\n", &chunked);
    assert_eq!(
        header(&head, "x-seen-ce").as_deref(),
        Some("gzip"),
        "{head}"
    );
    assert_eq!(gunzip(&body), text);
    // Responses still follow their own settings.
    let (head, body) = get(&mut c, "GET", "/big", "accept-encoding: gzip\r\n");
    assert_eq!(header(&head, "content-encoding").as_deref(), Some("gzip"));
    assert_eq!(gunzip(&body), big_page());
}

#[test]
fn the_log_line_says_how_the_response_was_compressed() {
    let syslog = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind syslog");
    syslog
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .expect("timeout");
    let log_port = syslog.local_addr().expect("address").port();
    let (_s, fe) = start(
        &format!(
            "    log 127.0.0.1:{log_port} local0\n    option dontlognull\n    \
             log-format \"comp=%[res.comp] algo=%[res.comp_algo] path=%HP\"\n"
        ),
        "    compression algo gzip\n",
    );
    let mut c = connect(fe);
    let line = |c: &mut TcpStream, ae: &str| {
        let (_, _) = get(c, "GET", "/big", ae);
        let mut buf = [0u8; 2048];
        let n = syslog.recv(&mut buf).expect("a log line");
        String::from_utf8_lossy(&buf[..n]).trim_end().to_string()
    };
    let compressed = line(&mut c, "accept-encoding: gzip\r\n");
    assert!(
        compressed.ends_with("comp=1 algo=gzip path=/big"),
        "{compressed}"
    );
    let plain = line(&mut c, "");
    assert!(plain.ends_with("comp=0 algo=- path=/big"), "{plain}");
}

#[test]
fn the_statistics_count_compressed_responses() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let sock = dir.path().join("stats.sock");
    let srv = content_server();
    let fe = free_port();
    let cfg = format!(
        "global\n    chroot /\n    stats socket {} level admin\n\ndefaults\n    mode http\n    \
         timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\n\
         frontend fe\n    bind 127.0.0.1:{fe}\n    default_backend be\n\n\
         backend be\n    compression algo gzip\n    server s1 127.0.0.1:{srv}\n",
        sock.display()
    );
    let _s = Sluice::start(&cfg, &[fe]);
    let mut c = connect(fe);
    let (_, body) = get(&mut c, "GET", "/big", "accept-encoding: gzip\r\n");
    let (_, _) = get(&mut c, "GET", "/big", "");
    let show_stat = || {
        let mut s = std::os::unix::net::UnixStream::connect(&sock).expect("stats socket");
        s.write_all(b"show stat\n").expect("send");
        let mut out = String::new();
        s.read_to_string(&mut out).expect("read");
        out
    };
    let column = |csv: &str, row: &str, name: &str| -> Option<u64> {
        let header: Vec<&str> = csv
            .lines()
            .next()?
            .trim_start_matches("# ")
            .split(',')
            .collect();
        let at = header.iter().position(|h| *h == name)?;
        let line = csv.lines().find(|l| l.starts_with(row))?;
        line.split(',').nth(at)?.parse().ok()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    let csv = loop {
        let csv = show_stat();
        if column(&csv, "be,BACKEND,", "comp_rsp") == Some(1)
            || std::time::Instant::now() > deadline
        {
            break csv;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    for row in ["fe,FRONTEND,", "be,BACKEND,"] {
        assert_eq!(column(&csv, row, "comp_rsp"), Some(1), "{csv}");
        assert_eq!(
            column(&csv, row, "comp_in"),
            Some(big_page().len() as u64),
            "{csv}"
        );
        assert_eq!(
            column(&csv, row, "comp_out"),
            Some(body.len() as u64),
            "{csv}"
        );
    }
}
