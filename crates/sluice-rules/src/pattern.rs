//! Matching methods (`-m str`, `-m beg`, `-m ip`...) and compiled pattern sets, shared by
//! ACLs and map files.
//!
//! Patterns are prepared once: exact strings in a sorted vector (binary search), prefixes and
//! suffixes grouped by length, `-i` patterns lowercased, regexes compiled, addresses as
//! networks. Lookups never allocate.

use crate::problem::{compile_regex, Problem};
use crate::sample::Value;
use ipnet::IpNet;
use regex::bytes::Regex;
use std::cmp::Ordering;
use std::net::IpAddr;

/// How samples are compared with patterns (`-m <method>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MatchMethod {
    /// The sample exists.
    Found,
    /// The sample is true or non-zero.
    Bool,
    /// Integer ranges.
    Int,
    /// Addresses and networks.
    Ip,
    /// Hexadecimal byte strings.
    Bin,
    /// The sample's length against integer ranges.
    Len,
    /// Exact string.
    Str,
    /// Substring.
    Sub,
    /// Regular expression.
    Reg,
    /// Prefix.
    Beg,
    /// Suffix.
    End,
    /// Slash-delimited part.
    Dir,
    /// Dot-delimited part.
    Dom,
}

impl MatchMethod {
    /// The method named `name` (`-m <name>`, a criterion suffix, a map kind).
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "found" => Self::Found,
            "bool" => Self::Bool,
            "int" => Self::Int,
            "ip" => Self::Ip,
            "bin" => Self::Bin,
            "len" => Self::Len,
            "str" => Self::Str,
            "sub" => Self::Sub,
            "reg" => Self::Reg,
            "beg" => Self::Beg,
            "end" => Self::End,
            "dir" => Self::Dir,
            "dom" => Self::Dom,
            _ => return None,
        })
    }

    /// The method's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Found => "found",
            Self::Bool => "bool",
            Self::Int => "int",
            Self::Ip => "ip",
            Self::Bin => "bin",
            Self::Len => "len",
            Self::Str => "str",
            Self::Sub => "sub",
            Self::Reg => "reg",
            Self::Beg => "beg",
            Self::End => "end",
            Self::Dir => "dir",
            Self::Dom => "dom",
        }
    }

    /// Whether the method compares text (and so honours `-i`).
    pub fn is_textual(self) -> bool {
        matches!(
            self,
            Self::Str | Self::Sub | Self::Reg | Self::Beg | Self::End | Self::Dir | Self::Dom
        )
    }
}

/// A pattern with its position in the list (a map uses it to find the value).
type Keyed = (Box<[u8]>, u32);

/// A compiled list of patterns for one method.
#[derive(Debug)]
pub struct PatternSet {
    method: MatchMethod,
    ignore_case: bool,
    store: Store,
    len: usize,
}

#[derive(Debug)]
enum Store {
    None,
    /// Sorted by (key, index).
    Exact(Vec<Keyed>),
    /// (length, keys of that length sorted by (key, index)), longest first.
    ByLen(Vec<(usize, Vec<Keyed>)>),
    /// In order.
    List(Vec<Keyed>),
    Regex(Vec<(Regex, u32)>),
    Ranges(Vec<(i64, i64, u32)>),
    Nets(Vec<(IpNet, u32)>),
}

/// The matching strategy's view of one sample.
pub enum Subject<'s> {
    /// Text or bytes.
    Bytes(&'s [u8]),
    /// An integer.
    Int(i64),
    /// An address.
    Ip(IpAddr),
}

