//! End-to-end: the real binary with an echo server on 127.0.0.1 for the rule actions and
//! proxy options that rewrite or check requests: `normalize-uri`, `option forwarded`,
//! `option http-restrict-req-hdr-names`, `strict-mode`, the `*-headers-bin` actions,
//! `set-retries`, `pause`, and connections kept open after `deny` and `tarpit`.

use std::time::{Duration, Instant};

mod common;
use common::free_port;
use common::http::*;

const DEFAULTS: &str = "global\n    chroot /\n\ndefaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n    timeout tarpit 100ms\n";

/// The request line the server received (the echo server answers with the request head).
fn request_line(body: &str) -> &str {
    body.lines().next().unwrap_or("")
}

/// The values of header `name` in the request head the server received.
fn received(body: &str, name: &str) -> Vec<String> {
    body.lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim().to_string())
        .collect()
}

#[test]
fn normalize_uri_rewrites_the_request_line_sent_to_the_server() {
    let (fe, strict) = (free_port(), free_port());
    let echo = echo_server(Duration::ZERO);
    let cfg = format!(
        "{DEFAULTS}\nfrontend all\n    bind 127.0.0.1:{fe}\n    \
         http-request normalize-uri path-merge-slashes\n    \
         http-request normalize-uri percent-decode-unreserved\n    \
         http-request normalize-uri path-strip-dot\n    \
         http-request normalize-uri path-strip-dotdot full\n    \
         http-request normalize-uri percent-to-uppercase\n    \
         http-request normalize-uri query-sort-by-name\n    default_backend echo\n\n\
         frontend strict\n    bind 127.0.0.1:{strict}\n    \
         http-request normalize-uri percent-to-uppercase strict\n    default_backend echo\n\n\
         backend echo\n    server s 127.0.0.1:{echo}\n"
    );
    let _s = Sluice::start(&cfg, &[fe, strict]);

    let mut c = connect(fe);
    let (head, body) = request(&mut c, "//a/./b/../%63/%2f?z=1&a=2&m", "");
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert_eq!(request_line(&body), "GET /a/c/%2F?a=2&m&z=1 HTTP/1.1");
    let (_, body) = request(&mut c, "/../../x", "");
    assert_eq!(
        request_line(&body),
        "GET /x HTTP/1.1",
        "'full' drops the leading '..'"
    );

    let mut c = connect(strict);
    let (_, body) = request(&mut c, "/%aa?q=%bb", "");
    assert_eq!(request_line(&body), "GET /%AA?q=%BB HTTP/1.1");
    let (head, _) = request(&mut c, "/%zz", "");
    assert!(
        head.starts_with("http/1.1 400"),
        "a bad sequence under 'strict': {head}"
    );
}

#[test]
fn option_forwarded_sends_an_rfc7239_header() {
    let (fe, custom) = (free_port(), free_port());
    let echo = echo_server(Duration::ZERO);
    let cfg = format!(
        "{DEFAULTS}\nfrontend plain\n    bind 127.0.0.1:{fe}\n    default_backend be_plain\n\n\
         frontend custom\n    bind 127.0.0.1:{custom}\n    default_backend be_custom\n\n\
         backend be_plain\n    option forwarded\n    server s 127.0.0.1:{echo}\n\n\
         backend be_custom\n    option forwarded host by by_port for for_port-expr str(id)\n    \
         server s 127.0.0.1:{echo}\n"
    );
    let _s = Sluice::start(&cfg, &[fe, custom]);

    let mut c = connect(fe);
    let (_, body) = request(&mut c, "/", "");
    assert_eq!(received(&body, "forwarded"), ["proto=http;for=127.0.0.1"]);
    // A valid header from a proxy before: this one's element is appended to it.
    let (_, body) = request(&mut c, "/", "forwarded: for=10.0.0.1\r\n");
    assert_eq!(
        received(&body, "forwarded"),
        ["for=10.0.0.1, proto=http;for=127.0.0.1"]
    );
    // An invalid one is left alone, and a header of its own added.
    let (_, body) = request(&mut c, "/", "forwarded: nonsense\r\n");
    assert_eq!(
        received(&body, "forwarded"),
        ["nonsense", "proto=http;for=127.0.0.1"]
    );

    let mut c = connect(custom);
    let (_, body) = request(&mut c, "/", "");
    assert_eq!(
        received(&body, "forwarded"),
        [format!(
            "host=\"test\";by=\"127.0.0.1:{custom}\";for=\"127.0.0.1:_id\""
        )]
    );
}

