//! Servers spoken to in HTTP/2 (`proto h2` on a `server` line).
//!
//! The HTTP/1 session still writes an HTTP/1.1 request and reads an HTTP/1.1 response: an
//! [`H2Server`] is the server connection it sees. Its writes take the request head (made an
//! HTTP/2 request: `:scheme`, `:authority` from `Host`, `:path`; connection-specific fields
//! dropped) and the body as it is framed (DATA, chunked trailers as trailing HEADERS). Its
//! reads yield the response as HTTP/1.1: the status line and fields, then DATA as the body,
//! with its `content-length` when the server gave one, in chunks otherwise (trailers after
//! the last chunk). A CONNECT request opens a tunnel on the stream; an `Upgrade` request
//! (WebSocket...) becomes an extended CONNECT (RFC 8441) when the server allows them, and
//! its 2xx answer a `101 Switching Protocols`.
//!
//! One connection carries one stream at a time; once an exchange is over, the connection
//! goes to the idle pool as an HTTP/1.1 one would, and the next request opens a new stream
//! on it. A server that resets the stream or closes the connection before the response is
//! complete is a read error, as a closed HTTP/1.1 connection is.

use crate::h2::request::last_chunk;
use crate::h2::response::trailers as chunked_trailers;
use crate::h2::stream::wait_capacity;
use crate::tls::connector::ServerStream;
use bytes::{Buf as _, Bytes};
use h2::client::{ResponseFuture, SendRequest};
use h2::{RecvStream, SendStream};
use http::header::{HeaderName, HeaderValue};
use sluice_http::{Body, ChunkedDecoder, Method, Parsed, RequestHead, TargetForm, Upgrade};
use std::cell::Cell;
use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{ready, Context, Poll, Waker};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// What the connection's task tells the streams.
#[derive(Default)]
struct Shared {
    /// The connection ended (GOAWAY, error or close).
    closed: Cell<bool>,
    /// The server's first SETTINGS frame arrived (extended CONNECT waits for it).
    settings: Cell<bool>,
    /// A stream waiting for one of the above.
    waiter: Cell<Option<Waker>>,
}

impl Shared {
    fn wake(&self) {
        if let Some(w) = self.waiter.take() {
            w.wake();
        }
    }
}

/// An HTTP/2 connection to a server, seen as an HTTP/1.1 one.
pub struct H2Server {
    send: SendRequest<Bytes>,
    shared: Rc<Shared>,
    config: sluice_http::Config,
    tx: Tx,
    rx: Rx,
    /// Response bytes ready to be read, in order.
    ready: VecDeque<Bytes>,
}

impl std::fmt::Debug for H2Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("H2Server")
    }
}

/// The request side of the current exchange.
enum Tx {
    /// Collecting the head (`complete`: its length once parsed).
    Head {
        buf: Vec<u8>,
        complete: Option<usize>,
    },
    Body {
        send: SendStream<Bytes>,
        framed: Framed,
    },
    /// CONNECT: bytes go as DATA until the session closes.
    Tunnel(SendStream<Bytes>),
    /// Sent: more bytes are dropped.
    Done,
}

enum Framed {
    Length(u64),
    Chunked {
        decoder: ChunkedDecoder,
        /// Framing bytes since the last payload byte: the trailers at the end.
        tail: Vec<u8>,
    },
}

/// The response side of the current exchange.
enum Rx {
    /// No request sent yet.
    Idle,
    Waiting {
        response: ResponseFuture,
        /// The request was an `Upgrade` sent as an extended CONNECT: its protocol.
        upgrade: Option<Bytes>,
        head: bool,
        /// A plain CONNECT: a 2xx answer opens the tunnel.
        connect: bool,
    },
    Body {
        recv: RecvStream,
        chunked: bool,
    },
    Tunnel(RecvStream),
    /// The response ended: a read says the connection closed.
    Done,
}

/// How long a connection whose last request was reset unsent stays open for the reset
/// to be written.
const RESET_LINGER: Duration = Duration::from_millis(500);

fn broken(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionReset, what.to_string())
}

fn h2_error(e: h2::Error) -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionReset, e)
}

