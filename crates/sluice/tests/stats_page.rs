//! End-to-end: the statistics page (`stats uri`, `stats auth`, `stats refresh`, `;csv`,
//! `stats scope`) served by the real binary, with real servers and traffic behind it.

use std::time::Duration;

mod common;
use common::free_port;
use common::http::*;

const DEFAULTS: &str = "global\n    chroot /\n\ndefaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n";

fn header<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[test]
fn the_page_reports_traffic_and_a_csv_export() {
    let (fe, st) = (free_port(), free_port());
    let srv = echo_server(Duration::ZERO);
    let cfg = format!(
        "{DEFAULTS}\
         frontend web\n    bind 127.0.0.1:{fe}\n    default_backend app\n\
         backend app\n    server a1 127.0.0.1:{srv}\n\
         listen stats\n    bind 127.0.0.1:{st}\n    stats enable\n    stats uri /monitor\n    stats refresh 10s\n"
    );
    let _sluice = Sluice::start(&cfg, &[fe, st]);
    for _ in 0..3 {
        let (head, _) = request(&mut connect(fe), "/", "");
        assert!(head.starts_with("http/1.1 200"), "{head}");
    }
    let (head, body) = request(&mut connect(st), "/monitor", "");
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert_eq!(header(&head, "content-type"), Some("text/html"));
    assert_eq!(header(&head, "refresh"), Some("10"));
    assert!(body.contains("<th colspan=\"24\">app</th>"), "{body}");
    assert!(body.contains(">a1</td>"), "{body}");
    // The CSV is the runtime API's `show stat`: one row per frontend, server and backend,
    // with the servers' state.
    let (head, csv) = request(&mut connect(st), "/monitor;csv;norefresh", "");
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert_eq!(header(&head, "refresh"), None);
    assert!(csv.starts_with("# pxname,svname,qcur,"), "{csv}");
    let status = |row: &str| {
        let line = csv
            .lines()
            .find(|l| l.starts_with(row))
            .unwrap_or_else(|| panic!("no {row} row in {csv}"));
        line.split(',').nth(17).map(str::to_string)
    };
    assert_eq!(status("web,FRONTEND,").as_deref(), Some("OPEN"));
    // Cumulative columns: the backend and its server each served three requests, all 200.
    let column = |row: &str, name: &str| {
        let names: Vec<&str> = csv
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("# ")
            .split(',')
            .collect();
        let at = names.iter().position(|n| *n == name).expect("a column");
        let line = csv.lines().find(|l| l.starts_with(row)).expect("a row");
        line.split(',').nth(at).unwrap_or_default().to_string()
    };
    for row in ["app,BACKEND,", "app,a1,"] {
        assert_eq!(column(row, "stot"), "3", "{row}");
        assert_eq!(column(row, "hrsp_2xx"), "3", "{row}");
        assert!(
            column(row, "bout").parse::<u64>().unwrap_or(0) > 100,
            "{row}"
        );
    }
    assert_eq!(column("app,a1,", "lbtot"), "3");
    // The frontend's sessions are its connections: the start-up probe's counts too.
    assert!(column("web,FRONTEND,", "stot").parse::<u64>().unwrap_or(0) >= 3);
    // The start-up probe closed before sending a request: a bad request (logged `CR`, 400),
    // as HAProxy counts it, beside the three real ones.
    let req_tot = column("web,FRONTEND,", "req_tot")
        .parse::<u64>()
        .unwrap_or(0);
    assert!((3..=4).contains(&req_tot), "req_tot {req_tot}");
    assert_eq!(status("app,a1,").as_deref(), Some("no check"));
    assert_eq!(status("app,BACKEND,").as_deref(), Some("UP"));
    // Other paths of the stats proxy are not the page: no server there, so a 503.
    let (head, _) = request(&mut connect(st), "/other", "");
    assert!(head.starts_with("http/1.1 503"), "{head}");
}

#[test]
fn credentials_guard_the_page_and_scope_limits_it() {
    let st = free_port();
    let cfg = format!(
        "{DEFAULTS}\
         backend hidden\n    server h1 127.0.0.1:9\n\
         listen stats\n    bind 127.0.0.1:{st}\n    stats uri /\n    stats auth admin:s3cret\n    stats realm Ops\n    stats scope .\n    stats hide-version\n"
    );
    let _sluice = Sluice::start(&cfg, &[st]);
    let (head, _) = request(&mut connect(st), "/", "");
    assert!(head.starts_with("http/1.1 401"), "{head}");
    // (The test client reads heads in lower case.)
    assert_eq!(
        header(&head, "www-authenticate"),
        Some("basic realm=\"ops\"")
    );
    // admin:wrong
    let (head, _) = request(
        &mut connect(st),
        "/",
        "authorization: Basic YWRtaW46d3Jvbmc=\r\n",
    );
    assert!(head.starts_with("http/1.1 401"), "{head}");
    // admin:s3cret
    let (head, body) = request(
        &mut connect(st),
        "/",
        "authorization: Basic YWRtaW46czNjcmV0\r\n",
    );
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(body.contains(">stats</th>"), "{body}");
    assert!(!body.contains(">hidden</th>"), "{body}");
    assert!(!body.contains("sluice version"), "hide-version: {body}");
}