impl PatternSet {
    /// Compiles `patterns` for `method`. Errors name the bad pattern.
    pub fn new<'p>(
        method: MatchMethod,
        ignore_case: bool,
        patterns: impl IntoIterator<Item = &'p str>,
    ) -> Result<Self, String> {
        Self::compile(method, ignore_case, patterns).map_err(|p| p.message)
    }

    /// [`new`](Self::new), keeping the category of the failure.
    pub(crate) fn compile<'p>(
        method: MatchMethod,
        ignore_case: bool,
        patterns: impl IntoIterator<Item = &'p str>,
    ) -> Result<Self, Problem> {
        let mut keyed: Vec<Keyed> = Vec::new();
        let mut regexes = Vec::new();
        let mut ranges = Vec::new();
        let mut nets = Vec::new();
        let mut pending_op: Option<&str> = None;
        let mut count = 0usize;
        for (i, p) in patterns.into_iter().enumerate() {
            let idx = u32::try_from(i).unwrap_or(u32::MAX);
            match method {
                MatchMethod::Found | MatchMethod::Bool => {}
                MatchMethod::Int | MatchMethod::Len => {
                    if matches!(p, "eq" | "ge" | "gt" | "le" | "lt") {
                        pending_op = Some(p);
                        continue;
                    }
                    let (lo, hi) = parse_range(p, pending_op.take()).map_err(Problem::syntax)?;
                    ranges.push((lo, hi, idx));
                }
                MatchMethod::Ip => nets.push((parse_net_or_host(p)?, idx)),
                MatchMethod::Bin => {
                    keyed.push((parse_hex(p).map_err(Problem::syntax)?.into(), idx))
                }
                MatchMethod::Reg => {
                    let re = compile_regex(p, ignore_case, false)?;
                    regexes.push((re, idx));
                }
                MatchMethod::Dir | MatchMethod::Dom => {
                    let delims = delimiters(method);
                    let trimmed =
                        p.trim_matches(|c: char| c.is_ascii() && delims.contains(&(c as u8)));
                    keyed.push((fold(trimmed.as_bytes(), ignore_case), idx));
                }
                _ => keyed.push((fold(p.as_bytes(), ignore_case), idx)),
            }
            count += 1;
        }
        if let Some(op) = pending_op {
            return Err(Problem::syntax(format!(
                "operator '{op}' is missing its value"
            )));
        }
        let store = match method {
            MatchMethod::Found | MatchMethod::Bool => Store::None,
            MatchMethod::Int | MatchMethod::Len => Store::Ranges(ranges),
            MatchMethod::Ip => Store::Nets(nets),
            MatchMethod::Reg => Store::Regex(regexes),
            MatchMethod::Str | MatchMethod::Bin => {
                keyed.sort();
                Store::Exact(keyed)
            }
            MatchMethod::Beg | MatchMethod::End => {
                let mut groups: Vec<(usize, Vec<Keyed>)> = Vec::new();
                for k in keyed {
                    let len = k.0.len();
                    match groups.iter_mut().find(|(l, _)| *l == len) {
                        Some((_, g)) => g.push(k),
                        None => groups.push((len, vec![k])),
                    }
                }
                for (_, g) in &mut groups {
                    g.sort();
                }
                groups.sort_by_key(|g| std::cmp::Reverse(g.0));
                Store::ByLen(groups)
            }
            MatchMethod::Sub | MatchMethod::Dir | MatchMethod::Dom => Store::List(keyed),
        };
        Ok(Self {
            method,
            ignore_case: ignore_case && method.is_textual(),
            store,
            len: count,
        })
    }

    /// The matching method.
    pub fn method(&self) -> MatchMethod {
        self.method
    }

    /// Number of patterns.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there is no pattern.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether `value` matches.
    pub fn matches(&self, value: &Value<'_>) -> bool {
        match self.method {
            MatchMethod::Found => true,
            MatchMethod::Bool => value.to_bool().unwrap_or(false),
            _ => self.lookup(value).is_some(),
        }
    }

    /// The index of the pattern `value` matches: for maps, the longest prefix (`beg`), the
    /// most specific network (`ip`), otherwise the first in list order.
    pub fn lookup(&self, value: &Value<'_>) -> Option<u32> {
        match self.subject(value)? {
            Subject::Bytes(b) => self.lookup_bytes(b),
            Subject::Int(i) => self.lookup_int(i),
            Subject::Ip(ip) => self.lookup_ip(ip),
        }
    }

    /// Like [`lookup`](Self::lookup) for regex sets, also returning the regex (for `map_regm`).
    pub fn lookup_regex(&self, sample: &[u8]) -> Option<(&Regex, u32)> {
        match &self.store {
            Store::Regex(list) => list
                .iter()
                .find(|(re, _)| re.is_match(sample))
                .map(|(re, i)| (re, *i)),
            _ => None,
        }
    }

    fn subject<'v>(&self, value: &'v Value<'_>) -> Option<Subject<'v>> {
        match self.method {
            MatchMethod::Int => value.to_int().map(Subject::Int),
            MatchMethod::Len => match value {
                Value::Str(s) | Value::Bin(s) | Value::Meth(s) => {
                    Some(Subject::Int(i64::try_from(s.len()).unwrap_or(i64::MAX)))
                }
                other => {
                    // Integers and addresses are measured as text.
                    let text = other.clone().to_str()?;
                    Some(Subject::Int(i64::try_from(text.as_bytes()?.len()).ok()?))
                }
            },
            MatchMethod::Ip => value.to_ip().map(Subject::Ip),
            _ => match value {
                Value::Str(s) | Value::Bin(s) | Value::Meth(s) => Some(Subject::Bytes(s)),
                // Numbers and addresses match string patterns through their text; rare in
                // ACLs, so the lookup allocates.
                _ => None,
            },
        }
    }

    fn lookup_bytes(&self, s: &[u8]) -> Option<u32> {
        let ci = self.ignore_case;
        match &self.store {
            Store::Exact(keys) => find_exact(keys, s, ci),
            Store::ByLen(groups) => match self.method {
                MatchMethod::Beg => groups
                    .iter()
                    .find_map(|(len, keys)| find_exact(keys, s.get(..*len)?, ci)),
                _ => groups
                    .iter()
                    .filter_map(|(len, keys)| {
                        find_exact(keys, s.get(s.len().checked_sub(*len)?..)?, ci)
                    })
                    .min(),
            },
            Store::List(keys) => {
                let delims = delimiters(self.method);
                keys.iter()
                    .find(|(k, _)| match self.method {
                        MatchMethod::Sub => find_sub(s, k, ci).is_some(),
                        _ => match_word(s, k, ci, delims),
                    })
                    .map(|(_, i)| *i)
            }
            Store::Regex(list) => list.iter().find(|(re, _)| re.is_match(s)).map(|(_, i)| *i),
            _ => None,
        }
    }

    fn lookup_int(&self, v: i64) -> Option<u32> {
        match &self.store {
            Store::Ranges(r) => r
                .iter()
                .find(|(lo, hi, _)| *lo <= v && v <= *hi)
                .map(|(_, _, i)| *i),
            _ => None,
        }
    }

    fn lookup_ip(&self, ip: IpAddr) -> Option<u32> {
        let Store::Nets(nets) = &self.store else {
            return None;
        };
        let ip = canonical(ip);
        nets.iter()
            .filter(|(n, _)| n.contains(&ip))
            .max_by(|a, b| a.0.prefix_len().cmp(&b.0.prefix_len()).then(b.1.cmp(&a.1)))
            .map(|(_, i)| *i)
    }
}

