//! What a backend's checks do: a list of rules, as HAProxy turns every check option into a
//! `tcp-check`/`http-check` ruleset. `option redis-check`, `smtpchk` and `ssl-hello-chk` are
//! written as the rules HAProxy generates; MySQL, PostgreSQL and LDAP read binary replies
//! and get their own rule ([`Proto`]).

use super::Status;
use regex::bytes::Regex;
use sluice_model::{Model, Proxy};
use sluice_rules::sample::Place;
use sluice_rules::{LogFormat, SampleExpr};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// `tcp-check connect` / `http-check connect` (or the implicit one).
#[derive(Clone, Debug, Default)]
pub struct Connect {
    pub port: Option<u16>,
    pub addr: Option<IpAddr>,
    pub send_proxy: bool,
    pub comment: Option<String>,
}

/// What an `expect` looks for in the received bytes.
#[derive(Clone, Debug)]
pub enum Pattern {
    String(Vec<u8>),
    RString(Regex),
    Binary(Vec<u8>),
    /// Matched against the hexadecimal form of the buffer (upper case).
    RBinary(Regex),
}

/// `tcp-check expect`.
#[derive(Clone, Debug)]
pub struct Expect {
    pub negate: bool,
    pub pattern: Pattern,
    /// `min-recv`: bytes needed before a mismatch is conclusive (`None`: wait for more data).
    pub min_recv: Option<usize>,
    pub ok: Status,
    pub error: Status,
    pub tout: Status,
    /// `on-success`/`on-error` (only plain text; `%[...]` is not evaluated).
    pub on_success: Option<String>,
    pub on_error: Option<String>,
    /// HAProxy's presets describe a mismatch with the first line of the reply.
    pub error_shows_reply: bool,
    /// The preset also describes a match with the reply's first line.
    pub success_shows_reply: bool,
    /// Bytes skipped at the start of the reply for those descriptions (the SMTP code), the
    /// spaces after them trimmed.
    pub reply_skip: usize,
    /// The reply's first three bytes are its status code (`status-code res.payload(0,3)`).
    pub code_from_reply: bool,
    /// A server that closed without replying ends the check with what it had (HAProxy's
    /// SMTP preset after `QUIT`).
    pub close_ends: bool,
    /// The step number in the ruleset, for the default message.
    pub step: usize,
    /// `comment <msg>`: added to the message of a failure (`\1`..`\9` take the regex's
    /// groups).
    pub comment: Option<String>,
}

/// `http-check expect` matches.
#[derive(Clone, Debug)]
pub enum HttpMatch {
    /// Codes and ranges (`200,201,300-310`).
    Status(Vec<(u16, u16)>),
    RStatus(Regex),
    String(Vec<u8>),
    RString(Regex),
    /// `hdr name <n> [value <v>]`, exact matches (case-insensitive name).
    Hdr {
        name: String,
        value: Option<String>,
    },
}

/// `http-check expect`.
#[derive(Clone, Debug)]
pub struct HttpExpect {
    pub negate: bool,
    pub what: HttpMatch,
    pub ok: Status,
    pub error: Status,
    pub tout: Status,
    pub on_success: Option<String>,
    pub on_error: Option<String>,
}

/// `option httpchk` + `http-check send`.
#[derive(Clone, Debug)]
pub struct HttpRequest {
    pub method: String,
    pub uri: String,
    pub version: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The values written as log-format strings, rendered for each check.
    pub formats: Vec<(Field, Arc<LogFormat>)>,
    /// `http-check send-state`: the request tells the server how Sluice sees it.
    pub send_state: bool,
}

/// Where a log-format value of `http-check send` goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// `uri-lf`.
    Uri,
    /// `body-lf`.
    Body,
    /// The value of the header at this index (`hdr <name> <fmt>`).
    Header(usize),
}

impl Default for HttpRequest {
    fn default() -> Self {
        HttpRequest {
            method: "OPTIONS".into(),
            uri: "/".into(),
            version: "HTTP/1.0".into(),
            headers: Vec::new(),
            body: Vec::new(),
            formats: Vec::new(),
            send_state: false,
        }
    }
}

