//! Rule actions as a client sees their effect.

mod common;

use common::rules;
use sluice_rules::{SimpleConnection, SimpleMessage, Txn, Verdict};

fn run(body: &str, mut req: SimpleMessage) -> (Verdict, SimpleMessage) {
    let r = rules(body);
    let c = SimpleConnection::new("203.0.113.5:4000", "127.0.0.1:8080");
    let v = r.run_http_request(&mut req, &c, &mut Txn::new());
    (v, req)
}

fn get(uri: &str) -> SimpleMessage {
    SimpleMessage::request(
        "GET",
        uri,
        &[("Host", "example.com"), ("X-A", "1, 2"), ("X-A", "3")],
    )
}

#[test]
fn final_actions() {
    assert_eq!(
        run("    http-request allow\n    http-request deny", get("/")).0,
        Verdict::Allow
    );
    assert_eq!(
        run("    http-request deny deny_status 429", get("/")).0,
        Verdict::Deny {
            status: 429,
            reply: None
        }
    );
    assert_eq!(
        run("    http-request tarpit", get("/")).0,
        Verdict::Tarpit {
            status: 500,
            reply: None
        }
    );
    assert_eq!(run("    http-request reject", get("/")).0, Verdict::Reject);
    assert_eq!(
        run("    http-request auth realm Admin", get("/")).0,
        Verdict::Auth {
            realm: "Admin".into()
        }
    );
    assert_eq!(
        run("    http-request auth", get("/")).0,
        Verdict::Auth { realm: "fe".into() }
    );
}

#[test]
fn return_and_custom_deny_replies() {
    let (v, _) = run(
        "    http-request return status 404 content-type text/plain lf-string \"no %[path]\" hdr X-R yes",
        get("/p"),
    );
    let Verdict::Return(reply) = v else {
        panic!("{v:?}")
    };
    assert_eq!(reply.status, 404);
    assert_eq!(reply.content_type.as_deref(), Some("text/plain"));
    assert_eq!(&*reply.body, b"no /p");
    assert_eq!(reply.headers, vec![("X-R".into(), b"yes".to_vec())]);
    let (v, _) = run(
        "    http-request deny status 401 content-type text/plain string nope",
        get("/"),
    );
    let Verdict::Deny {
        status: 401,
        reply: Some(reply),
    } = v
    else {
        panic!("{v:?}")
    };
    assert_eq!(&*reply.body, b"nope");
    let e = common::compile_error("    http-request return status 200 string x");
    assert!(e.contains("content-type"), "{e}");
}

#[test]
fn redirects() {
    let loc = |v: Verdict| match v {
        Verdict::Redirect { code, location, .. } => (code, String::from_utf8(location).unwrap()),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        loc(run("    http-request redirect location /new code 301", get("/")).0),
        (301, "/new".into())
    );
    assert_eq!(
        loc(run(
            "    http-request redirect prefix https://x.org",
            get("/a?b=1")
        )
        .0),
        (302, "https://x.org/a?b=1".into())
    );
    assert_eq!(
        loc(run(
            "    http-request redirect prefix /p drop-query append-slash",
            get("/a?b=1")
        )
        .0),
        (302, "/p/a/".into())
    );
    assert_eq!(
        loc(run(
            "    http-request redirect scheme https code 308",
            get("/a?q")
        )
        .0),
        (308, "https://example.com/a?q".into())
    );
    assert_eq!(
        loc(run("    redirect scheme https if !{ ssl_fc }", get("/")).0).1,
        "https://example.com/"
    );
    assert_eq!(
        loc(run(
            "    http-request redirect location https://%[hdr(host)]%[path]",
            get("/z")
        )
        .0)
        .1,
        "https://example.com/z"
    );
}

#[test]
fn header_rewrites() {
    let (_, m) = run("    http-request set-header X-A new", get("/"));
    assert_eq!(m.values("x-a"), ["new"]);
    let (_, m) = run("    http-request add-header X-A 4", get("/"));
    assert_eq!(m.values("X-A"), ["1, 2", "3", "4"]);
    let (_, m) = run("    http-request del-header x-a", get("/"));
    assert!(m.values("X-A").is_empty());
    let (_, m) = run("    http-request del-header X- -m beg", get("/"));
    assert!(m.values("X-A").is_empty() && m.get("Host").is_some());
    let (_, m) = run(
        "    http-request replace-header X-A ^(\\d).* <\\1>",
        get("/"),
    );
    assert_eq!(m.values("X-A"), ["<1>", "<3>"]);
    let (_, m) = run("    http-request replace-value X-A ^(\\d)$ v\\1", get("/"));
    assert_eq!(m.values("X-A"), ["v1, v2", "v3"]);
    let (_, m) = run("    http-request set-header X-Src %ci:%cp-%[src]", get("/"));
    assert_eq!(
        m.get("X-Src").as_deref(),
        Some("203.0.113.5:4000-203.0.113.5")
    );
}

