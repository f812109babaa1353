//! Word splitting of one line (spec R2.2–R2.5, tests T2.1–T2.8).

use sluice_config::lexer::{tokenize, tokenize_line, LexContext, LexErrorKind, MAX_WORDS};
use sluice_config::Environment;

fn env() -> Environment {
    Environment::from_pairs([("HOMEX", "a b c"), ("EMPTY", ""), ("NAME", "val")])
}

fn words(line: &str) -> Vec<String> {
    let env = env();
    let ctx = LexContext {
        env: &env,
        file: "lex.cfg",
        line: 13,
        section: "global",
    };
    tokenize(line.as_bytes(), &ctx)
        .unwrap_or_else(|e| panic!("{line:?}: {}", e.message()))
        .into_iter()
        .map(|w| w.text)
        .collect()
}

fn error(line: &str) -> (LexErrorKind, u32, String) {
    let env = env();
    let e = tokenize(line.as_bytes(), &LexContext::detached(&env)).unwrap_err();
    (e.kind, e.position, e.message())
}

#[test]
fn t2_1_unmatched_quotes_point_at_the_opening_quote() {
    let (kind, position, message) = error("    log-tag \"unterminated");
    assert_eq!(kind, LexErrorKind::UnmatchedQuote);
    assert_eq!(position, 13);
    assert_eq!(message, "unmatched quote at position 13:");
    let (kind, position, _) = error("a 'b");
    assert_eq!((kind, position), (LexErrorKind::UnmatchedQuote, 3));
    // A quote of the other kind inside is plain text.
    assert_eq!(words("a \"it's\" '\"q\"'"), ["a", "it's", "\"q\""]);
}

#[test]
fn t2_2_unset_variable_makes_an_empty_word() {
    let env = env();
    let line = tokenize_line(
        b"    acl bad path_sub '%2E' \"$NOPE\" '%2F'",
        &LexContext::detached(&env),
    )
    .unwrap();
    assert_eq!(line.words.len(), 6);
    assert_eq!(line.words[4].text, "");
    assert_eq!(line.empty.len(), 1);
    assert_eq!(line.empty[0].index, 4);
    // HAProxy reports the position of the variable's name.
    assert_eq!(line.empty[0].position, 30);
    assert_eq!(line.empty[0].variable.as_deref(), Some("NOPE"));
    // A quoted empty string is an empty word too, reported at the word.
    let line = tokenize_line(b"a \"\" b", &LexContext::detached(&env)).unwrap();
    assert_eq!(line.empty[0].index, 1);
    assert_eq!(line.empty[0].position, 3);
    assert_eq!(line.empty[0].variable, None);
}

#[test]
fn t2_3_defaults_and_pseudo_variables() {
    assert_eq!(words("\"${NOPE-deflt}\""), ["deflt"]);
    assert_eq!(words("\"${NOPE-}x\""), ["x"]);
    // The default applies only to an unset variable.
    assert_eq!(words("\"${EMPTY-deflt}\"x"), ["x"]);
    assert_eq!(words("\"${NAME-deflt}\""), ["val"]);
    assert_eq!(words("\"$NAME\" \"${NAME}x\""), ["val", "valx"]);
    assert_eq!(
        words("\"${.SECTION}/${.LINE}/${.FILE}\""),
        ["global/13/lex.cfg"]
    );
    // Outside double quotes `$` is literal.
    assert_eq!(words("$NAME '${NAME}'"), ["$NAME", "${NAME}"]);
}

#[test]
fn t2_4_shell_default_syntax_is_an_unmatched_brace() {
    let (kind, position, _) = error("x \"${NOPE:-x}\"");
    assert_eq!(kind, LexErrorKind::UnmatchedBrace);
    assert_eq!(position, 5, "points at the opening brace");
    assert_eq!(error("\"${NAME\"").0, LexErrorKind::UnmatchedBrace);
}