impl HttpRequest {
    /// The request target: an absolute URI takes the `Host` header's value as its authority,
    /// as HAProxy keeps the two in agreement.
    pub fn target(&self) -> std::borrow::Cow<'_, str> {
        let host = self
            .headers
            .iter()
            .rev()
            .find(|(n, _)| n.eq_ignore_ascii_case("host"))
            .map(|(_, v)| v.as_str());
        let (Some(host), Some(at)) = (host, self.uri.find("://")) else {
            return self.uri.as_str().into();
        };
        let (scheme, rest) = self.uri.split_at(at + 3);
        if scheme.len() <= 3
            || !scheme
                .bytes()
                .take(at)
                .all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(&c))
        {
            return self.uri.as_str().into();
        }
        let path = rest
            .find(['/', '?', '#'])
            .map_or("", |i| rest.get(i..).unwrap_or(""));
        format!("{scheme}{host}{path}").into()
    }

    /// The bytes on the wire. `Connection: close` unless a `Connection` header is given, and
    /// `Content-Length` for a body, as HAProxy does.
    pub fn encode(&self) -> Vec<u8> {
        let mut out =
            format!("{} {} {}\r\n", self.method, self.target(), self.version).into_bytes();
        let mut connection = false;
        for (n, v) in &self.headers {
            if n.eq_ignore_ascii_case("content-length")
                || n.eq_ignore_ascii_case("transfer-encoding")
            {
                continue;
            }
            connection |= n.eq_ignore_ascii_case("connection");
            out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
        }
        if !connection {
            out.extend_from_slice(b"Connection: close\r\n");
        }
        if !self.body.is_empty() {
            out.extend_from_slice(format!("Content-Length: {}\r\n", self.body.len()).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
        out
    }
}

/// What `set-var`/`set-var-fmt` store.
#[derive(Clone, Debug)]
pub enum VarValue {
    Expr(Arc<SampleExpr>),
    Format(Arc<LogFormat>),
}

/// Checks that read a binary reply.
#[derive(Clone, Debug)]
pub enum Proto {
    /// `option mysql-check [user <u> [post-41|pre-41|post-80]]`.
    Mysql { user: Option<String>, pre41: bool },
    /// `option pgsql-check user <u>`.
    Pgsql { user: String },
    /// `option ldap-check`.
    Ldap,
    /// `option spop-check`.
    Spop,
}

/// One step of a check.
#[derive(Clone, Debug)]
pub enum Rule {
    Connect(Connect),
    Send(Vec<u8>),
    Expect(Expect),
    HttpSend(HttpRequest),
    HttpExpect(HttpExpect),
    Proto(Proto),
    /// `http-check set-var(<name>)` / `set-var-fmt(<name>)`.
    SetVar {
        name: String,
        value: VarValue,
    },
    /// `http-check unset-var(<name>)`.
    UnsetVar(String),
}

/// Where a rule sits in the ruleset, for the messages of a failed check.
#[derive(Clone, Debug, Default)]
pub struct Step {
    /// HAProxy's step number (the rule's line among the `tcp-check` lines); `None` for the
    /// connection HAProxy adds in front of a ruleset that does not start with one.
    pub number: Option<usize>,
    /// The rule's `comment <msg>`.
    pub comment: Option<String>,
}

/// A backend's check.
#[derive(Clone, Debug, Default)]
pub struct Ruleset {
    pub rules: Vec<Rule>,
    /// One per rule, in the same order.
    pub steps: Vec<Step>,
    /// A plain `option tcp-check` ruleset (no preset): its failures name the step they
    /// happened at, as HAProxy's do.
    pub tcp_check: bool,
}

/// The ruleset of `proxy`, and what of it is not applied (compatibility warnings).
pub fn of(model: &Model, proxy: &Proxy) -> (Ruleset, Vec<String>) {
    let kind = proxy.check_type().filter(|o| !o.negated);
    let lines = own_lines(proxy, "tcp-check");
    let http_lines = own_lines(proxy, "http-check");
    build(
        model,
        proxy,
        kind.map(|o| (o.name.as_str(), o.args.as_slice())),
        &lines,
        &http_lines,
    )
}

/// The ruleset of a `healthcheck <name>` section (HAProxy 3.4's shared checks): its `type`
/// line says what the option would, its `tcp-check`/`http-check` lines are the rules. Sample
/// fetches and log-format values are compiled in the context of `proxy`, the backend of the
/// server that uses the section.
pub fn of_section(
    model: &Model,
    proxy: &Proxy,
    section: &sluice_model::sections::OtherSection,
) -> (Ruleset, Vec<String>) {
    let words = |keyword: &str| -> Vec<Vec<String>> {
        section
            .statements
            .iter()
            .filter(|s| s.keyword() == keyword)
            .map(|s| s.words.iter().skip(1).map(|w| w.text.clone()).collect())
            .collect()
    };
    let kind = words("type").pop().unwrap_or_default();
    let (name, args) = kind
        .split_first()
        .map_or(("", &[][..]), |(n, a)| (n.as_str(), a));
    let (ruleset, mut warnings) = build(
        model,
        proxy,
        (!name.is_empty()).then_some((name, args)),
        &words("tcp-check"),
        &words("http-check"),
    );
    if !sluice_model::proxy::options::CHECK_TYPES.contains(&name) || name == "external-check" {
        warnings.push(format!(
            "healthcheck section '{}': unknown 'type {name}'",
            section.name
        ));
    }
    (ruleset, warnings)
}

/// The ruleset of check type `kind` (an option's name and arguments) with these lines.
fn build(
    model: &Model,
    proxy: &Proxy,
    kind: Option<(&str, &[String])>,
    lines: &[Vec<String>],
    http_lines: &[Vec<String>],
) -> (Ruleset, Vec<String>) {
    let mut warnings = Vec::new();
    let mut rules = Vec::new();
    let mut steps = Vec::new();
    let tcp_check = kind.is_some_and(|(name, _)| name == "tcp-check");
    match kind {
        None => {}
        Some(("httpchk", args)) => {
            let lf = |text: &str| {
                sluice_rules::compile_log_format(model, proxy, text, Place::Any).map(Arc::new)
            };
            let expr = |text: &str| {
                sluice_rules::compile_sample(model, proxy, text, Place::Any).map(Arc::new)
            };
            let compile = Compile {
                log_format: &lf,
                expr: &expr,
            };
            http(args, http_lines, &compile, &mut rules, &mut warnings)
        }
        Some(("tcp-check", _)) => {
            for (step, words) in lines.iter().enumerate() {
                match tcp_line(words, step + 1, &mut rules) {
                    Ok(comment) => steps.resize(
                        rules.len(),
                        Step {
                            number: Some(step + 1),
                            comment,
                        },
                    ),
                    Err(e) => warnings.push(format!("'tcp-check {}': {e}", words.join(" "))),
                }
            }
        }
        Some(("redis-check", _)) => {
            rules.push(Rule::Send(b"*1\r\n$4\r\nPING\r\n".to_vec()));
            let mut e = expect(Pattern::String(b"+PONG\r\n".to_vec()), 2);
            e.error = Status::L7Sts;
            e.on_success = Some("Redis server is ok".into());
            e.error_shows_reply = true;
            rules.push(Rule::Expect(e));
        }
        Some(("smtpchk", args)) => {
            let hello = match args.first().map(|h| h.to_ascii_uppercase()) {
                Some(h) if h == "EHLO" => "EHLO",
                _ => "HELO",
            };
            let domain = args.get(1).map_or("localhost", String::as_str);
            // HAProxy's preset: greeting, HELO/EHLO, QUIT, each reply checked.
            smtp_reply(&mut rules, 1, false, false);
            rules.push(Rule::Send(format!("{hello} {domain}\r\n").into_bytes()));
            smtp_reply(&mut rules, 3, true, false);
            rules.push(Rule::Send(b"QUIT\r\n".to_vec()));
            smtp_reply(&mut rules, 6, false, true);
        }
        Some(("ssl-hello-chk", _)) => {
            rules.push(Rule::Send(client_hello()));
            // A handshake record (ServerHello) or an alert: the server speaks TLS.
            let re = Regex::new("^1[56]").ok();
            if let Some(re) = re {
                let mut e = expect(Pattern::RBinary(re), 2);
                e.min_recv = Some(5);
                e.ok = Status::L6Ok;
                e.error = Status::L6Rsp;
                e.tout = Status::L6Tout;
                rules.push(Rule::Expect(e));
            }
        }
        Some(("mysql-check", args)) => {
            let user = (args.first().map(String::as_str) == Some("user"))
                .then(|| args.get(1).cloned())
                .flatten();
            // The 4.1 login unless `pre-41` asks for the old one.
            let pre41 = args.get(2).map(String::as_str) == Some("pre-41");
            rules.push(Rule::Proto(Proto::Mysql { user, pre41 }));
        }
        Some(("pgsql-check", args)) => {
            let user = args.get(1).cloned().unwrap_or_default();
            rules.push(Rule::Proto(Proto::Pgsql { user }));
        }
        Some(("ldap-check", _)) => rules.push(Rule::Proto(Proto::Ldap)),
        Some(("spop-check", _)) => rules.push(Rule::Proto(Proto::Spop)),
        Some(_) => {}
    }
    // HAProxy starts every ruleset with a connection (the implicit one uses the server's
    // check address and port).
    if !matches!(rules.first(), Some(Rule::Connect(_))) {
        rules.insert(0, Rule::Connect(Connect::default()));
        steps.insert(0, Step::default());
    }
    // Presets number their rules in order.
    while steps.len() < rules.len() {
        steps.push(Step {
            number: Some(steps.len() + 1),
            comment: None,
        });
    }
    let ruleset = Ruleset {
        rules,
        steps,
        tcp_check,
    };
    (ruleset, warnings)
}

/// The lines `keyword` of the proxy itself; the defaults section's only when it has none
/// (HAProxy does not merge the two rulesets).
fn own_lines(proxy: &Proxy, keyword: &str) -> Vec<Vec<String>> {
    let all: Vec<&sluice_config::Statement> = proxy
        .other
        .iter()
        .filter(|s| s.keyword() == keyword)
        .collect();
    let at = proxy.location;
    let own: Vec<_> = all
        .iter()
        .filter(|s| s.location.file == at.file && s.location.line >= at.line)
        .collect();
    let chosen: Vec<&&sluice_config::Statement> = if own.is_empty() {
        all.iter().collect()
    } else {
        own
    };
    chosen
        .iter()
        .map(|s| s.words.iter().skip(1).map(|w| w.text.clone()).collect())
        .collect()
}

/// An expect rule with HAProxy's default statuses.
pub(crate) fn expect(pattern: Pattern, step: usize) -> Expect {
    Expect {
        negate: false,
        pattern,
        min_recv: None,
        ok: Status::L7Ok,
        error: Status::L7Rsp,
        tout: Status::L7Tout,
        on_success: None,
        on_error: None,
        error_shows_reply: false,
        success_shows_reply: false,
        reply_skip: 0,
        code_from_reply: false,
        close_ends: false,
        step,
        comment: None,
    }
}

/// An SMTP reply, as HAProxy's preset reads it: a code (else `L7RSP` with the line), then a
/// 2xx code (else `L7STS` with the code and the text after it). `multi`: a multi-line reply
/// (`250-...`) is accepted, as after `EHLO`. `last`: the text of the reply describes a
/// passed check too.
fn smtp_reply(rules: &mut Vec<Rule>, step: usize, multi: bool, last: bool) {
    if !multi {
        if let Ok(re) = Regex::new(r"^[0-9]{3}[ \r]") {
            let mut e = expect(Pattern::RString(re), step);
            e.min_recv = Some(4);
            e.error_shows_reply = true;
            e.close_ends = last;
            rules.push(Rule::Expect(e));
        }
    }
    let re = if multi {
        r"^(2[0-9]{2}-[^\r]*\r\n)*2[0-9]{2}[ \r]"
    } else {
        r"^2[0-9]{2}[ \r]"
    };
    if let Ok(re) = Regex::new(re) {
        let mut e = expect(Pattern::RString(re), step + 1);
        e.min_recv = (!multi).then_some(4);
        e.error = Status::L7Sts;
        e.error_shows_reply = true;
        e.success_shows_reply = last;
        e.close_ends = last;
        e.reply_skip = 4;
        e.code_from_reply = true;
        rules.push(Rule::Expect(e));
    }
}

/// How `http-check` values are compiled (log-format strings and sample expressions of the
/// backend).
struct Compile<'a> {
    log_format: &'a dyn Fn(&str) -> Result<Arc<LogFormat>, String>,
    expr: &'a dyn Fn(&str) -> Result<Arc<SampleExpr>, String>,
}

