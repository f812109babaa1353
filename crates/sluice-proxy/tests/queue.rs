//! Server `maxconn` with the backend queue: waiting, `timeout queue`, `maxqueue`; and
//! `retry-on` with `option redispatch`.

mod common;

use common::{request, Backend, Behaviour, Proxy, DEFAULTS};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n";

fn cfg(extra_defaults: &str, servers: &str) -> String {
    format!("{DEFAULTS}{extra_defaults}frontend fe\n    bind @FE@\n    default_backend be\nbackend be\n    balance roundrobin\n{servers}")
}

/// Sends `n` requests at once, each on its own connection; returns the statuses.
fn concurrent(p: &Proxy, n: usize, stagger: Duration) -> Vec<u16> {
    let addr = p.addr;
    let handles: Vec<_> = (0..n)
        .map(|i| {
            std::thread::sleep(if i == 0 { Duration::ZERO } else { stagger });
            std::thread::spawn(move || {
                let mut c = std::net::TcpStream::connect(addr).expect("connect");
                c.set_read_timeout(Some(Duration::from_secs(10))).ok();
                request(&mut c, GET).map_or(0, |r| r.status())
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap_or(0)).collect()
}

#[test]
fn maxconn_one_queues_the_second_request() {
    let b = Backend::start("s1", Behaviour::Slow(300));
    let p = Proxy::start(&cfg("", &format!("    server s1 {} maxconn 1\n", b.addr)));
    let started = Instant::now();
    let statuses = concurrent(&p, 2, Duration::from_millis(50));
    assert_eq!(statuses, vec![200, 200]);
    // One after the other: the server never had two at once.
    assert!(
        started.elapsed() >= Duration::from_millis(550),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(b.requests(), 2);
}

#[test]
fn timeout_queue_answers_503() {
    let b = Backend::start("s1", Behaviour::Slow(800));
    let p = Proxy::start(&cfg(
        "    timeout queue 200ms\n",
        &format!("    server s1 {} maxconn 1\n", b.addr),
    ));
    let statuses = concurrent(&p, 2, Duration::from_millis(50));
    assert_eq!(statuses, vec![200, 503]);
    assert_eq!(b.requests(), 1);
}

#[test]
fn maxqueue_refuses_beyond_the_wait_list() {
    let b = Backend::start("s1", Behaviour::Slow(400));
    let p = Proxy::start(&cfg(
        "",
        &format!("    server s1 {} maxconn 1 maxqueue 1\n", b.addr),
    ));
    let mut statuses = concurrent(&p, 3, Duration::from_millis(50));
    statuses.sort_unstable();
    assert_eq!(statuses, vec![200, 200, 503]);
}

#[test]
fn queued_requests_use_whichever_server_frees_first() {
    let a = Backend::start("a", Behaviour::Slow(300));
    let b = Backend::start("b", Behaviour::Slow(300));
    let p = Proxy::start(&cfg(
        "",
        &format!(
            "    server a {} maxconn 1\n    server b {} maxconn 1\n",
            a.addr, b.addr
        ),
    ));
    let statuses = concurrent(&p, 4, Duration::from_millis(20));
    assert_eq!(statuses, vec![200; 4]);
    assert_eq!(a.requests() + b.requests(), 4);
}

/// A backend answering every request with `status`, counting them.
fn fixed(status: u16) -> (SocketAddr, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    let n = Arc::new(AtomicUsize::new(0));
    let count = n.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(s) = s else { return };
            let count = count.clone();
            std::thread::spawn(move || {
                let Ok(mut w) = s.try_clone() else { return };
                let mut r = BufReader::new(s);
                let mut line = String::new();
                loop {
                    line.clear();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    if line == "\r\n" {
                        count.fetch_add(1, Ordering::SeqCst);
                        let out = format!(
                            "HTTP/1.1 {status} X\r\ncontent-length: 2\r\n\r\n{:02}",
                            status % 100
                        );
                        if w.write_all(out.as_bytes()).is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    (addr, n)
}

#[test]
fn retry_on_503_goes_to_another_server() {
    let (bad, bad_n) = fixed(503);
    let (good, good_n) = fixed(200);
    let p = Proxy::start(&cfg(
        "    retries 1\n    retry-on 503\n    option redispatch\n",
        &format!("    server bad {bad}\n    server good {good}\n"),
    ));
    let mut c = p.connect();
    for _ in 0..6 {
        let r = request(&mut c, GET).expect("response");
        assert_eq!(r.status(), 200);
    }
    assert_eq!(good_n.load(Ordering::SeqCst), 6);
    // Requests the balancer sent to the bad server were replayed on the good one (the
    // redispatch moves round robin on, so the next pick is the bad server again).
    assert!(bad_n.load(Ordering::SeqCst) >= 1);
}

#[test]
fn without_retry_on_the_503_is_forwarded() {
    let (bad, _) = fixed(503);
    let p = Proxy::start(&cfg(
        "    retries 1\n    option redispatch\n",
        &format!("    server bad {bad}\n"),
    ));
    let mut c = p.connect();
    assert_eq!(request(&mut c, GET).map(|r| r.status()), Some(503));
}
