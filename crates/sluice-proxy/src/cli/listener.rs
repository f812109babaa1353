//! The `stats socket` lines of the global section: their sockets, bound like the proxies'
//! listeners (by the master or the foreground process, passed to a re-executed worker under a
//! stable key, adopted back there), and the accept loop that runs one session per client.

// Diagnostics are large but only built at start, never per connection.
#![allow(clippy::result_large_err)]

use crate::listener::bind::{self, BindSpec, SocketKind};
use sluice_config::{Category, Diagnostic, Location};
use sluice_model::address::{Address, Family, Host, Port};
use sluice_model::global::StatsSocket;
use sluice_model::Model;
use socket2::{Domain, SockAddr, Socket, Type};
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// The key prefix of stats sockets among the exported listeners.
pub const KEY_PREFIX: &str = "@stats|";

/// One `stats socket` line to bind.
#[derive(Clone, Debug)]
pub struct StatsSpec {
    /// Stable identity across a re-exec: `@stats|<address as written>|<port>`.
    pub key: String,
    /// Index in `Global::stats_sockets`.
    pub index: usize,
    pub address: Address,
    pub location: Location,
}

impl StatsSpec {
    pub fn kind(&self) -> SocketKind {
        match self.address.family {
            Family::Unix | Family::Abns | Family::Abnsz => SocketKind::Unix,
            _ => SocketKind::Tcp,
        }
    }
}

/// A bound stats socket.
#[derive(Debug)]
pub struct BoundStats {
    pub key: String,
    /// Index in `Global::stats_sockets`.
    pub index: usize,
    pub socket: OwnedFd,
    pub kind: SocketKind,
}

/// Every `stats socket` of the global section, in configuration order.
pub fn specs(model: &Model) -> Vec<StatsSpec> {
    model
        .global
        .stats_sockets
        .iter()
        .enumerate()
        .map(|(index, s)| StatsSpec {
            key: format!(
                "{KEY_PREFIX}{}|{}",
                s.address.text,
                s.address
                    .port_number()
                    .map_or("-".to_string(), |p| p.to_string())
            ),
            index,
            address: s.address.clone(),
            location: s.location,
        })
        .collect()
}

/// Binds (or adopts, for `fd@N`) one stats socket.
pub fn open(model: &Model, spec: &StatsSpec) -> Result<BoundStats, Diagnostic> {
    let socket = open_fd(model, spec)?;
    Ok(BoundStats {
        key: spec.key.clone(),
        index: spec.index,
        socket,
        kind: spec.kind(),
    })
}

/// Takes over a stats socket passed by the master.
pub fn adopt(spec: &StatsSpec, fd: RawFd) -> Result<BoundStats, Diagnostic> {
    let socket = bind::adopt_fd(&as_bind_spec(spec), fd)?;
    Ok(BoundStats {
        key: spec.key.clone(),
        index: spec.index,
        socket,
        kind: spec.kind(),
    })
}

fn as_bind_spec(spec: &StatsSpec) -> BindSpec {
    BindSpec {
        key: spec.key.clone(),
        proxy: usize::MAX,
        bind: spec.index,
        address: spec.address.clone(),
        port: spec.address.port_number(),
        location: spec.location,
    }
}

fn failure(spec: &StatsSpec, what: &str, e: &io::Error) -> Diagnostic {
    let reason = sluice_config::diagnostic::os_reason(e);
    let help = match e.kind() {
        io::ErrorKind::AddrInUse => {
            "another process listens on this address: stop it or choose another one"
        }
        io::ErrorKind::PermissionDenied => {
            "the directory of the socket must be writable by the user that starts Sluice"
        }
        io::ErrorKind::NotFound => "create the directory of the socket first",
        _ => "check the address and the options of this 'stats socket' line",
    };
    Diagnostic::error(
        Category::Environment,
        "stats-socket-failed",
        format!("'stats socket' : {what} ({reason}) [{}]", spec.address.text),
    )
    .at(spec.location)
    .os_error(e)
    .help(help)
}

fn open_fd(model: &Model, spec: &StatsSpec) -> Result<OwnedFd, Diagnostic> {
    let line = model.global.stats_sockets.get(spec.index);
    let fail = |what: &str, e: io::Error| failure(spec, what, &e);
    match (&spec.address.family, &spec.address.host) {
        (_, Host::Fd(n)) => {
            let fd = RawFd::try_from(*n).map_err(|_| {
                fail(
                    "cannot use inherited socket",
                    io::Error::from_raw_os_error(libc::EBADF),
                )
            })?;
            bind::adopt_fd(&as_bind_spec(spec), fd)
        }
        (Family::Unix, Host::Path(path)) => {
            open_unix(path, line).map_err(|(what, e)| fail(what, e))
        }
        (Family::Abns | Family::Abnsz, Host::Path(name)) => {
            use std::os::unix::ffi::OsStrExt;
            let mut raw = vec![0u8];
            raw.extend_from_slice(name.as_bytes());
            let addr = SockAddr::unix(std::ffi::OsStr::from_bytes(&raw))
                .map_err(|e| fail("cannot bind socket", e))?;
            let s = Socket::new(Domain::UNIX, Type::STREAM, None)
                .map_err(|e| fail("cannot create socket", e))?;
            finish(s, &addr, line).map_err(|(what, e)| fail(what, e))
        }
        (Family::Inet | Family::Ipv4 | Family::Ipv6, _) => {
            let ip = bind::ip_of(&spec.address).map_err(|e| fail("cannot resolve address", e))?;
            let port = match spec.address.port {
                Port::Single(p) | Port::Range(p, _) => p,
                _ => {
                    return Err(fail(
                        "a TCP stats socket needs a port",
                        io::Error::from_raw_os_error(libc::EINVAL),
                    ))
                }
            };
            let sa = SocketAddr::new(ip, port);
            let s = Socket::new(Domain::for_address(sa), Type::STREAM, None)
                .map_err(|e| fail("cannot create socket", e))?;
            s.set_reuse_address(true)
                .map_err(|e| fail("cannot set socket option", e))?;
            finish(s, &SockAddr::from(sa), line).map_err(|(what, e)| fail(what, e))
        }
        _ => Err(Diagnostic::error(
            Category::Compatibility,
            "not-implemented-refused",
            format!(
                "'stats socket' : the address family of '{}' is not supported by Sluice yet",
                spec.address.text
            ),
        )
        .at(spec.location)
        .help("use a UNIX socket path, an IPv4/IPv6 address with a port, or fd@N")),
    }
}