/// Counts the first frame the server sends (its SETTINGS) on the way in.
struct Watched {
    io: ServerStream,
    /// Bytes of the first frame still to come (`None` until its header is read).
    first: Option<usize>,
    seen: usize,
    header: [u8; 9],
    shared: Rc<Shared>,
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut me.io).poll_read(cx, buf))?;
        if !me.shared.settings.get() {
            for b in buf.filled().get(before..).unwrap_or_default() {
                if me.seen < 9 {
                    if let Some(slot) = me.header.get_mut(me.seen) {
                        *slot = *b;
                    }
                    me.seen += 1;
                    if me.seen == 9 {
                        let [a, b, c, ..] = me.header;
                        me.first =
                            Some(usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c));
                    }
                } else if let Some(left) = me.first.as_mut() {
                    *left = left.saturating_sub(1);
                }
                if me.first == Some(0) {
                    break;
                }
            }
            if me.first == Some(0) {
                me.shared.settings.set(true);
                me.shared.wake();
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// Starts HTTP/2 on a new server connection (the preface and SETTINGS are sent; the
/// connection is then run by a task of its own), within `limit`.
pub async fn handshake(
    io: ServerStream,
    config: sluice_http::Config,
    bufsize: usize,
    limit: Option<Duration>,
) -> io::Result<H2Server> {
    let shared = Rc::new(Shared::default());
    let watched = Watched {
        io,
        first: None,
        seen: 0,
        header: [0; 9],
        shared: shared.clone(),
    };
    let mut builder = h2::client::Builder::new();
    builder
        .enable_push(false)
        .max_header_list_size(u32::try_from(bufsize).unwrap_or(u32::MAX))
        .max_send_buffer_size(bufsize.saturating_mul(2));
    let shake = builder.handshake::<_, Bytes>(watched);
    let (send, conn) = match limit {
        Some(d) => tokio::time::timeout(d, shake)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "HTTP/2 handshake"))?,
        None => shake.await,
    }
    .map_err(h2_error)?;
    let task_shared = shared.clone();
    tokio::task::spawn_local(async move {
        let _ = conn.await;
        task_shared.closed.set(true);
        task_shared.wake();
    });
    Ok(H2Server {
        send,
        shared,
        config,
        tx: Tx::Head {
            buf: Vec::new(),
            complete: None,
        },
        rx: Rx::Idle,
        ready: VecDeque::new(),
    })
}

impl H2Server {
    /// Whether the connection can take another request: no exchange in flight, and the
    /// server has not closed it.
    pub fn still_idle(&mut self, cx: &mut Context<'_>) -> bool {
        self.settle(cx);
        !self.shared.closed.get()
            && matches!(self.rx, Rx::Idle | Rx::Done)
            && matches!(self.tx, Tx::Done | Tx::Head { complete: None, .. })
            && self.ready.is_empty()
    }

    /// A response whose announced length the session has read: its stream's end may have
    /// come since (an empty DATA frame with END_STREAM), which ends the exchange.
    fn settle(&mut self, cx: &mut Context<'_>) {
        if let Rx::Body {
            recv,
            chunked: false,
        } = &mut self.rx
        {
            loop {
                match recv.poll_data(cx) {
                    Poll::Ready(None) => {
                        self.rx = Rx::Done;
                        return;
                    }
                    Poll::Ready(Some(Ok(d))) if d.is_empty() => {}
                    _ => return,
                }
            }
        }
    }

    /// Sends the request once its head is complete.
    fn poll_start(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Tx::Head {
            buf,
            complete: Some(head_len),
        } = &mut self.tx
        else {
            return Poll::Ready(Ok(()));
        };
        let head_len = *head_len;
        let mut parsed = RequestHead::new();
        if !matches!(parsed.parse(buf, &self.config), Parsed::Complete { .. }) {
            return Poll::Ready(Err(broken("request head")));
        }
        let request = translate(&parsed, buf)?;
        if request.upgrade.is_some() {
            // An extended CONNECT needs the server's SETTINGS to know whether it may be sent.
            if !self.shared.settings.get() && !self.shared.closed.get() {
                self.shared.waiter.set(Some(cx.waker().clone()));
                return Poll::Pending;
            }
            if !self.send.is_extended_connect_protocol_enabled() {
                // As HAProxy: the stream is opened and reset at once, without HEADERS, and
                // the client gets a 502.
                let _ = self.send.reset_next_stream(h2::Reason::INTERNAL_ERROR);
                // The connection task writes the RST_STREAM on its next turn, unless every
                // handle is gone by then (it then closes at once): a handle stays a moment.
                let linger = self.send.clone();
                tokio::task::spawn_local(async move {
                    tokio::time::sleep(RESET_LINGER).await;
                    drop(linger);
                });
                return Poll::Ready(Err(broken("the server does not accept extended CONNECT")));
            }
        }
        ready!(self.send.poll_ready(cx)).map_err(h2_error)?;
        let framing = *parsed.framing();
        let tunnel = request.tunnel;
        let end = !tunnel && matches!(framing.body, Body::None | Body::Length(0));
        let (response, send) = self
            .send
            .send_request(request.http, end)
            .map_err(h2_error)?;
        let rest = buf.split_off(head_len.min(buf.len()));
        self.rx = Rx::Waiting {
            response,
            upgrade: request.upgrade,
            head: parsed.method() == Method::Head,
            connect: parsed.method() == Method::Connect,
        };
        self.tx = if tunnel {
            Tx::Tunnel(send)
        } else if end {
            Tx::Done
        } else {
            Tx::Body {
                send,
                framed: match framing.body {
                    Body::Length(n) => Framed::Length(n),
                    _ => Framed::Chunked {
                        decoder: ChunkedDecoder::new(),
                        tail: Vec::new(),
                    },
                },
            }
        };
        if !rest.is_empty() {
            self.body(&rest)?;
        }
        Poll::Ready(Ok(()))
    }

