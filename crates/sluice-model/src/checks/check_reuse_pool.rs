//! `-dD` only: `check-reuse-pool` on a checked server where it cannot take effect (HAProxy's
//! `srv_diag_check_reuse`): `check-reuse-pool-not-http` when the backend's health checks are
//! not HTTP (`option httpchk`), else `check-reuse-pool-reuse-policy` when its `http-reuse` is
//! below `aggressive` (the default is `safe`).

use crate::proxy::server::Server;
use crate::Model;
use sluice_config::{Category, Diagnostic, Location};

pub fn check(model: &Model, out: &mut Vec<Diagnostic>) {
    for proxy in model.proxies.iter().filter(|p| p.kind.is_backend()) {
        let http_checks = proxy
            .check_type()
            .is_some_and(|o| o.name == "httpchk" && !o.negated);
        let reuse = proxy
            .other
            .iter()
            .rev()
            .find(|s| s.keyword() == "http-reuse")
            .and_then(|s| s.words.get(1))
            .map_or("safe", |w| w.text.as_str());
        for server in &proxy.servers {
            let Some(at) = reuse_pool(server) else {
                continue;
            };
            let (code, why, help) = if !http_checks {
                (
                    "check-reuse-pool-not-http",
                    "check-reuse-pool is ineffective for non http-check rulesets.",
                    "only HTTP health checks ('option httpchk') reuse idle connections: add 'option httpchk' or remove 'check-reuse-pool'",
                )
            } else if matches!(reuse, "never" | "safe") {
                (
                    "check-reuse-pool-reuse-policy",
                    "check-reuse-pool is ineffective due to http-reuse policy.",
                    "health checks reuse idle connections only with 'http-reuse aggressive' or 'http-reuse always' in the backend; set one or remove 'check-reuse-pool'",
                )
            } else {
                continue;
            };
            out.push(
                Diagnostic::diag(
                    Category::Advice,
                    code,
                    format!("'server {}': {why}", server.name),
                )
                .at(at)
                .help(help)
                .note(format!("in {}", proxy.describe())),
            );
        }
    }
}

/// Where `check-reuse-pool` is written when it is on for a checked server: its word on the
/// server line, or the server line when it comes from `default-server`.
fn reuse_pool(server: &Server) -> Option<Location> {
    if !server.options.check || server_uses_healthcheck_section(server) {
        return None;
    }
    let (_, _, at) = server
        .options
        .other
        .iter()
        .rev()
        .find(|(n, _, _)| n == "check-reuse-pool" || n == "no-check-reuse-pool")
        .filter(|(n, _, _)| n == "check-reuse-pool")?;
    let on_server_line = at.file == server.location.file && at.line == server.location.line;
    Some(if on_server_line { *at } else { server.location })
}

/// `healthcheck <section>`: the section decides the protocol, which this check does not read.
fn server_uses_healthcheck_section(server: &Server) -> bool {
    server
        .options
        .other
        .iter()
        .any(|(n, _, _)| n == "healthcheck")
}

#[cfg(test)]
mod tests {
    use crate::test_support::build_with;
    use crate::BuildOptions;

    fn hits(text: &str, diag_mode: bool) -> Vec<(&'static str, u32)> {
        let (_, codes) = build_with(
            text,
            &BuildOptions {
                diag_mode,
                ..BuildOptions::default()
            },
        );
        codes
            .into_iter()
            .filter(|(c, _)| c.starts_with("check-reuse-pool"))
            .collect()
    }

    #[test]
    fn non_http_checks() {
        let text = "backend b\n  mode http\n  server a 10.0.0.1:80 check check-reuse-pool\n  server c 10.0.0.2:80 check-reuse-pool\n";
        assert_eq!(
            hits(text, true),
            vec![("check-reuse-pool-not-http", 3)],
            "a server without 'check' is not reported"
        );
        assert!(hits(text, false).is_empty());
    }

    #[test]
    fn reuse_policy_below_aggressive() {
        let text = "backend b\n  mode http\n  option httpchk\n  default-server check check-reuse-pool\n  server a 10.0.0.1:80\n";
        assert_eq!(hits(text, true), vec![("check-reuse-pool-reuse-policy", 5)]);
        let text = "backend b\n  mode http\n  option httpchk\n  http-reuse aggressive\n  server a 10.0.0.1:80 check check-reuse-pool\n";
        assert!(hits(text, true).is_empty());
    }
}
