//! `log-forward` sections: syslog received over UDP (`dgram-bind`), TCP or UNIX stream
//! sockets (`bind`, each message octet-counted or ended by a line feed, RFC 6587), parsed
//! (RFC 5424 or RFC 3164 header), and sent again to the section's `log` targets in each
//! target's format, keeping the message's priority, date, host, tag and pid.
//!
//! The sockets are opened by [`prepare`] with the rest of what a worker opens before its
//! chroot; the log service thread ([`super::service`]) receives on them.

// Diagnostics-free: a failure is an io::Error naming the section, as for log targets.

use super::target::{self, Header, Identity, Line, Meta, Sock, Spec};
use super::time::Cache;
use super::{word, Outputs};
use sluice_config::SectionKind;
use sluice_model::address::{Address, Family, Host, Port};
use sluice_model::log::LogLine;
use sluice_model::Model;
use socket2::{Domain, SockAddr, Socket, Type};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{FromRawFd, OwnedFd};
use std::time::{Duration, SystemTime};

/// A listening (or, for UDP, receiving) socket of a section.
#[derive(Debug)]
pub enum Listener {
    Udp(OwnedFd),
    Tcp(OwnedFd),
    Unix(OwnedFd),
}

/// `option host`: what becomes of the host field of forwarded messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostMode {
    Replace,
    Fill,
    Keep,
    Append,
}

/// One `log-forward` section, ready to run.
#[derive(Debug)]
pub struct Section {
    pub name: String,
    pub listeners: Vec<Listener>,
    pub specs: Vec<Spec>,
    /// `maxconn` (10 by default): stream connections served at once.
    pub maxconn: usize,
    /// `timeout client`: an idle stream connection is closed after it.
    pub timeout_client: Option<Duration>,
    /// `option assume-rfc6587-ntf`: stream messages always end with a line feed.
    pub assume_ntf: bool,
    /// `option dont-parse-log`: messages are relayed as received.
    pub dont_parse: bool,
    pub host_mode: HostMode,
    pub hostname: String,
    pub tag: String,
}

/// Opens the sockets of every `log-forward` section and resolves its targets.
pub fn prepare(model: &Model, outputs: &Outputs) -> io::Result<Vec<Section>> {
    let (hostname, tag, send_hostname) = super::host_and_tag(model);
    let g = &model.global;
    let mut out = Vec::new();
    for s in model.sections_of(SectionKind::LogForward) {
        let bad = |m: String| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("log-forward '{}' : {m}", s.name),
            )
        };
        let mut specs: Vec<Spec> = Vec::new();
        let mut maxconn = 10;
        let mut timeout_client = None;
        let mut assume_ntf = false;
        let mut dont_parse = false;
        let mut host_mode = HostMode::Fill;
        for st in &s.statements {
            match st.keyword() {
                "log" => match sluice_model::log::parse(st) {
                    Ok(LogLine::Target(t)) => {
                        let spec = Spec::resolve(&t, send_hostname, outputs)
                            .map_err(|e| bad(e.to_string()))?;
                        specs.push(spec);
                    }
                    Ok(LogLine::Global(_)) => {
                        for t in &g.logs {
                            specs.push(
                                Spec::resolve(t, send_hostname, outputs)
                                    .map_err(|e| bad(e.to_string()))?,
                            );
                        }
                    }
                    Ok(LogLine::Disable) => specs.clear(),
                    Err(_) => return Err(bad("invalid 'log' line".into())),
                },
                "maxconn" => {
                    maxconn = word(st, 1)
                        .and_then(|v| v.parse::<usize>().ok())
                        .ok_or_else(|| bad("'maxconn' needs a number".into()))?
                        .max(1);
                }
                "timeout" if word(st, 1) == Some("client") => {
                    let v = word(st, 2).unwrap_or("");
                    timeout_client = Some(
                        sluice_model::units::parse_time(v, sluice_model::units::TimeUnit::Millis)
                            .map_err(|_| bad(format!("invalid timeout '{v}'")))?
                            .duration,
                    )
                    .filter(|d| !d.is_zero());
                }
                "option" => match (word(st, 1), word(st, 2)) {
                    (Some("assume-rfc6587-ntf"), _) => assume_ntf = true,
                    (Some("dont-parse-log"), _) => dont_parse = true,
                    (Some("host"), Some(m)) => {
                        host_mode = match m {
                            "replace" => HostMode::Replace,
                            "fill" => HostMode::Fill,
                            "keep" => HostMode::Keep,
                            "append" => HostMode::Append,
                            _ => return Err(bad(format!("unknown 'option host' mode '{m}'"))),
                        }
                    }
                    _ => {}
                },
                _ => {}
            }
        }
        let mut listeners = Vec::new();
        for b in &s.binds {
            for a in &b.value {
                listeners.push(open(a).map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        format!(
                            "log-forward '{}' : cannot bind '{}' ({})",
                            s.name,
                            a.text,
                            sluice_config::diagnostic::os_reason(&e)
                        ),
                    )
                })?);
            }
        }
        out.push(Section {
            name: s.name.clone(),
            listeners,
            specs,
            maxconn,
            timeout_client,
            assume_ntf,
            dont_parse,
            host_mode,
            hostname: hostname.clone(),
            tag: tag.clone(),
        });
    }
    Ok(out)
}

