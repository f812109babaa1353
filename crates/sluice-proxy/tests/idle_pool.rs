//! Idle server connections: kept for reuse, purged as HAProxy purges them (`pool-purge-delay`,
//! `pool-max-conn`), seen from a real server on 127.0.0.1 that counts the connections it
//! accepted and the ones the proxy closed.

mod common;

use common::{request, Proxy, DEFAULTS};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n";

/// A server that answers every request with `200 ok` after `delay`, and counts the
/// connections it accepted and those the other side closed.
struct Server {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    closed: Arc<AtomicUsize>,
}

impl Server {
    fn start(delay: Duration) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind server");
        let addr = listener.local_addr().expect("addr");
        let accepted = Arc::new(AtomicUsize::new(0));
        let closed = Arc::new(AtomicUsize::new(0));
        let (a, c) = (accepted.clone(), closed.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                a.fetch_add(1, Ordering::SeqCst);
                let c = c.clone();
                std::thread::spawn(move || serve(stream, delay, &c));
            }
        });
        Server {
            addr,
            accepted,
            closed,
        }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    fn closed(&self) -> usize {
        self.closed.load(Ordering::SeqCst)
    }

    /// Waits until `closed()` reaches `n` (or `limit` passes); returns how long it took.
    fn wait_closed(&self, n: usize, limit: Duration) -> Option<Duration> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if self.closed() >= n {
                return Some(start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

/// Answers each request (a head ending in an empty line, no body); counts the end.
fn serve(mut s: TcpStream, delay: Duration, closed: &AtomicUsize) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            buf.drain(..end + 4);
            std::thread::sleep(delay);
            if s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                .is_err()
            {
                break;
            }
        }
    }
    closed.fetch_add(1, Ordering::SeqCst);
}

/// One thread: its pool is the whole pool. `http-reuse always`: each client's first
/// request may use an idle connection (these tests are about the pool, not the policy).
fn config(server: &Server, options: &str) -> String {
    format!(
        "global\n    nbthread 1\n{DEFAULTS}frontend fe\n    bind @FE@\n    default_backend be\nbackend be\n    http-reuse always\n    server s1 {} {options}\n",
        server.addr
    )
}

/// Two requests on one client connection.
fn two_requests(p: &Proxy) {
    let mut c = p.connect();
    for _ in 0..2 {
        let r = request(&mut c, GET).expect("response");
        assert_eq!(r.status(), 200);
    }
}

#[test]
fn safe_reuse_gives_first_requests_their_own_connection_and_later_ones_any() {
    let s = Server::start(Duration::ZERO);
    let cfg = format!(
        "global\n    nbthread 2\n{DEFAULTS}frontend fe\n    bind @FE@\n    default_backend be\nbackend be\n    server s1 {} pool-max-conn 1\n",
        s.addr
    );
    let p = Proxy::start(&cfg);
    one_request(&p);
    assert_eq!(s.accepted(), 1);
    // The next client's first request opens a connection; its second one reuses an idle
    // connection, whichever thread keeps it.
    two_requests(&p);
    assert_eq!(s.accepted(), 2);
    two_requests(&p);
    assert_eq!(s.accepted(), 3);
}

#[test]
fn idle_connections_are_taken_over_from_another_thread() {
    let s = Server::start(Duration::ZERO);
    let cfg = format!(
        "global\n    nbthread 2\n{DEFAULTS}frontend fe\n    bind @FE@\n    default_backend be\nbackend be\n    http-reuse always\n    server s1 {} pool-max-conn 1\n",
        s.addr
    );
    let p = Proxy::start(&cfg);
    // Clients land on either thread; the one idle connection serves them all.
    for _ in 0..12 {
        one_request(&p);
    }
    assert_eq!(s.accepted(), 1);
}

#[test]
fn aggressive_reuse_gives_first_requests_only_proven_connections() {
    let s = Server::start(Duration::ZERO);
    let cfg = format!(
        "global\n    nbthread 2\n{DEFAULTS}frontend fe\n    bind @FE@\n    default_backend be\nbackend be\n    http-reuse aggressive\n    server s1 {}\n",
        s.addr
    );
    let p = Proxy::start(&cfg);
    // Used once: not proven, the next first request opens another.
    one_request(&p);
    one_request(&p);
    assert_eq!(s.accepted(), 2);
    // A client's second request may use any idle one, which is then proven.
    two_requests(&p);
    let after = s.accepted();
    assert!(after <= 3, "{after}");
    // First requests now find a proven connection.
    one_request(&p);
    one_request(&p);
    assert_eq!(s.accepted(), after);
}

