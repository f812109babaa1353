//! Stick-table synchronisation with HAProxy's peers protocol (version 2.x over TCP), with
//! other Sluice processes and with HAProxy processes alike.
//!
//! For every `peers` section that lists the local peer (`-L`, else `localpeer`, else the
//! host name, as `HAPROXY_LOCALPEER` holds it), the worker listens on the section's `bind`
//! addresses (or the local peer's address), connects to every other peer (and reconnects),
//! and keeps a session per connection:
//!
//! - [`wire`]: varints, framing, table definitions, updates, acknowledgements;
//! - [`session`]: the handshake and the message loop of one connection;
//! - [`sync`]: the section's tables and the hand-off of local changes to the sessions.
//!
//! Everything runs on one thread of its own (`sluice-peers`), stopped with the worker.

pub mod session;
pub mod sync;
pub mod wire;

use crate::listener::bind::{self, BindSpec};
use crate::worker::StopLevel;
use sluice_config::SectionKind;
use sluice_model::address::{Address, Host};
use sluice_model::Model;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use sync::{Remote, Section};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The wait before connecting again to a peer after a failure or a closed session.
const RECONNECT: Duration = Duration::from_millis(1000);
/// How long a connection attempt may take (HAProxy's peers use 1 second).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// The local peer's name: `HAPROXY_LOCALPEER` (set from `-L` or the host name at start),
/// else the host name.
pub fn local_peer_name() -> String {
    match std::env::var("HAPROXY_LOCALPEER") {
        Ok(name) if !name.is_empty() => name,
        _ => hostname(),
    }
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates when it fits.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return String::new();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(buf.get(..end).unwrap_or_default()).into_owned()
}

/// A section ready to run: its state and its listening sockets.
struct Prepared {
    section: Arc<Section>,
    listeners: Vec<std::net::TcpListener>,
    /// Addresses to bind again until it works (a previous worker may still hold them
    /// during a reload).
    retry: Vec<SocketAddr>,
}

/// The address to reach a peer at: names are resolved now, `*` means this host.
fn target(address: &Address) -> Option<SocketAddr> {
    let port = address.port_number()?;
    match &address.host {
        Host::Ip(ip) => Some(SocketAddr::new(*ip, port)),
        Host::Any => Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)),
        Host::Name(name) => (name.as_str(), port).to_socket_addrs().ok()?.next(),
        Host::Path(_) | Host::Fd(_) => None,
    }
}

fn warn(text: &str) {
    use std::io::Write;
    // One write, so that the line is not split among other output.
    let line = format!("[WARNING] (peers) : {text}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// Builds the sections of `model` that list the local peer, binding their sockets.
fn prepare(model: &Model, tables: &sluice_stick::Tables, local: &str) -> Vec<Prepared> {
    let mut out = Vec::new();
    for s in model.sections_of(SectionKind::Peers) {
        // The last of `disabled` and `enabled` decides.
        let disabled = s
            .statements
            .iter()
            .rev()
            .find(|st| matches!(st.keyword(), "disabled" | "enabled"))
            .is_some_and(|st| st.keyword() == "disabled");
        if disabled {
            continue;
        }
        // Plain TCP where the peers expect TLS would fail at best, and send the tables in
        // clear at worst: such a section is not synchronised.
        let tls = s.statements.iter().chain(&s.peer_lines).any(|st| {
            // Options follow the keyword, and the peer's name on `server`/`peer` lines.
            let options = match st.keyword() {
                "default-server" | "default-bind" | "bind" => 1,
                "server" | "peer" => 2,
                _ => return false,
            };
            st.words.iter().skip(options).any(|w| w.text == "ssl")
        });
        if tls {
            warn(&format!(
                "peers section '{}': TLS ('ssl') between peers is not supported; the section is not synchronised",
                s.name
            ));
            continue;
        }
        let Some(me) = s.endpoints.iter().find(|e| e.name == local) else {
            warn(&format!(
                "peers section '{}': no peer named '{local}' (the local peer, see -L); the section is not synchronised",
                s.name
            ));
            continue;
        };
        let mut remotes = Vec::new();
        for e in s.endpoints.iter().filter(|e| e.name != local) {
            match e.address.as_ref().and_then(target) {
                Some(address) => remotes.push(Remote {
                    name: e.name.clone(),
                    address,
                }),
                None => warn(&format!(
                    "peers section '{}': peer '{}' has no TCP address Sluice can connect to",
                    s.name, e.name
                )),
            }
        }
        let shared: Vec<(Arc<sluice_stick::Table>, String)> = tables
            .iter()
            .filter(|t| t.def().peers.as_deref() == Some(s.name.as_str()))
            .map(|t| {
                // HAProxy shares a `peers` section's table `<peers>/<name>` as `/<name>`.
                let name = match t.name().strip_prefix(&format!("{}/", s.name)) {
                    Some(rest) => format!("/{rest}"),
                    None => t.name().to_string(),
                };
                (t.clone(), name)
            })
            .collect();
        let mut addresses: Vec<&Address> = s.binds.iter().flat_map(|b| b.value.iter()).collect();
        if addresses.is_empty() {
            addresses.extend(me.address.as_ref());
        }
        let mut listeners = Vec::new();
        let mut retry = Vec::new();
        for address in addresses {
            let spec = BindSpec {
                key: format!("@peers|{}|{}", s.name, address.text),
                // No proxy: the socket gets the defaults of a `bind` without options.
                proxy: usize::MAX,
                bind: 0,
                address: address.clone(),
                port: address.port_number(),
                location: me.location,
            };
            match bind::open(model, &spec) {
                Ok(fd) => listeners.push(std::net::TcpListener::from(fd)),
                Err(d) => {
                    let again = match (&address.host, address.port_number()) {
                        (Host::Ip(ip), Some(port)) => Some(SocketAddr::new(*ip, port)),
                        (Host::Any, Some(port)) => {
                            Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port))
                        }
                        _ => None,
                    };
                    warn(&format!(
                        "peers section '{}': cannot listen on '{}' ({}){}",
                        s.name,
                        address.text,
                        d.os_error.as_deref().unwrap_or(d.message.as_str()),
                        if again.is_some() {
                            " (trying again every second)"
                        } else {
                            ""
                        }
                    ));
                    retry.extend(again);
                }
            }
        }
        out.push(Prepared {
            section: Section::new(s.name.clone(), local.to_string(), remotes, shared),
            listeners,
            retry,
        });
    }
    out
}

