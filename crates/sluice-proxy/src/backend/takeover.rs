//! Idle server connections taken over from another thread.
//!
//! Each thread keeps its idle server connections in its own pool ([`super::pool`]), so that
//! taking one back costs no lock. A request on a thread whose pool has none for its server
//! may still use one that another thread keeps, as HAProxy's threads share their idle
//! connections: it asks that thread through its mailbox, and the owner hands the socket over
//! (deregistered from its event loop; the asking thread registers it in its own). Only
//! plain TCP connections move; TLS and HTTP/2 ones stay on their thread.
//!
//! The request path only pays for this when its own pool is empty: a look at the other
//! threads' counts of idle connections for the server (relaxed atomics), and, when one has
//! some, one message and a bounded wait.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{oneshot, Notify};

/// How long a thread waits for another to hand over a connection before opening its own.
const HANDOVER_WAIT: Duration = Duration::from_millis(20);

/// One request for an idle connection.
struct Ask {
    backend: usize,
    server: usize,
    /// Only a connection that served more than one request will do.
    proven_only: bool,
    reply: oneshot::Sender<std::net::TcpStream>,
}

#[derive(Default)]
struct Mailbox {
    asks: Mutex<Vec<Ask>>,
    notify: Notify,
}

/// What the threads of a worker share about their idle server connections.
pub struct Takeover {
    /// By thread.
    mailboxes: Box<[Mailbox]>,
    /// By backend, server, then thread: plain idle connections the thread keeps.
    idle: Vec<Vec<Box<[AtomicU32]>>>,
}

impl std::fmt::Debug for Takeover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Takeover")
            .field("threads", &self.mailboxes.len())
            .finish()
    }
}

impl Takeover {
    /// Shared state for `threads` threads over the plan's backends and servers.
    pub fn new(plan: &crate::plan::Plan, threads: usize) -> Arc<Takeover> {
        let idle = plan
            .backends
            .iter()
            .map(|b| {
                let servers = b.as_ref().map_or(0, |b| b.servers.len());
                (0..servers)
                    .map(|_| (0..threads).map(|_| AtomicU32::new(0)).collect())
                    .collect()
            })
            .collect();
        Arc::new(Takeover {
            mailboxes: (0..threads).map(|_| Mailbox::default()).collect(),
            idle,
        })
    }

    fn count(&self, thread: usize, backend: usize, server: usize) -> Option<&AtomicU32> {
        self.idle.get(backend)?.get(server)?.get(thread)
    }

    /// `thread` keeps one more plain idle connection to the server.
    pub fn kept(&self, thread: usize, backend: usize, server: usize) {
        if let Some(c) = self.count(thread, backend, server) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// `thread` keeps `n` fewer plain idle connections to the server.
    pub fn released(&self, thread: usize, backend: usize, server: usize, n: usize) {
        if let Some(c) = self.count(thread, backend, server) {
            let n = u32::try_from(n).unwrap_or(u32::MAX);
            let _ = c.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                Some(v.saturating_sub(n))
            });
        }
    }

    /// An idle connection to the server from another thread than `me`, if one hands one
    /// over soon enough (with `proven_only`, one that served more than one request).
    pub async fn steal(
        &self,
        me: usize,
        backend: usize,
        server: usize,
        proven_only: bool,
    ) -> Option<tokio::net::TcpStream> {
        let counts = self.idle.get(backend)?.get(server)?;
        let (owner, _) = counts
            .iter()
            .enumerate()
            .filter(|(t, _)| *t != me)
            .map(|(t, c)| (t, c.load(Ordering::Relaxed)))
            .filter(|(_, n)| *n > 0)
            .max_by_key(|(_, n)| *n)?;
        let mailbox = self.mailboxes.get(owner)?;
        let (reply, answer) = oneshot::channel();
        mailbox
            .asks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Ask {
                backend,
                server,
                proven_only,
                reply,
            });
        mailbox.notify.notify_one();
        let socket = tokio::time::timeout(HANDOVER_WAIT, answer)
            .await
            .ok()?
            .ok()?;
        tokio::net::TcpStream::from_std(socket).ok()
    }

    /// The owner's side, one task per thread: answers the asks with connections from the
    /// thread's pool (an ask it cannot serve is dropped, and the asker opens its own).
    pub async fn serve(self: Arc<Self>, me: usize, ctx: std::rc::Rc<crate::stream::Ctx>) {
        let Some(mailbox) = self.mailboxes.get(me) else {
            return;
        };
        loop {
            mailbox.notify.notified().await;
            let asks = std::mem::take(&mut *mailbox.asks.lock().unwrap_or_else(|e| e.into_inner()));
            for ask in asks {
                if ask.reply.is_closed() {
                    continue;
                }
                let taken =
                    ctx.pool
                        .borrow_mut()
                        .take_plain(ask.backend, ask.server, ask.proven_only);
                if let Some(socket) = taken.and_then(|s| s.into_std().ok()) {
                    // The asker gave up meanwhile: the connection closes as it drops.
                    let _ = ask.reply.send(socket);
                }
            }
        }
    }
}
