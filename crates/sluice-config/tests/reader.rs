//! Reading files: lines, directives, sections (spec R2.1, R2.5, R2.6, R3.1, R3.5; tests T2.x,
//! T3.5–T3.9).

use sluice_config::{
    read_config, read_str, Category, ConfigTree, Diagnostic, Diagnostics, Environment, ReadOptions,
    SectionKind, Severity, SourceMap,
};

fn read(text: &str) -> (ConfigTree, Diagnostics) {
    read_str("t.cfg", text, &ReadOptions::default())
}

fn read_env(text: &str, env: &mut Environment, options: &ReadOptions) -> (ConfigTree, Diagnostics) {
    let mut sources = SourceMap::new();
    sources.add("t.cfg", text.as_bytes().to_vec());
    read_config(&sources, env, options)
}

/// The only diagnostic.
fn only(diags: &Diagnostics) -> &Diagnostic {
    assert_eq!(diags.len(), 1, "{:#?}", diags.items);
    &diags.items[0]
}

fn line_col(d: &Diagnostic) -> (u32, u32) {
    let l = d.location.expect("diagnostic has a location");
    (l.line, l.column)
}

fn keywords(tree: &ConfigTree) -> Vec<String> {
    tree.sections
        .iter()
        .flat_map(|s| {
            std::iter::once(s.header.text()).chain(s.statements.iter().map(|st| st.text()))
        })
        .collect()
}

#[test]
fn sections_and_statements_keep_positions() {
    let (tree, diags) = read("global\n    maxconn 100\n\nfrontend fe\n  bind :80\n");
    assert!(diags.is_empty());
    assert_eq!(tree.sections.len(), 2);
    assert_eq!(tree.sections[0].kind, SectionKind::Global);
    assert_eq!(tree.sections[1].name(), Some("fe"));
    let bind = &tree.sections[1].statements[0];
    assert_eq!(bind.keyword(), "bind");
    assert_eq!(bind.location.line, 5);
    assert_eq!(bind.word_location(1).column, 8);
}

#[test]
fn t2_1_lexer_error_is_fatal_and_reading_goes_on() {
    let (tree, diags) = read("global\n    log-tag \"unterminated\n    maxconn 1\n");
    let d = only(&diags);
    assert_eq!(d.code, "unmatched-quote");
    assert_eq!(d.category, Category::Syntax);
    assert_eq!(d.message, "unmatched quote at position 13:");
    assert_eq!(line_col(d), (2, 13));
    assert!(d.help.is_some());
    assert_eq!(keywords(&tree), ["global", "maxconn 1"]);
}

#[test]
fn t2_2_empty_argument_is_fatal_once_per_line() {
    let text =
        "frontend f\n    acl bad path_sub '%2E' \"$NOPE\" '%2F'\n    acl x \"\" \"$NOPE2\"\n";
    let (tree, diags) = read(text);
    assert_eq!(diags.len(), 2);
    let first = &diags.items[0];
    assert_eq!(first.code, "empty-argument");
    assert_eq!(
        first.message,
        "argument number 4 at position 30 is empty and marks the end of the argument list:"
    );
    assert_eq!(line_col(first), (2, 30));
    assert!(first.help.as_deref().unwrap().contains("NOPE"));
    assert!(first.notes[0].starts_with("Aborting to prevent"));
    // The explanation is printed the first time only.
    assert!(diags.items[1].notes.is_empty());
    assert!(diags.items[1]
        .message
        .starts_with("argument number 2 at position 11 "));
    // The lines are not in the tree.
    assert!(tree.sections[0].statements.is_empty());
}

#[test]
fn empty_argument_hint_names_a_similar_variable() {
    let mut env = Environment::from_pairs([("BACKEND_HOST", "10.0.0.1")]);
    let (_, diags) = read_env(
        "backend b\n  server s \"$BACKEND_HOTS\" check\n",
        &mut env,
        &ReadOptions::default(),
    );
    let d = only(&diags);
    assert!(d
        .notes
        .iter()
        .any(|n| n == "Hint: maybe you meant BACKEND_HOST instead ?"));
}

#[test]
fn t2_3_pseudo_variables_and_defaults() {
    let text =
        "global\n    .notice \"tag=${NOPE-deflt} line=${.LINE} file=${.FILE} sec=${.SECTION}\"\n";
    let (_, diags) = read_str("env2.cfg", text, &ReadOptions::default());
    let d = only(&diags);
    assert_eq!(d.severity, Severity::Notice);
    assert_eq!(d.message, "'tag=deflt line=2 file=env2.cfg sec=global'.");
}