#[test]
fn t2_5_forbidden_first_char() {
    let (kind, position, message) = error("x \"$1abc\"");
    assert_eq!(kind, LexErrorKind::ForbiddenVarChar);
    assert_eq!(position, 5);
    assert_eq!(
        message,
        "forbidden first char in environment variable name at position 5:"
    );
    assert_eq!(error("\"${.NOPE}\"").0, LexErrorKind::ForbiddenVarChar);
    assert_eq!(error("\"a$\"").0, LexErrorKind::ForbiddenVarChar);
    // An escaped dollar is fine.
    assert_eq!(words("\"\\$1\""), ["$1"]);
}

#[test]
fn t2_6_escapes() {
    let (kind, position, _) = error("x \\x4");
    assert_eq!((kind, position), (LexErrorKind::BadHex, 3));
    assert_eq!(error("\\xg0").0, LexErrorKind::BadHex);
    assert_eq!(words("a\\x41b\\tc\\#d\\ e"), ["aAb\tc#d e"]);
    assert_eq!(words("\\\\ \\' \\\" \\n\\r"), ["\\", "'", "\"", "\n\r"]);
    // `\$` is an escape only inside double quotes.
    assert_eq!(words("\\$x"), ["\\$x"]);
    // Nothing is special inside single quotes but the closing quote.
    assert_eq!(words("'a\\tb #c'"), ["a\\tb #c"]);
}

#[test]
fn t2_7_comments_backslashes_and_joined_pieces() {
    assert_eq!(words("foo#bar"), ["foo"]);
    assert_eq!(words("a\\1b"), ["a\\1b"]);
    assert_eq!(words("\"x\"'y'z"), ["xyz"]);
    assert_eq!(words(".notice \\"), [".notice", "\\"]);
    assert_eq!(words("  a   b\t\tc   "), ["a", "b", "c"]);
    assert_eq!(words("a \"#b\" # comment"), ["a", "#b"]);
}

#[test]
fn t2_8_word_expansion_splits_on_blanks() {
    assert_eq!(words("x \"${HOMEX[*]}\" y"), ["x", "a", "b", "c", "y"]);
    assert_eq!(words("x \"p${HOMEX[*]}s\""), ["x", "pa", "b", "cs"]);
    // An unset or empty variable gives no word at all, not an empty one.
    let env = env();
    let line = tokenize_line(
        b"x \"${NOPE[*]}\" \"${EMPTY[*]}\" y",
        &LexContext::detached(&env),
    )
    .unwrap();
    assert_eq!(line.words.len(), 2);
    assert!(line.empty.is_empty());
    assert_eq!(error("\"${HOMEX[x]}\"").0, LexErrorKind::BadWordExpansion);
    // Without braces `[*]` is literal.
    assert_eq!(words("\"$NAME[*]\""), ["val[*]"]);
}

#[test]
fn cr_ends_the_line_and_nul_too() {
    assert_eq!(words("a b\r"), ["a", "b"]);
    assert_eq!(words("a\rb c"), ["a"]);
    let env = env();
    let got = tokenize(b"a\0b", &LexContext::detached(&env)).unwrap();
    assert_eq!(got.len(), 1);
}

#[test]
fn columns_count_raw_bytes_from_the_line_start() {
    let env = env();
    let got = tokenize(
        b"\t  bind \"127.0.0.1:80\" ssl",
        &LexContext::detached(&env),
    )
    .unwrap();
    let spans: Vec<(u32, u32)> = got.iter().map(|w| (w.column, w.raw_len)).collect();
    assert_eq!(spans, [(4, 4), (9, 14), (24, 3)]);
}

#[test]
fn at_most_64_words() {
    let line = vec!["w"; MAX_WORDS].join(" ");
    assert_eq!(words(&line).len(), MAX_WORDS);
    let env = env();
    let line = (1..=MAX_WORDS + 1)
        .map(|n| format!("w{n}"))
        .collect::<Vec<_>>()
        .join(" ");
    let e = tokenize(line.as_bytes(), &LexContext::detached(&env)).unwrap_err();
    assert_eq!(e.kind, LexErrorKind::TooManyWords);
    assert!(e
        .message()
        .starts_with("too many words, truncating after word 64, position "));
    assert!(e.message().ends_with(": <w64>."));
}
