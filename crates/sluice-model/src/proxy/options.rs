//! `option <name> [args]` and `no option <name>`.

use crate::catalogue::{self, Admission, Place};
use crate::statement::{self, Failure, Parsed};
use sluice_config::keywords::Table;
use sluice_config::{Category, Diagnostic, Diagnostics, Location, Statement};

/// One option line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyOption {
    pub name: String,
    /// Written `no option <name>`.
    pub negated: bool,
    pub args: Vec<String>,
    pub location: Location,
}

/// The options that choose a proxy's health-check type (`option httpchk`...); the last one
/// written wins, as in HAProxy.
pub const CHECK_TYPES: &[&str] = &[
    "httpchk",
    "tcp-check",
    "ssl-hello-chk",
    "smtpchk",
    "mysql-check",
    "pgsql-check",
    "redis-check",
    "ldap-check",
    "spop-check",
    "external-check",
];

/// Options Sluice reads (with or without arguments).
const TYPED: &[&str] = &[
    "abortonclose",
    "allbackups",
    "checkcache",
    "clitcpka",
    "contstats",
    "dontlog-normal",
    "dontlognull",
    "forwarded",
    "forwardfor",
    "http-buffer-request",
    "http-restrict-req-hdr-names",
    "http-keep-alive",
    "http-no-delay",
    "http-pretend-keepalive",
    "http-server-close",
    "httpchk",
    "httpclose",
    "httplog",
    "independent-streams",
    "ldap-check",
    "log-health-checks",
    "log-separate-errors",
    "logasap",
    "mysql-check",
    "nolinger",
    "originalto",
    "persist",
    "pgsql-check",
    "prefer-last-server",
    "redis-check",
    "redispatch",
    "smtpchk",
    "socket-stats",
    "splice-auto",
    "splice-request",
    "splice-response",
    "srvtcpka",
    "ssl-hello-chk",
    "tcp-check",
    "tcp-smart-accept",
    "tcp-smart-connect",
    "tcpka",
    "tcplog",
    "transparent",
    "http-ignore-probes",
    "http-use-proxy-header",
    "external-check",
    "log-health-checks",
    "httpslog",
];

/// Parses `option ...` or `no option ...`.
pub fn parse(stmt: &Statement, diags: &mut Diagnostics) -> Parsed<ProxyOption> {
    let negated = stmt.keyword() == "no";
    // `no option x` and `default option x` (back to the built-in value) name it one word later.
    let prefixed = negated || stmt.keyword() == "default";
    let name_index = if prefixed { 2 } else { 1 };
    let name = statement::arg(stmt, name_index, "an option name")?;
    let place = Place {
        table: Table::ProxyOption,
        context: "option",
    };
    let typed = TYPED.contains(&name.as_str());
    if catalogue::admit(
        &place,
        &name.text,
        typed,
        stmt.word_location(name_index),
        diags,
    ) == Admission::Reject
    {
        return Err(Failure::Reported);
    }
    if prefixed && !negatable(&name.text) {
        return Err(statement::syntax_error(
            stmt,
            0,
            "option-not-negatable",
            format!(
                "negation/default is not supported for option '{}'.",
                name.text
            ),
            format!(
                "remove '{}': 'option {}' has no '{}' form; to turn it off, remove the line \
                 (or, in a proxy inheriting it, use a 'defaults' section without it)",
                stmt.keyword(),
                name.text,
                stmt.keyword()
            ),
        )
        .into());
    }
    check_arguments(stmt, name_index, negated)?;
    let args = statement::texts(stmt, name_index + 1);
    if name.text == "httpchk" && !negated {
        check_httpchk(stmt, name_index, &args)?;
    }
    Ok(ProxyOption {
        name: name.text.clone(),
        negated,
        args,
        location: stmt.location,
    })
}

/// Options that only set a flag: HAProxy 3.4 refuses any argument after them, with or
/// without `no` (`too_many_args_idx(0, 1)`).
const FLAGS: &[&str] = &[
    "abortonclose",
    "allbackups",
    "checkcache",
    "clitcpka",
    "contstats",
    "dontlog-normal",
    "dontlognull",
    "http-buffer-request",
    "http-ignore-probes",
    "http-keep-alive",
    "http-no-delay",
    "http-pretend-keepalive",
    "http-server-close",
    "http-use-proxy-header",
    "httpclose",
    "independent-streams",
    "log-health-checks",
    "log-separate-errors",
    "logasap",
    "nolinger",
    "persist",
    "prefer-last-server",
    "socket-stats",
    "splice-auto",
    "splice-request",
    "splice-response",
    "srvtcpka",
    "tcp-smart-accept",
    "tcp-smart-connect",
    "transparent",
];

/// Options that take no argument and cannot be negated (the negation is HAProxy's own error).
const NO_ARGUMENT: &[&str] = &[
    "external-check",
    "ldap-check",
    "redis-check",
    "ssl-hello-chk",
    "tcp-check",
    "tcpka",
];

