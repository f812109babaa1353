//! Prints the time per evaluation of the benchmark's rules (`http-rules.cfg.in`) on its one
//! request: frontend request rules, backend choice, backend rules and response rules. For
//! tracking, not a claim: run with `cargo run --release -p sluice-rules --example rules_bench`.

use sluice_config::{read_str, ReadOptions};
use sluice_model::{build, BuildOptions};
use sluice_rules::{compile, CompileOptions, SimpleConnection, SimpleMessage, Txn};
use std::time::Instant;

fn main() {
    let text = include_str!("../tests/data/http-rules.cfg.in")
        .replace("@NBTHREAD@", "1")
        .replace("@MAXCONN@", "1000")
        .replace("@FE@", "127.0.0.1:8000")
        .replace("@S1@", "127.0.0.1:9001")
        .replace("@S2@", "127.0.0.1:9002")
        .replace("@S3@", "127.0.0.1:9003")
        .replace("@S4@", "127.0.0.1:9004");
    let (tree, _) = read_str("http-rules.cfg", &text, &ReadOptions::default());
    let (model, _) = build(&tree, &BuildOptions::default());
    let options = CompileOptions::default();
    let (Ok(fe), Ok(be)) = (
        compile(&model, "fe", &options),
        compile(&model, "be_api", &options),
    ) else {
        eprintln!("the bench configuration does not compile");
        std::process::exit(1);
    };
    let conn = SimpleConnection::new("192.0.2.7:51000", "127.0.0.1:8000");
    let request = SimpleMessage::request(
        "GET",
        "/api/v1/items",
        &[("Host", "api.example.com"), ("User-Agent", "bench")],
    );
    let response = SimpleMessage::response(200, &[("Server", "x"), ("Content-Length", "2")]);
    let mut txn = Txn::new();
    let rounds = 200_000u32;
    let start = Instant::now();
    let mut routed = 0usize;
    for _ in 0..rounds {
        // The copies stand for the data plane's parsed heads; their cost is included.
        let mut req = request.clone();
        let mut res = response.clone();
        txn.clear();
        fe.run_http_request(&mut req, &conn, &mut txn);
        if fe.select_backend(&req, &conn, &txn).is_some() {
            routed += 1;
        }
        be.run_http_request(&mut req, &conn, &mut txn);
        fe.run_http_response(&mut res, &conn, &mut txn);
        std::hint::black_box((&req, &res));
    }
    let ns = start.elapsed().as_nanos() / u128::from(rounds);
    println!(
        "http-rules: {ns} ns per request (request + routing + response rules, {routed} routed)"
    );
}