    /// Sends request body bytes as DATA; returns how many of `data` were taken.
    fn body(&mut self, data: &[u8]) -> io::Result<usize> {
        let (send, framed) = match &mut self.tx {
            Tx::Body { send, framed } => (send, framed),
            Tx::Tunnel(send) => {
                send.send_data(Bytes::copy_from_slice(data), false)
                    .map_err(h2_error)?;
                return Ok(data.len());
            }
            _ => return Ok(data.len()),
        };
        match framed {
            Framed::Length(left) => {
                let n = usize::try_from(*left).unwrap_or(usize::MAX).min(data.len());
                *left -= n as u64;
                let end = *left == 0;
                let payload = Bytes::copy_from_slice(data.get(..n).unwrap_or_default());
                send.send_data(payload, end).map_err(h2_error)?;
                if end {
                    self.tx = Tx::Done;
                    return Ok(data.len());
                }
                Ok(n)
            }
            Framed::Chunked { decoder, tail } => {
                let mut payload = Vec::new();
                let mut i = 0;
                let mut done = false;
                while i < data.len() {
                    let input = data.get(i..).unwrap_or_default();
                    let d = decoder
                        .decode(input)
                        .map_err(|_| broken("malformed chunked request body"))?;
                    if d.data.is_empty() {
                        tail.extend_from_slice(input.get(..d.consumed).unwrap_or_default());
                    } else {
                        tail.clear();
                        payload.extend_from_slice(input.get(d.data.clone()).unwrap_or_default());
                    }
                    i += d.consumed;
                    if d.done {
                        done = true;
                        break;
                    }
                    if d.consumed == 0 {
                        break;
                    }
                }
                let trailers = if done {
                    chunked_trailers(tail)
                } else {
                    http::HeaderMap::new()
                };
                let end_with_data = done && trailers.is_empty();
                if !payload.is_empty() || end_with_data {
                    send.send_data(Bytes::from(payload), end_with_data)
                        .map_err(h2_error)?;
                }
                if done && !trailers.is_empty() {
                    send.send_trailers(trailers).map_err(h2_error)?;
                }
                if done {
                    self.tx = Tx::Done;
                    return Ok(data.len());
                }
                Ok(i)
            }
        }
    }

    fn write(&mut self, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        if matches!(self.tx, Tx::Done) && !matches!(self.rx, Rx::Done | Rx::Idle) {
            self.settle(cx);
            if !matches!(self.rx, Rx::Done) {
                return Poll::Ready(Err(broken("the last response is not over")));
            }
        }
        if matches!(self.tx, Tx::Done) && matches!(self.rx, Rx::Done | Rx::Idle) {
            // The last exchange is over: this is the next request's head.
            self.tx = Tx::Head {
                buf: Vec::new(),
                complete: None,
            };
            self.rx = Rx::Idle;
            self.ready.clear();
        }
        match &mut self.tx {
            Tx::Head {
                buf,
                complete: None,
            } => {
                buf.extend_from_slice(data);
                let mut parsed = RequestHead::new();
                match parsed.parse(buf, &self.config) {
                    Parsed::Partial => {}
                    Parsed::Error(_) => return Poll::Ready(Err(broken("request head"))),
                    Parsed::Complete { head_len } => {
                        if let Tx::Head { complete, .. } = &mut self.tx {
                            *complete = Some(head_len);
                        }
                        // Sent now if the connection is ready, else by the next read or write.
                        if let Poll::Ready(Err(e)) = self.poll_start(cx) {
                            return Poll::Ready(Err(e));
                        }
                    }
                }
                Poll::Ready(Ok(data.len()))
            }
            Tx::Head { .. } => {
                ready!(self.poll_start(cx))?;
                self.write(cx, data)
            }
            Tx::Body { send, .. } | Tx::Tunnel(send) => {
                ready!(wait_capacity(send, data.len(), cx))?;
                Poll::Ready(self.body(data))
            }
            Tx::Done => Poll::Ready(Ok(data.len())),
        }
    }

