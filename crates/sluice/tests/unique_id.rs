//! End-to-end: the real binary with a real server on 127.0.0.1 for `unique-id-format`,
//! `unique-id-header`, the `unique-id` fetch and `%[uuid]`: one ID per request, the same for
//! every reader, carried to the server in the header.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The binary serving `cfg` in the foreground; killed when dropped.
struct Sluice {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Sluice {
    fn start(cfg: &str, ports: &[u16]) -> Sluice {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("haproxy.cfg");
        std::fs::write(&path, cfg).expect("write the configuration");
        let child = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .arg("-f")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sluice");
        let s = Sluice { child, _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        for p in ports {
            while TcpStream::connect(("127.0.0.1", *p)).is_err() {
                assert!(Instant::now() < deadline, "sluice does not listen on {p}");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        s
    }
}

impl Drop for Sluice {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server answering each request with 200 and the request head as the body, after
/// `delay`.
fn echo_server(delay: Duration) -> u16 {
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
                        let head: Vec<u8> = buf.drain(..end + 4).collect();
                        std::thread::sleep(delay);
                        let resp =
                            format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", head.len());
                        if s.write_all(resp.as_bytes()).is_err() || s.write_all(&head).is_err() {
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

/// One response on `s`: (head, body).
fn read_response(s: &mut TcpStream) -> (String, String) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(e) = find(&buf, b"\r\n\r\n") {
            break e + 4;
        }
        let n = s.read(&mut chunk).expect("read a response");
        assert!(n > 0, "connection closed before a response: {buf:?}");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = s.read(&mut chunk).expect("read a body");
        assert!(n > 0, "connection closed in a body");
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[head_end..head_end + len]).into_owned();
    (head, body)
}

fn request(s: &mut TcpStream, path: &str, headers: &str) -> (String, String) {
    let req = format!("GET {path} HTTP/1.1\r\nhost: test\r\n{headers}\r\n");
    s.write_all(req.as_bytes()).expect("send a request");
    read_response(s)
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    s
}

const DEFAULTS: &str = "global\n    chroot /\n\ndefaults\n    mode http\n    retries 0\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n";

/// The value of header `name` in a lowercased head.
fn header<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
}

#[test]
fn one_id_per_request_seen_by_rules_header_and_response() {
    let srv = echo_server(Duration::ZERO);
    let (fe1, fe2, fe3) = (free_port(), free_port(), free_port());
    let cfg = format!(
        "{DEFAULTS}    unique-id-format ID-%[req.hdr(in)]\n\n\
         frontend data\n    bind 127.0.0.1:{fe1}\n    unique-id-header X-Unique-ID\n    \
         http-request set-var(txn.early) unique-id\n    \
         http-response set-header early %[var(txn.early)]\n    \
         http-response set-header late %[unique-id]\n    default_backend be\n\n\
         frontend random\n    bind 127.0.0.1:{fe2}\n    unique-id-format R-%[uuid]\n    \
         unique-id-header X-Unique-ID\n    http-response set-header a %[unique-id]\n    \
         http-response set-header b %[unique-id]\n    default_backend be\n\n\
         frontend none\n    bind 127.0.0.1:{fe3}\n    default_backend be\n\n\
         backend be\n    server s1 127.0.0.1:{srv}\n"
    );
    let cfg = cfg.replace("frontend none\n", "defaults plain\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\nfrontend none\n");
    let _s = Sluice::start(&cfg, &[fe1, fe2, fe3]);

    let mut c = connect(fe1);
    for tag in ["abc", "def"] {
        let (head, body) = request(&mut c, "/", &format!("in: {tag}\r\n"));
        // Heads are read lowercased.
        let want = format!("id-{tag}");
        assert_eq!(header(&head, "early"), Some(want.as_str()), "{head}");
        assert_eq!(header(&head, "late"), Some(want.as_str()), "{head}");
        let sent = body.to_lowercase();
        assert_eq!(header(&sent, "x-unique-id"), Some(want.as_str()), "{body}");
    }

    let mut c = connect(fe2);
    let (h1, b1) = request(&mut c, "/", "");
    let (h2, _) = request(&mut c, "/", "");
    let a1 = header(&h1, "a").expect("an id").to_string();
    assert_eq!(header(&h1, "b"), Some(a1.as_str()));
    assert_eq!(a1.len(), "r-".len() + 36, "{a1}");
    assert_eq!(header(&b1.to_lowercase(), "x-unique-id"), Some(a1.as_str()));
    assert_ne!(header(&h2, "a"), Some(a1.as_str()), "a new id per request");

    let mut c = connect(fe3);
    let (_, body) = request(&mut c, "/", "in: x\r\n");
    assert!(!body.to_lowercase().contains("x-unique-id"), "{body}");
}
