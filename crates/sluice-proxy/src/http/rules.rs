//! Where rules plug into an HTTP exchange: the request stage (frontend `http-request` rules
//! and `redirect` lines, `use_backend`, the backend's `http-request` rules, `use-server`),
//! the response stage (backend then frontend `http-response` rules, then
//! `http-after-response`), and the responses Sluice generates itself.
//!
//! A proxy without rules has no [`ProxyRules`] in the plan; the session then never calls
//! in here (no transaction, no allocation): routing is [`route_static`].

use crate::backend::connect::{Acquired, Own};
use crate::error::Error;
use crate::errors::Pages;
use crate::frontend::Frontend;
use crate::http::forwarded::{self, ForwardedIn};
use crate::http::head::{self, Edits, Msg};
use crate::plan::{Plan, ProxyRules};
use crate::stream::{Addrs, Ctx};
use sluice_http::{Parsed, RequestHead, ResponseHead};
use sluice_rules::{
    Backend as Target, CaptureLayout, Connection, Reply, Stream, Txn, UniqueId, Verdict,
};
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// The backend (proxy index) for a request or connection of `fe` without rules:
/// `use_backend` lines without a condition (in order), then `default_backend`.
#[inline]
pub fn route_static(fe: &Frontend) -> Option<usize> {
    fe.routes
        .iter()
        .find(|r| !r.conditional)
        .map(|r| r.backend)
        .or(fe.default_backend)
}

/// Whether an exchange on `fe` routed (statically) to `be` has any rule to evaluate.
#[inline]
pub fn needed(plan: &Plan, fe: usize, be: Option<usize>) -> bool {
    let any = |p: usize| plan.rules(p).is_some() || plan.stats.page(p).is_some();
    any(fe) || be.is_some_and(any)
}

/// What fetches see of the stream: addresses, proxies, servers and their state, and the
/// bytes buffered so far (payload fetches).
#[derive(Clone, Copy)]
pub struct Conn<'a> {
    pub plan: &'a Plan,
    /// The stream's addresses (`src`, `dst`), after the session's rules.
    pub addrs: Addrs,
    /// The client connection's addresses (`fc_src`, `fc_dst`), after `tcp-request
    /// connection` rules.
    pub fc: Addrs,
    /// Frontend proxy index.
    pub fe: usize,
    /// Backend chosen so far.
    pub be: Option<usize>,
    /// Server chosen so far (position in the backend).
    pub srv: Option<usize>,
    /// Request bytes buffered (content inspection, `req.payload`, `req.ssl_sni`).
    pub payload: Option<&'a [u8]>,
    /// The client connection's TLS handshake (`ssl_fc*`); `None` in plaintext.
    pub tls: Option<&'a crate::tls::TlsInfo>,
    /// The exchange is the first of its client connection (`http_first_req`).
    pub first_req: bool,
    /// Whether the server connection was reused (`bc_reused`), once there is one.
    pub bc_reused: Option<bool>,
    /// The client socket's descriptor and bind line (`fc_rtt`..., `so_name`).
    pub socket: crate::stream::Socket,
    /// The request's unique ID slot (`unique-id-format`).
    pub uid: Option<&'a UniqueId>,
    /// The TLVs of the PROXY v2 header the client connection started with (`fc_pp_tlv`...);
    /// empty without one.
    pub proxy_tlvs: &'a [u8],
    /// Buffer contents and bodies (content inspection, `wait-for-body`).
    pub contents: Contents<'a>,
    /// The client connection's meter: its dates (`accept_date`, `request_date`) and
    /// whether a PROXY header started it (`fc_rcvd_proxy`).
    pub meter: Option<&'a crate::stream::log::Meter>,
    /// The connection to the server, once there is one (`bc_src`...), and its socket
    /// (`bc_rtt`...).
    pub bc: Option<(sluice_rules::BackendConnection, Option<std::os::fd::RawFd>)>,
    /// What happened to the stream so far (`when()`).
    pub events: sluice_rules::StreamEvents,
    /// The stream's instants once the server answered (`res.timer.hdr`...).
    pub timing: Option<crate::stream::log::Timing>,
    /// The status the server sent (`server_status`).
    pub server_status: Option<u16>,
    /// The algorithm compressing the response (`res.comp`, `res.comp_algo`).
    pub response_compression: Option<&'static str>,
    /// The client connection's HTTP major version on the wire (`fc_http_major`).
    pub http_major: i64,
}

/// Milliseconds from `from` to `to`.
fn ms_between(from: std::time::Instant, to: std::time::Instant) -> i64 {
    i64::try_from(to.saturating_duration_since(from).as_millis()).unwrap_or(i64::MAX)
}

/// What fetches see of a connection to a server.
pub fn backend_connection(
    stream: &crate::tls::connector::ServerStream,
) -> (sluice_rules::BackendConnection, Option<std::os::fd::RawFd>) {
    use std::os::fd::AsRawFd;
    let tcp = stream.tcp();
    // The addresses are read from the socket when a fetch asks (`bc_src`...): two system
    // calls per request otherwise.
    let conn = sluice_rules::BackendConnection {
        src: None,
        dst: None,
        http_major: if matches!(stream, crate::tls::connector::ServerStream::H2(_)) {
            2
        } else {
            1
        },
        // Requests are not counted as they wait: none is reported ahead of this one.
        be_queue: 0,
        srv_queue: 0,
    };
    (conn, tcp.map(|t| t.as_raw_fd()))
}

