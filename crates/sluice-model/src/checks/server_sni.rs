//! `not-implemented-ignored` for `sni <expr>`: Sluice's TLS connector evaluates only
//! `str(<name>)`, `req.hdr(<name>)`, `hdr(<name>)`, `req.fhdr(<name>)` and `ssl_fc_sni`
//! (`sluice-proxy`'s `tls::connector::Sni::parse`); for anything else it sends no SNI, which
//! must not happen silently.

use crate::Model;
use sluice_config::{Category, Diagnostic};

pub fn check(model: &Model, out: &mut Vec<Diagnostic>) {
    for proxy in model.proxies.iter().filter(|p| p.kind.is_backend()) {
        for server in proxy.servers.iter().filter(|s| s.options.ssl) {
            let (Some(expr), Some(location)) = (&server.options.sni, server.options.sni_location)
            else {
                continue;
            };
            if evaluated(expr) {
                continue;
            }
            out.push(
                Diagnostic::warning(
                    Category::Compatibility,
                    "not-implemented-ignored",
                    format!(
                        "{}, server '{}' : 'sni {expr}' is not evaluated by Sluice: the server will be contacted without SNI.",
                        proxy.describe(),
                        server.name
                    ),
                )
                .at(location)
                .help("Sluice evaluates 'sni str(<name>)', 'sni req.hdr(<name>)' (also 'hdr', 'req.fhdr') and 'sni ssl_fc_sni', without converters"),
            );
        }
    }
}

/// Whether the data plane gives `expr` a value (the forms `Sni::parse` accepts).
fn evaluated(expr: &str) -> bool {
    let expr = expr.trim();
    let call = |name: &str| {
        expr.strip_prefix(name)
            .and_then(|r| r.strip_prefix('('))
            .and_then(|r| r.strip_suffix(')'))
            // `req.hdr(a),lower(b)` ends with `)` too: a converter, not a header name.
            .filter(|inner| !inner.contains(['(', ')']))
    };
    if let Some(name) = call("str") {
        return is_server_name(name);
    }
    let header = ["req.hdr", "hdr", "req.fhdr"]
        .iter()
        .filter_map(|f| call(f))
        .any(|args| !args.split(',').next().unwrap_or("").trim().is_empty());
    header || matches!(expr, "ssl_fc_sni" | "ssl_fc_sni()")
}

/// What rustls accepts as a server name: an IP address, or a DNS name (labels of letters,
/// digits, `-` and `_`, at most 63 bytes, not starting or ending with `-`; at most 253
/// bytes; an optional final dot; a last label that is not a number).
fn is_server_name(name: &str) -> bool {
    if name.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    if name.is_empty() || name.len() > 253 {
        return false;
    }
    let labels: Vec<&str> = name.strip_suffix('.').unwrap_or(name).split('.').collect();
    let label_ok = |l: &&str| {
        (1..=63).contains(&l.len())
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
    };
    labels.iter().all(label_ok)
        && labels
            .last()
            .is_some_and(|l| !l.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::evaluated;
    use crate::test_support::build;

    #[test]
    fn the_forms_the_data_plane_evaluates() {
        for expr in [
            "str(example.com)",
            "str(10.0.0.1)",
            "req.hdr(host)",
            "hdr(Host,1)",
            "req.fhdr(x-sni)",
            "ssl_fc_sni",
        ] {
            assert!(evaluated(expr), "{expr}");
        }
        for expr in [
            "req.hdr(host),lower",
            "var(txn.sni)",
            "str()",
            "str(bad name)",
            "str(-x.com)",
            "hdr()",
            "fc_pp_authority",
        ] {
            assert!(!evaluated(expr), "{expr}");
        }
    }

    #[test]
    fn an_unevaluated_sni_on_a_tls_server_is_a_warning_at_the_sni_word() {
        let text = "backend b\n  server a 10.0.0.1:443 ssl verify none sni req.hdr(host),lower\n  server c 10.0.0.2:443 ssl verify none sni str(example.com)\n  server d 10.0.0.3:80 sni var(txn.x)\n";
        let (_, codes) = build(text);
        let hits: Vec<_> = codes
            .iter()
            .filter(|(c, _)| *c == "not-implemented-ignored")
            .collect();
        assert_eq!(hits, vec![&("not-implemented-ignored", 2)]);
    }
}
