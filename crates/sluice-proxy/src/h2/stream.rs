//! One HTTP/2 request stream as an HTTP/1.1 client connection for the HTTP/1 session.
//!
//! Reads yield the request: the translated head, then the DATA frames (as they are with
//! `content-length`, in chunks otherwise, the trailers after the last one), releasing
//! flow-control capacity as they are taken. Once the request is read, reads wait until
//! the response is complete and then end (EOF): the session sees a client that closes
//! after one exchange. Writes take the HTTP/1.1 response: the head becomes HEADERS (1xx
//! heads informational HEADERS), the body DATA as its framing says, chunked trailers
//! trailing HEADERS. A write waits for send capacity, so a slow client slows the server.

use super::request::{self, ReqBody};
use super::response;
use crate::plan::Plan;
use crate::stream::io::{ClientIo, WriteMore};
use crate::tls::TlsInfo;
use ::h2::server::SendResponse;
use ::h2::{Reason, RecvStream, SendStream};
use bytes::{Buf as _, Bytes};
use sluice_http::{Body, ChunkedDecoder, Method, Parsed, ResponseHead};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{ready, Context, Poll, Waker};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Most framing and trailer bytes kept after a chunked body's last payload byte (the
/// chunked decoder bounds trailers to 15360 bytes and a chunk-size line to 4096).
const MAX_TAIL: usize = 24 * 1024;

/// A request stream seen as an HTTP/1.1 client connection.
pub struct StreamIo {
    // A cell: `poll_read_ready` takes `&self` and polls the request body.
    inner: RefCell<Inner>,
    tls: Option<Rc<TlsInfo>>,
    /// Not the connection's first stream (`http-reuse safe`).
    later: bool,
}

struct Inner {
    /// Request bytes ready to be read, in order.
    ready: VecDeque<Bytes>,
    body: ReqBody,
    recv: RecvStream,
    /// The whole request is in `ready` (or was read).
    req_done: bool,
    resp: Resp,
    method: Method,
    /// The request was a CONNECT (plain or extended): a 2xx (or 101) answer opens a tunnel.
    connect: bool,
    plan: Arc<Plan>,
    parsed: ResponseHead,
    /// A read waiting for the end of the response.
    reader: Option<Waker>,
}

enum Resp {
    /// Collecting the head.
    Head {
        buf: Vec<u8>,
        respond: SendResponse<Bytes>,
    },
    Body {
        send: SendStream<Bytes>,
        framed: Framed,
    },
    /// Sent (or reset): anything more is dropped.
    Done,
}

enum Framed {
    Length(u64),
    Chunked {
        decoder: ChunkedDecoder,
        /// Framing bytes since the last payload byte: the trailers at the end.
        tail: Vec<u8>,
        /// `tail` outgrew [`MAX_TAIL`]: the trailers are dropped.
        overflow: bool,
    },
    UntilClose,
}

fn broken(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionReset, what.to_string())
}

fn h2_error(e: ::h2::Error) -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionReset, e)
}

impl StreamIo {
    /// The stream of request `head` (translated), its `body` and its answer handle.
    pub fn new(
        head: Vec<u8>,
        body: ReqBody,
        recv: RecvStream,
        respond: SendResponse<Bytes>,
        method: &http::Method,
        plan: Arc<Plan>,
        (tls, later): (Option<Rc<TlsInfo>>, bool),
    ) -> StreamIo {
        let mut ready = VecDeque::with_capacity(4);
        ready.push_back(Bytes::from(head));
        StreamIo {
            inner: RefCell::new(Inner {
                ready,
                body,
                recv,
                req_done: body == ReqBody::None,
                resp: Resp::Head {
                    buf: Vec::new(),
                    respond,
                },
                method: Method::from_bytes(method.as_str().as_bytes()),
                connect: body == ReqBody::Tunnel,
                plan,
                parsed: ResponseHead::new(),
                reader: None,
            }),
            tls,
            later,
        }
    }
}

