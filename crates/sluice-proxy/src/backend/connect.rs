//! Opening a connection to a server, within `timeout connect`.

use super::queue::{QueueError, Slot};
use super::Backend;
use crate::check::observe::{report as observe, Event};
use crate::check::state::Local as Balancer;
use crate::error::{Error, ErrorKind, Side};
use crate::proxy_protocol::send::write_for_server;
use crate::proxy_protocol::write_v1;
use crate::stream::Addrs;
use crate::tls::connector::ServerStream;
use sluice_balance::RequestKey;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::Interest;
use tokio::net::TcpStream;

/// Connects to `addr`; the error is retryable (nothing was sent).
pub async fn connect(addr: SocketAddr, limit: Option<Duration>) -> Result<TcpStream, Error> {
    let failed = |_| Error::retryable(ErrorKind::Connect, Side::Server);
    let stream = start_connect(addr).map_err(failed)?;
    let attempt = stream.ready(Interest::WRITABLE);
    let ready = match limit {
        Some(d) => match tokio::time::timeout(d, attempt).await {
            Ok(r) => r,
            Err(_) => return Err(Error::retryable(ErrorKind::Timeout, Side::Server)),
        },
        None => attempt.await,
    }
    .map_err(failed)?;
    // A non-blocking connect reports writable once established, and writable with an
    // error (write-closed) once failed: the readiness tells which, so the `getsockopt
    // (SO_ERROR)` tokio's `TcpStream::connect` makes is saved (1 of ~18 system calls per
    // connection-per-request exchange). The reason itself is not needed: any failure is a
    // retryable connect error.
    if ready.is_write_closed() {
        return Err(Error::retryable(ErrorKind::Connect, Side::Server));
    }
    Ok(stream)
}

/// A non-blocking socket with its `connect` started; TCP_NODELAY is set before the connect
/// (heads and small bodies go out at once; the relay writes whole buffers anyway).
fn start_connect(addr: SocketAddr) -> std::io::Result<TcpStream> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(
        Domain::for_address(addr),
        Type::STREAM.nonblocking(),
        Some(Protocol::TCP),
    )?;
    let _ = socket.set_nodelay(true);
    match socket.connect(&addr.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    TcpStream::from_std(std::net::TcpStream::from(socket))
}

/// A client connection's own idle server connection (`http-reuse never`).
pub struct Own {
    pub backend: usize,
    pub server: usize,
    pub stream: ServerStream,
}

/// A server connection ready for one request.
pub struct Acquired {
    pub stream: ServerStream,
    /// The server's position in its backend.
    pub server: usize,
    /// Taken from the idle pool (may have been closed by the server meanwhile).
    pub reused: bool,
    /// The server slot the request holds (when the backend counts them): given back, and
    /// handed to the next queued request, when this is dropped.
    pub slot: Option<Slot>,
    /// The connection carries one client's identity (a PROXY header): it must never serve
    /// another client, so it is kept with its client connection, never in the shared pool.
    pub private: bool,
    /// The TLS name came from this request (`sni req.hdr(host)`): the connection is not
    /// kept for another request, which may need another name.
    pub one_shot: bool,
}

/// Where a request goes and on whose behalf.
#[derive(Clone, Copy, Default)]
pub struct Dest<'a> {
    /// The client connection's addresses: the port for servers without one, the PROXY
    /// header for `send-proxy` servers.
    pub addrs: Addrs,
    /// A server chosen before balancing (a persistence cookie, a retry on the same server):
    /// used when usable.
    pub pin: Option<usize>,
    /// A server not to choose (redispatch after a failure).
    pub avoid: Option<usize>,
    /// The value of the backend's per-request SNI (`Backend::sni`), when it has one.
    pub sni: Option<&'a [u8]>,
    /// `timeout connect` and `timeout queue` set by `set-timeout` rules (else the
    /// backend's).
    pub connect: Option<Duration>,
    pub queue: Option<Duration>,
    /// `set-retries`: the retries of this stream (else the backend's `retries`).
    pub retries: Option<u32>,
    /// The stream, for the TLVs of a PROXY v2 header (unique ID, client TLS details,
    /// `set-proxy-v2-tlv-fmt` values), when the backend sends any.
    pub stream: Option<&'a dyn sluice_rules::SampleSource>,
    /// The client connection's TLS details, for the SSL TLV of PROXY v2 headers.
    pub client_tls: Option<&'a crate::tls::TlsInfo>,
    /// Only idle connections that served more than one request may be used (`http-reuse
    /// aggressive` for the first request of a client connection).
    pub proven_only: bool,
    /// Where the attempt has got to, for a caller that may abandon it (`option
    /// abortonclose`) and still log the phase it was in.
    pub progress: Option<&'a Progress>,
}

