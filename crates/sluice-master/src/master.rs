//! The master: starts workers, waits for their readiness, supervises them, reloads and stops
//! (spec R6.3, R7). One thread, one `poll(2)` loop over a signalfd, the readiness pipes of
//! starting workers and the master CLI. See `LIFECYCLE.md` beside this crate.

use crate::cli::{self, CliListener, Level, Target};
use crate::dataplane::BoundListeners;
use crate::fdpass::{self, DAEMON_FD, MASTER_PID, READY_FD, WORKER_FDS};
use crate::log::Log;
use crate::notify::Notifier;
use crate::readiness::{ReadyReader, Report, WorkerDiagnostic};
use crate::status::Ended;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use sluice_config::{Diagnostic, Severity, SourceMap};
use sluice_model::Model;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A configuration the master accepted: the model and the files it came from.
#[derive(Debug)]
pub struct Loaded {
    pub model: Arc<Model>,
    pub sources: SourceMap,
}

/// Reads and checks the configuration again for a reload: the same `load_and_check` as `-c`.
/// Prints the diagnostics (and records them in `log`); `None` when the configuration cannot be
/// used.
pub trait Loader {
    fn load(&mut self, log: &mut Log) -> Option<Loaded>;
}

/// How the master was started.
#[derive(Debug)]
pub struct Settings {
    /// `argv[0]`, kept for the workers.
    pub program: String,
    /// The binary to re-execute (`/proc/self/exe`).
    pub exe: PathBuf,
    /// Arguments for a worker (the master's, made position-independent).
    pub worker_args: Vec<String>,
    /// `show proc`'s version column.
    pub version: String,
    /// Printed on stdout after a crash, as HAProxy prints its `-v` banner.
    pub banner: String,
    pub pidfile: Option<PathBuf>,
    /// `-D`: the launcher's pipe, written once the first worker is ready.
    pub daemon_ready: Option<OwnedFd>,
    pub notifier: Notifier,
    /// `-sf`/`-st`: signalled once the first worker is ready.
    pub old_pids: Vec<i32>,
    pub old_signal: Signal,
    /// `-D`: workers get /dev/null as stdout and stderr (the launcher's terminal is released).
    pub workers_stdio_null: bool,
    /// `master-worker no-exit-on-failure` turns it off.
    pub exit_on_failure: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Started, not ready yet.
    Starting,
    /// Serving: the newest ready generation.
    Current,
    /// Told to finish.
    Old,
}

#[derive(Debug)]
struct Proc {
    pid: i32,
    state: State,
    reloads: u32,
    started: Instant,
    ready: Option<ReadyReader>,
    /// The signal the master sent it, if any (so that its death is not "from outside").
    signalled: Option<Signal>,
}

/// A reload (or the first start) waiting for its worker.
#[derive(Debug)]
struct Pending {
    pid: i32,
    listeners: BoundListeners,
    model: Arc<Model>,
    hard: bool,
    waiters: Vec<Waiter>,
}

/// A master CLI client waiting for the end of a reload, with what its line answered before.
#[derive(Debug)]
struct Waiter {
    stream: UnixStream,
    before: String,
}

#[derive(Debug)]
struct Conn {
    stream: UnixStream,
    buffer: Vec<u8>,
    level: Level,
}

enum Outcome {
    Reply(String),
    Reload { hard: bool, before: String },
}

/// The master process.
pub struct Master<L: Loader> {
    settings: Settings,
    loader: L,
    log: Log,
    started: Instant,
    pid: i32,
    listeners: BoundListeners,
    model: Arc<Model>,
    procs: Vec<Proc>,
    pending: Option<Pending>,
    reloads: u32,
    failed_reloads: u32,
    first_ready: bool,
    stopping: Option<Signal>,
    exit_status: Option<i32>,
    cli: Vec<CliListener>,
    conns: Vec<Conn>,
}

