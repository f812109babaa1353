//! Keywords answered or added by Sluice itself: `option originalto`, `monitor-uri`,
//! `errorfiles <http-errors section>` and `http-error status N ...`.

mod common;

use common::{closed_port, request, Backend, Behaviour, Proxy, DEFAULTS};
use std::io::Write;

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n";

fn heads(b: &Backend) -> Vec<String> {
    b.heads.lock().map(|h| h.clone()).unwrap_or_default()
}

#[test]
fn originalto_adds_the_destination_address() {
    let b = Backend::start("s1", Behaviour::Name);
    let cfg = format!(
        "{DEFAULTS}frontend fe\n    bind @FE@\n    option originalto\n    default_backend be\nbackend be\n    server s1 {}\n",
        b.addr
    );
    let p = Proxy::start(&cfg);
    let mut c = p.connect();
    let r = request(&mut c, GET).expect("response");
    assert_eq!(r.status(), 200);
    let h = heads(&b);
    assert!(
        h.iter()
            .any(|h| h.lines().any(|l| l == "x-original-to: 127.0.0.1")),
        "{h:?}"
    );
}

#[test]
fn originalto_header_name_comes_from_the_backend() {
    let b = Backend::start("s1", Behaviour::Name);
    let cfg = format!(
        "{DEFAULTS}frontend fe\n    bind @FE@\n    option originalto header X-Fe-Dst\n    default_backend be\nbackend be\n    option originalto header X-Be-Dst\n    server s1 {}\n",
        b.addr
    );
    let p = Proxy::start(&cfg);
    let mut c = p.connect();
    assert_eq!(request(&mut c, GET).map(|r| r.status()), Some(200));
    let h = heads(&b);
    assert!(
        h.iter()
            .any(|h| h.lines().any(|l| l == "X-Be-Dst: 127.0.0.1")),
        "{h:?}"
    );
    assert!(!h.iter().any(|h| h.contains("X-Fe-Dst")), "{h:?}");
}

#[test]
fn originalto_except_leaves_matching_destinations_out() {
    let b = Backend::start("s1", Behaviour::Name);
    let cfg = format!(
        "{DEFAULTS}frontend fe\n    bind @FE@\n    option originalto except 127.0.0.0/8\n    default_backend be\nbackend be\n    server s1 {}\n",
        b.addr
    );
    let p = Proxy::start(&cfg);
    let mut c = p.connect();
    assert_eq!(request(&mut c, GET).map(|r| r.status()), Some(200));
    let h = heads(&b);
    assert_eq!(h.len(), 1);
    assert!(!h.iter().any(|h| h.contains("x-original-to")), "{h:?}");
}

