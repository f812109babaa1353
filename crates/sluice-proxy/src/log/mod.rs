//! Traffic logs: HAProxy's log lines (`option tcplog`, `httplog`, `httpslog`, CLF, the legacy
//! connect line, `log-format`), sent to syslog over UDP or a UNIX datagram socket, or
//! written to stdout/stderr.
//!
//! [`Logs`] is built once per worker from the model (formats compiled, targets resolved) and
//! shared read-only. Each worker thread [`install`]s it and keeps its own sockets, line
//! buffers, date cache and recycled head copies in a thread-local, so that sending a line
//! takes no lock shared with other threads and, once warm, allocates nothing. Sends are
//! non-blocking: a line that does not fit in the socket is dropped and counted.

pub mod backend;
pub mod direct;
pub mod format;
pub mod forward;
pub mod profile;
pub mod ring;
pub mod service;
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
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};
use target::{Identity, Sock, Spec};

/// The shared log outputs of a worker: its rings (`ring` sections and the implicit rings of
/// stream syslog servers) and its `mode log` backends, which `log` lines name.
#[derive(Debug, Default)]
pub struct Outputs {
    rings: Vec<Arc<ring::Ring>>,
    backends: Vec<Arc<backend::LogBackend>>,
    /// Rings made for `log tcp@...` lines and stream servers of log backends.
    implicit: Mutex<Vec<Arc<ring::Ring>>>,
}

/// The outputs of the running worker, for the senders built apart from [`Logs`] (health
/// messages) and for the runtime API.
static CURRENT: Mutex<Option<Arc<Outputs>>> = Mutex::new(None);

impl Outputs {
    /// The rings and log backends of `model`.
    pub fn build(model: &Model) -> io::Result<Outputs> {
        let rings = ring::build_all(model)?;
        let mut implicit = Vec::new();
        let backends = backend::build_all(model, &mut implicit)?;
        Ok(Outputs {
            rings,
            backends,
            implicit: Mutex::new(implicit),
        })
    }

    /// The ring section `name`.
    pub fn ring(&self, name: &str) -> Option<Arc<ring::Ring>> {
        self.rings.iter().find(|r| r.name == name).cloned()
    }

    /// The `mode log` backend `name`.
    pub fn backend(&self, name: &str) -> Option<Arc<backend::LogBackend>> {
        self.backends.iter().find(|b| b.name == name).cloned()
    }

    /// The rings of the `ring` sections.
    pub fn rings(&self) -> &[Arc<ring::Ring>] {
        &self.rings
    }

    /// The implicit ring of a stream syslog target (`tcp@host:port`, `uxst@path`).
    pub fn stream_target(
        &self,
        text: &str,
        header: target::Header,
    ) -> Result<Arc<ring::Ring>, String> {
        let bare = text.strip_prefix("stream+").unwrap_or(text);
        let bare = ["tcp4@", "tcp6@", "tcp@"]
            .iter()
            .find_map(|p| bare.strip_prefix(p))
            .unwrap_or(bare);
        let bare = bare
            .strip_prefix("uxst@")
            .map_or(bare.to_string(), |p| format!("unix@{p}"));
        let peer = ring::peer_of(&bare)?;
        let mut r = ring::Ring::new(text, header, 1 << 20, 65535);
        r.servers.push(ring::RingServer {
            name: text.to_string(),
            peer,
            framing: ring::Framing::OctetCount,
        });
        let r = Arc::new(r);
        if let Ok(mut i) = self.implicit.lock() {
            i.push(r.clone());
        }
        Ok(r)
    }

    /// Every ring that has servers to feed.
    pub fn fed_rings(&self) -> Vec<Arc<ring::Ring>> {
        let implicit = self.implicit.lock().map(|i| i.clone()).unwrap_or_default();
        self.rings
            .iter()
            .cloned()
            .chain(implicit)
            .filter(|r| !r.servers.is_empty())
            .collect()
    }

    /// Gives the log backends the worker's plan (their servers' states).
    pub fn attach(&self, plan: &Arc<Plan>) {
        for b in &self.backends {
            b.attach(plan.clone());
        }
    }

