//! `backend-unknown`: `default_backend`/`use_backend` name a backend that does not exist.

use crate::proxy::BackendName;
use crate::Model;
use sluice_config::{Category, Diagnostic, Location};

fn report(
    model: &Model,
    proxy: &crate::Proxy,
    keyword: &str,
    name: &str,
    at: Location,
    out: &mut Vec<Diagnostic>,
) {
    if model.backend(name).is_some() {
        return;
    }
    let what = match model.proxies.iter().find(|p| p.name == name) {
        Some(p) => format!(
            "'{name}' is a {} and has no servers to use",
            p.kind.keyword()
        ),
        None => format!("no backend or listen section is named '{name}'"),
    };
    out.push(
        Diagnostic::error(
            Category::Semantic,
            "backend-unknown",
            format!(
                "proxy '{}': unable to find required {keyword}: '{name}'.",
                proxy.name
            ),
        )
        .at(at)
        .help(format!("{what}: declare 'backend {name}' or fix the name")),
    );
}

pub fn check(model: &Model, out: &mut Vec<Diagnostic>) {
    for proxy in model
        .proxies
        .iter()
        .filter(|p| p.kind.is_frontend() && !p.disabled)
    {
        if let Some(d) = &proxy.default_backend {
            if let BackendName::Static(name) = &d.value {
                report(model, proxy, "default_backend", name, d.location, out);
            }
        }
        for rule in &proxy.use_backends {
            if let BackendName::Static(name) = &rule.target {
                report(model, proxy, "use_backend", name, rule.location, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::build;

    #[test]
    fn unknown_default_backend_is_an_error_at_its_line() {
        let (_, codes) = build("frontend f\n  bind :80\n  default_backend nosuch\n");
        assert!(codes.contains(&("backend-unknown", 3)), "{codes:?}");
    }

    #[test]
    fn dynamic_names_and_listen_sections_pass() {
        let (_, codes) = build(
            "frontend f\n  bind :80\n  use_backend %[req.hdr(host)]\n  default_backend l\nlisten l\n  bind :81\n",
        );
        assert!(
            !codes.iter().any(|(c, _)| *c == "backend-unknown"),
            "{codes:?}"
        );
    }
}
