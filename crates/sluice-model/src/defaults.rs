//! Defaults inheritance: a proxy starts as a copy of the settings of its `defaults` section
//! (the previous one, or the one named by `from`), then its own lines override them.

use crate::proxy::{Proxy, ProxyKind};
use sluice_config::Location;

/// The new proxy `kind name` declared at `location`, with the settings of `defaults`.
pub fn inherit(defaults: &Proxy, kind: ProxyKind, name: &str, location: Location) -> Proxy {
    let mut proxy = Proxy::new(kind, name, location);
    proxy.defaults = Some(defaults.name.clone());
    proxy.mode = defaults.mode;
    proxy.timeouts = defaults.timeouts.clone();
    proxy.tcp_inspect_delay = defaults.tcp_inspect_delay;
    proxy.tcp_response_inspect_delay = defaults.tcp_response_inspect_delay;
    proxy.options = defaults.options.clone();
    proxy.maxconn = defaults.maxconn;
    proxy.retries = defaults.retries;
    proxy.log_global = defaults.log_global;
    proxy.logs = defaults.logs.clone();
    proxy.errorfiles = defaults.errorfiles.clone();
    proxy.errorlocs = defaults.errorlocs.clone();
    proxy.errorfiles_sections = defaults.errorfiles_sections.clone();
    proxy.errorfiles_codes = defaults.errorfiles_codes.clone();
    proxy.stats = defaults.stats.clone();
    proxy.compression = defaults.compression.clone();
    // Rules of a named defaults section run before the proxy's own: they come first in the
    // list, so a final verdict there (allow, deny...) also ends the proxy's rules.
    proxy.rules = defaults.rules.clone();
    proxy.conditions = defaults.conditions.clone();
    if kind.is_frontend() || kind == ProxyKind::Defaults {
        proxy.default_backend = defaults.default_backend.clone();
    }
    if kind.is_backend() || kind == ProxyKind::Defaults {
        proxy.balance = defaults.balance.clone();
        proxy.cookie = defaults.cookie.clone();
        proxy.default_server = defaults.default_server.clone();
        // Lines kept as written that the data plane reads from backends.
        proxy.other = defaults
            .other
            .iter()
            .filter(|s| INHERITED_AS_WRITTEN.contains(&s.keyword()))
            .cloned()
            .collect();
    }
    proxy
}

/// Keywords of `Proxy::other` a backend takes from its defaults section.
const INHERITED_AS_WRITTEN: &[&str] = &[
    "retry-on",
    "http-reuse",
    "hash-type",
    "http-check",
    "tcp-check",
    "external-check",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::Mode;
    use crate::spanned::Spanned;
    use sluice_config::FileId;
    use std::time::Duration;

    #[test]
    fn settings_are_copied_and_servers_are_not() {
        let at = Location::line(FileId(0), 1);
        let mut defaults = Proxy::new(ProxyKind::Defaults, "", at);
        defaults.mode = Some(Spanned::new(Mode::Http, at));
        defaults
            .timeouts
            .set("client", Spanned::new(Duration::from_secs(5), at));
        let frontend = inherit(&defaults, ProxyKind::Frontend, "f", at);
        assert_eq!(frontend.mode(), Mode::Http);
        assert!(frontend.timeouts.is_set("client"));
        assert_eq!(frontend.defaults.as_deref(), Some(""));
        assert!(frontend.servers.is_empty());
    }

    #[test]
    fn rules_of_a_named_defaults_come_before_the_proxys() {
        let (model, _) = crate::test_support::build(
            "defaults base\n    mode http\n    http-request set-header x-a 1\n\n\
             frontend f from base\n    bind :8080\n    http-request deny\n",
        );
        let f = model
            .proxies
            .iter()
            .find(|p| p.name == "f")
            .expect("the frontend");
        let actions: Vec<&str> = f.rules.iter().map(|r| r.action.as_str()).collect();
        assert_eq!(actions, ["set-header", "deny"]);
    }

    #[test]
    fn a_defaults_section_without_from_starts_afresh() {
        let (model, _) = crate::test_support::build(
            "defaults base\n    mode http\n    retries 7\n    http-request set-header x-a 1\n\n\
             defaults\n    timeout client 5s\n\n\
             frontend f\n    bind :8080\n",
        );
        let f = model
            .proxies
            .iter()
            .find(|p| p.name == "f")
            .expect("the frontend");
        // Nothing of `base` reaches a section that takes the later, unnamed defaults.
        assert!(f.rules.is_empty());
        assert!(f.mode.is_none());
        assert!(f.retries.is_none());
        assert_eq!(f.defaults.as_deref(), Some(""));
    }
}
