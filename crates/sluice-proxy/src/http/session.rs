//! One HTTP/1.1 client connection: a loop of exchanges (request in, response out) until
//! either side closes, a timeout fires or the worker stops.
//!
//! Per exchange: read the head (`timeout http-request`), route it ([`super::rules`]), take a
//! server connection (idle or new, with retries), send the head and stream the body as it
//! is framed, read the response head (`timeout server`: 504), send it and stream its body,
//! then keep both connections or close them. Pipelined requests wait in the client buffer
//! and are answered in order. Between requests the connection holds no buffer.

use super::abort::{self, Early};
use super::head::{self, RequestOut};
use super::rules::{self, Decision};
use super::Scratch;
use crate::backend::connect::{acquire, Acquired, Dest, Own, Progress};
use crate::backend::retry;
use crate::backend::Reuse;
use crate::check::observe::{report as observe, Event};
use crate::counters::Counter;
use crate::error::{Error, ErrorKind, Side};
use crate::errors::{ErrorPages, Pages};
use crate::frontend::Frontend;
use crate::http::buf::Buf;
use crate::http::forwardfor::ForwardFor;
use crate::plan::{ConnMode, Plan};
use crate::stream::idle::{IdleEnd, ReadableOrIdle};
use crate::stream::io::ClientIo;
use crate::stream::io::WriteMore;
use crate::stream::ioutil::{read_into, within, write_all, write_all_more, write_two};
use crate::stream::log::{self as log, emit, Record};
use crate::stream::{Addrs, Ctx};
use crate::tcp::relay::{self, relay};
use crate::tls::connector::{ServerStream, Sni};
use crate::worker::StopLevel;
use sluice_balance::{Kind, RequestKey};
use sluice_http::{Body, ChunkedDecoder, Method, Parsed, ResponseHead, Upgrade, Version};
use sluice_rules::{HttpMux, StreamChanges, TimeoutKind, Vars};
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadBuf};
use tokio::time::Instant;

