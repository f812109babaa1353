//! `option http-restrict-req-hdr-names preserve|delete|reject`: what a proxy does with
//! request header names that have characters other than letters, digits and `-` (some
//! servers, FastCGI ones among them, read `_` and `-` alike).

use sluice_model::Proxy;
use sluice_rules::message::HttpMessage;

/// The policy of one proxy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RestrictHdrNames {
    /// Headers go on as they are (the default).
    #[default]
    Preserve,
    /// Such headers are removed.
    Delete,
    /// A request with such a header is answered 403.
    Reject,
}

impl RestrictHdrNames {
    /// The proxy's policy (its own line, else its defaults').
    pub fn of(proxy: &Proxy) -> RestrictHdrNames {
        let option = proxy.option("http-restrict-req-hdr-names");
        match option.and_then(|o| o.args.first()).map(String::as_str) {
            Some("delete") => RestrictHdrNames::Delete,
            Some("reject") => RestrictHdrNames::Reject,
            _ => RestrictHdrNames::Preserve,
        }
    }

    /// Applies the policy to a request; `false` when the request is to be rejected.
    pub fn apply(self, msg: &mut dyn HttpMessage) -> bool {
        if self == RestrictHdrNames::Preserve {
            return true;
        }
        let mut i = msg.header_count();
        while i > 0 {
            i -= 1;
            let restricted = msg.header(i).is_some_and(|(name, _)| !allowed(name));
            if !restricted {
                continue;
            }
            if self == RestrictHdrNames::Reject {
                return false;
            }
            msg.remove_header(i);
        }
        true
    }
}

fn allowed(name: &[u8]) -> bool {
    name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_rules::message::SimpleMessage;

    #[test]
    fn delete_removes_only_restricted_names() {
        let mut msg = SimpleMessage::request(
            "GET",
            "/",
            &[("X-My_Hdr", "on"), ("X-Ok", "1"), ("a.b", "2")],
        );
        assert!(RestrictHdrNames::Delete.apply(&mut msg));
        let names: Vec<_> = (0..msg.header_count())
            .filter_map(|i| msg.header(i))
            .map(|(n, _)| String::from_utf8_lossy(n).into_owned())
            .collect();
        assert_eq!(names, ["X-Ok"]);
    }

    #[test]
    fn reject_refuses_and_preserve_keeps() {
        let mut msg = SimpleMessage::request("GET", "/", &[("X-My_Hdr", "on")]);
        assert!(!RestrictHdrNames::Reject.apply(&mut msg));
        assert!(RestrictHdrNames::Preserve.apply(&mut msg));
        assert_eq!(msg.header_count(), 1);
    }
}
