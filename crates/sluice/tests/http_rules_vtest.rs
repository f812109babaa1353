//! End-to-end: the real binary with real servers on 127.0.0.1 for HTTP rule behaviours
//! HAProxy's own regression tests exercise: `return`/`deny` replies (empty, payload, error
//! files, `http-errors` sections), rules of named `defaults` sections, `replace-uri` and
//! `replace-pathq`, a Host rewrite keeping an absolute URI's authority, `option forwardfor
//! if-none` on both sides, and a later request with a body reusing the server connection.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

mod common;
use common::free_port;
use common::http::*;

/// A server that accepts one connection only and answers each request on it (bodies with a
/// content-length read) with 200 and the request head as the body.
fn one_connection_server() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("address").port();
    std::thread::spawn(move || {
        let Ok((mut s, _)) = l.accept() else { return };
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            while let Some(end) = find(&buf, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end + 4]).to_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if buf.len() < end + 4 + len {
                    break;
                }
                buf.drain(..end + 4 + len);
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{head}",
                    head.len()
                );
                if s.write_all(resp.as_bytes()).is_err() {
                    return;
                }
            }
            match s.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    });
    port
}

const DEFAULTS: &str = "global\n    chroot /\n\ndefaults\n    mode http\n    retries 0\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n";

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
}

#[test]
fn return_and_deny_replies_follow_haproxys_rules() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let page = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("write a page");
        p.display().to_string()
    };
    let section_page = page(
        "404.http",
        "HTTP/1.1 404 Not Found\r\ncontent-length: 7\r\nx-from: section\r\n\r\nsection",
    );
    let raw_page = page(
        "403.http",
        "HTTP/1.1 403 Forbidden\r\ncontent-length: 3\r\nx-from: file\r\n\r\nraw",
    );
    let empty = page("empty.txt", "");
    let fe = free_port();
    let cfg = format!(
        "{DEFAULTS}\nhttp-errors errs\n    errorfile 404 {section_page}\n\nfrontend fe\n    bind 127.0.0.1:{fe}\n    \
         http-request return hdr x-path \"%[path]\" hdr x-none \"%[req.hdr(x-none)]\" if {{ path /empty }}\n    \
         http-request return status 403 if {{ path /status }}\n    \
         http-request return file {empty} hdr x-path \"%[path]\" if {{ path /empty-file }}\n    \
         http-request return content-type text/plain lf-string \"p=%[path]\" if {{ path /lf }}\n    \
         http-request return status 404 errorfiles errs if {{ path /section }}\n    \
         http-request deny deny_status 403 errorfile {raw_page} if {{ path /raw }}\n"
    );
    let _s = Sluice::start(&cfg, &[fe]);
    let mut c = connect(fe);
    let (head, body) = request(&mut c, "/empty", "");
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert_eq!(header(&head, "x-path"), Some("/empty"));
    assert_eq!(
        header(&head, "x-none"),
        None,
        "an empty value adds no header: {head}"
    );
    assert_eq!(header(&head, "content-type"), None);
    assert_eq!(body, "");
    let (head, _) = request(&mut c, "/status", "");
    assert!(head.starts_with("http/1.1 403"), "{head}");
    assert_eq!(header(&head, "content-length"), Some("0"));
    let (head, _) = request(&mut c, "/empty-file", "");
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert_eq!(header(&head, "x-path"), Some("/empty-file"));
    let (head, body) = request(&mut c, "/lf", "");
    assert_eq!(header(&head, "content-type"), Some("text/plain"));
    assert_eq!(body, "p=/lf");
    let (head, body) = request(&mut c, "/section", "");
    assert!(head.starts_with("http/1.1 404"), "{head}");
    assert_eq!(
        (header(&head, "x-from"), body.as_str()),
        (Some("section"), "section")
    );
    let mut c = connect(fe);
    let (head, body) = request(&mut c, "/raw", "");
    assert!(head.starts_with("http/1.1 403"), "{head}");
    assert_eq!(
        (header(&head, "x-from"), body.as_str()),
        (Some("file"), "raw")
    );
}

#[test]
fn a_string_payload_without_content_type_is_refused() {
    let fe = free_port();
    let cfg = format!(
        "{DEFAULTS}\nfrontend fe\n    bind 127.0.0.1:{fe}\n    http-request return string hello\n"
    );
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("haproxy.cfg");
    std::fs::write(&path, cfg).expect("write the configuration");
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("-c")
        .arg("-f")
        .arg(&path)
        .output()
        .expect("run sluice -c");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("content-type"));
}

