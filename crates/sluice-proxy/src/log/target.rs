//! Log targets (`log <target> [len N] [format F] <facility> [level [minlevel]]`): where a
//! line goes and the syslog header it gets. Each worker thread has its own sockets, opened
//! lazily; a send never blocks (a full socket drops the line and counts it).

use sluice_model::address::{Family, Host, Port};
use sluice_model::log::{LogDestination, LogTarget};
use std::io;
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use super::backend::LogBackend;
use super::ring::Ring;
use super::time::{self, Cache};
use super::Outputs;
use std::sync::Arc;

/// The 24 facilities, by code.
pub const FACILITIES: &[&str] = &[
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "auth2",
    "ftp", "ntp", "audit", "alert", "cron2", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
];
/// The 8 levels, by code.
pub const LEVELS: &[&str] = &[
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];
pub const INFO: u8 = 6;
pub const ERR: u8 = 3;

/// The syslog header of a target (`format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Header {
    /// `<PRI>Mmm dd hh:mm:ss tag[pid]: ` (HAProxy's default, RFC3164 without host name).
    Local,
    /// `<PRI>Mmm dd hh:mm:ss host tag[pid]: `.
    Rfc3164,
    /// `<PRI>1 2009-02-06T12:12:51.443123+01:00 host tag pid - - `.
    Rfc5424,
    /// `<PRI>`.
    Priority,
    /// `<level>`.
    Short,
    /// `<level>` then the ISO date.
    Timed,
    /// The ISO date.
    Iso,
    /// Nothing.
    Raw,
}

impl Header {
    pub fn parse(s: &str) -> Option<Header> {
        Some(match s {
            "local" => Header::Local,
            "rfc3164" => Header::Rfc3164,
            "rfc5424" => Header::Rfc5424,
            "priority" => Header::Priority,
            "short" => Header::Short,
            "timed" => Header::Timed,
            "iso" => Header::Iso,
            "raw" => Header::Raw,
            _ => return None,
        })
    }
}

/// Where lines go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dest {
    Udp(SocketAddr),
    /// A UNIX datagram socket, connected lazily (inside the chroot when there is one).
    Unix(PathBuf),
    /// stdout / stderr / `fd@N`.
    Fd(i32),
    /// `ring@name`, or the implicit ring of a TCP syslog server (`tcp@host:port`).
    Ring(Shared<Ring>),
    /// `backend@name`: a `mode log` backend.
    Backend(Shared<LogBackend>),
}

/// A ring or log backend named by several `log` lines: equal when it is the same one.
#[derive(Debug)]
pub struct Shared<T>(pub Arc<T>);

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared(self.0.clone())
    }
}

impl<T> PartialEq for Shared<T> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl<T> Eq for Shared<T> {}

/// One resolved `log` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    pub dest: Dest,
    pub header: Header,
    pub facility: u8,
    /// Lines less important than this are not sent.
    pub level: u8,
    /// Lines more important than this are sent at this level.
    pub min_level: Option<u8>,
    /// Maximum line length, header and line feed included.
    pub len: usize,
    /// `sample <ranges>:<size>`: which lines of each run of `size` this target takes.
    pub sample: Option<Sample>,
    /// `profile <name>`: the log profile the line follows.
    pub profile: Option<String>,
}

/// `sample <ranges>:<size>`: lines are numbered 1 to `size` in turn, and only those in the
/// ranges are sent, to spread logs over several servers or thin them out.
#[derive(Clone, Debug)]
pub struct Sample {
    ranges: Vec<(u64, u64)>,
    size: u64,
    /// Lines offered so far (all threads).
    seen: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl PartialEq for Sample {
    /// Each `log` line counts its own lines: two sampled targets are never merged.
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.seen, &other.seen)
    }
}

impl Eq for Sample {}

impl Sample {
    /// Reads `<ranges>:<size>` (`1,3-4:5`).
    pub fn parse(v: &str) -> Result<Sample, String> {
        let bad = || format!("log: sample '{v}' is not '<ranges>:<size>' (for example '1,3-4:5')");
        let (ranges, size) = v.rsplit_once(':').ok_or_else(bad)?;
        let size: u64 = size.parse().ok().filter(|n| *n > 0).ok_or_else(bad)?;
        let mut out = Vec::new();
        for r in ranges.split(',') {
            let (a, b) = r.split_once('-').unwrap_or((r, r));
            let (a, b): (u64, u64) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
            if a == 0 || b < a || b > size {
                return Err(format!(
                    "log: sample range '{r}' must lie within 1..{size} (the sample size)"
                ));
            }
            out.push((a, b));
        }
        Ok(Sample {
            ranges: out,
            size,
            seen: std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0)),
        })
    }

    /// Counts one more line; whether this target sends it.
    pub fn takes_next(&self) -> bool {
        let n = self.seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % self.size + 1;
        self.ranges.iter().any(|&(a, b)| (a..=b).contains(&n))
    }
}

