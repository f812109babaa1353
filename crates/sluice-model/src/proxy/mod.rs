//! Proxies: `defaults`, `frontend`, `backend` and `listen` sections.
//!
//! A proxy starts as a copy of its defaults (see [`crate::defaults`]) and each statement then
//! overrides or adds to it, as in HAProxy.

pub mod acl;
pub mod balance;
pub mod bind;
pub mod compression;
pub mod condition;
pub mod options;
pub mod rules;
pub mod server;
pub mod timeouts;

use crate::catalogue::{self, Admission, Place};
use crate::log::{self, LogLine, LogTarget};
use crate::spanned::Spanned;
use crate::statement::{self, report, Failure, Parsed};
use acl::Acl;
use balance::Balance;
use bind::Bind;
use condition::Condition;
use options::ProxyOption;
use rules::{Rule, RuleLine};
use server::{Server, ServerOptions};
use sluice_config::keywords::Table;
use sluice_config::{Category, Diagnostic, Diagnostics, Location, SectionKind, Statement};
use timeouts::Timeouts;

/// The four proxy section kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProxyKind {
    Defaults,
    Frontend,
    Backend,
    Listen,
}

impl ProxyKind {
    pub fn from_section(kind: SectionKind) -> Option<Self> {
        match kind {
            SectionKind::Defaults => Some(ProxyKind::Defaults),
            SectionKind::Frontend => Some(ProxyKind::Frontend),
            SectionKind::Backend => Some(ProxyKind::Backend),
            SectionKind::Listen => Some(ProxyKind::Listen),
            _ => None,
        }
    }

    pub fn section(self) -> SectionKind {
        match self {
            ProxyKind::Defaults => SectionKind::Defaults,
            ProxyKind::Frontend => SectionKind::Frontend,
            ProxyKind::Backend => SectionKind::Backend,
            ProxyKind::Listen => SectionKind::Listen,
        }
    }

    pub fn keyword(self) -> &'static str {
        self.section().keyword()
    }

    /// Accepts connections (frontend capability).
    pub fn is_frontend(self) -> bool {
        matches!(self, ProxyKind::Frontend | ProxyKind::Listen)
    }

    /// Has servers (backend capability).
    pub fn is_backend(self) -> bool {
        matches!(self, ProxyKind::Backend | ProxyKind::Listen)
    }
}

/// `mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Tcp,
    Http,
    Log,
    Spop,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Tcp => "tcp",
            Mode::Http => "http",
            Mode::Log => "log",
            Mode::Spop => "spop",
        }
    }
}

/// `use_backend <name> [if|unless <condition>]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UseBackend {
    pub target: BackendName,
    pub condition: Option<Condition>,
    pub location: Location,
}

/// A backend named by a switching rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BackendName {
    /// A fixed name, checked when the configuration is loaded.
    Static(String),
    /// A log-format expression (`%[req.hdr(host)]`), resolved per request.
    Dynamic(String),
}

impl BackendName {
    fn parse(text: &str) -> Self {
        if text.contains("%[") {
            BackendName::Dynamic(text.to_string())
        } else {
            BackendName::Static(text.to_string())
        }
    }
}

/// `cookie <name> [options]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cookie {
    pub name: String,
    pub options: Vec<String>,
    pub location: Location,
}

/// `errorfile <status> <file>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorFile {
    pub status: u16,
    pub path: Spanned<String>,
}

/// `errorloc <code> <url>`, `errorloc302` and `errorloc303`: the error response for `status`
/// becomes a redirect (`redirect`: 302 or 303) to `url`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorLoc {
    pub status: u16,
    /// 302 (`errorloc`, `errorloc302`) or 303 (`errorloc303`).
    pub redirect: u16,
    /// The `Location` value, as written.
    pub url: String,
    pub location: Location,
}

/// Status codes `errorfile` accepts.
pub const ERRORFILE_STATUSES: &[u16] = &[
    200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 425, 429, 431, 500, 501, 502, 503, 504,
];

/// A condition found on any line (rules, `use_backend`, `redirect`...), for ACL checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConditionUse {
    pub keyword: String,
    pub condition: Condition,
}

