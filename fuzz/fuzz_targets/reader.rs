//! Arbitrary bytes as a configuration file (and the same bytes as a second file), read in
//! diagnostic mode so that every path is taken.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_config::{read_config, Environment, ReadOptions, SourceMap};

fuzz_target!(|data: &[u8]| {
    let mut sources = SourceMap::new();
    sources.add("a.cfg", data.to_vec());
    sources.add("b.cfg", data.to_vec());
    let mut env = Environment::from_pairs([("A", "a b"), ("E", "")]);
    let options = ReadOptions {
        diag_mode: true,
        ..ReadOptions::default()
    };
    let (_, diags) = read_config(&sources, &mut env, &options);
    for d in diags.iter() {
        assert!(!d.code.is_empty());
    }
});
