//! # sluice-proxy
//!
//! Sluice's data plane: it accepts connections on the listeners of a [`sluice_model::Model`],
//! and carries each one to a server, as a TCP relay (`mode tcp`) or as HTTP/1.1 proxying
//! (`mode http`), the way HAProxy does.
//!
//! Three roles:
//! - [`BoundListeners`]: the listening sockets, bound by the master (or the foreground
//!   process) before any worker runs, exported as fds to a re-executed worker and adopted
//!   back there.
//! - [`Worker`]: `nbthread` threads, each with its own current-thread tokio runtime, its own
//!   accept loops on duplicated listeners, its own balancers, idle server connections and
//!   buffers. Nothing on the request path is shared between threads but the servers'
//!   connection counters (atomics) and the read-only plan.
//! - [`StopHandle`]: soft stop (stop accepting, finish in-flight requests, close idle
//!   keep-alive connections, bounded by `hard-stop-after`) and hard stop.
//!
//! ```no_run
//! use sluice_config::{read_str, ReadOptions};
//! use sluice_model::{build, BuildOptions};
//! use sluice_proxy::{BoundListeners, Worker};
//! use std::sync::Arc;
//!
//! let text = "defaults\n mode http\n timeout connect 5s\n timeout client 5s\n timeout server 5s\n\
//!             frontend web\n bind 127.0.0.1:8080\n default_backend app\n\
//!             backend app\n server a 127.0.0.1:9000\n";
//! let (tree, _) = read_str("t.cfg", text, &ReadOptions::default());
//! let (model, _) = build(&tree, &BuildOptions::default());
//! let listeners = BoundListeners::bind_all(&model).expect("bound");
//! let worker = Worker::start(Arc::new(model), listeners).expect("started");
//! worker.stop_handle().soft_stop();
//! worker.wait();
//! ```
//!
//! Inside a worker thread, one task per client connection ([`stream`]) runs either
//! [`tcp::relay`] or the HTTP/1.1 session of [`http`]; servers, balancing and the idle
//! connection pool are in [`backend`]; HAProxy's error responses in [`errors`].

pub mod backend;
pub mod check;
pub mod cli;
pub mod counters;
pub mod error;
pub mod errors;
pub mod frontend;
pub mod gauges;
pub mod h2;
pub mod http;
pub mod listener;
mod local_runtime;
pub mod log;
pub mod memory;
pub mod peers;
pub mod plan;
pub mod proxy_protocol;
pub mod resolvers;
pub mod stats;
pub mod stick;
pub mod stream;
pub mod tcp;
pub mod tls;
mod worker;

pub use counters::Totals;
pub use error::{Error, ErrorKind, Side};
pub use listener::BoundListeners;
pub use worker::{Prepared, StopHandle, Worker};
