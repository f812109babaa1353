//! Streams: one task per client connection, on the thread that accepted it.
//!
//! [`Ctx`] is the thread's state (plan, balancers, idle server connections, free buffers,
//! stop signal, counters); [`serve`] runs one connection in its frontend's mode.

pub mod idle;
pub mod io;
pub mod ioutil;
pub mod log;

use crate::backend::pool::IdlePool;
use crate::check::state::LocalBalancer;
use crate::counters::{Counter, ThreadCounters};
use crate::http::Scratch;
use crate::plan::Plan;
use crate::worker::StopLevel;
use io::ClientIo;
use sluice_model::Mode;
use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

/// Free scratch sets a thread keeps however long they stay unused.
const MIN_FREE_SCRATCH: usize = 8;
/// Most free scratch sets kept per thread.
const MAX_FREE_SCRATCH: usize = 64;
/// How often a thread with more than `MIN_FREE_SCRATCH` free sets drops those nothing took
/// since the last look.
const SCRATCH_TRIM_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// One thread's state. Shared by the thread's tasks through an `Rc`: nothing here is
/// touched by another thread except the read-only plan and the counters' readers.
pub struct Ctx {
    pub plan: Arc<Plan>,
    /// By proxy index: this thread's balancer of each backend.
    pub balancers: Vec<Option<LocalBalancer>>,
    pub pool: RefCell<IdlePool>,
    /// The worker's shared view of idle server connections and this thread's index, to
    /// take one over from another thread (`None`: one thread, or a test).
    pub takeover: Option<(Arc<crate::backend::takeover::Takeover>, usize)>,
    /// The worker's logging state (`%ac`, `%fc` count the thread's connections there).
    logs: Option<Arc<crate::log::Logs>>,
    // Boxed: a scratch set moves in and out of connections as one pointer.
    #[allow(clippy::vec_box)]
    scratch: RefCell<Vec<Box<Scratch>>>,
    /// The fewest free scratch sets since the last trim: the ones nothing needed.
    scratch_low: Cell<usize>,
    /// The trimmer ([`Ctx::trim_scratch`]) is awake, or woken.
    scratch_trimming: Cell<bool>,
    /// A set was dropped on its way back (the free list was full): pages to give back.
    scratch_dropped: Cell<bool>,
    scratch_trim: Notify,
    /// This thread's copy of the stop level (the worker-wide channel is read by one task
    /// per thread, so that requests never touch a lock shared with other threads).
    level: Cell<StopLevel>,
    level_changed: Notify,
    /// Deadlines of the thread's idle connections (see [`idle`]).
    pub idle: idle::IdleTimers,
    live: Cell<usize>,
    /// Signalled when the last connection of the thread ends.
    pub drained: Notify,
    pub counters: Arc<ThreadCounters>,
}

impl Ctx {
    /// The state of a new thread.
    pub fn new(plan: Arc<Plan>, counters: Arc<ThreadCounters>) -> Ctx {
        let balancers = plan
            .backends
            .iter()
            .map(|b| b.as_ref().map(LocalBalancer::new))
            .collect();
        let pool = RefCell::new(IdlePool::new(plan.clone()));
        Ctx {
            plan,
            balancers,
            pool,
            takeover: None,
            logs: crate::log::installed(),
            scratch: RefCell::new(Vec::new()),
            scratch_low: Cell::new(0),
            scratch_trimming: Cell::new(false),
            scratch_dropped: Cell::new(false),
            scratch_trim: Notify::new(),
            level: Cell::new(StopLevel::Running),
            level_changed: Notify::new(),
            idle: idle::IdleTimers::default(),
            live: Cell::new(0),
            drained: Notify::new(),
            counters,
        }
    }

    /// Joins the worker's sharing of idle server connections as thread `thread`.
    pub fn share_idle(&mut self, takeover: Arc<crate::backend::takeover::Takeover>, thread: usize) {
        self.pool.get_mut().share(takeover.clone(), thread);
        self.takeover = Some((takeover, thread));
    }

    /// Whether a stop has begun.
    #[inline]
    pub fn stopping(&self) -> bool {
        self.level.get() != StopLevel::Running
    }

    /// The current stop level.
    #[inline]
    pub fn level(&self) -> StopLevel {
        self.level.get()
    }

    /// Records a new level from the worker-wide channel and wakes whoever waits for it.
    pub fn set_level(&self, level: StopLevel) {
        if level != StopLevel::Running {
            crate::gauges::set_stopping();
        }
        self.level.set(level);
        self.level_changed.notify_waiters();
        self.idle.wake_all();
    }

    /// Completes once a stop has begun.
    pub async fn stopped(&self) {
        self.stopped_at(StopLevel::Soft).await
    }

    /// Completes once the stop level reaches `level` (`Soft`: any stop; `Hard`: a hard stop).
    pub async fn stopped_at(&self, level: StopLevel) {
        loop {
            let changed = self.level_changed.notified();
            if self.level() >= level {
                return;
            }
            changed.await;
        }
    }

