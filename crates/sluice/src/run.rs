//! Starting without `-c` (spec R6): the standalone process (foreground, `-d`, `-D`), the
//! master (`-W`, `-Ws`, `-W -D`) and the worker a master re-executes. The configuration has
//! already been loaded and checked by [`crate::check::load_and_check`], the same function as
//! `-c` (one preflight, two callers); reloads call it again through [`Reloader`].
//!
//! ```text
//! launcher (-D) ── re-exec, setsid ──▶ daemon ─┬─ standalone: bind, chroot, setuid, serve
//!   waits for READY on SLUICE_DAEMON_FD        └─ master: bind, re-exec ──▶ worker
//!                                                  waits for READY on SLUICE_READY_FD
//! ```

use crate::args::{Invocation, StopSignal};
use crate::check::{self, CheckOutcome, Verdict};
use crate::output::Printer;
use crate::report::{self, print_diagnostics};
use nix::sys::signal::Signal;
use sluice_config::{render, Diagnostic, Severity, SourceMap};
use sluice_master::cli::{CliSocket, Level};
use sluice_master::dataplane::{BoundListeners, Worker};
use sluice_master::fdpass::{self, DAEMON_FD};
use sluice_master::log::Log;
use sluice_master::master::{self, Loaded, Loader, Master, Settings};
use sluice_master::nix;
use sluice_master::notify::Notifier;
use sluice_master::privileges;
use sluice_master::readiness::{ReadyWriter, WorkerDiagnostic};
use sluice_master::status::Ended;
use sluice_master::worker::{self, Say};
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;

/// Text HAProxy prints when nothing listens.
const NO_LISTENER: &str =
    "[sluice.main()] No enabled listener found (check for 'bind' directives) ! Exiting.";
const BIND_FAILED: &str =
    "[sluice.main()] Some protocols failed to start their listeners! Exiting.";

/// Returns the exit code of a start attempt.
pub fn start(outcome: &CheckOutcome, inv: &Invocation, printer: &mut Printer) -> i32 {
    // Before any thread starts: the `env()` fetch and child processes see them.
    crate::haproxy_env::export(&outcome.env);
    match fdpass::take_handoff() {
        Err(text) => {
            printer.message(Severity::Error, &text);
            return 1;
        }
        Ok(Some(handoff)) => return run_worker(outcome, handoff, printer),
        Ok(None) => {}
    }
    let daemon_fd = match take_daemon_fd() {
        Ok(fd) => fd,
        Err(text) => {
            printer.message(Severity::Error, &text);
            return 1;
        }
    };
    let global = &outcome.model.global;
    let master_worker = inv.master_worker || inv.systemd || global.master_worker;
    let foreground = inv.foreground || inv.debug;
    let daemon = (inv.daemon || (global.daemon && !foreground)) && !inv.systemd;
    if inv.systemd && global.daemon {
        printer.message(
            Severity::Warning,
            "'daemon' is not compatible with -Ws (master-worker mode for systemd), ignoring.",
        );
    }
    if daemon && daemon_fd.is_none() {
        // The launcher reports errors itself and leaves warnings to the daemon.
        return match outcome.verdict() {
            Verdict::Valid => launch_daemon(inv, printer),
            _ => refuse(outcome, printer),
        };
    }
    if outcome.verdict() != Verdict::Valid {
        return refuse(outcome, printer);
    }
    print_diagnostics(outcome, printer);
    if master_worker {
        run_master(outcome, inv, printer, daemon_fd)
    } else {
        run_standalone(outcome, inv, printer, daemon_fd)
    }
}

/// A configuration that cannot start: its diagnostics, exit 1.
fn refuse(outcome: &CheckOutcome, printer: &mut Printer) -> i32 {
    print_diagnostics(outcome, printer);
    if outcome.verdict() == Verdict::NoListener {
        printer.message(Severity::Error, NO_LISTENER);
    }
    1
}

