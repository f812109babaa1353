//! The feature list printed by `-vv` and answered by `.if feature(NAME)`: one list, so the two
//! never disagree. It tells what Sluice does today, not what HAProxy builds usually have.

/// `(NAME, available)`, printed as `+NAME` / `-NAME`. A name absent from the list is false too.
pub const FEATURES: &[(&str, bool)] = &[
    // TLS is rustls (ring), not OpenSSL: OpenSSL-only settings and predicates stay off.
    ("OPENSSL", false),
    ("RUSTLS", true),
    ("OPENSSL_AWSLC", false),
    ("OPENSSL_WOLFSSL", false),
    ("KTLS", false),
    ("LUA", false),
    ("QUIC", false),
    ("PROMEX", false),
    ("OT", false),
    ("DEVICEATLAS", false),
    ("51DEGREES", false),
    ("WURFL", false),
    ("THREAD", true),
    ("GETADDRINFO", true),
    // Forwarding is not implemented yet; splice and transparent proxying come with it or not.
    ("LINUX_SPLICE", false),
    ("TPROXY", false),
    ("LINUX_TPROXY", false),
    // HTTP compression (deflate and gzip) with flate2; `tune.zlib.*` do not apply.
    ("ZLIB", true),
    ("SLZ", false),
    ("PCRE", false),
    ("PCRE2", false),
    ("SYSTEMD", false),
    ("MEMORY_PROFILING", false),
];

/// Whether `feature(name)` is true.
pub fn has_feature(name: &str) -> bool {
    FEATURES.iter().any(|&(n, on)| on && n == name)
}

/// The names that are available, for the reader's `feature()` predicate.
pub fn enabled_features() -> Vec<String> {
    FEATURES
        .iter()
        .filter(|(_, on)| *on)
        .map(|(name, _)| name.to_string())
        .collect()
}

/// `-vv`'s line: `+THREAD -OPENSSL ...`.
pub fn feature_line() -> String {
    FEATURES
        .iter()
        .map(|&(name, on)| format!("{}{name}", if on { '+' } else { '-' }))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_the_truth_about_today() {
        assert!(has_feature("THREAD"));
        assert!(!has_feature("OPENSSL"));
        assert!(!has_feature("LUA"));
        assert!(!has_feature("NOSUCH"));
        assert!(feature_line().contains("+THREAD"));
        assert!(feature_line().contains("-QUIC"));
        assert!(has_feature("RUSTLS"));
        assert_eq!(
            enabled_features(),
            ["RUSTLS", "THREAD", "GETADDRINFO", "ZLIB"]
        );
    }
}
