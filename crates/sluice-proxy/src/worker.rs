//! The worker: `nbthread` threads, each with a current-thread tokio runtime and a `LocalSet`,
//! its own accept loops (on `dup`ed listening sockets, so the kernel spreads connections
//! over the threads' accept calls) and its own per-thread state.
//!
//! Life cycle: [`Worker::start`] → running → [`StopHandle::soft_stop`] (accept loops end,
//! idle keep-alive connections close, in-flight requests finish, then each thread exits;
//! `hard-stop-after` bounds the wait) or [`StopHandle::hard_stop`] (each thread drops its
//! tasks, closing every connection) → [`Worker::wait`] returns.

use crate::counters::{ThreadCounters, Totals};
use crate::listener::accept::{self, Listener};
use crate::listener::bind::SocketKind;
use crate::listener::BoundListeners;
use crate::plan::Plan;
use crate::stream::Ctx;
use sluice_model::Model;
use std::io;
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::sync::Arc;
use std::thread::JoinHandle;
use tokio::sync::watch;

/// How far a stop has gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum StopLevel {
    Running,
    /// Stop accepting, finish what is in flight.
    Soft,
    /// Close everything now.
    Hard,
}

/// Stops a [`Worker`]; cloneable, usable from any thread (a signal handler thread, the
/// master's control channel).
#[derive(Clone, Debug)]
pub struct StopHandle {
    tx: Arc<watch::Sender<StopLevel>>,
}

impl StopHandle {
    /// Stop accepting, finish in-flight requests, close idle keep-alive connections
    /// (bounded by the global `hard-stop-after` when set).
    pub fn soft_stop(&self) {
        self.raise(StopLevel::Soft);
    }

    /// Close every connection now.
    pub fn hard_stop(&self) {
        self.raise(StopLevel::Hard);
    }

    fn raise(&self, level: StopLevel) {
        self.tx.send_if_modified(|cur| {
            if *cur < level {
                *cur = level;
                true
            } else {
                false
            }
        });
    }
}

/// A worker whose files are loaded and names resolved, not yet running
/// ([`Worker::prepare`]).
pub struct Prepared {
    model: Arc<Model>,
    plan: Arc<Plan>,
    logs: Arc<crate::log::Logs>,
    /// `log-forward` sections with their sockets.
    forwards: Vec<crate::log::forward::Section>,
}

/// Running worker threads.
pub struct Worker {
    threads: Vec<JoinHandle<()>>,
    stop: StopHandle,
    totals: Totals,
    /// The counters the statistics pages read (they hold a weak reference).
    _stats: Option<Arc<crate::cli::Runtime>>,
}

impl Worker {
    /// Starts `nbthread` threads (global `nbthread`, default: available CPUs), each with its
    /// own current-thread tokio runtime and its own accept loop on `dup`ed listeners, and
    /// returns. Fails when the configuration cannot run (an errorfile that cannot be read, a
    /// server name that does not resolve) or a thread cannot be started.
    pub fn start(model: Arc<Model>, listeners: BoundListeners) -> io::Result<Worker> {
        Self::start_with(model, listeners, &sluice_rules::CompileOptions::default())
    }

    /// [`start`](Worker::start) with the options rules are compiled with (the directory
    /// relative map and pattern files are read from, as `-c` uses).
    pub fn start_with(
        model: Arc<Model>,
        listeners: BoundListeners,
        rules: &sluice_rules::CompileOptions,
    ) -> io::Result<Worker> {
        Self::start_prepared(Self::prepare(model, rules)?, listeners)
    }

    /// Everything a worker reads from the filesystem and the resolver before it serves:
    /// rules with their map and pattern files, errorfiles, server addresses, log targets.
    /// A worker calls this before `chroot` and the identity change, as HAProxy loads these
    /// while parsing: after the chroot neither the files nor `/etc/resolv.conf` may be there.
    pub fn prepare(
        model: Arc<Model>,
        rules: &sluice_rules::CompileOptions,
    ) -> io::Result<Prepared> {
        let plan = Arc::new(Plan::build_with(&model, rules)?);
        let logs = Arc::new(crate::log::Logs::build(&model)?);
        let forwards = crate::log::forward::prepare(&model, &logs.outputs)?;
        Ok(Prepared {
            model,
            plan,
            logs,
            forwards,
        })
    }