/// One proxy section with its defaults applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proxy {
    pub kind: ProxyKind,
    /// Empty for an anonymous `defaults`.
    pub name: String,
    /// The header line.
    pub location: Location,
    /// The defaults section this proxy inherits from (`from`, or the previous one).
    pub defaults: Option<String>,
    pub disabled: bool,
    pub mode: Option<Spanned<Mode>>,
    pub binds: Vec<Bind>,
    pub servers: Vec<Server>,
    pub default_server: ServerOptions,
    pub acls: Vec<Acl>,
    /// Names of `acl` lines that had an error (their uses are not reported again).
    pub invalid_acls: Vec<String>,
    pub use_backends: Vec<UseBackend>,
    pub default_backend: Option<Spanned<BackendName>>,
    pub rules: Vec<Rule>,
    /// Every condition of the proxy, in line order (rules and `use_backend` included).
    pub conditions: Vec<ConditionUse>,
    pub timeouts: Timeouts,
    pub tcp_inspect_delay: Option<Spanned<std::time::Duration>>,
    /// `tcp-response inspect-delay`.
    pub tcp_response_inspect_delay: Option<Spanned<std::time::Duration>>,
    pub options: Vec<ProxyOption>,
    pub balance: Option<Balance>,
    pub cookie: Option<Cookie>,
    pub errorfiles: Vec<ErrorFile>,
    /// `errorloc`, `errorloc302` and `errorloc303` lines.
    pub errorlocs: Vec<ErrorLoc>,
    /// `dispatch <address>:<port>`: where connections go when the backend has no server.
    pub dispatch: Option<Spanned<crate::address::Address>>,
    /// `errorfiles <http-errors section>`.
    pub errorfiles_sections: Vec<Spanned<String>>,
    /// By position in `errorfiles_sections`: the status codes the line imports (empty: all).
    pub errorfiles_codes: Vec<Vec<u16>>,
    /// `stats ...` lines as written.
    pub stats: Vec<Spanned<Vec<String>>>,
    pub maxconn: Option<Spanned<u64>>,
    pub retries: Option<Spanned<u64>>,
    /// `log global` was written.
    pub log_global: bool,
    pub logs: Vec<LogTarget>,
    /// `compression` lines and compression filters; `None` without any.
    pub compression: Option<compression::Compression>,
    /// Supported keywords the model keeps as written.
    pub other: Vec<Statement>,
}

impl Proxy {
    /// The option that chooses the health-check type (the last of [`options::CHECK_TYPES`]
    /// written, negated or not), if any.
    pub fn check_type(&self) -> Option<&ProxyOption> {
        self.options
            .iter()
            .rev()
            .find(|o| options::CHECK_TYPES.contains(&o.name.as_str()))
    }

    /// A proxy with nothing set.
    pub fn new(kind: ProxyKind, name: &str, location: Location) -> Self {
        Self {
            kind,
            name: name.to_string(),
            location,
            defaults: None,
            disabled: false,
            mode: None,
            binds: Vec::new(),
            servers: Vec::new(),
            default_server: ServerOptions::default(),
            acls: Vec::new(),
            invalid_acls: Vec::new(),
            use_backends: Vec::new(),
            default_backend: None,
            rules: Vec::new(),
            conditions: Vec::new(),
            timeouts: Timeouts::default(),
            tcp_inspect_delay: None,
            tcp_response_inspect_delay: None,
            options: Vec::new(),
            balance: None,
            cookie: None,
            errorfiles: Vec::new(),
            errorlocs: Vec::new(),
            dispatch: None,
            errorfiles_sections: Vec::new(),
            errorfiles_codes: Vec::new(),
            stats: Vec::new(),
            maxconn: None,
            retries: None,
            log_global: false,
            logs: Vec::new(),
            compression: None,
            other: Vec::new(),
        }
    }

    /// The effective mode (`tcp` when none is set, as in HAProxy).
    pub fn mode(&self) -> Mode {
        self.mode.as_ref().map_or(Mode::Tcp, |m| m.value)
    }

    /// Whether `option <name>` is on (the last line wins, `no option` turns it off).
    pub fn option(&self, name: &str) -> Option<&ProxyOption> {
        self.options
            .iter()
            .rev()
            .find(|o| o.name == name)
            .filter(|o| !o.negated)
    }

