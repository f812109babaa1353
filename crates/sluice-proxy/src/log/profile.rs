//! Log profiles (`log-profile` sections) and log steps (`log-steps`).
//!
//! A stream may be logged at several steps (accept, request, connect, response, close; an
//! error that ends a connection before any request is its own step). `log-steps` chooses
//! them (by default the close alone, or the first point where `option logasap` can write the
//! line: the response head for HTTP, the server connection for TCP). A `log` line naming a
//! profile (`profile <name>`) then uses, at each step, the profile's rule for that step (or
//! its `on any` rule): `drop` sends nothing, `format` and `sd` replace the proxy's format and
//! the RFC 5424 structured data; without a rule the proxy's format is used. The profile's
//! `log-tag` replaces the proxy's.

use super::format::Format;
use sluice_config::SectionKind;
use sluice_model::Model;

/// A point of a stream's life where a line may be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Accept,
    Request,
    Connect,
    Response,
    Close,
    /// The connection ended in an error before any request.
    Error,
}

impl Step {
    fn bit(self) -> u8 {
        match self {
            Step::Accept => 1,
            Step::Request => 2,
            Step::Connect => 4,
            Step::Response => 8,
            Step::Close => 16,
            Step::Error => 32,
        }
    }

    fn parse(word: &str) -> Option<Step> {
        Some(match word {
            "accept" => Step::Accept,
            "request" => Step::Request,
            "connect" => Step::Connect,
            "response" => Step::Response,
            "close" => Step::Close,
            "error" => Step::Error,
            _ => return None,
        })
    }

    /// What `%OG` prints for a line of this step.
    pub fn origin(self) -> &'static str {
        match self {
            Step::Accept => "txn_accept",
            Step::Request => "txn_request",
            Step::Connect => "txn_connect",
            Step::Response => "txn_response",
            Step::Close => "txn_close",
            Step::Error => "sess_error",
        }
    }
}

/// The steps a proxy logs at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Steps(u8);

impl Steps {
    /// `log-steps` as written (`all`, or a comma-separated list), else the default: the
    /// close, or with `logasap` the response head (HTTP) or the connection (TCP).
    pub fn of(words: Option<&str>, logasap: bool, http: bool) -> Steps {
        if let Some(w) = words {
            if w == "all" {
                return Steps(0x1F);
            }
            let bits = w
                .split(',')
                .filter_map(|s| Step::parse(s.trim()))
                .fold(0, |b, s| b | s.bit());
            if bits != 0 {
                return Steps(bits);
            }
        }
        match (logasap, http) {
            (false, _) => Steps(Step::Close.bit()),
            (true, true) => Steps(Step::Response.bit()),
            (true, false) => Steps(Step::Connect.bit()),
        }
    }

    /// Whether lines are written at `step` (errors always are).
    pub fn has(self, step: Step) -> bool {
        step == Step::Error || self.0 & step.bit() != 0
    }
}

/// What a profile does at one step.
#[derive(Debug)]
pub struct Rule {
    pub drop: bool,
    pub format: Option<Format>,
    pub sd: Option<Format>,
}

/// A profile compiled for one proxy (its formats may read the proxy's samples).
#[derive(Debug, Default)]
pub struct Profile {
    pub tag: Option<String>,
    rules: Vec<(Option<Step>, Rule)>,
}

impl Profile {
    /// Every format of the profile (what they read must be kept for them).
    pub fn formats(&self) -> impl Iterator<Item = &Format> {
        self.rules
            .iter()
            .flat_map(|(_, r)| r.format.iter().chain(r.sd.iter()))
    }

    /// The rule for `step`: its own, else `on any`.
    pub fn rule(&self, step: Step) -> Option<&Rule> {
        self.rules
            .iter()
            .find(|(s, _)| *s == Some(step))
            .or_else(|| self.rules.iter().find(|(s, _)| s.is_none()))
            .map(|(_, r)| r)
    }

    /// The profile `name` of `model`, its formats compiled with `compile`. `None`: no such
    /// section.
    pub fn build(
        model: &Model,
        name: &str,
        compile: &mut dyn FnMut(&str) -> std::io::Result<Format>,
    ) -> std::io::Result<Option<Profile>> {
        let Some(section) = model
            .sections_of(SectionKind::LogProfile)
            .find(|s| s.name == name)
        else {
            return Ok(None);
        };
        let mut p = Profile::default();
        for st in &section.statements {
            let words: Vec<&str> = st.words.iter().map(|w| w.text.as_str()).collect();
            match words.as_slice() {
                ["log-tag", tag, ..] => p.tag = Some((*tag).to_string()),
                ["on", step, rest @ ..] => {
                    let step = if *step == "any" {
                        None
                    } else {
                        match Step::parse(step) {
                            Some(s) => Some(s),
                            None => continue,
                        }
                    };
                    let mut rule = Rule {
                        drop: false,
                        format: None,
                        sd: None,
                    };
                    let mut i = 0;
                    while let Some(w) = rest.get(i) {
                        match *w {
                            "drop" => rule.drop = true,
                            "format" => {
                                if let Some(f) = rest.get(i + 1) {
                                    rule.format = Some(compile(f)?);
                                }
                                i += 1;
                            }
                            "sd" => {
                                if let Some(f) = rest.get(i + 1) {
                                    rule.sd = Some(compile(f)?);
                                }
                                i += 1;
                            }
                            _ => {}
                        }
                        i += 1;
                    }
                    p.rules.push((step, rule));
                }
                _ => {}
            }
        }
        Ok(Some(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_default_to_the_close_or_the_logasap_point() {
        assert!(Steps::of(None, false, true).has(Step::Close));
        assert!(!Steps::of(None, false, true).has(Step::Response));
        assert!(Steps::of(None, true, true).has(Step::Response));
        assert!(Steps::of(None, true, false).has(Step::Connect));
        let s = Steps::of(Some("connect,close"), false, true);
        assert!(s.has(Step::Connect) && s.has(Step::Close) && !s.has(Step::Accept));
        assert!(Steps::of(Some("all"), false, true).has(Step::Accept));
        assert!(s.has(Step::Error), "errors are always logged");
    }
}
