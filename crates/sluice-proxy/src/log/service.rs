//! The log service thread: a current-thread runtime beside the worker threads that feeds the
//! rings' servers over TCP or UNIX stream sockets and receives the syslog messages of the
//! `log-forward` sections. Started only when there is something to do; it stops with the
//! worker.
//!
//! Ring servers: each has its own cursor in its ring and its own connection, opened when
//! there is something to send and reopened (at most once a second) after a failure; an event
//! is consumed once written. Forwarders: one task per UDP socket, one accept loop per stream
//! listener with `maxconn` sessions at most, each session closed on end of stream, error or
//! `timeout client`.

use super::forward::{self, Listener, Section, Sender};
use super::ring::{Framing, Peer, Ring, RingServer};
use crate::worker::StopLevel;
use std::cell::RefCell;
use std::io;
use std::net::IpAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::{watch, Semaphore};

/// Starts the thread when some ring has servers or some `log-forward` section listens.
pub fn start(
    rings: Vec<Arc<Ring>>,
    sections: Vec<Section>,
    stop: watch::Receiver<StopLevel>,
) -> io::Result<Option<JoinHandle<()>>> {
    if rings.is_empty() && sections.is_empty() {
        return Ok(None);
    }
    let handle = std::thread::Builder::new()
        .name("sluice-log".into())
        .spawn(move || run(rings, sections, stop))?;
    Ok(Some(handle))
}

