//! Descriptor passing from the master to a worker it starts: the only module that knows the
//! variables and the `FD_CLOEXEC` dance.
//!
//! The master's descriptors are all close-on-exec. For a new worker it clears the flag on the
//! listening sockets and on the write end of the readiness pipe *in the child, between fork
//! and exec* (so no other child inherits them), and names them in the environment:
//!
//! - `SLUICE_WORKER_FDS`: JSON `[["key", fd], ...]`, the listener keys of the data plane;
//! - `SLUICE_READY_FD`: the readiness pipe (see [`crate::readiness`]);
//! - `SLUICE_MASTER_PID`: the master, so that the worker notices when it is gone.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

pub const WORKER_FDS: &str = "SLUICE_WORKER_FDS";
pub const READY_FD: &str = "SLUICE_READY_FD";
pub const MASTER_PID: &str = "SLUICE_MASTER_PID";
/// The daemon launcher's pipe (`-D`): the daemon writes `READY` once it serves.
pub const DAEMON_FD: &str = "SLUICE_DAEMON_FD";

/// The key→descriptor map as the environment carries it.
pub fn encode(fds: &[(String, RawFd)]) -> String {
    serde_json::to_string(fds).unwrap_or_else(|_| "[]".to_string())
}

pub fn decode(text: &str) -> Result<Vec<(String, RawFd)>, String> {
    serde_json::from_str(text).map_err(|e| format!("{WORKER_FDS} is not a descriptor list: {e}"))
}

/// Clears `FD_CLOEXEC` on each descriptor. Called between fork and exec: only `fcntl`, no
/// allocation, no lock (async-signal-safe).
pub fn clear_cloexec_all(fds: &[RawFd]) -> io::Result<()> {
    for &fd in fds {
        // SAFETY: fcntl on a descriptor number has no memory effects; a bad number gives EBADF.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        if flags < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: as above.
        if unsafe { libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) } < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Takes ownership of an inherited descriptor named by variable `var`, after checking that it is
/// open, and sets close-on-exec again so that it goes no further.
pub fn take_inherited(var: &str, fd: RawFd) -> Result<OwnedFd, String> {
    // SAFETY: F_GETFD only queries the descriptor table.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    if flags < 0 {
        return Err(format!(
            "{var} names descriptor {fd}, which is not open: {}",
            io::Error::last_os_error()
        ));
    }
    // SAFETY: as above; only the descriptor's flag changes.
    unsafe { libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) };
    // SAFETY: the master passed this descriptor to this process only, for it to own; nothing
    // else in this process refers to it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// What a worker received from its master.
#[derive(Debug)]
pub struct Handoff {
    pub listeners: Vec<(String, RawFd)>,
    pub ready: OwnedFd,
    pub master_pid: Option<i32>,
}

/// Reads the hand-off variables and removes them from the environment (a worker's own children
/// must not see them). `Ok(None)`: this process is not a worker.
pub fn take_handoff() -> Result<Option<Handoff>, String> {
    let Some(ready) = std::env::var_os(READY_FD) else {
        return Ok(None);
    };
    let ready: RawFd = ready
        .to_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{READY_FD} is not a descriptor number"))?;
    let listeners = match std::env::var(WORKER_FDS) {
        Ok(text) => decode(&text)?,
        Err(_) => Vec::new(),
    };
    let master_pid = std::env::var(MASTER_PID).ok().and_then(|s| s.parse().ok());
    for var in [READY_FD, WORKER_FDS, MASTER_PID] {
        // The worker is still single-threaded here.
        std::env::remove_var(var);
    }
    let ready = take_inherited(READY_FD, ready)?;
    for (_, fd) in &listeners {
        // Close-on-exec again; ownership goes to the data plane's adopt().
        // SAFETY: fcntl flag change on an inherited descriptor.
        let flags = unsafe { libc::fcntl(*fd, libc::F_GETFD) };
        if flags < 0 {
            return Err(format!(
                "{WORKER_FDS} names descriptor {fd}, which is not open: {}",
                io::Error::last_os_error()
            ));
        }
        // SAFETY: as above.
        unsafe { libc::fcntl(*fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) };
    }
    Ok(Some(Handoff {
        listeners,
        ready,
        master_pid,
    }))
}

/// Duplicates a descriptor, close-on-exec (the master keeps its own copy across a reload).
pub fn dup_cloexec(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC creates a new descriptor that we own at once.
    let new = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
    if new < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `new` was just created and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_round_trip() {
        let map = vec![("f/127.0.0.1:80".to_string(), 5), ("a;b=c".to_string(), 7)];
        assert_eq!(decode(&encode(&map)), Ok(map));
        assert!(decode("5,6").is_err());
    }
}
