//! The environment variables seen by the configuration: a snapshot of the process
//! environment, changed by `setenv`/`presetenv`/`resetenv`/`unsetenv` lines as they are read.
//!
//! The reader never changes the real process environment: the snapshot is what `"${VAR}"`
//! expansions and `defined()` see, and what a later stage hands to the workers.

use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Environment {
    vars: BTreeMap<String, String>,
}

impl Environment {
    /// An empty environment (tests).
    pub fn empty() -> Self {
        Self::default()
    }

    /// A snapshot of the current process environment (non-UTF-8 entries are skipped).
    pub fn from_process() -> Self {
        Self {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    /// An environment holding exactly `pairs` (tests).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    pub fn is_defined(&self, name: &str) -> bool {
        self.vars.contains_key(name)
    }

    /// `setenv NAME VALUE`.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.vars.insert(name.into(), value.into());
    }

    /// `presetenv NAME VALUE`: sets only a variable that is not defined yet.
    pub fn preset(&mut self, name: &str, value: &str) {
        if !self.vars.contains_key(name) {
            self.vars.insert(name.to_string(), value.to_string());
        }
    }

    /// `unsetenv NAME`.
    pub fn unset(&mut self, name: &str) {
        self.vars.remove(name);
    }

    /// `resetenv [NAME...]`: removes every variable except the ones named.
    pub fn reset_except(&mut self, keep: &[&str]) {
        self.vars.retain(|name, _| keep.contains(&name.as_str()));
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.vars.keys().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.vars.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vars.is_empty()
    }

    /// The defined variable whose name is closest to `name`, when one is close enough to be
    /// a likely typo (`HOSTNAM` → `HOSTNAME`). Used for the "maybe you meant" hint.
    pub fn suggest(&self, name: &str) -> Option<&str> {
        if name.is_empty() {
            return None;
        }
        let wanted = name.to_ascii_uppercase();
        self.vars
            .keys()
            .filter(|candidate| candidate.as_str() != name)
            .map(|candidate| {
                let score = strsim::normalized_damerau_levenshtein(
                    &wanted,
                    &candidate.to_ascii_uppercase(),
                );
                (score, candidate)
            })
            .filter(|(score, _)| *score >= 0.7)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, candidate)| candidate.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setenv_family() {
        let mut env = Environment::from_pairs([("A", "1"), ("B", "2"), ("C", "3")]);
        env.preset("A", "x");
        env.preset("D", "4");
        assert_eq!(env.get("A"), Some("1"));
        assert_eq!(env.get("D"), Some("4"));
        env.unset("B");
        assert!(!env.is_defined("B"));
        env.reset_except(&["A", "C"]);
        assert_eq!(env.names().collect::<Vec<_>>(), ["A", "C"]);
    }

    #[test]
    fn suggests_close_names_only() {
        let env = Environment::from_pairs([("HOSTNAME", "h"), ("PATH", "/bin")]);
        assert_eq!(env.suggest("HOSTNAM"), Some("HOSTNAME"));
        assert_eq!(env.suggest("hostname"), Some("HOSTNAME"));
        assert_eq!(env.suggest("SERVER_NAME"), None);
    }
}
