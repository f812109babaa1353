//! Opening a connection to a server, within `timeout connect`.

use crate::error::{Error, ErrorKind, Side};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;

/// Connects to `addr`; the error is retryable (nothing was sent).
pub async fn connect(addr: SocketAddr, limit: Option<Duration>) -> Result<TcpStream, Error> {
    let attempt = TcpStream::connect(addr);
    let stream = match limit {
        Some(d) => match tokio::time::timeout(d, attempt).await {
            Ok(r) => r,
            Err(_) => return Err(Error::retryable(ErrorKind::Timeout, Side::Server)),
        },
        None => attempt.await,
    }
    .map_err(|_| Error::retryable(ErrorKind::Connect, Side::Server))?;
    // Heads and small bodies go out at once; the relay writes whole buffers anyway.
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// A client connection's own idle server connection (`http-reuse never`).
pub struct Own {
    pub backend: usize,
    pub server: usize,
    pub stream: TcpStream,
}

/// A server connection ready for one request.
pub struct Acquired {
    pub stream: TcpStream,
    /// The server's position in its backend.
    pub server: usize,
    /// Taken from the idle pool (may have been closed by the server meanwhile).
    pub reused: bool,
}

/// Chooses a server of backend `be` with this thread's balancer and returns a connection
/// to it: an idle one when `reuse` allows, else a new one. A failed connection is retried
/// (`retries`, default 3), on the same server, or on another for the last retry with
/// `option redispatch`. `port` is the port the client connected to (for servers without a
/// port).
pub async fn acquire(
    ctx: &crate::stream::Ctx,
    be: usize,
    port: Option<u16>,
    key: &sluice_balance::RequestKey<'_>,
    reuse: bool,
    own: &mut Option<Own>,
) -> Result<Acquired, Error> {
    use crate::counters::Counter;
    use sluice_balance::Algorithm;
    let no_server = Error::new(ErrorKind::NoServer, Side::Internal);
    let backend = ctx.plan.backend(be).ok_or(no_server)?;
    let balancer = ctx
        .balancers
        .get(be)
        .and_then(Option::as_ref)
        .ok_or(no_server)?;
    let pick = |avoid: Option<usize>| -> Option<usize> {
        for _ in 0..backend.servers.len().max(1) {
            let i = balancer
                .select(key)
                .and_then(|id| backend.server_index(id))?;
            if Some(i) != avoid || backend.snapshot.candidates().len() < 2 {
                return Some(i);
            }
        }
        None
    };
    let mut server = pick(None).ok_or(no_server)?;
    let mut last = no_server;
    for attempt in 0..=backend.retries {
        if attempt > 0 && attempt == backend.retries && backend.redispatch {
            server = pick(Some(server)).unwrap_or(server);
        }
        if own
            .as_ref()
            .is_some_and(|o| o.backend == be && o.server == server)
        {
            if let Some(o) = own.take() {
                return Ok(Acquired {
                    stream: o.stream,
                    server,
                    reused: true,
                });
            }
        }
        if reuse {
            if let Some(stream) = ctx.pool.borrow_mut().take(be, server) {
                ctx.count(Counter::ServerReuses);
                return Ok(Acquired {
                    stream,
                    server,
                    reused: true,
                });
            }
        }
        let Some(addr) = backend.servers.get(server).and_then(|s| s.addr(port)) else {
            return Err(no_server);
        };
        match connect(addr, backend.connect).await {
            Ok(stream) => {
                ctx.count(Counter::ServerConnects);
                return Ok(Acquired {
                    stream,
                    server,
                    reused: false,
                });
            }
            Err(e) => {
                ctx.count(Counter::ConnectErrors);
                last = e;
            }
        }
    }
    Err(last)
}
