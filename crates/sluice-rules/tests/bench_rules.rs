//! The benchmark's rules scenario (`shared/bench/configs/http-rules.cfg.in`) compiles and
//! routes as HAProxy does.

mod common;

use sluice_rules::{
    compile, Backend, CompileOptions, SimpleConnection, SimpleMessage, Txn, Verdict,
};

const CONFIG: &str = include_str!("data/http-rules.cfg.in");

fn config() -> String {
    CONFIG
        .replace("@NBTHREAD@", "2")
        .replace("@MAXCONN@", "1000")
        .replace("@FE@", "127.0.0.1:8000")
        .replace("@S1@", "127.0.0.1:9001")
        .replace("@S2@", "127.0.0.1:9002")
        .replace("@S3@", "127.0.0.1:9003")
        .replace("@S4@", "127.0.0.1:9004")
}

fn conn() -> SimpleConnection {
    SimpleConnection::new("192.0.2.7:51000", "127.0.0.1:8000")
}

#[test]
fn api_request_is_rewritten_and_routed_to_be_api() {
    let model = common::model(&config());
    let fe = compile(&model, "fe", &CompileOptions::default()).unwrap();
    let be = compile(&model, "be_api", &CompileOptions::default()).unwrap();
    let conn = conn();
    let mut txn = Txn::new();
    let mut req = SimpleMessage::request(
        "GET",
        "/api/v1/items",
        &[
            ("Host", "api.example.com"),
            ("X-Forwarded-Host", "evil"),
            ("X-Forwarded-Proto", "https"),
        ],
    );
    assert_eq!(
        fe.run_http_request(&mut req, &conn, &mut txn),
        Verdict::Continue
    );
    assert_eq!(req.get("X-Forwarded-Host"), None);
    assert_eq!(req.values("X-Forwarded-Proto"), ["http"]);
    assert_eq!(req.get("X-Client-IP").as_deref(), Some("192.0.2.7"));
    assert_eq!(req.get("X-Bench-Route").as_deref(), Some("api"));
    assert_eq!(
        fe.select_backend(&req, &conn, &txn),
        Some(Backend::Static("be_api"))
    );

    assert_eq!(
        be.run_http_request(&mut req, &conn, &mut txn),
        Verdict::Continue
    );
    assert_eq!(req.get("X-Backend").as_deref(), Some("api"));

    let mut res = SimpleMessage::response(200, &[("Server", "nginx"), ("Content-Length", "2")]);
    assert_eq!(
        fe.run_http_response(&mut res, &conn, &mut txn),
        Verdict::Continue
    );
    assert_eq!(res.get("Server"), None);
    assert_eq!(res.get("X-Served-By").as_deref(), Some("bench"));
}

#[test]
fn admin_without_authorization_is_denied() {
    let model = common::model(&config());
    let fe = compile(&model, "fe", &CompileOptions::default()).unwrap();
    let mut req = SimpleMessage::request("GET", "/admin", &[("Host", "api.example.com")]);
    let verdict = fe.run_http_request(&mut req, &conn(), &mut Txn::new());
    assert_eq!(
        verdict,
        Verdict::Deny {
            status: 403,
            reply: None
        }
    );

    let mut req = SimpleMessage::request(
        "GET",
        "/admin",
        &[("Host", "a"), ("Authorization", "Basic eA==")],
    );
    assert_eq!(
        fe.run_http_request(&mut req, &conn(), &mut Txn::new()),
        Verdict::Continue
    );
}

#[test]
fn writes_to_static_are_denied_and_reads_go_to_be_static() {
    let model = common::model(&config());
    let fe = compile(&model, "fe", &CompileOptions::default()).unwrap();
    let mut req = SimpleMessage::request("POST", "/static/x", &[("Host", "a")]);
    assert!(matches!(
        fe.run_http_request(&mut req, &conn(), &mut Txn::new()),
        Verdict::Deny { status: 403, .. }
    ));

    let mut req = SimpleMessage::request("GET", "/static/x", &[("Host", "a")]);
    let mut txn = Txn::new();
    assert_eq!(
        fe.run_http_request(&mut req, &conn(), &mut txn),
        Verdict::Continue
    );
    assert_eq!(
        fe.select_backend(&req, &conn(), &txn),
        Some(Backend::Static("be_static"))
    );
}

#[test]
fn api_path_on_another_host_falls_back_to_the_default_backend() {
    let model = common::model(&config());
    let fe = compile(&model, "fe", &CompileOptions::default()).unwrap();
    let mut req = SimpleMessage::request("GET", "/api/v1/items", &[("Host", "www.example.com")]);
    let mut txn = Txn::new();
    fe.run_http_request(&mut req, &conn(), &mut txn);
    assert_eq!(
        fe.select_backend(&req, &conn(), &txn),
        Some(Backend::Static("be_default"))
    );
    let mut req = SimpleMessage::request("GET", "/api/x", &[("Host", "API.Example.ORG")]);
    assert_eq!(
        fe.select_backend(&req, &conn(), &txn),
        Some(Backend::Static("be_api")),
        "-i"
    );
    let _ = &mut req;
}
