//! `-dD` advice (spec R4.8): likely mistakes HAProxy 3.4 reports in diagnostic mode, built
//! through the real reader. Each is a `diag` of category `advice` with a line and a help, and
//! none appears without `-dD`.

use sluice_config::{read_str, Category, Diagnostic, ReadOptions, Severity};
use sluice_model::{build, BuildOptions};

const BASE: &str = "defaults\n    mode http\n    timeout client 30s\n    timeout connect 5s\n    timeout server 30s\n";

/// The diagnostics with `code` when `text` (after [`BASE`], 5 lines) is built with and
/// without `-dD`.
fn advice(text: &str, code: &str) -> (Vec<Diagnostic>, Vec<Diagnostic>) {
    let text = format!("{BASE}{text}");
    let (tree, read) = read_str("t.cfg", &text, &ReadOptions::default());
    assert!(!read.has_errors(), "reader errors: {:?}", read.items);
    let run = |diag_mode| {
        let (_, diags) = build(
            &tree,
            &BuildOptions {
                diag_mode,
                ..BuildOptions::default()
            },
        );
        diags
            .into_iter()
            .filter(|d| d.code == code)
            .collect::<Vec<_>>()
    };
    (run(true), run(false))
}

/// Asserts that `found` are diags of category advice with a help, at `lines`, with `message`.
#[track_caller]
fn assert_advice(found: &[Diagnostic], lines: &[u32], message: &str) {
    let at: Vec<u32> = found
        .iter()
        .map(|d| d.location.map_or(0, |l| l.line))
        .collect();
    assert_eq!(at, lines, "{found:#?}");
    for d in found {
        assert_eq!((d.severity, d.category), (Severity::Diag, Category::Advice));
        assert!(d.help.is_some(), "{d:?}");
        assert!(d.message.contains(message), "{}", d.message);
    }
}

#[test]
fn acl_pattern_that_is_an_acl_keyword() {
    let (with, without) = advice(
        "frontend f\n    bind :80\n    acl api path_beg /api path_beg /v2\n    acl host hdr(host) -i hdr_dom(host)\n    default_backend b\nbackend b\n",
        "acl-pattern-suspicious",
    );
    assert_advice(
        &with,
        &[8, 9],
        "suspiciously looks like a known acl keyword",
    );
    assert_eq!(
        with[0].message,
        "pattern 'path_beg' suspiciously looks like a known acl keyword"
    );
    assert!(without.is_empty());
}

#[test]
fn acl_pattern_that_starts_with_a_sample_fetch() {
    let (with, without) = advice(
        "frontend f\n    bind :80\n    acl same req.hdr(x-a) req.hdr(x-b)\n    acl local src 10.0.0.0/8 dst\n    default_backend b\nbackend b\n",
        "acl-pattern-suspicious",
    );
    assert_advice(
        &with,
        &[8, 9],
        "suspiciously looks like a known sample fetch keyword",
    );
    assert_eq!(
        with[0].message,
        "pattern 'req.hdr(x-b)' suspiciously looks like a known sample fetch keyword"
    );
    assert!(without.is_empty());
}

#[test]
fn ordinary_acl_patterns_draw_no_advice() {
    let (with, _) = advice(
        "frontend f\n    bind :80\n    acl api path_beg /api /v2\n    acl host hdr(host) -i www.example.com example.com\n    acl m method GET HEAD\n    acl p dst_port 80 443\n    acl ua req.hdr(user-agent) -m sub curl\n    default_backend b\nbackend b\n",
        "acl-pattern-suspicious",
    );
    assert!(with.is_empty(), "{with:#?}");
}

#[test]
fn anonymous_acl_pattern_that_is_an_operator() {
    let (with, without) = advice(
        "frontend f\n    bind :80\n    use_backend b if { path_beg /a or /b }\nbackend b\n",
        "acl-pattern-suspicious",
    );
    assert_advice(
        &with,
        &[8],
        "looks like a failed attempt at using an operator inside a pattern list",
    );
    assert!(without.is_empty());
}

#[test]
fn check_reuse_pool_with_non_http_checks() {
    let (with, without) = advice(
        "backend b\n    server a 10.0.0.1:80 check check-reuse-pool\n",
        "check-reuse-pool-not-http",
    );
    assert_advice(
        &with,
        &[7],
        "'server a': check-reuse-pool is ineffective for non http-check rulesets.",
    );
    assert!(without.is_empty());
}

#[test]
fn check_reuse_pool_below_aggressive_reuse() {
    let (with, without) = advice(
        "backend b\n    option httpchk\n    http-reuse safe\n    server a 10.0.0.1:80 check check-reuse-pool\n",
        "check-reuse-pool-reuse-policy",
    );
    assert_advice(
        &with,
        &[9],
        "'server a': check-reuse-pool is ineffective due to http-reuse policy.",
    );
    assert!(without.is_empty());
    let (with, _) = advice(
        "backend b\n    option httpchk\n    http-reuse always\n    server a 10.0.0.1:80 check check-reuse-pool\n",
        "check-reuse-pool-reuse-policy",
    );
    assert!(with.is_empty(), "{with:#?}");
}
