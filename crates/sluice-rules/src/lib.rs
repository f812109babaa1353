//! # sluice-rules
//!
//! Evaluates HAProxy's ACLs, conditions and rule actions. A proxy's rules are compiled once
//! from the typed configuration ([`sluice_model::Model`]) into [`CompiledProxyRules`]:
//! sample expressions are checked against the fetch and converter [`registry`](sample::registry),
//! pattern and map files are read, regexes compiled. The data plane then runs them per request
//! through traits it implements ([`HttpMessage`], [`Connection`]); nothing here does I/O
//! after compilation.
//!
//! ```
//! use sluice_config::{read_str, ReadOptions};
//! use sluice_model::{build, BuildOptions};
//! use sluice_rules::{compile, CompileOptions, SimpleConnection, SimpleMessage, Txn, Verdict};
//!
//! let text = "frontend web\n    mode http\n    bind :80\n    timeout client 5s\n\
//!             acl admin path_beg /admin\n    http-request deny if admin\n\
//!             default_backend app\n\
//!             backend app\n    mode http\n    timeout connect 5s\n    timeout server 5s\n    server a 127.0.0.1:8080\n";
//! let (tree, _) = read_str("t.cfg", text, &ReadOptions::default());
//! let (model, _) = build(&tree, &BuildOptions::default());
//! let rules = compile(&model, "web", &CompileOptions::default()).unwrap();
//!
//! let conn = SimpleConnection::new("192.0.2.1:40000", "127.0.0.1:80");
//! let mut txn = Txn::new();
//! let mut req = SimpleMessage::request("GET", "/admin/x", &[("Host", "a")]);
//! let verdict = rules.run_http_request(&mut req, &conn, &mut txn);
//! assert_eq!(verdict, Verdict::Deny { status: 403, reply: None });
//! ```
//!
//! Order of evaluation (the data plane drives it): frontend `http-request` rules and
//! `redirect` lines ([`CompiledProxyRules::run_http_request`]), then
//! [`select_backend`](CompiledProxyRules::select_backend), then the backend's request rules
//! and [`select_server`](CompiledProxyRules::select_server); on the way back the backend's
//! `http-response` rules, then the frontend's.

#![deny(missing_docs)]
// Diagnostics are large but built only while compiling a configuration, never per request.
#![allow(clippy::result_large_err)]

pub mod acl;
pub mod actions;
pub mod base64;
#[cfg(test)]
mod catalogue_sync;
pub mod condition;
mod headers_bin;
mod host;
pub mod logformat;
pub mod message;
mod normalize_uri;
pub mod origin;
pub mod pattern;
mod problem;
pub mod proc_vars;
pub mod sample;
pub mod status_codes;
pub mod stick;
pub mod text;
mod tls;
pub mod unique_id;
pub mod userlist;
pub mod varint;

pub use actions::{BodyWait, Reply, RuleList, Verdict};
pub use condition::Condition;
pub use logformat::LogFormat;
pub use message::{
    BackendConnection, CaptureSlots, Connection, HttpMessage, HttpMux, NoConnection, ProxyState,
    SampleSource, ServerState, SimpleConnection, SimpleMessage, Stream, StreamChanges, StreamDates,
    StreamEvents, StreamTimers, TcpInfoField, TimeoutKind, Txn, TxnCaptures, Vars,
};
pub use sample::{SampleExpr, SampleType, Value};
pub use unique_id::UniqueId;

use acl::{AclExpr, NamedAcl};
use pattern::MatchMethod;
use problem::Problem;
use sample::map::Map;
use sample::Place;
use sluice_config::{Category, Diagnostic, Diagnostics, Location};
use sluice_model::proxy::rules::RuleSet;
use sluice_model::proxy::{condition as model_condition, BackendName, Proxy};
use sluice_model::Model;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

/// The code of a finding about a pattern, map or reply file that cannot be read: `-c`
/// leaves those to the environment checks, which report each file once.
pub const FILE_UNREADABLE: &str = "rules-file-unreadable";

/// How to compile.
#[derive(Clone, Debug, Default)]
pub struct CompileOptions {
    /// Directory relative pattern and map files are read from (the current directory when
    /// `None`, as HAProxy does).
    pub base_dir: Option<PathBuf>,
}

