//! Stick counters (`sc0`, `sc1`...): the table entries a stream tracks, and how HAProxy
//! updates their counters as the stream goes on.
//!
//! A tracker started by `tcp-request connection` or `session` rules belongs to the
//! session and lives as long as the client connection; one started by `tcp-request
//! content`, `http-request` or `http-response` rules belongs to the transaction and ends
//! with it. Both live in [`Vars`](crate::Vars), which the data plane already keeps with the
//! connection between requests; a tracker ends (`conn_cur` goes down) when dropped.

use crate::condition::{self, Condition};
use crate::message::SampleSource;
use crate::problem::Problem;
use crate::sample::{Place, SampleExpr};
use crate::Env;
use sluice_config::{Diagnostic, Diagnostics};
use sluice_model::proxy::condition as model_condition;
use sluice_model::proxy::rules::RuleSet;
use sluice_stick::{DataType, Key, Table, Tracker};
use std::sync::Arc;

#[derive(Clone, Debug)]
struct Held {
    tracker: Tracker,
    /// Started at the session level (kept between requests).
    session: bool,
}

/// The stick counters of one stream, by number.
#[derive(Clone, Debug, Default)]
pub struct StickCounters {
    slots: Vec<Option<Held>>,
    /// Keys `stick store-request` and `stick on` took from the request, stored with the
    /// server once it is known.
    pending: Vec<(Arc<Table>, Key)>,
    /// The client connection's byte counts when the transaction started.
    bytes_mark: Option<(u64, u64)>,
}

/// What a counter update is about, for the data plane's hooks.
const HTTP_REQ: [DataType; 2] = [DataType::HttpReqCnt, DataType::HttpReqRate];
const HTTP_ERR: [DataType; 2] = [DataType::HttpErrCnt, DataType::HttpErrRate];
const GLITCH: [DataType; 2] = [DataType::GlitchCnt, DataType::GlitchRate];
const HTTP_FAIL: [DataType; 2] = [DataType::HttpFailCnt, DataType::HttpFailRate];
const SESS: [DataType; 2] = [DataType::SessCnt, DataType::SessRate];

impl StickCounters {
    /// The tracker of counter `ctr`, if it tracks something.
    pub fn get(&self, ctr: usize) -> Option<&Tracker> {
        self.slots.get(ctr)?.as_ref().map(|h| &h.tracker)
    }

    /// Whether nothing is tracked (and no key waits for its server).
    pub fn is_empty(&self) -> bool {
        self.slots.iter().all(Option::is_none) && self.pending.is_empty()
    }

    /// Whether a session-level tracker is held.
    pub fn has_session(&self) -> bool {
        self.slots.iter().flatten().any(|h| h.session)
    }

    /// Tracks `tracker` as counter `ctr`.
    pub fn set(&mut self, ctr: usize, tracker: Tracker, session: bool) {
        if self.slots.len() <= ctr {
            self.slots.resize(ctr + 1, None);
        }
        self.slots[ctr] = Some(Held { tracker, session });
    }

    /// Ends the transaction's trackers; the session's stay.
    pub fn end_transaction(&mut self) {
        self.pending.clear();
        for s in &mut self.slots {
            if s.as_ref().is_some_and(|h| !h.session) {
                *s = None;
            }
        }
    }

    /// Ends every tracker.
    pub fn clear(&mut self) {
        self.slots.clear();
        self.pending.clear();
    }

    /// Moves the session's trackers into `into` (replacing what it held) and ends the
    /// transaction's.
    pub fn take_session(&mut self, into: &mut StickCounters) {
        self.end_transaction();
        into.slots = std::mem::take(&mut self.slots);
    }

    /// Replaces every tracker with those of `from` (emptied).
    pub fn put_session(&mut self, from: &mut StickCounters) {
        self.slots = std::mem::take(&mut from.slots);
        self.pending.clear();
    }

    /// Keeps keys for the server the transaction will be sent to.
    pub fn wait_for_server(&mut self, keys: Pending) {
        self.pending.extend(keys.0);
    }

    /// The server of the transaction is known: the keys the request gave are stored with
    /// it (`server_id`, and `server_key` for tables that keep it).
    pub fn store_server(&mut self, server: &StickServer<'_>) {
        let now = sluice_stick::now_ms();
        for (table, key) in self.pending.drain(..) {
            store(&table, &key, server, now);
        }
    }

    fn each(&self) -> impl Iterator<Item = &Tracker> {
        self.slots.iter().flatten().map(|h| &h.tracker)
    }

