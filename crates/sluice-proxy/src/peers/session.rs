//! One connection with a remote peer: the text handshake (either side), then the binary
//! messages until either side closes or the peer falls silent.
//!
//! Once established, a session first sends every entry of the shared tables (so a peer that
//! connects learns what this process holds), asks once per section for the same in return,
//! then sends each local change the pusher hands it, a heartbeat every 3 seconds, and
//! acknowledges what it received.

use super::sync::{Push, Section};
use super::wire::{self, class, control, status, table, UpdateHeader, Value, WireError};
use sluice_stick::data::Slot;
use sluice_stick::{DataType, Key};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{timeout, Instant};

/// How long a handshake may take (HAProxy's peers use 5 seconds for their timeouts).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// A heartbeat goes out this often.
pub const HEARTBEAT: Duration = Duration::from_secs(3);
/// A session that received nothing for this long is closed.
pub const SILENCE: Duration = Duration::from_secs(5);
/// The longest handshake line accepted.
const MAX_LINE: usize = 1024;
/// Entries of the receiver's dictionary cache (`server_key` values).
const DICT_ENTRIES: usize = 128;

/// Reads one handshake line (without its `\r\n`), keeping what follows in `buf`.
async fn read_line(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<String> {
    loop {
        if let Some(end) = buf.iter().position(|&b| b == b'\n') {
            let mut line: Vec<u8> = buf.drain(..=end).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Some(String::from_utf8_lossy(&line).into_owned());
        }
        if buf.len() > MAX_LINE {
            return None;
        }
        match stream.read_buf(buf).await {
            Ok(0) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// What a successful handshake leaves: the bytes already read past it and the minor
/// version both sides speak.
pub struct Handshake {
    /// Bytes received after the handshake.
    pub leftover: Vec<u8>,
    /// The protocol's minor version in use (0 has no timed updates).
    pub minor: u32,
}

/// The connecting side: sends the hello, reads the status.
pub async fn handshake_out(
    section: &Section,
    peer: usize,
    stream: &mut TcpStream,
) -> Result<Handshake, String> {
    let remote = section
        .remotes
        .get(peer)
        .ok_or_else(|| "unknown peer".to_string())?;
    let hello = format!(
        "{} {}.{}\n{}\n{} {} 1\n",
        wire::PROTOCOL,
        wire::VERSION_MAJOR,
        wire::VERSION_MINOR,
        remote.name,
        section.local,
        std::process::id()
    );
    let exchange = async {
        stream
            .write_all(hello.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut buf = Vec::new();
        let line = read_line(stream, &mut buf)
            .await
            .ok_or_else(|| "connection closed during the handshake".to_string())?;
        match line.trim().parse::<u16>() {
            Ok(status::SUCCESS) => Ok(Handshake {
                leftover: buf,
                minor: wire::VERSION_MINOR,
            }),
            Ok(code) => Err(format!("peer answered status {code}")),
            Err(_) => Err(format!("peer answered '{line}'")),
        }
    };
    timeout(HANDSHAKE_TIMEOUT, exchange)
        .await
        .map_err(|_| "handshake timed out".to_string())?
}

/// The accepting side: reads the hello, answers a status. Returns the remote peer.
pub async fn handshake_in(
    section: &Section,
    stream: &mut TcpStream,
) -> Result<(usize, Handshake), u16> {
    let exchange = async {
        let mut buf = Vec::new();
        let first = read_line(stream, &mut buf)
            .await
            .ok_or(status::BAD_PROTOCOL)?;
        let version = first
            .strip_prefix(wire::PROTOCOL)
            .and_then(|rest| rest.strip_prefix(' '))
            .ok_or(status::BAD_PROTOCOL)?;
        let (major, minor) = version
            .split_once('.')
            .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)))
            .ok_or(status::BAD_VERSION)?;
        if major != wire::VERSION_MAJOR || minor > wire::VERSION_MINOR {
            return Err(status::BAD_VERSION);
        }
        let host = read_line(stream, &mut buf)
            .await
            .ok_or(status::BAD_PROTOCOL)?;
        if host != section.local {
            return Err(status::BAD_HOST);
        }
        let last = read_line(stream, &mut buf)
            .await
            .ok_or(status::BAD_PROTOCOL)?;
        let (name, _) = last.split_once(' ').ok_or(status::BAD_PROTOCOL)?;
        let peer = section.remote(name).ok_or(status::UNKNOWN_PEER)?;
        Ok((
            peer,
            Handshake {
                leftover: buf,
                minor,
            },
        ))
    };
    let outcome = match timeout(HANDSHAKE_TIMEOUT, exchange).await {
        Ok(r) => r,
        Err(_) => return Err(status::BAD_PROTOCOL),
    };
    let code = match &outcome {
        Ok(_) => status::SUCCESS,
        Err(code) => *code,
    };
    // The status line ends the handshake either way.
    let _ = timeout(
        HANDSHAKE_TIMEOUT,
        stream.write_all(format!("{code}\n").as_bytes()),
    )
    .await;
    outcome
}

/// Why a session ended.
#[derive(Debug)]
pub enum End {
    /// The peer closed, or a read or write failed.
    Closed,
    /// Nothing received for [`SILENCE`].
    Silent,
    /// The peer sent an error message.
    PeerError(u8),
    /// The peer sent something malformed.
    Protocol(WireError),
    /// The pusher stopped (the worker is stopping).
    Stopped,
}

/// What the session knows about a table the peer defined.
struct RemoteTable {
    /// Index in [`Section::tables`].
    local: usize,
    /// The data types its updates carry.
    carried: Vec<(DataType, usize)>,
}

/// The session's state beyond the socket.
struct State {
    section: Arc<Section>,
    /// Timed updates allowed (version 2.1).
    timed: bool,
    /// The local table the last definition sent was about.
    current: Option<usize>,
    next_dict_id: u64,
    /// The peer's tables by its ids, and the one its updates are about.
    remote: HashMap<u64, RemoteTable>,
    remote_current: Option<u64>,
    /// The last update received per peer table id, and the last acknowledged.
    last_get: HashMap<u64, u32>,
    last_acked: HashMap<u64, u32>,
    dict: Vec<Option<Box<str>>>,
}

impl State {
    fn new(section: Arc<Section>, minor: u32) -> State {
        State {
            section,
            timed: minor >= 1,
            current: None,
            next_dict_id: 0,
            remote: HashMap::new(),
            remote_current: None,
            last_get: HashMap::new(),
            last_acked: HashMap::new(),
            dict: vec![None; DICT_ENTRIES],
        }
    }

    /// Appends the definition of local table `t` unless the updates already are about it.
    fn switch_to(&mut self, t: usize, out: &mut Vec<u8>) {
        if self.current == Some(t) {
            return;
        }
        if let Some(shared) = self.section.tables.get(t) {
            let payload = wire::encode_definition(t as u64 + 1, &shared.name, shared.table.def());
            wire::put_message(out, table::DEFINE, &payload);
            self.current = Some(t);
        }
    }

    fn put_update(
        &mut self,
        t: usize,
        entry: &sluice_stick::Entry,
        id: u32,
        teaching: bool,
        out: &mut Vec<u8>,
    ) {
        let Some(shared) = self.section.tables.get(t) else {
            return;
        };
        let table = shared.table.clone();
        self.switch_to(t, out);
        let now = sluice_stick::now_ms();
        // Lessons carry the time left, so that the learner expires entries with us.
        let expire_in = (teaching && self.timed && table.def().expire.is_some())
            .then(|| u32::try_from(table.remaining(entry, now)).unwrap_or(u32::MAX));
        let header = UpdateHeader {
            id: Some(id),
            expire_in,
        };
        let kind = if expire_in.is_some() {
            table::UPDATE_TIMED
        } else {
            table::UPDATE
        };
        let slots = table.snapshot(entry);
        let payload = wire::encode_update(
            table.def(),
            header,
            entry.key(),
            &slots,
            now,
            &mut self.next_dict_id,
        );
        wire::put_message(out, kind, &payload);
    }

    /// Every entry of every shared table.
    fn teach_all(&mut self, out: &mut Vec<u8>) {
        let now = sluice_stick::now_ms();
        for t in 0..self.section.tables.len() {
            let (entries, id) = {
                let shared = &self.section.tables[t];
                (
                    shared.table.entries(now),
                    shared
                        .last_update
                        .load(std::sync::atomic::Ordering::Relaxed),
                )
            };
            for e in entries {
                self.put_update(t, &e, id, true, out);
            }
        }
    }

    fn push(&mut self, push: Push, out: &mut Vec<u8>) {
        match push {
            Push::Update { table, entry, id } => self.put_update(table, &entry, id, false, out),
        }
    }

    /// Handles one received message.
    fn receive(&mut self, frame: wire::Frame<'_>, out: &mut Vec<u8>) -> Result<(), End> {
        match frame.class {
            class::CONTROL => match frame.kind {
                // Everything was sent when the session started, and changes follow.
                control::RESYNC_REQUEST => {
                    wire::put_short(out, class::CONTROL, control::RESYNC_FINISHED)
                }
                control::RESYNC_FINISHED | control::RESYNC_PARTIAL => {
                    wire::put_short(out, class::CONTROL, control::RESYNC_CONFIRM)
                }
                _ => {}
            },
            class::ERROR => return Err(End::PeerError(frame.kind)),
            class::STICK_TABLE => self.receive_table(frame, out)?,
            class::RESERVED => return Err(End::Protocol(WireError::Invalid("message class"))),
            _ => {}
        }
        Ok(())
    }

    fn receive_table(&mut self, frame: wire::Frame<'_>, _out: &mut Vec<u8>) -> Result<(), End> {
        match frame.kind {
            table::DEFINE => {
                self.remote_current = None;
                // A definition Sluice cannot use (unknown table, other key, unknown data
                // type) only means its updates are skipped.
                let Ok(def) = wire::decode_definition(frame.payload) else {
                    return Ok(());
                };
                self.remote.remove(&def.id);
                let local = self.section.tables.iter().position(|s| {
                    s.name == def.name
                        && wire::key_fits(s.table.def().key, def.key_type, def.key_size)
                });
                if let (Some(local), Ok(carried)) = (local, wire::carried(&def)) {
                    self.remote.insert(def.id, RemoteTable { local, carried });
                    self.remote_current = Some(def.id);
                }
            }
            table::SWITCH => {
                let id = wire::decode_switch(frame.payload).map_err(End::Protocol)?;
                self.remote_current = self.remote.contains_key(&id).then_some(id);
            }
            table::UPDATE | table::INC_UPDATE | table::UPDATE_TIMED | table::INC_UPDATE_TIMED => {
                let Some(rid) = self.remote_current else {
                    return Ok(());
                };
                let Some(rt) = self.remote.get(&rid) else {
                    return Ok(());
                };
                let with_id = matches!(frame.kind, table::UPDATE | table::UPDATE_TIMED);
                let timed = matches!(frame.kind, table::UPDATE_TIMED | table::INC_UPDATE_TIMED);
                let Some(shared) = self.section.tables.get(rt.local) else {
                    return Ok(());
                };
                let table = shared.table.clone();
                let update = wire::decode_update(
                    frame.payload,
                    with_id,
                    timed,
                    table.def().key,
                    &rt.carried,
                )
                .map_err(End::Protocol)?;
                let id = match update.id {
                    Some(id) => id,
                    None => self
                        .last_get
                        .get(&rid)
                        .copied()
                        .unwrap_or(0)
                        .wrapping_add(1),
                };
                self.last_get.insert(rid, id);
                self.learn(&table, update.key, update.expire_in, update.values);
            }
            // Sluice does not resume from acknowledged updates: it resends everything on
            // each connection.
            table::ACK => {}
            _ => {}
        }
        Ok(())
    }

    /// Stores an update in `table`.
    fn learn(
        &mut self,
        table: &sluice_stick::Table,
        key: Key,
        expire_in: Option<u32>,
        values: Vec<(DataType, Vec<Value>)>,
    ) {
        let now = sluice_stick::now_ms();
        let def = table.def();
        let dict = &mut self.dict;
        let _ = table.learn(
            &key,
            now,
            expire_in.map(u64::from),
            |slots: &mut [Slot]| {
                for (kind, elements) in values {
                    if wire::is_local(kind) && !def.recv_only {
                        continue;
                    }
                    let Some(i) = def.position(kind) else {
                        continue;
                    };
                    let Some(slot) = slots.get_mut(i) else {
                        continue;
                    };
                    for (idx, value) in elements.into_iter().enumerate() {
                        apply(slot, idx, value, now, dict);
                    }
                }
            },
        );
    }

    /// Acknowledges the updates received since the last acknowledgement.
    fn acknowledge(&mut self, out: &mut Vec<u8>) {
        for (rid, got) in &self.last_get {
            if self.last_acked.get(rid) != Some(got) {
                wire::put_message(out, table::ACK, &wire::encode_ack(*rid, *got));
                self.last_acked.insert(*rid, *got);
            }
        }
    }
}

/// Writes element `idx` of a received value into a local slot.
fn apply(slot: &mut Slot, idx: usize, value: Value, now: u64, dict: &mut [Option<Box<str>>]) {
    match (slot, value) {
        (Slot::Counters(v), Value::Number(n)) => {
            if let Some(c) = v.get_mut(idx) {
                // Counters are 32 or 64 bits at the sender: keep what was sent.
                *c = n;
            }
        }
        (Slot::Signed(s), Value::Number(n)) if idx == 0 => *s = i64::from(n as i32),
        (Slot::Rates(v), Value::Rate { age, curr, prev }) => {
            if let Some(r) = v.get_mut(idx) {
                *r = wire::rate_at(now, age, curr, prev);
            }
        }
        (Slot::Name(name), Value::Dict(Some((id, text)))) if idx == 0 => {
            let cached = usize::try_from(id)
                .ok()
                .and_then(|id| id.checked_sub(1))
                .and_then(|i| dict.get_mut(i));
            let value: Option<Box<str>> = match (text, cached) {
                (Some(text), Some(entry)) => {
                    *entry = Some(text.clone().into());
                    Some(text.into())
                }
                (Some(text), None) => Some(text.into()),
                (None, Some(entry)) => entry.clone(),
                (None, None) => None,
            };
            if value.is_some() {
                *name = value;
            }
        }
        _ => {}
    }
}

/// Serves an established session with remote `peer` until it ends.
pub async fn serve(
    section: Arc<Section>,
    peer: usize,
    stream: TcpStream,
    handshake: Handshake,
) -> End {
    let _ = stream.set_nodelay(true);
    let (id, mut pushes) = section.join(peer);
    let _leave = Leave {
        section: section.clone(),
        id,
        peer,
    };
    let (mut reader, writer) = stream.into_split();
    let (out_tx, out_rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let write_task = tokio::task::spawn_local(write_loop(writer, out_rx));
    let _abort = AbortOnDrop(write_task);
    let mut state = State::new(section.clone(), handshake.minor);
    let mut out = Vec::new();
    if section.claim_resync() {
        wire::put_short(&mut out, class::CONTROL, control::RESYNC_REQUEST);
    }
    state.teach_all(&mut out);
    let mut inbuf = handshake.leftover;
    let mut heartbeat = tokio::time::interval_at(Instant::now() + HEARTBEAT, HEARTBEAT);
    let mut last_rx = Instant::now();
    let mut end = None;
    // Bytes that came with the handshake are handled before reading more.
    let mut ready = !inbuf.is_empty();
    loop {
        if ready {
            ready = false;
            last_rx = Instant::now();
            if let Err(e) = receive_all(&mut state, &mut inbuf, &mut out) {
                if let End::Protocol(WireError::TooLarge(_)) = e {
                    wire::put_short(&mut out, class::ERROR, wire::error::SIZE_LIMIT);
                } else if let End::Protocol(_) = e {
                    wire::put_short(&mut out, class::ERROR, wire::error::PROTOCOL);
                }
                end = Some(e);
            }
            state.acknowledge(&mut out);
        }
        if !out.is_empty() && out_tx.send(std::mem::take(&mut out)).is_err() {
            return End::Closed;
        }
        if let Some(end) = end {
            // Let the writer flush the last message (an error) before closing.
            drop(out_tx);
            let _ = timeout(Duration::from_millis(500), async {
                while !_abort.0.is_finished() {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            })
            .await;
            return end;
        }
        tokio::select! {
            read = reader.read_buf(&mut inbuf) => match read {
                Ok(0) | Err(_) => end = Some(End::Closed),
                Ok(_) => ready = true,
            },
            push = pushes.recv() => match push {
                Some(p) => {
                    state.push(p, &mut out);
                    while let Ok(p) = pushes.try_recv() {
                        state.push(p, &mut out);
                    }
                }
                None => end = Some(End::Stopped),
            },
            _ = heartbeat.tick() => wire::put_short(&mut out, class::CONTROL, control::HEARTBEAT),
            _ = tokio::time::sleep_until(last_rx + SILENCE) => end = Some(End::Silent),
        }
    }
}

/// Handles every complete message of `inbuf`, keeping an incomplete one.
fn receive_all(state: &mut State, inbuf: &mut Vec<u8>, out: &mut Vec<u8>) -> Result<(), End> {
    let mut used = 0;
    let result = loop {
        match wire::next_frame(inbuf.get(used..).unwrap_or_default()) {
            Ok(Some((frame, n))) => {
                used += n;
                if let Err(e) = state.receive(frame, out) {
                    break Err(e);
                }
            }
            Ok(None) => break Ok(()),
            Err(e) => break Err(End::Protocol(e)),
        }
    };
    inbuf.drain(..used);
    result
}

async fn write_loop(mut writer: OwnedWriteHalf, mut rx: mpsc::UnboundedReceiver<Vec<u8>>) {
    while let Some(bytes) = rx.recv().await {
        if writer.write_all(&bytes).await.is_err() {
            return;
        }
    }
    let _ = writer.shutdown().await;
}

/// Unregisters a session from its section however it ends.
struct Leave {
    section: Arc<Section>,
    id: u64,
    peer: usize,
}

impl Drop for Leave {
    fn drop(&mut self) {
        self.section.leave(self.id, self.peer);
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peers::sync::Remote;
    use tokio::net::TcpListener;

    fn section(local: &str, remote: &str) -> Arc<Section> {
        let remotes = vec![Remote {
            name: remote.into(),
            address: "127.0.0.1:1".parse().expect("address"),
        }];
        Section::new("p".into(), local.into(), remotes, Vec::new())
    }

    async fn pair() -> (TcpStream, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().expect("address");
        let (client, server) = tokio::join!(TcpStream::connect(addr), l.accept());
        (client.expect("connect"), server.expect("accept").0)
    }

    #[tokio::test]
    async fn handshakes_name_both_peers() {
        let (mut client, mut server) = pair().await;
        let a = section("A", "B");
        let b = section("B", "A");
        let (out, inc) = tokio::join!(
            handshake_out(&a, 0, &mut client),
            handshake_in(&b, &mut server)
        );
        assert!(out.is_ok(), "{:?}", out.err());
        let (peer, hs) = inc.expect("accepted");
        assert_eq!((peer, hs.minor), (0, 1));
    }

    #[tokio::test]
    async fn a_hello_for_another_peer_gets_503() {
        let (mut client, mut server) = pair().await;
        // A believes it talks to C; the listener is B.
        let a = section("A", "C");
        let b = section("B", "A");
        let (out, inc) = tokio::join!(
            handshake_out(&a, 0, &mut client),
            handshake_in(&b, &mut server)
        );
        assert_eq!(inc.err(), Some(status::BAD_HOST));
        assert!(out.err().is_some_and(|e| e.contains("503")));
    }

    #[tokio::test]
    async fn an_unknown_peer_gets_504_and_garbage_501() {
        let (mut client, mut server) = pair().await;
        let z = section("Z", "B");
        let b = section("B", "A");
        let (_, inc) = tokio::join!(
            handshake_out(&z, 0, &mut client),
            handshake_in(&b, &mut server)
        );
        assert_eq!(inc.err(), Some(status::UNKNOWN_PEER));
        let (mut client, mut server) = pair().await;
        let (_, inc) = tokio::join!(
            client.write_all(b"GET / HTTP/1.1\r\n"),
            handshake_in(&b, &mut server)
        );
        assert_eq!(inc.err(), Some(status::BAD_PROTOCOL));
    }
}
