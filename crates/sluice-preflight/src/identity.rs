//! Who runs Sluice, and who its workers will run as.
//!
//! Two identities matter: the one running the check or the master (usually root), which
//! binds listeners, writes the pidfile, reads certificates and calls `chroot`; and the
//! *target* identity from `user`/`group`/`uid`/`gid`, which the workers take before serving.
//! [`Identity::current`] reads the first from the kernel; tests build one by hand to simulate an
//! unprivileged run.

use crate::inputs::{Inputs, Located};
use crate::report::Report;
use nix::unistd::{Gid, Group, Uid, User};
use sluice_config::{Category, Diagnostic};
use std::ffi::CString;

/// Linux capability numbers that preflight cares about (`capabilities(7)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Capability {
    Chown = 0,
    DacOverride = 1,
    DacReadSearch = 2,
    Fowner = 3,
    Setgid = 6,
    Setuid = 7,
    NetBindService = 10,
    NetAdmin = 12,
    SysChroot = 18,
    SysResource = 24,
}

/// A set of effective capabilities, as the `CapEff` bit mask of `/proc/self/status`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Capabilities(pub u64);

impl Capabilities {
    /// Every capability (what root has outside a restricted container).
    pub const ALL: Capabilities = Capabilities(u64::MAX);
    pub const NONE: Capabilities = Capabilities(0);

    pub fn has(self, cap: Capability) -> bool {
        self.0 & (1u64 << cap as u8) != 0
    }

    /// Reads `CapEff` of this process; `None` when `/proc` is not there (not Linux).
    pub fn of_current_process() -> Option<Capabilities> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        parse_cap_eff(&status)
    }
}

/// The `CapEff:` line of a `/proc/PID/status` text.
pub fn parse_cap_eff(status: &str) -> Option<Capabilities> {
    let line = status.lines().find(|l| l.starts_with("CapEff:"))?;
    let hex = line["CapEff:".len()..].trim();
    u64::from_str_radix(hex, 16).ok().map(Capabilities)
}

/// A process identity: effective uid and gid, supplementary groups, effective capabilities.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups (the primary `gid` need not be repeated).
    pub groups: Vec<u32>,
    pub capabilities: Capabilities,
}

impl Identity {
    /// The identity of this process. Without `/proc`, root is assumed to hold every capability.
    pub fn current() -> Identity {
        let uid = nix::unistd::geteuid().as_raw();
        let gid = nix::unistd::getegid().as_raw();
        let groups = nix::unistd::getgroups()
            .map(|g| g.into_iter().map(Gid::as_raw).collect())
            .unwrap_or_default();
        let capabilities = Capabilities::of_current_process().unwrap_or(if uid == 0 {
            Capabilities::ALL
        } else {
            Capabilities::NONE
        });
        Identity {
            uid,
            gid,
            groups,
            capabilities,
        }
    }

    /// Root with every capability.
    pub fn root() -> Identity {
        Identity {
            uid: 0,
            gid: 0,
            groups: Vec::new(),
            capabilities: Capabilities::ALL,
        }
    }

    /// A plain user without capabilities (for simulating an unprivileged run).
    pub fn unprivileged(uid: u32, gid: u32) -> Identity {
        Identity {
            uid,
            gid,
            groups: Vec::new(),
            capabilities: Capabilities::NONE,
        }
    }

    pub fn is_root(&self) -> bool {
        self.uid == 0
    }

    pub fn has(&self, cap: Capability) -> bool {
        self.capabilities.has(cap)
    }

    /// Whether `gid` is the primary or a supplementary group.
    pub fn in_group(&self, gid: u32) -> bool {
        self.gid == gid || self.groups.contains(&gid)
    }
}

/// The identity the workers will take, and how it was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub identity: Identity,
    /// The user name, when known (from `user` or the passwd entry of `uid`).
    pub user_name: Option<String>,
    /// Whether the configuration asks for a different uid or gid than the running one.
    pub changes_identity: bool,
    /// Whether `user`/`uid` was given and understood (for R5.13).
    pub user_set: bool,
}

