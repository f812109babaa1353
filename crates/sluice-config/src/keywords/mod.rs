//! The catalogue of HAProxy 3.4 keywords and Sluice's support for each.
//!
//! One table per place a keyword can appear (a section, `option`, `timeout`, bind and server
//! options, rule actions, sample fetches, converters). The tables drive "unknown keyword" and
//! "did you mean", the "not supported yet" diagnostics and `docs/compatibility.md`.
//!
//! The tables under `generated/` come from HAProxy's manual through
//! `tools/catalogue/extract.py`; support statuses and removed keywords come from
//! `tools/catalogue/overrides.txt`. Edit the overrides and run the script; never edit the
//! generated files by hand.
//!
//! ```
//! use sluice_config::keywords::{lookup, Lookup, Table};
//! use sluice_config::SectionKind;
//!
//! let Lookup::Unknown { suggestion } = lookup(Table::Section(SectionKind::Global), "chrot") else {
//!     panic!("'chrot' is not a keyword");
//! };
//! assert_eq!(suggestion, Some("chroot"));
//! ```

mod doc;
mod entry;
mod generated;
mod suggest;

use crate::syntax::SectionKind;
use generated::{actions, global, options, proxy, samples, section_removed, sections};

pub use doc::compatibility_markdown;

/// Where a keyword is looked up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Table {
    /// First word of a line in a section (for proxies: any of defaults/frontend/backend/listen).
    Section(crate::syntax::SectionKind),
    /// `stats <name>` in the global section.
    GlobalStats,
    /// `option <name>` in a proxy.
    ProxyOption,
    /// `timeout <name>` in a proxy.
    ProxyTimeout,
    /// `stats <name>` in a proxy.
    ProxyStats,
    /// `http-check <name>` in a proxy or a healthcheck section.
    HttpCheck,
    /// `tcp-check <name>` in a proxy or a healthcheck section.
    TcpCheck,
    /// `tcp-request <name>` in a proxy (`connection`, `session`, `content`, `inspect-delay`).
    TcpRequest,
    /// `tcp-response <name>` in a proxy (`content`, `inspect-delay`).
    TcpResponse,
    /// `capture <name>` in a proxy (`cookie`, `request`, `response`).
    ProxyCapture,
    /// `stick <name>` in a proxy (`on`, `match`, `store-request`, `store-response`).
    ProxyStick,
    /// `email-alert <name>` in a proxy.
    EmailAlert,
    /// `external-check <name>` in a proxy.
    ExternalCheck,
    /// `compression <name>` in a proxy.
    Compression,
    /// `monitor <name>` in a proxy.
    Monitor,
    /// `persist <name>` in a proxy.
    Persist,
    /// `rate-limit <name>` in a proxy.
    RateLimit,
    /// `declare <name>` in a proxy.
    Declare,
    /// Options after the address on a `bind` line.
    BindOption,
    /// Options after the address on a `server`/`default-server` line.
    ServerOption,
    /// `http-request <action>`.
    HttpRequestAction,
    /// `http-response <action>`.
    HttpResponseAction,
    /// `http-after-response <action>`.
    HttpAfterResponseAction,
    /// `tcp-request connection <action>`.
    TcpRequestConnectionAction,
    /// `tcp-request session <action>`.
    TcpRequestSessionAction,
    /// `tcp-request content <action>`.
    TcpRequestContentAction,
    /// `tcp-response content <action>`.
    TcpResponseContentAction,
    /// `quic-initial <action>`.
    QuicInitialAction,
    /// Sample fetch functions (ACL criteria included).
    SampleFetch,
    /// The pre-defined ACLs (`TRUE`, `FALSE`, `HTTP`, `METH_GET`...).
    PredefinedAcl,
    /// Converters.
    Converter,
}

