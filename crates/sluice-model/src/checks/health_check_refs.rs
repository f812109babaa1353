//! What checks name outside their line, refused as HAProxy refuses them at start: a server's
//! `healthcheck <name>` needs that section, and `option external-check` needs its
//! `external-check command` and the global `external-check` and `insecure-fork-wanted`.

use crate::Model;
use sluice_config::{Category, Diagnostic, SectionKind};

pub fn check(model: &Model, out: &mut Vec<Diagnostic>) {
    let global_has = |kw: &str| model.global.other.iter().any(|s| s.keyword() == kw);
    for proxy in model.proxies.iter().filter(|p| p.kind.is_backend()) {
        for server in &proxy.servers {
            for (name, value, location) in &server.options.other {
                let Some(section) = value.as_deref().filter(|_| name == "healthcheck") else {
                    continue;
                };
                if model
                    .sections_of(SectionKind::Healthcheck)
                    .any(|s| s.name == section)
                {
                    continue;
                }
                out.push(
                    Diagnostic::error(
                        Category::Semantic,
                        "healthcheck-unknown",
                        format!(
                            "{}, server '{}' : no healthcheck section named '{section}'",
                            proxy.describe(),
                            server.name
                        ),
                    )
                    .at(*location)
                    .help(format!(
                        "declare `healthcheck {section}` with its `type` line, or fix the name"
                    )),
                );
            }
        }
        let Some(option) = proxy
            .check_type()
            .filter(|o| o.name == "external-check" && !o.negated)
        else {
            continue;
        };
        if !proxy.servers.iter().any(|s| s.options.check) {
            continue;
        }
        let has_command = proxy.other.iter().any(|s| {
            s.keyword() == "external-check" && s.words.get(1).is_some_and(|w| w.text == "command")
        });
        let missing = [
            (!has_command).then_some((
                "'external-check command <program>' in the proxy or its defaults",
                "name the program the checks run",
            )),
            (!global_has("external-check")).then_some((
                "'external-check' in the global section",
                "add `external-check` to the global section",
            )),
            (!global_has("insecure-fork-wanted")).then_some((
                "'insecure-fork-wanted' in the global section",
                "add `insecure-fork-wanted` to the global section: programs cannot be started without it",
            )),
        ];
        for (what, help) in missing.into_iter().flatten() {
            out.push(
                Diagnostic::error(
                    Category::Semantic,
                    "external-check-incomplete",
                    format!(
                        "{} : 'option external-check' needs {what}",
                        proxy.describe()
                    ),
                )
                .at(option.location)
                .help(help),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::build;

    fn hits(text: &str) -> Vec<(&'static str, u32)> {
        let (_, codes) = build(text);
        codes
            .into_iter()
            .filter(|(c, _)| c.starts_with("healthcheck") || c.starts_with("external-check"))
            .collect()
    }

    #[test]
    fn unknown_sections_and_incomplete_external_checks() {
        let text = "healthcheck web\n  type httpchk\nbackend be\n  server a 127.0.0.1:80 check healthcheck web\n  server b 127.0.0.1:80 check healthcheck nope\nbackend ext\n  option external-check\n  server c 127.0.0.1:80 check\n";
        assert_eq!(
            hits(text),
            vec![
                ("healthcheck-unknown", 5),
                ("external-check-incomplete", 7),
                ("external-check-incomplete", 7),
                ("external-check-incomplete", 7),
            ]
        );
        let complete = "global\n  external-check\n  insecure-fork-wanted\nbackend ext\n  option external-check\n  external-check command /bin/true\n  server c 127.0.0.1:80 check\n";
        assert!(hits(complete).is_empty());
    }
}
