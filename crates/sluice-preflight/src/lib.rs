//! # sluice-preflight
//!
//! Checks, before anything starts, everything a configuration names outside itself: the
//! chroot, users and groups, files read at start, the pidfile, UNIX sockets, listening
//! addresses and ports, `fd@` descriptors, server and log host names, and descriptor limits.
//! Each problem becomes a [`Diagnostic`] of category `environment` with the configuration
//! line, the OS reason and a fix. `sluice -c` and the master (before it starts any worker) call
//! the same [`run`]; nothing is checked only at start.
//!
//! The checks read plain data ([`Inputs`]); [`inputs_from_model`] fills it from the typed
//! model and the command line (`-p`, `-S`, `-n`), so that `-c` and the start describe the
//! configuration the same way.
//!
//! ```
//! use sluice_preflight::{run, Inputs, Located, Options};
//! let inputs = Inputs {
//!     chroot: Some(Located::command_line("/nonexistent-jail".into())),
//!     ..Inputs::default()
//! };
//! let diags = run(&inputs, &Options::default());
//! assert!(diags.iter().any(|d| d.code == "chroot-missing"));
//! ```
//!
//! ## Host or jail: where each path is checked
//!
//! The workers chroot after the master has read its files and bound its sockets, so almost
//! every path is checked **on the host**, for the **starting identity** (usually root):
//! certificates, CA/CRL files, keys, error files, ACL pattern and map files, Lua scripts, the
//! server-state file, DH parameters (all read while parsing), the pidfile (written by the
//! master), UNIX listening sockets (bound by the master), and host names (resolved at start).
//!
//! Checked **inside the chroot**: UNIX `log` sockets such as `/dev/log`, which a worker opens
//! lazily after it has chrooted, so it reaches `<chroot>/dev/log`. The jail directory itself
//! is checked for both identities: the starting one must be able to enter it, the target one
//! (`user`/`uid`) must not be able to write into it.
//!
//! ## Policy
//!
//! [`Policy::Strict`] (default) reports errors; [`Policy::Warn`] turns the errors of Sluice's
//! own environment checks into warnings; [`Policy::Off`] skips them. What HAProxy's own `-c`
//! already rejects (unknown user, missing certificate, unresolvable server, UNIX path too
//! long) is reported under every policy, so `sluice -c` is never more lenient than
//! `haproxy -c`.

pub mod access;
mod chroot;
mod external_checks;
pub mod fd;
mod files;
mod from_model;
pub mod identity;
mod inputs;
pub mod limits;
mod listeners;
mod logs;
pub mod owner;
mod pidfile;
mod report;
mod security;
mod servers;
mod unix_sockets;

pub use from_model::{inputs_from_model, parse_time_dir, rules_base_dir, CommandLineFacts};
pub use identity::{Capabilities, Capability, Identity, Target};
pub use inputs::{
    FilePurpose, FileRef, InitAddr, Inputs, ListenerRef, Located, LogTarget, LogTargetRef,
    ServerRef, SocketPurpose, UnixSocketRef,
};
pub use sluice_config::{Diagnostic, Diagnostics};
pub use unix_sockets::MAX_PATH_LEN as UNIX_PATH_MAX;

/// `--check-env=strict|warn|off` (R5.12).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Policy {
    /// Environment problems are errors.
    #[default]
    Strict,
    /// Environment errors become warnings (so `-dW` still fails on them).
    Warn,
    /// Environment checks are skipped (checking a configuration on a build machine).
    Off,
}

impl Policy {
    /// Parses `strict`, `warn` or `off` (the `--check-env` value and its environment variable).
    pub fn parse(text: &str) -> Option<Policy> {
        match text {
            "strict" => Some(Policy::Strict),
            "warn" => Some(Policy::Warn),
            "off" => Some(Policy::Off),
            _ => None,
        }
    }
}

/// How and for whom to check.
#[derive(Clone, Debug)]
pub struct Options {
    pub policy: Policy,
    /// `-dr`: an unresolvable server is a warning and the server starts disabled.
    pub resolve_failures_are_warnings: bool,
    /// `-dD`: add informational notices (the computed maxconn...).
    pub diag_mode: bool,
    /// `false` for `sluice -c`; `true` when the master checks before starting workers
    /// (then an `fd@N` that is not an open socket is an error, not a warning).
    pub at_start: bool,
    /// Who runs the check (or the master): [`Identity::current`] normally, a hand-made one in
    /// tests to simulate an unprivileged run.
    pub running_as: Identity,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            policy: Policy::Strict,
            resolve_failures_are_warnings: false,
            diag_mode: false,
            at_start: false,
            running_as: Identity::current(),
        }
    }
}

/// What every check reads.
pub(crate) struct Context<'a> {
    pub(crate) inputs: &'a Inputs,
    pub(crate) options: &'a Options,
    pub(crate) running: &'a Identity,
    pub(crate) target: &'a Target,
}

/// Runs every environment check and returns the findings, in configuration order within each
/// kind of check. Callers: `sluice -c` and the master before it starts workers (and before a
/// reload signals anything).
pub fn run(inputs: &Inputs, options: &Options) -> Diagnostics {
    let mut report = report::Report::default();
    let running = &options.running_as;
    let target = identity::resolve(inputs, running, &mut report);
    let ctx = Context {
        inputs,
        options,
        running,
        target: &target,
    };
    let env_checks = options.policy != Policy::Off;
    // Under `off`, only what HAProxy's `-c` also checks runs (files, server names, UNIX
    // path lengths); the rest follows roughly the order of a configuration.
    let jail = if env_checks {
        chroot::check(&ctx, &mut report)
    } else {
        None
    };
    if env_checks {
        pidfile::check(&ctx, &mut report);
    }
    files::check(&ctx, &mut report);
    unix_sockets::check(&ctx, env_checks, &mut report);
    if env_checks {
        listeners::check(&ctx, &mut report);
        fd::check(&ctx, &mut report);
    }
    servers::check(&ctx, &mut report);
    if env_checks {
        logs::check(&ctx, jail.as_deref(), &mut report);
        limits::check(&ctx, &mut report);
        security::check(&ctx, &target, &mut report);
        external_checks::check(&ctx, &mut report);
    }
    report.finish(options.policy)
}
