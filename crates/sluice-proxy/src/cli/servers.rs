//! Backends and servers: `show backend`, `show servers state|conn`, `get/set weight`,
//! `enable/disable server|health|agent`, `set server`.
//!
//! Changes go where the checker writes: the server's [`Health`] (atomics), then the
//! backend's epoch, so that each worker thread rebuilds its balancer before its next
//! request (the request path reads one relaxed atomic and takes no lock).

use super::dispatch::Answer;
use super::Runtime;
use crate::backend::server::{Server, Target};
use crate::backend::Backend;
use crate::check::report::{self, Level};
use crate::check::state::{admin, hchk, Health, State};
use std::sync::atomic::Ordering;

/// A backend found by name or `#id`: its proxy index.
pub fn find_backend(rt: &Runtime, name: &str) -> Option<usize> {
    if let Some(id) = name.strip_prefix('#') {
        let id: u64 = id.parse().ok()?;
        return (0..rt.model.proxies.len())
            .find(|i| rt.plan.backend(*i).is_some() && rt.proxy_id(*i) == id);
    }
    rt.plan.backend_names.get(name).copied()
}

/// A server's id as `show servers state` prints it (its `id` option or its position).
fn server_id(rt: &Runtime, be: usize, si: usize, s: &Server) -> (u64, bool) {
    let forced = rt
        .model
        .proxies
        .get(be)
        .and_then(|p| p.servers.get(si))
        .and_then(|m| m.options.other.iter().rev().find(|(n, _, _)| n == "id"))
        .and_then(|(_, v, _)| v.as_deref())
        .and_then(|v| v.parse().ok());
    match forced {
        Some(id) => (id, true),
        None => (u64::from(s.id), false),
    }
}

/// `<backend>/<server>` (each a name or `#id`) to indexes, or the error to print.
pub fn find_server(rt: &Runtime, arg: Option<&&str>) -> Result<(usize, usize), Answer> {
    let Some((be, srv)) = arg.and_then(|a| a.split_once('/')) else {
        return Err(Answer::text("Require 'backend/server'.\n"));
    };
    let Some(bi) = find_backend(rt, be) else {
        return Err(Answer::text("No such backend.\n"));
    };
    let Some(backend) = rt.plan.backend(bi) else {
        return Err(Answer::text("No such backend.\n"));
    };
    let found = match srv.strip_prefix('#') {
        Some(id) => id.parse::<u64>().ok().and_then(|id| {
            backend
                .servers
                .iter()
                .enumerate()
                .position(|(si, s)| !s.is_deleted() && server_id(rt, bi, si, s).0 == id)
        }),
        None => backend
            .servers
            .iter()
            .position(|s| !s.is_deleted() && s.name == srv),
    };
    match found {
        Some(si) => Ok((bi, si)),
        None => Err(Answer::text("No such server.\n")),
    }
}

fn server(rt: &Runtime, (bi, si): (usize, usize)) -> Option<(&Backend, &Server)> {
    let be = rt.plan.backend(bi)?;
    Some((be, be.servers.get(si)?))
}

/// `show backend`.
pub fn show_backend(rt: &Runtime) -> Answer {
    let mut out = String::from("# name\n");
    for (i, p) in rt.model.proxies.iter().enumerate() {
        if rt.plan.backend(i).is_some() {
            out.push_str(&p.name);
            out.push('\n');
        }
    }
    Answer::text(out)
}

/// The backends an optional `<backend>` argument selects, or the error to print.
fn selected(rt: &Runtime, args: &[&str]) -> Result<Vec<usize>, Answer> {
    match args.first() {
        Some(name) => match find_backend(rt, name) {
            Some(i) => Ok(vec![i]),
            None => Err(Answer::text("Can't find backend.\n")),
        },
        None => Ok((0..rt.model.proxies.len())
            .filter(|i| rt.plan.backend(*i).is_some())
            .collect()),
    }
}

/// HAProxy's operational state code of a server.
pub fn op_state(h: &Health) -> u8 {
    if h.in_maintenance() {
        return 0;
    }
    match h.state() {
        State::Up => 2,
        State::Stopping => 3,
        State::Down | State::Maint => 0,
    }
}

/// HAProxy's check state flags (configured, enabled, paused).
pub fn check_state(h: &Health) -> u8 {
    if !h.settings.checked {
        return 0;
    }
    let mut f = 0x02;
    if !h.checks_off() {
        f |= 0x04;
    }
    if h.in_maintenance() {
        f |= 0x08;
    }
    f
}

/// HAProxy's check result code from the last status.
fn check_result(status: u8) -> u8 {
    match status {
        0 | hchk::INI => 0,
        s if s == hchk::L7OKCD => 4,
        s if hchk::passed(s) => 3,
        _ => 2,
    }
}

