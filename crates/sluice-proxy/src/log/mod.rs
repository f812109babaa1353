//! Traffic logs: HAProxy's log lines (`option tcplog`, `httplog`, `httpslog`, CLF, the legacy
//! connect line, `log-format`), sent to syslog over UDP or a UNIX datagram socket, or
//! written to stdout/stderr.
//!
//! [`Logs`] is built once per worker from the model (formats compiled, targets resolved) and
//! shared read-only. Each worker thread [`install`]s it and keeps its own sockets, line
//! buffers, date cache and recycled head copies in a thread-local, so that sending a line
//! takes no lock shared with other threads and, once warm, allocates nothing. Sends are
//! non-blocking: a line that does not fit in the socket is dropped and counted.

pub mod direct;
pub mod format;
mod source;
pub mod target;
pub mod time;

use crate::plan::Plan;
use crate::stream::log::Record;
use crate::stream::Addrs;
use format::{Captures, Format, NoHeads, RequestLine, View};
use sluice_config::Statement;
use sluice_model::{Mode, Model, Proxy};
use source::{Conn, Msg, Src};
use std::cell::RefCell;
use std::io;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime};
use target::{Identity, Sock, Spec};

/// One frontend's logging.
#[derive(Debug)]
pub struct ProxyLog {
    /// Indexes into [`Logs::specs`].
    targets: Vec<usize>,
    tag: String,
    /// `None`: the legacy format, logged at accept.
    format: Option<Format>,
    error_format: Option<Format>,
    dontlognull: bool,
    dontlog_normal: bool,
    separate_errors: bool,
    captures: Captures,
    counter: AtomicU64,
}

impl ProxyLog {
    fn needs(&self) -> format::Needs {
        let mut n = self.format.as_ref().map(|f| f.needs).unwrap_or_default();
        if !self.captures.request.is_empty() || self.captures.cookie.is_some() {
            n.request_head |= self.format.is_some();
        }
        if !self.captures.response.is_empty() || self.captures.cookie.is_some() {
            n.response_head |= self.format.is_some();
        }
        n
    }
}

/// The worker's logging configuration and counters.
#[derive(Debug)]
pub struct Logs {
    /// By proxy index: frontends that log.
    proxies: Vec<Option<ProxyLog>>,
    specs: Vec<Spec>,
    hostname: String,
    pid: u32,
    actconn: AtomicU32,
    feconn: Vec<AtomicU32>,
    requests: AtomicU64,
    /// Lines dropped because a socket was full or unreachable.
    pub drops: AtomicU64,
    /// Lines sent.
    pub sent: AtomicU64,
}

fn word(s: &Statement, i: usize) -> Option<&str> {
    s.words.get(i).map(|w| w.text.as_str())
}

fn loc_key(l: &sluice_config::Location) -> (u32, u32, u32) {
    (l.file.0, l.line, l.column)
}

/// The program name as launched (HAProxy's default `log-tag`).
fn program_name() -> String {
    std::env::args_os()
        .next()
        .and_then(|a| {
            std::path::Path::new(&a)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "sluice".into())
}

fn system_hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates on success.
    let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if r != 0 {
        return String::new();
    }
    let n = buf.iter().position(|&c| c == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(buf.get(..n).unwrap_or_default()).into_owned()
}

/// The `defaults` section `proxy` inherited from.
fn defaults_of<'m>(model: &'m Model, proxy: &Proxy) -> Option<&'m Proxy> {
    let name = proxy.defaults.as_deref()?;
    let before = |d: &&Proxy| loc_key(&d.location) < loc_key(&proxy.location);
    let named = || model.defaults.iter().filter(|d| d.name == name);
    named().rfind(before).or_else(|| named().next_back())
}

enum Choice {
    Legacy,
    Text(String),
}

