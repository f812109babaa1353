//! The catalogue of HAProxy 3.4 keywords and Sluice's support for each.
//!
//! One table per place a keyword can appear (a section, `option`, `timeout`, bind and server
//! options, rule actions, sample fetches, converters). The tables drive "unknown keyword" and
//! "did you mean", the "not supported yet" diagnostics and `docs/compatibility.md`.

/// Where a keyword is looked up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Table {
    /// First word of a line in a section (for proxies: any of defaults/frontend/backend/listen).
    Section(crate::syntax::SectionKind),
    /// `option <name>` in a proxy.
    ProxyOption,
    /// `timeout <name>` in a proxy.
    ProxyTimeout,
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
    /// Sample fetch functions (ACL criteria included).
    SampleFetch,
    /// Converters.
    Converter,
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

/// One keyword HAProxy 3.4 knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keyword {
    pub name: &'static str,
    pub support: Support,
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
    Unknown { suggestion: Option<&'static str> },
}

/// Looks `name` up in `table`.
pub fn lookup(table: Table, name: &str) -> Lookup {
    let _ = (table, name);
    Lookup::Unknown { suggestion: None }
}
