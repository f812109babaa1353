//! The shared table: entries by key in sharded maps, each entry behind its own lock, so
//! that worker threads touching different keys do not wait on each other.
//!
//! An entry is refreshed when touched; it expires `expire` after its last touch unless a
//! tracker holds it. When the table is full, the expired entries go first, then the
//! least recently touched one that no tracker holds (`nopurge`: new keys are refused).

use crate::data::{DataType, Slot, Stored};
use crate::def::TableDef;
use crate::key::Key;
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

/// Shards per table: enough for the threads of one worker to rarely meet.
const SHARDS: usize = 16;

/// One shard: its entries by key.
type Shard = HashMap<Key, Arc<Entry>>;

/// One entry of a table.
#[derive(Debug)]
pub struct Entry {
    key: Key,
    /// Trackers holding it (`use=` in `show table`).
    refs: AtomicU32,
    /// Last touch, in [`crate::now_ms`] milliseconds.
    touched: AtomicU64,
    /// Queued for the peers (see [`Table::take_local_updates`]).
    queued: AtomicBool,
    data: Mutex<Vec<Slot>>,
}

impl Entry {
    /// Its key.
    pub fn key(&self) -> &Key {
        &self.key
    }

    /// How many trackers hold it.
    pub fn refs(&self) -> u32 {
        self.refs.load(Ordering::Relaxed)
    }

    fn touch(&self, now: u64) {
        self.touched.fetch_max(now, Ordering::Relaxed);
    }

    fn data(&self) -> MutexGuard<'_, Vec<Slot>> {
        // A panic while holding the lock leaves counters, not invariants: keep going.
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A stick table shared by every thread of a worker.
#[derive(Debug)]
pub struct Table {
    def: TableDef,
    shards: Box<[Mutex<Shard>]>,
    hasher: RandomState,
    used: AtomicUsize,
    /// Local changes waiting to be pushed to peers (tables naming `peers` only).
    updates: Option<LocalUpdates>,
}

/// The keys of entries changed locally since the peers last took them, and who to wake.
#[derive(Default)]
struct LocalUpdates {
    keys: Mutex<Vec<Key>>,
    wake: OnceLock<Box<dyn Fn() + Send + Sync>>,
}

impl std::fmt::Debug for LocalUpdates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalUpdates").finish_non_exhaustive()
    }
}

impl Table {
    /// An empty table for `def`.
    pub fn new(def: TableDef) -> Table {
        let updates = def.peers.is_some().then(LocalUpdates::default);
        Table {
            def,
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
            used: AtomicUsize::new(0),
            updates,
        }
    }

    /// Remembers that `e` changed here, for the peers; wakes whoever takes the updates.
    fn changed(&self, e: &Entry) {
        let Some(updates) = &self.updates else {
            return;
        };
        if e.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        updates
            .keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(e.key.clone());
        if let Some(wake) = updates.wake.get() {
            wake();
        }
    }

    /// Sets what is called when an entry changes locally (the peers' pusher); the first
    /// call wins. Only tables that name `peers` queue their changes.
    pub fn on_local_update(&self, wake: impl Fn() + Send + Sync + 'static) {
        if let Some(updates) = &self.updates {
            let _ = updates.wake.set(Box::new(wake));
        }
    }