impl Table {
    /// Every table once (the proxy sections share one table, listed as `Section(Defaults)`),
    /// in the order of `docs/compatibility.md`.
    pub const ALL: [Table; 47] = [
        Table::Section(SectionKind::Global),
        Table::GlobalStats,
        Table::Section(SectionKind::Defaults),
        Table::ProxyOption,
        Table::ProxyTimeout,
        Table::ProxyStats,
        Table::HttpCheck,
        Table::TcpCheck,
        Table::TcpRequest,
        Table::TcpResponse,
        Table::ProxyCapture,
        Table::ProxyStick,
        Table::EmailAlert,
        Table::ExternalCheck,
        Table::Compression,
        Table::Monitor,
        Table::Persist,
        Table::RateLimit,
        Table::Declare,
        Table::BindOption,
        Table::ServerOption,
        Table::HttpRequestAction,
        Table::HttpResponseAction,
        Table::HttpAfterResponseAction,
        Table::TcpRequestConnectionAction,
        Table::TcpRequestSessionAction,
        Table::TcpRequestContentAction,
        Table::TcpResponseContentAction,
        Table::QuicInitialAction,
        Table::SampleFetch,
        Table::PredefinedAcl,
        Table::Converter,
        Table::Section(SectionKind::Peers),
        Table::Section(SectionKind::Resolvers),
        Table::Section(SectionKind::Userlist),
        Table::Section(SectionKind::Mailers),
        Table::Section(SectionKind::HttpErrors),
        Table::Section(SectionKind::Ring),
        Table::Section(SectionKind::LogForward),
        Table::Section(SectionKind::LogProfile),
        Table::Section(SectionKind::Cache),
        Table::Section(SectionKind::FcgiApp),
        Table::Section(SectionKind::CrtStore),
        Table::Section(SectionKind::Traces),
        Table::Section(SectionKind::Acme),
        Table::Section(SectionKind::Healthcheck),
        Table::Section(SectionKind::NamespaceList),
    ];

    /// How a user would name the place, e.g. `'option' in proxies` or `bind options`.
    pub fn describe(self) -> String {
        match self {
            Table::Section(kind) if kind.is_proxy() => "proxy sections".to_string(),
            Table::Section(kind) => format!("'{kind}' section"),
            Table::GlobalStats => "'stats' in the global section".to_string(),
            Table::BindOption => "bind options".to_string(),
            Table::ServerOption => "server options".to_string(),
            Table::SampleFetch => "sample fetches".to_string(),
            Table::PredefinedAcl => "pre-defined ACLs".to_string(),
            Table::Converter => "converters".to_string(),
            _ => match self.prefix() {
                Some(prefix) if self.is_action() => format!("'{prefix}' actions"),
                Some(prefix) => format!("'{prefix}' in proxies"),
                None => String::new(),
            },
        }
    }

