//! `server-check-no-port`: a health-checked server has neither a service port nor a check
//! port, so the check has nowhere to connect.

use crate::address::{Family, Port};
use crate::Model;
use sluice_config::{Category, Diagnostic, Severity};

pub fn check(model: &Model, out: &mut Vec<Diagnostic>) {
    for proxy in &model.proxies {
        // A `tcp-check connect port N` rule supplies the port.
        let tcp_check_port = proxy
            .other
            .iter()
            .any(|s| s.keyword() == "tcp-check" && s.words.iter().any(|w| w.text == "port"));
        for server in &proxy.servers {
            let o = &server.options;
            let inet = matches!(
                server.address.family,
                Family::Inet | Family::Ipv4 | Family::Ipv6
            );
            if !o.check || o.check_port.is_some() || tcp_check_port || !inet {
                continue;
            }
            if server.address.port != Port::None {
                continue;
            }
            // A name that does not resolve disables the server before its check is set up,
            // so HAProxy only fails for addresses it can use: warn for names.
            let severity = if server.address.host_name().is_some() {
                Severity::Warning
            } else {
                Severity::Error
            };
            out.push(
                Diagnostic::new(
                    severity,
                    Category::Semantic,
                    "server-check-no-port",
                    format!(
                        "{} : server '{}' has neither service port nor check port.",
                        proxy.describe(),
                        server.name
                    ),
                )
                .at(server.location)
                .help(format!(
                    "add the port to the address ('{}:<port>') or a check port ('port <n>')",
                    server.address.text
                )),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::build;

    #[test]
    fn checked_server_without_any_port() {
        let (_, codes) = build("backend b\n  server s 10.0.0.1 check\n  server t 10.0.0.2 check port 80\n  server u 10.0.0.3\n");
        let hits: Vec<_> = codes
            .iter()
            .filter(|(c, _)| *c == "server-check-no-port")
            .collect();
        assert_eq!(hits, vec![&("server-check-no-port", 2)]);
    }
}
