//! Rings (`ring` sections): in-memory buffers of log events. `log ring@name` writes into
//! one, `show events <name>` on the runtime API dumps it, and each `server` line of the ring
//! receives a copy of every event over TCP (or a UNIX stream socket), LF-terminated
//! (`log-proto legacy`, the default) or octet-counted (`log-proto octet-count`, RFC 6587).
//!
//! A ring is written from any worker thread under its own short lock (one copy of the
//! event); its servers are fed by the log service thread ([`super::service`]), each with its
//! own cursor, so that a slow server never blocks the writers: the oldest events are
//! overwritten when the ring is full, and a server that falls behind skips them.

use super::target::Header;
use sluice_config::SectionKind;
use sluice_model::address::{self, Family, Host, Port, Use};
use sluice_model::Model;
use std::collections::VecDeque;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// HAProxy's default ring size (BUFSIZE).
const DEFAULT_SIZE: usize = 16384;

/// How a ring server frames events on its stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// Each event followed by a line feed (`log-proto legacy`).
    LineFeed,
    /// `<length> <event>` (`log-proto octet-count`, RFC 6587 octet counting).
    OctetCount,
}

/// Where a ring server is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Peer {
    Tcp(SocketAddr),
    Unix(String),
}

/// A `server` line of a ring (or the implicit server of a TCP log target).
#[derive(Clone, Debug)]
pub struct RingServer {
    pub name: String,
    pub peer: Peer,
    pub framing: Framing,
}

/// The events, oldest first, each with its sequence number.
#[derive(Debug, Default)]
struct Events {
    queue: VecDeque<(u64, Box<[u8]>)>,
    bytes: usize,
    next: u64,
}

/// One ring.
#[derive(Debug)]
pub struct Ring {
    pub name: String,
    pub description: String,
    /// The header events get (`format`, `raw` by default).
    pub header: Header,
    /// Longest event, header included (`maxlen`).
    pub maxlen: usize,
    size: usize,
    events: Mutex<Events>,
    /// Wakes the servers' forwarders when an event arrives.
    pub(crate) arrived: tokio::sync::Notify,
    pub servers: Vec<RingServer>,
    pub timeout_connect: Duration,
    pub timeout_server: Option<Duration>,
}

impl Ring {
    /// An empty ring.
    pub fn new(name: &str, header: Header, size: usize, maxlen: usize) -> Ring {
        Ring {
            name: name.to_string(),
            description: name.to_string(),
            header,
            maxlen,
            size: size.max(1),
            events: Mutex::new(Events::default()),
            arrived: tokio::sync::Notify::new(),
            servers: Vec::new(),
            timeout_connect: Duration::from_secs(5),
            timeout_server: None,
        }
    }

    /// The ring of a `ring` section.
    fn from_section(
        section: &sluice_model::sections::OtherSection,
        send_hostname: bool,
    ) -> io::Result<Ring> {
        let bad = |m: String| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("ring '{}' : {m}", section.name),
            )
        };
        let mut ring = Ring::new(&section.name, Header::Raw, DEFAULT_SIZE, usize::MAX);
        let _ = send_hostname;
        let mut maxlen = None;
        for s in &section.statements {
            let w = |i: usize| s.words.get(i).map(|w| w.text.as_str());
            match s.keyword() {
                "description" => {
                    ring.description = s
                        .words
                        .iter()
                        .skip(1)
                        .map(|w| w.text.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                }
                "format" => {
                    let v = w(1).unwrap_or("");
                    ring.header =
                        Header::parse(v).ok_or_else(|| bad(format!("unknown format '{v}'")))?;
                }
                "size" => {
                    let v = w(1).unwrap_or("");
                    let n = sluice_model::units::parse_size(v)
                        .map_err(|_| bad(format!("invalid size '{v}'")))?;
                    ring.size = usize::try_from(n).unwrap_or(usize::MAX).max(1);
                }
                "maxlen" => {
                    let v = w(1).unwrap_or("");
                    maxlen = Some(
                        v.parse::<usize>()
                            .map_err(|_| bad(format!("invalid maxlen '{v}'")))?,
                    );
                }
                "timeout" => {
                    let v = w(2).unwrap_or("");
                    let d =
                        sluice_model::units::parse_time(v, sluice_model::units::TimeUnit::Millis)
                            .map_err(|_| bad(format!("invalid timeout '{v}'")))?
                            .duration;
                    match w(1) {
                        Some("connect") => ring.timeout_connect = d,
                        Some("server") => ring.timeout_server = Some(d),
                        _ => {}
                    }
                }
                "server" => {
                    let name = w(1).unwrap_or("");
                    let text = w(2).unwrap_or("");
                    let peer = peer_of(text).map_err(|e| bad(format!("server '{name}': {e}")))?;
                    let framing = match s
                        .words
                        .iter()
                        .position(|x| x.text == "log-proto")
                        .and_then(|i| s.words.get(i + 1))
                        .map(|x| x.text.as_str())
                    {
                        Some("octet-count") => Framing::OctetCount,
                        _ => Framing::LineFeed,
                    };
                    ring.servers.push(RingServer {
                        name: name.to_string(),
                        peer,
                        framing,
                    });
                }
                _ => {}
            }
        }
        // An event never exceeds the ring (HAProxy caps `maxlen` the same way).
        ring.maxlen = maxlen.unwrap_or(ring.size).min(ring.size);
        Ok(ring)
    }

    /// Appends one event (truncated to `maxlen`), dropping the oldest ones to make room.
    pub fn write(&self, event: &[u8]) {
        let event = event.get(..self.maxlen.min(event.len())).unwrap_or(event);
        if let Ok(mut e) = self.events.lock() {
            while e.bytes + event.len() > self.size {
                match e.queue.pop_front() {
                    Some((_, old)) => e.bytes -= old.len(),
                    None => break,
                }
            }
            let seq = e.next;
            e.next += 1;
            e.bytes += event.len();
            e.queue.push_back((seq, event.into()));
        }
        self.arrived.notify_waiters();
    }

    /// Calls `f` on each event from sequence number `from` on (or from the oldest still
    /// kept); returns the sequence number after the last one seen.
    pub fn read_from(&self, from: u64, f: &mut dyn FnMut(&[u8]) -> bool) -> u64 {
        let Ok(e) = self.events.lock() else {
            return from;
        };
        let mut next = from;
        for (seq, ev) in e.queue.iter().filter(|(s, _)| *s >= from) {
            if !f(ev) {
                break;
            }
            next = seq + 1;
        }
        next.max(from)
    }

    /// Copies of every event kept, oldest first.
    pub fn snapshot(&self) -> Vec<Box<[u8]>> {
        self.events
            .lock()
            .map(|e| e.queue.iter().map(|(_, v)| v.clone()).collect())
            .unwrap_or_default()
    }
}