    /// The words written before a keyword of this table (`option`, `http-request`,
    /// `tcp-request content`...), for tables reached through another keyword.
    pub fn prefix(self) -> Option<&'static str> {
        Some(match self {
            Table::GlobalStats | Table::ProxyStats => "stats",
            Table::ProxyOption => "option",
            Table::ProxyTimeout => "timeout",
            Table::HttpCheck => "http-check",
            Table::TcpCheck => "tcp-check",
            Table::TcpRequest => "tcp-request",
            Table::TcpResponse => "tcp-response",
            Table::ProxyCapture => "capture",
            Table::ProxyStick => "stick",
            Table::EmailAlert => "email-alert",
            Table::ExternalCheck => "external-check",
            Table::Compression => "compression",
            Table::Monitor => "monitor",
            Table::Persist => "persist",
            Table::RateLimit => "rate-limit",
            Table::Declare => "declare",
            Table::HttpRequestAction => "http-request",
            Table::HttpResponseAction => "http-response",
            Table::HttpAfterResponseAction => "http-after-response",
            Table::TcpRequestConnectionAction => "tcp-request connection",
            Table::TcpRequestSessionAction => "tcp-request session",
            Table::TcpRequestContentAction => "tcp-request content",
            Table::TcpResponseContentAction => "tcp-response content",
            Table::QuicInitialAction => "quic-initial",
            Table::Section(_)
            | Table::BindOption
            | Table::ServerOption
            | Table::SampleFetch
            | Table::PredefinedAcl
            | Table::Converter => return None,
        })
    }

    /// Tables of rule actions.
    pub fn is_action(self) -> bool {
        matches!(
            self,
            Table::HttpRequestAction
                | Table::HttpResponseAction
                | Table::HttpAfterResponseAction
                | Table::TcpRequestConnectionAction
                | Table::TcpRequestSessionAction
                | Table::TcpRequestContentAction
                | Table::TcpResponseContentAction
                | Table::QuicInitialAction
        )
    }

    /// The action table of a rule keyword: `http-request`, or `tcp-request` + `content`...
    pub fn for_rule(keyword: &str, second: Option<&str>) -> Option<Table> {
        Some(match (keyword, second) {
            ("http-request", _) => Table::HttpRequestAction,
            ("http-response", _) => Table::HttpResponseAction,
            ("http-after-response", _) => Table::HttpAfterResponseAction,
            ("quic-initial", _) => Table::QuicInitialAction,
            ("tcp-request", Some("connection")) => Table::TcpRequestConnectionAction,
            ("tcp-request", Some("session")) => Table::TcpRequestSessionAction,
            ("tcp-request", Some("content")) => Table::TcpRequestContentAction,
            ("tcp-response", Some("content")) => Table::TcpResponseContentAction,
            _ => return None,
        })
    }

    /// The keywords of the table, sorted by name.
    pub fn keywords(self) -> &'static [Keyword] {
        match self {
            Table::Section(kind) => match kind {
                SectionKind::Global => global::GLOBAL,
                SectionKind::Defaults
                | SectionKind::Frontend
                | SectionKind::Backend
                | SectionKind::Listen => proxy::PROXY,
                SectionKind::Peers => sections::PEERS,
                SectionKind::Resolvers => sections::RESOLVERS,
                SectionKind::Userlist => sections::USERLIST,
                SectionKind::Mailers => sections::MAILERS,
                SectionKind::HttpErrors => sections::HTTP_ERRORS,
                SectionKind::Ring => sections::RING,
                SectionKind::LogForward => sections::LOG_FORWARD,
                SectionKind::LogProfile => sections::LOG_PROFILE,
                SectionKind::Cache => sections::CACHE,
                SectionKind::FcgiApp => sections::FCGI_APP,
                SectionKind::CrtStore => sections::CRT_STORE,
                SectionKind::Traces => sections::TRACES,
                SectionKind::Acme => sections::ACME,
                SectionKind::Healthcheck => sections::HEALTHCHECK,
                SectionKind::NamespaceList => sections::NAMESPACE_LIST,
            },
            Table::GlobalStats => global::GLOBAL_STATS,
            Table::ProxyOption => proxy::OPTION,
            Table::ProxyTimeout => proxy::TIMEOUT,
            Table::ProxyStats => proxy::PROXY_STATS,
            Table::HttpCheck => proxy::HTTP_CHECK,
            Table::TcpCheck => proxy::TCP_CHECK,
            Table::TcpRequest => proxy::TCP_REQUEST,
            Table::TcpResponse => proxy::TCP_RESPONSE,
            Table::ProxyCapture => proxy::CAPTURE,
            Table::ProxyStick => proxy::STICK,
            Table::EmailAlert => proxy::EMAIL_ALERT,
            Table::ExternalCheck => proxy::EXTERNAL_CHECK,
            Table::Compression => proxy::COMPRESSION,
            Table::Monitor => proxy::MONITOR,
            Table::Persist => proxy::PERSIST,
            Table::RateLimit => proxy::RATE_LIMIT,
            Table::Declare => proxy::DECLARE,
            Table::BindOption => options::BIND,
            Table::ServerOption => options::SERVER,
            Table::HttpRequestAction => actions::HTTP_REQUEST,
            Table::HttpResponseAction => actions::HTTP_RESPONSE,
            Table::HttpAfterResponseAction => actions::HTTP_AFTER_RESPONSE,
            Table::TcpRequestConnectionAction => actions::TCP_REQUEST_CONNECTION,
            Table::TcpRequestSessionAction => actions::TCP_REQUEST_SESSION,
            Table::TcpRequestContentAction => actions::TCP_REQUEST_CONTENT,
            Table::TcpResponseContentAction => actions::TCP_RESPONSE_CONTENT,
            Table::QuicInitialAction => actions::QUIC_INITIAL,
            Table::SampleFetch => samples::FETCH,
            Table::PredefinedAcl => samples::PREDEFINED_ACL,
            Table::Converter => samples::CONVERTER,
        }
    }

    /// The keywords HAProxy removed from this table, sorted by name.
    pub fn removed(self) -> &'static [Removed] {
        match self {
            Table::Section(kind) => match kind {
                SectionKind::Global => global::GLOBAL_REMOVED,
                SectionKind::Defaults
                | SectionKind::Frontend
                | SectionKind::Backend
                | SectionKind::Listen => proxy::PROXY_REMOVED,
                SectionKind::Peers => sections::PEERS_REMOVED,
                SectionKind::Resolvers => sections::RESOLVERS_REMOVED,
                SectionKind::Userlist => sections::USERLIST_REMOVED,
                SectionKind::Mailers => sections::MAILERS_REMOVED,
                SectionKind::HttpErrors => sections::HTTP_ERRORS_REMOVED,
                SectionKind::Ring => sections::RING_REMOVED,
                SectionKind::LogForward => sections::LOG_FORWARD_REMOVED,
                SectionKind::LogProfile => sections::LOG_PROFILE_REMOVED,
                SectionKind::Cache => sections::CACHE_REMOVED,
                SectionKind::FcgiApp => sections::FCGI_APP_REMOVED,
                SectionKind::CrtStore => sections::CRT_STORE_REMOVED,
                SectionKind::Traces => sections::TRACES_REMOVED,
                SectionKind::Acme => sections::ACME_REMOVED,
                SectionKind::Healthcheck => sections::HEALTHCHECK_REMOVED,
                SectionKind::NamespaceList => sections::NAMESPACE_LIST_REMOVED,
            },
            Table::GlobalStats => global::GLOBAL_STATS_REMOVED,
            Table::ProxyOption => proxy::OPTION_REMOVED,
            Table::ProxyTimeout => proxy::TIMEOUT_REMOVED,
            Table::ProxyStats => proxy::PROXY_STATS_REMOVED,
            Table::HttpCheck => proxy::HTTP_CHECK_REMOVED,
            Table::TcpCheck => proxy::TCP_CHECK_REMOVED,
            Table::TcpRequest => proxy::TCP_REQUEST_REMOVED,
            Table::TcpResponse => proxy::TCP_RESPONSE_REMOVED,
            Table::ProxyCapture => proxy::CAPTURE_REMOVED,
            Table::ProxyStick => proxy::STICK_REMOVED,
            Table::EmailAlert => proxy::EMAIL_ALERT_REMOVED,
            Table::ExternalCheck => proxy::EXTERNAL_CHECK_REMOVED,
            Table::Compression => proxy::COMPRESSION_REMOVED,
            Table::Monitor => proxy::MONITOR_REMOVED,
            Table::Persist => proxy::PERSIST_REMOVED,
            Table::RateLimit => proxy::RATE_LIMIT_REMOVED,
            Table::Declare => proxy::DECLARE_REMOVED,
            Table::BindOption => options::BIND_REMOVED,
            Table::ServerOption => options::SERVER_REMOVED,
            Table::HttpRequestAction => actions::HTTP_REQUEST_REMOVED,
            Table::HttpResponseAction => actions::HTTP_RESPONSE_REMOVED,
            Table::HttpAfterResponseAction => actions::HTTP_AFTER_RESPONSE_REMOVED,
            Table::TcpRequestConnectionAction => actions::TCP_REQUEST_CONNECTION_REMOVED,
            Table::TcpRequestSessionAction => actions::TCP_REQUEST_SESSION_REMOVED,
            Table::TcpRequestContentAction => actions::TCP_REQUEST_CONTENT_REMOVED,
            Table::TcpResponseContentAction => actions::TCP_RESPONSE_CONTENT_REMOVED,
            Table::QuicInitialAction => actions::QUIC_INITIAL_REMOVED,
            Table::SampleFetch => samples::FETCH_REMOVED,
            Table::PredefinedAcl => samples::PREDEFINED_ACL_REMOVED,
            Table::Converter => samples::CONVERTER_REMOVED,
        }
    }
}