/// What content inspection and body buffering give the rules to read.
#[derive(Clone, Copy, Debug)]
pub struct Contents<'a> {
    /// Response bytes buffered (`tcp-response content`: `res.payload`, `res.len`).
    pub res_payload: Option<&'a [u8]>,
    /// The rules run on the response (the unprefixed `payload` reads it).
    pub on_response: bool,
    /// No more bytes can come for the rules (see `Connection::contents_final`).
    pub final_: bool,
    /// The request body received, without chunk framing, and its announced length.
    pub req_body: Option<(&'a [u8], Option<u64>)>,
    /// The response body received, and its announced length.
    pub res_body: Option<(&'a [u8], Option<u64>)>,
    /// Bytes of the message the rules run on in its buffer (head and body so far), for
    /// the room rewrites have (`Connection::rewrite_room`); 0 when not known.
    pub buffered: usize,
    /// A raw TCP stream (`Connection::raw_stream`).
    pub raw_stream: bool,
    /// On a raw TCP stream, an HTTP request head still coming
    /// (`Connection::request_head_pending`).
    pub request_head_pending: bool,
}

impl Default for Contents<'_> {
    fn default() -> Self {
        Contents {
            res_payload: None,
            on_response: false,
            final_: true,
            req_body: None,
            res_body: None,
            buffered: 0,
            raw_stream: false,
            request_head_pending: false,
        }
    }
}

impl<'a> Conn<'a> {
    /// The stream of a client connection of frontend `fe`.
    pub fn new(plan: &'a Plan, fe: usize, addrs: Addrs) -> Self {
        Conn {
            plan,
            addrs,
            fc: addrs,
            fe,
            be: None,
            srv: None,
            payload: None,
            tls: None,
            first_req: true,
            bc_reused: None,
            socket: crate::stream::Socket::default(),
            uid: None,
            proxy_tlvs: &[],
            contents: Contents::default(),
            meter: None,
            bc: None,
            events: sluice_rules::StreamEvents::default(),
            timing: None,
            server_status: None,
            response_compression: None,
            http_major: 1,
        }
    }

    fn backend_idx(&self, name: Option<&str>) -> Option<usize> {
        match name {
            Some(n) => self.plan.backend_names.get(n).copied(),
            None => self.be,
        }
    }
}

/// HAProxy numbers proxies and servers from 1 in declaration order unless `id` says so.
fn id_of(i: usize) -> Option<i64> {
    i64::try_from(i + 1).ok()
}