impl Spec {
    /// Resolves a model target. `send_hostname`: `log-send-hostname` is set, which makes
    /// `rfc3164` the default header.
    pub fn resolve(t: &LogTarget, send_hostname: bool, outputs: &Outputs) -> io::Result<Spec> {
        let bad = |m: String| io::Error::new(io::ErrorKind::InvalidInput, m);
        let format_word = t
            .settings
            .iter()
            .rev()
            .find_map(|s| s.strip_prefix("format "));
        let dest = match &t.destination {
            LogDestination::Stream(s) => match s.as_str() {
                "stdout" | "fd@1" => Dest::Fd(1),
                _ => Dest::Fd(2),
            },
            LogDestination::Ring(name) => match outputs.ring(name) {
                Some(r) => Dest::Ring(Shared(r)),
                None => {
                    return Err(bad(format!(
                        "log ring@{name}: no ring section named '{name}'"
                    )))
                }
            },
            LogDestination::Backend(name) => match outputs.backend(name) {
                Some(b) => Dest::Backend(Shared(b)),
                None => {
                    return Err(bad(format!(
                        "log backend@{name}: no backend named '{name}' in 'mode log'"
                    )))
                }
            },
            // Stream syslog (`tcp@`, `uxst@`): an implicit ring whose one server gets the
            // lines octet-counted, as HAProxy does.
            LogDestination::Address(a) if is_stream(&a.text) => {
                let header = match format_word {
                    Some(f) => Header::parse(f).ok_or_else(|| bad(format!("log: unknown format '{f}'")))?,
                    None if send_hostname => Header::Rfc3164,
                    None => Header::Local,
                };
                Dest::Ring(Shared(outputs.stream_target(&a.text, header).map_err(bad)?))
            }
            LogDestination::Address(a) => match (&a.family, &a.host) {
                (Family::Unix, Host::Path(p)) => Dest::Unix(PathBuf::from(p)),
                (Family::Fd, Host::Fd(n)) => Dest::Fd(i32::try_from(*n).unwrap_or(2)),
                (Family::Inet | Family::Ipv4 | Family::Ipv6 | Family::Udp, host) => {
                    let port = match a.port {
                        Port::Single(p) => p,
                        _ => 514,
                    };
                    let addr = match host {
                        Host::Ip(ip) => SocketAddr::new(*ip, port),
                        Host::Name(n) => (n.as_str(), port)
                            .to_socket_addrs()?
                            .next()
                            .ok_or_else(|| bad(format!("log {}: no address", a.text)))?,
                        _ => {
                            return Err(bad(format!(
                                "log {}: a syslog server needs an address",
                                a.text
                            )))
                        }
                    };
                    Dest::Udp(addr)
                }
                _ => {
                    return Err(bad(format!(
                        "log {}: only UDP, UNIX datagram and stdout/stderr targets are supported by Sluice",
                        a.text
                    )))
                }
            },
        };
        let mut header = if send_hostname {
            Header::Rfc3164
        } else {
            Header::Local
        };
        let mut len = 1024;
        let mut sample = None;
        let mut profile = None;
        for s in &t.settings {
            let (k, v) = s.split_once(' ').unwrap_or((s.as_str(), ""));
            match k {
                "format" => {
                    header =
                        Header::parse(v).ok_or_else(|| bad(format!("log: unknown format '{v}'")))?
                }
                "len" => {
                    len = v
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (80..=65535).contains(n))
                        .ok_or_else(|| bad(format!("log: len '{v}' is not within 80..65535")))?
                }
                "sample" => sample = Some(Sample::parse(v).map_err(bad)?),
                "profile" => profile = Some(v.to_string()),
                _ => {}
            }
        }
        let level_of = |l: &Option<String>| {
            l.as_deref()
                .and_then(|l| LEVELS.iter().position(|x| *x == l))
                .map(|i| i as u8)
        };
        Ok(Spec {
            dest,
            header,
            facility: FACILITIES
                .iter()
                .position(|f| *f == t.facility)
                .map_or(16, |i| i as u8),
            level: level_of(&t.level).unwrap_or(7),
            min_level: level_of(&t.min_level),
            len,
            sample,
            profile,
        })
    }
}