/// The arguments for a re-executed copy of this process: `-C` made absolute (the copy starts
/// in the directory `-C` already moved to).
fn reexec_args(worker: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut words = std::env::args().skip(1);
    while let Some(word) = words.next() {
        if word == "--" {
            out.push(word);
            out.extend(words.by_ref());
            break;
        }
        if word == "-C" {
            let _ = words.next();
            if let Ok(dir) = std::env::current_dir() {
                out.push(word);
                out.push(dir.display().to_string());
            }
            continue;
        }
        if worker && word.starts_with("--check-env") {
            continue;
        }
        out.push(word);
    }
    if worker {
        // The master ran the preflight; the worker's ports are the master's own sockets.
        out.insert(0, "--check-env=off".to_string());
    }
    out
}

/// This binary, by its real path so that workers are named like the master in `ps` and
/// `/proc/PID/comm` (a re-exec of `/proc/self/exe` would be called `exe`); the link itself
/// when the file was replaced or removed since the start.
fn own_executable() -> PathBuf {
    match std::fs::read_link("/proc/self/exe") {
        Ok(path) if path.exists() => path,
        _ => PathBuf::from("/proc/self/exe"),
    }
}

fn program() -> String {
    std::env::args()
        .next()
        .unwrap_or_else(|| "sluice".to_string())
}

fn take_daemon_fd() -> Result<Option<OwnedFd>, String> {
    let Some(value) = std::env::var_os(DAEMON_FD) else {
        return Ok(None);
    };
    std::env::remove_var(DAEMON_FD);
    let fd = value
        .to_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{DAEMON_FD} is not a descriptor number"))?;
    fdpass::take_inherited(DAEMON_FD, fd).map(Some)
}

/// `-D` (spec R6.2): start the daemon in a new session and exit 0 only once it reports
/// `READY`; otherwise print how it ended and exit with its code.
fn launch_daemon(_inv: &Invocation, printer: &mut Printer) -> i32 {
    let pipe = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC);
    let (read, write) = match pipe {
        Ok(p) => p,
        Err(e) => {
            printer.message(
                Severity::Error,
                &format!("[sluice.main()] Cannot create a pipe: {e}"),
            );
            return 1;
        }
    };
    let passed = [write.as_raw_fd()];
    let mut command = Command::new(own_executable());
    command
        .arg0(program())
        .args(reexec_args(false))
        .env(DAEMON_FD, write.as_raw_fd().to_string())
        .stdin(Stdio::null());
    // SAFETY: between fork and exec: setsid and fcntl only, async-signal-safe, on data
    // allocated before the fork.
    unsafe {
        command.pre_exec(move || {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            fdpass::clear_cloexec_all(&passed)
        });
    }
    let mut child = match command.spawn() {
        Ok(c) => c,
        Err(e) => {
            printer.message(
                Severity::Error,
                &format!("[sluice.main()] Cannot fork: {e}"),
            );
            return 1;
        }
    };
    drop(write);
    let mut answer = String::new();
    let _ = std::fs::File::from(read).read_to_string(&mut answer);
    if answer.starts_with("READY") {
        return 0;
    }
    let pid = child.id();
    let ended = match child.wait() {
        Ok(status) => {
            use std::os::unix::process::ExitStatusExt;
            match (status.code(), status.signal()) {
                (Some(code), _) => Ended::Exited(code),
                (None, Some(sig)) => {
                    Signal::try_from(sig).map_or(Ended::Exited(1), Ended::Signaled)
                }
                _ => Ended::Exited(1),
            }
        }
        Err(_) => Ended::Exited(1),
    };
    printer.message(
        Severity::Error,
        &format!("Process {pid} exited with {}", ended.describe()),
    );
    match ended.code() {
        143 => 0,
        0 => 1, // gone without READY: never a success
        code => code,
    }
}

