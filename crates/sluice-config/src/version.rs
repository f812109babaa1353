//! HAProxy-compatible version numbers for `version_atleast`/`version_before` and `HAPROXY_BRANCH`.
//!
//! Sluice implements HAProxy 3.4's configuration language, so conditions compare against
//! [`COMPAT_VERSION`], not against Sluice's own version.
//!
//! A version has up to seven parts, compared in order: major, minor, patch, sub-patch, stage
//! (`dev` < `rc`/`pre` < release), stage number, and the commit count after the last `-`.
//! Missing parts are 0 and a missing stage means "release", so `3.4` = `3.4.0` = `3.4.0.0`
//! and `3.4-dev13` < `3.4-rc1` < `3.4.0` < `3.4.0-12`.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// The HAProxy release whose configuration language Sluice implements.
pub const COMPAT_VERSION: &str = "3.4.0";
/// `HAPROXY_BRANCH`.
pub const COMPAT_BRANCH: &str = "3.4";

const STAGE_DEV: u64 = 1;
const STAGE_RC: u64 = 2;
const STAGE_RELEASE: u64 = 3;

/// A parsed HAProxy version, ordered as HAProxy orders them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Version {
    parts: [u64; 7],
}

/// Why a text is not a version number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionError {
    /// The text as given.
    pub text: String,
}

impl fmt::Display for VersionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}' is not a version number", self.text)
    }
}

impl std::error::Error for VersionError {}

impl Version {
    /// The version conditions compare against ([`COMPAT_VERSION`]).
    pub fn compat() -> Version {
        // COMPAT_VERSION is a constant known to parse; fall back to its parts to stay panic-free.
        Version::parse(COMPAT_VERSION).unwrap_or(Version {
            parts: [3, 4, 0, 0, STAGE_RELEASE, 0, 0],
        })
    }

    /// Parses `MAJOR[.MINOR[.PATCH[.SUB]]][-(dev|rc|pre)[N]][-COMMIT...]` (also `X.Y.Z-COMMIT`).
    ///
    /// Unlike HAProxy, which treats an unparsable text as version 0 and so makes
    /// `version_atleast(garbage)` true, anything that is not a version is an error. Blanks
    /// around the text are ignored; text after a commit count (a hash, a distribution suffix)
    /// is ignored too, as in `3.4.0-64a335366` or `2.6.12-1+deb12u4`.
    pub fn parse(text: &str) -> Result<Version, VersionError> {
        let err = || VersionError {
            text: text.to_string(),
        };
        let s = text.trim().as_bytes();
        let mut parts = [0u64, 0, 0, 0, STAGE_RELEASE, 0, 0];
        let mut i = 0;
        for (n, part) in parts.iter_mut().take(4).enumerate() {
            let (value, next) = digits(s, i).ok_or_else(err)?;
            *part = value;
            i = next;
            if n < 3 && s.get(i) == Some(&b'.') {
                i += 1;
            } else {
                break;
            }
        }
        match s.get(i) {
            None => return Ok(Version { parts }),
            Some(b'-') => i += 1,
            Some(_) => return Err(err()),
        }
        let rest = s.get(i..).unwrap_or_default();
        let stage = if rest.starts_with(b"dev") {
            Some((STAGE_DEV, 3))
        } else if rest.starts_with(b"rc") {
            Some((STAGE_RC, 2))
        } else if rest.starts_with(b"pre") {
            Some((STAGE_RC, 3))
        } else {
            None
        };
        if let Some((code, len)) = stage {
            parts[4] = code;
            i += len;
            if let Some((value, next)) = digits(s, i) {
                parts[5] = value;
                i = next;
            }
            match s.get(i) {
                None => return Ok(Version { parts }),
                Some(b'-') => i += 1,
                Some(_) => return Err(err()),
            }
        }
        // The commit count; whatever follows it (a hash, a packaging suffix) is not compared.
        let (value, _) = digits(s, i).ok_or_else(err)?;
        parts[6] = value;
        Ok(Version { parts })
    }

    /// The seven comparable parts.
    pub fn parts(&self) -> [u64; 7] {
        self.parts
    }
}

/// Reads decimal digits at `start`; `None` when there is none. Saturates instead of overflowing.
fn digits(s: &[u8], start: usize) -> Option<(u64, usize)> {
    let mut i = start;
    let mut value: u64 = 0;
    while let Some(&b) = s.get(i) {
        if !b.is_ascii_digit() {
            break;
        }
        value = value.saturating_mul(10).saturating_add(u64::from(b - b'0'));
        i += 1;
    }
    (i > start).then_some((value, i))
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.parts.cmp(&other.parts)
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl FromStr for Version {
    type Err = VersionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Version::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn missing_parts_are_zero_and_release() {
        assert_eq!(v("3.4"), v("3.4.0"));
        assert_eq!(v("3.4.0"), v("3.4.0.0"));
        assert_eq!(v("3"), v("3.0.0"));
    }

    #[test]
    fn stages_sort_before_release() {
        assert!(v("3.4-dev13") < v("3.4-rc1"));
        assert!(v("3.4-rc1") < v("3.4.0"));
        assert!(v("3.4-pre2") < v("3.4.0"));
        assert!(v("3.4.0") < v("3.4.0-12"));
        assert!(v("3.4-dev2") < v("3.4-dev13"));
        assert!(v("3.3.9") < v("3.4-dev0"));
    }

    #[test]
    fn build_suffixes_are_accepted() {
        assert_eq!(v("3.4.0-64a335366").parts()[6], 64);
        assert_eq!(v("2.6.12-1+deb12u4").parts()[6], 1);
        assert_eq!(v("3.4-dev5-12").parts(), [3, 4, 0, 0, STAGE_DEV, 5, 12]);
    }

    #[test]
    fn garbage_is_an_error() {
        for bad in ["garbage", "", "3.4x", "3.", "-1", "3.4-foo", "v3.4", "3..4"] {
            assert!(Version::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn compat_version_parses() {
        assert_eq!(Version::compat(), v(COMPAT_VERSION));
        assert!(COMPAT_VERSION.starts_with(COMPAT_BRANCH));
    }
}
