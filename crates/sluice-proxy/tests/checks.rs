//! Health checks against real sockets: servers marked down after `fall` failures and back
//! after `rise` successes, traffic only to healthy servers, backups, HTTP/TCP/redis checks,
//! and HAProxy's DOWN/UP lines.

mod common;

use common::{closed_port, request, Proxy, DEFAULTS};
use sluice_proxy::check::report::{self, Level};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A server that can be stopped (its port then refuses connections) and started again on
/// the same port.
struct Toy {
    addr: SocketAddr,
    run: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    handler: fn(TcpStream),
}

impl Toy {
    fn start(handler: fn(TcpStream)) -> Toy {
        let mut t = Toy {
            addr: "127.0.0.1:0".parse().expect("addr"),
            run: Arc::new(AtomicBool::new(false)),
            thread: None,
            handler,
        };
        t.resume();
        t
    }

    fn resume(&mut self) {
        let l = TcpListener::bind(self.addr).expect("bind toy");
        self.addr = l.local_addr().expect("addr");
        l.set_nonblocking(true).expect("nonblocking");
        let run = Arc::new(AtomicBool::new(true));
        self.run = run.clone();
        let handler = self.handler;
        self.thread = Some(std::thread::spawn(move || {
            while run.load(Ordering::SeqCst) {
                match l.accept() {
                    Ok((s, _)) => {
                        let _ = s.set_nonblocking(false);
                        std::thread::spawn(move || handler(s));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        }));
    }

    /// Closes the listening socket.
    fn pause(&mut self) {
        self.run.store(false, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Toy {
    fn drop(&mut self) {
        self.pause();
    }
}

/// Reads one request head (enough for these tests: no request bodies).
fn read_head(s: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut b).ok()? == 0 {
            return None;
        }
        head.push(b[0]);
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

fn answer(mut s: TcpStream, status: &str, name: &str) {
    while read_head(&mut s).is_some() {
        let out = format!(
            "HTTP/1.1 {status}\r\ncontent-length: {}\r\nx-server: {name}\r\n\r\n{name}",
            name.len()
        );
        if s.write_all(out.as_bytes()).is_err() {
            return;
        }
    }
}

fn a(s: TcpStream) {
    answer(s, "200 OK", "a");
}
fn b(s: TcpStream) {
    answer(s, "200 OK", "b");
}
fn c(s: TcpStream) {
    answer(s, "200 OK", "c");
}
fn broken(s: TcpStream) {
    answer(s, "500 Internal Server Error", "broken");
}

/// Waits for a health message containing `needle`.
fn wait_line(rx: &Receiver<(Level, String)>, needle: &str, within: Duration) -> String {
    let end = Instant::now() + within;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((_, line)) if line.contains(needle) => return line,
            Ok(_) => {}
            Err(_) => panic!("no message with {needle:?} within {within:?}"),
        }
    }
}

/// Sends `n` requests (one connection each) and counts the answering servers; every
/// request must succeed.
fn spread(p: &Proxy, n: usize) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for _ in 0..n {
        let mut s = p.connect();
        let m = request(
            &mut s,
            b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        )
        .expect("a response");
        assert_eq!(m.status(), 200, "{m:?}");
        *seen
            .entry(String::from_utf8_lossy(&m.body).into_owned())
            .or_insert(0) += 1;
    }
    seen
}

#[test]
fn down_after_fall_failures_and_up_after_rise_successes() {
    let rx = report::subscribe();
    let s1 = Toy::start(a);
    let mut s2 = Toy::start(b);
    let cfg = format!(
        "{DEFAULTS}frontend fe\n    bind @FE@\n    default_backend ck1\nbackend ck1\n    balance roundrobin\n    option log-health-checks\n    server s1 {} check inter 100ms rise 2 fall 2\n    server s2 {} check inter 100ms rise 2 fall 2\n",
        s1.addr, s2.addr
    );
    let p = Proxy::start(&cfg);
    // Both start up and are checked once: fully up.
    wait_line(
        &rx,
        "Health check for server ck1/s2 succeeded",
        Duration::from_secs(1),
    );
    let both = spread(&p, 4);
    assert_eq!(both.len(), 2, "{both:?}");
    s2.pause();
    // One failure is not enough with `fall 2`...
    let first = wait_line(
        &rx,
        "Health check for server ck1/s2 failed",
        Duration::from_secs(1),
    );
    assert!(first.ends_with("status: 1/2 UP."), "{first}");
    // ...the second one is.
    let down = wait_line(&rx, "Server ck1/s2 is DOWN", Duration::from_secs(1));
    // With `option log-health-checks` the result was logged already: HAProxy leaves the
    // reason out of the transition line.
    assert_eq!(
        down,
        "Server ck1/s2 is DOWN. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue."
    );
    let only = spread(&p, 6);
    assert_eq!(only.get("a"), Some(&6), "{only:?}");
    s2.resume();
    let one = wait_line(
        &rx,
        "Health check for server ck1/s2 succeeded",
        Duration::from_secs(1),
    );
    assert!(one.ends_with("status: 1/2 DOWN."), "{one}");
    let up = wait_line(&rx, "Server ck1/s2 is UP", Duration::from_secs(1));
    assert_eq!(
        up,
        "Server ck1/s2 is UP. 2 active and 0 backup servers online. 0 sessions requeued, 0 total in queue."
    );
    let back = spread(&p, 4);
    assert_eq!(back.len(), 2, "{back:?}");
}

#[test]
fn a_closed_port_is_marked_down_and_gets_no_traffic() {
    let rx = report::subscribe();
    let s1 = Toy::start(a);
    let cfg = format!(
        "{DEFAULTS}frontend fe\n    bind @FE@\n    default_backend ck2\nbackend ck2\n    balance roundrobin\n    server s1 {} check inter 100ms\n    server s2 {} check inter 100ms\n",
        s1.addr,
        closed_port()
    );
    let p = Proxy::start(&cfg);
    wait_line(
        &rx,
        "Server ck2/s2 is DOWN, reason: Layer4 connection problem",
        Duration::from_secs(1),
    );
    let seen = spread(&p, 8);
    assert_eq!(seen.get("a"), Some(&8), "{seen:?}");
}

#[test]
fn httpchk_expect_status_marks_a_500_server_down() {
    let rx = report::subscribe();
    let good = Toy::start(a);
    let bad = Toy::start(broken);
    let cfg = format!(
        "{DEFAULTS}frontend fe\n    bind @FE@\n    default_backend ck3\nbackend ck3\n    balance roundrobin\n    option httpchk GET /health\n    http-check expect status 200\n    server s1 {} check inter 100ms\n    server s2 {} check inter 100ms\n",
        good.addr, bad.addr
    );
    let p = Proxy::start(&cfg);
    let down = wait_line(&rx, "Server ck3/s2 is DOWN", Duration::from_secs(1));
    assert!(
        down.starts_with(
            "Server ck3/s2 is DOWN, reason: Layer7 wrong status, code: 500, info: \"Internal Server Error\""
        ),
        "{down}"
    );
    let seen = spread(&p, 6);
    assert_eq!(seen.get("a"), Some(&6), "{seen:?}");
}

#[test]
fn backup_takes_traffic_only_when_every_active_is_down() {
    let rx = report::subscribe();
    let mut s1 = Toy::start(a);
    let s2 = Toy::start(b);
    let s3 = Toy::start(c);
    let cfg = format!(
        "{DEFAULTS}frontend fe\n    bind @FE@\n    default_backend ck4\nbackend ck4\n    balance roundrobin\n    server s1 {} check inter 100ms fall 1\n    server s2 {} check inter 100ms backup\n    server s3 {} check inter 100ms backup\n",
        s1.addr, s2.addr, s3.addr
    );
    let p = Proxy::start(&cfg);
    let before = spread(&p, 4);
    assert_eq!(before.get("a"), Some(&4), "{before:?}");
    s1.pause();
    let down = wait_line(&rx, "Server ck4/s1 is DOWN", Duration::from_secs(1));
    assert!(
        down.contains(". 0 active and 2 backup servers left. Running on backup."),
        "{down}"
    );
    // Without `option allbackups`, only the first backup takes the traffic.
    let after = spread(&p, 4);
    assert_eq!(after.get("b"), Some(&4), "{after:?}");
}

#[test]
fn tcp_check_expect_string() {
    fn ok(mut s: TcpStream) {
        let _ = s.write_all(b"+OK ready\r\n");
        let mut buf = [0u8; 64];
        while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
    }
    fn err(mut s: TcpStream) {
        let _ = s.write_all(b"-ERR busy\r\n");
    }
    let rx = report::subscribe();
    let good = Toy::start(ok);
    let bad = Toy::start(err);
    let cfg = format!(
        "defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 2s\n    timeout server 2s\nlisten ck5\n    bind @FE@\n    option tcp-check\n    tcp-check expect string +OK\n    server s1 {} check inter 100ms\n    server s2 {} check inter 100ms\n",
        good.addr, bad.addr
    );
    let _p = Proxy::start(&cfg);
    let down = wait_line(&rx, "Server ck5/s2 is DOWN", Duration::from_secs(1));
    assert!(
        down.contains("reason: Layer7 invalid response, info: \"TCPCHK did not match content '+OK' at step 1\""),
        "{down}"
    );
    // s1 passes: no line for it comes.
    assert!(rx
        .recv_timeout(Duration::from_millis(300))
        .map_or(true, |(_, l)| !l.contains("ck5/s1")));
}

#[test]
fn redis_check_wants_pong() {
    fn pong(mut s: TcpStream) {
        let mut buf = [0u8; 64];
        let mut got = Vec::new();
        while !got.ends_with(b"PING\r\n") {
            match s.read(&mut buf) {
                Ok(n) if n > 0 => got.extend_from_slice(buf.get(..n).unwrap_or_default()),
                _ => return,
            }
        }
        assert_eq!(got, b"*1\r\n$4\r\nPING\r\n");
        let _ = s.write_all(b"+PONG\r\n");
    }
    fn loading(mut s: TcpStream) {
        let mut buf = [0u8; 64];
        let _ = s.read(&mut buf);
        let _ = s.write_all(b"-LOADING Redis is loading\r\n");
    }
    let rx = report::subscribe();
    let good = Toy::start(pong);
    let bad = Toy::start(loading);
    let cfg = format!(
        "defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 2s\n    timeout server 2s\nlisten ck6\n    bind @FE@\n    option redis-check\n    option log-health-checks\n    server s1 {} check inter 100ms\n    server s2 {} check inter 100ms\n",
        good.addr, bad.addr
    );
    let _p = Proxy::start(&cfg);
    let ok = wait_line(
        &rx,
        "Health check for server ck6/s1 succeeded",
        Duration::from_secs(1),
    );
    assert!(
        ok.contains("reason: Layer7 check passed, info: \"Redis server is ok\""),
        "{ok}"
    );
    let down = wait_line(
        &rx,
        "Health check for server ck6/s2 failed",
        Duration::from_secs(1),
    );
    assert!(
        down.contains("reason: Layer7 wrong status, info: \"-LOADING Redis is loading\""),
        "{down}"
    );
}

#[test]
fn soft_stop_ends_the_checker() {
    let s1 = Toy::start(a);
    let cfg = format!(
        "{DEFAULTS}frontend fe\n    bind @FE@\n    default_backend ck7\nbackend ck7\n    server s1 {} check inter 50ms\n",
        s1.addr
    );
    let mut p = Proxy::start(&cfg);
    std::thread::sleep(Duration::from_millis(120));
    p.stop.soft_stop();
    let started = Instant::now();
    if let Some(w) = p.worker.take() {
        w.wait();
    }
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[test]
fn track_mirrors_the_tracked_server() {
    let rx = report::subscribe();
    let s1 = Toy::start(a);
    let cfg = format!(
        "{DEFAULTS}frontend fe\n    bind @FE@\n    default_backend ck8\nbackend ck8\n    server t1 {} track ck9/s1\n    server t2 {}\nbackend ck9\n    server s1 {} check inter 100ms\n",
        closed_port(),
        s1.addr,
        closed_port()
    );
    let p = Proxy::start(&cfg);
    wait_line(&rx, "Server ck9/s1 is DOWN", Duration::from_secs(1));
    let via = wait_line(&rx, "Server ck8/t1 is DOWN", Duration::from_secs(1));
    assert!(
        via.starts_with("Server ck8/t1 is DOWN via ck9/s1. 1 active and 0 backup servers left."),
        "{via}"
    );
    let seen = spread(&p, 4);
    assert_eq!(seen.get("a"), Some(&4), "{seen:?}");
}
