//! `bind-proto-mode`: a bind line's `proto` names a multiplexer of the other mode: `none`
//! (raw TCP) in an HTTP proxy, or `h1`/`h2` in a TCP one. HAProxy refuses both.

use crate::proxy::Mode;
use crate::Model;
use sluice_config::{Category, Diagnostic};

pub fn check(model: &Model, out: &mut Vec<Diagnostic>) {
    for proxy in model.proxies.iter().filter(|p| p.kind.is_frontend()) {
        let http = proxy.mode() == Mode::Http;
        for bind in &proxy.binds {
            let Some(proto) = &bind.options.proto else {
                continue;
            };
            let raw = proto.value == "none";
            if raw != http {
                continue;
            }
            let (mode, help) = if http {
                ("http", "remove 'proto none' (it is for TCP frontends), or write 'proto h1' or 'proto h2'")
            } else {
                ("tcp", "remove the 'proto' option, or write 'proto none'; a TCP stream becomes HTTP with 'tcp-request content switch-mode http proto <name>'")
            };
            out.push(
                Diagnostic::error(
                    Category::Semantic,
                    "bind-proto-mode",
                    format!(
                        "{} : MUX protocol '{}' is not usable for a bind line in mode {mode}.",
                        proxy.describe(),
                        proto.value
                    ),
                )
                .at(proto.location)
                .help(help),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::build;

    #[test]
    fn a_multiplexer_of_the_other_mode_is_an_error() {
        let (_, codes) = build("frontend f\n  mode http\n  bind :80 proto none\n");
        assert!(codes.contains(&("bind-proto-mode", 3)), "{codes:?}");
        let (_, codes) = build("frontend f\n  mode tcp\n  bind :80 proto h2\n");
        assert!(codes.contains(&("bind-proto-mode", 3)), "{codes:?}");
    }

    #[test]
    fn matching_multiplexers_are_accepted() {
        for cfg in [
            "frontend f\n  mode tcp\n  bind :80 proto none\n",
            "frontend f\n  mode http\n  bind :80 proto h1\n",
            "frontend f\n  mode http\n  bind :80 proto h2\n",
        ] {
            let (_, codes) = build(cfg);
            assert!(
                !codes.iter().any(|(c, _)| *c == "bind-proto-mode"),
                "{cfg}: {codes:?}"
            );
        }
    }
}
