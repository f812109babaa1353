//! End to end: two Sluice processes synchronise a stick table with the peers protocol —
//! what one counts, the other's `show table` shows, and a peer that starts later learns
//! what was counted before it came.

mod common;

use common::http::{connect, request};
use common::{free_port, Dir};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A Sluice process started with `-L <name>`; killed when dropped.
struct Peer {
    child: Child,
    socket: PathBuf,
}

impl Peer {
    fn start(dir: &Dir, name: &str, cfg: &str, fe_port: u16) -> Peer {
        Self::launch(dir, name, cfg, fe_port, &["-L", name])
    }

    /// Starts the process named `name` (its files are named after it) with `args`.
    fn launch(dir: &Dir, name: &str, cfg: &str, fe_port: u16, args: &[&str]) -> Peer {
        let path = dir.write(&format!("{name}.cfg"), cfg);
        let child = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(args)
            .arg("-f")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sluice");
        let peer = Peer {
            child,
            socket: dir.path().join(format!("{name}.sock")),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", fe_port)).is_err() || !peer.socket.exists()
        {
            assert!(Instant::now() < deadline, "peer {name} does not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        peer
    }

    fn show_table(&self, table: &str) -> String {
        cli(&self.socket, &format!("show table {table}"))
    }

    /// `show table` once it contains every one of `wanted`, else fails with the last output.
    fn wait_table(&self, table: &str, wanted: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(8);
        loop {
            let out = self.show_table(table);
            if wanted.iter().all(|w| out.contains(w)) {
                return out;
            }
            assert!(Instant::now() < deadline, "expected {wanted:?} in:\n{out}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cli(path: &Path, line: &str) -> String {
    // The socket's file appears when it is bound, a moment before it listens.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut s = loop {
        match UnixStream::connect(path) {
            Ok(s) => break s,
            Err(e) if Instant::now() >= deadline => panic!("connect to the stats socket: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s.write_all(format!("{line}\n").as_bytes()).expect("send");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("answer");
    out
}

fn get(port: u16, path: &str) {
    let mut s = connect(port);
    let (head, _) = request(&mut s, path, "connection: close\r\n");
    assert!(
        head.to_ascii_lowercase().starts_with("http/1.1 200"),
        "{head}"
    );
}

/// A process named `name` whose frontend on `fe` tracks paths in `stkt`, shared through
/// `peers_lines`.
fn config(dir: &Dir, name: &str, fe: u16, peers_lines: &str) -> String {
    format!(
        "global\n    stats socket {}/{name}.sock level admin\n\
         defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\
         backend stkt\n    stick-table type string size 1m store gpc0,conn_cur,conn_rate(10s),http_req_cnt peers mesh\n\
         peers mesh\n{peers_lines}\
         frontend fe\n    bind 127.0.0.1:{fe}\n\
         \x20   http-request track-sc0 path table stkt\n\
         \x20   http-request sc-inc-gpc0(0)\n\
         \x20   http-request return status 200\n",
        dir.path().display()
    )
}

#[test]
fn what_one_peer_counts_the_other_shows() {
    let dir = Dir::new();
    let (a_peer, b_peer, a_fe, b_fe) = (free_port(), free_port(), free_port(), free_port());
    // A declares the peers with `peer` lines (the local one is where it listens), B with
    // `bind` and `server` lines.
    let a = Peer::start(
        &dir,
        "A",
        &config(
            &dir,
            "A",
            a_fe,
            &format!("    peer A 127.0.0.1:{a_peer}\n    peer B 127.0.0.1:{b_peer}\n"),
        ),
        a_fe,
    );
    let b = Peer::start(
        &dir,
        "B",
        &config(
            &dir,
            "B",
            b_fe,
            &format!(
                "    bind 127.0.0.1:{b_peer}\n    server A 127.0.0.1:{a_peer}\n    server B\n"
            ),
        ),
        b_fe,
    );
    get(a_fe, "/from-a");
    get(a_fe, "/from-a");
    let on_b = b.wait_table("stkt", &["key=/from-a", "gpc0=2", "http_req_cnt=2"]);
    assert!(
        on_b.contains("conn_rate(10000)=2"),
        "rates travel too:\n{on_b}"
    );
    assert!(
        on_b.contains("use=0") && on_b.contains("conn_cur=0"),
        "conn_cur stays local:\n{on_b}"
    );
    get(b_fe, "/from-b");
    let on_a = a.wait_table("stkt", &["key=/from-b", "gpc0=1"]);
    assert!(on_a.contains("key=/from-a"), "{on_a}");
    // Nothing travels back: A's entry is counted once on A.
    std::thread::sleep(Duration::from_millis(300));
    let on_a = a.show_table("stkt");
    assert!(on_a.contains("used:2"), "{on_a}");
    let line = on_a
        .lines()
        .find(|l| l.contains("key=/from-a"))
        .expect("entry");
    assert!(line.contains("gpc0=2 "), "{line}");
}

#[test]
fn a_peer_that_starts_later_learns_the_table() {
    let dir = Dir::new();
    let (a_peer, b_peer, a_fe, b_fe) = (free_port(), free_port(), free_port(), free_port());
    let peers = format!("    peer A 127.0.0.1:{a_peer}\n    peer B 127.0.0.1:{b_peer}\n");
    let a = Peer::start(&dir, "A", &config(&dir, "A", a_fe, &peers), a_fe);
    for _ in 0..3 {
        get(a_fe, "/early");
    }
    a.wait_table("stkt", &["key=/early", "gpc0=3"]);
    let b = Peer::start(&dir, "B", &config(&dir, "B", b_fe, &peers), b_fe);
    b.wait_table("stkt", &["key=/early", "gpc0=3", "http_req_cnt=3"]);
}

/// HAProxy, when installed: the protocol is HAProxy's, so a Sluice process can join a
/// cluster of HAProxy processes (a migration). Skipped without `haproxy` on the PATH.
#[test]
fn sluice_and_haproxy_share_a_table() {
    let installed = Command::new("haproxy")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        eprintln!("haproxy is not installed: skipped");
        return;
    }
    let dir = Dir::new();
    let (a_peer, b_peer, a_fe, b_fe) = (free_port(), free_port(), free_port(), free_port());
    let peers = format!("    peer A 127.0.0.1:{a_peer}\n    peer B 127.0.0.1:{b_peer}\n");
    let a = Peer::start(&dir, "A", &config(&dir, "A", a_fe, &peers), a_fe);
    let b_cfg = dir.write("B.cfg", &config(&dir, "B", b_fe, &peers));
    let child = Command::new("haproxy")
        .args(["-L", "B", "-f"])
        .arg(&b_cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start haproxy");
    let b = Peer {
        child,
        socket: dir.path().join("B.sock"),
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", b_fe)).is_err() || !b.socket.exists() {
        assert!(Instant::now() < deadline, "haproxy does not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    get(a_fe, "/from-sluice");
    get(a_fe, "/from-sluice");
    b.wait_table("stkt", &["key=/from-sluice", "gpc0=2", "http_req_cnt=2"]);
    get(b_fe, "/from-haproxy");
    let on_a = a.wait_table("stkt", &["key=/from-haproxy", "gpc0=1", "http_req_cnt=1"]);
    assert!(on_a.contains("conn_rate(10000)=1"), "{on_a}");
}

/// Without `-L`, the global `localpeer` keyword names the local peer.
#[test]
fn localpeer_names_the_local_peer() {
    let dir = Dir::new();
    let (a_peer, b_peer, a_fe, b_fe) = (free_port(), free_port(), free_port(), free_port());
    let peers = format!("    peer A 127.0.0.1:{a_peer}\n    peer B 127.0.0.1:{b_peer}\n");
    let a = Peer::start(&dir, "A", &config(&dir, "A", a_fe, &peers), a_fe);
    let b_cfg =
        config(&dir, "B", b_fe, &peers).replacen("global\n", "global\n    localpeer B\n", 1);
    let b = Peer::launch(&dir, "B", &b_cfg, b_fe, &[]);
    get(b_fe, "/named-by-localpeer");
    a.wait_table("stkt", &["key=/named-by-localpeer", "gpc0=1"]);
    drop(b);
}
