//! Lines from real-world configurations (a second campaign over unseen files) that HAProxy 3.4
//! accepts: the model must not report a syntax or semantic error on them; where relevant, a
//! genuinely wrong variant still gets one.

use sluice_config::{read_str, Category, Diagnostic, ReadOptions, Severity};
use sluice_model::{build, BuildOptions};

fn language_errors(text: &str) -> Vec<Diagnostic> {
    let (tree, read) = read_str("t.cfg", text, &ReadOptions::default());
    let (_, diags) = build(&tree, &BuildOptions::default());
    read.items
        .into_iter()
        .chain(diags)
        .filter(|d| {
            d.severity == Severity::Error
                && matches!(d.category, Category::Syntax | Category::Semantic)
        })
        .collect()
}

fn frontend(body: &str) -> String {
    format!(
        "defaults\n    mode http\n    timeout client 30s\n    timeout connect 5s\n    timeout server 30s\n\
         frontend fe\n    bind :80\n{body}\n    default_backend app\n\
         backend app\n    server s1 10.0.0.2:80\n"
    )
}

/// RousselTM/haproxy-formation: `acl allowed_monitors src nginx-admin 172.20.0.5`. HAProxy
/// resolves host names in IP patterns while starting (`str2net()`), so whether it is accepted
/// depends on the machine's resolver, not on the language.
#[test]
fn host_name_in_an_ip_acl_is_not_a_language_error() {
    for line in [
        "    acl allowed_monitors src nginx-admin 172.20.0.5",
        "    acl lan src gateway.local/24",
        "    acl x src_is_local localhost",
    ] {
        let text = frontend(&format!(
            "{line}\n    http-request deny if !{{ always_true }}"
        ));
        let errors = language_errors(&text);
        assert!(errors.is_empty(), "{line}: {errors:?}");
    }
    // Text that cannot be an address nor a host name is still rejected, as HAProxy does.
    for line in ["    acl a src bad_name!", "    acl a src 10.0.0.1:80"] {
        let errors = language_errors(&frontend(line));
        assert!(
            errors.iter().any(|d| d.code == "acl-pattern-invalid"),
            "{line}: {errors:?}"
        );
    }
}
