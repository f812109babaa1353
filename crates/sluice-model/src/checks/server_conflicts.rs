//! `server-minconn-above-maxconn`: impossible connection limits on a server.

use crate::Model;
use sluice_config::{Category, Diagnostic};

pub fn check(model: &Model, out: &mut Vec<Diagnostic>) {
    for proxy in &model.proxies {
        for server in &proxy.servers {
            let (Some(min), Some(max)) = (&server.options.minconn, &server.options.maxconn) else {
                continue;
            };
            if max.value != 0 && min.value > max.value {
                out.push(
                    Diagnostic::error(
                        Category::Semantic,
                        "server-minconn-above-maxconn",
                        format!(
                            "{} : server '{}' has minconn {} above maxconn {}.",
                            proxy.describe(),
                            server.name,
                            min.value,
                            max.value
                        ),
                    )
                    .at(min.location)
                    .help("minconn is the lower bound of a dynamic limit: make it at most maxconn"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::build;

    #[test]
    fn minconn_above_maxconn() {
        let (_, codes) = build("backend b\n  server s 10.0.0.1:80 minconn 50 maxconn 10\n  server t 10.0.0.1:80 minconn 5 maxconn 10\n");
        let hits: Vec<_> = codes
            .iter()
            .filter(|(c, _)| *c == "server-minconn-above-maxconn")
            .collect();
        assert_eq!(hits, vec![&("server-minconn-above-maxconn", 2)]);
    }
}