impl Inner {
    /// Moves the next DATA frame (or the end of the body) into `ready`.
    fn fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            match ready!(self.recv.poll_data(cx)) {
                Some(Ok(data)) => {
                    let n = data.len();
                    // Taken off the connection: the client may send as much again. The
                    // bytes wait in `ready`, one frame at most.
                    let _ = self.recv.flow_control().release_capacity(n);
                    if n == 0 {
                        continue;
                    }
                    if self.body == ReqBody::Chunked {
                        self.ready.push_back(Bytes::from(format!("{n:x}\r\n")));
                        self.ready.push_back(data);
                        self.ready.push_back(Bytes::from_static(b"\r\n"));
                    } else {
                        self.ready.push_back(data);
                    }
                    return Poll::Ready(Ok(()));
                }
                Some(Err(e)) => return Poll::Ready(Err(h2_error(e))),
                None => {
                    if self.body == ReqBody::Tunnel {
                        // The message ended with the CONNECT head: trailers cannot follow.
                        let trailers = ready!(self.recv.poll_trailers(cx)).map_err(h2_error)?;
                        if trailers.is_some() {
                            self.reset(Reason::PROTOCOL_ERROR);
                            return Poll::Ready(Err(broken("trailers on a tunnel")));
                        }
                    }
                    if self.body == ReqBody::Chunked {
                        let trailers = ready!(self.recv.poll_trailers(cx)).map_err(h2_error)?;
                        if trailers.as_ref().is_some_and(request::forbidden_trailers) {
                            // Framing or routing fields after the body: malformed, as
                            // HAProxy resets such a stream (RFC 9110 §6.5.1).
                            self.reset(Reason::PROTOCOL_ERROR);
                            return Poll::Ready(Err(broken("forbidden trailer field")));
                        }
                        self.ready
                            .push_back(Bytes::from(request::last_chunk(trailers.as_ref())));
                    }
                    self.req_done = true;
                    return Poll::Ready(Ok(()));
                }
            }
        }
    }

    /// Whether the client reset the stream (or the connection is gone), for a read that
    /// waits for the response to end.
    fn poll_reset(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.poll_reset_reason(cx).map(|_| ())
    }

    /// `Ok`: the client reset the stream (RST_STREAM); `Err`: the connection ended.
    fn poll_reset_reason(&mut self, cx: &mut Context<'_>) -> Poll<Result<Reason, ::h2::Error>> {
        match &mut self.resp {
            Resp::Head { respond, .. } => respond.poll_reset(cx),
            Resp::Body { send, .. } => send.poll_reset(cx),
            Resp::Done => Poll::Pending,
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
            if matches!(self.resp, Resp::Done) {
                // One exchange per stream: once answered, what the client may still send
                // (a refused tunnel's bytes) is not another request.
                return Poll::Ready(Ok(()));
            }
            if self.req_done {
                if self.tunnel_half_closed() {
                    // The client ended its side of the tunnel.
                    return Poll::Ready(Ok(()));
                }
                if matches!(self.resp, Resp::Done) {
                    // One exchange per stream: the session sees the client close.
                    return Poll::Ready(Ok(()));
                }
                if self.poll_reset(cx).is_ready() {
                    self.resp = Resp::Done;
                    return Poll::Ready(Err(broken("stream reset by the client")));
                }
                self.reader = Some(cx.waker().clone());
                return Poll::Pending;
            }
            ready!(self.fill(cx))?;
        }
    }

    /// The client ended its side of a tunnel the answer opened. Before the answer, the
    /// client is waiting for it (a CONNECT with END_STREAM on its HEADERS), not gone.
    fn tunnel_half_closed(&self) -> bool {
        self.body == ReqBody::Tunnel && !matches!(self.resp, Resp::Head { .. })
    }

    fn finished(&mut self) {
        self.resp = Resp::Done;
        if let Some(w) = self.reader.take() {
            w.wake();
        }
    }

    /// Resets the stream (`reason`) and ends the response.
    fn reset(&mut self, reason: Reason) {
        match &mut self.resp {
            Resp::Head { respond, .. } => respond.send_reset(reason),
            Resp::Body { send, .. } => send.send_reset(reason),
            Resp::Done => {}
        }
        self.finished();
    }

    fn write(&mut self, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        match &mut self.resp {
            Resp::Head { buf, .. } => {
                buf.extend_from_slice(data);
                self.head()?;
                Poll::Ready(Ok(data.len()))
            }
            Resp::Body { send, .. } => {
                ready!(wait_capacity(send, data.len(), cx))?;
                Poll::Ready(self.body(data))
            }
            Resp::Done => Poll::Ready(Ok(data.len())),
        }
    }

    /// Parses the head collected so far; sends it when complete (informational heads as
    /// they come), then what followed it as body.
    fn head(&mut self) -> io::Result<()> {
        loop {
            let Resp::Head { buf, respond } = &mut self.resp else {
                return Ok(());
            };
            let head_len = match self.parsed.parse(buf, &self.plan.http, self.method) {
                Parsed::Partial => return Ok(()),
                Parsed::Error(_) => {
                    self.reset(Reason::INTERNAL_ERROR);
                    return Err(broken("malformed response head"));
                }
                Parsed::Complete { head_len } => head_len,
            };
            let status = self.parsed.status();
            let framing = *self.parsed.framing();
            let Some(converted) = response::head(&self.parsed, buf) else {
                self.reset(Reason::INTERNAL_ERROR);
                return Err(broken("response head HTTP/2 cannot carry"));
            };
            // The HTTP/1.1 upgrade an extended CONNECT was made into succeeded: the stream is
            // the tunnel (RFC 8441 §5), answered 200.
            let upgraded = status == 101 && self.connect;
            if (100..200).contains(&status) && !upgraded {
                if status == 101 {
                    // No protocol switch on an HTTP/2 stream (RFC 9113 §8.6).
                    self.reset(Reason::PROTOCOL_ERROR);
                    return Err(broken("101 on an HTTP/2 stream"));
                }
                // 100 Continue, 103 Early Hints: informational HEADERS.
                let _ = respond.send_informational(converted);
                buf.drain(..head_len.min(buf.len()));
                continue;
            }
            let framed = match framing.body {
                Body::Tunnel if self.connect => Some(Framed::UntilClose),
                Body::None | Body::Length(0) => None,
                Body::Length(n) => Some(Framed::Length(n)),
                Body::Chunked => Some(Framed::Chunked {
                    decoder: ChunkedDecoder::new(),
                    tail: Vec::new(),
                    overflow: false,
                }),
                Body::UntilClose => Some(Framed::UntilClose),
                Body::Tunnel => {
                    self.reset(Reason::PROTOCOL_ERROR);
                    return Err(broken("tunnel on an HTTP/2 stream"));
                }
            };
            let rest = buf.split_off(head_len.min(buf.len()));
            let mut converted = converted;
            if upgraded {
                *converted.status_mut() = http::StatusCode::OK;
                converted.headers_mut().remove("sec-websocket-accept");
            }
            let sent = respond.send_response(converted, framed.is_none());
            let send = match sent {
                Ok(s) => s,
                Err(e) => {
                    self.finished();
                    return Err(h2_error(e));
                }
            };
            let Some(framed) = framed else {
                self.finished();
                return Ok(());
            };
            self.resp = Resp::Body { send, framed };
            if self.req_done && self.body == ReqBody::Tunnel {
                // A read waiting for the answer now sees the client's side ended.
                if let Some(w) = self.reader.take() {
                    w.wake();
                }
            }
            if !rest.is_empty() {
                // Written with the head: at most one head buffer beyond the window.
                self.body(&rest)?;
            }
            return Ok(());
        }
    }

    /// Sends body bytes as DATA; returns how many of `data` were taken.
    fn body(&mut self, data: &[u8]) -> io::Result<usize> {
        let Resp::Body { send, framed } = &mut self.resp else {
            return Ok(data.len());
        };
        let sent = match framed {
            Framed::Length(left) => {
                let n = usize::try_from(*left).unwrap_or(usize::MAX).min(data.len());
                *left -= n as u64;
                let end = *left == 0;
                let payload = Bytes::copy_from_slice(data.get(..n).unwrap_or_default());
                send.send_data(payload, end).map(|()| {
                    // Bytes past the announced length are not the client's.
                    (if end { data.len() } else { n }, end)
                })
            }
            Framed::UntilClose => send
                .send_data(Bytes::copy_from_slice(data), false)
                .map(|()| (data.len(), false)),
            Framed::Chunked {
                decoder,
                tail,
                overflow,
            } => {
                let mut payload = Vec::new();
                let mut i = 0;
                let mut done = false;
                while i < data.len() {
                    let input = data.get(i..).unwrap_or_default();
                    let Ok(d) = decoder.decode(input) else {
                        send.send_reset(Reason::INTERNAL_ERROR);
                        self.finished();
                        return Err(broken("malformed chunked response body"));
                    };
                    if d.data.is_empty() {
                        let framing = input.get(..d.consumed).unwrap_or_default();
                        if tail.len() + framing.len() <= MAX_TAIL {
                            tail.extend_from_slice(framing);
                        } else {
                            *overflow = true;
                        }
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
                let trailers = if done && !*overflow {
                    response::trailers(tail)
                } else {
                    http::HeaderMap::new()
                };
                let end_with_data = done && trailers.is_empty();
                let mut r = Ok(());
                if !payload.is_empty() || end_with_data {
                    r = send.send_data(Bytes::from(payload), end_with_data);
                }
                if r.is_ok() && done && !trailers.is_empty() {
                    r = send.send_trailers(trailers);
                }
                r.map(|()| (if done { data.len() } else { i }, done))
            }
        };
        match sent {
            Ok((n, end)) => {
                if end {
                    self.finished();
                }
                Ok(n)
            }
            Err(e) => {
                self.finished();
                Err(h2_error(e))
            }
        }
    }

    /// The session is done with the stream: the response ends here.
    fn shutdown(&mut self) {
        match &mut self.resp {
            Resp::Body {
                send,
                framed: Framed::UntilClose,
            } => {
                let _ = send.send_data(Bytes::new(), true);
                self.finished();
            }
            // A chunked body the server cut short ends the stream as it is, as HAProxy
            // does when the server closes before the last chunk.
            Resp::Body {
                send,
                framed: Framed::Chunked { .. },
            } => {
                let _ = send.send_data(Bytes::new(), true);
                self.finished();
            }
            // No (complete) response: the client must not take it for one.
            Resp::Head { .. } | Resp::Body { .. } => self.reset(Reason::INTERNAL_ERROR),
            Resp::Done => {}
        }
    }
}

/// Ready once the stream may send at least one byte (a write is then taken whole: h2
/// keeps what exceeds the window, one write at most).
pub(crate) fn wait_capacity(
    send: &mut SendStream<Bytes>,
    want: usize,
    cx: &mut Context<'_>,
) -> Poll<io::Result<()>> {
    if want == 0 || send.capacity() > 0 {
        return Poll::Ready(Ok(()));
    }
    send.reserve_capacity(want);
    loop {
        match ready!(send.poll_capacity(cx)) {
            Some(Ok(n)) if n > 0 => return Poll::Ready(Ok(())),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Poll::Ready(Err(h2_error(e))),
            None => return Poll::Ready(Err(broken("stream closed"))),
        }
    }
}

impl AsyncRead for StreamIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.get_mut().inner.get_mut().read(cx, buf)
    }
}

