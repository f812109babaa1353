use super::{inputs_from_model, CommandLineFacts};
use crate::inputs::{FilePurpose, InitAddr, Inputs, LogTarget, SocketPurpose};
use sluice_config::{read_config, Environment, ReadOptions, SourceMap};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// Reads `files` (name, text) with `env` set and adapts the model.
fn adapt_with(files: &[(&str, &str)], env: &[(&str, &str)], extra: &CommandLineFacts) -> Inputs {
    let mut sources = SourceMap::new();
    for (name, text) in files {
        sources.add(*name, text.as_bytes().to_vec());
    }
    let mut environment = Environment::empty();
    for (name, value) in env {
        environment.set(*name, *value);
    }
    let (tree, diags) = read_config(&sources, &mut environment, &ReadOptions::default());
    assert!(!diags.has_errors(), "{:?}", diags.items);
    let (model, diags) = sluice_model::build(&tree, &Default::default());
    // What Sluice does not run yet (compatibility) does not matter to the adapter.
    let language_errors = diags
        .iter()
        .any(|d| d.is_error() && d.category != sluice_config::Category::Compatibility);
    assert!(!language_errors, "{:?}", diags.items);
    inputs_from_model(&model, &sources, extra)
}

fn adapt(text: &str) -> Inputs {
    adapt_with(&[("h.cfg", text)], &[], &CommandLineFacts::default())
}

#[test]
fn global_settings_and_their_lines() {
    let inputs = adapt(
        "global\n    chroot /var/empty\n    user nobody\n    gid 65534\n    pidfile /run/h.pid\n    maxconn 100\n    ulimit-n 4096\n",
    );
    assert_eq!(inputs.global_location.map(|l| l.line), Some(1));
    let chroot = inputs.chroot.expect("chroot");
    assert_eq!(chroot.value, PathBuf::from("/var/empty"));
    assert_eq!(chroot.location.map(|l| l.line), Some(2));
    assert_eq!(inputs.user.map(|u| u.value), Some("nobody".to_string()));
    assert_eq!(inputs.gid.map(|g| g.value), Some("65534".to_string()));
    assert_eq!(
        inputs.pidfile.map(|p| p.value),
        Some(PathBuf::from("/run/h.pid"))
    );
    assert_eq!(inputs.maxconn.map(|m| m.value), Some(100));
    assert_eq!(inputs.ulimit_n.map(|u| u.value), Some(4096));
}

#[test]
fn user_keeps_the_text_before_expansion() {
    let inputs = adapt_with(
        &[("h.cfg", "global\n    user \"$RUN_AS\"\n")],
        &[("RUN_AS", "nobody")],
        &CommandLineFacts::default(),
    );
    let user = inputs.user.expect("user");
    assert_eq!(user.value, "nobody");
    assert_eq!(user.written.as_deref(), Some("\"$RUN_AS\""));
}

#[test]
fn command_line_pidfile_and_maxconn_win() {
    let extra = CommandLineFacts {
        pidfile: Some(PathBuf::from("/tmp/cli.pid")),
        master_cli: vec!["/run/master.sock".into(), "127.0.0.1:9999".into()],
        maxconn: Some(7),
    };
    let inputs = adapt_with(
        &[("h.cfg", "global\n    pidfile /run/h.pid\n    maxconn 100\n")],
        &[],
        &extra,
    );
    let pidfile = inputs.pidfile.expect("pidfile");
    assert_eq!(pidfile.value, PathBuf::from("/tmp/cli.pid"));
    assert_eq!(pidfile.location, None);
    assert_eq!(
        inputs.maxconn.map(|m| (m.value, m.location)),
        Some((7, None))
    );
    let master = &inputs.unix_sockets[0];
    assert_eq!(master.purpose, SocketPurpose::MasterCli);
    assert_eq!(master.path, PathBuf::from("/run/master.sock"));
    assert_eq!(inputs.listeners[0].proxy, "MASTER");
    assert_eq!(inputs.listeners[0].port_low, 9999);
}

const PROXIES: &str = "global
    stats socket /run/haproxy/admin.sock mode 600 level admin
resolvers dns
    nameserver ns1 127.0.0.1:53
defaults
    mode http
    timeout client 5s
    timeout connect 5s
    timeout server 5s
    errorfile 503 /e/503.http
frontend web
    bind 192.0.2.55:8000-8002 transparent
    bind :::443 freebind ssl crt /c/site.pem
    bind unix@web.sock
    bind fd@7
    acl blocked src -f /acl/blocked.lst
    http-request set-header X-Back %[req.hdr(host),lower,map_dom(/maps/hosts.map,none)]
    use_backend %[req.hdr(host),map(/maps/backends.map,app)]
    default_backend app
frontend off
    disabled
    bind 127.0.0.1:9000
backend app
    server a app.internal:8080 check init-addr last,libc,none resolvers dns
    server b 10.0.0.2:8080 check disabled
";