/// Address and port as `show servers state` prints them ("-" without an address).
fn addr_port(s: &Server) -> (String, u16) {
    let target = s.target();
    let port = match &target {
        Target::Addr(a) => a.port(),
        _ => 0,
    };
    if !s.has_addr() {
        return ("-".to_string(), port);
    }
    match target {
        Target::Addr(a) => (a.ip().to_string(), port),
        Target::Relative(ip, _) => (ip.to_string(), port),
        Target::Unix(p) => (p, port),
    }
}

/// The server's `port` (health check port), which port mapping needs.
fn check_port(rt: &Runtime, (bi, si): (usize, usize)) -> Option<u16> {
    rt.model
        .proxies
        .get(bi)?
        .servers
        .get(si)?
        .options
        .check_port
}

fn option_value<'m>(rt: &'m Runtime, be: usize, si: usize, name: &str) -> Option<&'m str> {
    rt.model
        .proxies
        .get(be)?
        .servers
        .get(si)?
        .options
        .other
        .iter()
        .rev()
        .find(|(n, _, _)| n == name)
        .and_then(|(_, v, _)| v.as_deref())
}

/// `show servers state [<backend>]`: format version 1.
pub fn show_state(rt: &Runtime, args: &[&str]) -> Answer {
    let list = match selected(rt, args) {
        Ok(l) => l,
        Err(a) => return a,
    };
    let mut out = String::from(
        "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n",
    );
    for bi in list {
        let Some(be) = rt.plan.backend(bi) else {
            continue;
        };
        let be_forced = rt
            .model
            .proxies
            .get(bi)
            .is_some_and(|p| p.other.iter().any(|s| s.keyword() == "id"));
        for (si, s) in be.servers.iter().enumerate() {
            if s.is_deleted() {
                continue;
            }
            let h = &s.health;
            let (sid, forced) = server_id(rt, bi, si, s);
            let (addr, port) = addr_port(s);
            let (status, _, _) = h.last_check();
            let check_port = rt
                .model
                .proxies
                .get(bi)
                .and_then(|p| p.servers.get(si))
                .and_then(|m| m.options.check_port)
                .unwrap_or(0);
            let check_addr = option_value(rt, bi, si, "addr").unwrap_or("-");
            // A service label is the `srvrecord`; the name is then its target's.
            let (fqdn, srvrecord) = match s.address.fqdn() {
                Some(label) if label.starts_with('_') => (s.address.srv_host(), Some(label)),
                other => (other, None),
            };
            let fqdn = fqdn.unwrap_or_else(|| "-".to_string());
            let srvrecord = srvrecord.unwrap_or_else(|| "-".to_string());
            out.push_str(&format!(
                "{} {} {sid} {} {addr} {} {} {} {} {} {status} {} {} {} 0 {} {} {fqdn} {port} {srvrecord} {} {check_port} {check_addr} - 0\n",
                rt.proxy_id(bi),
                be.name,
                s.name,
                op_state(h),
                h.admin(),
                h.weight(),
                h.settings.weight.min(256),
                h.since_change(),
                check_result(status),
                h.counter(),
                check_state(h),
                u8::from(be_forced),
                u8::from(forced),
                u8::from(s.tls.is_some()),
            ));
        }
    }
    Answer::text(out)
}

/// `show servers conn [<backend>]`.
pub fn show_conn(rt: &Runtime, args: &[&str]) -> Answer {
    let list = match selected(rt, args) {
        Ok(l) => l,
        Err(a) => return a,
    };
    let n = rt.plan.nbthread;
    let mut out = format!(
        "# bkname/svname bkid/svid addr port - purge_delay served used_cur used_max need_est idle_sess unsafe_nb safe_nb idle_lim idle_cur idle_per_thr[{n}]\n"
    );
    for bi in list {
        let Some(be) = rt.plan.backend(bi) else {
            continue;
        };
        for (si, s) in be.servers.iter().enumerate() {
            if s.is_deleted() {
                continue;
            }
            let (addr, port) = addr_port(s);
            let served = s.connections.load(Ordering::Relaxed);
            let per_thread = vec!["0"; n].join(" ");
            out.push_str(&format!(
                "{}/{} {}/{} {addr} {port} - 0 {served} {served} 0 0 0 0 0 -1 0 {per_thread}\n",
                be.name,
                s.name,
                rt.proxy_id(bi),
                server_id(rt, bi, si, s).0,
            ));
        }
    }
    Answer::text(out)
}

/// `get weight <backend>/<server>`.
pub fn get_weight(rt: &Runtime, args: &[&str]) -> Answer {
    let at = match find_server(rt, args.first()) {
        Ok(at) => at,
        Err(a) => return a,
    };
    let Some((_, s)) = server(rt, at) else {
        return Answer::text("No such server.\n");
    };
    Answer::text(format!(
        "{} (initial {})\n",
        s.health.weight(),
        s.health.settings.weight.min(256)
    ))
}

