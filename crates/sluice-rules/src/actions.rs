//! Rule actions (`http-request`, `http-response`, `tcp-request`...) compiled from the model's
//! rules, and their evaluation over an [`HttpMessage`].
//!
//! Stick-table actions (`track-sc*`, `sc-inc-gpc*`, `sc-set-gpt*`...) are compiled and run
//! by [`crate::stick`]. Actions the catalogue marks "ignored" (`set-tos`,
//! `set-log-level`, `set-nice`...) compile to no-ops as the check already warned.

use crate::condition::{self, Condition};
use crate::logformat::LogFormat;
use crate::message::Stream;
use crate::message::{field_size, HttpMessage, StreamChanges, TimeoutKind, Txn, TxnCaptures};
use crate::normalize_uri::Normalizer;
use crate::pattern::{MatchMethod, PatternSet};
use crate::problem::{compile_regex, not_in_registry, Problem};
use crate::sample::fetch::{uri_path, uri_query, CommaValues};
use crate::sample::{Place, SampleExpr, Value};
use crate::{Connection, Env};
use regex::bytes::Regex;
use sluice_config::keywords::Table;
use sluice_config::{Category, Diagnostic, Diagnostics};
use sluice_model::proxy::rules::{Rule, RuleSet};
use std::sync::Arc;

/// A reply built by `return`, or by `deny`/`tarpit` with a custom response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// `content-type`, when given.
    pub content_type: Option<Arc<str>>,
    /// Body (static bodies are shared, not copied).
    pub body: Arc<[u8]>,
    /// Extra header fields (`hdr <name> <fmt>`), rendered.
    pub headers: Vec<(Arc<str>, Vec<u8>)>,
    /// `default-errorfiles` (or a `deny` without a reply): the proxy's error page for
    /// `status` applies.
    pub use_errorfile: bool,
    /// `body` is a whole HTTP response sent as it is (`errorfile`, `errorfiles`); an empty
    /// one closes the connection without a response.
    pub raw: bool,
}

/// What the rules decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// No final action: go on (to the next rule set, the backend, the server).
    Continue,
    /// `allow`/`accept`: stop evaluating this rule set and go on.
    Allow,
    /// `deny`: answer `status` (403 by default) with the error page or `reply`.
    Deny {
        /// Status code.
        status: u16,
        /// Custom response, when the rule gave one.
        reply: Option<Reply>,
    },
    /// `tarpit`: hold the connection for `timeout tarpit`, then answer `status` (500).
    Tarpit {
        /// Status code.
        status: u16,
        /// Custom response, when the rule gave one.
        reply: Option<Reply>,
    },
    /// `reject`: close the connection without a response.
    Reject,
    /// `silent-drop`: close without a response and without telling the client.
    SilentDrop,
    /// `redirect`: answer `code` with `Location: location`.
    Redirect {
        /// 301, 302, 303, 307 or 308.
        code: u16,
        /// The Location header value.
        location: Vec<u8>,
        /// `Set-Cookie` values to add (`set-cookie`, `clear-cookie`).
        cookies: Vec<Vec<u8>>,
    },
    /// `return`: answer with `Reply`.
    Return(Reply),
    /// `auth`: answer 401 (407 in a proxy) with `WWW-Authenticate: Basic realm=...`.
    Auth {
        /// The realm (the proxy's name by default).
        realm: Arc<str>,
    },
}

#[derive(Debug)]
enum Body {
    /// No payload: the status line, `content-length: 0` and the `hdr` fields.
    Empty,
    Static(Arc<[u8]>),
    Format(LogFormat),
    /// The proxy's error page for the status.
    Errorfile,
    /// A whole HTTP response (`errorfile <file>`, `errorfiles <section>`).
    Raw(Arc<[u8]>),
}

#[derive(Debug)]
struct ReplySpec {
    status: u16,
    content_type: Option<Arc<str>>,
    body: Body,
    headers: Vec<(Arc<str>, LogFormat)>,
}

#[derive(Debug)]
enum RedirectKind {
    Location,
    Prefix,
    Scheme,
}

#[derive(Debug)]
struct Redirect {
    kind: RedirectKind,
    target: LogFormat,
    code: u16,
    drop_query: bool,
    keep_query: bool,
    append_slash: bool,
    ignore_empty: bool,
    cookies: Vec<Vec<u8>>,
}

#[derive(Debug)]
enum UriPart {
    Path,
    PathQ,
    Query,
    Uri,
    Method,
}

/// Which address `set-src`, `set-dst`, `set-src-port` or `set-dst-port` changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AddrPart {
    Src,
    Dst,
    SrcPort,
    DstPort,
}

/// The value of a `set-timeout` or `pause` rule.
#[derive(Debug)]
enum TimeoutValue {
    Fixed(std::time::Duration),
    /// An expression giving milliseconds.
    Expr(SampleExpr),
}

/// How `del-headers-bin` compares header names with the list's (without case).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NameMatch {
    Str,
    Beg,
    End,
    Sub,
}

impl NameMatch {
    fn matches(self, name: &[u8], pattern: &[u8]) -> bool {
        let name = name.to_ascii_lowercase();
        let pattern = pattern.to_ascii_lowercase();
        match self {
            NameMatch::Str => name == pattern,
            NameMatch::Beg => name.starts_with(&pattern),
            NameMatch::End => name.ends_with(&pattern),
            NameMatch::Sub => {
                pattern.is_empty() || name.windows(pattern.len()).any(|w| w == pattern.as_slice())
            }
        }
    }
}

/// The value of a `set-retries` rule.
#[derive(Debug)]
enum RetriesValue {
    Fixed(u32),
    /// An expression giving the number of retries.
    Expr(SampleExpr),
}

/// The most retries `set-retries` accepts.
const MAX_RETRIES: i64 = 100;

/// The longest header value a rewrite may produce: HAProxy's internal message format
/// stores a value's length on 20 bits, and a longer value fails the rewrite.
pub const MAX_HEADER_VALUE: usize = (1 << 20) - 1;

#[derive(Debug)]
enum Action {
    Allow,
    Deny {
        status: u16,
        reply: Option<ReplySpec>,
    },
    Tarpit {
        status: u16,
        reply: Option<ReplySpec>,
    },
    Reject,
    SilentDrop,
    /// `tcp-request connection expect-proxy layer4`: read a PROXY header first.
    ExpectProxy,
    /// `tcp-request connection expect-netscaler-cip layer4`: read a NetScaler CIP header
    /// first.
    ExpectNetscalerCip,
    /// `tcp-request content switch-mode http [proto <name>]`: the stream goes on as HTTP.
    SwitchModeHttp(crate::message::HttpMux),
    Redirect(Redirect),
    Return(ReplySpec),
    Auth {
        realm: Arc<str>,
    },
    SetHeader {
        name: Box<[u8]>,
        value: LogFormat,
    },
    AddHeader {
        name: Box<[u8]>,
        value: LogFormat,
    },
    DelHeader {
        name: Box<[u8]>,
        matcher: Option<PatternSet>,
    },
    ReplaceHeader {
        name: Box<[u8]>,
        regex: Regex,
        with: LogFormat,
        each_value: bool,
    },
    Set {
        part: UriPart,
        value: LogFormat,
    },
    Replace {
        part: UriPart,
        regex: Regex,
        with: LogFormat,
    },
    SetVar {
        name: Box<str>,
        expr: SampleExpr,
    },
    SetVarFmt {
        name: Box<str>,
        value: LogFormat,
    },
    UnsetVar {
        name: Box<str>,
    },
    Capture {
        expr: SampleExpr,
        len: usize,
        slot: usize,
        /// `len <n>` made the slot in this proxy: streams of other frontends (a listen
        /// section reached as a backend) have no such slot, and the rule does nothing there.
        owner: Option<Box<str>>,
    },
    SetStatus {
        status: u16,
        reason: Option<Box<[u8]>>,
    },
    /// `set-src`, `set-dst`, `set-src-port`, `set-dst-port`.
    SetAddr {
        part: AddrPart,
        expr: SampleExpr,
    },
    /// `set-timeout <kind> <value>`.
    SetTimeout {
        kind: TimeoutKind,
        value: TimeoutValue,
    },
    /// `track-sc*`, `sc-inc-gpc*`, `sc-set-gpt*`, `sc-add-gpc`.
    Stick(crate::stick::StickAction),
    /// `early-hint <name> <fmt>`: a field of the 103 Early Hints response.
    EarlyHint {
        name: Box<[u8]>,
        value: LogFormat,
    },
    /// `wait-for-body time <time> [at-least <bytes>]`: the data plane waits for the body
    /// before the rules run ([`RuleList::body_wait`]); nothing to do when the rule is reached.
    WaitForBody(BodyWait),
    /// `normalize-uri <normalizer>`.
    NormalizeUri(Normalizer),
    /// `strict-mode on|off`: whether a failed rewrite by a later rule of the same rule set
    /// aborts the transaction.
    StrictMode(bool),
    /// `pause <time>|<expr>`: the analysis waits that long once the rules ran.
    Pause(TimeoutValue),
    /// `set-retries <int>|<expr>`.
    SetRetries(RetriesValue),
    /// `add-headers-bin` (or, with `replace`, `set-headers-bin`) `<expr> [prefix <str>]`.
    HeadersBin {
        expr: SampleExpr,
        prefix: Option<Box<[u8]>>,
        replace: bool,
    },
    /// `del-headers-bin <expr> [-m <method>]`.
    DelHeadersBin {
        expr: SampleExpr,
        method: NameMatch,
    },
    /// Accepted, nothing recorded (ignored knobs, data-plane modes).
    Nothing,
}

