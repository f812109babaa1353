//! The environment variables seen by the configuration: a snapshot of the process
//! environment, changed by `setenv`/`presetenv`/`resetenv`/`unsetenv` lines as they are read.

use std::collections::BTreeMap;

#[derive(Clone, Debug, Default)]
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

    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.vars.insert(name.into(), value.into());
    }

    pub fn unset(&mut self, name: &str) {
        self.vars.remove(name);
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.vars.keys().map(String::as_str)
    }
}
