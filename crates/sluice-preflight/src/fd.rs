//! `bind fd@N` (R5.11): the descriptor must be an open socket inherited from the supervisor.
//!
//! A WARNING in `-c`, because supervisors (systemd's `ExecStartPre`) run the check without
//! passing the sockets (HAProxy issue #3341); an error when the master checks before starting.

use crate::report::Report;
use crate::Context;
use sluice_config::{Category, Diagnostic};

/// What descriptor `fd` is in this process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdState {
    /// Open socket of this `SO_TYPE` (`libc::SOCK_STREAM`, `SOCK_DGRAM`...).
    Socket(i32),
    /// Open, but not a socket.
    NotSocket,
    /// Not open (or not inspectable): the errno.
    Closed(i32),
}

/// Inspects a descriptor of this process without taking ownership of it.
pub fn inspect(fd: i32) -> FdState {
    if fd < 0 {
        return FdState::Closed(libc::EBADF);
    }
    // SAFETY: fstat only writes into the zeroed stat buffer we own; an invalid fd is EBADF.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return FdState::Closed(errno());
    }
    if st.st_mode & libc::S_IFMT != libc::S_IFSOCK {
        return FdState::NotSocket;
    }
    let mut kind: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: SO_TYPE writes one c_int into `kind`, whose size is passed in `len`.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_TYPE,
            (&mut kind as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return FdState::NotSocket;
    }
    FdState::Socket(kind)
}

fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EBADF)
}

pub(crate) fn check(ctx: &Context, report: &mut Report) {
    for fd in &ctx.inputs.fd_listeners {
        let n = fd.value;
        let (code, message, err) = match inspect(n) {
            FdState::Socket(_) => continue,
            FdState::NotSocket => (
                "bind-fd-not-socket",
                format!("'bind fd@{n}' : file descriptor {n} is open but is not a socket"),
                Some(std::io::Error::from_raw_os_error(libc::ENOTSOCK)),
            ),
            FdState::Closed(errno) => (
                "bind-fd-not-open",
                format!("'bind fd@{n}' : cannot use file descriptor {n}: it is not open in this process"),
                Some(std::io::Error::from_raw_os_error(errno)),
            ),
        };
        let mut diag = if ctx.options.at_start {
            Diagnostic::error(Category::Environment, code, message)
        } else {
            Diagnostic::warning(Category::Environment, code, message)
                .note("supervisors often run the check without passing the sockets; at start this is an error")
        };
        if let Some(err) = err {
            diag = diag.os_error(&err);
        }
        report.env(diag.at_opt(fd.location).help(
            "start sluice from the supervisor that passes this socket (systemd socket activation, or the parent that opened it)",
        ));
    }
}