/// Opens one `bind` / `dgram-bind` address (an inherited `fd@N` is adopted as it is).
fn open(a: &Address) -> io::Result<Listener> {
    if let Host::Fd(n) = a.host {
        let fd = i32::try_from(n).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
        let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
        // SAFETY: fstat only writes into `st`.
        if unsafe { libc::fstat(fd, st.as_mut_ptr()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the descriptor is open (fstat succeeded) and named by the configuration.
        let s = unsafe { Socket::from_raw_fd(fd) };
        s.set_nonblocking(true)?;
        s.set_cloexec(true)?;
        return match s.r#type()? {
            Type::DGRAM => Ok(Listener::Udp(s.into())),
            _ => {
                if !s.is_listener().unwrap_or(false) {
                    s.listen(1024)?;
                }
                let unix = s.local_addr().ok().is_some_and(|a| a.is_unix());
                Ok(if unix {
                    Listener::Unix(s.into())
                } else {
                    Listener::Tcp(s.into())
                })
            }
        };
    }
    match (&a.family, &a.host) {
        (Family::Unix, Host::Path(p)) => {
            remove_stale(p);
            let s = Socket::new(Domain::UNIX, Type::STREAM, None)?;
            s.set_nonblocking(true)?;
            s.set_cloexec(true)?;
            s.bind(&SockAddr::unix(p)?)?;
            s.listen(1024)?;
            Ok(Listener::Unix(s.into()))
        }
        (Family::Udp | Family::Inet | Family::Ipv4 | Family::Ipv6, host) => {
            let ip = match host {
                Host::Ip(ip) => *ip,
                Host::Any => IpAddr::from([0, 0, 0, 0]),
                _ => crate::listener::bind::ip_of(a)?,
            };
            let port = match a.port {
                Port::Single(p) => p,
                _ => return Err(io::Error::from_raw_os_error(libc::EINVAL)),
            };
            let sa = SocketAddr::new(ip, port);
            let datagram = a.family == Family::Udp;
            let ty = if datagram { Type::DGRAM } else { Type::STREAM };
            let s = Socket::new(Domain::for_address(sa), ty, None)?;
            s.set_nonblocking(true)?;
            s.set_cloexec(true)?;
            s.set_reuse_address(true)?;
            // A new worker binds while the old one still serves (reload).
            s.set_reuse_port(true)?;
            s.bind(&SockAddr::from(sa))?;
            if datagram {
                Ok(Listener::Udp(s.into()))
            } else {
                s.listen(1024)?;
                Ok(Listener::Tcp(s.into()))
            }
        }
        _ => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "address family not supported for syslog listeners",
        )),
    }
}