/// The format line in force: the last of `option httplog|tcplog|httpslog` and `log-format`,
/// the defaults' lines first.
fn choose(proxy: &Proxy, defaults: Option<&Proxy>) -> Choice {
    let mut cands: Vec<((u32, u32, u32), Choice)> = Vec::new();
    let http = proxy.mode() == Mode::Http;
    for o in &proxy.options {
        let clf = o.args.iter().any(|a| a == "clf");
        let c = match (o.name.as_str(), o.negated) {
            ("httplog" | "tcplog" | "httpslog", true) => Choice::Legacy,
            // HAProxy falls back to the TCP format when the proxy is not in HTTP mode.
            ("httplog" | "httpslog", _) if !http => {
                Choice::Text(if clf { format::TCP_CLF } else { format::TCP }.into())
            }
            ("httplog", _) => {
                Choice::Text(if clf { format::HTTP_CLF } else { format::HTTP }.into())
            }
            ("httpslog", _) => Choice::Text(format::HTTPS.into()),
            ("tcplog", _) => Choice::Text(if clf { format::TCP_CLF } else { format::TCP }.into()),
            _ => continue,
        };
        cands.push((loc_key(&o.location), c));
    }
    let others = defaults
        .map(|d| d.other.as_slice())
        .unwrap_or_default()
        .iter()
        .chain(proxy.other.iter());
    for s in others {
        if s.keyword() == "log-format" {
            cands.push((
                loc_key(&s.location),
                Choice::Text(word(s, 1).unwrap_or("").to_string()),
            ));
        }
    }
    cands.sort_by_key(|(k, _)| *k);
    cands.pop().map_or(Choice::Legacy, |(_, c)| c)
}

fn last_other<'p>(
    proxy: &'p Proxy,
    defaults: Option<&'p Proxy>,
    kw: &str,
) -> Option<&'p Statement> {
    proxy
        .other
        .iter()
        .rev()
        .find(|s| s.keyword() == kw)
        .or_else(|| defaults?.other.iter().rev().find(|s| s.keyword() == kw))
}

fn captures(proxy: &Proxy) -> Captures {
    let mut c = Captures::default();
    for s in proxy.other.iter().filter(|s| s.keyword() == "capture") {
        let len = |i: usize| {
            (word(s, i) == Some("len"))
                .then(|| word(s, i + 1)?.parse::<usize>().ok())
                .flatten()
                .unwrap_or(0)
        };
        match (word(s, 1), word(s, 2)) {
            (Some("request"), Some("header")) => {
                if let Some(n) = word(s, 3) {
                    c.request.push((n.to_string(), len(4)));
                }
            }
            (Some("response"), Some("header")) => {
                if let Some(n) = word(s, 3) {
                    c.response.push((n.to_string(), len(4)));
                }
            }
            (Some("cookie"), Some(n)) => c.cookie = Some((n.to_string(), len(3))),
            _ => {}
        }
    }
    c
}