impl Connection for Conn<'_> {
    fn unique_id_source(&self) -> Option<(&UniqueId, &sluice_rules::LogFormat)> {
        Some((self.uid?, &self.plan.unique_id(self.fe)?.format))
    }
    fn ssl_fc(&self) -> bool {
        self.tls.is_some()
    }
    fn ssl_sni(&self) -> Option<&[u8]> {
        self.tls?.sni.as_deref()
    }
    fn ssl_alpn(&self) -> Option<&[u8]> {
        self.tls?.alpn.as_deref()
    }
    fn proxy_tlvs(&self) -> Option<&[u8]> {
        (!self.proxy_tlvs.is_empty()).then_some(self.proxy_tlvs)
    }
    fn fc_tcp_info(&self, field: sluice_rules::TcpInfoField) -> Option<i64> {
        crate::stream::ioutil::tcp_info(self.socket.fd?, field)
    }
    fn http_first_req(&self) -> Option<bool> {
        Some(self.first_req)
    }
    fn bc_reused(&self) -> Option<bool> {
        self.bc_reused
    }
    fn listener_name(&self) -> Option<&str> {
        let bind = usize::try_from(self.socket.bind?).ok()?;
        self.plan
            .frontend(self.fe)?
            .bind_names
            .get(bind)?
            .as_deref()
    }
    fn listener_id(&self) -> Option<i64> {
        // HAProxy numbers a proxy's listening sockets from 1 in declaration order.
        id_of(usize::try_from(self.socket.bind?).ok()?)
    }
    fn listener_conn(&self) -> Option<i64> {
        let bind = usize::try_from(self.socket.bind?).ok()?;
        let g = &self.plan.frontend(self.fe)?.gauges;
        Some(g.per_bind.get(bind)?.load(Ordering::Relaxed))
    }
    fn act_conn(&self) -> Option<i64> {
        Some(crate::gauges::act_conn())
    }
    fn stopping(&self) -> bool {
        crate::gauges::stopping()
    }
    fn fe_conn(&self) -> Option<i64> {
        Some(self.frontend_state(None)?.conn)
    }
    fn frontend_state(&self, name: Option<&str>) -> Option<sluice_rules::ProxyState> {
        let fe = match name {
            Some(n) => self.plan.frontends.iter().flatten().find(|f| f.name == n)?,
            None => self.plan.frontend(self.fe)?,
        };
        Some(sluice_rules::ProxyState {
            conn: fe.gauges.conn.load(Ordering::Relaxed),
            sess_rate: fe.gauges.sessions.per_second(),
            req_rate: fe.gauges.requests.per_second(),
            conn_free: None,
        })
    }
    fn backend_state(&self, name: Option<&str>) -> Option<sluice_rules::ProxyState> {
        let be = self.plan.backend(self.backend_idx(name)?)?;
        let mut conn: i64 = 0;
        let mut free: Option<i64> = Some(0);
        for (pos, s) in be.servers.iter().enumerate() {
            let used = i64::from(s.connections.load(Ordering::Relaxed));
            conn += used;
            if !s.health.usable() {
                continue;
            }
            let max = i64::from(be.queue.maxconn(pos));
            free = match (free, max) {
                (Some(f), m) if m > 0 => Some(f + (m - used).max(0)),
                _ => None,
            };
        }
        Some(sluice_rules::ProxyState {
            conn,
            sess_rate: be.gauges.sessions.per_second(),
            req_rate: 0,
            conn_free: free,
        })
    }
    fn server_state(
        &self,
        backend: Option<&str>,
        server: &str,
    ) -> Option<sluice_rules::ServerState> {
        let be_idx = self.backend_idx(backend)?;
        let be = self.plan.backend(be_idx)?;
        let pos = be.servers.iter().position(|s| s.name == server)?;
        let s = be.servers.get(pos)?;
        let weight = if s.health.usable() {
            i64::from(s.health.effective_weight())
        } else {
            0
        };
        Some(sluice_rules::ServerState {
            weight,
            iweight: i64::from(s.weight),
            uweight: i64::from(s.health.weight()),
            conn: i64::from(s.connections.load(Ordering::Relaxed)),
            maxconn: i64::from(be.queue.maxconn(pos)),
            queue: i64::try_from(be.queue.waiting_for(pos)).unwrap_or(i64::MAX),
            sess_rate: be.gauges.servers.get(pos).map_or(0, |r| r.per_second()),
        })
    }
    fn backend_connection(&self) -> Option<sluice_rules::BackendConnection> {
        let (mut c, fd) = self.bc?;
        if let Some(fd) = fd {
            c.src = crate::stream::ioutil::socket_addr(fd, false);
            c.dst = crate::stream::ioutil::socket_addr(fd, true);
        }
        Some(c)
    }
    fn bc_tcp_info(&self, field: sluice_rules::TcpInfoField) -> Option<i64> {
        crate::stream::ioutil::tcp_info(self.bc?.1?, field)
    }
    fn fc_glitches(&self) -> Option<i64> {
        Some(self.meter.map_or(0, |m| i64::from(m.glitches.get())))
    }
    fn fc_http_major(&self) -> Option<i64> {
        let fe = self.plan.frontend(self.fe)?;
        (fe.mode == sluice_model::Mode::Http).then_some(self.http_major)
    }
    fn fc_rcvd_proxy(&self) -> bool {
        self.meter.is_some_and(|m| m.proxied().is_some())
    }
    fn stream_dates(&self) -> Option<sluice_rules::StreamDates> {
        let m = self.meter?;
        let us = |at: std::time::Instant| {
            m.wall(at)
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        };
        let ready = m.ready.get();
        Some(sluice_rules::StreamDates {
            accept_us: us(ready),
            request_us: us(m.first_byte.get().unwrap_or(ready)),
        })
    }
    fn stream_events(&self) -> sluice_rules::StreamEvents {
        self.events
    }
    fn stream_timers(&self) -> sluice_rules::StreamTimers {
        let mut t = sluice_rules::StreamTimers::default();
        if let Some(m) = self.meter {
            let ready = m.ready.get();
            if let Some(first) = m.first_byte.get() {
                // Before the log's record has the head's instant, the rules run as the
                // head completes: now.
                let head = self
                    .timing
                    .and_then(|tm| tm.head_done)
                    .unwrap_or_else(std::time::Instant::now);
                let idle = ms_between(ready, first);
                let hdr = ms_between(first, head);
                let handshake = i64::from(m.handshake_us.get() / 1000);
                t.idle = Some(idle);
                t.request_head = Some(hdr);
                t.request_total = Some(handshake + idle + hdr);
            }
        }
        if let Some(tm) = self.timing {
            if let (Some(c), Some(r)) = (tm.connected, tm.response) {
                t.response_head = Some(ms_between(c, r));
            }
        }
        t
    }
    fn server_status(&self) -> Option<i64> {
        self.server_status.map(i64::from)
    }
    fn response_compression(&self) -> Option<&'static str> {
        self.response_compression
    }
    fn frontend_tarpit_timeout(&self) -> Option<Duration> {
        let tarpit = self.plan.rules(self.fe).and_then(|r| r.tarpit);
        Some(tarpit.unwrap_or(Duration::ZERO))
    }
    fn src(&self) -> Option<SocketAddr> {
        self.addrs.peer
    }
    fn dst(&self) -> Option<SocketAddr> {
        self.addrs.local
    }
    fn fc_src(&self) -> Option<SocketAddr> {
        self.fc.peer
    }
    fn fc_dst(&self) -> Option<SocketAddr> {
        self.fc.local
    }
    fn timeout(&self, kind: sluice_rules::TimeoutKind) -> Option<Duration> {
        self.plan.configured_timeout(self.fe, self.be, kind)
    }
    fn rewrite_room(&self) -> Option<usize> {
        // HAProxy reads a message into its buffer up to `tune.bufsize` minus
        // `tune.maxrewrite`; rewrites may use what is left of the buffer.
        let buffered = self.contents.buffered;
        (buffered > 0).then(|| {
            let read = buffered.min(self.plan.http.max_head_len);
            self.plan.bufsize.saturating_sub(read)
        })
    }
    fn max_retries(&self) -> Option<i64> {
        Some(i64::from(self.plan.backend(self.be?)?.retries))
    }
    fn frontend_name(&self) -> &str {
        self.plan.frontend(self.fe).map_or("", |f| f.name.as_str())
    }
    fn backend_name(&self) -> Option<&str> {
        Some(self.plan.backend(self.be?)?.name.as_str())
    }
    fn server_name(&self) -> Option<&str> {
        self.plan.backend(self.be?)?.server_name(self.srv?)
    }
    fn be_conn(&self, backend: Option<&str>) -> Option<i64> {
        let be = self.plan.backend(self.backend_idx(backend)?)?;
        let n: u64 = be
            .servers
            .iter()
            .map(|s| u64::from(s.connections.load(Ordering::Relaxed)))
            .sum();
        i64::try_from(n).ok()
    }
    fn nbsrv(&self, backend: &str) -> Option<i64> {
        let be = self.plan.backend(*self.plan.backend_names.get(backend)?)?;
        // Off the hot path: a fresh snapshot with the servers' current health.
        i64::try_from(crate::check::state::snapshot(be).candidates().len()).ok()
    }
    fn srv_is_up(&self, backend: &str, server: &str) -> Option<bool> {
        let be = self.plan.backend(*self.plan.backend_names.get(backend)?)?;
        let s = be.servers.iter().find(|s| s.name == server)?;
        Some(s.health.usable())
    }
    fn payload(&self) -> Option<&[u8]> {
        self.payload
    }
    fn res_payload(&self) -> Option<&[u8]> {
        self.contents.res_payload
    }
    fn on_response(&self) -> bool {
        self.contents.on_response
    }
    fn contents_final(&self) -> bool {
        self.contents.final_
    }
    fn raw_stream(&self) -> bool {
        self.contents.raw_stream
    }
    fn request_head_pending(&self) -> bool {
        self.contents.request_head_pending
    }
    fn req_body(&self) -> Option<&[u8]> {
        self.contents.req_body.map(|(b, _)| b)
    }
    fn req_body_size(&self) -> Option<u64> {
        self.contents.req_body.and_then(|(_, n)| n)
    }
    fn res_body(&self) -> Option<&[u8]> {
        self.contents.res_body.map(|(b, _)| b)
    }
    fn res_body_size(&self) -> Option<u64> {
        self.contents.res_body.and_then(|(_, n)| n)
    }
    fn frontend_id(&self) -> Option<i64> {
        match self.plan.frontend(self.fe).and_then(|f| f.id) {
            Some(id) => Some(id),
            None => id_of(self.fe),
        }
    }
    fn backend_id(&self) -> Option<i64> {
        let be = self.be?;
        match self.plan.backend(be).and_then(|b| b.id) {
            Some(id) => Some(id),
            None => id_of(be),
        }
    }
    fn server_id(&self) -> Option<i64> {
        id_of(self.srv?)
    }
    fn queue(&self, backend: Option<&str>) -> Option<i64> {
        let be = self.plan.backend(self.backend_idx(backend)?)?;
        i64::try_from(be.queue.waiting()).ok()
    }
    fn connslots(&self, backend: Option<&str>) -> Option<i64> {
        let be = self.plan.backend(self.backend_idx(backend)?)?;
        let mut free: i64 = 0;
        for (pos, s) in be.servers.iter().enumerate() {
            if !s.health.usable() {
                continue;
            }
            // A server without a connection or queue limit has no slots to count.
            if s.maxconn == 0 || s.maxqueue == 0 {
                return Some(-1);
            }
            let used = s.connections.load(Ordering::Relaxed);
            let waiting = u32::try_from(be.queue.waiting_for(pos)).unwrap_or(u32::MAX);
            free += i64::from(s.maxconn.saturating_sub(used));
            free += i64::from(s.maxqueue.saturating_sub(waiting));
        }
        Some(free)
    }
}