/// How long a message's rules wait for its body, and for how much of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyWait {
    /// The longest wait: then the request is answered with a 408 (a response with a 504).
    pub time: std::time::Duration,
    /// Enough bytes to go on with before the whole body is there.
    pub at_least: Option<u64>,
}

impl Action {
    fn is_final(&self) -> bool {
        matches!(
            self,
            Action::Allow
                | Action::Deny { .. }
                | Action::Tarpit { .. }
                | Action::Reject
                | Action::SilentDrop
                | Action::Redirect(_)
                | Action::Return(_)
                | Action::Auth { .. }
        )
    }
}

/// One compiled rule.
#[derive(Debug)]
pub struct CompiledRule {
    action: Action,
    condition: Option<Condition>,
    /// Where it was written (`last_rule_file`, `last_rule_line`).
    origin: Option<crate::origin::RuleOrigin>,
}

/// An ordered rule set (`http-request` rules of one proxy, for example).
#[derive(Debug, Default)]
pub struct RuleList {
    rules: Vec<CompiledRule>,
}

/// Compile-time facts a rule needs from its proxy.
pub(crate) struct RuleEnv<'a> {
    pub proxy_name: &'a str,
    /// Request capture slots so far (the next `capture ... len N` takes this one).
    pub captures: usize,
    /// The limits of the slots `capture ... len N` rules added, in order.
    pub capture_lens: Vec<usize>,
}

impl RuleList {
    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there is no rule.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub(crate) fn push(&mut self, rule: CompiledRule) {
        self.rules.push(rule);
    }

    /// Runs the rules on a request (or, with `response`, on a response) until a final action.
    /// `scratch` is a reusable buffer for rendered values.
    pub fn run(
        &self,
        msg: &mut dyn HttpMessage,
        is_response: bool,
        conn: &dyn Connection,
        txn: &mut Txn,
        scratch: &mut Vec<u8>,
    ) -> Verdict {
        // `strict-mode` holds for the rest of this rule set only.
        let mut strict = true;
        // Rewrites are measured from the head as the first rule set saw it.
        if conn.rewrite_room().is_some() {
            if let Some(slot) = txn.head_sizes.get_mut(usize::from(is_response)) {
                if slot.is_none() {
                    *slot = Some(head_size(&*msg));
                }
            }
        }
        for rule in &self.rules {
            // What converters of the previous rule set (`aes_gcm_enc`'s tag).
            txn.vars.apply_deferred();
            let applies = {
                let src = stream(&*msg, is_response, conn, txn);
                condition::holds(&rule.condition, &src)
            };
            if !applies {
                continue;
            }
            if let Action::StrictMode(on) = rule.action {
                strict = on;
                continue;
            }
            match apply(&rule.action, msg, is_response, conn, txn, scratch) {
                Applied::Done => {}
                Applied::Final(v) => {
                    txn.vars.last_rule = rule.origin;
                    txn.vars.apply_deferred();
                    return v;
                }
                Applied::RewriteFailed => {
                    txn.failed_rewrites += 1;
                    if strict {
                        // An internal error, as HAProxy answers a failed rewrite.
                        return Verdict::Deny {
                            status: 500,
                            reply: None,
                        };
                    }
                }
            }
        }
        txn.vars.apply_deferred();
        Verdict::Continue
    }

    /// The first `wait-for-body` rule whose condition holds on the message head as `src`
    /// shows it: the data plane waits for the body before it runs the rules.
    pub fn body_wait(&self, src: &dyn crate::SampleSource) -> Option<BodyWait> {
        self.rules.iter().find_map(|rule| match &rule.action {
            Action::WaitForBody(w) if condition::holds(&rule.condition, src) => Some(*w),
            _ => None,
        })
    }

    /// Runs TCP rules (no HTTP message): the first matching `accept`, `reject` or
    /// `silent-drop` decides; other actions run for their effect on variables.
    pub fn run_tcp(&self, conn: &dyn Connection, txn: &mut Txn) -> Verdict {
        self.inspect_tcp(conn, txn).unwrap_or(Verdict::Continue)
    }

    /// [`run_tcp`](Self::run_tcp) on contents that may still grow (content inspection):
    /// `None` when a rule's condition cannot tell yet and `conn` says that more may come
    /// ([`Connection::contents_final`]); the caller runs the rules again on more bytes.
    /// Once final, a condition that cannot tell does not match.
    pub fn inspect_tcp(&self, conn: &dyn Connection, txn: &mut Txn) -> Option<Verdict> {
        self.inspect_tcp_on(conn, None, txn)
    }

    /// [`run_tcp`](Self::run_tcp) in HTTP mode, where content rules also read the HTTP
    /// message at hand (`msg`: the request, or with `true` the response).
    pub fn run_tcp_on(
        &self,
        conn: &dyn Connection,
        msg: Option<(&dyn HttpMessage, bool)>,
        txn: &mut Txn,
    ) -> Verdict {
        self.inspect_tcp_on(conn, msg, txn)
            .unwrap_or(Verdict::Continue)
    }

    /// [`inspect_tcp`](Self::inspect_tcp) with the HTTP message at hand (`msg`: the
    /// request, or with `true` the response), which HTTP fetches read.
    pub fn inspect_tcp_on(
        &self,
        conn: &dyn Connection,
        msg: Option<(&dyn HttpMessage, bool)>,
        txn: &mut Txn,
    ) -> Option<Verdict> {
        let final_ = conn.contents_final();
        let request = msg.filter(|(_, response)| !response).map(|(m, _)| m);
        let response = msg.filter(|(_, response)| *response).map(|(m, _)| m);
        for rule in &self.rules {
            let src = Stream {
                conn,
                request,
                response,
                vars: Some(&txn.vars),
                changes: Some(&txn.changes),
                captures: Some(&txn.captures),
            };
            let holds = match &rule.condition {
                None => true,
                Some(c) => match c.eval_tri(&src) {
                    crate::acl::Tri::Match => true,
                    crate::acl::Tri::Miss if !final_ => return None,
                    _ => false,
                },
            };
            if !holds {
                continue;
            }
            match &rule.action {
                Action::SetVar { name, expr } => {
                    if let Some(v) = expr.eval(&src).map(Value::into_owned) {
                        txn.vars.set(name, v);
                    }
                }
                Action::SetVarFmt { name, value } => {
                    let mut out = Vec::new();
                    value.render(&src, &mut out);
                    txn.vars.set(name, Value::string(out));
                }
                Action::UnsetVar { name } => txn.vars.unset(name),
                Action::SetAddr { part, expr } => {
                    let v = expr.eval(&src).map(Value::into_owned);
                    if let Some(v) = v {
                        set_addr(&mut txn.changes, *part, &v.reborrow(), conn);
                    }
                }
                Action::Capture {
                    expr,
                    len,
                    slot,
                    owner,
                } if owns_slot(owner, conn) => {
                    capture(&src, expr, *len, *slot, false, &txn.captures);
                }
                Action::ExpectProxy => txn.expect_proxy = true,
                Action::SetRetries(value) => {
                    if let Some(n) = retries(value, &src) {
                        txn.changes.retries = Some(n);
                    }
                }
                Action::ExpectNetscalerCip => txn.expect_netscaler_cip = true,
                // Ends the rules as `accept` does; the data plane switches the stream (an
                // HTTP stream already is one).
                Action::SwitchModeHttp(mux) => {
                    txn.vars.last_rule = rule.origin;
                    txn.switch_http = Some(*mux);
                    return Some(Verdict::Allow);
                }
                Action::Stick(a) => {
                    if !final_ && a.key_pending(&src) {
                        return None;
                    }
                    let input = a.prepare(&src);
                    a.run(input, &mut txn.vars.stick);
                }
                Action::Allow => {
                    txn.vars.last_rule = rule.origin;
                    return Some(Verdict::Allow);
                }
                Action::Reject => {
                    txn.vars.last_rule = rule.origin;
                    return Some(Verdict::Reject);
                }
                Action::SilentDrop => {
                    txn.vars.last_rule = rule.origin;
                    return Some(Verdict::SilentDrop);
                }
                _ => {}
            }
        }
        Some(Verdict::Continue)
    }
}

/// Whether the stream has the capture slot a rule made (see `Action::Capture::owner`).
fn owns_slot(owner: &Option<Box<str>>, conn: &dyn Connection) -> bool {
    // An unknown frontend (tools, tests) has the slots.
    let frontend = conn.frontend_name();
    owner
        .as_deref()
        .is_none_or(|proxy| frontend.is_empty() || frontend == proxy)
}