fn ulimit(outcome: &CheckOutcome, printer: &mut Printer) -> Result<(), ()> {
    let Some(wanted) = &outcome.model.global.ulimit_n else {
        return Ok(());
    };
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if setrlimit(Resource::RLIMIT_NOFILE, wanted.value, wanted.value).is_err() {
        let current = getrlimit(Resource::RLIMIT_NOFILE).map_or(0, |(soft, _)| soft);
        printer.message(
            Severity::Error,
            &format!(
                "[sluice.main()] Cannot raise FD limit to {}, limit is {current}.",
                wanted.value
            ),
        );
        return Err(());
    }
    Ok(())
}

fn bind(outcome: &CheckOutcome, printer: &mut Printer) -> Option<BoundListeners> {
    match BoundListeners::bind_all(&outcome.model) {
        Ok(l) => Some(l),
        Err(diagnostics) => {
            for d in &diagnostics {
                printer.diagnostic(d, &outcome.sources);
            }
            printer.message(Severity::Error, BIND_FAILED);
            None
        }
    }
}

fn old_signal(inv: &Invocation) -> Signal {
    match inv.old_pids_signal {
        Some(StopSignal::Terminate) => Signal::SIGTERM,
        _ => Signal::SIGUSR1,
    }
}

struct PrinterSay<'a>(&'a mut Printer);

impl Say for PrinterSay<'_> {
    fn warning(&mut self, text: &str) {
        self.0.message(Severity::Warning, text);
    }
}

/// Standalone (foreground, `-d`, `-D` without `-W`), spec R6.1.
fn run_standalone(
    outcome: &CheckOutcome,
    inv: &Invocation,
    printer: &mut Printer,
    daemon_fd: Option<OwnedFd>,
) -> i32 {
    worker::default_crash_signals();
    let signals = match worker::block_serving_signals() {
        Ok(s) => s,
        Err(e) => {
            printer.message(Severity::Error, &format!("cannot block signals: {e}"));
            return 1;
        }
    };
    if ulimit(outcome, printer).is_err() {
        return 1;
    }
    let Some(listeners) = bind(outcome, printer) else {
        return 1;
    };
    if daemon_fd.is_some() {
        // Daemon only, own pid, before the chroot (spec R6.6).
        if let Some(path) = pidfile(outcome, inv) {
            if let Err(e) = std::fs::write(&path, format!("{}\n", std::process::id())) {
                printer.message(
                    Severity::Error,
                    &format!(
                        "[sluice.main()] Cannot create pidfile {}: {}",
                        path.display(),
                        sluice_config::diagnostic::os_reason(&e)
                    ),
                );
                return 1;
            }
        }
    }
    // Files and names are loaded before the chroot, as HAProxy loads them while parsing.
    let model = Arc::new(outcome.model.clone());
    let rules = sluice_rules::CompileOptions {
        base_dir: sluice_preflight::rules_base_dir(&model, &outcome.sources),
    };
    // `last_rule_file` names the files as they were read.
    let sources = &outcome.sources;
    sluice_rules::origin::set_source_names(sources.ids().map(|id| sources.name(id).to_string()));
    let prepared = match Worker::prepare(model.clone(), &rules) {
        Ok(p) => p,
        Err(e) => {
            printer.message(
                Severity::Error,
                &format!("cannot load what the configuration names: {e}"),
            );
            return 1;
        }
    };
    let dropped = privileges::plan(&outcome.model.global).and_then(|plan| privileges::apply(&plan));
    if let Err(d) = dropped {
        print_failure(&d, &outcome.sources, printer);
        return 1;
    }
    let hard_stop_after = model.global.hard_stop_after;
    let running = match Worker::start_prepared(prepared, listeners) {
        Ok(w) => w,
        Err(e) => {
            printer.message(
                Severity::Error,
                &format!("cannot start the data plane: {e}"),
            );
            return 1;
        }
    };
    for &pid in &inv.old_pids {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), old_signal(inv));
    }
    if let Some(fd) = daemon_fd {
        use std::io::Write;
        let _ = std::fs::File::from(fd).write_all(b"READY\n");
        master::detach_stdio();
    }
    worker::serve_until_stopped(running, &signals, hard_stop_after, &mut PrinterSay(printer))
}

