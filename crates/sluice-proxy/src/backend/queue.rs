//! Server connection slots (`maxconn`) and the backend queue.
//!
//! A request holds a [`Slot`] of its server from the connection attempt to the end of the
//! response. Taking one is a compare-and-swap on the server's counter (shared with every
//! thread's balancer); nothing else is touched while servers have room, so the queue stays
//! off the fast path. When every usable server is full, the request waits in its backend's
//! [`Queue`]: one FIFO per backend, shared by the threads, behind a mutex that is only taken
//! by requests that queue and by releases that find someone waiting. A released slot goes
//! straight to the first waiter that may use that server (a request pinned to a server by
//! persistence waits for that server only), so a slot never sits free while someone waits.
//!
//! `fullconn`/`minconn` (dynamic limits) are not applied: `maxconn` is the limit.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::oneshot;

/// One server's limits as the queue sees them.
#[derive(Debug)]
struct Limits {
    connections: Arc<AtomicU32>,
    /// 0: no limit. Changed at run time by an agent's `maxconn:N` or `set maxconn server`.
    maxconn: AtomicU32,
    /// 0: no limit.
    maxqueue: u32,
}

struct Waiter {
    id: u64,
    pin: Option<usize>,
    tx: oneshot::Sender<Slot>,
}

/// The backend queue.
pub struct Queue {
    servers: Vec<Limits>,
    /// Waiters in the list; read without the lock by every release.
    waiting: AtomicUsize,
    list: Mutex<VecDeque<Waiter>>,
    next_id: AtomicU64,
}

/// Why a request could not get a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueError {
    /// The queue is at `maxqueue` for every server this request may use.
    Full,
    /// `timeout queue` expired.
    Timeout,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("servers", &self.servers)
            .field("waiting", &self.waiting.load(Ordering::Relaxed))
            .finish()
    }
}

impl Queue {
    /// A queue over servers given as (connection counter, maxconn, maxqueue).
    pub fn new(servers: Vec<(Arc<AtomicU32>, u32, u32)>) -> Arc<Queue> {
        Arc::new(Queue {
            servers: servers
                .into_iter()
                .map(|(connections, maxconn, maxqueue)| Limits {
                    connections,
                    maxconn: AtomicU32::new(maxconn),
                    maxqueue,
                })
                .collect(),
            waiting: AtomicUsize::new(0),
            list: Mutex::new(VecDeque::new()),
            next_id: AtomicU64::new(0),
        })
    }

    /// Requests waiting now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Requests waiting for `server` alone (pinned to it: `use-server`, persistence).
    pub fn waiting_for(&self, server: usize) -> usize {
        if self.waiting() == 0 {
            return 0;
        }
        self.lock().iter().filter(|w| w.pin == Some(server)).count()
    }