/// Blocks the signals the master handles and returns a signalfd for them. Call before any
/// thread exists; children get an empty mask again at exec (std resets it).
pub fn master_signals() -> nix::Result<SignalFd> {
    let mut set = SigSet::empty();
    for signal in [
        Signal::SIGCHLD,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
        Signal::SIGHUP,
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGTTOU,
        Signal::SIGTTIN,
    ] {
        set.add(signal);
    }
    nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), None)?;
    SignalFd::with_flags(&set, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
}

impl<L: Loader> Master<L> {
    pub fn new(
        settings: Settings,
        loader: L,
        log: Log,
        first: Loaded,
        listeners: BoundListeners,
        cli: Vec<CliListener>,
    ) -> Self {
        Self {
            settings,
            loader,
            log,
            started: Instant::now(),
            pid: std::process::id() as i32,
            listeners,
            model: first.model,
            procs: Vec::new(),
            pending: None,
            reloads: 0,
            failed_reloads: 0,
            first_ready: false,
            stopping: None,
            exit_status: None,
            cli,
            conns: Vec::new(),
        }
    }

    /// Starts the first worker and supervises until the end; returns the exit code.
    pub fn run(mut self, signals: SignalFd) -> i32 {
        match self.spawn_generation(None, false) {
            Ok(()) => {}
            Err(text) => {
                self.log.alert(&text);
                return 1;
            }
        }
        loop {
            if let Some(code) = self.finished() {
                return code;
            }
            self.turn(&signals);
        }
    }

    /// One poll round.
    fn turn(&mut self, signals: &SignalFd) {
        #[derive(Clone, Copy)]
        enum Source {
            Signals,
            Cli(usize),
            Conn(usize),
            Ready(i32),
        }
        let mut sources = vec![Source::Signals];
        let mut ready = Vec::new();
        {
            let mut fds = vec![PollFd::new(signals.as_fd(), PollFlags::POLLIN)];
            for (i, l) in self.cli.iter().enumerate() {
                fds.push(PollFd::new(l.listener.as_fd(), PollFlags::POLLIN));
                sources.push(Source::Cli(i));
            }
            for (i, c) in self.conns.iter().enumerate() {
                fds.push(PollFd::new(c.stream.as_fd(), PollFlags::POLLIN));
                sources.push(Source::Conn(i));
            }
            for p in &self.procs {
                if let Some(r) = p.ready.as_ref().filter(|r| !r.is_eof()) {
                    fds.push(PollFd::new(r.fd(), PollFlags::POLLIN));
                    sources.push(Source::Ready(p.pid));
                }
            }
            // The timeout only bounds how long a missed event could wait.
            if poll(&mut fds, PollTimeout::from(1000u16)).is_err() {
                return;
            }
            for (fd, source) in fds.iter().zip(&sources) {
                if fd.revents().is_some_and(|r| !r.is_empty()) {
                    ready.push(*source);
                }
            }
        }
        let mut closed_conns = Vec::new();
        for source in ready {
            match source {
                Source::Signals => self.on_signals(signals),
                Source::Ready(pid) => self.on_ready_pipe(pid),
                Source::Cli(i) => self.accept(i),
                Source::Conn(i) => {
                    if self.on_conn(i) {
                        closed_conns.push(i);
                    }
                }
            }
        }
        closed_conns.sort_unstable();
        for i in closed_conns.into_iter().rev() {
            let conn = self.conns.remove(i);
            drop(conn);
        }
    }

    /// The exit code once the master has nothing left to supervise.
    fn finished(&mut self) -> Option<i32> {
        if !self.procs.is_empty() || self.pending.is_some() {
            return None;
        }
        if !self.first_ready && self.stopping.is_none() {
            // The first worker failed: its status was recorded.
            return Some(self.exit_status.unwrap_or(1));
        }
        let code = self.exit_status.unwrap_or(0);
        self.log
            .warning(&format!("All workers exited. Exiting... ({code})"));
        Some(code)
    }

