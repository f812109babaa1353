//! Idle connections' timers: one per-thread table instead of a timer in each connection.
//!
//! A connection waiting for its next request is most of what a proxy holds, and each one
//! carrying its own `tokio::time::Sleep` and stop listener made its task ~400 bytes larger.
//! Here an idle connection holds a slot number: the thread's table keeps the deadlines in
//! order, one ticker task per thread wakes the connections whose deadline has passed, and a
//! stop wakes them all, as HAProxy's idle connections sit in its timer tree with no task
//! state of their own.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use tokio::time::{Instant, Sleep};

use super::io::ClientIo;
use super::Ctx;
use crate::worker::StopLevel;

/// Why an idle wait ended, other than the connection becoming readable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Woken {
    /// The deadline passed.
    Expired,
    /// A stop began (the caller compares the level with what it waits for).
    Stop,
}

#[derive(Default)]
struct Entry {
    deadline: Option<Instant>,
    waker: Option<Waker>,
    expired: bool,
    /// Bumped by each stop, so that an entry sees a stop that happened after it registered.
    stops_seen: u32,
}

#[derive(Default)]
struct Table {
    entries: Vec<Entry>,
    free: Vec<u32>,
    by_deadline: BTreeSet<(Instant, u32)>,
    ticker: Option<Waker>,
    /// The deadline the ticker sleeps until (`None`: it waits to be woken).
    ticker_at: Option<Instant>,
    stops: u32,
}

/// A thread's idle-connection timers.
#[derive(Default)]
pub struct IdleTimers {
    table: RefCell<Table>,
}

/// An idle connection's place in the table; gives it back when dropped.
pub struct IdleSlot<'a> {
    timers: &'a IdleTimers,
    index: u32,
}

impl IdleTimers {
    /// Registers an idle connection that expires at `deadline` (never if `None`).
    pub fn register(&self, deadline: Option<Instant>) -> IdleSlot<'_> {
        let mut t = self.table.borrow_mut();
        let stops = t.stops;
        let entry = Entry {
            deadline,
            waker: None,
            expired: false,
            stops_seen: stops,
        };
        let index = match t.free.pop() {
            Some(i) => {
                if let Some(e) = t.entries.get_mut(i as usize) {
                    *e = entry;
                }
                i
            }
            None => {
                t.entries.push(entry);
                (t.entries.len() - 1) as u32
            }
        };
        if let Some(d) = deadline {
            t.by_deadline.insert((d, index));
            // The ticker sleeps until a later deadline (or none): it must look again.
            if t.ticker_at.map_or(true, |at| d < at) {
                if let Some(w) = t.ticker.take() {
                    w.wake();
                }
            }
        }
        IdleSlot {
            timers: self,
            index,
        }
    }

    /// Wakes every idle connection: a stop began.
    pub fn wake_all(&self) {
        let wakers: Vec<Waker> = {
            let mut t = self.table.borrow_mut();
            t.stops = t.stops.wrapping_add(1);
            t.entries
                .iter_mut()
                .filter_map(|e| e.waker.take())
                .collect()
        };
        // Woken outside the borrow: a waker of this thread's tasks only schedules them, but
        // nothing here should depend on that.
        for w in wakers {
            w.wake();
        }
    }

    /// Marks the entries whose deadline is at or before `now` and wakes them; returns the
    /// next deadline.
    fn expire(&self, now: Instant) -> Option<Instant> {
        let mut woken = Vec::new();
        let next = {
            let mut t = self.table.borrow_mut();
            loop {
                let Some(&(d, i)) = t.by_deadline.first() else {
                    break None;
                };
                if d > now {
                    break Some(d);
                }
                t.by_deadline.pop_first();
                if let Some(e) = t.entries.get_mut(i as usize) {
                    e.expired = true;
                    if let Some(w) = e.waker.take() {
                        woken.push(w);
                    }
                }
            }
        };
        for w in woken {
            w.wake();
        }
        next
    }

    /// Runs the thread's ticker: wakes idle connections as their deadlines pass. Spawn once
    /// per thread; it never returns.
    pub async fn run_ticker(&self) {
        let mut sleep: Pin<Box<Sleep>> = Box::pin(tokio::time::sleep_until(Instant::now()));
        std::future::poll_fn(|cx| loop {
            let next = self.expire(Instant::now());
            {
                let mut t = self.table.borrow_mut();
                t.ticker_at = next;
                t.ticker = Some(cx.waker().clone());
            }
            let Some(at) = next else {
                return Poll::<()>::Pending;
            };
            if sleep.deadline() != at {
                sleep.as_mut().reset(at);
            }
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
        })
        .await
    }
}

impl IdleSlot<'_> {
    /// Ready when the deadline has passed or a stop began since the slot was taken;
    /// otherwise remembers the task to wake.
    pub fn poll_woken(&self, cx: &mut Context<'_>) -> Poll<Woken> {
        let mut t = self.timers.table.borrow_mut();
        let stops = t.stops;
        let Some(e) = t.entries.get_mut(self.index as usize) else {
            return Poll::Ready(Woken::Expired);
        };
        if e.expired {
            return Poll::Ready(Woken::Expired);
        }
        if e.stops_seen != stops {
            e.stops_seen = stops;
            return Poll::Ready(Woken::Stop);
        }
        match &e.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => e.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl Drop for IdleSlot<'_> {
    fn drop(&mut self) {
        let mut t = self.timers.table.borrow_mut();
        let deadline = match t.entries.get_mut(self.index as usize) {
            Some(e) => {
                let d = if e.expired { None } else { e.deadline };
                *e = Entry::default();
                d
            }
            None => return,
        };
        if let Some(d) = deadline {
            t.by_deadline.remove(&(d, self.index));
        }
        t.free.push(self.index);
    }
}