    fn read(&mut self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        loop {
            if let Some(front) = self.ready.front_mut() {
                let n = front.len().min(buf.remaining());
                buf.put_slice(front.get(..n).unwrap_or_default());
                front.advance(n);
                if front.is_empty() {
                    self.ready.pop_front();
                }
                return Poll::Ready(Ok(()));
            }
            match &mut self.rx {
                Rx::Idle => {
                    if matches!(
                        self.tx,
                        Tx::Head {
                            complete: Some(_),
                            ..
                        }
                    ) {
                        ready!(self.poll_start(cx))?;
                        continue;
                    }
                    if self.shared.closed.get() {
                        return Poll::Ready(Ok(()));
                    }
                    self.shared.waiter.set(Some(cx.waker().clone()));
                    return Poll::Pending;
                }
                Rx::Waiting {
                    response,
                    upgrade,
                    head,
                    connect,
                } => {
                    // Interim responses (100 Continue, 103 Early Hints) come first, each as
                    // an HTTP/1.1 1xx head the session forwards to the client.
                    if let Poll::Ready(Some(interim)) = response.poll_informational(cx) {
                        let interim = interim.map_err(h2_error)?;
                        self.ready
                            .push_back(Bytes::from(informational_head(&interim)));
                        continue;
                    }
                    let resp = ready!(Pin::new(response).poll(cx)).map_err(h2_error)?;
                    let upgrade = upgrade.take();
                    let (head, connect) = (*head, *connect);
                    let (out, next) = response_head(resp, upgrade.as_deref(), head, connect);
                    self.ready.push_back(Bytes::from(out));
                    self.rx = next;
                }
                Rx::Body { recv, chunked } => match ready!(recv.poll_data(cx)) {
                    Some(Ok(data)) => {
                        let n = data.len();
                        let _ = recv.flow_control().release_capacity(n);
                        if n == 0 {
                            continue;
                        }
                        if *chunked {
                            self.ready.push_back(Bytes::from(format!("{n:x}\r\n")));
                            self.ready.push_back(data);
                            self.ready.push_back(Bytes::from_static(b"\r\n"));
                        } else {
                            self.ready.push_back(data);
                            if recv.is_end_stream() {
                                // Over with its last DATA: the connection can be kept idle
                                // as soon as the session has read it.
                                self.rx = Rx::Done;
                            }
                        }
                    }
                    Some(Err(e)) => return Poll::Ready(Err(h2_error(e))),
                    None => {
                        if *chunked {
                            let trailers = ready!(recv.poll_trailers(cx)).map_err(h2_error)?;
                            self.ready
                                .push_back(Bytes::from(last_chunk(trailers.as_ref())));
                        }
                        self.rx = Rx::Done;
                    }
                },
                Rx::Tunnel(recv) => match ready!(recv.poll_data(cx)) {
                    Some(Ok(data)) => {
                        let _ = recv.flow_control().release_capacity(data.len());
                        if !data.is_empty() {
                            self.ready.push_back(data);
                        }
                    }
                    Some(Err(e)) => return Poll::Ready(Err(h2_error(e))),
                    None => {
                        self.rx = Rx::Done;
                        return Poll::Ready(Ok(()));
                    }
                },
                Rx::Done => return Poll::Ready(Ok(())),
            }
        }
    }

    fn shutdown(&mut self) {
        match &mut self.tx {
            Tx::Tunnel(send) => {
                let _ = send.send_data(Bytes::new(), true);
            }
            Tx::Body { send, .. } => send.send_reset(h2::Reason::CANCEL),
            _ => {}
        }
        self.tx = Tx::Done;
    }
}

