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

/// Options Sluice reads (with or without arguments).
const TYPED: &[&str] = &[
    "abortonclose",
    "allbackups",
    "checkcache",
    "clitcpka",
    "contstats",
    "dontlog-normal",
    "dontlognull",
    "forwardfor",
    "http-buffer-request",
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
    let name_index = if negated { 2 } else { 1 };
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

/// HAProxy 3.4 refuses headers hidden in the version string (`HTTP/1.1\r\nHost:x`).
fn check_httpchk(stmt: &Statement, name_index: usize, args: &[String]) -> Parsed<()> {
    let Some((offset, version)) = args.iter().enumerate().nth(2) else {
        return Ok(());
    };
    let hides = version.contains("\\r")
        || version.contains("\\n")
        || version.contains(['\r', '\n'])
        || args.len() > 3;
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