/// Why an idle connection stopped waiting without its next bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdleEnd {
    /// The deadline passed.
    Timeout,
    /// The worker is stopping at the level the wait gives way to.
    Stopped,
    /// The socket failed.
    Failed,
}

/// Waits until `client` is readable, its deadline passes or the worker stops at `until`.
/// A hand-written future: it is what every idle connection's task holds, so it keeps to a
/// few words (an `async` block with a `poll_fn` in it is twice the size).
pub struct ReadableOrIdle<'a, S> {
    ctx: &'a Ctx,
    client: &'a S,
    deadline: Option<Instant>,
    until: StopLevel,
    slot: Option<IdleSlot<'a>>,
}

impl<'a, S: ClientIo> ReadableOrIdle<'a, S> {
    pub fn new(ctx: &'a Ctx, client: &'a S, deadline: Option<Instant>, until: StopLevel) -> Self {
        ReadableOrIdle {
            ctx,
            client,
            deadline,
            until,
            slot: None,
        }
    }
}

impl<S: ClientIo> Future for ReadableOrIdle<'_, S> {
    type Output = Result<(), IdleEnd>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Poll::Ready(r) = this.client.poll_read_ready(cx) {
            return Poll::Ready(r.map_err(|_| IdleEnd::Failed));
        }
        if this.ctx.level() >= this.until {
            return Poll::Ready(Err(IdleEnd::Stopped));
        }
        // The slot is taken only when the bytes are not there yet.
        let (ctx, deadline) = (this.ctx, this.deadline);
        let slot = this.slot.get_or_insert_with(|| ctx.idle.register(deadline));
        loop {
            match slot.poll_woken(cx) {
                Poll::Ready(Woken::Expired) => return Poll::Ready(Err(IdleEnd::Timeout)),
                // A stop below the level this wait gives way to: keep waiting.
                Poll::Ready(Woken::Stop) if ctx.level() < this.until => continue,
                Poll::Ready(Woken::Stop) => return Poll::Ready(Err(IdleEnd::Stopped)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn on_a_thread<F: Future<Output = ()>>(f: F) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("runtime");
        tokio::task::LocalSet::new().block_on(&rt, f);
    }

    #[test]
    fn a_slot_expires_at_its_deadline_and_not_before() {
        on_a_thread(async {
            let timers = std::rc::Rc::new(IdleTimers::default());
            let t = timers.clone();
            tokio::task::spawn_local(async move { t.run_ticker().await });
            let start = Instant::now();
            let late = timers.register(Some(start + Duration::from_secs(5)));
            let early = timers.register(Some(start + Duration::from_secs(2)));
            let never = timers.register(None);
            assert_eq!(
                std::future::poll_fn(|cx| early.poll_woken(cx)).await,
                Woken::Expired
            );
            assert_eq!(start.elapsed(), Duration::from_secs(2));
            assert_eq!(
                std::future::poll_fn(|cx| late.poll_woken(cx)).await,
                Woken::Expired
            );
            assert_eq!(start.elapsed(), Duration::from_secs(5));
            let waker = futures_noop_waker();
            let mut cx = Context::from_waker(&waker);
            assert!(never.poll_woken(&mut cx).is_pending());
        });
    }

    #[test]
    fn an_earlier_deadline_registered_later_wakes_the_ticker() {
        on_a_thread(async {
            let timers = std::rc::Rc::new(IdleTimers::default());
            let t = timers.clone();
            tokio::task::spawn_local(async move { t.run_ticker().await });
            let start = Instant::now();
            let _late = timers.register(Some(start + Duration::from_secs(60)));
            tokio::task::yield_now().await;
            let soon = timers.register(Some(start + Duration::from_millis(100)));
            std::future::poll_fn(|cx| soon.poll_woken(cx)).await;
            assert_eq!(start.elapsed(), Duration::from_millis(100));
        });
    }

    #[test]
    fn a_stop_wakes_every_slot_once_and_dropped_slots_are_reused() {
        on_a_thread(async {
            let timers = IdleTimers::default();
            let a = timers.register(None);
            let b = timers.register(Some(Instant::now() + Duration::from_secs(30)));
            timers.wake_all();
            let waker = futures_noop_waker();
            let mut cx = Context::from_waker(&waker);
            assert_eq!(a.poll_woken(&mut cx), Poll::Ready(Woken::Stop));
            assert_eq!(b.poll_woken(&mut cx), Poll::Ready(Woken::Stop));
            assert!(a.poll_woken(&mut cx).is_pending(), "a stop is seen once");
            let index = b.index;
            drop(b);
            assert!(timers.table.borrow().by_deadline.is_empty());
            let c = timers.register(None);
            assert_eq!(c.index, index);
        });
    }

    struct Nothing;
    impl std::task::Wake for Nothing {
        fn wake(self: std::sync::Arc<Self>) {}
    }

    fn futures_noop_waker() -> Waker {
        Waker::from(std::sync::Arc::new(Nothing))
    }
}