    /// A slot of `server` if it has room (always, without `maxconn`).
    pub fn try_take(self: &Arc<Self>, server: usize) -> Option<Slot> {
        let l = self.servers.get(server)?;
        let maxconn = l.maxconn.load(Ordering::Relaxed);
        if maxconn == 0 {
            l.connections.fetch_add(1, Ordering::SeqCst);
        } else {
            l.connections
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| {
                    (c < maxconn).then_some(c + 1)
                })
                .ok()?;
        }
        Some(Slot {
            queue: Some(self.clone()),
            server,
        })
    }

    /// Waits for a slot: of `pin` only, or of any server in `candidates`. Gives up after
    /// `limit`, or at once when the queue is full for those servers.
    pub async fn wait(
        self: &Arc<Self>,
        pin: Option<usize>,
        candidates: &[usize],
        limit: Option<Duration>,
    ) -> Result<Slot, QueueError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, mut rx) = oneshot::channel();
        {
            let mut list = self.lock();
            // Counted before the last try, so that a release that did not see us waiting
            // has already freed its slot for that try (both sides are SeqCst).
            self.waiting.fetch_add(1, Ordering::SeqCst);
            let mine: &[usize] = match &pin {
                Some(p) => std::slice::from_ref(p),
                None => candidates,
            };
            if let Some(slot) = mine.iter().find_map(|s| self.try_take(*s)) {
                self.waiting.fetch_sub(1, Ordering::SeqCst);
                return Ok(slot);
            }
            if self.is_full(&list, pin, candidates) {
                self.waiting.fetch_sub(1, Ordering::SeqCst);
                return Err(QueueError::Full);
            }
            list.push_back(Waiter { id, pin, tx });
        }
        // Declared after `rx`, so dropped before it: a request abandoned while it waits
        // (its client left: `option abortonclose`) leaves the list at once, and a slot
        // handed over meanwhile goes back to the queue when `rx` is dropped.
        let mut place = Place {
            queue: self,
            id: Some(id),
        };
        let got = match limit {
            Some(d) => tokio::time::timeout(d, &mut rx).await.ok(),
            None => Some((&mut rx).await),
        };
        if let Some(Ok(slot)) = got {
            place.id = None;
            return Ok(slot);
        }
        // Timed out: leave the queue, unless a slot was handed over meanwhile.
        if place.leave() {
            return Err(QueueError::Timeout);
        }
        rx.try_recv().map_err(|_| QueueError::Timeout)
    }

    /// `maxqueue`: a pinned request counts against its server; others against the sum
    /// over the candidates, when every candidate has one.
    fn is_full(&self, list: &VecDeque<Waiter>, pin: Option<usize>, candidates: &[usize]) -> bool {
        match pin {
            Some(p) => {
                let max = self.servers.get(p).map_or(0, |l| l.maxqueue);
                max != 0 && list.iter().filter(|w| w.pin == Some(p)).count() >= max as usize
            }
            None => {
                let mut sum = 0usize;
                for s in candidates {
                    match self.servers.get(*s).map_or(0, |l| l.maxqueue) {
                        0 => return false,
                        m => sum += m as usize,
                    }
                }
                !candidates.is_empty() && list.iter().filter(|w| w.pin.is_none()).count() >= sum
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<Waiter>> {
        // A panic while holding the lock leaves the list consistent (no multi-step edit).
        self.list.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current `maxconn` of `server` (0: none).
    pub fn maxconn(&self, server: usize) -> u32 {
        self.servers
            .get(server)
            .map_or(0, |l| l.maxconn.load(Ordering::Relaxed))
    }

    /// Changes the `maxconn` of `server` (0: none); a raised limit serves waiters at once.
    pub fn set_maxconn(self: &Arc<Self>, server: usize, maxconn: u32) {
        let Some(l) = self.servers.get(server) else {
            return;
        };
        l.maxconn.store(maxconn, Ordering::SeqCst);
        self.serve_waiters(server);
    }

    /// Gives back a slot of `server` and hands it to the first waiter that may use it.
    fn release(self: &Arc<Self>, server: usize) {
        let Some(l) = self.servers.get(server) else {
            return;
        };
        l.connections.fetch_sub(1, Ordering::SeqCst);
        self.serve_waiters(server);
    }

    /// Hands free slots of `server` to the waiters that may use it, in order.
    fn serve_waiters(self: &Arc<Self>, server: usize) {
        if self.waiting.load(Ordering::SeqCst) == 0 {
            return;
        }
        let mut list = self.lock();
        while let Some(i) = list
            .iter()
            .position(|w| w.pin.map_or(true, |p| p == server))
        {
            let Some(slot) = self.try_take(server) else {
                // Taken by a new request meanwhile: its release will serve the queue.
                return;
            };
            let Some(w) = list.remove(i) else { return };
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            // The waiter may have given up: take the slot back without re-entering release.
            if let Err(slot) = w.tx.send(slot) {
                slot.forget();
            }
        }
    }
}

/// A request's place in the waiting list, left when dropped (the waiting future dropped
/// midway) unless the request was served.
struct Place<'q> {
    queue: &'q Queue,
    id: Option<u64>,
}

impl Place<'_> {
    /// Leaves the list; `false` when the request was no longer in it (a slot was handed
    /// over meanwhile).
    fn leave(&mut self) -> bool {
        let Some(id) = self.id.take() else {
            return false;
        };
        let mut list = self.queue.lock();
        let Some(i) = list.iter().position(|w| w.id == id) else {
            return false;
        };
        list.remove(i);
        self.queue.waiting.fetch_sub(1, Ordering::SeqCst);
        true
    }
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        self.leave();
    }
}

/// One connection slot of a server, given back (and handed to a waiter) when dropped.
#[derive(Debug)]
pub struct Slot {
    queue: Option<Arc<Queue>>,
    server: usize,
}

impl Slot {
    /// The server's position in its backend.
    pub fn server(&self) -> usize {
        self.server
    }