/// Stores the sample of `expr` in capture slot `slot` of the request (or response), `len`
/// bytes at most; a missing sample empties the slot. No such slot: nothing happens.
fn capture(
    src: &Stream<'_>,
    expr: &SampleExpr,
    len: usize,
    slot: usize,
    response: bool,
    caps: &TxnCaptures,
) {
    let slots = if response {
        &caps.response
    } else {
        &caps.request
    };
    match expr.eval(src) {
        Some(v) => {
            let mut out = Vec::new();
            v.write_to(&mut out);
            slots.set(slot, &out, len);
        }
        None => slots.unset(slot),
    }
}

fn stream<'a>(
    msg: &'a dyn HttpMessage,
    is_response: bool,
    conn: &'a dyn Connection,
    txn: &'a Txn,
) -> Stream<'a> {
    Stream {
        conn,
        request: (!is_response).then_some(msg),
        response: is_response.then_some(msg),
        vars: Some(&txn.vars),
        changes: Some(&txn.changes),
        captures: Some(&txn.captures),
    }
}

fn render_reply(spec: &ReplySpec, src: &Stream<'_>) -> Reply {
    let mut buf = Vec::new();
    let (body, use_errorfile, raw) = match &spec.body {
        Body::Empty => (Arc::from(&b""[..]), false, false),
        Body::Static(b) => (b.clone(), false, false),
        Body::Format(f) => {
            f.render(src, &mut buf);
            (Arc::from(std::mem::take(&mut buf)), false, false)
        }
        Body::Errorfile => (Arc::from(&b""[..]), true, false),
        Body::Raw(b) => (b.clone(), false, true),
    };
    // A header whose value renders empty is left out.
    let headers = spec
        .headers
        .iter()
        .filter_map(|(n, f)| {
            let mut v = Vec::new();
            f.render(src, &mut v);
            (!v.is_empty()).then(|| (n.clone(), v))
        })
        .collect();
    Reply {
        status: spec.status,
        content_type: spec.content_type.clone(),
        body,
        headers,
        use_errorfile,
        raw,
    }
}

/// The `http-error` lines of a proxy whose headers or body are log-format strings
/// (`hdr <name> "%[path]"`, `lf-string`, `lf-file`): rendered for the stream each time a rule
/// answers with the proxy's page for their status (`deny`, `return ... default-errorfiles`).
/// Lines without log-format are turned into fixed pages with the other error pages.
#[derive(Debug, Default)]
pub struct DynamicErrors(Vec<ReplySpec>);

/// Whether an `http-error` line (its words after the keyword) renders per stream.
pub fn http_error_is_dynamic(args: &[String]) -> bool {
    args.iter().enumerate().any(|(i, w)| {
        matches!(w.as_str(), "lf-string" | "lf-file")
            || (w == "hdr" && args.get(i + 2).is_some_and(|v| v.contains('%')))
    })
}

impl DynamicErrors {
    /// Compiles one `http-error` line (its words after the keyword) when it is dynamic.
    pub(crate) fn add(&mut self, args: &[String], env: &mut Env<'_>) -> Result<(), Problem> {
        if http_error_is_dynamic(args) {
            let spec = parse_reply(args, 200, Place::HttpRequest, env)?;
            self.0.retain(|s| s.status != spec.status);
            self.0.push(spec);
        }
        Ok(())
    }

    /// `verdict`, with the reply of this proxy's dynamic `http-error` for its status when
    /// the verdict uses the error page.
    pub(crate) fn apply(
        &self,
        verdict: Verdict,
        msg: &dyn HttpMessage,
        is_response: bool,
        conn: &dyn Connection,
        txn: &Txn,
    ) -> Verdict {
        if self.0.is_empty() {
            return verdict;
        }
        let status = match &verdict {
            Verdict::Deny {
                status,
                reply: None,
            } => *status,
            Verdict::Deny { reply: Some(r), .. } | Verdict::Return(r) if r.use_errorfile => {
                r.status
            }
            _ => return verdict,
        };
        let Some(spec) = self.0.iter().find(|s| s.status == status) else {
            return verdict;
        };
        let reply = render_reply(spec, &stream(msg, is_response, conn, txn));
        match verdict {
            Verdict::Deny { status, .. } => Verdict::Deny {
                status,
                reply: Some(reply),
            },
            _ => Verdict::Return(reply),
        }
    }
}

/// What applying one action gave.
enum Applied {
    /// Go on with the next rule.
    Done,
    /// A final verdict.
    Final(Verdict),
    /// A rewrite could not be made (see [`MAX_HEADER_VALUE`]): an error in strict mode.
    RewriteFailed,
}

