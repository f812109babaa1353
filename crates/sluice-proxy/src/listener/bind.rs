//! Opening one listening socket for one address of a `bind` line.

// Diagnostics are large but only built at start, never per connection.
#![allow(clippy::result_large_err)]

use sluice_config::{Category, Diagnostic, Location};
use sluice_model::address::{Address, Family, Host, Port};
use sluice_model::proxy::bind::Bind;
use sluice_model::Model;
use socket2::{Domain, SockAddr, Socket, Type};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Stream socket family of a listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketKind {
    /// TCP over IPv4 or IPv6.
    Tcp,
    /// UNIX stream socket (path or abstract).
    Unix,
}

/// What to open: one address and port of one bind line.
#[derive(Clone, Debug)]
pub struct BindSpec {
    pub key: String,
    pub proxy: usize,
    pub bind: usize,
    pub address: Address,
    /// The port for IP families (one of a range).
    pub port: Option<u16>,
    pub location: Location,
}

impl BindSpec {
    pub fn kind(&self) -> SocketKind {
        match self.address.family {
            Family::Unix | Family::Abns | Family::Abnsz => SocketKind::Unix,
            // An inherited fd is told apart when adopted; TCP is by far the common case.
            _ => SocketKind::Tcp,
        }
    }
}

/// Every address of every enabled frontend/listen, in configuration order.
pub fn specs(model: &Model) -> Vec<BindSpec> {
    let mut out = Vec::new();
    for (pi, proxy) in model.proxies.iter().enumerate() {
        if proxy.disabled || !proxy.kind.is_frontend() {
            continue;
        }
        for (bi, bind) in proxy.binds.iter().enumerate() {
            for address in &bind.addresses {
                let ports: Vec<Option<u16>> = match address.port {
                    Port::Single(p) => vec![Some(p)],
                    Port::Range(lo, hi) => (lo..=hi).map(Some).collect(),
                    _ => vec![None],
                };
                for port in ports {
                    let port_text = port.map_or("-".to_string(), |p| p.to_string());
                    out.push(BindSpec {
                        key: format!("{}|{}|{}", proxy.name, address.text, port_text),
                        proxy: pi,
                        bind: bi,
                        address: address.clone(),
                        port,
                        location: bind.location,
                    });
                }
            }
        }
    }
    out
}

fn bind_of<'m>(model: &'m Model, spec: &BindSpec) -> Option<&'m Bind> {
    model.proxies.get(spec.proxy)?.binds.get(spec.bind)
}

/// Whether a bind option without a typed field was written (`defer-accept`).
fn has_flag(bind: &Bind, name: &str) -> bool {
    bind.options.other.iter().any(|(n, _, _)| n == name)
}

fn option_value<'b>(bind: &'b Bind, name: &str) -> Option<&'b str> {
    bind.options
        .other
        .iter()
        .rev()
        .find(|(n, _, _)| n == name)
        .and_then(|(_, v, _)| v.as_deref())
}

/// The listen backlog: `backlog`, else the bind's or the proxy's `maxconn`, else the global
/// one, as HAProxy does; at least 1024 would be HAProxy's kernel-side clamp, kept simple here.
fn backlog(model: &Model, spec: &BindSpec, bind: Option<&Bind>) -> i32 {
    let from_bind = bind.and_then(|b| option_value(b, "backlog").and_then(|v| v.parse().ok()));
    let v = from_bind
        .or_else(|| bind.and_then(|b| b.options.maxconn))
        .or_else(|| {
            model
                .proxies
                .get(spec.proxy)
                .and_then(|p| p.maxconn.as_ref())
                .map(|m| m.value)
        })
        .or_else(|| model.global.maxconn.as_ref().map(|m| m.value))
        .unwrap_or(1024);
    i32::try_from(v.max(1)).unwrap_or(i32::MAX)
}

fn proxy_words(model: &Model, spec: &BindSpec) -> String {
    model
        .proxies
        .get(spec.proxy)
        .map(|p| format!("{} {}", p.kind.keyword(), p.name))
        .unwrap_or_default()
}

fn failure(model: &Model, spec: &BindSpec, what: &str, e: &io::Error) -> Diagnostic {
    let reason = sluice_config::diagnostic::os_reason(e);
    let help = match e.kind() {
        io::ErrorKind::AddrInUse => {
            "another process listens on this address: stop it or choose another port"
        }
        io::ErrorKind::PermissionDenied => {
            "ports below 1024 need root or CAP_NET_BIND_SERVICE; or choose a port above 1023"
        }
        io::ErrorKind::AddrNotAvailable => {
            "the address is not configured on this host: fix it or add 'freebind'"
        }
        _ => "check the address and the socket options of this 'bind' line",
    };
    Diagnostic::error(
        Category::Environment,
        "bind-failed",
        format!(
            "Starting {}: {what} ({reason}) [{}]",
            proxy_words(model, spec),
            spec.address.text
        ),
    )
    .at(spec.location)
    .os_error(e)
    .help(help)
}