fn pidfile(outcome: &CheckOutcome, inv: &Invocation) -> Option<PathBuf> {
    inv.pidfile
        .clone()
        .or_else(|| {
            outcome
                .model
                .global
                .pidfile
                .as_ref()
                .map(|p| p.value.clone())
        })
        .map(PathBuf::from)
}

/// A start failure that is not a configuration line's finding (chroot, identity): the cause,
/// the OS reason and the line, as the master prints a worker's report.
fn print_failure(d: &Diagnostic, sources: &SourceMap, printer: &mut Printer) {
    let w = WorkerDiagnostic::from_diagnostic(d, sources);
    printer.message(Severity::Error, &format!("{}.", w.summary()));
    if let Some(help) = &w.help {
        eprintln!("   | help: {help}");
    }
}

/// A worker re-executed by a master: the configuration was re-read by `main_with`.
fn run_worker(outcome: &CheckOutcome, handoff: fdpass::Handoff, printer: &mut Printer) -> i32 {
    if let Some(error) = outcome.diagnostics.iter().find(|d| d.is_error()) {
        // The files changed between the master's check and this read.
        let _ = ReadyWriter::new(handoff.ready)
            .failed(&WorkerDiagnostic::from_diagnostic(error, &outcome.sources));
        return 1;
    }
    let model = Arc::new(outcome.model.clone());
    worker::run(model, &outcome.sources, handoff, &mut PrinterSay(printer))
}

/// `master-worker no-exit-on-failure` in `global`.
fn no_exit_on_failure(outcome: &CheckOutcome) -> bool {
    outcome
        .tree
        .sections
        .iter()
        .filter(|s| s.kind == sluice_config::SectionKind::Global)
        .flat_map(|s| &s.statements)
        .any(|st| {
            st.keyword() == "master-worker"
                && st.args().iter().any(|w| w.as_str() == "no-exit-on-failure")
        })
}

fn cli_sockets(inv: &Invocation) -> Result<Vec<CliSocket>, String> {
    inv.master_cli
        .iter()
        .map(|cli| {
            let mut socket = CliSocket {
                address: cli.address.clone(),
                ..CliSocket::default()
            };
            for (key, value) in &cli.options {
                let value = value.as_deref().unwrap_or_default();
                match key.as_str() {
                    "mode" => {
                        socket.mode = Some(u32::from_str_radix(value, 8).map_err(|_| {
                            format!(
                                "'{} mode {value}' : an octal mode is expected.",
                                cli.address
                            )
                        })?)
                    }
                    "uid" => socket.uid = value.parse().ok(),
                    "gid" => socket.gid = value.parse().ok(),
                    "user" => {
                        socket.uid = nix::unistd::User::from_name(value)
                            .ok()
                            .flatten()
                            .map(|u| u.uid.as_raw())
                    }
                    "group" => {
                        socket.gid = nix::unistd::Group::from_name(value)
                            .ok()
                            .flatten()
                            .map(|g| g.gid.as_raw())
                    }
                    "level" => {
                        socket.level = Level::parse(value).ok_or_else(|| {
                            format!(
                                "'{} level {value}' : level must be 'user', 'operator' or 'admin'.",
                                cli.address
                            )
                        })?
                    }
                    _ => {}
                }
            }
            Ok(socket)
        })
        .collect()
}