    fn add(&self, kinds: &[DataType], inc: u64, now: u64) {
        for t in self.each() {
            t.table().add_each(t.entry(), kinds, inc, now);
        }
    }

    /// A session starts (after `tcp-request session` rules): `sess_cnt`, `sess_rate`.
    pub fn count_session(&self, now: u64) {
        self.add(&SESS, 1, now);
    }

    /// An HTTP request was received: `http_req_cnt`, `http_req_rate` of every counter
    /// tracked at that point.
    pub fn count_http_request(&self, now: u64) {
        self.add(&HTTP_REQ, 1, now);
    }

    /// `n` protocol glitches on the client connection: `glitch_cnt`, `glitch_rate`.
    pub fn count_glitches(&self, n: u64, now: u64) {
        if n > 0 {
            self.add(&GLITCH, n, now);
        }
    }

    /// A response with `status` goes to the client: errors (`http_err_*`; 4xx unless
    /// `http-err-codes` says otherwise) and failures (`http_fail_*`; 5xx but 501 and 505
    /// unless `http-fail-codes` says otherwise) when the server answered them.
    pub fn count_response(&self, status: u16, from_server: bool, now: u64) {
        if crate::status_codes::is_error(status) {
            self.add(&HTTP_ERR, 1, now);
        } else if from_server && crate::status_codes::is_failure(status) {
            self.add(&HTTP_FAIL, 1, now);
        }
    }

    /// The server failed the response after its head (it closed or broke in the middle
    /// of the body): one failure (`http_fail_*`), whatever the status said.
    pub fn count_server_abort(&self, now: u64) {
        self.add(&HTTP_FAIL, 1, now);
    }

    /// A transaction starts on a connection that has received `read` and sent `written`
    /// bytes so far.
    pub fn mark_bytes(&mut self, read: u64, written: u64) {
        self.bytes_mark = Some((read, written));
    }

    /// The transaction ends with the connection at `read` and `written` bytes: what moved
    /// since [`mark_bytes`](Self::mark_bytes) counts for every tracked entry.
    pub fn count_bytes_since_mark(&mut self, read: u64, written: u64, now: u64) {
        if let Some((r, w)) = self.bytes_mark.take() {
            self.count_bytes(read.saturating_sub(r), written.saturating_sub(w), now);
        }
    }

    /// Bytes received from the client (`bytes_in_*`) and sent to it (`bytes_out_*`).
    pub fn count_bytes(&self, bytes_in: u64, bytes_out: u64, now: u64) {
        if bytes_in > 0 {
            self.add(
                &[DataType::BytesInCnt, DataType::BytesInRate],
                bytes_in,
                now,
            );
        }
        if bytes_out > 0 {
            self.add(
                &[DataType::BytesOutCnt, DataType::BytesOutRate],
                bytes_out,
                now,
            );
        }
    }
}

/// Starts tracking for `track-sc<n>`: `key` in `table` unless counter `ctr` already tracks
/// something (only the first tracking rule of a counter applies). `http`: the rule runs on
/// an HTTP request, which counts as the entry's first request (HAProxy counts requests
/// received before the entry was tracked this way).
pub(crate) fn track(
    counters: &mut StickCounters,
    ctr: usize,
    table: &Arc<Table>,
    key: &sluice_stick::Key,
    session: bool,
    http: bool,
) {
    if counters.get(ctr).is_some() {
        return;
    }
    let now = sluice_stick::now_ms();
    if let Some(t) = Tracker::start(table, key, now) {
        if http {
            table.add_each(t.entry(), &HTTP_REQ, 1, now);
        }
        counters.set(ctr, t, session);
    }
}

/// A number an `sc-set-gpt`/`sc-add-gpc` action writes.
#[derive(Debug)]
pub(crate) enum Amount {
    Int(i64),
    Expr(SampleExpr),
}

/// What an `sc-*` action does to the counter's entry.
#[derive(Debug)]
pub(crate) enum Update {
    /// `sc-inc-gpc0`, `sc-inc-gpc1`, `sc-inc-gpc`: the counter and its rate, by one.
    Inc,
    /// `sc-set-gpt0`, `sc-set-gpt`.
    Set(Amount),
    /// `sc-add-gpc`: the counter and its rate, by the amount.
    Add(Amount),
}

