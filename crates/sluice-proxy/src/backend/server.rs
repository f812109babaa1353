//! One server of a backend: where it is, and its live connection counter (shared with the
//! balancer of every thread).

use sluice_balance::ServerState;
use sluice_model::address::{Family, Host, Port};
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// HAProxy's default `pool-purge-delay`.
pub const DEFAULT_PURGE_DELAY: Duration = Duration::from_secs(5);

/// Where to connect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A fixed address and port.
    Addr(SocketAddr),
    /// No port, or `+N`/`-N`: the port the client connected to, plus the offset.
    Relative(IpAddr, i32),
    /// A UNIX stream socket.
    Unix(String),
}

/// A server.
#[derive(Debug)]
pub struct Server {
    pub name: String,
    /// Position in the backend, from 1 (the balancer's `ServerId`).
    pub id: u32,
    /// Where the server is now: the configured address, then what `set server addr`
    /// or the resolvers made of it ([`Server::target`]).
    pub address: RuntimeAddress,
    /// `resolvers <id>`: the name is resolved again at run time (`crate::resolvers`).
    pub resolve: Option<ResolveSettings>,
    /// The health checks' own address and port (`addr`, `port`), which do not follow the
    /// server when it moves.
    pub check_ip: Option<IpAddr>,
    pub check_port: Option<u16>,
    /// The configured weight (`weight`); the runtime one is `health.weight()`.
    pub weight: u16,
    pub backup: bool,
    pub disabled: bool,
    pub maxconn: u32,
    /// Most requests waiting for this server (`maxqueue`, 0: no limit).
    pub maxqueue: u32,
    /// `send-proxy` (1) or `send-proxy-v2` (2): the PROXY header starts each connection.
    pub send_proxy: Option<u8>,
    /// What a v2 header carries beyond the addresses (`proxy-v2-options`,
    /// `set-proxy-v2-tlv-fmt`; the formats are compiled with the rules and set by the plan).
    pub proxy_v2: crate::proxy_protocol::send::ServerTlvs,
    /// `cookie <value>`: the persistence cookie that names this server.
    pub cookie: Option<String>,
    /// `proto h2`: the server is spoken to in HTTP/2 (`backend::h2_client`).
    pub h2: bool,
    /// `socks4 <addr>`: connections go through this SOCKS4 proxy.
    pub socks4: Option<SocketAddr>,
    /// `check-via-socks4`: health checks too.
    pub check_via_socks4: bool,
    /// Requests on this server now, from every thread.
    pub connections: Arc<AtomicU32>,
    /// Up, down or in maintenance: written by the checker, read by every thread.
    pub health: crate::check::state::Health,
    /// `ssl`: connections are TLS.
    pub tls: Option<crate::tls::connector::Connector>,
    /// The address is `0.0.0.0` (or `::`, `*`): connections go to the destination address
    /// of the client connection, as `set-dst` may have changed it ([`Server::addr_to`]).
    pub transparent: bool,
    /// `check-ssl`: health checks are TLS, with the server's TLS settings.
    pub check_tls: Option<crate::tls::connector::Connector>,
    /// `pool-max-conn`: most idle connections kept for the server, all threads together
    /// (`None`: -1, no limit but the pool's own per thread).
    pub pool_max: Option<u32>,
    /// `pool-purge-delay` (5 s by default): how often half of the idle connections that
    /// were not needed are closed; zero keeps none.
    pub purge_delay: Duration,
    /// Idle connections to the server now, all threads together; counted only when
    /// `pool-max-conn` is set (the one reader).
    pub idle: AtomicU32,
    /// `del server` removed it: it keeps its slot, in maintenance, but no listing or
    /// lookup finds it.
    deleted: AtomicBool,
}

impl Server {
    /// Resolves a configured server and loads its TLS files.
    pub fn build(
        model: &sluice_model::Model,
        proxy: &sluice_model::Proxy,
        s: &sluice_model::proxy::server::Server,
        id: u32,
    ) -> io::Result<Server> {
        let check_ssl = s
            .options
            .other
            .iter()
            .rev()
            .find(|(n, _, _)| n == "check-ssl" || n == "no-check-ssl")
            .is_some_and(|(n, _, _)| n == "check-ssl");
        let connector = crate::tls::connector::for_server(model, proxy, s, check_ssl)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        Self::resolve(s, id).map(|server| Server {
            tls: connector.clone().filter(|_| s.options.ssl),
            check_tls: connector.filter(|_| check_ssl),
            ..server
        })
    }

