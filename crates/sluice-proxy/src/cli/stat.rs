//! `show stat`: HAProxy's proxy statistics, as CSV (default) or in the typed form.
//!
//! One line per frontend (`FRONTEND`), per server, per backend (`BACKEND`), with the static
//! columns of HAProxy 3.4 in their order. Sluice fills what it tracks (state, weights,
//! current connections of servers, limits, check results, identities); the other
//! counters are 0 where HAProxy would count, empty where the column does not apply.

use super::dispatch::Answer;
use super::servers::find_backend;
use super::Runtime;
use crate::backend::server::{Server, Target};
use crate::check::state::{hchk, State};
use crate::counters;
use std::collections::HashMap;
use std::sync::atomic::Ordering;

/// The static columns, in order.
pub const COLUMNS: &[&str] = &[
    "pxname",
    "svname",
    "qcur",
    "qmax",
    "scur",
    "smax",
    "slim",
    "stot",
    "bin",
    "bout",
    "dreq",
    "dresp",
    "ereq",
    "econ",
    "eresp",
    "wretr",
    "wredis",
    "status",
    "weight",
    "act",
    "bck",
    "chkfail",
    "chkdown",
    "lastchg",
    "downtime",
    "qlimit",
    "pid",
    "iid",
    "sid",
    "throttle",
    "lbtot",
    "tracked",
    "type",
    "rate",
    "rate_lim",
    "rate_max",
    "check_status",
    "check_code",
    "check_duration",
    "hrsp_1xx",
    "hrsp_2xx",
    "hrsp_3xx",
    "hrsp_4xx",
    "hrsp_5xx",
    "hrsp_other",
    "hanafail",
    "req_rate",
    "req_rate_max",
    "req_tot",
    "cli_abrt",
    "srv_abrt",
    "comp_in",
    "comp_out",
    "comp_byp",
    "comp_rsp",
    "lastsess",
    "last_chk",
    "last_agt",
    "qtime",
    "ctime",
    "rtime",
    "ttime",
    "agent_status",
    "agent_code",
    "agent_duration",
    "check_desc",
    "agent_desc",
    "check_rise",
    "check_fall",
    "check_health",
    "agent_rise",
    "agent_fall",
    "agent_health",
    "addr",
    "cookie",
    "mode",
    "algo",
    "conn_rate",
    "conn_rate_max",
    "conn_tot",
    "intercepted",
    "dcon",
    "dses",
    "wrew",
    "connect",
    "reuse",
    "cache_lookups",
    "cache_hits",
    "srv_icur",
    "src_ilim",
    "qtime_max",
    "ctime_max",
    "rtime_max",
    "ttime_max",
    "eint",
    "idle_conn_cur",
    "safe_conn_cur",
    "used_conn_cur",
    "need_conn_est",
    "uweight",
    "agg_server_status",
    "agg_server_status_check",
    "agg_check_status",
    "srid",
    "sess_other",
    "h1_sess",
    "h2_sess",
    "h3_sess",
    "req_other",
    "h1req",
    "h2req",
    "h3req",
    "proto",
    "priv_idle_cur",
];

/// Object types (HAProxy's `type` column and the filter bits).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Frontend,
    Backend,
    Server,
}

impl Kind {
    fn code(self) -> u8 {
        match self {
            Kind::Frontend => 0,
            Kind::Backend => 1,
            Kind::Server => 2,
        }
    }

    fn letter(self) -> char {
        match self {
            Kind::Frontend => 'F',
            Kind::Backend => 'B',
            Kind::Server => 'S',
        }
    }

    fn bit(self) -> i64 {
        match self {
            Kind::Frontend => 1,
            Kind::Backend => 2,
            Kind::Server => 4,
        }
    }
}

/// One line: its kind, proxy id, server id and the values set (others empty).
struct Row {
    kind: Kind,
    iid: u64,
    sid: u64,
    values: HashMap<&'static str, String>,
}

impl Row {
    fn new(kind: Kind, iid: u64, sid: u64) -> Row {
        let mut values = HashMap::new();
        values.insert("type", kind.code().to_string());
        Row {
            kind,
            iid,
            sid,
            values,
        }
    }

    fn set(&mut self, k: &'static str, v: impl ToString) {
        self.values.insert(k, v.to_string());
    }

