//! Would a given identity be able to search, read or write a path?
//!
//! Computed from mode bits, owner, group and the identity's groups, not with `access(2)`:
//! `-c` usually runs as root while the workers run as `haproxy`, and tests simulate
//! unprivileged runs. POSIX ACLs and LSMs (SELinux, AppArmor) are not consulted, so the answer
//! can be "allowed" where the kernel would still refuse; never the other way round for plain
//! modes.

use crate::identity::{Capability, Identity};
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// What an identity wants to do with a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    /// Enter a directory (`x` on a directory).
    Search,
    Read,
    Write,
    /// Run a program (`x` on a file).
    Execute,
}

impl Want {
    pub fn verb(self) -> &'static str {
        match self {
            Want::Search => "search",
            Want::Read => "read",
            Want::Write => "write",
            Want::Execute => "execute",
        }
    }
}

/// Whether `who` may do `want` on an object with metadata `meta` (no path walk).
pub fn allowed(meta: &Metadata, who: &Identity, want: Want) -> bool {
    let mode = meta.mode();
    let is_dir = meta.is_dir();
    if who.has(Capability::DacOverride) {
        // Root may do anything except execute a file nobody may execute.
        return match want {
            Want::Search => is_dir || mode & 0o111 != 0,
            Want::Execute => !is_dir && mode & 0o111 != 0,
            _ => true,
        };
    }
    if who.has(Capability::DacReadSearch)
        && (want == Want::Read || (want == Want::Search && is_dir))
    {
        return true;
    }
    let bit = match want {
        Want::Read => 0o4,
        Want::Write => 0o2,
        Want::Search | Want::Execute => 0o1,
    };
    let shift = if meta.uid() == who.uid {
        6
    } else if who.in_group(meta.gid()) {
        3
    } else {
        0
    };
    mode & (bit << shift) != 0
}

/// Why a path is not accessible.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denied {
    /// The path where access stops (the path itself or one of its ancestors).
    pub at: PathBuf,
    pub want: Want,
}

/// Whether `who` may reach `path` (search every ancestor) and then do `want` on it.
/// Ancestors that cannot be inspected are passed over; the caller reports real OS errors.
pub fn check_path(path: &Path, who: &Identity, want: Want) -> Result<(), Denied> {
    let absolute = absolute(path);
    let ancestors: Vec<&Path> = absolute.ancestors().skip(1).collect();
    for dir in ancestors.into_iter().rev() {
        if let Ok(meta) = std::fs::metadata(dir) {
            if !allowed(&meta, who, Want::Search) {
                return Err(Denied {
                    at: dir.to_path_buf(),
                    want: Want::Search,
                });
            }
        }
    }
    match std::fs::metadata(&absolute) {
        Ok(meta) if !allowed(&meta, who, want) => Err(Denied { at: absolute, want }),
        _ => Ok(()),
    }
}

/// `path` made absolute against the current directory (the configuration's relative paths are
/// relative to where sluice starts, as in HAProxy).
pub fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    match std::env::current_dir() {
        Ok(cwd) => cwd.join(path),
        Err(_) => path.to_path_buf(),
    }
}

/// A user-facing name for an identity: `user 'haproxy' (uid 99)` or `uid 1000`.
pub fn describe(who: &Identity, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("user '{name}' (uid {})", who.uid),
        None => format!("uid {}", who.uid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn mode_bits_decide_for_plain_users() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "x").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        let meta = std::fs::metadata(&file).unwrap();
        let owner = Identity::unprivileged(meta.uid(), 4242);
        let member = Identity::unprivileged(4243, meta.gid());
        let other = Identity::unprivileged(4243, 4244);
        assert!(allowed(&meta, &owner, Want::Write));
        assert!(allowed(&meta, &member, Want::Read));
        assert!(!allowed(&meta, &member, Want::Write));
        assert!(!allowed(&meta, &other, Want::Read));
        assert!(allowed(&meta, &Identity::root(), Want::Write));
    }
}