#[test]
fn monitor_uri_is_answered_locally() {
    let b = Backend::start("s1", Behaviour::Name);
    let cfg = format!(
        "{DEFAULTS}frontend fe\n    bind @FE@\n    monitor-uri /health\n    default_backend be\nbackend be\n    server s1 {}\n",
        b.addr
    );
    let p = Proxy::start(&cfg);
    let mut c = p.connect();
    let r = request(&mut c, b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n").expect("response");
    assert_eq!(r.status(), 200);
    assert!(String::from_utf8_lossy(&r.body).contains("Service ready."));
    assert_eq!(b.requests(), 0, "the monitor request reached the server");
    // Any other URI is forwarded.
    let mut c = p.connect();
    let r = request(&mut c, b"GET /health?full HTTP/1.1\r\nHost: t\r\n\r\n").expect("response");
    assert_eq!(r.body, b"s1");
    assert_eq!(b.requests(), 1);
}

#[test]
fn monitor_uri_from_defaults_uses_errorfile_200() {
    let dir = std::env::temp_dir().join(format!("sluice-monitor-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let page = dir.join("200.http");
    std::fs::write(
        &page,
        "HTTP/1.0 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nup",
    )
    .expect("write page");
    let cfg = format!(
        "{DEFAULTS}    monitor-uri /ping\n    errorfile 200 {}\nfrontend fe\n    bind @FE@\n    default_backend be\nbackend be\n    server s1 {}\n",
        page.display(),
        closed_port()
    );
    let p = Proxy::start(&cfg);
    let mut c = p.connect();
    let r = request(&mut c, b"GET /ping HTTP/1.1\r\nHost: t\r\n\r\n").expect("response");
    assert_eq!(r.status(), 200);
    assert_eq!(r.body, b"up");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn errorfiles_section_and_http_error_build_the_pages() {
    let dir = std::env::temp_dir().join(format!("sluice-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let p503 = dir.join("503.http");
    let p403 = dir.join("403.http");
    std::fs::write(
        &p503,
        "HTTP/1.0 503 Service Unavailable\r\ncontent-length: 12\r\nconnection: close\r\n\r\nsection-503\n",
    )
    .expect("write");
    std::fs::write(
        &p403,
        "HTTP/1.0 403 Forbidden\r\ncontent-length: 12\r\nconnection: close\r\n\r\nsection-403\n",
    )
    .expect("write");
    // be1 imports only 503 from the section; be2 takes both, then http-error replaces 403.
    let cfg = format!(
        "{DEFAULTS}http-errors site\n    errorfile 503 {}\n    errorfile 403 {}\n\
         frontend fe\n    bind @FE@\n    use_backend be2 if {{ path_beg /two }}\n    default_backend be1\n\
         backend be1\n    errorfiles site 503\n    http-request deny if {{ path_beg /one/deny }}\n    server s1 {}\n\
         backend be2\n    errorfiles site\n    http-error status 403 content-type text/plain string \"denied by http-error\" hdr X-Why policy\n    http-request deny if {{ path_beg /two/deny }}\n    server s1 {}\n",
        p503.display(),
        p403.display(),
        closed_port(),
        closed_port()
    );
    let p = Proxy::start(&cfg);
    let mut c = p.connect();
    let r = request(&mut c, GET).expect("response");
    assert_eq!(r.status(), 503);
    assert_eq!(r.body, b"section-503\n");
    let mut c = p.connect();
    let r = request(&mut c, b"GET /one/deny HTTP/1.1\r\nHost: t\r\n\r\n").expect("response");
    assert_eq!(r.status(), 403);
    assert_ne!(r.body, b"section-403\n", "be1 imported only 503");
    let mut c = p.connect();
    let r = request(&mut c, b"GET /two/deny HTTP/1.1\r\nHost: t\r\n\r\n").expect("response");
    assert_eq!(r.status(), 403);
    assert_eq!(r.body, b"denied by http-error");
    assert_eq!(r.header("x-why"), Some("policy"));
    assert_eq!(r.header("content-type"), Some("text/plain"));
    let mut c = p.connect();
    c.write_all(b"GET /two HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("write");
    let r = common::read_message(&mut std::io::BufReader::new(&mut c), true).expect("response");
    assert_eq!(r.status(), 503);
    assert_eq!(r.body, b"section-503\n");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn http_error_with_log_format_renders_for_each_answer() {
    let b = Backend::start("s1", Behaviour::Name);
    let cfg = format!(
        "{DEFAULTS}frontend fe\n    bind @FE@\n\
         \x20   http-error status 403 content-type text/plain hdr x-path \"path=%[path]\" lf-string \"no entry to %[path]\"\n\
         \x20   http-error status 400\n\
         \x20   http-request deny if {{ path_beg /deny }}\n\
         \x20   http-request deny deny_status 400 if {{ path_beg /empty }}\n\
         \x20   default_backend be\nbackend be\n    server s1 {}\n",
        b.addr
    );
    let p = Proxy::start(&cfg);
    let mut c = p.connect();
    let r = request(&mut c, b"GET /deny/x HTTP/1.1\r\nHost: t\r\n\r\n").expect("response");
    assert_eq!(r.status(), 403);
    assert_eq!(r.header("x-path"), Some("path=/deny/x"));
    assert_eq!(r.header("content-type"), Some("text/plain"));
    assert_eq!(r.body, b"no entry to /deny/x");
    // `http-error` without a payload option answers without one.
    let mut c = p.connect();
    let r = request(&mut c, b"GET /empty HTTP/1.1\r\nHost: t\r\n\r\n").expect("response");
    assert_eq!(r.status(), 400);
    assert_eq!(r.header("content-length"), Some("0"));
    assert!(r.body.is_empty());
    assert_eq!(b.requests(), 0);
}
