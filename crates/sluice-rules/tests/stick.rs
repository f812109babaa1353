//! Stick tables through the rules: tracking actions, the `sc_*`/`src_*`/`table_*` fetches
//! and converters, and the compile-time checks of table references.

mod common;

use common::{frontend, model, rules};
use sluice_rules::{compile, CompileOptions, SimpleConnection, SimpleMessage, Txn, Verdict};

fn get() -> SimpleMessage {
    SimpleMessage::request("GET", "/", &[("Host", "example.com")])
}

fn compile_error(body: &str) -> String {
    let m = model(&frontend(body));
    match compile(&m, "fe", &CompileOptions::default()) {
        Ok(_) => panic!("compiled: {body}"),
        Err(d) => d
            .iter()
            .map(|d| d.message.clone())
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

#[test]
fn the_fourth_request_within_the_period_is_refused() {
    let r = rules(
        "    stick-table type ip size 100 expire 30s store http_req_rate(10s)\n\
         \x20   http-request track-sc0 src\n\
         \x20   http-request deny deny_status 429 if { sc_http_req_rate(0) gt 3 }",
    );
    let c = SimpleConnection::new("192.0.2.7:40000", "127.0.0.1:80");
    for i in 1..=4 {
        let mut txn = Txn::new();
        let v = r.run_http_request(&mut get(), &c, &mut txn);
        if i < 4 {
            assert_eq!(v, Verdict::Continue, "request {i}");
        } else {
            assert!(
                matches!(v, Verdict::Deny { status: 429, .. }),
                "request {i}: {v:?}"
            );
        }
    }
    // Another client is not limited.
    let other = SimpleConnection::new("192.0.2.8:40000", "127.0.0.1:80");
    let mut txn = Txn::new();
    assert_eq!(
        r.run_http_request(&mut get(), &other, &mut txn),
        Verdict::Continue
    );
}

#[test]
fn src_fetches_read_without_tracking() {
    let r = rules(
        "    stick-table type ip size 100 store conn_cur,gpc0,http_req_cnt\n\
         \x20   http-request set-var(txn.before) src_http_req_cnt\n\
         \x20   http-request track-sc1 src\n\
         \x20   http-request sc-inc-gpc0(1)\n\
         \x20   http-request set-var(txn.cur) src_conn_cur\n\
         \x20   http-request set-var(txn.gpc) sc1_get_gpc0\n\
         \x20   http-request set-var(txn.in) src,in_table(fe)\n\
         \x20   http-request set-var(txn.cnt) src,table_http_req_cnt(fe)\n\
         \x20   http-request set-var(txn.tracked) sc_tracked(1)\n\
         \x20   http-request set-var(txn.avl) table_avl\n\
         \x20   http-request set-var(txn.rate) sc_conn_rate(1)",
    );
    let c = SimpleConnection::new("192.0.2.9:40000", "127.0.0.1:80");
    let mut txn = Txn::new();
    r.run_http_request(&mut get(), &c, &mut txn);
    let int = |name: &str| txn.vars.get(name).and_then(|v| v.to_int());
    assert_eq!(int("txn.before"), Some(0));
    assert_eq!(int("txn.cur"), Some(1));
    assert_eq!(int("txn.gpc"), Some(1));
    assert_eq!(int("txn.in"), Some(1));
    assert_eq!(int("txn.cnt"), Some(1));
    assert_eq!(int("txn.tracked"), Some(1));
    assert_eq!(int("txn.avl"), Some(99));
    // conn_rate is not stored: no sample, no variable.
    assert_eq!(txn.vars.get("txn.rate"), None);
    // The transaction's tracker ends with it.
    txn.clear();
    let mut next = Txn::new();
    r.run_http_request(&mut get(), &c, &mut next);
    assert_eq!(next.vars.get("txn.cur").and_then(|v| v.to_int()), Some(1));
    assert_eq!(
        next.vars.get("txn.before").and_then(|v| v.to_int()),
        Some(1)
    );
}

#[test]
fn gpt_and_gpc_actions_write_the_tracked_entry() {
    let r = rules(
        "    stick-table type string len 16 size 10 store gpt0,gpc(2),gpc_rate(2,1m)\n\
         \x20   http-request track-sc0 req.hdr(host)\n\
         \x20   http-request sc-set-gpt0(0) 42\n\
         \x20   http-request sc-add-gpc(1,0) 5\n\
         \x20   http-request sc-inc-gpc(1,0)\n\
         \x20   http-request set-var(txn.gpt) sc_get_gpt0(0)\n\
         \x20   http-request set-var(txn.gpc) sc_get_gpc(1,0)\n\
         \x20   http-request set-var(txn.rate) sc_gpc_rate(1,0)\n\
         \x20   http-request set-var(txn.key) sc0_key",
    );
    let c = SimpleConnection::new("192.0.2.9:40000", "127.0.0.1:80");
    let mut txn = Txn::new();
    r.run_http_request(&mut get(), &c, &mut txn);
    let int = |name: &str| txn.vars.get(name).and_then(|v| v.to_int());
    assert_eq!(int("txn.gpt"), Some(42));
    assert_eq!(int("txn.gpc"), Some(6));
    assert_eq!(int("txn.rate"), Some(6));
    assert_eq!(
        txn.vars.get("txn.key").and_then(|v| v.as_bytes()),
        Some(&b"example.com"[..])
    );
}

#[test]
fn table_references_are_checked_when_compiling() {
    let e = compile_error("    http-request track-sc0 src");
    assert!(
        e.contains("no table given and proxy 'fe' has no stick-table"),
        "{e}"
    );
    let e = compile_error("    http-request track-sc0 src table nope");
    assert!(e.contains("unable to find table 'nope'"), "{e}");
    let e = compile_error("    http-request deny if { src_conn_cur ge 2 }");
    assert!(e.contains("has no stick-table"), "{e}");
    let e = compile_error("    http-request deny if { src_conn_cur(nope) ge 2 }");
    assert!(e.contains("unable to find table 'nope'"), "{e}");
    let e = compile_error("    http-request set-var(txn.x) src,table_gpc0(nope)");
    assert!(e.contains("unable to find table 'nope'"), "{e}");
    let e = compile_error("    http-request deny if { sc_http_req_rate(7) gt 1 }");
    assert!(e.contains("out of range"), "{e}");
    // A table of another proxy, by name.
    let m = model(
        &frontend(
            "    http-request track-sc0 src table app\n\
         \x20   http-request deny if { sc_conn_cur(0,app) gt 10 }",
        )
        .replace(
            "backend app\n",
            "backend app\n    stick-table type ip size 1k store conn_cur\n",
        ),
    );
    assert!(compile(&m, "fe", &CompileOptions::default()).is_ok());
}