    fn resolve(s: &sluice_model::proxy::server::Server, id: u32) -> io::Result<Server> {
        if let Some(v) = option_value(s, "socks4") {
            if v.parse::<SocketAddr>().is_err() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "server '{}': 'socks4' expects <address>:<port>, not '{v}'",
                        s.name
                    ),
                ));
            }
        }
        let a = &s.address;
        let mut fqdn = None;
        let ip = match (&a.family, &a.host) {
            (Family::Unix, Host::Path(p)) => {
                let address = RuntimeAddress::new(Target::Unix(p.clone()), true, None);
                return Ok(Self::with(s, id, address));
            }
            (_, Host::Ip(ip)) => Some(*ip),
            (_, Host::Any) => Some(IpAddr::from([127, 0, 0, 1])),
            (_, Host::Name(name)) => {
                fqdn = Some(name.clone());
                init_addr(s, name)?
            }
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!("server '{}': address '{}' is not supported", s.name, a.text),
                ))
            }
        };
        let known = ip.is_some();
        let ip = ip.unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let target = match a.port {
            // `0.0.0.0:0`: the client's destination port too.
            Port::Single(0) if a.host == Host::Any => Target::Relative(ip, 0),
            Port::Single(p) => Target::Addr(SocketAddr::new(ip, p)),
            Port::Offset(o) => Target::Relative(ip, o),
            _ => Target::Relative(ip, 0),
        };
        let server = Self::with(s, id, RuntimeAddress::new(target, known, fqdn));
        // `init-addr none`: no address until the resolvers find one (HAProxy's
        // resolution maintenance).
        if !known {
            server
                .health
                .set_admin(crate::check::state::admin::RMAINT, 0);
        }
        Ok(server)
    }

    fn with(s: &sluice_model::proxy::server::Server, id: u32, address: RuntimeAddress) -> Server {
        let o = &s.options;
        Server {
            name: s.name.clone(),
            id,
            address,
            resolve: ResolveSettings::of(s),
            check_ip: option_value(s, "addr").and_then(|v| v.parse().ok()),
            check_port: o.check_port,
            weight: o
                .weight
                .as_ref()
                .map_or(1, |w| u16::try_from(w.value).unwrap_or(u16::MAX)),
            backup: o.backup,
            disabled: o.disabled,
            maxconn: o
                .maxconn
                .as_ref()
                .map_or(0, |m| u32::try_from(m.value).unwrap_or(u32::MAX)),
            maxqueue: o
                .maxqueue
                .map_or(0, |m| u32::try_from(m).unwrap_or(u32::MAX)),
            send_proxy: match (o.send_proxy, o.send_proxy_v2) {
                (_, true) => Some(2),
                (true, false) => Some(1),
                _ => None,
            },
            proxy_v2: crate::proxy_protocol::send::ServerTlvs {
                options: o.proxy_v2_options,
                custom: Vec::new(),
            },
            cookie: o.cookie.as_ref().map(|c| c.value.clone()),
            socks4: option_value(s, "socks4").and_then(|v| v.parse().ok()),
            check_via_socks4: o.other.iter().any(|(n, _, _)| n == "check-via-socks4"),
            h2: o
                .other
                .iter()
                .rev()
                .find(|(n, _, _)| n == "proto")
                .is_some_and(|(_, v, _)| v.as_deref() == Some("h2")),
            connections: Arc::new(AtomicU32::new(0)),
            health: crate::check::state::Health::with(crate::check::state::Settings {
                disabled: o.disabled,
                weight: o
                    .weight
                    .as_ref()
                    .map_or(1, |w| u32::try_from(w.value).unwrap_or(256)),
                rise: o
                    .rise
                    .and_then(|r| u32::try_from(r).ok())
                    .unwrap_or(2)
                    .max(1),
                fall: o
                    .fall
                    .and_then(|r| u32::try_from(r).ok())
                    .unwrap_or(3)
                    .max(1),
                checked: o.check,
                init: o.init_state,
                observe: crate::check::observe::Observe::of(&o.other),
            }),
            tls: None,
            check_tls: None,
            transparent: s.address.host == Host::Any && s.address.family != Family::Unix,
            pool_max: o.pool_max_conn.and_then(|m| u32::try_from(m).ok()),
            purge_delay: o.pool_purge_delay.unwrap_or(DEFAULT_PURGE_DELAY),
            idle: AtomicU32::new(0),
            deleted: AtomicBool::new(false),
        }
    }

    /// Counts `n` idle connections fewer (taken or closed), when they are counted.
    pub fn forget_idle(&self, n: usize) {
        if self.pool_max.is_some() {
            let n = u32::try_from(n).unwrap_or(u32::MAX);
            self.idle.fetch_sub(n, Ordering::Relaxed);
        }
    }

    /// The server as the balancer sees it.
    pub fn state(&self) -> ServerState {
        ServerState::new(self.id)
            .weight(u16::try_from(self.health.effective_weight()).unwrap_or(u16::MAX))
            .backup(self.backup)
            .usable(self.health.usable())
            .maxconn(self.maxconn)
            .connections(self.connections.clone())
    }

    /// Where the server is now (with no address yet, the unspecified one: see
    /// [`Server::has_addr`]).
    pub fn target(&self) -> Target {
        self.address.target()
    }

    /// Where health checks go now: the server's current address with the checks' own
    /// `addr` and `port` applied (`before` while the server has no address).
    pub fn check_addr(&self, before: SocketAddr) -> SocketAddr {
        let Some(ip) = self.address.ip() else {
            return before;
        };
        let port = match self.address.target() {
            Target::Addr(a) => a.port(),
            _ => before.port(),
        };
        SocketAddr::new(self.check_ip.unwrap_or(ip), self.check_port.unwrap_or(port))
    }

    /// `del server`: the server leaves its backend for good (it must be in maintenance).
    pub fn delete(&self) {
        self.health.set_admin(crate::check::state::admin::FMAINT, 0);
        self.deleted.store(true, Ordering::Relaxed);
    }

    /// Whether `del server` removed it.
    pub fn is_deleted(&self) -> bool {
        self.deleted.load(Ordering::Relaxed)
    }

    /// The server has an address (not `init-addr none` waiting for the resolvers).
    pub fn has_addr(&self) -> bool {
        self.address.known()
    }

    /// The address for a stream whose destination (the local address the client reached,
    /// or what `set-dst`/`set-dst-port` made of it) is `dst`.
    pub fn addr_to(&self, dst: Option<SocketAddr>) -> Option<SocketAddr> {
        match (self.transparent, dst) {
            (true, Some(d)) => {
                let port = match &self.address.target() {
                    Target::Addr(a) => a.port(),
                    Target::Relative(_, off) => u16::try_from(i32::from(d.port()) + off).ok()?,
                    Target::Unix(_) => return None,
                };
                Some(SocketAddr::new(d.ip(), port))
            }
            _ => self.addr(dst.map(|a| a.port())),
        }
    }

    /// The address for a client that connected to local port `port` (none while the
    /// server has no address).
    pub fn addr(&self, port: Option<u16>) -> Option<SocketAddr> {
        let now = self.address.now.read().ok()?;
        if !now.known {
            return None;
        }
        match &now.target {
            Target::Addr(a) => Some(*a),
            Target::Relative(ip, off) => {
                let p = i32::from(port?) + off;
                u16::try_from(p).ok().map(|p| SocketAddr::new(*ip, p))
            }
            Target::Unix(_) => None,
        }
    }
}