/// The request's unique ID once the request stage is done: made now when the frontend's
/// `unique-id-header` or its log line needs it (else only if a rule made it already), and
/// kept in `record` for the log line. Returns the header to add to the request.
#[allow(clippy::too_many_arguments)]
pub fn unique_id<'u>(
    plan: &'u Plan,
    fe: &Frontend,
    be: Option<usize>,
    input: &RequestIn<'u>,
    edits: Option<&mut Edits>,
    txn: &Txn,
    record: &mut crate::stream::log::Record,
) -> Option<(&'u str, &'u [u8])> {
    let conf = plan.unique_id(fe.index)?;
    let log = crate::log::wants_unique_id(fe.index);
    let reads = |i: usize| plan.rules(i).is_some_and(|r| r.compiled.reads_unique_id);
    // Response rules no longer see the request head: make the ID now for them too.
    let later = reads(fe.index) || be.is_some_and(reads);
    let id = if conf.header.is_some() || log || later {
        let mut own = Edits::default();
        let msg = Msg::request(input.req, input.buf, edits.unwrap_or(&mut own));
        let mut conn = Conn::new(plan, fe.index, input.addrs);
        conn.fc = input.fc;
        conn.tls = input.tls;
        conn.first_req = input.first;
        conn.socket = input.socket;
        conn.proxy_tlvs = input.proxy_tlvs;
        conn.meter = input.meter;
        conn.be = be;
        let src = Stream {
            conn: &conn,
            request: Some(&msg),
            response: None,
            vars: Some(&txn.vars),
            changes: Some(&txn.changes),
            captures: Some(&txn.captures),
        };
        input.uid.get_or_make(&conf.format, &src)?
    } else {
        input.uid.get()?
    };
    if log {
        crate::log::on_unique_id(record, id);
    }
    Some((conf.header.as_deref()?, id))
}

/// The capture slots of a frontend without rules.
static NO_CAPTURES: CaptureLayout = CaptureLayout {
    request: Vec::new(),
    response: Vec::new(),
    request_headers: Vec::new(),
    response_headers: Vec::new(),
};

/// What the request stage decided.
pub enum Decision {
    /// Go on to `backend`, on `server` when `use-server` forced one.
    Forward {
        backend: usize,
        server: Option<usize>,
    },
    /// Answer with a generated response (after-response rules applied); `close` when the
    /// connection must close after it.
    Respond { bytes: Vec<u8>, close: bool },
    /// Hold the connection for `delay`, then answer; `close` as for `Respond`.
    Tarpit {
        bytes: Vec<u8>,
        delay: Option<Duration>,
        close: bool,
    },
    /// Close without a response (`reject`, `silent-drop`).
    Close,
}

