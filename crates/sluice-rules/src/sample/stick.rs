//! Stick-table fetches and converters: `sc_*(<ctr>[,<table>])`, `sc0_*`..`sc2_*`,
//! `src_*([<table>])`, `sc_tracked`, `sc_trackers`, `table_avl`, `table_cnt`, and the
//! converters `in_table(<table>)` and `table_<data>(<table>)`.
//!
//! They are many names over few behaviours, so the names are made once from a list of
//! operations and every one shares one evaluation: compiling an expression resolves the
//! table argument ([`resolve`]) and appends what the name means ([`Call`]) to the
//! arguments.

use super::registry::{ArgKind, ArgSpec, ConvDef, FetchDef, Valid};
use super::{Arg, Fetched, SampleType, Value};
use crate::message::SampleSource;
use crate::problem::Problem;
use crate::Env;
use sluice_stick::{DataType, Entry, Key, Sample, Table};
use std::sync::{Arc, OnceLock};

/// What a stick fetch or converter does with the entry it finds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Reads a data type (a counter, a rate, a tag).
    Read(DataType),
    /// Reads a byte counter in kilobytes.
    Kbytes(DataType),
    /// Increments a general purpose counter (and its rate) and gives the new value.
    Inc(DataType),
    /// Clears a general purpose counter and gives the value it had.
    Clr(DataType),
    /// Whether the counter tracks something.
    Tracked,
    /// How many trackers hold the entry.
    Trackers,
    /// The tracked key.
    Key,
    /// Counts a connection in `conn_cnt` and gives the new value (`src_updt_conn_cnt`).
    UpdtConnCnt,
    /// Free entries of the table.
    Avl,
    /// Used entries of the table.
    Cnt,
    /// Whether the key is in the table.
    InTable,
    /// Milliseconds before the entry expires.
    Expire,
    /// Milliseconds since the entry was last touched.
    Idle,
}

/// Where the entry comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum From {
    /// `sc0_*`, `sc1_*`, `sc2_*`.
    Counter(u8),
    /// `sc_*(<ctr>...)`: the counter is an argument.
    CounterArg,
    /// `src_*`: the client's address looked up in the table.
    Src,
    /// A converter: its input looked up in the table.
    Input,
    /// The table itself (`table_avl`, `table_cnt`).
    Table,
}

/// What one compiled stick fetch or converter does (the last argument of its call).
#[derive(Debug)]
pub struct Call {
    op: Op,
    from: From,
    /// Element of an array type (`gpc(<idx>)`); given as the first argument.
    indexed: bool,
    /// The named table, or the proxy's own for `src_*` and `table_*` without one.
    table: Option<Arc<Table>>,
}

/// The operations after a prefix (`http_req_rate` in `sc0_http_req_rate`), with whether
/// they take an element index.
fn op_of(suffix: &str, converter: bool) -> Option<(Op, bool)> {
    use DataType::*;
    let indexed = |op| Some((op, true));
    let plain = |op| Some((op, false));
    match suffix {
        "get_gpc0" if !converter => plain(Op::Read(Gpc0)),
        "get_gpc1" if !converter => plain(Op::Read(Gpc1)),
        "get_gpt0" if !converter => plain(Op::Read(Gpt0)),
        "get_gpc" if !converter => indexed(Op::Read(Gpc)),
        "get_gpt" if !converter => indexed(Op::Read(Gpt)),
        "gpc0" if converter => plain(Op::Read(Gpc0)),
        "gpc1" if converter => plain(Op::Read(Gpc1)),
        "gpt0" if converter => plain(Op::Read(Gpt0)),
        "gpc" if converter => indexed(Op::Read(Gpc)),
        "gpt" if converter => indexed(Op::Read(Gpt)),
        "server_id" if converter => plain(Op::Read(ServerId)),
        "expire" if converter => plain(Op::Expire),
        "idle" if converter => plain(Op::Idle),
        "gpc_rate" => indexed(Op::Read(GpcRate)),
        "inc_gpc0" => plain(Op::Inc(Gpc0)),
        "inc_gpc1" => plain(Op::Inc(Gpc1)),
        "inc_gpc" => indexed(Op::Inc(Gpc)),
        "clr_gpc0" => plain(Op::Clr(Gpc0)),
        "clr_gpc1" => plain(Op::Clr(Gpc1)),
        "clr_gpc" => indexed(Op::Clr(Gpc)),
        "kbytes_in" => plain(Op::Kbytes(BytesInCnt)),
        "kbytes_out" => plain(Op::Kbytes(BytesOutCnt)),
        "trackers" => plain(Op::Trackers),
        "gpc0_rate" | "gpc1_rate" | "conn_cnt" | "conn_cur" | "conn_rate" | "sess_cnt"
        | "sess_rate" | "http_req_cnt" | "http_req_rate" | "http_err_cnt" | "http_err_rate"
        | "http_fail_cnt" | "http_fail_rate" | "bytes_in_rate" | "bytes_out_rate"
        | "glitch_cnt" | "glitch_rate" => plain(Op::Read(DataType::parse(suffix)?)),
        _ => None,
    }
}