    /// Connections open on this thread.
    pub fn live(&self) -> usize {
        self.live.get()
    }

    #[inline]
    pub fn count(&self, c: Counter) {
        self.counters.incr(c);
    }

    /// Buffers and parser state for one HTTP exchange (reused, never allocated per request).
    #[inline]
    pub fn take_scratch(&self) -> Box<Scratch> {
        let mut free = self.scratch.borrow_mut();
        let s = free.pop();
        self.scratch_low.set(self.scratch_low.get().min(free.len()));
        s.unwrap_or_else(|| Box::new(Scratch::new(self.plan.bufsize)))
    }

    /// Scratch sets on the thread's free list now.
    pub fn free_scratch(&self) -> usize {
        self.scratch.borrow().len()
    }

    /// Gives scratch back while a connection is idle, so idle connections hold no buffer.
    /// Beyond `MIN_FREE_SCRATCH` free sets, wakes the trimmer.
    #[inline]
    pub fn give_scratch(&self, mut s: Box<Scratch>) {
        let mut free = self.scratch.borrow_mut();
        if free.len() < MAX_FREE_SCRATCH {
            s.reset();
            free.push(s);
        } else {
            self.scratch_dropped.set(true);
        }
        if free.len() > MIN_FREE_SCRATCH && !self.scratch_trimming.replace(true) {
            self.scratch_low.set(free.len());
            self.scratch_trim.notify_one();
        }
    }

    /// The thread's scratch trimmer (one task per thread): while more than
    /// `MIN_FREE_SCRATCH` sets are free, every `SCRATCH_TRIM_EVERY` it drops the free sets
    /// that nothing took since its last look (the fewest free in that time), the least
    /// recently used first, and gives their pages back to the system. A steady load keeps
    /// what it uses; after a burst of simultaneous requests, the sets it needed are gone
    /// within half a second instead of staying with a thread whose connections are idle.
    pub async fn trim_scratch(&self) {
        loop {
            self.scratch_trim.notified().await;
            loop {
                tokio::time::sleep(SCRATCH_TRIM_EVERY).await;
                let mut free = self.scratch.borrow_mut();
                let unused = self
                    .scratch_low
                    .get()
                    .min(free.len().saturating_sub(MIN_FREE_SCRATCH));
                if unused > 0 {
                    free.drain(..unused);
                }
                self.scratch_low.set(free.len());
                let more = free.len() > MIN_FREE_SCRATCH;
                drop(free);
                if self.scratch_dropped.replace(false) || unused > 0 {
                    crate::memory::release();
                }
                if !more {
                    self.scratch_trimming.set(false);
                    break;
                }
            }
        }
    }

    /// The thread's once-a-second housekeeping: purges idle server connections (HAProxy's
    /// `pool-purge-delay`).
    pub fn beat(&self) {
        self.pool.borrow_mut().purge(tokio::time::Instant::now());
    }
}

/// The connection limits a connection holds (global and frontend `maxconn`): one slot of
/// each semaphore, given back when dropped. The semaphores themselves, not tokio's permits
/// (which also carry a count): two words less in every connection's task.
#[derive(Default)]
pub struct Permits {
    global: Option<Arc<Semaphore>>,
    frontend: Option<Arc<Semaphore>>,
}

impl Permits {
    /// No limit held.
    pub fn none() -> Permits {
        Permits::default()
    }

    /// Holds `permit`'s slot as the global one.
    pub fn hold_global(&mut self, permit: OwnedSemaphorePermit) {
        self.global = Some(Self::keep(permit));
    }

    /// Holds `permit`'s slot as the frontend's.
    pub fn hold_frontend(&mut self, permit: OwnedSemaphorePermit) {
        self.frontend = Some(Self::keep(permit));
    }

    fn keep(permit: OwnedSemaphorePermit) -> Arc<Semaphore> {
        let semaphore = permit.semaphore().clone();
        // Given back by `drop` below: one slot per permit taken.
        permit.forget();
        semaphore
    }
}

impl Drop for Permits {
    fn drop(&mut self) {
        for s in [self.global.take(), self.frontend.take()]
            .into_iter()
            .flatten()
        {
            s.add_permits(1);
        }
    }
}

/// Counts a connection as live on its thread until dropped.
/// A live client connection: counted by its thread (for the soft stop), by the log's
/// `%ac`/`%fc` and by the fetches' gauges (`act_conn`, `fe_conn`, `dst_conn`) until dropped.
/// One small value for all of them: every idle connection's task holds it.
struct Live {
    ctx: Rc<Ctx>,
    fe: u32,
    /// The bind line, `u32::MAX` for none.
    bind: u32,
}