/// Compile-time state shared by one proxy's rules: named ACLs and loaded files.
pub(crate) struct Env<'m> {
    model: &'m Model,
    proxy: &'m Proxy,
    base_dir: Option<PathBuf>,
    maps: HashMap<(String, MatchMethod, SampleType), Arc<Map>>,
    named: HashMap<String, Arc<NamedAcl>>,
    /// The `acl` lines compiled so far (by their location); the others are compiled after
    /// the rules, as HAProxy parses every line it reads.
    acl_lines_seen: HashSet<Location>,
    /// Warnings for HAProxy keywords Sluice ignores, waiting for the line they were found on.
    pub(crate) pending: Vec<Diagnostic>,
    /// Located warnings from ACL lines.
    pub(crate) acl_warnings: Diagnostics,
    /// The configuration's stick tables: shared by every proxy when given, else made when
    /// a rule first names one.
    stick_tables: std::cell::OnceCell<Arc<sluice_stick::Tables>>,
    /// The configuration's userlists, read when a rule first names one.
    userlists: std::cell::OnceCell<userlist::Userlists>,
}

impl<'m> Env<'m> {
    fn new(model: &'m Model, proxy: &'m Proxy, options: &CompileOptions) -> Self {
        Self {
            model,
            proxy,
            base_dir: options.base_dir.clone(),
            maps: HashMap::new(),
            named: HashMap::new(),
            acl_lines_seen: HashSet::new(),
            pending: Vec::new(),
            acl_warnings: Diagnostics::new(),
            stick_tables: std::cell::OnceCell::new(),
            userlists: std::cell::OnceCell::new(),
        }
    }

    /// The stick table named `name` (`be`, `peers/name`).
    pub(crate) fn stick_table(&self, name: &str) -> Option<Arc<sluice_stick::Table>> {
        let tables = self
            .stick_tables
            .get_or_init(|| Arc::new(sluice_stick::Tables::build(self.model).0));
        tables.get(name).cloned()
    }

    /// The proxy's own stick table (its `stick-table` line).
    pub(crate) fn own_stick_table(&self) -> Option<Arc<sluice_stick::Table>> {
        let own = self
            .proxy
            .other
            .iter()
            .any(|s| s.keyword() == "stick-table");
        own.then(|| self.stick_table(&self.proxy.name)).flatten()
    }

    fn path(&self, file: &str) -> PathBuf {
        match &self.base_dir {
            Some(base) if !file.starts_with('/') => base.join(file),
            _ => PathBuf::from(file),
        }
    }

    /// Reads a pattern, map or reply file. A file that cannot be read is the machine's
    /// problem (environment), not the text's.
    pub(crate) fn read_file(&self, file: &str) -> Result<String, Problem> {
        let path = self.path(file);
        let bytes = std::fs::read(&path).map_err(|e| {
            Problem::new(
                Category::Environment,
                Some(FILE_UNREADABLE),
                format!(
                    "failed to open file '{file}': {}",
                    sluice_config::diagnostic::os_reason(&e)
                ),
            )
        })?;
        String::from_utf8(bytes).map_err(|_| {
            Problem::new(
                Category::Environment,
                Some(FILE_UNREADABLE),
                format!("file '{file}' is not valid UTF-8 text"),
            )
        })
    }

    /// `tune.stick-counters` (3 by default): `track-sc<n>` needs `n` below it.
    pub(crate) fn stick_counters(&self) -> u32 {
        self.model
            .global
            .other
            .iter()
            .filter(|st| st.keyword() == "tune.stick-counters")
            .filter_map(|st| st.words.get(1)?.text.parse().ok())
            .next_back()
            .unwrap_or(3)
    }

    /// Gives the waiting warnings the line they belong to.
    pub(crate) fn flush_pending(&mut self, location: Location, warnings: &mut Diagnostics) {
        for w in self.pending.drain(..) {
            warnings.push(w.at(location));
        }
    }

    pub(crate) fn load_map(
        &mut self,
        file: &str,
        method: MatchMethod,
        out: SampleType,
    ) -> Result<Arc<Map>, Problem> {
        let key = (file.to_string(), method, out);
        if let Some(m) = self.maps.get(&key) {
            return Ok(m.clone());
        }
        let text = self.read_file(file)?;
        let map = Arc::new(
            Map::parse(&text, method, out)
                .map_err(|e| Problem::syntax(format!("map file '{file}': {e}")))?,
        );
        self.maps.insert(key, map.clone());
        Ok(map)
    }

    /// The configuration's frontends and their fixed default backends (`fe_defbe`,
    /// `fe_exists`).
    pub(crate) fn frontends(&self) -> Arc<sample::internal::Frontends> {
        let list = self
            .model
            .proxies
            .iter()
            .filter(|p| p.kind.is_frontend())
            .map(|p| {
                let be = match p.default_backend.as_ref().map(|b| &b.value) {
                    Some(BackendName::Static(name)) => Some(name.as_str().into()),
                    // A `listen` section is its own default backend.
                    None if p.kind.is_backend() => Some(p.name.as_str().into()),
                    _ => None,
                };
                (p.name.as_str().into(), be)
            })
            .collect();
        Arc::new(sample::internal::Frontends { list })
    }