/// `::ffff:a.b.c.d` is matched as `a.b.c.d`, as HAProxy does.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn fold(bytes: &[u8], ignore_case: bool) -> Box<[u8]> {
    if ignore_case {
        bytes.to_ascii_lowercase().into()
    } else {
        bytes.into()
    }
}

/// Compares a stored key (lowercased when `ci`) with a sample.
fn cmp_key(key: &[u8], sample: &[u8], ci: bool) -> Ordering {
    if !ci {
        return key.cmp(sample);
    }
    let n = key.len().min(sample.len());
    for (a, b) in key.iter().zip(sample.iter()).take(n) {
        match a.cmp(&b.to_ascii_lowercase()) {
            Ordering::Equal => {}
            other => return other,
        }
    }
    key.len().cmp(&sample.len())
}

fn find_exact(keys: &[Keyed], sample: &[u8], ci: bool) -> Option<u32> {
    let at = keys.partition_point(|(k, _)| cmp_key(k, sample, ci) == Ordering::Less);
    keys.get(at)
        .filter(|(k, _)| cmp_key(k, sample, ci) == Ordering::Equal)
        .map(|(_, i)| *i)
}

fn eq_bytes(a: &[u8], b: &[u8], ci: bool) -> bool {
    if ci {
        a.eq_ignore_ascii_case(b)
    } else {
        a == b
    }
}

/// Position of `needle` in `hay`.
pub(crate) fn find_sub(hay: &[u8], needle: &[u8], ci: bool) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    if needle.len() > hay.len() {
        return None;
    }
    if !ci {
        return hay.windows(needle.len()).position(|w| w == needle);
    }
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

fn delimiters(method: MatchMethod) -> &'static [u8] {
    match method {
        MatchMethod::Dir => b"/?",
        MatchMethod::Dom => b"/?.:",
        _ => b"",
    }
}

/// Whether `word` appears in `s` bounded by delimiters or the ends.
fn match_word(s: &[u8], word: &[u8], ci: bool, delims: &[u8]) -> bool {
    if word.is_empty() || word.len() > s.len() {
        return false;
    }
    let last = s.len() - word.len();
    (0..=last).any(|start| {
        let before_ok = start == 0 || s.get(start - 1).is_some_and(|c| delims.contains(c));
        let end = start + word.len();
        let after_ok = end == s.len() || s.get(end).is_some_and(|c| delims.contains(c));
        before_ok && after_ok && s.get(start..end).is_some_and(|w| eq_bytes(w, word, ci))
    })
}