    fn on_signals(&mut self, signals: &SignalFd) {
        while let Ok(Some(info)) = signals.read_signal() {
            let Ok(signal) = Signal::try_from(info.ssi_signo as i32) else {
                continue;
            };
            match signal {
                Signal::SIGCHLD => self.reap(),
                Signal::SIGUSR2 | Signal::SIGHUP => self.reload(false, None),
                Signal::SIGUSR1 | Signal::SIGTERM | Signal::SIGINT => self.stop(signal),
                Signal::SIGTTOU | Signal::SIGTTIN => {
                    for p in self.procs.iter().filter(|p| p.state != State::Old) {
                        let _ = kill(Pid::from_raw(p.pid), signal);
                    }
                }
                _ => {}
            }
        }
        // A SIGCHLD can be merged with another one or arrive before we read the pipe.
        self.reap();
    }

    /// Starts a worker for `model` (the current one when `None`).
    fn spawn_generation(&mut self, loaded: Option<Loaded>, hard: bool) -> Result<(), String> {
        let (model, listeners) = match loaded {
            None => (
                self.model.clone(),
                self.reconcile(&self.model.clone(), None)?,
            ),
            Some(loaded) => {
                let listeners = self.reconcile(&loaded.model, Some(&loaded.sources))?;
                (loaded.model, listeners)
            }
        };
        let (pid, reader) = self.spawn(&listeners).map_err(|e| {
            format!(
                "cannot start a worker ({}): {}",
                self.settings.exe.display(),
                sluice_config::diagnostic::os_reason(&e)
            )
        })?;
        self.procs.push(Proc {
            pid,
            state: State::Starting,
            reloads: 0,
            started: Instant::now(),
            ready: Some(reader),
            signalled: None,
        });
        self.pending = Some(Pending {
            pid,
            listeners,
            model,
            hard,
            waiters: Vec::new(),
        });
        Ok(())
    }

    /// The listeners for a new generation: the master's own sockets where the configuration
    /// keeps them (duplicated, so that a failed generation leaves the master's set intact),
    /// new binds for the rest; sockets the new configuration drops close when it is adopted.
    fn reconcile(
        &mut self,
        model: &Model,
        sources: Option<&SourceMap>,
    ) -> Result<BoundListeners, String> {
        // Only the sockets the new configuration names: adopt() refuses the others.
        let wanted = crate::dataplane::wanted_keys(model);
        let mut handed: Vec<(String, RawFd)> = Vec::new();
        for (key, fd) in self.listeners.export() {
            if wanted.contains(&key) {
                let copy = fdpass::dup_cloexec(fd)
                    .map_err(|e| format!("cannot duplicate a listening socket: {e}"))?;
                handed.push((key, std::os::fd::IntoRawFd::into_raw_fd(copy)));
            }
        }
        BoundListeners::adopt(model, &handed).map_err(|diagnostics| {
            let sources = sources.cloned().unwrap_or_default();
            for d in &diagnostics {
                let text = sluice_config::render::haproxy(d, &sources, self.log.pid());
                self.log.raw(&text);
            }
            "[sluice.main()] Some protocols failed to start their listeners! Exiting.".to_string()
        })
    }