/// A compiled stick-table action.
#[derive(Debug)]
pub(crate) enum StickAction {
    /// `track-sc<n> <key> [table <table>]`.
    Track {
        ctr: usize,
        key: SampleExpr,
        table: Arc<Table>,
        session: bool,
        http: bool,
    },
    /// `sc-inc-gpc0(<sc>)`, `sc-set-gpt(<idx>,<sc>) <v>`...
    Update {
        ctr: usize,
        kind: DataType,
        idx: usize,
        update: Update,
    },
}

/// What an action read from the stream before it changes the counters.
pub(crate) enum Input {
    Key(Option<Key>),
    Amount(Option<i64>),
    Nothing,
}

impl StickAction {
    /// Whether a tracking action's key cannot tell yet on contents that may still grow (a
    /// request head still coming): the content rules wait for more, as HAProxy does.
    pub(crate) fn key_pending(&self, src: &dyn SampleSource) -> bool {
        let StickAction::Track { key, .. } = self else {
            return false;
        };
        let mut found = false;
        let status = key.each(src, false, &mut |_| {
            found = true;
            true
        });
        !found && status == crate::sample::Fetched::Miss
    }

    /// Evaluates the key or the amount on the stream.
    pub(crate) fn prepare(&self, src: &dyn SampleSource) -> Input {
        match self {
            StickAction::Track { key, table, .. } => Input::Key(
                key.eval(src)
                    .and_then(|v| crate::sample::stick::key_of(table, &v)),
            ),
            StickAction::Update {
                update: Update::Set(a) | Update::Add(a),
                ..
            } => Input::Amount(match a {
                Amount::Int(i) => Some(*i),
                Amount::Expr(e) => e.eval(src).and_then(|v| v.to_int()),
            }),
            StickAction::Update { .. } => Input::Nothing,
        }
    }

    /// Applies the action to the stream's counters.
    pub(crate) fn run(&self, input: Input, counters: &mut StickCounters) {
        match (self, input) {
            (
                StickAction::Track {
                    ctr,
                    table,
                    session,
                    http,
                    ..
                },
                Input::Key(Some(key)),
            ) => track(counters, *ctr, table, &key, *session, *http),
            (StickAction::Track { .. }, _) => {}
            (
                StickAction::Update {
                    ctr,
                    kind,
                    idx,
                    update,
                },
                input,
            ) => {
                let Some(t) = counters.get(*ctr) else {
                    return;
                };
                let (table, entry, now) = (t.table(), t.entry(), sluice_stick::now_ms());
                let rate = match kind {
                    DataType::Gpc0 => DataType::Gpc0Rate,
                    DataType::Gpc1 => DataType::Gpc1Rate,
                    _ => DataType::GpcRate,
                };
                match (update, input) {
                    (Update::Inc, _) => {
                        table.add(entry, *kind, *idx, 1, now);
                        table.add(entry, rate, *idx, 1, now);
                    }
                    (Update::Set(_), Input::Amount(Some(v))) => {
                        table.set(entry, *kind, *idx, v, now)
                    }
                    (Update::Add(_), Input::Amount(Some(v))) if v > 0 => {
                        table.add(entry, *kind, *idx, v as u64, now);
                        table.add(entry, rate, *idx, v as u64, now);
                    }
                    _ => {}
                }
            }
        }
    }
}

/// The table a rule names after `table`, else the proxy's own.
fn table_for(args: &[String], at: usize, env: &Env<'_>) -> Result<Arc<Table>, Problem> {
    match args.get(at).map(String::as_str) {
        Some("table") => {
            let name = args
                .get(at + 1)
                .ok_or_else(|| Problem::syntax("'table' expects a table name"))?;
            if let Some(extra) = args.get(at + 2) {
                return Err(Problem::syntax(format!(
                    "unexpected '{extra}' after the table name"
                )));
            }
            env.stick_table(name)
                .ok_or_else(|| Problem::syntax(format!("unable to find table '{name}'")))
        }
        Some(other) => Err(Problem::syntax(format!(
            "unexpected '{other}' after the key (expects 'table <name>')"
        ))),
        None => env.own_stick_table().ok_or_else(|| {
            Problem::syntax(format!(
                "no table given and proxy '{}' has no stick-table",
                env.proxy.name
            ))
            .with_help("add a 'stick-table' line to the proxy, or name one with 'table <name>'")
        }),
    }
}