/// What goes into headers.
pub struct Identity<'a> {
    pub tag: &'a str,
    pub pid: u32,
    pub hostname: &'a str,
    /// RFC 5424 structured data (a log profile's `sd`).
    pub sd: Option<&'a [u8]>,
}

/// The header fields of a message received by a `log-forward` section, which replace the
/// process's own (`None`: the field was absent).
#[derive(Clone, Copy, Debug, Default)]
pub struct Meta<'a> {
    /// `Mmm dd hh:mm:ss` (RFC 3164).
    pub time3164: Option<&'a [u8]>,
    /// RFC 5424's timestamp (ISO 8601).
    pub time_iso: Option<&'a [u8]>,
    pub host: Option<&'a [u8]>,
    pub tag: Option<&'a [u8]>,
    pub pid: Option<&'a [u8]>,
    pub msgid: Option<&'a [u8]>,
    pub sd: Option<&'a [u8]>,
}

/// Writes the header of `spec` for a line at `level` into `out` (cleared first).
pub fn header(
    out: &mut Vec<u8>,
    spec: &Spec,
    level: u8,
    now: SystemTime,
    id: &Identity<'_>,
    clock: &mut Cache,
) {
    write_header(out, spec.header, spec.facility, level, now, id, None, clock);
}

/// Writes a `format` header into `out` (cleared first); `meta` (forwarded messages) replaces
/// the date, host, tag and pid of the process.
#[allow(clippy::too_many_arguments)]
pub fn write_header(
    out: &mut Vec<u8>,
    format: Header,
    facility: u8,
    level: u8,
    now: SystemTime,
    id: &Identity<'_>,
    meta: Option<&Meta<'_>>,
    clock: &mut Cache,
) {
    use std::io::Write;
    out.clear();
    let pri = u32::from(facility) * 8 + u32::from(level);
    let (secs, micros) = time::split(now);
    match format {
        Header::Local | Header::Rfc3164 => {
            let _ = write!(out, "<{pri}>");
            match meta.and_then(|m| m.time3164) {
                Some(t) => out.extend_from_slice(t),
                None => time::rfc3164(out, &clock.local(secs)),
            }
            out.push(b' ');
            if format == Header::Rfc3164 {
                let host = meta.and_then(|m| m.host).unwrap_or(id.hostname.as_bytes());
                if !host.is_empty() {
                    out.extend_from_slice(host);
                    out.push(b' ');
                }
            }
            match meta {
                None => {
                    let _ = write!(out, "{}[{}]: ", id.tag, id.pid);
                }
                Some(m) => {
                    if let Some(tag) = m.tag {
                        out.extend_from_slice(tag);
                        if let Some(pid) = m.pid {
                            out.push(b'[');
                            out.extend_from_slice(pid);
                            out.push(b']');
                        }
                        out.extend_from_slice(b": ");
                    }
                }
            }
        }
        Header::Rfc5424 => {
            let _ = write!(out, "<{pri}>1 ");
            match meta.and_then(|m| m.time_iso) {
                Some(t) => out.extend_from_slice(t),
                None => time::iso(out, &clock.local(secs), micros),
            }
            out.push(b' ');
            let dash = |v: Option<&[u8]>, out: &mut Vec<u8>| match v {
                Some(v) if !v.is_empty() => out.extend_from_slice(v),
                _ => out.push(b'-'),
            };
            match meta {
                None => {
                    dash(Some(id.hostname.as_bytes()), out);
                    let _ = write!(out, " {} {} - ", id.tag, id.pid);
                    dash(id.sd, out);
                    out.push(b' ');
                }
                Some(m) => {
                    dash(m.host, out);
                    for v in [m.tag, m.pid, m.msgid, m.sd] {
                        out.push(b' ');
                        dash(v, out);
                    }
                    out.push(b' ');
                }
            }
        }
        Header::Priority => {
            let _ = write!(out, "<{pri}>");
        }
        Header::Short => {
            let _ = write!(out, "<{level}>");
        }
        Header::Timed => {
            let _ = write!(out, "<{level}>");
            time::iso(out, &clock.local(secs), micros);
            out.push(b' ');
        }
        Header::Iso => {
            time::iso(out, &clock.local(secs), micros);
            out.push(b' ');
        }
        Header::Raw => {}
    }
}