    /// Makes these the running worker's outputs.
    pub fn make_current(self: &Arc<Self>) {
        if let Ok(mut c) = CURRENT.lock() {
            *c = Some(self.clone());
        }
    }

    /// The running worker's outputs (empty before a worker starts).
    pub fn current() -> Arc<Outputs> {
        CURRENT
            .lock()
            .ok()
            .and_then(|c| c.clone())
            .unwrap_or_default()
    }
}

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
    /// `option logasap`: lines go out before the end (response head or connection).
    logasap: bool,
    /// `log-steps`.
    steps: profile::Steps,
    /// By position in `targets`: the target's log profile, compiled for this proxy.
    profiles: Vec<Option<profile::Profile>>,
    captures: Captures,
    /// The capture slots `%[capture.req.hdr(N)]` reads.
    layout: sluice_rules::CaptureLayout,
    counter: AtomicU64,
}

impl ProxyLog {
    fn needs(&self) -> format::Needs {
        let mut n = self.format.as_ref().map(|f| f.needs).unwrap_or_default();
        // What the profiles' formats read too.
        for f in self
            .profiles
            .iter()
            .flatten()
            .flat_map(profile::Profile::formats)
        {
            let m = f.needs;
            n.request_line |= m.request_line;
            n.request_head |= m.request_head;
            n.response_head |= m.response_head;
            n.counters |= m.counters;
            n.unique_id |= m.unique_id;
            n.vars |= m.vars;
        }
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
    /// Rings and log backends.
    pub outputs: Arc<Outputs>,
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
        let outputs = Arc::new(Outputs::build(model)?);
        outputs.make_current();
        let (hostname, global_tag, send_hostname) = host_and_tag(model);
        let g = &model.global;
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
            let mut profile_names: Vec<Option<String>> = Vec::new();
            let lines = p.logs.iter().chain(if p.log_global {
                g.logs.iter()
            } else {
                [].iter()
            });
            for t in lines {
                let spec =
                    Spec::resolve(t, send_hostname, &outputs).map_err(|e| bad(e.to_string()))?;
                let i = match specs.iter().position(|s| *s == spec) {
                    Some(i) => i,
                    None => {
                        specs.push(spec);
                        specs.len() - 1
                    }
                };
                if !targets.contains(&i) {
                    targets.push(i);
                    profile_names.push(specs.get(i).and_then(|s| s.profile.clone()));
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
            let mut profiles = Vec::with_capacity(profile_names.len());
            for name in &profile_names {
                profiles.push(match name {
                    Some(n) => Some(
                        profile::Profile::build(model, n, &mut |t: &str| compile(t))?.ok_or_else(
                            || bad(format!("log: no log-profile section named '{n}'")),
                        )?,
                    ),
                    None => None,
                });
            }
            let logasap = p.option("logasap").is_some();
            let steps = profile::Steps::of(
                last_other(p, defaults, "log-steps").and_then(|s| word(s, 1)),
                logasap,
                p.mode() == Mode::Http,
            );
            proxies.push(Some(ProxyLog {
                targets,
                tag,
                format,
                error_format,
                dontlognull: p.option("dontlognull").is_some(),
                dontlog_normal: p.option("dontlog-normal").is_some(),
                separate_errors: p.option("log-separate-errors").is_some(),
                logasap,
                steps,
                profiles,
                captures: captures(p),
                layout: sluice_rules::CaptureLayout::of(p),
                counter: AtomicU64::new(0),
            }));
        }
        Ok(Logs {
            feconn: model.proxies.iter().map(|_| AtomicU32::new(0)).collect(),
            proxies,
            specs,
            outputs,
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
    /// The request came from an HTTP/2 stream: its line says `HTTP/2.0` (the copy keeps
    /// the HTTP/1.1 it was translated to, which the parser reads back).
    request_h2: bool,
    response: Vec<u8>,
    has_response: bool,
    unique_id: Vec<u8>,
    has_unique_id: bool,
    /// The stream's variables when the line reads some (`%[var(txn.x)]`).
    vars: Option<sluice_rules::message::Vars>,
    /// `option logasap`: the line went out when the response head came.
    logged: bool,
    /// Every request and response capture slot, when rules fill some
    /// (`http-request capture ... len N`) and the line prints them (`%hr`, `%hs`).
    slots: Option<CaptureCopy>,
}

/// The capture slots of a transaction, in declaration order (`None`: empty slot).
#[derive(Debug, Default)]
pub struct CaptureCopy {
    pub request: Vec<Option<Vec<u8>>>,
    pub response: Vec<Option<Vec<u8>>>,
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

/// The host name (`log-send-hostname`, else the system's), the global `log-tag` (else the
/// program's name) that log lines carry, and whether `log-send-hostname` is set.
pub(crate) fn host_and_tag(model: &Model) -> (String, String, bool) {
    let last = |kw: &str| model.global.other.iter().rev().find(|s| s.keyword() == kw);
    let hostname = match last("log-send-hostname").and_then(|s| word(s, 1)) {
        Some(h) => h.to_string(),
        None => system_hostname(),
    };
    let tag = last("log-tag")
        .and_then(|s| word(s, 1))
        .map_or_else(program_name, str::to_string);
    (hostname, tag, last("log-send-hostname").is_some())
}

/// The worker's logging state as this thread installed it (kept by the thread's context, so
/// that connections count themselves without the thread-local).
pub(crate) fn installed() -> Option<Arc<Logs>> {
    with_local(|l| l.logs.clone())
}

impl Logs {
    /// A client connection opened on frontend `fe` (`%ac`, `%fc`).
    pub(crate) fn conn_opened(&self, fe: usize) {
        self.actconn.fetch_add(1, Ordering::Relaxed);
        if let Some(c) = self.feconn.get(fe) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A client connection of frontend `fe` closed.
    pub(crate) fn conn_closed(&self, fe: usize) {
        self.actconn.fetch_sub(1, Ordering::Relaxed);
        if let Some(c) = self.feconn.get(fe) {
            c.fetch_sub(1, Ordering::Relaxed);
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
        c.logged = false;
        c.slots = None;
        c
    })
}

/// Keeps a copy of the stream's variables for the log line, when the frontend's format
/// reads variables (nothing is copied otherwise). Called after each rule stage, so that the
/// line sees what the last rules set.
pub(crate) fn on_vars(rec: &mut Record, txn: &sluice_rules::Txn) {
    with_local(|l| {
        let Some(pl) = l.logs.proxy(rec.frontend).filter(|pl| pl.format.is_some()) else {
            return;
        };
        let needs = pl.needs();
        // Rules made slots beyond the `capture ... header` ones: `%hr`/`%hs` print them all.
        let caps = &txn.captures;
        let rule_slots = (needs.request_head && caps.request.len() > pl.captures.request.len())
            || (needs.response_head && caps.response.len() > pl.captures.response.len());
        if !needs.vars && !rule_slots {
            return;
        }
        let c = copy_into(&mut l.pool, &mut rec.extra);
        if needs.vars {
            c.vars = Some(txn.vars.clone());
        }
        if rule_slots {
            c.slots = Some(CaptureCopy {
                request: (0..caps.request.len())
                    .map(|i| caps.request.get(i))
                    .collect(),
                response: (0..caps.response.len())
                    .map(|i| caps.response.get(i))
                    .collect(),
            });
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
    /// The capture slots, when rules fill some and the line prints them.
    pub fn slots(&self) -> Option<&CaptureCopy> {
        self.0.as_ref().and_then(|c| c.slots.as_ref())
    }

    /// The stream's variables, when kept for the line.
    pub fn vars(&self) -> Option<&sluice_rules::message::Vars> {
        self.0.as_ref().and_then(|c| c.vars.as_ref())
    }

    /// The HTTP major version the request came in (`fc_http_major`), when it was kept.
    pub fn request_http_major(&self) -> Option<i64> {
        let c = self.0.as_ref().filter(|c| c.has_request)?;
        Some(if c.request_h2 { 2 } else { 1 })
    }

    /// The request's unique ID, when kept.
    pub fn unique_id(&self) -> Option<&[u8]> {
        self.0
            .as_ref()
            .filter(|c| c.has_unique_id)
            .map(|c| c.unique_id.as_slice())
    }
}

/// `line` (an HTTP/2 request translated to HTTP/1.1) with the version it came in.
fn h2_request_line(line: &[u8]) -> Vec<u8> {
    let body = line
        .strip_suffix(b"\r\n")
        .or_else(|| line.strip_suffix(b"\n"))
        .unwrap_or(line);
    let Some(body) = body.strip_suffix(b"HTTP/1.1") else {
        return line.to_vec();
    };
    let mut out = Vec::with_capacity(body.len() + 10);
    out.extend_from_slice(body);
    out.extend_from_slice(b"HTTP/2.0\r\n");
    out
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
        let head = buf.get(..len).unwrap_or(buf);
        match req.normalization() {
            // The line as rules and servers see it: without a default or empty port.
            Some(n) => {
                let mut from = 0;
                for cut in [n.target_port, n.host_port].into_iter().flatten() {
                    if cut.start() >= from && cut.end() <= head.len() {
                        c.request
                            .extend_from_slice(head.get(from..cut.start()).unwrap_or_default());
                        from = cut.end();
                    }
                }
                c.request
                    .extend_from_slice(head.get(from..).unwrap_or_default());
            }
            None => c.request.extend_from_slice(head),
        }
        c.has_request = true;
        c.request_h2 = req.is_http2();
    });
    at_step(rec, profile::Step::Request);
}

/// A server connection is ready (`log-steps connect`, `logasap` in TCP).
pub(crate) fn on_connect(rec: &mut Record) {
    at_step(rec, profile::Step::Connect);
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
    at_step(rec, profile::Step::Response);
}

/// Writes the line of a step the frontend logs at (`log-steps`, `logasap`) before the
/// stream ends; the close then writes none unless it is a step too.
fn at_step(rec: &mut Record, step: profile::Step) {
    let wanted = with_local(|l| {
        l.logs
            .proxy(rec.frontend)
            .is_some_and(|pl| pl.format.is_some() && pl.steps.has(step))
    })
    .unwrap_or(false);
    if !wanted {
        return;
    }
    with_local(|l| {
        l.emit_at(rec, step);
        let c = copy_into(&mut l.pool, &mut rec.extra);
        c.logged = true;
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
            if pl.steps.has(profile::Step::Accept) {
                let http = l.plan.frontend(fe).is_some_and(|f| f.mode == Mode::Http);
                let rec = Record::start(fe, addrs, None, http);
                l.emit_at(&rec, profile::Step::Accept);
            }
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
        asap: false,
        origin: "txn_close",
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
        slots: rec.extra.slots(),
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
            sd: None,
        };
        let line = target::Line {
            level,
            facility: None,
            now,
            id: &id,
            meta: None,
            body: &self.body,
        };
        for &t in &pl.targets {
            let (Some(spec), Some(sock)) = (logs.specs.get(t), self.socks.get_mut(t)) else {
                continue;
            };
            match target::deliver(spec, sock, &line, &mut self.msg, &mut self.clock) {
                Some(true) => {
                    logs.sent.fetch_add(1, Ordering::Relaxed);
                }
                Some(false) => {
                    logs.drops.fetch_add(1, Ordering::Relaxed);
                }
                None => {}
            }
        }
    }

    fn emit(&mut self, rec: &Record) {
        let Some(pl) = self.logs.proxy(rec.frontend) else {
            return;
        };
        // A connection that ended in an error before any request is the error step.
        let step = if rec.http && rec.t.head_done.is_none() && format::is_error(rec) {
            profile::Step::Error
        } else {
            profile::Step::Close
        };
        let logged = rec.extra.0.as_ref().is_some_and(|c| c.logged);
        // `logasap` writes at the end a line that never reached its early step.
        let late = pl.logasap && !logged;
        if !pl.steps.has(step) && !late {
            return;
        }
        if logged && step == profile::Step::Close && !pl.steps.has(step) {
            return;
        }
        self.emit_at(rec, step);
    }

    /// Formats and sends the line of `rec` at `step` to each target, in its profile's
    /// format for that step when it has one.
    fn emit_at(&mut self, rec: &Record, step: profile::Step) {
        let asap = !matches!(step, profile::Step::Close | profile::Step::Error);
        let logs = self.logs.clone();
        let plan = self.plan.clone();
        let Some(pl) = logs.proxy(rec.frontend) else {
            return;
        };
        let Some(fmt) = &pl.format else {
            return;
        };
        let bytes = rec.finish();
        // Nothing came from the client: no byte counted, and no request seen (a local answer
        // may end the stream before the byte counts are taken).
        if pl.dontlognull && bytes.0 == 0 && rec.t.first_byte.is_none() {
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
        let needs = pl.needs();
        let counters = needs.counters.then(|| {
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
        let line_end = req_bytes
            .iter()
            .position(|&c| c == b'\n')
            .map_or(req_bytes.len(), |i| i + 1);
        let mut line = req_bytes.get(..line_end).unwrap_or(req_bytes);
        // An HTTP/2 request's line as HAProxy logs it: `GET http://h/ HTTP/2.0`.
        let h2_line = copies
            .filter(|c| c.has_request && c.request_h2)
            .map(|_| h2_request_line(line));
        if let Some(l) = &h2_line {
            line = l;
        }
        let request = (!req_bytes.is_empty()).then(|| RequestLine::split(line));
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
        // The captures the samples read, filled from the heads as the stream filled them.
        let txn_captures = needs.request_head.then(|| {
            let mut c = sluice_rules::TxnCaptures::default();
            if let Some(m) = &msg_req {
                c.start_request(&pl.layout, m);
            }
            if let Some(m) = &msg_resp {
                c.start_response(&pl.layout, m);
            }
            c
        });
        let src = Src {
            captures: txn_captures.as_ref(),
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
        let mut v = view(
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
        v.asap = asap;
        v.origin = step.origin();
        let now = SystemTime::now();
        let mut body = std::mem::take(&mut self.body);
        body.clear();
        fmt.render(&v, &mut self.clock, &mut body);
        let mut alt = Vec::new();
        let mut sd = Vec::new();
        for (j, &t) in pl.targets.iter().enumerate() {
            let profile = pl.profiles.get(j).and_then(Option::as_ref);
            let rule = profile.and_then(|p| p.rule(step));
            if rule.is_some_and(|r| r.drop) {
                continue;
            }
            let text: &[u8] = match rule.and_then(|r| r.format.as_ref()) {
                Some(f) => {
                    alt.clear();
                    f.render(&v, &mut self.clock, &mut alt);
                    &alt
                }
                None => &body,
            };
            let sd_text = match rule.and_then(|r| r.sd.as_ref()) {
                Some(f) => {
                    sd.clear();
                    f.render(&v, &mut self.clock, &mut sd);
                    Some(sd.as_slice())
                }
                None => None,
            };
            let id = Identity {
                tag: profile.and_then(|p| p.tag.as_deref()).unwrap_or(&pl.tag),
                pid: logs.pid,
                hostname: &logs.hostname,
                sd: sd_text,
            };
            let line = target::Line {
                level,
                facility: None,
                now,
                id: &id,
                meta: None,
                body: text,
            };
            let (Some(spec), Some(sock)) = (logs.specs.get(t), self.socks.get_mut(t)) else {
                continue;
            };
            match target::deliver(spec, sock, &line, &mut self.msg, &mut self.clock) {
                Some(true) => {
                    logs.sent.fetch_add(1, Ordering::Relaxed);
                }
                Some(false) => {
                    logs.drops.fetch_add(1, Ordering::Relaxed);
                }
                None => {}
            }
        }
        self.body = body;
    }
}

/// Formats and sends the line of a finished stream (nothing when its frontend does not log
/// or logs in the legacy format, which logged at accept).
pub(crate) fn emit(rec: &Record) {
    with_local(|l| l.emit(rec));
}
