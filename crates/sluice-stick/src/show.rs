//! The runtime API's view of tables: `show table` (the list, or one table's entries with
//! `data.<type> <op> <value>` filters or one `key`), in HAProxy's format, and the
//! argument parsing `clear table` and `set table` share.

use crate::data::DataType;
use crate::key::Key;
use crate::table::{Entry, Table};
use std::fmt::Write as _;

/// A comparison of a `data.<type> <op> <value>` filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `eq`
    Eq,
    /// `ne`
    Ne,
    /// `lt`
    Lt,
    /// `le`
    Le,
    /// `gt`
    Gt,
    /// `ge`
    Ge,
}

impl Op {
    fn parse(t: &str) -> Option<Op> {
        Some(match t {
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "lt" => Op::Lt,
            "le" => Op::Le,
            "gt" => Op::Gt,
            "ge" => Op::Ge,
            _ => return None,
        })
    }

    fn holds(self, a: i64, b: i64) -> bool {
        match self {
            Op::Eq => a == b,
            Op::Ne => a != b,
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::Gt => a > b,
            Op::Ge => a >= b,
        }
    }
}

/// Which entries a `show table` or `clear table` command selects.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// `key <k>`: that entry only.
    pub key: Option<Key>,
    /// `ptr <0x...>`: the entry `show table` printed at that address.
    pub ptr: Option<usize>,
    /// `data.<type> <op> <value>` filters, all of which must hold.
    pub filters: Vec<(DataType, usize, Op, i64)>,
}

/// `data.gpc0`, `data.http_req_rate`, `data.gpt[1]`... as a data type and element.
fn data_name(text: &str) -> Option<(DataType, usize)> {
    let name = text.strip_prefix("data.")?;
    if let Some((n, idx)) = name.strip_suffix(']').and_then(|n| n.split_once('[')) {
        return Some((DataType::parse(n)?, idx.parse().ok()?));
    }
    DataType::parse(name).map(|d| (d, 0))
}

impl Selection {
    /// Parses the words after the table name (`data.conn_cur gt 0`, `key 192.0.2.1`).
    pub fn parse(table: &Table, words: &[&str]) -> Result<Selection, String> {
        let mut sel = Selection::default();
        let mut i = 0;
        while i < words.len() {
            let w = words[i];
            if w == "key" {
                let k = words.get(i + 1).ok_or("'key' expects a key")?;
                sel.key = Some(
                    table
                        .def()
                        .key
                        .parse(k)
                        .ok_or_else(|| format!("'{k}' is not a valid key for this table"))?,
                );
                i += 2;
            } else if w == "ptr" {
                let p = words.get(i + 1).ok_or("'ptr' expects an address (0x...)")?;
                let hex = p.strip_prefix("0x").unwrap_or(p);
                sel.ptr = Some(
                    usize::from_str_radix(hex, 16)
                        .map_err(|_| format!("'{p}' is not an address (0x...)"))?,
                );
                i += 2;
            } else if w.starts_with("data.") {
                let (kind, idx) =
                    data_name(w).ok_or_else(|| format!("unknown data type in '{w}'"))?;
                if !table.stores(kind) {
                    return Err(format!(
                        "data type '{}' is not stored in table '{}'",
                        kind.name(),
                        table.name()
                    ));
                }
                let op = words
                    .get(i + 1)
                    .and_then(|o| Op::parse(o))
                    .ok_or("a data filter expects an operator (eq, ne, lt, le, gt, ge)")?;
                let v = words
                    .get(i + 2)
                    .and_then(|v| v.parse::<i64>().ok())
                    .ok_or("a data filter expects an integer value")?;
                sel.filters.push((kind, idx, op, v));
                i += 3;
            } else {
                return Err(format!(
                    "unexpected '{w}' (expects 'key <key>' or 'data.<type> <op> <value>')"
                ));
            }
        }
        Ok(sel)
    }

    /// Whether `e` is selected.
    pub fn matches(&self, table: &Table, e: &Entry, now: u64) -> bool {
        if self.key.as_ref().is_some_and(|k| k != e.key()) {
            return false;
        }
        if self.ptr.is_some_and(|p| p != e as *const Entry as usize) {
            return false;
        }
        self.filters.iter().all(|(kind, idx, op, v)| {
            table
                .read(e, *kind, *idx, now)
                .is_some_and(|x| op.holds(x, *v))
        })
    }
}

/// `# table: NAME, type: TYPE, size:SIZE, used:N`, with its newline.
pub fn header(table: &Table, out: &mut String) {
    let d = table.def();
    let _ = writeln!(
        out,
        "# table: {}, type: {}, size:{}, used:{}",
        d.name,
        d.key.name(),
        d.size,
        table.used()
    );
}

/// One entry's line: `0x...: key=K use=N exp=MS shard=0 data...`, with its newline.
pub fn entry_line(table: &Table, e: &Entry, now: u64, out: &mut String) {
    let _ = write!(
        out,
        "{:p}: key={} use={} exp={} shard=0",
        e as *const Entry,
        e.key(),
        e.refs(),
        table.remaining(e, now)
    );
    table.render_data(e, now, out);
    out.push('\n');
}

/// `show table <name> [filters]`: the header and the selected entries.
pub fn show(table: &Table, sel: &Selection, now: u64) -> String {
    let entries = table.entries(now);
    let mut out = String::new();
    header(table, &mut out);
    for e in entries.iter().filter(|e| sel.matches(table, e, now)) {
        entry_line(table, e, now, &mut out);
    }
    out
}

