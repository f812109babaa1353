//! # sluice-master
//!
//! Sluice's process model, as HAProxy runs: a master that checks the configuration, binds the
//! listeners and starts workers by re-executing its own binary with the listening sockets
//! passed down; workers that enter their chroot and drop privileges before they serve and
//! report `READY` — or the cause of their failure — over a pipe; reloads that never disturb
//! the serving generation before the new one is ready; HAProxy's signals, messages, exit
//! codes and master CLI. `LIFECYCLE.md` beside this crate describes the states.
//!
//! - [`master`]: the master's loop ([`master::Master`]), fed by a [`master::Loader`] that runs
//!   the same `load_and_check` as `sluice -c`.
//! - [`worker`]: a worker's start ([`worker::run`]) and the serving loop shared with the
//!   standalone mode.
//! - [`privileges`]: chroot and identity drop, verified.
//! - [`fdpass`]: the only place that knows how descriptors reach a worker.
//! - [`readiness`]: the `READY` / diagnostic protocol. [`status`]: how a worker ended, in words.
//! - [`cli`], [`notify`] (systemd), [`log`], [`dataplane`] (the data plane's API).

/// The system-call crate the process model is written with, for the binary's wiring.
pub use nix;

pub mod cli;
pub mod dataplane;
pub mod fdpass;
pub mod log;
pub mod master;
pub mod notify;
pub mod privileges;
pub mod readiness;
pub mod status;
pub mod worker;
