//! Check mode (spec R4.x): message lines, summaries, exit codes, `-q`, `--json`, `-cc`.

mod common;
use common::{ok_cfg, Dir};

/// `ok.cfg` with `extra` appended to its global section.
fn ok_with_global(extra: &str) -> String {
    ok_cfg().replacen("    uid 0\n", &format!("    uid 0\n{extra}"), 1)
}

#[test]
fn t2_9_missing_lf_on_last_line() {
    let dir = Dir::new();
    dir.write(
        "nolf.cfg",
        &format!("{}    # no newline at the end", ok_cfg()),
    );
    // HAProxy refuses the file; Sluice's reader may only warn, but -dW must then refuse it.
    let run = dir.run(&["-c", "-dW", "-f", "nolf.cfg"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr_lines().iter().any(|l| l.contains(
            " : config : parsing [nolf.cfg:17]: Missing LF on last line, file might have been truncated at position 28."
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn t2_11_stops_after_fifty_fatal_errors() {
    let dir = Dir::new();
    let mut text = String::from("global\n");
    for i in 0..60 {
        text.push_str(&format!("    nosuchkeyword{i} 1\n"));
    }
    dir.write("many.cfg", &text);
    let run = dir.run(&["-c", "-f", "many.cfg"]);
    assert_eq!(run.code, 1);
    let unknown = run
        .stderr_lines()
        .iter()
        .filter(|l| l.starts_with("[ALERT]") && l.contains("nosuchkeyword"))
        .count();
    assert_eq!(unknown, 50, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("too many fatal errors (50), stopping now."),
        "{}",
        run.stderr
    );
}

#[test]
fn banner_comes_before_the_first_alert() {
    let dir = Dir::new();
    dir.write("q.cfg", "global\n    log-tag \"unterminated\n");
    let run = dir.run(&["-c", "-f", "q.cfg"]);
    assert_eq!(run.code, 1);
    let lines = run.stderr_lines();
    assert!(lines.len() >= 3, "{}", run.stderr);
    assert!(lines[0].starts_with("[NOTICE]   (PID) : sluice version is "));
    assert!(lines[1].starts_with("[NOTICE]   (PID) : path to executable is "));
    assert_eq!(
        &lines[2..],
        [
            "[ALERT]    (PID) : config : parsing [q.cfg:2]: unmatched quote at position 13:",
            "  log-tag \"unterminated",
            "          ^",
            // Our help, on a line that does not start with '['.
            "   | help: close the quote on the same line (a line cannot continue on the next one), or escape it with a backslash",
            "[ALERT]    (PID) : config : Error(s) found in configuration file : q.cfg",
            "[ALERT]    (PID) : config : Fatal errors found in configuration.",
        ]
    );
}

#[test]
fn t3_8_alert_directive_has_no_fatal_summary() {
    let dir = Dir::new();
    dir.write("alert.cfg", "global\n    .alert 'bad'\n");
    let run = dir.run(&["-c", "-f", "alert.cfg"]);
    assert_eq!(run.code, 1);
    let lines = run.stderr_lines();
    assert!(
        lines.contains(&"[ALERT]    (PID) : config : parsing [alert.cfg:2]: 'bad'.".to_string()),
        "{}",
        run.stderr
    );
    assert!(lines.contains(
        &"[ALERT]    (PID) : config : Error(s) found in configuration file : alert.cfg".to_string()
    ));
    assert!(!run.stderr.contains("Fatal errors found"), "{}", run.stderr);
}

#[test]
fn t3_9_warning_directive_and_zero_warning() {
    let dir = Dir::new();
    dir.write("warn.cfg", &ok_with_global("    .warning 'w'\n"));
    let run = dir.run(&["-c", "-f", "warn.cfg"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "Warnings were found.\n");
    assert!(run
        .stderr_lines()
        .contains(&"[WARNING]  (PID) : config : parsing [warn.cfg:4]: 'w'.".to_string()));

    let run = dir.run(&["-c", "-dW", "-f", "warn.cfg"]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr_lines().contains(
            &"[ALERT]    (PID) : Some warnings were found and 'zero-warning' is set. Aborting."
                .to_string()
        ),
        "{}",
        run.stderr
    );

    // The global keyword does the same as -dW.
    dir.write(
        "zw.cfg",
        &ok_with_global("    zero-warning\n    .warning 'w'\n"),
    );
    let run = dir.run(&["-c", "-f", "zw.cfg"]);
    assert_eq!(run.code, 1, "{run:?}");
}

#[test]
fn diag_directive_only_in_diagnostic_mode() {
    let dir = Dir::new();
    dir.write("diag.cfg", &ok_with_global("    .diag 'd'\n"));
    let run = dir.run(&["-c", "-f", "diag.cfg"]);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{run:?}");
    let run = dir.run(&["-c", "-dD", "-f", "diag.cfg"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run
        .stderr_lines()
        .contains(&"[DIAG]     (PID) : config : parsing [diag.cfg:4]: 'd'.".to_string()));
    assert_eq!(run.stdout, "Warnings were found.\n");
}

#[test]
fn t4_1_duplicate_single_valued_keywords_are_warnings() {
    let dir = Dir::new();
    dir.write(
        "dup.cfg",
        &ok_with_global("    maxconn 10\n    maxconn 20\n"),
    );
    let run = dir.run(&["-c", "-f", "dup.cfg"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("[WARNING]"), "{}", run.stderr);
    assert!(!run.stderr.contains("[ALERT]"), "{}", run.stderr);
    let run = dir.run(&["-c", "-dW", "-f", "dup.cfg"]);
    assert_eq!(run.code, 1, "{run:?}");
}

#[test]
fn t4_2_no_listener_exits_2() {
    let dir = Dir::new();
    dir.write(
        "be.cfg",
        "defaults\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n\
         backend b\n    server s1 127.0.0.1:18081\n",
    );
    let run = dir.run(&["-c", "-f", "be.cfg"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(
        run.stdout,
        "Configuration file has no error but will not start (no listener) => exit(2).\n"
    );
}

#[test]
fn t4_3_quiet_prints_nothing() {
    let dir = Dir::new();
    dir.write("bad.cfg", "global\n    log-tag \"unterminated\n");
    let run = dir.run(&["-c", "-q", "-f", "bad.cfg"]);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (1, "", "")
    );
    let run = Dir::new().run(&["-c", "-q", "-f", "/nonexistent.cfg"]);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (1, "", "")
    );
}

#[test]
fn json_lists_every_diagnostic_on_stdout_only() {
    let dir = Dir::new();
    dir.write("bad.cfg", "global\n    nosuchkw 1\n    .warning 'w'\n");
    let run = dir.run(&["-c", "--json", "-f", "bad.cfg"]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stderr, "");
    let value: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    let items = value.as_array().expect("an array");
    // Reader and model findings together, in line order.
    assert_eq!(items.len(), 2, "{}", run.stdout);
    let first = &items[0];
    assert_eq!(first["severity"], "error");
    assert_eq!(first["category"], "syntax");
    assert_eq!(first["code"], "keyword-unknown");
    assert_eq!(first["file"], "bad.cfg");
    assert_eq!(first["line"], 2);
    assert_eq!(first["column"], 5);
    assert!(first["help"].is_string());
    for field in ["message", "os_error", "replacement", "notes"] {
        assert!(first.get(field).is_some(), "{field} missing");
    }
    assert_eq!(items[1]["severity"], "warning");
    assert_eq!(items[1]["line"], 3);
}

#[test]
fn json_for_a_missing_file_and_no_listener() {
    let run = Dir::new().run(&["-c", "--json", "-f", "/nonexistent.cfg"]);
    assert_eq!(run.code, 1);
    let value: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(value[0]["code"], "config-file-open");
    assert_eq!(value[0]["os_error"], "No such file or directory");

    let dir = Dir::new();
    dir.write("empty.cfg", "global\n");
    let run = dir.run(&["-c", "--json", "-f", "empty.cfg"]);
    assert_eq!(run.code, 2);
    let value: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(
        value[value.as_array().map_or(0, |a| a.len() - 1)]["code"],
        "no-listener"
    );
}

#[test]
fn rich_form_on_request() {
    let dir = Dir::new();
    dir.write("q.cfg", "global\n    log-tag \"unterminated\n");
    let run = dir.run(&["-c", "--diag-format=rich", "-f", "q.cfg"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.starts_with(
            "error[unmatched-quote]: unmatched quote at position 13\n --> q.cfg:2:13\n  |\n2 |     log-tag \"unterminated\n  |             ^\n"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn condition_exit_codes() {
    let dir = Dir::new();
    for (expr, code) in [
        ("streq(a,a)", 0),
        ("streq(a, a)", 1),
        ("streq(\"$HAPROXY_BRANCH\",3.4)", 0),
        ("feature(THREAD)", 0),
        ("feature(OPENSSL)", 1),
        ("foo(1)", 2),
        ("(1", 2),
    ] {
        let run = dir.run(&["-cc", expr]);
        assert_eq!(run.code, code, "-cc {expr}: {run:?}");
    }
    let run = dir.run(&["-cc", "foo(1)"]);
    assert!(
        run.stderr_lines()
            .iter()
            .any(|l| l.starts_with("[ALERT]    (PID) : Failed to evaluate condition: ")),
        "{}",
        run.stderr
    );
}

#[test]
fn what_sluice_cannot_run_does_not_hide_the_rules_errors() {
    let dir = Dir::new();
    // Line 13: a bind option Sluice refuses (compatibility); line 14: a typo'd fetch that
    // only the rules compile finds. Both are reported by one run.
    let text = ok_cfg().replacen(
        "    default_backend b\n",
        "    bind 127.0.0.1:1 npn h2\n    http-request set-header x %[no_such_fetch]\n    default_backend b\n",
        1,
    );
    dir.write("both.cfg", &text);
    let run = dir.run(&["-c", "-f", "both.cfg"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("both.cfg:13]") && run.stderr.contains("'npn'"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("both.cfg:14]") && run.stderr.contains("no_such_fetch"),
        "{}",
        run.stderr
    );
}