fn run(rings: Vec<Arc<Ring>>, sections: Vec<Section>, mut stop: watch::Receiver<StopLevel>) {
    crate::local_runtime::run_local(async move {
        for ring in &rings {
            for server in &ring.servers {
                tokio::task::spawn_local(feed(ring.clone(), server.clone()));
            }
        }
        for mut section in sections {
            let sender = Rc::new(RefCell::new(Sender::new(&section)));
            let limit = Arc::new(Semaphore::new(section.maxconn));
            for l in std::mem::take(&mut section.listeners) {
                let sender = sender.clone();
                match l {
                    Listener::Udp(fd) => {
                        let std = std::net::UdpSocket::from(fd);
                        if let Ok(s) = tokio::net::UdpSocket::from_std(std) {
                            tokio::task::spawn_local(receive(s, sender));
                        }
                    }
                    Listener::Tcp(fd) => {
                        let std = std::net::TcpListener::from(fd);
                        if let Ok(l) = tokio::net::TcpListener::from_std(std) {
                            tokio::task::spawn_local(accept_tcp(
                                l,
                                sender,
                                limit.clone(),
                                settings(&section),
                            ));
                        }
                    }
                    Listener::Unix(fd) => {
                        let std = std::os::unix::net::UnixListener::from(fd);
                        if let Ok(l) = tokio::net::UnixListener::from_std(std) {
                            tokio::task::spawn_local(accept_unix(
                                l,
                                sender,
                                limit.clone(),
                                settings(&section),
                            ));
                        }
                    }
                }
            }
        }
        let _ = stop.wait_for(|l| *l >= StopLevel::Soft).await;
        if *stop.borrow() == StopLevel::Soft {
            // Let the rings' servers take what is left, briefly.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
}

/// What a stream session needs from its section.
#[derive(Clone, Copy)]
struct Settings {
    assume_ntf: bool,
    timeout: Option<Duration>,
}

fn settings(s: &Section) -> Settings {
    Settings {
        assume_ntf: s.assume_ntf,
        timeout: s.timeout_client,
    }
}

async fn receive(s: tokio::net::UdpSocket, sender: Rc<RefCell<Sender>>) {
    let mut buf = vec![0u8; 65536];
    loop {
        match s.recv_from(&mut buf).await {
            Ok((n, from)) => {
                if let Some(m) = buf.get(..n) {
                    sender.borrow_mut().forward(m, Some(from.ip()));
                }
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

async fn accept_tcp(
    l: tokio::net::TcpListener,
    sender: Rc<RefCell<Sender>>,
    limit: Arc<Semaphore>,
    settings: Settings,
) {
    loop {
        // Accept only when a session slot is free: others wait in the backlog (`maxconn`).
        let Ok(permit) = limit.clone().acquire_owned().await else {
            return;
        };
        match l.accept().await {
            Ok((conn, peer)) => {
                let sender = sender.clone();
                tokio::task::spawn_local(async move {
                    session(conn, Some(peer.ip()), sender, settings).await;
                    drop(permit);
                });
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

async fn accept_unix(
    l: tokio::net::UnixListener,
    sender: Rc<RefCell<Sender>>,
    limit: Arc<Semaphore>,
    settings: Settings,
) {
    loop {
        let Ok(permit) = limit.clone().acquire_owned().await else {
            return;
        };
        match l.accept().await {
            Ok((conn, _)) => {
                let sender = sender.clone();
                tokio::task::spawn_local(async move {
                    session(conn, None, sender, settings).await;
                    drop(permit);
                });
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

/// One stream of syslog messages, until the client closes it (or goes idle too long).
async fn session<S: AsyncRead + Unpin>(
    mut conn: S,
    peer: Option<IpAddr>,
    sender: Rc<RefCell<Sender>>,
    settings: Settings,
) {
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = vec![0u8; 16384];
    loop {
        let read = conn.read(&mut chunk);
        let n = match settings.timeout {
            Some(t) => match tokio::time::timeout(t, read).await {
                Ok(r) => r,
                Err(_) => return,
            },
            None => read.await,
        };
        let (n, eof) = match n {
            Ok(0) | Err(_) => (0, true),
            Ok(n) => (n, false),
        };
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        let (frames, used) = forward::frames(&buf, settings.assume_ntf, eof);
        {
            let mut s = sender.borrow_mut();
            for f in frames {
                if let Some(m) = buf.get(f) {
                    s.forward(m, peer);
                }
            }
        }
        buf.drain(..used.min(buf.len()));
        if eof {
            return;
        }
        // A message too long to ever end: drop what was received.
        if buf.len() > 1 << 20 {
            buf.clear();
        }
    }
}

/// Feeds one server of a ring, from the oldest event kept on.
async fn feed(ring: Arc<Ring>, server: RingServer) {
    let mut cursor = 0u64;
    let mut out: Vec<u8> = Vec::with_capacity(16384);
    loop {
        // Wait for something to send before connecting.
        loop {
            let arrived = ring.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            let mut any = false;
            ring.read_from(cursor, &mut |_| {
                any = true;
                false
            });
            if any {
                break;
            }
            arrived.await;
        }
        let connected = tokio::time::timeout(ring.timeout_connect, connect(&server.peer)).await;
        let mut conn = match connected {
            Ok(Ok(c)) => c,
            _ => {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        // Send until the connection fails.
        loop {
            out.clear();
            let next = ring.read_from(cursor, &mut |ev| {
                frame(&mut out, ev, server.framing);
                out.len() < 65536
            });
            if out.is_empty() {
                let arrived = ring.arrived.notified();
                tokio::pin!(arrived);
                arrived.as_mut().enable();
                let mut any = false;
                ring.read_from(cursor, &mut |_| {
                    any = true;
                    false
                });
                if !any {
                    // Also notice a server that closes while nothing is sent.
                    let mut probe = [0u8; 64];
                    tokio::select! {
                        _ = arrived => {}
                        r = conn.read(&mut probe) => {
                            if matches!(r, Ok(0) | Err(_)) {
                                break;
                            }
                        }
                    }
                }
                continue;
            }
            let write = conn.write_all(&out);
            let ok = match ring.timeout_server {
                Some(t) => matches!(tokio::time::timeout(t, write).await, Ok(Ok(()))),
                None => write.await.is_ok(),
            };
            if !ok {
                break;
            }
            cursor = next;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn frame(out: &mut Vec<u8>, ev: &[u8], framing: Framing) {
    match framing {
        Framing::OctetCount => {
            out.extend_from_slice(ev.len().to_string().as_bytes());
            out.push(b' ');
            out.extend_from_slice(ev);
        }
        Framing::LineFeed => {
            out.extend_from_slice(ev);
            out.push(b'\n');
        }
    }
}

/// A stream connection to a ring server.
enum Conn {
    Tcp(tokio::net::TcpStream),
    Unix(tokio::net::UnixStream),
}

async fn connect(peer: &Peer) -> io::Result<Conn> {
    match peer {
        Peer::Tcp(a) => tokio::net::TcpStream::connect(a).await.map(Conn::Tcp),
        Peer::Unix(p) => tokio::net::UnixStream::connect(p).await.map(Conn::Unix),
    }
}

impl Conn {
    async fn write_all(&mut self, b: &[u8]) -> io::Result<()> {
        match self {
            Conn::Tcp(s) => s.write_all(b).await,
            Conn::Unix(s) => s.write_all(b).await,
        }
    }

    async fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.read(b).await,
            Conn::Unix(s) => s.read(b).await,
        }
    }
}
