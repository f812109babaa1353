//! Resolving the servers of one `resolvers` section, and what an outcome does to them.
//!
//! Servers of a backend resolved by the same name form one resolution: the name is asked
//! once, and its addresses are shared out among them, each server keeping its address
//! while the answer still holds it, and no two servers getting the same one unless
//! `resolve-opts allow-dup-ip` says so. A server left without an address goes into
//! resolution maintenance at once; an error (NXDOMAIN, REFUSED, a timeout, anything else)
//! takes it there only when no valid answer came within the `hold` period of that status.

use super::message::{Answer, Kind, SrvRecord, Status};
use super::nameserver;
use super::Section;
use crate::backend::server::{Prefer, Server};
use crate::backend::Backend;
use crate::check::report::{self, Level};
use crate::check::state::admin;
use crate::plan::Plan;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use tokio::time::Instant;

/// When each server (backend, position) last had a valid answer.
pub type LastValid = HashMap<(usize, usize), Instant>;

/// One name to resolve for some servers of one backend.
struct Group {
    backend: usize,
    fqdn: String,
    prefer: Prefer,
    servers: Vec<usize>,
}

/// Resolves every server of `plan` that names section `index`, once: the names are asked
/// at the same time (a name that times out does not hold the others back), and each answer
/// is applied as it comes.
pub async fn run_once(plan: &Arc<Plan>, index: usize, last_valid: &mut LastValid) {
    let Some(section) = plan.resolvers.get(index) else {
        return;
    };
    let groups = groups(plan, &section.name);
    let mut asked = tokio::task::JoinSet::new();
    for (gi, group) in groups.iter().enumerate() {
        let plan = plan.clone();
        let (fqdn, prefer) = (group.fqdn.clone(), group.prefer);
        asked.spawn_local(async move {
            let section = plan.resolvers.get(index)?;
            let answer = if is_service(&fqdn) {
                resolve_srv(section, &fqdn, prefer).await
            } else {
                resolve(section, &fqdn, prefer).await
            };
            Some((gi, answer))
        });
    }
    while let Some(done) = asked.join_next().await {
        let Ok(Some((gi, answer))) = done else {
            continue;
        };
        if let Some(group) = groups.get(gi) {
            apply(plan, section, group, &answer, last_valid);
        }
    }
}

/// What an answer does to the servers of its group.
fn apply(
    plan: &Plan,
    section: &Section,
    group: &Group,
    answer: &Answer,
    last_valid: &mut LastValid,
) {
    let Some(be) = plan.backend(group.backend) else {
        return;
    };
    let now = Instant::now();
    match answer.status {
        Status::Valid => {
            let moved = if is_service(&group.fqdn) {
                share_out_srv(be, &group.servers, &answer.srv, group.prefer)
            } else {
                share_out(be, &group.servers, &answer.addrs)
            };
            let by = answer.by.and_then(|i| section.nameservers.get(i));
            if let (true, Some(ns)) = (moved, by) {
                super::Counters::add(&ns.counters.update);
            }
            for si in &group.servers {
                last_valid.insert((group.backend, *si), now);
            }
        }
        status => {
            let hold = section.hold.of(status);
            for si in &group.servers {
                let since = last_valid
                    .entry((group.backend, *si))
                    .or_insert(section.started);
                if now.duration_since(*since) >= hold {
                    if let Some(s) = be.servers.get(*si) {
                        lose_address(be, s, status);
                    }
                }
            }
        }
    }
}

/// The servers resolved through section `name`, grouped by backend and name.
fn groups(plan: &Plan, name: &str) -> Vec<Group> {
    let mut out: Vec<Group> = Vec::new();
    for (bi, be) in plan.backends.iter().enumerate() {
        let Some(be) = be else { continue };
        for (si, s) in be.servers.iter().enumerate() {
            let Some(settings) = s
                .resolve
                .as_ref()
                .filter(|r| r.resolvers == name && !s.is_deleted())
            else {
                continue;
            };
            let Some(fqdn) = s.address.fqdn() else {
                continue;
            };
            match out
                .iter_mut()
                .find(|g| g.backend == bi && g.fqdn.eq_ignore_ascii_case(&fqdn))
            {
                Some(g) => g.servers.push(si),
                None => out.push(Group {
                    backend: bi,
                    fqdn,
                    prefer: settings.prefer,
                    servers: vec![si],
                }),
            }
        }
    }
    out
}