    /// Starts the threads of a [`Prepared`] worker on `listeners`; opens no file.
    pub fn start_prepared(prepared: Prepared, listeners: BoundListeners) -> io::Result<Worker> {
        let Prepared {
            model,
            plan,
            logs,
            forwards,
        } = prepared;
        let (tx, _) = watch::channel(StopLevel::Running);
        let tx = Arc::new(tx);
        let (entries, stats) = listeners.into_parts();
        let mut threads = Vec::with_capacity(plan.nbthread + 1);
        // One checker for the process, stopped with the worker and joined by `wait`.
        threads.extend(crate::check::start(&model, plan.clone(), tx.subscribe())?);
        // Servers resolved again at run time (`resolvers` sections), on their own thread.
        threads.extend(crate::resolvers::start(plan.clone(), tx.subscribe())?);
        // Stick-table synchronisation with the `peers` sections' peers, on its own thread.
        threads.extend(crate::peers::start(
            &model,
            &plan.stick_tables,
            tx.subscribe(),
        )?);
        let mut totals = Totals::default();
        let counters: Vec<Arc<ThreadCounters>> = (0..plan.nbthread)
            .map(|_| {
                Arc::new(ThreadCounters::with_traffic(plan.backends.len(), |p| {
                    plan.backend(p).map_or(0, |b| b.servers.len())
                }))
            })
            .collect();
        totals.threads.extend(counters.iter().cloned());
        // The statistics pages read the same counters as the runtime API.
        let stats_runtime = plan.stats.any().then(|| {
            let rt = Arc::new(crate::cli::Runtime::new(
                model.clone(),
                plan.clone(),
                totals.clone(),
            ));
            plan.stats.attach(Arc::downgrade(&rt));
            rt
        });
        // The runtime API (`stats socket`) runs on the first thread.
        let mut cli = if stats.is_empty() {
            None
        } else {
            let runtime = Arc::new(crate::cli::Runtime::new(
                model.clone(),
                plan.clone(),
                totals.clone(),
            ));
            let sockets: Vec<CliSocket> = stats
                .into_iter()
                .map(|b| {
                    let line = model.global.stats_sockets.get(b.index);
                    let level =
                        crate::cli::Level::parse(line.and_then(|l| l.options.level.as_deref()));
                    let maxconn = line
                        .and_then(|l| l.options.maxconn)
                        .and_then(|m| usize::try_from(m).ok());
                    (b.socket, b.kind, level, maxconn)
                })
                .collect();
            Some((runtime, sockets))
        };
        // Threads take over each other's idle server connections.
        let nthreads = counters.len();
        let takeover =
            (nthreads > 1).then(|| crate::backend::takeover::Takeover::new(&plan, nthreads));
        for (t, counters) in counters.into_iter().enumerate() {
            // Each thread gets its own descriptors for the same sockets.
            // What connections start with (`accept-proxy`, `accept-netscaler-cip`).
            let mut mine: Vec<Socket> = Vec::with_capacity(entries.len());
            for e in &entries {
                let pp = crate::proxy_protocol::accept::expected(&model, e.proxy, e.bind);
                let tls = plan
                    .frontend(e.proxy)
                    .and_then(|f| f.tls.get(e.bind).cloned().flatten());
                mine.push((e.socket.try_clone()?, e.kind, e.proxy, pp, tls, e.bind));
            }
            let plan = plan.clone();
            let rx = tx.subscribe();
            let logs = logs.clone();
            let cli = if t == 0 { cli.take() } else { None };
            let shared = takeover.clone().map(|s| (s, t));
            let handle = std::thread::Builder::new()
                .name(format!("sluice-{t}"))
                .spawn(move || {
                    crate::log::install(logs, plan.clone());
                    run_thread(plan, mine, rx, counters, cli, shared)
                })?;
            threads.push(handle);
        }
        // Rings' servers and `log-forward` sections run on their own thread.
        logs.outputs.attach(&plan);
        threads.extend(crate::log::service::start(
            logs.outputs.fed_rings(),
            forwards,
            tx.subscribe(),
        )?);
        // `entries` drop here: only the threads' copies keep the sockets open.
        Ok(Worker {
            threads,
            stop: StopHandle { tx },
            totals,
            _stats: stats_runtime,
        })
    }

    /// A handle to stop the worker.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// The worker's counters, summed over its threads on read.
    pub fn totals(&self) -> Totals {
        self.totals.clone()
    }

