use crate::common::*;
use sluice_config::Severity;
use sluice_preflight::{run, InitAddr, Inputs, Options, ServerRef};

fn server(host: &str, init_addr: Vec<InitAddr>) -> Inputs {
    Inputs {
        servers: vec![ServerRef {
            proxy: "be".into(),
            name: "s1".into(),
            host: host.into(),
            port: Some(80),
            init_addr,
            has_resolvers: false,
            location: loc(8),
        }],
        ..quiet()
    }
}

#[test]
fn unresolvable_server_is_an_error() {
    let diags = run(&server("nonexistent.invalid", vec![]), &options());
    let d = only(&diags, "server-unresolvable");
    assert_error(d);
    assert!(
        d.message
            .contains("'server be/s1' : could not resolve address 'nonexistent.invalid'"),
        "{}",
        d.message
    );
    assert!(d.os_error.is_some());
    assert!(d.help.as_deref().unwrap_or("").contains("init-addr"));
}

#[test]
fn unresolvable_server_is_a_warning_with_dr() {
    let opts = Options {
        resolve_failures_are_warnings: true,
        ..options()
    };
    let diags = run(&server("nonexistent.invalid", vec![]), &opts);
    let d = only(&diags, "server-unresolvable");
    assert_warning(d);
    assert!(d.message.ends_with("disabling server"), "{}", d.message);
}

#[test]
fn init_addr_none_never_fails() {
    let diags = run(
        &server(
            "nonexistent.invalid",
            vec![InitAddr::Last, InitAddr::Libc, InitAddr::None],
        ),
        &options(),
    );
    assert_warning(only(&diags, "server-unresolvable"));
    // `none` alone: no lookup, nothing to say.
    assert_codes(
        &run(
            &server("nonexistent.invalid", vec![InitAddr::None]),
            &options(),
        ),
        &[],
    );
}

#[test]
fn init_addr_fallback_ip_is_a_notice() {
    let diags = run(
        &server(
            "nonexistent.invalid",
            vec![InitAddr::Libc, InitAddr::Ip("10.0.0.1".parse().unwrap())],
        ),
        &options(),
    );
    assert_eq!(
        only(&diags, "server-fallback-address").severity,
        Severity::Notice
    );
}

#[test]
fn addresses_and_resolvable_names_pass() {
    assert_codes(&run(&server("127.0.0.1", vec![]), &options()), &[]);
    assert_codes(&run(&server("[::1]", vec![]), &options()), &[]);
    assert_codes(&run(&server("localhost", vec![]), &options()), &[]);
}