/// `option httpchk [<method>] <uri> [<version> [<host>]]` and the `http-check` lines, in
/// order: each `send` starts from the option's request.
fn http(
    args: &[String],
    lines: &[Vec<String>],
    compile: &Compile<'_>,
    rules: &mut Vec<Rule>,
    warn: &mut Vec<String>,
) {
    let mut base = HttpRequest::default();
    match args {
        [] => {}
        [uri] => base.uri = uri.clone(),
        [m, uri] => (base.method, base.uri) = (m.clone(), uri.clone()),
        [m, uri, v, rest @ ..] => {
            (base.method, base.uri, base.version) = (m.clone(), uri.clone(), v.clone());
            if let Some(host) = rest.first() {
                if let Err(e) = add_header(&mut base, "Host", host, compile) {
                    warn.push(format!("'option httpchk': {e}"));
                }
            }
        }
    }
    base.send_state = lines
        .iter()
        .any(|w| w.first().is_some_and(|v| v == "send-state"));
    let mut sent = false;
    for words in lines {
        let Some(verb) = words.first() else { continue };
        let rest = words.get(1..).unwrap_or_default();
        match verb.as_str() {
            "send" => {
                let mut req = base.clone();
                match http_send(rest, &mut req, compile) {
                    Ok(()) => rules.push(Rule::HttpSend(req)),
                    Err(e) => warn.push(format!("'http-check send': {e}")),
                }
                sent = true;
            }
            "connect" => match connect(rest) {
                Ok(c) => rules.push(Rule::Connect(c)),
                Err(e) => warn.push(format!("'http-check connect': {e}")),
            },
            "expect" => match http_expect(rest) {
                Ok(e) => rules.push(Rule::HttpExpect(e)),
                Err(e) => warn.push(format!("'http-check {}': {e}", words.join(" "))),
            },
            "comment" | "send-state" => {}
            "disable-on-404" => {
                warn.push(format!("'http-check {verb}' is not supported yet; ignored"))
            }
            v if v.starts_with("set-var") || v.starts_with("unset-var") => {
                match set_var(v, rest, compile) {
                    Ok(rule) => rules.push(rule),
                    Err(e) => warn.push(format!("'http-check {}': {e}", words.join(" "))),
                }
            }
            other => warn.push(format!(
                "'http-check {other}' is not supported yet; ignored"
            )),
        }
    }
    if !sent {
        // The option's request goes before the first expect (after a first connect).
        let at = usize::from(matches!(rules.first(), Some(Rule::Connect(_))));
        rules.insert(at.min(rules.len()), Rule::HttpSend(base));
    }
}

