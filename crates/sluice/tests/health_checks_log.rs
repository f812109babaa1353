//! End-to-end: the real binary's health-check messages on the backends' `log` targets
//! (HAProxy's wording, syslog levels and `option log-health-checks`), the SMTP check's code
//! and text, and `init-state` keeping a server out of the traffic until its checks pass.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::process::Command;
use std::time::{Duration, Instant};

mod common;
use common::free_port;
use common::http::Sluice;

fn closed_port() -> u16 {
    free_port()
}

/// A syslog server on 127.0.0.1.
struct Syslog {
    sock: UdpSocket,
    port: u16,
}

impl Syslog {
    fn new() -> Syslog {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind syslog");
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        let port = sock.local_addr().expect("address").port();
        Syslog { sock, port }
    }

    /// Lines received until one contains `needle` (that one included), within 10 s.
    fn until(&self, needle: &str) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut lines = Vec::new();
        let mut buf = [0u8; 4096];
        while Instant::now() < deadline {
            if let Ok(n) = self.sock.recv(&mut buf) {
                let line = String::from_utf8_lossy(&buf[..n]).into_owned();
                let done = line.contains(needle);
                lines.push(line);
                if done {
                    return lines;
                }
            }
        }
        panic!("no line with {needle:?} in {lines:#?}");
    }
}

/// A TCP server that accepts and closes every connection.
fn accepting_server() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            drop(s);
        }
    });
    port
}

/// A server answering every HTTP request with 200.
fn http_server() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                );
            });
        }
    });
    port
}