#[test]
fn section_pseudo_variable_uses_the_name_or_keyword() {
    let (_, diags) = read(".notice \"[${.SECTION}]\"\nbackend be1\n.notice \"${.SECTION}\"\n");
    let texts: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(texts, ["'[]'.", "'be1'."]);
}

#[test]
fn t2_9_missing_lf_is_a_warning_and_the_line_is_read() {
    let (tree, diags) = read("global\n    maxconn 10");
    let d = only(&diags);
    assert_eq!(d.code, "missing-lf");
    assert_eq!(d.severity, sluice_config::Severity::Warning);
    assert_eq!(
        d.message,
        "Missing LF on last line, file might have been truncated at position 15."
    );
    assert_eq!(line_col(d), (2, 15));
    assert_eq!(keywords(&tree), ["global", "maxconn 10"]);
}

#[test]
fn t2_10_crlf_is_accepted() {
    let (tree, diags) = read("global\r\n    maxconn 10\r\n");
    assert!(diags.is_empty(), "{:?}", diags.items);
    assert_eq!(keywords(&tree), ["global", "maxconn 10"]);
}

#[test]
fn nul_is_reported_on_its_own_line_and_stops_the_file() {
    let (_, diags) = read("global\n    max\0conn 10\n    nbthread 1\n");
    let d = only(&diags);
    assert_eq!(d.code, "stray-nul");
    assert_eq!(d.message, "Stray NUL character at position 8.");
    assert_eq!(line_col(d), (2, 8));
}

#[test]
fn t2_11_reading_stops_after_50_fatal_errors() {
    let mut text = String::from("global\n");
    for _ in 0..60 {
        text.push_str("    bad \"quote\n");
    }
    let (_, diags) = read(&text);
    assert_eq!(diags.len(), 51);
    let last = diags.items.last().unwrap();
    assert_eq!(last.code, "too-many-errors");
    assert_eq!(last.message, "too many fatal errors (50), stopping now.");
    assert_eq!(last.location.unwrap().line, 52);
}

#[test]
fn t2_12_every_file_starts_out_of_section() {
    let mut sources = SourceMap::new();
    sources.add("a.cfg", b"global\n    maxconn 1\n".to_vec());
    sources.add(
        "b.cfg",
        b"    nbthread 2\ndefaults\n    mode http\n".to_vec(),
    );
    let (tree, diags) = read_config(&sources, &mut Environment::empty(), &ReadOptions::default());
    let d = only(&diags);
    assert_eq!(d.code, "keyword-out-of-section");
    assert_eq!(d.message, "unknown keyword 'nbthread' out of section.");
    assert_eq!(d.location.unwrap().file, sources.ids().nth(1).unwrap());
    assert_eq!(line_col(d), (1, 5));
    assert_eq!(
        keywords(&tree),
        ["global", "maxconn 1", "defaults", "mode http"]
    );
}

#[test]
fn t2_13_unknown_directive_stops_the_file() {
    let (tree, diags) = read("global\n.line 5\n    maxconn 1\n");
    let d = only(&diags);
    assert_eq!(d.code, "unknown-directive");
    assert_eq!(d.message, "unknown directive '.line'.");
    assert!(!d.aborts);
    assert_eq!(keywords(&tree), ["global"]);
}

#[test]
fn if_elif_else_choose_one_branch() {
    let text = "\
global
.if 0
    maxconn 1
.elif 1
    maxconn 2
.elif 1
    maxconn 3
.else
    maxconn 4
.endif
.if defined(NOPE)
    nbthread 1
.else
    nbthread 2
.endif
";
    let (tree, diags) = read(text);
    assert!(diags.is_empty(), "{:?}", diags.items);
    assert_eq!(keywords(&tree), ["global", "maxconn 2", "nbthread 2"]);
}

#[test]
fn nested_if_in_skipped_block_is_not_evaluated() {
    let text = "global\n.if 0\n.if foo(1)\n    maxconn 1\n.else\n    maxconn 2\n.endif\n.endif\n";
    let (tree, diags) = read(text);
    assert!(diags.is_empty(), "{:?}", diags.items);
    assert_eq!(keywords(&tree), ["global"]);
}

#[test]
fn elif_after_taken_branch_is_not_evaluated() {
    let (_, diags) = read(".if 1\n.elif foo(1)\n.endif\n");
    assert!(diags.is_empty(), "{:?}", diags.items);
}