/// `set-var(<name>[,<cond>...]) <expr>`, `set-var-fmt(<name>...) <fmt>`, `unset-var(<name>)`.
fn set_var(verb: &str, rest: &[String], compile: &Compile<'_>) -> Result<Rule, String> {
    let (action, inner) = verb
        .strip_suffix(')')
        .and_then(|v| v.split_once('('))
        .ok_or("expects '(<var-name>)'")?;
    // Conditions (`ifexists`, `ifnotempty`...) are not applied: the variable is set.
    let name = inner.split(',').next().unwrap_or("").trim().to_string();
    let (scope, short) = name.split_once('.').unwrap_or(("", ""));
    if !matches!(scope, "proc" | "sess" | "txn" | "req" | "res" | "check") || short.is_empty() {
        return Err(format!("invalid variable name '{name}'"));
    }
    let text = rest.join(" ");
    match action {
        "unset-var" => Ok(Rule::UnsetVar(name)),
        "set-var" => Ok(Rule::SetVar {
            name,
            value: VarValue::Expr((compile.expr)(&text)?),
        }),
        "set-var-fmt" => Ok(Rule::SetVar {
            name,
            value: VarValue::Format((compile.log_format)(&text)?),
        }),
        other => Err(format!("unknown action '{other}'")),
    }
}