/// Per-request inputs of the request stage.
pub struct RequestIn<'a> {
    pub req: &'a RequestHead,
    pub buf: &'a [u8],
    pub addrs: Addrs,
    /// The client connection's own addresses (`fc_src`, `fc_dst`).
    pub fc: Addrs,
    /// The connection may stay open after a generated response (no body to skip, the
    /// client keeps alive).
    pub keep_alive: bool,
    /// The client connection's TLS handshake, `None` in plaintext.
    pub tls: Option<&'a crate::tls::TlsInfo>,
    /// The connection's first request.
    pub first: bool,
    /// The client socket's descriptor and bind line.
    pub socket: crate::stream::Socket,
    /// The request's unique ID slot.
    pub uid: &'a UniqueId,
    /// The TLVs of the PROXY v2 header the client connection started with.
    pub proxy_tlvs: &'a [u8],
    /// The body the rules waited for (`wait-for-body`), without chunk framing, and its
    /// announced length.
    pub body: Option<(&'a [u8], Option<u64>)>,
    /// The client connection's meter (dates, PROXY header).
    pub meter: Option<&'a crate::stream::log::Meter>,
    /// The client connection's HTTP major version on the wire.
    pub http_major: i64,
    /// The first request of a TCP stream switched to HTTP: its content rules already ran
    /// on the raw stream, and their transaction (variables, trackers) carries on.
    pub resumed: bool,
}

impl<'a> RequestIn<'a> {
    /// The inputs of a request parsed from `buf`, on `peers` (the stream's addresses and
    /// the client connection's own).
    pub fn new(
        req: &'a RequestHead,
        buf: &'a [u8],
        peers: (Addrs, Addrs),
        tls: Option<&'a crate::tls::TlsInfo>,
        first: bool,
        uid: &'a UniqueId,
    ) -> Self {
        RequestIn {
            req,
            buf,
            addrs: peers.0,
            fc: peers.1,
            keep_alive: false,
            tls,
            first,
            socket: crate::stream::Socket::default(),
            uid,
            proxy_tlvs: &[],
            body: None,
            meter: None,
            http_major: 1,
            resumed: false,
        }
    }
}

/// A redirect answer: `code`, `Location: location` and the `Set-Cookie` lines.
fn redirect_bytes(code: u16, location: &[u8], cookies: &[Vec<u8>]) -> Vec<u8> {
    let mut b = Vec::with_capacity(128 + location.len());
    let _ = write!(b, "HTTP/1.1 {code} ");
    b.extend_from_slice(head::reason(code));
    b.extend_from_slice(b"\r\ncontent-length: 0\r\nlocation: ");
    b.extend_from_slice(location);
    b.extend_from_slice(b"\r\n");
    for c in cookies {
        b.extend_from_slice(b"set-cookie: ");
        b.extend_from_slice(c);
        b.extend_from_slice(b"\r\n");
    }
    b.extend_from_slice(b"\r\n");
    b
}

/// Whether frontend `fe`'s `monitor fail` conditions hold for this request (the
/// `monitor-uri` answer is then 503 instead of 200).
pub fn monitor_fails(plan: &Plan, fe: usize, addrs: Addrs, req: &RequestHead, buf: &[u8]) -> bool {
    let Some(r) = plan
        .rules(fe)
        .filter(|r| !r.compiled.monitor_fail.is_empty())
    else {
        return false;
    };
    let mut edits = Edits::default();
    let msg = Msg::request(req, buf, &mut edits);
    let conn = Conn::new(plan, fe, addrs);
    r.compiled.monitor_fails(&Stream::request(&conn, &msg))
}

/// The statistics page of proxy `index`, when the request asks for it (after the proxy's
/// own rules, as HAProxy serves it).
fn stats_page(
    plan: &Plan,
    index: usize,
    input: &RequestIn<'_>,
    conn: &Conn<'_>,
    txn: &mut Txn,
) -> Option<Decision> {
    plan.stats.page(index)?;
    let target = input.req.target(input.buf);
    let authorization = input.req.header(input.buf, "authorization");
    let bytes = plan.stats.answer(index, target, authorization)?;
    let close = !input.keep_alive;
    // The statistics page is HAProxy's stats applet (`when(toapplet)`).
    let mut conn = *conn;
    conn.events.to_applet = true;
    Some(Decision::Respond {
        bytes: finish(plan, &conn, txn, bytes, close),
        close,
    })
}

