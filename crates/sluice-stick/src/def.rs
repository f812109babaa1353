//! Table definitions from the configuration: a `stick-table` line in a frontend, backend or
//! listen section (the table takes the proxy's name), or a `table <name>` line in a `peers`
//! section (named `<peers>/<name>`).

use crate::data::{DataType, Shape, Stored, ALL};
use crate::key::{KeyType, DEFAULT_KEY_LEN};
use sluice_config::{Category, Diagnostic, Diagnostics, Location, SectionKind, Statement};
use sluice_model::units::{parse_size, parse_time, TimeUnit};
use sluice_model::Model;

/// The largest array `gpt(N)`/`gpc(N)` accepts (HAProxy's limit).
pub const MAX_ARRAY: usize = 100;

/// Where a `server_key` (`srvkey`) points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SrvKey {
    /// The server's name (the default).
    Name,
    /// The server's address.
    Addr,
}

/// One table as configured.
#[derive(Clone, Debug)]
pub struct TableDef {
    /// The name rules and the runtime API use.
    pub name: String,
    /// The key type.
    pub key: KeyType,
    /// The most entries it holds.
    pub size: usize,
    /// How long an untouched entry lives, in milliseconds; `None`: forever.
    pub expire: Option<u64>,
    /// When full, refuse new keys instead of evicting old ones.
    pub nopurge: bool,
    /// Stored data types, in HAProxy's order.
    pub stored: Vec<Stored>,
    /// `peers <section>`: the section whose peers the table is synchronised with.
    pub peers: Option<String>,
    /// `srvkey`.
    pub srvkey: SrvKey,
    /// `write-to <table>` (accepted; used with peers only).
    pub write_to: Option<String>,
    /// `recv-only` (accepted; used with peers only).
    pub recv_only: bool,
    /// The line that defines it.
    pub location: Option<Location>,
}

impl TableDef {
    /// A table with no data type, no expiry.
    pub fn new(name: &str, key: KeyType, size: usize) -> TableDef {
        TableDef {
            name: name.to_string(),
            key,
            size,
            expire: None,
            nopurge: false,
            stored: Vec::new(),
            peers: None,
            srvkey: SrvKey::Name,
            write_to: None,
            recv_only: false,
            location: None,
        }
    }

    /// Where `kind` is among the stored types.
    pub fn position(&self, kind: DataType) -> Option<usize> {
        self.stored.iter().position(|s| s.kind == kind)
    }

    /// Adds the data types of a `store` argument (`gpc0,http_req_rate(10s),gpc(3)`).
    pub fn set_store(&mut self, list: &str) -> Result<(), String> {
        for item in split_store(list) {
            let stored = parse_stored(&item)?;
            if self.position(stored.kind).is_none() {
                self.stored.push(stored);
            }
        }
        self.stored.sort_by_key(|s| s.kind.index());
        Ok(())
    }
}

/// Splits `a,b(1,2),c` on the commas outside parentheses.
fn split_store(list: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0u32;
    for c in list.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out.into_iter().filter(|s| !s.is_empty()).collect()
}

fn period(text: &str, name: &str) -> Result<u64, String> {
    match parse_time(text.trim(), TimeUnit::Millis) {
        Ok(t) if t.trailing.is_none() && !t.duration.is_zero() => Ok(t.duration.as_millis() as u64),
        _ => Err(format!(
            "data type '{name}': '{text}' is not a valid period (a time such as 10s)"
        )),
    }
}

fn count(text: &str, name: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_ARRAY).contains(&n) => Ok(n),
        _ => Err(format!(
            "data type '{name}': '{text}' is not a valid number of elements (1 to {MAX_ARRAY})"
        )),
    }
}

/// One `store` item: `conn_cnt`, `http_req_rate(10s)`, `gpc(3)`, `gpc_rate(3,10s)`.
fn parse_stored(item: &str) -> Result<Stored, String> {
    let (name, args) = match item.split_once('(') {
        Some((n, rest)) => {
            let inner = rest
                .strip_suffix(')')
                .ok_or_else(|| format!("data type '{n}': missing ')'"))?;
            (n, Some(inner))
        }
        None => (item, None),
    };
    let kind = DataType::parse(name).ok_or_else(|| {
        let known: Vec<&str> = ALL.iter().map(|d| d.name()).collect();
        format!(
            "unknown data type '{name}' (expects one of {})",
            known.join(", ")
        )
    })?;
    let mut stored = Stored {
        kind,
        period: 0,
        count: 1,
    };
    match (kind, args) {
        (DataType::GpcRate, Some(a)) => {
            let (n, p) = a
                .split_once(',')
                .ok_or_else(|| format!("data type '{name}' expects (<count>,<period>)"))?;
            stored.count = count(n, name)?;
            stored.period = period(p, name)?;
        }
        (DataType::Gpt | DataType::Gpc, Some(a)) => stored.count = count(a, name)?,
        (k, Some(a)) if k.shape() == Shape::Rate => stored.period = period(a, name)?,
        (k, None) if k.shape() == Shape::Rate || k.is_array() => {
            return Err(format!(
                "data type '{name}' expects {}",
                if k == DataType::GpcRate {
                    "(<count>,<period>)"
                } else if k.is_array() {
                    "(<count>)"
                } else {
                    "a period, e.g. (10s)"
                }
            ))
        }
        (_, Some(_)) => return Err(format!("data type '{name}' takes no argument")),
        (_, None) => {}
    }
    Ok(stored)
}