/// Removes a UNIX socket file nothing listens on any more.
fn remove_stale(path: &str) {
    use std::os::unix::fs::FileTypeExt;
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.file_type().is_socket() && std::os::unix::net::UnixStream::connect(path).is_err() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A received message, split into its header fields and its text.
#[derive(Debug, Default)]
pub struct Message<'a> {
    /// Facility * 8 + level, when the message starts with `<PRI>`.
    pub pri: Option<u8>,
    pub meta: Meta<'a>,
    pub text: &'a [u8],
}

fn field(v: &[u8]) -> Option<&[u8]> {
    (!v.is_empty() && v != b"-").then_some(v)
}

/// Splits `m` at the first space: the word and what follows it.
fn next_word(m: &[u8]) -> (&[u8], &[u8]) {
    match m.iter().position(|&c| c == b' ') {
        Some(i) => (
            m.get(..i).unwrap_or_default(),
            m.get(i + 1..).unwrap_or_default(),
        ),
        None => (m, &[]),
    }
}

/// Reads the header of a syslog message: RFC 5424 (`<PRI>1 TIMESTAMP HOST APP PROCID MSGID
/// SD MSG`), RFC 3164 (`<PRI>Mmm dd hh:mm:ss [HOST] TAG[PID]: MSG`), or only `<PRI>`.
pub fn parse(m: &[u8]) -> Message<'_> {
    let mut out = Message {
        text: m,
        ..Default::default()
    };
    let mut rest = m;
    if rest.first() == Some(&b'<') {
        if let Some(end) = rest.iter().take(5).position(|&c| c == b'>') {
            let digits = rest.get(1..end).unwrap_or_default();
            if let Some(p) = std::str::from_utf8(digits)
                .ok()
                .and_then(|d| d.parse::<u16>().ok())
                .filter(|p| *p < 192)
            {
                out.pri = u8::try_from(p).ok();
                rest = rest.get(end + 1..).unwrap_or_default();
            }
        }
    }
    out.text = rest;
    if let Some(after) = rest.strip_prefix(b"1 ") {
        let (time, r) = next_word(after);
        let (host, r) = next_word(r);
        let (app, r) = next_word(r);
        let (pid, r) = next_word(r);
        let (msgid, r) = next_word(r);
        // Structured data: `-` or `[...]` elements; in their quoted values a `]` does not
        // close the element and a backslash escapes the next character.
        let sd_len = if r.first() == Some(&b'[') {
            let mut i = 0;
            let (mut inside, mut quoted, mut escaped) = (false, false, false);
            while let Some(&c) = r.get(i) {
                if escaped {
                    escaped = false;
                } else if quoted {
                    match c {
                        b'\\' => escaped = true,
                        b'"' => quoted = false,
                        _ => {}
                    }
                } else if inside {
                    match c {
                        b'"' => quoted = true,
                        b']' => inside = false,
                        _ => {}
                    }
                } else if c == b'[' {
                    inside = true;
                } else {
                    break;
                }
                i += 1;
            }
            i
        } else {
            r.iter().position(|&c| c == b' ').unwrap_or(r.len())
        };
        let sd = r.get(..sd_len).unwrap_or_default();
        let text = r.get(sd_len..).unwrap_or_default();
        out.meta = Meta {
            time_iso: field(time),
            host: field(host),
            tag: field(app),
            pid: field(pid),
            msgid: field(msgid),
            sd: field(sd),
            time3164: None,
        };
        out.text = text.strip_prefix(b" ").unwrap_or(text);
        return out;
    }
    if is_3164_date(rest) {
        out.meta.time3164 = rest.get(..15);
        let mut r = rest.get(16..).unwrap_or_default();
        // `host tag[pid]: ` or `tag[pid]: `: a first word that is not a tag is the host.
        let (first, after) = next_word(r);
        if !first.is_empty()
            && !looks_like_tag(first)
            && after
                .split(|&c| c == b' ')
                .next()
                .is_some_and(looks_like_tag)
        {
            out.meta.host = Some(first);
            r = after;
        }
        let (w, after) = next_word(r);
        if looks_like_tag(w) {
            let w = w.strip_suffix(b":").unwrap_or(w);
            match w.iter().position(|&c| c == b'[') {
                Some(i) => {
                    out.meta.tag = field(w.get(..i).unwrap_or_default());
                    out.meta.pid = w
                        .get(i + 1..)
                        .and_then(|p| p.strip_suffix(b"]"))
                        .and_then(field);
                }
                None => out.meta.tag = field(w),
            }
            out.text = after;
        } else {
            out.text = r;
        }
    }
    out
}

