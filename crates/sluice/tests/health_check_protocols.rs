//! End-to-end: health checks with the real binary and real servers on 127.0.0.1.
//!
//! - a connection-only check never hands a connection to the server's program (a server
//!   that serves a single connection keeps it for the traffic);
//! - an agent's reply is applied before the agent sees the connection close;
//! - `option spop-check` reads the agent's AGENT-HELLO;
//! - `http-check send` with log-format values (`hdr`, `uri-lf`, `body-lf`), `set-var`,
//!   `unset-var`, the backend's `unique-id-format` and `send-state`;
//! - `check-proto h2`: the HTTP check in HTTP/2;
//! - a `healthcheck` section gives the servers that name it their check.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::sync::mpsc;
use std::time::{Duration, Instant};

mod common;
use common::free_port;
use common::http::Sluice;

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

    /// The first line that contains `needle`, within 10 s.
    fn line_with(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
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

/// Reads an HTTP/1 request head and its `content-length` body.
fn read_request(s: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    Some(String::from_utf8_lossy(&buf).into_owned())
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

/// One command on a TCP stats socket.
fn cli(port: u16, command: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("stats socket");
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    s.write_all(format!("{command}\n").as_bytes())
        .expect("send");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn connection_only_checks_leave_a_single_connection_server_to_the_traffic() {
    // The server serves one connection, as VTest's servers do: the first one its program
    // accepts must be the client's request, however many checks ran before.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let srv = listener.local_addr().expect("address").port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let Ok((mut s, _)) = listener.accept() else {
            return;
        };
        let request = read_request(&mut s);
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
        let _ = tx.send(request);
    });
    let fe = free_port();
    let syslog = Syslog::new();
    let cfg = format!(
        "defaults\n  mode http\n  timeout client 5s\n  timeout server 5s\n  timeout connect 1s\n\
         frontend fe\n  bind 127.0.0.1:{fe}\n  default_backend be\n\
         backend be\n  log 127.0.0.1:{} daemon\n  option log-health-checks\n\
         \x20 server s1 127.0.0.1:{srv} check inter 20ms rise 1 fall 1\n",
        syslog.port
    );
    let _sluice = Sluice::start(&cfg, &[fe]);
    syslog.line_with("Health check for server be/s1 succeeded, reason: Layer4 check passed");
    // Several more checks go by.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(status(fe), 200);
    let request = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("the server answered");
    let request = request.expect("the first connection accepted carried the request");
    assert!(request.starts_with("GET / HTTP/1.1\r\n"), "{request}");
}

#[test]
fn an_agent_reply_is_applied_before_the_agent_sees_the_close() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let agent = listener.local_addr().expect("address").port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let Ok((mut s, _)) = listener.accept() else {
            return;
        };
        let mut hello = [0u8; 5];
        let _ = s.read_exact(&mut hello);
        let _ = s.write_all(b"75%,maxconn:30,maint,down\n");
        // Wait for the close, then tell the test at once.
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
        let _ = tx.send(hello);
    });
    let stats = free_port();
    let srv = free_port();
    let cfg = format!(
        "global\n  stats socket 127.0.0.1:{stats} level admin\n\
         defaults\n  mode tcp\n  timeout client 5s\n  timeout server 5s\n  timeout connect 1s\n\
         backend be1\n  server srv 127.0.0.1:{srv} weight 100 agent-check agent-addr 127.0.0.1 agent-port {agent} agent-send pouet agent-inter 100ms\n"
    );
    let _sluice = Sluice::start(&cfg, &[stats]);
    let hello = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the agent was queried and closed");
    assert_eq!(&hello, b"pouet");
    // The moment the agent saw the close, the reply is in force.
    let state = cli(stats, "show servers state be1");
    let line = state
        .lines()
        .find(|l| l.starts_with("2 be1 1 srv "))
        .unwrap_or_else(|| panic!("{state}"));
    let fields: Vec<&str> = line.split(' ').collect();
    // srv_op_state 0 (down), srv_admin_state 1 (maintenance), srv_uweight 75.
    assert_eq!(fields.get(5..8), Some(&["0", "1", "75"][..]), "{line}");
    let stat = cli(stats, "show stat");
    assert!(stat.contains("be1,srv,0,0,0,0,30,"), "{stat}");
}