/// A weight argument: `N` (0 to 256) or `N%` of the initial weight (capped at 256).
pub fn parse_weight(word: &str, initial: u32) -> Result<u32, &'static str> {
    if let Some(pct) = word.strip_suffix('%') {
        let pct: u64 = pct
            .parse()
            .map_err(|_| "The weight must be a number, optionally followed by '%'.\n")?;
        let w = u64::from(initial).saturating_mul(pct) / 100;
        return Ok(u32::try_from(w.min(256)).unwrap_or(256));
    }
    let w: i64 = word
        .parse()
        .map_err(|_| "The weight must be a number, optionally followed by '%'.\n")?;
    if !(0..=256).contains(&w) {
        return Err("An absolute weight must be between 0 and 256.\n");
    }
    Ok(u32::try_from(w).unwrap_or(0))
}

fn apply_weight(rt: &Runtime, at: (usize, usize), word: Option<&&str>) -> Answer {
    let Some((be, s)) = server(rt, at) else {
        return Answer::text("No such server.\n");
    };
    let Some(word) = word else {
        return Answer::text("Require <weight> or <weight%>.\n");
    };
    match parse_weight(word, s.health.settings.weight) {
        Ok(w) => {
            s.health.set_weight(w);
            be.epoch.bump();
            Answer::empty()
        }
        Err(e) => Answer::text(e),
    }
}

/// `set weight <backend>/<server> <weight>[%]`.
pub fn set_weight(rt: &Runtime, args: &[&str]) -> Answer {
    match find_server(rt, args.first()) {
        Ok(at) => apply_weight(rt, at, args.get(1)),
        Err(a) => a,
    }
}

/// Usable non-backup and backup servers of a backend, and its queue, for the messages.
fn counts(be: &Backend) -> report::Counts {
    crate::check::scheduler::counts_of(be, 0)
}

pub(crate) fn enter_maintenance(be: &Backend, s: &Server) {
    go_down_for_maintenance(be, s, admin::FMAINT, None);
}

/// Puts `s` in maintenance (`flag`: forced by the runtime API, or for lack of a resolved
/// address) and says so as HAProxy does, with `why` in parentheses when given.
pub(crate) fn go_down_for_maintenance(be: &Backend, s: &Server, flag: u8, why: Option<&str>) {
    let was_usable = s.health.usable();
    if !s.health.set_admin(flag, 0) {
        return;
    }
    be.epoch.bump();
    let c = counts(be);
    let sessions = s.connections.load(Ordering::Relaxed);
    report::notify(
        &be.name,
        Level::Warning,
        report::syslog::ALERT,
        &format!(
            "{}Server {}/{} is going DOWN for maintenance{}. {} active and {} backup servers left.{} {sessions} sessions active, 0 requeued, {} remaining in queue.",
            if s.backup { "Backup " } else { "" },
            be.name,
            s.name,
            why.map(|w| format!(" ({w})")).unwrap_or_default(),
            c.active,
            c.backup,
            if c.backup > 0 && c.active == 0 { " Running on backup." } else { "" },
            c.queued
        ),
    );
    if was_usable && c.active == 0 && c.backup == 0 {
        report::no_server(&be.name);
    }
}

pub(crate) fn leave_maintenance(be: &Backend, s: &Server) {
    let h = &s.health;
    if !h.in_maintenance() {
        return;
    }
    // Checks start again from "just up": one failure takes the server down.
    if h.settings.checked && !h.checks_off() {
        h.set_counter(h.settings.rise);
    }
    h.set_state(State::Up);
    // A server without an address stays in maintenance until the resolvers find one.
    h.set_admin(0, admin::FMAINT | admin::CMAINT);
    be.epoch.bump();
    let c = counts(be);
    report::notify(
        &be.name,
        Level::Warning,
        report::syslog::NOTICE,
        &format!(
            "{}Server {}/{} is UP/READY (leaving forced maintenance). {} active and {} backup servers online.{} 0 sessions requeued, {} total in queue.",
            if s.backup { "Backup " } else { "" },
            be.name,
            s.name,
            c.active,
            c.backup,
            if c.backup > 0 && c.active == 0 { " Running on backup." } else { "" },
            c.queued
        ),
    );
}