/// Resolves `user`/`group`/`uid`/`gid` into the target identity, reporting what is wrong.
pub(crate) fn resolve(inputs: &Inputs, running: &Identity, report: &mut Report) -> Target {
    let mut uid: Option<u32> = None;
    let mut user_gid: Option<u32> = None;
    let mut user_name: Option<String> = None;
    let mut user_located: Option<&Located<String>> = None;

    if let Some(user) = &inputs.user {
        if let Some(name) = nonempty(user, "user", report) {
            match User::from_name(name) {
                Ok(Some(entry)) => {
                    uid = Some(entry.uid.as_raw());
                    user_gid = Some(entry.gid.as_raw());
                    user_name = Some(entry.name);
                    user_located = Some(user);
                }
                Ok(None) => report.haproxy(
                    Diagnostic::error(
                        Category::Environment,
                        "user-unknown",
                        format!("'user' : no such user '{name}' in the passwd database"),
                    )
                    .at_opt(user.location)
                    .help(format!(
                        "create it (`useradd --system --no-create-home --shell /usr/sbin/nologin {name}`) or fix the name"
                    )),
                ),
                Err(errno) => report.haproxy(
                    Diagnostic::error(
                        Category::Environment,
                        "user-unknown",
                        format!("'user' : cannot look up user '{name}'"),
                    )
                    .at_opt(user.location)
                    .os_error(&std::io::Error::from(errno))
                    .help("check the name service configuration (/etc/nsswitch.conf)"),
                ),
            }
        }
    }
    if let Some(raw) = &inputs.uid {
        if let Some(value) = numeric(raw, "uid", report) {
            uid = Some(value);
            match User::from_uid(Uid::from_raw(value)) {
                Ok(Some(entry)) => {
                    user_gid.get_or_insert(entry.gid.as_raw());
                    user_name.get_or_insert(entry.name);
                }
                _ => report.env(
                    Diagnostic::notice(
                        Category::Environment,
                        "uid-without-user",
                        format!("'uid' : uid {value} has no entry in the passwd database"),
                    )
                    .at_opt(raw.location),
                ),
            }
        }
    }

    let mut gid: Option<u32> = None;
    if let Some(group) = &inputs.group {
        if let Some(name) = nonempty(group, "group", report) {
            match Group::from_name(name) {
                Ok(Some(entry)) => gid = Some(entry.gid.as_raw()),
                Ok(None) => report.haproxy(
                    Diagnostic::error(
                        Category::Environment,
                        "group-unknown",
                        format!("'group' : no such group '{name}' in the group database"),
                    )
                    .at_opt(group.location)
                    .help(format!(
                        "create it (`groupadd --system {name}`) or fix the name"
                    )),
                ),
                Err(errno) => report.haproxy(
                    Diagnostic::error(
                        Category::Environment,
                        "group-unknown",
                        format!("'group' : cannot look up group '{name}'"),
                    )
                    .at_opt(group.location)
                    .os_error(&std::io::Error::from(errno))
                    .help("check the name service configuration (/etc/nsswitch.conf)"),
                ),
            }
        }
    }
    if let Some(raw) = &inputs.gid {
        if let Some(value) = numeric(raw, "gid", report) {
            gid = Some(value);
            if !matches!(Group::from_gid(Gid::from_raw(value)), Ok(Some(_))) {
                report.env(
                    Diagnostic::notice(
                        Category::Environment,
                        "gid-without-group",
                        format!("'gid' : gid {value} has no entry in the group database"),
                    )
                    .at_opt(raw.location),
                );
            }
        }
    }

    // HAProxy keeps gid 0 when only `user` is set; Sluice takes the user's primary group (R6.4).
    if gid.is_none() {
        if let (Some(user), Some(primary)) = (user_located, user_gid) {
            if primary != running.gid {
                report.env(
                    Diagnostic::warning(
                        Category::Environment,
                        "group-missing",
                        format!(
                            "'user' : '{}' is set without 'group': HAProxy would keep gid {}, Sluice uses the user's primary group (gid {primary})",
                            user.value, running.gid
                        ),
                    )
                    .at_opt(user.location)
                    .help(format!("add `group {}` to the global section", group_name(primary))),
                );
            }
            gid = Some(primary);
        }
    }

    let target_uid = uid.unwrap_or(running.uid);
    let target_gid = gid.unwrap_or(running.gid);
    let changes_identity = target_uid != running.uid || target_gid != running.gid;
    check_permitted(inputs, running, target_uid, target_gid, report);

    let identity = if uid.is_none() && gid.is_none() {
        running.clone()
    } else {
        Identity {
            uid: target_uid,
            gid: target_gid,
            groups: supplementary_groups(user_name.as_deref(), target_gid),
            // A worker that drops root also drops its capabilities.
            capabilities: if target_uid == 0 {
                running.capabilities
            } else {
                Capabilities::NONE
            },
        }
    };
    Target {
        identity,
        user_name,
        changes_identity,
        user_set: uid.is_some(),
    }
}