/// Applies one action.
fn apply(
    action: &Action,
    msg: &mut dyn HttpMessage,
    is_response: bool,
    conn: &dyn Connection,
    txn: &mut Txn,
    scratch: &mut Vec<u8>,
) -> Applied {
    match action {
        Action::Allow => return Applied::Final(Verdict::Allow),
        Action::Reject => return Applied::Final(Verdict::Reject),
        Action::SilentDrop => return Applied::Final(Verdict::SilentDrop),
        Action::Auth { realm } => {
            return Applied::Final(Verdict::Auth {
                realm: realm.clone(),
            })
        }
        Action::Deny { status, reply } => {
            let src = stream(&*msg, is_response, conn, txn);
            return Applied::Final(Verdict::Deny {
                status: *status,
                reply: reply.as_ref().map(|r| render_reply(r, &src)),
            });
        }
        Action::Tarpit { status, reply } => {
            let src = stream(&*msg, is_response, conn, txn);
            return Applied::Final(Verdict::Tarpit {
                status: *status,
                reply: reply.as_ref().map(|r| render_reply(r, &src)),
            });
        }
        Action::Return(spec) => {
            let src = stream(&*msg, is_response, conn, txn);
            return Applied::Final(Verdict::Return(render_reply(spec, &src)));
        }
        Action::Redirect(r) => {
            let src = stream(&*msg, is_response, conn, txn);
            return match redirect(r, &src, &*msg, scratch) {
                Some(v) => Applied::Final(v),
                None => Applied::Done,
            };
        }
        Action::EarlyHint { name, value } => {
            value.render(&stream(&*msg, is_response, conn, txn), scratch);
            txn.early_hints.push((name.clone(), scratch.clone()));
        }
        Action::SetHeader { name, value } => {
            value.render(&stream(&*msg, is_response, conn, txn), scratch);
            let replaced: usize = (0..msg.header_count())
                .filter_map(|i| msg.header(i))
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(n, v)| field_size(n, v))
                .sum();
            let grows = signed(field_size(name, scratch)) - signed(replaced);
            if scratch.len() > MAX_HEADER_VALUE || !fits(&*msg, conn, txn, is_response, grows) {
                return Applied::RewriteFailed;
            }
            msg.set_header(name, scratch);
        }
        Action::AddHeader { name, value } => {
            value.render(&stream(&*msg, is_response, conn, txn), scratch);
            let grows = signed(field_size(name, scratch));
            if scratch.len() > MAX_HEADER_VALUE || !fits(&*msg, conn, txn, is_response, grows) {
                return Applied::RewriteFailed;
            }
            msg.add_header(name, scratch);
        }
        Action::DelHeader { name, matcher } => match matcher {
            None => {
                msg.remove_headers(name);
            }
            Some(m) => {
                let mut i = msg.header_count();
                while i > 0 {
                    i -= 1;
                    let hit = msg
                        .header(i)
                        .is_some_and(|(n, _)| m.matches(&Value::str(n)));
                    if hit {
                        msg.remove_header(i);
                    }
                }
            }
        },
        Action::ReplaceHeader {
            name,
            regex,
            with,
            each_value,
        } => {
            with.render(&stream(&*msg, is_response, conn, txn), scratch);
            let room = room_left(&*msg, conn, txn, is_response);
            if !replace_header(msg, name, regex, scratch, *each_value, room) {
                return Applied::RewriteFailed;
            }
        }
        Action::Set { part, value } => {
            value.render(&stream(&*msg, is_response, conn, txn), scratch);
            let before = (msg.method().to_vec(), msg.uri().to_vec());
            set_part(msg, part, scratch);
            if !fits(&*msg, conn, txn, is_response, 0) {
                undo_request_line(msg, &before);
                return Applied::RewriteFailed;
            }
        }
        Action::Replace { part, regex, with } => {
            with.render(&stream(&*msg, is_response, conn, txn), scratch);
            let current = match part {
                UriPart::Path => uri_path(msg.uri()).to_vec(),
                UriPart::PathQ => path_and_query(msg.uri()).to_vec(),
                _ => msg.uri().to_vec(),
            };
            if let Some(caps) = regex.captures(&current) {
                let mut out = Vec::with_capacity(current.len());
                crate::sample::conv::expand(scratch, &caps, &mut out);
                let before = (msg.method().to_vec(), msg.uri().to_vec());
                set_part(msg, part, &out);
                if !fits(&*msg, conn, txn, is_response, 0) {
                    undo_request_line(msg, &before);
                    return Applied::RewriteFailed;
                }
            }
        }
        Action::SetVar { name, expr } => {
            let v = expr
                .eval(&stream(&*msg, is_response, conn, txn))
                .map(Value::into_owned);
            if let Some(v) = v {
                txn.vars.set(name, v);
            }
        }
        Action::SetVarFmt { name, value } => {
            value.render(&stream(&*msg, is_response, conn, txn), scratch);
            let v = Value::string(scratch.clone());
            txn.vars.set(name, v);
        }
        Action::UnsetVar { name } => txn.vars.unset(name),
        Action::Capture {
            expr,
            len,
            slot,
            owner,
        } => {
            if owns_slot(owner, conn) {
                let src = stream(&*msg, is_response, conn, txn);
                capture(&src, expr, *len, *slot, is_response, &txn.captures);
            }
        }
        Action::SetStatus { status, reason } => msg.set_status(*status, reason.as_deref()),
        Action::SetAddr { part, expr } => {
            let v = expr
                .eval(&stream(&*msg, is_response, conn, txn))
                .map(Value::into_owned);
            if let Some(v) = v {
                set_addr(&mut txn.changes, *part, &v.reborrow(), conn);
            }
        }
        Action::SetTimeout { kind, value } => {
            let d = duration(value, &stream(&*msg, is_response, conn, txn));
            // HAProxy ignores a value that is not a positive number of milliseconds.
            if let Some(d) = d.filter(|d| !d.is_zero()) {
                if let Some(slot) = txn.changes.timeouts.get_mut(kind.index()) {
                    *slot = Some(d);
                }
            }
        }
        Action::Stick(a) => {
            let input = a.prepare(&stream(&*msg, is_response, conn, txn));
            a.run(input, &mut txn.vars.stick);
        }
        Action::NormalizeUri(normalizer) => match normalizer.apply(msg.uri()) {
            Ok(Some(uri)) => {
                let grows = signed(uri.len()) - signed(msg.uri().len());
                if !fits(&*msg, conn, txn, is_response, grows) {
                    return Applied::RewriteFailed;
                }
                msg.set_uri(&uri);
            }
            Ok(None) => {}
            // A bad `%` sequence under `strict`: the request is invalid.
            Err(_) => {
                return Applied::Final(Verdict::Deny {
                    status: 400,
                    reply: None,
                })
            }
        },
        Action::Pause(value) => {
            if let Some(d) = duration(value, &stream(&*msg, is_response, conn, txn)) {
                txn.changes.pause = txn.changes.pause.saturating_add(d);
            }
        }
        Action::SetRetries(value) => {
            if let Some(n) = retries(value, &stream(&*msg, is_response, conn, txn)) {
                txn.changes.retries = Some(n);
            }
        }
        Action::HeadersBin {
            expr,
            prefix,
            replace,
        } => {
            let list = expr
                .eval(&stream(&*msg, is_response, conn, txn))
                .and_then(|v| v.as_bytes().map(<[u8]>::to_vec));
            let Some(fields) = list.as_deref().and_then(crate::headers_bin::decode) else {
                return Applied::Done;
            };
            let wanted = |name: &[u8]| {
                prefix.as_deref().is_none_or(|p| {
                    name.len() >= p.len() && name[..p.len()].eq_ignore_ascii_case(p)
                })
            };
            let fields: Vec<_> = fields.into_iter().filter(|(n, _)| wanted(n)).collect();
            let mut grows: isize = fields.iter().map(|(n, v)| signed(field_size(n, v))).sum();
            if *replace {
                grows -= (0..msg.header_count())
                    .filter_map(|i| msg.header(i))
                    .filter(|(n, _)| fields.iter().any(|(f, _)| f.eq_ignore_ascii_case(n)))
                    .map(|(n, v)| signed(field_size(n, v)))
                    .sum::<isize>();
            }
            if fields.iter().any(|(_, v)| v.len() > MAX_HEADER_VALUE)
                || !fits(&*msg, conn, txn, is_response, grows)
            {
                return Applied::RewriteFailed;
            }
            if *replace {
                for (name, _) in &fields {
                    msg.remove_headers(name);
                }
            }
            for (name, value) in &fields {
                msg.add_header(name, value);
            }
        }
        Action::DelHeadersBin { expr, method } => {
            let list = expr
                .eval(&stream(&*msg, is_response, conn, txn))
                .and_then(|v| v.as_bytes().map(<[u8]>::to_vec));
            let Some(fields) = list.as_deref().and_then(crate::headers_bin::decode) else {
                return Applied::Done;
            };
            let mut i = msg.header_count();
            while i > 0 {
                i -= 1;
                let hit = msg.header(i).is_some_and(|(n, _)| {
                    fields.iter().any(|(pattern, _)| method.matches(n, pattern))
                });
                if hit {
                    msg.remove_header(i);
                }
            }
        }
        // Only `tcp-request connection` has it; the connection rules run it.
        Action::Nothing
        | Action::ExpectProxy
        | Action::ExpectNetscalerCip
        | Action::SwitchModeHttp(_)
        | Action::StrictMode(_)
        | Action::WaitForBody(_) => {}
    }
    Applied::Done
}

/// The milliseconds a `set-timeout` or `pause` value gives; `None` when its expression
/// gives no number, or a negative one.
fn duration(value: &TimeoutValue, src: &Stream<'_>) -> Option<std::time::Duration> {
    match value {
        TimeoutValue::Fixed(d) => Some(*d),
        TimeoutValue::Expr(e) => e
            .eval(src)
            .and_then(|v| v.to_int())
            .and_then(|ms| u64::try_from(ms).ok())
            .map(std::time::Duration::from_millis),
    }
}

/// The retries a `set-retries` value gives; `None` (the rule does nothing) outside 0 to 100.
fn retries(value: &RetriesValue, src: &Stream<'_>) -> Option<u32> {
    match value {
        RetriesValue::Fixed(n) => Some(*n),
        RetriesValue::Expr(e) => e
            .eval(src)
            .and_then(|v| v.to_int())
            .filter(|n| (0..=MAX_RETRIES).contains(n))
            .and_then(|n| u32::try_from(n).ok()),
    }
}

/// Applies `set-src`/`set-dst` (an address: the port is kept when the family allows, else
/// 0) or `set-src-port`/`set-dst-port` (a port: the address is kept, `0.0.0.0` when there is
/// none) to the stream's addresses as they are now.
fn set_addr(changes: &mut StreamChanges, part: AddrPart, v: &Value<'_>, conn: &dyn Connection) {
    use std::net::{IpAddr, Ipv4Addr, SocketAddr};
    let (src, dst) = changes.addrs(conn.src(), conn.dst());
    let (current, slot) = match part {
        AddrPart::Src | AddrPart::SrcPort => (src, &mut changes.src),
        AddrPart::Dst | AddrPart::DstPort => (dst, &mut changes.dst),
    };
    match part {
        AddrPart::Src | AddrPart::Dst => {
            let Some(ip) = v.to_ip() else {
                return;
            };
            let port = current.map_or(0, |a| a.port());
            *slot = Some(SocketAddr::new(ip, port));
        }
        AddrPart::SrcPort | AddrPart::DstPort => {
            let Some(port) = v.to_int().and_then(|p| u16::try_from(p).ok()) else {
                return;
            };
            let ip = current.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
            *slot = Some(SocketAddr::new(ip, port));
        }
    }
}

fn path_and_query(uri: &[u8]) -> &[u8] {
    let path = uri_path(uri);
    let start = path.as_ptr() as usize - uri.as_ptr() as usize;
    if path.is_empty() {
        return uri
            .get(uri.iter().position(|&b| b == b'?').unwrap_or(uri.len())..)
            .unwrap_or(&[]);
    }
    uri.get(start..).unwrap_or(&[])
}

/// Rewrites one part of the request line.
fn set_part(msg: &mut dyn HttpMessage, part: &UriPart, value: &[u8]) {
    let uri = msg.uri();
    let path = uri_path(uri);
    let path_start = if path.is_empty() {
        uri.iter().position(|&b| b == b'?').unwrap_or(uri.len())
    } else {
        path.as_ptr() as usize - uri.as_ptr() as usize
    };
    let prefix = uri.get(..path_start).unwrap_or(&[]);
    let query = uri_query(uri);
    let mut out = Vec::with_capacity(uri.len() + value.len());
    match part {
        UriPart::Method => {
            msg.set_method(value);
            return;
        }
        UriPart::Uri => out.extend_from_slice(value),
        UriPart::Path => {
            out.extend_from_slice(prefix);
            out.extend_from_slice(value);
            if let Some(q) = query {
                out.push(b'?');
                out.extend_from_slice(q);
            }
        }
        UriPart::PathQ => {
            out.extend_from_slice(prefix);
            out.extend_from_slice(value);
        }
        UriPart::Query => {
            out.extend_from_slice(prefix);
            out.extend_from_slice(path);
            // An empty value keeps the `?`, a leading `?` in the value is not doubled.
            let value = value.strip_prefix(b"?").unwrap_or(value);
            out.push(b'?');
            out.extend_from_slice(value);
        }
    }
    msg.set_uri(&out);
}