    /// The entries changed locally since the last call (each once), still in the table.
    pub fn take_local_updates(&self) -> Vec<Arc<Entry>> {
        let Some(updates) = &self.updates else {
            return Vec::new();
        };
        let keys = std::mem::take(&mut *updates.keys.lock().unwrap_or_else(|e| e.into_inner()));
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(e) = self.shard(&key).get(&key).cloned() {
                // Cleared before the data is read: a later change queues it again.
                e.queued.store(false, Ordering::Release);
                out.push(e);
            }
        }
        out
    }

    /// A copy of `e`'s data, in the order of the definition's `stored`.
    pub fn snapshot(&self, e: &Entry) -> Vec<Slot> {
        e.data().clone()
    }

    /// Stores what a peer sent for `key`: creates the entry when missing (`None` when the
    /// table is full), lets `apply` write its data, and refreshes it (`expire_in`: the
    /// milliseconds left the peer gave, else the table's `expire`). Not queued for the
    /// peers again.
    pub fn learn(
        &self,
        key: &Key,
        now: u64,
        expire_in: Option<u64>,
        apply: impl FnOnce(&mut [Slot]),
    ) -> Option<Arc<Entry>> {
        let e = self.find_or_create(key, now)?;
        apply(&mut e.data());
        let touched = match (self.def.expire, expire_in) {
            (Some(exp), Some(left)) if left < exp => now.saturating_sub(exp - left),
            _ => now,
        };
        e.touched.store(touched.max(1), Ordering::Relaxed);
        Some(e)
    }

    /// Its definition.
    pub fn def(&self) -> &TableDef {
        &self.def
    }

    /// Its name (`be`, or `peers/name` for a peers section's table).
    pub fn name(&self) -> &str {
        &self.def.name
    }

    /// Entries in it (expired ones included until purged).
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Free room (`table_avl`).
    pub fn available(&self) -> usize {
        self.def.size.saturating_sub(self.used())
    }

    fn shard(&self, key: &Key) -> MutexGuard<'_, Shard> {
        let i = (self.hasher.hash_one(key) as usize) % self.shards.len();
        self.shards[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    fn expired(&self, e: &Entry, now: u64) -> bool {
        match self.def.expire {
            Some(exp) => e.refs() == 0 && now >= e.touched.load(Ordering::Relaxed) + exp,
            None => false,
        }
    }

    /// Milliseconds before `e` expires (0 without `expire`), as `show table` prints it.
    pub fn remaining(&self, e: &Entry, now: u64) -> u64 {
        match self.def.expire {
            Some(exp) => (e.touched.load(Ordering::Relaxed) + exp).saturating_sub(now),
            None => 0,
        }
    }

    /// Milliseconds since `e` was last touched (`table_idle`).
    pub fn idle(&self, e: &Entry, now: u64) -> u64 {
        now.saturating_sub(e.touched.load(Ordering::Relaxed))
    }

    /// The live entry of `key`, refreshed; `None` when there is none.
    pub fn lookup(&self, key: &Key, now: u64) -> Option<Arc<Entry>> {
        let mut shard = self.shard(key);
        let e = shard.get(key)?;
        if self.expired(e, now) {
            shard.remove(key);
            self.used.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        Some(e.clone())
    }

    /// The entry of `key`, created when missing; `None` when the table is full and no
    /// entry can make room.
    pub fn get_or_create(&self, key: &Key, now: u64) -> Option<Arc<Entry>> {
        let e = self.find_or_create(key, now)?;
        self.changed(&e);
        Some(e)
    }

    fn find_or_create(&self, key: &Key, now: u64) -> Option<Arc<Entry>> {
        if let Some(e) = self.lookup(key, now) {
            e.touch(now);
            return Some(e);
        }
        if self.used() >= self.def.size && !self.make_room(now) {
            return None;
        }
        let mut shard = self.shard(key);
        // Another thread may have created it meanwhile.
        if let Some(e) = shard.get(key) {
            e.touch(now);
            return Some(e.clone());
        }
        let e = Arc::new(Entry {
            key: key.clone(),
            refs: AtomicU32::new(0),
            touched: AtomicU64::new(now),
            queued: AtomicBool::new(false),
            data: Mutex::new(self.def.stored.iter().map(Slot::new).collect()),
        });
        shard.insert(key.clone(), e.clone());
        self.used.fetch_add(1, Ordering::Relaxed);
        Some(e)
    }

    /// Removes expired entries.
    pub fn purge(&self, now: u64) {
        for shard in self.shards.iter() {
            let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
            let before = shard.len();
            shard.retain(|_, e| !self.expired(e, now));
            self.used.fetch_sub(before - shard.len(), Ordering::Relaxed);
        }
    }

    /// Frees one place: expired entries first, then the least recently touched entry no
    /// tracker holds (never with `nopurge`).
    fn make_room(&self, now: u64) -> bool {
        self.purge(now);
        if self.used() < self.def.size {
            return true;
        }
        if self.def.nopurge {
            return false;
        }
        let mut oldest: Option<(u64, usize, Key)> = None;
        for (i, shard) in self.shards.iter().enumerate() {
            let shard = shard.lock().unwrap_or_else(|e| e.into_inner());
            for (k, e) in shard.iter() {
                let t = e.touched.load(Ordering::Relaxed);
                if e.refs() == 0 && oldest.as_ref().map_or(true, |(o, _, _)| t < *o) {
                    oldest = Some((t, i, k.clone()));
                }
            }
        }
        let Some((_, i, key)) = oldest else {
            return false;
        };
        let mut shard = self.shards[i].lock().unwrap_or_else(|e| e.into_inner());
        match shard.get(&key) {
            Some(e) if e.refs() == 0 => {
                shard.remove(&key);
                self.used.fetch_sub(1, Ordering::Relaxed);
                true
            }
            _ => false,
        }
    }

    /// Every live entry, sorted by key (a stable order for `show table`).
    pub fn entries(&self, now: u64) -> Vec<Arc<Entry>> {
        self.purge(now);
        let mut all: Vec<Arc<Entry>> = self
            .shards
            .iter()
            .flat_map(|s| {
                let s = s.lock().unwrap_or_else(|e| e.into_inner());
                s.values().cloned().collect::<Vec<_>>()
            })
            .collect();
        all.sort_by(|a, b| a.key.cmp(&b.key));
        all
    }

    /// Removes the entry of `key` unless a tracker holds it; whether it was removed.
    pub fn remove(&self, key: &Key) -> bool {
        let mut shard = self.shard(key);
        match shard.get(key) {
            Some(e) if e.refs() == 0 => {
                shard.remove(key);
                self.used.fetch_sub(1, Ordering::Relaxed);
                true
            }
            _ => false,
        }
    }

    /// Where `kind` is in the entries' data, if the table stores it.
    pub fn stored(&self, kind: DataType) -> Option<(usize, &Stored)> {
        self.def.position(kind).map(|i| (i, &self.def.stored[i]))
    }

    /// Whether the table stores `kind`.
    pub fn stores(&self, kind: DataType) -> bool {
        self.def.position(kind).is_some()
    }

    /// Element `idx` of `kind` in `e` at `now`; `None` when the table does not store it.
    pub fn read(&self, e: &Entry, kind: DataType, idx: usize, now: u64) -> Option<i64> {
        let (i, st) = self.stored(kind)?;
        e.data().get(i)?.read(st, idx, now)
    }

    /// The name a `server_key` holds.
    pub fn read_name(&self, e: &Entry) -> Option<Box<str>> {
        let (i, _) = self.stored(DataType::ServerKey)?;
        match e.data().get(i)? {
            Slot::Name(n) => n.clone(),
            _ => None,
        }
    }

    /// Adds `inc` to element `idx` of `kind` in `e`, if stored; refreshes `e`.
    pub fn add(&self, e: &Entry, kind: DataType, idx: usize, inc: u64, now: u64) {
        if let Some((i, st)) = self.stored(kind) {
            if let Some(slot) = e.data().get_mut(i) {
                slot.add(st, idx, inc, now);
            }
        }
        e.touch(now);
        self.changed(e);
    }

    /// Updates several data types of `e` under one lock: a counter and its rate.
    pub fn add_each(&self, e: &Entry, kinds: &[DataType], inc: u64, now: u64) {
        {
            let mut data = e.data();
            for kind in kinds {
                if let Some((i, st)) = self.stored(*kind) {
                    if let Some(slot) = data.get_mut(i) {
                        slot.add(st, 0, inc, now);
                    }
                }
            }
        }
        e.touch(now);
        self.changed(e);
    }

    /// Sets element `idx` of `kind` in `e`, if stored; refreshes `e`.
    pub fn set(&self, e: &Entry, kind: DataType, idx: usize, value: i64, now: u64) {
        if let Some((i, st)) = self.stored(kind) {
            if let Some(slot) = e.data().get_mut(i) {
                slot.set(st, idx, value, now);
            }
        }
        e.touch(now);
        self.changed(e);
    }

    /// Sets `server_key`, if stored.
    pub fn set_name(&self, e: &Entry, name: &str, now: u64) {
        if let Some((i, _)) = self.stored(DataType::ServerKey) {
            if let Some(slot) = e.data().get_mut(i) {
                *slot = Slot::Name(Some(name.into()));
            }
        }
        e.touch(now);
        self.changed(e);
    }

    /// Appends `e`'s data as `show table` prints it.
    pub fn render_data(&self, e: &Entry, now: u64, out: &mut String) {
        let data = e.data();
        for (slot, st) in data.iter().zip(&self.def.stored) {
            slot.render(st, now, out);
        }
    }
}

/// An entry held by a tracker (`track-sc0 src`): it neither expires nor is evicted while
/// held. Starting to track counts a connection (`conn_cnt`, `conn_rate`, `conn_cur`); the
/// last clone dropped ends it (`conn_cur` down, the entry refreshed), so a connection that
/// ends in any way gives its place back.
#[derive(Clone, Debug)]
pub struct Tracker(Arc<Held>);

#[derive(Debug)]
struct Held {
    table: Arc<Table>,
    entry: Arc<Entry>,
}

impl Tracker {
    /// Tracks `key` in `table` at `now`; `None` when the table is full.
    pub fn start(table: &Arc<Table>, key: &Key, now: u64) -> Option<Tracker> {
        let entry = table.get_or_create(key, now)?;
        entry.refs.fetch_add(1, Ordering::Relaxed);
        table.add_each(
            &entry,
            &[DataType::ConnCur, DataType::ConnCnt, DataType::ConnRate],
            1,
            now,
        );
        Some(Tracker(Arc::new(Held {
            table: table.clone(),
            entry,
        })))
    }

    /// The table.
    pub fn table(&self) -> &Arc<Table> {
        &self.0.table
    }

    /// The entry.
    pub fn entry(&self) -> &Arc<Entry> {
        &self.0.entry
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some((i, _)) = self.table.stored(DataType::ConnCur) {
            if let Some(slot) = self.entry.data().get_mut(i) {
                slot.decrement(0);
            }
        }
        self.entry.touch(crate::now_ms());
        self.entry.refs.fetch_sub(1, Ordering::Relaxed);
        self.table.changed(&self.entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::def::TableDef;
    use crate::key::KeyType;

    fn table(size: usize, expire: Option<u64>, store: &str) -> Arc<Table> {
        let mut def = TableDef::new("t", KeyType::Integer, size);
        def.expire = expire;
        def.set_store(store).expect("store");
        Arc::new(Table::new(def))
    }

    #[test]
    fn entries_expire_after_their_last_touch() {
        let t = table(10, Some(1000), "gpc0");
        let k = Key::Int(1);
        t.get_or_create(&k, 100).expect("created");
        assert!(t.lookup(&k, 1099).is_some());
        assert!(t.lookup(&k, 1100).is_none());
        assert_eq!(t.used(), 0);
    }

    #[test]
    fn a_full_table_evicts_the_oldest_unused_entry() {
        let t = table(2, None, "gpc0");
        let held = Tracker::start(&t, &Key::Int(1), 10).expect("tracked");
        t.get_or_create(&Key::Int(2), 20).expect("created");
        t.get_or_create(&Key::Int(3), 30).expect("room made");
        assert!(
            t.lookup(&Key::Int(1), 40).is_some(),
            "a tracked entry stays"
        );
        assert!(
            t.lookup(&Key::Int(2), 40).is_none(),
            "the oldest unused one went"
        );
        assert_eq!(t.used(), 2);
        drop(held);
    }

    #[test]
    fn nopurge_refuses_new_keys_when_full() {
        let t = table(1, None, "gpc0");
        let mut def = t.def().clone();
        def.nopurge = true;
        let t = Table::new(def);
        t.get_or_create(&Key::Int(1), 0).expect("created");
        assert!(t.get_or_create(&Key::Int(2), 0).is_none());
    }

    #[test]
    fn shared_tables_queue_local_changes_but_not_learned_ones() {
        let mut def = TableDef::new("t", KeyType::Integer, 10);
        def.set_store("gpc0,conn_cur").expect("store");
        def.peers = Some("p".into());
        let t = Arc::new(Table::new(def));
        let woken = Arc::new(AtomicUsize::new(0));
        let w = woken.clone();
        t.on_local_update(move || {
            w.fetch_add(1, Ordering::Relaxed);
        });
        let e = t.get_or_create(&Key::Int(1), 10).expect("created");
        t.add(&e, DataType::Gpc0, 0, 1, 10);
        let taken = t.take_local_updates();
        assert_eq!(taken.len(), 1, "one entry, queued once");
        assert_eq!(woken.load(Ordering::Relaxed), 1);
        assert!(t.take_local_updates().is_empty());
        t.learn(&Key::Int(2), 20, None, |data| {
            data[0] = Slot::Counters(vec![5]);
        })
        .expect("learned");
        assert!(
            t.take_local_updates().is_empty(),
            "learned entries are not pushed back"
        );
        let e2 = t.lookup(&Key::Int(2), 20).expect("there");
        assert_eq!(t.read(&e2, DataType::Gpc0, 0, 20), Some(5));
        let tracker = Tracker::start(&t, &Key::Int(1), 30).expect("tracked");
        assert_eq!(t.take_local_updates().len(), 1);
        drop(tracker);
        assert_eq!(
            t.take_local_updates().len(),
            1,
            "the end of a tracker is a change"
        );
    }

    #[test]
    fn trackers_count_connections_and_hold_entries() {
        let t = table(10, Some(10), "conn_cur,conn_cnt,conn_rate(1s)");
        let k = Key::Int(7);
        let a = Tracker::start(&t, &k, 1000).expect("tracked");
        let b = Tracker::start(&t, &k, 1000).expect("tracked");
        let e = a.entry().clone();
        assert_eq!(t.read(&e, DataType::ConnCur, 0, 1000), Some(2));
        assert_eq!(t.read(&e, DataType::ConnCnt, 0, 1000), Some(2));
        assert_eq!(t.read(&e, DataType::ConnRate, 0, 1000), Some(2));
        assert_eq!(e.refs(), 2);
        // Held entries do not expire.
        assert!(t.lookup(&k, 1_000_000).is_some());
        let a2 = a.clone();
        drop(a);
        assert_eq!(t.read(&e, DataType::ConnCur, 0, 1000), Some(2));
        drop(a2);
        drop(b);
        assert_eq!(t.read(&e, DataType::ConnCur, 0, 1000), Some(0));
        assert_eq!(e.refs(), 0);
        assert_eq!(t.read(&e, DataType::Gpc0, 0, 1000), None);
    }
}
