//! The accept loop of one listener on one thread.

use super::limit;
use crate::counters::Counter;
use crate::proxy_protocol::accept::{apply, read_header, Peek};
use crate::stream::{self, Addrs, Ctx};
use std::rc::Rc;
use std::time::Duration;
use tokio::net::{TcpListener, UnixListener};
use tokio_rustls::TlsAcceptor;

/// A listener registered with this thread's runtime.
pub enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

/// Accepts until the worker stops; each connection becomes a task of this thread.
/// `accept_proxy`: each connection starts with a PROXY header, read before anything else.
/// `tls`: the bind's acceptor; each connection is then a TLS handshake first.
pub async fn run(
    listener: Listener,
    fe: usize,
    accept_proxy: bool,
    tls: Option<TlsAcceptor>,
    ctx: Rc<Ctx>,
) {
    let plan = ctx.plan.clone();
    let Some(frontend) = plan.frontend(fe) else {
        return;
    };
    // The listener's own address serves as the connection's local address unless it is a
    // wildcard: saves a getsockname() per connection.
    let fixed_local = match &listener {
        Listener::Tcp(l) => l.local_addr().ok().filter(|a| !a.ip().is_unspecified()),
        Listener::Unix(_) => None,
    };
    // TCP_NODELAY set on the listening socket is inherited by every accepted socket
    // (Linux copies it at accept): one setsockopt per listener instead of one per
    // connection (1 of ~18 system calls of a connection-per-request exchange).
    let inherits_nodelay = match &listener {
        Listener::Tcp(l) => socket2::SockRef::from(l).set_nodelay(true).is_ok(),
        Listener::Unix(_) => true,
    };
    loop {
        if ctx.stopping() {
            return;
        }
        let permits = tokio::select! {
            p = limit::acquire(plan.global_limit.as_ref(), frontend.limit.as_ref()) => p,
            _ = ctx.stopped() => continue,
        };
        let Some(permits) = permits else { return };
        let accepted = tokio::select! {
            r = accept(&listener, fixed_local) => r,
            _ = ctx.stopped() => continue,
        };
        match accepted {
            Ok(Accepted::Tcp(s, addrs)) => {
                ctx.count(Counter::Accepted);
                if !inherits_nodelay {
                    let _ = s.set_nodelay(true);
                }
                if let Some(tls) = &tls {
                    let (acceptor, limit) = (tls.clone(), frontend.client);
                    tokio::task::spawn_local(crate::tls::acceptor::serve(
                        ctx.clone(),
                        fe,
                        s,
                        addrs,
                        permits,
                        acceptor,
                        accept_proxy,
                        limit,
                    ));
                } else if accept_proxy {
                    let limit = frontend.client;
                    tokio::task::spawn_local(proxied(ctx.clone(), fe, s, addrs, permits, limit));
                } else {
                    tokio::task::spawn_local(stream::serve(ctx.clone(), fe, s, addrs, permits));
                }
            }
            Ok(Accepted::Unix(s)) => {
                ctx.count(Counter::Accepted);
                let addrs = Addrs::default();
                if let Some(tls) = &tls {
                    let (acceptor, limit) = (tls.clone(), frontend.client);
                    tokio::task::spawn_local(crate::tls::acceptor::serve(
                        ctx.clone(),
                        fe,
                        s,
                        addrs,
                        permits,
                        acceptor,
                        accept_proxy,
                        limit,
                    ));
                } else if accept_proxy {
                    let limit = frontend.client;
                    tokio::task::spawn_local(proxied(ctx.clone(), fe, s, addrs, permits, limit));
                } else {
                    tokio::task::spawn_local(stream::serve(ctx.clone(), fe, s, addrs, permits));
                }
            }
            Err(e) => {
                // Out of file descriptors or memory: back off instead of spinning, as
                // HAProxy pauses its listeners.
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
                ) {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

/// Reads the PROXY header (within `timeout client`), then serves the connection as the
/// client the header names; a bad header closes it.
async fn proxied<S: stream::io::ClientIo + Peek>(
    ctx: Rc<Ctx>,
    fe: usize,
    mut s: S,
    addrs: Addrs,
    permits: stream::Permits,
    limit: Option<Duration>,
) {
    match read_header(&mut s, limit).await {
        Ok(header) => stream::serve(ctx, fe, s, apply(addrs, header), permits).await,
        Err(_) => ctx.count(Counter::ProxyHeaderErrors),
    }
}

enum Accepted {
    Tcp(tokio::net::TcpStream, Addrs),
    Unix(tokio::net::UnixStream),
}

async fn accept(
    listener: &Listener,
    fixed_local: Option<std::net::SocketAddr>,
) -> std::io::Result<Accepted> {
    match listener {
        Listener::Tcp(l) => {
            let (s, peer) = l.accept().await?;
            let local = fixed_local.or_else(|| s.local_addr().ok());
            Ok(Accepted::Tcp(
                s,
                Addrs {
                    peer: Some(peer),
                    local,
                },
            ))
        }
        Listener::Unix(l) => Ok(Accepted::Unix(l.accept().await?.0)),
    }
}
