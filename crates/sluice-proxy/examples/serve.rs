//! Runs a configuration with the data plane alone, in the foreground, until SIGTERM or
//! SIGINT (soft stop; a second signal stops hard). For the benchmark before the binary's
//! run path is wired: `serve -f haproxy.cfg [-f more.cfg]`.

use sluice_config::{read_config, Environment, ReadOptions, SourceMap};
use sluice_model::{build, BuildOptions};
use sluice_proxy::{BoundListeners, Worker};
use std::process::ExitCode;
use std::sync::Arc;

fn main() -> ExitCode {
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "-f" => match args.next() {
                Some(f) => files.push(f),
                None => return usage(),
            },
            "-db" | "-W" | "-Ws" => {}
            _ => return usage(),
        }
    }
    if files.is_empty() {
        return usage();
    }
    let mut sources = SourceMap::new();
    for f in &files {
        match std::fs::read(f) {
            Ok(bytes) => {
                sources.add(f, bytes);
            }
            Err(e) => {
                eprintln!("[ALERT] cannot read '{f}': {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let (tree, diags) = read_config(
        &sources,
        &mut Environment::from_process(),
        &ReadOptions::default(),
    );
    let (model, more) = build(&tree, &BuildOptions::default());
    let errors: Vec<_> = diags
        .iter()
        .chain(more.iter())
        .filter(|d| d.is_error())
        .collect();
    if !errors.is_empty() {
        for d in errors {
            eprintln!("[ALERT] {}", d.message);
        }
        return ExitCode::FAILURE;
    }
    let listeners = match BoundListeners::bind_all(&model) {
        Ok(l) => l,
        Err(diags) => {
            for d in diags {
                eprintln!("[ALERT] {}", d.message);
            }
            return ExitCode::FAILURE;
        }
    };
    let worker = match Worker::start(Arc::new(model), listeners) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("[ALERT] cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let stop = worker.stop_handle();
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return ExitCode::FAILURE;
    };
    let signals = std::thread::spawn(move || {
        rt.block_on(async {
            use tokio::signal::unix::{signal, SignalKind};
            let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) else {
                return;
            };
            tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
            stop.soft_stop();
            tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
            stop.hard_stop();
        })
    });
    worker.wait();
    drop(signals);
    ExitCode::SUCCESS
}

fn usage() -> ExitCode {
    eprintln!("usage: serve -f <haproxy.cfg> [-f <more.cfg>...]");
    ExitCode::from(2)
}
