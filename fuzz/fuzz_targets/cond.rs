//! Arbitrary text as a conditional expression, directly and through `-cc`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_config::cond::{evaluate, CondContext};
use sluice_config::reader::evaluate_cc;
use sluice_config::{Environment, ReadOptions};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let env = Environment::from_pairs([("A", "1"), ("E", "")]);
    let features = vec!["THREAD".to_string()];
    let enabled = vec!["EPOLL".to_string()];
    let _ = evaluate(text, &CondContext::new(&env, &features, &enabled));
    let _ = evaluate_cc(text, &env, &ReadOptions::default());
});
