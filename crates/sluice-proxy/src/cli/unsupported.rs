//! HAProxy commands Sluice knows but cannot run yet: they get a clear answer naming what is
//! missing instead of the unknown-command help.

use super::dispatch::Answer;

/// Command prefixes and the feature they need.
const KNOWN: &[(&[&str], &str)] = &[
    (&["show", "map"], "reading maps at run time"),
    (&["show", "acl"], "reading ACL pattern files at run time"),
    (&["get", "map"], "reading maps at run time"),
    (&["get", "acl"], "reading ACL pattern files at run time"),
    (&["add", "map"], "changing maps at run time"),
    (&["set", "map"], "changing maps at run time"),
    (&["del", "map"], "changing maps at run time"),
    (&["clear", "map"], "changing maps at run time"),
    (&["prepare", "map"], "changing maps at run time"),
    (&["commit", "map"], "changing maps at run time"),
    (&["add", "acl"], "changing ACL patterns at run time"),
    (&["del", "acl"], "changing ACL patterns at run time"),
    (&["clear", "acl"], "changing ACL patterns at run time"),
    (&["prepare", "acl"], "changing ACL patterns at run time"),
    (&["commit", "acl"], "changing ACL patterns at run time"),
    (&["add", "server"], "dynamic servers"),
    (&["add", "backend"], "dynamic backends"),
    (&["del", "backend"], "dynamic backends"),
    (&["publish", "backend"], "dynamic backends"),
    (&["unpublish", "backend"], "dynamic backends"),
    (&["show", "events"], "event rings"),
    (&["show", "sess"], "listing streams"),
    (&["shutdown"], "closing sessions or frontends at run time"),
    (&["disable", "frontend"], "pausing frontends at run time"),
    (&["enable", "frontend"], "pausing frontends at run time"),
    (
        &["set", "maxconn"],
        "changing frontend and global connection limits at run time",
    ),
    (&["set", "rate-limit"], "rate limits"),
    (
        &["set", "timeout"],
        "changing the session timeout at run time",
    ),
    (&["clear", "counters"], "clearing counters"),
    (&["show", "peers"], "peers"),
    (&["show", "ssl"], "managing TLS files at run time"),
    (&["set", "ssl"], "managing TLS files at run time"),
    (&["new", "ssl"], "managing TLS files at run time"),
    (&["add", "ssl"], "managing TLS files at run time"),
    (&["del", "ssl"], "managing TLS files at run time"),
    (&["commit", "ssl"], "managing TLS files at run time"),
    (&["abort", "ssl"], "managing TLS files at run time"),
    (&["show", "fd"], "listing file descriptors"),
    (&["show", "activity"], "activity counters"),
    (&["show", "tasks"], "listing tasks"),
    (&["show", "threads"], "listing threads"),
    (&["show", "pools"], "memory pools"),
    (&["show", "profiling"], "profiling"),
    (&["set", "profiling"], "profiling"),
    (&["show", "trace"], "traces"),
    (&["trace"], "traces"),
    (&["show", "cache"], "the HTTP cache"),
    (&["show", "schema"], "JSON output"),
    (&["show", "quic"], "QUIC"),
    (&["show", "libs"], "listing libraries"),
    (&["show", "dev"], "developer information"),
    (&["show", "anon"], "anonymized mode"),
    (&["set", "anon"], "anonymized mode"),
    (
        &["show", "startup-logs"],
        "the startup log buffer (the master CLI has it)",
    ),
    (&["show", "cli", "sockets"], "listing CLI sockets"),
    (&["debug"], "debug commands"),
    (&["httpclient"], "the HTTP client"),
    (&["set", "dynamic-cookie-key"], "dynamic cookies"),
    (&["enable", "dynamic-cookie"], "dynamic cookies"),
    (&["disable", "dynamic-cookie"], "dynamic cookies"),
    (&["set", "severity-output"], "severity output"),
    (&["wait"], "waiting for conditions"),
    (&["echo"], "echo"),
    (&["acme"], "ACME"),
    (&["dump"], "stats files"),
    (&["update", "ssl"], "OCSP updates"),
];

/// The answer to a known but unsupported command, `None` for an unknown one.
pub fn answer(words: &[&str], _payload: bool) -> Option<Answer> {
    let (prefix, feature) = KNOWN
        .iter()
        .filter(|(p, _)| words.len() >= p.len() && words.iter().zip(p.iter()).all(|(a, b)| a == b))
        .max_by_key(|(p, _)| p.len())?;
    Some(Answer::text(format!(
        "'{}' is not supported by Sluice yet: it needs {feature}, which Sluice does not provide at run time.\n",
        prefix.join(" ")
    )))
}

#[cfg(test)]
mod tests {
    use super::answer;

    #[test]
    fn longest_prefix_wins() {
        let a = answer(&["show", "map", "m"], false).map(|a| a.text);
        assert!(a.is_some_and(|t| t.starts_with("'show map' is not supported by Sluice yet")));
        assert!(answer(&["show", "nothing"], false).is_none());
        assert!(answer(&["shutdown", "session", "0x1"], false).is_some());
    }
}
