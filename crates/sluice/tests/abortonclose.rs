//! End-to-end: a client that leaves while its request waits for a server (`option
//! abortonclose`, on by default in HTTP backends as in HAProxy 3.x): the request is given
//! up in the queue (`CQ`), during connection retries (`CC`) or while the server works on
//! it (`CH`, 400, the server connection closed), and the log line says so; with `no option
//! abortonclose` the request still goes to the server. The line also counts the
//! connection retries (`%rc`).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, UdpSocket};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;
use common::free_port;
use common::http::{connect, find, Sluice};

/// A syslog server on 127.0.0.1.
struct Syslog {
    sock: UdpSocket,
    port: u16,
}

impl Syslog {
    fn new() -> Syslog {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind syslog");
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        let port = sock.local_addr().expect("address").port();
        Syslog { sock, port }
    }

    /// The first line that contains `needle`, within `within`.
    fn line_with(&self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while Instant::now() < deadline {
            if let Ok(n) = self.sock.recv(&mut buf) {
                let line = String::from_utf8_lossy(&buf[..n]).into_owned();
                if line.contains(needle) {
                    return line;
                }
                seen.push(line);
            }
        }
        panic!("no line with {needle:?} in {seen:#?}");
    }
}

/// What a server saw: the request lines, and how many connections it accepted.
#[derive(Default)]
struct Seen {
    requests: Vec<String>,
    connections: usize,
    /// Connections the peer closed before the server answered.
    closed_early: usize,
}

