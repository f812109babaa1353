//! The real binary serving a configuration, with HTTP servers and clients on 127.0.0.1 for
//! end-to-end tests of traffic.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The binary serving `cfg` in the foreground; killed when dropped.
pub struct Sluice {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Sluice {
    pub fn start(cfg: &str, ports: &[u16]) -> Sluice {
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

impl Sluice {
    /// The process id of the running binary.
    pub fn pid(&self) -> u32 {
        self.child.id()
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
pub fn echo_server(delay: Duration) -> u16 {
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

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// One response on `s`: (head, body).
pub fn read_response(s: &mut TcpStream) -> (String, String) {
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

pub fn request(s: &mut TcpStream, path: &str, headers: &str) -> (String, String) {
    let req = format!("GET {path} HTTP/1.1\r\nhost: test\r\n{headers}\r\n");
    s.write_all(req.as_bytes()).expect("send a request");
    read_response(s)
}

pub fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    s
}

/// A keep-alive server answering each request with an empty 200.
pub fn ok_server() -> u16 {
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

/// One response head on `s` (lowercased); bodies are empty here.
pub fn read_head(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while find(&buf, b"\r\n\r\n").is_none() {
        let n = s.read(&mut byte).expect("read a response");
        assert!(n > 0, "connection closed before a response: {buf:?}");
        buf.push(byte[0]);
    }
    String::from_utf8_lossy(&buf).to_lowercase()
}

pub fn header(head: &str, name: &str) -> Option<String> {
    head.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .map(|v| v.trim().to_string())
}