/// Runs the request stage. `edits` and `txn` are the exchange's (cleared here).
pub fn request(
    plan: &Plan,
    fe: &Frontend,
    input: &RequestIn<'_>,
    edits: &mut Edits,
    txn: &mut Txn,
) -> Decision {
    if !input.resumed {
        txn.clear();
    }
    edits.clear();
    let fe_rules = plan.rules(fe.index);
    {
        // The frontend's capture slots, and the request line for the response side.
        let mut msg = Msg::request(input.req, input.buf, edits);
        msg.normalize_authority(input.req);
        let layout = fe_rules.map_or(&NO_CAPTURES, |r| &r.compiled.captures);
        txn.captures.start_request(layout, &msg);
    }
    let mut conn = Conn::new(plan, fe.index, input.addrs);
    conn.fc = input.fc;
    conn.tls = input.tls;
    conn.first_req = input.first;
    conn.socket = input.socket;
    conn.proxy_tlvs = input.proxy_tlvs;
    conn.uid = Some(input.uid);
    conn.contents.req_body = input.body;
    conn.contents.buffered = input.buf.len();
    conn.meter = input.meter;
    conn.http_major = input.http_major;
    // In HTTP mode `tcp-request content` rules run for each request, on its bytes.
    if let Some(r) = fe_rules.filter(|r| !r.compiled.tcp_content.is_empty() && !input.resumed) {
        conn.payload = Some(input.buf);
        // HTTP fetches read the request here too (`path`, `req.hdr`...).
        let msg = Msg::request(input.req, input.buf, edits);
        if matches!(
            r.compiled
                .tcp_content
                .run_tcp_on(&conn, Some((&msg, false)), txn),
            Verdict::Reject | Verdict::SilentDrop
        ) {
            return Decision::Close;
        }
        conn.payload = None;
    }
    crate::stick::on_http_request(txn);
    crate::stick::on_glitches(txn, input.meter);
    if let Some(r) = fe_rules {
        let mut msg = Msg::request(input.req, input.buf, edits);
        let mut v = r.compiled.run_http_request(&mut msg, &conn, txn);
        crate::stick::on_verdict(txn, &v);
        if matches!(v, Verdict::Continue | Verdict::Allow) && !r.restrict_hdr_names.apply(&mut msg)
        {
            v = restricted_name();
        }
        let pages = Pages::frontend(&fe.errors);
        if let Some(d) = final_decision(plan, r, pages, v, &conn, txn, input.keep_alive) {
            return d;
        }
    }
    if let Some(d) = stats_page(plan, fe.index, input, &conn, txn) {
        return d;
    }
    let backend = match fe_rules.filter(|r| r.routes) {
        Some(r) => {
            let msg = Msg::request(input.req, input.buf, edits);
            // A static rule naming a disabled backend gives way to the next rule.
            let usable = |n: &str| plan.backend_names.contains_key(n);
            let name = r.compiled.select_backend_usable(&msg, &conn, txn, usable);
            // An unknown dynamic name falls back to the default backend, as in HAProxy.
            let found = match &name {
                Some(Target::Static(n)) => plan.backend_names.get(*n).copied(),
                Some(Target::Dynamic(n)) => plan.backend_names.get(n.as_str()).copied(),
                None => None,
            };
            found.or(fe.default_backend)
        }
        None => route_static(fe),
    };
    let Some(be_idx) = backend.filter(|b| plan.backend(*b).is_some()) else {
        let page = page_bytes(Pages::frontend(&fe.errors), 503);
        return Decision::Respond {
            bytes: finish(plan, &conn, txn, page, true),
            close: true,
        };
    };
    conn.be = Some(be_idx);
    if be_idx != fe.index {
        // Entering another backend sets the stream's backend-side settings from it, as
        // HAProxy does: what the frontend's rules set for them is forgotten.
        txn.enter_backend();
    }
    let be_rules = plan.rules(be_idx);
    // A listen section's rules ran already as the frontend's. A backend's own
    // `tcp-request content` rules run when the stream enters it, before its HTTP rules.
    if let Some(r) = be_rules.filter(|r| be_idx != fe.index && !r.compiled.tcp_content.is_empty()) {
        conn.payload = Some(input.buf);
        // HTTP fetches read the request here too (`path`, `req.hdr`...).
        let msg = Msg::request(input.req, input.buf, edits);
        if matches!(
            r.compiled
                .tcp_content
                .run_tcp_on(&conn, Some((&msg, false)), txn),
            Verdict::Reject | Verdict::SilentDrop
        ) {
            return Decision::Close;
        }
        conn.payload = None;
    }
    if let Some(r) = be_rules.filter(|_| be_idx != fe.index) {
        let mut msg = Msg::request(input.req, input.buf, edits);
        let mut v = r.compiled.run_http_request(&mut msg, &conn, txn);
        crate::stick::on_verdict(txn, &v);
        if matches!(v, Verdict::Continue | Verdict::Allow) && !r.restrict_hdr_names.apply(&mut msg)
        {
            v = restricted_name();
        }
        let pages = Pages {
            own: plan.backend(be_idx).map_or(&fe.errors, |b| &b.errors),
            frontend: &fe.errors,
        };
        if let Some(d) = final_decision(plan, r, pages, v, &conn, txn, input.keep_alive) {
            return d;
        }
    }
    if be_idx != fe.index {
        if let Some(d) = stats_page(plan, be_idx, input, &conn, txn) {
            return d;
        }
    }
    // `option forwarded`: the header goes with the request as the rules left it.
    if let Some(f) = be_rules.and_then(|r| r.forwarded.as_ref()) {
        let mut msg = Msg::request(input.req, input.buf, edits);
        let (src, dst) = txn.changes.addrs(conn.src(), conn.dst());
        let io = ForwardedIn {
            tls: conn.tls.is_some(),
            src,
            dst,
        };
        let value = {
            let stream = Stream {
                conn: &conn,
                request: Some(&msg),
                response: None,
                vars: Some(&txn.vars),
                changes: Some(&txn.changes),
                captures: Some(&txn.captures),
            };
            f.value(&stream, &msg, &io)
        };
        forwarded::apply(&mut msg, &value);
    }
    let server = be_rules.filter(|r| r.use_server).and_then(|r| {
        let msg = Msg::request(input.req, input.buf, edits);
        let src = Stream {
            conn: &conn,
            request: Some(&msg),
            response: None,
            vars: Some(&txn.vars),
            changes: Some(&txn.changes),
            captures: Some(&txn.captures),
        };
        let name = r.compiled.select_server(&src)?;
        plan.backend(be_idx)?
            .servers
            .iter()
            .position(|s| s.name == name)
    });
    let server = match be_rules.filter(|r| !r.compiled.stick.is_empty()) {
        Some(r) => {
            let msg = Msg::request(input.req, input.buf, edits);
            crate::stick::persistence(plan, be_idx, &r.compiled.stick, &conn, &msg, txn, server)
        }
        None => server,
    };
    Decision::Forward {
        backend: be_idx,
        server,
    }
}