    fn zero(&mut self, keys: &[&'static str]) {
        for k in keys {
            self.values.insert(k, "0".to_string());
        }
    }
}

/// The rows of `show stat` as (proxy, `FRONTEND`/server/`BACKEND`, values by column), for
/// the statistics page.
pub(crate) fn table(rt: &Runtime) -> Vec<(String, String, HashMap<&'static str, String>)> {
    rows(rt)
        .into_iter()
        .map(|(px, sv, r)| (px, sv, r.values))
        .collect()
}

/// A CSV field: quoted when it holds a comma or a quote, quotes doubled.
fn csv(v: &str) -> String {
    if v.contains([',', '"', '\n']) {
        format!("\"{}\"", v.replace('"', "\"\"").replace('\n', " "))
    } else {
        v.to_string()
    }
}

fn mode_name(m: sluice_model::Mode) -> &'static str {
    match m {
        sluice_model::Mode::Http => "http",
        _ => "tcp",
    }
}

fn server_status(s: &Server) -> String {
    let h = &s.health;
    if h.in_maintenance() {
        // Only waiting for an address (`init-addr none`, the resolvers found none).
        if h.admin() & crate::check::state::admin::MAINT == crate::check::state::admin::RMAINT {
            return "MAINT (resolution)".into();
        }
        return "MAINT".into();
    }
    let draining = h.admin() & crate::check::state::admin::FDRAIN != 0;
    if !h.settings.checked || h.checks_off() {
        return if draining { "DRAIN" } else { "no check" }.into();
    }
    match h.state() {
        State::Up if draining => "DRAIN".into(),
        State::Up => {
            let top = h.settings.rise + h.settings.fall - 1;
            let c = h.counter();
            if c < top && c >= h.settings.rise {
                format!("UP {}/{}", c - h.settings.rise + 1, h.settings.fall)
            } else {
                "UP".into()
            }
        }
        State::Stopping => "NOLB".into(),
        State::Down | State::Maint => {
            let c = h.counter();
            if c > 0 && c < h.settings.rise {
                format!("DOWN {}/{}", c, h.settings.rise)
            } else {
                "DOWN".into()
            }
        }
    }
}

