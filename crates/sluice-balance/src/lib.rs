//! Sluice's server selection: given the servers of a backend and what a request offers,
//! choose the server, the way HAProxy's `balance` algorithms do. No I/O, no configuration
//! model: servers come in as plain data ([`ServerState`] in a [`Snapshot`]).
//!
//! Three roles:
//! - [`Snapshot`]: the servers and which of them may take new requests (active servers, or
//!   the backups when none is up). Built off the hot path whenever a server changes.
//! - [`Algorithm`]: one trait for every algorithm, built from a snapshot, with a `select`
//!   that takes no lock and allocates nothing. [`Balancer`] holds whichever one a backend's
//!   [`Balance`] names.
//! - [`RequestKey`]: the parts of a request that hash-based algorithms read, borrowed from
//!   the caller's buffers.
//!
//! ```
//! use sluice_balance::{Algorithm, Balance, Balancer, RequestKey, ServerId, ServerState, Snapshot};
//!
//! // backend app
//! //     balance roundrobin
//! //     server a 10.0.0.1:80 weight 2
//! //     server b 10.0.0.2:80 weight 1
//! let snapshot = Snapshot::new(
//!     vec![ServerState::new(1).weight(2), ServerState::new(2).weight(1)],
//!     false,
//! );
//! let balance = Balance::parse(&["roundrobin"]).expect("valid words");
//! let balancer = Balancer::build(&balance, &snapshot);
//! let picks: Vec<u32> = (0..6)
//!     .filter_map(|_| balancer.select(&RequestKey::new()))
//!     .map(|ServerId(id)| id)
//!     .collect();
//! assert_eq!(picks, [1, 2, 1, 1, 2, 1]);
//! ```
#![deny(missing_docs)]

mod algorithm;
mod balancer;
mod config;
mod error;
mod schedule;
mod snapshot;

pub mod first;
pub mod hash;
pub mod hdr;
pub mod leastconn;
pub mod random;
pub mod rdp_cookie;
pub mod roundrobin;
pub mod source;
pub mod static_rr;
pub mod uri;
pub mod url_param;

pub use algorithm::{Algorithm, RequestKey};
pub use balancer::Balancer;
pub use config::{parse_hash_type, Balance, Kind};
pub use error::{Error, ErrorKind};
pub use hash::{HashFunction, HashMethod, HashParams, HashType};
pub use snapshot::{ServerId, ServerState, Snapshot, MAX_WEIGHT};
pub use uri::UriOptions;
