//! `pidfile` / `-p` (R5.5): the master writes it before any chroot and before dropping
//! privileges, so its directory is checked on the host for the starting identity.

use crate::access::{self, Want};
use crate::report::Report;
use crate::Context;
use sluice_config::{Category, Diagnostic};
use std::io::ErrorKind;
use std::path::Path;

pub(crate) fn check(ctx: &Context, report: &mut Report) {
    let Some(pidfile) = &ctx.inputs.pidfile else {
        return;
    };
    let path = access::absolute(&pidfile.value);
    let location = pidfile.location;
    let keyword = if location.is_some() { "pidfile" } else { "-p" };
    let dir = path.parent().unwrap_or(Path::new("/"));
    let cannot_create = |problem: String| {
        format!(
            "'{keyword}' : cannot create '{}': {problem}",
            pidfile.value.display()
        )
    };

    match std::fs::metadata(dir) {
        Err(err) if err.kind() == ErrorKind::NotFound => {
            report.env(
                Diagnostic::error(
                    Category::Environment,
                    "pidfile-directory-missing",
                    cannot_create(format!("directory '{}' does not exist", dir.display())),
                )
                .at_opt(location)
                .os_error(&err)
                .help(format!(
                    "create it (`mkdir -p {}`; under /run, a systemd unit's `RuntimeDirectory=` does it at each boot)",
                    dir.display()
                )),
            );
            return;
        }
        Err(err) => {
            report.env(
                Diagnostic::error(
                    Category::Environment,
                    "pidfile-directory-not-writable",
                    cannot_create(format!("directory '{}' is not accessible", dir.display())),
                )
                .at_opt(location)
                .os_error(&err),
            );
            return;
        }
        Ok(meta) if !meta.is_dir() => {
            report.env(
                Diagnostic::error(
                    Category::Environment,
                    "pidfile-directory-missing",
                    cannot_create(format!("'{}' is not a directory", dir.display())),
                )
                .at_opt(location)
                .os_error(&std::io::Error::from_raw_os_error(libc::ENOTDIR))
                .help("fix the pidfile path"),
            );
            return;
        }
        Ok(_) => {}
    }
    if let Err(denied) = access::check_path(dir, ctx.running, Want::Write) {
        report.env(
            Diagnostic::error(
                Category::Environment,
                "pidfile-directory-not-writable",
                cannot_create(format!(
                    "uid {} cannot {} '{}'",
                    ctx.running.uid,
                    denied.want.verb(),
                    denied.at.display()
                )),
            )
            .at_opt(location)
            .os_error(&std::io::Error::from_raw_os_error(libc::EACCES))
            .help(format!(
                "start sluice as root, or let uid {} write to {} (e.g. `chown {}: {}`)",
                ctx.running.uid,
                dir.display(),
                ctx.running.uid,
                dir.display()
            )),
        );
        return;
    }
    // An existing pidfile is truncated and rewritten: it must be a regular, writable file.
    if let Ok(meta) = std::fs::symlink_metadata(&path) {
        if !meta.is_file() {
            report.env(
                Diagnostic::error(
                    Category::Environment,
                    "pidfile-not-regular",
                    format!(
                        "'{keyword}' : '{}' exists and is not a regular file",
                        pidfile.value.display()
                    ),
                )
                .at_opt(location)
                .help("remove it or choose another pidfile path"),
            );
        } else if !access::allowed(&meta, ctx.running, Want::Write) {
            report.env(
                Diagnostic::error(
                    Category::Environment,
                    "pidfile-not-writable",
                    format!(
                        "'{keyword}' : '{}' exists and uid {} cannot overwrite it",
                        pidfile.value.display(),
                        ctx.running.uid
                    ),
                )
                .at_opt(location)
                .os_error(&std::io::Error::from_raw_os_error(libc::EACCES))
                .help("remove the stale file, or start sluice as its owner"),
            );
        }
    }
}
