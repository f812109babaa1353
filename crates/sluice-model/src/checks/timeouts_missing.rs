//! `timeouts-missing`: a TCP or HTTP proxy without the client, connect or server timeout
//! (HAProxy's warning "missing timeouts for frontend 'f'").

use crate::proxy::Mode;
use crate::Model;
use sluice_config::{Category, Diagnostic};

pub fn check(model: &Model, out: &mut Vec<Diagnostic>) {
    for proxy in model.proxies.iter().filter(|p| !p.disabled) {
        if !matches!(proxy.mode(), Mode::Tcp | Mode::Http) {
            continue;
        }
        let t = &proxy.timeouts;
        let mut missing = Vec::new();
        if proxy.kind.is_frontend() && !t.is_set("client") {
            missing.push("timeout client 30s");
        }
        if proxy.kind.is_backend() && !proxy.servers.is_empty() {
            if !t.is_set("connect") {
                missing.push("timeout connect 5s");
            }
            if !t.is_set("server") && (proxy.mode() == Mode::Http || !t.is_set("tunnel")) {
                missing.push("timeout server 30s");
            }
        }
        if missing.is_empty() {
            continue;
        }
        out.push(
            Diagnostic::warning(
                Category::Semantic,
                "timeouts-missing",
                format!("missing timeouts for {}.", proxy.describe()),
            )
            .at(proxy.location)
            .help(format!(
                "without them idle connections are never closed; add to this section or to its defaults: {}",
                missing.join("; ")
            ))
            .note("While not properly invalid, you will certainly encounter various problems with such a configuration."),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::build;

    #[test]
    fn frontend_without_client_timeout_warns() {
        let (_, codes) = build("frontend f\n  bind :80\n");
        assert!(codes.contains(&("timeouts-missing", 1)), "{codes:?}");
    }

    #[test]
    fn timeouts_from_defaults_count() {
        let (_, codes) = build(
            "defaults\n  timeout client 5s\n  timeout connect 5s\n  timeout server 5s\nlisten l\n  bind :80\n  server s 10.0.0.1:80\n",
        );
        assert!(
            !codes.iter().any(|(c, _)| *c == "timeouts-missing"),
            "{codes:?}"
        );
    }

    #[test]
    fn backend_without_servers_does_not_warn() {
        let (_, codes) = build("backend b\n");
        assert!(
            !codes.iter().any(|(c, _)| *c == "timeouts-missing"),
            "{codes:?}"
        );
    }
}
