//! Global `http-err-codes` and `http-fail-codes`: which response statuses count as client
//! errors (`http_err_*` counters) and as server failures (`http_fail_*`). Process-wide, set
//! once the configuration is read.

use sluice_model::Model;
use std::sync::RwLock;

/// The statuses a directive can name (100 to 599), as a set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusSet([bool; 600]);

impl StatusSet {
    fn range(lo: u16, hi: u16) -> StatusSet {
        let mut set = StatusSet([false; 600]);
        for s in lo..=hi {
            set.set(s, true);
        }
        set
    }

    fn set(&mut self, status: u16, on: bool) {
        if let Some(slot) = self.0.get_mut(usize::from(status)) {
            *slot = on;
        }
    }

    /// Whether `status` is in the set.
    pub fn contains(&self, status: u16) -> bool {
        self.0.get(usize::from(status)).copied().unwrap_or(false)
    }

    /// HAProxy's default errors: 400 to 499.
    pub fn default_errors() -> StatusSet {
        StatusSet::range(400, 499)
    }

    /// HAProxy's default failures: 500 to 599 but 501 and 505, which clients cause.
    pub fn default_failures() -> StatusSet {
        let mut set = StatusSet::range(500, 599);
        set.set(501, false);
        set.set(505, false);
        set
    }

    /// Applies the words of one directive (`400-499 -450 +500`): a word without a sign
    /// replaces the set, `+` adds to it and `-` removes from it.
    pub fn apply(&mut self, words: &[&str]) -> Result<(), String> {
        for word in words {
            let (op, list) = match word.as_bytes().first() {
                Some(b'+') => (Some(true), &word[1..]),
                Some(b'-') => (Some(false), &word[1..]),
                _ => (None, *word),
            };
            if op.is_none() {
                *self = StatusSet([false; 600]);
            }
            for range in list.split(',') {
                let (lo, hi) = parse_range(range)?;
                for s in lo..=hi {
                    self.set(s, op.unwrap_or(true));
                }
            }
        }
        Ok(())
    }
}

fn parse_range(text: &str) -> Result<(u16, u16), String> {
    let number = |t: &str| {
        t.parse::<u16>()
            .ok()
            .filter(|n| (100..=599).contains(n))
            .ok_or_else(|| format!("invalid status code '{t}' (expects a number from 100 to 599)"))
    };
    let (lo, hi) = match text.split_once('-') {
        Some((lo, hi)) => (number(lo)?, number(hi)?),
        None => {
            let n = number(text)?;
            (n, n)
        }
    };
    if hi < lo {
        return Err(format!(
            "invalid range '{text}': the high bound is below the low one"
        ));
    }
    Ok((lo, hi))
}

struct Classes {
    errors: StatusSet,
    failures: StatusSet,
}

static CLASSES: RwLock<Option<Classes>> = RwLock::new(None);

/// Reads the global `http-err-codes` and `http-fail-codes` lines of `model` and makes them
/// the process's classes; an error names the line.
pub fn apply_global(model: &Model) -> Result<(), String> {
    let mut errors = StatusSet::default_errors();
    let mut failures = StatusSet::default_failures();
    for stmt in &model.global.other {
        let set = match stmt.keyword() {
            "http-err-codes" => &mut errors,
            "http-fail-codes" => &mut failures,
            _ => continue,
        };
        let words: Vec<&str> = stmt.words.iter().skip(1).map(|w| w.as_str()).collect();
        set.apply(&words)
            .map_err(|e| format!("{}: '{}': {e}", stmt.location, stmt.keyword()))?;
    }
    if let Ok(mut classes) = CLASSES.write() {
        *classes = Some(Classes { errors, failures });
    }
    Ok(())
}

/// Whether a response with `status` counts as a client error.
pub fn is_error(status: u16) -> bool {
    match CLASSES.read().ok().as_deref().and_then(Option::as_ref) {
        Some(c) => c.errors.contains(status),
        None => (400..500).contains(&status),
    }
}

/// Whether a response with `status` counts as a server failure.
pub fn is_failure(status: u16) -> bool {
    match CLASSES.read().ok().as_deref().and_then(Option::as_ref) {
        Some(c) => c.failures.contains(status),
        None => StatusSet::default_failures().contains(status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_replace_extend_and_reduce() {
        let mut errors = StatusSet::default_errors();
        errors.apply(&["220", "+300-499", "-300-399"]).ok();
        assert!(errors.contains(220) && errors.contains(404));
        assert!(!errors.contains(300) && !errors.contains(221));

        let mut failures = StatusSet::default_failures();
        failures.apply(&["-550-580", "+555,599,556-566"]).ok();
        assert!(failures.contains(555) && failures.contains(500) && failures.contains(599));
        assert!(!failures.contains(570) && !failures.contains(501));
    }

    #[test]
    fn bad_ranges_are_refused() {
        let mut set = StatusSet::default_errors();
        assert!(set.apply(&["99"]).is_err());
        assert!(set.apply(&["+450-440"]).is_err());
        assert!(set.apply(&["4xx"]).is_err());
    }
}
