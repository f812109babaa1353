//! `http-errors-unknown`, `resolvers-unknown`, `track-unknown`: names of other sections or
//! servers that do not exist.

use crate::Model;
use sluice_config::{Category, Diagnostic, SectionKind};

pub fn check(model: &Model, out: &mut Vec<Diagnostic>) {
    let exists = |kind: SectionKind, name: &str| model.sections_of(kind).any(|s| s.name == name);
    for proxy in &model.proxies {
        for e in &proxy.errorfiles_sections {
            if !exists(SectionKind::HttpErrors, &e.value) {
                out.push(
                    Diagnostic::error(
                        Category::Semantic,
                        "http-errors-unknown",
                        format!("{} : unable to find http-errors section '{}' referenced by 'errorfiles'.", proxy.describe(), e.value),
                    )
                    .at(e.location)
                    .help(format!("declare 'http-errors {}' with its errorfile lines, or fix the name", e.value)),
                );
            }
        }
        for server in &proxy.servers {
            if let Some(r) = &server.options.resolvers {
                // HAProxy declares a `default` section (the system's nameservers) when the
                // configuration does not.
                if r.value != "default" && !exists(SectionKind::Resolvers, &r.value) {
                    out.push(
                        Diagnostic::error(
                            Category::Semantic,
                            "resolvers-unknown",
                            format!(
                                "{}, server '{}': unable to find required resolvers '{}'.",
                                proxy.describe(),
                                server.name,
                                r.value
                            ),
                        )
                        .at(r.location)
                        .help(format!(
                            "declare 'resolvers {}' with a nameserver, or fix the name",
                            r.value
                        )),
                    );
                }
            }
            if let Some(t) = &server.options.track {
                let (backend, target) = match t.value.split_once('/') {
                    Some((b, s)) => (model.backend(b), s),
                    None => (Some(proxy), t.value.as_str()),
                };
                if !backend.is_some_and(|b| b.servers.iter().any(|s| s.name == target)) {
                    out.push(
                        Diagnostic::error(
                            Category::Semantic,
                            "track-unknown",
                            format!("{}, server '{}': unable to find required server '{}' for tracking.", proxy.describe(), server.name, t.value),
                        )
                        .at(t.location)
                        .help("write 'track <backend>/<server>' naming an existing server"),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::build;

    #[test]
    fn unknown_http_errors_and_resolvers() {
        let (_, codes) =
            build("backend b\n  errorfiles nosuch\n  server s 10.0.0.1:80 resolvers dns\n");
        assert!(codes.contains(&("http-errors-unknown", 2)), "{codes:?}");
        assert!(codes.contains(&("resolvers-unknown", 3)), "{codes:?}");
    }
}
