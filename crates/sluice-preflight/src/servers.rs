//! Server addresses (R5.9): host names resolve through the system resolver, as HAProxy does
//! at start (`srv_init_addr`), following `init-addr`.
//!
//! Resolution happens before any chroot, on the host's `/etc/hosts` and `/etc/resolv.conf`.

use crate::inputs::{InitAddr, ServerRef};
use crate::report::Report;
use crate::Context;
use sluice_config::{Category, Diagnostic};
use std::collections::HashMap;
use std::net::{IpAddr, ToSocketAddrs};

pub(crate) fn check(ctx: &Context, report: &mut Report) {
    // One lookup per name: a backend of many servers often repeats the same host.
    let mut cache: HashMap<String, Result<(), String>> = HashMap::new();
    for server in &ctx.inputs.servers {
        check_one(ctx, server, &mut cache, report);
    }
}

fn check_one(
    ctx: &Context,
    server: &ServerRef,
    cache: &mut HashMap<String, Result<(), String>>,
    report: &mut Report,
) {
    let host = server.host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || host == "*" || host.parse::<IpAddr>().is_ok() {
        return;
    }
    let methods: &[InitAddr] = if server.init_addr.is_empty() {
        &[InitAddr::Last, InitAddr::Libc]
    } else {
        &server.init_addr
    };
    let mut failure: Option<String> = None;
    for method in methods {
        match method {
            // The state file is loaded at start; at check time it cannot be relied upon.
            InitAddr::Last => continue,
            InitAddr::Libc => {
                let result = cache
                    .entry(host.to_string())
                    .or_insert_with(|| resolve(host))
                    .clone();
                match result {
                    Ok(()) => return,
                    Err(reason) => failure = Some(reason),
                }
            }
            InitAddr::Ip(ip) => {
                if let Some(reason) = failure {
                    report.haproxy(
                        Diagnostic::notice(
                            Category::Environment,
                            "server-fallback-address",
                            format!(
                                "'server {}/{}' : could not resolve address '{host}', using the fallback address {ip}",
                                server.proxy, server.name
                            ),
                        )
                        .at_opt(server.location)
                        .note(format!("resolver: {reason}")),
                    );
                }
                return;
            }
            InitAddr::None => {
                if let Some(reason) = failure {
                    report.haproxy(disabled(server, host, &reason, false));
                }
                return;
            }
        }
    }
    // Every method failed (or only `last`, which may leave the server without an address).
    let Some(reason) = failure else {
        return;
    };
    report.haproxy(disabled(
        server,
        host,
        &reason,
        !ctx.options.resolve_failures_are_warnings,
    ));
}

/// `could not resolve address 'x'`: fatal, or with `-dr`/`init-addr none` a warning and the
/// server starts disabled.
fn disabled(server: &ServerRef, host: &str, reason: &str, fatal: bool) -> Diagnostic {
    let message = format!(
        "'server {}/{}' : could not resolve address '{host}'",
        server.proxy, server.name
    );
    let mut diag = if fatal {
        Diagnostic::error(Category::Environment, "server-unresolvable", message).help(
            "fix the name, add it to /etc/hosts, or add `init-addr last,libc,none` to start with the server disabled",
        )
    } else {
        Diagnostic::warning(
            Category::Environment,
            "server-unresolvable",
            format!("{message}, disabling server"),
        )
        .help("fix the name or its DNS record; the server stays down until it resolves")
    };
    diag.os_error = Some(reason.to_string());
    if server.has_resolvers {
        diag = diag.note(
            "its 'resolvers' section resolves it again at run time, but the start needs an address or `init-addr none`",
        );
    }
    diag.at_opt(server.location)
}

fn resolve(host: &str) -> Result<(), String> {
    match (host, 0u16).to_socket_addrs() {
        Ok(addrs) if addrs.len() > 0 => Ok(()),
        Ok(_) => Err("no address for this name".to_string()),
        Err(err) => Err(resolver_reason(&err)),
    }
}

/// std wraps getaddrinfo errors as "failed to lookup address information: Name or service
/// not known"; keep the resolver's own words.
fn resolver_reason(err: &std::io::Error) -> String {
    let text = sluice_config::diagnostic::os_reason(err);
    match text.split_once(": ") {
        Some((_, reason)) if text.starts_with("failed to lookup address") => reason.to_string(),
        _ => text,
    }
}
