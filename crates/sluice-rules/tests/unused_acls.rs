//! HAProxy parses every `acl` line when it reads it: a named ACL that no rule uses is
//! checked as a used one is, each bad line reported once on its own line.

mod common;

use sluice_config::{read_str, Category, Diagnostic, ReadOptions};
use sluice_model::{build, BuildOptions};
use sluice_rules::{check_all, CompileOptions};

/// The model's findings and `check_all`'s for a frontend with `body`, as `-c` gathers them.
fn findings(body: &str) -> Vec<Diagnostic> {
    let (tree, diags) = read_str("test.cfg", &common::frontend(body), &ReadOptions::default());
    assert!(!diags.has_errors(), "reader errors: {:?}", diags.items);
    let (model, model_found) = build(&tree, &BuildOptions::default());
    model_found
        .into_iter()
        .chain(check_all(&model, &CompileOptions::default()))
        .collect()
}

fn errors(body: &str) -> Vec<Diagnostic> {
    findings(body)
        .into_iter()
        .filter(|d| d.is_error())
        .collect()
}

/// Line of the configuration built by `common::frontend(body)` that contains `needle`.
fn line_of(body: &str, needle: &str) -> u32 {
    let text = common::frontend(body);
    let index = text
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle} not in the text"));
    u32::try_from(index + 1).unwrap_or(u32::MAX)
}

fn line(d: &Diagnostic) -> Option<u32> {
    d.location.map(|l| l.line)
}

/// The model reports a misspelt fetch and leaves the line out; the rules engine must not
/// report it a second time.
#[test]
fn an_unused_acl_with_a_misspelt_fetch_is_one_syntax_error_at_its_line() {
    let body = "    acl unused path_bgn /x";
    let found = errors(body);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].category, Category::Syntax);
    assert_eq!(found[0].code, "keyword-unknown");
    assert_eq!(line(&found[0]), Some(line_of(body, "acl unused")));
}

#[test]
fn an_unused_valid_acl_gives_nothing() {
    let found = findings("    acl unused path_beg /x\n    acl ips src 10.0.0.0/8 ::1");
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn unused_acls_are_checked_like_used_ones() {
    let cases = [
        (
            "    acl unused path_reg (",
            Category::Syntax,
            "regex-invalid",
        ),
        (
            "    acl unused hdr(host,1,2,3) x",
            Category::Syntax,
            "acl-invalid",
        ),
        (
            "    acl unused src 10.0.0.1/33",
            Category::Syntax,
            "acl-invalid",
        ),
        (
            "    acl unused path -m nope /x",
            Category::Syntax,
            "acl-invalid",
        ),
        (
            "    acl unused path_reg (foo)\\1",
            Category::Compatibility,
            "regex-unsupported",
        ),
    ];
    for (body, category, code) in cases {
        let found = errors(body);
        assert_eq!(found.len(), 1, "{body}: {found:#?}");
        assert_eq!(found[0].category, category, "{body}");
        assert_eq!(found[0].code, code, "{body}");
        assert_eq!(line(&found[0]), Some(line_of(body, "acl unused")), "{body}");
        // The same finding as when a rule uses it.
        let used = errors(&format!("{body}\n    http-request deny if unused"));
        assert_eq!(used, found, "{body}");
    }
}

#[test]
fn an_unreadable_pattern_file_keeps_its_code() {
    let found = errors("    acl unused path -f /nonexistent/sluice-unused-acl.lst");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].code, sluice_rules::FILE_UNREADABLE);
}

#[test]
fn each_bad_line_is_reported_once_on_its_own_line() {
    // An unused name on three lines, two of them bad.
    let body = "    acl a path_reg (\n    acl a path_beg /ok\n    acl a src 1.2.3.4/99";
    let found = errors(body);
    let lines: Vec<_> = found.iter().map(line).collect();
    assert_eq!(
        lines,
        vec![
            Some(line_of(body, "path_reg")),
            Some(line_of(body, "1.2.3.4/99"))
        ],
        "{found:#?}"
    );
    // Used by two rules: the first bad line is not repeated, the later one is still found.
    let used = errors(&format!(
        "{body}\n    http-request deny if a\n    http-request deny if !a a"
    ));
    assert_eq!(used, found);
}