/// The meaning of a fetch name, if it is a stick fetch.
fn parse_fetch(name: &str) -> Option<(From, Op, bool)> {
    match name {
        "table_avl" => return Some((From::Table, Op::Avl, false)),
        "table_cnt" => return Some((From::Table, Op::Cnt, false)),
        _ => {}
    }
    let (from, suffix) = if let Some(s) = name.strip_prefix("sc_") {
        (From::CounterArg, s)
    } else if let Some(s) = name.strip_prefix("src_") {
        (From::Src, s)
    } else {
        let rest = name.strip_prefix("sc")?;
        let (n, s) = rest.split_once('_')?;
        let n: u8 = n.parse().ok().filter(|n| *n <= 2)?;
        (From::Counter(n), s)
    };
    let (op, indexed) = match (from, suffix) {
        (From::Src, "updt_conn_cnt") => (Op::UpdtConnCnt, false),
        (From::Src, "tracked" | "key" | "trackers") => return None,
        (_, "tracked") => (Op::Tracked, false),
        (_, "key") => (Op::Key, false),
        _ => op_of(suffix, false)?,
    };
    // Arrays are read through `sc_*` and `src_*` only.
    if indexed && matches!(from, From::Counter(_)) {
        return None;
    }
    Some((from, op, indexed))
}

/// The meaning of a converter name, if it is a stick converter.
fn parse_conv(name: &str) -> Option<(Op, bool)> {
    if name == "in_table" {
        return Some((Op::InTable, false));
    }
    op_of(name.strip_prefix("table_")?, true)
}

const fn spec(kind: ArgKind, required: bool) -> ArgSpec {
    ArgSpec { kind, required }
}
const INT: ArgSpec = spec(ArgKind::Int, true);
const TABLE: ArgSpec = spec(ArgKind::Str, false);
const TABLE_REQ: ArgSpec = spec(ArgKind::Str, true);
const OPT_INT: ArgSpec = spec(ArgKind::Int, false);

/// The counters read or changed alike by the fetches (`sc0_conn_rate`) and the converters
/// (`table_conn_rate`).
const COUNTERS: &[&str] = &[
    "gpc_rate",
    "inc_gpc0",
    "inc_gpc1",
    "inc_gpc",
    "clr_gpc0",
    "clr_gpc1",
    "clr_gpc",
    "kbytes_in",
    "kbytes_out",
    "trackers",
    "gpc0_rate",
    "gpc1_rate",
    "conn_cnt",
    "conn_cur",
    "conn_rate",
    "sess_cnt",
    "sess_rate",
    "http_req_cnt",
    "http_req_rate",
    "http_err_cnt",
    "http_err_rate",
    "http_fail_cnt",
    "http_fail_rate",
    "bytes_in_rate",
    "bytes_out_rate",
    "glitch_cnt",
    "glitch_rate",
];

/// Every name the list of operations makes, for [`fetch`] and [`converter`].
fn names() -> impl Iterator<Item = String> {
    const SUFFIXES: &[&str] = &[
        "get_gpc0",
        "get_gpc1",
        "get_gpt0",
        "get_gpc",
        "get_gpt",
        "tracked",
        "key",
        "updt_conn_cnt",
    ];
    ["sc_", "sc0_", "sc1_", "sc2_", "src_"]
        .into_iter()
        .flat_map(|p| {
            SUFFIXES
                .iter()
                .chain(COUNTERS)
                .map(move |s| format!("{p}{s}"))
        })
        .chain(["table_avl".to_string(), "table_cnt".to_string()])
        .filter(|n| parse_fetch(n).is_some())
}

