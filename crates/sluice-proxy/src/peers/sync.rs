//! A `peers` section at run time: its shared tables, the sessions with its remote peers,
//! and the pusher that hands every local change of a table to every session.
//!
//! Changes learned from a peer are stored without being queued (see
//! [`sluice_stick::Table::learn`]), so they never travel further: no loops.

use sluice_stick::{Entry, Table};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, Notify};

/// A remote peer of the section.
#[derive(Clone, Debug)]
pub struct Remote {
    /// Its name (`peer <name>` / `server <name>`).
    pub name: String,
    /// Where to connect to it.
    pub address: SocketAddr,
}

/// A table the section synchronises.
#[derive(Debug)]
pub struct Shared {
    /// The table.
    pub table: Arc<Table>,
    /// The name peers know it by: the proxy's, or the name in the `peers` section.
    pub name: String,
    /// The last update id given to a local change.
    pub last_update: AtomicU32,
}

/// What the pusher hands to a session.
#[derive(Clone, Debug)]
pub enum Push {
    /// An entry of table `table` changed locally: send it as it is when sent.
    Update {
        /// Index in [`Section::tables`].
        table: usize,
        /// The entry.
        entry: Arc<Entry>,
        /// Its update id.
        id: u32,
    },
}

/// A live session, as the pusher sees it.
struct Session {
    id: u64,
    tx: mpsc::UnboundedSender<Push>,
}

/// One `peers` section of the running worker.
pub struct Section {
    /// The section's name.
    pub name: String,
    /// The local peer's name.
    pub local: String,
    /// The other peers.
    pub remotes: Vec<Remote>,
    /// The tables that name this section.
    pub tables: Vec<Shared>,
    sessions: Mutex<Vec<Session>>,
    next_session: AtomicU64,
    /// Established sessions per remote peer (index in `remotes`).
    established: Vec<AtomicU32>,
    /// Whether a full resynchronisation was already asked of a peer.
    resync_asked: AtomicBool,
    wake: Arc<Notify>,
}

impl std::fmt::Debug for Section {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Section")
            .field("name", &self.name)
            .field("local", &self.local)
            .field("remotes", &self.remotes)
            .finish_non_exhaustive()
    }
}

impl Section {
    /// A section with its peers and tables; hooks the tables' change notifications.
    pub fn new(
        name: String,
        local: String,
        remotes: Vec<Remote>,
        tables: Vec<(Arc<Table>, String)>,
    ) -> Arc<Section> {
        let wake = Arc::new(Notify::new());
        for (table, _) in &tables {
            let wake = wake.clone();
            table.on_local_update(move || wake.notify_one());
        }
        let established = remotes.iter().map(|_| AtomicU32::new(0)).collect();
        Arc::new(Section {
            name,
            local,
            remotes,
            tables: tables
                .into_iter()
                .map(|(table, name)| Shared {
                    table,
                    name,
                    last_update: AtomicU32::new(0),
                })
                .collect(),
            sessions: Mutex::new(Vec::new()),
            next_session: AtomicU64::new(1),
            established,
            resync_asked: AtomicBool::new(false),
            wake,
        })
    }

    /// The remote peer named `name`.
    pub fn remote(&self, name: &str) -> Option<usize> {
        self.remotes.iter().position(|r| r.name == name)
    }

    /// Registers an established session with remote `peer`: it receives every later local
    /// change until [`Section::leave`].
    pub fn join(&self, peer: usize) -> (u64, mpsc::UnboundedReceiver<Push>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let id = self.next_session.fetch_add(1, Ordering::Relaxed);
        self.lock_sessions().push(Session { id, tx });
        if let Some(n) = self.established.get(peer) {
            n.fetch_add(1, Ordering::Relaxed);
        }
        (id, rx)
    }

    /// Forgets session `id` with remote `peer`.
    pub fn leave(&self, id: u64, peer: usize) {
        self.lock_sessions().retain(|s| s.id != id);
        if let Some(n) = self.established.get(peer) {
            n.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Whether a session with remote `peer` is established (either direction).
    pub fn is_connected(&self, peer: usize) -> bool {
        self.established
            .get(peer)
            .is_some_and(|n| n.load(Ordering::Relaxed) > 0)
    }

    /// True the first time only: whether this session should ask for a full resync.
    pub fn claim_resync(&self) -> bool {
        !self.resync_asked.swap(true, Ordering::AcqRel)
    }

    /// The update id the next local change of table `t` gets.
    pub fn next_update_id(&self, t: usize) -> u32 {
        self.tables.get(t).map_or(0, |s| {
            s.last_update
                .fetch_add(1, Ordering::Relaxed)
                .wrapping_add(1)
        })
    }

    fn lock_sessions(&self) -> std::sync::MutexGuard<'_, Vec<Session>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands the local changes to the sessions whenever a table reports some. Runs until
    /// the task is dropped.
    pub async fn run_pusher(self: Arc<Self>) {
        loop {
            self.wake.notified().await;
            self.push_pending();
        }
    }

    /// Takes every queued local change and hands it to every session.
    pub fn push_pending(&self) {
        for (t, shared) in self.tables.iter().enumerate() {
            let changed = shared.table.take_local_updates();
            if changed.is_empty() {
                continue;
            }
            let mut sessions = self.lock_sessions();
            for entry in changed {
                let id = self.next_update_id(t);
                let push = Push::Update {
                    table: t,
                    entry,
                    id,
                };
                // A session whose receiver is gone is leaving: drop it here already.
                sessions.retain(|s| s.tx.send(push.clone()).is_ok());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_stick::{DataType, Key, KeyType, TableDef};

    #[test]
    fn local_changes_reach_every_session_once() {
        let mut def = TableDef::new("t", KeyType::Integer, 10);
        def.set_store("gpc0").unwrap();
        def.peers = Some("p".into());
        let table = Arc::new(Table::new(def));
        let remotes = vec![
            Remote {
                name: "B".into(),
                address: "127.0.0.1:1".parse().unwrap(),
            },
            Remote {
                name: "C".into(),
                address: "127.0.0.1:2".parse().unwrap(),
            },
        ];
        let section = Section::new(
            "p".into(),
            "A".into(),
            remotes,
            vec![(table.clone(), "t".into())],
        );
        let (_, mut b) = section.join(0);
        let (c_id, mut c) = section.join(1);
        assert!(section.is_connected(0) && section.is_connected(1));
        let e = table.get_or_create(&Key::Int(1), 1).unwrap();
        table.add(&e, DataType::Gpc0, 0, 1, 1);
        section.push_pending();
        for rx in [&mut b, &mut c] {
            let Ok(Push::Update {
                table: 0, id: 1, ..
            }) = rx.try_recv()
            else {
                panic!("one update");
            };
            assert!(rx.try_recv().is_err());
        }
        section.leave(c_id, 1);
        assert!(!section.is_connected(1));
        assert!(section.claim_resync());
        assert!(!section.claim_resync());
    }
}