impl Logs {
    /// Resolves every frontend's logging. Fails on a format or target that cannot run (the
    /// message names the proxy).
    pub fn build(model: &Model) -> io::Result<Logs> {
        let g = &model.global;
        let send_hostname = g
            .other
            .iter()
            .rev()
            .find(|s| s.keyword() == "log-send-hostname");
        let hostname = match send_hostname.and_then(|s| word(s, 1)) {
            Some(h) => h.to_string(),
            None => system_hostname(),
        };
        let global_tag = g
            .other
            .iter()
            .rev()
            .find(|s| s.keyword() == "log-tag")
            .and_then(|s| word(s, 1))
            .map_or_else(program_name, str::to_string);
        let mut specs: Vec<Spec> = Vec::new();
        let mut proxies = Vec::with_capacity(model.proxies.len());
        for p in &model.proxies {
            if !p.kind.is_frontend() || p.disabled {
                proxies.push(None);
                continue;
            }
            let bad = |m: String| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{} : {m}", p.describe()),
                )
            };
            let mut targets = Vec::new();
            let lines = p.logs.iter().chain(if p.log_global {
                g.logs.iter()
            } else {
                [].iter()
            });
            for t in lines {
                let spec =
                    Spec::resolve(t, send_hostname.is_some()).map_err(|e| bad(e.to_string()))?;
                let i = match specs.iter().position(|s| *s == spec) {
                    Some(i) => i,
                    None => {
                        specs.push(spec);
                        specs.len() - 1
                    }
                };
                if !targets.contains(&i) {
                    targets.push(i);
                }
            }
            if targets.is_empty() {
                proxies.push(None);
                continue;
            }
            let defaults = defaults_of(model, p);
            let compile = |text: &str| -> io::Result<Format> {
                // The built-in HTTPS format names TLS fetches Sluice does not have yet: they
                // print `-` there, while a user's format naming them is refused.
                let lenient = text == format::HTTPS;
                let mut samples = |e: &str| {
                    let any = sluice_rules::sample::Place::Any;
                    sluice_rules::compile_sample(model, p, e, any).or_else(|err| {
                        if lenient {
                            sluice_rules::compile_sample(model, p, "str(-)", any)
                        } else {
                            Err(err)
                        }
                    })
                };
                Format::compile(text, &mut samples).map_err(bad)
            };
            let format = match choose(p, defaults) {
                Choice::Legacy => None,
                Choice::Text(t) => Some(compile(&t)?),
            };
            let error_format =
                match last_other(p, defaults, "error-log-format").and_then(|s| word(s, 1)) {
                    Some(t) => Some(compile(t)?),
                    None => None,
                };
            let tag = last_other(p, defaults, "log-tag")
                .and_then(|s| word(s, 1))
                .map_or_else(|| global_tag.clone(), str::to_string);
            proxies.push(Some(ProxyLog {
                targets,
                tag,
                format,
                error_format,
                dontlognull: p.option("dontlognull").is_some(),
                dontlog_normal: p.option("dontlog-normal").is_some(),
                separate_errors: p.option("log-separate-errors").is_some(),
                captures: captures(p),
                counter: AtomicU64::new(0),
            }));
        }
        Ok(Logs {
            feconn: model.proxies.iter().map(|_| AtomicU32::new(0)).collect(),
            proxies,
            specs,
            hostname,
            pid: std::process::id(),
            actconn: AtomicU32::new(0),
            requests: AtomicU64::new(0),
            drops: AtomicU64::new(0),
            sent: AtomicU64::new(0),
        })
    }

    /// Whether any frontend logs.
    pub fn any(&self) -> bool {
        self.proxies.iter().any(Option::is_some)
    }

    fn proxy(&self, i: usize) -> Option<&ProxyLog> {
        self.proxies.get(i).and_then(Option::as_ref)
    }
}

/// Copies of the heads a stream's line needs, recycled per thread.
#[derive(Debug, Default)]
pub struct Copies {
    request: Vec<u8>,
    has_request: bool,
    response: Vec<u8>,
    has_response: bool,
    unique_id: Vec<u8>,
    has_unique_id: bool,
    /// The stream's variables when the line reads some (`%[var(txn.x)]`).
    vars: Option<sluice_rules::message::Vars>,
}

/// A record's copies (none unless the frontend's format reads heads).
#[derive(Debug, Default)]
pub struct Extra(Option<Box<Copies>>);

impl Drop for Extra {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            let _ = LOCAL.try_with(|l| {
                if let Ok(mut l) = l.try_borrow_mut() {
                    if let Some(l) = l.as_mut() {
                        if l.pool.len() < 256 {
                            l.pool.push(c);
                        }
                    }
                }
            });
        }
    }
}