fn conv_names() -> impl Iterator<Item = String> {
    const SUFFIXES: &[&str] = &[
        "gpc0",
        "gpc1",
        "gpt0",
        "gpc",
        "gpt",
        "server_id",
        "expire",
        "idle",
    ];
    SUFFIXES
        .iter()
        .chain(COUNTERS)
        .map(|s| format!("table_{s}"))
        .chain(["in_table".to_string()])
}

/// Names live as long as the process: the registry hands out `'static` definitions.
fn leak(name: String) -> &'static str {
    Box::leak(name.into_boxed_str())
}

fn fetch_args(from: From, indexed: bool) -> &'static [ArgSpec] {
    match (from, indexed) {
        (From::CounterArg, true) => &[INT, INT, TABLE],
        (From::CounterArg, false) => &[INT, TABLE],
        (_, true) => &[INT, TABLE],
        (_, false) => &[TABLE],
    }
}

/// Every stick fetch.
pub fn fetches() -> &'static [FetchDef] {
    static DEFS: OnceLock<Vec<FetchDef>> = OnceLock::new();
    DEFS.get_or_init(|| {
        names()
            .filter_map(|n| {
                let (from, op, indexed) = parse_fetch(&n)?;
                let output = match op {
                    Op::Tracked => SampleType::Bool,
                    Op::Key => SampleType::Any,
                    _ => SampleType::Sint,
                };
                Some(FetchDef {
                    name: leak(n),
                    args: fetch_args(from, indexed),
                    output,
                    valid: Valid::CONN,
                    eval: eval_fetch,
                })
            })
            .collect()
    })
}

/// Every stick converter.
pub fn converters() -> &'static [ConvDef] {
    static DEFS: OnceLock<Vec<ConvDef>> = OnceLock::new();
    DEFS.get_or_init(|| {
        conv_names()
            .filter_map(|n| {
                let (op, indexed) = parse_conv(&n)?;
                let args: &'static [ArgSpec] = match (op, indexed) {
                    (Op::Expire | Op::Idle, _) => &[TABLE_REQ, OPT_INT],
                    (_, true) => &[INT, TABLE_REQ],
                    (_, false) => &[TABLE_REQ],
                };
                Some(ConvDef {
                    name: leak(n),
                    args,
                    input: SampleType::Any,
                    output: if op == Op::InTable {
                        SampleType::Bool
                    } else {
                        SampleType::Sint
                    },
                    map: None,
                    prepare: None,
                    settles: false,
                    eval: eval_conv,
                })
            })
            .collect()
    })
}

/// The stick fetch named `name`.
pub fn fetch(name: &str) -> Option<&'static FetchDef> {
    fetches().iter().find(|d| d.name == name)
}

/// The stick converter named `name`.
pub fn converter(name: &str) -> Option<&'static ConvDef> {
    converters().iter().find(|d| d.name == name)
}

/// Resolves the arguments of a stick fetch or converter once they are compiled: the table
/// named (or the proxy's own where the name allows none) must exist, and the call's meaning
/// is appended. Other names are left alone.
pub(crate) fn resolve(name: &str, args: &mut Vec<Arg>, env: &Env<'_>) -> Result<(), Problem> {
    let (from, op, indexed) = match parse_fetch(name) {
        Some(f) if fetch(name).is_some() => f,
        _ => match parse_conv(name) {
            Some((op, indexed)) if converter(name).is_some() => (From::Input, op, indexed),
            _ => return Ok(()),
        },
    };
    // The table argument follows the counter and the index.
    let at = usize::from(indexed) + usize::from(from == From::CounterArg);
    let named = args.get(at).and_then(Arg::text).map(str::to_string);
    if let Some(i) = args.get(at) {
        if !matches!(i, Arg::None | Arg::Str(_)) {
            return Err(Problem::syntax(format!("'{name}': expects a table name")));
        }
    }
    let table = match named.as_deref() {
        Some(t) if !t.is_empty() => Some(
            env.stick_table(t)
                .ok_or_else(|| Problem::syntax(format!("'{name}': unable to find table '{t}'")))?,
        ),
        // `sc*` fetches read the table of what the counter tracks.
        _ if matches!(from, From::Counter(_) | From::CounterArg) => None,
        _ => Some(env.own_stick_table().ok_or_else(|| {
            Problem::syntax(format!(
                "'{name}': no table given and proxy '{}' has no stick-table",
                env.proxy.name
            ))
            .with_help("add a 'stick-table' line to the proxy, or name a table as argument")
        })?),
    };
    if let Some(ctr) = match from {
        From::CounterArg => args.get(usize::from(indexed)).and_then(|a| match a {
            Arg::Int(i) => Some(*i),
            _ => None,
        }),
        From::Counter(n) => Some(i64::from(n)),
        _ => None,
    } {
        let max = i64::from(env.stick_counters());
        if !(0..max).contains(&ctr) {
            return Err(Problem::syntax(format!(
                "'{name}': stick counter {ctr} is out of range (tune.stick-counters is {max})"
            )));
        }
    }
    args.push(Arg::Stick(Arc::new(Call {
        op,
        from,
        indexed,
        table,
    })));
    Ok(())
}