/// `tag:` or `tag[pid]:`.
fn looks_like_tag(w: &[u8]) -> bool {
    w.ends_with(b":") && w.len() > 1
}

/// `Mmm dd hh:mm:ss ` at the start.
fn is_3164_date(m: &[u8]) -> bool {
    m.len() > 16
        && m.get(..3)
            .is_some_and(|mon| mon.iter().all(u8::is_ascii_alphabetic))
        && m.get(3) == Some(&b' ')
        && m.get(9) == Some(&b':')
        && m.get(12) == Some(&b':')
        && m.get(15) == Some(&b' ')
}

/// Takes the complete messages at the start of `buf` (a stream's bytes): octet-counted
/// (`<len> <msg>`) or ended by a line feed (or a NUL). Returns the messages' ranges and how
/// many bytes they used; at the end of the stream (`eof`), what is left is one last message.
pub fn frames(buf: &[u8], assume_ntf: bool, eof: bool) -> (Vec<std::ops::Range<usize>>, usize) {
    let mut out = Vec::new();
    let mut at = 0;
    while at < buf.len() {
        let rest = buf.get(at..).unwrap_or_default();
        if !assume_ntf && rest.first().is_some_and(u8::is_ascii_digit) {
            let sp = rest.iter().take(10).position(|&c| c == b' ');
            match sp {
                Some(sp) => {
                    let len: usize = std::str::from_utf8(rest.get(..sp).unwrap_or_default())
                        .ok()
                        .and_then(|d| d.parse().ok())
                        .unwrap_or(0);
                    if rest.len() < sp + 1 + len {
                        break;
                    }
                    out.push(at + sp + 1..at + sp + 1 + len);
                    at += sp + 1 + len;
                    continue;
                }
                None if rest.len() < 10 && !eof => break,
                None => {}
            }
        }
        match rest.iter().position(|&c| c == b'\n' || c == 0) {
            Some(i) => {
                let end = if i > 0 && rest.get(i - 1) == Some(&b'\r') {
                    i - 1
                } else {
                    i
                };
                out.push(at..at + end);
                at += i + 1;
            }
            None if eof => {
                out.push(at..buf.len());
                at = buf.len();
            }
            None => break,
        }
    }
    (out, at)
}

/// A section's targets with this thread's sockets: sends the messages it receives.
pub struct Sender {
    specs: Vec<Spec>,
    socks: Vec<Sock>,
    host_mode: HostMode,
    dont_parse: bool,
    hostname: String,
    tag: String,
    clock: Cache,
    msg: Vec<u8>,
}

impl Sender {
    pub fn new(section: &Section) -> Sender {
        Sender {
            socks: section.specs.iter().map(Sock::new).collect(),
            specs: section.specs.clone(),
            host_mode: section.host_mode,
            dont_parse: section.dont_parse,
            hostname: section.hostname.clone(),
            tag: section.tag.clone(),
            clock: Cache::default(),
            msg: Vec::with_capacity(1024),
        }
    }

