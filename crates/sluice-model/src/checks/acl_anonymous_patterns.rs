//! `acl-pattern-suspicious` (`-dD` only) for anonymous ACLs (`if { path_beg /a && ... }`):
//! HAProxy looks at the patterns of every ACL expression; named ACLs are advised while their
//! line is read (`proxy::acl::parse_named`), the anonymous ones here, merged in file order.

use crate::proxy::acl::advise_patterns;
use crate::Model;
use sluice_config::{Diagnostic, Diagnostics};

pub fn check(model: &Model, out: &mut Vec<Diagnostic>) {
    let mut diags = Diagnostics::new();
    for proxy in model.proxies.iter().chain(&model.defaults) {
        for usage in &proxy.conditions {
            for acl in usage.condition.anonymous() {
                advise_patterns(acl, acl.location, &mut diags);
            }
        }
    }
    out.extend(diags);
}

#[cfg(test)]
mod tests {
    use crate::test_support::build_with;
    use crate::BuildOptions;

    #[test]
    fn anonymous_acl_patterns_in_diag_mode_only() {
        let text = "frontend f\n  use_backend b if { path_beg /a && path_beg /b }\n  http-request deny if { hdr(host) -i src }\n";
        let (_, codes) = build_with(
            text,
            &BuildOptions {
                diag_mode: true,
                ..BuildOptions::default()
            },
        );
        let hits: Vec<_> = codes
            .iter()
            .filter(|(c, _)| *c == "acl-pattern-suspicious")
            .collect();
        assert_eq!(
            hits,
            vec![
                &("acl-pattern-suspicious", 2),
                &("acl-pattern-suspicious", 2),
                &("acl-pattern-suspicious", 3)
            ]
        );
        let (_, codes) = build_with(text, &BuildOptions::default());
        assert!(!codes.iter().any(|(c, _)| *c == "acl-pattern-suspicious"));
    }
}
