//! Addresses: listeners (`bind`, `stats socket`, `-S`, log-forward and peers binds), server
//! addresses and log targets.

use super::{unix_socket, CommandLineFacts};
use crate::inputs::{
    InitAddr, Inputs, ListenerRef, Located, LogTarget, LogTargetRef, ServerRef, SocketPurpose,
};
use sluice_config::{Location, SectionKind};
use sluice_model::address::{self, Address, Family, Host, Port, Use};
use sluice_model::log::LogDestination;
use sluice_model::Model;
use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One listening address, wherever it was written.
struct Listen<'a> {
    address: &'a Address,
    proxy: &'a str,
    location: Option<Location>,
    transparent: bool,
    freebind: bool,
    purpose: SocketPurpose,
}

/// Every listener the start would open: IP ones, UNIX sockets and `fd@` descriptors.
pub(super) fn add_listeners(model: &Model, extra: &CommandLineFacts, inputs: &mut Inputs) {
    let mut all: Vec<Listen> = Vec::new();
    for socket in &model.global.stats_sockets {
        all.push(Listen {
            address: &socket.address,
            proxy: "GLOBAL",
            location: Some(socket.location),
            transparent: socket.options.transparent,
            freebind: socket.options.freebind,
            purpose: SocketPurpose::StatsSocket,
        });
    }
    // A disabled proxy does not bind; one in another network namespace cannot be probed from
    // here (a probe would call a valid address "not local").
    for proxy in model.proxies.iter().filter(|p| !p.disabled) {
        for bind in proxy.binds.iter().filter(|b| b.options.namespace.is_none()) {
            for address in &bind.addresses {
                all.push(Listen {
                    address,
                    proxy: &proxy.name,
                    location: Some(bind.location),
                    transparent: bind.options.transparent,
                    freebind: bind.options.freebind,
                    purpose: SocketPurpose::Bind,
                });
            }
        }
    }
    for section in &model.sections {
        if !matches!(section.kind, SectionKind::LogForward | SectionKind::Peers) {
            continue;
        }
        for bind in &section.binds {
            for address in &bind.value {
                all.push(Listen {
                    address,
                    proxy: &section.name,
                    location: Some(bind.location),
                    transparent: false,
                    freebind: false,
                    purpose: SocketPurpose::Bind,
                });
            }
        }
    }
    // `-S` addresses were validated by the command-line parser; an unparsable one is skipped.
    let master: Vec<Address> = extra
        .master_cli
        .iter()
        .filter_map(|text| address::parse(text, Use::Listen).ok())
        .collect();
    for address in &master {
        all.push(Listen {
            address,
            proxy: "MASTER",
            location: None,
            transparent: false,
            freebind: false,
            purpose: SocketPurpose::MasterCli,
        });
    }

    for listen in &all {
        let address = listen.address;
        match (address.family, &address.host) {
            (Family::Unix, Host::Path(path)) => {
                inputs.listener_count += 1;
                inputs
                    .unix_sockets
                    .push(unix_socket(path, listen.purpose, listen.location));
            }
            (Family::Fd, Host::Fd(fd)) => {
                inputs.listener_count += 1;
                // The master CLI's descriptor comes from the supervisor at start only.
                if listen.purpose != SocketPurpose::MasterCli {
                    if let Ok(fd) = i32::try_from(*fd) {
                        inputs.fd_listeners.push(Located::new(fd, listen.location));
                    }
                }
            }
            (Family::Inet | Family::Ipv4 | Family::Ipv6 | Family::Udp, _) => {
                let (low, high) = match address.port {
                    Port::Single(p) => (p, p),
                    Port::Range(low, high) => (low, high),
                    Port::None | Port::Offset(_) => continue,
                };
                inputs.listener_count += usize::from(high - low) + 1;
                inputs.listeners.push(ListenerRef {
                    proxy: listen.proxy.to_string(),
                    host: written_host(&address.text),
                    ip: listen_ip(address),
                    port_low: low,
                    port_high: high,
                    transparent: listen.transparent,
                    freebind: listen.freebind,
                    udp: address.family == Family::Udp,
                    location: listen.location,
                });
            }
            // Abstract sockets, socket pairs from the master, reverse HTTP: nothing on disk
            // or on the network to check.
            _ => inputs.listener_count += 1,
        }
    }
}

/// The address to probe; `None` for a host name (preflight resolves it).
fn listen_ip(address: &Address) -> Option<IpAddr> {
    match &address.host {
        Host::Ip(ip) => Some(*ip),
        Host::Any => {
            let host = written_host(&address.text);
            let v6 = address.family == Family::Ipv6 || host.contains(':');
            Some(if v6 {
                IpAddr::V6(Ipv6Addr::UNSPECIFIED)
            } else {
                IpAddr::V4(Ipv4Addr::UNSPECIFIED)
            })
        }
        _ => None,
    }
}