/// Compiles `track-sc<ctr> <key> [table <table>]` of rule set `set`.
pub(crate) fn compile_track(
    ctr: usize,
    args: &[String],
    set: RuleSet,
    place: Place,
    env: &mut Env<'_>,
) -> Result<StickAction, Problem> {
    let text = args
        .first()
        .ok_or_else(|| Problem::syntax("expects a sample expression (the key to track)"))?;
    let key = SampleExpr::compile(text, place, env)?;
    let table = table_for(args, 1, env)?;
    Ok(StickAction::Track {
        ctr,
        key,
        table,
        session: matches!(
            set,
            RuleSet::TcpRequestConnection | RuleSet::TcpRequestSession
        ),
        http: set == RuleSet::HttpRequest,
    })
}

/// Compiles `sc-inc-gpc0(<sc>)`, `sc-inc-gpc1(<sc>)`, `sc-inc-gpc(<idx>,<sc>)`,
/// `sc-set-gpt0(<sc>) <v>`, `sc-set-gpt(<idx>,<sc>) <v>`, `sc-add-gpc(<idx>,<sc>) <v>`.
pub(crate) fn compile_update(
    action: &str,
    args: &[String],
    place: Place,
    env: &mut Env<'_>,
) -> Result<StickAction, Problem> {
    let (base, inner) = match action.split_once('(') {
        Some((b, rest)) => (
            b,
            rest.strip_suffix(')')
                .ok_or_else(|| Problem::syntax("missing ')'"))?,
        ),
        None => (action, ""),
    };
    let numbers: Vec<&str> = inner.split(',').map(str::trim).collect();
    let (kind, indexed, valued) = match base {
        "sc-inc-gpc0" => (DataType::Gpc0, false, false),
        "sc-inc-gpc1" => (DataType::Gpc1, false, false),
        "sc-inc-gpc" => (DataType::Gpc, true, false),
        "sc-set-gpt0" => (DataType::Gpt0, false, true),
        "sc-set-gpt" => (DataType::Gpt, true, true),
        _ => (DataType::Gpc, true, true),
    };
    let usage = if indexed {
        "(<idx>,<sc-id>)"
    } else {
        "(<sc-id>)"
    };
    let want = 1 + usize::from(indexed);
    let parsed: Option<Vec<usize>> = numbers.iter().map(|n| n.parse().ok()).collect();
    let parsed = parsed
        .filter(|p| p.len() == want)
        .ok_or_else(|| Problem::syntax(format!("expects {base}{usage}")))?;
    let (idx, ctr) = if indexed {
        (parsed[0], parsed[1])
    } else {
        (0, parsed[0])
    };
    let max = env.stick_counters() as usize;
    if ctr >= max {
        return Err(Problem::syntax(format!(
            "stick counter {ctr} is out of range (tune.stick-counters is {max})"
        )));
    }
    if indexed && idx >= sluice_stick::def::MAX_ARRAY {
        return Err(Problem::syntax(format!(
            "index {idx} is out of range (below {})",
            sluice_stick::def::MAX_ARRAY
        )));
    }
    let update = if valued {
        let text = args
            .first()
            .ok_or_else(|| Problem::syntax("expects an integer or a sample expression"))?;
        if let Some(extra) = args.get(1) {
            return Err(Problem::syntax(format!(
                "unexpected '{extra}' after the value"
            )));
        }
        let amount = match text.parse::<i64>() {
            Ok(i) => Amount::Int(i),
            Err(_) => Amount::Expr(SampleExpr::compile(text, place, env)?),
        };
        if base == "sc-add-gpc" {
            Update::Add(amount)
        } else {
            Update::Set(amount)
        }
    } else {
        if let Some(extra) = args.first() {
            return Err(Problem::syntax(format!("unexpected '{extra}'")));
        }
        Update::Inc
    };
    Ok(StickAction::Update {
        ctr,
        kind,
        idx,
        update,
    })
}

/// The server a request went to, as stick tables remember it.
#[derive(Clone, Copy, Debug)]
pub struct StickServer<'a> {
    /// Its id (`server_id`): its position in the backend, from 1.
    pub id: i64,
    /// Its name (`srvkey name`, the default).
    pub name: &'a str,
    /// Its address (`srvkey addr`), when it has one.
    pub addr: Option<&'a str>,
}

fn store(table: &Table, key: &Key, server: &StickServer<'_>, now: u64) {
    let Some(e) = table.get_or_create(key, now) else {
        return;
    };
    table.set(&e, DataType::ServerId, 0, server.id, now);
    let name = match table.def().srvkey {
        sluice_stick::SrvKey::Name => Some(server.name),
        sluice_stick::SrvKey::Addr => server.addr,
    };
    if let Some(n) = name {
        table.set_name(&e, n, now);
    }
}

