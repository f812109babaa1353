//! # sluice-model
//!
//! The typed configuration: a [`ConfigTree`] resolved into global settings, proxies with
//! their binds, servers, ACLs and rules, every item keeping its file:line, plus the semantic
//! checks HAProxy runs after parsing.

use sluice_config::{ConfigTree, Diagnostics};

/// Options that change how the model is built.
#[derive(Clone, Debug, Default)]
pub struct BuildOptions {
    /// `-dD`: add the advice-level (diagnostic mode) checks.
    pub diag_mode: bool,
}

/// The typed configuration.
#[derive(Clone, Debug, Default)]
pub struct Model {}

impl Model {
    /// Whether anything would listen (a bind on an enabled proxy, a peers section or a
    /// log-forward listener); without one, `-c` exits 2.
    pub fn has_listener(&self) -> bool {
        false
    }
}

/// Builds the typed model from the syntax tree and reports syntax and semantic problems.
pub fn build(tree: &ConfigTree, options: &BuildOptions) -> (Model, Diagnostics) {
    let _ = (tree, options);
    (Model::default(), Diagnostics::new())
}
