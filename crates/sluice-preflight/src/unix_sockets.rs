//! UNIX sockets created at start: `stats socket`, `bind <path>`, `-S <path>` (R5.6).
//!
//! They are bound by the master before any chroot, so checked on the host for the starting
//! identity. HAProxy binds to a temporary name beside the path and renames it into place,
//! so the directory must be writable even when the socket file already exists.

use crate::access::{self, Want};
use crate::inputs::UnixSocketRef;
use crate::owner;
use crate::report::Report;
use crate::Context;
use sluice_config::{Category, Diagnostic};
use std::io::ErrorKind;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

/// Longest usable path: `sun_path` is 108 bytes on Linux, and HAProxy keeps room for the
/// `.<pid>.tmp` suffix of the temporary name (its message says "max 97").
pub const MAX_PATH_LEN: usize = 97;

/// Runs the checks HAProxy's `-c` also makes (the path length) and, unless `env_checks` is
/// off, the environment ones.
pub(crate) fn check(ctx: &Context, env_checks: bool, report: &mut Report) {
    for socket in &ctx.inputs.unix_sockets {
        if !check_length(socket, report) || !env_checks {
            continue;
        }
        if check_directory(ctx, socket, report) {
            check_in_use(socket, report);
        }
    }
}

fn check_length(socket: &UnixSocketRef, report: &mut Report) -> bool {
    let len = socket.path.as_os_str().as_bytes().len();
    if len <= MAX_PATH_LEN {
        return true;
    }
    report.haproxy(
        Diagnostic::error(
            Category::Environment,
            "unix-socket-path-too-long",
            format!(
                "'{}' : socket path '{}' too long ({len} bytes, max {MAX_PATH_LEN})",
                socket.purpose.keyword(),
                socket.path.display()
            ),
        )
        .at_opt(socket.location)
        .help("use a shorter path (e.g. under /run/haproxy/)"),
    );
    false
}

/// The parent directory exists and the starting identity can create entries in it.
fn check_directory(ctx: &Context, socket: &UnixSocketRef, report: &mut Report) -> bool {
    let kw = socket.purpose.keyword();
    let path = access::absolute(&socket.path);
    let dir = path.parent().unwrap_or(Path::new("/"));
    let cannot_bind = |problem: String| {
        format!(
            "'{kw}' : cannot bind UNIX socket '{}': {problem}",
            socket.path.display()
        )
    };
    match std::fs::metadata(dir) {
        Err(err) if err.kind() == ErrorKind::NotFound => {
            report.env(
                Diagnostic::error(
                    Category::Environment,
                    "unix-socket-directory-missing",
                    cannot_bind(format!("directory '{}' does not exist", dir.display())),
                )
                .at_opt(socket.location)
                .os_error(&err)
                .help(format!(
                    "create it (`mkdir -p {}`; under /run, a systemd unit's `RuntimeDirectory=` does it at each boot)",
                    dir.display()
                )),
            );
            return false;
        }
        Err(err) => {
            report.env(
                Diagnostic::error(
                    Category::Environment,
                    "unix-socket-directory-not-writable",
                    cannot_bind(format!("directory '{}' is not accessible", dir.display())),
                )
                .at_opt(socket.location)
                .os_error(&err),
            );
            return false;
        }
        Ok(meta) if !meta.is_dir() => {
            report.env(
                Diagnostic::error(
                    Category::Environment,
                    "unix-socket-directory-missing",
                    cannot_bind(format!("'{}' is not a directory", dir.display())),
                )
                .at_opt(socket.location)
                .os_error(&std::io::Error::from_raw_os_error(libc::ENOTDIR))
                .help("fix the socket path"),
            );
            return false;
        }
        Ok(_) => {}
    }
    if let Err(denied) = access::check_path(dir, ctx.running, Want::Write) {
        report.env(
            Diagnostic::error(
                Category::Environment,
                "unix-socket-directory-not-writable",
                cannot_bind(format!(
                    "uid {} cannot {} '{}'",
                    ctx.running.uid,
                    denied.want.verb(),
                    denied.at.display()
                )),
            )
            .at_opt(socket.location)
            .os_error(&std::io::Error::from_raw_os_error(libc::EACCES))
            .help(format!(
                "start sluice as root, or let uid {} write to {}",
                ctx.running.uid,
                dir.display()
            )),
        );
        return false;
    }
    true
}

/// A live listener already at the path: another program's is an error, an old HAProxy or
/// Sluice (a reload) is fine; a leftover socket nobody listens on is replaced silently.
fn check_in_use(socket: &UnixSocketRef, report: &mut Report) {
    let kw = socket.purpose.keyword();
    let Ok(meta) = std::fs::symlink_metadata(&socket.path) else {
        return;
    };
    if !meta.file_type().is_socket() {
        report.env(
            Diagnostic::warning(
                Category::Environment,
                "unix-socket-path-not-socket",
                format!(
                    "'{kw}' : '{}' exists and is not a socket; it will be replaced",
                    socket.path.display()
                ),
            )
            .at_opt(socket.location)
            .help("check that the path does not name a file something else needs"),
        );
        return;
    }
    if std::os::unix::net::UnixStream::connect(&socket.path).is_err() {
        return;
    }
    let owners = owner::owners(&owner::unix_inodes(&socket.path));
    if !owners.is_empty() && owners.iter().all(owner::Owner::is_load_balancer) {
        return;
    }
    let held_by = describe_owners(&owners);
    report.env(
        Diagnostic::error(
            Category::Environment,
            "unix-socket-in-use",
            format!(
                "'{kw}' : a live socket is already listening at '{}'{held_by}",
                socket.path.display()
            ),
        )
        .at_opt(socket.location)
        .os_error(&std::io::Error::from_raw_os_error(libc::EADDRINUSE))
        .help(if owners.is_empty() {
            format!(
                "find its owner with `ss -xlp src {}`, stop it, or choose another path",
                socket.path.display()
            )
        } else {
            "stop that program or choose another path".to_string()
        }),
    );
}

/// ` (held by 'nginx', pid 1234)`, or nothing when unknown.
pub(crate) fn describe_owners(owners: &[owner::Owner]) -> String {
    if owners.is_empty() {
        return String::new();
    }
    let list: Vec<String> = owners
        .iter()
        .map(|o| format!("'{}', pid {}", o.name, o.pid))
        .collect();
    format!(" (held by {})", list.join("; "))
}