/// An HTTP/1.1 request head as an HTTP/2 request.
struct Request {
    http: http::Request<()>,
    /// CONNECT (plain or extended): the stream stays open both ways.
    tunnel: bool,
    /// The protocol of an `Upgrade` request sent as an extended CONNECT.
    upgrade: Option<Bytes>,
}

/// Whether a field never crosses into HTTP/2 (RFC 9113 §8.2.2); `host` becomes
/// `:authority`.
fn connection_specific(name: &[u8]) -> bool {
    name.eq_ignore_ascii_case(b"connection")
        || name.eq_ignore_ascii_case(b"keep-alive")
        || name.eq_ignore_ascii_case(b"proxy-connection")
        || name.eq_ignore_ascii_case(b"transfer-encoding")
        || name.eq_ignore_ascii_case(b"upgrade")
        || name.eq_ignore_ascii_case(b"host")
        || name.eq_ignore_ascii_case(b"http2-settings")
}

fn bad<E>(_: E) -> io::Error {
    broken("request HTTP/2 cannot carry")
}

fn translate(parsed: &RequestHead, buf: &[u8]) -> io::Result<Request> {
    let framing = parsed.framing();
    let target = parsed.target(buf);
    let host = parsed.host(buf);
    let method = http::Method::from_bytes(parsed.method_bytes(buf)).map_err(bad)?;
    let connect = method == http::Method::CONNECT;
    let upgrade = (framing.upgrade != Upgrade::None && !connect)
        .then(|| parsed.header(buf, "upgrade"))
        .flatten()
        .map(|u| {
            // The first protocol offered.
            let first = u.split(|b| *b == b',').next().unwrap_or_default();
            Bytes::copy_from_slice(trim(first))
        })
        .filter(|p| !p.is_empty());
    let uri = if connect {
        http::Uri::builder()
            .authority(target)
            .build()
            .map_err(bad)?
    } else if parsed.target_form() == Some(TargetForm::Absolute) {
        http::Uri::try_from(target).map_err(bad)?
    } else {
        // HAProxy names the scheme `https` when the request did not give one.
        let authority = host.filter(|h| !h.is_empty()).unwrap_or(b"localhost");
        http::Uri::builder()
            .scheme("https")
            .authority(authority)
            .path_and_query(if target == b"*" { &b"/"[..] } else { target })
            .build()
            .map_err(bad)?
    };
    let mut req = http::Request::new(());
    *req.uri_mut() = uri;
    *req.method_mut() = if upgrade.is_some() {
        http::Method::CONNECT
    } else {
        method
    };
    // Fields `connection` names are hop-by-hop too (RFC 9110 §7.6.1).
    let mut named: Vec<&[u8]> = Vec::new();
    for (n, v) in parsed.headers(buf) {
        if n.eq_ignore_ascii_case(b"connection") {
            named.extend(v.split(|b| *b == b',').map(trim).filter(|t| !t.is_empty()));
        }
    }
    let headers = req.headers_mut();
    for (n, v) in parsed.forward_headers(buf) {
        if connection_specific(n) || named.iter().any(|t| t.eq_ignore_ascii_case(n)) {
            continue;
        }
        if n.eq_ignore_ascii_case(b"te") && !trim(v).eq_ignore_ascii_case(b"trailers") {
            continue;
        }
        // RFC 8441: the WebSocket key and its answer are HTTP/1.1's alone.
        if upgrade.is_some() && n.eq_ignore_ascii_case(b"sec-websocket-key") {
            continue;
        }
        let name = HeaderName::from_bytes(n).map_err(bad)?;
        headers.append(name, HeaderValue::from_bytes(v).map_err(bad)?);
    }
    if let Some(p) = &upgrade {
        let protocol = std::str::from_utf8(p).map_err(|_| broken("upgrade protocol"))?;
        req.extensions_mut()
            .insert(h2::ext::Protocol::from(protocol));
    }
    Ok(Request {
        http: req,
        tunnel: connect || upgrade.is_some(),
        upgrade,
    })
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|b| !matches!(b, b' ' | b'\t'));
    let end = s.iter().rposition(|b| !matches!(b, b' ' | b'\t'));
    match (start, end) {
        (Some(a), Some(b)) => s.get(a..=b).unwrap_or_default(),
        _ => &[],
    }
}