/// The host part of an address as written: no `family@` prefix, no port, no brackets.
fn written_host(text: &str) -> String {
    let body = text
        .strip_prefix("stream+")
        .or_else(|| text.strip_prefix("dgram+"))
        .unwrap_or(text);
    let body = match body.split_once('@') {
        Some((prefix, rest)) if !prefix.contains([':', '/', '[']) => rest,
        _ => body,
    };
    if let Some(inner) = body.strip_prefix('[') {
        return inner.split(']').next().unwrap_or("").to_string();
    }
    match body.rfind(':') {
        Some(colon) => body[..colon].to_string(),
        None => body.to_string(),
    }
}

/// Servers with an IP-family address: preflight resolves the names among them. Disabled
/// servers and proxies are included: HAProxy resolves them at start too.
pub(super) fn add_servers(model: &Model, inputs: &mut Inputs) {
    for proxy in &model.proxies {
        for server in &proxy.servers {
            let address = &server.address;
            let host = match &address.host {
                Host::Name(name) => name.clone(),
                Host::Ip(ip) => ip.to_string(),
                _ => continue,
            };
            if !matches!(
                address.family,
                Family::Inet | Family::Ipv4 | Family::Ipv6 | Family::Udp
            ) {
                continue;
            }
            let options = &server.options;
            if options.check && !proxy.disabled && !options.disabled {
                inputs.check_count += 1;
            }
            inputs.servers.push(ServerRef {
                proxy: proxy.name.clone(),
                name: server.name.clone(),
                host,
                port: match address.port {
                    Port::Single(p) => Some(p),
                    _ => None,
                },
                init_addr: options
                    .init_addr
                    .as_ref()
                    .map(|i| init_addr(&i.value))
                    .unwrap_or_default(),
                has_resolvers: options.resolvers.is_some(),
                location: Some(server.location),
            });
        }
    }
}

/// `init-addr last,libc,none,10.0.0.1`; unknown words were refused by the parser, and are
/// skipped here.
pub(super) fn init_addr(text: &str) -> Vec<InitAddr> {
    text.split(',')
        .filter_map(|method| match method.trim() {
            "last" => Some(InitAddr::Last),
            "libc" => Some(InitAddr::Libc),
            "none" => Some(InitAddr::None),
            other => other.parse::<IpAddr>().ok().map(InitAddr::Ip),
        })
        .collect()
}

/// `log` targets of the global section and of every proxy (`log global` lines use the global
/// ones, listed once).
pub(super) fn add_log_targets(model: &Model, inputs: &mut Inputs) {
    let mut seen = HashSet::new();
    let proxies = model.proxies.iter().flat_map(|p| &p.logs);
    for log in model.global.logs.iter().chain(proxies) {
        if !seen.insert(log.location) {
            continue;
        }
        let target = match &log.destination {
            LogDestination::Address(address) => match (address.family, &address.host) {
                (Family::Unix, Host::Path(path)) => LogTarget::Unix(path.into()),
                (Family::Inet | Family::Ipv4 | Family::Ipv6 | Family::Udp, Host::Name(name)) => {
                    LogTarget::Network { host: name.clone() }
                }
                (Family::Inet | Family::Ipv4 | Family::Ipv6 | Family::Udp, Host::Ip(ip)) => {
                    LogTarget::Network {
                        host: ip.to_string(),
                    }
                }
                _ => LogTarget::Other,
            },
            LogDestination::Stream(_) | LogDestination::Ring(_) | LogDestination::Backend(_) => {
                LogTarget::Other
            }
        };
        inputs.log_targets.push(LogTargetRef {
            target,
            location: Some(log.location),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::{init_addr, written_host};
    use crate::inputs::InitAddr;

    #[test]
    fn hosts_as_written() {
        assert_eq!(written_host("192.0.2.55:18097"), "192.0.2.55");
        assert_eq!(written_host("ipv6@[::1]:80"), "::1");
        assert_eq!(written_host(":::443"), "::");
        assert_eq!(written_host("*:80"), "*");
        assert_eq!(written_host(":80"), "");
        assert_eq!(written_host("udp@logs.example:514"), "logs.example");
        assert_eq!(written_host("www.example.com"), "www.example.com");
    }

    #[test]
    fn init_addr_lists() {
        assert_eq!(
            init_addr("last,libc,none"),
            [InitAddr::Last, InitAddr::Libc, InitAddr::None]
        );
        assert_eq!(
            init_addr("libc,10.0.0.1"),
            [InitAddr::Libc, InitAddr::Ip("10.0.0.1".parse().unwrap())]
        );
    }
}
