//! `mode tcp`: bytes both ways and half-close.

mod common;

use common::Proxy;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener};

#[test]
fn relays_both_ways_and_forwards_half_close() {
    // The server reads until the client's FIN, then answers and closes: this only works if
    // the proxy forwards the FIN and keeps the other direction open.
    let server = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = server.local_addr().expect("addr");
    std::thread::spawn(move || {
        for s in server.incoming() {
            let Ok(mut s) = s else { return };
            std::thread::spawn(move || {
                let mut got = Vec::new();
                if s.read_to_end(&mut got).is_ok() {
                    let _ = s.write_all(format!("got {} bytes: ", got.len()).as_bytes());
                    let _ = s.write_all(&got);
                }
            });
        }
    });
    let cfg = format!(
        "defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\nfrontend fe\n    bind @FE@\n    default_backend be\nbackend be\n    server s1 {addr}\n"
    );
    let p = Proxy::start(&cfg);
    for size in [5usize, 300_000] {
        let payload: Vec<u8> = (0..size).map(|i| (i % 256) as u8).collect();
        let mut c = p.connect();
        let mut w = c.try_clone().expect("clone");
        let sent = payload.clone();
        let writer = std::thread::spawn(move || {
            let ok = w.write_all(&sent).is_ok();
            let _ = w.shutdown(Shutdown::Write);
            ok
        });
        let mut back = Vec::new();
        c.read_to_end(&mut back)
            .expect("read until the server closes");
        assert!(writer.join().unwrap_or(false));
        let prefix = format!("got {size} bytes: ");
        assert!(back.starts_with(prefix.as_bytes()));
        assert!(back.get(prefix.len()..) == Some(&payload[..]));
    }
}

#[test]
fn client_timeout_closes_an_idle_tunnel() {
    let server = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = server.local_addr().expect("addr");
    std::thread::spawn(move || {
        let mut keep = Vec::new();
        for s in server.incoming().flatten() {
            keep.push(s);
        }
    });
    let cfg = format!(
        "defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 300ms\n    timeout server 10s\nfrontend fe\n    bind @FE@\n    default_backend be\nbackend be\n    server s1 {addr}\n"
    );
    let p = Proxy::start(&cfg);
    let mut c = p.connect();
    let started = std::time::Instant::now();
    let mut buf = [0u8; 16];
    let n = c.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0);
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
}
