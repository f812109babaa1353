//! IP `bind` lines (R5.7): the address is on this host, the port is free, a privileged port
//! can be bound, and two proxies do not bind the same address.
//!
//! The probes `bind(2)` a fresh socket with `SO_REUSEADDR` and close it without `listen(2)`:
//! nothing is reserved and no connection can arrive on it.

use crate::identity::Capability;
use crate::inputs::ListenerRef;
use crate::owner::{self, Owner};
use crate::report::Report;
use crate::unix_sockets::describe_owners;
use crate::Context;
use nix::errno::Errno;
use nix::sys::socket::{
    bind, setsockopt, socket, sockopt, AddressFamily, SockFlag, SockType, SockaddrIn, SockaddrIn6,
};
use sluice_config::{Category, Diagnostic};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::os::fd::AsRawFd;

/// A port range is probed up to this many ports; beyond, the first ones stand for the rest.
const MAX_PROBED_PORTS: u32 = 256;

pub(crate) fn check(ctx: &Context, report: &mut Report) {
    // (ip, port, udp) -> proxy that binds it first
    let mut seen: HashMap<(IpAddr, u16, bool), &str> = HashMap::new();
    for listener in &ctx.inputs.listeners {
        let Some(ip) = address(listener, report) else {
            continue;
        };
        let shown = show(listener, ip);
        if !ip.is_unspecified() && !address_is_local(listener, ip, &shown, report) {
            continue;
        }
        check_privileged(ctx, listener, &shown, report);
        if duplicate(&mut seen, listener, ip, &shown, report) {
            continue;
        }
        check_ports(listener, ip, &shown, report);
    }
}

