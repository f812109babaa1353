//! `server-name-duplicate`: two servers with one name in a backend.

use crate::Model;
use sluice_config::{Category, Diagnostic};

pub fn check(model: &Model, out: &mut Vec<Diagnostic>) {
    for proxy in &model.proxies {
        for (i, server) in proxy.servers.iter().enumerate() {
            let Some(first) = proxy.servers.iter().take(i).find(|s| s.name == server.name) else {
                continue;
            };
            out.push(
                Diagnostic::error(
                    Category::Semantic,
                    "server-name-duplicate",
                    format!(
                        "{} '{}', another server named '{}' was already defined at line {}, please use distinct names.",
                        proxy.kind.keyword(),
                        proxy.name,
                        server.name,
                        first.location.line
                    ),
                )
                .at(server.location)
                .help(format!("rename this server (e.g. '{}-2') or remove the duplicate line", server.name)),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::build;

    #[test]
    fn second_server_with_same_name_is_reported_once() {
        let (_, codes) = build(
            "backend b\n  server s1 10.0.0.1:80\n  server s1 10.0.0.2:80\n  server s2 10.0.0.3:80\n",
        );
        let dups: Vec<_> = codes
            .iter()
            .filter(|(c, _)| *c == "server-name-duplicate")
            .collect();
        assert_eq!(dups, vec![&("server-name-duplicate", 3)]);
    }
}
