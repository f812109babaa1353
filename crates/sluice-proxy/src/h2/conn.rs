//! One HTTP/2 client connection: the handshake (preface and SETTINGS), then a task per
//! request stream running the HTTP/1 session over a [`StreamIo`], until the client closes,
//! the connection idles past `timeout http-keep-alive` (else `timeout client`), or the
//! worker stops (GOAWAY: streams in flight finish, no new ones).

use super::preface::Rewind;
use super::request::{self, ReqBody};
use super::stream::StreamIo;
use crate::stream::io::ClientIo;
use crate::stream::log::{Counted, Meter};
use crate::stream::{Addrs, Ctx, Socket};
use crate::tls::TlsInfo;
use ::h2::server::SendResponse;
use ::h2::{Reason, RecvStream};
use bytes::Bytes;
use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Streams a client may open at once: HAProxy's `tune.h2.fe.max-concurrent-streams`
/// default.
pub const MAX_CONCURRENT_STREAMS: u32 = 100;

/// How long a closing connection may take to flush its GOAWAY.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// What every stream of a connection shares.
struct Shared {
    addrs: Addrs,
    /// The connection's own addresses (and PROXY v2 TLVs) when a header announced others.
    connection: Option<Rc<crate::proxy_protocol::accept::Proxied>>,
    socket: Socket,
    tls: Option<Rc<TlsInfo>>,
    /// Protocol glitches: streams Sluice reset as malformed (the `h2` crate counts those it
    /// resets itself), and how many of all glitches the streams reported so far.
    glitches: Glitches,
}

/// A connection's protocol glitches (`fc_glitches`, `glitch_cnt`).
#[derive(Default)]
struct Glitches {
    own: Cell<u64>,
    reported: Cell<u64>,
}

/// Serves `client` as an HTTP/2 connection of frontend `fe`; `pre`: bytes already read
/// from it (the preface seen by the HTTP/1 session), replayed first. Boxed: the HTTP/1
/// connection's task keeps its size (`tests/future_size.rs`).
pub fn serve<S: ClientIo>(
    ctx: Rc<Ctx>,
    fe: usize,
    client: S,
    addrs: Addrs,
    pre: Vec<u8>,
) -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(run(ctx, fe, client, addrs, pre))
}

/// Serves an HTTP/1 connection whose first bytes (in `scratch`) are the HTTP/2 preface.
pub async fn upgrade<S: ClientIo>(
    ctx: Rc<Ctx>,
    fe: usize,
    client: S,
    addrs: Addrs,
    scratch: Option<Box<crate::http::Scratch>>,
) {
    let mut pre = Vec::new();
    if let Some(s) = scratch {
        pre.extend_from_slice(s.cbuf.filled());
        ctx.give_scratch(s);
    }
    run(ctx, fe, client, addrs, pre).await
}