/// Parses the words after `stick-table` (or after `table <name>`).
pub fn parse(name: &str, words: &[&str], location: Location) -> Result<TableDef, String> {
    let mut key = None;
    let mut size = None;
    let mut def = TableDef::new(name, KeyType::Ip, 0);
    def.location = Some(location);
    let mut i = 0;
    let value = |i: usize, what: &str| {
        words
            .get(i + 1)
            .copied()
            .ok_or_else(|| format!("'{}' expects {what}", words[i]))
    };
    while i < words.len() {
        match words[i] {
            "type" => {
                let t = value(i, "a key type (ip, ipv6, integer, string, binary)")?;
                i += 1;
                let with_len = |i: &mut usize| -> Result<usize, String> {
                    if words.get(*i + 1) == Some(&"len") {
                        let n = words.get(*i + 2).ok_or("'len' expects a length")?;
                        *i += 2;
                        n.parse::<usize>()
                            .ok()
                            .filter(|n| *n > 0)
                            .ok_or_else(|| format!("'len': '{n}' is not a valid length"))
                    } else {
                        Ok(DEFAULT_KEY_LEN)
                    }
                };
                key = Some(match t {
                    "ip" => KeyType::Ip,
                    "ipv6" => KeyType::Ipv6,
                    "integer" => KeyType::Integer,
                    "string" => KeyType::String {
                        len: with_len(&mut i)?,
                    },
                    "binary" => KeyType::Binary {
                        len: with_len(&mut i)?,
                    },
                    other => {
                        return Err(format!(
                            "'type': unknown key type '{other}' (expects ip, ipv6, integer, string or binary)"
                        ))
                    }
                });
            }
            "size" => {
                let v = value(i, "a size")?;
                i += 1;
                size = Some(
                    parse_size(v)
                        .map_err(|_| format!("'size': '{v}' is not a valid size (e.g. 100k)"))?
                        as usize,
                );
            }
            "expire" => {
                let v = value(i, "a time")?;
                i += 1;
                def.expire = Some(match parse_time(v, TimeUnit::Millis) {
                    Ok(t) if t.trailing.is_none() => t.duration.as_millis() as u64,
                    _ => return Err(format!("'expire': '{v}' is not a valid time (e.g. 30s)")),
                });
            }
            "store" => {
                let v = value(i, "a list of data types")?;
                i += 1;
                def.set_store(v).map_err(|e| format!("'store': {e}"))?;
            }
            "peers" => {
                def.peers = Some(value(i, "a peers section name")?.to_string());
                i += 1;
            }
            "write-to" => {
                def.write_to = Some(value(i, "a table name")?.to_string());
                i += 1;
            }
            "srvkey" => {
                def.srvkey = match value(i, "'name' or 'addr'")? {
                    "name" => SrvKey::Name,
                    "addr" => SrvKey::Addr,
                    other => return Err(format!("'srvkey': expects 'name' or 'addr', got '{other}'")),
                };
                i += 1;
            }
            "nopurge" => def.nopurge = true,
            "recv-only" => def.recv_only = true,
            other => {
                return Err(format!(
                    "unexpected '{other}' (expects type, size, expire, nopurge, peers, srvkey, write-to, store or recv-only)"
                ))
            }
        }
        i += 1;
    }
    def.key = key.ok_or("missing 'type' (ip, ipv6, integer, string or binary)")?;
    def.size = size.ok_or("missing 'size'")?;
    if def.size == 0 {
        return Err("'size' must be greater than 0".into());
    }
    Ok(def)
}

fn words(st: &Statement, from: usize) -> Vec<&str> {
    st.words
        .get(from..)
        .unwrap_or(&[])
        .iter()
        .map(|w| w.text.as_str())
        .collect()
}

