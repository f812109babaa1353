//! Log backends: a `backend` in `mode log` whose servers are syslog servers (`udp@host:port`
//! for datagrams, `tcp@host:port` or a plain address for octet-counted TCP), which a
//! `log backend@<name>` line spreads its lines over with the backend's `balance`:
//! `roundrobin` (the default), `random`, `log-hash <converters>` (the converters applied to
//! the line's text give the key, hashed with `hash-type`) or `sticky` (the first usable
//! server keeps every line until it goes away). Backup servers take the lines when no other
//! server is usable. Servers that the runtime API disables (`disable server be/s1`) or that
//! checks mark down are skipped: their state is the one the worker's [`Plan`] keeps.

use super::ring::{Framing, Peer, Ring, RingServer};
use super::target::Header;
use crate::plan::Plan;
use sluice_model::address::{Family, Host, Port};
use sluice_model::proxy::balance::Algorithm;
use sluice_model::{Mode, Model, Proxy};
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// Where one server of a log backend gets its lines.
#[derive(Debug)]
enum Dest {
    Udp(SocketAddr),
    /// TCP: an implicit ring whose one server is this one.
    Stream(Arc<Ring>),
}

#[derive(Debug)]
struct LogServer {
    dest: Dest,
    backup: bool,
    disabled: bool,
}

/// How a server is chosen.
#[derive(Debug)]
enum Choice {
    RoundRobin,
    Random,
    Sticky,
    Hash {
        key: sluice_rules::SampleExpr,
        hash: sluice_balance::HashType,
    },
}

/// One `mode log` backend.
pub struct LogBackend {
    pub name: String,
    /// Index of the proxy in the model (and in the plan's backends).
    pub proxy: usize,
    servers: Vec<LogServer>,
    choice: Choice,
    turn: AtomicUsize,
    v4: Option<UdpSocket>,
    v6: Option<UdpSocket>,
    /// Server states (set when the worker's plan exists).
    plan: OnceLock<Arc<Plan>>,
}

impl std::fmt::Debug for LogBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogBackend")
            .field("name", &self.name)
            .field("servers", &self.servers)
            .field("choice", &self.choice)
            .finish()
    }
}

/// The variable the `log-hash` converters read the line from.
const KEY_VAR: &str = "txn.log_line";

