//! End to end: stick tables with the real binary — rate limiting, connection limits,
//! persistence, the runtime API's `show table`/`clear table`/`set table`, and the checks
//! `-c` makes of table references.

mod common;

use common::http::{connect, echo_server, request, Sluice};
use common::{free_port, Dir};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

const DEFAULTS: &str = "defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n";

fn status(head: &str) -> u16 {
    head.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// One request on a new connection: its status.
fn get_status(port: u16, path: &str) -> u16 {
    let mut s = connect(port);
    status(&request(&mut s, path, "connection: close\r\n").0)
}

/// One command's answer, without the empty line that ends every answer.
fn cli(path: &Path, line: &str) -> String {
    let mut s = UnixStream::connect(path).expect("connect to the stats socket");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s.write_all(format!("{line}\n").as_bytes()).expect("send");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("answer");
    assert!(out.ends_with('\n'), "{out:?}");
    out.pop();
    out
}

fn wait_for(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "no stats socket at {}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_fourth_request_in_the_window_gets_429() {
    let port = free_port();
    let server = echo_server(Duration::ZERO);
    let cfg = format!(
        "{DEFAULTS}\nfrontend fe\n    bind 127.0.0.1:{port}\n\
         \x20   stick-table type ip size 100k expire 30s store http_req_rate(10s)\n\
         \x20   http-request track-sc0 src\n\
         \x20   http-request deny deny_status 429 if {{ sc_http_req_rate(0) gt 3 }}\n\
         \x20   default_backend be\n\
         backend be\n    server s1 127.0.0.1:{server}\n"
    );
    let _sluice = Sluice::start(&cfg, &[port]);
    // New connections each time, then requests kept alive on one connection: both count.
    assert_eq!(get_status(port, "/1"), 200);
    assert_eq!(get_status(port, "/2"), 200);
    let mut s = connect(port);
    assert_eq!(status(&request(&mut s, "/3", "").0), 200);
    assert_eq!(status(&request(&mut s, "/4", "").0), 429);
    assert_eq!(get_status(port, "/5"), 429);
}

#[test]
fn connections_beyond_the_limit_are_rejected_until_one_closes() {
    let port = free_port();
    let server = echo_server(Duration::ZERO);
    let cfg = format!(
        "{DEFAULTS}\nfrontend fe\n    bind 127.0.0.1:{port}\n\
         \x20   stick-table type ip size 1k expire 30s store conn_cur,conn_cnt\n\
         \x20   tcp-request connection reject if {{ src_conn_cur ge 2 }}\n\
         \x20   tcp-request connection track-sc0 src\n\
         \x20   default_backend be\n\
         backend be\n    server s1 127.0.0.1:{server}\n"
    );
    let _sluice = Sluice::start(&cfg, &[]);
    // `Sluice::start` would count a probe connection: wait for the port by hand.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut a = loop {
        if let Ok(s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            s.set_read_timeout(Some(Duration::from_secs(5)))
                .expect("timeout");
            break s;
        }
        assert!(Instant::now() < deadline, "sluice does not listen");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status(&request(&mut a, "/a", "").0), 200);
    let mut b = connect(port);
    assert_eq!(status(&request(&mut b, "/b", "").0), 200);
    // The third is closed before a byte is read.
    let mut c = connect(port);
    let _ = c.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n");
    let mut buf = [0u8; 64];
    let n = c.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "the third connection was served");
    // Once one ends, its place is free again.
    drop(a);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut d = connect(port);
        let _ = d.write_all(b"GET /d HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
        let mut got = Vec::new();
        let _ = d.read_to_end(&mut got);
        if got.starts_with(b"HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "conn_cur never went down");
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(b);
}

#[test]
fn show_clear_and_set_table_on_the_stats_socket() {
    let port = free_port();
    let server = echo_server(Duration::ZERO);
    let dir = tempfile::tempdir().expect("temporary directory");
    let sock = dir.path().join("stats.sock");
    let cfg = format!(
        "global\n    stats socket {} level admin\n{DEFAULTS}\nfrontend fe\n    bind 127.0.0.1:{port}\n\
         \x20   stick-table type ip size 1k expire 30s store gpc0,conn_cnt,http_req_cnt,http_req_rate(10s),bytes_in_cnt\n\
         \x20   http-request track-sc0 src\n\
         \x20   default_backend be\n\
         backend be\n    server s1 127.0.0.1:{server}\n",
        sock.display()
    );
    let _sluice = Sluice::start(&cfg, &[port]);
    wait_for(&sock);
    assert_eq!(get_status(port, "/"), 200);
    assert_eq!(get_status(port, "/"), 200);
    // The counters of a request are final once its exchange ended, just after the answer.
    let req_bytes = "GET / HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n".len() * 2;
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cli(&sock, "show table fe").contains(&format!("bytes_in_cnt={req_bytes}")) {
        assert!(Instant::now() < deadline, "{}", cli(&sock, "show table fe"));
        std::thread::sleep(Duration::from_millis(20));
    }
    let list = cli(&sock, "show table");
    assert_eq!(list, "# table: fe, type: ip, size:1024, used:1\n");
    let shown = cli(&sock, "show table fe");
    let mut lines = shown.lines();
    assert_eq!(
        lines.next(),
        Some("# table: fe, type: ip, size:1024, used:1")
    );
    let entry = lines.next().unwrap_or_default();
    assert!(entry.starts_with("0x"), "{shown}");
    assert!(entry.contains(": key=127.0.0.1 use=0 exp="), "{shown}");
    assert!(
        entry.ends_with(&format!(
            " shard=0 gpc0=0 conn_cnt=2 http_req_cnt=2 http_req_rate(10000)=2 bytes_in_cnt={req_bytes}"
        )),
        "{shown}"
    );
    // Filters, then `set table` and `clear table`.
    assert_eq!(
        cli(&sock, "show table fe data.http_req_cnt gt 5")
            .lines()
            .count(),
        1
    );
    assert_eq!(cli(&sock, "set table fe key 192.0.2.1 data.gpc0 7"), "");
    let gpc = cli(&sock, "show table fe data.gpc0 eq 7");
    assert!(gpc.contains("key=192.0.2.1 use=0"), "{gpc}");
    assert!(cli(&sock, "show table nope").starts_with("No such table"));
    assert_eq!(cli(&sock, "clear table fe key 127.0.0.1"), "");
    assert_eq!(
        cli(&sock, "show table"),
        "# table: fe, type: ip, size:1024, used:1\n"
    );
    assert_eq!(cli(&sock, "clear table fe"), "");
    assert_eq!(
        cli(&sock, "show table fe"),
        "# table: fe, type: ip, size:1024, used:0\n"
    );
}

#[test]
fn stick_on_src_keeps_a_client_on_one_server() {
    let port = free_port();
    let (s1, s2) = (echo_server(Duration::ZERO), echo_server(Duration::ZERO));
    let dir = tempfile::tempdir().expect("temporary directory");
    let sock = dir.path().join("stats.sock");
    let cfg = format!(
        "global\n    stats socket {} level admin\n{DEFAULTS}\nfrontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\n\
         backend be\n    balance roundrobin\n\
         \x20   stick-table type ip size 1k expire 30m\n\
         \x20   stick on src\n\
         \x20   http-response set-header x-server %s\n\
         \x20   server a 127.0.0.1:{s1}\n    server b 127.0.0.1:{s2}\n",
        sock.display()
    );
    let _sluice = Sluice::start(&cfg, &[port]);
    wait_for(&sock);
    let server_of = || {
        let mut s = connect(port);
        let (head, _) = request(&mut s, "/", "connection: close\r\n");
        head.lines()
            .find_map(|l| l.strip_prefix("x-server: ").map(str::to_string))
            .unwrap_or_default()
    };
    let first = server_of();
    assert!(first == "a" || first == "b", "{first:?}");
    for _ in 0..5 {
        assert_eq!(server_of(), first, "roundrobin moved the client");
    }
    let shown = cli(&sock, "show table be");
    assert!(shown.contains("key=127.0.0.1 use=0"), "{shown}");
    let id = if first == "a" { 1 } else { 2 };
    assert!(shown.contains(&format!("server_id={id}")), "{shown}");
    // Forget the client: the next pick is roundrobin's again, then sticks.
    assert_eq!(cli(&sock, "clear table be"), "");
    let next = server_of();
    for _ in 0..3 {
        assert_eq!(server_of(), next);
    }
}

/// A server answering every request with `name` as the body.
fn named_server(name: &'static str) -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while common::http::find(&buf, b"\r\n\r\n").is_none() {
                    match s.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{name}",
                    name.len()
                );
                let _ = s.write_all(resp.as_bytes());
            });
        }
    });
    port
}