/// One request on a new client connection, which is then closed.
fn one_request(p: &Proxy) {
    let mut c = p.connect();
    let r = request(&mut c, GET).expect("response");
    assert_eq!(r.status(), 200);
    assert_eq!(r.body, b"ok");
}

/// `n` requests at once, each on its own client connection, so that the proxy opens `n`
/// server connections (the server answers after `delay`).
fn simultaneous_requests(p: &Proxy, n: usize) {
    let clients: Vec<TcpStream> = (0..n)
        .map(|_| {
            let mut c = p.connect();
            c.write_all(GET).expect("send");
            c
        })
        .collect();
    for mut c in clients {
        let mut r = std::io::BufReader::new(c.try_clone().expect("clone"));
        let m = common::read_message(&mut r, true).expect("response");
        assert_eq!(m.status(), 200);
        c.flush().ok();
    }
}

#[test]
fn idle_server_connection_is_reused_then_closed_after_pool_purge_delay() {
    let s = Server::start(Duration::ZERO);
    let p = Proxy::start(&config(&s, "pool-purge-delay 1s"));
    one_request(&p);
    one_request(&p);
    // The second client found the first one's server connection idle and reused it.
    assert_eq!(s.accepted(), 1);
    assert_eq!(s.closed(), 0);
    // Unused for a whole purge delay: closed at the next purge (the heartbeat runs each
    // second, so between 1 and 2 seconds after it was kept).
    let took = s
        .wait_closed(1, Duration::from_secs(5))
        .expect("the idle server connection was never closed");
    assert!(took >= Duration::from_millis(700), "closed after {took:?}");
    assert_eq!(s.accepted(), 1);
}

#[test]
fn idle_server_connection_stays_open_within_the_default_purge_delay() {
    let s = Server::start(Duration::ZERO);
    let p = Proxy::start(&config(&s, ""));
    one_request(&p);
    // HAProxy's default pool-purge-delay is 5 s.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(s.closed(), 0);
    one_request(&p);
    assert_eq!(s.accepted(), 1);
}

#[test]
fn pool_max_conn_0_never_keeps_a_server_connection() {
    let s = Server::start(Duration::ZERO);
    let p = Proxy::start(&config(&s, "pool-max-conn 0"));
    for i in 1..=3 {
        one_request(&p);
        assert_eq!(s.accepted(), i);
        assert!(
            s.wait_closed(i, Duration::from_secs(2)).is_some(),
            "server connection {i} was kept"
        );
    }
}

#[test]
fn pool_purge_delay_0_never_keeps_a_server_connection() {
    let s = Server::start(Duration::ZERO);
    let p = Proxy::start(&config(&s, "pool-purge-delay 0"));
    for i in 1..=2 {
        one_request(&p);
        assert_eq!(s.accepted(), i);
        assert!(
            s.wait_closed(i, Duration::from_secs(2)).is_some(),
            "server connection {i} was kept"
        );
    }
}

#[test]
fn pool_max_conn_bounds_the_idle_connections_kept() {
    let s = Server::start(Duration::from_millis(300));
    let p = Proxy::start(&config(&s, "pool-max-conn 2"));
    simultaneous_requests(&p, 4);
    assert_eq!(s.accepted(), 4);
    // Two are kept, the other two are closed as their responses end.
    assert!(s.wait_closed(2, Duration::from_secs(2)).is_some());
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(s.closed(), 2);
    // The two kept are reused.
    simultaneous_requests(&p, 2);
    assert_eq!(s.accepted(), 4);
}

#[test]
fn each_purge_closes_half_of_the_unused_idle_connections() {
    let s = Server::start(Duration::from_millis(300));
    let p = Proxy::start(&config(&s, "pool-purge-delay 1s"));
    simultaneous_requests(&p, 4);
    assert_eq!(s.accepted(), 4);
    assert_eq!(s.closed(), 0);
    // First purge: half of the 4 unused ones; then half of the 2 left; then the last one.
    let mut seen = Vec::new();
    let start = Instant::now();
    while s.closed() < 4 && start.elapsed() < Duration::from_secs(10) {
        let n = s.closed();
        if seen.last() != Some(&n) {
            seen.push(n);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    seen.push(s.closed());
    assert_eq!(seen, vec![0, 2, 3, 4], "closed counts over time");
}