impl LogBackend {
    /// The log backend of `proxy` (in `mode log`). Stream servers get implicit rings,
    /// added to `rings` so that the log service feeds them.
    pub fn build(
        model: &Model,
        proxy: &Proxy,
        index: usize,
        rings: &mut Vec<Arc<Ring>>,
    ) -> io::Result<LogBackend> {
        let bad = |m: String| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("backend '{}' : {m}", proxy.name),
            )
        };
        let mut servers = Vec::new();
        for s in &proxy.servers {
            let a = &s.address;
            let port = match a.port {
                Port::Single(p) => p,
                _ => 514,
            };
            let datagram = a.family == Family::Udp;
            let dest = match (&a.family, &a.host) {
                (Family::Unix, Host::Path(p)) if !datagram => {
                    Dest::Stream(Arc::new(implicit(&s.name, Peer::Unix(p.clone()))))
                }
                (_, Host::Ip(ip)) if datagram => Dest::Udp(SocketAddr::new(*ip, port)),
                (_, Host::Ip(ip)) => Dest::Stream(Arc::new(implicit(
                    &s.name,
                    Peer::Tcp(SocketAddr::new(*ip, port)),
                ))),
                _ => {
                    let peer = super::ring::peer_of(a.text.trim_start_matches("udp@"))
                        .map_err(|e| bad(format!("server '{}': {e}", s.name)))?;
                    match peer {
                        Peer::Tcp(sa) if datagram => Dest::Udp(sa),
                        p => Dest::Stream(Arc::new(implicit(&s.name, p))),
                    }
                }
            };
            if let Dest::Stream(r) = &dest {
                rings.push(r.clone());
            }
            servers.push(LogServer {
                dest,
                backup: s.options.backup,
                disabled: s.options.disabled,
            });
        }
        let hash_type = proxy
            .other
            .iter()
            .rev()
            .find(|s| s.keyword() == "hash-type")
            .and_then(|ht| {
                let args: Vec<&str> = ht.words.iter().skip(1).map(|w| w.text.as_str()).collect();
                sluice_balance::parse_hash_type(&args).ok()
            })
            .unwrap_or_default();
        let choice = match proxy.balance.as_ref().map(|b| &b.algorithm) {
            None | Some(Algorithm::RoundRobin | Algorithm::StaticRr) => Choice::RoundRobin,
            Some(Algorithm::Random(_)) => Choice::Random,
            Some(Algorithm::Sticky) => Choice::Sticky,
            Some(Algorithm::LogHash(convs)) => {
                let text = format!("var({KEY_VAR}),{convs}");
                let key = sluice_rules::compile_sample(
                    model,
                    proxy,
                    &text,
                    sluice_rules::sample::Place::Any,
                )
                .map_err(|e| bad(format!("balance log-hash: {e}")))?;
                Choice::Hash {
                    key,
                    hash: hash_type,
                }
            }
            Some(other) => {
                return Err(bad(format!(
                    "balance {other:?} does not apply to a log backend: use roundrobin, random, log-hash or sticky"
                )))
            }
        };
        let socket = |any: SocketAddr| {
            UdpSocket::bind(any).ok().inspect(|s| {
                let _ = s.set_nonblocking(true);
            })
        };
        Ok(LogBackend {
            name: proxy.name.clone(),
            proxy: index,
            servers,
            choice,
            turn: AtomicUsize::new(0),
            v4: socket(SocketAddr::from(([0, 0, 0, 0], 0))),
            v6: socket(SocketAddr::from(([0u16; 8], 0))),
            plan: OnceLock::new(),
        })
    }

    /// Gives the backend the worker's plan, where its servers' states are.
    pub fn attach(&self, plan: Arc<Plan>) {
        let _ = self.plan.set(plan);
    }

    fn usable(&self, i: usize) -> bool {
        match self
            .plan
            .get()
            .and_then(|p| p.backend(self.proxy))
            .and_then(|b| b.servers.get(i))
        {
            Some(s) => s.health.usable(),
            None => self.servers.get(i).is_some_and(|s| !s.disabled),
        }
    }

    fn change_seq(&self, i: usize) -> u64 {
        self.plan
            .get()
            .and_then(|p| p.backend(self.proxy))
            .and_then(|b| b.servers.get(i))
            .map_or(0, |s| s.health.change_seq())
    }

    /// The servers that may take a line now: the usable active ones, else the first usable
    /// backup.
    fn candidates(&self) -> Vec<usize> {
        let active: Vec<usize> = (0..self.servers.len())
            .filter(|&i| self.servers.get(i).is_some_and(|s| !s.backup) && self.usable(i))
            .collect();
        if !active.is_empty() {
            return active;
        }
        (0..self.servers.len())
            .filter(|&i| self.servers.get(i).is_some_and(|s| s.backup) && self.usable(i))
            .take(1)
            .collect()
    }

    fn choose(&self, body: &[u8]) -> Option<usize> {
        let c = self.candidates();
        if c.is_empty() {
            return None;
        }
        let n = c.len();
        let pick = match &self.choice {
            Choice::RoundRobin => self.turn.fetch_add(1, Ordering::Relaxed) % n,
            Choice::Random => random() % n,
            Choice::Sticky => {
                // The server usable the longest keeps the lines: a server that comes back
                // goes behind those that stayed.
                return c.iter().copied().min_by_key(|&i| (self.change_seq(i), i));
            }
            Choice::Hash { key, hash } => {
                let mut vars = sluice_rules::message::Vars::default();
                vars.set(KEY_VAR, sluice_rules::sample::Value::str(body));
                let conn = sluice_rules::message::NoConnection;
                let mut src = sluice_rules::message::Stream::tcp(&conn);
                src.vars = Some(&vars);
                let mut bytes = Vec::new();
                if let Some(v) = key.eval(&src) {
                    v.write_to(&mut bytes);
                }
                usize::try_from(hash.hash(&bytes)).unwrap_or(0) % n
            }
        };
        c.get(pick).copied()
    }

    /// Sends one message (`msg`: header and text, the text from `body_at`) to the server
    /// the balance chooses. `false`: no server usable, or the send failed.
    pub fn send(&self, msg: &mut Vec<u8>, body_at: usize) -> bool {
        let body = msg.get(body_at..).unwrap_or_default();
        let Some(i) = self.choose(body) else {
            return false;
        };
        match self.servers.get(i).map(|s| &s.dest) {
            Some(Dest::Udp(addr)) => {
                msg.push(b'\n');
                let sock = if addr.is_ipv4() { &self.v4 } else { &self.v6 };
                let sent = sock.as_ref().is_some_and(|s| s.send_to(msg, addr).is_ok());
                msg.pop();
                sent
            }
            Some(Dest::Stream(ring)) => {
                ring.write(msg);
                true
            }
            None => false,
        }
    }
}

/// The ring of one stream server: it keeps the lines the server has not taken yet.
fn implicit(name: &str, peer: Peer) -> Ring {
    let mut r = Ring::new(name, Header::Raw, 1 << 20, 65535);
    r.servers.push(RingServer {
        name: name.to_string(),
        peer,
        framing: Framing::OctetCount,
    });
    r
}

/// A cheap pseudo-random number (balancing, not security).
fn random() -> usize {
    use std::cell::Cell;
    thread_local! {
        static STATE: Cell<u64> = Cell::new(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0x9e37_79b9, |d| d.as_nanos() as u64)
                | 1,
        );
    }
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        (x >> 16) as usize
    })
}

/// Every `mode log` backend of `model`, by proxy index.
pub fn build_all(model: &Model, rings: &mut Vec<Arc<Ring>>) -> io::Result<Vec<Arc<LogBackend>>> {
    let mut out = Vec::new();
    for (i, p) in model.proxies.iter().enumerate() {
        if p.kind.is_backend() && !p.disabled && p.mode() == Mode::Log {
            out.push(Arc::new(LogBackend::build(model, p, i, rings)?));
        }
    }
    Ok(out)
}