/// Error when the running identity cannot switch to the target (not root, no CAP_SETUID/GID).
fn check_permitted(inputs: &Inputs, running: &Identity, uid: u32, gid: u32, report: &mut Report) {
    let uid_loc = inputs
        .uid
        .as_ref()
        .or(inputs.user.as_ref())
        .and_then(|l| l.location);
    let gid_loc = inputs
        .gid
        .as_ref()
        .or(inputs.group.as_ref())
        .or(inputs.user.as_ref())
        .and_then(|l| l.location);
    if uid != running.uid && !running.has(Capability::Setuid) {
        report.env(
            Diagnostic::error(
                Category::Environment,
                "identity-change-not-permitted",
                format!(
                    "cannot switch to uid {uid}: running as uid {} without CAP_SETUID",
                    running.uid
                ),
            )
            .at_opt(uid_loc)
            .help("start sluice as root (it drops privileges itself), or remove 'user'/'uid'"),
        );
    }
    if gid != running.gid && !running.has(Capability::Setgid) {
        report.env(
            Diagnostic::error(
                Category::Environment,
                "identity-change-not-permitted",
                format!(
                    "cannot switch to gid {gid}: running as gid {} without CAP_SETGID",
                    running.gid
                ),
            )
            .at_opt(gid_loc)
            .help("start sluice as root (it drops privileges itself), or remove 'group'/'gid'"),
        );
    }
}

/// The value, or an error naming the variable when expansion left it empty.
fn nonempty<'a>(value: &'a Located<String>, keyword: &str, report: &mut Report) -> Option<&'a str> {
    if !value.value.trim().is_empty() {
        return Some(value.value.as_str());
    }
    let mut diag = Diagnostic::error(
        Category::Environment,
        "identity-empty",
        format!("'{keyword}' : the value is empty"),
    )
    .at_opt(value.location);
    diag = match &value.written {
        Some(written) => diag
            .note(match variable_name(written) {
                Some(var) => format!(
                "{written} expanded to nothing: the environment variable {var} is unset or empty"
            ),
                None => format!("{written} expanded to nothing"),
            })
            .help(format!(
                "set the variable in the service's environment, or write the {keyword} directly"
            )),
        None => diag.help(format!("give a {keyword} name or remove the line")),
    };
    report.haproxy(diag);
    None
}

/// The first variable referenced in `text`: `USER_ID` of `"$USER_ID"` or `"${USER_ID-}"`.
fn variable_name(text: &str) -> Option<&str> {
    let after = &text[text.find('$')? + 1..];
    let after = after.strip_prefix('{').unwrap_or(after);
    let end = after
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(after.len());
    (end > 0).then(|| &after[..end])
}

/// A numeric `uid`/`gid`, or an error. HAProxy only warns and ignores the value, which then
/// runs the workers as the starting user (often root): Sluice refuses.
fn numeric(value: &Located<String>, keyword: &'static str, report: &mut Report) -> Option<u32> {
    let text = nonempty(value, keyword, report)?;
    match text.trim().parse::<u32>() {
        Ok(n) if n != u32::MAX => Some(n),
        _ => {
            let code = if keyword == "uid" {
                "uid-not-numeric"
            } else {
                "gid-not-numeric"
            };
            let other = if keyword == "uid" { "user" } else { "group" };
            report.env(
                Diagnostic::error(
                    Category::Environment,
                    code,
                    format!("'{keyword}' : '{text}' is not a number"),
                )
                .at_opt(value.location)
                .help(format!(
                    "write a number, or use `{other} {text}` to give a name"
                )),
            );
            None
        }
    }
}

fn group_name(gid: u32) -> String {
    match Group::from_gid(Gid::from_raw(gid)) {
        Ok(Some(g)) => g.name,
        _ => gid.to_string(),
    }
}

/// The supplementary groups the workers get (`initgroups` for a named user, none otherwise).
fn supplementary_groups(user: Option<&str>, gid: u32) -> Vec<u32> {
    let Some(name) = user.and_then(|n| CString::new(n).ok()) else {
        return Vec::new();
    };
    nix::unistd::getgrouplist(&name, Gid::from_raw(gid))
        .map(|g| g.into_iter().map(Gid::as_raw).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_eff_is_parsed() {
        let caps = parse_cap_eff("Name:\tx\nCapEff:\t0000000000000400\n");
        assert_eq!(caps, Some(Capabilities(0x400)));
        assert!(caps.is_some_and(|c| c.has(Capability::NetBindService)));
        assert!(!caps.is_some_and(|c| c.has(Capability::SysChroot)));
    }

    #[test]
    fn variable_names_are_found() {
        assert_eq!(variable_name("\"$USER_ID\""), Some("USER_ID"));
        assert_eq!(variable_name("${GID-}"), Some("GID"));
        assert_eq!(variable_name("plain"), None);
    }
}