    /// The `userlist` section `name` (`http_auth`).
    pub(crate) fn userlist(&self, name: &str) -> Option<Arc<userlist::Userlist>> {
        self.userlists
            .get_or_init(|| userlist::Userlists::of(self.model))
            .get(name)
    }

    pub(crate) fn check_backend(&self, name: &str) -> Result<(), String> {
        if self.model.backend(name).is_some() || self.model.proxies.is_empty() {
            Ok(())
        } else {
            Err(format!("no such backend '{name}'"))
        }
    }

    pub(crate) fn check_server(&self, backend: &str, server: &str) -> Result<(), String> {
        if self.model.proxies.is_empty() {
            return Ok(());
        }
        let be = self
            .model
            .backend(backend)
            .ok_or_else(|| format!("no such backend '{backend}'"))?;
        if be.servers.iter().any(|s| s.name == server) {
            Ok(())
        } else {
            Err(format!("no such server '{server}' in backend '{backend}'"))
        }
    }

    /// The named ACL `name`: the proxy's lines of that name, else a pre-defined ACL.
    pub(crate) fn named_acl(
        &mut self,
        name: &str,
        location: Location,
    ) -> Result<Arc<NamedAcl>, Diagnostic> {
        if let Some(acl) = self.named.get(name) {
            return Ok(acl.clone());
        }
        let proxy = self.proxy;
        let lines: Vec<_> = proxy.acls.iter().filter(|a| a.name == name).collect();
        let acl = if lines.is_empty() {
            match acl::predefined(name, location, self) {
                Some(r) => r?,
                None => {
                    return Err(Diagnostic::error(
                        Category::Semantic,
                        "acl-unknown",
                        format!("no such ACL : '{name}'"),
                    )
                    .at(location))
                }
            }
        } else {
            let mut compiled = Vec::with_capacity(lines.len());
            for line in lines {
                self.acl_lines_seen.insert(line.location);
                compiled.push(AclExpr::compile(line, Place::Any, self)?);
            }
            NamedAcl::new(name, compiled)
        };
        let acl = Arc::new(acl);
        self.named.insert(name.to_string(), acl.clone());
        Ok(acl)
    }
}

/// A backend chosen by `use_backend` or `default_backend`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend<'r> {
    /// A name checked when the configuration was loaded.
    Static(&'r str),
    /// A name built per request (`%[req.hdr(host),lower]`); the data plane checks it exists.
    Dynamic(String),
}

#[derive(Debug)]
enum Target {
    Static(String),
    Dynamic(LogFormat),
}

impl Target {
    fn compile(name: &BackendName, env: &mut Env<'_>) -> Result<Self, Problem> {
        Ok(match name {
            BackendName::Static(s) => Target::Static(s.clone()),
            BackendName::Dynamic(f) => {
                Target::Dynamic(LogFormat::compile(f, Place::HttpRequest, env)?)
            }
        })
    }

    fn resolve(&self, src: &dyn SampleSource) -> Backend<'_> {
        match self {
            Target::Static(s) => Backend::Static(s),
            Target::Dynamic(f) => {
                let mut out = Vec::new();
                f.render(src, &mut out);
                Backend::Dynamic(String::from_utf8_lossy(&out).into_owned())
            }
        }
    }
}

/// A frontend's capture slots, numbered from 0 per direction: `capture request header`,
/// `capture response header` and `declare capture` lines in their order, then one request
/// slot per `http-request capture ... len N` rule. Each slot is its length limit.
#[derive(Clone, Debug, Default)]
pub struct CaptureLayout {
    /// Request slots' limits.
    pub request: Vec<usize>,
    /// Response slots' limits.
    pub response: Vec<usize>,
    /// Request header captures: slot and header name.
    pub request_headers: Vec<(usize, Box<str>)>,
    /// Response header captures: slot and header name.
    pub response_headers: Vec<(usize, Box<str>)>,
}

