use crate::common::*;
use sluice_preflight::{run, Inputs, ListenerRef, Located, Options};
use std::net::IpAddr;
use std::os::fd::AsRawFd;

fn listener(proxy: &str, ip: &str, port: u16, line: u32) -> ListenerRef {
    ListenerRef {
        proxy: proxy.into(),
        host: ip.into(),
        ip: ip.parse::<IpAddr>().ok(),
        port_low: port,
        port_high: port,
        transparent: false,
        freebind: false,
        udp: false,
        location: loc(line),
    }
}

fn with(listeners: Vec<ListenerRef>) -> Inputs {
    Inputs {
        listener_count: listeners.len(),
        listeners,
        ..quiet()
    }
}

#[test]
fn port_in_use_by_another_program_names_it_and_its_pid() {
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let diags = run(
        &with(vec![listener("fe", "127.0.0.1", port, 12)]),
        &options(),
    );
    let d = only(&diags, "bind-port-in-use");
    let pid = std::process::id().to_string();
    if is_root() {
        assert_error(d);
    }
    assert_eq!(d.os_error.as_deref(), Some("Address already in use"));
    assert!(d.message.contains(&pid), "{}", d.message);
    assert!(d.help.as_deref().unwrap_or("").contains(&pid), "{d:#?}");
}

#[test]
fn port_in_use_on_the_wildcard_is_found() {
    let held = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let diags = run(
        &with(vec![listener("fe", "127.0.0.1", port, 12)]),
        &options(),
    );
    only(&diags, "bind-port-in-use");
}

#[test]
fn free_port_passes() {
    let port = free_port();
    assert_codes(
        &run(
            &with(vec![listener("fe", "127.0.0.1", port, 12)]),
            &options(),
        ),
        &[],
    );
}

#[test]
fn non_local_address_is_an_error_unless_transparent() {
    if std::fs::read_to_string("/proc/sys/net/ipv4/ip_nonlocal_bind").is_ok_and(|v| v.trim() == "1")
    {
        eprintln!("skipped: net.ipv4.ip_nonlocal_bind=1 allows any address here");
        return;
    }
    let diags = run(
        &with(vec![listener("fe", "192.0.2.1", 18097, 12)]),
        &options(),
    );
    let d = only(&diags, "bind-address-not-local");
    assert_error(d);
    assert_eq!(
        d.os_error.as_deref(),
        Some("Cannot assign requested address")
    );
    assert!(d.help.as_deref().unwrap_or("").contains("transparent"));
    assert_codes(&diags, &["bind-address-not-local"]);

    let mut l = listener("fe", "192.0.2.1", 18097, 12);
    l.transparent = true;
    assert_codes(&run(&with(vec![l]), &options()), &[]);
}

#[test]
fn same_address_in_two_proxies_is_an_error() {
    let port = free_port();
    let diags = run(
        &with(vec![
            listener("fe1", "127.0.0.1", port, 12),
            listener("fe2", "127.0.0.1", port, 20),
        ]),
        &options(),
    );
    let d = only(&diags, "bind-duplicate");
    assert_error(d);
    assert_eq!(d.location, loc(20));
    assert!(d.message.contains("'fe1'"), "{}", d.message);
}

#[test]
fn privileged_port_without_capability_is_an_error() {
    let diags = run(
        &with(vec![listener("fe", "127.0.0.1", 80, 12)]),
        &unprivileged(),
    );
    let d = only(&diags, "bind-privileged-port");
    assert_error(d);
    assert!(d.message.contains("CAP_NET_BIND_SERVICE"), "{}", d.message);
}

#[test]
fn unresolvable_bind_host_is_an_error() {
    let mut l = listener("fe", "nonexistent.invalid", 8080, 12);
    l.ip = None;
    let diags = run(&with(vec![l]), &options());
    assert_error(only(&diags, "bind-address-unresolvable"));
}

fn with_fd(fd: i32) -> Inputs {
    Inputs {
        fd_listeners: vec![Located::new(fd, loc(14))],
        ..quiet()
    }
}

#[test]
fn fd_not_open_is_a_warning_in_check_mode_and_an_error_at_start() {
    let diags = run(&with_fd(987_654), &options());
    let d = only(&diags, "bind-fd-not-open");
    assert_warning(d);
    assert_eq!(d.os_error.as_deref(), Some("Bad file descriptor"));

    let at_start = Options {
        at_start: true,
        ..options()
    };
    assert_error(only(&run(&with_fd(987_654), &at_start), "bind-fd-not-open"));
}

#[test]
fn fd_that_is_a_file_is_not_a_socket() {
    let file = tempfile::tempfile().unwrap();
    let diags = run(&with_fd(file.as_raw_fd()), &options());
    assert_warning(only(&diags, "bind-fd-not-socket"));
}

#[test]
fn fd_that_is_a_socket_passes() {
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    assert_codes(&run(&with_fd(held.as_raw_fd()), &options()), &[]);
}

#[test]
fn same_address_twice_in_one_proxy_is_a_warning() {
    let port = free_port();
    let diags = run(
        &with(vec![
            listener("fe", "127.0.0.1", port, 12),
            listener("fe", "127.0.0.1", port, 13),
        ]),
        &options(),
    );
    assert_warning(only(&diags, "bind-duplicate"));
}