    /// `'frontend f'`-style description for messages.
    pub fn describe(&self) -> String {
        format!("{} '{}'", self.kind.keyword(), self.name)
    }
}

/// Keywords whose arguments may end with a condition that names ACLs.
const CONDITIONAL: &[&str] = &[
    "redirect",
    "use-server",
    "force-persist",
    "ignore-persist",
    "monitor",
    "stick",
    "block",
    "http-check",
];

/// Keywords the model parses into typed values (known even if the catalogue is silent).
const TYPED: &[&str] = &[
    "mode",
    "bind",
    "server",
    "server-template",
    "default-server",
    "acl",
    "use_backend",
    "default_backend",
    "http-request",
    "http-response",
    "http-after-response",
    "tcp-request",
    "tcp-response",
    "timeout",
    "option",
    "balance",
    "cookie",
    "errorfile",
    "errorfiles",
    "errorloc",
    "errorloc302",
    "errorloc303",
    "dispatch",
    "stats",
    "maxconn",
    "retries",
    "log",
    "disabled",
    "enabled",
    "redirect",
    "filter",
    "description",
    "compression",
];

/// Parses one statement of a proxy section into `proxy`.
pub fn parse_statement(
    proxy: &mut Proxy,
    stmt: &Statement,
    diag_mode: bool,
    diags: &mut Diagnostics,
) {
    if let Err(failure) = parse_inner(proxy, stmt, diag_mode, diags) {
        if stmt.keyword() == "acl" {
            if let Some(name) = stmt.words.get(1) {
                proxy.invalid_acls.push(name.text.clone());
            }
        }
        report(failure, diags);
    }
}