/// What Sluice does with a keyword HAProxy 3.4 knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    /// Parsed into the typed model and honoured by Sluice.
    Supported,
    /// Accepted; running would ignore it (a warning says so). The text says what is lost.
    Ignored(&'static str),
    /// Running would refuse it (an error says so). The text says why.
    Refused(&'static str),
}

/// The proxy sections that accept a keyword (HAProxy's keyword matrix, section 4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sections(u8);

impl Sections {
    const DEFAULTS: u8 = 1;
    const FRONTEND: u8 = 2;
    const LISTEN: u8 = 4;
    const BACKEND: u8 = 8;
    /// In defaults, only named ones (`(!)` in the matrix): rules and ACLs.
    const NAMED_DEFAULTS_ONLY: u8 = 16;

    /// Whether a section of this kind accepts the keyword. Non-proxy sections always do: their
    /// tables hold only their own keywords.
    pub fn allows(self, kind: SectionKind) -> bool {
        let bit = match kind {
            SectionKind::Defaults => Self::DEFAULTS,
            SectionKind::Frontend => Self::FRONTEND,
            SectionKind::Listen => Self::LISTEN,
            SectionKind::Backend => Self::BACKEND,
            _ => return true,
        };
        self.0 & bit != 0
    }

    /// Only named defaults sections accept the keyword (anonymous ones do not).
    pub fn named_defaults_only(self) -> bool {
        self.0 & Self::NAMED_DEFAULTS_ONLY != 0
    }

    /// The accepting proxy sections, e.g. `defaults, listen, backend`.
    pub fn describe(self) -> String {
        [
            (SectionKind::Defaults, "defaults"),
            (SectionKind::Frontend, "frontend"),
            (SectionKind::Listen, "listen"),
            (SectionKind::Backend, "backend"),
        ]
        .iter()
        .filter(|(kind, _)| self.allows(*kind))
        .map(|(_, name)| *name)
        .collect::<Vec<_>>()
        .join(", ")
    }
}

/// One keyword HAProxy 3.4 knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keyword {
    pub name: &'static str,
    /// The forms the manual gives, each a whole line (`balance url_param <param> [check_post]`).
    pub synopsis: &'static [&'static str],
    pub support: Support,
    /// Proxy sections that accept it (all, outside proxies).
    pub sections: Sections,
    /// The manual calls it deprecated.
    pub deprecated: bool,
    /// The manual calls it experimental.
    pub experimental: bool,
    /// Accepts the `no` prefix (and `default`).
    pub negatable: bool,
    /// A sample fetch usable only as an ACL criterion (`path_beg`, `hdr_dom`...).
    pub acl_only: bool,
    /// The table of the word that follows it, when that word selects the meaning
    /// (`option` → [`Table::ProxyOption`]).
    pub sub: Option<Table>,
}

