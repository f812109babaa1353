//! # sluice-model
//!
//! The typed configuration: a [`ConfigTree`] resolved into global settings, proxies with
//! their binds, servers, ACLs and rules, every item keeping its file:line, plus the semantic
//! checks HAProxy runs after parsing.
//!
//! ```
//! use sluice_config::{read_str, ReadOptions};
//! use sluice_model::{build, BuildOptions};
//! let text = "frontend web\n    bind :80\n    timeout client 5s\n    default_backend app\n\
//!             backend app\n    timeout connect 5s\n    timeout server 5s\n    server a 127.0.0.1:8080\n";
//! let (tree, _) = read_str("t.cfg", text, &ReadOptions::default());
//! let (model, diags) = build(&tree, &BuildOptions::default());
//! # let _ = (model, diags);
//! ```
//!
//! Pipeline: [`build`] walks every section (the keyword catalogue decides which keywords exist
//! and which Sluice supports; typed parsers read the supported ones), applies defaults
//! inheritance while reading, then runs the checks of [`checks`].

pub mod address;
pub mod address_env;
mod build;
pub mod catalogue;
pub mod checks;
pub mod defaults;
pub mod global;
pub mod log;
pub mod paths;
pub mod proxy;
pub mod sections;
pub mod spanned;
mod statement;
pub mod units;

pub use global::Global;
pub use paths::{PathPurpose, PathRef};
pub use proxy::{Mode, Proxy, ProxyKind};
pub use spanned::Spanned;

use sluice_config::{ConfigTree, Diagnostics, SectionKind};

/// Options that change how the model is built.
#[derive(Clone, Debug, Default)]
pub struct BuildOptions {
    /// `-dD`: add the advice-level (diagnostic mode) checks.
    pub diag_mode: bool,
    /// The environment after reading (the global `setenv` family applied): variables written
    /// in addresses without quotes (`bind *:$PORT`) are expanded with it, as HAProxy's
    /// address parser does. `None`: no expansion.
    pub env: Option<sluice_config::Environment>,
}

/// The typed configuration.
#[derive(Clone, Debug, Default)]
pub struct Model {
    pub global: Global,
    /// `defaults` sections in reading order (each already merged with its own `from`).
    pub defaults: Vec<Proxy>,
    /// Frontends, backends and listen sections in reading order, defaults applied.
    pub proxies: Vec<Proxy>,
    /// Peers, resolvers, userlists, mailers, http-errors, log-forward and the rest.
    pub sections: Vec<sections::OtherSection>,
}

impl Model {
    /// Whether anything would listen (a bind on an enabled proxy, a `stats socket`, a peers
    /// section or a log-forward listener); without one, `-c` exits 2.
    pub fn has_listener(&self) -> bool {
        !self.global.stats_sockets.is_empty()
            || self
                .proxies
                .iter()
                .any(|p| !p.disabled && p.kind.is_frontend() && !p.binds.is_empty())
            || self.sections.iter().any(|s| {
                s.kind == SectionKind::Peers
                    || (s.kind == SectionKind::LogForward && !s.binds.is_empty())
            })
    }

    /// The proxy named `name` that can serve as a backend.
    pub fn backend(&self, name: &str) -> Option<&Proxy> {
        self.proxies
            .iter()
            .find(|p| p.kind.is_backend() && p.name == name)
    }

    /// Files and directories the configuration names, for the environment preflight.
    pub fn referenced_paths(&self) -> Vec<PathRef> {
        paths::collect(self)
    }

    /// Other sections of one kind.
    pub fn sections_of(&self, kind: SectionKind) -> impl Iterator<Item = &sections::OtherSection> {
        self.sections.iter().filter(move |s| s.kind == kind)
    }
}

/// Builds the typed model from the syntax tree and reports syntax and semantic problems.
///
/// Diagnostics come in HAProxy's order: those found while reading a line (and the checks
/// HAProxy also runs while reading, such as duplicate names) in file order, then the checks
/// HAProxy runs after parsing.
pub fn build(tree: &ConfigTree, options: &BuildOptions) -> (Model, Diagnostics) {
    let mut parse_diags = Diagnostics::new();
    let tree = match &options.env {
        Some(env) => address_env::expand_tree(tree, env, &mut parse_diags),
        None => std::borrow::Cow::Borrowed(tree),
    };
    let model = build::sections(&tree, options, &mut parse_diags);
    let (during, after) = checks::run(&model, options);
    let mut ordered: Vec<_> = parse_diags.into_iter().chain(during).collect();
    // Stable: keeps the order of diagnostics on the same line.
    ordered.sort_by_key(|d| d.location.map(|l| (l.file.0, l.line)));
    let mut diags = Diagnostics::new();
    diags.extend(ordered);
    diags.extend(after);
    (model, diags)
}
#[cfg(test)]
mod test_support;
