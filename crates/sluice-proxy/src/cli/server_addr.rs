//! `set server <backend>/<server> addr <ip> [port <port>]` and `set server ... fqdn
//! <name>`: the server's address changes for the connections opened from now on (those
//! open stay where they are; idle ones are not reused).

use super::dispatch::Answer;
use crate::backend::server::{PortChange, Server, Target};
use crate::backend::Backend;
use crate::check::report::{self, Level};
use std::net::IpAddr;

/// Who made the change, as HAProxy words it at the end of its answers.
const BY_CLI: &str = "by 'stats socket command'";

/// `set server <b>/<s> addr <ip> [port <port>]`. `check_port`: the server's `port`
/// option, without which a server cannot switch to port mapping (`+N`/`-N`).
pub fn set_addr(be: &Backend, s: &Server, check_port: Option<u16>, args: &[&str]) -> Answer {
    let Some(word) = args.first() else {
        return Answer::text(
            "set server <b>/<s> addr requires an address and optionally a port.\n",
        );
    };
    let Ok(ip) = word.parse::<IpAddr>() else {
        return Answer::text(format!("Invalid addr '{word}' {BY_CLI}\n"));
    };
    if matches!(s.target(), Target::Unix(_)) {
        return Answer::text(format!(
            "Update for the current server address family is only supported through configuration file {BY_CLI}\n"
        ));
    }
    let port = match args.get(1..) {
        Some(["port", p, ..]) => Some(*p),
        Some(["port"]) => Some(""),
        _ => None,
    };
    let mut parts = Vec::new();
    let before = s.address.ip();
    match s.address.set_ip(ip) {
        Ok(_) if before == Some(ip) => parts.push("no need to change the addr".to_string()),
        Ok(old) => {
            let old = old.map_or_else(|| "(null)".to_string(), |o| o.to_string());
            parts.push(format!("IP changed from '{old}' to '{ip}'"));
            report::notify(
                &be.name,
                Level::Warning,
                report::syslog::NOTICE,
                &format!(
                    "{}/{} changed its IP from {old} to {ip} by stats socket command.",
                    be.name, s.name
                ),
            );
        }
        Err(e) => return Answer::text(format!("{e} {BY_CLI}\n")),
    }
    if let Some(text) = port {
        parts.push(change_port(s, check_port, text));
    }
    // A server waiting for its first address takes traffic once it has one.
    if s.health.admin() & crate::check::state::admin::RMAINT != 0 {
        s.health.set_admin(0, crate::check::state::admin::RMAINT);
    }
    be.epoch.bump();
    Answer::text(format!("{} {BY_CLI}\n", parts.join(", ")))
}

/// The `port` part of `set server ... addr`: what changed, or why not.
fn change_port(s: &Server, check_port: Option<u16>, text: &str) -> String {
    let (old_text, was_mapped) = match s.target() {
        Target::Addr(a) => (a.port().to_string(), false),
        Target::Relative(_, 0) => (String::new(), true),
        Target::Relative(_, off) => (format!("{off:+}"), true),
        Target::Unix(_) => (String::new(), false),
    };
    let mapped = text.starts_with('+') || text.starts_with('-');
    let change = match text.parse::<i32>() {
        Ok(o) if mapped => PortChange::Offset(o),
        Ok(p) => match u16::try_from(p) {
            Ok(p) if p > 0 => PortChange::Fixed(p),
            _ => return format!("problem converting port '{text}' to an int"),
        },
        Err(_) => return format!("problem converting port '{text}' to an int"),
    };
    if mapped && !was_mapped && check_port.is_none() {
        return "can't change <port> to port map because it is incompatible with current health check port configuration (use 'port' statement from the 'server' directive.".to_string();
    }
    if !mapped && was_mapped && check_port.is_none() {
        return "can't change <port> from port map to a fixed port because it is incompatible with current health check port configuration (use 'port' statement from the 'server' directive.".to_string();
    }
    let new_text = match change {
        PortChange::Fixed(p) => p.to_string(),
        PortChange::Offset(o) => format!("{o:+}"),
    };
    if new_text == old_text {
        return "no need to change the port".to_string();
    }
    s.address.set_port(change);
    format!("port changed from '{old_text}' to '{new_text}'")
}

/// `set server <b>/<s> fqdn <name>`: the resolvers resolve the server by the new name from
/// now on (at once, then every `timeout resolve`).
pub fn set_fqdn(be: &Backend, s: &Server, args: &[&str]) -> Answer {
    let Some(name) = args.first() else {
        return Answer::text("set server <b>/<s> fqdn requires a FQDN.\n");
    };
    if s.resolve.is_none() {
        return Answer::text(
            "set server <b>/<s> fqdn failed because no resolution is configured.\n",
        );
    }
    if !valid_fqdn(name) {
        return Answer::text(format!("invalid fqdn '{name}' {BY_CLI}\n"));
    }
    let before = s.address.fqdn();
    if before.as_deref() == Some(*name) {
        return Answer::text(format!("no need to change the FDQN {BY_CLI}\n"));
    }
    s.address.set_fqdn(Some((*name).to_string()));
    crate::resolvers::wake();
    let text = format!(
        "{}/{} changed its FQDN from {} to {name} {BY_CLI}",
        be.name,
        s.name,
        before.as_deref().unwrap_or("(null)")
    );
    report::notify(&be.name, Level::Warning, report::syslog::NOTICE, &text);
    Answer::text(format!("{text}\n"))
}

/// A host name DNS can carry: labels of letters, digits, `-` and `_`, 63 bytes at most,
/// 255 in all.
pub fn valid_fqdn(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::valid_fqdn;

    #[test]
    fn host_names() {
        assert!(valid_fqdn("localhost"));
        assert!(valid_fqdn("www.example.com."));
        assert!(valid_fqdn("_http._tcp.example.com"));
        assert!(!valid_fqdn("bad_name!"));
        assert!(!valid_fqdn("a..b"));
        assert!(!valid_fqdn(""));
        assert!(!valid_fqdn(&"a".repeat(64)));
    }
}