/// A minimal SMTP server: greeting, `250` to HELO/EHLO, `221` to QUIT.
fn smtp_server(greeting: &'static str) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            std::thread::spawn(move || {
                if s.write_all(greeting.as_bytes()).is_err() {
                    return;
                }
                let mut chunk = [0u8; 512];
                loop {
                    let n = match s.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    let reply: &[u8] = if chunk[..n].starts_with(b"QUIT") {
                        b"221 bye now\r\n"
                    } else {
                        b"250 hello\r\n"
                    };
                    if s.write_all(reply).is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

/// The status code of a GET through `port`.
fn status(port: u16) -> u16 {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return 0;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    if s.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .is_err()
    {
        return 0;
    }
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out)
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[test]
fn check_results_and_transitions_reach_the_backend_logs() {
    let (fe, up_srv, down_srv) = (free_port(), accepting_server(), closed_port());
    let (s1, s2) = (Syslog::new(), Syslog::new());
    let cfg = format!(
        "defaults\n  mode tcp\n  timeout client 5s\n  timeout server 5s\n  timeout connect 1s\n\
         frontend fe\n  bind 127.0.0.1:{fe}\n  default_backend be1\n\
         backend be1\n  log 127.0.0.1:{} daemon\n  option log-health-checks\n  server srv1 127.0.0.1:{up_srv} check inter 200ms rise 1 fall 1\n\
         backend be2\n  log 127.0.0.1:{} local0\n  server srv2 127.0.0.1:{down_srv} check inter 200ms rise 1 fall 1\n",
        s1.port, s2.port
    );
    let sluice = Sluice::start(&cfg, &[fe]);
    let pid = sluice.pid();

    // `option log-health-checks`: every result, at notice (daemon: <29>), HAProxy's wording.
    let lines = s1.until("Health check for server be1/srv1");
    let line = lines.last().expect("a line");
    assert!(line.starts_with("<29>"), "{line}");
    assert!(
        line.contains(&format!("[{pid}]: Health check for server be1/srv1 succeeded, reason: Layer4 check passed, check duration: ")),
        "{line}"
    );
    assert!(line.ends_with("ms, status: 1/1 UP.\n"), "{line}");

    // Without it: only the transition, at alert (local0: <129>), with the reason, then the
    // backend's loss at emerg (<128>) without the quotes stderr gets.
    let lines = s2.until("has no server available!");
    assert!(
        lines.iter().all(|l| !l.contains("Health check for")),
        "{lines:#?}"
    );
    let down = lines
        .iter()
        .find(|l| l.contains("Server be2/srv2 is DOWN"))
        .expect("the DOWN line");
    assert!(down.starts_with("<129>"), "{down}");
    assert!(
        down.contains("Server be2/srv2 is DOWN, reason: Layer4 connection problem, info: \"Connection refused\", check duration: "),
        "{down}"
    );
    assert!(
        down.ends_with(". 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.\n"),
        "{down}"
    );
    let last = lines.last().expect("a line");
    assert!(last.starts_with("<128>"), "{last}");
    assert!(
        last.ends_with(&format!("[{pid}]: backend be2 has no server available!\n")),
        "{last}"
    );
}

#[test]
fn smtp_check_reports_the_quit_reply_and_a_refusal() {
    let fe = free_port();
    let (good, bad) = (
        smtp_server("220 mail ready\r\n"),
        smtp_server("421 Try again later\r\n"),
    );
    let (s1, s2) = (Syslog::new(), Syslog::new());
    let cfg = format!(
        "defaults\n  mode tcp\n  timeout client 5s\n  timeout server 5s\n  timeout connect 1s\n\
         frontend fe\n  bind 127.0.0.1:{fe}\n  default_backend be1\n\
         backend be1\n  log 127.0.0.1:{} daemon\n  option log-health-checks\n  option smtpchk EHLO example.org\n  server srv 127.0.0.1:{good} check inter 200ms rise 1 fall 1\n\
         backend be2\n  log 127.0.0.1:{} daemon\n  option log-health-checks\n  option smtpchk\n  server srv 127.0.0.1:{bad} check inter 200ms rise 1 fall 1\n",
        s1.port, s2.port
    );
    let _sluice = Sluice::start(&cfg, &[fe]);
    let lines = s1.until("Health check for server be1/srv");
    let line = lines.last().expect("a line");
    assert!(
        line.contains("Health check for server be1/srv succeeded, reason: Layer7 check passed, code: 221, info: \"bye now\", check duration: "),
        "{line}"
    );
    let lines = s2.until("Health check for server be2/srv");
    let line = lines.last().expect("a line");
    assert!(
        line.contains("Health check for server be2/srv failed, reason: Layer7 wrong status, code: 421, info: \"Try again later\", check duration: "),
        "{line}"
    );
    assert!(line.ends_with("ms, status: 0/1 DOWN.\n"), "{line}");
    // The transition line leaves the reason out when every result is logged already.
    let lines = s2.until("Server be2/srv is DOWN");
    let down = lines.last().expect("a line");
    assert!(
        down.contains("Server be2/srv is DOWN. 0 active and 0 backup servers left."),
        "{down}"
    );
}

#[test]
fn init_state_fully_down_keeps_traffic_away_until_rise_checks_pass() {
    let (fe, srv) = (free_port(), http_server());
    let log = Syslog::new();
    let cfg = format!(
        "defaults\n  mode http\n  timeout client 5s\n  timeout server 5s\n  timeout connect 1s\n\
         frontend fe\n  bind 127.0.0.1:{fe}\n  default_backend be\n\
         backend be\n  log 127.0.0.1:{} daemon\n  option log-health-checks\n  default-server init-state up\n  server srv 127.0.0.1:{srv} check inter 400ms rise 3 fall 2 init-state fully-down\n",
        log.port
    );
    let _sluice = Sluice::start(&cfg, &[fe]);
    // Down from the start: no server for the request.
    assert_eq!(status(fe), 503);
    // Each passed check is logged while the server is still down, then it comes up.
    let lines = log.until("Server be/srv is UP");
    let joined = lines.concat();
    assert!(
        joined.contains("Health check for server be/srv succeeded, reason: Layer4 check passed, check duration: ")
            && joined.contains("status: 1/3 DOWN.")
            && joined.contains("status: 2/3 DOWN."),
        "{lines:#?}"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while status(fe) != 200 {
        assert!(Instant::now() < deadline, "the server never took traffic");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn init_state_with_an_unknown_value_is_refused() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("haproxy.cfg");
    std::fs::write(
        &path,
        "defaults\n  mode tcp\n  timeout client 5s\n  timeout server 5s\n  timeout connect 1s\n\
         listen l\n  bind 127.0.0.1:0\n  server s 127.0.0.1:1 check init-state sideways\n",
    )
    .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("-c")
        .arg("-f")
        .arg(&path)
        .output()
        .expect("run sluice -c");
    assert_eq!(out.status.code(), Some(1));
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("'init-state' takes"), "{text}");
}

/// A server answering `pong` to whatever it gets first.
fn pong_server() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            std::thread::spawn(move || {
                let mut chunk = [0u8; 64];
                if matches!(s.read(&mut chunk), Ok(n) if n > 0) {
                    let _ = s.write_all(b"pong");
                }
            });
        }
    });
    port
}

