//! `-c` compiles every ACL, sample expression and rule action, and files each finding under
//! the right category: a typo is a syntax error, a PCRE-only regex or a keyword Sluice lacks
//! is a compatibility error, a missing file is one environment error.

mod common;
use common::{free_port, Dir};
use serde_json::Value;

const HEAD: &str = "global
    chroot /
    uid 0

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

backend b
    server s1 127.0.0.1:18081

frontend f
    bind 127.0.0.1:@PORT@
    default_backend b
";

/// Runs `-c --json` on HEAD plus `lines` (in the frontend); the findings.
fn check(dir: &Dir, global: &str, lines: &str) -> (i32, Vec<Value>) {
    let text = HEAD.replace("@PORT@", &free_port().to_string()).replacen(
        "    uid 0\n",
        &format!("    uid 0\n{global}"),
        1,
    ) + lines;
    dir.write("r.cfg", &text);
    let run = dir.run(&["-c", "--json", "-f", "r.cfg"]);
    let value: Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    let items = value.as_array().cloned().unwrap_or_default();
    (run.code, items)
}

fn errors(items: &[Value]) -> Vec<&Value> {
    items.iter().filter(|d| d["severity"] == "error").collect()
}

/// Line of `needle` in the configuration built by `check`.
fn line_of(global: &str, lines: &str, needle: &str) -> u64 {
    let text = HEAD.replace("@PORT@", &free_port().to_string()).replacen(
        "    uid 0\n",
        &format!("    uid 0\n{global}"),
        1,
    ) + lines;
    let index = text
        .lines()
        .position(|l| l.contains(needle))
        .expect("needle in the text");
    index as u64 + 1
}

#[test]
fn a_back_reference_is_a_compatibility_error_with_help() {
    let dir = Dir::new();
    let lines = "    acl a path_reg (foo)\\1\n    http-request deny if a\n";
    let (code, items) = check(&dir, "", lines);
    assert_eq!(code, 1, "{items:#?}");
    let errors = errors(&items);
    assert_eq!(errors.len(), 1, "{items:#?}");
    let e = errors[0];
    assert_eq!(e["category"], "compatibility");
    assert_eq!(e["code"], "regex-unsupported");
    assert_eq!(e["line"], line_of("", lines, "acl a"));
    assert!(
        e["message"]
            .as_str()
            .unwrap_or("")
            .contains("back-reference"),
        "{e}"
    );
    assert!(e["help"].is_string(), "{e}");
}

#[test]
fn an_invalid_regex_is_a_syntax_error() {
    let dir = Dir::new();
    let lines = "    acl a path_reg (foo\n    http-request deny if a\n";
    let (code, items) = check(&dir, "", lines);
    assert_eq!(code, 1);
    let errors = errors(&items);
    assert_eq!(errors.len(), 1, "{items:#?}");
    assert_eq!(errors[0]["category"], "syntax");
    assert_eq!(errors[0]["code"], "regex-invalid");
    assert!(errors[0]["help"].is_string());
}

#[test]
fn a_misspelt_fetch_is_a_syntax_error_with_a_suggestion() {
    let dir = Dir::new();
    let lines = "    http-request set-header X-Host %[req.hdrr(host)]\n";
    let (code, items) = check(&dir, "", lines);
    assert_eq!(code, 1);
    let errors = errors(&items);
    assert_eq!(errors.len(), 1, "{items:#?}");
    let e = errors[0];
    assert_eq!(e["category"], "syntax");
    assert_eq!(e["code"], "keyword-unknown");
    assert_eq!(e["line"], line_of("", lines, "X-Host"));
    assert!(
        e["message"].as_str().unwrap_or("").contains("'req.hdr'"),
        "{e}"
    );
    assert_eq!(e["replacement"], "req.hdr");
}

#[test]
fn a_fetch_sluice_lacks_is_a_compatibility_error() {
    let dir = Dir::new();
    let lines = "    http-request set-var(txn.h) bc.timer.connect\n";
    let (code, items) = check(&dir, "", lines);
    assert_eq!(code, 1);
    let errors = errors(&items);
    assert_eq!(errors.len(), 1, "{items:#?}");
    assert_eq!(errors[0]["category"], "compatibility");
    assert_eq!(errors[0]["code"], "not-implemented-refused");
}

#[test]
fn argument_count_and_type_chain_mistakes_have_help() {
    let dir = Dir::new();
    let lines = "    http-request set-header X-A %[req.hdr(a,1,2)]\n    http-request set-header X-B %[method,ipmask(24)]\n";
    let (code, items) = check(&dir, "", lines);
    assert_eq!(code, 1);
    let errors = errors(&items);
    assert_eq!(errors.len(), 2, "{items:#?}");
    assert_eq!(errors[0]["category"], "syntax");
    assert_eq!(errors[0]["line"], line_of("", lines, "X-A"));
    assert_eq!(errors[1]["category"], "semantic");
    assert_eq!(errors[1]["line"], line_of("", lines, "X-B"));
    for e in errors {
        assert!(e["help"].is_string(), "{e}");
    }
}

