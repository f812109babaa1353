//! The environment preflight as the binary runs it: the command line's policy and facts,
//! the typed model, and `sluice_preflight::run`. Called from [`crate::check::load_and_check`]
//! only, which both `-c` and the start go through.

use crate::args::{CheckEnv, Invocation};
use sluice_config::{Diagnostics, SourceMap};
use sluice_model::Model;
use sluice_preflight::{inputs_from_model, CommandLineFacts, Identity, Options, Policy};
use std::path::PathBuf;

/// Checks what `model` names outside itself, for the process running now.
pub fn preflight(inv: &Invocation, model: &Model, sources: &SourceMap) -> Diagnostics {
    let facts = CommandLineFacts {
        pidfile: inv.pidfile.as_ref().map(PathBuf::from),
        master_cli: inv.master_cli.iter().map(|c| c.address.clone()).collect(),
        maxconn: inv.maxconn,
    };
    let inputs = inputs_from_model(model, sources, &facts);
    let options = Options {
        policy: policy(CheckEnv::effective(inv.check_env)),
        resolve_failures_are_warnings: inv.resolve_dont_fail,
        diag_mode: inv.diag_mode,
        // `-c` only warns about an `fd@N` the supervisor did not pass; the start needs it.
        at_start: !inv.check,
        running_as: Identity::current(),
    };
    sluice_preflight::run(&inputs, &options)
}

fn policy(check_env: CheckEnv) -> Policy {
    match check_env {
        CheckEnv::Strict => Policy::Strict,
        CheckEnv::Warn => Policy::Warn,
        CheckEnv::Off => Policy::Off,
    }
}