/// HAProxy 3.4's argument checks of the options the model reads. `httpslog`, `redispatch`
/// and `httpchk` (checked below) accept more words than they use, as HAProxy does.
fn check_arguments(stmt: &Statement, name_index: usize, negated: bool) -> Parsed<()> {
    let Some(name) = stmt.words.get(name_index).map(|w| w.as_str()) else {
        return Ok(());
    };
    let first = name_index + 1;
    let word = |i: usize| stmt.words.get(i).map(|w| w.as_str());
    let invalid = |i: usize, message: String, help: &str| -> Failure {
        statement::unexpected(stmt, i, message, help)
    };
    if FLAGS.contains(&name) || NO_ARGUMENT.contains(&name) && !negated {
        return statement::no_extra(stmt, name_index);
    }
    if negated {
        return Ok(());
    }
    match name {
        "httplog" | "tcplog" => {
            if let Some(w) = word(first) {
                if w != "clf" {
                    return Err(invalid(
                        first,
                        format!("keyword '{name}' only supports option 'clf'."),
                        &format!("remove '{w}': write 'option {name}' or 'option {name} clf'"),
                    ));
                }
            }
            statement::no_extra(stmt, first)
        }
        "forwardfor" | "originalto" => {
            let (allowed, list) = if name == "forwardfor" {
                (
                    &["except", "header", "if-none"][..],
                    "'except', 'header' and 'if-none'",
                )
            } else {
                (&["except", "header"][..], "'except' and 'header'")
            };
            let mut i = first;
            while let Some(w) = word(i) {
                if !allowed.contains(&w) {
                    return Err(invalid(
                        i,
                        format!("'option {name}' only supports optional values: {list}."),
                        &format!("remove '{w}': 'option {name}' takes only {list}"),
                    ));
                }
                i += if w == "if-none" { 1 } else { 2 };
            }
            Ok(())
        }
        "mysql-check" | "pgsql-check" => {
            match word(first) {
                None if name == "mysql-check" => return Ok(()),
                Some("user") => {}
                Some(w) if name == "mysql-check" => {
                    return Err(invalid(
                        first,
                        format!(
                        "'option mysql-check' only supports optional values: 'user' (got '{w}')."
                    ),
                        &format!("remove '{w}': write 'option mysql-check user <username>'"),
                    ))
                }
                _ => {
                    return Err(invalid(
                        first,
                        "'option pgsql-check' expects 'user <username>' as argument.".into(),
                        "write 'option pgsql-check user <username>'",
                    ))
                }
            }
            if name == "mysql-check" {
                if let Some(w) = word(first + 2) {
                    if !matches!(w, "post-41" | "pre-41" | "post-80") {
                        return Err(invalid(
                            first + 2,
                            format!("keyword 'user' only supports 'post-41', 'pre-41' and 'post-80' (got '{w}')."),
                            &format!("replace '{w}' with 'post-41', 'pre-41' or 'post-80', or remove it"),
                        ));
                    }
                }
            }
            // `user <name>`, and for MySQL the client version.
            statement::no_extra(stmt, first + if name == "mysql-check" { 2 } else { 1 })
        }
        "smtpchk" => statement::no_extra(stmt, first + 1),
        "http-restrict-req-hdr-names" => match word(first) {
            Some("preserve" | "delete" | "reject") => statement::no_extra(stmt, first),
            _ => Err(invalid(
                first,
                "'option http-restrict-req-hdr-names' expects 'preserve', 'delete' or 'reject'."
                    .into(),
                "write 'option http-restrict-req-hdr-names preserve|delete|reject'",
            )),
        },
        "forwarded" => {
            let mut i = first;
            while let Some(w) = word(i) {
                match w {
                    "proto" | "host" | "by" | "by_port" | "for" | "for_port" => i += 1,
                    "host-expr" | "by-expr" | "by_port-expr" | "for-expr" | "for_port-expr" => {
                        if word(i + 1).is_none() {
                            return Err(invalid(
                                i,
                                format!("'{w}' expects a sample expression."),
                                &format!("write '{w} <expression>'"),
                            ));
                        }
                        i += 2;
                    }
                    _ => {
                        return Err(invalid(
                            i,
                            format!("'option forwarded' does not know '{w}' (expects proto, host, host-expr, by, by-expr, by_port, by_port-expr, for, for-expr, for_port or for_port-expr)."),
                            &format!("remove '{w}'"),
                        ))
                    }
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// HAProxy 3.4 refuses headers hidden in the version string (`HTTP/1.1\r\nHost:x`).
fn check_httpchk(stmt: &Statement, name_index: usize, args: &[String]) -> Parsed<()> {
    let Some((offset, version)) = args.iter().enumerate().nth(2) else {
        return Ok(());
    };
    // HAProxy 3.x reads `<method> <uri> <version> <host>`; anything after the host is an
    // argument too many, and a version carrying CR/LF is the old way of adding headers.
    if let Some(extra) = args.get(4) {
        return Err(statement::unexpected(
            stmt,
            name_index + 5,
            "'option httpchk' cannot handle unexpected argument.",
            format!(
                "remove '{extra}': 'option httpchk' takes <method> <uri> <version> <host>; add headers with 'http-check send hdr <name> <value>'"
            ),
        ));
    }
    let hides =
        version.contains("\\r") || version.contains("\\n") || version.contains(['\r', '\n']);
    if !hides {
        return Ok(());
    }
    let method = args.first().map(String::as_str).unwrap_or("OPTIONS");
    let uri = args.get(1).map(String::as_str).unwrap_or("/");
    let clean = version
        .split(['\r', '\n'])
        .next()
        .unwrap_or(version)
        .split("\\r")
        .next()
        .unwrap_or(version);
    Err(Diagnostic::error(
        Category::Syntax,
        "httpchk-hidden-headers",
        "'option httpchk' : hiding headers or body at the end of the version string is unsupported. Use 'http-check send' directive instead.",
    )
    .at(stmt.word_location(name_index + 1 + offset))
    .help(format!(
        "write 'option httpchk {method} {uri} {clean}' and add the headers with 'http-check send hdr <name> <value>'"
    ))
    .into())
}

/// Whether the manual's keyword matrix marks the option as accepting `no` and `default`
/// (HAProxy rejects the prefix on the others). Unknown names were reported already.
fn negatable(name: &str) -> bool {
    match sluice_config::keywords::lookup(Table::ProxyOption, name) {
        sluice_config::keywords::Lookup::Known(keyword) => keyword.negatable,
        _ => true,
    }
}