/// Adds a header whose value is a log-format string (compiled when it has fields).
fn add_header(
    req: &mut HttpRequest,
    name: &str,
    value: &str,
    compile: &Compile<'_>,
) -> Result<(), String> {
    // The Host header is kept once, as HAProxy keeps it in agreement with the authority.
    if name.eq_ignore_ascii_case("host") {
        let mut i = 0;
        while i < req.headers.len() {
            if req
                .headers
                .get(i)
                .is_some_and(|(n, _)| n.eq_ignore_ascii_case("host"))
            {
                req.headers.remove(i);
                req.formats.retain(|(f, _)| *f != Field::Header(i));
                for (f, _) in &mut req.formats {
                    if let Field::Header(j) = f {
                        if *j > i {
                            *j -= 1;
                        }
                    }
                }
            } else {
                i += 1;
            }
        }
    }
    let at = req.headers.len();
    if value.contains('%') {
        req.formats
            .push((Field::Header(at), (compile.log_format)(value)?));
    }
    req.headers.push((name.to_string(), value.to_string()));
    Ok(())
}

fn http_send(words: &[String], req: &mut HttpRequest, compile: &Compile<'_>) -> Result<(), String> {
    let mut i = 0;
    while let Some(w) = words.get(i) {
        let v = words
            .get(i + 1)
            .ok_or_else(|| format!("'{w}' needs a value"))?;
        match w.as_str() {
            "meth" => req.method = v.clone(),
            "uri" => {
                req.uri = v.clone();
                req.formats.retain(|(f, _)| *f != Field::Uri);
            }
            "ver" => req.version = v.clone(),
            "body" => {
                req.body = v.clone().into_bytes();
                req.formats.retain(|(f, _)| *f != Field::Body);
            }
            "comment" => {}
            "hdr" => {
                let value = words.get(i + 2).ok_or("'hdr' needs a name and a value")?;
                add_header(req, v, value, compile)?;
                i += 1;
            }
            "uri-lf" => {
                req.formats.retain(|(f, _)| *f != Field::Uri);
                req.formats.push((Field::Uri, (compile.log_format)(v)?));
            }
            "body-lf" => {
                req.formats.retain(|(f, _)| *f != Field::Body);
                req.formats.push((Field::Body, (compile.log_format)(v)?));
            }
            _ => return Err(format!("unknown argument '{w}'")),
        }
        i += 2;
    }
    Ok(())
}

/// The options common to both `expect`s, and the words left (`[!] <match> <pattern>`).
struct ExpectOptions {
    min_recv: Option<usize>,
    ok: Option<Status>,
    error: Option<Status>,
    tout: Option<Status>,
    on_success: Option<String>,
    on_error: Option<String>,
    negate: bool,
    comment: Option<String>,
    kind: String,
    pattern: String,
}