/// Keys taken from a request by `stick store-request` and `stick on` lines.
#[derive(Debug, Default)]
pub struct Pending(Vec<(Arc<Table>, Key)>);

/// What `stick match` found: the server an entry names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sticky {
    /// `server_id` (0: none).
    pub id: i64,
    /// `server_key`: the server's name or address, as the table's `srvkey` says.
    pub key: Option<Box<str>>,
    /// Whether the key is an address (`srvkey addr`).
    pub by_addr: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StickKind {
    Match,
    On,
    StoreRequest,
    StoreResponse,
}

#[derive(Debug)]
struct StickRule {
    kind: StickKind,
    key: SampleExpr,
    table: Arc<Table>,
    condition: Option<Condition>,
}

/// A backend's `stick match|on|store-request|store-response` lines, in order.
#[derive(Debug, Default)]
pub struct StickRules {
    rules: Vec<StickRule>,
}

impl StickRules {
    /// Whether the backend has none.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether any reads the response (`stick store-response`).
    pub fn on_response(&self) -> bool {
        self.rules
            .iter()
            .any(|r| r.kind == StickKind::StoreResponse)
    }

    /// The server the first `stick match`/`stick on` line with an entry for its key names.
    pub fn find(&self, src: &dyn SampleSource) -> Option<Sticky> {
        let now = sluice_stick::now_ms();
        for r in &self.rules {
            if !matches!(r.kind, StickKind::Match | StickKind::On)
                || !condition::holds_opt(&r.condition, src)
            {
                continue;
            }
            let Some(key) = r
                .key
                .eval(src)
                .and_then(|v| crate::sample::stick::key_of(&r.table, &v))
            else {
                continue;
            };
            let Some(e) = r.table.lookup(&key, now) else {
                continue;
            };
            let id = r.table.read(&e, DataType::ServerId, 0, now).unwrap_or(0);
            let key = r.table.read_name(&e);
            if id > 0 || key.is_some() {
                return Some(Sticky {
                    id,
                    key,
                    by_addr: r.table.def().srvkey == sluice_stick::SrvKey::Addr,
                });
            }
        }
        None
    }

    /// Takes the keys of `stick store-request` and `stick on` lines from the request, for
    /// [`StickCounters::wait_for_server`] then [`StickCounters::store_server`].
    pub fn remember(&self, src: &dyn SampleSource) -> Pending {
        let mut out = Pending::default();
        for r in &self.rules {
            if !matches!(r.kind, StickKind::StoreRequest | StickKind::On)
                || !condition::holds_opt(&r.condition, src)
            {
                continue;
            }
            let key = r
                .key
                .eval(src)
                .and_then(|v| crate::sample::stick::key_of(&r.table, &v));
            // One key per table: the first line naming a table wins, as in HAProxy.
            if let Some(k) = key {
                if !out.0.iter().any(|(t, _)| Arc::ptr_eq(t, &r.table)) {
                    out.0.push((r.table.clone(), k));
                }
            }
        }
        out
    }

    /// Applies `stick store-response` lines to a response from `server`.
    pub fn store_response(&self, src: &dyn SampleSource, server: &StickServer<'_>) {
        let now = sluice_stick::now_ms();
        for r in &self.rules {
            if r.kind != StickKind::StoreResponse || !condition::holds_opt(&r.condition, src) {
                continue;
            }
            if let Some(k) = r
                .key
                .eval(src)
                .and_then(|v| crate::sample::stick::key_of(&r.table, &v))
            {
                store(&r.table, &k, server, now);
            }
        }
    }
}

