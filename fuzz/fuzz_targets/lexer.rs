//! One line of arbitrary bytes through the lexer, with variables to expand.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_config::lexer::{tokenize_line, LexContext};
use sluice_config::Environment;

fuzz_target!(|data: &[u8]| {
    let env = Environment::from_pairs([("A", "a b  c"), ("E", ""), ("W", " x ")]);
    let ctx = LexContext {
        env: &env,
        file: "fuzz.cfg",
        line: 1,
        section: "global",
    };
    if let Ok(line) = tokenize_line(data, &ctx) {
        for word in &line.words {
            assert!(word.column >= 1);
            assert!((word.column - 1 + word.raw_len) as usize <= data.len());
        }
        for empty in &line.empty {
            assert!(empty.index < line.words.len());
        }
    }
});
