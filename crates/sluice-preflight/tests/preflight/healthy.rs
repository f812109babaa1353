use crate::common::*;
use sluice_preflight::{
    run, FilePurpose, FileRef, InitAddr, Inputs, ListenerRef, Located, LogTarget, LogTargetRef,
    ServerRef, SocketPurpose, UnixSocketRef,
};

/// Everything exists, every port is free, every name resolves: not a single diagnostic.
#[test]
fn healthy_configuration_produces_no_diagnostic() {
    let tmp = tempfile::tempdir().unwrap();
    chmod(tmp.path(), 0o755);
    let jail = tmp.path().join("jail");
    let run_dir = tmp.path().join("run");
    for dir in [&jail, &run_dir] {
        std::fs::create_dir(dir).unwrap();
        chmod(dir, 0o755);
    }
    let cert = tmp.path().join("site.pem");
    std::fs::write(&cert, format!("{CERT}{KEY}")).unwrap();
    let errorfile = tmp.path().join("503.http");
    std::fs::write(&errorfile, "HTTP/1.0 503 Service Unavailable\r\n\r\n").unwrap();
    let acl = tmp.path().join("blocked.lst");
    std::fs::write(&acl, "10.0.0.0/8\n").unwrap();
    let port = free_port();

    let mut inputs = Inputs {
        global_location: loc(1),
        pidfile: Some(Located::new(run_dir.join("haproxy.pid"), loc(4))),
        unix_sockets: vec![UnixSocketRef {
            path: run_dir.join("admin.sock"),
            purpose: SocketPurpose::StatsSocket,
            location: loc(5),
        }],
        files: vec![
            FileRef::new(FilePurpose::Certificate, &cert, loc(12)),
            FileRef::new(FilePurpose::ErrorFile, &errorfile, loc(13)),
            FileRef::new(FilePurpose::PatternFile, &acl, loc(14)),
        ],
        listeners: vec![ListenerRef {
            proxy: "fe".into(),
            host: "127.0.0.1".into(),
            ip: Some("127.0.0.1".parse().unwrap()),
            port_low: port,
            port_high: port,
            transparent: false,
            freebind: false,
            udp: false,
            location: loc(11),
        }],
        servers: vec![
            ServerRef {
                proxy: "be".into(),
                name: "s1".into(),
                host: "127.0.0.1".into(),
                port: Some(8080),
                init_addr: vec![],
                has_resolvers: false,
                location: loc(20),
            },
            ServerRef {
                proxy: "be".into(),
                name: "s2".into(),
                host: "localhost".into(),
                port: Some(8080),
                init_addr: vec![InitAddr::Last, InitAddr::Libc, InitAddr::None],
                has_resolvers: false,
                location: loc(21),
            },
        ],
        log_targets: vec![LogTargetRef {
            target: LogTarget::Network {
                host: "127.0.0.1".into(),
            },
            location: loc(6),
        }],
        maxconn: Some(Located::new(1000, loc(3))),
        listener_count: 2,
        ..Inputs::default()
    };
    if is_root() {
        inputs.chroot = Some(Located::new(jail.clone(), loc(2)));
        match nobody() {
            Some((user, group)) => {
                inputs.user = Some(Located::new(user, loc(7)));
                inputs.group = Some(Located::new(group, loc(8)));
            }
            None => {
                eprintln!("no 'nobody' user: the healthy run keeps uid 0");
                inputs.uid = Some(Located::new("0".into(), loc(7)));
            }
        }
    }
    let diags = run(&inputs, &options());
    assert_codes(&diags, &[]);
}
