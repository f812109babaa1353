//! Where a rule was written: the transaction remembers the last rule that ended a rule set
//! (`last_rule_file`, `last_rule_line`). Rules keep the file's index; the names are the
//! process's, set once the configuration is read ([`set_source_names`]).

use std::sync::RwLock;

/// A rule's configuration file (by its index in the files read) and line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuleOrigin {
    /// The file's index among those read (as `sluice_config::FileId` counts them).
    pub file: u32,
    /// The line, from 1.
    pub line: u32,
}

static NAMES: RwLock<Vec<Box<str>>> = RwLock::new(Vec::new());

/// The names of the configuration files, by index, as the rules' locations count them.
pub fn set_source_names(names: impl IntoIterator<Item = String>) {
    if let Ok(mut n) = NAMES.write() {
        *n = names.into_iter().map(String::into_boxed_str).collect();
    }
}

/// The name of configuration file `file`, when known.
pub fn source_name(file: u32) -> Option<String> {
    let names = NAMES.read().ok()?;
    names
        .get(usize::try_from(file).ok()?)
        .map(|n| n.to_string())
}
