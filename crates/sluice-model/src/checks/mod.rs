//! Semantic checks on the built model, one small function per check (like HAProxy's
//! `cfgdiag.c`), each with a stable code and its own tests.
//!
//! Checks HAProxy runs while reading (duplicate names, unknown ACLs) are reported in file
//! order with the parse diagnostics; the others come after, as in HAProxy.

mod acl_anonymous_patterns;
mod acl_unknown;
mod backend_unknown;
mod bind_proto;
mod check_reuse_pool;
mod cookie_duplicate;
mod health_check_refs;
mod mode_mismatch;
mod proxy_duplicate;
mod references;
mod server_conflicts;
mod server_duplicate;
mod server_port;
mod server_sni;
mod timeouts_missing;
mod tls;

use crate::{BuildOptions, Model};
use sluice_config::Diagnostic;

/// A check: reads the model, appends diagnostics.
type Check = fn(&Model, &mut Vec<Diagnostic>);

/// Checks HAProxy runs while parsing.
const DURING_PARSE: &[Check] = &[
    proxy_duplicate::check,
    server_duplicate::check,
    acl_unknown::check,
];

/// Checks HAProxy runs after parsing.
const AFTER_PARSE: &[Check] = &[
    backend_unknown::check,
    references::check,
    mode_mismatch::check,
    bind_proto::check,
    server_port::check,
    server_conflicts::check,
    timeouts_missing::check,
    tls::check,
    server_sni::check,
    health_check_refs::check,
];

/// `-dD` checks HAProxy runs while parsing.
const DIAG_MODE_DURING_PARSE: &[Check] = &[acl_anonymous_patterns::check];

/// `-dD` checks.
const DIAG_MODE: &[Check] = &[cookie_duplicate::check, check_reuse_pool::check];

/// Runs every check; returns (diagnostics to merge in file order, diagnostics to append).
pub fn run(model: &Model, options: &BuildOptions) -> (Vec<Diagnostic>, Vec<Diagnostic>) {
    let mut during = Vec::new();
    for check in DURING_PARSE {
        check(model, &mut during);
    }
    let mut after = Vec::new();
    for check in AFTER_PARSE {
        check(model, &mut after);
    }
    if options.diag_mode {
        for check in DIAG_MODE_DURING_PARSE {
            check(model, &mut during);
        }
        for check in DIAG_MODE {
            check(model, &mut after);
        }
    }
    (during, after)
}

/// "line N" or "line N of another file" for notes about a first definition.
fn line_ref(first: sluice_config::Location, here: sluice_config::Location) -> String {
    if first.file == here.file {
        format!("line {}", first.line)
    } else {
        format!("line {} of file #{}", first.line, first.file.0)
    }
}