type Failed = (&'static str, io::Error);

fn finish(s: Socket, addr: &SockAddr, line: Option<&StatsSocket>) -> Result<OwnedFd, Failed> {
    s.set_nonblocking(true)
        .and_then(|()| s.set_cloexec(true))
        .map_err(|e| ("cannot set socket option", e))?;
    s.bind(addr).map_err(|e| ("cannot bind socket", e))?;
    s.listen(backlog(line))
        .map_err(|e| ("cannot listen to socket", e))?;
    Ok(OwnedFd::from(s))
}

fn backlog(line: Option<&StatsSocket>) -> i32 {
    line.and_then(|l| l.options.maxconn)
        .and_then(|m| i32::try_from(m).ok())
        .filter(|m| *m > 0)
        .unwrap_or(1024)
}

/// A UNIX socket at `path`: a socket file left by an earlier run (nothing accepts on it any
/// more) is removed first; then the socket is bound, given its owner and mode, and listens.
/// A live socket at the path makes the bind fail ("Address already in use"), as the
/// preflight reports. Bound at its final name, the socket shows under it in
/// `/proc/net/unix`, which the preflight reads to recognise Sluice's own sockets on reload.
fn open_unix(path: &str, line: Option<&StatsSocket>) -> Result<OwnedFd, Failed> {
    remove_stale(path);
    let s =
        Socket::new(Domain::UNIX, Type::STREAM, None).map_err(|e| ("cannot create socket", e))?;
    let addr = SockAddr::unix(path).map_err(|e| ("cannot bind socket", e))?;
    s.set_nonblocking(true)
        .and_then(|()| s.set_cloexec(true))
        .map_err(|e| ("cannot set socket option", e))?;
    s.bind(&addr).map_err(|e| ("cannot bind socket", e))?;
    let configured = (|| {
        if let Some(l) = line {
            apply_owner_and_mode(path, l)?;
        }
        s.listen(backlog(line))
            .map_err(|e| ("cannot listen to socket", e))
    })();
    if let Err(e) = configured {
        let _ = std::fs::remove_file(path);
        return Err(e);
    }
    Ok(OwnedFd::from(s))
}

/// Removes a socket file nothing listens on any more (connect refused).
fn remove_stale(path: &str) {
    use std::os::unix::fs::FileTypeExt;
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return;
    };
    if meta.file_type().is_socket() && std::os::unix::net::UnixStream::connect(path).is_err() {
        let _ = std::fs::remove_file(path);
    }
}

/// `mode`, `uid`/`user`, `gid`/`group` of a `stats socket` line.
fn apply_owner_and_mode(path: &str, line: &StatsSocket) -> Result<(), Failed> {
    let o = &line.options;
    let uid = match (&o.user, o.uid) {
        (Some(name), _) => {
            Some(user_id(&name.value).map_err(|e| ("cannot find the user of the UNIX socket", e))?)
        }
        (None, Some(uid)) => Some(
            u32::try_from(uid)
                .map_err(|_| ("invalid uid", io::Error::from_raw_os_error(libc::EINVAL)))?,
        ),
        (None, None) => None,
    };
    let gid = match (&o.group, o.gid) {
        (Some(name), _) => Some(
            group_id(&name.value).map_err(|e| ("cannot find the group of the UNIX socket", e))?,
        ),
        (None, Some(gid)) => Some(
            u32::try_from(gid)
                .map_err(|_| ("invalid gid", io::Error::from_raw_os_error(libc::EINVAL)))?,
        ),
        (None, None) => None,
    };
    if uid.is_some() || gid.is_some() {
        std::os::unix::fs::chown(path, uid, gid)
            .map_err(|e| ("cannot change the owner of the UNIX socket", e))?;
    }
    if let Some(mode) = o.mode.as_deref() {
        let bits = u32::from_str_radix(mode, 8)
            .map_err(|_| ("invalid mode", io::Error::from_raw_os_error(libc::EINVAL)))?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(bits))
            .map_err(|e| ("cannot change UNIX socket permissions", e))?;
    }
    Ok(())
}

/// The uid of user `name`, through the system's user database (as the master and the
/// preflight look users up).
fn user_id(name: &str) -> io::Result<u32> {
    match nix::unistd::User::from_name(name) {
        Ok(Some(u)) => Ok(u.uid.as_raw()),
        Ok(None) => Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("no user '{name}'"),
        )),
        Err(e) => Err(io::Error::from(e)),
    }
}

/// The gid of group `name`.
fn group_id(name: &str) -> io::Result<u32> {
    match nix::unistd::Group::from_name(name) {
        Ok(Some(g)) => Ok(g.gid.as_raw()),
        Ok(None) => Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("no group '{name}'"),
        )),
        Err(e) => Err(io::Error::from(e)),
    }
}

/// The raw fd, for export.
pub fn raw(b: &BoundStats) -> RawFd {
    b.socket.as_raw_fd()
}