#[test]
fn restrict_req_hdr_names_deletes_or_rejects_odd_names() {
    let (fe, delete, reject) = (free_port(), free_port(), free_port());
    let echo = echo_server(Duration::ZERO);
    let cfg = format!(
        "{DEFAULTS}\nfrontend preserve\n    bind 127.0.0.1:{fe}\n    default_backend echo\n\n\
         frontend delete\n    bind 127.0.0.1:{delete}\n    \
         option http-restrict-req-hdr-names delete\n    default_backend echo\n\n\
         frontend reject\n    bind 127.0.0.1:{reject}\n    default_backend strict\n\n\
         backend echo\n    server s 127.0.0.1:{echo}\n\n\
         backend strict\n    option http-restrict-req-hdr-names reject\n    server s 127.0.0.1:{echo}\n"
    );
    let _s = Sluice::start(&cfg, &[fe, delete, reject]);
    let odd = "x-my_hdr: on\r\nx-fine: yes\r\n";

    let (_, body) = request(&mut connect(fe), "/", odd);
    assert_eq!(received(&body, "x-my_hdr"), ["on"], "preserved by default");

    let (_, body) = request(&mut connect(delete), "/", odd);
    assert!(received(&body, "x-my_hdr").is_empty(), "{body}");
    assert_eq!(received(&body, "x-fine"), ["yes"]);

    let mut c = connect(reject);
    let (head, _) = request(&mut c, "/", odd);
    assert!(head.starts_with("http/1.1 403"), "{head}");
    let (head, _) = request(&mut c, "/", "x-fine: yes\r\n");
    assert!(head.starts_with("http/1.1 200"), "{head}");
}

#[test]
fn strict_mode_decides_what_a_failed_rewrite_does() {
    let (strict, lenient) = (free_port(), free_port());
    let echo = echo_server(Duration::ZERO);
    // Each rule doubles the value: 12 doublings of 256 bytes pass the 1 MiB a header value
    // may hold, and that rewrite fails. The buffer is large enough for the rest.
    let doublings = "    http-request replace-value x-test (.*) \\1\\1\n".repeat(13);
    let cfg = format!(
        "global\n    chroot /\n    tune.bufsize 4194304\n{}\nfrontend strict\n    bind 127.0.0.1:{strict}\n{doublings}    \
         http-request set-header x-len %[req.hdr(x-test),length]\n    \
         http-request del-header x-test\n    default_backend echo\n\n\
         frontend lenient\n    bind 127.0.0.1:{lenient}\n    http-request strict-mode off\n{doublings}    \
         http-request set-header x-len %[req.hdr(x-test),length]\n    \
         http-request del-header x-test\n    default_backend echo\n\n\
         backend echo\n    server s 127.0.0.1:{echo}\n",
        DEFAULTS.trim_start_matches("global\n    chroot /\n")
    );
    let _s = Sluice::start(&cfg, &[strict, lenient]);
    let value = format!("x-test: {}\r\n", "0123456789abcdef".repeat(16));

    let (head, _) = request(&mut connect(strict), "/", &value);
    assert!(head.starts_with("http/1.1 500"), "{head}");
    let (head, body) = request(&mut connect(lenient), "/", &value);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert_eq!(
        received(&body, "x-len"),
        ["524288"],
        "the failed rewrite is skipped"
    );
}

#[test]
fn headers_bin_actions_restore_and_remove_headers() {
    let fe = free_port();
    let echo = echo_server(Duration::ZERO);
    let cfg = format!(
        "{DEFAULTS}\nfrontend fe\n    bind 127.0.0.1:{fe}\n    \
         http-request set-var(txn.hdrs) req.hdrs_bin\n    \
         http-request del-header x-a\n    http-request del-header x-b\n    \
         http-request add-headers-bin var(txn.hdrs) prefix x-b if {{ path /prefix }}\n    \
         http-request del-headers-bin bin(02782d000000) -m beg if {{ path /delbeg }}\n    \
         http-after-response set-headers-bin var(txn.hdrs) prefix x-a\n    \
         default_backend echo\n\n\
         backend echo\n    server s 127.0.0.1:{echo}\n"
    );
    let _s = Sluice::start(&cfg, &[fe]);
    let hdrs = "x-a: 1\r\nx-b: 2\r\nx-c: 3\r\n";

    let mut c = connect(fe);
    let (head, body) = request(&mut c, "/prefix", hdrs);
    assert!(received(&body, "x-a").is_empty(), "{body}");
    assert_eq!(received(&body, "x-b"), ["2"]);
    assert!(
        head.contains("x-a: 1\r\n"),
        "the response gets x-a back: {head}"
    );
    let (_, body) = request(&mut c, "/delbeg", hdrs);
    assert!(received(&body, "x-c").is_empty(), "{body}");
}

