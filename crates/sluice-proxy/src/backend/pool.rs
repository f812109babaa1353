//! The idle server connections of one thread, by server, for `http-reuse`.
//!
//! Per thread, so taking and giving back a connection is a `Vec` pop/push with no lock. A
//! connection the server closed while idle is readable (EOF): it is found out without a
//! system call from the readiness tokio already holds, and dropped.

use crate::tls::connector::ServerStream;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// Most idle connections kept per server and thread.
const MAX_IDLE_PER_SERVER: usize = 256;

/// Idle connections by backend (proxy index) and server (position).
#[derive(Debug)]
pub struct IdlePool {
    slots: Vec<Vec<Vec<ServerStream>>>,
    /// Polls readiness without registering interest in being woken.
    noop: Waker,
}

struct Noop;
impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

impl IdlePool {
    /// An empty pool shaped for `servers[backend]` servers per backend.
    pub fn new(servers: &[usize]) -> IdlePool {
        IdlePool {
            slots: servers
                .iter()
                .map(|n| (0..*n).map(|_| Vec::new()).collect())
                .collect(),
            noop: Waker::from(Arc::new(Noop)),
        }
    }

    /// An idle connection to the server, the most recently used first.
    pub fn take(&mut self, backend: usize, server: usize) -> Option<ServerStream> {
        let list = self.slots.get_mut(backend)?.get_mut(server)?;
        while let Some(conn) = list.pop() {
            if still_idle(&conn, &self.noop) {
                return Some(conn);
            }
        }
        None
    }

    /// Keeps a connection whose last response was read completely.
    pub fn put(&mut self, backend: usize, server: usize, conn: ServerStream) {
        if let Some(list) = self.slots.get_mut(backend).and_then(|b| b.get_mut(server)) {
            if list.len() < MAX_IDLE_PER_SERVER {
                list.push(conn);
            }
        }
    }

    /// Drops every idle connection (soft stop).
    pub fn clear(&mut self) {
        for b in &mut self.slots {
            for s in b {
                s.clear();
            }
        }
    }
}

/// An idle connection must have nothing to read: readable means closed (or a protocol
/// error from the server). Uses the readiness tokio has recorded; no system call.
fn still_idle(conn: &ServerStream, noop: &Waker) -> bool {
    let mut cx = Context::from_waker(noop);
    !conn.buffered() && matches!(conn.tcp().poll_read_ready(&mut cx), Poll::Pending)
}
