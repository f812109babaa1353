//! What the configuration names outside itself, as plain data.
//!
//! The caller (the `sluice` binary, from the typed model) fills an [`Inputs`]; preflight never
//! reads the configuration itself. Every item carries the [`Location`] of the line that named
//! it, or `None` when it came from the command line (`-p`, `-S`).

use sluice_config::Location;
use std::net::IpAddr;
use std::path::PathBuf;

/// A value and the configuration line that gave it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located<T> {
    pub value: T,
    /// `None` for values from the command line.
    pub location: Option<Location>,
    /// The argument as written before environment expansion (`"$USER_ID"`), when it differs
    /// from `value`; lets an empty value name the variable that produced it.
    pub written: Option<String>,
}

impl<T> Located<T> {
    pub fn new(value: T, location: Option<Location>) -> Self {
        Self {
            value,
            location,
            written: None,
        }
    }

    /// A value given on the command line.
    pub fn command_line(value: T) -> Self {
        Self::new(value, None)
    }

    pub fn at(value: T, location: Location) -> Self {
        Self::new(value, Some(location))
    }

    pub fn written(mut self, text: impl Into<String>) -> Self {
        self.written = Some(text.into());
        self
    }
}

/// Why a file is read at start; decides the keyword in messages and the shape check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FilePurpose {
    /// `crt` (a PEM file, or a directory of them).
    Certificate,
    /// `crt-list`.
    CertificateList,
    /// `ca-file`, `ca-verify-file`.
    CaFile,
    /// `crl-file`.
    CrlFile,
    /// `key` in a `crt-store` (a separate private key).
    Key,
    /// `errorfile`, or a file of an `http-errors` section.
    ErrorFile,
    /// `-f` of an ACL.
    PatternFile,
    /// A map file (`map(...)`, `http-request set-map`...).
    MapFile,
    /// `lua-load`, `lua-load-per-thread`.
    LuaScript,
    /// `server-state-file` (HAProxy only warns when it is missing).
    ServerStateFile,
    /// `ssl-dh-param-file`.
    DhParams,
    /// Any other file read at start.
    Other,
}

impl FilePurpose {
    /// The keyword HAProxy users know this file by.
    pub fn keyword(self) -> &'static str {
        match self {
            FilePurpose::Certificate => "crt",
            FilePurpose::CertificateList => "crt-list",
            FilePurpose::CaFile => "ca-file",
            FilePurpose::CrlFile => "crl-file",
            FilePurpose::Key => "key",
            FilePurpose::ErrorFile => "errorfile",
            FilePurpose::PatternFile => "acl -f",
            FilePurpose::MapFile => "map",
            FilePurpose::LuaScript => "lua-load",
            FilePurpose::ServerStateFile => "server-state-file",
            FilePurpose::DhParams => "ssl-dh-param-file",
            FilePurpose::Other => "file",
        }
    }

    /// Short noun for messages ("certificate '/x.pem'").
    pub fn noun(self) -> &'static str {
        match self {
            FilePurpose::Certificate => "certificate",
            FilePurpose::CertificateList => "certificate list",
            FilePurpose::CaFile => "CA file",
            FilePurpose::CrlFile => "CRL file",
            FilePurpose::Key => "private key",
            FilePurpose::ErrorFile => "error file",
            FilePurpose::PatternFile => "pattern file",
            FilePurpose::MapFile => "map file",
            FilePurpose::LuaScript => "Lua script",
            FilePurpose::ServerStateFile => "server state file",
            FilePurpose::DhParams => "DH parameters file",
            FilePurpose::Other => "file",
        }
    }
}

/// A file read at start (before any chroot, so checked on the host).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRef {
    /// The path after `crt-base`/`ca-base` resolution.
    pub path: PathBuf,
    pub purpose: FilePurpose,
    /// Keyword for messages (`crt`, `errorfile`...); defaults to [`FilePurpose::keyword`].
    pub keyword: String,
    /// For a certificate: its private key comes from elsewhere (`key` in a `crt-store`), so
    /// the PEM need not hold one. A `<path>.key` file beside it is found without this.
    pub separate_key: bool,
    pub location: Option<Location>,
}

impl FileRef {
    pub fn new(purpose: FilePurpose, path: impl Into<PathBuf>, location: Option<Location>) -> Self {
        Self {
            path: path.into(),
            purpose,
            keyword: purpose.keyword().to_string(),
            separate_key: false,
            location,
        }
    }
}

/// Who creates a UNIX socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SocketPurpose {
    /// `stats socket <path>`.
    StatsSocket,
    /// `bind <path>` / `bind unix@<path>`.
    Bind,
    /// `-S <path>` (the master CLI).
    MasterCli,
}