/// One thread's logging state.
// Boxed: a copy set moves between a record and the free list as one pointer.
#[allow(clippy::vec_box)]
struct Local {
    logs: Arc<Logs>,
    plan: Arc<Plan>,
    socks: Vec<Sock>,
    body: Vec<u8>,
    msg: Vec<u8>,
    clock: time::Cache,
    req: sluice_http::RequestHead,
    resp: sluice_http::ResponseHead,
    http: sluice_http::Config,
    pool: Vec<Box<Copies>>,
}

thread_local! {
    static LOCAL: RefCell<Option<Local>> = const { RefCell::new(None) };
}

/// Makes `logs` this thread's logging (called once by each worker thread).
pub fn install(logs: Arc<Logs>, plan: Arc<Plan>) {
    let socks = logs.specs.iter().map(Sock::new).collect();
    let local = Local {
        logs,
        http: plan.http,
        plan,
        socks,
        body: Vec::with_capacity(1024),
        msg: Vec::with_capacity(1024),
        clock: time::Cache::default(),
        req: sluice_http::RequestHead::new(),
        resp: sluice_http::ResponseHead::new(),
        pool: Vec::new(),
    };
    LOCAL.with(|l| *l.borrow_mut() = Some(local));
}

fn with_local<R>(f: impl FnOnce(&mut Local) -> R) -> Option<R> {
    LOCAL
        .try_with(|l| {
            let mut g = l.try_borrow_mut().ok()?;
            g.as_mut().map(f)
        })
        .ok()
        .flatten()
}

/// Counts a client connection in `%ac` and `%fc` while it lives.
pub struct ConnGauge {
    logs: Option<Arc<Logs>>,
    fe: usize,
}

impl ConnGauge {
    pub fn open(fe: usize) -> ConnGauge {
        let logs = with_local(|l| l.logs.clone());
        if let Some(l) = &logs {
            l.actconn.fetch_add(1, Ordering::Relaxed);
            if let Some(c) = l.feconn.get(fe) {
                c.fetch_add(1, Ordering::Relaxed);
            }
        }
        ConnGauge { logs, fe }
    }
}

impl Drop for ConnGauge {
    fn drop(&mut self) {
        if let Some(l) = &self.logs {
            l.actconn.fetch_sub(1, Ordering::Relaxed);
            if let Some(c) = l.feconn.get(self.fe) {
                c.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }
}

#[allow(clippy::vec_box)]
fn copy_into<'e>(pool: &mut Vec<Box<Copies>>, extra: &'e mut Extra) -> &'e mut Copies {
    extra.0.get_or_insert_with(|| {
        let mut c = pool.pop().unwrap_or_default();
        c.has_request = false;
        c.has_response = false;
        c.has_unique_id = false;
        c.vars = None;
        c
    })
}

/// Keeps a copy of the stream's variables for the log line, when the frontend's format
/// reads variables (nothing is copied otherwise). Called after each rule stage, so that the
/// line sees what the last rules set.
pub(crate) fn on_vars(rec: &mut Record, vars: &sluice_rules::message::Vars) {
    with_local(|l| {
        let wanted = l
            .logs
            .proxy(rec.frontend)
            .is_some_and(|pl| pl.format.as_ref().is_some_and(|f| f.needs.vars));
        if wanted {
            let c = copy_into(&mut l.pool, &mut rec.extra);
            c.vars = Some(vars.clone());
        }
    });
}

/// Whether the log line of frontend `fe` reads the request's unique ID (`%ID`,
/// `%[unique-id]`).
pub fn wants_unique_id(fe: usize) -> bool {
    with_local(|l| l.logs.proxy(fe).is_some_and(|pl| pl.needs().unique_id)).unwrap_or(false)
}

/// Keeps the request's unique ID for the log line.
pub(crate) fn on_unique_id(rec: &mut Record, id: &[u8]) {
    with_local(|l| {
        let c = copy_into(&mut l.pool, &mut rec.extra);
        c.unique_id.clear();
        c.unique_id.extend_from_slice(id);
        c.has_unique_id = true;
    });
}