/// A server's address at run time: read by every connection, written by the runtime API
/// and the resolvers (rarely: a lock read costs an atomic when nobody writes).
#[derive(Debug)]
pub struct RuntimeAddress {
    now: RwLock<Current>,
    /// Moves at each change of address.
    generation: AtomicU32,
}

#[derive(Clone, Debug)]
struct Current {
    target: Target,
    /// False while the server waits for its first address (`init-addr none`).
    known: bool,
    /// The name the server is resolved by (`srv_fqdn`): the configured one, or what `set
    /// server fqdn` gave.
    fqdn: Option<String>,
    /// When the name is a service label (`_http._tcp.name`): the target host of the SRV
    /// record the server took.
    srv_host: Option<String>,
}

impl RuntimeAddress {
    pub fn new(target: Target, known: bool, fqdn: Option<String>) -> RuntimeAddress {
        RuntimeAddress {
            now: RwLock::new(Current {
                target,
                known,
                fqdn,
                srv_host: None,
            }),
            generation: AtomicU32::new(0),
        }
    }

    /// The target now.
    pub fn target(&self) -> Target {
        self.now
            .read()
            .map_or(Target::Relative(IpAddr::from([0, 0, 0, 0]), 0), |n| {
                n.target.clone()
            })
    }

    /// Whether the server has an address.
    pub fn known(&self) -> bool {
        self.now.read().is_ok_and(|n| n.known)
    }