/// How far [`acquire`] got: the server it chose and when the request left the queue.
/// Written as it goes, so that a caller that drops the attempt midway knows what to log
/// (`CQ` in the queue, `CC` while connecting, the server tried, `Tw`).
#[derive(Debug, Default)]
pub struct Progress {
    /// The server being waited for or connected to (`None`: waiting in the backend queue
    /// for any server, or not chosen yet).
    pub server: std::cell::Cell<Option<usize>>,
    /// When the request got its server slot and connection attempts began.
    pub dequeued: std::cell::Cell<Option<std::time::Instant>>,
    /// Connection attempts after the first (`%rc`), and whether one went to another
    /// server (`option redispatch`).
    pub retries: std::cell::Cell<u32>,
    pub redispatched: std::cell::Cell<bool>,
}

impl std::fmt::Debug for Dest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dest")
            .field("addrs", &self.addrs)
            .field("pin", &self.pin)
            .field("avoid", &self.avoid)
            .field("connect", &self.connect)
            .field("queue", &self.queue)
            .field("stream", &self.stream.is_some())
            .field("progress", &self.progress)
            .finish()
    }
}

impl Dest<'_> {
    /// Balanced, on behalf of the client at `addrs`.
    pub fn new(addrs: Addrs) -> Dest<'static> {
        Dest {
            addrs,
            pin: None,
            avoid: None,
            sni: None,
            connect: None,
            queue: None,
            retries: None,
            stream: None,
            client_tls: None,
            proven_only: false,
            progress: None,
        }
    }

    /// Notes the server the attempt is now about (see [`Progress`]).
    fn on_server(&self, server: usize) {
        if let Some(p) = self.progress {
            p.server.set(Some(server));
        }
    }
}

/// A connection to `target` through the SOCKS4 proxy at `proxy`, all within `limit`.
async fn through_socks4(
    proxy: SocketAddr,
    target: SocketAddr,
    limit: Option<Duration>,
) -> Result<TcpStream, Error> {
    let start = tokio::time::Instant::now();
    let mut stream = connect(proxy, limit).await?;
    let tunnel = super::socks4::connect_through(&mut stream, target);
    let done = match limit {
        Some(d) => tokio::time::timeout_at(start + d, tunnel)
            .await
            .map_err(|_| Error::retryable(ErrorKind::Timeout, Side::Server))?,
        None => tunnel.await,
    };
    done.map(|()| stream)
        .map_err(|_| Error::retryable(ErrorKind::Connect, Side::Server))
}

/// The longest pause before a failed server is tried again.
const TURN_AROUND: Duration = Duration::from_secs(1);