    /// Gives the slot back without serving the queue (the caller holds the lock).
    fn forget(mut self) {
        if let Some(q) = self.queue.take() {
            if let Some(l) = q.servers.get(self.server) {
                l.connections.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(q) = self.queue.take() {
            q.release(self.server);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(maxconn: u32, maxqueue: u32, n: usize) -> Arc<Queue> {
        Queue::new(
            (0..n)
                .map(|_| (Arc::new(AtomicU32::new(0)), maxconn, maxqueue))
                .collect(),
        )
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap_or_else(|e| panic!("runtime: {e}"))
    }

    #[test]
    fn slots_respect_maxconn() {
        let q = queue(2, 0, 1);
        let a = q.try_take(0);
        let b = q.try_take(0);
        assert!(a.is_some() && b.is_some());
        assert!(q.try_take(0).is_none());
        drop(a);
        assert!(q.try_take(0).is_some());
    }

    #[test]
    fn a_raised_maxconn_serves_every_waiter_it_can() {
        rt().block_on(async {
            let q = queue(1, 0, 1);
            let _held = q.try_take(0);
            let waiters: Vec<_> = (0..2)
                .map(|_| {
                    let q = q.clone();
                    tokio::spawn(async move {
                        q.wait(None, &[0], Some(Duration::from_secs(5)))
                            .await
                            .map(|s| s.server())
                    })
                })
                .collect();
            tokio::task::yield_now().await;
            assert_eq!(q.waiting(), 2);
            q.set_maxconn(0, 3);
            assert_eq!(q.maxconn(0), 3);
            for w in waiters {
                assert_eq!(w.await.ok(), Some(Ok(0)));
            }
            // Lowered again: no room until slots come back.
            q.set_maxconn(0, 1);
            assert!(q.try_take(0).is_none());
        });
    }

    #[test]
    fn release_wakes_the_first_waiter_in_order() {
        rt().block_on(async {
            let q = queue(1, 0, 1);
            let held = q.try_take(0);
            let (q1, q2) = (q.clone(), q.clone());
            let first =
                tokio::spawn(async move { q1.wait(None, &[0], None).await.map(|s| s.server()) });
            tokio::task::yield_now().await;
            let second = tokio::spawn(async move {
                q2.wait(None, &[0], Some(Duration::from_millis(50)))
                    .await
                    .map(|_| ())
            });
            tokio::task::yield_now().await;
            assert_eq!(q.waiting(), 2);
            drop(held);
            assert_eq!(first.await.ok(), Some(Ok(0)));
            // The first waiter's slot was dropped on return: the second gets it.
            assert_eq!(second.await.ok(), Some(Ok(())));
            assert_eq!(q.waiting(), 0);
        });
    }

    #[test]
    fn timeout_and_maxqueue() {
        rt().block_on(async {
            let q = queue(1, 1, 1);
            let _held = q.try_take(0);
            let q1 = q.clone();
            let waiter = tokio::spawn(async move {
                q1.wait(None, &[0], Some(Duration::from_millis(30)))
                    .await
                    .map(|_| ())
            });
            tokio::task::yield_now().await;
            assert_eq!(
                q.wait(None, &[0], None).await.map(|_| ()),
                Err(QueueError::Full)
            );
            assert_eq!(waiter.await.ok(), Some(Err(QueueError::Timeout)));
            assert_eq!(q.waiting(), 0);
        });
    }

    #[test]
    fn an_abandoned_waiter_leaves_the_queue() {
        rt().block_on(async {
            let q = queue(1, 0, 1);
            let held = q.try_take(0);
            let q1 = q.clone();
            let waiter = tokio::spawn(async move { q1.wait(None, &[0], None).await.map(|_| ()) });
            tokio::task::yield_now().await;
            assert_eq!(q.waiting(), 1);
            // The client left: the waiting request is dropped.
            waiter.abort();
            let _ = waiter.await;
            assert_eq!(q.waiting(), 0);
            // Its slot is not lost when the held one comes back.
            drop(held);
            assert!(q.try_take(0).is_some());
        });
    }

    #[test]
    fn pinned_waiters_wait_for_their_server() {
        rt().block_on(async {
            let q = queue(1, 0, 2);
            let a = q.try_take(0);
            let b = q.try_take(1);
            let q1 = q.clone();
            let pinned =
                tokio::spawn(
                    async move { q1.wait(Some(1), &[0, 1], None).await.map(|s| s.server()) },
                );
            tokio::task::yield_now().await;
            drop(a);
            tokio::task::yield_now().await;
            assert_eq!(q.waiting(), 1);
            drop(b);
            assert_eq!(pinned.await.ok(), Some(Ok(1)));
        });
    }
}
