//! `mode-mismatch`: an HTTP frontend sends traffic to a TCP backend. (A TCP frontend may use
//! an HTTP backend: HAProxy upgrades the stream.)

use crate::proxy::{BackendName, Mode, Proxy};
use crate::Model;
use sluice_config::{Category, Diagnostic, Location};

fn compare(frontend: &Proxy, backend: &Proxy, at: Location, out: &mut Vec<Diagnostic>) {
    if frontend.mode() != Mode::Http || backend.mode() != Mode::Tcp || frontend.name == backend.name
    {
        return;
    }
    out.push(
        Diagnostic::error(
            Category::Semantic,
            "mode-mismatch",
            format!(
                "{} : unable to use {} with wrong mode, required: http, has: tcp.",
                frontend.describe(),
                backend.describe()
            ),
        )
        .at(at)
        .help(format!(
            "add 'mode http' to {} (or use a TCP frontend)",
            backend.describe()
        )),
    );
}

pub fn check(model: &Model, out: &mut Vec<Diagnostic>) {
    for frontend in model.proxies.iter().filter(|p| p.kind.is_frontend()) {
        let statics = frontend
            .use_backends
            .iter()
            .map(|u| (&u.target, u.location))
            .chain(
                frontend
                    .default_backend
                    .iter()
                    .map(|d| (&d.value, d.location)),
            );
        for (target, at) in statics {
            if let BackendName::Static(name) = target {
                if let Some(backend) = model.backend(name) {
                    compare(frontend, backend, at, out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::build;

    #[test]
    fn http_frontend_to_tcp_backend_is_an_error() {
        let (_, codes) = build(
            "frontend f\n  mode http\n  bind :80\n  default_backend b\nbackend b\n  mode tcp\n",
        );
        assert!(codes.contains(&("mode-mismatch", 4)), "{codes:?}");
    }

    #[test]
    fn tcp_frontend_to_http_backend_is_allowed() {
        let (_, codes) = build(
            "frontend f\n  mode tcp\n  bind :80\n  default_backend b\nbackend b\n  mode http\n",
        );
        assert!(
            !codes.iter().any(|(c, _)| *c == "mode-mismatch"),
            "{codes:?}"
        );
    }
}
