//! `default-path`: where HAProxy looks for a relative file named on a configuration line.
//!
//! HAProxy `chdir`s while it parses each file: to the start directory (`current`, the
//! default), to the file's own directory (`config`), to its parent (`parent`), or to a given
//! directory (`origin <dir>`). The keyword applies to the lines read after it, in every later
//! file too. Only files opened while parsing follow it; paths used after parsing (pidfile,
//! sockets, chroot) are relative to the start directory, which `-C` sets.

use sluice_config::{Location, SourceMap};
use sluice_model::global::DefaultPath;
use sluice_model::Model;
use std::path::{Path, PathBuf};

pub(super) struct Resolver<'a> {
    sources: &'a SourceMap,
    /// The model keeps the last `default-path` line (each one replaces the previous).
    default_path: Option<(&'a DefaultPath, Location)>,
}

impl<'a> Resolver<'a> {
    pub(super) fn new(model: &'a Model, sources: &'a SourceMap) -> Self {
        Self {
            sources,
            default_path: model
                .global
                .default_path
                .as_ref()
                .map(|d| (&d.value, d.location)),
        }
    }

    /// A path read while parsing the line at `at`.
    pub(super) fn parse_time(&self, path: &str, at: Location) -> PathBuf {
        if Path::new(path).is_absolute() {
            return PathBuf::from(path);
        }
        match self.base(at) {
            Some(base) => base.join(path),
            None => PathBuf::from(path),
        }
    }

    /// The directory relative paths start from on the line at `at`; `None`: the current one.
    pub(super) fn base(&self, at: Location) -> Option<PathBuf> {
        let (policy, set_at) = self.default_path?;
        if (at.file, at.line) <= (set_at.file, set_at.line) {
            return None;
        }
        let file = self
            .sources
            .ids()
            .find(|id| *id == at.file)
            .map(|id| self.sources.name(id))?;
        match policy {
            DefaultPath::Current => None,
            DefaultPath::Config => config_dir(file),
            DefaultPath::Parent => Some(match config_dir(file) {
                Some(dir) => dir.join(".."),
                None => PathBuf::from(".."),
            }),
            DefaultPath::Origin(dir) => Some(PathBuf::from(dir)),
        }
    }
}

/// "The longest part up to the last slash" of the file name, or `None` without a slash.
fn config_dir(file: &str) -> Option<PathBuf> {
    let slash = file.rfind('/')?;
    Some(PathBuf::from(if slash == 0 { "/" } else { &file[..slash] }))
}

#[cfg(test)]
mod tests {
    use super::config_dir;
    use std::path::PathBuf;

    #[test]
    fn config_dir_is_the_part_before_the_last_slash() {
        assert_eq!(config_dir("conf/a.cfg"), Some(PathBuf::from("conf")));
        assert_eq!(config_dir("/etc/h.cfg"), Some(PathBuf::from("/etc")));
        assert_eq!(config_dir("/h.cfg"), Some(PathBuf::from("/")));
        assert_eq!(config_dir("h.cfg"), None);
    }
}