    fn spawn(&self, listeners: &BoundListeners) -> std::io::Result<(i32, ReadyReader)> {
        let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
        nix::fcntl::fcntl(
            &read,
            nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
        )?;
        let exported = listeners.export();
        let mut passed: Vec<RawFd> = exported.iter().map(|(_, fd)| *fd).collect();
        passed.push(write.as_raw_fd());
        let mut command = Command::new(&self.settings.exe);
        command
            .arg0(&self.settings.program)
            .args(&self.settings.worker_args)
            .env(WORKER_FDS, fdpass::encode(&exported))
            .env(READY_FD, write.as_raw_fd().to_string())
            .env(MASTER_PID, self.pid.to_string())
            .env_remove(DAEMON_FD)
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null());
        if self.settings.workers_stdio_null {
            command.stdout(Stdio::null()).stderr(Stdio::null());
        }
        // SAFETY: the closure runs between fork and exec; it only calls fcntl, sigprocmask and prctl, which
        // are async-signal-safe, on data allocated before the fork.
        unsafe {
            command.pre_exec(move || {
                fdpass::clear_cloexec_all(&passed)?;
                // The master's blocked signals would be inherited through exec: a worker must
                // die of SIGTERM and SIGINT as HAProxy's do.
                SigSet::empty().thread_set_mask()?;
                // The worker dies with the master (spec R7.8); it sets this again after its
                // identity change, which clears it.
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn()?;
        drop(write);
        Ok((child.id() as i32, ReadyReader::new(read)))
    }

    fn on_ready_pipe(&mut self, pid: i32) {
        let report = self
            .procs
            .iter_mut()
            .find(|p| p.pid == pid)
            .and_then(|p| p.ready.as_mut())
            .and_then(|r| r.poll().cloned());
        if report == Some(Report::Ready) {
            self.on_ready(pid);
        }
    }

    /// The new worker serves: only now are the old ones told to finish (rule D3).
    fn on_ready(&mut self, pid: i32) {
        let Some(pending) = self.pending.take_if(|p| p.pid == pid) else {
            return;
        };
        let soft = if pending.hard {
            Signal::SIGTERM
        } else {
            Signal::SIGUSR1
        };
        for p in &mut self.procs {
            if p.pid == pid {
                p.state = State::Current;
                p.ready = None;
            } else if p.state == State::Current {
                p.state = State::Old;
                p.signalled = Some(soft);
                let _ = kill(Pid::from_raw(p.pid), soft);
            }
        }
        self.listeners = pending.listeners;
        self.model = pending.model;
        self.log.notice(&format!("Initializing new worker ({pid})"));
        self.log.notice("Loading success.");
        self.write_pidfile();
        if !self.first_ready {
            self.first_ready = true;
            for &old in &self.settings.old_pids {
                let _ = kill(Pid::from_raw(old), self.settings.old_signal);
            }
            if let Some(fd) = self.settings.daemon_ready.take() {
                let mut pipe = std::fs::File::from(fd);
                let _ = pipe.write_all(b"READY\n");
                drop(pipe);
                detach_stdio();
            }
        }
        self.settings.notifier.ready(self.pid as u32);
        let text = self.log.attempt_text();
        for waiter in pending.waiters {
            answer(
                waiter.stream,
                &format!("{}Success=1\n--\n{text}\n", waiter.before),
            );
        }
    }

    fn write_pidfile(&mut self) {
        let Some(path) = &self.settings.pidfile else {
            return;
        };
        let _ = std::fs::remove_file(path);
        let result = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .and_then(|mut f| f.write_all(format!("{}\n", self.pid).as_bytes()));
        if let Err(e) = result {
            let text = format!(
                "[sluice.main()] Cannot create pidfile {}: {}",
                path.display(),
                sluice_config::diagnostic::os_reason(&e)
            );
            self.log.alert(&text);
        }
    }

    fn reap(&mut self) {
        loop {
            let status = match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(_) => return,
                Ok(status) => status,
            };
            if let Some((pid, ended)) = Ended::from_wait(status) {
                self.on_exit(pid, ended);
            }
        }
    }

    fn on_exit(&mut self, pid: i32, ended: Ended) {
        let Some(index) = self.procs.iter().position(|p| p.pid == pid) else {
            self.log
                .warning(&format!("Process {pid} exited with {}", ended.describe()));
            return;
        };
        let mut proc = self.procs.remove(index);
        // Everything the worker wrote is in the pipe now that it is gone.
        let report = proc.ready.as_mut().and_then(|r| r.poll().cloned());
        match (proc.state, report) {
            (State::Starting, Some(Report::Ready)) => {
                // Ready and dead at once: count it as started, then as a running worker's end.
                self.on_ready(pid);
                proc.state = State::Current;
                self.running_worker_ended(&proc, ended);
            }
            (State::Starting, report) => self.start_failed(&proc, ended, report),
            (State::Current, _) => self.running_worker_ended(&proc, ended),
            (State::Old, _) => {
                self.log.warning(&format!(
                    "Former worker ({pid}) exited with {}",
                    ended.describe()
                ));
                if self.stopping.is_some() && ended.is_abnormal_status() {
                    self.exit_status.get_or_insert(ended.code());
                }
            }
        }
    }

    /// A new worker ended before `READY` (spec R7.2): print its cause, keep the old worker.
    fn start_failed(&mut self, proc: &Proc, ended: Ended, report: Option<Report>) {
        let pid = proc.pid;
        let reported = matches!(report, Some(Report::Failed(_)));
        let first = !self.first_ready;
        if let Some(Report::Failed(d)) = &report {
            let mut text = format!("worker {pid} failed to start: {}.", d.summary());
            if !first && self.stopping.is_none() {
                text.push_str(" The previous worker keeps running.");
            }
            self.log.alert(&text);
            if let Some(help) = &d.help {
                self.log.raw(&format!("   | help: {help}\n"));
            }
        }
        if let Some(text) = ended.explanation(pid, reported, proc.signalled.is_some()) {
            self.worker_explanation(&text, ended);
        }
        self.log.warning(&format!(
            "Failed to load worker ({pid}) exited with {}",
            ended.describe()
        ));
        let pending = self.pending.take_if(|p| p.pid == pid);
        if first {
            self.exit_status.get_or_insert(ended.code().max(1));
        } else {
            self.failed_reloads += 1;
            self.settings.notifier.reload_failed();
        }
        if let Some(pending) = pending {
            let text = self.log.attempt_text();
            for waiter in pending.waiters {
                answer(
                    waiter.stream,
                    &format!("{}Success=0\n--\n{text}\n", waiter.before),
                );
            }
            // Its listeners drop here; the master's own set is untouched.
        }
    }

    fn worker_explanation(&mut self, text: &str, ended: Ended) {
        if ended.is_crash() {
            self.log.alert(text);
            print!("{}", self.settings.banner);
            let _ = std::io::stdout().flush();
        } else {
            self.log.warning(text);
        }
    }

    /// A serving worker ended (spec R7.3, with our classification of the cause).
    fn running_worker_ended(&mut self, proc: &Proc, ended: Ended) {
        let pid = proc.pid;
        let line = format!("Current worker ({pid}) exited with {}", ended.describe());
        if ended.code() >= 128 {
            self.log.alert(&line);
        } else {
            self.log.warning(&line);
        }
        let sent_by_us = proc.signalled.is_some() || self.stopping.is_some();
        if let Some(text) = ended.explanation(pid, false, sent_by_us) {
            self.worker_explanation(&text, ended);
        }
        if ended.is_abnormal_status() {
            self.exit_status.get_or_insert(ended.code());
        }
        if self.stopping.is_none()
            && ended.triggers_exit_on_failure()
            && self.settings.exit_on_failure
        {
            self.log
                .alert("exit-on-failure: killing every processes with SIGTERM");
            self.stopping = Some(Signal::SIGTERM);
            self.signal_all(Signal::SIGTERM);
        }
    }

    fn signal_all(&mut self, signal: Signal) {
        for p in &mut self.procs {
            p.signalled = Some(signal);
            let _ = kill(Pid::from_raw(p.pid), signal);
        }
    }

    /// SIGUSR1 (soft), SIGTERM/SIGINT (hard): forwarded to every worker (spec R7.8).
    fn stop(&mut self, signal: Signal) {
        if self.stopping.is_none() {
            self.log.warning("Exiting Master process...");
            self.settings.notifier.stopping();
        }
        self.stopping = Some(signal);
        self.signal_all(signal);
        if let Some(pending) = self.pending.as_mut() {
            for waiter in pending.waiters.drain(..) {
                answer(
                    waiter.stream,
                    &format!(
                        "{}Success=0\n--\nThe master is stopping.\n\n",
                        waiter.before
                    ),
                );
            }
        }
    }

    /// SIGUSR2, SIGHUP, `reload`, `hard-reload` (spec R7.4 to R7.6): check the new
    /// configuration first; whatever fails, the current worker keeps serving.
    fn reload(&mut self, hard: bool, waiter: Option<Waiter>) {
        if self.stopping.is_some() {
            if let Some(w) = waiter {
                answer(
                    w.stream,
                    &format!("{}Success=0\n--\nThe master is stopping.\n\n", w.before),
                );
            }
            return;
        }
        if let Some(pending) = self.pending.as_mut() {
            match waiter {
                Some(w) => answer(
                    w.stream,
                    &format!(
                        "{}Success=0\n--\nAnother reload is still in progress.\n\n",
                        w.before
                    ),
                ),
                None => {
                    let text = format!("Reload ignored: worker {} is still starting.", pending.pid);
                    self.log.warning(&text);
                }
            }
            return;
        }
        self.log.begin_attempt();
        self.log.notice(if hard {
            "Reloading HAProxy (hard-reload)"
        } else {
            "Reloading HAProxy"
        });
        self.reloads += 1;
        for p in &mut self.procs {
            p.reloads += 1;
        }
        self.settings.notifier.reloading();
        let outcome = match self.loader.load(&mut self.log) {
            None => Err("Master failed to load or to parse new configuration and can't start a new worker. Already running worker will be kept. Please, fix the configuration and reload.".to_string()),
            Some(loaded) => self.spawn_generation(Some(loaded), hard),
        };
        match outcome {
            Ok(()) => {
                if let (Some(pending), Some(w)) = (self.pending.as_mut(), waiter) {
                    pending.waiters.push(w);
                }
            }
            Err(text) => {
                self.log.warning(&text);
                self.failed_reloads += 1;
                self.settings.notifier.master_reload_failed();
                if let Some(w) = waiter {
                    let log = self.log.attempt_text();
                    answer(w.stream, &format!("{}Success=0\n--\n{log}\n", w.before));
                }
            }
        }
    }

    fn accept(&mut self, index: usize) {
        let Some(listener) = self.cli.get(index) else {
            return;
        };
        while let Ok((stream, _)) = listener.listener.accept() {
            if stream.set_nonblocking(true).is_ok() {
                self.conns.push(Conn {
                    stream,
                    buffer: Vec::new(),
                    level: listener.level,
                });
            }
        }
    }

    /// Reads from one client; runs its line once complete. `true`: the connection is done
    /// (answered, handed to a reload, or closed by the client).
    fn on_conn(&mut self, index: usize) -> bool {
        let Some(conn) = self.conns.get_mut(index) else {
            return true;
        };
        let mut chunk = [0u8; 4096];
        let mut eof = false;
        loop {
            match conn.stream.read(&mut chunk) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => conn.buffer.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(_) => return true,
            }
            if conn.buffer.len() > 64 * 1024 {
                return true;
            }
        }
        let line = match conn.buffer.iter().position(|b| *b == b'\n') {
            Some(end) => String::from_utf8_lossy(&conn.buffer[..end]).into_owned(),
            None if eof => String::from_utf8_lossy(&conn.buffer).into_owned(),
            None => return false,
        };
        let level = conn.level;
        let outcome = self.execute_line(&line, level);
        // The connection leaves the poll set either way; a reload keeps it as a waiter.
        let conn = self.conns.remove(index);
        self.conns.insert(
            index,
            Conn {
                stream: match conn.stream.try_clone() {
                    Ok(s) => s,
                    Err(_) => return true,
                },
                buffer: Vec::new(),
                level,
            },
        );
        match outcome {
            Outcome::Reply(text) => answer(conn.stream, &text),
            Outcome::Reload { hard, before } => self.reload(
                hard,
                Some(Waiter {
                    stream: conn.stream,
                    before,
                }),
            ),
        }
        true
    }

