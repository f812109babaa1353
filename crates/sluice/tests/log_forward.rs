//! End-to-end: rings, log forwarding and log backends with the real binary. Syslog senders
//! and receivers are sockets of the test on 127.0.0.1.
//!
//! - `log-forward` receives syslog over UDP and TCP (octet-counted and LF-framed) and sends
//!   it again in each target's format, keeping the message's priority, tag and pid;
//! - a ring forwards its events to a TCP server, and `show events` dumps it;
//! - a `log-profile` rewrites or drops the line of each `log-steps` step;
//! - a `mode log` backend spreads lines over its UDP servers (round robin), and `sticky`
//!   keeps one server until it is disabled on the runtime API.
//!
//! The frontends have `option dontlognull`: the readiness probe of the test harness (a
//! connection closed before any request) is logged otherwise, as HAProxy logs it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

mod common;
use common::free_port;
use common::http::Sluice;

/// A UDP syslog receiver.
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

    /// The next line, within 5 s.
    fn next(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut buf = [0u8; 4096];
        while Instant::now() < deadline {
            if let Ok(n) = self.sock.recv(&mut buf) {
                return String::from_utf8_lossy(&buf[..n]).into_owned();
            }
        }
        panic!("no syslog line on port {}", self.port);
    }

    /// Whether a line arrives within `wait`.
    fn quiet(&self, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        let mut buf = [0u8; 4096];
        while Instant::now() < deadline {
            if self.sock.recv(&mut buf).is_ok() {
                return false;
            }
        }
        true
    }
}