#[test]
fn stick_on_src_works_in_tcp_mode_too() {
    let port = free_port();
    let (a, b) = (named_server("a"), named_server("b"));
    let cfg = format!(
        "defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\
         frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\n\
         backend be\n    balance roundrobin\n\
         \x20   stick-table type ip size 1k expire 30m\n\
         \x20   stick on src\n\
         \x20   server a 127.0.0.1:{a}\n    server b 127.0.0.1:{b}\n"
    );
    let _sluice = Sluice::start(&cfg, &[port]);
    let body = || {
        let mut s = connect(port);
        request(&mut s, "/", "connection: close\r\n").1
    };
    // The probe of `Sluice::start` was a client too: let its stream store its server
    // before the first pick is taken as the reference (the last store wins, as in HAProxy).
    body();
    std::thread::sleep(Duration::from_millis(300));
    let first = body();
    assert!(first == "a" || first == "b", "{first:?}");
    for _ in 0..5 {
        assert_eq!(body(), first, "roundrobin moved the client");
    }
}

fn check(cfg: &str) -> common::Run {
    let dir = Dir::new();
    dir.write("haproxy.cfg", cfg);
    dir.run(&["-c", "-f", "haproxy.cfg"])
}

#[test]
fn check_reports_unknown_tables_with_their_line() {
    let port = free_port();
    let cfg = format!(
        "{DEFAULTS}\nfrontend fe\n    bind 127.0.0.1:{port}\n\
         \x20   http-request track-sc0 src table nope\n\
         \x20   default_backend be\n\
         backend be\n    server s1 127.0.0.1:9\n"
    );
    let run = check(&cfg);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("haproxy.cfg:9") && run.stderr.contains("unable to find table 'nope'"),
        "{}",
        run.stderr
    );
    let cfg = format!(
        "{DEFAULTS}\nfrontend fe\n    bind 127.0.0.1:{port}\n\
         \x20   http-request deny if {{ src_http_req_rate gt 10 }}\n\
         \x20   default_backend be\n\
         backend be\n    server s1 127.0.0.1:9\n"
    );
    let run = check(&cfg);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("haproxy.cfg:9") && run.stderr.contains("has no stick-table"),
        "{}",
        run.stderr
    );
    let cfg = format!(
        "{DEFAULTS}\nfrontend fe\n    bind 127.0.0.1:{port}\n\
         \x20   stick-table type ip size 1k store http_req_rat(10s)\n\
         \x20   default_backend be\n\
         backend be\n    server s1 127.0.0.1:9\n"
    );
    let run = check(&cfg);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("haproxy.cfg:9")
            && run.stderr.contains("unknown data type 'http_req_rat'"),
        "{}",
        run.stderr
    );
}