    /// Sends one received message (without its framing) from `peer` to every target.
    pub fn forward(&mut self, raw: &[u8], peer: Option<IpAddr>) {
        let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
        if raw.is_empty() {
            return;
        }
        let mut m = if self.dont_parse {
            Message {
                text: raw,
                ..Default::default()
            }
        } else {
            parse(raw)
        };
        let peer_text = peer.map(|ip| ip.to_string());
        let appended;
        match (self.host_mode, peer_text.as_deref(), m.meta.host) {
            (HostMode::Replace, Some(ip), _) | (HostMode::Fill, Some(ip), None) => {
                m.meta.host = Some(ip.as_bytes())
            }
            (HostMode::Append, Some(ip), Some(h)) => {
                appended = [h, b",", ip.as_bytes()].concat();
                m.meta.host = Some(&appended);
            }
            (HostMode::Append, Some(ip), None) => m.meta.host = Some(ip.as_bytes()),
            _ => {}
        }
        let id = Identity {
            tag: &self.tag,
            pid: std::process::id(),
            hostname: &self.hostname,
            sd: None,
        };
        let (level, facility) = match m.pri {
            Some(p) => (p & 7, Some(p >> 3)),
            None => (target::INFO, None),
        };
        let meta = (!self.dont_parse).then_some(m.meta);
        let line = Line {
            level,
            facility,
            now: SystemTime::now(),
            id: &id,
            meta: meta.as_ref(),
            body: if self.dont_parse { raw } else { m.text },
        };
        for (spec, sock) in self.specs.iter().zip(self.socks.iter_mut()) {
            // A raw relay keeps the message whole, header included.
            if self.dont_parse && spec.header != Header::Raw {
                let raw_spec = Spec {
                    header: Header::Raw,
                    ..spec.clone()
                };
                target::deliver(&raw_spec, sock, &line, &mut self.msg, &mut self.clock);
                continue;
            }
            target::deliver(spec, sock, &line, &mut self.msg, &mut self.clock);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rfc5424_and_rfc3164_headers() {
        let m = parse(b"<134>1 2026-10-06T00:00:00Z host app 42 ID7 [a b=\"]\\]\"] first message");
        assert_eq!(m.pri, Some(134));
        assert_eq!(m.meta.host, Some(&b"host"[..]));
        assert_eq!(m.meta.tag, Some(&b"app"[..]));
        assert_eq!(m.meta.pid, Some(&b"42"[..]));
        assert_eq!(m.meta.sd, Some(&b"[a b=\"]\\]\"]"[..]));
        assert_eq!(m.text, b"first message");
        let m = parse(b"<134>1 2026-10-06T00:00:00Z host app - - - first message");
        assert_eq!(m.meta.pid, None);
        assert_eq!(m.text, b"first message");
        let m = parse(b"<133>Oct  6 00:00:00 haproxy[12]: GET / HTTP/1.1");
        assert_eq!(m.pri, Some(133));
        assert_eq!(m.meta.host, None);
        assert_eq!(m.meta.tag, Some(&b"haproxy"[..]));
        assert_eq!(m.meta.pid, Some(&b"12"[..]));
        assert_eq!(m.text, b"GET / HTTP/1.1");
        let m = parse(b"<133>Oct  6 00:00:00 lb1 haproxy: hello");
        assert_eq!(m.meta.host, Some(&b"lb1"[..]));
        assert_eq!(m.meta.tag, Some(&b"haproxy"[..]));
        assert_eq!(m.text, b"hello");
        let m = parse(b"no header at all");
        assert_eq!(m.pri, None);
        assert_eq!(m.text, b"no header at all");
    }

    #[test]
    fn splits_octet_counted_and_line_feed_frames() {
        let buf = b"5 hello3 abcline one\nline two\r\npart";
        let (f, used) = frames(buf, false, false);
        let got: Vec<&[u8]> = f.iter().map(|r| &buf[r.clone()]).collect();
        assert_eq!(got, vec![&b"hello"[..], b"abc", b"line one", b"line two"]);
        assert_eq!(&buf[used..], b"part");
        let (f, used) = frames(b"part", false, true);
        assert_eq!(f, vec![0..4]);
        assert_eq!(used, 4);
        // With assume-rfc6587-ntf a leading digit is text.
        let (f, _) = frames(b"5 apples\n", true, false);
        assert_eq!(f, vec![0..8]);
    }
}