/// `N`, `N:M`, `:M`, `N:`, or `N` after an operator (`gt 10`).
fn parse_range(p: &str, op: Option<&str>) -> Result<(i64, i64), String> {
    let bad = || format!("'{p}' is not a valid integer or range");
    let num = |s: &str| s.trim().parse::<i64>().map_err(|_| bad());
    if let Some(op) = op {
        let v = num(p)?;
        return Ok(match op {
            "eq" => (v, v),
            "ge" => (v, i64::MAX),
            "gt" => (v.saturating_add(1), i64::MAX),
            "le" => (i64::MIN, v),
            _ => (i64::MIN, v.saturating_sub(1)),
        });
    }
    // HAProxy separates a range with ':' or '-' (`100-200`); a leading '-' stays a sign.
    let dash = p
        .get(1..)
        .and_then(|rest| rest.find('-'))
        .map(|i| (p.get(..=i).unwrap_or(p), p.get(i + 2..).unwrap_or("")));
    match p.split_once(':').or(dash) {
        Some((lo, hi)) => {
            let lo = if lo.is_empty() { i64::MIN } else { num(lo)? };
            let hi = if hi.is_empty() { i64::MAX } else { num(hi)? };
            if lo > hi {
                return Err(bad());
            }
            Ok((lo, hi))
        }
        None => {
            // Versions such as `1.1` compare on their integer part, as HAProxy reads them.
            let v = num(p.split('.').next().unwrap_or(p))?;
            Ok((v, v))
        }
    }
}

/// An IP pattern as HAProxy reads it while starting: an address or network, or a host name
/// (optionally with a mask) that the system resolver turns into its first IPv4 address
/// (`str2net()` with resolution on). A name that does not resolve is the machine's problem
/// (environment); text that cannot be a name is a syntax error.
pub(crate) fn parse_net_or_host(p: &str) -> Result<IpNet, Problem> {
    let bad = match parse_net(p) {
        Ok(net) => return Ok(net),
        Err(bad) => bad,
    };
    let (host, mask) = match p.split_once('/') {
        Some((h, m)) => (h, Some(m)),
        None => (p, None),
    };
    if !is_host_name(host) {
        return Err(Problem::syntax(bad));
    }
    let unresolvable = |why: String| {
        Problem::new(
            sluice_config::Category::Environment,
            Some(HOST_UNRESOLVABLE),
            format!("{bad} (host name '{host}' {why})"),
        )
        .with_help(format!(
            "make '{host}' resolvable on this machine (DNS or /etc/hosts), or write its address"
        ))
    };
    let v4 = std::net::ToSocketAddrs::to_socket_addrs(&(host, 0u16))
        .map_err(|e| unresolvable(format!("does not resolve: {e}")))?
        .find_map(|a| match a.ip() {
            IpAddr::V4(v4) => Some(v4),
            IpAddr::V6(_) => None,
        })
        .ok_or_else(|| unresolvable("has no IPv4 address".into()))?;
    let text = match mask {
        Some(m) => format!("{v4}/{m}"),
        None => v4.to_string(),
    };
    parse_net(&text).map_err(|_| Problem::syntax(bad))
}

/// The code of an IP pattern naming a host that the system resolver cannot resolve.
pub const HOST_UNRESOLVABLE: &str = "acl-host-unresolvable";