/// Opens, configures, binds and listens; the socket is non-blocking and close-on-exec.
pub fn open(model: &Model, spec: &BindSpec) -> Result<OwnedFd, Diagnostic> {
    let bind = bind_of(model, spec);
    let fail = |what: &str, e: io::Error| failure(model, spec, what, &e);
    if let Host::Fd(n) = spec.address.host {
        let fd = RawFd::try_from(n).map_err(|_| {
            fail(
                "cannot use inherited socket",
                io::Error::from_raw_os_error(libc::EBADF),
            )
        })?;
        return adopt_raw(fd, backlog(model, spec, bind))
            .map_err(|e| fail("cannot use inherited socket", e));
    }
    let (socket, addr) = match spec.address.family {
        Family::Unix | Family::Abns | Family::Abnsz => {
            let addr = unix_addr(&spec.address).map_err(|e| fail("cannot bind socket", e))?;
            let s = Socket::new(Domain::UNIX, Type::STREAM, None)
                .map_err(|e| fail("cannot create socket", e))?;
            if let Some(path) = spec.address.unix_path() {
                remove_stale_socket(path);
            }
            (s, addr)
        }
        Family::Udp | Family::Quic | Family::Rhttp | Family::Sockpair => {
            return Err(Diagnostic::error(
                Category::Compatibility,
                "not-implemented-refused",
                format!(
                    "Starting {}: address family of '{}' is not supported by Sluice's listeners yet",
                    proxy_words(model, spec),
                    spec.address.text
                ),
            )
            .at(spec.location)
            .help("use an IPv4/IPv6 address, a UNIX socket path or fd@N"));
        }
        _ => {
            let ip = ip_of(&spec.address).map_err(|e| fail("cannot resolve address", e))?;
            let sa = SocketAddr::new(ip, spec.port.unwrap_or(0));
            let s = Socket::new(Domain::for_address(sa), Type::STREAM, None)
                .map_err(|e| fail("cannot create socket", e))?;
            (s, SockAddr::from(sa))
        }
    };
    configure(&socket, spec, bind).map_err(|e| fail("cannot set socket option", e))?;
    socket
        .bind(&addr)
        .map_err(|e| fail("cannot bind socket", e))?;
    if let (Some(path), Some(b)) = (spec.address.unix_path(), bind) {
        if let Some(mode) = b.options.mode.as_deref() {
            if let Ok(bits) = u32::from_str_radix(mode, 8) {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(bits))
                    .map_err(|e| fail("cannot change UNIX socket permissions", e))?;
            }
        }
    }
    socket
        .listen(backlog(model, spec, bind))
        .map_err(|e| fail("cannot listen to socket", e))?;
    Ok(OwnedFd::from(socket))
}

/// Takes an inherited fd passed by a master: it must be a listening stream socket.
pub fn adopt_fd(spec: &BindSpec, fd: RawFd) -> Result<OwnedFd, Diagnostic> {
    adopt_raw(fd, 1024).map_err(|e| {
        Diagnostic::error(
            Category::Environment,
            "bind-failed",
            format!(
                "cannot use inherited socket fd {fd} for '{}' ({})",
                spec.address.text,
                sluice_config::diagnostic::os_reason(&e)
            ),
        )
        .at(spec.location)
        .os_error(&e)
    })
}

