//! `log` targets (R5.8).
//!
//! A UNIX log socket (`log /dev/log local0`) is opened lazily by the worker, **after** the
//! chroot: with `chroot /var/lib/haproxy` the worker really sends to
//! `/var/lib/haproxy/dev/log`. So the path is checked inside the jail when there is one, on the
//! host otherwise. Network targets are resolved at parse time, on the host.

use crate::inputs::LogTarget;
use crate::report::Report;
use crate::Context;
use sluice_config::{Category, Diagnostic};
use std::net::{IpAddr, ToSocketAddrs};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

pub(crate) fn check(ctx: &Context, jail: Option<&Path>, report: &mut Report) {
    for log in &ctx.inputs.log_targets {
        match &log.target {
            LogTarget::Unix(path) => check_unix(path, jail, log.location, report),
            LogTarget::Network { host } => check_network(host, log.location, report),
            LogTarget::Other => {}
        }
    }
}

fn check_unix(
    path: &Path,
    jail: Option<&Path>,
    location: Option<sluice_config::Location>,
    report: &mut Report,
) {
    let seen: PathBuf = match jail {
        Some(jail) => jail.join(path.strip_prefix("/").unwrap_or(path)),
        None => path.to_path_buf(),
    };
    let is_socket = std::fs::metadata(&seen).map(|m| m.file_type().is_socket());
    match (is_socket, jail) {
        (Ok(true), _) => {}
        (Ok(false), _) => report.env(
            Diagnostic::warning(
                Category::Environment,
                "log-target-not-socket",
                format!("'log' : '{}' is not a socket; log lines sent there will be lost", seen.display()),
            )
            .at_opt(location)
            .help("point 'log' at the syslog daemon's socket, or log to `udp@127.0.0.1:514`"),
        ),
        (Err(err), Some(jail)) => report.env(
            Diagnostic::warning(
                Category::Environment,
                "log-socket-missing-in-chroot",
                format!(
                    "'log' : '{}' is opened after the chroot to '{}', where '{}' does not exist; log lines will be lost",
                    path.display(),
                    jail.display(),
                    seen.display()
                ),
            )
            .at_opt(location)
            .os_error(&err)
            .help(format!(
                "make the syslog daemon listen there too (rsyslog: `$AddUnixListenSocket {}`), or log to `udp@127.0.0.1:514`",
                seen.display()
            )),
        ),
        (Err(err), None) => report.env(
            Diagnostic::warning(
                Category::Environment,
                "log-socket-missing",
                format!("'log' : log socket '{}' does not exist; log lines will be lost", path.display()),
            )
            .at_opt(location)
            .os_error(&err)
            .help("start the syslog daemon (rsyslog, systemd-journald), or log to `udp@127.0.0.1:514`"),
        ),
    }
}

fn check_network(host: &str, location: Option<sluice_config::Location>, report: &mut Report) {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || host.parse::<IpAddr>().is_ok() {
        return;
    }
    if let Err(err) = (host, 0u16).to_socket_addrs() {
        report.haproxy(
            Diagnostic::error(
                Category::Environment,
                "log-target-unresolvable",
                format!("'log' : cannot resolve log server address '{host}'"),
            )
            .at_opt(location)
            .os_error(&err)
            .help("write the IP address, or make the name resolve (/etc/hosts)"),
        );
    }
}
