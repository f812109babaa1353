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

/// haproxy/haproxy examples/mptcp.cfg: `bind mptcp@[::]:5000` and `server s mptcp@[::]:4331`.
/// The `mptcp@`, `mptcp4@`, `mptcp6@` (and `ip@`) prefixes are in the 3.4 manual, section 2.9;
/// an unknown prefix is still refused.
#[test]
fn mptcp_and_ip_address_prefixes() {
    for (bind, server) in [
        ("mptcp@[::]:5000", "mptcp@[::]:4331"),
        ("mptcp4@0.0.0.0:5000", "mptcp4@10.0.0.2:80"),
        ("mptcp6@[::]:5000", "mptcp6@[::1]:80"),
        ("ip@:5000", "ip@10.0.0.2:80"),
    ] {
        let text = format!(
            "defaults\n    mode http\n    timeout client 30s\n    timeout connect 5s\n    timeout server 30s\n\
             frontend fe\n    bind {bind}\n    default_backend app\n\
             backend app\n    server s1 {server}\n"
        );
        let errors = language_errors(&text);
        assert!(errors.is_empty(), "{bind} / {server}: {errors:?}");
    }
    let text = frontend("    bind sctp@:5001");
    let errors = language_errors(&text);
    assert!(
        errors.iter().any(|d| d.code == "address-invalid"),
        "{errors:?}"
    );
}

/// thomasdarimont/keycloak-project-example: `server kc1 acme-keycloak-1:8443/auth ssl ...`.
/// HAProxy reads ports with `atoi()` (`str2sa_range()`), so the text after the digits is
/// ignored and a server port 0 means "no port"; a port that does not start with a digit (an
/// unquoted `$PORT`) is refused, as HAProxy does.
#[test]
fn server_port_with_trailing_text_is_read_like_atoi() {
    let backend = |server: &str| {
        format!(
            "defaults\n    mode http\n    timeout client 30s\n    timeout connect 5s\n    timeout server 30s\n\
             frontend fe\n    bind :80\n    default_backend app\n\
             backend app\n    {server}\n"
        )
    };
    for server in [
        "server kc1 acme-keycloak-1:8443/auth ssl verify none check cookie kc1",
        "server kc2 acme-keycloak-2:8080/auth check cookie kc2",
        "server s0 10.0.0.2:0",
    ] {
        let errors = language_errors(&backend(server));
        assert!(errors.is_empty(), "{server}: {errors:?}");
    }
    for server in ["server a1 app1:$PORT check", "server a2 app1:99999/x"] {
        let errors = language_errors(&backend(server));
        assert!(
            errors.iter().any(|d| d.code == "address-invalid"),
            "{server}: {errors:?}"
        );
    }
}

/// AirVantage/pointsman: `bind *:$PORT` without quotes. HAProxy's address parser expands
/// `$NAME` and `${NAME}` itself; Sluice does it with the environment left by the reader.
#[test]
fn variables_in_unquoted_addresses_are_expanded() {
    let text = "global\n    setenv BE_PORT 9000\n\
                defaults\n    mode http\n    timeout client 30s\n    timeout connect 5s\n    timeout server 30s\n\
                frontend fe\n    bind *:$PORT\n    default_backend app\n\
                backend app\n    server s1 10.0.0.2:${BE_PORT}\n";
    let mut env = sluice_config::Environment::empty();
    env.set("PORT", "8080");
    let mut sources = sluice_config::SourceMap::new();
    sources.add("t.cfg", text.as_bytes().to_vec());
    let (tree, read) = sluice_config::read_config(&sources, &mut env, &ReadOptions::default());
    assert!(read.is_empty(), "{:?}", read.items);
    let options = BuildOptions {
        env: Some(env),
        ..BuildOptions::default()
    };
    let (model, diags) = build(&tree, &options);
    assert!(!diags.has_errors(), "{:?}", diags.items);
    let bind = &model.proxies[0].binds[0].addresses[0];
    assert_eq!(bind.port_number(), Some(8080));
    let server = &model.proxies[1].servers[0].address;
    assert_eq!(server.port_number(), Some(9000));

    // Unset: the address is reported as written, at its line.
    let errors = language_errors(text);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].message.contains("'$PORT'"), "{:?}", errors[0]);
}