/// Rewrites the values of the fields named `name`; `false` when a new value would be too
/// long (that field is left as it was).
fn replace_header(
    msg: &mut dyn HttpMessage,
    name: &[u8],
    regex: &Regex,
    with: &[u8],
    each_value: bool,
    room: Option<isize>,
) -> bool {
    let mut changes = Vec::new();
    let mut i = 0;
    let mut new_value = Vec::new();
    while let Some(idx) = msg.find_header(name, i) {
        i = idx + 1;
        let Some((_, value)) = msg.header(idx) else {
            break;
        };
        new_value.clear();
        let mut changed = false;
        if each_value {
            for (n, part) in CommaValues::new(value).enumerate() {
                if n > 0 {
                    new_value.extend_from_slice(b", ");
                }
                match regex.captures(part) {
                    Some(caps) => {
                        crate::sample::conv::expand(with, &caps, &mut new_value);
                        changed = true;
                    }
                    None => new_value.extend_from_slice(part),
                }
            }
        } else if let Some(caps) = regex.captures(value) {
            crate::sample::conv::expand(with, &caps, &mut new_value);
            changed = true;
        }
        if changed {
            changes.push((idx, value.len(), new_value.clone()));
        }
    }
    let grows: isize = changes
        .iter()
        .map(|(_, old, new)| signed(new.len()) - signed(*old))
        .sum();
    if changes.iter().any(|(_, _, v)| v.len() > MAX_HEADER_VALUE)
        || room.is_some_and(|room| grows > room)
    {
        return false;
    }
    for (idx, _, value) in changes {
        msg.set_header_value(idx, &value);
    }
    true
}

/// The bytes a header field takes in a head (`name: value` and CRLF).
fn signed(n: usize) -> isize {
    isize::try_from(n).unwrap_or(isize::MAX)
}

/// The size of a head as its fields and first line make it.
fn head_size(msg: &dyn HttpMessage) -> usize {
    let first_line = msg.method().len() + msg.uri().len() + msg.version().len() + 4;
    first_line + msg.fields_size() + 2
}

/// What rewrites may still add to the head (see [`Connection::rewrite_room`]); `None`
/// without a limit.
fn room_left(
    msg: &dyn HttpMessage,
    conn: &dyn Connection,
    txn: &Txn,
    is_response: bool,
) -> Option<isize> {
    let room = signed(conn.rewrite_room()?);
    let base = txn
        .head_sizes
        .get(usize::from(is_response))
        .copied()
        .flatten()?;
    Some(room - (signed(head_size(msg)) - signed(base)))
}

/// Whether a rewrite making the head `grows` bytes longer than it is fits.
fn fits(
    msg: &dyn HttpMessage,
    conn: &dyn Connection,
    txn: &Txn,
    is_response: bool,
    grows: isize,
) -> bool {
    room_left(msg, conn, txn, is_response).is_none_or(|left| grows <= left)
}

/// Puts back the method and the target a failed rewrite of the request line changed.
fn undo_request_line(msg: &mut dyn HttpMessage, (method, uri): &(Vec<u8>, Vec<u8>)) {
    if msg.method() != method.as_slice() {
        msg.set_method(method);
    }
    if msg.uri() != uri.as_slice() {
        msg.set_uri(uri);
    }
}

fn redirect(
    r: &Redirect,
    src: &Stream<'_>,
    msg: &dyn HttpMessage,
    scratch: &mut Vec<u8>,
) -> Option<Verdict> {
    r.target.render(src, scratch);
    if scratch.is_empty() && r.ignore_empty {
        return None;
    }
    let uri = msg.uri();
    let path = uri_path(uri);
    let query = if r.drop_query { None } else { uri_query(uri) };
    let mut location = Vec::with_capacity(scratch.len() + uri.len() + 16);
    let add_path = |location: &mut Vec<u8>| {
        location.extend_from_slice(path);
        if r.append_slash && !path.ends_with(b"/") {
            location.push(b'/');
        }
        if let Some(q) = query {
            location.push(b'?');
            location.extend_from_slice(q);
        }
    };
    match r.kind {
        RedirectKind::Location => {
            location.extend_from_slice(scratch);
            if r.append_slash && !location.ends_with(b"/") {
                location.push(b'/');
            }
            // keep-query appends the original query string, with '&' after an existing one.
            if let Some(q) = uri_query(uri).filter(|_| r.keep_query) {
                location.push(if location.contains(&b'?') { b'&' } else { b'?' });
                location.extend_from_slice(q);
            }
        }
        RedirectKind::Prefix => {
            // A prefix of "/" means none, so that relative redirects keep working.
            if scratch.as_slice() != b"/" {
                location.extend_from_slice(scratch);
            }
            add_path(&mut location);
        }
        RedirectKind::Scheme => {
            let host = msg
                .find_header(b"host", 0)
                .and_then(|i| msg.header(i))
                .map(|(_, v)| v)?;
            location.extend_from_slice(scratch);
            location.extend_from_slice(b"://");
            location.extend_from_slice(host);
            add_path(&mut location);
        }
    }
    Some(Verdict::Redirect {
        code: r.code,
        location,
        cookies: r.cookies.clone(),
    })
}

// ---------------------------------------------------------------------------------------
// Compilation

fn place_of(set: RuleSet) -> Place {
    match set {
        RuleSet::HttpRequest => Place::HttpRequest,
        RuleSet::HttpResponse | RuleSet::HttpAfterResponse => Place::HttpResponse,
        RuleSet::TcpRequestConnection | RuleSet::TcpRequestSession => Place::TcpConnection,
        RuleSet::TcpRequestContent => Place::TcpContent,
        RuleSet::TcpResponseContent => Place::TcpResponse,
    }
}

pub(crate) fn set_keyword(set: RuleSet) -> &'static str {
    match set {
        RuleSet::HttpRequest => "http-request",
        RuleSet::HttpResponse => "http-response",
        RuleSet::HttpAfterResponse => "http-after-response",
        RuleSet::TcpRequestConnection => "tcp-request connection",
        RuleSet::TcpRequestSession => "tcp-request session",
        RuleSet::TcpRequestContent => "tcp-request content",
        RuleSet::TcpResponseContent => "tcp-response content",
    }
}

/// Compiles one model rule.
pub(crate) fn compile_rule(
    rule: &Rule,
    renv: &mut RuleEnv<'_>,
    env: &mut Env<'_>,
    warnings: &mut Diagnostics,
) -> Result<CompiledRule, Diagnostic> {
    let place = place_of(rule.set);
    let keyword = format!("{} {}", set_keyword(rule.set), rule.action);
    let err = |p: Problem| {
        p.into_diagnostic(
            "rule-invalid",
            |m| format!("'{keyword}': {m}"),
            rule.location,
        )
    };
    let action =
        compile_action(&rule.action, &rule.args, rule.set, place, renv, env).map_err(err)?;
    let condition = match &rule.condition {
        Some(c) => Some(Condition::compile(c, place, &keyword, env, warnings)?),
        None => None,
    };
    if action.is_final()
        && matches!(rule.set, RuleSet::TcpRequestConnection)
        && !matches!(action, Action::Allow | Action::Reject | Action::SilentDrop)
    {
        return Err(err(Problem::new(
            Category::Semantic,
            None,
            "only 'accept', 'reject' and 'silent-drop' end connection rules",
        )
        .with_help("move the rule to 'tcp-request content' or 'http-request'")));
    }
    let origin = Some(crate::origin::RuleOrigin {
        file: rule.location.file.0,
        line: rule.location.line,
    });
    Ok(CompiledRule {
        action,
        condition,
        origin,
    })
}

/// Compiles a `redirect` proxy line (`redirect location /x code 301 if cond`).
pub(crate) fn compile_redirect_line(
    args: &[String],
    condition: Option<Condition>,
    env: &mut Env<'_>,
) -> Result<CompiledRule, Problem> {
    Ok(CompiledRule {
        action: Action::Redirect(parse_redirect(args, Place::HttpRequest, env)?),
        condition,
        origin: None,
    })
}

impl CompiledRule {
    /// The rule, remembered as written at `location`.
    pub(crate) fn written_at(mut self, location: sluice_config::Location) -> Self {
        self.origin = Some(crate::origin::RuleOrigin {
            file: location.file.0,
            line: location.line,
        });
        self
    }
}

/// `time <time> [at-least <bytes>]`, in any order.
fn parse_body_wait(args: &[String]) -> Result<BodyWait, Problem> {
    let mut time = None;
    let mut at_least = None;
    let mut i = 0;
    while let Some(word) = args.get(i) {
        match word.as_str() {
            "time" => {
                let text = arg(args, i + 1, "a time after 'time'")?;
                let t = sluice_model::units::parse_time(text, sluice_model::units::TimeUnit::Millis)
                    .ok()
                    .filter(|t| t.trailing.is_none())
                    .ok_or_else(|| {
                        Problem::syntax(format!(
                            "'{text}' is not a valid time (a number with an optional unit: us, ms, s, m, h, d)"
                        ))
                    })?;
                time = Some(t.duration);
            }
            "at-least" => {
                let text = arg(args, i + 1, "a size after 'at-least'")?;
                let n = sluice_model::units::parse_size(text).map_err(|_| {
                    Problem::syntax(format!("'{text}' is not a valid size (a number of bytes, with an optional k, m or g)"))
                })?;
                at_least = Some(n);
            }
            other => {
                return Err(Problem::syntax(format!(
                    "unexpected '{other}' (expects 'time <time>' and optionally 'at-least <bytes>')"
                )))
            }
        }
        i += 2;
    }
    let time = time.ok_or_else(|| Problem::syntax("expects 'time <time>'"))?;
    Ok(BodyWait { time, at_least })
}