/// An SPOA that answers each connection with `reply` after reading the HAPROXY-HELLO, and
/// sends what it read to `seen`.
fn spoa(reply: &'static [u8], seen: mpsc::Sender<Vec<u8>>) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut len = [0u8; 4];
            if s.read_exact(&mut len).is_err() {
                continue;
            }
            let mut frame = vec![0u8; u32::from_be_bytes(len) as usize];
            if s.read_exact(&mut frame).is_err() {
                continue;
            }
            let _ = seen.send([&len[..], &frame].concat());
            let _ = s.write_all(reply);
        }
    });
    port
}

#[test]
fn spop_check_reads_the_agent_hello() {
    // AGENT-HELLO: version 2.0, max-frame-size 16380, capabilities "".
    const GOOD: &[u8] = b"\x00\x00\x00\x36\x65\x00\x00\x00\x01\x00\x00\
        \x07version\x08\x032.0\
        \x0emax-frame-size\x03\xfc\xf0\x06\
        \x0ccapabilities\x08\x00";
    const OLD: &[u8] = b"\x00\x00\x00\x14\x65\x00\x00\x00\x01\x00\x00\x07version\x08\x031.0";
    const EMPTY: &[u8] = b"\x00\x00\x00\x00";
    let (tx, rx) = mpsc::channel();
    let (good, old, empty) = (
        spoa(GOOD, tx.clone()),
        spoa(OLD, tx.clone()),
        spoa(EMPTY, tx),
    );
    let syslog = Syslog::new();
    let backend = |name: &str, port: u16| {
        format!(
            "backend {name}\n  log 127.0.0.1:{} daemon\n  option log-health-checks\n  option spop-check\n\
             \x20 server srv 127.0.0.1:{port} check inter 1s rise 1 fall 1\n",
            syslog.port
        )
    };
    let stats = free_port();
    let cfg = format!(
        "global\n  stats socket 127.0.0.1:{stats} level admin\n\
         defaults\n  mode tcp\n  timeout client 5s\n  timeout server 5s\n  timeout connect 1s\n{}{}{}",
        backend("good", good),
        backend("old", old),
        backend("empty", empty)
    );
    let _sluice = Sluice::start(&cfg, &[stats]);
    let hello = rx.recv_timeout(Duration::from_secs(10)).expect("a hello");
    // The HAPROXY-HELLO of a check: 78 bytes of frame, type 1, the FIN flag.
    assert_eq!(hello.len(), 82);
    assert_eq!(&hello[..9], b"\x00\x00\x00\x4e\x01\x00\x00\x00\x01");
    assert!(hello.windows(11).any(|w| w == b"healthcheck"));
    let line = syslog.line_with("server good/srv");
    assert!(
        line.contains("succeeded, reason: Layer7 check passed, info: \"SPOA server is ok\""),
        "{line}"
    );
    let line = syslog.line_with("server old/srv");
    assert!(
        line.contains("failed, reason: Layer7 invalid response, info: \"unsupported version\""),
        "{line}"
    );
    let line = syslog.line_with("server empty/srv");
    assert!(
        line.contains("failed, reason: Layer7 invalid response, info: \"invalid frame received\""),
        "{line}"
    );
}

/// An HTTP server that answers 200 to every request and sends each request to `seen`.
fn recording_server(seen: mpsc::Sender<String>) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let Some(request) = read_request(&mut s) else {
                continue;
            };
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = seen.send(request);
        }
    });
    port
}