/// Chooses a server of backend `be` and returns a connection to it: an idle one when
/// `reuse` allows, else a new one. The server is `dest.pin` when usable, else the choice
/// of this thread's balancer; when every server is at its `maxconn`, the request waits in
/// the backend queue (`timeout queue`: 503). A failed connection is retried (`retries`,
/// default 3, with `retry-on conn-failure`), on the same server, or on another for the last
/// retry with `option redispatch`, after a pause of min(`timeout connect`, 1 s) when
/// the server is the one that just failed.
pub async fn acquire(
    ctx: &crate::stream::Ctx,
    be: usize,
    dest: &Dest<'_>,
    key: &sluice_balance::RequestKey<'_>,
    reuse: bool,
    own: &mut Option<Own>,
) -> Result<Acquired, Error> {
    use crate::counters::Counter;
    let no_server = Error::new(ErrorKind::NoServer, Side::Internal);
    let backend = ctx.plan.backend(be).ok_or(no_server)?;
    let balancer = ctx
        .balancers
        .get(be)
        .and_then(Option::as_ref)
        .ok_or(no_server)?
        .get(backend);
    let balancer = &*balancer;
    let pick = |avoid: Option<usize>| pick(backend, balancer, key, avoid);
    let (mut server, mut slot) = choose(backend, balancer, key, dest).await?;
    dest.on_server(server);
    if let Some(p) = dest.progress {
        p.dequeued.set(Some(std::time::Instant::now()));
    }
    crate::gauges::on_server_chosen(&ctx.plan, be, server);
    let connect_timeout = dest.connect.or(backend.connect);
    let mut last = no_server;
    let retries = if backend.retry_on.conn_failure() {
        dest.retries.unwrap_or(backend.retries)
    } else {
        0
    };
    let mut failed_on = None;
    for attempt in 0..=retries {
        let before = server;
        if attempt > 0 && attempt == retries && backend.redispatch {
            if let Some(other) = pick(Some(server)).filter(|o| *o != server) {
                if !backend.track.load(std::sync::atomic::Ordering::Relaxed) {
                    server = other;
                } else if let Some(s) = backend.queue.try_take(other) {
                    // The old slot goes back (and to a waiter) as the new one is taken.
                    slot = Some(s);
                    server = other;
                }
            }
        }
        if let Some(p) = dest.progress.filter(|_| attempt > 0) {
            p.retries.set(attempt);
            p.redispatched.set(p.redispatched.get() || server != before);
        }
        let Some(srv) = backend.servers.get(server) else {
            return Err(no_server);
        };
        dest.on_server(server);
        // A transparent server's connections lead wherever their stream's destination was.
        if !srv.transparent
            && own
                .as_ref()
                .is_some_and(|o| o.backend == be && o.server == server)
        {
            if let Some(o) = own.take() {
                return Ok(Acquired {
                    stream: o.stream,
                    server,
                    reused: true,
                    slot,
                    private: srv.send_proxy.is_some(),
                    one_shot: false,
                });
            }
        }
        // A server that is sent PROXY headers never has shared idle connections.
        if reuse && srv.send_proxy.is_none() && !srv.transparent {
            let local = ctx.pool.borrow_mut().take(be, server, dest.proven_only);
            // None here: another thread may keep one (plain TCP only). Boxed: rare, and
            // the request path's future stays small.
            let stolen = match (&local, &ctx.takeover) {
                (None, Some((t, me))) if srv.tls.is_none() && !srv.h2 => {
                    Box::pin(t.steal(*me, be, server, dest.proven_only))
                        .await
                        .map(ServerStream::Plain)
                }
                _ => None,
            };
            if let Some(stream) = local.or(stolen) {
                ctx.count(Counter::ServerReuses);
                return Ok(Acquired {
                    stream,
                    server,
                    reused: true,
                    slot,
                    private: false,
                    one_shot: false,
                });
            }
        }
        let Some(addr) = srv.addr_to(dest.addrs.local) else {
            return Err(no_server);
        };
        // A server that just failed is given min(`timeout connect`, 1 s) before it is
        // tried again, as HAProxy does, so that a restarting server is not hammered.
        if failed_on == Some(server) {
            let pause = connect_timeout.map_or(TURN_AROUND, |t| t.min(TURN_AROUND));
            tokio::time::sleep(pause).await;
        }
        // `socks4`: the connection is to the proxy, then a tunnel to the server (boxed:
        // rare, and the request path's future stays small).
        let opened = match srv.socks4 {
            Some(proxy) => Box::pin(through_socks4(proxy, addr, connect_timeout)).await,
            None => connect(addr, connect_timeout).await,
        };
        let opened = match opened {
            Ok(mut stream) => match srv.send_proxy {
                Some(v) => send_proxy(&mut stream, (v, srv), dest, connect_timeout)
                    .await
                    .map(|()| stream),
                None => Ok(stream),
            },
            Err(e) => Err(e),
        };
        let opened = match (opened, &srv.tls) {
            (Ok(tcp), Some(tls)) => {
                let name = tls.name(dest.sni, addr.ip());
                let done = handshake(tls, tcp, name, connect_timeout).await;
                if done.is_err() {
                    ctx.count(Counter::ServerTlsErrors);
                }
                done
            }
            (opened, _) => opened.map(ServerStream::Plain),
        };
        // `proto h2`: HTTP/2 on the new connection (boxed: only these requests pay for it).
        let opened = match opened {
            Ok(stream) if srv.h2 => {
                let p = &ctx.plan;
                Box::pin(super::h2_client::handshake(
                    stream,
                    p.http,
                    p.bufsize,
                    connect_timeout,
                ))
                .await
                .map(|h| ServerStream::H2(Box::new(h)))
                .map_err(|_| Error::retryable(ErrorKind::Connect, Side::Server))
            }
            opened => opened,
        };
        match opened {
            Ok(stream) => {
                ctx.count(Counter::ServerConnects);
                observe(&ctx.plan, be, server, Event::Connected);
                return Ok(Acquired {
                    stream,
                    server,
                    reused: false,
                    slot,
                    private: srv.send_proxy.is_some(),
                    // A PROXY header naming this request (its unique ID, values of its
                    // own) would be wrong for the next one.
                    one_shot: srv.transparent
                        || srv.tls.as_ref().is_some_and(|t| t.sni.dynamic())
                        || (srv.send_proxy == Some(2) && srv.proxy_v2.per_request()),
                });
            }
            Err(e) => {
                ctx.count(Counter::ConnectErrors);
                observe(&ctx.plan, be, server, Event::ConnectFailed);
                last = e.on_server(server);
                failed_on = Some(server);
            }
        }
    }
    Err(last)
}