fn arg<'a>(args: &'a [String], i: usize, what: &str) -> Result<&'a str, Problem> {
    args.get(i)
        .map(String::as_str)
        .ok_or_else(|| Problem::syntax(format!("expects {what}")))
}

fn status_arg(text: &str, lo: u16, hi: u16) -> Result<u16, Problem> {
    text.parse::<u16>()
        .ok()
        .filter(|s| (lo..=hi).contains(s))
        .ok_or_else(|| {
            Problem::syntax(format!("status '{text}' is invalid (expects {lo} to {hi})"))
        })
}

fn paren_arg(action: &str) -> Option<&str> {
    let open = action.find('(')?;
    action.get(open + 1..)?.strip_suffix(')')
}

/// [`compile_action`] without arguments, for the catalogue test.
#[cfg(test)]
pub(crate) fn compile_action_for_test(
    action: &str,
    set: RuleSet,
    renv: &mut RuleEnv<'_>,
    env: &mut Env<'_>,
) -> Result<(), Problem> {
    compile_action(action, &[], set, place_of(set), renv, env).map(|_| ())
}

fn compile_action(
    action: &str,
    args: &[String],
    set: RuleSet,
    place: Place,
    renv: &mut RuleEnv<'_>,
    env: &mut Env<'_>,
) -> Result<Action, Problem> {
    let base = action.split('(').next().unwrap_or(action);
    let fmt = |i: usize, what: &str, env: &mut Env<'_>| -> Result<LogFormat, Problem> {
        LogFormat::compile(arg(args, i, what)?, place, env)
    };
    let name = |i: usize| -> Result<Box<[u8]>, Problem> {
        Ok(arg(args, i, "a header name")?.as_bytes().into())
    };
    Ok(match base {
        "allow" | "accept" => Action::Allow,
        "reject" => Action::Reject,
        "silent-drop" => Action::SilentDrop,
        "wait-for-body" => Action::WaitForBody(parse_body_wait(args)?),
        "deny" => {
            // 403 for requests, 502 for responses, as HAProxy.
            let default = if place == Place::HttpResponse {
                502
            } else {
                403
            };
            let (status, reply) = parse_deny(args, default, place, env)?;
            Action::Deny { status, reply }
        }
        "tarpit" => {
            let (status, reply) = parse_deny(args, 500, place, env)?;
            Action::Tarpit { status, reply }
        }
        "return" => Action::Return(parse_reply(args, 200, place, env)?),
        "redirect" => Action::Redirect(parse_redirect(args, place, env)?),
        "auth" => {
            let realm = match args.first().map(String::as_str) {
                Some("realm") => arg(args, 1, "a realm after 'realm'")?,
                Some(other) => {
                    return Err(Problem::syntax(format!(
                        "unexpected '{other}' (expects 'realm <realm>')"
                    )))
                }
                None => renv.proxy_name,
            };
            Action::Auth {
                realm: realm.into(),
            }
        }
        "set-header" => Action::SetHeader {
            name: name(0)?,
            value: fmt(1, "a header name and a value", env)?,
        },
        "early-hint" => Action::EarlyHint {
            name: name(0)?,
            value: fmt(1, "a header name and a value", env)?,
        },
        "add-header" => Action::AddHeader {
            name: name(0)?,
            value: fmt(1, "a header name and a value", env)?,
        },
        "del-header" => {
            let name = name(0)?;
            let matcher = match args.get(1).map(String::as_str) {
                None => None,
                Some("-m") => {
                    let m = arg(args, 2, "a matching method after '-m'")?;
                    let method = match MatchMethod::parse(m) {
                        Some(m @ (MatchMethod::Str | MatchMethod::Beg | MatchMethod::End | MatchMethod::Sub | MatchMethod::Reg)) => m,
                        _ => return Err(Problem::syntax(format!("matching method '{m}' is not supported (expects str, beg, end, sub or reg)"))),
                    };
                    let pattern = std::str::from_utf8(&name)
                        .map_err(|_| "header name is not text".to_string())?;
                    Some(PatternSet::new(method, true, [pattern])?)
                }
                Some(other) => {
                    return Err(Problem::syntax(format!(
                        "unexpected '{other}' (expects '-m <method>')"
                    )))
                }
            };
            Action::DelHeader { name, matcher }
        }
        "replace-header" | "replace-value" => Action::ReplaceHeader {
            name: name(0)?,
            regex: regex_arg(args, 1)?,
            with: fmt(2, "a header name, a regex and a replacement", env)?,
            each_value: base == "replace-value",
        },
        "set-path" => Action::Set {
            part: UriPart::Path,
            value: fmt(0, "a path", env)?,
        },
        "set-pathq" => Action::Set {
            part: UriPart::PathQ,
            value: fmt(0, "a path", env)?,
        },
        "set-query" => Action::Set {
            part: UriPart::Query,
            value: fmt(0, "a query string", env)?,
        },
        "set-uri" => Action::Set {
            part: UriPart::Uri,
            value: fmt(0, "a URI", env)?,
        },
        "set-method" => Action::Set {
            part: UriPart::Method,
            value: fmt(0, "a method", env)?,
        },
        "replace-path" | "replace-pathq" | "replace-uri" => Action::Replace {
            part: match base {
                "replace-path" => UriPart::Path,
                "replace-pathq" => UriPart::PathQ,
                _ => UriPart::Uri,
            },
            regex: regex_arg(args, 0)?,
            with: fmt(1, "a regex and a replacement", env)?,
        },
        "set-var" | "set-var-fmt" => {
            let var = paren_arg(action)
                .ok_or("expects a variable name in parentheses, e.g. 'set-var(txn.x)'")?;
            let var = var.split(',').next().unwrap_or(var);
            let var: Box<str> = crate::sample::check_var(var)?.into();
            if base == "set-var" {
                let expr = SampleExpr::compile(arg(args, 0, "a sample expression")?, place, env)?;
                Action::SetVar { name: var, expr }
            } else {
                Action::SetVarFmt {
                    name: var,
                    value: fmt(0, "a log-format value", env)?,
                }
            }
        }
        "unset-var" => {
            let var = paren_arg(action)
                .ok_or("expects a variable name in parentheses, e.g. 'unset-var(txn.x)'")?;
            Action::UnsetVar {
                name: crate::sample::check_var(var)?.into(),
            }
        }
        "capture" => {
            let expr = SampleExpr::compile(arg(args, 0, "a sample expression")?, place, env)?;
            let (len, slot, owner) = match args.get(1).map(String::as_str) {
                // A slot made by `len` is a request slot: response rules name one by id.
                Some("len") if place == Place::HttpResponse => {
                    return Err(Problem::syntax(
                        "'len' is only usable in http-request rules: declare the slot with 'declare capture response len <length>' and use 'id <id>'",
                    ))
                }
                Some("len") => {
                    let len = arg(args, 2, "a length after 'len'")?
                        .parse::<usize>()
                        .map_err(|_| "length must be a positive integer".to_string())?;
                    renv.captures += 1;
                    renv.capture_lens.push(len);
                    (len, renv.captures - 1, Some(renv.proxy_name.into()))
                }
                Some("id") => {
                    let id = arg(args, 2, "an id after 'id'")?
                        .parse::<usize>()
                        .ok()
                        .filter(|id| *id < 64)
                        .ok_or("id must be an integer below 64")?;
                    (usize::MAX, id, None)
                }
                _ => {
                    return Err(Problem::syntax(
                        "expects 'len <length>' or 'id <id>' after the sample",
                    ))
                }
            };
            Action::Capture {
                expr,
                len,
                slot,
                owner,
            }
        }
        "set-status" => {
            let status = status_arg(arg(args, 0, "a status code")?, 100, 999)?;
            let reason = match args.get(1).map(String::as_str) {
                Some("reason") => Some(arg(args, 2, "a reason after 'reason'")?.as_bytes().into()),
                Some(other) => {
                    return Err(Problem::syntax(format!(
                        "unexpected '{other}' (expects 'reason <text>')"
                    )))
                }
                None => None,
            };
            Action::SetStatus { status, reason }
        }
        "set-src" | "set-dst" | "set-src-port" | "set-dst-port" => {
            let part = match base {
                "set-src" => AddrPart::Src,
                "set-dst" => AddrPart::Dst,
                "set-src-port" => AddrPart::SrcPort,
                _ => AddrPart::DstPort,
            };
            let expr = SampleExpr::compile(arg(args, 0, "a sample expression")?, place, env)?;
            if let Some(extra) = args.get(1) {
                return Err(Problem::syntax(format!(
                    "unexpected '{extra}' after the expression"
                )));
            }
            Action::SetAddr { part, expr }
        }
        "set-timeout" => {
            let name = arg(
                args,
                0,
                "'client', 'connect', 'queue', 'server', 'tarpit' or 'tunnel' and a value",
            )?;
            let kind = TimeoutKind::parse(name).ok_or_else(|| {
                Problem::syntax(format!(
                    "'{name}' is not a timeout set-timeout can change (expects 'client', 'connect', 'queue', 'server', 'tarpit' or 'tunnel')"
                ))
            })?;
            check_timeout_side(kind, env)?;
            let text = arg(args, 1, "a timeout or an expression after the timeout name")?;
            if let Some(extra) = args.get(2) {
                return Err(Problem::syntax(format!(
                    "unexpected '{extra}' after the timeout value"
                )));
            }
            let value = timeout_value(text, place, env)?;
            Action::SetTimeout { kind, value }
        }
        "sc-inc-gpc" | "sc-inc-gpc0" | "sc-inc-gpc1" | "sc-set-gpt" | "sc-set-gpt0"
        | "sc-add-gpc" => Action::Stick(crate::stick::compile_update(action, args, place, env)?),
        track if track.starts_with("track-sc") => {
            let n = track
                .strip_prefix("track-sc")
                .and_then(|n| n.parse::<u32>().ok())
                .ok_or_else(|| Problem::syntax(format!("unknown action '{track}'")))?;
            let max = env.stick_counters();
            if n >= max {
                return Err(Problem::syntax(format!(
                    "'{track}': stick counter {n} is out of range (tune.stick-counters is {max})"
                ))
                .with_help(format!(
                    "use track-sc0 to track-sc{}, or raise 'tune.stick-counters' in the global section",
                    max.saturating_sub(1)
                )));
            }
            Action::Stick(crate::stick::compile_track(
                n as usize, args, set, place, env,
            )?)
        }
        "expect-proxy" => Action::ExpectProxy,
        "expect-netscaler-cip" => Action::ExpectNetscalerCip,
        "normalize-uri" => Action::NormalizeUri(Normalizer::parse(args)?),
        "add-headers-bin" | "set-headers-bin" => {
            let expr = SampleExpr::compile(arg(args, 0, "a sample expression")?, place, env)?;
            let prefix = match args.get(1).map(String::as_str) {
                None => None,
                Some("prefix") => Some(arg(args, 2, "a string after 'prefix'")?.as_bytes().into()),
                Some(other) => {
                    return Err(Problem::syntax(format!(
                        "unexpected '{other}' (expects 'prefix <str>')"
                    )))
                }
            };
            if let Some(extra) = args.get(3) {
                return Err(Problem::syntax(format!(
                    "unexpected '{extra}' after the prefix"
                )));
            }
            Action::HeadersBin {
                expr,
                prefix,
                replace: base == "set-headers-bin",
            }
        }
        "del-headers-bin" => {
            let expr = SampleExpr::compile(arg(args, 0, "a sample expression")?, place, env)?;
            let method = match args.get(1).map(String::as_str) {
                None => NameMatch::Str,
                Some("-m") => match arg(args, 2, "a matching method after '-m'")? {
                    "str" => NameMatch::Str,
                    "beg" => NameMatch::Beg,
                    "end" => NameMatch::End,
                    "sub" => NameMatch::Sub,
                    other => {
                        return Err(Problem::syntax(format!(
                        "matching method '{other}' is not supported (expects str, beg, end or sub)"
                    )))
                    }
                },
                Some(other) => {
                    return Err(Problem::syntax(format!(
                        "unexpected '{other}' (expects '-m <method>')"
                    )))
                }
            };
            if let Some(extra) = args.get(3) {
                return Err(Problem::syntax(format!(
                    "unexpected '{extra}' after the method"
                )));
            }
            Action::DelHeadersBin { expr, method }
        }
        "strict-mode" => {
            let on = match arg(args, 0, "'on' or 'off'")? {
                "on" => true,
                "off" => false,
                other => {
                    return Err(Problem::syntax(format!(
                        "'{other}' is not a mode (expects 'on' or 'off')"
                    )))
                }
            };
            if let Some(extra) = args.get(1) {
                return Err(Problem::syntax(format!(
                    "unexpected '{extra}' after the mode"
                )));
            }
            Action::StrictMode(on)
        }
        "pause" => {
            let text = arg(args, 0, "a time or an expression giving milliseconds")?;
            if let Some(extra) = args.get(1) {
                return Err(Problem::syntax(format!(
                    "unexpected '{extra}' after the pause"
                )));
            }
            Action::Pause(timeout_value(text, place, env)?)
        }
        "set-retries" => {
            check_backend_side(env)?;
            let text = arg(args, 0, "a number of retries or an expression")?;
            if let Some(extra) = args.get(1) {
                return Err(Problem::syntax(format!(
                    "unexpected '{extra}' after the number of retries"
                )));
            }
            let value = match text.parse::<i64>() {
                Ok(n) => RetriesValue::Fixed(
                    u32::try_from(n)
                        .ok()
                        .filter(|n| i64::from(*n) <= MAX_RETRIES)
                        .ok_or_else(|| {
                            Problem::syntax(format!(
                                "'{text}' is not a valid number of retries (expects 0 to {MAX_RETRIES})"
                            ))
                        })?,
                ),
                Err(_) => RetriesValue::Expr(SampleExpr::compile(text, place, env)?),
            };
            Action::SetRetries(value)
        }
        "switch-mode" => {
            if env.proxy.kind == sluice_model::proxy::ProxyKind::Backend {
                return Err(Problem::new(
                    Category::Semantic,
                    None,
                    "'switch-mode' applies to proxies with the frontend capability only",
                )
                .with_help("move the rule to the frontend (or a listen section) that accepts the connection"));
            }
            Action::SwitchModeHttp(switch_mode(args)?)
        }
        // Handled by the data plane or ignored with a warning at check time.
        "close"
        | "set-tos"
        | "set-mark"
        | "set-nice"
        | "set-log-level"
        | "do-log"
        | "set-fc-tos"
        | "set-fc-mark"
        | "set-bc-tos"
        | "set-bc-mark"
        | "set-priority-class"
        | "set-priority-offset" => Action::Nothing,
        other => {
            let mut words = set_keyword(set).split(' ');
            let first = words.next().unwrap_or("");
            let table = Table::for_rule(first, words.next()).unwrap_or(Table::HttpRequestAction);
            // The model admitted the action and warned when Sluice ignores it.
            not_in_registry(table, other)?;
            Action::Nothing
        }
    })
}

