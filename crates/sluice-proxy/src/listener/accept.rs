//! The accept loop of one listener on one thread.

use super::limit;
use crate::counters::Counter;
use crate::proxy_protocol::accept::{read_preamble, Expected, Peek};
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

/// Which bind line a listener serves: the proxy's index and the line's index in it.
#[derive(Clone, Copy, Debug)]
pub struct Bound {
    pub proxy: usize,
    pub bind: usize,
}

/// Accepts until the worker stops; each connection becomes a task of this thread.
/// `expected`: what each connection starts with (`accept-proxy`, `accept-netscaler-cip`),
/// read before anything else. `tls`: the bind's acceptor; each connection is then a TLS
/// handshake first.
pub async fn run(
    listener: Listener,
    bound: Bound,
    expected: Expected,
    tls: Option<TlsAcceptor>,
    ctx: Rc<Ctx>,
) {
    let fe = bound.proxy;
    let bind = u32::try_from(bound.bind).ok();
    let plan = ctx.plan.clone();
    let Some(frontend) = plan.frontend(fe) else {
        return;
    };
    let first = FirstBytes { expected, tls };
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
                let socket = stream::Socket {
                    fd: Some(std::os::fd::AsRawFd::as_raw_fd(&s)),
                    bind,
                };
                start(&ctx, fe, s, (addrs, socket), permits, &first);
            }
            Ok(Accepted::Unix(s)) => {
                ctx.count(Counter::Accepted);
                let socket = stream::Socket { fd: None, bind };
                start(&ctx, fe, s, (Addrs::default(), socket), permits, &first);
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

/// What a bind line puts before the session on each of its connections.
struct FirstBytes {
    /// `accept-proxy`, `accept-netscaler-cip`: a PROXY header, a NetScaler CIP header.
    expected: Expected,
    /// `ssl`: a TLS handshake.
    tls: Option<TlsAcceptor>,
}

/// Runs the `tcp-request connection` rules on a connection just accepted (on its real
/// addresses, before anything is read), then starts its task: PROXY header (`accept-proxy`
/// on the bind, or an `expect-proxy` rule that matched), NetScaler CIP header (likewise),
/// TLS handshake, session.
fn start<S: stream::io::ClientIo + Peek>(
    ctx: &Rc<Ctx>,
    fe: usize,
    s: S,
    (addrs, socket): (Addrs, stream::Socket),
    permits: stream::Permits,
    first: &FirstBytes,
) {
    let FirstBytes { expected, tls } = first;
    let Some(stage) = crate::tcp::rules::connection_stage(&ctx.plan, fe, addrs, socket) else {
        // `reject`/`silent-drop`: closed before a byte is read.
        return;
    };
    let proxy = expected.proxy || stage.expect_proxy;
    // The rule reads the magic number from the bind line: zero when it declares none.
    let cip = expected
        .netscaler_cip
        .or(stage.expect_netscaler_cip.then_some(0));
    let header = (proxy, cip);
    let limit = ctx.plan.frontend(fe).and_then(|f| f.client);
    if let Some(tls) = tls {
        let acceptor = tls.clone();
        tokio::task::spawn_local(crate::tls::acceptor::serve(
            ctx.clone(),
            fe,
            s,
            stage.fc,
            socket,
            permits,
            acceptor,
            header,
            limit,
        ));
    } else if proxy || cip.is_some() {
        let fc = stage.fc;
        let task = proxied(ctx.clone(), fe, (s, header), fc, socket, permits, limit);
        tokio::task::spawn_local(task);
    } else {
        let serve = stream::serve(ctx.clone(), fe, s, stage.fc, None, socket, permits);
        tokio::task::spawn_local(serve);
    }
}

/// Reads the PROXY and/or CIP header (within `timeout client`), then serves the connection
/// as the client the header names (`fc_src`/`fc_dst` keep the real ones); a bad header
/// closes it.
async fn proxied<S: stream::io::ClientIo + Peek>(
    ctx: Rc<Ctx>,
    fe: usize,
    (mut s, header): (S, (bool, Option<u32>)),
    addrs: Addrs,
    socket: stream::Socket,
    permits: stream::Permits,
    limit: Option<Duration>,
) {
    match read_preamble(&mut s, addrs, header, limit).await {
        Ok((session, proxied)) => {
            let proxied = Some(Rc::new(proxied));
            stream::serve(ctx, fe, s, session, proxied, socket, permits).await
        }
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
