//! The worker side: adopt the master's sockets, enter the jail, drop privileges, start the
//! data plane, then tell the master `READY` — or send it the reason why not. Also the serving
//! loop shared with the standalone (foreground and `-D`) mode.

use crate::dataplane::{BoundListeners, StopHandle, Worker};
use crate::fdpass::Handoff;
use crate::privileges;
use crate::readiness::{ReadyWriter, WorkerDiagnostic};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use sluice_config::{Category, Diagnostic, SourceMap};
use sluice_model::Model;
use std::sync::Arc;
use std::time::Duration;

/// The signals a serving process waits for; blocked before any thread starts so that every
/// data-plane thread inherits the mask and only [`serve_until_stopped`] receives them.
/// SIGTERM and SIGINT keep their default action: a hard stop, with the status HAProxy gives.
pub fn block_serving_signals() -> nix::Result<SigSet> {
    let mut set = SigSet::empty();
    for signal in [
        Signal::SIGUSR1,
        Signal::SIGUSR2,
        Signal::SIGHUP,
        Signal::SIGTTOU,
        Signal::SIGTTIN,
    ] {
        set.add(signal);
    }
    nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), None)?;
    Ok(set)
}

/// What a serving process prints about itself (the caller's printer).
pub trait Say {
    fn warning(&mut self, text: &str);
}

/// Gives SIGSEGV and SIGBUS their default action back. Rust's runtime handles them to report
/// stack overflows, and a handler that returns lets a process survive a `kill -SEGV`; a worker
/// must die of it so that the master reports a crash (spec T7.8).
pub fn default_crash_signals() {
    for signal in [Signal::SIGSEGV, Signal::SIGBUS] {
        // SAFETY: installing SIG_DFL runs no code of ours in signal context.
        let _ = unsafe { nix::sys::signal::signal(signal, nix::sys::signal::SigHandler::SigDfl) };
    }
}

/// Waits for SIGUSR1 (soft stop, bounded by `hard-stop-after`), then for the data plane to
/// finish; returns the exit code (0).
pub fn serve_until_stopped(
    worker: Worker,
    signals: &SigSet,
    hard_stop_after: Option<Duration>,
    say: &mut dyn Say,
) -> i32 {
    let stop = worker.stop_handle();
    loop {
        match signals.wait() {
            Ok(Signal::SIGUSR1) => break,
            Ok(Signal::SIGTTOU) => say.warning(
                "SIGTTOU received: pausing listeners is not supported yet by Sluice; still serving.",
            ),
            Ok(Signal::SIGTTIN) => say.warning(
                "SIGTTIN received: resuming listeners is not supported yet by Sluice; still serving.",
            ),
            Ok(Signal::SIGHUP) => say.warning(
                "SIGHUP received: dumping server states is not supported yet by Sluice.",
            ),
            Ok(_) | Err(_) => {}
        }
    }
    soft_stop(&stop, hard_stop_after);
    worker.wait();
    0
}

fn soft_stop(stop: &StopHandle, hard_stop_after: Option<Duration>) {
    stop.soft_stop();
    if let Some(limit) = hard_stop_after {
        let stop = stop.clone();
        // Detached: if the data plane finishes first, the process exits and the timer with it.
        std::thread::spawn(move || {
            std::thread::sleep(limit);
            stop.hard_stop();
        });
    }
}

/// A worker started by a master: everything between exec and serving. Returns the exit code.
/// Every failure before `READY` is sent to the master as a structured diagnostic.
pub fn run(model: Arc<Model>, sources: &SourceMap, handoff: Handoff, say: &mut dyn Say) -> i32 {
    default_crash_signals();
    let ready = ReadyWriter::new(handoff.ready);
    let fail = |ready: ReadyWriter, d: &Diagnostic| {
        // If the master is gone there is nobody to tell; the exit status still says it.
        let _ = ready.failed(&WorkerDiagnostic::from_diagnostic(d, sources));
        1
    };
    let signals = match block_serving_signals() {
        Ok(set) => set,
        Err(e) => return fail(ready, &internal("cannot block signals", e.into())),
    };
    let listeners = match BoundListeners::adopt(&model, &handoff.listeners) {
        Ok(l) => l,
        Err(diagnostics) => {
            let first = diagnostics.into_iter().next().unwrap_or_else(|| {
                internal(
                    "cannot adopt the listening sockets",
                    std::io::Error::other("no detail"),
                )
            });
            return fail(ready, &first);
        }
    };
    // Files and names are loaded before the chroot, as HAProxy loads them while parsing.
    let rules = sluice_rules::CompileOptions {
        base_dir: sluice_preflight::rules_base_dir(&model, sources),
    };
    // `last_rule_file` names the files as they were read.
    sluice_rules::origin::set_source_names(sources.ids().map(|id| sources.name(id).to_string()));
    let prepared = match Worker::prepare(model.clone(), &rules) {
        Ok(p) => p,
        Err(e) => {
            return fail(
                ready,
                &internal("cannot load what the configuration names", e),
            )
        }
    };
    let plan = match privileges::plan(&model.global) {
        Ok(plan) => plan,
        Err(d) => return fail(ready, &d),
    };
    if let Err(d) = privileges::apply(&plan) {
        return fail(ready, &d);
    }
    if let Some(master) = handoff.master_pid {
        // The parent-death signal is cleared by the identity change: set it again, then make
        // sure the master did not die in between (spec R7.8: a worker without master exits).
        let _ = nix::sys::prctl::set_pdeathsig(Some(Signal::SIGTERM));
        if nix::unistd::getppid().as_raw() != master {
            return 1;
        }
    }
    let hard_stop_after = model.global.hard_stop_after;
    let worker = match Worker::start_prepared(prepared, listeners) {
        Ok(w) => w,
        Err(e) => return fail(ready, &internal("cannot start the data plane", e)),
    };
    if ready.ready().is_err() {
        // The master is gone before we could report: stop at once.
        worker.stop_handle().hard_stop();
        worker.wait();
        return 1;
    }
    serve_until_stopped(worker, &signals, hard_stop_after, say)
}

fn internal(what: &str, error: std::io::Error) -> Diagnostic {
    Diagnostic::error(
        Category::Environment,
        "worker-start-failed",
        what.to_string(),
    )
    .os_error(&error)
}
