//! # sluice-stick
//!
//! HAProxy's stick tables: the definitions a configuration gives (`stick-table` lines,
//! `table` lines of `peers` sections), keys, the counters entries store with HAProxy's
//! rate semantics, one concurrent table shared by the threads of a worker, and the
//! runtime API's rendering (`show table`, `clear table`, `set table`).
//!
//! ```
//! use sluice_stick::{DataType, Key, Table, TableDef, KeyType, Tracker};
//! use std::sync::Arc;
//!
//! let mut def = TableDef::new("web", KeyType::Ip, 1000);
//! def.set_store("conn_cur,http_req_rate(10s)").unwrap();
//! let table = Arc::new(Table::new(def));
//! let key = KeyType::Ip.parse("192.0.2.1").unwrap();
//! let tracker = Tracker::start(&table, &key, 1_000).unwrap();
//! table.add_each(tracker.entry(), &[DataType::HttpReqRate], 1, 1_000);
//! assert_eq!(table.read(tracker.entry(), DataType::ConnCur, 0, 1_000), Some(1));
//! drop(tracker); // the connection ended
//! assert_eq!(table.read(table.lookup(&key, 1_000).unwrap().as_ref(), DataType::ConnCur, 0, 1_000), Some(0));
//! ```
//!
//! Tables that name a `peers` section queue their local changes
//! ([`Table::take_local_updates`]) for the peers protocol (`sluice-proxy`'s `peers`), which
//! stores what peers send with [`Table::learn`].

#![deny(missing_docs)]

pub mod data;
pub mod def;
pub mod freq;
pub mod key;
pub mod show;
pub mod table;

pub use data::{DataType, Stored};
pub use def::{SrvKey, TableDef};
pub use freq::FreqCtr;
pub use key::{Key, KeyType, Sample};
pub use table::{Entry, Table, Tracker};

use sluice_config::Diagnostics;
use sluice_model::Model;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// Milliseconds on the process's monotonic clock (never 0): the time every table
/// operation of the data plane is given. Tests pass their own instants instead.
pub fn now_ms() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    let start = START.get_or_init(Instant::now);
    start.elapsed().as_millis() as u64 + 1
}

/// The tables of one configuration, created once per worker and shared by its threads
/// (and by the rules compiled for it).
#[derive(Debug, Default)]
pub struct Tables {
    tables: Vec<Arc<Table>>,
}

impl Tables {
    /// Empty tables for every definition of `model`, and the findings about the lines.
    pub fn build(model: &Model) -> (Tables, Diagnostics) {
        let (defs, found) = def::from_model(model);
        let tables = defs.into_iter().map(|d| Arc::new(Table::new(d))).collect();
        (Tables { tables }, found)
    }

    /// Tables made from definitions (tests, tools).
    pub fn from_defs(defs: Vec<TableDef>) -> Tables {
        Tables {
            tables: defs.into_iter().map(|d| Arc::new(Table::new(d))).collect(),
        }
    }

    /// The table named `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<Table>> {
        self.tables.iter().find(|t| t.name() == name)
    }

    /// Every table, in configuration order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Table>> {
        self.tables.iter()
    }

    /// Whether there is no table.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }
}
