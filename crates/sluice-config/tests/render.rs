//! The three renderers on a few diagnostics: HAProxy's one-line form, the rich form, JSON.

use sluice_config::render::{haproxy, json, json_line, rich};
use sluice_config::{Category, Diagnostic, Location, SourceMap};

fn sources() -> (SourceMap, sluice_config::FileId) {
    let mut sources = SourceMap::new();
    let id = sources.add(
        "q1.cfg",
        b"global\n    log-tag \"unterminated\n    chrot /var/empty\r\n".to_vec(),
    );
    (sources, id)
}

fn unknown_keyword(file: sluice_config::FileId) -> Diagnostic {
    Diagnostic::error(
        Category::Syntax,
        "keyword-unknown",
        "unknown keyword 'chrot' in 'global' section; did you mean 'chroot' maybe ?",
    )
    .at(Location::new(file, 3, 5, 5))
    .help("write 'chroot'")
    .replacement("chroot")
}

#[test]
fn haproxy_form_keeps_the_first_line_and_adds_help_below() {
    let (sources, file) = sources();
    assert_eq!(
        haproxy(&unknown_keyword(file), &sources, 42),
        "[ALERT]    (42) : config : parsing [q1.cfg:3] : unknown keyword 'chrot' in 'global' \
         section; did you mean 'chroot' maybe ?\n   | help: write 'chroot'\n"
    );
}

#[test]
fn haproxy_form_shows_line_and_caret_after_a_position_message() {
    let (sources, file) = sources();
    let d = Diagnostic::error(
        Category::Syntax,
        "unmatched-quote",
        "unmatched quote at position 13:",
    )
    .at(Location::new(file, 2, 13, 1));
    assert_eq!(
        haproxy(&d, &sources, 7),
        "[ALERT]    (7) : config : parsing [q1.cfg:2]: unmatched quote at position 13:\n\
         \x20 log-tag \"unterminated\n\
         \x20         ^\n"
    );
}

#[test]
fn haproxy_form_pads_every_label_to_ten_characters() {
    let (sources, _) = sources();
    let warning = Diagnostic::warning(Category::Semantic, "w", "w.");
    let notice = Diagnostic::notice(Category::Semantic, "n", "n.");
    let diag = Diagnostic::diag(Category::Advice, "d", "d.");
    assert_eq!(haproxy(&warning, &sources, 1), "[WARNING]  (1) : w.\n");
    assert_eq!(haproxy(&notice, &sources, 1), "[NOTICE]   (1) : n.\n");
    assert_eq!(haproxy(&diag, &sources, 1), "[DIAG]     (1) : d.\n");
}

#[test]
fn haproxy_form_appends_the_os_reason_and_notes() {
    let (sources, file) = sources();
    let d = Diagnostic::error(
        Category::Environment,
        "chroot-missing",
        "'chroot' : cannot use directory '/dummydir'.",
    )
    .at(Location::line(file, 1))
    .os_error(&std::io::Error::from_raw_os_error(2))
    .note("first defined at q1.cfg:1");
    assert_eq!(
        haproxy(&d, &sources, 9),
        "[ALERT]    (9) : config : parsing [q1.cfg:1] : 'chroot' : cannot use directory \
         '/dummydir' (No such file or directory).\n   | first defined at q1.cfg:1\n"
    );
}

#[test]
fn rich_form_underlines_the_span_and_lists_help() {
    let (sources, file) = sources();
    assert_eq!(
        rich(&unknown_keyword(file), &sources, false),
        "error[keyword-unknown]: unknown keyword 'chrot' in 'global' section; did you mean \
         'chroot' maybe ?\n\
         \x20--> q1.cfg:3:5\n\
         \x20 |\n\
         3 |     chrot /var/empty\n\
         \x20 |     ^^^^^\n\
         \x20 |\n\
         \x20 = help: write 'chroot'\n\
         \x20 = replace with: `chroot`\n"
    );
}

#[test]
fn rich_form_without_location_is_the_header_and_help() {
    let sources = SourceMap::new();
    let d = Diagnostic::warning(Category::Advice, "some-code", "something odd.").help("fix it");
    assert_eq!(
        rich(&d, &sources, false),
        "warning[some-code]: something odd.\n = help: fix it\n"
    );
}

#[test]
fn rich_form_with_color_marks_the_severity() {
    let sources = SourceMap::new();
    let d = Diagnostic::error(Category::Syntax, "x", "bad.");
    let text = rich(&d, &sources, true);
    assert!(text.starts_with("\x1b[1;31merror[x]\x1b[0m"), "{text:?}");
}

#[test]
fn json_array_has_every_field() {
    let (sources, file) = sources();
    let other = Diagnostic::notice(Category::Semantic, "no-listener", "nothing listens.");
    let text = json(&[unknown_keyword(file), other], &sources);
    let value: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(
        value,
        serde_json::json!([
            {
                "severity": "error",
                "category": "syntax",
                "code": "keyword-unknown",
                "file": "q1.cfg",
                "line": 3,
                "column": 5,
                "length": 5,
                "message": "unknown keyword 'chrot' in 'global' section; did you mean 'chroot' maybe ?",
                "help": "write 'chroot'",
                "os_error": null,
                "replacement": "chroot",
                "notes": []
            },
            {
                "severity": "notice",
                "category": "semantic",
                "code": "no-listener",
                "file": null,
                "line": null,
                "column": null,
                "length": null,
                "message": "nothing listens.",
                "help": null,
                "os_error": null,
                "replacement": null,
                "notes": []
            }
        ])
    );
}

#[test]
fn json_line_is_one_line() {
    let (sources, file) = sources();
    let line = json_line(&unknown_keyword(file), &sources);
    assert_eq!(line.matches('\n').count(), 1);
    assert!(line.ends_with("}\n"));
}