/// The arguments of `switch-mode`: `http`, then optionally `proto h1` or `proto h2`.
fn switch_mode(args: &[String]) -> Result<crate::message::HttpMux, Problem> {
    use crate::message::HttpMux;
    match arg(args, 0, "a mode ('http')")? {
        "http" => {}
        other => {
            return Err(Problem::syntax(format!(
                "'{other}' is not a mode a stream can switch to (only 'http' is)"
            )))
        }
    }
    let mux = match args.get(1).map(String::as_str) {
        None => HttpMux::Auto,
        Some("proto") => match arg(args, 2, "a multiplexer name after 'proto'")? {
            "h1" => HttpMux::H1,
            "h2" => HttpMux::H2,
            other => {
                return Err(Problem::syntax(format!(
                    "'{other}' is not an HTTP multiplexer for a frontend (expects 'h1' or 'h2')"
                )))
            }
        },
        Some(other) => {
            return Err(Problem::syntax(format!(
                "unexpected '{other}' after 'http' (expects 'proto <name>')"
            )))
        }
    };
    if let Some(extra) = args.get(3) {
        return Err(Problem::syntax(format!("unexpected '{extra}'")));
    }
    Ok(mux)
}

/// A time (`3s`), or else an expression giving milliseconds (`int(3),mul(1000)`).
fn timeout_value(text: &str, place: Place, env: &mut Env<'_>) -> Result<TimeoutValue, Problem> {
    Ok(
        match sluice_model::units::parse_time(text, sluice_model::units::TimeUnit::Millis) {
            Ok(t) if t.trailing.is_none() => TimeoutValue::Fixed(t.duration),
            _ if text.starts_with(|c: char| c.is_ascii_digit()) => {
                return Err(Problem::syntax(format!(
                    "'{text}' is not a valid time (a number with an optional unit: us, ms, s, m, h, d)"
                )))
            }
            _ => TimeoutValue::Expr(SampleExpr::compile(text, place, env)?),
        },
    )
}

/// `set-retries` acts on the backend side: proxies with the backend capability only, and
/// not in `defaults` sections.
fn check_backend_side(env: &Env<'_>) -> Result<(), Problem> {
    use sluice_model::proxy::ProxyKind;
    let kind = env.proxy.kind;
    if kind == ProxyKind::Defaults {
        return Err(Problem::new(
            Category::Semantic,
            None,
            "this action is not allowed in 'defaults' sections",
        )
        .with_help("move the rule to a backend or listen section"));
    }
    if !kind.is_backend() {
        return Err(Problem::new(
            Category::Semantic,
            None,
            "this action applies to proxies with the backend capability only",
        )
        .with_help("move the rule to a backend or listen section"));
    }
    Ok(())
}