/// A server that answers each request with 200 after `delay`, noting what it sees.
fn slow_server(delay: Duration) -> (u16, Arc<Mutex<Seen>>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("address").port();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let record = record.clone();
            if let Ok(mut r) = record.lock() {
                r.connections += 1;
            }
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    while let Some(end) = find(&buf, b"\r\n\r\n") {
                        let head: Vec<u8> = buf.drain(..end + 4).collect();
                        let line = String::from_utf8_lossy(&head)
                            .lines()
                            .next()
                            .unwrap_or_default()
                            .to_string();
                        if let Ok(mut r) = record.lock() {
                            r.requests.push(line);
                        }
                        // Answer after `delay`, unless the peer closes first.
                        let _ = s.set_read_timeout(Some(delay));
                        if matches!(s.read(&mut chunk), Ok(0)) {
                            if let Ok(mut r) = record.lock() {
                                r.closed_early += 1;
                            }
                            return;
                        }
                        let _ = s.set_read_timeout(None);
                        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                        if s.write_all(ok).is_err() {
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
    (port, seen)
}

fn config(fe: u16, log: u16, backend: &str) -> String {
    format!(
        "global
    chroot /
    uid 0

defaults
    mode http
    timeout client 10s
    timeout server 10s
    timeout connect 1s
    timeout queue 5s

frontend fe
    bind 127.0.0.1:{fe}
    option httplog
    log 127.0.0.1:{log} local0
    default_backend be

backend be
{backend}
"
    )
}

fn send(port: u16, path: &str) -> TcpStream {
    let mut s = connect(port);
    let req = format!("GET {path} HTTP/1.1\r\nhost: test\r\n\r\n");
    s.write_all(req.as_bytes()).expect("send a request");
    s
}

/// `%TR/%Tw/%Tc/%Tr/%Ta`, the status and the termination state of a line of `option
/// httplog`.
fn fields(line: &str) -> (Vec<i64>, String, String) {
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words
        .iter()
        .position(|w| w.matches('/').count() == 4 && !w.starts_with('"'))
        .expect("timers in the line");
    let timers = words[at]
        .split('/')
        .map(|t| t.parse().unwrap_or(-2))
        .collect();
    (timers, words[at + 1].to_string(), words[at + 5].to_string())
}

fn wait_for(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_client_that_leaves_the_queue_is_never_sent_to_the_server() {
    let (srv, seen) = slow_server(Duration::from_millis(800));
    let (fe, log) = (free_port(), Syslog::new());
    let cfg = config(
        fe,
        log.port,
        &format!("    server s1 127.0.0.1:{srv} maxconn 1"),
    );
    let _sluice = Sluice::start(&cfg, &[fe]);

    let mut first = send(fe, "/first");
    wait_for("the server gets /first", Duration::from_secs(5), || {
        seen.lock().map(|s| s.requests.len() == 1).unwrap_or(false)
    });
    // Queued behind /first, then gone.
    let second = send(fe, "/second");
    std::thread::sleep(Duration::from_millis(100));
    drop(second);

    let line = log.line_with("/second", Duration::from_secs(5));
    let (timers, status, state) = fields(&line);
    assert_eq!(state, "CQ--", "{line}");
    assert_eq!(status, "-1", "{line}");
    assert!(line.contains(" be/<NOSRV> "), "{line}");
    assert_eq!(
        &timers[2..4],
        &[-1, -1],
        "Tc and Tr are not reached: {line}"
    );
    assert!(timers[1] >= 50, "Tw counts the time in the queue: {line}");

    // /first is answered, and the slot it frees finds nobody waiting.
    let mut answer = [0u8; 256];
    let n = first.read(&mut answer).expect("the answer to /first");
    assert!(answer[..n].starts_with(b"HTTP/1.1 200"));
    std::thread::sleep(Duration::from_millis(300));
    let s = seen.lock().expect("seen");
    assert_eq!(s.requests, vec!["GET /first HTTP/1.1".to_string()]);
    assert_eq!(s.connections, 1);
}

#[test]
fn without_abortonclose_a_queued_request_still_reaches_the_server() {
    let (srv, seen) = slow_server(Duration::from_millis(400));
    let (fe, log) = (free_port(), Syslog::new());
    let be = format!("    no option abortonclose\n    server s1 127.0.0.1:{srv} maxconn 1");
    let cfg = config(fe, log.port, &be);
    let _sluice = Sluice::start(&cfg, &[fe]);

    let _first = send(fe, "/first");
    wait_for("the server gets /first", Duration::from_secs(5), || {
        seen.lock().map(|s| s.requests.len() == 1).unwrap_or(false)
    });
    let second = send(fe, "/second");
    second.shutdown(Shutdown::Write).expect("half-close");
    wait_for("the server gets /second", Duration::from_secs(5), || {
        seen.lock().map(|s| s.requests.len() == 2).unwrap_or(false)
    });
    drop(second);
    let line = log.line_with("/second", Duration::from_secs(5));
    let (_, _, state) = fields(&line);
    assert_ne!(&state[..2], "CQ", "{line}");
}

#[test]
fn a_client_that_leaves_during_connection_retries_stops_them() {
    // Nothing listens there: every attempt is refused, and the retries are 1 s apart.
    let (dead, fe, log) = (free_port(), free_port(), Syslog::new());
    let be = format!("    retries 10\n    server s1 127.0.0.1:{dead}");
    let cfg = config(fe, log.port, &be);
    let _sluice = Sluice::start(&cfg, &[fe]);

    let start = Instant::now();
    let client = send(fe, "/gone");
    std::thread::sleep(Duration::from_millis(200));
    drop(client);
    let line = log.line_with("/gone", Duration::from_secs(5));
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "the retries stopped with the client: {line}"
    );
    let (timers, status, state) = fields(&line);
    assert_eq!(state, "CC--", "{line}");
    assert_eq!(status, "-1", "{line}");
    assert!(line.contains(" be/s1 "), "{line}");
    assert_eq!(&timers[2..4], &[-1, -1], "{line}");
}

#[test]
fn a_client_that_leaves_while_the_server_works_closes_the_server_connection() {
    let (srv, seen) = slow_server(Duration::from_secs(3));
    let (fe, log) = (free_port(), Syslog::new());
    let cfg = config(fe, log.port, &format!("    server s1 127.0.0.1:{srv}"));
    let _sluice = Sluice::start(&cfg, &[fe]);

    let mut client = send(fe, "/slow");
    wait_for("the server gets /slow", Duration::from_secs(5), || {
        seen.lock().map(|s| s.requests.len() == 1).unwrap_or(false)
    });
    // Half-closed: the client still reads, and gets the 400.
    client.shutdown(Shutdown::Write).expect("half-close");
    let mut answer = Vec::new();
    let _ = client.read_to_end(&mut answer);
    assert!(answer.starts_with(b"HTTP/1.1 400 "), "{answer:?}");
    let line = log.line_with("/slow", Duration::from_secs(2));
    let (timers, status, state) = fields(&line);
    assert_eq!(state, "CH--", "{line}");
    assert_eq!(status, "400", "{line}");
    assert!(timers[2] >= 0 && timers[3] == -1, "{line}");
    wait_for(
        "the server connection is closed",
        Duration::from_secs(2),
        || seen.lock().map(|s| s.closed_early == 1).unwrap_or(false),
    );
}

#[test]
fn in_tcp_mode_the_option_stops_the_retries_of_a_client_that_left() {
    let (dead, fe, log) = (free_port(), free_port(), Syslog::new());
    let cfg = format!(
        "global
    chroot /
    uid 0

defaults
    mode tcp
    timeout client 10s
    timeout server 10s
    timeout connect 1s

frontend fe
    bind 127.0.0.1:{fe}
    option tcplog
    log 127.0.0.1:{log} local0
    default_backend be

backend be
    option abortonclose
    retries 10
    server s1 127.0.0.1:{dead}
",
        log = log.port
    );
    let _sluice = Sluice::start(&cfg, &[fe]);
    let start = Instant::now();
    let mut client = connect(fe);
    client.write_all(b"hello").expect("send");
    client.shutdown(Shutdown::Write).expect("half-close");
    let line = log.line_with(" be/s1 ", Duration::from_secs(5));
    assert!(start.elapsed() < Duration::from_secs(3), "{line}");
    assert!(line.contains(" CC "), "{line}");
}

#[test]
fn the_log_line_counts_the_connection_retries() {
    let (dead, fe, log) = (free_port(), free_port(), Syslog::new());
    let be = format!("    retries 2\n    timeout connect 50ms\n    server s1 127.0.0.1:{dead}");
    let cfg = config(fe, log.port, &be);
    let _sluice = Sluice::start(&cfg, &[fe]);
    let mut client = send(fe, "/retried");
    let mut answer = [0u8; 64];
    let n = client.read(&mut answer).expect("the 503");
    assert!(answer[..n].starts_with(b"HTTP/1.1 503 "));
    let line = log.line_with("/retried", Duration::from_secs(5));
    let (_, status, state) = fields(&line);
    assert_eq!((status.as_str(), state.as_str()), ("503", "SC--"), "{line}");
    // `%ac/%fc/%bc/%sc/%rc`: two retries after the first attempt.
    let counts = line
        .split_whitespace()
        .filter(|w| w.matches('/').count() == 4)
        .nth(1)
        .unwrap_or_default();
    assert!(counts.ends_with("/2"), "{line}");
}

#[test]
fn the_log_line_counts_the_bytes_of_an_error_answer() {
    // HAProxy logs its own error pages' size in `%B`; the line is written once the page
    // has gone out.
    let (dead, fe, log) = (free_port(), free_port(), Syslog::new());
    let be = format!("    retries 0\n    timeout connect 50ms\n    server s1 127.0.0.1:{dead}");
    let cfg = config(fe, log.port, &be);
    let _sluice = Sluice::start(&cfg, &[fe]);
    let mut client = connect(fe);
    client
        .write_all(b"GET /refused HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n")
        .expect("send a request");
    let mut answer = Vec::new();
    client
        .read_to_end(&mut answer)
        .expect("the 503, then the close");
    assert!(answer.starts_with(b"HTTP/1.1 503 "));
    let line = log.line_with("/refused", Duration::from_secs(5));
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words
        .iter()
        .position(|w| w.matches('/').count() == 4 && !w.starts_with('"'))
        .expect("timers in the line");
    assert_eq!(words[at + 1], "503", "{line}");
    assert_eq!(words[at + 2], answer.len().to_string(), "{line}");
}