#[test]
fn a_missing_map_file_is_one_environment_error() {
    let dir = Dir::new();
    let lines = "    use_backend %[req.hdr(host),lower,map(missing.map,b)]\n";
    let (code, items) = check(&dir, "", lines);
    assert_eq!(code, 1, "{items:#?}");
    let errors = errors(&items);
    assert_eq!(errors.len(), 1, "{items:#?}");
    assert_eq!(errors[0]["category"], "environment");
    assert_eq!(errors[0]["line"], line_of("", lines, "missing.map"));
}

#[test]
fn every_unreadable_pattern_or_map_file_is_reported_once_by_the_preflight() {
    let dir = Dir::new();
    let lines = "    acl blocked src -f missing-acl.lst
    acl mapped req.hdr(host),map_str(missing-acl.map) -m found
    http-request deny if blocked || mapped
    http-request deny if { req.hdr(host),map_dom(missing-anon.map) -m found }
    http-request set-header X-Y %[req.hdr(host),map(missing-rule.map,none)]
    use_backend %[req.hdr(host),map(missing-ub.map,b)]
";
    let (code, items) = check(&dir, "", lines);
    assert_eq!(code, 1, "{items:#?}");
    let errors = errors(&items);
    for (needle, file) in [
        ("missing-acl.lst", "missing-acl.lst"),
        ("missing-acl.map", "missing-acl.map"),
        ("missing-anon.map", "missing-anon.map"),
        ("missing-rule.map", "missing-rule.map"),
        ("missing-ub.map", "missing-ub.map"),
    ] {
        let line = line_of("", lines, needle);
        let found: Vec<_> = errors
            .iter()
            .filter(|e| e["line"] == line && e["message"].as_str().unwrap_or("").contains(file))
            .collect();
        assert_eq!(found.len(), 1, "{file}: {items:#?}");
        assert_eq!(found[0]["category"], "environment");
    }
    assert_eq!(errors.len(), 5, "{items:#?}");
}

#[test]
fn a_relative_map_file_follows_default_path() {
    let dir = Dir::new();
    dir.write("maps/hosts.map", "example.com b\n");
    let lines = "    use_backend %[req.hdr(host),lower,map(hosts.map,b)]\n";
    let global = &format!("    default-path origin {}/maps\n", dir.path().display());
    let (code, items) = check(&dir, global, lines);
    assert_eq!(code, 0, "{items:#?}");
}

#[test]
fn stick_counters_follow_tune_stick_counters() {
    let dir = Dir::new();
    let lines = "    stick-table type ip size 1k\n    http-request track-sc5 src\n";
    let (code, items) = check(&dir, "", lines);
    assert_eq!(code, 1);
    let errors = errors(&items);
    assert_eq!(errors.len(), 1, "{items:#?}");
    assert_eq!(errors[0]["category"], "syntax");
    assert!(errors[0]["help"]
        .as_str()
        .unwrap_or("")
        .contains("tune.stick-counters"));

    let (code, items) = check(&dir, "    tune.stick-counters 6\n", lines);
    assert_eq!(code, 0, "{items:#?}");
    // Honoured: no compatibility finding about it.
    assert!(!items
        .iter()
        .any(|d| d["category"] == "compatibility" && d["severity"] == "warning"));
}

/// HAProxy parses every `acl` line when it reads it, so an ACL no rule uses is checked too.
#[test]
fn unused_acls_are_checked_at_their_line() {
    let dir = Dir::new();
    let lines = "    acl unused path_bgn /x\n";
    let (code, items) = check(&dir, "", lines);
    assert_eq!(code, 1, "{items:#?}");
    let found = errors(&items);
    assert_eq!(found.len(), 1, "{items:#?}");
    assert_eq!(found[0]["category"], "syntax");
    assert_eq!(found[0]["line"], line_of("", lines, "acl unused"));

    let lines =
        "    acl unused path_reg (\n    acl unused path_beg /ok\n    acl unused src 10.0.0.1/33\n";
    let (code, items) = check(&dir, "", lines);
    assert_eq!(code, 1, "{items:#?}");
    let found = errors(&items);
    assert_eq!(found.len(), 2, "{items:#?}");
    assert_eq!(found[0]["category"], "syntax");
    assert_eq!(found[0]["code"], "regex-invalid");
    assert_eq!(found[0]["line"], line_of("", lines, "path_reg"));
    assert_eq!(found[1]["category"], "syntax");
    assert_eq!(found[1]["line"], line_of("", lines, "/33"));

    let lines = "    acl unused path_beg /x\n    acl unused_ip src 10.0.0.0/8\n";
    let (code, items) = check(&dir, "", lines);
    assert_eq!(code, 0, "{items:#?}");
    assert!(items.is_empty(), "{items:#?}");
}
