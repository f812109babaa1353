//! The worker's jail and identity (spec R6.4): `chroot` + `chdir("/")`, then
//! `setgroups`/`setgid`/`setuid` in that order, then a read-back of the real, effective and
//! saved ids. Names are resolved before the chroot, while `/etc/passwd` is still visible.
//!
//! Every failure is a [`Diagnostic`] with the configuration line, the OS reason and a fix, so
//! that the master prints the cause rather than "a worker died".

use nix::errno::Errno;
use nix::unistd::{self, Gid, Group, Uid, User};
use sluice_config::{Category, Diagnostic, Location};
use sluice_model::Global;
use std::ffi::CString;

/// What the worker will do, resolved from `global`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub chroot: Option<(String, Location)>,
    pub uid: Option<(u32, Option<Location>)>,
    pub gid: Option<(u32, Option<Location>)>,
    /// `initgroups` for this user when `group`/`gid` was not given (supplementary groups of
    /// the user); otherwise `setgroups([])`.
    pub init_groups_for: Option<CString>,
}

impl Plan {
    /// Whether anything is to be done.
    pub fn is_empty(&self) -> bool {
        self.chroot.is_none() && self.uid.is_none() && self.gid.is_none()
    }
}

/// Resolves `chroot`, `user`/`uid` and `group`/`gid`.
pub fn plan(global: &Global) -> Result<Plan, Box<Diagnostic>> {
    let mut plan = Plan {
        chroot: global
            .chroot
            .as_ref()
            .map(|c| (c.value.clone(), c.location)),
        ..Plan::default()
    };
    let mut user_primary_gid = None;
    if let Some(user) = &global.user {
        match User::from_name(&user.value) {
            Ok(Some(entry)) => {
                plan.uid = Some((entry.uid.as_raw(), Some(user.location)));
                user_primary_gid = Some(entry.gid.as_raw());
                plan.init_groups_for = CString::new(entry.name).ok();
            }
            Ok(None) => {
                return fail(
                    Diagnostic::error(
                        Category::Environment,
                        "user-unknown",
                        format!(
                            "'user' : no such user '{}' in the passwd database",
                            user.value
                        ),
                    )
                    .at(user.location),
                )
            }
            Err(e) => {
                return fail(
                    Diagnostic::error(
                        Category::Environment,
                        "user-unknown",
                        format!("'user' : cannot look up user '{}'", user.value),
                    )
                    .at(user.location)
                    .os_error(&std::io::Error::from(e)),
                )
            }
        }
    }
    if let Some(uid) = &global.uid {
        let value = u32::try_from(uid.value).map_err(|_| {
            Diagnostic::error(
                Category::Semantic,
                "uid-range",
                format!("'uid' : {} is out of range", uid.value),
            )
            .at(uid.location)
        })?;
        plan.uid = Some((value, Some(uid.location)));
        if user_primary_gid.is_none() {
            if let Ok(Some(entry)) = User::from_uid(Uid::from_raw(value)) {
                user_primary_gid = Some(entry.gid.as_raw());
                plan.init_groups_for = CString::new(entry.name).ok();
            }
        }
    }
    if let Some(group) = &global.group {
        match Group::from_name(&group.value) {
            Ok(Some(entry)) => plan.gid = Some((entry.gid.as_raw(), Some(group.location))),
            Ok(None) => {
                return fail(
                    Diagnostic::error(
                        Category::Environment,
                        "group-unknown",
                        format!(
                            "'group' : no such group '{}' in the group database",
                            group.value
                        ),
                    )
                    .at(group.location),
                )
            }
            Err(e) => {
                return fail(
                    Diagnostic::error(
                        Category::Environment,
                        "group-unknown",
                        format!("'group' : cannot look up group '{}'", group.value),
                    )
                    .at(group.location)
                    .os_error(&std::io::Error::from(e)),
                )
            }
        }
    }
    if let Some(gid) = &global.gid {
        let value = u32::try_from(gid.value).map_err(|_| {
            Diagnostic::error(
                Category::Semantic,
                "gid-range",
                format!("'gid' : {} is out of range", gid.value),
            )
            .at(gid.location)
        })?;
        plan.gid = Some((value, Some(gid.location)));
    }
    if plan.gid.is_some() {
        // An explicit group: no supplementary groups (HAProxy's setgroups(0)).
        plan.init_groups_for = None;
    } else if let Some(gid) = user_primary_gid {
        // Only a user: its primary group rather than keeping root's gid 0 (spec R6.4, Better).
        plan.gid = Some((gid, None));
    }
    if plan.uid.is_none() {
        plan.init_groups_for = None;
    }
    Ok(plan)
}

/// The identity after [`apply`], read back from the kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

/// Enters the jail and drops privileges, in HAProxy's order, then verifies.
pub fn apply(plan: &Plan) -> Result<Applied, Box<Diagnostic>> {
    if let Some((dir, location)) = &plan.chroot {
        unistd::chroot(dir.as_str()).map_err(|errno| chroot_failure(dir, *location, errno))?;
        unistd::chdir("/").map_err(|errno| chroot_failure(dir, *location, errno))?;
    }
    if let Some((gid, location)) = plan.gid {
        let result = match &plan.init_groups_for {
            Some(user) => unistd::initgroups(user, Gid::from_raw(gid)),
            None => unistd::setgroups(&[]),
        };
        if let Err(errno) = result {
            // Without the right to drop groups, setgid below fails too and says why.
            if errno != Errno::EPERM {
                return fail(identity_failure(
                    "setgroups-failed",
                    "Failed to drop supplementary groups".to_string(),
                    location,
                    errno,
                ));
            }
        }
        unistd::setgid(Gid::from_raw(gid)).map_err(|errno| {
            identity_failure(
                "setgid-failed",
                format!("Cannot set gid {gid}"),
                location,
                errno,
            )
        })?;
    }
    if let Some((uid, location)) = plan.uid {
        unistd::setuid(Uid::from_raw(uid)).map_err(|errno| {
            identity_failure(
                "setuid-failed",
                format!("Cannot set uid {uid}"),
                location,
                errno,
            )
        })?;
    }
    verify(plan)
}

