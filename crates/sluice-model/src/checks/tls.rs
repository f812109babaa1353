//! TLS settings Sluice's rustls listeners cannot honour as written: `ssl` without a
//! certificate, `verify` without a CA file, TLS versions below 1.2, `h2` offered by ALPN
//! on an HTTP/1.1 data plane.

use crate::proxy::bind::Bind;
use crate::{Mode, Model};
use sluice_config::{Category, Diagnostic};

pub fn check(model: &Model, out: &mut Vec<Diagnostic>) {
    servers(model, out);
    let defaults: Vec<(String, Option<String>)> = model
        .global
        .other
        .iter()
        .filter(|s| s.keyword() == "ssl-default-bind-options")
        .flat_map(|s| s.words.iter().skip(1).map(|w| (w.text.clone(), None)))
        .collect();
    for proxy in model.proxies.iter().filter(|p| p.kind.is_frontend()) {
        for bind in proxy.binds.iter().filter(|b| b.options.ssl) {
            let o = &bind.options;
            let addr = bind.addresses.first().map_or("", |a| a.text.as_str());
            if o.crt.is_empty() && o.crt_list.is_empty() {
                out.push(
                    Diagnostic::error(
                        Category::Semantic,
                        "tls-no-certificate",
                        format!(
                            "{} : no SSL certificate specified for bind '{addr}' (use 'crt').",
                            proxy.describe()
                        ),
                    )
                    .at(bind.location)
                    .help("add 'crt <file or directory of PEM files>' to the bind line"),
                );
            }
            let verify = option(bind, "verify");
            if matches!(verify, Some("optional" | "required")) && o.ca_file.is_none() {
                out.push(
                    Diagnostic::error(
                        Category::Semantic,
                        "tls-verify-no-ca",
                        format!(
                            "{} : verify is enabled but no CA file specified for bind '{addr}'.",
                            proxy.describe()
                        ),
                    )
                    .at(bind.location)
                    .help("add 'ca-file <file>' with the CAs client certificates must chain to"),
                );
            }
            let old = defaults
                .iter()
                .map(|(n, _)| (n.as_str(), None))
                .chain(o.other.iter().map(|(n, v, _)| (n.as_str(), v.as_deref())))
                .any(|(n, v)| {
                    matches!(n, "force-sslv3" | "force-tlsv10" | "force-tlsv11")
                        || (n == "ssl-min-ver"
                            && matches!(v, Some("SSLv3" | "TLSv1.0" | "TLSv1.1")))
                });
            if old {
                out.push(
                    Diagnostic::warning(
                        Category::Compatibility,
                        "tls-version-unavailable",
                        format!(
                            "{} : bind '{addr}' asks for SSLv3, TLS 1.0 or 1.1: Sluice speaks TLS 1.2 and 1.3 only.",
                            proxy.describe()
                        ),
                    )
                    .at(bind.location)
                    .help("clients limited to TLS 1.1 or older will fail the handshake: use 'ssl-min-ver TLSv1.2'"),
                );
            }
            let h2 = o
                .alpn
                .as_deref()
                .is_some_and(|a| a.split(',').any(|p| matches!(p.trim(), "h2" | "h3")));
            if h2 && proxy.mode() == Mode::Http {
                out.push(
                    Diagnostic::warning(
                        Category::Compatibility,
                        "tls-alpn-h2-dropped",
                        format!(
                            "{} : bind '{addr}' offers 'h2' by ALPN: Sluice speaks HTTP/1.1 to clients, so 'h2' is not offered.",
                            proxy.describe()
                        ),
                    )
                    .at(bind.location)
                    .help("clients negotiate http/1.1; write 'alpn http/1.1' to silence this"),
                );
            }
        }
    }
}

/// HAProxy verifies servers by default (`ssl-server-verify required`), and refuses a TLS
/// server without the CA file to verify it against.
fn servers(model: &Model, out: &mut Vec<Diagnostic>) {
    let last = model
        .global
        .other
        .iter()
        .rev()
        .find(|s| s.keyword() == "ssl-server-verify")
        .and_then(|s| s.words.get(1));
    let by_default = !matches!(last, Some(w) if w.text == "none");
    for proxy in model.proxies.iter().filter(|p| p.kind.is_backend()) {
        for server in &proxy.servers {
            let o = &server.options;
            let check_ssl = o
                .other
                .iter()
                .rev()
                .find(|(n, _, _)| n == "check-ssl" || n == "no-check-ssl")
                .is_some_and(|(n, _, _)| n == "check-ssl");
            let verify = o.verify.as_deref().map_or(by_default, |v| v == "required");
            if (o.ssl || check_ssl) && verify && o.ca_file.is_none() {
                out.push(
                    Diagnostic::error(
                        Category::Semantic,
                        "tls-server-verify-no-ca",
                        format!(
                            "{}, server '{}': verify is enabled by default but no CA file specified. If you're running on a LAN where you're certain to trust the server's certificate, please set an explicit 'verify none' statement on the 'server' line, or use 'ssl-server-verify none' in the global section to disable server-side verifications by default.",
                            proxy.describe(),
                            server.name
                        ),
                    )
                    .at(server.location)
                    .help("add 'ca-file <file>' with the CAs the server's certificate chains to, or 'verify none'"),
                );
            }
        }
    }
}

fn option<'b>(bind: &'b Bind, name: &str) -> Option<&'b str> {
    bind.options
        .other
        .iter()
        .rev()
        .find(|(n, _, _)| n == name)
        .and_then(|(_, v, _)| v.as_deref())
}