#[test]
fn if_words_are_joined_with_one_space() {
    let mut env = Environment::from_pairs([("A", "x")]);
    let text = ".if streq(\"$A\",x) && \"streq(a,\" a)\n.notice no\n.else\n.notice yes\n.endif\n";
    let (_, diags) = read_env(text, &mut env, &ReadOptions::default());
    assert_eq!(only(&diags).message, "'yes'.");
}

#[test]
fn t3_5_if_errors_abort() {
    let cases: &[(&str, &str, &str, (u32, u32))] = &[
        (
            ".elif 1\n",
            "if-lone-elif",
            "lone '.elif' with no matching '.if'.",
            (1, 1),
        ),
        (
            ".else\n",
            "if-lone-else",
            "lone '.else' with no matching '.if'.",
            (1, 1),
        ),
        (
            ".endif\n",
            "if-lone-endif",
            "lone '.endif' with no matching '.if'.",
            (1, 1),
        ),
        (
            ".if 1\n.else\n.elif 1\n.endif\n",
            "if-elif-after-else",
            "'.elif' after '.else' is not permitted.",
            (3, 1),
        ),
        (
            ".if 1\n.else\n.else\n.endif\n",
            "if-else-after-else",
            "'.else' after '.else' is not permitted.",
            (3, 1),
        ),
        (
            ".if 1\n.else x\n.endif\n",
            "directive-extra-argument",
            "Unexpected argument 'x' for '.else'.",
            (2, 7),
        ),
        (
            ".if 1\n.endif x\n",
            "directive-extra-argument",
            "Unexpected argument 'x' for '.endif'.",
            (2, 8),
        ),
        (
            "global\n.if 1\n    maxconn 1\n",
            "if-not-terminated",
            "non-terminated '.if' block.",
            (3, 1),
        ),
        (
            ".if foo(1)\n.endif\n",
            "invalid-condition",
            "unparsable conditional expression 'foo(1)' in '.if' at position 1:",
            (1, 5),
        ),
        (
            ".if 0\n.elif (1\n.endif\n",
            "invalid-condition",
            "expected ')' after conditional expression '(1' in '.elif' at position 3:",
            (2, 9),
        ),
    ];
    for (text, code, message, at) in cases {
        let (_, diags) = read(text);
        let d = only(&diags);
        assert_eq!(d.code, *code, "{text:?}");
        assert_eq!(d.message, *message, "{text:?}");
        assert_eq!(line_col(d), *at, "{text:?}");
        assert!(d.aborts, "{text:?}");
        assert!(d.help.is_some(), "{text:?}");
    }
}

#[test]
fn at_most_99_nested_ifs() {
    let ok = ".if 1\n".repeat(99) + &".endif\n".repeat(99);
    assert!(read(&ok).1.is_empty());
    let deep = ".if 1\n".repeat(100) + &".endif\n".repeat(100);
    let (_, diags) = read(&deep);
    let d = only(&diags);
    assert_eq!(d.message, "too many nested '.if', max is 100.");
    assert_eq!(d.location.unwrap().line, 100);
}

#[test]
fn an_aborting_error_stops_the_following_files() {
    let mut sources = SourceMap::new();
    sources.add("a.cfg", b".alert 'stop'\n".to_vec());
    sources.add("b.cfg", b"bogus\n".to_vec());
    let (_, diags) = read_config(&sources, &mut Environment::empty(), &ReadOptions::default());
    assert_eq!(only(&diags).code, "alert-directive");
}

#[test]
fn t3_6_lexer_errors_count_in_skipped_blocks() {
    let (_, diags) = read("global\n.if 0\n    log-tag \"oops\n.endif\n");
    assert_eq!(only(&diags).code, "unmatched-quote");
}

#[test]
fn t3_7_empty_arguments_do_not_count_in_skipped_blocks() {
    let (tree, diags) = read("frontend f\n.if 0\n    bind \"$UNSET\"\n.endif\n");
    assert!(diags.is_empty(), "{:?}", diags.items);
    assert!(tree.sections[0].statements.is_empty());
}

#[test]
fn t3_8_alert_aborts() {
    let (tree, diags) = read("global\n.alert 'bad'\n    maxconn 1\n");
    let d = only(&diags);
    assert_eq!(d.severity, Severity::Error);
    assert_eq!(d.code, "alert-directive");
    assert_eq!(d.message, "'bad'.");
    assert!(d.aborts);
    assert_eq!(keywords(&tree), ["global"]);
}