fn expect_options(words: &[String]) -> Result<ExpectOptions, String> {
    let mut o = ExpectOptions {
        min_recv: None,
        ok: None,
        error: None,
        tout: None,
        on_success: None,
        on_error: None,
        negate: false,
        comment: None,
        kind: String::new(),
        pattern: String::new(),
    };
    let mut i = 0;
    let status = |v: &String| Status::parse(v).ok_or_else(|| format!("unknown status '{v}'"));
    while let Some(w) = words.get(i) {
        let value = words.get(i + 1);
        let need = || value.ok_or_else(|| format!("'{w}' needs a value"));
        match w.as_str() {
            "min-recv" => {
                let v: i64 = need()?.parse().map_err(|_| "'min-recv' needs a number")?;
                o.min_recv = usize::try_from(v).ok();
            }
            "comment" => o.comment = Some(need()?.clone()),
            "status-code" => {
                need()?;
            }
            "ok-status" => o.ok = Some(status(need()?)?),
            "error-status" => o.error = Some(status(need()?)?),
            "tout-status" => o.tout = Some(status(need()?)?),
            "on-success" => o.on_success = Some(need()?.clone()),
            "on-error" => o.on_error = Some(need()?.clone()),
            "!" => {
                o.negate = true;
                i += 1;
                continue;
            }
            kind => {
                let (neg, kind) = match kind.strip_prefix('!') {
                    Some(k) => (true, k),
                    None => (false, kind),
                };
                if !o.kind.is_empty() {
                    return Err(format!("unexpected '{w}' after the pattern"));
                }
                o.negate |= neg;
                o.kind = kind.to_string();
                if kind == "hdr" {
                    // `hdr name <n> [value <v>]` takes the rest of the line.
                    o.pattern = words.get(i + 1..).unwrap_or_default().join(" ");
                    if o.pattern.is_empty() {
                        return Err("'hdr' needs a pattern".into());
                    }
                    return Ok(o);
                }
                // The pattern is one word; options may follow it.
                o.pattern = value
                    .ok_or_else(|| format!("'{kind}' needs a pattern"))?
                    .clone();
            }
        }
        i += 2;
    }
    if o.kind.is_empty() {
        return Err("a match and a pattern are needed".into());
    }
    Ok(o)
}

fn regex(p: &str) -> Result<Regex, String> {
    Regex::new(p).map_err(|e| format!("invalid regex '{p}': {e}"))
}

fn hex(p: &str) -> Result<Vec<u8>, String> {
    let b = p.as_bytes();
    if b.len() % 2 != 0 {
        return Err(format!("'{p}' is not an even number of hexadecimal digits"));
    }
    b.chunks(2)
        .map(|c| {
            std::str::from_utf8(c)
                .ok()
                .and_then(|s| u8::from_str_radix(s, 16).ok())
                .ok_or_else(|| format!("'{p}' is not hexadecimal"))
        })
        .collect()
}

fn http_expect(words: &[String]) -> Result<HttpExpect, String> {
    let o = expect_options(words)?;
    let what = match o.kind.as_str() {
        "status" => {
            let mut ranges = Vec::new();
            for part in o.pattern.split(',') {
                let (a, b) = part.split_once('-').unwrap_or((part, part));
                let a: u16 = a
                    .trim()
                    .parse()
                    .map_err(|_| format!("bad status '{part}'"))?;
                let b: u16 = b
                    .trim()
                    .parse()
                    .map_err(|_| format!("bad status '{part}'"))?;
                ranges.push((a, b));
            }
            HttpMatch::Status(ranges)
        }
        "rstatus" => HttpMatch::RStatus(regex(&o.pattern)?),
        "string" => HttpMatch::String(o.pattern.clone().into_bytes()),
        "rstring" => HttpMatch::RString(regex(&o.pattern)?),
        "hdr" => {
            let w: Vec<&str> = o.pattern.split(' ').collect();
            match w.as_slice() {
                ["name", n] => HttpMatch::Hdr {
                    name: n.to_string(),
                    value: None,
                },
                ["name", n, "value", v] => HttpMatch::Hdr {
                    name: n.to_string(),
                    value: Some(v.to_string()),
                },
                _ => return Err("only 'hdr name <name> [value <value>]' is supported yet".into()),
            }
        }
        other => return Err(format!("'{other}' is not supported yet")),
    };
    Ok(HttpExpect {
        negate: o.negate,
        what,
        ok: o.ok.unwrap_or(Status::L7Ok),
        error: o.error.unwrap_or(Status::L7Sts),
        tout: o.tout.unwrap_or(Status::L7Tout),
        on_success: o.on_success,
        on_error: o.on_error,
    })
}

fn connect(words: &[String]) -> Result<Connect, String> {
    let mut c = Connect::default();
    let mut i = 0;
    while let Some(w) = words.get(i) {
        let value = words.get(i + 1);
        match w.as_str() {
            "default" | "linger" => {}
            "send-proxy" => c.send_proxy = true,
            "port" => {
                let v = value.ok_or("'port' needs a value")?;
                c.port = Some(v.parse().map_err(|_| format!("bad port '{v}'"))?);
                i += 1;
            }
            "addr" => {
                let v = value.ok_or("'addr' needs a value")?;
                // `<ip>` or `<ip>:<port>`; a `port` keyword wins over the address's port.
                if let Ok(sa) = v.parse::<SocketAddr>() {
                    c.addr = Some(sa.ip());
                    c.port = c.port.or(Some(sa.port()));
                } else {
                    c.addr = Some(v.parse().map_err(|_| format!("bad address '{v}'"))?);
                }
                i += 1;
            }
            "comment" => {
                c.comment = Some(value.ok_or("'comment' needs a value")?.clone());
                i += 1;
            }
            other => return Err(format!("'{other}' is not supported yet")),
        }
        i += 1;
    }
    Ok(c)
}

