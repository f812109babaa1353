//! The model built through the real reader: what a user sees for common configurations.

use sluice_config::{read_str, Diagnostic, ReadOptions, Severity};
use sluice_model::address::Port;
use sluice_model::{build, BuildOptions, Mode, Model, PathPurpose};

fn load(text: &str) -> (Model, Vec<Diagnostic>) {
    let (tree, read) = read_str("t.cfg", text, &ReadOptions::default());
    assert!(!read.has_errors(), "reader errors: {:?}", read.items);
    let (model, diags) = build(&tree, &BuildOptions::default());
    (model, diags.into_iter().collect())
}

fn errors(diags: &[Diagnostic]) -> Vec<(&'static str, u32)> {
    diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| (d.code, d.location.map_or(0, |l| l.line)))
        .collect()
}

const BASE: &str = "defaults\n    mode http\n    timeout client 30s\n    timeout connect 5s\n    timeout server 30s\n";

#[test]
fn a_typical_configuration_builds_without_diagnostics() {
    let text = format!(
        "global\n    maxconn 4096\n{BASE}\
         frontend web\n    bind :80\n    acl is_api path_beg /api\n    use_backend api if is_api\n    default_backend app\n\
         backend api\n    balance leastconn\n    server a1 10.0.0.1:8080 check inter 2s weight 10\n\
         backend app\n    server s1 10.0.0.2:80 check\n"
    );
    let (model, diags) = load(&text);
    assert!(diags.is_empty(), "{diags:?}");
    assert!(model.has_listener());
    let web = &model.proxies[0];
    assert_eq!(web.mode(), Mode::Http, "mode inherited from defaults");
    assert_eq!(web.binds[0].addresses[0].port, Port::Single(80));
    let api = model.backend("api").map(|b| &b.servers[0]);
    assert_eq!(
        api.and_then(|s| s.options.weight.map(|w| w.value)),
        Some(10)
    );
}

/// TLS is rustls's on listeners and to servers (`ssl verify none`); what rustls cannot express (cipher lists, `h2` on an HTTP/1.1 data plane)
/// is a warning, and a certificate named without `ssl` is still a file the preflight checks.
#[test]
fn tls_servers_are_accepted_and_unexpressible_tls_settings_ignored() {
    let text = format!(
        "global\n    crt-base /etc/ssl\n    ssl-default-bind-ciphers HIGH\n{BASE}\
         frontend web\n    bind :443 ssl crt site.pem alpn h2\n    bind :8443 crt other.pem\n    default_backend app\n\
         backend app\n    server s1 10.0.0.2:443 ssl verify none\n"
    );
    let (model, diags) = load(&text);
    assert_eq!(errors(&diags), vec![]);
    let warned: Vec<u32> = diags
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .map(|d| d.location.map_or(0, |l| l.line))
        .collect();
    // The cipher list is rustls's; `h2` is not offered by an HTTP/1.1 data plane.
    assert_eq!(warned, vec![3, 10], "{diags:?}");
    let paths = model.referenced_paths();
    let certs: Vec<&str> = paths
        .iter()
        .filter(|p| p.purpose == PathPurpose::Certificate)
        .map(|p| p.path.as_str())
        .collect();
    assert_eq!(certs, ["/etc/ssl/site.pem", "/etc/ssl/other.pem"]);
}

#[test]
fn address_on_a_listen_line_gives_one_error_and_the_section_is_still_read() {
    let text =
        format!("{BASE}listen stats 0.0.0.0:8080\n    stats enable\n    server s 10.0.0.1:80\n");
    let (model, diags) = load(&text);
    assert_eq!(errors(&diags), vec![("header-address", 6)]);
    let help = diags
        .first()
        .and_then(|d| d.help.clone())
        .unwrap_or_default();
    assert!(help.contains("bind 0.0.0.0:8080"), "{help}");
    assert_eq!(model.proxies[0].servers.len(), 1);
}

#[test]
fn removed_and_misspelled_keywords() {
    let (_, diags) = load("global\n    chrot /var/empty\nbackend b\n    contimeout 5000\n");
    assert_eq!(
        errors(&diags),
        vec![("keyword-unknown", 2), ("keyword-removed", 4)]
    );
    assert_eq!(diags[0].replacement.as_deref(), Some("chroot"));
}

#[test]
fn named_defaults_and_from() {
    let text = "defaults tcpdef\n    mode tcp\n    timeout client 1s\ndefaults\n    mode http\n\
                frontend f from tcpdef\n    bind :80\nfrontend g from nosuch\n    bind :81\n";
    let (model, diags) = load(text);
    assert_eq!(model.proxies[0].mode(), Mode::Tcp);
    assert!(model.proxies[0].timeouts.is_set("client"));
    assert_eq!(errors(&diags), vec![("defaults-unknown", 8)]);
}

#[test]
fn duplicate_global_settings_are_warnings() {
    let (model, diags) =
        load("global\n    user haproxy\n    uid 99\n    maxconn 10\n    maxconn 20\n");
    let warnings: Vec<_> = diags
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .map(|d| d.location.map_or(0, |l| l.line))
        .collect();
    assert_eq!(warnings, vec![3, 5]);
    assert_eq!(model.global.maxconn.map(|m| m.value), Some(10));
}

