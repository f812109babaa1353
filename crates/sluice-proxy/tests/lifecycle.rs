//! Listeners (bind, export, adopt) and stopping.

mod common;

use common::{request, Backend, Behaviour, Proxy, DEFAULTS};
use sluice_config::{read_str, ReadOptions};
use sluice_model::{build, BuildOptions};
use sluice_proxy::BoundListeners;
use std::net::TcpListener;
use std::time::Duration;

fn model(text: &str) -> sluice_model::Model {
    let (tree, _) = read_str("t.cfg", text, &ReadOptions::default());
    build(&tree, &BuildOptions::default()).0
}

#[test]
fn inherited_fd_is_adopted_and_serves() {
    // Every proxy in these tests listens on `fd@N` of a socket the test bound; this one
    // also checks the answer.
    let b = Backend::start("s1", Behaviour::Name);
    let p = Proxy::start(&format!(
        "{DEFAULTS}frontend fe\n    bind @FE@\n    default_backend be\nbackend be\n    server s1 {}\n",
        b.addr
    ));
    let mut c = p.connect();
    assert_eq!(
        request(&mut c, b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").map(|r| r.status()),
        Some(200)
    );
}

#[test]
fn port_in_use_is_reported_with_the_os_reason() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let m = model(&format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    server s1 127.0.0.1:1\n"
    ));
    let err = BoundListeners::bind_all(&m).expect_err("port is taken");
    assert_eq!(err.len(), 1);
    let msg = &err[0].message;
    assert!(
        msg.contains("cannot bind socket (Address already in use)"),
        "{msg}"
    );
    assert!(err[0].location.is_some());
}

#[test]
fn export_then_adopt_keeps_the_sockets() {
    let free = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = free.local_addr().expect("addr").port();
    drop(free);
    let m = model(&format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    server s1 127.0.0.1:1\n"
    ));
    let bound = BoundListeners::bind_all(&m).expect("bind");
    let exported = bound.export();
    assert_eq!(exported.len(), 1);
    assert_eq!(exported[0].0, format!("fe|127.0.0.1:{port}|{port}"));
    // Simulate the worker side: duplicate the fds as a re-exec would inherit them.
    let dup: Vec<(String, i32)> = exported
        .iter()
        .map(|(k, fd)| {
            // SAFETY: `fd` is open (owned by `bound`); dup only returns a new descriptor.
            (k.clone(), unsafe { libc::dup(*fd) })
        })
        .collect();
    let adopted = BoundListeners::adopt(&m, &dup).expect("adopt");
    assert_eq!(adopted.len(), 1);
    let unknown = vec![("nope|x|1".to_string(), dup[0].1)];
    assert!(BoundListeners::adopt(&m, &unknown).is_err());
}

#[test]
fn soft_stop_lets_an_in_flight_request_finish() {
    let b = Backend::start("slow", Behaviour::Slow(500));
    let mut p = Proxy::start(&format!(
        "{DEFAULTS}frontend fe\n    bind @FE@\n    default_backend be\nbackend be\n    server s1 {}\n",
        b.addr
    ));
    let mut c = p.connect();
    let stop = p.stop.clone();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(150));
        stop.soft_stop();
    });
    let r = request(&mut c, b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").expect("response");
    assert_eq!(r.status(), 200);
    assert_eq!(r.body, b"slow");
    assert_eq!(r.header("connection"), Some("close"));
    let _ = stopper.join();
    if let Some(w) = p.worker.take() {
        w.wait();
    }
    assert!(
        std::net::TcpStream::connect(p.addr).is_err(),
        "still accepting"
    );
}