/// Adds the rule of one `tcp-check` line; returns its comment.
fn tcp_line(
    words: &[String],
    step: usize,
    rules: &mut Vec<Rule>,
) -> Result<Option<String>, String> {
    let Some(verb) = words.first() else {
        return Ok(None);
    };
    let rest = words.get(1..).unwrap_or_default();
    match verb.as_str() {
        "connect" => {
            let c = connect(rest)?;
            let comment = c.comment.clone();
            rules.push(Rule::Connect(c));
            Ok(comment)
        }
        "send" => {
            let data = rest.first().ok_or("'send' needs data")?;
            let comment = send_comment(rest)?;
            rules.push(Rule::Send(data.clone().into_bytes()));
            Ok(comment)
        }
        "send-binary" => {
            let data = rest.first().ok_or("'send-binary' needs data")?;
            let comment = send_comment(rest)?;
            rules.push(Rule::Send(hex(data)?));
            Ok(comment)
        }
        "expect" => {
            let o = expect_options(rest)?;
            let pattern = match o.kind.as_str() {
                "string" => Pattern::String(o.pattern.clone().into_bytes()),
                "rstring" => Pattern::RString(regex(&o.pattern)?),
                "binary" => Pattern::Binary(hex(&o.pattern)?),
                "rbinary" => Pattern::RBinary(regex(&o.pattern)?),
                other => return Err(format!("'{other}' is not supported yet")),
            };
            let mut e = expect(pattern, step);
            e.negate = o.negate;
            e.min_recv = o.min_recv;
            e.ok = o.ok.unwrap_or(Status::L7Ok);
            e.error = o.error.unwrap_or(Status::L7Rsp);
            e.tout = o.tout.unwrap_or(Status::L7Tout);
            e.on_success = o.on_success;
            e.on_error = o.on_error;
            e.comment = o.comment.clone();
            rules.push(Rule::Expect(e));
            Ok(o.comment)
        }
        "comment" => Ok(None),
        other => Err(format!("'{other}' is not supported yet; ignored")),
    }
}

/// The `comment <msg>` after a `send`/`send-binary` line's data.
fn send_comment(rest: &[String]) -> Result<Option<String>, String> {
    match rest.get(1).map(String::as_str) {
        None => Ok(None),
        Some("comment") => rest
            .get(2)
            .cloned()
            .map(Some)
            .ok_or_else(|| "'comment' needs a value".to_string()),
        Some(other) => Err(format!("unexpected '{other}' after the data")),
    }
}

