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
#[inline]
pub fn is_monitor(uri: Option<&[u8]>, target: &[u8]) -> bool {
    uri.is_some_and(|u| u == target)
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
    }
}