/// The address to probe: the caller's, the wildcard, or the host name resolved here.
fn address(listener: &ListenerRef, report: &mut Report) -> Option<IpAddr> {
    if let Some(ip) = listener.ip {
        return Some(ip);
    }
    let host = listener.host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || host == "*" {
        return Some(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Some(ip);
    }
    match (host, 0u16).to_socket_addrs() {
        Ok(mut addrs) => match addrs.next() {
            Some(addr) => Some(addr.ip()),
            None => {
                unresolvable(listener, None, report);
                None
            }
        },
        Err(err) => {
            unresolvable(listener, Some(&err), report);
            None
        }
    }
}

fn unresolvable(listener: &ListenerRef, err: Option<&std::io::Error>, report: &mut Report) {
    let mut diag = Diagnostic::error(
        Category::Environment,
        "bind-address-unresolvable",
        format!(
            "'bind {}' : cannot resolve address '{}'",
            listener.host, listener.host
        ),
    )
    .at_opt(listener.location)
    .help("write the IP address, or make the name resolve (/etc/hosts)");
    if let Some(err) = err {
        diag = diag.os_error(err);
    }
    report.haproxy(diag);
}

fn show(listener: &ListenerRef, ip: IpAddr) -> String {
    let ports = if listener.port_low == listener.port_high {
        listener.port_low.to_string()
    } else {
        format!("{}-{}", listener.port_low, listener.port_high)
    };
    match ip {
        IpAddr::V6(v6) => format!("[{v6}]:{ports}"),
        IpAddr::V4(v4) => format!("{v4}:{ports}"),
    }
}

/// Binds `ip:0`: `EADDRNOTAVAIL` means the address is not on this host.
fn address_is_local(listener: &ListenerRef, ip: IpAddr, shown: &str, report: &mut Report) -> bool {
    let Err(errno) = probe(ip, 0, listener.udp) else {
        return true;
    };
    if errno == Errno::EADDRNOTAVAIL
        && (listener.transparent || listener.freebind || nonlocal_bind_allowed(ip))
    {
        return true;
    }
    let err = std::io::Error::from(errno);
    let diag = if errno == Errno::EADDRNOTAVAIL {
        Diagnostic::error(
            Category::Environment,
            "bind-address-not-local",
            format!(
                "'bind {shown}' : address {ip} is not configured on this host (proxy '{}')",
                listener.proxy
            ),
        )
        .help(format!(
            "add it to an interface (`ip addr add {ip}/{} dev eth0`), or add 'transparent' or 'freebind' to the bind line, or set net.{}.ip_nonlocal_bind=1",
            if ip.is_ipv4() { 32 } else { 128 },
            if ip.is_ipv4() { "ipv4" } else { "ipv6" }
        ))
    } else {
        Diagnostic::error(
            Category::Environment,
            "bind-address-unusable",
            format!(
                "'bind {shown}' : cannot bind address {ip} (proxy '{}')",
                listener.proxy
            ),
        )
        .help(if errno == Errno::EAFNOSUPPORT {
            "IPv6 is disabled on this host: enable it or bind an IPv4 address"
        } else {
            "check the address"
        })
    };
    report.env(diag.at_opt(listener.location).os_error(&err));
    false
}

/// `net.ipv4.ip_nonlocal_bind` / `net.ipv6.ip_nonlocal_bind` (also on for `ip_freebind`).
fn nonlocal_bind_allowed(ip: IpAddr) -> bool {
    let family = if ip.is_ipv4() { "ipv4" } else { "ipv6" };
    std::fs::read_to_string(format!("/proc/sys/net/{family}/ip_nonlocal_bind"))
        .map(|v| v.trim() == "1")
        .unwrap_or(false)
}

/// Ports below `net.ipv4.ip_unprivileged_port_start` (1024) need root or
/// CAP_NET_BIND_SERVICE. Computed, not probed: tests simulate unprivileged runs as root.
fn check_privileged(ctx: &Context, listener: &ListenerRef, shown: &str, report: &mut Report) {
    let start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        .ok()
        .and_then(|v| v.trim().parse::<u32>().ok())
        .unwrap_or(1024);
    if listener.port_low == 0
        || u32::from(listener.port_low) >= start
        || ctx.running.has(Capability::NetBindService)
    {
        return;
    }
    report.env(
        Diagnostic::error(
            Category::Environment,
            "bind-privileged-port",
            format!(
                "'bind {shown}' : port {} is privileged and uid {} has no CAP_NET_BIND_SERVICE",
                listener.port_low, ctx.running.uid
            ),
        )
        .at_opt(listener.location)
        .os_error(&std::io::Error::from_raw_os_error(libc::EACCES))
        .help("start sluice as root (it drops privileges itself), or grant it the capability (`AmbientCapabilities=CAP_NET_BIND_SERVICE` in the systemd unit), or use a port ≥ 1024"),
    );
}

/// Two proxies binding one address and port: an error (R5.7, issue 4); the same proxy twice:
/// a warning. Reports the first overlap only. Returns whether it was a duplicate.
fn duplicate<'a>(
    seen: &mut HashMap<(IpAddr, u16, bool), &'a str>,
    listener: &'a ListenerRef,
    ip: IpAddr,
    shown: &str,
    report: &mut Report,
) -> bool {
    let high = listener.port_high.max(listener.port_low);
    for port in listener.port_low..=high {
        if port == 0 {
            continue;
        }
        let key = (ip, port, listener.udp);
        if let Some(first) = seen.get(&key) {
            let same = *first == listener.proxy;
            let message = if same {
                format!(
                    "'bind {shown}' : {} port {port} is bound twice in proxy '{first}'",
                    ip
                )
            } else {
                format!(
                    "'bind {shown}' : {} port {port} is already bound by proxy '{first}'; proxy '{}' would share its connections",
                    ip, listener.proxy
                )
            };
            let diag = if same {
                Diagnostic::warning(Category::Environment, "bind-duplicate", message)
            } else {
                Diagnostic::error(Category::Environment, "bind-duplicate", message)
            };
            report
                .env(diag.at_opt(listener.location).help(
                    "remove one of the bind lines, or give each a different address or port",
                ));
            return true;
        }
    }
    for port in listener.port_low..=high {
        seen.insert((ip, port, listener.udp), &listener.proxy);
    }
    false
}

