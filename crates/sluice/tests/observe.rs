//! End-to-end: `observe layer7|layer4` with `error-limit` and `on-error mark-down`: the
//! traffic a server serves takes it down, without waiting for a health check.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

mod common;
use common::free_port;
use common::http::*;

/// A server answering every request with `status` (one request per connection).
fn status_server(status: u16) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { return };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
        }
    });
    port
}

/// A check target that accepts connections and never answers: no check ever completes.
fn silent_server() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("address").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in l.incoming() {
            held.extend(s.ok());
        }
    });
    port
}

#[test]
fn consecutive_server_errors_mark_the_server_down() {
    let fe = free_port();
    let (ok, ko, sink) = (status_server(404), status_server(500), silent_server());
    let cfg = format!(
        "global\n    chroot /\n\
         defaults\n    mode http\n    retries 0\n    option httpchk GET /\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n    timeout check 1h\n\
         frontend fe\n    bind 127.0.0.1:{fe}\n    use_backend fine if {{ path_beg /fine }}\n    default_backend failing\n\
         backend fine\n    server s1 127.0.0.1:{ok} check addr 127.0.0.1 port {sink} inter 100ms observe layer7 error-limit 2 on-error mark-down\n\
         backend failing\n    server s1 127.0.0.1:{ko} check addr 127.0.0.1 port {sink} inter 100ms observe layer7 error-limit 2 on-error mark-down\n"
    );
    let _sluice = Sluice::start(&cfg, &[fe]);
    // A 404 is an answer, not a server error: the server stays.
    for _ in 0..3 {
        let (head, _) = request(&mut connect(fe), "/fine", "");
        assert!(head.starts_with("http/1.1 404"), "{head}");
    }
    // Two 500s in a row reach the limit: the server is down, the backend has none left.
    for _ in 0..2 {
        let (head, _) = request(&mut connect(fe), "/", "");
        assert!(head.starts_with("http/1.1 500"), "{head}");
    }
    std::thread::sleep(Duration::from_millis(50));
    let (head, _) = request(&mut connect(fe), "/", "");
    assert!(head.starts_with("http/1.1 503"), "{head}");
    let (head, _) = request(&mut connect(fe), "/fine", "");
    assert!(head.starts_with("http/1.1 404"), "{head}");
}

#[test]
fn bad_observe_and_agent_values_are_configuration_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    for (option, expected) in [
        (
            "observe layer9",
            "'observe' expects one of none, layer4, layer7, got 'layer9'",
        ),
        (
            "observe layer7 on-error reboot",
            "'on-error' expects one of",
        ),
        ("observe layer7 error-limit 0", "error-limit"),
        ("agent-check agent-port 70000", "agent-port"),
        ("agent-check agent-port 9 agent-inter soon", "agent-inter"),
    ] {
        let path = dir.path().join("h.cfg");
        std::fs::write(
            &path,
            format!(
                "defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\
                 backend be\n    server s1 127.0.0.1:8080 {option}\n"
            ),
        )
        .expect("write");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["-c", "--check-env=off", "-f"])
            .arg(&path)
            .output()
            .expect("run sluice -c");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{option}: {err}");
        assert!(err.contains("h.cfg:7]"), "{option}: {err}");
        assert!(err.contains(expected), "{option}: {err}");
    }
}