fn rows(rt: &Runtime) -> Vec<(String, String, Row)> {
    let mut out = Vec::new();
    for (i, p) in rt.model.proxies.iter().enumerate() {
        let iid = rt.proxy_id(i);
        let mode = mode_name(p.mode());
        if rt.plan.frontend(i).is_some() {
            let mut r = Row::new(Kind::Frontend, iid, 0);
            r.zero(&[
                "scur",
                "smax",
                "dresp",
                "rate",
                "rate_max",
                "conn_rate",
                "conn_rate_max",
                "intercepted",
                "dcon",
                "dses",
                "wrew",
                "eint",
            ]);
            let slim = p
                .maxconn
                .as_ref()
                .map(|m| m.value)
                .or_else(|| rt.model.global.maxconn.as_ref().map(|m| m.value));
            if let Some(l) = slim {
                r.set("slim", l);
            }
            r.set("status", "OPEN");
            r.set("pid", 1);
            r.set("iid", iid);
            r.set("sid", 0);
            r.set("mode", mode);
            if p.mode() == sluice_model::Mode::Http {
                r.zero(&[
                    "req_rate",
                    "req_rate_max",
                    "comp_in",
                    "comp_out",
                    "comp_byp",
                    "comp_rsp",
                    "cache_lookups",
                    "cache_hits",
                ]);
            }
            traffic(
                &mut r,
                rt,
                counters::Row::Frontend(i),
                p.mode() == sluice_model::Mode::Http,
            );
            out.push((p.name.clone(), "FRONTEND".to_string(), r));
        }
        let Some(be) = rt.plan.backend(i) else {
            continue;
        };
        let mut weight = 0u64;
        let mut uweight = 0u64;
        let (mut act, mut bck) = (0u32, 0u32);
        let mut scur = 0u64;
        for (si, s) in be.servers.iter().enumerate() {
            if s.is_deleted() {
                continue;
            }
            let h = &s.health;
            let mut r = Row::new(Kind::Server, iid, u64::from(s.id));
            let cur = u64::from(s.connections.load(Ordering::Relaxed));
            scur += cur;
            let usable = h.usable();
            let ew = if usable {
                u64::from(h.effective_weight())
            } else {
                0
            };
            if usable && ew > 0 {
                weight += ew;
                if s.backup {
                    bck += 1;
                } else {
                    act += 1;
                }
            }
            uweight += u64::from(h.weight());
            r.zero(&[
                "qcur",
                "qmax",
                "smax",
                "dresp",
                "chkfail",
                "chkdown",
                "downtime",
                "rate",
                "rate_max",
                "cli_abrt",
                "srv_abrt",
                "qtime",
                "ctime",
                "rtime",
                "ttime",
                "wrew",
                "connect",
                "reuse",
                "srv_icur",
                "qtime_max",
                "ctime_max",
                "rtime_max",
                "ttime_max",
                "eint",
                "idle_conn_cur",
                "safe_conn_cur",
                "need_conn_est",
                "srid",
                "priv_idle_cur",
            ]);
            r.set("scur", cur);
            r.set("used_conn_cur", cur);
            // The limit in force: an agent may have changed the configured one.
            let maxconn = be.queue.maxconn(si);
            if maxconn > 0 {
                r.set("slim", maxconn);
            }
            r.set("status", server_status(s));
            r.set("weight", ew);
            r.set("uweight", h.weight());
            r.set("act", u8::from(!s.backup));
            r.set("bck", u8::from(s.backup));
            r.set("lastchg", h.since_change());
            if s.maxqueue > 0 {
                r.set("qlimit", s.maxqueue);
            }
            r.set("pid", 1);
            r.set("iid", iid);
            r.set("sid", s.id);
            if let Some(track) = rt
                .model
                .proxies
                .get(i)
                .and_then(|mp| mp.servers.get(si))
                .and_then(|ms| ms.options.track.as_ref())
            {
                r.set("tracked", &track.value);
            }
            if h.settings.checked {
                let (status, code, duration) = h.last_check();
                let name = hchk::name(status);
                r.set("check_status", name);
                if code != 0 {
                    r.set("check_code", code);
                }
                if status != hchk::INI {
                    r.set("check_duration", duration);
                }
                r.set("check_desc", describe(status));
                r.set("check_rise", h.settings.rise);
                r.set("check_fall", h.settings.fall);
                r.set("check_health", h.counter());
            }
            match &s.target() {
                _ if !s.has_addr() => {}
                Target::Addr(a) => r.set("addr", a),
                Target::Relative(ip, off) if *off != 0 => r.set("addr", format!("{ip}:{off:+}")),
                Target::Relative(ip, _) => r.set("addr", ip),
                Target::Unix(_) => r.set("addr", "unix"),
            }
            if let Some(c) = &s.cookie {
                r.set("cookie", c);
            }
            r.set("mode", mode);
            if be.mode == sluice_model::Mode::Http {
                r.zero(&[]);
            }
            traffic(
                &mut r,
                rt,
                counters::Row::Server(i, si),
                be.mode == sluice_model::Mode::Http,
            );
            out.push((p.name.clone(), s.name.clone(), r));
        }
        let mut r = Row::new(Kind::Backend, iid, 0);
        r.zero(&[
            "qmax",
            "smax",
            "dreq",
            "dresp",
            "chkdown",
            "downtime",
            "rate",
            "rate_max",
            "cli_abrt",
            "srv_abrt",
            "qtime",
            "ctime",
            "rtime",
            "ttime",
            "intercepted",
            "wrew",
            "connect",
            "reuse",
            "qtime_max",
            "ctime_max",
            "rtime_max",
            "ttime_max",
            "eint",
            "req_tot",
        ]);
        r.set("qcur", be.queue.waiting());
        r.set("scur", scur);
        let up = act + bck > 0;
        r.set("status", if up { "UP" } else { "DOWN" });
        r.set("weight", weight);
        r.set("uweight", uweight);
        r.set("act", act);
        r.set("bck", bck);
        r.set(
            "lastchg",
            be.servers
                .iter()
                .map(|s| s.health.since_change())
                .min()
                .unwrap_or(0),
        );
        r.set("pid", 1);
        r.set("iid", iid);
        r.set("sid", 0);
        r.set("mode", mode);
        r.set("algo", algo(rt, i));
        r.set("agg_server_status", if up { 1 } else { 0 });
        r.set("agg_server_status_check", 0);
        r.set("agg_check_status", 0);
        if let Some(c) = rt.model.proxies.get(i).and_then(|p| p.cookie.as_ref()) {
            r.set("cookie", &c.name);
        }
        if be.mode == sluice_model::Mode::Http {
            r.zero(&[
                "comp_in",
                "comp_out",
                "comp_byp",
                "comp_rsp",
                "cache_lookups",
                "cache_hits",
            ]);
        }
        traffic(
            &mut r,
            rt,
            counters::Row::Backend(i),
            be.mode == sluice_model::Mode::Http,
        );
        out.push((p.name.clone(), "BACKEND".to_string(), r));
    }
    out
}