/// Reads back real, effective and saved ids and the supplementary groups.
fn verify(plan: &Plan) -> Result<Applied, Box<Diagnostic>> {
    let uids = unistd::getresuid().map_err(|e| verify_failure("getresuid", e))?;
    let gids = unistd::getresgid().map_err(|e| verify_failure("getresgid", e))?;
    let groups: Vec<u32> = unistd::getgroups()
        .map_err(|e| verify_failure("getgroups", e))?
        .into_iter()
        .map(Gid::as_raw)
        .collect();
    if let Some((uid, location)) = plan.uid {
        let all = [uids.real, uids.effective, uids.saved].map(Uid::as_raw);
        if all.iter().any(|&u| u != uid) {
            return fail(
                mismatch(format!(
                "after setuid({uid}) the process still has uids {all:?} (real, effective, saved)"
            ))
                .at_opt(location),
            );
        }
    }
    if let Some((gid, location)) = plan.gid {
        let all = [gids.real, gids.effective, gids.saved].map(Gid::as_raw);
        if all.iter().any(|&g| g != gid) {
            return fail(
                mismatch(format!(
                "after setgid({gid}) the process still has gids {all:?} (real, effective, saved)"
            ))
                .at_opt(location),
            );
        }
        if plan.init_groups_for.is_none() && groups.iter().any(|&g| g != gid) {
            return fail(
                mismatch(format!(
                    "supplementary groups {groups:?} are still set after setgroups()"
                ))
                .at_opt(location),
            );
        }
    }
    Ok(Applied {
        uid: uids.effective.as_raw(),
        gid: gids.effective.as_raw(),
        groups,
    })
}

/// Diagnostics are large: they travel boxed.
fn fail<T>(d: Diagnostic) -> Result<T, Box<Diagnostic>> {
    Err(Box::new(d))
}

fn chroot_failure(dir: &str, location: Location, errno: Errno) -> Diagnostic {
    let help = match errno {
        Errno::ENOENT => format!("create it: `mkdir -p {dir}`, or fix the 'chroot' line"),
        Errno::ENOTDIR => "point 'chroot' at a directory".to_string(),
        Errno::EACCES => format!(
            "let the user starting Sluice enter every directory on the way: `namei -l {dir}`"
        ),
        Errno::EPERM => "chroot needs root (or CAP_SYS_CHROOT): start Sluice as root".to_string(),
        _ => format!("check the directory: `ls -ld {dir}`"),
    };
    Diagnostic::error(
        Category::Environment,
        "chroot-failed",
        format!("chroot to '{dir}' failed"),
    )
    .at(location)
    .os_error(&std::io::Error::from(errno))
    .help(help)
}

fn identity_failure(
    code: &'static str,
    message: String,
    location: Option<Location>,
    errno: Errno,
) -> Diagnostic {
    Diagnostic::error(Category::Environment, code, message)
        .at_opt(location)
        .os_error(&std::io::Error::from(errno))
        .help("changing identity needs root (or CAP_SETUID/CAP_SETGID): start Sluice as root, or remove 'user'/'group'")
}

fn verify_failure(call: &str, errno: Errno) -> Diagnostic {
    Diagnostic::error(
        Category::Environment,
        "identity-unverified",
        format!("cannot read back the process identity ({call})"),
    )
    .os_error(&std::io::Error::from(errno))
}

fn mismatch(message: String) -> Diagnostic {
    Diagnostic::error(Category::Environment, "identity-mismatch", message)
        .help("the kernel refused part of the privilege drop; the worker does not serve traffic with a partial identity")
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_config::FileId;
    use sluice_model::Spanned;

    #[test]
    fn user_alone_takes_its_primary_group() {
        let mut global = Global::default();
        let loc = Location::line(FileId(0), 3);
        global.user = Some(Spanned::new("root".to_string(), loc));
        let plan = plan(&global).expect("root exists");
        assert_eq!(plan.uid, Some((0, Some(loc))));
        assert_eq!(plan.gid, Some((0, None)));
        assert!(plan.init_groups_for.is_some());
    }

    #[test]
    fn unknown_user_is_reported_with_its_line() {
        let mut global = Global::default();
        let loc = Location::line(FileId(0), 4);
        global.user = Some(Spanned::new("no-such-user-sluice".to_string(), loc));
        let err = plan(&global).expect_err("unknown");
        assert_eq!(err.location, Some(loc));
    }

    #[test]
    fn missing_chroot_names_directory_and_reason() {
        let d = chroot_failure("/dummydir", Location::line(FileId(0), 2), Errno::ENOENT);
        assert_eq!(d.message, "chroot to '/dummydir' failed");
        assert_eq!(d.os_error.as_deref(), Some("No such file or directory"));
    }
}