    /// The IP address now, if any (none for UNIX sockets and servers waiting for one).
    pub fn ip(&self) -> Option<IpAddr> {
        let now = self.now.read().ok()?;
        match (&now.target, now.known) {
            (Target::Addr(a), true) => Some(a.ip()),
            (Target::Relative(ip, _), true) => Some(*ip),
            _ => None,
        }
    }

    /// The name the server is resolved by.
    pub fn fqdn(&self) -> Option<String> {
        self.now.read().ok().and_then(|n| n.fqdn.clone())
    }

    /// The SRV target host the server took (service labels only).
    pub fn srv_host(&self) -> Option<String> {
        self.now.read().ok().and_then(|n| n.srv_host.clone())
    }

    pub fn set_srv_host(&self, host: Option<String>) {
        if let Ok(mut now) = self.now.write() {
            now.srv_host = host;
        }
    }

    /// The fixed port now, if any.
    pub fn port(&self) -> Option<u16> {
        match self.now.read().ok()?.target {
            Target::Addr(a) => Some(a.port()),
            _ => None,
        }
    }

    pub fn set_fqdn(&self, fqdn: Option<String>) {
        if let Ok(mut now) = self.now.write() {
            now.fqdn = fqdn;
        }
    }

    /// Counts the changes of address: a connection opened before the last one is not
    /// reused.
    pub fn generation(&self) -> u32 {
        self.generation.load(Ordering::Relaxed)
    }