/// `set-timeout client` needs a frontend, the other timeouts but `tarpit` a backend.
fn check_timeout_side(kind: TimeoutKind, env: &Env<'_>) -> Result<(), Problem> {
    use sluice_model::proxy::ProxyKind;
    let proxy_kind = env.proxy.kind;
    let (ok, side) = match kind {
        TimeoutKind::Tarpit => return Ok(()),
        TimeoutKind::Client => (proxy_kind.is_frontend(), "frontend"),
        _ => (proxy_kind.is_backend(), "backend"),
    };
    if ok || proxy_kind == ProxyKind::Defaults {
        return Ok(());
    }
    Err(Problem::new(
        Category::Semantic,
        None,
        format!("this timeout applies to proxies with the {side} capability only"),
    )
    .with_help(format!("move the rule to a {side} or listen section")))
}

fn regex_arg(args: &[String], i: usize) -> Result<Regex, Problem> {
    let text = arg(args, i, "a regex")?;
    compile_regex(text, false, true)
}

fn parse_deny(
    args: &[String],
    default: u16,
    place: Place,
    env: &mut Env<'_>,
) -> Result<(u16, Option<ReplySpec>), Problem> {
    match args.first().map(String::as_str) {
        None => Ok((default, None)),
        Some("deny_status") if args.len() <= 2 => {
            let status = status_arg(arg(args, 1, "a status after 'deny_status'")?, 200, 599)?;
            Ok((status, None))
        }
        Some("deny_status") => {
            // "deny_status" is an alias of "status" before the reply's other arguments
            // (`deny deny_status 403 hdr X-Why blocked`).
            let mut args = args.to_vec();
            args[0] = "status".into();
            let reply = parse_reply(&args, default, place, env)?;
            Ok((reply.status, Some(reply)))
        }
        Some(_) => {
            let reply = parse_reply(args, default, place, env)?;
            Ok((reply.status, Some(reply)))
        }
    }
}

impl Env<'_> {
    /// Reads an error file (a whole HTTP response, any bytes).
    fn read_bytes(&self, file: &str) -> Result<Vec<u8>, Problem> {
        std::fs::read(self.path(file)).map_err(|e| {
            Problem::new(
                Category::Environment,
                Some(crate::FILE_UNREADABLE),
                format!(
                    "failed to open file '{file}': {}",
                    sluice_config::diagnostic::os_reason(&e)
                ),
            )
        })
    }

    /// The page for `status` in the `http-errors` section `name`, if it has one.
    fn errorfiles_page(&self, name: &str, status: u16) -> Result<Option<Vec<u8>>, Problem> {
        let section = self
            .model
            .sections
            .iter()
            .find(|s| s.kind == sluice_config::SectionKind::HttpErrors && s.name == name)
            .ok_or_else(|| Problem::syntax(format!("unknown http-errors section '{name}'")))?;
        match section.errorfiles.iter().find(|(s, _)| *s == status) {
            Some((_, path)) => self.read_bytes(&path.value).map(Some),
            None => Ok(None),
        }
    }
}

/// The status codes HAProxy has an error page for, the ones a reply based on an error page
/// may use.
const ERRORFILE_CODES: [u16; 17] = [
    200, 400, 403, 404, 405, 408, 410, 413, 414, 425, 429, 431, 500, 501, 502, 503, 504,
];

fn parse_reply(
    args: &[String],
    default: u16,
    place: Place,
    env: &mut Env<'_>,
) -> Result<ReplySpec, Problem> {
    let mut spec = ReplySpec {
        status: default,
        content_type: None,
        body: Body::Empty,
        headers: Vec::new(),
    };
    // An `errorfiles` section is looked up once the status is known (it may come later).
    let mut section: Option<&str> = None;
    let mut i = 0;
    while let Some(word) = args.get(i) {
        let value = |n: usize| arg(args, i + n, &format!("a value after '{word}'"));
        match word.as_str() {
            "status" => spec.status = status_arg(value(1)?, 200, 599)?,
            "content-type" => spec.content_type = Some(value(1)?.into()),
            "default-errorfiles" => {
                spec.body = Body::Errorfile;
                i += 1;
                continue;
            }
            "string" => spec.body = Body::Static(Arc::from(value(1)?.as_bytes())),
            "lf-string" => spec.body = Body::Format(LogFormat::compile(value(1)?, place, env)?),
            "file" => spec.body = Body::Static(Arc::from(env.read_file(value(1)?)?.into_bytes())),
            "errorfile" => spec.body = Body::Raw(Arc::from(env.read_bytes(value(1)?)?)),
            "errorfiles" => {
                section = Some(value(1)?);
                spec.body = Body::Errorfile;
            }
            "lf-file" => {
                let text = env.read_file(value(1)?)?;
                spec.body = match text.is_empty() {
                    true => Body::Static(Arc::from(&b""[..])),
                    false => Body::Format(LogFormat::compile(&text, place, env)?),
                };
            }
            "hdr" => {
                let n = value(1)?;
                let f = LogFormat::compile(value(2)?, place, env)?;
                spec.headers.push((n.into(), f));
                i += 3;
                continue;
            }
            other => return Err(Problem::syntax(format!("unexpected '{other}' (expects status, content-type, string, lf-string, file, lf-file, errorfile, default-errorfiles or hdr)"))),
        }
        i += 2;
    }
    if let Some(name) = section {
        // The section's page for the status; without one, the proxy's error page.
        if let Some(bytes) = env.errorfiles_page(name, spec.status)? {
            spec.body = Body::Raw(Arc::from(bytes));
        }
    }
    match &spec.body {
        // Replies built from an error page take only the status from the line.
        Body::Errorfile | Body::Raw(_) => {
            if !ERRORFILE_CODES.contains(&spec.status) {
                return Err(Problem::syntax(format!(
                    "status code '{}' has no error page (an error page reply needs one of {})",
                    spec.status,
                    ERRORFILE_CODES.map(|c| c.to_string()).join(", ")
                )));
            }
            spec.content_type = None;
            spec.headers.clear();
        }
        // No payload (an empty file included): the content-type is ignored.
        Body::Empty => spec.content_type = None,
        Body::Static(b) if b.is_empty() => spec.content_type = None,
        Body::Static(_) | Body::Format(_) if spec.content_type.is_none() => {
            return Err(Problem::syntax("a payload needs a 'content-type'"));
        }
        Body::Static(_) | Body::Format(_) => {}
    }
    Ok(spec)
}

fn parse_redirect(args: &[String], place: Place, env: &mut Env<'_>) -> Result<Redirect, Problem> {
    // HAProxy reads the options in any order (`redirect code 301 location /x`); the last
    // "location", "prefix" or "scheme" sets the type.
    let mut target: Option<(RedirectKind, &str)> = None;
    let mut r = Redirect {
        kind: RedirectKind::Location,
        target: LogFormat::compile("", place, env)?,
        code: 302,
        drop_query: false,
        keep_query: false,
        append_slash: false,
        ignore_empty: false,
        cookies: Vec::new(),
    };
    let mut i = 0;
    while let Some(word) = args.get(i) {
        match word.as_str() {
            "location" | "prefix" | "scheme" => {
                let kind = match word.as_str() {
                    "location" => RedirectKind::Location,
                    "prefix" => RedirectKind::Prefix,
                    _ => RedirectKind::Scheme,
                };
                target = Some((kind, arg(args, i + 1, &format!("a target after '{word}'"))?));
                i += 1;
            }
            "code" => {
                let code = arg(args, i + 1, "a code after 'code'")?;
                r.code = code
                    .parse()
                    .ok()
                    .filter(|c| matches!(c, 301 | 302 | 303 | 307 | 308))
                    .ok_or_else(|| format!("code '{code}' is invalid (expects 301, 302, 303, 307 or 308)"))?;
                i += 1;
            }
            "drop-query" => r.drop_query = true,
            "keep-query" => r.keep_query = true,
            "append-slash" => r.append_slash = true,
            "ignore-empty" => r.ignore_empty = true,
            "set-cookie" => {
                let c = arg(args, i + 1, "a cookie after 'set-cookie'")?;
                r.cookies.push(format!("{c}; path=/").into_bytes());
                i += 1;
            }
            "set-cookie-fmt" => {
                return Err(Problem::new(
                    Category::Compatibility,
                    Some("not-implemented-refused"),
                    "'set-cookie-fmt' in redirects is not supported by Sluice yet",
                ))
            }
            "clear-cookie" => {
                let c = arg(args, i + 1, "a cookie after 'clear-cookie'")?;
                let c = c.trim_end_matches('=');
                r.cookies.push(format!("{c}=; Expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/").into_bytes());
                i += 1;
            }
            other => return Err(Problem::syntax(format!("unexpected '{other}' (expects location, prefix, scheme, code, drop-query, keep-query, append-slash, ignore-empty, set-cookie, set-cookie-fmt or clear-cookie)"))),
        }
        i += 1;
    }
    let (kind, text) = target.ok_or_else(|| {
        Problem::syntax("redirection type expected ('location', 'prefix' or 'scheme')")
    })?;
    r.kind = kind;
    r.target = LogFormat::compile(text, place, env)?;
    Ok(r)
}