/// Compiles the `stick` lines of the proxy: `stick on|match|store-request|store-response
/// <pattern> [table <table>] [{if|unless} <condition>]`.
pub(crate) fn compile_rules(
    env: &mut Env<'_>,
    errors: &mut Diagnostics,
    warnings: &mut Diagnostics,
) -> StickRules {
    let mut out = StickRules::default();
    let proxy = env.proxy;
    for st in proxy.other.iter().filter(|s| s.keyword() == "stick") {
        let word = |i: usize| st.words.get(i).map(|w| w.text.as_str());
        let (kind, place) = match word(1) {
            Some("match") => (StickKind::Match, Place::HttpRequest),
            Some("on") => (StickKind::On, Place::HttpRequest),
            Some("store-request") => (StickKind::StoreRequest, Place::HttpRequest),
            Some("store-response") => (StickKind::StoreResponse, Place::HttpResponse),
            // The model reported anything else.
            _ => continue,
        };
        let keyword = format!("stick {}", word(1).unwrap_or_default());
        let fail = |m: String| {
            Diagnostic::error(
                sluice_config::Category::Syntax,
                "stick-rule-invalid",
                format!("'{keyword}': {m}"),
            )
            .at(st.location)
        };
        let cond_at = model_condition::find(st, 2);
        let end = cond_at.unwrap_or(st.words.len());
        let args: Vec<String> = st
            .words
            .get(2..end)
            .unwrap_or(&[])
            .iter()
            .map(|w| w.text.clone())
            .collect();
        let Some(text) = args.first() else {
            errors.push(fail("expects a sample expression (the key)".into()));
            continue;
        };
        let key = match SampleExpr::compile(text, place, env) {
            Ok(k) => k,
            Err(p) => {
                errors.push(fail(p.message));
                continue;
            }
        };
        let table = match table_for(&args, 1, env) {
            Ok(t) => t,
            Err(p) => {
                errors.push(fail(p.message));
                continue;
            }
        };
        let condition = match cond_at {
            Some(i) => {
                let mut parse_diags = Diagnostics::new();
                match model_condition::parse(st, i, &mut parse_diags) {
                    Ok(c) => match Condition::compile(&c, place, &keyword, env, warnings) {
                        Ok(c) => Some(c),
                        Err(d) => {
                            errors.push(d);
                            continue;
                        }
                    },
                    // The model reported it already.
                    Err(_) => continue,
                }
            }
            None => None,
        };
        env.flush_pending(st.location, warnings);
        let tcp = proxy.mode.as_ref().map(|m| m.value) != Some(sluice_model::proxy::Mode::Http);
        if tcp && !key.valid().contains(crate::sample::Valid::CONN) {
            warnings.push(
                Diagnostic::warning(
                    sluice_config::Category::Compatibility,
                    "stick-rule-tcp-payload",
                    format!("'{keyword}': in a TCP backend Sluice reads stick keys from the connection only (addresses, variables), not from the buffered payload; this line never matches"),
                )
                .at(st.location),
            );
        }
        out.rules.push(StickRule {
            kind,
            key,
            table,
            condition,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_stick::{KeyType, TableDef};

    fn table() -> Arc<Table> {
        let mut def = TableDef::new("t", KeyType::Integer, 10);
        def.set_store("conn_cur,http_req_cnt,http_err_cnt,http_fail_cnt,sess_cnt")
            .unwrap();
        Arc::new(Table::new(def))
    }

    #[test]
    fn the_first_tracking_rule_of_a_counter_wins() {
        let t = table();
        let mut c = StickCounters::default();
        track(&mut c, 0, &t, &sluice_stick::Key::Int(1), false, true);
        track(&mut c, 0, &t, &sluice_stick::Key::Int(2), false, true);
        assert_eq!(t.used(), 1);
        let e = c.get(0).unwrap().entry().clone();
        assert_eq!(t.read(&e, DataType::HttpReqCnt, 0, 0), Some(1));
        c.count_response(404, true, 0);
        c.count_response(503, true, 0);
        c.count_response(503, false, 0);
        c.count_response(501, true, 0);
        assert_eq!(t.read(&e, DataType::HttpErrCnt, 0, 0), Some(1));
        assert_eq!(t.read(&e, DataType::HttpFailCnt, 0, 0), Some(1));
    }

    #[test]
    fn session_trackers_outlive_the_transaction() {
        let t = table();
        let mut c = StickCounters::default();
        track(&mut c, 0, &t, &sluice_stick::Key::Int(1), true, false);
        track(&mut c, 1, &t, &sluice_stick::Key::Int(2), false, true);
        let mut kept = StickCounters::default();
        c.take_session(&mut kept);
        assert!(c.is_empty());
        assert!(kept.get(0).is_some() && kept.get(1).is_none());
        let e2 = t.lookup(&sluice_stick::Key::Int(2), 0).unwrap();
        assert_eq!(t.read(&e2, DataType::ConnCur, 0, 0), Some(0));
        c.put_session(&mut kept);
        c.count_http_request(0);
        let e1 = c.get(0).unwrap().entry().clone();
        assert_eq!(t.read(&e1, DataType::HttpReqCnt, 0, 0), Some(1));
        assert_eq!(t.read(&e1, DataType::ConnCur, 0, 0), Some(1));
        c.clear();
        assert_eq!(t.read(&e1, DataType::ConnCur, 0, 0), Some(0));
    }
}