#[test]
fn request_line_rewrites() {
    let uri = |body: &str, u: &str| String::from_utf8(run(body, get(u)).1.uri).unwrap();
    assert_eq!(
        uri("    http-request set-path /new", "/old?q=1"),
        "/new?q=1"
    );
    assert_eq!(
        uri("    http-request set-query a=2", "/old?q=1"),
        "/old?a=2"
    );
    assert_eq!(uri("    http-request set-uri /x?y", "/old?q=1"), "/x?y");
    assert_eq!(uri("    http-request set-pathq /p?z", "/old?q=1"), "/p?z");
    assert_eq!(
        uri("    http-request replace-path /api(/.*) \\1", "/api/v1?k"),
        "/v1?k"
    );
    assert_eq!(
        uri("    http-request set-path /pre%[path]", "http://h/a?b"),
        "http://h/pre/a?b"
    );
    let (_, m) = run("    http-request set-method POST", get("/"));
    assert_eq!(m.method, b"POST");
}

#[test]
fn response_rules() {
    let r = rules(
        "    http-response set-status 503 reason Maintenance if { status 500 }\n\
         \x20   http-response deny if { res.hdr(x-leak) -m found }\n\
         \x20   http-response set-header X-Status %[status]",
    );
    let c = SimpleConnection::new("1.2.3.4:5", "127.0.0.1:80");
    let mut res = SimpleMessage::response(500, &[]);
    assert_eq!(
        r.run_http_response(&mut res, &c, &mut Txn::new()),
        Verdict::Continue
    );
    assert_eq!(
        (res.status, res.reason.as_slice()),
        (503, &b"Maintenance"[..])
    );
    assert_eq!(res.get("X-Status").as_deref(), Some("503"));
    let mut res = SimpleMessage::response(200, &[("X-Leak", "1")]);
    assert!(matches!(
        r.run_http_response(&mut res, &c, &mut Txn::new()),
        // HAProxy denies a response with 502.
        Verdict::Deny { status: 502, .. }
    ));
}

#[test]
fn captures_and_stick_table_actions() {
    let r = rules(
        "    stick-table type ip size 10 store http_req_cnt\n\
         \x20   http-request capture req.hdr(host) len 4\n    http-request track-sc0 src\n\
         \x20   http-request capture path len 10",
    );
    let c = SimpleConnection::new("1.2.3.4:5", "127.0.0.1:80");
    let mut txn = Txn::new();
    let mut req = get("/abc");
    txn.captures.start_request(&r.captures, &req);
    assert_eq!(
        r.run_http_request(&mut req, &c, &mut txn),
        Verdict::Continue
    );
    assert_eq!(txn.captures.request.get(0), Some(b"exam".to_vec()));
    assert_eq!(txn.captures.request.get(1), Some(b"/abc".to_vec()));
    assert_eq!(txn.captures.request.get(2), None);
    assert!(
        txn.vars.stick.get(0).is_some(),
        "track-sc0 tracks the source"
    );
}

#[test]
fn declared_capture_slots_fetches_and_converters() {
    let r = rules(
        "    declare capture request len 3\n    capture request header host len 7\n\
         \x20   declare capture response len 16\n\
         \x20   http-request capture path id 0\n\
         \x20   http-request capture str(big) id 9\n\
         \x20   http-request set-var(txn.v) req.hdr(x-a),capture-req(3)\n\
         \x20   http-request capture str(by-len) len 4\n\
         \x20   http-request set-header x-c \"%[capture.req.hdr(0)]|%[capture.req.hdr(1)]|%[capture.req.hdr(2)]|%[capture.req.hdr(3)]|%[var(txn.v)]\"\n\
         \x20   http-request set-header x-l \"%[capture.req.method] %[capture.req.uri] %[capture.req.ver]\"\n\
         \x20   http-response set-var(txn.r) str(resp),capture-res(0)\n\
         \x20   http-response set-header x-r \"%[capture.res.hdr(0)] %[capture.req.uri] %[capture.res.ver]\"",
    );
    assert_eq!(r.captures.request, vec![3, 7, 4]);
    assert_eq!(r.captures.response, vec![16]);
    let c = SimpleConnection::new("1.2.3.4:5", "127.0.0.1:80");
    let mut txn = Txn::new();
    let mut req = get("/abc?x=1");
    txn.captures.start_request(&r.captures, &req);
    assert_eq!(
        r.run_http_request(&mut req, &c, &mut txn),
        Verdict::Continue
    );
    // Slot 0 is 3 bytes long; id 9 and slot 3 do not exist: nothing happens.
    let hdr = |m: &SimpleMessage, n: &str| {
        m.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n.as_bytes()))
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    };
    assert_eq!(hdr(&req, "x-c").as_deref(), Some("/ab|example|by-l||3"));
    assert_eq!(hdr(&req, "x-l").as_deref(), Some("GET /abc?x=1 HTTP/1.1"));
    // The response side still sees the request's captures and line.
    let mut resp = SimpleMessage::response(200, &[("X-Srv", "a")]);
    txn.captures.start_response(&r.captures, &resp);
    r.run_http_response(&mut resp, &c, &mut txn);
    assert_eq!(hdr(&resp, "x-r").as_deref(), Some("resp /abc?x=1 HTTP/1.1"));
    // The next transaction starts empty.
    txn.clear();
    assert_eq!(txn.captures.request.get(0), None);
}