/// A keyword HAProxy used to know and now rejects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Removed {
    pub name: &'static str,
    /// HAProxy version that removed it, e.g. `2.1`.
    pub since: &'static str,
    /// What to write instead, as a tool could apply it (may be empty: just remove the line).
    pub replacement: &'static str,
    /// One line explaining the change.
    pub help: &'static str,
}

/// The answer of a lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    Known(&'static Keyword),
    Removed(&'static Removed),
    /// Not a keyword of this table; the closest valid spelling when one is close enough.
    Unknown {
        suggestion: Option<&'static str>,
    },
}

/// Actions, fetches and converters a Lua script registers (`lua.<name>`).
static LUA: Keyword = entry::entry(
    "lua.<name>",
    &[],
    Support::Refused("Lua scripting is not available"),
    Sections(0b01111),
    0,
    None,
);

/// Looks `name` up in `table`.
///
/// `name` is the word as written: arguments in parentheses (`set-var(txn.x)`, `hdr(host)`)
/// are ignored. Callers strip a leading `no`/`default` first (see [`Keyword::negatable`]).
/// Stick counter numbers above 2 (`track-sc5`, `sc5_conn_cur`, allowed by
/// `tune.stick-counters`) resolve to the entry of counter 0.
pub fn lookup(table: Table, name: &str) -> Lookup {
    let name = name.split('(').next().unwrap_or(name);
    if let Some(keyword) = find(table.keywords(), name) {
        return Lookup::Known(keyword);
    }
    if let Some(removed) = find_removed(table.removed(), name) {
        return Lookup::Removed(removed);
    }
    let lua_table = table.is_action() || matches!(table, Table::SampleFetch | Table::Converter);
    if lua_table && name.starts_with("lua.") && name.len() > 4 {
        return Lookup::Known(&LUA);
    }
    if let Some(counter0) = stick_counter_zero(table, name) {
        if let Some(keyword) = find(table.keywords(), &counter0) {
            return Lookup::Known(keyword);
        }
    }
    Lookup::Unknown {
        suggestion: suggest::closest(table.keywords(), name),
    }
}