/// One line to deliver: its level, its facility when it brings one (forwarded messages),
/// its header fields and its text.
pub struct Line<'a> {
    pub level: u8,
    pub facility: Option<u8>,
    pub now: SystemTime,
    pub id: &'a Identity<'a>,
    pub meta: Option<&'a Meta<'a>>,
    pub body: &'a [u8],
}

/// Sends `line` to the target `spec` (through `sock`, this thread's socket for it): its
/// header (a ring's own `format` for a ring), the text cut to the target's length, a line
/// feed for datagram and stream targets. `None`: the target does not take this line (level,
/// `sample`); else whether it was sent (`false`: dropped).
pub fn deliver(
    spec: &Spec,
    sock: &mut Sock,
    line: &Line<'_>,
    msg: &mut Vec<u8>,
    clock: &mut Cache,
) -> Option<bool> {
    if line.level > spec.level || spec.sample.as_ref().is_some_and(|s| !s.takes_next()) {
        return None;
    }
    let level = spec.min_level.map_or(line.level, |m| line.level.max(m));
    let facility = line.facility.unwrap_or(spec.facility);
    let cut = |msg: &mut Vec<u8>, len: usize| {
        let room = len.saturating_sub(msg.len());
        msg.extend_from_slice(
            line.body
                .get(..room.min(line.body.len()))
                .unwrap_or_default(),
        );
    };
    match &spec.dest {
        Dest::Ring(r) => {
            let ring = &r.0;
            write_header(
                msg,
                ring.header,
                facility,
                level,
                line.now,
                line.id,
                line.meta,
                clock,
            );
            cut(msg, spec.len.min(ring.maxlen));
            ring.write(msg);
            Some(true)
        }
        Dest::Backend(b) => {
            write_header(
                msg,
                spec.header,
                facility,
                level,
                line.now,
                line.id,
                line.meta,
                clock,
            );
            let head = msg.len();
            cut(msg, spec.len.saturating_sub(1));
            let body_at = head;
            Some(b.0.send(msg, body_at))
        }
        _ => {
            write_header(
                msg,
                spec.header,
                facility,
                level,
                line.now,
                line.id,
                line.meta,
                clock,
            );
            // Truncate to `len`, the line feed included.
            cut(msg, spec.len.saturating_sub(1));
            msg.push(b'\n');
            Some(sock.send(spec, msg))
        }
    }
}

/// Whether a log address is stream syslog (`tcp@`, `uxst@`...), which goes through an
/// implicit ring.
fn is_stream(text: &str) -> bool {
    let t = text.strip_prefix("stream+").unwrap_or(text);
    ["tcp@", "tcp4@", "tcp6@", "uxst@"]
        .iter()
        .any(|p| t.starts_with(p))
        || text.starts_with("stream+")
}

/// A thread's socket for one target.
pub enum Sock {
    /// A ring or a log backend: shared by the threads, no socket of its own.
    Shared,
    Udp(Option<UdpSocket>),
    Unix {
        sock: Option<UnixDatagram>,
        /// The last failed connection attempt (retried at most once a second).
        failed: Option<Instant>,
    },
    Fd {
        fd: i32,
        /// `send(MSG_DONTWAIT)` works (a socket); else plain `write`.
        socket: bool,
    },
}

impl Sock {
    pub fn new(spec: &Spec) -> Sock {
        match &spec.dest {
            Dest::Udp(addr) => {
                let bind: SocketAddr = if addr.is_ipv4() {
                    ([0, 0, 0, 0], 0).into()
                } else {
                    ([0u16; 8], 0).into()
                };
                let s = UdpSocket::bind(bind).ok();
                if let Some(s) = &s {
                    let _ = s.set_nonblocking(true);
                }
                Sock::Udp(s)
            }
            Dest::Unix(_) => Sock::Unix {
                sock: None,
                failed: None,
            },
            Dest::Fd(fd) => Sock::Fd {
                fd: *fd,
                socket: true,
            },
            Dest::Ring(_) | Dest::Backend(_) => Sock::Shared,
        }
    }