/// Converts a sample to a key of `table`.
pub(crate) fn key_of(table: &Table, v: &Value<'_>) -> Option<Key> {
    let sample = match v {
        Value::Ip(a) => Sample::Ip(*a),
        Value::Sint(i) => Sample::Int(*i),
        Value::Bool(b) => Sample::Int(i64::from(*b)),
        Value::Str(s) | Value::Meth(s) => Sample::Str(s),
        Value::Bin(b) => Sample::Bin(b),
    };
    table.def().key.key(sample)
}

fn call(args: &[Arg]) -> Option<&Call> {
    match args.last()? {
        Arg::Stick(c) => Some(c),
        _ => None,
    }
}

fn int_arg(args: &[Arg], i: usize) -> Option<i64> {
    match args.get(i)? {
        Arg::Int(v) => Some(*v),
        _ => None,
    }
}

/// The table and entry a call reads; `Ok(None)` when there is no entry (the value is 0),
/// `Err(())` when there is no sample at all.
type Found = Result<Option<(Arc<Table>, Arc<Entry>)>, ()>;

fn entry_of(
    c: &Call,
    args: &[Arg],
    src: &dyn SampleSource,
    input: Option<&Value<'_>>,
    now: u64,
) -> Found {
    let create = matches!(c.op, Op::Inc(_) | Op::UpdtConnCnt) && c.from == From::Src;
    let find = |t: &Arc<Table>, key: Option<Key>| -> Found {
        let Some(key) = key else { return Err(()) };
        let e = if create {
            t.get_or_create(&key, now)
        } else {
            t.lookup(&key, now)
        };
        Ok(e.map(|e| (t.clone(), e)))
    };
    match c.from {
        From::Counter(_) | From::CounterArg => {
            let ctr = match c.from {
                From::Counter(n) => i64::from(n),
                _ => int_arg(args, usize::from(c.indexed)).ok_or(())?,
            };
            let Some(tracker) = usize::try_from(ctr)
                .ok()
                .and_then(|i| src.vars()?.stick.get(i))
            else {
                return Ok(None);
            };
            match &c.table {
                Some(t) if !Arc::ptr_eq(t, tracker.table()) => {
                    find(t, Some(tracker.entry().key().clone()))
                }
                _ => Ok(Some((tracker.table().clone(), tracker.entry().clone()))),
            }
        }
        From::Src => {
            let t = c.table.as_ref().ok_or(())?;
            let ip = src.connection().src().map(|a| a.ip()).ok_or(())?;
            find(t, key_of(t, &Value::Ip(ip)))
        }
        From::Input => {
            let t = c.table.as_ref().ok_or(())?;
            find(t, input.and_then(|v| key_of(t, v)))
        }
        From::Table => Ok(None),
    }
}