    fn execute_line(&mut self, line: &str, level: Level) -> Outcome {
        let mut out = String::new();
        for command in line.split(';') {
            let command = command.trim();
            if command.is_empty() {
                continue;
            }
            match cli::target(command) {
                Target::Master(cmd) if cmd == "reload" || cmd == "hard-reload" => {
                    if level < Level::Admin {
                        out.push_str("Permission denied\n\n");
                        continue;
                    }
                    return Outcome::Reload {
                        hard: cmd == "hard-reload",
                        before: out,
                    };
                }
                Target::Master("quit") => break,
                Target::Master(cmd) => out.push_str(&self.master_command(cmd, level)),
                Target::Relative(n, cmd) => {
                    let pid = self
                        .procs
                        .iter()
                        .filter(|p| p.state == State::Current)
                        .map(|p| p.pid)
                        .rev()
                        .nth(n as usize - 1);
                    match pid {
                        Some(pid) => out.push_str(&self.route(pid, cmd)),
                        None => out.push_str(&format!(
                            "Can't find the target PID matching the prefix '@{n}'\n"
                        )),
                    }
                }
                Target::Pid(pid, cmd) => {
                    if self.procs.iter().any(|p| p.pid == pid) {
                        out.push_str(&self.route(pid, cmd));
                    } else {
                        out.push_str(&format!(
                            "Can't find the target PID matching the prefix '@!{pid}'\n"
                        ));
                    }
                }
                Target::Bad(prefix) => out.push_str(&format!(
                    "Can't find the target PID matching the prefix '@{prefix}'\n"
                )),
            }
        }
        Outcome::Reply(out)
    }

