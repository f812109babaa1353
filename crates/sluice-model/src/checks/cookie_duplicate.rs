//! `server-cookie-duplicate` (`-dD` only): two non-backup servers of one backend share a
//! cookie value, which breaks persistence (HAProxy's `srv_diag_cookies`).

use crate::Model;
use sluice_config::{Category, Diagnostic};

pub fn check(model: &Model, out: &mut Vec<Diagnostic>) {
    for proxy in &model.proxies {
        let active: Vec<_> = proxy.servers.iter().filter(|s| !s.options.backup).collect();
        for (i, server) in active.iter().enumerate() {
            let Some(cookie) = &server.options.cookie else {
                continue;
            };
            let previous = active.iter().take(i).find(|s| {
                s.options
                    .cookie
                    .as_ref()
                    .is_some_and(|c| c.value == cookie.value)
            });
            if let Some(previous) = previous {
                out.push(
                    Diagnostic::diag(
                        Category::Advice,
                        "server-cookie-duplicate",
                        format!(
                            "'server {}' : same cookie value is set for a previous non-backup server in the same backend, it may break connection persistence",
                            server.name
                        ),
                    )
                    .at(cookie.location)
                    .help(format!("give '{}' a cookie value other than '{}' (used by '{}')", server.name, cookie.value, previous.name)),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::build_with;
    use crate::BuildOptions;

    #[test]
    fn same_cookie_on_two_active_servers_in_diag_mode() {
        let text = "backend b\n  server a 10.0.0.1:80 cookie x\n  server c 10.0.0.2:80 cookie x\n  server d 10.0.0.3:80 cookie x backup\n";
        let (_, codes) = build_with(
            text,
            &BuildOptions {
                diag_mode: true,
                ..BuildOptions::default()
            },
        );
        let hits: Vec<_> = codes
            .iter()
            .filter(|(c, _)| *c == "server-cookie-duplicate")
            .collect();
        assert_eq!(hits, vec![&("server-cookie-duplicate", 3)]);
        let (_, codes) = build_with(text, &BuildOptions::default());
        assert!(!codes.iter().any(|(c, _)| *c == "server-cookie-duplicate"));
    }
}
