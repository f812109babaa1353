//! One server of a backend: where it is, and its live connection counter (shared with the
//! balancer of every thread).

use sluice_balance::ServerState;
use sluice_model::address::{Family, Host, Port};
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
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
    pub target: Target,
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
        let ip = match (&a.family, &a.host) {
            (Family::Unix, Host::Path(p)) => {
                return Ok(Self::with(s, id, Target::Unix(p.clone())));
            }
            (_, Host::Ip(ip)) => *ip,
            (_, Host::Any) => IpAddr::from([127, 0, 0, 1]),
            (_, Host::Name(name)) => (name.as_str(), 0u16)
                .to_socket_addrs()
                .ok()
                .and_then(|mut it| it.next())
                .map(|sa| sa.ip())
                .ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::NotFound,
                        format!("server '{}': could not resolve address '{name}'", s.name),
                    )
                })?,
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!("server '{}': address '{}' is not supported", s.name, a.text),
                ))
            }
        };
        let target = match a.port {
            // `0.0.0.0:0`: the client's destination port too.
            Port::Single(0) if a.host == Host::Any => Target::Relative(ip, 0),
            Port::Single(p) => Target::Addr(SocketAddr::new(ip, p)),
            Port::Offset(o) => Target::Relative(ip, o),
            _ => Target::Relative(ip, 0),
        };
        Ok(Self::with(s, id, target))
    }

    fn with(s: &sluice_model::proxy::server::Server, id: u32, target: Target) -> Server {
        let o = &s.options;
        Server {
            name: s.name.clone(),
            id,
            target,
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

    /// The address for a stream whose destination (the local address the client reached,
    /// or what `set-dst`/`set-dst-port` made of it) is `dst`.
    pub fn addr_to(&self, dst: Option<SocketAddr>) -> Option<SocketAddr> {
        match (self.transparent, dst) {
            (true, Some(d)) => {
                let port = match &self.target {
                    Target::Addr(a) => a.port(),
                    Target::Relative(_, off) => u16::try_from(i32::from(d.port()) + off).ok()?,
                    Target::Unix(_) => return None,
                };
                Some(SocketAddr::new(d.ip(), port))
            }
            _ => self.addr(dst.map(|a| a.port())),
        }
    }

    /// The address for a client that connected to local port `port`.
    pub fn addr(&self, port: Option<u16>) -> Option<SocketAddr> {
        match &self.target {
            Target::Addr(a) => Some(*a),
            Target::Relative(ip, off) => {
                let p = i32::from(port?) + off;
                u16::try_from(p).ok().map(|p| SocketAddr::new(*ip, p))
            }
            Target::Unix(_) => None,
        }
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