    fn master_command(&self, command: &str, level: Level) -> String {
        let words: Vec<&str> = command.split_whitespace().collect();
        match words.as_slice() {
            ["help"] => cli::help() + "\n",
            ["show", "proc"] | ["show", "proc", "debug"] => self.show_proc(),
            ["show", "startup-logs"] => self.log.attempt_text() + "\n",
            ["show", "version"] => format!("{}\n\n", self.settings.version),
            ["show", "cli", "level"] => format!("{}\n\n", level.as_str()),
            ["prompt"] => "Interactive mode (prompt) is not supported yet by Sluice's master CLI: send one line of commands separated by ';'.\n\n".to_string(),
            _ => format!(
                "Unknown command: '{}'. Please enter one of the following commands only:\n{}\n",
                words.first().copied().unwrap_or_default(),
                cli::help()
                    .lines()
                    .skip(1)
                    .map(|l| format!("{l}\n"))
                    .collect::<String>()
            ),
        }
    }

    fn show_proc(&self) -> String {
        let version = &self.settings.version;
        let mut out = cli::proc_header();
        out.push_str(&cli::proc_row(
            self.pid,
            "master",
            &format!("{} [failed: {}]", self.reloads, self.failed_reloads),
            &cli::uptime(self.started.elapsed()),
            version,
        ));
        out.push_str("# workers\n");
        // Newest first, as HAProxy lists them; a worker still starting is not listed as serving.
        for p in self
            .procs
            .iter()
            .rev()
            .filter(|p| p.state == State::Current)
        {
            out.push_str(&cli::proc_row(
                p.pid,
                "worker",
                &p.reloads.to_string(),
                &cli::uptime(p.started.elapsed()),
                version,
            ));
        }
        if self.procs.iter().any(|p| p.state == State::Old) {
            out.push_str("# old workers\n");
            for p in self.procs.iter().rev().filter(|p| p.state == State::Old) {
                out.push_str(&cli::proc_row(
                    p.pid,
                    "worker",
                    &p.reloads.to_string(),
                    &cli::uptime(p.started.elapsed()),
                    version,
                ));
            }
        }
        out.push('\n');
        out
    }

