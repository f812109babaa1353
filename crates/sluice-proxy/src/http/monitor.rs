//! `monitor-uri <uri>`: a request for exactly this URI is answered locally with the
//! frontend's 200 page (HAProxy's built-in one, or `errorfile 200`), before any rule, and
//! is neither forwarded nor logged, as HAProxy does. `monitor fail` is not evaluated (the
//! catalogue refuses it), so the answer is always 200.

use sluice_model::{Model, Proxy};

/// The frontend's `monitor-uri` (its own line, else its defaults section's).
pub fn uri_of(model: &Model, proxy: &Proxy) -> Option<Box<[u8]>> {
    let defaults = proxy
        .defaults
        .as_deref()
        .and_then(|d| model.defaults.iter().rev().find(|p| p.name == d));
    proxy
        .other
        .iter()
        .rev()
        .chain(
            defaults
                .map(|d| d.other.as_slice())
                .unwrap_or_default()
                .iter()
                .rev(),
        )
        .find(|s| s.keyword() == "monitor-uri")
        .and_then(|s| s.words.get(1))
        .map(|w| Box::from(w.text.as_bytes()))
}

/// Whether a request for `target` on the frontend `uri` belongs to is a monitor request.
/// A `monitor-uri` that starts with `/` is compared with the request's path (and query), so
/// an absolute-form request (`GET http://host/health`) matches it too; any other is
/// compared with the whole target. Case matters, as in HAProxy.
#[inline]
pub fn is_monitor(uri: Option<&[u8]>, target: &[u8]) -> bool {
    uri.is_some_and(|u| match u.first() {
        Some(b'/') => path_of(target) == u,
        _ => u == target,
    })
}

/// The path and query of a request target: the target itself in origin form, what follows
/// the authority in absolute form (`/` when nothing does).
pub(crate) fn path_of(target: &[u8]) -> &[u8] {
    if target.first() == Some(&b'/') {
        return target;
    }
    let Some(scheme_end) = target.windows(3).position(|w| w == b"://") else {
        return target;
    };
    let authority = target.get(scheme_end + 3..).unwrap_or_default();
    match authority.iter().position(|&c| c == b'/' || c == b'?') {
        Some(i) => authority.get(i..).unwrap_or_default(),
        None => b"/",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_match_only() {
        let uri: Option<&[u8]> = Some(b"/health");
        assert!(is_monitor(uri, b"/health"));
        assert!(!is_monitor(uri, b"/health?x=1"));
        assert!(!is_monitor(uri, b"/healthz"));
        assert!(!is_monitor(None, b"/health"));
        assert!(!is_monitor(uri, b"/hEAlth"));
    }

    #[test]
    fn a_path_matches_absolute_form_requests_and_a_full_uri_only_itself() {
        let path: Option<&[u8]> = Some(b"/health");
        assert!(is_monitor(path, b"http://www.haproxy.org/health"));
        assert!(!is_monitor(path, b"http://www.haproxy.org/health?x"));
        let full: Option<&[u8]> = Some(b"http://www.haproxy.org/health");
        assert!(is_monitor(full, b"http://www.haproxy.org/health"));
        assert!(!is_monitor(full, b"/health"));
        assert_eq!(path_of(b"http://h"), b"/");
        assert_eq!(path_of(b"http://h?q"), b"?q");
    }
}