#[test]
fn http_check_requests_carry_log_format_values_variables_and_the_server_state() {
    let (tx, rx) = mpsc::channel();
    let srv = recording_server(tx);
    let stats = free_port();
    let cfg = format!(
        "global\n  stats socket 127.0.0.1:{stats} level admin\n  node lb1\n\
         defaults\n  mode http\n  timeout client 5s\n  timeout server 5s\n  timeout connect 1s\n\
         backend be\n  option httpchk\n  unique-id-format TEST-%[be_name]=%[srv_is_up(srv),iif(up,down)]\n\
         \x20 http-check send-state\n\
         \x20 http-check set-var(check.path) str(/health)\n\
         \x20 http-check set-var-fmt(check.who) \"%[srv_name]-%[be_name]\"\n\
         \x20 http-check send meth POST uri-lf \"%[var(check.path)]\" ver HTTP/1.1 hdr host localhost hdr request-id %[unique-id] hdr x-who \"%[var(check.who)]\" body-lf \"checked %[srv_name]\"\n\
         \x20 http-check expect status 200\n\
         \x20 http-check connect\n\
         \x20 http-check unset-var(check.path)\n\
         \x20 http-check send meth GET uri-lf \"%[var(check.path)]\"\n\
         \x20 server srv 127.0.0.1:{srv} check inter 500ms rise 1 fall 1\n"
    );
    let _sluice = Sluice::start(&cfg, &[stats]);
    let first = rx.recv_timeout(Duration::from_secs(10)).expect("a check");
    let lower = first.to_ascii_lowercase();
    assert!(first.starts_with("POST /health HTTP/1.1\r\n"), "{first}");
    assert!(lower.contains("\r\nhost: localhost\r\n"), "{first}");
    // The backend's unique ID, with the server seen up.
    assert!(lower.contains("\r\nrequest-id: test-be=up\r\n"), "{first}");
    assert!(lower.contains("\r\nx-who: srv-be\r\n"), "{first}");
    assert!(lower.contains("\r\ncontent-length: 11\r\n"), "{first}");
    assert!(first.ends_with("\r\n\r\nchecked srv"), "{first}");
    let state = first
        .lines()
        .find_map(|l| l.strip_prefix("X-Haproxy-Server-State: "))
        .unwrap_or_else(|| panic!("no state header in {first}"));
    assert!(state.starts_with("UP; address=127.0.0.1; port="), "{state}");
    assert!(
        state.contains("; name=be/srv; node=lb1; weight=1/1; scur=0/0; qcur=0"),
        "{state}"
    );
    // The second request of the same check, on its own connection, without the variable:
    // the root and HAProxy's defaults (OPTIONS's version).
    let second = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("a second request");
    assert!(second.starts_with("GET / HTTP/1.0\r\n"), "{second}");
}

#[test]
fn http_checks_in_http2_with_check_proto() {
    let syslog = Syslog::new();
    let h2 = free_port();
    // A listener that speaks HTTP/2 only: an HTTP/1 check would not get its 200.
    let cfg = format!(
        "defaults\n  mode http\n  timeout client 5s\n  timeout server 5s\n  timeout connect 1s\n\
         frontend h2only\n  bind 127.0.0.1:{h2} proto h2\n  http-request return status 200\n\
         backend be\n  log 127.0.0.1:{} daemon\n  option log-health-checks\n  option httpchk GET /status HTTP/1.1\n\
         \x20 server srv 127.0.0.1:{h2} check check-proto h2 inter 100ms rise 1 fall 1\n",
        syslog.port
    );
    let _sluice = Sluice::start(&cfg, &[h2]);
    let line = syslog.line_with("Health check for server be/srv");
    assert!(
        line.contains("succeeded, reason: Layer7 check passed, code: 200"),
        "{line}"
    );
}

#[test]
fn a_healthcheck_section_gives_its_servers_their_check() {
    let (tx, rx) = mpsc::channel();
    let srv = recording_server(tx);
    let stats = free_port();
    // The backend's own check type (a plain connection) does not apply to the server that
    // names the section.
    let cfg = format!(
        "global\n  stats socket 127.0.0.1:{stats} level admin\n\
         healthcheck web\n  type httpchk GET /hc HTTP/1.1\n  http-check send hdr host checks hdr x-server %[srv_name]\n  http-check expect status 200\n\
         defaults\n  mode http\n  timeout client 5s\n  timeout server 5s\n  timeout connect 1s\n\
         backend be\n  option tcp-check\n\
         \x20 server srv 127.0.0.1:{srv} check inter 500ms rise 1 fall 1 healthcheck web\n"
    );
    let _sluice = Sluice::start(&cfg, &[stats]);
    let request = rx.recv_timeout(Duration::from_secs(10)).expect("a check");
    let lower = request.to_ascii_lowercase();
    assert!(request.starts_with("GET /hc HTTP/1.1\r\n"), "{request}");
    assert!(lower.contains("\r\nhost: checks\r\n"), "{request}");
    assert!(lower.contains("\r\nx-server: srv\r\n"), "{request}");
}