#[test]
fn content_rules_wait_for_the_bytes_a_condition_reads_before_a_later_reject() {
    // The intermediate listener HAProxy's protocol-check tests put in front of their
    // servers: a client that connects and then speaks is judged on what it says, not
    // refused on its empty buffer by the final `reject`.
    let (fe, srv) = (free_port(), pong_server());
    let cfg = format!(
        "defaults\n  mode tcp\n  timeout client 5s\n  timeout server 5s\n  timeout connect 1s\n\
         listen l\n  bind 127.0.0.1:{fe}\n  tcp-request inspect-delay 2s\n  tcp-request content accept if {{ req.len eq 4 }} {{ req.payload(0,4) -m str ping }}\n  tcp-request content reject\n  server s 127.0.0.1:{srv}\n"
    );
    let _sluice = Sluice::start(&cfg, &[fe]);
    let talk = |first: &[u8]| {
        let mut c = TcpStream::connect(("127.0.0.1", fe)).expect("connect");
        c.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        std::thread::sleep(Duration::from_millis(100));
        c.write_all(first).expect("write");
        let mut out = Vec::new();
        let _ = c.read_to_end(&mut out);
        out
    };
    assert_eq!(talk(b"ping"), b"pong");
    // The wrong bytes are refused once they are there.
    assert_eq!(talk(b"nope"), b"");
}

/// A TCP server that greets with `greeting` and keeps the connection open.
fn greeting_server(greeting: &'static [u8]) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { return };
            std::thread::spawn(move || {
                let _ = s.write_all(greeting);
                let mut buf = [0u8; 256];
                while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
            });
        }
    });
    port
}

#[test]
fn tcp_check_failures_name_the_step_and_its_comment() {
    let fe = free_port();
    let (srv, closed) = (greeting_server(b"HTTP/1.1 503 Busy\r\n\r\n"), closed_port());
    let (s1, s2) = (Syslog::new(), Syslog::new());
    let cfg = format!(
        "defaults\n  mode tcp\n  timeout client 5s\n  timeout server 5s\n  timeout connect 1s\n  timeout check 300ms\n\
         frontend fe\n  bind 127.0.0.1:{fe}\n  default_backend be1\n\
         backend be1\n  log 127.0.0.1:{} local0\n  option log-health-checks\n  option tcp-check\n\
         \x20 tcp-check connect\n  tcp-check connect port {closed} comment \"second port\"\n\
         \x20 server srv1 127.0.0.1:{srv} check inter 200ms rise 1 fall 1\n\
         backend be2\n  log 127.0.0.1:{} local0\n  option log-health-checks\n  option tcp-check\n\
         \x20 tcp-check connect\n\
         \x20 tcp-check expect !rstring \"HTTP/1\\\\.1 ([45][0-9]{{2}}) ([^\\r]*)\" comment \"code=\\\\1 reason=\\\\2\"\n\
         \x20 server srv2 127.0.0.1:{srv} check inter 200ms rise 1 fall 1\n",
        s1.port, s2.port
    );
    let _sluice = Sluice::start(&cfg, &[fe]);
    let line = s1
        .until("Health check for server be1/srv1")
        .pop()
        .expect("a line");
    assert!(
        line.contains(&format!("reason: Layer4 connection problem, info: \"Connection refused at step 2 of tcp-check (connect port {closed}) comment: 'second port'\"")),
        "{line}"
    );
    // A regex comment quotes the groups the server's reply filled.
    let line = s2
        .until("Health check for server be2/srv2")
        .pop()
        .expect("a line");
    assert!(
        line.contains("reason: Layer7 invalid response, info: \"TCPCHK matched unwanted content (regex) at step 2 comment: code=503 reason=Busy\""),
        "{line}"
    );
}