impl Extra {
    /// The stream's variables, when kept for the line.
    pub fn vars(&self) -> Option<&sluice_rules::message::Vars> {
        self.0.as_ref().and_then(|c| c.vars.as_ref())
    }

    /// The request's unique ID, when kept.
    pub fn unique_id(&self) -> Option<&[u8]> {
        self.0
            .as_ref()
            .filter(|c| c.has_unique_id)
            .map(|c| c.unique_id.as_slice())
    }
}

/// The request head is complete: copy what the line will need.
pub(crate) fn on_request(rec: &mut Record, req: &sluice_http::RequestHead, buf: &[u8]) {
    with_local(|l| {
        let Some(pl) = l.logs.proxy(rec.frontend) else {
            return;
        };
        let needs = pl.needs();
        let len = if needs.request_head {
            req.head_len()
        } else if needs.request_line {
            buf.iter()
                .position(|&c| c == b'\n')
                .map_or(buf.len(), |i| i + 1)
        } else {
            return;
        };
        let c = copy_into(&mut l.pool, &mut rec.extra);
        c.request.clear();
        c.request.extend_from_slice(buf.get(..len).unwrap_or(buf));
        c.has_request = true;
    });
}

/// The response head is complete.
pub(crate) fn on_response(rec: &mut Record, resp: &sluice_http::ResponseHead, buf: &[u8]) {
    with_local(|l| {
        let Some(pl) = l.logs.proxy(rec.frontend) else {
            return;
        };
        if !pl.needs().response_head {
            return;
        }
        let len = resp.head_len();
        let c = copy_into(&mut l.pool, &mut rec.extra);
        c.response.clear();
        c.response.extend_from_slice(buf.get(..len).unwrap_or(buf));
        c.has_response = true;
    });
}

/// A connection was accepted: the legacy format logs it now.
pub fn accepted(fe: usize, addrs: Addrs) {
    // The frontend's sessions (`stot`) are its connections.
    crate::counters::with_traffic(|t| {
        if let Some(row) = t.row(crate::counters::Row::Frontend(fe)) {
            row.add(crate::counters::Traffic::Sessions, 1);
        }
    });
    with_local(|l| {
        let Some(pl) = l.logs.proxy(fe) else {
            return;
        };
        if pl.format.is_some() {
            return;
        }
        let Some(f) = l.plan.frontend(fe) else {
            return;
        };
        use std::io::Write;
        l.body.clear();
        let addr = |a: Option<std::net::SocketAddr>| match a {
            Some(a) => {
                let ip = match a.ip() {
                    std::net::IpAddr::V6(v6) => v6
                        .to_ipv4_mapped()
                        .map_or(std::net::IpAddr::V6(v6), std::net::IpAddr::V4),
                    v4 => v4,
                };
                format!("{ip}:{}", a.port())
            }
            None => "unix:1".to_string(),
        };
        let mode = if f.mode == Mode::Http { "HTTP" } else { "TCP" };
        let _ = write!(
            l.body,
            "Connect from {} to {} ({}/{mode})",
            addr(addrs.peer),
            addr(addrs.local),
            f.name
        );
        l.send(fe, target::INFO, SystemTime::now());
    });
}