fn cli(port: u16, command: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the runtime API");
    s.write_all(format!("{command}\n").as_bytes())
        .expect("send");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn forwarded_messages_keep_their_header_in_the_targets_format() {
    let udp_in = free_port();
    let tcp_in = free_port();
    let rfc5424 = Syslog::new();
    let local = Syslog::new();
    let cfg = format!(
        "log-forward relay\n  dgram-bind 127.0.0.1:{udp_in}\n  bind 127.0.0.1:{tcp_in}\n  log 127.0.0.1:{} format rfc5424 local0\n  log 127.0.0.1:{} local0\n",
        rfc5424.port, local.port
    );
    let _sluice = Sluice::start(&cfg, &[tcp_in]);

    // RFC 3164 over UDP: priority, tag and pid are kept; the host is the sender's address.
    let sender = UdpSocket::bind("127.0.0.1:0").expect("bind sender");
    sender
        .send_to(
            b"<133>Oct  6 00:00:00 app[42]: over udp",
            ("127.0.0.1", udp_in),
        )
        .expect("send");
    let line = rfc5424.next();
    assert!(line.starts_with("<133>1 "), "{line}");
    assert!(line.ends_with(" 127.0.0.1 app 42 - - over udp\n"), "{line}");
    let line = local.next();
    assert_eq!(line, "<133>Oct  6 00:00:00 app[42]: over udp\n");

    // RFC 5424 over TCP, octet-counted then LF-framed on the same connection.
    let mut tcp = TcpStream::connect(("127.0.0.1", tcp_in)).expect("connect");
    let first = "<134>1 2026-10-06T00:00:00Z host app - - - first";
    tcp.write_all(format!("{} {first}", first.len()).as_bytes())
        .expect("send");
    tcp.write_all(b"<131>1 2026-10-06T00:00:01Z host app 7 - - second\n")
        .expect("send");
    let line = rfc5424.next();
    assert_eq!(line, "<134>1 2026-10-06T00:00:00Z host app - - - first\n");
    let line = rfc5424.next();
    assert_eq!(line, "<131>1 2026-10-06T00:00:01Z host app 7 - - second\n");
    let line = local.next();
    assert!(
        line.starts_with("<134>") && line.ends_with(" app: first\n"),
        "{line}"
    );
    let line = local.next();
    assert!(line.ends_with(" app[7]: second\n"), "{line}");
}

#[test]
fn a_ring_keeps_its_events_and_feeds_its_server() {
    let fe = free_port();
    let stats = free_port();
    let be = common::http::echo_server(Duration::ZERO);
    let server = TcpListener::bind("127.0.0.1:0").expect("bind ring server");
    let server_port = server.local_addr().expect("address").port();
    let cfg = format!(
        "global\n  stats socket 127.0.0.1:{stats} level admin\n\
         ring buf\n  format rfc5424\n  size 16384\n  server s1 127.0.0.1:{server_port}\n\
         defaults\n  mode http\n  timeout connect 5s\n  timeout client 5s\n  timeout server 5s\n\
         frontend fe\n  bind 127.0.0.1:{fe}\n  option dontlognull\n  log ring@buf local0\n  log-format \"path=%[capture.req.uri]\"\n  default_backend be\n\
         backend be\n  server s1 127.0.0.1:{be}\n"
    );
    let _sluice = Sluice::start(&cfg, &[fe, stats]);
    let mut c = common::http::connect(fe);
    let (head, _) = common::http::request(&mut c, "/first", "");
    assert!(head.starts_with("http/1.1 200"), "{head}");
    drop(c);

    // The ring's server gets each event on its own line, with the ring's header.
    server.set_nonblocking(false).expect("blocking accept");
    let (conn, _) = server.accept().expect("the ring connects");
    conn.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut line = String::new();
    BufReader::new(conn).read_line(&mut line).expect("an event");
    assert!(line.starts_with("<134>1 "), "{line}");
    assert!(line.ends_with(" - - path=/first\n"), "{line}");

    // The runtime API shows what the ring keeps.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let events = cli(stats, "show events buf");
        if events.contains("path=/first\n") {
            break;
        }
        assert!(Instant::now() < deadline, "{events}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_log_backend_balances_and_fails_over() {
    let fe = free_port();
    let stats = free_port();
    let be = common::http::echo_server(Duration::ZERO);
    let (a, b) = (Syslog::new(), Syslog::new());
    let (s1, s2) = (Syslog::new(), Syslog::new());
    let cfg = format!(
        "global\n  stats socket 127.0.0.1:{stats} level admin\n\
         defaults\n  mode http\n  timeout connect 5s\n  timeout client 5s\n  timeout server 5s\n\
         frontend fe\n  bind 127.0.0.1:{fe}\n  option dontlognull\n  log backend@spread local0\n  log backend@failover local0\n  log-format \"path=%[capture.req.uri]\"\n  default_backend be\n\
         backend be\n  server s1 127.0.0.1:{be}\n\
         backend spread\n  mode log\n  balance roundrobin\n  server a udp@127.0.0.1:{}\n  server b udp@127.0.0.1:{}\n\
         backend failover\n  mode log\n  balance sticky\n  server s1 udp@127.0.0.1:{}\n  server s2 udp@127.0.0.1:{}\n",
        a.port, b.port, s1.port, s2.port
    );
    let _sluice = Sluice::start(&cfg, &[fe, stats]);
    let get = |path: &str| {
        let mut c = common::http::connect(fe);
        let (head, _) = common::http::request(&mut c, path, "");
        assert!(head.starts_with("http/1.1 200"), "{head}");
    };
    for i in 0..4 {
        get(&format!("/{i}"));
    }
    // Round robin: two lines each.
    let mut got = [a.next(), a.next(), b.next(), b.next()];
    got.sort();
    assert!(got.iter().all(|l| l.contains("path=/")), "{got:?}");
    assert!(a.quiet(Duration::from_millis(300)) && b.quiet(Duration::ZERO));
    // Sticky: s1 takes all four, then s2 once s1 is disabled.
    for _ in 0..4 {
        assert!(s1.next().contains("path=/"));
    }
    assert!(s2.quiet(Duration::from_millis(300)));
    let answer = cli(stats, "disable server failover/s1");
    assert!(!answer.contains("No such"), "{answer}");
    get("/after");
    assert!(s2.next().ends_with("path=/after\n"));
    assert!(s1.quiet(Duration::from_millis(300)));
}

#[test]
fn a_log_profile_formats_each_step() {
    let fe = free_port();
    let be = common::http::echo_server(Duration::ZERO);
    let plain = Syslog::new();
    let profiled = Syslog::new();
    let cfg = format!(
        "defaults\n  mode http\n  timeout connect 5s\n  timeout client 5s\n  timeout server 5s\n\
         frontend fe\n  bind 127.0.0.1:{fe}\n  option dontlognull\n  log-format \"line %OG\"\n  log-steps request,close\n\
         \x20 log 127.0.0.1:{} local0\n  log 127.0.0.1:{} format rfc5424 profile p local0\n  default_backend be\n\
         backend be\n  server s1 127.0.0.1:{be}\n\
         log-profile p\n  log-tag custom\n  on request drop\n  on close format \"done %[capture.req.uri]\" sd \"[x@1 y=\\\"1\\\"]\"\n",
        plain.port, profiled.port
    );
    let _sluice = Sluice::start(&cfg, &[fe]);
    let mut c = common::http::connect(fe);
    let (head, _) = common::http::request(&mut c, "/p", "");
    assert!(head.starts_with("http/1.1 200"), "{head}");
    drop(c);
    // Without a profile: the proxy's format at each step.
    assert!(plain.next().ends_with(": line txn_request\n"));
    assert!(plain.next().ends_with(": line txn_close\n"));
    // The profile drops the request step and rewrites the close, tag and structured data.
    let line = profiled.next();
    assert!(
        line.contains(" custom ") && line.ends_with(" - [x@1 y=\"1\"] done /p\n"),
        "{line}"
    );
    assert!(profiled.quiet(Duration::from_millis(300)));
}