/// Master-worker (`-W`, `-Ws`, `-W -D`), spec R6.3 in our order: everything is checked and
/// bound here, before any worker exists.
fn run_master(
    outcome: &CheckOutcome,
    inv: &Invocation,
    printer: &mut Printer,
    daemon_fd: Option<OwnedFd>,
) -> i32 {
    // Before anything else: signals are blocked and read from a signalfd.
    let signals = match master::master_signals() {
        Ok(s) => s,
        Err(e) => {
            printer.message(
                Severity::Error,
                &format!("cannot set up signal handling: {e}"),
            );
            return 1;
        }
    };
    let notifier = Notifier::from_env(inv.systemd);
    if ulimit(outcome, printer).is_err() {
        return 1;
    }
    let mut cli = Vec::new();
    match cli_sockets(inv) {
        Ok(sockets) => {
            for socket in &sockets {
                match sluice_master::cli::bind(socket) {
                    Ok(l) => cli.push(l),
                    Err(text) => {
                        printer.message(Severity::Error, &text);
                        printer.message(Severity::Error, "Can't create the master's CLI.");
                        return 1;
                    }
                }
            }
        }
        Err(text) => {
            printer.message(Severity::Error, &text);
            printer.message(Severity::Error, "Can't create the master's CLI.");
            return 1;
        }
    }
    let Some(listeners) = bind(outcome, printer) else {
        return 1;
    };
    let mut log = Log::new(printer.is_quiet());
    for d in &outcome.diagnostics {
        log.record(&render::haproxy(d, &outcome.sources, log.pid()));
    }
    let settings = Settings {
        program: program(),
        exe: own_executable(),
        worker_args: reexec_args(true),
        version: crate::version::version_only(),
        banner: crate::version::banner(),
        pidfile: pidfile(outcome, inv),
        workers_stdio_null: daemon_fd.is_some(),
        daemon_ready: daemon_fd,
        notifier,
        old_pids: inv.old_pids.iter().map(|&p| p as i32).collect(),
        old_signal: old_signal(inv),
        exit_on_failure: !no_exit_on_failure(outcome),
    };
    let reloader = Reloader {
        inv: Invocation {
            check_env: inv.check_env,
            ..inv.clone()
        },
        printer: Printer::new(inv),
    };
    let first = Loaded {
        model: Arc::new(outcome.model.clone()),
        sources: outcome.sources.clone(),
    };
    Master::new(settings, reloader, log, first, listeners, cli).run(signals)
}

/// A reload's configuration: `load_and_check` again, printed like a start.
struct Reloader {
    inv: Invocation,
    printer: Printer,
}

impl Loader for Reloader {
    fn load(&mut self, log: &mut Log) -> Option<Loaded> {
        let mut outcome = match check::load_and_check(&self.inv) {
            Ok(o) => o,
            Err(failure) => {
                report::load_failure(&failure, &self.inv, &mut self.printer);
                log.record(&render::haproxy(&failure, &SourceMap::new(), log.pid()));
                return None;
            }
        };
        // The master holds its own ports and master CLI sockets during a reload: not findings.
        let own = format!("pid {}", std::process::id());
        let held_by_us = |d: &Diagnostic| {
            d.message
                .match_indices(&own)
                .any(|(i, _)| !d.message[i + own.len()..].starts_with(|c: char| c.is_ascii_digit()))
        };
        let cli_paths: Vec<String> = self
            .inv
            .master_cli
            .iter()
            .map(|c| c.address.trim_start_matches("unix@").to_string())
            .collect();
        outcome.diagnostics.retain(|d| match d.code {
            "bind-port-in-use" => !held_by_us(d),
            "unix-socket-in-use" => !cli_paths
                .iter()
                .any(|p| d.message.contains(&format!("'{p}'"))),
            _ => true,
        });
        print_diagnostics(&outcome, &mut self.printer);
        for d in &outcome.diagnostics {
            log.record(&render::haproxy(d, &outcome.sources, log.pid()));
        }
        match outcome.verdict() {
            Verdict::Valid => Some(Loaded {
                model: Arc::new(outcome.model),
                sources: outcome.sources,
            }),
            Verdict::NoListener => {
                log.alert(NO_LISTENER);
                None
            }
            Verdict::Errors | Verdict::ZeroWarningAbort => None,
        }
    }
}