/// A TLS ClientHello (record version TLS 1.0, hello version TLS 1.2, common suites): any
/// TLS server answers with a handshake record or an alert.
fn client_hello() -> Vec<u8> {
    let suites: &[u16] = &[
        0xc02f, 0xc030, 0xc02b, 0xc02c, 0x009c, 0x009d, 0x002f, 0x0035,
    ];
    let mut hello = vec![0x03, 0x03];
    hello.extend_from_slice(&[0x5a; 32]); // random
    hello.push(0); // session id
    let n = u16::try_from(suites.len() * 2).unwrap_or(0);
    hello.extend_from_slice(&n.to_be_bytes());
    for s in suites {
        hello.extend_from_slice(&s.to_be_bytes());
    }
    hello.extend_from_slice(&[1, 0]); // compression: null
                                      // Extensions: signature_algorithms (TLS 1.2 servers want it).
    let sigalgs: &[u16] = &[0x0401, 0x0501, 0x0601, 0x0403, 0x0503, 0x0804, 0x0201];
    let list = u16::try_from(sigalgs.len() * 2).unwrap_or(0);
    let mut ext = vec![0x00, 0x0d];
    ext.extend_from_slice(&(list + 2).to_be_bytes());
    ext.extend_from_slice(&list.to_be_bytes());
    for s in sigalgs {
        ext.extend_from_slice(&s.to_be_bytes());
    }
    hello.extend_from_slice(&u16::try_from(ext.len()).unwrap_or(0).to_be_bytes());
    hello.extend_from_slice(&ext);
    let len = u32::try_from(hello.len()).unwrap_or(0).to_be_bytes();
    let mut handshake = vec![0x01];
    handshake.extend_from_slice(len.get(1..).unwrap_or_default());
    handshake.extend_from_slice(&hello);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend_from_slice(&u16::try_from(handshake.len()).unwrap_or(0).to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_uri_takes_the_host_header_as_authority() {
        let r = HttpRequest {
            method: "POST".into(),
            uri: "http://a/chk?x=1".into(),
            version: "HTTP/1.1".into(),
            headers: vec![("host".into(), "long-name.example.org".into())],
            body: b"hello".to_vec(),
            ..HttpRequest::default()
        };
        assert_eq!(
            r.encode(),
            b"POST http://long-name.example.org/chk?x=1 HTTP/1.1\r\nhost: long-name.example.org\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello".to_vec()
        );
        let plain = HttpRequest {
            uri: "/chk".into(),
            headers: vec![("Host".into(), "h".into())],
            ..HttpRequest::default()
        };
        assert_eq!(plain.target(), "/chk");
    }

    #[test]
    fn http_request_gets_connection_close_and_length() {
        let r = HttpRequest {
            body: b"hi".to_vec(),
            headers: vec![("Host".into(), "x".into())],
            ..HttpRequest::default()
        };
        assert_eq!(
            r.encode(),
            b"OPTIONS / HTTP/1.0\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi"
        );
    }

    #[test]
    fn hex_and_expect_words() {
        assert_eq!(hex("2b504F4e47"), Ok(b"+PONG".to_vec()));
        assert!(hex("2b5").is_err());
        let w: Vec<String> = ["!", "string", "SQL Error"].map(String::from).to_vec();
        let o = expect_options(&w).map_err(|e| e.to_string());
        assert!(o
            .as_ref()
            .is_ok_and(|o| o.negate && o.kind == "string" && o.pattern == "SQL Error"));
        // Options may follow the pattern, which is one word (quote spaces), as in HAProxy.
        let w: Vec<String> = ["!rstring", "^error", "comment", "negative check"]
            .map(String::from)
            .to_vec();
        let o = expect_options(&w).map_err(|e| e.to_string());
        assert!(o.as_ref().is_ok_and(|o| o.negate
            && o.pattern == "^error"
            && o.comment.as_deref() == Some("negative check")));
        let w: Vec<String> = ["string", "SQL", "Error"].map(String::from).to_vec();
        assert!(expect_options(&w).is_err());
    }

    #[test]
    fn tcp_check_steps_carry_numbers_and_comments() {
        let mut rules = Vec::new();
        let words = |l: &[&str]| l.iter().map(|w| w.to_string()).collect::<Vec<_>>();
        let c = tcp_line(
            &words(&["connect", "port", "1", "comment", "c1"]),
            1,
            &mut rules,
        );
        assert_eq!(c, Ok(Some("c1".to_string())));
        let c = tcp_line(&words(&["send", "PING", "comment", "ping"]), 2, &mut rules);
        assert_eq!(c, Ok(Some("ping".to_string())));
        let c = tcp_line(&words(&["expect", "string", "+PONG"]), 3, &mut rules);
        assert_eq!(c, Ok(None));
        assert!(tcp_line(&words(&["send", "PING", "extra"]), 4, &mut rules).is_err());
        assert!(
            matches!(rules.as_slice(), [Rule::Connect(c), Rule::Send(_), Rule::Expect(e)]
            if c.port == Some(1) && e.step == 3)
        );
    }

    #[test]
    fn http_check_lines_keep_their_order_and_each_send_starts_from_the_option() {
        let words = |l: &[&str]| l.iter().map(|w| w.to_string()).collect::<Vec<_>>();
        let lines = vec![
            words(&["connect", "addr", "127.0.0.1:8080"]),
            words(&["set-var(check.path)", "str(/a)"]),
            words(&["send", "uri", "/one", "hdr", "x-a", "1"]),
            words(&["expect", "status", "200"]),
            words(&["connect", "port", "81"]),
            words(&["unset-var(check.path)"]),
            words(&["send", "meth", "HEAD"]),
        ];
        let no_lf = |_: &str| Err::<Arc<LogFormat>, String>("no log-format here".into());
        let no_expr = |_: &str| Err::<Arc<SampleExpr>, String>("no expression here".into());
        let compile = Compile {
            log_format: &no_lf,
            expr: &no_expr,
        };
        let (mut rules, mut warnings) = (Vec::new(), Vec::new());
        http(
            &words(&["GET", "/base", "HTTP/1.1"]),
            &lines,
            &compile,
            &mut rules,
            &mut warnings,
        );
        // The set-var expression could not compile here: reported, the rest kept in order.
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(matches!(
            rules.as_slice(),
            [
                Rule::Connect(c1),
                Rule::HttpSend(one),
                Rule::HttpExpect(_),
                Rule::Connect(c2),
                Rule::UnsetVar(name),
                Rule::HttpSend(two),
            ] if c1.port == Some(8080)
                && c1.addr == Some(IpAddr::from([127, 0, 0, 1]))
                && c2.port == Some(81)
                && name == "check.path"
                && one.uri == "/one" && one.method == "GET" && one.headers.len() == 1
                && two.uri == "/base" && two.method == "HEAD" && two.version == "HTTP/1.1"
        ));
    }

    #[test]
    fn client_hello_lengths_add_up() {
        let h = client_hello();
        let rec = usize::from(u16::from_be_bytes([h[3], h[4]]));
        assert_eq!(rec + 5, h.len());
    }
}