/// Binds each port: `EADDRINUSE` means something listens there; name it.
fn check_ports(listener: &ListenerRef, ip: IpAddr, shown: &str, report: &mut Report) {
    let high = listener.port_high.max(listener.port_low);
    let last = (u32::from(listener.port_low) + MAX_PROBED_PORTS - 1).min(u32::from(high));
    for port in u32::from(listener.port_low)..=last {
        let Ok(port) = u16::try_from(port) else {
            break;
        };
        if port == 0 {
            continue;
        }
        match probe(ip, port, listener.udp) {
            Err(Errno::EADDRINUSE) => {
                port_in_use(listener, ip, port, shown, report);
                return;
            }
            // Other failures (EACCES for a privileged port) are reported by their own checks.
            _ => continue,
        }
    }
}

fn port_in_use(listener: &ListenerRef, ip: IpAddr, port: u16, shown: &str, report: &mut Report) {
    let owners: Vec<Owner> = owner::owners(&owner::port_inodes(ip, port, listener.udp));
    let proto = if listener.udp { "udp" } else { "tcp" };
    let err = std::io::Error::from(Errno::EADDRINUSE);
    let held_by = describe_owners(&owners);
    let find = format!(
        "`ss -{}lnp 'sport = :{port}'` shows who holds it",
        if listener.udp { "u" } else { "t" }
    );
    if !owners.is_empty() && owners.iter().all(Owner::is_load_balancer) {
        // A running instance holds its own ports during a reload (R5.2).
        report.env(
            Diagnostic::warning(
                Category::Environment,
                "bind-port-in-use",
                format!(
                    "'bind {shown}' : {proto} port {port} on {ip} is in use{held_by}; fine for a reload, not for a second instance"
                ),
            )
            .at_opt(listener.location)
            .os_error(&err)
            .help("reload with `-sf <old pids>` (or systemctl reload) so the old process hands the port over"),
        );
        return;
    }
    let (severity_error, help) = if owners.is_empty() {
        // Unknown owner: only root sees every process, so only then is it surely foreign.
        (
            nix::unistd::geteuid().is_root(),
            format!("{find}; stop it or choose another port"),
        )
    } else {
        let pids: Vec<String> = owners.iter().map(|o| o.pid.to_string()).collect();
        (
            true,
            format!(
                "stop {} (pid {}) or choose another port; {find}",
                owners.first().map(|o| o.name.as_str()).unwrap_or("it"),
                pids.join(", ")
            ),
        )
    };
    let message =
        format!("'bind {shown}' : {proto} port {port} on {ip} is already in use{held_by}");
    let diag = if severity_error {
        Diagnostic::error(Category::Environment, "bind-port-in-use", message)
    } else {
        Diagnostic::warning(Category::Environment, "bind-port-in-use", message)
            .note("the program holding it could not be identified without root")
    };
    report.env(diag.at_opt(listener.location).os_error(&err).help(help));
}

/// Binds a fresh socket to `ip:port` with `SO_REUSEADDR` (TCP) and closes it.
/// UDP is probed without `SO_REUSEADDR`, which would let two UDP sockets share a port.
pub(crate) fn probe(ip: IpAddr, port: u16, udp: bool) -> Result<(), Errno> {
    let family = if ip.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    let kind = if udp {
        SockType::Datagram
    } else {
        SockType::Stream
    };
    let fd = socket(family, kind, SockFlag::SOCK_CLOEXEC, None)?;
    if !udp {
        setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    }
    match SocketAddr::new(ip, port) {
        SocketAddr::V4(v4) => bind(fd.as_raw_fd(), &SockaddrIn::from(v4)),
        SocketAddr::V6(v6) => bind(fd.as_raw_fd(), &SockaddrIn6::from(v6)),
    }
}