impl Live {
    fn new(ctx: &Rc<Ctx>, fe: usize, bind: Option<u32>) -> Live {
        ctx.live.set(ctx.live.get() + 1);
        if let Some(l) = &ctx.logs {
            l.conn_opened(fe);
        }
        let bind_index = bind.and_then(|b| usize::try_from(b).ok());
        crate::gauges::conn_opened(&ctx.plan, fe, bind_index);
        Live {
            ctx: ctx.clone(),
            fe: u32::try_from(fe).unwrap_or(u32::MAX),
            bind: bind.unwrap_or(u32::MAX),
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        let fe = self.fe as usize;
        let bind = (self.bind != u32::MAX).then_some(self.bind as usize);
        crate::gauges::conn_closed(&self.ctx.plan, fe, bind);
        if let Some(l) = &self.ctx.logs {
            l.conn_closed(fe);
        }
        let n = self.ctx.live.get().saturating_sub(1);
        self.ctx.live.set(n);
        if n == 0 {
            self.ctx.drained.notify_waiters();
        }
    }
}

/// Addresses of a client connection (none for UNIX sockets).
#[derive(Clone, Copy, Debug, Default)]
pub struct Addrs {
    pub peer: Option<SocketAddr>,
    pub local: Option<SocketAddr>,
}

/// What the accept knew of a client socket, kept in its [`log::Meter`] (not beside the
/// addresses, which every idle connection's task holds several copies of).
#[derive(Clone, Copy, Debug, Default)]
pub struct Socket {
    /// The client socket, for the kernel's counters on it (`fc_rtt`...); `None` when not
    /// TCP. Only read while the connection it came with is open.
    pub fd: Option<std::os::fd::RawFd>,
    /// The bind line (its index in the frontend) that accepted the connection.
    pub bind: Option<u32>,
}

/// What a connection holds for its whole life, dropped when its task ends.
struct Held {
    _live: Live,
    _permits: Permits,
}

/// Runs one client connection to its end.
///
/// The session's future is built here, before the task, and the task holds it beside what
/// the connection keeps for its whole life, nothing more: an `async` block that captured the
/// arguments and then called the session would keep a dead copy of each (the client socket,
/// its addresses) in every idle connection's task (see `docs/performance.md`).
///
/// `addrs` are the session's addresses; `connection`, the connection's own (and the PROXY
/// v2 TLVs) when a PROXY or NetScaler CIP header announced others.
pub fn serve<S: ClientIo>(
    ctx: Rc<Ctx>,
    fe: usize,
    client: S,
    addrs: Addrs,
    connection: Option<Rc<crate::proxy_protocol::accept::Proxied>>,
    socket: Socket,
    permits: Permits,
) -> impl std::future::Future<Output = ()> {
    let held = Held {
        _live: Live::new(&ctx, fe, socket.bind),
        _permits: permits,
    };
    let mode = ctx.plan.frontend(fe).map(|f| f.mode);
    // Byte counts and instants for the log lines; `%ac`/`%fc`; the legacy accept line.
    let client = log::Counted::new(client, log::Meter::new(connection, socket));
    if mode.is_some() {
        crate::log::accepted(fe, addrs);
    }
    // HTTP/2 from the first byte (`proto h2`, ALPN `h2`): a task of its own, boxed, chosen
    // before any HTTP/1 session exists (the preface on a plain bind is seen by the session).
    let h2 = mode == Some(Mode::Http)
        && crate::h2::wanted(&ctx.plan, fe, socket.bind, client.tls().map(|t| &**t));
    let session = match mode {
        Some(Mode::Http) if h2 => Session::H2 {
            session: crate::h2::serve(ctx, fe, client, addrs, Vec::new()),
        },
        Some(Mode::Http) => Session::Http {
            session: crate::http::session::run(ctx, fe, client, addrs),
        },
        // Boxed: the TCP session's state (the relay, the connect) is about twice the HTTP
        // session's, and an idle HTTP connection would otherwise carry it in its task. One
        // allocation per TCP connection.
        Some(_) => Session::Tcp {
            session: Box::pin(
                async move { crate::tcp::session::run(&ctx, fe, client, addrs).await },
            ),
        },
        None => Session::Nothing,
    };
    Serve {
        session,
        _held: held,
    }
}

pin_project_lite::pin_project! {
    /// A connection's task: its session and what it holds until the end.
    struct Serve<F> {
        #[pin]
        session: F,
        _held: Held,
    }
}

pin_project_lite::pin_project! {
    /// The session of a frontend's mode.
    #[project = SessionProj]
    enum Session<H, T> {
        Http { #[pin] session: H },
        Tcp { session: std::pin::Pin<Box<T>> },
        H2 { session: std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> },
        Nothing,
    }
}

impl<H, T> std::future::Future for Serve<Session<H, T>>
where
    H: std::future::Future<Output = ()>,
    T: std::future::Future<Output = ()>,
{
    type Output = ();

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        match self.project().session.project() {
            SessionProj::Http { session } => session.poll(cx),
            SessionProj::Tcp { session } => session.as_mut().poll(cx),
            SessionProj::H2 { session } => session.as_mut().poll(cx),
            SessionProj::Nothing => std::task::Poll::Ready(()),
        }
    }
}