/// The response to a `deny` or `tarpit`, and whether the connection closes after it. As in
/// HAProxy, the client connection stays open when the request allows it, except after an
/// error file sent as written.
fn denial(
    pages: Pages<'_>,
    status: u16,
    reply: Option<&Reply>,
    keep_alive: bool,
) -> (Vec<u8>, bool) {
    let bytes = reply_bytes(pages, status, reply);
    let page = reply.filter(|r| !r.use_errorfile).is_none();
    let status = reply.map_or(status, |r| r.status);
    let raw = reply.is_some_and(|r| r.raw)
        || (page && pages.is_custom(status) && !pages.is_redirect(status));
    match (keep_alive && !raw, page) {
        (true, true) if pages.is_redirect(status) => (bytes, false),
        // A built-in page says `connection: close`; not this time.
        (true, true) => (without_close(&bytes), false),
        (true, false) => (bytes, false),
        (false, true) if pages.is_redirect(status) => (crate::errors::with_close(&bytes), true),
        (false, _) => (bytes, true),
    }
}

/// `bytes` without the `connection: close` line of its head.
pub fn without_close(bytes: &[u8]) -> Vec<u8> {
    const LINE: &[u8] = b"\r\nconnection: close\r\n";
    let head_end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(bytes.len());
    match bytes
        .get(..head_end + 2)
        .and_then(|head| head.windows(LINE.len()).position(|w| w == LINE))
    {
        Some(at) => {
            let mut out = Vec::with_capacity(bytes.len());
            out.extend_from_slice(&bytes[..at + 2]);
            out.extend_from_slice(&bytes[at + LINE.len()..]);
            out
        }
        None => bytes.to_vec(),
    }
}

/// The answer to a request with a header name `option http-restrict-req-hdr-names reject`
/// refuses.
fn restricted_name() -> Verdict {
    Verdict::Deny {
        status: 403,
        reply: None,
    }
}

/// Turns a final verdict into a decision; `None` to go on.
#[allow(clippy::too_many_arguments)]
fn final_decision(
    plan: &Plan,
    rules: &ProxyRules,
    pages: Pages<'_>,
    v: Verdict,
    conn: &Conn<'_>,
    txn: &mut Txn,
    keep_alive: bool,
) -> Option<Decision> {
    let (bytes, close) = match v {
        Verdict::Continue | Verdict::Allow => return None,
        Verdict::Reject | Verdict::SilentDrop => return Some(Decision::Close),
        Verdict::Deny { status, reply } => denial(pages, status, reply.as_ref(), keep_alive),
        Verdict::Tarpit { status, reply } => {
            let (bytes, close) = denial(pages, status, reply.as_ref(), keep_alive);
            let delay = txn
                .changes
                .timeout(sluice_rules::TimeoutKind::Tarpit)
                .or(rules.tarpit);
            return Some(Decision::Tarpit {
                bytes: finish(plan, conn, txn, bytes, close),
                delay,
                close,
            });
        }
        Verdict::Redirect {
            code,
            location,
            cookies,
        } => (redirect_bytes(code, &location, &cookies), !keep_alive),
        // A whole response from an error file is sent as written (its framing is not
        // checked): the connection closes after it.
        Verdict::Return(reply) => (
            reply_bytes(pages, reply.status, Some(&reply)),
            !keep_alive || reply.raw,
        ),
        Verdict::Auth { realm } => {
            const BODY: &str = "<html><body><h1>401 Unauthorized</h1>\nYou need a valid user and password to access this content.\n</body></html>\n";
            let mut b = Vec::with_capacity(256);
            let _ = write!(
                b,
                "HTTP/1.1 401 Unauthorized\r\ncontent-length: {}\r\ncache-control: no-cache\r\ncontent-type: text/html\r\nwww-authenticate: Basic realm=\"{realm}\"\r\n\r\n{BODY}",
                BODY.len()
            );
            // The client is expected to retry with credentials: the connection stays open
            // when it can, as in HAProxy.
            (b, !keep_alive)
        }
    };
    Some(Decision::Respond {
        bytes: finish(plan, conn, txn, bytes, close),
        close,
    })
}