async fn run<S: ClientIo>(ctx: Rc<Ctx>, fe_idx: usize, client: S, addrs: Addrs, pre: Vec<u8>) {
    let plan = ctx.plan.clone();
    let Some(fe) = plan.frontend(fe_idx) else {
        return;
    };
    let shared = Rc::new(Shared {
        addrs,
        connection: client.meter().and_then(|m| m.proxied().cloned()),
        socket: client.meter().map(|m| m.socket).unwrap_or_default(),
        tls: client.tls().cloned(),
        glitches: Glitches::default(),
    });
    let mut builder = ::h2::server::Builder::new();
    builder
        .max_concurrent_streams(MAX_CONCURRENT_STREAMS)
        // RFC 8441: WebSocket (and other upgrades) over HTTP/2 streams, as HAProxy allows.
        .enable_connect_protocol()
        // Headers beyond a buffer would not fit the HTTP/1 session's either.
        .max_header_list_size(u32::try_from(plan.bufsize).unwrap_or(u32::MAX))
        // What a stream may queue for a client that does not read: two buffers, not h2's
        // 400 KiB (times 100 streams).
        .max_send_buffer_size(plan.bufsize.saturating_mul(2));
    let handshake = builder.handshake::<_, Bytes>(Rewind::new(pre, client));
    let conn = match fe.http_request.or(fe.client) {
        Some(d) => tokio::time::timeout(d, handshake).await.ok(),
        None => Some(handshake.await),
    };
    let Some(Ok(mut conn)) = conn else {
        // No preface, bad SETTINGS or too slow: h2 sent its GOAWAY if it could.
        return;
    };
    let mut streams: JoinSet<()> = JoinSet::new();
    let idle_for = fe.http_keep_alive.or(fe.client);
    let mut idle_until = idle_for.map(|d| Instant::now() + d);
    let mut going_away = false;
    let mut close_by: Option<Instant> = None;
    let mut later = false;
    loop {
        let idle = idle_until.filter(|_| streams.is_empty() && close_by.is_none());
        tokio::select! {
            accepted = conn.accept() => match accepted {
                Some(Ok((req, respond))) => {
                    idle_until = None;
                    let glitches = conn.glitches() + shared.glitches.own.get();
                    let task = stream(
                        ctx.clone(),
                        fe_idx,
                        req,
                        respond,
                        (shared.clone(), later, glitches),
                    );
                    streams.spawn_local(task);
                    later = true;
                }
                // A connection error (h2 sent GOAWAY), or the client closed.
                Some(Err(_)) | None => break,
            },
            Some(_) = streams.join_next(), if !streams.is_empty() => {
                if streams.is_empty() {
                    idle_until = idle_for.map(|d| Instant::now() + d);
                }
            }
            _ = ctx.stopped(), if !going_away => {
                // Soft stop: GOAWAY; the streams in flight are answered.
                going_away = true;
                conn.graceful_shutdown();
            }
            _ = tokio::time::sleep_until(idle.unwrap_or_else(Instant::now)), if idle.is_some() => {
                going_away = true;
                conn.abrupt_shutdown(Reason::NO_ERROR);
                close_by = Some(Instant::now() + CLOSE_GRACE);
            }
            _ = tokio::time::sleep_until(close_by.unwrap_or_else(Instant::now)), if close_by.is_some() => break,
        }
    }
    // The client is gone. A stream whose request is complete goes on to its server, as in
    // HAProxy, whose streams take the end of the connection for the end of their input; its
    // answer then fails to reach the client. A stream still receiving its request fails on
    // its next read. Both end on their own.
    while streams.join_next().await.is_some() {}
}

/// One request stream: translated, then run by the HTTP/1 session as a one-request client.
async fn stream(
    ctx: Rc<Ctx>,
    fe: usize,
    req: http::Request<RecvStream>,
    mut respond: SendResponse<Bytes>,
    (shared, later, glitches): (Rc<Shared>, bool, u64),
) {
    let (parts, body) = req.into_parts();
    let (head, framing) = match request::translate(&parts, body.is_end_stream()) {
        Ok(t) => t,
        Err(request::Malformed::BadRequest) => (request::BAD_REQUEST.to_vec(), ReqBody::None),
        Err(_) => {
            // Malformed (RFC 9113 §8.1.1): a stream error, and a glitch.
            respond.send_reset(Reason::PROTOCOL_ERROR);
            let own = &shared.glitches.own;
            own.set(own.get() + 1);
            return;
        }
    };
    let plan = ctx.plan.clone();
    let io = StreamIo::new(
        head,
        framing,
        body,
        respond,
        &parts.method,
        plan,
        (shared.tls.clone(), later),
    );
    // A meter per stream: its log line counts its own bytes and times.
    let meter = Meter::new(shared.connection.clone(), shared.socket);
    // The glitches so far, and those no stream reported yet (they count for the entries
    // this stream tracks).
    let reported = shared.glitches.reported.replace(glitches);
    let saturate = |n: u64| u16::try_from(n).unwrap_or(u16::MAX);
    meter.glitches.set(saturate(glitches));
    meter
        .new_glitches
        .set(saturate(glitches.saturating_sub(reported)));
    let client = Counted::new(io, meter);
    crate::http::session::run(ctx, fe, client, shared.addrs).await;
}