    /// `@N cmd` / `@!PID cmd`: to the worker's runtime API, over its stats socket.
    fn route(&self, pid: i32, command: &str) -> String {
        if command.is_empty() {
            return "Sluice's master CLI needs the command on the same line as the prefix (e.g. '@1 show info'); staying on a worker is not supported yet.\n\n".to_string();
        }
        // The worker's first stats socket reachable by address: a UNIX path or a TCP port
        // (an `fd@` socket has no address the master could connect to).
        let target = self.model.global.stats_sockets.iter().find_map(|s| {
            if let Some(path) = s.address.unix_path() {
                return Some(Err(path.to_string()));
            }
            let port = s.address.port_number()?;
            let ip = sluice_proxy::listener::bind::ip_of(&s.address).ok()?;
            let ip = if ip.is_unspecified() {
                if ip.is_ipv4() {
                    std::net::IpAddr::from([127, 0, 0, 1])
                } else {
                    std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST)
                }
            } else {
                ip
            };
            Some(Ok(std::net::SocketAddr::new(ip, port)))
        });
        let Some(target) = target else {
            return format!("Worker {pid} has no 'stats socket' with a UNIX path or a TCP address the master could forward '{command}' to: add one to the global section.\n\n");
        };
        let shown = match &target {
            Err(path) => path.clone(),
            Ok(addr) => addr.to_string(),
        };
        let exchange = |target: &Result<std::net::SocketAddr, String>| -> std::io::Result<String> {
            let line = format!("{command}\n");
            let mut answer = String::new();
            match target {
                Err(path) => {
                    let mut stream = UnixStream::connect(path)?;
                    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
                    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
                    stream.write_all(line.as_bytes())?;
                    stream.shutdown(std::net::Shutdown::Write)?;
                    stream.read_to_string(&mut answer)?;
                }
                Ok(addr) => {
                    let mut stream =
                        std::net::TcpStream::connect_timeout(addr, Duration::from_secs(5))?;
                    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
                    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
                    stream.write_all(line.as_bytes())?;
                    stream.shutdown(std::net::Shutdown::Write)?;
                    stream.read_to_string(&mut answer)?;
                }
            }
            Ok(answer)
        };
        match exchange(&target) {
            Ok(answer) => answer,
            Err(e) => format!(
                "Cannot reach the runtime API of worker {pid} on '{shown}' ({}).\n\n",
                sluice_config::diagnostic::os_reason(&e)
            ),
        }
    }
}

/// Writes a whole answer and closes. A client that does not read is not waited for long.
fn answer(stream: UnixStream, text: &str) {
    let mut stream = stream;
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let _ = stream.write_all(text.as_bytes());
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

/// `-D`: once the launcher has its answer, the daemon lets go of its terminal.
pub fn detach_stdio() {
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        let _ = nix::unistd::dup2_stdin(&null);
        let _ = nix::unistd::dup2_stdout(&null);
        let _ = nix::unistd::dup2_stderr(&null);
    }
}

/// A worker diagnostic printed by whoever did not start a master (standalone mode).
pub fn render_failure(d: &Diagnostic, sources: &SourceMap, pid: u32) -> String {
    let w = WorkerDiagnostic::from_diagnostic(d, sources);
    let mut text = format!(
        "{}{}.\n",
        sluice_config::render::haproxy::prefix(Severity::Error, pid),
        w.summary()
    );
    if let Some(help) = &w.help {
        text.push_str(&format!("   | help: {help}\n"));
    }
    text
}