#[test]
fn set_retries_and_the_retries_fetches() {
    let (listen, fe) = (free_port(), free_port());
    let echo = echo_server(Duration::ZERO);
    let report =
        "    http-after-response set-header x-retries \"%[be_max_retries] %[cur_max_retries]\"\n";
    let cfg = format!(
        "{DEFAULTS}    retries 3\n\nlisten li\n    bind 127.0.0.1:{listen}\n    \
         http-request set-retries 5 if {{ path /more }}\n{report}    \
         server s 127.0.0.1:{echo}\n\n\
         listen other\n    bind 127.0.0.1:{fe}\n    http-request set-retries 7\n{report}    \
         default_backend be\n\n\
         backend be\n    server s 127.0.0.1:{echo}\n"
    );
    let _s = Sluice::start(&cfg, &[listen, fe]);

    let mut c = connect(listen);
    let (head, _) = request(&mut c, "/", "");
    assert!(head.contains("x-retries: 3 3\r\n"), "{head}");
    let (head, _) = request(&mut c, "/more", "");
    assert!(head.contains("x-retries: 3 5\r\n"), "{head}");
    // Entering another backend takes that backend's retries.
    let (head, _) = request(&mut connect(fe), "/", "");
    assert!(head.contains("x-retries: 3 3\r\n"), "{head}");
}

#[test]
fn pause_delays_and_denials_keep_the_connection() {
    let fe = free_port();
    let cfg = format!(
        "{DEFAULTS}\nfrontend fe\n    bind 127.0.0.1:{fe}\n    \
         http-request tarpit if {{ path /tarpit }}\n    \
         http-request deny if {{ path /deny }}\n    \
         http-request pause 300ms if {{ path /pause }}\n    \
         http-request return status 200\n"
    );
    let _s = Sluice::start(&cfg, &[fe]);

    let mut c = connect(fe);
    let started = Instant::now();
    let (head, _) = request(&mut c, "/pause", "");
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(started.elapsed() >= Duration::from_millis(300));
    // As in HAProxy, the client may go on after a denial on the same connection.
    let (head, _) = request(&mut c, "/deny", "");
    assert!(head.starts_with("http/1.1 403"), "{head}");
    assert!(!head.contains("connection: close"), "{head}");
    let (head, _) = request(&mut c, "/tarpit", "");
    assert!(head.starts_with("http/1.1 500"), "{head}");
    let (head, _) = request(&mut c, "/", "");
    assert!(head.starts_with("http/1.1 200"), "{head}");
}

#[test]
fn a_rewrite_fails_when_the_buffer_has_no_room_left() {
    let (strict, lenient) = (free_port(), free_port());
    let echo = echo_server(Duration::ZERO);
    let value = "1234567890".repeat(6);
    let rules = format!(
        "    http-request set-header x-one {value}\n    http-request set-header x-two {value}\n"
    );
    let cfg = format!(
        "global\n    chroot /\n    tune.bufsize 2048\n    tune.maxrewrite 128\n\n\
         defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    \
         timeout server 5s\n    option http-buffer-request\n\n\
         frontend strict\n    bind 127.0.0.1:{strict}\n{rules}    default_backend echo\n\n\
         frontend lenient\n    bind 127.0.0.1:{lenient}\n    http-request strict-mode off\n{rules}    \
         default_backend echo\n\n\
         backend echo\n    server s 127.0.0.1:{echo}\n"
    );
    let _s = Sluice::start(&cfg, &[strict, lenient]);
    // A body that fills the buffer: only `tune.maxrewrite` bytes are left for rewrites,
    // room for one of the two headers.
    let post = |port: u16| {
        use std::io::Write;
        let mut c = connect(port);
        let body = "a".repeat(2000);
        let req = format!("POST / HTTP/1.1\r\nhost: test\r\ncontent-length: 2000\r\n\r\n{body}");
        c.write_all(req.as_bytes()).expect("send a request");
        read_response(&mut c)
    };
    let (head, _) = post(strict);
    assert!(head.starts_with("http/1.1 500"), "{head}");
    let (head, body) = post(lenient);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert_eq!(received(&body, "x-one"), std::slice::from_ref(&value));
    assert!(received(&body, "x-two").is_empty(), "{body}");
}

#[test]
fn a_check_reports_a_bad_forwarded_expression_and_normalizer() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("bad.cfg");
    let cfg = format!(
        "{DEFAULTS}\nfrontend f\n    bind 127.0.0.1:{}\n    \
         http-request normalize-uri path-strip-dotdot strict\n    default_backend b\n\n\
         backend b\n    option forwarded for-expr nosuchfetch\n    server s 127.0.0.1:1\n",
        free_port()
    );
    std::fs::write(&path, cfg).expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("-c")
        .arg("-f")
        .arg(&path)
        .output()
        .expect("run sluice -c");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("bad.cfg:13"),
        "the normalizer's line: {stderr}"
    );
    assert!(stderr.contains("unexpected 'strict'"), "{stderr}");
    assert!(stderr.contains("bad.cfg:17"), "the option's line: {stderr}");
    assert!(stderr.contains("'option forwarded for-expr'"), "{stderr}");
}
