//! Conditional expressions and `-cc` (spec R3.2–R3.4, tests T3.1–T3.4).

use sluice_config::reader::evaluate_cc;
use sluice_config::{Environment, ReadOptions, Severity};

fn cc(expr: &str) -> Result<bool, String> {
    let env = Environment::from_pairs([("SET", "x"), ("EMPTY", ""), ("V", "3.4")]);
    let options = ReadOptions {
        features: vec!["THREAD".into(), "LINUX_TPROXY".into()],
        ..ReadOptions::default()
    };
    evaluate_cc(expr, &env, &options).map_err(|d| {
        assert_eq!(d.severity, Severity::Error);
        assert!(d.location.is_none());
        d.message
    })
}

#[test]
fn t3_1_every_predicate_true_and_false() {
    let cases = [
        ("defined(SET)", true),
        ("defined(EMPTY)", true),
        ("defined(UNSET)", false),
        ("feature(THREAD)", true),
        ("feature(OPENSSL)", false),
        ("feature(THREA)", false),
        ("streq(a,a)", true),
        ("streq(a,b)", false),
        ("strneq(a,b)", true),
        ("strneq(a,a)", false),
        ("strstr(abc,b)", true),
        ("strstr(abc,d)", false),
        ("version_atleast(3.4)", true),
        ("version_atleast(3.4-dev13)", true),
        ("version_atleast(3.5)", false),
        ("version_before(3.5-dev0)", true),
        ("version_before(3.4.0)", false),
        ("enabled(EPOLL)", true),
        ("enabled(GETADDRINFO)", true),
        ("enabled(KQUEUE)", false),
        ("enabled(NO_SUCH_OPTION)", false),
        ("openssl_version_atleast(1.0.0)", false),
        ("openssl_version_before(9.0.0)", false),
        ("ssllib_name_startswith(OpenSSL)", false),
        ("awslc_api_atleast(1)", false),
    ];
    for (expr, want) in cases {
        assert_eq!(cc(expr), Ok(want), "{expr}");
    }
}

#[test]
fn cc_tokenises_like_a_line() {
    // Quotes and environment expansion apply before evaluation.
    assert_eq!(cc("\"streq(${V},3.4)\""), Ok(true));
    assert_eq!(cc("version_atleast(\"$V\")"), Ok(true));
    assert_eq!(cc("'1' '&&' '0'"), Ok(false));
    assert_eq!(cc(""), Ok(false));
    assert_eq!(
        cc("\"unterminated").unwrap_err(),
        "Syntax Error in condition: Unmatched quote."
    );
    assert_eq!(
        cc("\\x4").unwrap_err(),
        "Syntax Error in condition: Truncated or invalid hexadecimal sequence."
    );
}

#[test]
fn t3_2_blanks_inside_arguments_are_kept() {
    assert_eq!(cc("streq(a, a)"), Ok(false));
    assert_eq!(cc("streq(a,a) && !streq(a, a)"), Ok(true));
}

#[test]
fn t3_3_syntax_errors_have_haproxy_texts() {
    assert_eq!(
        cc("foo(1)").unwrap_err(),
        "Failed to evaluate condition: unparsable conditional expression 'foo(1)'"
    );
    assert_eq!(
        cc("(1").unwrap_err(),
        "Failed to evaluate condition: expected ')' after conditional expression '(1'"
    );
    assert_eq!(
        cc("1 1").unwrap_err(),
        "Failed to evaluate condition: unexpected character '1' at the end of conditional expression '1 1'"
    );
    assert_eq!(
        cc("streq(a)").unwrap_err(),
        "Failed to evaluate condition: missing arguments (got 1/2), type 'string' expected in argument 1 of predicate 'streq' used in conditional expression"
    );
}

#[test]
fn t3_4_version_garbage_is_an_error_not_true() {
    assert!(cc("version_atleast(garbage)").is_err());
    assert!(cc("version_before(garbage)").is_err());
    assert!(cc("openssl_version_atleast(x.y)").is_err());
}

#[test]
fn precedence_negation_and_integers() {
    assert_eq!(cc("0 || 1 && 0"), Ok(false));
    assert_eq!(cc("1 || 1 && 0"), Ok(true));
    assert_eq!(cc("!(0) && !!1"), Ok(true));
    assert_eq!(cc("0x10 && -1 && 010"), Ok(true));
    assert_eq!(cc("0x0 || 00"), Ok(false));
}