#[test]
fn tcp_rules() {
    let r = rules(
        "    tcp-request connection reject if { src 192.0.2.0/24 }\n    tcp-request connection accept",
    );
    let mut txn = Txn::new();
    assert_eq!(
        r.tcp_connection.run_tcp(
            &SimpleConnection::new("192.0.2.1:1", "127.0.0.1:80"),
            &mut txn
        ),
        Verdict::Reject
    );
    assert_eq!(
        r.tcp_connection.run_tcp(
            &SimpleConnection::new("198.51.100.1:1", "127.0.0.1:80"),
            &mut txn
        ),
        Verdict::Allow
    );
}

/// Unseen configurations: HAProxy reads redirect options in any order and accepts
/// `deny_status` before reply arguments.
#[test]
fn redirect_options_in_any_order() {
    let loc = |v: Verdict| match v {
        Verdict::Redirect { code, location, .. } => (code, String::from_utf8(location).unwrap()),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        loc(run("    http-request redirect code 301 location /new", get("/")).0),
        (301, "/new".into())
    );
    assert_eq!(
        loc(run("    redirect code 308 scheme https", get("/a")).0),
        (308, "https://example.com/a".into())
    );
    assert_eq!(
        loc(run(
            "    http-request redirect location /n keep-query",
            get("/a?b=1")
        )
        .0),
        (302, "/n?b=1".into())
    );
    assert_eq!(
        loc(run(
            "    http-request redirect location /n?x=2 keep-query",
            get("/a?b=1")
        )
        .0),
        (302, "/n?x=2&b=1".into())
    );
    let e = common::compile_error("    http-request redirect code 301");
    assert!(e.contains("redirection type expected"), "{e}");
    let e = common::compile_error("    http-request redirect location /x bogus");
    assert!(e.contains("bogus"), "{e}");
}

#[test]
fn deny_status_then_reply_headers() {
    match run(
        "    http-request deny deny_status 403 hdr X-Blocked-By waf",
        get("/"),
    )
    .0
    {
        Verdict::Deny { status, reply } => {
            assert_eq!(status, 403);
            assert!(reply.is_some());
        }
        other => panic!("{other:?}"),
    }
    let e = common::compile_error("    http-request deny deny_status 403 bogus");
    assert!(e.contains("bogus"), "{e}");
}

#[test]
fn replies_without_payload_or_from_error_files() {
    // No payload: status and `hdr` fields only; an empty value adds no field; a missing
    // sample renders as nothing.
    let (v, _) = run(
        "    http-request return hdr X-P \"%[path]\" hdr X-None \"%[req.hdr(x-none)]\" content-type text/plain",
        get("/p"),
    );
    let Verdict::Return(reply) = v else {
        panic!("{v:?}")
    };
    assert_eq!(
        (reply.status, reply.use_errorfile, reply.raw),
        (200, false, false)
    );
    assert_eq!(reply.content_type, None, "ignored without a payload");
    assert_eq!(reply.headers, vec![("X-P".into(), b"/p".to_vec())]);
    assert!(reply.body.is_empty());
    // `default-errorfiles`: the proxy's page, the line's headers ignored.
    let (v, _) = run(
        "    http-request return status 503 default-errorfiles hdr X-P x",
        get("/"),
    );
    let Verdict::Return(reply) = v else {
        panic!("{v:?}")
    };
    assert!(reply.use_errorfile && reply.headers.is_empty(), "{reply:?}");
    // `errorfile`: a whole response sent as written; an empty file needs no content-type.
    let dir = tempfile::tempdir().expect("temporary directory");
    let page = dir.path().join("403.http");
    std::fs::write(&page, "HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n").expect("write");
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "").expect("write");
    let r = common::rules_in(
        &format!(
            "    http-request deny deny_status 403 errorfile {} if {{ path /a }}\n    http-request return file {} if {{ path /b }}",
            page.display(),
            empty.display()
        ),
        None,
    );
    let c = SimpleConnection::new("203.0.113.5:4000", "127.0.0.1:8080");
    match r.run_http_request(&mut get("/a"), &c, &mut Txn::new()) {
        Verdict::Deny {
            status: 403,
            reply: Some(reply),
        } => {
            assert!(reply.raw);
            assert!(reply.body.starts_with(b"HTTP/1.1 403 Forbidden\r\n"));
        }
        other => panic!("{other:?}"),
    }
    match r.run_http_request(&mut get("/b"), &c, &mut Txn::new()) {
        Verdict::Return(reply) => assert!(reply.body.is_empty() && !reply.raw),
        other => panic!("{other:?}"),
    }
    // An error page reply needs a status HAProxy has a page for.
    let e = common::compile_error("    http-request return status 299 default-errorfiles");
    assert!(e.contains("299"), "{e}");
    let e = common::compile_error("    http-request return status 404 errorfiles nosuch");
    assert!(e.contains("nosuch"), "{e}");
}