/// The cumulative columns of a row, from the threads' traffic counters.
fn traffic(r: &mut Row, rt: &Runtime, row: counters::Row, http: bool) {
    use counters::Traffic as T;
    let sum = |t: T| rt.totals.traffic(row, t);
    r.set("stot", sum(T::Sessions));
    if http && !matches!(row, counters::Row::Server(..)) {
        r.set("comp_in", sum(T::CompIn));
        r.set("comp_out", sum(T::CompOut));
        r.set("comp_rsp", sum(T::CompResponses));
    }
    r.set("bin", sum(T::BytesIn));
    r.set("bout", sum(T::BytesOut));
    if let counters::Row::Frontend(_) = row {
        r.set("dreq", sum(T::DeniedRequests));
        r.set("ereq", sum(T::RequestErrors));
        r.set("conn_tot", sum(T::Sessions));
        if http {
            r.set("req_tot", sum(T::Requests));
        }
    } else {
        r.set("lbtot", sum(T::Chosen));
        r.set("econ", sum(T::ConnectErrors));
        r.set("eresp", sum(T::ResponseErrors));
        r.set("wretr", sum(T::Retries));
        r.set("wredis", sum(T::Redispatches));
        if http && matches!(row, counters::Row::Backend(_)) {
            r.set("req_tot", sum(T::Sessions));
        }
    }
    if http {
        for (col, t) in [
            ("hrsp_1xx", T::Http1xx),
            ("hrsp_2xx", T::Http2xx),
            ("hrsp_3xx", T::Http3xx),
            ("hrsp_4xx", T::Http4xx),
            ("hrsp_5xx", T::Http5xx),
            ("hrsp_other", T::HttpOther),
        ] {
            r.set(col, sum(t));
        }
    }
}

fn describe(status: u8) -> &'static str {
    match status {
        hchk::INI => "Initializing",
        hchk::SOCKERR => "Socket error",
        hchk::L4OK => "Layer4 check passed",
        hchk::L4TOUT => "Layer4 timeout",
        hchk::L4CON => "Layer4 connection problem",
        hchk::L6OK => "Layer6 check passed",
        hchk::L6TOUT => "Layer6 timeout",
        hchk::L6RSP => "Layer6 invalid response",
        hchk::L7TOUT => "Layer7 timeout",
        hchk::L7RSP => "Layer7 invalid response",
        hchk::L7OKD => "Layer7 check passed",
        hchk::L7OKCD => "Layer7 check conditionally passed",
        hchk::L7STS => "Layer7 wrong status",
        _ => "Unknown",
    }
}

fn algo(rt: &Runtime, i: usize) -> String {
    use sluice_model::proxy::balance::Algorithm as A;
    let Some(b) = rt.model.proxies.get(i).and_then(|p| p.balance.as_ref()) else {
        return "random".into();
    };
    match &b.algorithm {
        A::RoundRobin => "roundrobin",
        A::StaticRr => "static-rr",
        A::LeastConn => "leastconn",
        A::First => "first",
        A::Source => "source",
        A::Uri => "uri",
        A::UrlParam(_) => "url_param",
        A::Hdr(_) => "hdr",
        A::Random(_) => "random",
        A::RdpCookie(_) => "rdp-cookie",
        A::Hash(_) => "hash",
        A::LogHash(_) => "log-hash",
        A::Sticky => "sticky",
    }
    .into()
}

/// The filter `show stat {<iid>|<proxy>} <type> <sid>`.
struct Filter {
    iid: Option<u64>,
    types: i64,
    sid: Option<u64>,
}