/// HAProxy's sequence: the preferred type, then the other type when that gave no address
/// (but not after a timeout), the whole `resolve_retries` times at most.
pub async fn resolve(section: &Section, fqdn: &str, prefer: Prefer) -> Answer {
    let first = match prefer {
        Prefer::Ipv4 => Kind::A,
        Prefer::Ipv6 => Kind::Aaaa,
    };
    let mut last = Answer::failed(Status::Timeout);
    for _ in 0..section.retries.max(1) {
        let ask = |kind| {
            nameserver::ask(
                &section.nameservers,
                fqdn,
                kind,
                section.payload,
                section.retry_after,
            )
        };
        let a = ask(first).await;
        if a.has_addrs() {
            return a;
        }
        if a.status == Status::Timeout {
            last = a;
            continue;
        }
        let b = ask(first.other()).await;
        if b.has_addrs() {
            return b;
        }
        // A valid answer without address for both types is final: the name exists and
        // has no address.
        if a.status == Status::Valid && b.status == Status::Valid {
            return b;
        }
        last = if b.status == Status::Timeout { a } else { b };
    }
    last
}

/// A service label (`_http._tcp.name`): resolved through its SRV records.
fn is_service(fqdn: &str) -> bool {
    fqdn.starts_with('_')
}

/// The SRV records of a service label, `resolve_retries` times at most while nobody
/// answers; a target the answer gave no address for is resolved by name.
pub async fn resolve_srv(section: &Section, label: &str, prefer: Prefer) -> Answer {
    let mut answer = Answer::failed(Status::Timeout);
    for _ in 0..section.retries.max(1) {
        answer = nameserver::ask(
            &section.nameservers,
            label,
            Kind::Srv,
            section.payload,
            section.retry_after,
        )
        .await;
        if answer.status != Status::Timeout {
            break;
        }
    }
    if answer.status == Status::Valid {
        for record in &mut answer.srv {
            if record.addrs.is_empty() {
                let found = resolve(section, &record.target, prefer).await;
                if found.has_addrs() {
                    record.addrs = found.addrs;
                }
            }
        }
    }
    answer
}

/// Gives each server of `group` one SRV record (target and port) with an address, and the
/// record's weight: a server keeps its record while the answer still has it, the others
/// take the records left, and servers left without one go into resolution maintenance.
/// Returns whether one moved.
fn share_out_srv(be: &Backend, group: &[usize], records: &[SrvRecord], prefer: Prefer) -> bool {
    let usable: Vec<&SrvRecord> = records.iter().filter(|r| !r.addrs.is_empty()).collect();
    let mut taken = vec![false; usable.len()];
    let mut given: Vec<Option<usize>> = vec![None; group.len()];
    // The servers that keep their record first.
    for (gi, si) in group.iter().enumerate() {
        let Some(s) = be.servers.get(*si) else {
            continue;
        };
        let (host, port) = (s.address.srv_host(), s.address.port());
        let kept = usable.iter().enumerate().position(|(ri, r)| {
            !taken[ri] && host.as_deref() == Some(r.target.as_str()) && port == Some(r.port)
        });
        if let Some(ri) = kept {
            taken[ri] = true;
            given[gi] = Some(ri);
        }
    }
    for slot in given.iter_mut().filter(|g| g.is_none()) {
        if let Some(ri) = taken.iter().position(|t| !t) {
            taken[ri] = true;
            *slot = Some(ri);
        }
    }
    let mut moved = false;
    for (si, choice) in group.iter().zip(given) {
        let Some(s) = be.servers.get(*si) else {
            continue;
        };
        let Some(record) = choice.and_then(|ri| usable.get(ri)) else {
            s.address.set_srv_host(None);
            lose_address(be, s, Status::Valid);
            continue;
        };
        let current = s.address.ip();
        // The preferred family, then the current address, then the answer's order.
        let ip = record
            .addrs
            .iter()
            .enumerate()
            .max_by_key(|(pos, ip)| {
                let family = match prefer {
                    Prefer::Ipv4 => ip.is_ipv4(),
                    Prefer::Ipv6 => ip.is_ipv6(),
                };
                (family, current == Some(**ip), usize::MAX - pos)
            })
            .map(|(_, ip)| *ip);
        let Some(ip) = ip else { continue };
        if s.address.srv_host().as_deref() != Some(record.target.as_str())
            || s.address.port() != Some(record.port)
        {
            s.address.set_srv_host(Some(record.target.clone()));
            s.address
                .set_port(crate::backend::server::PortChange::Fixed(record.port));
            moved = true;
        }
        moved |= take_address(be, s, ip);
        // HAProxy's scale: SRV weights 0-65535 to server weights 1-256.
        let weight = u32::from(record.weight) / 256 + 1;
        let applies = s.resolve.as_ref().is_some_and(|r| !r.ignore_weight);
        if applies && s.health.weight() != weight {
            s.health.set_weight(weight);
            be.epoch.bump();
        }
    }
    moved
}