#[test]
fn rules_of_named_defaults_run_first_and_their_verdicts_stop_the_proxys() {
    let srv = echo_server(Duration::ZERO);
    let (fe1, fe2) = (free_port(), free_port());
    let cfg = format!(
        "global\n    chroot /\n\ndefaults common\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\n\
         defaults def_front from common\n    http-request set-header x-frontend \"%[fe_name]\"\n    http-request set-var(txn.t) str(front)\n\n\
         defaults def_back from common\n    http-request set-header x-backend \"%[be_name]\"\n\n\
         defaults allowing from common\n    http-request allow\n\n\
         frontend fe from def_front\n    bind 127.0.0.1:{fe1}\n    http-request set-header x-seen \"%[var(txn.t)]\"\n    default_backend be\n\n\
         backend be from def_back\n    server s1 127.0.0.1:{srv}\n\n\
         frontend fe2 from allowing\n    bind 127.0.0.1:{fe2}\n    http-request deny\n    default_backend be\n"
    );
    let _s = Sluice::start(&cfg, &[fe1, fe2]);
    let (head, body) = request(&mut connect(fe1), "/", "");
    assert!(head.starts_with("http/1.1 200"), "{head}");
    let body = body.to_lowercase();
    assert!(body.contains("x-frontend: fe\r\n"), "{body}");
    assert!(body.contains("x-backend: be\r\n"), "{body}");
    assert!(body.contains("x-seen: front\r\n"), "{body}");
    let (head, _) = request(&mut connect(fe2), "/", "");
    assert!(
        head.starts_with("http/1.1 200"),
        "allow in defaults skips the deny: {head}"
    );
}

#[test]
fn uri_rewrites_and_host_rewrites_keep_the_authority_in_sync() {
    let srv = echo_server(Duration::ZERO);
    let fe = free_port();
    let cfg = format!(
        "{DEFAULTS}\nfrontend fe\n    bind 127.0.0.1:{fe}\n    \
         http-request replace-uri ^http://(.*) https://\\1 if {{ path_beg /scheme }}\n    \
         http-request replace-pathq (.*) /rq\\1 if {{ path_beg /pathq }}\n    \
         http-request replace-header host (.*) new.\\1 if {{ path_beg /host }}\n    \
         http-request set-uri http://other.example/set if {{ path_beg /set }}\n    \
         default_backend be\n\nbackend be\n    server s1 127.0.0.1:{srv}\n"
    );
    let _s = Sluice::start(&cfg, &[fe]);
    let mut c = connect(fe);
    let (_, body) = request(&mut c, "http://test/scheme?x=1", "");
    assert!(
        body.starts_with("GET https://test/scheme?x=1 HTTP/1.1\r\n"),
        "{body}"
    );
    let (_, body) = request(&mut c, "/pathq?x=1", "");
    assert!(body.starts_with("GET /rq/pathq?x=1 HTTP/1.1\r\n"), "{body}");
    let (_, body) = request(&mut c, "http://test/host", "");
    assert!(
        body.starts_with("GET http://new.test/host HTTP/1.1\r\n"),
        "{body}"
    );
    assert!(body.contains("host: new.test\r\n"), "{body}");
    let (_, body) = request(&mut c, "/set", "");
    assert!(
        body.starts_with("GET http://other.example/set HTTP/1.1\r\n"),
        "{body}"
    );
    assert!(body.contains("host: other.example\r\n"), "{body}");
}

#[test]
fn forwardfor_if_none_holds_only_when_both_sides_say_it() {
    let srv = echo_server(Duration::ZERO);
    let (fe1, fe2) = (free_port(), free_port());
    let cfg = format!(
        "{DEFAULTS}\nfrontend none\n    bind 127.0.0.1:{fe1}\n    option forwardfor if-none\n    \
         use_backend always if {{ path /always }}\n    default_backend ifnone\n\n\
         frontend except\n    bind 127.0.0.1:{fe2}\n    option forwardfor except 127.0.0.0/8\n    default_backend always\n\n\
         backend always\n    option forwardfor\n    server s1 127.0.0.1:{srv}\n\n\
         backend ifnone\n    option forwardfor if-none\n    server s1 127.0.0.1:{srv}\n"
    );
    let _s = Sluice::start(&cfg, &[fe1, fe2]);
    let count = |body: &str| body.matches("x-forwarded-for:").count();
    let (_, body) = request(
        &mut connect(fe1),
        "/always",
        "x-forwarded-for: 10.0.0.1\r\n",
    );
    assert_eq!(count(&body.to_lowercase()), 2, "{body}");
    let (_, body) = request(
        &mut connect(fe1),
        "/ifnone",
        "x-forwarded-for: 10.0.0.1\r\n",
    );
    assert_eq!(count(&body.to_lowercase()), 1, "{body}");
    let (_, body) = request(&mut connect(fe2), "/", "");
    assert_eq!(
        count(&body.to_lowercase()),
        0,
        "the frontend's except applies: {body}"
    );
}

#[test]
fn later_requests_with_a_body_reuse_the_server_connection() {
    let srv = one_connection_server();
    let fe = free_port();
    let cfg =
        format!("{DEFAULTS}\nlisten fe\n    bind 127.0.0.1:{fe}\n    server s1 127.0.0.1:{srv}\n");
    let _s = Sluice::start(&cfg, &[fe]);
    let mut c = connect(fe);
    let (head, _) = request(&mut c, "/1", "");
    assert!(head.starts_with("http/1.1 200"), "{head}");
    let (head, _) = request(&mut c, "/2", "content-length: 0\r\n");
    assert!(head.starts_with("http/1.1 200"), "{head}");
    c.write_all(b"POST /3 HTTP/1.1\r\nhost: test\r\ncontent-length: 4\r\n\r\nbody")
        .expect("send a request with a body");
    let (head, body) = read_response(&mut c);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(body.starts_with("post /3"), "{body}");
}
