//! The idle server connections of one thread, by server, for `http-reuse`.
//!
//! Per thread, so taking and giving back a connection is a `Vec` pop/push with no lock. A
//! connection the server closed while idle is readable (EOF): it is found out without a
//! system call from the readiness tokio already holds, and dropped.
//!
//! As HAProxy's manual says, a server's idle connections are purged progressively: every
//! `pool-purge-delay` (5 s by default) after the first one was kept, half (rounded up) of
//! those that stayed idle through a whole delay are closed, the least recently used first;
//! `pool-purge-delay 0` keeps none. `pool-max-conn` bounds the idle connections of
//! a server over all threads (-1, the default: only this pool's own bound per thread; 0: none
//! kept). The purge runs from the thread's once-a-second heartbeat ([`IdlePool::purge`]), so
//! a delay is honoured to within a second.

use crate::plan::Plan;
use crate::tls::connector::ServerStream;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use tokio::time::Instant;

/// Most idle connections kept per server and thread.
const MAX_IDLE_PER_SERVER: usize = 256;

/// One server's idle connections on this thread.
#[derive(Debug, Default)]
struct Idle {
    /// The least recently used first, each with the heartbeat it was kept at.
    conns: Vec<(u32, ServerStream)>,
    /// When the next purge runs (`None`: nothing idle).
    purge_at: Option<Instant>,
    /// Connections are kept at all (`pool-purge-delay` and `pool-max-conn` are not 0).
    keeps: bool,
    /// `pool-max-conn` is set: the server's count over all threads is kept up to date.
    counted: bool,
}

/// Idle connections by backend (proxy index) and server (position).
pub struct IdlePool {
    plan: Arc<Plan>,
    slots: Vec<Vec<Idle>>,
    /// Connections kept now, all servers together (the purge has nothing to do at zero).
    kept: usize,
    /// Heartbeats so far: a connection's age, counted without reading the clock.
    beats: u32,
    /// Polls readiness without registering interest in being woken.
    noop: Waker,
}

struct Noop;
impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

impl IdlePool {
    /// An empty pool for the plan's backends and servers.
    pub fn new(plan: Arc<Plan>) -> IdlePool {
        let slots = plan
            .backends
            .iter()
            .map(|b| {
                let servers = b.as_ref().map_or(&[][..], |b| &b.servers[..]);
                servers
                    .iter()
                    .map(|s| Idle {
                        keeps: !s.purge_delay.is_zero() && s.pool_max != Some(0),
                        counted: s.pool_max.is_some(),
                        ..Idle::default()
                    })
                    .collect()
            })
            .collect();
        IdlePool {
            plan,
            slots,
            kept: 0,
            beats: 0,
            noop: Waker::from(Arc::new(Noop)),
        }
    }

    /// An idle connection to the server, the most recently used first.
    #[inline]
    pub fn take(&mut self, backend: usize, server: usize) -> Option<ServerStream> {
        let idle = self.slots.get_mut(backend)?.get_mut(server)?;
        while let Some((_, conn)) = idle.conns.pop() {
            self.kept -= 1;
            if idle.counted {
                if let Some(srv) = self
                    .plan
                    .backend(backend)
                    .and_then(|b| b.servers.get(server))
                {
                    srv.forget_idle(1);
                }
            }
            if still_idle(&conn, &self.noop) {
                return Some(conn);
            }
        }
        None
    }

    /// Keeps a connection whose last response was read completely, unless the server's
    /// `pool-max-conn` or `pool-purge-delay 0` says to close it (dropped: closed).
    #[inline]
    pub fn put(&mut self, backend: usize, server: usize, conn: ServerStream) {
        let Some(idle) = self.slots.get_mut(backend).and_then(|b| b.get_mut(server)) else {
            return;
        };
        if !idle.keeps || idle.conns.len() >= MAX_IDLE_PER_SERVER {
            return;
        }
        let srv = || {
            self.plan
                .backend(backend)
                .and_then(|b| b.servers.get(server))
        };
        if idle.counted {
            let Some(srv) = srv() else { return };
            if srv
                .pool_max
                .is_some_and(|max| srv.idle.load(Ordering::Relaxed) >= max)
            {
                return;
            }
            srv.idle.fetch_add(1, Ordering::Relaxed);
        }
        if idle.purge_at.is_none() {
            let Some(srv) = srv() else { return };
            idle.purge_at = Some(Instant::now() + srv.purge_delay);
        }
        idle.conns.push((self.beats, conn));
        self.kept += 1;
    }

    /// The heartbeat (once a second): closes, for each server whose purge time has come,
    /// half (rounded up) of the connections idle for a whole `pool-purge-delay`, the least
    /// recently used first; the next purge is one delay later while some remain.
    pub fn purge(&mut self, now: Instant) {
        self.beats = self.beats.wrapping_add(1);
        if self.kept == 0 {
            return;
        }
        let beats = self.beats;
        for (b, servers) in self.slots.iter_mut().enumerate() {
            let Some(backend) = self.plan.backend(b) else {
                continue;
            };
            for (idle, srv) in servers.iter_mut().zip(&backend.servers) {
                if !idle.purge_at.is_some_and(|at| at <= now) {
                    continue;
                }
                // Whole beats in the delay (at least one): a connection kept more beats ago
                // than that was idle through all of it. The oldest are first.
                let delay = u32::try_from(srv.purge_delay.as_millis().div_ceil(1000))
                    .unwrap_or(u32::MAX)
                    .max(1);
                let unused = idle
                    .conns
                    .iter()
                    .take_while(|(kept, _)| beats.wrapping_sub(*kept) > delay)
                    .count();
                let close = unused.div_ceil(2);
                idle.conns.drain(..close);
                self.kept -= close;
                srv.forget_idle(close);
                idle.purge_at = (!idle.conns.is_empty()).then(|| now + srv.purge_delay);
            }
        }
    }

    /// Drops every idle connection (soft stop).
    pub fn clear(&mut self) {
        for (b, servers) in self.slots.iter_mut().enumerate() {
            for (s, idle) in servers.iter_mut().enumerate() {
                if let Some(srv) = self.plan.backend(b).and_then(|b| b.servers.get(s)) {
                    srv.forget_idle(idle.conns.len());
                }
                idle.conns.clear();
                idle.purge_at = None;
            }
        }
        self.kept = 0;
    }
}

/// An idle connection must have nothing to read: readable means closed (or a protocol
/// error from the server). Uses the readiness tokio has recorded; no system call.
fn still_idle(conn: &ServerStream, noop: &Waker) -> bool {
    let mut cx = Context::from_waker(noop);
    !conn.buffered() && matches!(conn.tcp().poll_read_ready(&mut cx), Poll::Pending)
}