#[test]
fn check_accepts_rate_limiting_with_peers_without_warning() {
    let port = free_port();
    let cfg = format!(
        "peers mypeers\n    peer local 127.0.0.1:{}\n    table ips type ip size 1m expire 10m store gpc0\n\n\
         {DEFAULTS}\nfrontend fe\n    bind 127.0.0.1:{port}\n\
         \x20   stick-table type ip size 100k expire 30s store http_req_rate(10s),conn_cur peers mypeers\n\
         \x20   tcp-request connection track-sc1 src table mypeers/ips\n\
         \x20   http-request track-sc0 src\n\
         \x20   http-request deny deny_status 429 if {{ sc_http_req_rate(0) gt 100 }}\n\
         \x20   http-request deny if {{ sc1_get_gpc0 gt 0 }} || {{ src_conn_cur(fe) gt 10 }}\n\
         \x20   default_backend be\n\
         backend be\n    server s1 127.0.0.1:9\n",
        free_port()
    );
    let run = check(&cfg);
    assert!(run.code == 0 || run.code == 2, "{}", run.stderr);
    for used in [
        "track-sc",
        "sc_http_req_rate",
        "sc1_get_gpc0",
        "src_conn_cur",
        "'table'",
    ] {
        assert!(!run.stderr.contains(used), "{used}: {}", run.stderr);
    }
    // Tables naming peers are synchronised now: no warning about it.
    assert!(
        !run.stderr.contains("peers synchronisation"),
        "{}",
        run.stderr
    );
}

#[test]
fn log_lines_read_the_tracked_counters() {
    let syslog = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind syslog");
    syslog
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let log = syslog.local_addr().expect("address").port();
    let port = free_port();
    let server = echo_server(Duration::ZERO);
    let cfg = format!(
        "{DEFAULTS}\nfrontend fe\n    bind 127.0.0.1:{port}\n\
         \x20   log 127.0.0.1:{log} local0\n\
         \x20   log-format \"path=%HP cnt=%[sc0_http_req_cnt] rate=%[sc_http_req_rate(0)]\"\n\
         \x20   stick-table type ip size 100k expire 30s store http_req_cnt,http_req_rate(10s)\n\
         \x20   http-request track-sc0 src\n\
         \x20   default_backend be\n\
         backend be\n    server s1 127.0.0.1:{server}\n"
    );
    let _sluice = Sluice::start(&cfg, &[port]);
    let mut s = connect(port);
    assert_eq!(status(&request(&mut s, "/first", "").0), 200);
    assert_eq!(status(&request(&mut s, "/second", "").0), 200);
    // Lines come in request order (the start-up probe's connection logs one too).
    let mut buf = [0u8; 2048];
    let mut lines = Vec::new();
    while !lines.iter().any(|l: &String| l.contains("path=/second")) {
        let n = syslog
            .recv(&mut buf)
            .unwrap_or_else(|e| panic!("no line for the second request ({e}): {lines:?}"));
        lines.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    let line = |path: &str| lines.iter().find(|l| l.contains(path)).cloned();
    assert!(
        line("path=/first ").is_some_and(|l| l.contains("cnt=1 rate=1")),
        "{lines:?}"
    );
    assert!(
        line("path=/second ").is_some_and(|l| l.contains("cnt=2 rate=2")),
        "{lines:?}"
    );
}