/// The HTTP/1.1 head of an interim (1xx) HTTP/2 response.
fn informational_head(resp: &http::Response<()>) -> Vec<u8> {
    let status = resp.status();
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(format!("HTTP/1.1 {} ", status.as_u16()).as_bytes());
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in resp.headers() {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// The HTTP/1.1 head of an HTTP/2 response and what is read after it; `upgrade`: the
/// request was an `Upgrade` sent as an extended CONNECT; `head`: a HEAD request.
fn response_head(
    resp: http::Response<RecvStream>,
    upgrade: Option<&[u8]>,
    head: bool,
    connect: bool,
) -> (Vec<u8>, Rx) {
    let (parts, recv) = resp.into_parts();
    let status = parts.status.as_u16();
    let mut out = Vec::with_capacity(256);
    let tunnel = (upgrade.is_some() || connect) && parts.status.is_success();
    if let (true, Some(protocol)) = (tunnel, upgrade) {
        out.extend_from_slice(
            b"HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: ",
        );
        out.extend_from_slice(protocol);
        out.extend_from_slice(b"\r\n");
    } else {
        out.extend_from_slice(format!("HTTP/1.1 {status} ").as_bytes());
        out.extend_from_slice(parts.status.canonical_reason().unwrap_or("").as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let mut length = false;
    for (name, value) in &parts.headers {
        if name == http::header::CONTENT_LENGTH {
            if tunnel {
                continue;
            }
            length = true;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let bodiless = head || status == 204 || status == 304 || (100..200).contains(&status);
    let next = if tunnel {
        Rx::Tunnel(recv)
    } else if recv.is_end_stream() {
        if !length && !bodiless {
            out.extend_from_slice(b"content-length: 0\r\n");
        }
        Rx::Done
    } else if length || bodiless {
        Rx::Body {
            recv,
            chunked: false,
        }
    } else {
        out.extend_from_slice(b"transfer-encoding: chunked\r\n");
        Rx::Body {
            recv,
            chunked: true,
        }
    };
    out.extend_from_slice(b"\r\n");
    (out, next)
}

impl AsyncRead for H2Server {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.get_mut().read(cx, buf)
    }
}

impl AsyncWrite for H2Server {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        if matches!(
            me.tx,
            Tx::Head {
                complete: Some(_),
                ..
            }
        ) {
            ready!(me.poll_start(cx))?;
        }
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().shutdown();
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> (RequestHead, Vec<u8>) {
        let buf = text.as_bytes().to_vec();
        let mut h = RequestHead::new();
        let config = sluice_http::Config::from_tune(16384, 1024, 101);
        assert!(matches!(h.parse(&buf, &config), Parsed::Complete { .. }));
        (h, buf)
    }

    #[test]
    fn an_http1_request_as_an_http2_one() {
        let (h, buf) = head(
            "POST /up?x=1 HTTP/1.1\r\nHost: a.test\r\nConnection: keep-alive, x-hop\r\n\
             x-hop: 1\r\nTE: trailers\r\nkeep-alive: 5\r\nx-a: b\r\ncontent-length: 3\r\n\r\n",
        );
        let r = translate(&h, &buf).expect("translated");
        assert_eq!(r.http.method(), http::Method::POST);
        assert_eq!(r.http.uri().to_string(), "https://a.test/up?x=1");
        let names: Vec<&str> = r.http.headers().keys().map(|n| n.as_str()).collect();
        assert_eq!(names, ["te", "x-a", "content-length"]);
        assert!(!r.tunnel && r.upgrade.is_none());
    }

    #[test]
    fn connect_and_upgrades() {
        let (h, buf) = head("CONNECT a.test:443 HTTP/1.1\r\nhost: a.test:443\r\n\r\n");
        let r = translate(&h, &buf).expect("translated");
        assert_eq!(r.http.method(), http::Method::CONNECT);
        assert_eq!(r.http.uri().to_string(), "a.test:443");
        assert!(r.tunnel);
        let (h, buf) = head(
            "GET /chat HTTP/1.1\r\nhost: a.test\r\nconnection: upgrade\r\nupgrade: custom\r\n\r\n",
        );
        let r = translate(&h, &buf).expect("translated");
        assert_eq!(r.http.method(), http::Method::CONNECT);
        assert_eq!(r.upgrade.as_deref(), Some(&b"custom"[..]));
        assert_eq!(
            r.http
                .extensions()
                .get::<h2::ext::Protocol>()
                .map(|p| p.as_str()),
            Some("custom")
        );
        assert!(r.tunnel);
    }
}