impl SocketPurpose {
    pub fn keyword(self) -> &'static str {
        match self {
            SocketPurpose::StatsSocket => "stats socket",
            SocketPurpose::Bind => "bind",
            SocketPurpose::MasterCli => "-S",
        }
    }
}

/// A UNIX socket the master creates at start (before any chroot, so checked on the host).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnixSocketRef {
    /// The full path, `unix-bind prefix` applied. Abstract sockets (`abns@`) are not listed.
    pub path: PathBuf,
    pub purpose: SocketPurpose,
    pub location: Option<Location>,
}

/// One IP `bind` line address (not `fd@`, not UNIX).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenerRef {
    /// The proxy (frontend/listen) owning the line, `GLOBAL` for stats sockets.
    pub proxy: String,
    /// The host part as written (`192.0.2.1`, `*`, `::`, `www.example.com`, empty).
    pub host: String,
    /// The address to bind: `None` when the host is a name the caller did not resolve
    /// (preflight resolves it), or empty / `*` (the IPv4 wildcard).
    pub ip: Option<IpAddr>,
    /// First and last port of the range (equal for a single port).
    pub port_low: u16,
    pub port_high: u16,
    /// `transparent` or `freebind` is set: a non-local address is allowed.
    pub transparent: bool,
    pub freebind: bool,
    /// A datagram listener (QUIC, `udp@`).
    pub udp: bool,
    pub location: Option<Location>,
}

/// One way `init-addr` may find a server's address, in the order given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitAddr {
    /// The address saved in the server-state file.
    Last,
    /// The system resolver (getaddrinfo).
    Libc,
    /// Start the server without an address (disabled until resolved).
    None,
    /// A fixed fallback address.
    Ip(IpAddr),
}

/// One `server` line whose address may need resolving.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerRef {
    pub proxy: String,
    pub name: String,
    /// The host part as written (a name, an IPv4 or `[IPv6]`), without the port.
    pub host: String,
    pub port: Option<u16>,
    /// The `init-addr` methods; empty means HAProxy's default `last,libc`.
    pub init_addr: Vec<InitAddr>,
    /// The server names a `resolvers` section (resolved again at run time).
    pub has_resolvers: bool,
    pub location: Option<Location>,
}

/// Where a `log` line sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogTarget {
    /// A UNIX datagram socket such as `/dev/log`.
    Unix(PathBuf),
    /// A UDP/TCP target; `host` is a name or an IP as written.
    Network { host: String },
    /// `stdout`, `stderr`, `fd@N`, ring buffers: nothing to check.
    Other,
}

/// One `log` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogTargetRef {
    pub target: LogTarget,
    pub location: Option<Location>,
}

/// Everything the configuration names outside itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inputs {
    /// The `global` section line, for advisory warnings with no other place (R5.13); line 0
    /// of the first file when there is no `global` section, as HAProxy prints it (`[f.cfg:0]`).
    pub global_location: Option<Location>,
    /// `chroot <dir>`; `/` means "no chroot", `auto` a temporary one.
    pub chroot: Option<Located<PathBuf>>,
    /// `user`, `group`, `uid`, `gid` as written (after expansion): validated here.
    pub user: Option<Located<String>>,
    pub group: Option<Located<String>>,
    pub uid: Option<Located<String>>,
    pub gid: Option<Located<String>>,
    /// `pidfile` or `-p` (location `None` for `-p`).
    pub pidfile: Option<Located<PathBuf>>,
    /// Files read at start.
    pub files: Vec<FileRef>,
    /// UNIX sockets created at start.
    pub unix_sockets: Vec<UnixSocketRef>,
    /// IP listeners.
    pub listeners: Vec<ListenerRef>,
    /// `bind fd@N`.
    pub fd_listeners: Vec<Located<i32>>,
    pub servers: Vec<ServerRef>,
    pub log_targets: Vec<LogTargetRef>,
    /// `maxconn` in `global` (or `-n`).
    pub maxconn: Option<Located<u64>>,
    /// `ulimit-n`.
    pub ulimit_n: Option<Located<u64>>,
    /// Number of listening sockets (IP and UNIX), for the descriptor estimate.
    pub listener_count: usize,
    /// Number of servers with health checks (each check holds a descriptor at times).
    pub check_count: usize,
    /// `external-check command` of the backends that run external checks: programs the
    /// workers execute (inside the chroot, as the configured user).
    pub external_checks: Vec<Located<PathBuf>>,
}