    /// Blocks until every thread has finished (after a stop).
    pub fn wait(self) {
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// A listening socket of a thread: fd, kind, proxy index, what connections start with
/// (`accept-proxy`, `accept-netscaler-cip`), TLS acceptor, bind index in the proxy.
type Socket = (
    OwnedFd,
    SocketKind,
    usize,
    crate::proxy_protocol::accept::Expected,
    Option<tokio_rustls::TlsAcceptor>,
    usize,
);

/// A stats socket of the first thread: fd, kind, access level, `maxconn`.
type CliSocket = (OwnedFd, SocketKind, crate::cli::Level, Option<usize>);

fn run_thread(
    plan: Arc<Plan>,
    sockets: Vec<Socket>,
    stop: watch::Receiver<StopLevel>,
    counters: Arc<ThreadCounters>,
    cli: Option<(Arc<crate::cli::Runtime>, Vec<CliSocket>)>,
    takeover: Option<(Arc<crate::backend::takeover::Takeover>, usize)>,
) {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
    else {
        return;
    };
    let local = tokio::task::LocalSet::new();
    crate::counters::install_thread(counters.clone());
    local.block_on(&rt, async move {
        let mut ctx = Ctx::new(plan.clone(), counters);
        if let Some((t, me)) = takeover.clone() {
            ctx.share_idle(t, me);
        }
        let ctx = Rc::new(ctx);
        // Hands idle server connections over to the other threads that ask.
        if let Some((t, me)) = takeover {
            tokio::task::spawn_local(t.serve(me, ctx.clone()));
        }
        // Wakes the thread's idle connections as their deadlines pass.
        {
            let ctx = ctx.clone();
            tokio::task::spawn_local(async move { ctx.idle.run_ticker().await });
        }
        // The one reader of the worker-wide stop channel on this thread.
        {
            let ctx = ctx.clone();
            let mut rx = stop.clone();
            tokio::task::spawn_local(async move {
                loop {
                    let level = *rx.borrow_and_update();
                    if level != ctx.level() {
                        ctx.set_level(level);
                    }
                    if level == StopLevel::Hard || rx.changed().await.is_err() {
                        return;
                    }
                }
            });
        }
        tokio::task::spawn_local(heartbeat(ctx.clone()));
        // Drops the free buffers a burst left (see `Ctx::trim_scratch`).
        {
            let ctx = ctx.clone();
            tokio::task::spawn_local(async move { ctx.trim_scratch().await });
        }
        for (fd, kind, proxy, pp, tls, bind) in sockets {
            let listener = listener_of(fd, kind);
            if let Ok(l) = listener {
                let fe = accept::Bound { proxy, bind };
                tokio::task::spawn_local(accept::run(l, fe, pp, tls.clone(), ctx.clone()));
            }
        }
        if let Some((runtime, cli_sockets)) = cli {
            for (fd, kind, level, maxconn) in cli_sockets {
                if let Ok(l) = listener_of(fd, kind) {
                    tokio::task::spawn_local(crate::cli::session::serve(
                        l,
                        level,
                        maxconn,
                        runtime.clone(),
                        ctx.clone(),
                    ));
                }
            }
        }
        let mut rx = stop;
        if rx.wait_for(|l| *l >= StopLevel::Soft).await.is_err() {
            return;
        }
        ctx.pool.borrow_mut().clear();
        if *rx.borrow() == StopLevel::Hard {
            return;
        }
        // Soft stop: wait for the connections of this thread to end.
        let drained = async {
            loop {
                let notified = ctx.drained.notified();
                if ctx.live() == 0 {
                    return;
                }
                notified.await;
            }
        };
        let hard = async {
            let _ = rx.wait_for(|l| *l == StopLevel::Hard).await;
        };
        let deadline = async {
            match plan.hard_stop_after {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = drained => {}
            _ = hard => {}
            _ = deadline => {}
        }
    });
    // Dropping the LocalSet drops every remaining task and closes its sockets.
    drop(local);
}

/// Registers a listening socket with this thread's runtime.
fn listener_of(fd: OwnedFd, kind: SocketKind) -> io::Result<Listener> {
    match kind {
        SocketKind::Tcp => {
            tokio::net::TcpListener::from_std(std::net::TcpListener::from(fd)).map(Listener::Tcp)
        }
        SocketKind::Unix => {
            tokio::net::UnixListener::from_std(std::os::unix::net::UnixListener::from(fd))
                .map(Listener::Unix)
        }
    }
}

/// Keeps the time driver's next planned wake-up within a second. tokio interrupts its own
/// poll (an 8-byte write to its eventfd: one system call) whenever a timer is armed earlier
/// than the wake-up it planned, which was nearly every server connect of a
/// connection-per-request load (`timeout connect` is shorter than the clients' timeouts).
/// Costs one wake-up per second on an idle thread, which also runs the thread's
/// housekeeping ([`Ctx::beat`]).
async fn heartbeat(ctx: Rc<Ctx>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        ctx.beat();
    }
}
