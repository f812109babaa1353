//! Reading files into a [`ConfigTree`]: lines, lexer, directives, sections.

use crate::diagnostic::Diagnostics;
use crate::environment::Environment;
use crate::source::SourceMap;
use crate::syntax::ConfigTree;

/// What the reader needs to know beyond the text.
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    /// `-dD`: `.diag` lines and diagnostic-mode checks are reported.
    pub diag_mode: bool,
}

/// Reads every file of `sources` in order. `env` starts as the process environment and is
/// changed by the global `setenv` family as lines are read.
pub fn read_config(
    sources: &SourceMap,
    env: &mut Environment,
    options: &ReadOptions,
) -> (ConfigTree, Diagnostics) {
    let _ = (sources, env, options);
    (ConfigTree::default(), Diagnostics::new())
}

/// Reads one in-memory file with an empty environment (tests and examples).
pub fn read_str(name: &str, text: &str, options: &ReadOptions) -> (ConfigTree, Diagnostics) {
    let mut sources = SourceMap::new();
    sources.add(name, text.as_bytes().to_vec());
    read_config(&sources, &mut Environment::empty(), options)
}