fn parse_inner(
    proxy: &mut Proxy,
    stmt: &Statement,
    diag_mode: bool,
    diags: &mut Diagnostics,
) -> Parsed<()> {
    let keyword = stmt.keyword();
    // `no option x` and `no log` are looked up by what follows `no`.
    let is_no = keyword == "no" || keyword == "default";
    let real = if is_no {
        stmt.words.get(1).map(|w| w.as_str()).unwrap_or("")
    } else {
        keyword
    };
    if is_no && !matches!(real, "option" | "log") {
        return Err(statement::syntax_error(
            stmt,
            0,
            "prefix-not-allowed",
            format!("'{keyword}' is only allowed before 'option' or 'log', not '{real}'."),
            format!("remove '{keyword}'"),
        )
        .into());
    }
    let context = format!("'{}' section", proxy.kind.keyword());
    let place = Place {
        table: Table::Section(proxy.kind.section()),
        context: &context,
    };
    let typed = TYPED.contains(&real);
    let admission = catalogue::admit(
        &place,
        real,
        typed,
        stmt.word_location(usize::from(is_no)),
        diags,
    );
    if admission == Admission::Reject {
        return Err(Failure::Reported);
    }
    if !allowed(proxy, real, stmt, diags)? || !catalogue_allows(proxy, real, stmt, diags) {
        return Ok(());
    }
    match real {
        "mode" => {
            statement::no_extra(stmt, 1)?;
            let word = statement::arg(stmt, 1, "'tcp', 'http' or 'log'")?;
            let mode = match word.as_str() {
                "tcp" => Mode::Tcp,
                "http" => Mode::Http,
                "log" => Mode::Log,
                "spop" => Mode::Spop,
                other => {
                    return Err(statement::syntax_error(
                        stmt,
                        1,
                        "mode-unknown",
                        format!("unknown proxy mode '{other}'."),
                        "write 'mode http' or 'mode tcp'",
                    )
                    .into())
                }
            };
            proxy.mode = Some(Spanned::new(mode, stmt.location));
        }
        "bind" => proxy.binds.push(bind::parse(stmt, diags)?),
        "server" => {
            let server = server::parse(stmt, &proxy.default_server, diags)?;
            proxy.servers.push(server);
        }
        "server-template" => {
            let servers = server::parse_template(stmt, &proxy.default_server, diags)?;
            proxy.servers.extend(servers);
        }
        "default-server" => {
            let mut options = proxy.default_server.clone();
            server::parse_options(stmt, 1, &mut options, diags)?;
            proxy.default_server = options;
        }
        "acl" => proxy.acls.push(acl::parse_named(stmt, diags, diag_mode)?),
        "use_backend" => {
            let name = statement::arg(stmt, 1, "a backend name")?;
            let condition = conditional(stmt, 2, diags)?;
            if condition.is_none() {
                statement::no_extra(stmt, 1)?;
            }
            if let Some(c) = &condition {
                proxy.conditions.push(ConditionUse {
                    keyword: "use_backend".into(),
                    condition: c.clone(),
                });
            }
            proxy.use_backends.push(UseBackend {
                target: BackendName::parse(&name.text),
                condition,
                location: stmt.word_location(1),
            });
        }
        "default_backend" => {
            let name = statement::arg(stmt, 1, "a backend name")?;
            statement::no_extra(stmt, 1)?;
            proxy.default_backend = Some(Spanned::new(
                BackendName::parse(&name.text),
                stmt.word_location(1),
            ));
        }
        "http-request"
        | "http-response"
        | "http-after-response"
        | "tcp-request"
        | "tcp-response" => match rules::parse(stmt, diags)? {
            RuleLine::Rule(rule) => {
                if let Some(c) = &rule.condition {
                    proxy.conditions.push(ConditionUse {
                        keyword: format!("{} {}", keyword, rule.action),
                        condition: c.clone(),
                    });
                }
                proxy.rules.push(rule);
            }
            RuleLine::InspectDelay(d) => {
                let delay = Some(Spanned::new(d, stmt.location));
                if keyword == "tcp-response" {
                    proxy.tcp_response_inspect_delay = delay;
                } else {
                    proxy.tcp_inspect_delay = delay;
                }
            }
        },
        "timeout" => {
            let owner = format!("{} '{}'", proxy.kind.keyword(), proxy.name);
            let (name, value) = timeouts::parse(stmt, &owner, diags)?;
            proxy
                .timeouts
                .set(&name, Spanned::new(value, stmt.location));
        }
        "option" => proxy.options.push(options::parse(stmt, diags)?),
        "balance" => proxy.balance = Some(balance::parse(stmt)?),
        "cookie" => {
            let name = statement::arg(stmt, 1, "a cookie name")?;
            check_cookie_options(stmt)?;
            proxy.cookie = Some(Cookie {
                name: name.text.clone(),
                options: statement::texts(stmt, 2),
                location: stmt.location,
            });
        }
        "errorfile" => {
            let status = error_status(stmt, "errorfile")?;
            // HAProxy ignores words after the file name.
            let path = statement::arg(stmt, 2, "a file name")?;
            proxy.errorfiles.push(ErrorFile {
                status,
                path: Spanned::new(path.text.clone(), stmt.word_location(2)),
            });
        }
        "errorloc" | "errorloc302" | "errorloc303" => {
            let status = error_status(stmt, real)?;
            // Like `errorfile`, HAProxy ignores words after the URL.
            let url = statement::arg(stmt, 2, "a URL (the Location of the redirect)")?;
            proxy.errorlocs.push(ErrorLoc {
                status,
                redirect: if real == "errorloc303" { 303 } else { 302 },
                url: url.text.clone(),
                location: stmt.location,
            });
        }
        "dispatch" => {
            let word = statement::arg(stmt, 1, "<address>:<port>")?;
            statement::no_extra(stmt, 1)?;
            proxy.dispatch = Some(Spanned::new(
                parse_dispatch(stmt, &word.text)?,
                stmt.word_location(1),
            ));
        }
        "errorfiles" => {
            let name = statement::arg(stmt, 1, "an http-errors section name")?;
            let mut codes = Vec::new();
            for i in 2..stmt.words.len() {
                codes.push(statement::uint(stmt, i, 100, 599, "an HTTP status code")? as u16);
            }
            proxy
                .errorfiles_sections
                .push(Spanned::new(name.text.clone(), stmt.word_location(1)));
            proxy.errorfiles_codes.push(codes);
        }
        "stats" => parse_stats(proxy, stmt, diags)?,
        "maxconn" => {
            let v = statement::uint(stmt, 1, 0, i32::MAX as u64, "a number of connections")?;
            statement::no_extra(stmt, 1)?;
            proxy.maxconn = Some(Spanned::new(v, stmt.location));
        }
        "retries" => {
            let v = statement::uint(stmt, 1, 0, i32::MAX as u64, "a number of retries")?;
            statement::no_extra(stmt, 1)?;
            proxy.retries = Some(Spanned::new(v, stmt.location));
        }
        "log" => match log::parse(stmt)? {
            LogLine::Global(_) => proxy.log_global = true,
            LogLine::Disable => {
                proxy.log_global = false;
                proxy.logs.clear();
            }
            LogLine::Target(target) => proxy.logs.push(target),
        },
        "disabled" => {
            statement::no_extra(stmt, 0)?;
            proxy.disabled = true;
        }
        "enabled" => {
            statement::no_extra(stmt, 0)?;
            proxy.disabled = false;
        }
        "description" => {
            if stmt.words.len() < 2 {
                return Err(Diagnostic::error(
                    Category::Syntax,
                    "argument-missing",
                    "'description' expects a string argument.",
                )
                .at(stmt.location)
                .help("write 'description <text>' (the rest of the line is the description)")
                .into());
            }
            proxy.other.push(stmt.clone());
        }
        // `too_many_args(1)` in HAProxy's `proxy_parse_conn_limits()`.
        "backlog" | "fullconn" => {
            statement::no_extra(stmt, 1)?;
            proxy.other.push(stmt.clone());
        }
        "compression" => compression::parse(
            stmt,
            proxy.compression.get_or_insert_with(Default::default),
            proxy.kind == ProxyKind::Defaults,
            diags,
        )?,
        "filter" if compression::is_filter(stmt) => {
            compression::filter(stmt, proxy.compression.get_or_insert_with(Default::default))?
        }
        "filter" => {
            if stmt.words.get(1).is_some_and(|w| w.text == "spoe") {
                return Err(Diagnostic::error(
                    Category::Compatibility,
                    "not-implemented-refused",
                    "'filter spoe' (stream processing offload) is not implemented by Sluice yet",
                )
                .at(stmt.word_location(1))
                .help("run this configuration with HAProxy, or remove the SPOE filter and its agent backend")
                .into());
            }
            // Only the compression filters run (see `compression::is_filter`).
            let name = statement::arg(stmt, 1, "a filter name")?;
            return Err(Diagnostic::error(
                Category::Compatibility,
                "not-implemented-refused",
                format!(
                    "'filter {}' is not implemented by Sluice yet: only the compression filters \
                     ('compression', 'comp-req', 'comp-res') are available",
                    name.text
                ),
            )
            .at(stmt.word_location(1))
            .help("remove the line or run HAProxy for this configuration until Sluice supports it")
            .into());
        }
        _ => {
            if CONDITIONAL.contains(&real) {
                if let Some(c) = conditional(stmt, 1, diags)? {
                    proxy.conditions.push(ConditionUse {
                        keyword: real.to_string(),
                        condition: c,
                    });
                }
            }
            proxy.other.push(stmt.clone());
        }
    }
    Ok(())
}

