//! `bind <address>[,<address>...] [options]` in frontends and listen sections, and the
//! bind options of the global `stats socket` line.

use crate::address::{self, Address, Use};
use crate::catalogue::{self, Admission, Place};
use crate::spanned::Spanned;
use crate::statement::{self, Failure, Parsed};
use sluice_config::keywords::Table;
use sluice_config::{Category, Diagnostic, Diagnostics, Location, Statement};

/// Bind options that take no value (manual section 5.1).
const FLAGS: &[&str] = &[
    "accept-proxy",
    "allow-0rtt",
    "defer-accept",
    "force-sslv3",
    "force-tlsv10",
    "force-tlsv11",
    "force-tlsv12",
    "force-tlsv13",
    "freebind",
    "generate-certificates",
    "no-alpn",
    "no-ca-names",
    "no-sslv3",
    "no-strict-sni",
    "no-tls-tickets",
    "no-tlsv10",
    "no-tlsv11",
    "no-tlsv12",
    "no-tlsv13",
    "prefer-client-ciphers",
    "quic-force-retry",
    "ssl",
    "strict-sni",
    "tfo",
    "tls-tickets",
    "transparent",
    "v4v6",
    "v6only",
];

/// Bind options that take one value.
const WITH_VALUE: &[&str] = &[
    "accept-netscaler-cip",
    "alpn",
    "backlog",
    "ca-file",
    "ca-ignore-err",
    "ca-sign-file",
    "ca-sign-pass",
    "ca-verify-file",
    "cc",
    "ciphers",
    "ciphersuites",
    "client-sigalgs",
    "crl-file",
    "crt",
    "crt-ignore-err",
    "crt-list",
    "curves",
    "default-crt",
    "ecdhe",
    "ech",
    "expose-fd",
    "gid",
    "group",
    "guid-prefix",
    "id",
    "idle-ping",
    "interface",
    "ktls",
    "label",
    "level",
    "maxconn",
    "mode",
    "mss",
    "name",
    "namespace",
    "nbconn",
    "nice",
    "npn",
    "proto",
    "quic-cc-algo",
    "quic-socket",
    "severity-output",
    "shards",
    "sigalgs",
    "ssl-max-ver",
    "ssl-min-ver",
    "tcp-md5sig",
    "tcp-ss",
    "tcp-ut",
    "thread",
    "tls-ticket-keys",
    "uid",
    "user",
    "verify",
];

/// Longest UNIX socket path HAProxy accepts (sun_path minus room for its temporary suffix).
pub const MAX_UNIX_PATH: usize = 97;

/// One `bind` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bind {
    pub addresses: Vec<Address>,
    pub options: BindOptions,
    pub location: Location,
}

/// The options of a `bind` line that Sluice reads; the others are kept in `other`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BindOptions {
    pub ssl: bool,
    pub crt: Vec<Spanned<String>>,
    pub crt_list: Vec<Spanned<String>>,
    pub ca_file: Option<Spanned<String>>,
    pub crl_file: Option<Spanned<String>>,
    pub accept_proxy: bool,
    /// `accept-netscaler-cip <magic>`: connections start with a NetScaler CIP header.
    pub accept_netscaler_cip: Option<u32>,
    pub transparent: bool,
    /// `freebind`: the address may be bound before it exists on this host (IP_FREEBIND).
    pub freebind: bool,
    pub v4v6: bool,
    pub v6only: bool,
    pub maxconn: Option<u64>,
    pub name: Option<String>,
    pub mode: Option<String>,
    pub user: Option<Spanned<String>>,
    pub group: Option<Spanned<String>>,
    pub uid: Option<u64>,
    pub gid: Option<u64>,
    pub level: Option<String>,
    pub interface: Option<String>,
    pub namespace: Option<String>,
    pub alpn: Option<String>,
    /// `proto h1|h2`: the protocol spoken from the first byte (HTTP frontends).
    pub proto: Option<Spanned<String>>,
    /// Other options as written: name, value, location.
    pub other: Vec<(String, Option<String>, Location)>,
}

/// Parses a `bind` statement (`words[0]` is `bind`).
pub fn parse(stmt: &Statement, diags: &mut Diagnostics) -> Parsed<Bind> {
    let word = stmt.words.get(1).ok_or_else(|| {
        Failure::from(
            Diagnostic::error(
                Category::Syntax,
                "bind-address-missing",
                "'bind' expects {<path>|[addr1]:port1[-end1]}{,[addr]:port[-end]}... as arguments.",
            )
            .at(stmt.location)
            .help("write the address to listen on, e.g. 'bind :80' or 'bind 127.0.0.1:8080'"),
        )
    })?;
    let addresses = address::parse_list(&word.text, Use::Listen).map_err(|e| {
        Failure::from(
            Diagnostic::error(
                Category::Syntax,
                "address-invalid",
                format!("'bind' : {}", e.message),
            )
            .at(stmt.word_location(1))
            .help(e.help),
        )
    })?;
    for addr in &addresses {
        check_unix_path(addr, stmt, 1)?;
        if addr.family == address::Family::Quic {
            return Err(Diagnostic::error(
                Category::Compatibility,
                "not-implemented-refused",
                format!(
                    "QUIC listeners ('{}') are not implemented by Sluice yet",
                    addr.text
                ),
            )
            .at(stmt.word_location(1))
            .help("serve HTTP/3 with HAProxy, or remove this 'bind' line and keep the TCP listener")
            .into());
        }
    }
    let options = parse_options(stmt, 2, "bind", diags)?;
    Ok(Bind {
        addresses,
        options,
        location: stmt.location,
    })
}