impl AsyncWrite for StreamIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().inner.get_mut().write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // DATA goes out as the connection task writes it.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().inner.get_mut().shutdown();
        Poll::Ready(Ok(()))
    }
}

impl WriteMore for StreamIo {}

impl ClientIo for StreamIo {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Ok(mut inner) = self.inner.try_borrow_mut() else {
            return Poll::Ready(Ok(()));
        };
        loop {
            if !inner.ready.is_empty() || matches!(inner.resp, Resp::Done) {
                return Poll::Ready(Ok(()));
            }
            if inner.req_done && inner.tunnel_half_closed() {
                return Poll::Ready(Ok(()));
            }
            if inner.req_done {
                // A read would wait for the response: readable only when the client resets
                // the stream (CANCEL...). A connection that merely ended after a complete
                // request (the client sent it and closed) does not abandon it, as in
                // HAProxy, whose HTTP/2 streams see the end of the connection as the end of
                // input: the crate then reports an I/O error, or NO_ERROR when it closes
                // the connection itself.
                if let Poll::Ready(Ok(reason)) = inner.poll_reset_reason(cx) {
                    if reason != Reason::NO_ERROR {
                        return Poll::Ready(Ok(()));
                    }
                }
                inner.reader = Some(cx.waker().clone());
                return Poll::Pending;
            }
            if let Err(e) = ready!(inner.fill(cx)) {
                return Poll::Ready(Err(e));
            }
        }
    }

    fn tls(&self) -> Option<&Rc<TlsInfo>> {
        self.tls.as_ref()
    }

    fn later_stream(&self) -> bool {
        self.later
    }

    fn http_major(&self) -> i64 {
        2
    }
}