/// The status code of an `errorfile`/`errorloc` line (word 1): one HAProxy can generate.
fn error_status(stmt: &Statement, keyword: &str) -> Parsed<u16> {
    let status = statement::uint(stmt, 1, 100, 599, "an HTTP status code")? as u16;
    if ERRORFILE_STATUSES.contains(&status) {
        return Ok(status);
    }
    Err(statement::syntax_error(
        stmt,
        1,
        "errorfile-status-unsupported",
        format!("status code '{status}' cannot be customized with '{keyword}'."),
        format!(
            "use one of {}",
            ERRORFILE_STATUSES
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )
    .into())
}

/// `dispatch <address>:<port>`: an IPv4/IPv6 address or a host name, and one port (HAProxy
/// refuses port ranges, offsets and a missing port here).
fn parse_dispatch(stmt: &Statement, text: &str) -> Parsed<crate::address::Address> {
    use crate::address::{Family, Port};
    let bad = |why: &str| -> Failure {
        statement::syntax_error(
            stmt,
            1,
            "dispatch-address-invalid",
            format!("'dispatch' : invalid address '{text}': {why}."),
            "write 'dispatch <ip-or-host>:<port>', e.g. 'dispatch 192.168.0.10:80'",
        )
        .into()
    };
    let address = crate::address::parse(text, crate::address::Use::Server)
        .map_err(|e| bad(e.message.trim_end_matches('.')))?;
    if !matches!(address.family, Family::Inet | Family::Ipv4 | Family::Ipv6) {
        return Err(bad("only IPv4, IPv6 or host names are accepted"));
    }
    if !matches!(address.port, Port::Single(p) if p > 0) {
        return Err(bad("a single non-zero port is required"));
    }
    Ok(address)
}

/// Parses the optional condition of `stmt` found after word `from`.
fn conditional(
    stmt: &Statement,
    from: usize,
    diags: &mut Diagnostics,
) -> Parsed<Option<Condition>> {
    match condition::find(stmt, from) {
        Some(i) => Ok(Some(condition::parse(stmt, i, diags)?)),
        None => Ok(None),
    }
}

/// `stats <sub-keyword> ...` in a proxy.
fn parse_stats(proxy: &mut Proxy, stmt: &Statement, diags: &mut Diagnostics) -> Parsed<()> {
    let sub = statement::arg(stmt, 1, "a sub-keyword ('enable', 'uri', 'auth'...)")?;
    match sub.as_str() {
        "enable" | "hide-version" | "show-legends" | "show-modules" | "disable" => {}
        "uri" | "realm" | "scope" | "show-desc" | "show-node" => {}
        "auth" => {
            let cred = statement::arg(stmt, 2, "<user>:<password>")?;
            if !cred.text.contains(':') {
                return Err(statement::syntax_error(
                    stmt,
                    2,
                    "stats-auth-invalid",
                    "'stats auth' expects <user>:<password>.",
                    "write 'stats auth admin:secret'",
                )
                .into());
            }
        }
        "refresh" => {
            crate::statement::time(stmt, 2, crate::units::TimeUnit::Seconds, diags)?;
        }
        "admin" | "http-request" => {
            if let Some(c) = conditional(stmt, 2, diags)? {
                proxy.conditions.push(ConditionUse {
                    keyword: format!("stats {}", sub.text),
                    condition: c,
                });
            }
        }
        "socket" | "timeout" | "maxconn" | "bind-process" => {
            return Err(statement::syntax_error(
                stmt,
                1,
                "keyword-wrong-section",
                format!("'stats {}' is only allowed in the 'global' section.", sub.text),
                format!("move 'stats {}' to the global section", sub.text),
            )
            .into());
        }
        other => {
            return Err(statement::syntax_error(
                stmt,
                1,
                "keyword-unknown",
                format!("unknown stats parameter '{other}' (expects 'admin', 'auth', 'enable', 'hide-version', 'http-request', 'realm', 'refresh', 'scope', 'show-desc', 'show-legends', 'show-modules', 'show-node' or 'uri')."),
                "check the spelling of the 'stats' sub-keyword",
            )
            .into())
        }
    }
    proxy
        .stats
        .push(Spanned::new(statement::texts(stmt, 1), stmt.location));
    Ok(())
}

/// `cookie <name> [options]`: HAProxy 3.4 refuses a word that is not one of its options.
fn check_cookie_options(stmt: &Statement) -> Parsed<()> {
    const LIST: &str = "'rewrite', 'insert', 'prefix', 'indirect', 'nocache', 'postonly', 'domain', 'maxidle', 'dynamic', 'maxlife' and 'attr'";
    let mut i = 2;
    while let Some(word) = stmt.words.get(i) {
        match word.as_str() {
            "rewrite" | "insert" | "prefix" | "indirect" | "nocache" | "postonly"
            | "preserve" | "httponly" | "secure" | "dynamic" => i += 1,
            "domain" | "maxidle" | "maxlife" | "attr" => i += 2,
            other => {
                return Err(statement::unexpected(
                    stmt,
                    i,
                    format!("'cookie' supports {LIST} options."),
                    format!("remove '{other}': after the cookie name come only the options {LIST}, 'preserve', 'httponly' or 'secure'"),
                ))
            }
        }
    }
    Ok(())
}

/// Which side of a proxy a keyword needs.
enum Needs {
    Frontend,
    Backend,
}

/// Keywords that only make sense on one side of a proxy. Returns whether to go on parsing.
fn allowed(
    proxy: &Proxy,
    keyword: &str,
    stmt: &Statement,
    diags: &mut Diagnostics,
) -> Parsed<bool> {
    let (needs, fatal, in_defaults) = match keyword {
        "bind" => (Needs::Frontend, true, false),
        "use_backend" => (Needs::Frontend, false, false),
        "default_backend" | "monitor-uri" | "capture" => (Needs::Frontend, false, true),
        "server" | "server-template" => (Needs::Backend, true, false),
        "default-server" => (Needs::Backend, true, true),
        "balance" | "cookie" | "use-server" => (Needs::Backend, false, true),
        "dispatch" => (Needs::Backend, false, false),
        _ => return Ok(true),
    };
    if proxy.kind == ProxyKind::Defaults {
        if in_defaults {
            return Ok(true);
        }
        return Err(Diagnostic::error(
            Category::Semantic,
            "keyword-not-in-defaults",
            format!("'{keyword}' not allowed in 'defaults' section."),
        )
        .at(stmt.word_location(0))
        .help(format!(
            "move the '{keyword}' line into a frontend, backend or listen section"
        ))
        .into());
    }
    let (ok, side, place) = match needs {
        Needs::Frontend => (
            proxy.kind.is_frontend(),
            "frontend",
            "a frontend or listen section",
        ),
        Needs::Backend => (
            proxy.kind.is_backend(),
            "backend",
            "a backend or listen section",
        ),
    };
    if ok {
        return Ok(true);
    }
    let message = format!(
        "'{keyword}' {} because {} has no {side} capability.",
        if fatal { "is not allowed" } else { "ignored" },
        proxy.describe()
    );
    let help = format!("move the '{keyword}' line into {place}");
    if fatal {
        return Err(
            Diagnostic::error(Category::Semantic, "keyword-wrong-proxy-kind", message)
                .at(stmt.word_location(0))
                .help(help)
                .into(),
        );
    }
    diags.push(
        Diagnostic::warning(
            Category::Semantic,
            "keyword-ignored-for-proxy-kind",
            message,
        )
        .at(stmt.word_location(0))
        .help(help),
    );
    Ok(false)
}

/// The catalogue's keyword matrix for keywords without a rule in [`allowed`]: HAProxy warns
/// and ignores a keyword used on the wrong side of a proxy (`monitor-uri` in a backend,
/// `option httplog` in a backend). Defaults sections are left out: the matrix cannot tell
/// named from anonymous ones.
fn catalogue_allows(
    proxy: &Proxy,
    keyword: &str,
    stmt: &Statement,
    diags: &mut Diagnostics,
) -> bool {
    if proxy.kind == ProxyKind::Defaults || TYPED.contains(&keyword) && keyword != "option" {
        return true;
    }
    let name = match keyword {
        "option" => {
            let index = if stmt.keyword() == "no" { 2 } else { 1 };
            match stmt.words.get(index) {
                Some(w) => format!("option {}", w.text),
                None => return true,
            }
        }
        _ => keyword.to_string(),
    };
    let known = matches!(
        sluice_config::keywords::lookup(Table::Section(proxy.kind.section()), keyword),
        sluice_config::keywords::Lookup::Known(_)
    );
    if !known || sluice_config::keywords::proxy_keyword_allowed(proxy.kind.section(), &name) {
        return true;
    }
    // Unknown option names are reported by the option parser, not here.
    if keyword == "option"
        && !matches!(
            sluice_config::keywords::lookup(Table::ProxyOption, name.trim_start_matches("option ")),
            sluice_config::keywords::Lookup::Known(_)
        )
    {
        return true;
    }
    diags.push(
        Diagnostic::warning(
            Category::Semantic,
            "keyword-ignored-for-proxy-kind",
            format!(
                "'{name}' ignored in {} : it does not apply to a {}.",
                proxy.describe(),
                proxy.kind.keyword()
            ),
        )
        .at(stmt.word_location(usize::from(stmt.keyword() == "no")))
        .help(format!(
            "remove the line, or move it to a section where '{name}' applies"
        )),
    );
    false
}