/// Reports a UNIX socket path longer than the kernel allows.
pub fn check_unix_path(addr: &Address, stmt: &Statement, index: usize) -> Parsed<()> {
    if let Some(path) = addr.unix_path() {
        if path.len() > MAX_UNIX_PATH {
            return Err(Diagnostic::error(
                Category::Semantic,
                "unix-path-too-long",
                format!(
                    "socket path '{path}' is too long ({} bytes, the maximum is {MAX_UNIX_PATH})",
                    path.len()
                ),
            )
            .at(stmt.word_location(index))
            .help("use a shorter path, e.g. under /run or /var/run")
            .into());
        }
    }
    Ok(())
}

/// Parses bind options from word `start` on. `context` names the line for messages.
pub fn parse_options(
    stmt: &Statement,
    start: usize,
    context: &str,
    diags: &mut Diagnostics,
) -> Parsed<BindOptions> {
    let mut options = BindOptions::default();
    let place = Place {
        table: Table::BindOption,
        context,
    };
    let mut index = start;
    while let Some(word) = stmt.words.get(index) {
        let name = word.text.as_str();
        let location = stmt.word_location(index);
        let flag = FLAGS.contains(&name);
        let valued = WITH_VALUE.contains(&name);
        if catalogue::admit(&place, name, flag || valued, location, diags) == Admission::Reject {
            return Err(Failure::Reported);
        }
        if flag || !valued && next_is_option(stmt, index + 1) {
            match name {
                "ssl" => options.ssl = true,
                "accept-proxy" => options.accept_proxy = true,
                "transparent" => options.transparent = true,
                "freebind" => options.freebind = true,
                "v4v6" => options.v4v6 = true,
                "v6only" => options.v6only = true,
                _ => options.other.push((name.to_string(), None, location)),
            }
            index += 1;
            continue;
        }
        let value = statement::arg(stmt, index + 1, "a value")?;
        let v = value.text.clone();
        let spanned = Spanned::new(v.clone(), stmt.word_location(index + 1));
        match name {
            "crt" => options.crt.push(spanned),
            "crt-list" => options.crt_list.push(spanned),
            "ca-file" => options.ca_file = Some(spanned),
            "crl-file" => options.crl_file = Some(spanned),
            "accept-netscaler-cip" => {
                options.accept_netscaler_cip = Some(statement::uint(
                    stmt,
                    index + 1,
                    1,
                    u64::from(u32::MAX),
                    "accept-netscaler-cip (the magic number)",
                )? as u32)
            }
            "maxconn" => {
                options.maxconn = Some(statement::uint(
                    stmt,
                    index + 1,
                    0,
                    i32::MAX as u64,
                    "maxconn",
                )?)
            }
            "uid" => {
                options.uid = Some(statement::uint(stmt, index + 1, 0, u32::MAX as u64, "uid")?)
            }
            "gid" => {
                options.gid = Some(statement::uint(stmt, index + 1, 0, u32::MAX as u64, "gid")?)
            }
            "name" => options.name = Some(v),
            "mode" => options.mode = Some(v),
            "user" => options.user = Some(spanned),
            "group" => options.group = Some(spanned),
            "level" => {
                if !matches!(v.as_str(), "user" | "operator" | "admin") {
                    return Err(statement::syntax_error(
                        stmt,
                        index + 1,
                        "value-invalid",
                        format!(
                            "'level' only supports 'user', 'operator', and 'admin' (got '{v}')."
                        ),
                        "write 'level user', 'level operator' or 'level admin'",
                    )
                    .into());
                }
                options.level = Some(v)
            }
            "interface" => options.interface = Some(v),
            "namespace" => options.namespace = Some(v),
            "alpn" => options.alpn = Some(v),
            "proto" => {
                // The multiplexers HAProxy offers on bind lines that Sluice has (`none`: a
                // raw TCP stream that never becomes HTTP).
                if !matches!(v.as_str(), "h1" | "h2" | "none") {
                    return Err(statement::syntax_error(
                        stmt,
                        index + 1,
                        "value-invalid",
                        format!(
                            "'proto' : MUX protocol '{v}' is not available for bind lines (Sluice serves 'h1', 'h2' and 'none')."
                        ),
                        "write 'proto h2' for HTTP/2 from the first byte, 'proto h1' for HTTP/1.1, or remove the option",
                    )
                    .into());
                }
                options.proto = Some(spanned)
            }
            _ => options.other.push((name.to_string(), Some(v), location)),
        }
        index += 2;
    }
    Ok(options)
}

/// For an option whose arity we do not know: is the next word another option (or nothing)?
fn next_is_option(stmt: &Statement, index: usize) -> bool {
    match stmt.words.get(index) {
        None => true,
        Some(w) => FLAGS.contains(&w.as_str()) || WITH_VALUE.contains(&w.as_str()),
    }
}