/// A connection failed before any stream (a bad PROXY header): HAProxy's error line, or
/// the frontend's `error-log-format`.
pub fn connection_error(fe: usize, addrs: Addrs, accepted: SystemTime, message: &str) {
    with_local(|l| {
        let Some(pl) = l.logs.proxy(fe) else {
            return;
        };
        let Some(f) = l.plan.frontend(fe) else {
            return;
        };
        let mut rec = Record::start(fe, addrs, None, false);
        rec.t.start_wall = accepted;
        rec.term = Some(*b"PR");
        let level = if pl.separate_errors {
            target::ERR
        } else {
            target::INFO
        };
        l.body.clear();
        match &pl.error_format {
            Some(fmt) => {
                let v = view(
                    &l.logs,
                    &rec,
                    &f.name,
                    None,
                    None,
                    None,
                    &NoHeads,
                    &pl.captures,
                    None,
                    (0, 0),
                );
                fmt.render(&v, &mut l.clock, &mut l.body);
            }
            None => {
                let fmt = Format::compile("%ci:%cp [%t] %ft/-:", &mut |_| Err(String::new()));
                if let Ok(fmt) = fmt {
                    let v = view(
                        &l.logs,
                        &rec,
                        &f.name,
                        None,
                        None,
                        None,
                        &NoHeads,
                        &pl.captures,
                        None,
                        (0, 0),
                    );
                    fmt.render(&v, &mut l.clock, &mut l.body);
                }
                l.body.push(b' ');
                l.body.extend_from_slice(message.as_bytes());
            }
        }
        l.send(fe, level, SystemTime::now());
    });
}

#[allow(clippy::too_many_arguments)]
fn view<'a>(
    logs: &'a Logs,
    rec: &'a Record,
    frontend: &'a str,
    backend: Option<&'a crate::backend::Backend>,
    request: Option<RequestLine<'a>>,
    samples: Option<&'a dyn sluice_rules::SampleSource>,
    heads: &'a dyn format::Heads,
    captures: &'a Captures,
    counters: Option<(u64, u64)>,
    bytes: (u64, u64),
) -> View<'a> {
    use std::sync::atomic::Ordering::Relaxed;
    let server = backend.zip(rec.server).and_then(|(b, i)| b.servers.get(i));
    let srvconn = server.map_or(0, |s| s.connections.load(Relaxed).max(1));
    let beconn = backend.map_or(0, |b| {
        let sum: u32 = b.servers.iter().map(|s| s.connections.load(Relaxed)).sum();
        sum.max(u32::from(rec.server.is_some()))
    });
    let (log_counter, request_counter) = counters.unwrap_or_default();
    View {
        rec,
        end: Instant::now(),
        bytes_in: bytes.0,
        bytes_out: bytes.1,
        frontend,
        backend: backend.map(|b| b.name.as_str()),
        server: backend.zip(rec.server).and_then(|(b, i)| b.server_name(i)),
        server_addr: server.and_then(|s| s.addr_to(rec.local)),
        request,
        heads,
        captures,
        samples,
        actconn: logs.actconn.load(Relaxed),
        feconn: logs.feconn.get(rec.frontend).map_or(0, |c| c.load(Relaxed)),
        beconn,
        srvconn,
        log_counter,
        request_counter,
        hostname: &logs.hostname,
        pid: logs.pid,
        unique_id: rec.extra.unique_id(),
    }
}

