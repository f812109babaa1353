//! `proxy-name-duplicate`: two frontends/backends/listen sections with one name. HAProxy 3.3+
//! rejects it even for a frontend and a backend.

use super::line_ref;
use crate::Model;
use sluice_config::{Category, Diagnostic};

pub fn check(model: &Model, out: &mut Vec<Diagnostic>) {
    for (i, proxy) in model.proxies.iter().enumerate() {
        if proxy.name.is_empty() {
            continue;
        }
        let Some(first) = model.proxies.iter().take(i).find(|p| p.name == proxy.name) else {
            continue;
        };
        out.push(
            Diagnostic::error(
                Category::Semantic,
                "proxy-name-duplicate",
                format!(
                    "{} '{}' has the same name as {} '{}' declared at {}. Please rename one or the other.",
                    proxy.kind.keyword(),
                    proxy.name,
                    first.kind.keyword(),
                    first.name,
                    line_ref(first.location, proxy.location)
                ),
            )
            .at(proxy.location)
            .help(format!(
                "give this {} another name (e.g. '{}_{}') and update the use_backend/default_backend lines that mean it",
                proxy.kind.keyword(),
                proxy.name,
                proxy.kind.keyword()
            )),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::build;

    #[test]
    fn frontend_and_backend_with_one_name_is_an_error() {
        let (_, codes) = build("frontend app\n  bind :80\nbackend app\n  server s 127.0.0.1:80\n");
        assert!(codes.contains(&("proxy-name-duplicate", 3)), "{codes:?}");
    }

    #[test]
    fn distinct_names_pass() {
        let (_, codes) = build("frontend web\n  bind :80\nbackend app\n  server s 127.0.0.1:80\n");
        assert!(!codes.iter().any(|(c, _)| *c == "proxy-name-duplicate"));
    }
}
