//! Properties: the reader never panics on any bytes, and quoting round-trips.

use proptest::prelude::*;
use sluice_config::cond::{self, CondContext};
use sluice_config::lexer::{quote, tokenize, LexContext};
use sluice_config::reader::evaluate_cc;
use sluice_config::{read_config, Environment, ReadOptions, SourceMap};

/// Bytes that exercise the lexer: mostly its special characters.
fn line_bytes() -> impl Strategy<Value = Vec<u8>> {
    let special = prop::sample::select(vec![
        b'"', b'\'', b'\\', b'$', b'{', b'}', b'[', b']', b'*', b'-', b'#', b' ', b'\t', b'\r',
        b'\n', 0, b'x', b'4', b'A', b'.', b'(', b')', b'!', b'&', b'|', b',',
    ]);
    prop::collection::vec(prop_oneof![3 => special, 1 => any::<u8>()], 0..200)
}

fn env() -> Environment {
    Environment::from_pairs([("A", "a b  c"), ("E", ""), ("W", " x ")])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn tokenize_never_panics(bytes in line_bytes()) {
        let env = env();
        let ctx = LexContext { env: &env, file: "f.cfg", line: 1, section: "global" };
        if let Ok(words) = tokenize(&bytes, &ctx) {
            // Columns stay inside the line.
            for w in &words {
                prop_assert!(w.column >= 1);
                prop_assert!((w.column - 1 + w.raw_len) as usize <= bytes.len());
            }
        }
    }

    #[test]
    fn read_config_never_panics(text in prop::collection::vec(line_bytes(), 0..20)) {
        let mut sources = SourceMap::new();
        sources.add("a.cfg", text.concat());
        sources.add("b.cfg", text.join(&b'\n'));
        let options = ReadOptions { diag_mode: true, ..ReadOptions::default() };
        let (_, diags) = read_config(&sources, &mut env(), &options);
        for d in diags.iter() {
            prop_assert!(!d.code.is_empty());
        }
    }

    #[test]
    fn evaluate_never_panics(bytes in line_bytes()) {
        let env = env();
        let text = String::from_utf8_lossy(&bytes);
        let _ = cond::evaluate(&text, &CondContext::new(&env, &[], &[]));
        let _ = evaluate_cc(&text, &env, &ReadOptions::default());
    }

    #[test]
    fn a_quoted_word_lexes_back_to_itself(text in "[^\u{0}]{0,40}") {
        let env = env();
        let quoted = quote(&text);
        let words = tokenize(quoted.as_bytes(), &LexContext::detached(&env))
            .map_err(|e| TestCaseError::fail(format!("{quoted:?}: {}", e.message())))?;
        prop_assert_eq!(words.len(), 1, "{:?}", quoted);
        prop_assert_eq!(&words[0].text, &text);
    }

    #[test]
    fn single_quotes_keep_any_text_without_quote_or_line_end(text in "[^'\r\n\u{0}]{0,40}") {
        let env = env();
        let line = format!("kw '{text}' end");
        let words = tokenize(line.as_bytes(), &LexContext::detached(&env)).unwrap();
        prop_assert_eq!(words.len(), 3);
        prop_assert_eq!(&words[1].text, &text);
    }
}