impl CaptureLayout {
    /// The slots `proxy`'s `capture ... header` and `declare capture` lines declare.
    fn declared(proxy: &Proxy) -> CaptureLayout {
        let mut c = CaptureLayout::default();
        for st in &proxy.other {
            let w = |i: usize| st.words.get(i).map(|w| w.text.as_str());
            let len_at = |i: usize| {
                (w(i) == Some("len"))
                    .then(|| w(i + 1)?.parse::<usize>().ok())
                    .flatten()
            };
            match (st.keyword(), w(1), w(2)) {
                ("capture", Some("request"), Some("header")) => {
                    if let (Some(name), Some(len)) = (w(3), len_at(4)) {
                        c.request_headers.push((c.request.len(), name.into()));
                        c.request.push(len);
                    }
                }
                ("capture", Some("response"), Some("header")) => {
                    if let (Some(name), Some(len)) = (w(3), len_at(4)) {
                        c.response_headers.push((c.response.len(), name.into()));
                        c.response.push(len);
                    }
                }
                ("declare", Some("capture"), Some(side)) => {
                    if let Some(len) = len_at(3) {
                        match side {
                            "request" => c.request.push(len),
                            "response" => c.response.push(len),
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        c
    }

    /// Whether no slot is declared.
    pub fn is_empty(&self) -> bool {
        self.request.is_empty() && self.response.is_empty()
    }

    /// The slots of `proxy` (the log line rebuilds the captures from the heads it kept).
    pub fn of(proxy: &Proxy) -> CaptureLayout {
        Self::declared(proxy)
    }
}

/// The value of the last `name` field of `msg`.
fn last_header<'m>(msg: &'m dyn HttpMessage, name: &str) -> Option<&'m [u8]> {
    (0..msg.header_count()).rev().find_map(|i| {
        let (n, v) = msg.header(i)?;
        n.eq_ignore_ascii_case(name.as_bytes()).then_some(v)
    })
}

impl TxnCaptures {
    /// A request starts: the frontend's request slots, emptied, its header captures filled
    /// from `msg`, and the request line kept for the response side.
    pub fn start_request(&mut self, layout: &CaptureLayout, msg: &dyn HttpMessage) {
        self.clear();
        self.request.reset(&layout.request);
        self.response.reset(&layout.response);
        self.keep_request_line(msg);
        for (slot, name) in &layout.request_headers {
            if let Some(v) = last_header(msg, name) {
                self.request.set(*slot, v, usize::MAX);
            }
        }
    }

    /// The response head came: the frontend's response header captures filled from `msg`
    /// and its version kept.
    pub fn start_response(&mut self, layout: &CaptureLayout, msg: &dyn HttpMessage) {
        self.keep_response_version(msg);
        for (slot, name) in &layout.response_headers {
            if let Some(v) = last_header(msg, name) {
                self.response.set(*slot, v, usize::MAX);
            }
        }
    }
}

/// Everything one proxy evaluates per request.
#[derive(Debug)]
pub struct CompiledProxyRules {
    /// The proxy's name.
    pub name: String,
    /// `http-request` rules.
    pub http_request: RuleList,
    /// `http-error` lines with log-format parts, rendered per answer.
    pub http_errors: actions::DynamicErrors,
    /// `redirect` lines (run after `http-request` rules, as HAProxy does).
    pub redirects: RuleList,
    /// `monitor fail if|unless <cond>`: the conditions that turn the `monitor-uri` answer
    /// into a 503.
    pub monitor_fail: Vec<Condition>,
    /// `http-response` rules.
    pub http_response: RuleList,
    /// `http-after-response` rules.
    pub http_after_response: RuleList,
    /// `tcp-request connection` rules.
    pub tcp_connection: RuleList,
    /// `tcp-request session` rules.
    pub tcp_session: RuleList,
    /// `tcp-request content` rules.
    pub tcp_content: RuleList,
    /// `tcp-response content` rules.
    pub tcp_response: RuleList,
    use_backends: Vec<(Target, Option<Condition>)>,
    default_backend: Option<Target>,
    use_servers: Vec<(String, Option<Condition>)>,
    /// `unique-id-format` (own line, else the defaults section's) of a frontend.
    pub unique_id_format: Option<LogFormat>,
    /// Some rule's arguments read the unique ID (`unique-id`, `%ID`): the request stage
    /// makes it while the request head is at hand.
    pub reads_unique_id: bool,
    /// By server position: the `set-proxy-v2-tlv-fmt(<id>) <fmt>` TLVs of each server of a
    /// backend, as (type, format).
    pub server_tlvs: Vec<Vec<(u8, LogFormat)>>,
    /// The frontend's capture slots (see [`CaptureLayout`]).
    pub captures: CaptureLayout,
    /// A backend's `stick` lines (persistence through stick tables).
    pub stick: stick::StickRules,
    /// Warnings found while compiling (ACLs that can never match where they are used).
    pub warnings: Diagnostics,
}

impl CompiledProxyRules {
    /// Runs `http-request` rules then `redirect` lines on a request.
    pub fn run_http_request(
        &self,
        msg: &mut dyn HttpMessage,
        conn: &dyn Connection,
        txn: &mut Txn,
    ) -> Verdict {
        let mut scratch = std::mem::take(&mut txn.scratch);
        let mut verdict = self.http_request.run(msg, false, conn, txn, &mut scratch);
        if matches!(verdict, Verdict::Continue | Verdict::Allow) {
            let after = self.redirects.run(msg, false, conn, txn, &mut scratch);
            if after != Verdict::Continue {
                verdict = after;
            }
        }
        txn.scratch = scratch;
        self.http_errors.apply(verdict, &*msg, false, conn, txn)
    }

    /// Runs `http-response` rules on a response.
    pub fn run_http_response(
        &self,
        msg: &mut dyn HttpMessage,
        conn: &dyn Connection,
        txn: &mut Txn,
    ) -> Verdict {
        let mut scratch = std::mem::take(&mut txn.scratch);
        let verdict = self.http_response.run(msg, true, conn, txn, &mut scratch);
        txn.scratch = scratch;
        self.http_errors.apply(verdict, &*msg, true, conn, txn)
    }

    /// Runs `http-after-response` rules on a response (including generated ones).
    pub fn run_http_after_response(
        &self,
        msg: &mut dyn HttpMessage,
        conn: &dyn Connection,
        txn: &mut Txn,
    ) -> Verdict {
        let mut scratch = std::mem::take(&mut txn.scratch);
        let verdict = self
            .http_after_response
            .run(msg, true, conn, txn, &mut scratch);
        txn.scratch = scratch;
        verdict
    }

    /// The backend for this request: the first `use_backend` whose condition holds, else
    /// `default_backend`, else `None` (a backend-capable proxy serves itself).
    pub fn select_backend(
        &self,
        msg: &dyn HttpMessage,
        conn: &dyn Connection,
        txn: &Txn,
    ) -> Option<Backend<'_>> {
        self.select_backend_usable(msg, conn, txn, |_| true)
    }

    /// [`select_backend`](Self::select_backend), where a static rule whose backend
    /// `usable` refuses (disabled) gives way to the next rule.
    pub fn select_backend_usable(
        &self,
        msg: &dyn HttpMessage,
        conn: &dyn Connection,
        txn: &Txn,
        usable: impl Fn(&str) -> bool,
    ) -> Option<Backend<'_>> {
        let src = Stream {
            conn,
            request: Some(msg),
            response: None,
            vars: Some(&txn.vars),
            changes: Some(&txn.changes),
            captures: Some(&txn.captures),
        };
        self.select_backend_where(&src, usable)
    }

    /// [`select_backend`](Self::select_backend) for TCP mode (no HTTP message).
    pub fn select_backend_from(&self, src: &dyn SampleSource) -> Option<Backend<'_>> {
        self.select_backend_where(src, |_| true)
    }