fn filter(rt: &Runtime, args: &[&str]) -> Result<(Filter, Vec<String>), Answer> {
    let mut rest = Vec::new();
    let mut f = Filter {
        iid: None,
        types: -1,
        sid: None,
    };
    let mut i = 0;
    let words: Vec<&str> = args
        .iter()
        .copied()
        .filter(|w| !matches!(*w, "typed" | "json" | "desc" | "up" | "no-maint"))
        .collect();
    for w in args {
        if matches!(*w, "typed" | "json" | "desc" | "up" | "no-maint") {
            rest.push(w.to_string());
        }
    }
    if words.first() == Some(&"domain") {
        if words.get(1) != Some(&"proxy") {
            return Err(Answer::text(
                "Only the 'proxy' statistics domain is supported by Sluice.\n",
            ));
        }
        i = 2;
    }
    if let Some(px) = words.get(i) {
        if *px != "-1" {
            f.iid = match px.parse::<u64>() {
                Ok(id) => Some(id),
                Err(_) => match rt.model.proxies.iter().position(|p| p.name == *px) {
                    Some(pi) => Some(rt.proxy_id(pi)),
                    None => match find_backend(rt, px) {
                        Some(pi) => Some(rt.proxy_id(pi)),
                        None => return Err(Answer::text("No such proxy.\n")),
                    },
                },
            };
        }
        let (Some(t), Some(s)) = (words.get(i + 1), words.get(i + 2)) else {
            return Err(Answer::text(
                "'show stat' expects either no filter or all of <iid>, <type> and <sid>.\n",
            ));
        };
        f.types = t
            .parse()
            .map_err(|_| Answer::text("The <type> must be a number.\n"))?;
        f.sid = match s.parse::<i64>() {
            Ok(-1) => None,
            Ok(v) => u64::try_from(v).ok(),
            Err(_) => return Err(Answer::text("The <sid> must be a number.\n")),
        };
    }
    Ok((f, rest))
}

/// `show stat [domain proxy] [{<iid>|<proxy>} <type> <sid>] [typed|json] [desc] [up|no-maint]`.
pub fn show_stat(rt: &Runtime, args: &[&str]) -> Answer {
    let (f, flags) = match filter(rt, args) {
        Ok(v) => v,
        Err(a) => return a,
    };
    if flags.iter().any(|w| w == "json") {
        return Answer::text("The JSON form of 'show stat' is not supported by Sluice yet: use 'show stat' or 'show stat typed'.\n");
    }
    let typed = flags.iter().any(|w| w == "typed");
    let up_only = flags.iter().any(|w| w == "up");
    let no_maint = flags.iter().any(|w| w == "no-maint");
    let mut out = String::new();
    if !typed {
        out.push_str("# ");
        for c in COLUMNS {
            out.push_str(c);
            out.push(',');
        }
        out.push('\n');
    }
    for (px, sv, r) in rows(rt) {
        if f.iid.is_some_and(|id| id != r.iid) || f.types & r.kind.bit() == 0 {
            continue;
        }
        if r.kind == Kind::Server {
            if f.sid.is_some_and(|sid| sid != r.sid) {
                continue;
            }
            let status = r.values.get("status").map(String::as_str).unwrap_or("");
            if up_only && !(status.starts_with("UP") || status == "no check") {
                continue;
            }
            if no_maint && status.starts_with("MAINT") {
                continue;
            }
        }
        if typed {
            for (pos, col) in COLUMNS.iter().enumerate() {
                let v = match *col {
                    "pxname" => px.clone(),
                    "svname" => sv.clone(),
                    c => match r.values.get(c) {
                        Some(v) => v.clone(),
                        None => continue,
                    },
                };
                let ty = if v.parse::<u64>().is_ok() && !matches!(*col, "pxname" | "svname") {
                    "u64"
                } else {
                    "str"
                };
                out.push_str(&format!(
                    "{}.{}.{}.{pos}.{col}.1:MGP:{ty}:{}\n",
                    r.kind.letter(),
                    r.iid,
                    r.sid,
                    v.replace('\n', " ")
                ));
            }
            continue;
        }
        for col in COLUMNS {
            let v = match *col {
                "pxname" => csv(&px),
                "svname" => csv(&sv),
                c => r.values.get(c).map(|v| csv(v)).unwrap_or_default(),
            };
            out.push_str(&v);
            out.push(',');
        }
        out.push('\n');
    }
    Answer::text(out)
}

#[cfg(test)]
mod tests {
    use super::{csv, COLUMNS};

    #[test]
    fn has_the_static_columns_in_order() {
        assert_eq!(COLUMNS.len(), 114);
        assert_eq!(COLUMNS.first(), Some(&"pxname"));
        assert_eq!(COLUMNS.get(17), Some(&"status"));
        assert_eq!(COLUMNS.get(73), Some(&"addr"));
        assert_eq!(COLUMNS.last(), Some(&"priv_idle_cur"));
    }

    #[test]
    fn quotes_ambiguous_fields() {
        assert_eq!(csv("a"), "a");
        assert_eq!(csv("a,b"), "\"a,b\"");
        assert_eq!(csv("a\"b"), "\"a\"\"b\"");
    }
}