    /// Moves the server to `ip`, keeping its port (or port offset). Returns the previous
    /// IP address (none when it had none); a UNIX socket server does not move.
    pub fn set_ip(&self, ip: IpAddr) -> Result<Option<IpAddr>, &'static str> {
        let Ok(mut now) = self.now.write() else {
            return Err("the server's address cannot be changed now");
        };
        let before = now.known.then(|| match &now.target {
            Target::Addr(a) => Some(a.ip()),
            Target::Relative(ip, _) => Some(*ip),
            Target::Unix(_) => None,
        });
        now.target = match &now.target {
            Target::Addr(a) => Target::Addr(SocketAddr::new(ip, a.port())),
            Target::Relative(_, off) => Target::Relative(ip, *off),
            Target::Unix(_) => return Err("a UNIX socket server has no IP address to change"),
        };
        let changed = before != Some(Some(ip));
        now.known = true;
        if changed {
            self.generation.fetch_add(1, Ordering::Relaxed);
        }
        Ok(before.flatten())
    }

    /// Sets the port: a fixed one, or an offset from the port the client connected to.
    pub fn set_port(&self, port: PortChange) {
        if let Ok(mut now) = self.now.write() {
            let ip = match &now.target {
                Target::Addr(a) => a.ip(),
                Target::Relative(ip, _) => *ip,
                Target::Unix(_) => return,
            };
            let next = match port {
                PortChange::Fixed(p) => Target::Addr(SocketAddr::new(ip, p)),
                PortChange::Offset(o) => Target::Relative(ip, o),
            };
            if next != now.target {
                now.target = next;
                self.generation.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The server loses its address (the resolvers found none): it takes no traffic.
    pub fn forget(&self) {
        if let Ok(mut now) = self.now.write() {
            if now.known {
                now.known = false;
                self.generation.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// A new port for a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortChange {
    Fixed(u16),
    /// Relative to the port the client connected to (`+N`, `-N`).
    Offset(i32),
}

/// The address family a resolved server prefers (`resolve-prefer`, IPv6 by default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prefer {
    Ipv4,
    Ipv6,
}

/// How a server with `resolvers <id>` is resolved at run time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolveSettings {
    /// The `resolvers` section's name.
    pub resolvers: String,
    pub prefer: Prefer,
    /// `resolve-net`: addresses in these networks are chosen first.
    pub nets: Vec<(IpAddr, u8)>,
    /// `resolve-opts allow-dup-ip`: servers resolved by the same name in a backend may
    /// share an address.
    pub allow_dup_ip: bool,
    /// `resolve-opts ignore-weight`: SRV records' weights are not applied.
    pub ignore_weight: bool,
}

impl ResolveSettings {
    fn of(s: &sluice_model::proxy::server::Server) -> Option<ResolveSettings> {
        let resolvers = s.options.resolvers.as_ref()?.value.clone();
        let prefer = match option_value(s, "resolve-prefer") {
            Some("ipv4") => Prefer::Ipv4,
            _ => Prefer::Ipv6,
        };
        let nets = option_value(s, "resolve-net")
            .map(|v| v.split(',').filter_map(parse_net).collect())
            .unwrap_or_default();
        let allow_dup_ip = option_value(s, "resolve-opts").is_some_and(|v| {
            v.split(',')
                .rev()
                .find(|o| *o == "allow-dup-ip" || *o == "prevent-dup-ip")
                == Some("allow-dup-ip")
        });
        let ignore_weight = option_value(s, "resolve-opts")
            .is_some_and(|v| v.split(',').any(|o| o == "ignore-weight"));
        Some(ResolveSettings {
            resolvers,
            prefer,
            nets,
            allow_dup_ip,
            ignore_weight,
        })
    }

    /// Whether `ip` is in one of the `resolve-net` networks.
    pub fn in_nets(&self, ip: IpAddr) -> bool {
        self.nets
            .iter()
            .any(|(net, len)| in_network(ip, *net, *len))
    }
}

/// `10.0.0.0/8` (a bare address is a host network).
fn parse_net(text: &str) -> Option<(IpAddr, u8)> {
    let (addr, len) = match text.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (text, None),
    };
    let ip: IpAddr = addr.trim().parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len = match len {
        Some(l) => l.trim().parse::<u8>().ok().filter(|l| *l <= max)?,
        None => max,
    };
    Some((ip, len))
}

fn in_network(ip: IpAddr, net: IpAddr, len: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// `init-addr` (default `last,libc`): the first method that gives an address. `None`
/// for `none`: the server starts without one.
fn init_addr(s: &sluice_model::proxy::server::Server, name: &str) -> io::Result<Option<IpAddr>> {
    let methods = s
        .options
        .init_addr
        .as_ref()
        .map_or("last,libc", |i| i.value.as_str());
    let prefer_v4 = option_value(s, "resolve-prefer") == Some("ipv4");
    for method in methods.split(',').map(str::trim) {
        match method {
            // No server state file is read: nothing was saved.
            "last" => continue,
            "libc" => {
                if let Some(ip) = libc_lookup(name, prefer_v4) {
                    return Ok(Some(ip));
                }
            }
            "none" => return Ok(None),
            other => {
                if let Ok(ip) = other.parse::<IpAddr>() {
                    return Ok(Some(ip));
                }
            }
        }
    }
    Err(io::Error::new(
        io::ErrorKind::NotFound,
        format!("server '{}': could not resolve address '{name}'", s.name),
    ))
}

/// The system resolver's first address for `name`, of the preferred family when it gives
/// both.
fn libc_lookup(name: &str, prefer_v4: bool) -> Option<IpAddr> {
    let all: Vec<IpAddr> = (name, 0u16)
        .to_socket_addrs()
        .ok()?
        .map(|sa| sa.ip())
        .collect();
    if prefer_v4 {
        all.iter().find(|ip| ip.is_ipv4()).or(all.first()).copied()
    } else {
        all.first().copied()
    }
}

/// Counts one request on a server for as long as it lives.
#[derive(Debug)]
pub struct Busy(Arc<AtomicU32>);

impl Busy {
    /// Adds one to the server's counter.
    pub fn new(counter: &Arc<AtomicU32>) -> Busy {
        counter.fetch_add(1, Ordering::Relaxed);
        Busy(counter.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The value of the last `name <value>` option of server `s` (or of its `default-server`).
fn option_value<'s>(s: &'s sluice_model::proxy::server::Server, name: &str) -> Option<&'s str> {
    s.options
        .other
        .iter()
        .rev()
        .find(|(n, _, _)| n == name)
        .and_then(|(_, v, _)| v.as_deref())
}

#[cfg(test)]
mod tests {
    use super::{in_network, parse_net};
    use std::net::IpAddr;

    #[test]
    fn resolve_net_networks() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        let (net, len) = parse_net("10.0.0.0/8").expect("net");
        assert!(in_network(ip("10.1.2.3"), net, len));
        assert!(!in_network(ip("11.1.2.3"), net, len));
        assert!(!in_network(ip("::1"), net, len));
        let (net, len) = parse_net("fd00::/8").expect("v6 net");
        assert!(in_network(ip("fd12::1"), net, len));
        assert_eq!(parse_net("192.0.2.1"), Some((ip("192.0.2.1"), 32)));
        let (all, zero) = parse_net("0.0.0.0/0").expect("everything");
        assert!(in_network(ip("203.0.113.9"), all, zero));
        assert_eq!(parse_net("10.0.0.0/33"), None);
        assert_eq!(parse_net("nonsense/8"), None);
    }
}