    /// [`select_backend_from`](Self::select_backend_from), skipping the static names
    /// `usable` refuses (a disabled backend): the next rule is tried, as in HAProxy. A
    /// dynamic name is returned as built; when the data plane finds no such backend it
    /// goes to the default one without trying the rules that follow.
    pub fn select_backend_where(
        &self,
        src: &dyn SampleSource,
        usable: impl Fn(&str) -> bool,
    ) -> Option<Backend<'_>> {
        for (target, cond) in &self.use_backends {
            if condition::holds_opt(cond, src) {
                match target.resolve(src) {
                    Backend::Static(name) if !usable(name) => continue,
                    found => return Some(found),
                }
            }
        }
        self.default_backend.as_ref().map(|t| t.resolve(src))
    }

    /// Whether a `monitor fail` condition holds: the monitor URI then answers 503.
    pub fn monitor_fails(&self, src: &dyn SampleSource) -> bool {
        self.monitor_fail.iter().any(|c| c.eval(src))
    }

    /// The server a `use-server` line forces, if any.
    pub fn select_server(&self, src: &dyn SampleSource) -> Option<&str> {
        self.use_servers
            .iter()
            .find(|(_, cond)| condition::holds_opt(cond, src))
            .map(|(s, _)| s.as_str())
    }
}

/// Compiles one sample expression (`req.hdr(host),lower`) of `proxy` for `place`: the data
/// plane's log formats compile their `%[...]` items with it, so that there is one compiler.
/// The error is the message HAProxy-style (`failed to parse ...`).
pub fn compile_sample(
    model: &Model,
    proxy: &Proxy,
    text: &str,
    place: Place,
) -> Result<SampleExpr, String> {
    let mut env = Env::new(model, proxy, &CompileOptions::default());
    SampleExpr::compile(text, place, &mut env).map_err(|p| p.message)
}