/// Gives each server of `group` an address from `addrs`. Returns whether one moved.
fn share_out(be: &Backend, group: &[usize], addrs: &[IpAddr]) -> bool {
    let mut given: Vec<(usize, Option<IpAddr>)> = Vec::with_capacity(group.len());
    for &si in group {
        let Some(s) = be.servers.get(si) else {
            continue;
        };
        let allow_dup = s.resolve.as_ref().is_some_and(|r| r.allow_dup_ip);
        // Taken: what servers already served hold, and what the others still hold.
        let taken = |ip: &IpAddr| {
            given.iter().any(|(_, g)| g.as_ref() == Some(ip))
                || group
                    .iter()
                    .filter(|o| **o != si && !given.iter().any(|(d, _)| d == *o))
                    .filter_map(|o| be.servers.get(*o))
                    .any(|o| o.address.ip() == Some(*ip) && addrs.contains(ip))
        };
        let current = s.address.ip();
        let choice = addrs
            .iter()
            .filter(|ip| allow_dup || !taken(ip))
            .max_by_key(|ip| {
                // Highest score first; the answer's order breaks ties (max_by_key keeps
                // the last maximum, hence the reversed position).
                let pos = addrs.iter().position(|a| a == *ip).unwrap_or(0);
                (score(s, **ip, current), usize::MAX - pos)
            })
            .copied();
        given.push((si, choice));
    }
    let mut moved = false;
    for (si, choice) in given {
        let Some(s) = be.servers.get(si) else {
            continue;
        };
        match choice {
            Some(ip) => moved |= take_address(be, s, ip),
            None => lose_address(be, s, Status::Valid),
        }
    }
    moved
}

/// HAProxy's preferences: the family of `resolve-prefer`, then a `resolve-net` network,
/// then the address the server has now.
fn score(s: &Server, ip: IpAddr, current: Option<IpAddr>) -> u8 {
    let Some(r) = &s.resolve else {
        return 0;
    };
    let family = match r.prefer {
        Prefer::Ipv4 => ip.is_ipv4(),
        Prefer::Ipv6 => ip.is_ipv6(),
    };
    u8::from(family) * 8 + u8::from(r.in_nets(ip)) * 4 + u8::from(current == Some(ip)) * 2
}

/// The server goes to `ip` (if it is elsewhere: then true) and leaves resolution
/// maintenance.
fn take_address(be: &Backend, s: &Server, ip: IpAddr) -> bool {
    let before = s.address.ip();
    let moved = before != Some(ip);
    if moved {
        if s.address.set_ip(ip).is_err() {
            return false;
        }
        report::notify(
            &be.name,
            Level::Warning,
            report::syslog::NOTICE,
            &format!(
                "{}/{} changed its IP from {} to {ip} by DNS cache.",
                be.name,
                s.name,
                before.map_or_else(String::new, |b| b.to_string())
            ),
        );
        be.epoch.bump();
    }
    if s.health.admin() & admin::RMAINT != 0 && s.health.set_admin(0, admin::RMAINT) {
        be.epoch.bump();
        let fqdn = s.address.fqdn().unwrap_or_default();
        report::notify(
            &be.name,
            Level::Warning,
            report::syslog::NOTICE,
            &format!(
                "Server {}/{} ('{fqdn}') is UP/READY (resolves again).",
                be.name, s.name
            ),
        );
    }
    moved
}

/// The server takes no more traffic until the name resolves again.
fn lose_address(be: &Backend, s: &Server, status: Status) {
    // As HAProxy does, the server forgets the address it can no longer vouch for.
    s.address.forget();
    crate::cli::servers::go_down_for_maintenance(be, s, admin::RMAINT, Some(status.reason()));
}
