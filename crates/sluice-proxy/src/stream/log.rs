//! The hook the logging subsystem ([`crate::log`]) plugs into: one [`Record`] per finished
//! stream (HTTP request or TCP connection), filled as the stream goes with what log lines
//! need, then handed to [`emit`].
//!
//! Filling a record is cheap: instants (no clock formatting), integers, indexes. What costs
//! a copy (the request line, captured headers, `%[...]` values) is taken only when the
//! frontend's log format uses it, into buffers recycled per thread.

use crate::error::Error;
use crate::stream::io::ClientIo;
use crate::stream::Addrs;
use std::cell::Cell;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

pub use crate::log::Extra;

/// Byte counts and instants of one client connection, shared by its streams (HTTP
/// keep-alive requests take deltas). Single-threaded: plain cells.
#[derive(Debug)]
pub struct Meter {
    /// Bytes read from the client.
    pub read: Cell<u64>,
    /// Bytes written to the client.
    pub written: Cell<u64>,
    /// When the connection was accepted (monotonic, and the one wall-clock capture).
    pub accepted: Instant,
    pub accepted_wall: SystemTime,
    /// When the connection became ready for its next request (accept, then the end of each
    /// logged response): HAProxy's accept date of an HTTP stream.
    pub ready: Cell<Instant>,
    /// First byte read since `ready` (the idle time `Ti` ends there).
    pub first_byte: Cell<Option<Instant>>,
    /// `Th`: handshakes at the start (PROXY protocol), reported by the first stream only, in
    /// microseconds (a `Duration` would make the meter a size class larger).
    pub handshake_us: Cell<u32>,
    /// HTTP/2 streams: the protocol glitches counted on the connection when the stream
    /// started (`fc_glitches`), and how many of them no stream reported yet (added to the
    /// tracked entries' `glitch_cnt`). Zero for HTTP/1. Sixteen bits each (saturated), to
    /// keep the meter in its size class.
    pub glitches: Cell<u16>,
    pub new_glitches: Cell<u16>,
    /// The connection's own addresses when a PROXY (or NetScaler CIP) header announced
    /// others (`fc_src`, `fc_dst`), and the header's TLVs; behind a pointer: rare, and
    /// every connection has a meter (shared with the meters of HTTP/2 streams).
    connection: Option<Rc<crate::proxy_protocol::accept::Proxied>>,
    /// The client socket's descriptor and bind line.
    pub socket: crate::stream::Socket,
}

impl Meter {
    /// A meter for a connection accepted now; `connection`: its own addresses when a PROXY
    /// header replaced them for the session.
    pub fn new(
        connection: Option<Rc<crate::proxy_protocol::accept::Proxied>>,
        socket: crate::stream::Socket,
    ) -> Rc<Meter> {
        let now = Instant::now();
        Rc::new(Meter {
            read: Cell::new(0),
            written: Cell::new(0),
            accepted: now,
            accepted_wall: SystemTime::now(),
            ready: Cell::new(now),
            first_byte: Cell::new(None),
            handshake_us: Cell::new(0),
            glitches: Cell::new(0),
            new_glitches: Cell::new(0),
            connection,
            socket,
        })
    }

    /// The connection's own addresses, when a PROXY header announced others.
    pub fn connection_addrs(&self) -> Option<crate::stream::Addrs> {
        self.connection.as_ref().map(|c| c.own)
    }

    /// What the header the connection started with said, if any.
    pub fn proxied(&self) -> Option<&Rc<crate::proxy_protocol::accept::Proxied>> {
        self.connection.as_ref()
    }

    /// The TLVs of the PROXY v2 header the connection started with (empty without one).
    pub fn proxy_tlvs(&self) -> &[u8] {
        self.connection.as_ref().map_or(&[], |c| &c.tlvs)
    }

    /// The wall-clock time of `at` (derived from the one capture at accept).
    pub fn wall(&self, at: Instant) -> SystemTime {
        match at.checked_duration_since(self.accepted) {
            Some(d) => self.accepted_wall + d,
            None => self.accepted_wall,
        }
    }
}

/// A client connection that counts its bytes and notes its first byte after idle periods.
pub struct Counted<S> {
    inner: S,
    meter: Rc<Meter>,
}

