//! Sluice's version texts: `-v`, `-vv`, `-vq`, `-vqs`, `-vqb` and the two-line NOTICE banner.
//!
//! Sluice has its own version and implements the configuration language of one HAProxy
//! release ([`COMPAT_VERSION`]); scripts that read HAProxy's version get that release.

use crate::features::feature_line;
use sluice_config::version::{COMPAT_BRANCH, COMPAT_VERSION};

/// Sluice's own version.
pub const SLUICE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// `-vq`: HAProxy's version shape, with Sluice's version where HAProxy has its commit.
pub fn version_only() -> String {
    format!("{COMPAT_VERSION}-sluice-{SLUICE_VERSION}")
}

/// `-vqs`.
pub fn version_short() -> String {
    COMPAT_VERSION.to_string()
}

/// `-vqb`.
pub fn version_branch() -> String {
    COMPAT_BRANCH.to_string()
}

/// `-v`.
pub fn banner() -> String {
    format!(
        "Sluice version {SLUICE_VERSION} - HAProxy {COMPAT_VERSION} configuration language and command line\n\
         Running on: {}\n",
        running_on()
    )
}

/// `-vv`: the banner, then what this build can do.
pub fn build_options() -> String {
    format!(
        "{}\n\
         Build options :\n\
         \x20 Rust target: {}-{}\n\
         \n\
         Feature list : {}\n\
         \n\
         Available polling systems :\n\
      \x20    epoll (through tokio) : used\n\
         Available multiplexer protocols :\n\
      \x20    h1 : mode=HTTP  side=FE|BE\n\
      \x20  none : mode=TCP   side=FE|BE\n",
        banner(),
        std::env::consts::ARCH,
        std::env::consts::OS,
        feature_line()
    )
}

/// The NOTICE lines printed once before the first warning or alert, as HAProxy prints
/// `haproxy version is ...` and `path to executable is ...`.
pub fn notice_banner(program: &str) -> [String; 2] {
    [
        format!("sluice version is {SLUICE_VERSION} (HAProxy {COMPAT_VERSION} language)"),
        format!("path to executable is {program}"),
    ]
}

/// `Linux 6.1.0 #1 SMP ... x86_64`, from uname(2).
fn running_on() -> String {
    // SAFETY: uname fills the zeroed struct; the fields are NUL-terminated C strings.
    let mut name: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut name) } != 0 {
        return std::env::consts::OS.to_string();
    }
    let field = |f: &[libc::c_char]| {
        let bytes: Vec<u8> = f
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    format!(
        "{} {} {} {}",
        field(&name.sysname),
        field(&name.release),
        field(&name.version),
        field(&name.machine)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_versions_are_one_word() {
        assert_eq!(version_branch(), "3.4");
        assert_eq!(version_short(), "3.4.0");
        assert!(version_only().starts_with("3.4.0-sluice-"));
    }
}