/// The error page for `status`: the proxy's (errorfile or built-in), else HAProxy's built-in
/// one for that status, else a bare response.
pub fn page_bytes(pages: Pages<'_>, status: u16) -> Vec<u8> {
    if let Some(p) = pages.exact(status) {
        return p.to_vec();
    }
    match sluice_http::errors::page(status) {
        Some(p) => {
            let mut v = Vec::with_capacity(p.bytes.len() + 20);
            v.extend_from_slice(p.head.as_bytes());
            v.extend_from_slice(b"connection: close\r\n\r\n");
            v.extend_from_slice(p.body.as_bytes());
            v
        }
        None => {
            let mut v = Vec::with_capacity(64);
            let _ = write!(v, "HTTP/1.1 {status} ");
            v.extend_from_slice(head::reason(status));
            v.extend_from_slice(b"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            v
        }
    }
}

/// The response for a `deny`/`tarpit`/`return`: the rule's reply, or the error page.
fn reply_bytes(pages: Pages<'_>, status: u16, reply: Option<&Reply>) -> Vec<u8> {
    let Some(r) = reply.filter(|r| !r.use_errorfile) else {
        return page_bytes(pages, reply.map_or(status, |r| r.status));
    };
    if r.raw {
        // A whole response from an error file, sent as written.
        return r.body.to_vec();
    }
    let mut b = Vec::with_capacity(128 + r.body.len());
    let _ = write!(b, "HTTP/1.1 {} ", r.status);
    b.extend_from_slice(head::reason(r.status));
    b.extend_from_slice(b"\r\n");
    if let Some(ct) = &r.content_type {
        let _ = write!(b, "content-type: {ct}\r\n");
    }
    let _ = write!(b, "content-length: {}\r\n", r.body.len());
    for (n, v) in &r.headers {
        b.extend_from_slice(n.as_bytes());
        b.extend_from_slice(b": ");
        b.extend_from_slice(v);
        b.extend_from_slice(b"\r\n");
    }
    b.extend_from_slice(b"\r\n");
    b.extend_from_slice(&r.body);
    b
}

/// Applies the `http-after-response` rules (backend's, then frontend's) to a generated
/// response and says whether it closes the connection.
pub fn finish(plan: &Plan, conn: &Conn<'_>, txn: &mut Txn, bytes: Vec<u8>, close: bool) -> Vec<u8> {
    let fe_rules = plan
        .rules(conn.fe)
        .filter(|r| !r.compiled.http_after_response.is_empty());
    let be_rules = conn
        .be
        .filter(|b| *b != conn.fe)
        .and_then(|b| plan.rules(b))
        .filter(|r| !r.compiled.http_after_response.is_empty());
    if fe_rules.is_none() && be_rules.is_none() {
        return bytes;
    }
    let mut resp = ResponseHead::new();
    let head_len = match resp.parse(&bytes, &plan.http, sluice_http::Method::Get) {
        Parsed::Complete { head_len } => head_len,
        _ => return bytes,
    };
    let mut edits = Edits::default();
    // A server error answered by Sluice counts as an error of the stream (`when(error)`).
    let mut conn = *conn;
    conn.events.error |= resp.status() >= 500;
    {
        let mut msg = Msg::response(&resp, &bytes, &mut edits);
        txn.captures.keep_response_version(&msg);
        for r in [be_rules, fe_rules].into_iter().flatten() {
            r.compiled.run_http_after_response(&mut msg, &conn, txn);
        }
    }
    let mut out = Vec::with_capacity(bytes.len() + 64);
    head::response_edited(&mut out, &resp, &bytes, close, false, Some(&edits));
    out.extend_from_slice(bytes.get(head_len..).unwrap_or_default());
    out
}

/// Runs the response stage on a server's response head: backend then frontend
/// `http-response` rules, then `http-after-response`. `Err` carries the response to send
/// instead (a `deny`), after which the connection closes.
#[allow(clippy::too_many_arguments)]
pub fn response(
    plan: &Plan,
    fe: &Frontend,
    conn: &Conn<'_>,
    resp: &ResponseHead,
    buf: &[u8],
    edits: &mut Edits,
    txn: &mut Txn,
) -> Result<(), Vec<u8>> {
    edits.clear();
    crate::stick::on_response(txn, resp.status());
    let conn = &Conn {
        contents: Contents {
            buffered: buf.len(),
            ..conn.contents
        },
        ..*conn
    };
    let fe_rules = plan.rules(fe.index);
    let be_rules = conn
        .be
        .filter(|b| *b != fe.index)
        .and_then(|b| plan.rules(b));
    let mut msg = Msg::response(resp, buf, edits);
    crate::stick::on_server_response(plan, conn, &msg, txn);
    let layout = fe_rules.map_or(&NO_CAPTURES, |r| &r.compiled.captures);
    txn.captures.start_response(layout, &msg);
    // The backend's `tcp-response content` rules see the response first.
    let be_or_listen = conn.be.and_then(|b| plan.rules(b));
    if let Some(r) = be_or_listen.filter(|r| !r.compiled.tcp_response.is_empty()) {
        if matches!(
            r.compiled
                .tcp_response
                .run_tcp_on(conn, Some((&msg, true)), txn),
            Verdict::Reject | Verdict::SilentDrop
        ) {
            // As in TCP mode, the connection closes: nothing of the response is sent.
            return Err(Vec::new());
        }
    }
    for (r, pages) in [
        (
            be_rules,
            conn.be.and_then(|b| plan.backend(b)).map(|b| &b.errors),
        ),
        (fe_rules, Some(&fe.errors)),
    ] {
        let Some(r) = r.filter(|r| !r.compiled.http_response.is_empty()) else {
            continue;
        };
        let v = r.compiled.run_http_response(&mut msg, conn, txn);
        let pages = Pages {
            own: pages.unwrap_or(&fe.errors),
            frontend: &fe.errors,
        };
        let denied = match v {
            Verdict::Deny { status, reply } | Verdict::Tarpit { status, reply } => {
                Some(reply_bytes(pages, status, reply.as_ref()))
            }
            Verdict::Return(reply) => Some(reply_bytes(pages, reply.status, Some(&reply))),
            Verdict::Reject | Verdict::SilentDrop => Some(page_bytes(pages, 502)),
            Verdict::Redirect {
                code,
                location,
                cookies,
            } => Some(redirect_bytes(code, &location, &cookies)),
            _ => None,
        };
        if let Some(bytes) = denied {
            return Err(finish(plan, conn, txn, bytes, true));
        }
    }
    for r in [be_rules, fe_rules].into_iter().flatten() {
        if !r.compiled.http_after_response.is_empty() {
            r.compiled.run_http_after_response(&mut msg, conn, txn);
        }
    }
    Ok(())
}

/// A connection to the server `use-server` forced: an idle one when `reuse` allows, else a
/// new one, retried `retries` times.
pub async fn acquire_on(
    ctx: &Ctx,
    be: usize,
    server: usize,
    addrs: crate::stream::Addrs,
    reuse: bool,
    own: &mut Option<Own>,
) -> Result<Acquired, Error> {
    // One path for every connection: slots and queue (`maxconn`), `send-proxy`, retries.
    let dest = crate::backend::connect::Dest {
        pin: Some(server),
        ..crate::backend::connect::Dest::new(addrs)
    };
    let key = sluice_balance::RequestKey::new();
    crate::backend::connect::acquire(ctx, be, &dest, &key, reuse, own).await
}