#[test]
fn bad_values_point_at_their_line() {
    let long = format!("/run/{}/admin.sock", "x".repeat(100));
    let text = format!(
        "global\n    stats socket {long} mode 600 level admin\n{BASE}\
         frontend f\n    bind :92000\n    acl ok src nginx-admin!\n\
         backend b\n    option httpchk HEAD / HTTP/1.1\\r\\nHost:x\n    server s 10.0.0.1:80 weight 300\n"
    );
    let (_, diags) = load(&text);
    assert_eq!(
        errors(&diags),
        vec![
            ("unix-path-too-long", 2),
            ("address-invalid", 9),
            ("acl-pattern-invalid", 10),
            ("httpchk-hidden-headers", 12),
            ("server-weight-out-of-range", 13),
        ]
    );
}

#[test]
fn trailing_junk_after_a_time_unit_is_a_warning() {
    let (model, diags) = load("defaults\n    timeout client 15min\n");
    assert!(errors(&diags).is_empty());
    assert_eq!(diags.first().map(|d| d.code), Some("time-trailing-junk"));
    let client = model.defaults[0]
        .timeouts
        .get("client")
        .map(|t| t.value.as_secs());
    assert_eq!(client, Some(900));
}

#[test]
fn nothing_listens_without_an_enabled_bind() {
    let (model, _) = load("frontend f\n    disabled\n    bind :80\nbackend b\n");
    assert!(!model.has_listener());
    let (model, _) = load("peers p\n    peer a 127.0.0.1:1024\n");
    assert!(model.has_listener());
}

/// `proxy-v2-options`, `set-proxy-v2-tlv-fmt(<id>)` (a `default-server` one too, and one
/// without a format at the end of the line) and `accept-netscaler-cip`; bad values are
/// errors on their line.
#[test]
fn proxy_v2_options_custom_tlvs_and_netscaler_cip() {
    let text = format!(
        "{BASE}frontend fe\n    bind :80 accept-netscaler-cip 305419896\n    default_backend be\n\
         backend be\n    default-server send-proxy-v2 set-proxy-v2-tlv-fmt(0xE1) %[str(a)]\n    \
         server s1 10.0.0.1:80 proxy-v2-options unique-id,cert-cn,crc32c set-proxy-v2-tlv-fmt(226)\n"
    );
    let (model, diags) = load(&text);
    assert_eq!(errors(&diags), vec![]);
    assert_eq!(
        model.proxies[0].binds[0].options.accept_netscaler_cip,
        Some(0x1234_5678)
    );
    let s = &model.backend("be").expect("backend").servers[0].options;
    assert!(s.send_proxy_v2);
    let o = s.proxy_v2_options;
    assert!(o.unique_id && o.cert_cn && o.crc32c);
    assert!(o.ssl, "cert-cn implies ssl");
    assert!(!o.authority);
    let tlvs: Vec<(u8, &str)> = s
        .proxy_v2_tlvs
        .iter()
        .map(|(k, f)| (*k, f.value.as_str()))
        .collect();
    assert_eq!(tlvs, vec![(0xE1, "%[str(a)]"), (0xE2, "")]);

    for (bad, line) in [
        ("server s1 10.0.0.1:80 proxy-v2-options unique-id,nope", 10),
        ("server s1 10.0.0.1:80 set-proxy-v2-tlv-fmt(256) x", 10),
        ("server s1 10.0.0.1:80 set-proxy-v2-tlv-fmt(zz) x", 10),
    ] {
        let text = format!(
            "{BASE}frontend fe\n    bind :80\n    default_backend be\nbackend be\n    {bad}\n"
        );
        let (_, diags) = load(&text);
        let found = errors(&diags);
        assert!(found.iter().any(|(_, l)| *l == line), "{bad}: {found:?}");
    }
    let text = format!("{BASE}frontend fe\n    bind :80 accept-netscaler-cip 0\n");
    let (_, diags) = load(&text);
    assert!(!errors(&diags).is_empty(), "a zero magic number is refused");
}

#[test]
fn server_template_declares_one_server_per_number() {
    let (model, diags) = load(
        "resolvers dns\n    nameserver ns1 127.0.0.1:53\n    hold nx 5s\n\
         backend b\n    mode http\n    default-server init-addr none\n\
         \x20   server-template web 3 app.test:8080 resolvers dns check\n\
         \x20   server-template api 5-6 api.test:81\n",
    );
    assert!(errors(&diags).is_empty(), "{diags:?}");
    let b = model.backend("b").expect("backend b");
    let names: Vec<&str> = b.servers.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["web1", "web2", "web3", "api5", "api6"]);
    let web2 = &b.servers[1];
    assert_eq!(web2.address.port, Port::Single(8080));
    assert!(web2.options.check);
    assert_eq!(
        web2.options.resolvers.as_ref().map(|r| r.value.as_str()),
        Some("dns")
    );
    assert_eq!(
        web2.options.init_addr.as_ref().map(|i| i.value.as_str()),
        Some("none")
    );
}

#[test]
fn server_template_and_resolvers_mistakes_point_at_their_line() {
    let (_, diags) = load(
        "resolvers dns\n    nameserver ns1 127.0.0.1:53\n    hold later 5s\n    timeout query 1s\n\
         \x20   accepted_payload_size 100\n\
         backend b\n    server-template web 3-1 app.test:80\n    server-template api\n",
    );
    let found = errors(&diags);
    for line in [3, 4, 5, 7, 8] {
        assert!(
            found.iter().any(|(_, l)| *l == line),
            "line {line}: {found:?}"
        );
    }
}