/// `enable|disable server|health|agent <backend>/<server>`.
pub fn toggle(rt: &Runtime, enable: bool, what: &str, args: &[&str]) -> Answer {
    let at = match find_server(rt, args.first()) {
        Ok(at) => at,
        Err(a) => return a,
    };
    let Some((be, s)) = server(rt, at) else {
        return Answer::text("No such server.\n");
    };
    match (what, enable) {
        ("server", false) => enter_maintenance(be, s),
        ("server", true) => leave_maintenance(be, s),
        ("health", _) => {
            if !s.health.settings.checked {
                return Answer::text("Health checks are not configured on this server.\n");
            }
            s.health.set_checks_off(!enable);
            if !enable && s.health.state() != State::Up {
                // Unchecked: the server counts as up.
                s.health.set_state(State::Up);
                be.epoch.bump();
            }
        }
        ("agent", _) => {
            s.health.set_agent_off(!enable);
            // A stopped agent no longer holds the server down.
            if !enable {
                s.health.set_agent_down(false);
            }
        }
        _ => {}
    }
    Answer::empty()
}

/// `set maxconn server <backend>/<server> <n>`: the limit applies to the next requests; a
/// raised one lets queued requests go at once.
pub fn set_maxconn(rt: &Runtime, args: &[&str]) -> Answer {
    let (bi, si) = match find_server(rt, args.first()) {
        Ok(at) => at,
        Err(a) => return a,
    };
    let Some((be, _)) = server(rt, (bi, si)) else {
        return Answer::text("No such server.\n");
    };
    let Some(n) = args.get(1).and_then(|v| v.parse::<u32>().ok()) else {
        return Answer::text("Integer value expected.\n");
    };
    // Connections are counted from now on (they were not when no limit was set).
    be.track.store(true, std::sync::atomic::Ordering::Relaxed);
    be.queue.set_maxconn(si, n);
    Answer::empty()
}

/// `set server <backend>/<server> <what> <value>...`.
pub fn set_server(rt: &Runtime, args: &[&str]) -> Answer {
    let at = match find_server(rt, args.first()) {
        Ok(at) => at,
        Err(a) => return a,
    };
    let Some((be, s)) = server(rt, at) else {
        return Answer::text("No such server.\n");
    };
    let h = &s.health;
    match args.get(1..).unwrap_or_default() {
        ["weight", rest @ ..] => apply_weight(rt, at, rest.first()),
        ["state", "ready"] => {
            leave_maintenance(be, s);
            if h.set_admin(0, admin::FDRAIN) {
                be.epoch.bump();
            }
            Answer::empty()
        }
        ["state", "drain"] => {
            leave_maintenance(be, s);
            if h.set_admin(admin::FDRAIN, 0) {
                be.epoch.bump();
            }
            Answer::empty()
        }
        ["state", "maint"] => {
            enter_maintenance(be, s);
            Answer::empty()
        }
        ["state", ..] => Answer::text("'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n"),
        ["health", state] => {
            if !h.settings.checked || h.checks_off() {
                return Answer::text("Health checks are not enabled on this server.\n");
            }
            let (new, counter) = match *state {
                "up" => (State::Up, h.settings.rise + h.settings.fall - 1),
                "stopping" => (State::Stopping, h.counter()),
                "down" => (State::Down, 0),
                _ => {
                    return Answer::text(
                        "'set server <srv> health' expects 'up', 'stopping', or 'down'.\n",
                    )
                }
            };
            h.set_counter(counter);
            h.set_state(new);
            be.epoch.bump();
            Answer::empty()
        }
        ["health", ..] => {
            Answer::text("'set server <srv> health' expects 'up', 'stopping', or 'down'.\n")
        }
        ["addr", rest @ ..] => super::server_addr::set_addr(be, s, check_port(rt, at), rest),
        ["fqdn", rest @ ..] => super::server_addr::set_fqdn(be, s, rest),
        ["agent", ..] | ["agent-addr", ..] | ["agent-port", ..] | ["agent-send", ..] => {
            Answer::text("Agent checks are not supported by Sluice yet: nothing to change.\n")
        }
        [other, ..] => Answer::text(format!(
            "'set server <srv> {other}' is not supported by Sluice yet; supported: weight, state, health, addr, fqdn.\n"
        )),
        [] => Answer::text(
            "'set server <srv>' expects one of 'weight', 'state', 'health', 'addr' or 'fqdn' with a value.\n",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_weight;

    #[test]
    fn weights_absolute_and_relative() {
        assert_eq!(parse_weight("0", 10), Ok(0));
        assert_eq!(parse_weight("256", 10), Ok(256));
        assert!(parse_weight("257", 10).is_err());
        assert!(parse_weight("-1", 10).is_err());
        assert_eq!(parse_weight("50%", 10), Ok(5));
        assert_eq!(parse_weight("100%", 10), Ok(10));
        assert_eq!(parse_weight("10000%", 10), Ok(256));
        assert!(parse_weight("x%", 10).is_err());
        assert!(parse_weight("99999999999999999999999%", 10).is_err());
        assert!(parse_weight("", 10).is_err());
    }
}
