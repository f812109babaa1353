//! `external-check command`: the program a backend's external checks run exists and the
//! workers may execute it. The workers run it inside the chroot, as the configured user, so
//! that is where it is looked for and who must be allowed; otherwise every check would fail
//! and take the servers down once the traffic starts.

use crate::access::{self, Want};
use crate::report::Report;
use crate::Context;
use sluice_config::{Category, Diagnostic};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

pub(crate) fn check(ctx: &Context, report: &mut Report) {
    for command in &ctx.inputs.external_checks {
        let path = seen_by_workers(ctx, &command.value);
        let shown = path.display();
        let finding = match std::fs::metadata(&path) {
            Err(err) => {
                let (code, what) = if err.kind() == ErrorKind::NotFound {
                    ("external-check-missing", "does not exist")
                } else {
                    ("external-check-unreadable", "cannot be reached")
                };
                Some(
                    Diagnostic::error(
                        Category::Environment,
                        code,
                        format!("'external-check command' : program '{shown}' {what}"),
                    )
                    .os_error(&err)
                    .help("install the program or fix the path (inside the chroot when there is one)"),
                )
            }
            Ok(meta) if !meta.is_file() => Some(
                Diagnostic::error(
                    Category::Environment,
                    "external-check-not-a-program",
                    format!("'external-check command' : '{shown}' is not a file"),
                )
                .os_error(&std::io::Error::from_raw_os_error(libc::EACCES))
                .help("name the program itself"),
            ),
            Ok(_) => match access::check_path(&path, &ctx.target.identity, Want::Execute) {
                Ok(()) => None,
                Err(denied) => Some(
                    Diagnostic::error(
                        Category::Environment,
                        "external-check-not-executable",
                        format!(
                            "'external-check command' : program '{shown}' is not executable by uid {}: cannot {} '{}'",
                            ctx.target.identity.uid,
                            denied.want.verb(),
                            denied.at.display()
                        ),
                    )
                    .os_error(&std::io::Error::from_raw_os_error(libc::EACCES))
                    .help(format!("`chmod +x {shown}`, or let uid {} reach it", ctx.target.identity.uid)),
                ),
            },
        };
        if let Some(d) = finding {
            report.env(d.at_opt(command.location));
        }
    }
}

/// The program's path as the workers see it: under the chroot directory when there is one.
fn seen_by_workers(ctx: &Context, command: &Path) -> PathBuf {
    match ctx.inputs.chroot.as_ref().map(|c| c.value.as_path()) {
        Some(dir) if dir != Path::new("/") && dir != Path::new("auto") => {
            dir.join(command.strip_prefix("/").unwrap_or(command))
        }
        _ => command.to_path_buf(),
    }
}
