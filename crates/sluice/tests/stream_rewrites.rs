//! End-to-end: the real binary with real servers on 127.0.0.1 for `errorloc`/`errorloc302`/
//! `errorloc303`, `set-timeout` with the `cur_*_timeout` fetches, `set-src`/`set-dst`
//! (`fc_src` keeps the connection's address, `option forwardfor` and transparent servers
//! follow the rewrite) and `dispatch`.

use std::io::{Read, Write};
use std::process::Command;
use std::time::{Duration, Instant};

mod common;
use common::free_port;
use common::http::*;

const DEFAULTS: &str = "global\n    chroot /\n\ndefaults\n    mode http\n    retries 0\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n";

#[test]
fn errorloc_answers_redirects_instead_of_error_pages() {
    let (fe1, fe2) = (free_port(), free_port());
    let dead = free_port();
    let cfg = format!(
        "{DEFAULTS}    errorloc303 502 /from-defaults\n\n\
         frontend one\n    bind 127.0.0.1:{fe1}\n    errorloc 503 http://example.com/down\n    \
         http-request deny deny_status 403 if {{ path /denied }}\n    default_backend dead\n\n\
         frontend two\n    bind 127.0.0.1:{fe2}\n    errorloc302 403 /no\n    \
         http-request deny deny_status 403 if {{ path /denied }}\n    default_backend dead\n\n\
         backend dead\n    errorloc303 503 /backend-wins\n    server s 127.0.0.1:{dead}\n"
    );
    let _s = Sluice::start(&cfg, &[fe1, fe2]);

    // The backend's errorloc wins over the frontend's; the connection stays open after it.
    let mut c = connect(fe1);
    let (head, body) = request(&mut c, "/", "");
    assert!(head.starts_with("http/1.1 303 see other"), "{head}");
    assert!(head.contains("location: /backend-wins\r\n"), "{head}");
    assert!(head.contains("cache-control: no-cache"), "{head}");
    assert!(head.contains("content-length: 0"), "{head}");
    assert!(!head.contains("connection: close"), "{head}");
    assert!(body.is_empty());
    // No errorloc for 403 in this frontend: the built-in page, and the connection closes.
    let (head, _) = request(&mut c, "/denied", "");
    assert!(head.starts_with("http/1.1 403"), "{head}");
    assert!(!head.contains("location:"), "{head}");

    // A deny answered by an errorloc302 line keeps the connection like a redirect does.
    let mut c = connect(fe2);
    let (head, _) = request(&mut c, "/denied", "");
    assert!(head.starts_with("http/1.1 302 found"), "{head}");
    assert!(head.contains("location: /no\r\n"), "{head}");
    let (head, _) = request(&mut c, "/denied", "connection: close\r\n");
    assert!(head.starts_with("http/1.1 302 found"), "{head}");
    assert!(head.contains("connection: close"), "{head}");
}

#[test]
fn errorloc_refuses_a_status_haproxy_cannot_generate() {
    let fe = free_port();
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("bad.cfg");
    let cfg = format!(
        "{DEFAULTS}\nfrontend f\n    bind 127.0.0.1:{fe}\n    errorloc 302 /x\n    default_backend b\n\nbackend b\n    server s 127.0.0.1:1\n"
    );
    std::fs::write(&path, cfg).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("-c")
        .arg("-f")
        .arg(&path)
        .output()
        .expect("run sluice -c");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("bad.cfg:13"), "{stderr}");
    assert!(
        stderr.contains("cannot be customized with 'errorloc'"),
        "{stderr}"
    );
}