/// `clear table <name> [filters]`: removes the selected entries no tracker holds; returns
/// how many went.
pub fn clear(table: &Table, sel: &Selection, now: u64) -> usize {
    table
        .entries(now)
        .iter()
        .filter(|e| sel.matches(table, e, now))
        .filter(|e| table.remove(e.key()))
        .count()
}

/// `set table <name> key <k> [data.<type> <value>]...`: creates the entry if needed and
/// sets the given values.
pub fn set(table: &Table, words: &[&str], now: u64) -> Result<(), String> {
    let (Some(&"key"), Some(k)) = (words.first(), words.get(1)) else {
        return Err("'set table' expects 'key <key>' then 'data.<type> <value>' pairs".into());
    };
    let key = table
        .def()
        .key
        .parse(k)
        .ok_or_else(|| format!("'{k}' is not a valid key for this table"))?;
    let mut updates = Vec::new();
    let mut rest = words.get(2..).unwrap_or(&[]).iter();
    while let Some(w) = rest.next() {
        let (kind, idx) =
            data_name(w).ok_or_else(|| format!("unexpected '{w}' (expects data.<type>)"))?;
        if !table.stores(kind) {
            return Err(format!(
                "data type '{}' is not stored in table '{}'",
                kind.name(),
                table.name()
            ));
        }
        let v = rest
            .next()
            .and_then(|v| v.parse::<i64>().ok())
            .ok_or_else(|| format!("'{w}' expects an integer value"))?;
        updates.push((kind, idx, v));
    }
    let e = table
        .get_or_create(&key, now)
        .ok_or("the table is full and no entry can be evicted")?;
    for (kind, idx, v) in updates {
        table.set(&e, kind, idx, v, now);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::def::TableDef;
    use crate::key::KeyType;
    use crate::table::Tracker;
    use std::sync::Arc;

    fn table() -> Arc<Table> {
        let mut def = TableDef::new("be1", KeyType::Ip, 20);
        def.expire = Some(60_000);
        def.set_store("conn_cur,http_req_rate(10s),gpc0").unwrap();
        Arc::new(Table::new(def))
    }

    fn strip_addresses(text: &str) -> String {
        text.lines()
            .map(|l| match l.split_once(": key=") {
                Some((_, rest)) => format!("PTR: key={rest}"),
                None => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn show_prints_haproxy_lines() {
        let t = table();
        set(&t, &["key", "192.0.2.2", "data.gpc0", "5"], 1000).unwrap();
        let tr = Tracker::start(
            &t,
            &"192.0.2.1"
                .parse::<std::net::Ipv4Addr>()
                .map(Key::Ipv4)
                .unwrap(),
            1000,
        )
        .unwrap();
        t.add_each(tr.entry(), &[DataType::HttpReqRate], 1, 1000);
        let text = show(&t, &Selection::default(), 1500);
        assert_eq!(
            strip_addresses(&text),
            "# table: be1, type: ip, size:20, used:2\n\
             PTR: key=192.0.2.1 use=1 exp=59500 shard=0 gpc0=0 conn_cur=1 http_req_rate(10000)=1\n\
             PTR: key=192.0.2.2 use=0 exp=59500 shard=0 gpc0=5 conn_cur=0 http_req_rate(10000)=0"
        );
        assert!(text.starts_with("# table: be1"));
        assert!(text.lines().nth(1).is_some_and(|l| l.starts_with("0x")));
    }

    #[test]
    fn filters_select_entries() {
        let t = table();
        set(&t, &["key", "192.0.2.1", "data.gpc0", "1"], 0).unwrap();
        set(&t, &["key", "192.0.2.2", "data.gpc0", "7"], 0).unwrap();
        let sel = Selection::parse(&t, &["data.gpc0", "gt", "3"]).unwrap();
        let text = show(&t, &sel, 0);
        assert_eq!(text.lines().count(), 2);
        assert!(text.contains("key=192.0.2.2"));
        let sel = Selection::parse(&t, &["key", "192.0.2.1"]).unwrap();
        let one = show(&t, &sel, 0);
        assert!(one.contains("key=192.0.2.1"));
        let ptr = one
            .lines()
            .nth(1)
            .and_then(|l| l.split(':').next())
            .unwrap();
        let sel = Selection::parse(&t, &["ptr", ptr]).unwrap();
        assert_eq!(show(&t, &sel, 0), one);
        assert!(Selection::parse(&t, &["data.conn_rate", "gt", "3"]).is_err());
        assert!(Selection::parse(&t, &["data.gpc0", "zz", "3"]).is_err());
    }

    #[test]
    fn clear_removes_what_no_tracker_holds() {
        let t = table();
        set(&t, &["key", "192.0.2.1"], 0).unwrap();
        let k: Key = t.def().key.parse("192.0.2.2").unwrap();
        let held = Tracker::start(&t, &k, 0).unwrap();
        assert_eq!(clear(&t, &Selection::default(), 0), 1);
        assert_eq!(t.used(), 1);
        drop(held);
        assert_eq!(
            clear(&t, &Selection::parse(&t, &["key", "192.0.2.2"]).unwrap(), 0),
            1
        );
        assert_eq!(t.used(), 0);
    }

    #[test]
    fn set_checks_its_arguments() {
        let t = table();
        assert!(set(&t, &["key"], 0).is_err());
        assert!(set(&t, &["key", "nope"], 0).is_err());
        assert!(set(&t, &["key", "192.0.2.1", "data.sess_cnt", "1"], 0).is_err());
        assert!(set(&t, &["key", "192.0.2.1", "data.gpc0", "x"], 0).is_err());
    }
}
