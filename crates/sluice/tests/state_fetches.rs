//! End-to-end: fetches of the proxy, server and connection state, through the real binary:
//! `srv_weight` and its forms after `set weight` on the runtime API, `dst_conn` and
//! `act_conn` with several client connections open, `srv_conn` and `srv_conn_free`, the
//! server connection's addresses (`bc_src`, `bc_dst`), `accept_date` and `when()`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

mod common;
use common::free_port;
use common::http::{header, ok_server as server, read_head, Sluice};

fn get(s: &mut TcpStream, path: &str) -> String {
    s.write_all(format!("GET {path} HTTP/1.1\r\nhost: test\r\n\r\n").as_bytes())
        .expect("send a request");
    read_head(s)
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    s
}

/// Sends one line on a UNIX stats socket and reads until the server closes.
fn cli(path: &Path, line: &str) -> String {
    let mut s = UnixStream::connect(path).expect("connect to the stats socket");
    s.write_all(format!("{line}\n").as_bytes())
        .expect("send a command");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn server_weights_and_connection_counts_reach_the_rules() {
    let (a, b) = (free_port(), free_port());
    let srv = server();
    let dir = tempfile::tempdir().expect("temporary directory");
    let sock = dir.path().join("stats.sock");
    let cfg = format!(
        "global
    chroot /
    stats socket {sock} level admin mode 600

defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s

frontend fe
    bind 127.0.0.1:{a}
    bind 127.0.0.1:{b}
    http-response set-header weight \"%[srv_weight(be/s1)] %[srv_iweight(be/s1)] %[srv_uweight(s1)]\"
    http-response set-header conns \"%[dst_conn] %[act_conn] %[fe_conn]\"
    http-response set-header srv \"%[srv_conn(be/s1)] %[srv_conn_free(be/s1)] %[srv_queue(be/s1)]\"
    http-response set-header bc \"%[bc_src] %[bc_dst] %[bc_dst_port] %[bc_http_major]\"
    http-response set-header date \"%[accept_date]\"
    http-response set-header rates \"%[fe_sess_rate] %[fe_req_rate] %[be_sess_rate(be)]\"
    http-response set-header state \"%[stopping] %[so_id] %[str(x),when(forwarded)]\"
    default_backend be

backend be
    server s1 127.0.0.1:{srv} weight 20 maxconn 5
",
        sock = sock.display()
    );
    let _s = Sluice::start(&cfg, &[a, b]);

    // Two connections on the first listener, one on the second.
    let mut c1 = connect(a);
    let mut c2 = connect(a);
    let _c3 = connect(b);
    std::thread::sleep(Duration::from_millis(200));
    let h = get(&mut c2, "/");
    assert_eq!(header(&h, "weight").as_deref(), Some("20 20 20"), "{h}");
    assert_eq!(header(&h, "conns").as_deref(), Some("2 3 3"), "{h}");
    // The request being answered holds one of the server's five connections.
    assert_eq!(header(&h, "srv").as_deref(), Some("1 4 0"), "{h}");
    assert_eq!(
        header(&h, "bc").as_deref(),
        Some(format!("127.0.0.1 127.0.0.1 {srv} 1").as_str()),
        "{h}"
    );
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let date: u64 = header(&h, "date")
        .and_then(|d| d.parse().ok())
        .expect("accept_date is a number");
    assert!(
        date <= now && now - date < 30,
        "accept_date {date}, now {now}"
    );
    let rates: Vec<u64> = header(&h, "rates")
        .unwrap_or_default()
        .split(' ')
        .filter_map(|r| r.parse().ok())
        .collect();
    assert_eq!(rates.len(), 3, "{h}");
    assert!(
        rates.iter().all(|r| *r >= 1),
        "a session and a request: {h}"
    );
    assert_eq!(header(&h, "state").as_deref(), Some("0 1 x"), "{h}");

    // `set weight` changes the effective and user weights, not the configured one.
    assert_eq!(cli(&sock, "set weight be/s1 7"), "\n");
    let h = get(&mut c1, "/");
    assert_eq!(header(&h, "weight").as_deref(), Some("7 20 7"), "{h}");

    // A closed connection is no longer counted.
    drop(c2);
    std::thread::sleep(Duration::from_millis(200));
    let h = get(&mut c1, "/");
    assert_eq!(header(&h, "conns").as_deref(), Some("1 2 2"), "{h}");
}

#[test]
fn when_and_server_status_follow_the_exchange() {
    let a = free_port();
    let srv = server();
    // A port nothing listens on: the connection to the server fails.
    let dead = free_port();
    let cfg = format!(
        "global
    chroot /

defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s

frontend fe
    bind 127.0.0.1:{a}
    use_backend dead if {{ path /dead }}
    default_backend be
    http-response set-status 299
    http-response set-header srvstatus \"%[server_status] %[status] %[res.timer.hdr]\"
    http-after-response set-header when \"[%[str(e),when(error)]][%[str(f),when(forwarded)]][%[str(n),when(normal)]]\"

backend be
    server s1 127.0.0.1:{srv}

backend dead
    retries 0
    server s1 127.0.0.1:{dead}
"
    );
    let _s = Sluice::start(&cfg, &[a]);

    let mut c = connect(a);
    let h = get(&mut c, "/");
    assert!(h.starts_with("http/1.1 299"), "{h}");
    let status = header(&h, "srvstatus").unwrap_or_default();
    let parts: Vec<&str> = status.split(' ').collect();
    assert_eq!(parts.get(..2), Some(&["200", "299"][..]), "{h}");
    assert!(
        parts.get(2).is_some_and(|t| t.parse::<u64>().is_ok()),
        "{h}"
    );
    assert_eq!(header(&h, "when").as_deref(), Some("[][f][n]"), "{h}");

    let mut c = connect(a);
    let h = get(&mut c, "/dead");
    assert!(h.starts_with("http/1.1 503"), "{h}");
    assert_eq!(header(&h, "when").as_deref(), Some("[e][f][]"), "{h}");
}