/// Compiles one log-format string of `proxy` for `place` (health-check request values:
/// `hdr`, `uri-lf`, `body-lf`, `set-var-fmt`). The error is the message HAProxy-style.
pub fn compile_log_format(
    model: &Model,
    proxy: &Proxy,
    text: &str,
    place: Place,
) -> Result<LogFormat, String> {
    let mut env = Env::new(model, proxy, &CompileOptions::default());
    LogFormat::compile(text, place, &mut env).map_err(|p| p.message)
}

/// The `unique-id-format` text that applies to `proxy` (its own line, else its defaults'),
/// for the places that make a unique ID outside a request (health checks).
pub fn unique_id_format_text<'m>(model: &'m Model, proxy: &'m Proxy) -> Option<&'m str> {
    unique_id_line(model, proxy)
        .and_then(|st| st.words.get(1))
        .map(|w| w.text.as_str())
}

/// Compiles the rules of the proxy `proxy_name`.
pub fn compile(
    model: &Model,
    proxy_name: &str,
    options: &CompileOptions,
) -> Result<CompiledProxyRules, Diagnostics> {
    let Some(proxy) = model.proxies.iter().find(|p| p.name == proxy_name) else {
        let mut d = Diagnostics::new();
        d.push(Diagnostic::error(
            Category::Semantic,
            "proxy-unknown",
            format!("no such proxy '{proxy_name}'"),
        ));
        return Err(d);
    };
    compile_proxy(model, proxy, options, None)
}

/// Compiles every frontend, backend and listen section; errors of all proxies are collected.
pub fn compile_all(
    model: &Model,
    options: &CompileOptions,
) -> Result<Vec<CompiledProxyRules>, Diagnostics> {
    let tables = Arc::new(sluice_stick::Tables::build(model).0);
    compile_all_with_tables(model, options, &tables)
}