/// The TLS handshake, within `timeout connect` of its own. A failure is a retryable
/// connection error (nothing of the request was sent): 503, as HAProxy answers.
async fn handshake(
    tls: &crate::tls::connector::Connector,
    tcp: TcpStream,
    name: rustls::pki_types::ServerName<'static>,
    limit: Option<Duration>,
) -> Result<ServerStream, Error> {
    let failed = Error::retryable(ErrorKind::Connect, Side::Server);
    let shake = tls.handshake(tcp, name);
    match limit {
        Some(d) => match tokio::time::timeout(d, shake).await {
            Ok(r) => r.map_err(|_| failed),
            Err(_) => Err(Error::retryable(ErrorKind::Timeout, Side::Server)),
        },
        None => shake.await.map_err(|_| failed),
    }
}

/// One balancer choice, avoiding `avoid` when another candidate exists.
fn pick(
    backend: &Backend,
    balancer: &Balancer,
    key: &RequestKey<'_>,
    avoid: Option<usize>,
) -> Option<usize> {
    for _ in 0..backend.servers.len().max(1) {
        let i = balancer
            .select(key)
            .and_then(|id| backend.server_index(id))?;
        if Some(i) != avoid || balancer.snapshot.candidates().len() < 2 {
            return Some(i);
        }
    }
    None
}

/// The server for a request and its slot: the pinned server when usable, else the
/// balancer's choice; the backend queue when they are full.
async fn choose(
    backend: &Backend,
    balancer: &Balancer,
    key: &RequestKey<'_>,
    dest: &Dest<'_>,
) -> Result<(usize, Option<Slot>), Error> {
    let no_server = Error::new(ErrorKind::NoServer, Side::Internal);
    // Waiting longer than `timeout queue` is answered 503, as a failed connection is.
    let queue_timeout = Error::retryable(ErrorKind::Timeout, Side::Server);
    let q = &backend.queue;
    let wait_limit = dest.queue.or(backend.queue_timeout);
    let pinned = dest.pin.filter(|p| {
        backend
            .servers
            .get(*p)
            .is_some_and(|s| s.health.usable() || backend.persist)
    });
    if let Some(p) = pinned {
        if !backend.track.load(std::sync::atomic::Ordering::Relaxed) {
            return Ok((p, None));
        }
        if let Some(s) = q.try_take(p) {
            return Ok((p, Some(s)));
        }
        // Waiting in the server's own queue: the log names the server.
        dest.on_server(p);
        match q.wait(Some(p), &[], wait_limit).await {
            Ok(s) => return Ok((p, Some(s))),
            Err(QueueError::Timeout) => return Err(queue_timeout),
            // `maxqueue` reached: persistence gives way to the balancer, as in HAProxy.
            Err(QueueError::Full) => {
                if let Some(progress) = dest.progress {
                    progress.server.set(None);
                }
            }
        }
    }
    let chosen = pick(backend, balancer, key, dest.avoid);
    if !backend.track.load(std::sync::atomic::Ordering::Relaxed) {
        return chosen.map(|i| (i, None)).ok_or(no_server);
    }
    if let Some(s) = chosen.and_then(|i| q.try_take(i)) {
        return Ok((s.server(), Some(s)));
    }
    // Every candidate is full (or the hash chose a full one): wait for any of them.
    let candidates: Vec<usize> = balancer
        .snapshot
        .candidates()
        .iter()
        .filter_map(|s| backend.server_index(s.id))
        .collect();
    if candidates.is_empty() {
        return Err(no_server);
    }
    match q.wait(None, &candidates, wait_limit).await {
        Ok(s) => Ok((s.server(), Some(s))),
        Err(QueueError::Timeout) => Err(queue_timeout),
        Err(QueueError::Full) => Err(no_server),
    }
}

/// Writes the PROXY header for the client at `dest.addrs` (with the server's TLVs, for v2),
/// before any other byte.
async fn send_proxy(
    stream: &mut TcpStream,
    (version, server): (u8, &super::server::Server),
    dest: &Dest<'_>,
    limit: Option<Duration>,
) -> Result<(), Error> {
    let mut header = Vec::with_capacity(64);
    let pair = dest.addrs.peer.zip(dest.addrs.local);
    if version == 2 {
        let client = (dest.stream, dest.client_tls);
        write_for_server(&mut header, pair, &server.proxy_v2, client);
    } else {
        write_v1(&mut header, pair);
    }
    crate::stream::ioutil::write_all(stream, &header, limit, Side::Server)
        .await
        .map_err(|_| Error::retryable(ErrorKind::Connect, Side::Server))
}