fn run<'a>(
    args: &'a [Arg],
    src: &dyn SampleSource,
    input: Option<&Value<'_>>,
) -> Option<Value<'a>> {
    let c = call(args)?;
    let now = sluice_stick::now_ms();
    let idx = if c.indexed {
        usize::try_from(int_arg(args, 0)?).ok()?
    } else {
        0
    };
    match c.op {
        Op::Avl => return Some(Value::Sint(c.table.as_ref()?.available() as i64)),
        Op::Cnt => return Some(Value::Sint(c.table.as_ref()?.used() as i64)),
        _ => {}
    }
    let found = entry_of(c, args, src, input, now).ok()?;
    let Some((t, e)) = found else {
        return match c.op {
            Op::Tracked | Op::InTable => Some(Value::Bool(false)),
            Op::Key => None,
            // No entry: HAProxy gives 0 unless the table does not store the type.
            Op::Read(d) | Op::Inc(d) | Op::Clr(d) | Op::Kbytes(d)
                if c.table.as_ref().is_some_and(|t| !t.stores(d)) =>
            {
                None
            }
            _ => Some(Value::Sint(0)),
        };
    };
    Some(match c.op {
        Op::Tracked | Op::InTable => Value::Bool(true),
        Op::Key => match e.key() {
            Key::Ipv4(a) => Value::Ip((*a).into()),
            Key::Ipv6(a) => Value::Ip((*a).into()),
            Key::Int(i) => Value::Sint(i64::from(*i)),
            Key::Str(s) => Value::string(s.as_bytes().to_vec()),
            Key::Bin(b) => Value::Bin(b.to_vec().into()),
        },
        Op::Trackers => Value::Sint(i64::from(e.refs())),
        Op::Read(d) => Value::Sint(t.read(&e, d, idx, now)?),
        Op::Kbytes(d) => Value::Sint(t.read(&e, d, 0, now)? >> 10),
        Op::Inc(d) => {
            let rate = match d {
                DataType::Gpc0 => DataType::Gpc0Rate,
                DataType::Gpc1 => DataType::Gpc1Rate,
                _ => DataType::GpcRate,
            };
            // The rate counts even where the counter is not stored.
            t.add(&e, rate, idx, 1, now);
            if !t.stores(d) {
                return t.stores(rate).then_some(Value::Sint(0));
            }
            t.add(&e, d, idx, 1, now);
            Value::Sint(t.read(&e, d, idx, now)?)
        }
        Op::Clr(d) => {
            let old = t.read(&e, d, idx, now)?;
            t.set(&e, d, idx, 0, now);
            Value::Sint(old)
        }
        Op::UpdtConnCnt => {
            t.add(&e, DataType::ConnCnt, 0, 1, now);
            Value::Sint(t.read(&e, DataType::ConnCnt, 0, now)?)
        }
        Op::Expire => Value::Sint(t.remaining(&e, now) as i64),
        Op::Idle => Value::Sint(t.idle(&e, now) as i64),
        Op::Avl | Op::Cnt => return None,
    })
}

fn eval_fetch<'a>(
    args: &'a [Arg],
    src: &'a dyn SampleSource,
    _all: bool,
    emit: &mut dyn FnMut(Value<'a>) -> bool,
) -> Fetched {
    if let Some(v) = run(args, src, None) {
        emit(v);
    }
    Fetched::Done
}

fn eval_conv<'a>(
    args: &'a [Arg],
    input: Value<'a>,
    src: &'a dyn SampleSource,
) -> Option<Value<'a>> {
    run(args, src, Some(&input))
}

#[cfg(test)]
mod tests {
    use super::super::registry;
    use super::*;

    #[test]
    fn names_match_the_catalogue() {
        use sluice_config::keywords::{Support, Table as Kw};
        let supported = |t: Kw, name: &str| {
            t.keywords()
                .iter()
                .any(|k| k.name == name && k.support == Support::Supported)
        };
        let mut wrong = Vec::new();
        for d in fetches() {
            if !supported(Kw::SampleFetch, d.name) {
                wrong.push(format!("fetch {} is not a supported HAProxy fetch", d.name));
            }
        }
        for d in converters() {
            if !supported(Kw::Converter, d.name) {
                wrong.push(format!(
                    "converter {} is not a supported HAProxy converter",
                    d.name
                ));
            }
        }
        // And every stick name of the catalogue is here.
        for k in Kw::SampleFetch.keywords() {
            let stick = ["sc_", "sc0_", "sc1_", "sc2_", "src_", "table_"]
                .iter()
                .any(|p| k.name.starts_with(p));
            if stick && k.support == Support::Supported && registry::fetch(k.name).is_none() {
                wrong.push(format!("fetch {} is missing", k.name));
            }
        }
        for k in Kw::Converter.keywords() {
            if (k.name.starts_with("table_") || k.name == "in_table") && converter(k.name).is_none()
            {
                wrong.push(format!("converter {} is missing", k.name));
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
        for n in [
            "sc_http_req_rate",
            "sc0_conn_cur",
            "src_conn_cur",
            "sc_get_gpc",
            "src_updt_conn_cnt",
            "table_avl",
            "sc1_tracked",
        ] {
            assert!(fetch(n).is_some(), "{n}");
        }
        for n in [
            "in_table",
            "table_http_req_rate",
            "table_gpc",
            "table_expire",
        ] {
            assert!(converter(n).is_some(), "{n}");
        }
        assert!(fetch("src_tracked").is_none());
        assert!(fetch("sc3_conn_cur").is_none());
    }
}
