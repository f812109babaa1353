//! Listening sockets: bound once (by the master or the foreground process), passed to workers
//! as file descriptors, then accepted on by every worker thread.
//!
//! - [`bind`]: one socket per (proxy, bind line, address, port) with the bind's options.
//! - [`BoundListeners`]: the set, with its export/adopt for re-executed workers.
//! - [`accept`]: the per-thread accept loop and the connection limits (`maxconn`).

pub mod accept;
pub mod bind;
pub mod limit;

use bind::SocketKind;
use sluice_config::Diagnostic;
use sluice_model::Model;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// One listening socket.
#[derive(Debug)]
pub struct BoundListener {
    /// Stable identity across a re-exec: see [`BoundListeners::export`].
    pub key: String,
    /// Index of the proxy in `Model::proxies`.
    pub proxy: usize,
    /// Index of the bind line in the proxy.
    pub bind: usize,
    /// The socket, already listening and non-blocking.
    pub socket: OwnedFd,
    /// TCP or UNIX stream.
    pub kind: SocketKind,
}

/// Listening sockets, bound by the master (or by the foreground process) before any worker
/// runs: one entry per (proxy, bind line, address, port of a range), and one per `stats
/// socket` line (the runtime API, [`crate::cli`]).
#[derive(Debug, Default)]
pub struct BoundListeners {
    entries: Vec<BoundListener>,
    stats: Vec<crate::cli::listener::BoundStats>,
}

impl BoundListeners {
    /// Binds every enabled bind of every frontend/listen of `model` (SO_REUSEADDR; IPv4/IPv6,
    /// port ranges, `*`/`::`, unix sockets, `fd@N` adopted; backlog, v6only/v4v6,
    /// transparent, freebind, defer-accept). Every failure is reported, each with the bind's
    /// location and the OS reason in HAProxy's words ("cannot bind socket (Address already
    /// in use)"); nothing stays bound when any failed.
    pub fn bind_all(model: &Model) -> Result<Self, Vec<Diagnostic>> {
        let mut entries = Vec::new();
        let mut diags = Vec::new();
        for spec in bind::specs(model) {
            match bind::open(model, &spec) {
                Ok(socket) => entries.push(BoundListener {
                    key: spec.key.clone(),
                    proxy: spec.proxy,
                    bind: spec.bind,
                    socket,
                    kind: spec.kind(),
                }),
                Err(d) => diags.push(d),
            }
        }
        let mut stats = Vec::new();
        for spec in crate::cli::listener::specs(model) {
            match crate::cli::listener::open(model, &spec) {
                Ok(b) => stats.push(b),
                Err(d) => diags.push(d),
            }
        }
        if diags.is_empty() {
            Ok(BoundListeners { entries, stats })
        } else {
            Err(diags)
        }
    }

    /// `(key, raw fd)` pairs to pass to a re-executed worker. The key identifies the bind
    /// stably: `<proxy>|<address as written>|<port>` (the port is `-` for UNIX sockets and
    /// `fd@`), `@stats|<address as written>|<port>` for stats sockets. The fds stay owned by
    /// `self`; the caller clears `FD_CLOEXEC` on its copies.
    pub fn export(&self) -> Vec<(String, RawFd)> {
        self.entries
            .iter()
            .map(|e| (e.key.clone(), e.socket.as_raw_fd()))
            .chain(
                self.stats
                    .iter()
                    .map(|s| (s.key.clone(), crate::cli::listener::raw(s))),
            )
            .collect()
    }

    /// Rebuilds from inherited fds (worker side). Every key must name a bind of `model`
    /// (an unknown key is an error, the fd is then left open for the caller); binds of
    /// `model` that no key names are bound afresh. Takes ownership of the fds it accepts.
    pub fn adopt(model: &Model, fds: &[(String, RawFd)]) -> Result<Self, Vec<Diagnostic>> {
        let specs = bind::specs(model);
        let stats_specs = crate::cli::listener::specs(model);
        let mut diags = Vec::new();
        for (key, fd) in fds {
            if !specs.iter().any(|s| &s.key == key) && !stats_specs.iter().any(|s| &s.key == key) {
                diags.push(
                    Diagnostic::error(
                        sluice_config::Category::Semantic,
                        "listener-unknown",
                        format!(
                            "inherited listening socket '{key}' (fd {fd}) matches no 'bind' of the configuration"
                        ),
                    )
                    .help("pass only the sockets bound for this configuration"),
                );
            }
        }
        if !diags.is_empty() {
            return Err(diags);
        }
        let mut entries = Vec::new();
        for spec in &specs {
            let opened = match fds.iter().find(|(k, _)| *k == spec.key) {
                Some((_, fd)) => bind::adopt_fd(spec, *fd),
                None => bind::open(model, spec),
            };
            match opened {
                Ok(socket) => entries.push(BoundListener {
                    key: spec.key.clone(),
                    proxy: spec.proxy,
                    bind: spec.bind,
                    socket,
                    kind: spec.kind(),
                }),
                Err(d) => diags.push(d),
            }
        }
        let mut stats = Vec::new();
        for spec in &stats_specs {
            let opened = match fds.iter().find(|(k, _)| *k == spec.key) {
                Some((_, fd)) => crate::cli::listener::adopt(spec, *fd),
                None => crate::cli::listener::open(model, spec),
            };
            match opened {
                Ok(b) => stats.push(b),
                Err(d) => diags.push(d),
            }
        }
        if diags.is_empty() {
            Ok(BoundListeners { entries, stats })
        } else {
            Err(diags)
        }
    }

    /// The stats sockets, in configuration order.
    pub fn stats(&self) -> &[crate::cli::listener::BoundStats] {
        &self.stats
    }

    /// The sockets, in configuration order.
    pub fn entries(&self) -> &[BoundListener] {
        &self.entries
    }

    /// Number of sockets.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is bound.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn into_parts(self) -> (Vec<BoundListener>, Vec<crate::cli::listener::BoundStats>) {
        (self.entries, self.stats)
    }
}