#[test]
fn t3_9_message_directives_and_their_severities() {
    let text = ".warning 'w'\n.notice \"n\"\n.diag d\n.notice \"\"\n";
    let (_, diags) = read(text);
    let got: Vec<(Severity, &str)> = diags
        .iter()
        .map(|d| (d.severity, d.message.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (Severity::Warning, "'w'."),
            (Severity::Notice, "'n'."),
            (Severity::Notice, "''.")
        ]
    );
    let options = ReadOptions {
        diag_mode: true,
        ..ReadOptions::default()
    };
    let (_, diags) = read_env(".diag d\n", &mut Environment::empty(), &options);
    let d = only(&diags);
    assert_eq!((d.severity, d.message.as_str()), (Severity::Diag, "'d'."));
}

#[test]
fn message_directive_with_two_words_is_fatal_but_reading_goes_on() {
    let (tree, diags) = read(".warning hello world\nglobal\n");
    let d = only(&diags);
    assert_eq!(
        d.message,
        "Unexpected argument 'world' for '.warning'. Use quotes if the message should contain spaces."
    );
    assert!(d.is_error());
    assert!(!d.aborts);
    assert_eq!(tree.sections.len(), 1);
}

#[test]
fn message_directives_do_nothing_in_skipped_blocks() {
    let (_, diags) = read(".if 0\n.alert 'x'\n.bogus\n.endif\n");
    assert!(diags.is_empty(), "{:?}", diags.items);
}

#[test]
fn global_setenv_family_changes_the_environment_as_read() {
    let mut env = Environment::from_pairs([("KEEP", "k"), ("DROP", "d"), ("PRE", "old")]);
    let text = "\
global
    setenv A 1
    presetenv PRE new
    presetenv B 2
    .notice \"${A}-${PRE}-${B}\"
    unsetenv A
    resetenv KEEP B
    .notice \"${A-unset}-${DROP-gone}-${KEEP}\"
";
    let (tree, diags) = read_env(text, &mut env, &ReadOptions::default());
    let texts: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(texts, ["'1-old-2'.", "'unset-gone-k'."]);
    assert_eq!(env.get("B"), Some("2"));
    assert_eq!(env.get("DROP"), None);
    // The lines stay in the tree for the model.
    assert_eq!(tree.sections[0].statements.len(), 5);
}

#[test]
fn setenv_outside_global_does_not_change_the_environment() {
    let mut env = Environment::empty();
    let _ = read_env(
        "defaults\n    setenv A 1\n",
        &mut env,
        &ReadOptions::default(),
    );
    assert_eq!(env.get("A"), None);
}

#[test]
fn program_section_is_reported_once_and_its_body_skipped() {
    let text =
        "program foo\n    command /bin/true\n    option start-on-reload\nglobal\n    maxconn 1\n";
    let (tree, diags) = read(text);
    let d = only(&diags);
    assert_eq!(d.code, "program-section-removed");
    assert_eq!(line_col(d), (1, 1));
    assert!(d.help.is_some());
    assert_eq!(keywords(&tree), ["global", "maxconn 1"]);
}

#[test]
fn global_after_other_sections_is_advice_in_diag_mode() {
    let text = "defaults\n    mode http\nglobal\n    maxconn 1\n";
    assert!(read(text).1.is_empty());
    let options = ReadOptions {
        diag_mode: true,
        ..ReadOptions::default()
    };
    let (_, diags) = read_env(text, &mut Environment::empty(), &options);
    let d = only(&diags);
    assert_eq!(d.severity, Severity::Diag);
    assert_eq!(d.category, Category::Advice);
    assert_eq!(
        d.message,
        "global section detected after a non-global one, the prevalence of their statements is unspecified"
    );
    assert_eq!(line_col(d), (3, 1));
}

#[test]
fn scope_lines_are_checked_and_ignored() {
    assert!(read("[spoe]\nglobal\n").1.is_empty());
    assert_eq!(
        only(&read("[]\n").1).message,
        "empty scope name is forbidden."
    );
    assert_eq!(
        only(&read("[a b]\n").1).message,
        "character ' ' is not permitted in a scope name."
    );
    assert_eq!(
        only(&read("[ab] x\n").1).message,
        "character 'x' is not permitted after scope declaration."
    );
}

#[test]
fn lines_with_only_blanks_or_comments_are_nothing() {
    let (tree, diags) = read("\n   \n# c\n\t# c\nglobal # c\n");
    assert!(diags.is_empty());
    assert_eq!(keywords(&tree), ["global"]);
}

#[test]
fn a_lexer_error_anywhere_silences_the_message_directives() {
    // HAProxy finds lexer errors in a first pass and stops before printing `.notice` lines.
    let (_, diags) = read(".notice 'first'\nglobal\n    log-tag \"oops\n.warning 'later'\n");
    assert_eq!(only(&diags).code, "unmatched-quote");
}
