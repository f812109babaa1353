//! HAProxy-compatible version numbers for `version_atleast`/`version_before` and `HAPROXY_BRANCH`.
//!
//! Sluice implements HAProxy 3.4's configuration language, so conditions compare against
//! [`COMPAT_VERSION`], not against Sluice's own version.

/// The HAProxy release whose configuration language Sluice implements.
pub const COMPAT_VERSION: &str = "3.4.0";
/// `HAPROXY_BRANCH`.
pub const COMPAT_BRANCH: &str = "3.4";