impl<S> Counted<S> {
    pub fn new(inner: S, meter: Rc<Meter>) -> Counted<S> {
        Counted { inner, meter }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut this.inner).poll_read(cx, buf);
        let n = buf.filled().len().saturating_sub(before) as u64;
        if n > 0 {
            let m = &this.meter;
            m.read.set(m.read.get() + n);
            if m.first_byte.get().is_none() {
                m.first_byte.set(Some(Instant::now()));
            }
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = r {
            let m = &this.meter;
            m.written.set(m.written.get() + n as u64);
        }
        r
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = r {
            let m = &this.meter;
            m.written.set(m.written.get() + n as u64);
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

impl<S: crate::stream::io::WriteMore> crate::stream::io::WriteMore for Counted<S> {
    fn poll_write_more(
        &mut self,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        let r = self.inner.poll_write_more(cx, buf);
        if let std::task::Poll::Ready(Ok(n)) = r {
            let m = &self.meter;
            m.written.set(m.written.get() + n as u64);
        }
        r
    }
}

impl<S: ClientIo> ClientIo for Counted<S> {
    fn poll_read_ready(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<io::Result<()>> {
        self.inner.poll_read_ready(cx)
    }

    fn meter(&self) -> Option<&Rc<Meter>> {
        Some(&self.meter)
    }

    fn tls(&self) -> Option<&Rc<crate::tls::TlsInfo>> {
        self.inner.tls()
    }

    fn later_stream(&self) -> bool {
        self.inner.later_stream()
    }

    fn http_major(&self) -> i64 {
        self.inner.http_major()
    }
}

/// The instants of one stream; `None`: the stream never got there (logged as `-1`).
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Accept (or the end of the previous response on a keep-alive connection).
    pub start: Instant,
    /// Wall clock at `start`.
    pub start_wall: SystemTime,
    /// `Th`.
    pub handshake: Duration,
    /// First byte of the request (HTTP).
    pub first_byte: Option<Instant>,
    /// The request head complete (HTTP).
    pub head_done: Option<Instant>,
    /// `Tw`, once the stream left the queues.
    pub queued: Option<Duration>,
    /// Connection attempts to a server began.
    pub connect_start: Option<Instant>,
    /// A server connection is ready.
    pub connected: Option<Instant>,
    /// The response head is complete.
    pub response: Option<Instant>,
}

impl Default for Timing {
    fn default() -> Timing {
        Timing {
            start: Instant::now(),
            start_wall: SystemTime::now(),
            handshake: Duration::ZERO,
            first_byte: None,
            head_done: None,
            queued: None,
            connect_start: None,
            connected: None,
            response: None,
        }
    }
}

/// What one stream did.
#[derive(Debug, Default)]
pub struct Record {
    pub frontend: usize,
    pub backend: Option<usize>,
    pub server: Option<usize>,
    pub client: Option<SocketAddr>,
    pub local: Option<SocketAddr>,
    /// HTTP status sent to the client (0: none).
    pub status: u16,
    /// Bytes sent to the client (`%B`).
    pub bytes_out: u64,
    /// Bytes received from the client (`%U`).
    pub bytes_in: u64,
    pub error: Option<Error>,
    /// Termination state when the code knows it better than `error` (`PR`, `LR`, `cR`).
    pub term: Option<[u8; 2]>,
    /// Persistence cookie state (3rd and 4th characters of `%tsc`), `--` when unset.
    pub cookie: Option<[u8; 2]>,
    /// Connection retries (`%rc`) and whether the last one was redispatched.
    pub retries: u32,
    pub redispatched: bool,
    /// The algorithm compressing the response (`res.comp` at log time).
    pub compression: Option<crate::http::compression::Algorithm>,
    /// Queue positions when the stream was queued (`%sq`, `%bq`).
    pub srv_queue: u32,
    pub be_queue: u32,
    /// HTTP mode (4-character termination state, `<BADREQ>`...).
    pub http: bool,
    pub t: Timing,
    /// The connection's meter (byte counts are deltas from `base`).
    pub meter: Option<Rc<Meter>>,
    pub(crate) base: (u64, u64),
    /// Copies made only when the format needs them.
    pub extra: Extra,
    /// What rules changed of the stream (`cur_server_timeout`... in log formats).
    pub changes: sluice_rules::StreamChanges,
}

impl Record {
    /// A record for a stream of frontend `fe` starting now on a connection.
    pub fn start(fe: usize, addrs: Addrs, meter: Option<&Rc<Meter>>, http: bool) -> Record {
        let mut r = Record {
            frontend: fe,
            client: addrs.peer,
            local: addrs.local,
            http,
            ..Record::default()
        };
        if let Some(m) = meter {
            let start = m.ready.get();
            r.t.start = start;
            r.t.start_wall = m.wall(start);
            // Th is reported by the first stream of a connection only.
            if start == m.accepted {
                r.t.handshake = Duration::from_micros(u64::from(m.handshake_us.get()));
            }
            r.t.first_byte = m.first_byte.get();
            r.base = (m.read.get(), m.written.get());
            r.meter = Some(m.clone());
        }
        r
    }

    /// Closes the byte counts (deltas of the meter) and resets the meter for the next
    /// stream. Called by [`emit`].
    pub(crate) fn finish(&self) -> (u64, u64) {
        match &self.meter {
            Some(m) => (
                m.read.get().saturating_sub(self.base.0).max(self.bytes_in),
                m.written
                    .get()
                    .saturating_sub(self.base.1)
                    .max(self.bytes_out),
            ),
            None => (self.bytes_in, self.bytes_out),
        }
    }

    /// The request head is complete: note the time and copy what the format needs.
    pub fn on_request(&mut self, req: &sluice_http::RequestHead, buf: &[u8]) {
        self.t.head_done = Some(Instant::now());
        if self.t.first_byte.is_none() {
            self.t.first_byte = self.t.head_done;
        }
        crate::log::on_request(self, req, buf);
    }

    /// The response head is complete.
    pub fn on_response(&mut self, resp: &sluice_http::ResponseHead, buf: &[u8]) {
        self.t.response = Some(Instant::now());
        self.status = resp.status();
        crate::log::on_response(self, resp, buf);
    }

    /// Connection attempts to a server begin (after routing and queues).
    pub fn connecting(&mut self) {
        let now = Instant::now();
        if self.t.queued.is_none() {
            self.t.queued = Some(Duration::ZERO);
        }
        self.t.connect_start = Some(now);
    }

    /// No server connection could be made: the line names the last server tried, as
    /// HAProxy's does (`be/srv1 ... SC--`).
    pub fn connect_failed(&mut self, e: crate::error::Error) {
        self.error = Some(e);
        if let Some(s) = e.server {
            self.server = Some(usize::from(s));
        }
    }

    /// A server connection is ready.
    pub fn connected(&mut self, server: usize) {
        self.server = Some(server);
        self.t.connected = Some(Instant::now());
        crate::log::on_connect(self);
    }

    /// The stream ends with an answer of Sluice's own (`status`) in state `term`.
    pub fn answer(&mut self, status: u16, term: [u8; 2]) {
        self.status = status;
        self.term = Some(term);
    }
}

/// Called when a stream ends: counts it, and formats and sends its log line when its
/// frontend logs.
#[inline]
pub fn emit(record: &Record) {
    count(record);
    crate::log::emit(record);
    if let Some(m) = &record.meter {
        // The next request's accept date is the end of this one.
        m.ready.set(Instant::now());
        m.first_byte.set(None);
    }
}

/// Logs a stream that ended before its request head was complete (bad, too large, too
/// slow or aborted), with the status Sluice answered and HAProxy's termination state.
pub fn early(fe: usize, addrs: Addrs, meter: Option<&Rc<Meter>>, status: u16, term: [u8; 2]) {
    let mut r = Record::start(fe, addrs, meter, true);
    r.answer(status, term);
    emit(&r);
}

/// The status of a response Sluice wrote itself (`HTTP/1.1 403 ...`), 0 when unreadable.
pub fn status_of(bytes: &[u8]) -> u16 {
    bytes
        .get(9..12)
        .and_then(|s| std::str::from_utf8(s).ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

impl Record {
    /// The stream ends with a response of the rules (`deny`, `redirect`, `return`): `PR`
    /// for a refusal, `LR` for a local answer, as HAProxy logs them.
    pub fn local_reply(&mut self, bytes: &[u8]) {
        let status = status_of(bytes);
        let term = if status >= 400 { *b"PR" } else { *b"LR" };
        self.answer(status, term);
    }
}

/// Adds a finished stream to its thread's traffic counters (`show stat`, the stats page):
/// the frontend's requests and responses, the backend's and the server's streams, bytes and
/// errors.
fn count(r: &Record) {
    use crate::counters::{Row, Traffic as T};
    use crate::error::{ErrorKind, Side};
    let (bytes_in, bytes_out) = r.finish();
    let class = match r.status {
        100..=199 => Some(T::Http1xx),
        200..=299 => Some(T::Http2xx),
        300..=399 => Some(T::Http3xx),
        400..=499 => Some(T::Http4xx),
        500..=599 => Some(T::Http5xx),
        0 => None,
        _ => Some(T::HttpOther),
    };
    let error = r.error.map(|e| (e.kind, e.side));
    crate::counters::with_traffic(|t| {
        let mut rows = [Some(Row::Frontend(r.frontend)), None, None];
        if let Some(b) = r.backend {
            rows[1] = Some(Row::Backend(b));
            rows[2] = r.server.map(|s| Row::Server(b, s));
        }
        for (i, row) in rows.iter().enumerate() {
            let Some(row) = row.and_then(|row| t.row(row)) else {
                continue;
            };
            row.add(T::BytesIn, bytes_in);
            row.add(T::BytesOut, bytes_out);
            if r.http {
                if let Some(c) = class {
                    row.add(c, 1);
                }
            }
            if i == 0 {
                // The frontend counts connections at accept; here its requests and what
                // it refused.
                if r.http {
                    row.add(T::Requests, 1);
                }
                match error {
                    Some((ErrorKind::Refused, Side::Client | Side::Internal)) => {
                        row.add(T::DeniedRequests, 1)
                    }
                    Some((ErrorKind::Protocol | ErrorKind::Timeout, Side::Client)) => {
                        row.add(T::RequestErrors, 1)
                    }
                    _ => {}
                }
                continue;
            }
            row.add(T::Sessions, 1);
            if i == 2 || r.server.is_some() {
                row.add(T::Chosen, 1);
            }
            row.add(T::Retries, u64::from(r.retries));
            if r.redispatched {
                row.add(T::Redispatches, 1);
            }
            match error {
                Some((ErrorKind::Connect, _)) => row.add(T::ConnectErrors, 1),
                Some((_, Side::Server)) => row.add(T::ResponseErrors, 1),
                _ => {}
            }
        }
    });
}