/// Every table the configuration defines, in a stable order (proxies, then peers
/// sections), with the findings about their lines: errors for what cannot be parsed.
pub fn from_model(model: &Model) -> (Vec<TableDef>, Diagnostics) {
    let mut defs = Vec::new();
    let mut found = Diagnostics::new();
    let add = |r: Result<TableDef, String>,
               st: &Statement,
               defs: &mut Vec<TableDef>,
               found: &mut Diagnostics| match r {
        Ok(def) => defs.push(def),
        Err(e) => found.push(
            Diagnostic::error(
                Category::Syntax,
                "stick-table-invalid",
                format!("'{}': {e}", st.keyword()),
            )
            .at(st.location),
        ),
    };
    for p in &model.proxies {
        let mut seen = false;
        for st in p.other.iter().filter(|s| s.keyword() == "stick-table") {
            if seen {
                found.push(
                    Diagnostic::error(
                        Category::Semantic,
                        "stick-table-duplicate",
                        format!("proxy '{}' has more than one 'stick-table' line", p.name),
                    )
                    .at(st.location),
                );
                continue;
            }
            seen = true;
            add(
                parse(&p.name, &words(st, 1), st.location),
                st,
                &mut defs,
                &mut found,
            );
        }
    }
    for s in model.sections_of(SectionKind::Peers) {
        for st in s.statements.iter().filter(|s| s.keyword() == "table") {
            let Some(name) = st.words.get(1) else {
                add(
                    Err("expects a table name".into()),
                    st,
                    &mut defs,
                    &mut found,
                );
                continue;
            };
            let full = format!("{}/{}", s.name, name.text);
            let mut r = parse(&full, &words(st, 2), st.location);
            if let Ok(def) = &mut r {
                def.peers = Some(s.name.clone());
            }
            add(r, st, &mut defs, &mut found);
        }
    }
    // Tables that `stick` lines use remember servers, as in HAProxy.
    for p in &model.proxies {
        for st in p.other.iter().filter(|s| s.keyword() == "stick") {
            let named = st
                .words
                .iter()
                .position(|w| w.text == "table")
                .and_then(|i| st.words.get(i + 1))
                .map_or(p.name.as_str(), |w| w.text.as_str());
            if let Some(def) = defs.iter_mut().find(|d| d.name == named) {
                // Cannot fail: both names are known data types.
                let _ = def.set_store("server_id,server_key");
            }
        }
    }
    (defs, found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(line: &str) -> Result<TableDef, String> {
        let w: Vec<&str> = line.split_whitespace().collect();
        parse("be", &w, Location::new(sluice_config::FileId(0), 1, 1, 0))
    }

    #[test]
    fn a_full_line_parses() {
        let d = p("type string len 64 size 1m expire 30s nopurge peers mypeers srvkey addr store http_req_rate(10s),conn_cur store gpc(3),gpc_rate(2,1m)").unwrap();
        assert_eq!(d.key, KeyType::String { len: 64 });
        assert_eq!(d.size, 1 << 20);
        assert_eq!(d.expire, Some(30_000));
        assert!(d.nopurge);
        assert_eq!(d.srvkey, SrvKey::Addr);
        let kinds: Vec<DataType> = d.stored.iter().map(|s| s.kind).collect();
        // HAProxy's order, not the line's.
        assert_eq!(
            kinds,
            [
                DataType::ConnCur,
                DataType::HttpReqRate,
                DataType::Gpc,
                DataType::GpcRate
            ]
        );
        assert_eq!(d.stored[1].period, 10_000);
        assert_eq!(d.stored[2].count, 3);
        assert_eq!((d.stored[3].count, d.stored[3].period), (2, 60_000));
    }

    #[test]
    fn sizes_take_suffixes_and_keys_default_lengths() {
        assert_eq!(p("type ip size 100k").unwrap().size, 102_400);
        assert_eq!(
            p("type binary size 1g").unwrap().key,
            KeyType::Binary { len: 32 }
        );
    }

    #[test]
    fn mistakes_are_explained() {
        assert!(p("size 10").unwrap_err().contains("missing 'type'"));
        assert!(p("type ip").unwrap_err().contains("missing 'size'"));
        assert!(p("type ip size 1 store foo")
            .unwrap_err()
            .contains("unknown data type 'foo'"));
        assert!(p("type ip size 1 store http_req_rate")
            .unwrap_err()
            .contains("period"));
        assert!(p("type ip size 1 store gpc0(1)")
            .unwrap_err()
            .contains("no argument"));
        assert!(p("type ipx size 1")
            .unwrap_err()
            .contains("unknown key type"));
        assert!(p("type ip size 1 bogus")
            .unwrap_err()
            .contains("unexpected 'bogus'"));
    }
}