/// Starts the peers of `model` on a thread of their own, stopped by `stop`; `None` when no
/// `peers` section lists the local peer.
pub(crate) fn start(
    model: &Model,
    tables: &sluice_stick::Tables,
    stop: watch::Receiver<StopLevel>,
) -> io::Result<Option<JoinHandle<()>>> {
    let sections = prepare(model, tables, &local_peer_name());
    if sections.is_empty() {
        return Ok(None);
    }
    let handle = std::thread::Builder::new()
        .name("sluice-peers".into())
        .spawn(move || run(sections, stop))?;
    Ok(Some(handle))
}

fn run(sections: Vec<Prepared>, mut stop: watch::Receiver<StopLevel>) {
    crate::local_runtime::run_local(async move {
        for p in sections {
            tokio::task::spawn_local(p.section.clone().run_pusher());
            for l in p.listeners {
                match TcpListener::from_std(l) {
                    Ok(l) => {
                        tokio::task::spawn_local(accept_loop(p.section.clone(), l));
                    }
                    Err(e) => warn(&format!("peers section '{}': {e}", p.section.name)),
                }
            }
            for address in p.retry {
                tokio::task::spawn_local(bind_later(p.section.clone(), address));
            }
            for peer in 0..p.section.remotes.len() {
                tokio::task::spawn_local(connect_loop(p.section.clone(), peer));
            }
        }
        // A stopping worker leaves its peers at once (the next process learns from them).
        let _ = stop.wait_for(|l| *l >= StopLevel::Soft).await;
    });
}

async fn accept_loop(section: Arc<Section>, listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let section = section.clone();
                tokio::task::spawn_local(async move {
                    let mut stream = stream;
                    if let Ok((peer, hs)) = session::handshake_in(&section, &mut stream).await {
                        session::serve(section, peer, stream, hs).await;
                    }
                });
            }
            // Out of descriptors and the like: wait instead of spinning.
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Binds `address` once it is free (a reload's previous worker leaves it when it stops),
/// then accepts on it.
async fn bind_later(section: Arc<Section>, address: SocketAddr) {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        // tokio sets SO_REUSEADDR on listening sockets, as `bind` lines do.
        if let Ok(l) = TcpListener::bind(address).await {
            return accept_loop(section, l).await;
        }
    }
}

/// A small spread of the reconnection delays, so that two peers do not retry in step.
fn jitter() -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    Duration::from_millis(u64::from(nanos % 500))
}

/// Keeps a session with remote `peer`: connects when none is established (in either
/// direction), serves it, and tries again after [`RECONNECT`].
async fn connect_loop(section: Arc<Section>, peer: usize) {
    let Some(address) = section.remotes.get(peer).map(|r| r.address) else {
        return;
    };
    loop {
        if !section.is_connected(peer) {
            if let Ok(Ok(mut stream)) =
                tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address)).await
            {
                if let Ok(hs) = session::handshake_out(&section, peer, &mut stream).await {
                    session::serve(section.clone(), peer, stream, hs).await;
                }
            }
        }
        tokio::time::sleep(RECONNECT + jitter()).await;
    }
}
