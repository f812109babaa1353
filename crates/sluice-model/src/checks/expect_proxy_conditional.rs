//! `not-implemented-refused` for `tcp-request connection expect-proxy layer4 if <cond>`: the
//! data plane reads a PROXY header only when the frontend expects one from every connection
//! (`accept-proxy`, or the rule without a condition). Ignoring the condition would answer
//! the matching clients' requests with 400 (their header parsed as a request), so the
//! configuration is refused rather than run differently.

use crate::proxy::rules::RuleSet;
use crate::Model;
use sluice_config::{Category, Diagnostic};

pub fn check(model: &Model, out: &mut Vec<Diagnostic>) {
    for proxy in &model.proxies {
        for rule in &proxy.rules {
            if rule.set != RuleSet::TcpRequestConnection
                || rule.action != "expect-proxy"
                || rule.condition.is_none()
            {
                continue;
            }
            out.push(
                Diagnostic::error(
                    Category::Compatibility,
                    "not-implemented-refused",
                    format!(
                        "{} : a conditional 'tcp-request connection expect-proxy' is not implemented by Sluice yet: the PROXY header is read from every connection or from none",
                        proxy.describe()
                    ),
                )
                .at(rule.location)
                .help("use 'accept-proxy' on a bind line that only trusted sources reach, or drop the condition, or run HAProxy for this configuration"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use sluice_config::{read_str, ReadOptions};

    fn codes(rule: &str) -> Vec<&'static str> {
        let text = format!(
            "defaults\n mode http\n timeout client 1s\n timeout server 1s\n timeout connect 1s\n\
             frontend f\n bind 127.0.0.1:8080\n {rule}\n http-request return status 200\n"
        );
        let (tree, _) = read_str("t.cfg", &text, &ReadOptions::default());
        let (model, _) = crate::build(&tree, &crate::BuildOptions::default());
        let mut out = Vec::new();
        super::check(&model, &mut out);
        out.iter().map(|d| d.code).collect()
    }

    #[test]
    fn only_the_conditional_form_is_refused() {
        assert_eq!(
            codes("tcp-request connection expect-proxy layer4 if { src 127.0.0.0/8 }"),
            ["not-implemented-refused"]
        );
        assert!(codes("tcp-request connection expect-proxy layer4").is_empty());
    }
}
