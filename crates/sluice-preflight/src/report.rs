//! Collects findings and applies the `--check-env` policy (R5.12).
//!
//! Findings are of two kinds. Those HAProxy's own `-c` also rejects (an unknown user, a missing
//! certificate, an unresolvable server, a UNIX socket path that is too long) keep their
//! severity under every policy, so `sluice -c` is never more lenient than `haproxy -c`. The
//! others are Sluice's own environment checks: `warn` turns their errors into warnings and
//! `off` drops them.

use crate::Policy;
use sluice_config::{Diagnostic, Diagnostics, Severity};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// HAProxy's `-c` fails on it too.
    Haproxy,
    /// Sluice's own environment check.
    Environment,
}

#[derive(Debug, Default)]
pub(crate) struct Report {
    items: Vec<(Diagnostic, Kind)>,
}

impl Report {
    /// A finding HAProxy's `-c` also makes (policy does not weaken it).
    pub(crate) fn haproxy(&mut self, diagnostic: Diagnostic) {
        self.items.push((diagnostic, Kind::Haproxy));
    }

    /// A finding of Sluice's own environment checks (subject to the policy).
    pub(crate) fn env(&mut self, diagnostic: Diagnostic) {
        self.items.push((diagnostic, Kind::Environment));
    }

    pub(crate) fn finish(self, policy: Policy) -> Diagnostics {
        let mut out = Diagnostics::new();
        for (mut diagnostic, kind) in self.items {
            if kind == Kind::Environment {
                match policy {
                    Policy::Off => continue,
                    Policy::Warn if diagnostic.severity == Severity::Error => {
                        diagnostic.severity = Severity::Warning;
                        diagnostic
                            .notes
                            .push("reported as a warning because of --check-env=warn".into());
                    }
                    _ => {}
                }
            }
            out.push(diagnostic);
        }
        out
    }
}