#[test]
fn listeners_sockets_and_descriptors() {
    let inputs = adapt(PROXIES);
    let ip: Vec<_> = inputs
        .listeners
        .iter()
        .map(|l| {
            (
                l.proxy.as_str(),
                l.host.as_str(),
                l.ip,
                l.port_low,
                l.port_high,
                l.transparent,
                l.freebind,
            )
        })
        .collect();
    let any6: IpAddr = "::".parse().unwrap();
    assert_eq!(
        ip,
        [
            (
                "web",
                "192.0.2.55",
                Some("192.0.2.55".parse().unwrap()),
                8000,
                8002,
                true,
                false
            ),
            ("web", "::", Some(any6), 443, 443, false, true),
        ],
        "the disabled proxy binds nothing"
    );
    let sockets: Vec<_> = inputs
        .unix_sockets
        .iter()
        .map(|s| (s.path.clone(), s.purpose, s.location.map(|l| l.line)))
        .collect();
    assert_eq!(
        sockets,
        [
            (
                PathBuf::from("/run/haproxy/admin.sock"),
                SocketPurpose::StatsSocket,
                Some(2)
            ),
            (PathBuf::from("web.sock"), SocketPurpose::Bind, Some(14)),
        ]
    );
    assert_eq!(
        inputs
            .fd_listeners
            .iter()
            .map(|f| f.value)
            .collect::<Vec<_>>(),
        [7]
    );
    // 3 ports + 1 + the stats socket + the unix bind + fd@7
    assert_eq!(inputs.listener_count, 7);
}

#[test]
fn files_read_while_parsing() {
    let inputs = adapt(PROXIES);
    let files: Vec<_> = inputs
        .files
        .iter()
        .map(|f| (f.purpose, f.path.to_string_lossy().into_owned()))
        .collect();
    for expected in [
        (FilePurpose::ErrorFile, "/e/503.http"),
        (FilePurpose::Certificate, "/c/site.pem"),
        (FilePurpose::PatternFile, "/acl/blocked.lst"),
        (FilePurpose::MapFile, "/maps/hosts.map"),
        (FilePurpose::MapFile, "/maps/backends.map"),
    ] {
        assert!(
            files.contains(&(expected.0, expected.1.to_string())),
            "{expected:?} not in {files:?}"
        );
    }
    // The defaults' errorfile is inherited by three proxies but named by one line.
    assert_eq!(
        files.iter().filter(|f| f.1 == "/e/503.http").count(),
        1,
        "{files:?}"
    );
}

#[test]
fn servers_with_init_addr_and_checks() {
    let inputs = adapt(PROXIES);
    let a = &inputs.servers[0];
    assert_eq!((a.proxy.as_str(), a.name.as_str()), ("app", "a"));
    assert_eq!((a.host.as_str(), a.port), ("app.internal", Some(8080)));
    assert_eq!(
        a.init_addr,
        [InitAddr::Last, InitAddr::Libc, InitAddr::None]
    );
    assert!(a.has_resolvers);
    assert_eq!(inputs.servers.len(), 2, "disabled servers are resolved too");
    assert_eq!(inputs.check_count, 1, "a disabled server runs no check");
}

#[test]
fn log_targets_of_global_and_proxies() {
    let inputs = adapt(
        "global\n    log /dev/log local0\n    log logs.example:514 local1\n    log stdout format raw local0\ndefaults\n    log global\n    log 127.0.0.1 local2\nfrontend f\n    bind :80\nbackend b\n",
    );
    let targets: Vec<_> = inputs
        .log_targets
        .iter()
        .map(|t| t.target.clone())
        .collect();
    assert_eq!(
        targets,
        [
            LogTarget::Unix(PathBuf::from("/dev/log")),
            LogTarget::Network {
                host: "logs.example".into()
            },
            LogTarget::Other,
            LogTarget::Network {
                host: "127.0.0.1".into()
            },
        ]
    );
}

#[test]
fn default_path_config_resolves_from_each_file() {
    let inputs = adapt_with(
        &[
            ("etc/a.cfg", "global\n    default-path config\n"),
            (
                "conf.d/b.cfg",
                "frontend f\n    mode http\n    bind :80\n    errorfile 503 errors/503.http\n    timeout client 5s\n",
            ),
        ],
        &[],
        &CommandLineFacts::default(),
    );
    assert_eq!(inputs.files[0].path, Path::new("conf.d/errors/503.http"));
}

#[test]
fn default_path_applies_only_after_its_line() {
    let text = "backend one\n    errorfile 503 before.http\nglobal\n    default-path origin /srv/h\nbackend two\n    errorfile 503 after.http\n";
    let inputs = adapt_with(&[("h.cfg", text)], &[], &CommandLineFacts::default());
    let paths: Vec<_> = inputs.files.iter().map(|f| f.path.clone()).collect();
    assert_eq!(
        paths,
        [
            PathBuf::from("before.http"),
            PathBuf::from("/srv/h/after.http")
        ]
    );
}

#[test]
fn server_state_file_only_when_a_backend_loads_it() {
    let base = "global\n    server-state-file /var/lib/h/state\n";
    assert!(adapt(base).files.is_empty());
    let used = format!("{base}defaults\n    load-server-state-from-file global\n");
    let files = adapt(&used).files;
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].purpose, FilePurpose::ServerStateFile);
}