/// The interim answer to `Expect: 100-continue`.
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// A 103 Early Hints response with `fields`.
fn early_hints(fields: &[(Box<[u8]>, Vec<u8>)]) -> Vec<u8> {
    let mut out = b"HTTP/1.1 103 Early Hints\r\n".to_vec();
    for (name, value) in fields {
        out.extend_from_slice(name);
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// What to do after an exchange.
enum Next {
    KeepAlive,
    Close,
}

/// Runs one HTTP-mode client connection.
///
/// Takes the thread's context by value: the connection's task is this future, built before
/// the task (see [`crate::stream::serve`]), so nothing else keeps the arguments. Not an
/// `async fn` of its own: an outer future awaiting [`requests`] would keep its arguments
/// beside the inner one in every idle connection's task.
pub fn run<S: ClientIo>(
    ctx: Rc<Ctx>,
    fe_idx: usize,
    client: S,
    addrs: Addrs,
) -> impl std::future::Future<Output = ()> {
    requests(ctx, fe_idx, client, addrs)
}

/// Serves a TCP stream that became HTTP (`tcp-request content switch-mode http`, or a TCP
/// frontend's stream routed to an HTTP backend) from its bytes in `scratch`, as HAProxy
/// upgrades it in place: the first request goes on with the TCP stream's transaction
/// (`scratch.txn`: the content rules' variables and trackers; those rules do not run again
/// for it), later requests are ordinary ones. With `mux` HTTP/2 (`proto h2`), or without a
/// `proto` when the client sends the HTTP/2 preface, the connection becomes HTTP/2.
///
/// Its caller boxes it: its size does not weigh on ordinary HTTP connections.
pub async fn run_switched<S: ClientIo>(
    ctx: Rc<Ctx>,
    fe_idx: usize,
    client: S,
    peers: (Addrs, Addrs),
    scratch: Box<Scratch>,
    mux: HttpMux,
) {
    if mux == HttpMux::H2 {
        let h2 = Box::pin(crate::h2::conn::upgrade(
            ctx,
            fe_idx,
            client,
            peers.0,
            Some(scratch),
        ));
        return h2.await;
    }
    let switched = Box::new(Switched {
        peers,
        scratch,
        mux,
    });
    requests(ctx, fe_idx, client, switched).await
}

/// A TCP stream switched to HTTP: its addresses, its bytes and transaction, its `proto`.
struct Switched {
    peers: (Addrs, Addrs),
    scratch: Box<Scratch>,
    mux: HttpMux,
}

/// A connection's addresses (session, connection), the bytes already read, its `proto`.
struct Begun {
    peers: (Addrs, Addrs),
    scratch: Option<Box<Scratch>>,
    mux: HttpMux,
}

/// How a connection's requests begin: a connection just accepted (its [`Addrs`]: the
/// session rules run first) or a [`Switched`] TCP stream. A type parameter rather than an
/// enum: an argument stays in the task for the connection's life, and ordinary connections
/// should not carry room for the other kind.
trait Start {
    /// Where the connection starts; `None` when the session rules refuse it.
    fn begin<S: ClientIo>(
        self,
        plan: &Plan,
        fe_idx: usize,
        fe: &Frontend,
        client: &S,
        state: &mut Option<Box<ConnState>>,
    ) -> Option<Begun>;
}

impl Start for Addrs {
    fn begin<S: ClientIo>(
        self,
        plan: &Plan,
        fe_idx: usize,
        fe: &Frontend,
        client: &S,
        state: &mut Option<Box<ConnState>>,
    ) -> Option<Begun> {
        // The session's addresses and the connection's own (the session's unless a PROXY
        // header said otherwise), one pair for the connection's life: every copy of them
        // would sit in the task of every idle connection.
        let own = client.meter().and_then(|m| m.connection_addrs());
        let (accepted, vars) =
            crate::tcp::rules::on_session(plan, fe_idx, self, own.unwrap_or(self))?;
        if !vars.is_empty() {
            *state = Some(Box::new(ConnState { own: None, vars }));
        }
        // `bind ... proto h1`: the HTTP/2 preface is no request there (a 400), as in HAProxy.
        let mux = match fe.bind_proto(client.meter().and_then(|m| m.socket.bind)) {
            Some(crate::frontend::BindProto::H1) => HttpMux::H1,
            _ => HttpMux::Auto,
        };
        Some(Begun {
            peers: (accepted.session, accepted.fc),
            scratch: None,
            mux,
        })
    }
}

impl Start for Box<Switched> {
    fn begin<S: ClientIo>(
        self,
        _: &Plan,
        _: usize,
        _: &Frontend,
        _: &S,
        _: &mut Option<Box<ConnState>>,
    ) -> Option<Begun> {
        let Switched {
            peers,
            scratch,
            mux,
        } = *self;
        Some(Begun {
            peers,
            scratch: Some(scratch),
            mux,
        })
    }
}

/// The connection's requests, one exchange after the other.
async fn requests<S: ClientIo, B: Start>(ctx: Rc<Ctx>, fe_idx: usize, mut client: S, start: B) {
    let plan = ctx.plan.clone();
    let Some(fe) = plan.frontend(fe_idx) else {
        return;
    };
    // What the connection keeps between requests, boxed and only when there is something
    // (its own server connection, session variables): 8 bytes in the idle task.
    let mut state: Option<Box<ConnState>> = None;
    // `scratch`: bytes already read (a stream switched from TCP).
    let Some(Begun {
        peers,
        mut scratch,
        mux,
    }) = start.begin(&plan, fe_idx, fe, &client, &mut state)
    else {
        return;
    };
    let mut first = true;
    // The first request of a stream switched from TCP carries on its transaction.
    let mut resumed = scratch.is_some();
    loop {
        let buffered = scratch
            .as_ref()
            .is_some_and(|s| resumed || !s.cbuf.is_empty());
        if !buffered {
            if let Some(s) = scratch.take() {
                ctx.give_scratch(s);
            }
            let wait = if first {
                fe.http_request.or(fe.client)
            } else {
                fe.http_keep_alive.or(fe.http_request).or(fe.client)
            };
            // A soft stop closes idle keep-alive connections, but a connection accepted before
            // it has its first request on the way: that one is served (with `connection:
            // close`), or a reload would answer it with nothing. Only a hard stop cuts it.
            let until = if first {
                StopLevel::Hard
            } else {
                StopLevel::Soft
            };
            match idle_wait(&ctx, &mut client, wait, until).await {
                Ok(s) => scratch = Some(s),
                Err(Idle::Ended(IdleEnd::Timeout)) => {
                    if first {
                        log::early(fe_idx, peers.0, client.meter(), 408, *b"cR");
                        // Boxed, as the exchange: kept out of the idle connection's task. Built
                        // in its own statement: a temporary lives to the end of its statement,
                        // and one that spans an `.await` takes room in the task.
                        let timeout_reply =
                            Box::pin(reply(&ctx, &mut client, &fe.errors, 408, fe, None));
                        timeout_reply.await;
                    }
                    break;
                }
                Err(Idle::Closed) => {
                    // A client that leaves before its first request: HAProxy logs a 400
                    // `CR` (`option dontlognull` leaves it out).
                    if first {
                        log::early(fe_idx, peers.0, client.meter(), 400, *b"CR");
                    }
                    break;
                }
                Err(Idle::Ended(_)) => break,
            }
        }
        // HTTP/2 with prior knowledge on an HTTP/1 bind: HAProxy switches on the preface.
        if first && crate::h2::preface::starts(scratch.as_ref().map_or(&[], |s| s.cbuf.filled())) {
            if mux == HttpMux::H1 {
                // `proto h1`: the preface is no HTTP/1 request.
                log::early(fe_idx, peers.0, client.meter(), 400, *b"PR");
                let refusal = Box::pin(reply(&ctx, &mut client, &fe.errors, 400, fe, None));
                refusal.await;
                break;
            }
            // Boxed, as the exchange, and given `peers` (kept anyway), not `addrs`: the
            // HTTP/1 connection's task keeps its size.
            let h2 = Box::pin(crate::h2::conn::upgrade(
                ctx, fe_idx, client, peers.0, scratch,
            ));
            h2.await;
            return;
        }
        let s = scratch.get_or_insert_with(|| ctx.take_scratch());
        // Boxed: the exchange's state (~2.5 KiB: every step's locals and nested futures)
        // exists only while a request is in flight, instead of inflating the task that an
        // idle connection keeps. Costs one allocation per request (~100 instructions).
        let exchange = Box::pin(exchange_owning(
            &ctx,
            fe,
            &mut client,
            peers,
            s,
            &mut state,
            (first, resumed),
        ));
        match exchange.await {
            Next::KeepAlive => {
                first = false;
                resumed = false;
            }
            Next::Close => break,
        }
    }
    if let Some(s) = scratch {
        ctx.give_scratch(s);
    }
    // Send our FIN before closing, so that a response is not cut by a reset.
    let _ = tokio::time::timeout(Duration::from_secs(1), client.shutdown()).await;
}

/// Why an idle connection stopped waiting without a request's first bytes.
enum Idle {
    /// The client closed.
    Closed,
    /// A timeout, a stop or a socket error.
    Ended(IdleEnd),
}

/// Waits for the first bytes of a request holding neither a buffer nor a timer: readiness
/// is the socket's, the deadline and the stop are a slot in the thread's idle table
/// ([`ReadableOrIdle`]). A buffer is taken only when a read succeeds (readiness can be
/// reported before data is there), and given back otherwise.
async fn idle_wait<S: ClientIo>(
    ctx: &Ctx,
    client: &mut S,
    wait: Option<Duration>,
    until: StopLevel,
) -> Result<Box<Scratch>, Idle> {
    let deadline = wait.map(|d| Instant::now() + d);
    loop {
        ReadableOrIdle::new(ctx, client, deadline, until)
            .await
            .map_err(Idle::Ended)?;
        let mut s = ctx.take_scratch();
        let polled = std::future::poll_fn(|cx| {
            let mut rb = ReadBuf::new(s.cbuf.spare());
            let p = Pin::new(&mut *client).poll_read(cx, &mut rb);
            let n = rb.filled().len();
            Poll::Ready(p.map(|r| r.map(|()| n)))
        })
        .await;
        match polled {
            Poll::Ready(Ok(0)) => {
                ctx.give_scratch(s);
                return Err(Idle::Closed);
            }
            Poll::Ready(Ok(n)) => {
                s.cbuf.commit(n);
                return Ok(s);
            }
            Poll::Ready(Err(_)) => {
                ctx.give_scratch(s);
                return Err(Idle::Ended(IdleEnd::Failed));
            }
            // Not readable after all: readiness is now cleared, wait again bufferless.
            Poll::Pending => ctx.give_scratch(s),
        }
    }
}

/// Sends one of Sluice's error responses (`pages`: the backend's, or the frontend's before
/// a backend is chosen) and asks for the connection to close. An `errorloc` redirect keeps
/// the connection open, as a `redirect` does, when `keep` says how many bytes of the
/// client buffer the (bodiless, keep-alive) request still holds.
async fn reply<S: ClientIo>(
    ctx: &Ctx,
    client: &mut S,
    pages: &ErrorPages,
    status: u16,
    fe: &Frontend,
    keep: Option<(&mut Buf, usize)>,
) -> Next {
    reply_after(ctx, client, pages, status, fe, keep, false).await
}

/// [`reply`], saying whether a connection to a server was attempted (`when(forwarded)`).
async fn reply_after<S: ClientIo>(
    ctx: &Ctx,
    client: &mut S,
    pages: &ErrorPages,
    status: u16,
    fe: &Frontend,
    keep: Option<(&mut Buf, usize)>,
    forwarded: bool,
) -> Next {
    ctx.count(Counter::ErrorResponses);
    let pages = Pages {
        own: pages,
        frontend: &fe.errors,
    };
    let page = pages.get(status);
    let redirect = pages.is_redirect(status);
    let keep = keep.filter(|_| redirect && !ctx.stopping());
    let closing;
    let page = if redirect && keep.is_none() {
        closing = crate::errors::with_close(page);
        &closing[..]
    } else {
        page
    };
    // `http-after-response` rules apply to Sluice's own responses too.
    let after = ctx
        .plan
        .rules(fe.index)
        .is_some_and(|r| !r.compiled.http_after_response.is_empty());
    let sent = if after {
        let meter = client.meter().cloned();
        let mut conn = rules::Conn::new(&ctx.plan, fe.index, Addrs::default());
        conn.proxy_tlvs = meter.as_deref().map_or(&[][..], |m| m.proxy_tlvs());
        conn.meter = meter.as_deref();
        conn.events.error = true;
        conn.events.forwarded = forwarded;
        conn.http_major = client.http_major();
        let mut txn = sluice_rules::Txn::new();
        let bytes = rules::finish(&ctx.plan, &conn, &mut txn, page.to_vec(), keep.is_none());
        write_all(client, &bytes, fe.client, Side::Client).await
    } else {
        write_all(client, page, fe.client, Side::Client).await
    };
    match keep {
        Some((cbuf, used)) if sent.is_ok() => {
            cbuf.consume(used);
            Next::KeepAlive
        }
        _ => Next::Close,
    }
}

/// The status to answer when the server side failed before a response head came.
fn status_for(e: &Error) -> u16 {
    match (e.kind, e.side) {
        (ErrorKind::NoServer, _) | (ErrorKind::Connect, _) => 503,
        (ErrorKind::Timeout, Side::Server) if e.retryable => 503,
        (ErrorKind::Timeout, Side::Server) => 504,
        (ErrorKind::Timeout, Side::Client) => 408,
        (_, Side::Client) => 400,
        _ => 502,
    }
}

/// What a client connection keeps between its requests.
#[derive(Default)]
struct ConnState {
    /// Its own idle server connection (`http-reuse never`).
    own: Option<Own>,
    /// The session's variables (`sess.*`).
    vars: Vars,
}

/// [`exchange`] with the connection's state unboxed for its length: its own idle server
/// connection, and its session variables moved into the transaction and back.
async fn exchange_owning<S: ClientIo>(
    ctx: &Rc<Ctx>,
    fe: &Frontend,
    client: &mut S,
    peers: (Addrs, Addrs),
    s: &mut Scratch,
    state: &mut Option<Box<ConnState>>,
    (first, resumed): (bool, bool),
) -> Next {
    // The scratch area served other connections: none of their variables may show.
    let mut kept = state.take();
    let mut mine = match kept.as_mut() {
        Some(k) => {
            s.txn.vars.put_session(&mut k.vars);
            k.own.take()
        }
        // A stream switched from TCP: its transaction is its own and goes on.
        None if resumed => None,
        None => {
            s.txn.vars.clear();
            None
        }
    };
    crate::stick::exchange_starts(&mut s.txn, client.meter(), s.cbuf.filled().len());
    let next = exchange(ctx, fe, client, peers, s, &mut mine, (first, resumed)).await;
    crate::stick::exchange_ends(&mut s.txn, client.meter());
    if mine.is_some() || s.txn.vars.has_session() {
        let k = kept.get_or_insert_with(Default::default);
        s.txn.vars.take_session(&mut k.vars);
        k.own = mine;
        *state = kept;
    }
    next
}

/// One request and its response. `peers`: the session's addresses (rules may change them
/// for this request) and the client connection's own (`fc_src`, `fc_dst`). `first`: the
/// connection's first request; `resumed`: the first of a stream switched from TCP.
async fn exchange<S: ClientIo>(
    ctx: &Rc<Ctx>,
    fe: &Frontend,
    client: &mut S,
    peers: (Addrs, Addrs),
    s: &mut Scratch,
    own: &mut Option<Own>,
    (first, resumed): (bool, bool),
) -> Next {
    let (mut addrs, fc) = peers;
    let plan = ctx.plan.clone();
    // Owned so that rules can see it while the client is read and written.
    let tls = client.tls().cloned();
    // Likewise the TLVs of the PROXY v2 header the connection started with (`fc_pp_tlv`).
    let meter = client.meter().cloned();
    let proxy_tlvs = meter.as_deref().map_or(&[][..], |m| m.proxy_tlvs());
    let Scratch {
        cbuf,
        sbuf,
        out,
        req,
        resp,
        chunks,
        edits,
        txn,
        uid,
    } = s;

    // 1. The request head, within `timeout http-request` from its first byte.
    let deadline = fe.http_request.map(|d| Instant::now() + d);
    loop {
        if !cbuf.is_empty() {
            match req.parse(cbuf.filled(), &fe.http) {
                Parsed::Complete { .. } => {
                    // An HTTP/2 stream's request, translated: `HTTP/2.0` for rules and logs.
                    if client.http_major() == 2 {
                        req.mark_http2();
                    }
                    break;
                }
                Parsed::Error(e) => {
                    log::early(fe.index, addrs, client.meter(), e.request_status(), *b"PR");
                    return reply(ctx, client, &fe.errors, e.request_status(), fe, None).await;
                }
                Parsed::Partial => {
                    if cbuf.len() >= plan.http.max_head_len || cbuf.is_full() {
                        log::early(fe.index, addrs, client.meter(), 400, *b"PR");
                        return reply(ctx, client, &fe.errors, 400, fe, None).await;
                    }
                }
            }
        }
        let read = client.read(cbuf.spare());
        let n = match deadline {
            Some(d) => match tokio::time::timeout_at(d, read).await {
                Ok(r) => r.map_err(|e| Error::io(Side::Client, &e)),
                Err(_) => {
                    log::early(fe.index, addrs, client.meter(), 408, *b"cR");
                    return reply(ctx, client, &fe.errors, 408, fe, None).await;
                }
            },
            None => within(fe.client, Side::Client, read).await,
        };
        match n {
            Ok(0) | Err(_) => {
                log::early(fe.index, addrs, client.meter(), 400, *b"CR");
                return Next::Close;
            }
            Ok(n) => cbuf.commit(n),
        }
    }
    if super::monitor::is_monitor(plan.monitor_uri(fe.index), req.target(cbuf.filled())) {
        let failing = rules::monitor_fails(&plan, fe.index, addrs, req, cbuf.filled());
        let status = if failing { 503 } else { 200 };
        return reply(ctx, client, &fe.errors, status, fe, None).await;
    }
    ctx.count(Counter::Requests);
    crate::gauges::on_request(&plan, fe.index);
    let mut record = Record::start(fe.index, addrs, client.meter(), true);
    record.on_request(req, cbuf.filled());
    uid.clear();
    let head_len = req.head_len();
    let framing = *req.framing();
    let method = req.method();
    let client_v10 = req.version() == Some(Version::Http10);
    // `option http-buffer-request`, `http-request wait-for-body`: the body joins the head
    // in the buffer before the rules run (see `super::body`).
    let probe = rules::RequestIn::new(req, cbuf.filled(), (addrs, fc), tls.as_deref(), first, uid);
    let body_wait = super::body::request_wait(&plan, fe, &probe);
    // A client that waits for a 100 before it sends the body gets it from us; the server
    // then gets the body without the `Expect` header.
    let continued = body_wait.is_some() && framing.expect_continue;
    if continued
        && write_all(client, CONTINUE, fe.client, Side::Client)
            .await
            .is_err()
    {
        return Next::Close;
    }
    if let Some(w) = body_wait {
        let waited = super::body::wait(client, cbuf, head_len, framing.body, w, fe.client).await;
        if let Some((status, term)) = super::body::request_failure(waited) {
            record.answer(status, term);
            if status == 0 {
                emit(&record);
                return Next::Close;
            }
            let next = reply(ctx, client, &fe.errors, status, fe, None).await;
            emit(&record);
            return next;
        }
    }
    let whole_body = body_wait.and_then(|_| {
        super::body::whole_len(
            cbuf.filled().get(head_len..).unwrap_or_default(),
            framing.body,
        )
    });
    let body = body_wait.map(|_| {
        super::body::payload(
            cbuf.filled().get(head_len..).unwrap_or_default(),
            framing.body,
        )
    });

    // 2. Rules, routing and the request head for the server. Without rules in the
    // frontend and its backend, none of this runs.
    let mut be_choice = rules::route_static(fe);
    let mut forced = None;
    // A normalised absolute-form or CONNECT target goes through the edited head too.
    let ruled = rules::needed(&plan, fe.index, be_choice) || req.normalization().is_some();
    if ruled {
        // A body the rules waited for and that is all here is skipped after an answer.
        let keep_alive = framing.keep_alive
            && (framing.body == Body::None || whole_body.is_some())
            && fe.conn_mode != ConnMode::Close
            && !ctx.stopping();
        // In a block of its own: the input is not kept across the waits below, which keeps
        // the exchange's future small.
        let decision = {
            let input = rules::RequestIn {
                req,
                buf: cbuf.filled(),
                addrs,
                fc,
                keep_alive,
                tls: tls.as_deref(),
                first,
                socket: client.meter().map(|m| m.socket).unwrap_or_default(),
                uid,
                proxy_tlvs,
                body: body
                    .as_deref()
                    .map(|b| (b, super::body::announced(framing.body))),
                meter: client.meter().map(|m| &**m),
                http_major: client.http_major(),
                resumed,
            };
            rules::request(&plan, fe, &input, edits, txn)
        };
        crate::log::on_vars(&mut record, txn);
        // `http-request pause`: the analysis waits before it goes on.
        if !txn.changes.pause.is_zero() && !wait_or_stop(ctx, txn.changes.pause).await {
            return Next::Close;
        }
        // `set-src`, `set-dst`...: the request goes on (and is logged) with its new addresses.
        addrs = crate::tcp::rules::changed(addrs, txn);
        record.client = addrs.peer;
        record.local = addrs.local;
        record.changes = txn.changes;
        match decision {
            Decision::Forward { backend, server } => {
                be_choice = Some(backend);
                forced = server;
                // `early-hint`: a 103 goes to the client before the request goes on (not
                // to an HTTP/1.0 client, which knows no interim responses).
                if !txn.early_hints.is_empty() && !client_v10 {
                    let hints = early_hints(&txn.early_hints);
                    if write_all(client, &hints, fe.client, Side::Client)
                        .await
                        .is_err()
                    {
                        return Next::Close;
                    }
                }
            }
            Decision::Respond { bytes, close } => {
                record.local_reply(&bytes);
                emit(&record);
                let sent = write_all(client, &bytes, fe.client, Side::Client).await;
                if close || sent.is_err() {
                    return Next::Close;
                }
                cbuf.consume(head_len + whole_body.unwrap_or(0));
                return Next::KeepAlive;
            }
            Decision::Tarpit {
                bytes,
                delay,
                close,
            } => {
                if let Some(d) = delay {
                    if !wait_or_stop(ctx, d).await {
                        return Next::Close;
                    }
                }
                record.local_reply(&bytes);
                record.term = Some(*b"PT");
                emit(&record);
                let sent = write_all(client, &bytes, fe.client, Side::Client).await;
                if close || sent.is_err() {
                    return Next::Close;
                }
                cbuf.consume(head_len);
                return Next::KeepAlive;
            }
            Decision::Close => {
                // `reject` by a content rule: logged as a request the proxy refused.
                record.answer(0, *b"PR");
                emit(&record);
                return Next::Close;
            }
        }
    }
    let Some((be_idx, be)) = be_choice.and_then(|i| Some((i, plan.backend(i)?))) else {
        record.answer(503, *b"SC");
        let keepable =
            framing.keep_alive && framing.body == Body::None && fe.conn_mode != ConnMode::Close;
        let keep = keepable.then_some((cbuf, head_len));
        let next = reply(ctx, client, &fe.errors, 503, fe, keep).await;
        emit(&record);
        return next;
    };
    record.backend = Some(be_idx);
    // An HTTP stream (a TCP frontend's after `switch-mode http`, or a backend chosen by
    // name at run time) cannot go to a TCP backend: HAProxy fails the stream with a 500.
    if be.mode != sluice_model::Mode::Http {
        record.answer(500, *b"IR");
        let next = reply(ctx, client, &fe.errors, 500, fe, None).await;
        emit(&record);
        return next;
    }
    // `set-timeout`: the stream's timeouts from now on.
    let changes = if ruled {
        txn.changes
    } else {
        StreamChanges::default()
    };
    let mut client_to = changes.timeout(TimeoutKind::Client).or(fe.client);
    let mut server_to = changes.timeout(TimeoutKind::Server).or(be.server);
    // Each side follows its own proxy, as in HAProxy 3.x: the frontend's `httpclose` closes
    // the client connection; the server connection closes for the backend's `httpclose` or
    // `http-server-close`, or the frontend's `http-server-close`.
    let server_close = be.conn_mode != ConnMode::KeepAlive || fe.conn_mode == ConnMode::ServerClose;
    // `option http-no-delay`: no `MSG_MORE` in the middle of a body.
    let corked = !(fe.http_no_delay || be.http_no_delay);
    let upgrade = framing.upgrade != Upgrade::None;
    let mut client_close = fe.conn_mode == ConnMode::Close || !framing.keep_alive;
    // An error answered in place of the response may leave the connection open (`errorloc`).
    let keepable = !client_close && framing.body == Body::None && !upgrade;
    let forwardfor = addrs
        .peer
        .and_then(|p| ForwardFor::combine(fe.forwardfor.as_ref(), be.forwardfor.as_ref(), p.ip()));
    // `unique-id-format`: the ID the header and the log line carry (made here if needed).
    let uid_in = rules::RequestIn {
        socket: client.meter().map(|m| m.socket).unwrap_or_default(),
        proxy_tlvs,
        ..rules::RequestIn::new(req, cbuf.filled(), (addrs, fc), tls.as_deref(), first, uid)
    };
    let edits_now = ruled.then_some(&mut *edits);
    let unique_id = rules::unique_id(
        &plan,
        fe,
        Some(be_idx),
        &uid_in,
        edits_now,
        txn,
        &mut record,
    );
    head::request(
        out,
        req,
        cbuf.filled(),
        &RequestOut {
            forwardfor,
            originalto: plan.original_to(fe.index, be_idx, addrs.local.map(|a| a.ip())),
            unique_id,
            close: server_close && !be.pretend_keepalive,
            upgrade,
            edits: ruled.then_some(&*edits),
        },
    );
    if continued {
        super::body::drop_expect(out);
    }
    // `compression`: the coding the client accepts, as the head goes to the server.
    let comp_offer = super::compression::negotiate::for_request(&plan, fe.index, be_idx, out);
    // `compression direction request|both`: the request body, compressed towards the server.
    let req_coding = super::compression::request::for_request(
        &plan,
        (fe.index, be_idx),
        &framing,
        out,
        !client_v10,
    );
    // `cookie`: the server a persistence cookie names (read, and edited, in the head sent).
    let sticky = be
        .cookie
        .as_ref()
        .map(|c| c.request(out))
        .unwrap_or_default();

    // 3. A server connection.
    record.connecting();
    // The first request of a client connection gets a server connection of its own
    // (HAProxy's "safe": the client retries a failed later request as it would with
    // keep-alive), or with "aggressive" one that served several requests already.
    let later = !first || client.later_stream();
    let replayable = framing.body == Body::None;
    let reuse = match be.reuse {
        Reuse::Never => false,
        Reuse::Safe => later,
        Reuse::Aggressive | Reuse::Always => true,
    };
    let proven_only = be.reuse == Reuse::Aggressive && !later;
    // `option abortonclose`: the client is watched while the request waits for a server;
    // what it sends meanwhile waits in `early` (the head is in use) for the client buffer.
    let progress = Progress::default();
    let mut early = Early::new(if be.abortonclose {
        cbuf.spare().len()
    } else {
        0
    });
    let acquired = {
        let buf = cbuf.filled();
        let mut key = RequestKey::new();
        if let Some(p) = addrs.peer {
            key = key.with_source(p.ip());
        }
        let uri = if ruled { edits.uri() } else { None };
        key = key.with_uri(uri.unwrap_or(req.target(buf)));
        if let Kind::Hdr { name, .. } = &be.balance.kind {
            if let Some(v) = req.header(buf, name) {
                key = key.with_header(v);
            }
        }
        // The stream, for the TLVs of the PROXY v2 headers the backend sends (the request
        // as received: rules' edits to its head are not seen there).
        let mut no_edits = head::Edits::default();
        let pp_msg = head::Msg::request(req, buf, &mut no_edits);
        let pp_conn = be.proxy_v2.then(|| {
            let mut c = rules::Conn::new(&plan, fe.index, addrs);
            c.fc = fc;
            c.tls = tls.as_deref();
            c.be = Some(be_idx);
            c.first_req = first;
            c.uid = Some(&*uid);
            c.socket = meter.as_deref().map(|m| m.socket).unwrap_or_default();
            c.proxy_tlvs = proxy_tlvs;
            c
        });
        let pp_stream = pp_conn.as_ref().map(|c| sluice_rules::Stream {
            conn: c,
            request: Some(&pp_msg),
            response: None,
            vars: Some(&txn.vars),
            changes: Some(&txn.changes),
            captures: Some(&txn.captures),
        });
        let dest = Dest {
            pin: forced.or(sticky.server),
            sni: request_sni(be.sni.as_ref(), req, buf, tls.as_deref()),
            connect: changes.timeout(TimeoutKind::Connect),
            queue: changes.timeout(TimeoutKind::Queue),
            retries: changes.retries,
            stream: pp_stream
                .as_ref()
                .map(|s| s as &dyn sluice_rules::SampleSource),
            client_tls: tls.as_deref(),
            proven_only,
            progress: Some(&progress),
            ..Dest::new(addrs)
        };
        // The attempt built in each branch, not before: a shared local would keep its
        // own room in the exchange's state beside the branch's future.
        if be.abortonclose {
            let acquiring = acquire(ctx, be_idx, &dest, &key, reuse, own);
            abort::unless_client_leaves(client, &mut early, acquiring).await
        } else {
            Ok(acquire(ctx, be_idx, &dest, &key, reuse, own).await)
        }
    };
    early.into_buf(cbuf);
    let Ok(acquired) = acquired else {
        // The client left first: nothing was sent, nothing is answered.
        abort::record_abandoned(&mut record, &progress);
        emit(&record);
        return Next::Close;
    };
    abort::left_queue(&mut record, &progress);
    let mut conn: Acquired = match acquired {
        Ok(c) => c,
        Err(e) => {
            record.connect_failed(e);
            let keep = keepable.then_some((cbuf, head_len));
            // A connection was attempted unless no server could be chosen.
            let tried = e.kind != crate::error::ErrorKind::NoServer;
            let next = reply_after(ctx, client, &be.errors, status_for(&e), fe, keep, tried).await;
            emit(&record);
            return next;
        }
    };
    record.connected(conn.server);

    // 4. Send the head and what of the body is here; replay a bodiless request once on a
    // new connection when an idle one turns out closed.
    let (first_body, mut body_done) = match framing.body {
        Body::Length(n) => {
            let k = usize::try_from(n)
                .unwrap_or(usize::MAX)
                .min(cbuf.len() - head_len);
            (k, k as u64 == n)
        }
        Body::Chunked => {
            *chunks = ChunkedDecoder::new().drop_trailers(be.drop_request_trailers);
            match forward_chunks(chunks, cbuf, head_len) {
                Ok(f) => (f.len, f.done),
                Err(_) => return reply(ctx, client, &fe.errors, 400, fe, None).await,
            }
        }
        _ => (0, true),
    };
    // A compressed request body goes through the encoder from its first byte.
    let first_body = if req_coding.is_some() {
        body_done = false;
        0
    } else {
        first_body
    };
    let expect = framing.expect_continue && !body_done && !continued;
    // The head leaves the client buffer below: a replay needs its own copy of the name.
    let retry_sni: Option<Box<[u8]>> = be.sni.as_ref().and_then(|_| {
        request_sni(be.sni.as_ref(), req, cbuf.filled(), tls.as_deref()).map(Into::into)
    });
    let mut consumed = false;
    let mut tries = 0;
    sbuf.clear();
    loop {
        let body_now = if consumed {
            &[][..]
        } else {
            cbuf.filled()
                .get(head_len..head_len + first_body)
                .unwrap_or_default()
        };
        let sent = write_two(&mut conn.stream, out, body_now, server_to, Side::Server).await;
        if !consumed {
            cbuf.consume(head_len + first_body);
            consumed = true;
        }
        let mut result = sent;
        let mut head_read = false;
        if result.is_ok() && !body_done {
            let left = remaining(framing.body, first_body);
            if expect {
                // Wait for the server's 100 (or final answer), but send the body as soon
                // as the client sends it anyway, as HAProxy does.
                let early = tokio::select! {
                    r = read_head(&mut conn.stream, sbuf, resp, &plan.http, method, server_to) => Some(r),
                    _ = client.readable() => None,
                };
                if let Some(r) = early {
                    result = r;
                    head_read = true;
                }
            }
            if !head_read {
                let to_server = ((client_to, Side::Client), (server_to, Side::Server));
                result = match req_coding {
                    Some(coding) => {
                        use super::compression::body::{compress, Job};
                        let server = &mut conn.stream;
                        let mut job = Job::new(coding);
                        let (r, w) = to_server;
                        compress(client, server, cbuf, framing.body, &mut job, r, w).await
                    }
                    None => {
                        pump(
                            client,
                            &mut conn.stream,
                            cbuf,
                            left,
                            chunks,
                            to_server.0,
                            (server_to, Side::Server, corked),
                        )
                        .await
                    }
                };
                body_done = result.is_ok();
            }
        }
        if result.is_ok() && !head_read {
            let watched = if be.abortonclose {
                let reading =
                    read_head(&mut conn.stream, sbuf, resp, &plan.http, method, server_to);
                abort::unless_client_leaves(client, cbuf, reading).await
            } else {
                Ok(read_head(&mut conn.stream, sbuf, resp, &plan.http, method, server_to).await)
            };
            match watched {
                Ok(r) => result = r,
                Err(e) => {
                    // The client closed while the server works on its request: as HAProxy
                    // does, the server connection is closed, the line says 400 `CH`, and
                    // a client that only half-closed gets the 400.
                    record.error = Some(e);
                    record.status = 400;
                    drop(conn);
                    let next = reply(ctx, client, &be.errors, 400, fe, None).await;
                    emit(&record);
                    return next;
                }
            }
        }
        // `retry-on`: a bodiless request is replayed for what the backend lists.
        let l7 = replayable
            && tries < changes.retries.unwrap_or(be.retries)
            && match result {
                Ok(()) => be.retry_on.status(resp.status()),
                Err(e) => be.retry_on.error(&e, sbuf.is_empty()),
            };
        let stale = matches!(result, Err(e) if conn.reused && replayable && sbuf.is_empty() && e.side == Side::Server);
        match result {
            Ok(()) if !l7 => break,
            Err(e) if !l7 && !stale => {
                record.error = Some(e);
                if e.side == Side::Client {
                    emit(&record);
                    return Next::Close;
                }
                let keep = keepable.then_some((cbuf, 0));
                let next = reply(ctx, client, &be.errors, status_for(&e), fe, keep).await;
                emit(&record);
                return next;
            }
            _ => {
                // An idle connection the server had closed, or a failure `retry-on` lists:
                // replay on a new connection (our slot is given back first).
                tries += u32::from(l7);
                drop(conn.slot.take());
                let dest = Dest {
                    sni: retry_sni.as_deref(),
                    connect: changes.timeout(TimeoutKind::Connect),
                    queue: changes.timeout(TimeoutKind::Queue),
                    retries: changes.retries,
                    ..retry::next(be, addrs, conn.server, l7.then_some(tries))
                };
                let key = RequestKey::new();
                let mut no_own = None;
                let acquired = if be.abortonclose {
                    let acquiring = acquire(ctx, be_idx, &dest, &key, false, &mut no_own);
                    abort::unless_client_leaves(client, cbuf, acquiring).await
                } else {
                    Ok(acquire(ctx, be_idx, &dest, &key, false, &mut no_own).await)
                };
                let Ok(acquired) = acquired else {
                    record.error = Some(Error::new(ErrorKind::Closed, Side::Client));
                    record.term = Some(*b"CC");
                    emit(&record);
                    return Next::Close;
                };
                match acquired {
                    Ok(c) => {
                        conn = c;
                        sbuf.clear();
                    }
                    Err(e) => {
                        record.error = Some(e);
                        let keep = keepable.then_some((cbuf, 0));
                        let next = reply(ctx, client, &be.errors, status_for(&e), fe, keep).await;
                        emit(&record);
                        return next;
                    }
                }
            }
        }
    }

    // 5. Interim responses (100 Continue, 103) go to the client as they are.
    loop {
        let status = resp.status();
        if !(100..200).contains(&status) || status == 101 {
            break;
        }
        let hl = resp.head_len();
        let interim = sbuf.filled().get(..hl).unwrap_or_default();
        if write_all(client, interim, client_to, Side::Client)
            .await
            .is_err()
        {
            return Next::Close;
        }
        sbuf.consume(hl);
        if status == 100 && !body_done {
            let left = remaining(framing.body, first_body);
            let r = pump(
                client,
                &mut conn.stream,
                cbuf,
                left,
                chunks,
                (client_to, Side::Client),
                (server_to, Side::Server, corked),
            )
            .await;
            if let Err(e) = r {
                record.error = Some(e);
                let next = if e.side == Side::Client {
                    Next::Close
                } else {
                    reply(ctx, client, &be.errors, 502, fe, None).await
                };
                emit(&record);
                return next;
            }
            body_done = true;
        }
        if let Err(e) = read_head(&mut conn.stream, sbuf, resp, &plan.http, method, server_to).await
        {
            observe(&plan, be_idx, conn.server, Event::NoResponse);
            record.error = Some(e);
            let next = reply(ctx, client, &be.errors, status_for(&e), fe, None).await;
            emit(&record);
            return next;
        }
    }
    // A final answer before the body was sent: the body is never read, so close after.
    if !body_done {
        client_close = true;
    }

    // 6. The response.
    let rf = *resp.framing();
    // Decided on the server's head, before the rules (`res.comp`).
    let compressing =
        super::compression::response::decide(comp_offer, resp, sbuf.filled(), method, !client_v10);
    record.compression = compressing.map(|(a, _)| a);
    record.on_response(resp, sbuf.filled());
    observe(&plan, be_idx, conn.server, Event::Status(resp.status()));
    let hl = resp.head_len();
    client_close |= rf.body == Body::UntilClose || ctx.stopping();
    if ruled {
        let mut info = rules::Conn::new(&plan, fe.index, addrs);
        info.fc = fc;
        info.tls = tls.as_deref();
        info.be = Some(be_idx);
        info.srv = Some(conn.server);
        info.first_req = first;
        info.bc_reused = Some(conn.reused);
        info.uid = Some(&*uid);
        info.socket = client.meter().map(|m| m.socket).unwrap_or_default();
        info.proxy_tlvs = proxy_tlvs;
        let meter_rc = client.meter().cloned();
        info.meter = meter_rc.as_deref();
        info.bc = Some(rules::backend_connection(&conn.stream));
        info.events.forwarded = true;
        info.events.error = resp.status() >= 500;
        info.timing = Some(record.t);
        info.http_major = client.http_major();
        info.server_status = Some(resp.status());
        info.response_compression = compressing.map(|(a, _)| a.config_name());
        // `http-response wait-for-body`: the body joins the head before the rules run.
        let body_wait = super::body::response_wait(&plan, &info, resp, sbuf.filled());
        if let Some(w) = body_wait {
            let waited = super::body::wait(&mut conn.stream, sbuf, hl, rf.body, w, server_to).await;
            if let Some(status) = super::body::response_failure(waited) {
                record.answer(status, *b"sD");
                let next = reply(ctx, client, &be.errors, status, fe, None).await;
                emit(&record);
                return next;
            }
        }
        let body = body_wait
            .map(|_| super::body::payload(sbuf.filled().get(hl..).unwrap_or_default(), rf.body));
        info.contents.res_body = body
            .as_deref()
            .map(|b| (b, super::body::announced(rf.body)));
        let paused = txn.changes.pause;
        let answered = rules::response(&plan, fe, &info, resp, sbuf.filled(), edits, txn);
        crate::log::on_vars(&mut record, txn);
        // `http-response pause`: what the response's rules added.
        let pause = txn.changes.pause.saturating_sub(paused);
        if !pause.is_zero() && !wait_or_stop(ctx, pause).await {
            return Next::Close;
        }
        // `http-response set-timeout` applies to the rest of the exchange.
        record.changes = txn.changes;
        client_to = txn.changes.timeout(TimeoutKind::Client).or(client_to);
        server_to = txn.changes.timeout(TimeoutKind::Server).or(server_to);
        if let Err(bytes) = answered {
            emit(&record);
            // An answer that replaces the response (`http-response deny`, `redirect`)
            // leaves the client connection open when the request was read whole; the
            // server's, with the response it dropped, closes. Empty: a `reject`.
            let keep = !bytes.is_empty() && !client_close && body_done;
            let bytes = if keep {
                rules::without_close(&bytes)
            } else {
                bytes
            };
            let sent = write_all(client, &bytes, client_to, Side::Client).await;
            return if keep && sent.is_ok() {
                Next::KeepAlive
            } else {
                Next::Close
            };
        }
    }
    let edited = ruled.then_some(&*edits);
    head::response_edited(out, resp, sbuf.filled(), client_close, client_v10, edited);
    if let Some((algo, _)) = compressing {
        super::compression::response::rewrite_head(out, algo, rf.body == Body::Chunked);
    }
    if let Some(c) = &be.cookie {
        c.response(out, conn.server, sticky, method == Method::Post);
    }
    sbuf.consume(hl);
    let forwarded = match rf.body {
        Body::None => write_all(client, out, client_to, Side::Client).await,
        Body::Tunnel => {
            if write_all(client, out, client_to, Side::Client)
                .await
                .is_err()
            {
                return Next::Close;
            }
            let t = relay::Timeouts {
                client: client_to,
                server: server_to,
                client_fin: fe.client_fin,
                server_fin: be.server_fin,
                tunnel: txn.changes.timeout(TimeoutKind::Tunnel).or(be.tunnel),
            };
            if let Err(e) = relay(client, &mut conn.stream, cbuf, sbuf, t).await {
                record.error = Some(e);
            }
            emit(&record);
            return Next::Close;
        }
        body if compressing.is_some() => {
            let timeouts = (server_to, client_to);
            let server = &mut conn.stream;
            let proxies = (fe.index, be_idx);
            super::compression::body::relay(
                server,
                client,
                out,
                sbuf,
                body,
                compressing,
                timeouts,
                proxies,
            )
            .await
        }
        body => {
            let (k, left) = match body {
                Body::Length(n) => {
                    let k = usize::try_from(n).unwrap_or(usize::MAX).min(sbuf.len());
                    (k, Left::Length(n - k as u64))
                }
                Body::Chunked => {
                    *chunks = ChunkedDecoder::new().drop_trailers(fe.drop_response_trailers);
                    match forward_chunks(chunks, sbuf, 0) {
                        Ok(f) if f.done => (f.len, Left::Done),
                        Ok(f) => (f.len, Left::Chunked),
                        Err(_) => {
                            // Nothing sent yet: the client gets a clean 502.
                            return reply(ctx, client, &be.errors, 502, fe, None).await;
                        }
                    }
                }
                _ => (sbuf.len(), Left::UntilClose),
            };
            let first = sbuf.filled().get(..k).unwrap_or_default();
            let mut r = write_two(client, out, first, client_to, Side::Client).await;
            sbuf.consume(k);
            if r.is_ok() {
                r = pump(
                    &mut conn.stream,
                    client,
                    sbuf,
                    left,
                    chunks,
                    (server_to, Side::Server),
                    (client_to, Side::Client, corked),
                )
                .await;
            }
            r
        }
    };
    if let Err(e) = forwarded {
        // A server that breaks off the body fails the response (`http_fail_cnt`); a
        // client that leaves does not.
        if e.side == Side::Server {
            crate::stick::on_server_abort(txn);
        }
        record.error = Some(e);
        emit(&record);
        return Next::Close;
    }
    emit(&record);

    // 7. Keep the server connection when the response was complete and nothing follows it.
    let server_keep = !server_close
        && rf.keep_alive
        && rf.body != Body::UntilClose
        && !upgrade
        && sbuf.is_empty()
        && body_done
        && !conn.one_shot;
    if server_keep {
        // A connection that carried a PROXY header stays with its client (HAProxy: private).
        let reuse = if conn.private { Reuse::Never } else { be.reuse };
        // A connection taken from the pool has now served more than one request.
        keep(
            ctx,
            be_idx,
            reuse,
            (conn.server, conn.reused),
            conn.stream,
            own,
        );
    }
    if client_close {
        Next::Close
    } else {
        Next::KeepAlive
    }
}

fn keep(
    ctx: &Ctx,
    be: usize,
    reuse: Reuse,
    (server, proven): (usize, bool),
    stream: ServerStream,
    own: &mut Option<Own>,
) {
    if reuse == Reuse::Never {
        *own = Some(Own {
            backend: be,
            server,
            stream,
        });
    } else {
        ctx.pool.borrow_mut().put(be, server, stream, proven);
    }
}

/// Waits `d` (`pause`, `tarpit`) unless the worker stops first (`false` then). Boxed: it
/// is rare, and the exchange's future stays small without the timer in it.
async fn wait_or_stop(ctx: &Ctx, d: Duration) -> bool {
    Box::pin(async {
        tokio::select! {
            _ = tokio::time::sleep(d) => true,
            _ = ctx.stopped() => false,
        }
    })
    .await
}

/// What is left of a body to relay.
#[derive(Clone, Copy, Debug)]
enum Left {
    Done,
    Length(u64),
    Chunked,
    UntilClose,
}

fn remaining(body: Body, sent: usize) -> Left {
    match body {
        Body::Length(n) => Left::Length(n.saturating_sub(sent as u64)),
        Body::Chunked => Left::Chunked,
        _ => Left::Done,
    }
}

/// Relays the rest of a body from `r` to `w` through `buf`: as many bytes as announced, the
/// chunks up to the last one (framing included, checked on the way), or until `r` closes.
/// The write side says how long a write may wait, whose side it is, and whether the middle
/// of a framed body is corked (`MSG_MORE`; not with `option http-no-delay`).
async fn pump<R, W>(
    r: &mut R,
    w: &mut W,
    buf: &mut Buf,
    mut left: Left,
    chunks: &mut ChunkedDecoder,
    (rl, rside): (Option<Duration>, Side),
    (wl, wside, corked): (Option<Duration>, Side, bool),
) -> Result<(), Error>
where
    R: AsyncRead + Unpin,
    W: WriteMore,
{
    loop {
        if matches!(left, Left::Done | Left::Length(0)) {
            return Ok(());
        }
        if buf.is_empty() {
            let n = read_into(r, buf, rl, rside).await?;
            if n == 0 {
                if matches!(left, Left::UntilClose) {
                    return Ok(());
                }
                return Err(Error::new(ErrorKind::Closed, rside));
            }
        }
        let take = match left {
            Left::Length(n) => {
                let k = usize::try_from(n).unwrap_or(usize::MAX).min(buf.len());
                left = Left::Length(n - k as u64);
                k
            }
            Left::Chunked => {
                let f = forward_chunks(chunks, buf, 0)
                    .map_err(|_| Error::new(ErrorKind::Protocol, rside))?;
                if f.done {
                    left = Left::Done;
                }
                f.len
            }
            _ => buf.len(),
        };
        let bytes = buf.filled().get(..take).unwrap_or_default();
        // More of a framed body follows: let the kernel fill segments (HAProxy does the
        // same). Not for a body that ends at close: its end is not known to come soon.
        let more = matches!(left, Left::Chunked) || matches!(left, Left::Length(n) if n > 0);
        if more && corked {
            write_all_more(w, bytes, wl, wside).await?;
        } else {
            write_all(w, bytes, wl, wside).await?;
        }
        buf.consume(take);
    }
}

/// [`ChunkedDecoder::forward`] on the bytes of `buf` from `at`: how many of them belong to
/// the body. When the decoder drops trailers (`option http-drop-request-trailers`,
/// `option http-drop-response-trailers`), their fields are first taken out of `buf`.
fn forward_chunks(
    chunks: &mut ChunkedDecoder,
    buf: &mut Buf,
    at: usize,
) -> Result<sluice_http::Forward, sluice_http::Error> {
    let input = buf.filled().get(at..).unwrap_or_default();
    if !chunks.drops_trailers() {
        return chunks.forward(input);
    }
    let (mut f, fields) = chunks.forward_dropping_trailers(input)?;
    if !fields.is_empty() {
        f.len -= fields.len();
        buf.remove(at + fields.start..at + fields.end);
    }
    Ok(f)
}

/// The value of a per-request SNI (`sni req.hdr(host)`, `sni ssl_fc_sni`) for this request.
fn request_sni<'a>(
    sni: Option<&Sni>,
    req: &sluice_http::RequestHead,
    buf: &'a [u8],
    tls: Option<&'a crate::tls::TlsInfo>,
) -> Option<&'a [u8]> {
    match sni? {
        Sni::Header(name) => req.header(buf, name),
        Sni::ClientSni => tls.and_then(|t| t.sni.as_deref()),
        _ => None,
    }
}

/// Reads until a complete response head is in `sbuf`.
async fn read_head(
    server: &mut ServerStream,
    sbuf: &mut Buf,
    resp: &mut ResponseHead,
    config: &sluice_http::Config,
    method: Method,
    limit: Option<Duration>,
) -> Result<(), Error> {
    loop {
        if !sbuf.is_empty() {
            match resp.parse(sbuf.filled(), config, method) {
                Parsed::Complete { .. } => return Ok(()),
                Parsed::Error(_) => return Err(Error::new(ErrorKind::Protocol, Side::Server)),
                Parsed::Partial => {
                    if sbuf.len() >= config.max_head_len || sbuf.is_full() {
                        return Err(Error::new(ErrorKind::Protocol, Side::Server));
                    }
                }
            }
        }
        let n = read_into(server, sbuf, limit, Side::Server).await?;
        if n == 0 {
            return Err(Error::new(ErrorKind::Closed, Side::Server));
        }
    }
}