/// [`compile_all`] with the stick tables the rules track into and read (the data plane
/// makes them once per worker and keeps them for the runtime API).
pub fn compile_all_with_tables(
    model: &Model,
    options: &CompileOptions,
    tables: &Arc<sluice_stick::Tables>,
) -> Result<Vec<CompiledProxyRules>, Diagnostics> {
    let mut out = Vec::new();
    let mut errors = Diagnostics::new();
    for proxy in &model.proxies {
        match compile_proxy(model, proxy, options, Some(tables)) {
            Ok(r) => out.push(r),
            Err(d) => errors.extend(d),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Compiles every proxy for a configuration check: errors and warnings of all proxies, in
/// proxy order (nothing is kept; the data plane compiles again where it runs).
pub fn check_all(model: &Model, options: &CompileOptions) -> Diagnostics {
    let (tables, mut found) = sluice_stick::Tables::build(model);
    found.extend(proc_vars::check_global(model));
    let tables = Arc::new(tables);
    for proxy in &model.proxies {
        let (errors, warnings) = match compile_proxy_full(model, proxy, options, Some(&tables)) {
            Ok(rules) => (Diagnostics::new(), rules.warnings),
            Err(both) => both,
        };
        found.extend(errors);
        found.extend(warnings);
    }
    found
}

/// The `unique-id-format` line that applies to `proxy`: its own, else its defaults'.
fn unique_id_line<'m>(model: &'m Model, proxy: &'m Proxy) -> Option<&'m sluice_config::Statement> {
    let defaults = proxy
        .defaults
        .as_deref()
        .and_then(|d| model.defaults.iter().rev().find(|p| p.name == d));
    let own = proxy.other.iter().rev();
    let inherited = defaults
        .map(|d| d.other.as_slice())
        .unwrap_or_default()
        .iter()
        .rev();
    own.chain(inherited)
        .find(|s| s.keyword() == "unique-id-format")
}

fn compile_proxy(
    model: &Model,
    proxy: &Proxy,
    options: &CompileOptions,
    tables: Option<&Arc<sluice_stick::Tables>>,
) -> Result<CompiledProxyRules, Diagnostics> {
    compile_proxy_full(model, proxy, options, tables).map_err(|(errors, _)| errors)
}

/// The compiled rules, or the errors and the warnings.
fn compile_proxy_full(
    model: &Model,
    proxy: &Proxy,
    options: &CompileOptions,
    tables: Option<&Arc<sluice_stick::Tables>>,
) -> Result<CompiledProxyRules, (Diagnostics, Diagnostics)> {
    let mut env = Env::new(model, proxy, options);
    if let Some(t) = tables {
        let _ = env.stick_tables.set(t.clone());
    }
    let mut errors = Diagnostics::new();
    let mut warnings = Diagnostics::new();
    let mut out = CompiledProxyRules {
        name: proxy.name.clone(),
        http_request: RuleList::default(),
        http_errors: actions::DynamicErrors::default(),
        redirects: RuleList::default(),
        monitor_fail: Vec::new(),
        http_response: RuleList::default(),
        http_after_response: RuleList::default(),
        tcp_connection: RuleList::default(),
        tcp_session: RuleList::default(),
        tcp_content: RuleList::default(),
        tcp_response: RuleList::default(),
        use_backends: Vec::new(),
        default_backend: None,
        use_servers: Vec::new(),
        unique_id_format: None,
        reads_unique_id: proxy.rules.iter().any(|r| {
            r.args
                .iter()
                .any(|a| a.contains("unique-id") || a.contains("%ID"))
        }),
        server_tlvs: Vec::new(),
        captures: CaptureLayout::default(),
        stick: stick::StickRules::default(),
        warnings: Diagnostics::new(),
    };
    // `http-error` lines, the defaults' first, as the error pages take them.
    let defaults = proxy
        .defaults
        .as_deref()
        .and_then(|d| model.defaults.iter().rev().find(|p| p.name == d));
    let http_errors = defaults
        .map(|d| d.other.as_slice())
        .unwrap_or_default()
        .iter()
        .chain(proxy.other.iter())
        .filter(|s| s.keyword() == "http-error");
    for st in http_errors {
        let args: Vec<String> = st.words.iter().skip(1).map(|w| w.text.clone()).collect();
        if let Err(p) = out.http_errors.add(&args, &mut env) {
            errors.push(p.into_diagnostic(
                "http-error-invalid",
                |m| format!("'http-error': {m}"),
                st.location,
            ));
        }
    }
    if proxy.kind.is_frontend() {
        if let Some(st) = unique_id_line(model, proxy) {
            let text = st.words.get(1).map_or("", |w| w.text.as_str());
            match LogFormat::compile(text, Place::HttpRequest, &mut env) {
                Ok(f) => out.unique_id_format = Some(f),
                Err(p) => errors.push(p.into_diagnostic(
                    "unique-id-format-invalid",
                    |m| format!("'unique-id-format': {m}"),
                    st.location,
                )),
            }
        }
    }
    if proxy.kind.is_frontend() {
        out.captures = CaptureLayout::declared(proxy);
    }
    if proxy.kind.is_backend() {
        for server in &proxy.servers {
            let mut tlvs = Vec::new();
            for (kind, text) in &server.options.proxy_v2_tlvs {
                match LogFormat::compile(&text.value, Place::HttpRequest, &mut env) {
                    Ok(f) => tlvs.push((*kind, f)),
                    Err(p) => errors.push(p.into_diagnostic(
                        "proxy-v2-tlv-format-invalid",
                        |m| format!("'set-proxy-v2-tlv-fmt' of server '{}': {m}", server.name),
                        text.location,
                    )),
                }
            }
            out.server_tlvs.push(tlvs);
        }
    }
    let mut renv = actions::RuleEnv {
        proxy_name: &proxy.name,
        captures: out.captures.request.len(),
        capture_lens: Vec::new(),
    };
    for rule in &proxy.rules {
        match actions::compile_rule(rule, &mut renv, &mut env, &mut warnings) {
            Ok(r) => match rule.set {
                RuleSet::HttpRequest => out.http_request.push(r),
                RuleSet::HttpResponse => out.http_response.push(r),
                RuleSet::HttpAfterResponse => out.http_after_response.push(r),
                RuleSet::TcpRequestConnection => out.tcp_connection.push(r),
                RuleSet::TcpRequestSession => out.tcp_session.push(r),
                RuleSet::TcpRequestContent => out.tcp_content.push(r),
                RuleSet::TcpResponseContent => out.tcp_response.push(r),
            },
            Err(d) => errors.push(d),
        }
        env.flush_pending(rule.location, &mut warnings);
    }
    // `option forwarded ... for-expr <expr>`: the data plane compiles the expressions where
    // it runs; a configuration check reports the ones that do not compile.
    if let Some(option) = proxy
        .option("forwarded")
        .filter(|_| proxy.kind.is_backend())
    {
        for pair in option.args.windows(2) {
            let [word, text] = pair else { continue };
            if !word.ends_with("-expr") {
                continue;
            }
            if let Err(p) = SampleExpr::compile(text, Place::HttpRequest, &mut env) {
                errors.push(p.into_diagnostic(
                    "option-invalid",
                    |m| format!("'option forwarded {word}': {m}"),
                    option.location,
                ));
            }
        }
    }
    // `http-request capture ... len N` lines add request slots after the declared ones.
    out.captures.request.extend_from_slice(&renv.capture_lens);
    for ub in &proxy.use_backends {
        let cond = match &ub.condition {
            Some(c) => match Condition::compile(
                c,
                Place::HttpRequest,
                "use_backend",
                &mut env,
                &mut warnings,
            ) {
                Ok(c) => Some(c),
                Err(d) => {
                    errors.push(d);
                    continue;
                }
            },
            None => None,
        };
        match Target::compile(&ub.target, &mut env) {
            Ok(t) => out.use_backends.push((t, cond)),
            Err(e) => errors.push(e.into_diagnostic(
                "use-backend-invalid",
                |m| format!("'use_backend': {m}"),
                ub.location,
            )),
        }
        env.flush_pending(ub.location, &mut warnings);
    }
    if let Some(db) = &proxy.default_backend {
        match Target::compile(&db.value, &mut env) {
            Ok(t) => out.default_backend = Some(t),
            Err(e) => errors.push(e.into_diagnostic(
                "default-backend-invalid",
                |m| format!("'default_backend': {m}"),
                db.location,
            )),
        }
        env.flush_pending(db.location, &mut warnings);
    }
    for stmt in &proxy.other {
        let keyword = stmt.keyword();
        if keyword != "redirect" && keyword != "use-server" && keyword != "monitor" {
            continue;
        }
        let cond_at = model_condition::find(stmt, 1);
        let end = cond_at.unwrap_or(stmt.words.len());
        let args: Vec<String> = stmt
            .words
            .get(1..end)
            .unwrap_or(&[])
            .iter()
            .map(|w| w.text.clone())
            .collect();
        let cond = match cond_at {
            Some(i) => {
                let mut parse_diags = Diagnostics::new();
                let parsed = model_condition::parse(stmt, i, &mut parse_diags);
                match parsed {
                    Ok(c) => match Condition::compile(
                        &c,
                        Place::HttpRequest,
                        keyword,
                        &mut env,
                        &mut warnings,
                    ) {
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
        if keyword == "monitor" {
            // `monitor fail` with its condition; the catalogue reports other words.
            match cond {
                Some(c) => out.monitor_fail.push(c),
                None => errors.push(
                    Diagnostic::error(
                        Category::Syntax,
                        "monitor-fail-condition",
                        "'monitor fail' expects 'if' or 'unless' followed by a condition.",
                    )
                    .at(stmt.location)
                    .help("write 'monitor fail if <condition>', e.g. 'monitor fail if { nbsrv(be) lt 1 }'"),
                ),
            }
        } else if keyword == "redirect" {
            match actions::compile_redirect_line(&args, cond, &mut env) {
                Ok(r) => out.redirects.push(r.written_at(stmt.location)),
                Err(e) => errors.push(e.into_diagnostic(
                    "rule-invalid",
                    |m| format!("'redirect': {m}"),
                    stmt.location,
                )),
            }
        } else if let Some(server) = args.first() {
            out.use_servers.push((server.clone(), cond));
        }
        env.flush_pending(stmt.location, &mut warnings);
    }
    if proxy.kind.is_backend() {
        out.stick = stick::compile_rules(&mut env, &mut errors, &mut warnings);
    }
    // HAProxy parses every `acl` line when it reads it: a line no rule reached (an ACL
    // nothing uses, or the lines after the first bad one of a used ACL) is checked too, on
    // its own line.
    for acl in &proxy.acls {
        if !env.acl_lines_seen.insert(acl.location) {
            continue;
        }
        if let Err(d) = AclExpr::compile(acl, Place::Any, &mut env) {
            errors.push(d);
        }
        env.flush_pending(acl.location, &mut warnings);
    }
    warnings.extend(std::mem::take(&mut env.acl_warnings));
    // A bad ACL used by several rules is compiled for each of them: one finding per line.
    let errors = unique(errors);
    let warnings = unique(warnings);
    if errors.is_empty() {
        out.warnings = warnings;
        Ok(out)
    } else {
        Err((errors, warnings))
    }
}

/// `found` without repeats (same code, place and text), in order.
fn unique(found: Diagnostics) -> Diagnostics {
    let mut seen = HashSet::new();
    let mut out = Diagnostics::new();
    for d in found {
        if seen.insert((d.code, d.location, d.message.clone())) {
            out.push(d);
        }
    }
    out
}