impl Local {
    /// Sends `self.body` to every target of frontend `fe`.
    fn send(&mut self, fe: usize, level: u8, now: SystemTime) {
        let logs = self.logs.clone();
        let Some(pl) = logs.proxy(fe) else {
            return;
        };
        let id = Identity {
            tag: &pl.tag,
            pid: logs.pid,
            hostname: &logs.hostname,
        };
        for &t in &pl.targets {
            let (Some(spec), Some(sock)) = (logs.specs.get(t), self.socks.get_mut(t)) else {
                continue;
            };
            if level > spec.level || spec.sample.as_ref().is_some_and(|s| !s.takes_next()) {
                continue;
            }
            let level = spec.min_level.map_or(level, |m| level.max(m));
            target::header(&mut self.msg, spec, level, now, &id, &mut self.clock);
            // Truncate to `len`, the line feed included.
            let room = spec.len.saturating_sub(self.msg.len() + 1);
            let body = self
                .body
                .get(..room.min(self.body.len()))
                .unwrap_or_default();
            self.msg.extend_from_slice(body);
            self.msg.push(b'\n');
            if sock.send(spec, &self.msg) {
                logs.sent.fetch_add(1, Ordering::Relaxed);
            } else {
                logs.drops.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn emit(&mut self, rec: &Record) {
        let logs = self.logs.clone();
        let plan = self.plan.clone();
        let Some(pl) = logs.proxy(rec.frontend) else {
            return;
        };
        let Some(fmt) = &pl.format else {
            return;
        };
        let bytes = rec.finish();
        if pl.dontlognull && bytes.0 == 0 {
            return;
        }
        let err = format::is_error(rec);
        if pl.dontlog_normal && !err {
            return;
        }
        let level = if pl.separate_errors && err {
            target::ERR
        } else {
            target::INFO
        };
        let Some(fe) = plan.frontend(rec.frontend) else {
            return;
        };
        let backend = rec.backend.and_then(|b| plan.backend(b));
        let counters = fmt.needs.counters.then(|| {
            (
                pl.counter.fetch_add(1, Ordering::Relaxed) + 1,
                logs.requests.fetch_add(1, Ordering::Relaxed) + 1,
            )
        });
        // Heads copied during the stream, parsed again into this thread's head parsers.
        let copies = rec.extra.0.as_deref();
        let req_bytes: &[u8] = copies
            .filter(|c| c.has_request)
            .map_or(&[], |c| c.request.as_slice());
        let resp_bytes: &[u8] = copies
            .filter(|c| c.has_response)
            .map_or(&[], |c| c.response.as_slice());
        let request = (!req_bytes.is_empty()).then(|| {
            let end = req_bytes
                .iter()
                .position(|&c| c == b'\n')
                .map_or(req_bytes.len(), |i| i + 1);
            RequestLine::split(req_bytes.get(..end).unwrap_or(req_bytes))
        });
        let req_parsed = req_bytes.contains(&b'\n')
            && req_bytes.ends_with(b"\n\n") | req_bytes.ends_with(b"\r\n\r\n")
            && matches!(
                self.req.parse(req_bytes, &self.http),
                sluice_http::Parsed::Complete { .. }
            );
        let resp_parsed = !resp_bytes.is_empty()
            && matches!(
                self.resp.parse(resp_bytes, &self.http, self.req.method()),
                sluice_http::Parsed::Complete { .. }
            );
        let msg_req = request.filter(|_| req_parsed).map(|r| Msg {
            method: r.method,
            uri: r.uri,
            version: r.version,
            status: 0,
            headers: self.req.header_spans(),
            buf: req_bytes,
        });
        let msg_resp = resp_parsed.then(|| {
            let line = resp_bytes
                .iter()
                .position(|&c| c == b' ')
                .map_or(&b""[..], |i| resp_bytes.get(..i).unwrap_or_default());
            Msg {
                method: b"",
                uri: b"",
                version: line,
                status: self.resp.status(),
                headers: self.resp.header_spans(),
                buf: resp_bytes,
            }
        });
        let src = Src {
            conn: Conn {
                rec,
                frontend: &fe.name,
                backend: backend.map(|b| b.name.as_str()),
                server: backend.zip(rec.server).and_then(|(b, i)| b.server_name(i)),
                timeouts: sluice_rules::TimeoutKind::ALL
                    .map(|k| plan.configured_timeout(rec.frontend, rec.backend, k)),
            },
            request: msg_req,
            response: msg_resp,
        };
        let v = view(
            &logs,
            rec,
            &fe.name,
            backend,
            request,
            Some(&src),
            &src,
            &pl.captures,
            counters,
            bytes,
        );
        let mut body = std::mem::take(&mut self.body);
        body.clear();
        fmt.render(&v, &mut self.clock, &mut body);
        self.body = body;
        self.send(rec.frontend, level, SystemTime::now());
    }
}

/// Formats and sends the line of a finished stream (nothing when its frontend does not log
/// or logs in the legacy format, which logged at accept).
pub(crate) fn emit(rec: &Record) {
    with_local(|l| l.emit(rec));
}