/// Checks `fd` is a stream socket, makes it listen if it does not yet, and owns it.
fn adopt_raw(fd: RawFd, backlog: i32) -> io::Result<OwnedFd> {
    // fstat first: never take ownership of a descriptor that is not ours to close.
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat writes into `st` and only reads the descriptor number.
    if unsafe { libc::fstat(fd, st.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fstat succeeded, so `st` is initialised.
    let st = unsafe { st.assume_init() };
    if st.st_mode & libc::S_IFMT != libc::S_IFSOCK {
        return Err(io::Error::from_raw_os_error(libc::ENOTSOCK));
    }
    // SAFETY: the descriptor is open (fstat succeeded) and handed to us by the caller.
    let socket = unsafe { Socket::from_raw_fd(fd) };
    if socket.r#type()? != Type::STREAM {
        // Give the fd back untouched: it is not a stream socket.
        let _ = socket.into_raw_fd_keep();
        return Err(io::Error::from_raw_os_error(libc::EPROTOTYPE));
    }
    let listening = socket.is_listener().unwrap_or(false);
    if !listening {
        socket.listen(backlog)?;
    }
    socket.set_nonblocking(true)?;
    socket.set_cloexec(true)?;
    Ok(OwnedFd::from(socket))
}

trait KeepFd {
    fn into_raw_fd_keep(self) -> RawFd;
}
impl KeepFd for Socket {
    fn into_raw_fd_keep(self) -> RawFd {
        std::os::fd::IntoRawFd::into_raw_fd(self)
    }
}

fn configure(socket: &Socket, spec: &BindSpec, bind: Option<&Bind>) -> io::Result<()> {
    socket.set_nonblocking(true)?;
    socket.set_cloexec(true)?;
    if spec.kind() == SocketKind::Unix {
        return Ok(());
    }
    socket.set_reuse_address(true)?;
    let is_v6 = matches!(ip_of(&spec.address), Ok(IpAddr::V6(_)));
    if let Some(b) = bind {
        if is_v6 {
            if b.options.v6only {
                socket.set_only_v6(true)?;
            } else if b.options.v4v6 {
                socket.set_only_v6(false)?;
            }
        }
        if b.options.transparent {
            socket.set_ip_transparent(true)?;
        }
        if b.options.freebind {
            if is_v6 {
                socket.set_freebind_ipv6(true)?;
            } else {
                socket.set_freebind(true)?;
            }
        }
        if has_flag(b, "defer-accept") {
            // Wake accept() only when data arrived (TCP_DEFER_ACCEPT, seconds).
            let secs: libc::c_int = 1;
            setsockopt_int(
                socket.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_DEFER_ACCEPT,
                secs,
            )?;
        }
        if let Some(name) = b.options.interface.as_deref() {
            socket.bind_device(Some(name.as_bytes()))?;
        }
    }
    Ok(())
}

fn setsockopt_int(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    v: libc::c_int,
) -> io::Result<()> {
    // SAFETY: passes a pointer to a live c_int and its exact size.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&v as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The IP to bind: `*`/empty is IPv4 any and `::` IPv6 any, as in HAProxy; a name is
/// resolved once, now.
pub fn ip_of(address: &Address) -> io::Result<IpAddr> {
    match &address.host {
        Host::Ip(ip) => Ok(*ip),
        Host::Any => {
            let v6 = address.family == Family::Ipv6
                || (address.family == Family::Inet && address.text.contains("::"));
            Ok(if v6 {
                IpAddr::V6(Ipv6Addr::UNSPECIFIED)
            } else {
                IpAddr::V4(Ipv4Addr::UNSPECIFIED)
            })
        }
        Host::Name(name) => {
            let mut addrs = (name.as_str(), 0u16).to_socket_addrs()?;
            let want_v6 = address.family == Family::Ipv6;
            let want_v4 = address.family == Family::Ipv4;
            addrs
                .find(|a| (!want_v6 || a.is_ipv6()) && (!want_v4 || a.is_ipv4()))
                .map(|a| a.ip())
                .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address for this name"))
        }
        Host::Path(_) | Host::Fd(_) => Err(io::Error::from_raw_os_error(libc::EAFNOSUPPORT)),
    }
}

fn unix_addr(address: &Address) -> io::Result<SockAddr> {
    match (&address.family, &address.host) {
        (Family::Unix, Host::Path(p)) => SockAddr::unix(p),
        (Family::Abns | Family::Abnsz, Host::Path(name)) => {
            // A leading NUL in sun_path makes the name abstract (no file).
            use std::os::unix::ffi::OsStrExt;
            let mut path = Vec::with_capacity(name.len() + 1);
            path.push(0u8);
            path.extend_from_slice(name.as_bytes());
            SockAddr::unix(std::ffi::OsStr::from_bytes(&path))
        }
        _ => Err(io::Error::from_raw_os_error(libc::EAFNOSUPPORT)),
    }
}

/// A socket file left by a previous run would make bind() fail: remove it if nothing
/// listens on it any more (connect refused).
fn remove_stale_socket(path: &str) {
    use std::os::unix::fs::FileTypeExt;
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return;
    };
    if !meta.file_type().is_socket() {
        return;
    }
    if std::os::unix::net::UnixStream::connect(path).is_err() {
        let _ = std::fs::remove_file(path);
    }
}