#[test]
fn set_timeout_changes_the_stream_and_cur_timeout_reports_it() {
    let (fe, slow_fe) = (free_port(), free_port());
    let fast = echo_server(Duration::ZERO);
    let slow = echo_server(Duration::from_secs(3));
    let cfg = format!(
        "{DEFAULTS}\n\
         listen fast\n    bind 127.0.0.1:{fe}\n    http-request set-timeout server int(3),mul(100)\n    \
         http-response set-timeout client 4s\n    \
         http-after-response set-header x-t \"%[be_server_timeout] %[cur_server_timeout] %[fe_client_timeout] %[cur_client_timeout]\"\n    \
         server s 127.0.0.1:{fast}\n\n\
         listen slow\n    bind 127.0.0.1:{slow_fe}\n    http-request set-timeout server 300ms\n    server s 127.0.0.1:{slow}\n"
    );
    let _s = Sluice::start(&cfg, &[fe, slow_fe]);

    let (head, _) = request(&mut connect(fe), "/", "");
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("x-t: 5000 300 5000 4000\r\n"), "{head}");

    // The server answers after 3s: the 300ms set by the rule fires first.
    let started = Instant::now();
    let (head, _) = request(&mut connect(slow_fe), "/", "");
    assert!(head.starts_with("http/1.1 504"), "{head}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn set_src_and_set_dst_rewrite_what_rules_forwardfor_and_servers_see() {
    let (fe, tr) = (free_port(), free_port());
    let echo = echo_server(Duration::ZERO);
    let cfg = format!(
        "{DEFAULTS}\n\
         listen rewrite\n    bind 127.0.0.1:{fe}\n    option forwardfor\n    \
         tcp-request connection set-src-port int(1234)\n    \
         tcp-request session set-dst ipv4(10.9.9.9)\n    \
         http-request set-src hdr(x-real-ip) if {{ req.hdr(x-real-ip) -m found }}\n    \
         http-after-response set-header x-src \"%[src]:%[src_port] fc=%[fc_src]:%[fc_src_port]\"\n    \
         http-after-response set-header x-dst \"%[dst] fc=%[fc_dst]\"\n    \
         server s 127.0.0.1:{echo}\n\n\
         listen transparent\n    bind 127.0.0.1:{tr}\n    http-request set-dst-port hdr(x-port)\n    \
         server any 0.0.0.0:0\n"
    );
    let _s = Sluice::start(&cfg, &[fe, tr]);

    let mut c = connect(fe);
    let (head, body) = request(&mut c, "/", "x-real-ip: 192.0.2.7\r\n");
    assert!(
        head.contains("x-src: 192.0.2.7:1234 fc=127.0.0.1:1234\r\n"),
        "{head}"
    );
    assert!(head.contains("x-dst: 10.9.9.9 fc=127.0.0.1\r\n"), "{head}");
    assert!(
        body.to_lowercase()
            .contains("x-forwarded-for: 192.0.2.7\r\n"),
        "{body}"
    );
    // The next request on the connection starts again from the session's addresses.
    let (head, body) = request(&mut c, "/", "");
    assert!(
        head.contains("x-src: 127.0.0.1:1234 fc=127.0.0.1:1234\r\n"),
        "{head}"
    );
    assert!(
        body.to_lowercase()
            .contains("x-forwarded-for: 127.0.0.1\r\n"),
        "{body}"
    );

    // `server any 0.0.0.0:0`: the connection goes to the destination set-dst-port made.
    let (head, body) = request(&mut connect(tr), "/t", &format!("x-port: {echo}\r\n"));
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(body.starts_with("GET /t HTTP/1.1"), "{body}");
}

#[test]
fn dispatch_sends_connections_of_a_serverless_backend_to_its_address() {
    let (http, tcp) = (free_port(), free_port());
    let echo = echo_server(Duration::ZERO);
    let cfg = format!(
        "global\n    chroot /\n    expose-deprecated-directives\n\ndefaults\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\n\
         listen h\n    mode http\n    bind 127.0.0.1:{http}\n    dispatch 127.0.0.1:{echo}\n\n\
         listen t\n    mode tcp\n    bind 127.0.0.1:{tcp}\n    dispatch 127.0.0.1:{echo}\n"
    );
    let _s = Sluice::start(&cfg, &[http, tcp]);
    for port in [http, tcp] {
        let (head, body) = request(&mut connect(port), "/d", "");
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert!(body.starts_with("GET /d HTTP/1.1"), "{body}");
    }
}

#[test]
fn connection_rules_see_the_real_peer_and_expect_proxy_follows_its_condition() {
    let (trusted, untrusted, bind) = (free_port(), free_port(), free_port());
    // `fe_trusted` expects a PROXY header from the loopback only; `fe_other` from a network
    // no test client is on; `fe_bind` from everyone (`accept-proxy`), and its connection
    // rule sees the real peer, not the announced one (it would reject 192.168.0.1).
    let cfg = format!(
        "{DEFAULTS}\
frontend fe_trusted\n    bind 127.0.0.1:{trusted}\n    tcp-request connection expect-proxy layer4 if {{ src 127.0.0.0/8 }}\n    http-request return status 200 hdr x-src \"%[src]\" hdr x-fcsrc \"%[fc_src]\"\n\
frontend fe_other\n    bind 127.0.0.1:{untrusted}\n    tcp-request connection expect-proxy layer4 if {{ src 10.0.0.0/8 }}\n    http-request return status 200 hdr x-src \"%[src]\"\n\
frontend fe_bind\n    bind 127.0.0.1:{bind} accept-proxy\n    tcp-request connection reject if {{ src 192.168.0.0/16 }}\n    http-request return status 200 hdr x-src \"%[src]\" hdr x-fcsrc \"%[fc_src]\"\n"
    );
    let _sluice = Sluice::start(&cfg, &[trusted, untrusted, bind]);
    let header = "PROXY TCP4 192.168.0.1 10.0.0.2 1234 81\r\n";

    let mut s = connect(trusted);
    s.write_all(header.as_bytes()).expect("send the header");
    let (head, _) = request(&mut s, "/", "");
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("x-src: 192.168.0.1\r\n"), "{head}");
    assert!(head.contains("x-fcsrc: 127.0.0.1\r\n"), "{head}");

    // Without the header a trusted source's request is not taken for one.
    let mut s = connect(trusted);
    s.write_all(b"GET / HTTP/1.1\r\nhost: test\r\n\r\n")
        .expect("send");
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    assert!(
        !String::from_utf8_lossy(&rest).contains(" 200 "),
        "{rest:?}"
    );

    // The condition does not match: no header expected, real addresses.
    let mut s = connect(untrusted);
    let (head, _) = request(&mut s, "/", "");
    assert!(head.contains("x-src: 127.0.0.1\r\n"), "{head}");

    let mut s = connect(bind);
    s.write_all(header.as_bytes()).expect("send the header");
    let (head, _) = request(&mut s, "/", "");
    assert!(head.contains("x-src: 192.168.0.1\r\n"), "{head}");
    assert!(head.contains("x-fcsrc: 127.0.0.1\r\n"), "{head}");
}