/// Text that can be a DNS host name (letters, digits, `-`, `_`, `.`, with at least one letter).
pub fn is_host_name(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.bytes().any(|b| b.is_ascii_alphabetic())
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// An address or network; masks as prefix lengths or dotted quads.
pub(crate) fn parse_net(p: &str) -> Result<IpNet, String> {
    let bad = || format!("'{p}' is not a valid IPv4 or IPv6 address");
    let (addr, mask) = match p.split_once('/') {
        Some((a, m)) => (a, Some(m)),
        None => (p, None),
    };
    let ip: IpAddr = addr.parse().map_err(|_| bad())?;
    let ip = canonical(ip);
    let prefix = match (mask, ip) {
        (None, IpAddr::V4(_)) => 32,
        (None, IpAddr::V6(_)) => 128,
        (Some(m), _) => match m.parse::<u8>() {
            Ok(len) => len,
            Err(_) => {
                let dotted: std::net::Ipv4Addr = m.parse().map_err(|_| bad())?;
                let bits = u32::from(dotted);
                if bits.leading_ones() + bits.trailing_zeros() != 32 {
                    return Err(bad());
                }
                u8::try_from(bits.leading_ones()).map_err(|_| bad())?
            }
        },
    };
    IpNet::new(ip, prefix).map(|n| n.trunc()).map_err(|_| bad())
}

fn parse_hex(p: &str) -> Result<Vec<u8>, String> {
    crate::sample::conv::hex_decode(p.as_bytes())
        .ok_or_else(|| format!("'{p}' is not a valid hexadecimal binary pattern"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(method: &str, ci: bool, pats: &[&str]) -> PatternSet {
        PatternSet::new(
            MatchMethod::parse(method).unwrap(),
            ci,
            pats.iter().copied(),
        )
        .unwrap()
    }

    fn m(set: &PatternSet, s: &str) -> bool {
        set.matches(&Value::str(s.as_bytes()))
    }

    #[test]
    fn exact_prefix_suffix_and_substring() {
        let s = set("str", false, &["b", "a", "c"]);
        assert!(m(&s, "a") && m(&s, "c") && !m(&s, "A") && !m(&s, "d"));
        let beg = set("beg", false, &["/api/", "/static/"]);
        assert!(m(&beg, "/api/v1") && !m(&beg, "/ap"));
        let end = set("end", false, &[".jpg", ".css"]);
        assert!(m(&end, "/x.css") && !m(&end, "/x.cs"));
        let sub = set("sub", false, &["adm"]);
        assert!(m(&sub, "/x/admin") && !m(&sub, "/x"));
    }

    #[test]
    fn ignore_case_folds_patterns_and_samples() {
        let s = set("str", true, &["Api.Example.COM"]);
        assert!(m(&s, "api.example.com") && m(&s, "API.EXAMPLE.com"));
        let beg = set("beg", true, &["/API"]);
        assert!(m(&beg, "/api/x"));
        let reg = set("reg", true, &["^/ADMIN"]);
        assert!(m(&reg, "/admin"));
    }

    #[test]
    fn dir_and_dom_need_delimiters() {
        let dir = set("dir", false, &["png/logo"]);
        assert!(m(&dir, "/images/png/logo/32x32.png"));
        assert!(!m(&set("dir", false, &["png"]), "/images/pngx/logo"));
        let dom = set("dom", false, &["example", ".www1"]);
        assert!(m(&dom, "http://www1.dc-eu.example.com:80/blah"));
        assert!(!m(
            &set("dom", false, &["eu"]),
            "http://www1.dc-eu.example.com:80/"
        ));
    }

    #[test]
    fn integer_ranges_and_operators() {
        let s = set("int", false, &["10:20", "gt", "100", ":0"]);
        let i = |v| s.matches(&Value::Sint(v));
        assert!(i(10) && i(20) && i(101) && i(-5));
        assert!(!i(21) && !i(100));
        let len = set("len", false, &["3"]);
        assert!(m(&len, "abc") && !m(&len, "ab"));
        let dashed = set("int", false, &["100-200", "-5"]);
        let d = |v| dashed.matches(&Value::Sint(v));
        assert!(d(100) && d(150) && d(200) && d(-5));
        assert!(!d(99) && !d(201) && !d(5));
    }

    #[test]
    fn networks_and_mapped_addresses() {
        let s = set(
            "ip",
            false,
            &["10.0.0.0/8", "192.168.1.0/255.255.255.0", "::1"],
        );
        let ip = |t: &str| s.matches(&Value::Ip(t.parse().unwrap()));
        assert!(ip("10.1.2.3") && ip("192.168.1.9") && ip("::1") && ip("::ffff:10.0.0.1"));
        assert!(!ip("11.0.0.1") && !ip("192.168.2.1"));
        assert!(m(&s, "10.9.9.9"), "strings are parsed as addresses");
        assert!(PatternSet::new(MatchMethod::Ip, false, ["300.1.1.1"]).is_err());
    }

    #[test]
    fn found_bool_and_bin() {
        assert!(set("found", false, &[]).matches(&Value::str(b"")));
        let b = set("bool", false, &[]);
        assert!(b.matches(&Value::Sint(2)) && !b.matches(&Value::Bool(false)));
        let bin = set("bin", false, &["3C7461673E"]);
        assert!(m(&bin, "<tag>"));
    }

    #[test]
    fn map_lookups_pick_longest_prefix_and_most_specific_network() {
        let beg = set("beg", false, &["/a", "/a/b", "/"]);
        assert_eq!(beg.lookup(&Value::str(b"/a/b/c")), Some(1));
        let ip = set("ip", false, &["10.0.0.0/8", "10.1.0.0/16"]);
        assert_eq!(ip.lookup(&Value::Ip("10.1.2.3".parse().unwrap())), Some(1));
    }
}