    /// Sends one message without blocking. `Ok(false)`: dropped (full or unreachable).
    pub fn send(&mut self, spec: &Spec, msg: &[u8]) -> bool {
        match (self, &spec.dest) {
            (Sock::Udp(Some(s)), Dest::Udp(addr)) => s.send_to(msg, addr).is_ok(),
            (Sock::Unix { sock, failed }, Dest::Unix(path)) => {
                if sock.is_none() {
                    if failed.is_some_and(|f| f.elapsed() < Duration::from_secs(1)) {
                        return false;
                    }
                    match UnixDatagram::unbound().and_then(|s| {
                        s.set_nonblocking(true)?;
                        s.connect(path)?;
                        Ok(s)
                    }) {
                        Ok(s) => {
                            *sock = Some(s);
                            *failed = None;
                        }
                        Err(_) => {
                            *failed = Some(Instant::now());
                            return false;
                        }
                    }
                }
                let Some(s) = sock.as_ref() else {
                    return false;
                };
                match s.send(msg) {
                    Ok(_) => true,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => false,
                    Err(_) => {
                        // The syslog daemon went away (restart): reconnect next time.
                        *sock = None;
                        false
                    }
                }
            }
            (Sock::Fd { fd, socket }, Dest::Fd(_)) => {
                if *socket {
                    // SAFETY: `msg` is a valid buffer for the call; the fd is the process's.
                    let n = unsafe {
                        libc::send(
                            *fd,
                            msg.as_ptr().cast(),
                            msg.len(),
                            libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
                        )
                    };
                    if n >= 0 {
                        return true;
                    }
                    if io::Error::last_os_error().raw_os_error() != Some(libc::ENOTSOCK) {
                        return false;
                    }
                    *socket = false;
                }
                // A pipe, terminal or file: one write per line (atomic up to PIPE_BUF).
                // SAFETY: as above.
                let n = unsafe { libc::write(*fd, msg.as_ptr().cast(), msg.len()) };
                n >= 0
            }
            _ => false,
        }
    }

    /// The socket's fd, for tests.
    pub fn raw_fd(&self) -> Option<i32> {
        match self {
            Sock::Udp(Some(s)) => Some(s.as_raw_fd()),
            Sock::Unix { sock: Some(s), .. } => Some(s.as_raw_fd()),
            Sock::Fd { fd, .. } => Some(*fd),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn spec(header: Header) -> Spec {
        Spec {
            dest: Dest::Fd(1),
            header,
            facility: 16,
            level: 7,
            min_level: None,
            len: 1024,
            sample: None,
            profile: None,
        }
    }

    #[test]
    fn sampling_takes_the_ranges_of_each_run() {
        let s = Sample::parse("1,3-4:5").expect("a sample");
        let taken: Vec<bool> = (0..10).map(|_| s.takes_next()).collect();
        assert_eq!(
            taken,
            [true, false, true, true, false, true, false, true, true, false]
        );
        // Two `log` lines never share a count, even when written alike.
        assert_ne!(s, Sample::parse("1,3-4:5").expect("a sample"));
        for bad in ["1,3", "0:5", "2-1:5", "6:5", "1:0", "x:5"] {
            assert!(Sample::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn headers() {
        let id = Identity {
            tag: "haproxy",
            pid: 14389,
            hostname: "lb1",
            sd: None,
        };
        let at = UNIX_EPOCH + Duration::from_micros(1_233_922_454_655_123);
        let mut clock = Cache::default();
        let mut out = Vec::new();
        let tm = clock.local(1_233_922_454);
        let mut date = Vec::new();
        time::rfc3164(&mut date, &tm);
        let date = String::from_utf8_lossy(&date).into_owned();
        header(&mut out, &spec(Header::Local), 6, at, &id, &mut clock);
        assert_eq!(
            String::from_utf8_lossy(&out),
            format!("<134>{date} haproxy[14389]: ")
        );
        header(&mut out, &spec(Header::Rfc3164), 6, at, &id, &mut clock);
        assert_eq!(
            String::from_utf8_lossy(&out),
            format!("<134>{date} lb1 haproxy[14389]: ")
        );
        header(&mut out, &spec(Header::Rfc5424), 3, at, &id, &mut clock);
        let s = String::from_utf8_lossy(&out).into_owned();
        assert!(s.starts_with("<131>1 2009-02-"), "{s}");
        assert!(s.ends_with(" lb1 haproxy 14389 - - "), "{s}");
        assert!(s.contains(".655123"), "{s}");
        header(&mut out, &spec(Header::Short), 6, at, &id, &mut clock);
        assert_eq!(out, b"<6>");
        header(&mut out, &spec(Header::Priority), 6, at, &id, &mut clock);
        assert_eq!(out, b"<134>");
        header(&mut out, &spec(Header::Raw), 6, at, &id, &mut clock);
        assert!(out.is_empty());
    }
}