#[test]
fn a_backends_tcp_content_rules_run_when_the_stream_enters_it() {
    let fe = free_port();
    let srv = echo_server(Duration::ZERO);
    let cfg = format!(
        "global\n    chroot /\n\
         defaults be_rules\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\
         \x20   tcp-request inspect-delay 1s\n    tcp-request content set-var(txn.seen) str(backend)\n    tcp-request content accept\n\
         \x20   tcp-response content set-var(txn.answer) str(checked)\n    tcp-response content accept\n\
         defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\
         frontend fe\n    bind 127.0.0.1:{fe}\n    tcp-request content set-var(txn.seen) str(frontend)\n\
         \x20   http-request set-header x-at-frontend %[var(txn.seen)]\n\
         \x20   use_backend closed if {{ path_beg /closed }}\n    default_backend be\n\
         backend be from be_rules\n    http-request set-header x-at-backend %[var(txn.seen)]\n\
         \x20   http-response set-header x-answer %[var(txn.answer)]\n    server s1 127.0.0.1:{srv}\n\
         backend closed\n    tcp-response content reject\n    server s1 127.0.0.1:{srv}\n"
    );
    let _sluice = Sluice::start(&cfg, &[fe]);
    let (head, body) = request(&mut connect(fe), "/", "");
    assert!(head.starts_with("http/1.1 200"), "{head}");
    // The frontend's rules saw their own value; the backend's ran after them.
    assert!(body.contains("x-at-frontend: frontend\r\n"), "{body}");
    assert!(body.contains("x-at-backend: backend\r\n"), "{body}");
    assert!(head.contains("x-answer: checked\r\n"), "{head}");
    // `tcp-response content reject` in HTTP mode: the response is aborted, the connection
    // closes without one (as in TCP mode).
    let mut s = connect(fe);
    s.write_all(b"GET /closed HTTP/1.1\r\nhost: test\r\n\r\n")
        .expect("send a request");
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
}

#[test]
fn monitor_fail_turns_the_monitor_answer_into_a_503() {
    let fe = free_port();
    let up = echo_server(Duration::ZERO);
    let down = free_port();
    let cfg = format!(
        "{DEFAULTS}\
         frontend fe\n    bind 127.0.0.1:{fe}\n    monitor-uri /health\n\
         \x20   acl app_down nbsrv(app) lt 1\n    monitor fail if app_down\n\
         \x20   monitor fail if {{ req.hdr(x-drain) -m found }}\n    default_backend app\n\
         backend app\n    server s1 127.0.0.1:{down} check inter 100ms fall 1 rise 1\n\
         backend other\n    server s1 127.0.0.1:{up}\n"
    );
    let _sluice = Sluice::start(&cfg, &[fe]);
    // The only server of `app` is refused: its check takes it down, and the monitor says so.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (head, _) = request(&mut connect(fe), "/health", "");
        if head.starts_with("http/1.1 503") {
            break;
        }
        assert!(Instant::now() < deadline, "still: {head}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn monitor_uri_answers_200_unless_a_fail_condition_holds() {
    let fe = free_port();
    let srv = echo_server(Duration::ZERO);
    let cfg = format!(
        "{DEFAULTS}\
         frontend fe\n    bind 127.0.0.1:{fe}\n    monitor-uri /health\n\
         \x20   monitor fail if {{ req.hdr(x-drain) -m found }}\n    default_backend app\n\
         backend app\n    server s1 127.0.0.1:{srv}\n"
    );
    let _sluice = Sluice::start(&cfg, &[fe]);
    let (head, _) = request(&mut connect(fe), "/health", "");
    assert!(head.starts_with("http/1.1 200"), "{head}");
    let (head, _) = request(&mut connect(fe), "/health", "x-drain: 1\r\n");
    assert!(head.starts_with("http/1.1 503"), "{head}");
    // Other paths go to the backend as usual.
    let (head, _) = request(&mut connect(fe), "/", "x-drain: 1\r\n");
    assert!(head.starts_with("http/1.1 200"), "{head}");
}

#[test]
fn monitor_fail_without_a_condition_is_a_configuration_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("h.cfg");
    std::fs::write(
        &path,
        "defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\
         frontend fe\n    bind 127.0.0.1:8080\n    monitor-uri /health\n    monitor fail\n",
    )
    .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["-c", "--check-env=off", "-f"])
        .arg(&path)
        .output()
        .expect("run sluice -c");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("h.cfg:9]"), "{err}");
    assert!(
        err.contains("'monitor fail' expects 'if' or 'unless'"),
        "{err}"
    );
}
