//! `chroot <dir>` (R5.3): the jail must exist, be a directory the starting identity can enter,
//! and not be writable by the workers.
//!
//! The chroot is done by the worker while still privileged, then it drops to the target
//! identity; so the path (all its ancestors) is checked for the starting identity, and the jail
//! itself for the target identity, whose root it becomes.

use crate::access::{self, Want};
use crate::identity::{Capability, Target};
use crate::report::Report;
use crate::Context;
use sluice_config::{Category, Diagnostic};
use std::io::ErrorKind;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Checks the chroot; returns the jail directory when there is a usable one (not `/`, not
/// `auto`), for the checks of paths opened inside it.
pub(crate) fn check(ctx: &Context, report: &mut Report) -> Option<PathBuf> {
    let chroot = ctx.inputs.chroot.as_ref()?;
    let dir = chroot.value.as_path();
    let location = chroot.location;
    if dir == Path::new("/") {
        return None;
    }
    let running = ctx.running;
    if !running.has(Capability::SysChroot) {
        report.env(
            Diagnostic::error(
                Category::Environment,
                "chroot-not-permitted",
                format!(
                    "'chroot' : cannot chroot to '{}': running as uid {} without CAP_SYS_CHROOT",
                    dir.display(),
                    running.uid
                ),
            )
            .at_opt(location)
            .help("start sluice as root (it drops privileges itself), or remove 'chroot'"),
        );
    }
    if dir == Path::new("auto") {
        check_auto(ctx, chroot.location, report);
        return None;
    }

    let link = match std::fs::symlink_metadata(dir) {
        Ok(meta) => meta,
        Err(err) if err.kind() == ErrorKind::NotFound => {
            report.env(
                Diagnostic::error(
                    Category::Environment,
                    "chroot-missing",
                    format!("'chroot' : directory '{}' does not exist", dir.display()),
                )
                .at_opt(location)
                .os_error(&err)
                .help(format!(
                    "create it: `mkdir -p {0} && chown root:root {0} && chmod 755 {0}`",
                    dir.display()
                )),
            );
            return None;
        }
        Err(err) => {
            unverifiable(ctx, dir, &err, location, report);
            return None;
        }
    };
    let meta = if link.file_type().is_symlink() {
        let resolved = std::fs::canonicalize(dir);
        let shown = match &resolved {
            Ok(path) => format!("'{}'", path.display()),
            Err(_) => "a path that does not resolve".to_string(),
        };
        report.env(
            Diagnostic::warning(
                Category::Environment,
                "chroot-symlink",
                format!(
                    "'chroot' : '{}' is a symbolic link to {shown}",
                    dir.display()
                ),
            )
            .at_opt(location)
            .help("name the real directory, so that the jail cannot move when the link changes"),
        );
        match std::fs::metadata(dir) {
            Ok(meta) => meta,
            Err(err) => {
                report.env(
                    Diagnostic::error(
                        Category::Environment,
                        "chroot-missing",
                        format!(
                            "'chroot' : '{}' is a symbolic link to a directory that does not exist",
                            dir.display()
                        ),
                    )
                    .at_opt(location)
                    .os_error(&err)
                    .help("point the link at an existing directory, or fix 'chroot'"),
                );
                return None;
            }
        }
    } else {
        link
    };
    if !meta.is_dir() {
        report.env(
            Diagnostic::error(
                Category::Environment,
                "chroot-not-directory",
                format!("'chroot' : '{}' is not a directory", dir.display()),
            )
            .at_opt(location)
            .os_error(&std::io::Error::from_raw_os_error(libc::ENOTDIR))
            .help("name a directory (an empty one owned by root, e.g. /var/lib/haproxy)"),
        );
        return None;
    }
    if let Err(denied) = access::check_path(dir, running, Want::Search) {
        report.env(
            Diagnostic::error(
                Category::Environment,
                "chroot-not-searchable",
                format!(
                    "'chroot' : '{}' is not accessible to uid {}: cannot search '{}'",
                    dir.display(),
                    running.uid,
                    denied.at.display()
                ),
            )
            .at_opt(location)
            .os_error(&std::io::Error::from_raw_os_error(libc::EACCES))
            .help(format!("`chmod a+x {}`", denied.at.display())),
        );
        return None;
    }
    check_target_view(ctx.target, dir, &meta, location, report);
    Some(dir.to_path_buf())
}

/// The jail as the workers see it: enterable, and not writable by them or by anyone.
fn check_target_view(
    target: &Target,
    dir: &Path,
    meta: &std::fs::Metadata,
    location: Option<sluice_config::Location>,
    report: &mut Report,
) {
    let who = access::describe(&target.identity, target.user_name.as_deref());
    if target.changes_identity && !access::allowed(meta, &target.identity, Want::Search) {
        report.env(
            Diagnostic::warning(
                Category::Environment,
                "chroot-not-searchable-by-user",
                format!(
                    "'chroot' : the workers, running as {who}, cannot search '{}' (mode {:o})",
                    dir.display(),
                    meta.mode() & 0o7777
                ),
            )
            .at_opt(location)
            .help(format!("`chmod 755 {}`", dir.display())),
        );
    }
    let other_writable = meta.mode() & 0o002 != 0;
    let target_writable =
        target.identity.uid != 0 && access::allowed(meta, &target.identity, Want::Write);
    if other_writable || target_writable {
        let whom = if other_writable {
            "by every user".to_string()
        } else {
            format!("by the workers ({who})")
        };
        report.env(
            Diagnostic::warning(
                Category::Environment,
                "chroot-writable",
                format!(
                    "'chroot' : '{}' is writable {whom} (mode {:o}): a jail its prisoner can write into is no jail",
                    dir.display(),
                    meta.mode() & 0o7777
                ),
            )
            .at_opt(location)
            .help(format!(
                "`chown root:root {0} && chmod 755 {0}`",
                dir.display()
            )),
        );
    }
}

/// `chroot auto` makes a directory under `/tmp`: it must be writable by the starting identity.
fn check_auto(ctx: &Context, location: Option<sluice_config::Location>, report: &mut Report) {
    let tmp = Path::new("/tmp");
    let problem = match std::fs::metadata(tmp) {
        Err(err) => Some(err),
        Ok(meta) if !meta.is_dir() => Some(std::io::Error::from_raw_os_error(libc::ENOTDIR)),
        Ok(_) => match access::check_path(tmp, ctx.running, Want::Write) {
            Err(_) => Some(std::io::Error::from_raw_os_error(libc::EACCES)),
            Ok(()) => None,
        },
    };
    if let Some(err) = problem {
        report.env(
            Diagnostic::error(
                Category::Environment,
                "chroot-auto-unavailable",
                "'chroot' : 'auto' needs a writable /tmp to create its temporary jail",
            )
            .at_opt(location)
            .os_error(&err)
            .help("make /tmp a writable directory (mode 1777), or name a chroot directory"),
        );
    }
}

/// A `stat` failure other than "missing": an error as root, a warning when unprivileged
/// (R5.3: "cannot verify chroot '/x' as uid 1000").
fn unverifiable(
    ctx: &Context,
    dir: &Path,
    err: &std::io::Error,
    location: Option<sluice_config::Location>,
    report: &mut Report,
) {
    let diag = if ctx.running.is_root() {
        Diagnostic::error(
            Category::Environment,
            "chroot-not-searchable",
            format!("'chroot' : '{}' is not accessible", dir.display()),
        )
        .help("check the directory and its parents with `namei -l`")
    } else {
        Diagnostic::warning(
            Category::Environment,
            "chroot-unverifiable",
            format!(
                "'chroot' : cannot verify '{}' as uid {}",
                dir.display(),
                ctx.running.uid
            ),
        )
        .help("run `sluice -c` as the user that starts the service (usually root)")
    };
    report.env(diag.at_opt(location).os_error(err));
}
