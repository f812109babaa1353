//! Helpers shared by the preflight tests.

use sluice_config::{FileId, Location, Severity};
use sluice_preflight::{Diagnostic, Diagnostics, Identity, Inputs, Located, Options};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Line `line` of the first configuration file.
pub fn loc(line: u32) -> Option<Location> {
    Some(Location::line(FileId(0), line))
}

/// Inputs that silence the root advisories (`chroot /`, and `uid` of whoever runs the test:
/// `uid 0` as root), so a test sees only the diagnostics of what it sets up.
pub fn quiet() -> Inputs {
    let me = Identity::current().uid.to_string();
    Inputs {
        chroot: Some(Located::new("/".into(), loc(2))),
        uid: Some(Located::new(me, loc(3))),
        ..Inputs::default()
    }
}

/// Options for the identity running the tests.
pub fn options() -> Options {
    Options::default()
}

/// Options simulating an unprivileged run as uid/gid 4242.
pub fn unprivileged() -> Options {
    Options {
        running_as: Identity::unprivileged(4242, 4242),
        ..Options::default()
    }
}

pub fn is_root() -> bool {
    Identity::current().is_root()
}

/// Prints why a test is skipped; returns true when it must be.
pub fn skip_unless_root(test: &str) -> bool {
    if is_root() {
        return false;
    }
    eprintln!("skipped {test}: needs root");
    true
}

pub fn codes(diags: &Diagnostics) -> Vec<&'static str> {
    diags.iter().map(|d| d.code).collect()
}

/// The one diagnostic with `code`, or a panic listing what there was.
pub fn only<'a>(diags: &'a Diagnostics, code: &str) -> &'a Diagnostic {
    let found: Vec<&Diagnostic> = diags.iter().filter(|d| d.code == code).collect();
    assert_eq!(found.len(), 1, "want one {code}, got {:#?}", diags.items);
    found[0]
}

/// Asserts the diagnostics are exactly `expected` (codes, in any order).
pub fn assert_codes(diags: &Diagnostics, expected: &[&str]) {
    let mut got = codes(diags);
    got.sort_unstable();
    let mut want = expected.to_vec();
    want.sort_unstable();
    assert_eq!(got, want, "diagnostics: {:#?}", diags.items);
}

pub fn assert_error(d: &Diagnostic) {
    assert_eq!(d.severity, Severity::Error, "{d:#?}");
    assert_eq!(d.category, sluice_config::Category::Environment);
}

pub fn assert_warning(d: &Diagnostic) {
    assert_eq!(d.severity, Severity::Warning, "{d:#?}");
    assert_eq!(d.category, sluice_config::Category::Environment);
}

pub fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The `nobody` user and its primary group name, if this machine has them.
pub fn nobody() -> Option<(String, String)> {
    let user = nix::unistd::User::from_name("nobody").ok()??;
    let group = nix::unistd::Group::from_gid(user.gid).ok()??;
    Some((user.name, group.name))
}

/// A TCP port that was free a moment ago.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

pub const CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
pub const KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n";