/// Whether the proxy section `kind` accepts `keyword`, which may be two words for keywords
/// whose second word selects the meaning (`"stats admin"`, `"option httplog"`). Unknown
/// keywords and non-proxy sections answer `false`; so does `defaults` for keywords allowed
/// only in named defaults (see [`Sections::named_defaults_only`]) — check that separately.
pub fn proxy_keyword_allowed(kind: SectionKind, keyword: &str) -> bool {
    if !kind.is_proxy() {
        return false;
    }
    let mut words = keyword.split_whitespace();
    let Some(first) = words.next() else {
        return false;
    };
    let Lookup::Known(top) = lookup(Table::Section(kind), first) else {
        return false;
    };
    let entry = match (top.sub, words.next()) {
        (Some(sub), Some(second)) => match lookup(sub, second) {
            Lookup::Known(entry) => entry,
            _ => return false,
        },
        _ => top,
    };
    entry.sections.allows(kind)
        && !(kind == SectionKind::Defaults && entry.sections.named_defaults_only())
}

/// A section keyword HAProxy removed (`program`, removed in 3.3).
pub fn removed_section(name: &str) -> Option<&'static Removed> {
    find_removed(section_removed::SECTION_REMOVED, name)
}

fn find(keywords: &'static [Keyword], name: &str) -> Option<&'static Keyword> {
    keywords
        .binary_search_by(|k| k.name.cmp(name))
        .ok()
        .and_then(|i| keywords.get(i))
}

fn find_removed(removed: &'static [Removed], name: &str) -> Option<&'static Removed> {
    removed
        .binary_search_by(|r| r.name.cmp(name))
        .ok()
        .and_then(|i| removed.get(i))
}

/// `track-sc7` → `track-sc0`, `sc7_conn_cur` → `sc0_conn_cur`.
fn stick_counter_zero(table: Table, name: &str) -> Option<String> {
    let (prefix, rest) = if table.is_action() {
        ("track-sc", name.strip_prefix("track-sc")?)
    } else if table == Table::SampleFetch {
        ("sc", name.strip_prefix("sc")?)
    } else {
        return None;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let tail = rest.get(digits..)?;
    Some(format!("{prefix}0{tail}"))
}
