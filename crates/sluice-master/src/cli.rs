//! The master CLI (`-S`, spec R8.4): its listening sockets and the text of its answers. The
//! master's loop ([`crate::master`]) owns the connections and runs the commands that change
//! state (`reload`); this module binds, parses and formats.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{SocketAddr, UnixListener};
use std::path::PathBuf;
use std::time::Duration;

/// Access level of a master CLI session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    User,
    Operator,
    #[default]
    Admin,
}

impl Level {
    pub fn parse(text: &str) -> Option<Level> {
        match text {
            "user" => Some(Level::User),
            "operator" => Some(Level::Operator),
            "admin" => Some(Level::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::User => "user",
            Level::Operator => "operator",
            Level::Admin => "admin",
        }
    }
}

/// One `-S` listener as the master binds it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CliSocket {
    /// `path`, `unix@path` or `abns@name`.
    pub address: String,
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub level: Level,
}

/// A bound master CLI listener.
#[derive(Debug)]
pub struct CliListener {
    pub listener: UnixListener,
    pub level: Level,
    /// The filesystem path, removed when the master exits.
    pub path: Option<PathBuf>,
}

impl Drop for CliListener {
    fn drop(&mut self) {
        if let Some(path) = &self.path {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Binds one listener. A filesystem socket is bound beside its path and renamed over it, so
/// that a stale socket of a dead master never blocks the start (HAProxy does the same).
pub fn bind(socket: &CliSocket) -> Result<CliListener, String> {
    let address = socket.address.as_str();
    if let Some(name) = address.strip_prefix("abns@") {
        let addr = SocketAddr::from_abstract_name(name.as_bytes())
            .map_err(|e| format!("master CLI '{address}': {e}"))?;
        let listener = UnixListener::bind_addr(&addr)
            .map_err(|e| format!("cannot bind the master CLI on '{address}': {e}"))?;
        return finish(listener, socket, None);
    }
    let path = match address.strip_prefix("unix@") {
        Some(path) => path,
        None if !address.contains('@') && !address.contains(':') => address,
        None => {
            return Err(format!(
                "master CLI address '{address}' is not supported yet by Sluice: use a UNIX socket path (or abns@name)"
            ))
        }
    };
    let path = PathBuf::from(path);
    let temporary = PathBuf::from(format!("{}.{}.tmp", path.display(), std::process::id()));
    let _ = std::fs::remove_file(&temporary);
    let listener = UnixListener::bind(&temporary).map_err(|e| {
        format!(
            "cannot bind the master CLI on '{}': {}",
            path.display(),
            sluice_config::diagnostic::os_reason(&e)
        )
    })?;
    let result = (|| {
        if let Some(mode) = socket.mode {
            std::fs::set_permissions(&temporary, std::fs::Permissions::from_mode(mode))
                .map_err(|e| format!("cannot set mode {mode:o} on '{}': {e}", path.display()))?;
        }
        if socket.uid.is_some() || socket.gid.is_some() {
            std::os::unix::fs::chown(&temporary, socket.uid, socket.gid)
                .map_err(|e| format!("cannot change the owner of '{}': {e}", path.display()))?;
        }
        std::fs::rename(&temporary, &path)
            .map_err(|e| format!("cannot put the master CLI at '{}': {e}", path.display()))
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&temporary);
        return Err(e);
    }
    finish(listener, socket, Some(path))
}

fn finish(
    listener: UnixListener,
    socket: &CliSocket,
    path: Option<PathBuf>,
) -> Result<CliListener, String> {
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("master CLI: {e}"))?;
    Ok(CliListener {
        listener,
        level: socket.level,
        path,
    })
}

/// Where a command line goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target<'a> {
    Master(&'a str),
    /// `@N cmd`: the N-th current worker, 1 = newest.
    Relative(u32, &'a str),
    /// `@!PID cmd`.
    Pid(i32, &'a str),
    /// A prefix that does not parse.
    Bad(&'a str),
}

/// Splits the routing prefix off one command.
pub fn target(command: &str) -> Target<'_> {
    let Some(rest) = command.strip_prefix('@') else {
        return Target::Master(command);
    };
    let (prefix, tail) = match rest.find(char::is_whitespace) {
        Some(i) => (&rest[..i], rest[i..].trim()),
        None => (rest, ""),
    };
    if prefix.is_empty() || prefix == "master" {
        return Target::Master(tail);
    }
    if let Some(pid) = prefix.strip_prefix('!') {
        return match pid.parse() {
            Ok(pid) => Target::Pid(pid, tail),
            Err(_) => Target::Bad(prefix),
        };
    }
    match prefix.parse() {
        Ok(n) if n > 0 => Target::Relative(n, tail),
        _ => Target::Bad(prefix),
    }
}

/// `help` at the master.
pub fn help() -> String {
    let lines = [
        ("help", "list this text"),
        (
            "@<relative pid>",
            "send a command to the <relative pid> process",
        ),
        ("@!<pid>", "send a command to the <pid> process"),
        ("@master", "send a command to the master process"),
        ("show proc", "show processes status"),
        ("reload", "achieve a soft-reload (-sf) of haproxy"),
        ("hard-reload", "achieve a hard-reload (-st) of haproxy"),
        (
            "show startup-logs",
            "show the startup logs of the latest start or reload",
        ),
        ("show version", "show the version of the current process"),
        (
            "show cli level",
            "display the level of the current CLI session",
        ),
        ("quit", "close the connection"),
    ];
    let mut out = String::from("The following commands are valid at this level:\n");
    for (syntax, text) in lines {
        out.push_str(&format!("  {syntax:<40}: {text}\n"));
    }
    out
}

/// `0d00h00m08s`.
pub fn uptime(elapsed: Duration) -> String {
    let s = elapsed.as_secs();
    format!(
        "{}d{:02}h{:02}m{:02}s",
        s / 86_400,
        (s / 3600) % 24,
        (s / 60) % 60,
        s % 60
    )
}

/// One `show proc` row: 15-wide left-aligned cells separated by one space.
pub fn proc_row(pid: i32, kind: &str, reloads: &str, uptime: &str, version: &str) -> String {
    format!("{pid:<15} {kind:<15} {reloads:<15} {uptime:<15} {version:<15}\n")
}

/// The `show proc` header line.
pub fn proc_header() -> String {
    format!(
        "#{:<14} {:<15} {:<15} {:<15} {:<15}\n",
        "<PID>", "<type>", "<reloads>", "<uptime>", "<version>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_proc_layout() {
        assert_eq!(
            proc_header(),
            "#<PID>          <type>          <reloads>       <uptime>        <version>      \n"
        );
        assert_eq!(
            proc_row(
                20292,
                "master",
                "1 [failed: 1]",
                "0d00h00m08s",
                "3.4.0-64a335366"
            ),
            "20292           master          1 [failed: 1]   0d00h00m08s     3.4.0-64a335366\n"
        );
        assert_eq!(uptime(Duration::from_secs(90_061)), "1d01h01m01s");
    }

    #[test]
    fn prefixes() {
        assert_eq!(target("show proc"), Target::Master("show proc"));
        assert_eq!(target("@1 show info"), Target::Relative(1, "show info"));
        assert_eq!(target("@!42 show info"), Target::Pid(42, "show info"));
        assert_eq!(target("@master show proc"), Target::Master("show proc"));
        assert_eq!(target("@x show"), Target::Bad("x"));
    }

    #[test]
    fn stale_socket_is_replaced() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("m.sock");
        let spec = CliSocket {
            address: path.display().to_string(),
            ..CliSocket::default()
        };
        let first = bind(&spec).expect("bind");
        std::mem::forget(first); // a master that died without cleaning up
        let second = bind(&spec).expect("rebind over a stale socket");
        assert!(std::os::unix::net::UnixStream::connect(&path).is_ok());
        drop(second);
        assert!(!path.exists());
    }
}
