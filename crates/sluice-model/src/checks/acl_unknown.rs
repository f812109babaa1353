//! `acl-unknown`: a condition names an ACL that is not declared before it in the proxy.

use crate::Model;
use sluice_config::{Category, Diagnostic};

/// ACLs HAProxy predefines (manual section 7.4).
const PREDEFINED: &[&str] = &[
    "FALSE",
    "HTTP",
    "HTTP_1.0",
    "HTTP_1.1",
    "HTTP_2.0",
    "HTTP_3.0",
    "HTTP_CONTENT",
    "HTTP_URL_ABS",
    "HTTP_URL_SLASH",
    "HTTP_URL_STAR",
    "LOCALHOST",
    "METH_CONNECT",
    "METH_DELETE",
    "METH_GET",
    "METH_HEAD",
    "METH_OPTIONS",
    "METH_POST",
    "METH_PUT",
    "METH_TRACE",
    "RDP_COOKIE",
    "REQ_CONTENT",
    "TRUE",
    "WAIT_END",
];

pub fn check(model: &Model, out: &mut Vec<Diagnostic>) {
    for proxy in model.proxies.iter().chain(&model.defaults) {
        for usage in &proxy.conditions {
            for (name, location) in usage.condition.references() {
                if PREDEFINED.contains(&name) || proxy.invalid_acls.iter().any(|n| n == name) {
                    continue;
                }
                let declared = proxy.acls.iter().filter(|a| a.name == name);
                if declared.clone().any(|a| a.location.line < location.line) {
                    continue;
                }
                let help = match declared.clone().next() {
                    Some(later) => format!(
                        "ACL '{name}' is declared at line {}, after this line: move the 'acl {name}' line above it",
                        later.location.line
                    ),
                    None => format!(
                        "declare it first, e.g. 'acl {name} path_beg /{name}', or fix the name"
                    ),
                };
                out.push(
                    Diagnostic::error(
                        Category::Semantic,
                        "acl-unknown",
                        format!(
                            "error detected in {} while parsing '{}' condition : no such ACL : '{name}'.",
                            proxy.describe(),
                            usage.keyword
                        ),
                    )
                    .at(location)
                    .help(help),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::build;

    #[test]
    fn undeclared_acl_is_reported_at_its_use() {
        let (_, codes) = build("frontend f\n  bind :80\n  use_backend b if is_api\nbackend b\n");
        assert!(codes.contains(&("acl-unknown", 3)), "{codes:?}");
    }

    #[test]
    fn predefined_acls_are_known() {
        let (_, codes) =
            build("frontend f\n  bind :80\n  use_backend b if METH_GET || TRUE\nbackend b\n");
        assert!(!codes.iter().any(|(c, _)| *c == "acl-unknown"), "{codes:?}");
    }
}