/// The address of a ring (or TCP log) server: TCP host:port or a UNIX stream socket.
pub fn peer_of(text: &str) -> Result<Peer, String> {
    let a = address::parse(text, Use::Target).map_err(|e| e.message)?;
    match (&a.family, &a.host) {
        (Family::Unix, Host::Path(p)) => Ok(Peer::Unix(p.clone())),
        (Family::Inet | Family::Ipv4 | Family::Ipv6, host) => {
            let port = match a.port {
                Port::Single(p) => p,
                _ => 514,
            };
            let addr = match host {
                Host::Ip(ip) => SocketAddr::new(*ip, port),
                Host::Any => SocketAddr::from(([127, 0, 0, 1], port)),
                Host::Name(n) => (n.as_str(), port)
                    .to_socket_addrs()
                    .map_err(|e| format!("cannot resolve '{n}' ({e})"))?
                    .next()
                    .ok_or_else(|| format!("no address for '{n}'"))?,
                _ => return Err(format!("'{text}' is not a stream address")),
            };
            Ok(Peer::Tcp(addr))
        }
        _ => Err(format!(
            "'{text}' is not supported: use host:port or a UNIX socket path"
        )),
    }
}

/// Every `ring` section of `model`.
pub fn build_all(model: &Model) -> io::Result<Vec<Arc<Ring>>> {
    let send_hostname = model
        .global
        .other
        .iter()
        .any(|s| s.keyword() == "log-send-hostname");
    model
        .sections_of(SectionKind::Ring)
        .map(|s| Ring::from_section(s, send_hostname).map(Arc::new))
        .collect()
}

/// Turns the bytes of an event into what `show events -s` prints: control characters and
/// bytes above 126 become `?`, a tab a space, so that one event stays one line and nothing
/// reaches the operator's terminal as an escape sequence.
pub fn sanitize(event: &[u8], out: &mut Vec<u8>) {
    out.extend(event.iter().map(|&c| match c {
        b'\t' => b' ',
        32..=126 => c,
        _ => b'?',
    }));
}

/// `show events [<ring>] [-w] [-n] [-0] [-s]` (without waiting: the events kept now).
pub fn show_events(rings: &[Arc<Ring>], args: &[&str]) -> String {
    let name = args.iter().find(|a| !a.starts_with('-'));
    let nul = args.contains(&"-0");
    let sane = args.contains(&"-s");
    let Some(name) = name else {
        let mut out = String::from("event sinks:\n");
        out.push_str("  buf0\n  stdout\n  stderr\n");
        for r in rings {
            out.push_str(&format!("  {} : {}\n", r.name, r.description));
        }
        return out;
    };
    let Some(ring) = rings.iter().find(|r| r.name == *name) else {
        return format!("No such event sink '{name}'\n");
    };
    let mut out = Vec::new();
    for ev in ring.snapshot() {
        if sane {
            sanitize(&ev, &mut out);
        } else {
            out.extend_from_slice(&ev);
        }
        out.push(if nul { 0 } else { b'\n' });
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_ring_drops_its_oldest_events() {
        let r = Ring::new("r", Header::Raw, 10, 8);
        r.write(b"aaaa");
        r.write(b"bbbb");
        r.write(b"cccc");
        let kept: Vec<Vec<u8>> = r.snapshot().into_iter().map(|e| e.to_vec()).collect();
        assert_eq!(kept, vec![b"bbbb".to_vec(), b"cccc".to_vec()]);
        r.write(b"0123456789");
        assert_eq!(&*r.snapshot()[0], b"01234567", "truncated to maxlen");
        let mut seen = Vec::new();
        let next = r.read_from(0, &mut |e| {
            seen.push(e.to_vec());
            true
        });
        assert_eq!(next, 4);
        assert_eq!(seen.len(), 1);
    }

    #[test]
    fn sanitized_events_stay_on_one_line() {
        let mut out = Vec::new();
        sanitize(b"A\x1b[2J\nB\tC\xc3", &mut out);
        assert_eq!(out, b"A?[2J?B C?");
    }
}
