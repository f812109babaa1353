//! File descriptor limits (R5.10): `ulimit-n` and `maxconn` against `RLIMIT_NOFILE`.
//!
//! At start the master raises the soft limit to what `maxconn` needs (or to `ulimit-n`);
//! above the hard limit that needs CAP_SYS_RESOURCE, and nobody goes above `fs.nr_open`.
//! Under HAProxy's default `strict-limits` a failure to raise is fatal, so it is an error here.

use crate::identity::Capability;
use crate::report::Report;
use crate::Context;
use nix::sys::resource::{getrlimit, Resource};
use sluice_config::{Category, Diagnostic};

/// Descriptors besides connections: pollers, wake-up pipes, log sockets, the master link.
const MARGIN: u64 = 16;
/// HAProxy's default `fd-hard-limit`: the automatic maxconn never plans for more.
const DEFAULT_FD_HARD_LIMIT: u64 = 1_048_576;

/// The descriptors needed for `maxconn` connections (each has a client and a server side).
pub fn required_fds(maxconn: u64, listeners: usize, checks: usize) -> u64 {
    maxconn
        .saturating_mul(2)
        .saturating_add(listeners as u64)
        .saturating_add(checks as u64)
        .saturating_add(MARGIN)
}

pub(crate) fn check(ctx: &Context, report: &mut Report) {
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return;
    };
    let nr_open = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(u64::MAX);
    let can_raise_hard = ctx.running.has(Capability::SysResource);
    // The most the master could get.
    let ceiling = if can_raise_hard {
        nr_open
    } else {
        hard.min(nr_open)
    };
    let inputs = ctx.inputs;
    let overhead = required_fds(0, inputs.listener_count, inputs.check_count);
    let root = ctx.running.is_root();
    let raise_help = |needed: u64| {
        format!(
            "raise the hard limit to at least {needed} (`LimitNOFILE={needed}` in the systemd unit, or /etc/security/limits.conf){}",
            if root {
                ""
            } else {
                ", or start sluice as root"
            }
        )
    };
    let cannot_raise = format!(
        "uid {} has no CAP_SYS_RESOURCE to raise it",
        ctx.running.uid
    );

    if let Some(ulimit) = &inputs.ulimit_n {
        if ulimit.value > ceiling {
            let why = if ulimit.value > nr_open {
                format!("above the kernel's maximum fs.nr_open = {nr_open}")
            } else {
                format!("above the hard limit {hard}, and {cannot_raise}")
            };
            report.env(
                Diagnostic::error(
                    Category::Environment,
                    "fd-limit-too-low",
                    format!(
                        "'ulimit-n' : cannot raise the file descriptor limit to {}: {why}",
                        ulimit.value
                    ),
                )
                .at_opt(ulimit.location)
                .help(if ulimit.value > nr_open {
                    format!("lower 'ulimit-n' to at most {nr_open}, or raise fs.nr_open")
                } else {
                    raise_help(ulimit.value)
                }),
            );
            return;
        }
        if let Some(maxconn) = &inputs.maxconn {
            let needed = required_fds(maxconn.value, inputs.listener_count, inputs.check_count);
            if needed > ulimit.value {
                report.env(
                    Diagnostic::warning(
                        Category::Environment,
                        "fd-limit-below-maxconn",
                        format!(
                            "'ulimit-n' : {} file descriptors are too few for maxconn {} (about {needed} needed)",
                            ulimit.value, maxconn.value
                        ),
                    )
                    .at_opt(ulimit.location)
                    .help(format!(
                        "remove 'ulimit-n' (it is computed from maxconn), or raise it to {needed}"
                    )),
                );
            }
        }
        return;
    }

    match &inputs.maxconn {
        Some(maxconn) => {
            let needed = required_fds(maxconn.value, inputs.listener_count, inputs.check_count);
            if needed > ceiling {
                let fits = ceiling.saturating_sub(overhead) / 2;
                report.env(
                    Diagnostic::error(
                        Category::Environment,
                        "fd-limit-too-low",
                        format!(
                            "'maxconn' : {} connections need about {needed} file descriptors, above the hard limit {ceiling}, and {cannot_raise}",
                            maxconn.value
                        ),
                    )
                    .at_opt(maxconn.location)
                    .help(format!(
                        "lower maxconn to at most {fits}, or {}",
                        raise_help(needed)
                    )),
                );
            } else if needed > soft && ctx.options.diag_mode {
                report.env(
                    Diagnostic::notice(
                        Category::Environment,
                        "fd-limit-raised",
                        format!(
                            "'maxconn' : the file descriptor limit will be raised from {soft} to {needed} at start"
                        ),
                    )
                    .at_opt(maxconn.location),
                );
            }
        }
        None if ctx.options.diag_mode => {
            // HAProxy sizes maxconn from the larger of the soft and hard limits.
            let available = soft.max(hard).min(DEFAULT_FD_HARD_LIMIT);
            let effective = available.saturating_sub(overhead) / 2;
            report.env(
                Diagnostic::notice(
                    Category::Environment,
                    "maxconn-computed",
                    format!(
                        "no 'maxconn' is set: it will be about {effective}, from the file descriptor limit {available}"
                    ),
                )
                .at_opt(inputs.global_location)
                .help("set 'maxconn' in the global section to choose it"),
            );
        }
        None => {}
    }
}
