//! The typed model (plus a few command-line facts) as preflight [`Inputs`].
//!
//! This is the one place that knows both the model and the checks' plain data. The binary
//! calls [`inputs_from_model`] for `-c`, and the master will call it before starting workers,
//! so both see the same list of things to check.
//!
//! Relative paths are resolved as HAProxy resolves them: files read while parsing
//! (certificates, maps, error files, Lua...) follow `default-path`; what is opened after
//! parsing (pidfile, sockets, chroot, server-state file) is relative to the current directory,
//! which `-C` has already changed. See [`paths`].

mod network;
mod paths;
mod samples;

use crate::inputs::{FilePurpose, FileRef, Inputs, Located, SocketPurpose, UnixSocketRef};
use paths::Resolver;
use sluice_config::{Location, SourceMap};
use sluice_model::{Model, PathPurpose};
use std::collections::HashSet;
use std::path::PathBuf;

/// What the command line adds to the configuration (HAProxy's `-p`, `-S`, `-n`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommandLineFacts {
    /// `-p <pidfile>`: wins over the `pidfile` keyword, as in HAProxy.
    pub pidfile: Option<PathBuf>,
    /// The address part of each `-S` (master CLI) argument: a path, `unix@...`, an IP:port...
    pub master_cli: Vec<String>,
    /// `-n <maxconn>`: wins over the global `maxconn`.
    pub maxconn: Option<u64>,
}

/// The directory HAProxy reads relative files from on the line at `at` (`default-path`);
/// `None`: the current directory. The rules compiler opens pattern and map files with it.
pub fn parse_time_dir(
    model: &Model,
    sources: &SourceMap,
    at: sluice_config::Location,
) -> Option<std::path::PathBuf> {
    paths::Resolver::new(model, sources).base(at)
}

/// The directory relative pattern and map files of rules are opened from, for `-c` and for a
/// starting worker alike: `default-path` as it stands at the first proxy (`None`: the
/// current directory).
pub fn rules_base_dir(model: &Model, sources: &SourceMap) -> Option<std::path::PathBuf> {
    model
        .proxies
        .first()
        .and_then(|p| parse_time_dir(model, sources, p.location))
}

/// Describes what `model` names outside itself. `sources` gives the configuration files'
/// names (for `default-path config|parent`) and the text as written (for `user "$VAR"`).
pub fn inputs_from_model(model: &Model, sources: &SourceMap, extra: &CommandLineFacts) -> Inputs {
    let resolver = Resolver::new(model, sources);
    let global = &model.global;
    // Without a `global` section, HAProxy places its root advisories at `[f.cfg:0]` (R5.13).
    let no_global = || {
        sources
            .ids()
            .next()
            .map(|file| Location::new(file, 0, 0, 0))
    };
    let mut inputs = Inputs {
        global_location: global.location.or_else(no_global),
        ..Inputs::default()
    };

    if let Some(chroot) = &global.chroot {
        inputs.chroot = Some(Located::at(PathBuf::from(&chroot.value), chroot.location));
    }
    inputs.user = global
        .user
        .as_ref()
        .map(|u| written(sources, u.value.clone(), u.location));
    inputs.group = global
        .group
        .as_ref()
        .map(|g| written(sources, g.value.clone(), g.location));
    inputs.uid = global
        .uid
        .as_ref()
        .map(|u| written(sources, u.value.to_string(), u.location));
    inputs.gid = global
        .gid
        .as_ref()
        .map(|g| written(sources, g.value.to_string(), g.location));

    inputs.pidfile = match (&extra.pidfile, &global.pidfile) {
        (Some(path), _) => Some(Located::command_line(path.clone())),
        (None, Some(p)) => Some(Located::at(PathBuf::from(&p.value), p.location)),
        (None, None) => None,
    };
    inputs.maxconn = match (extra.maxconn, &global.maxconn) {
        (Some(n), _) => Some(Located::command_line(n)),
        (None, Some(m)) => Some(Located::at(m.value, m.location)),
        (None, None) => None,
    };
    inputs.ulimit_n = global
        .ulimit_n
        .as_ref()
        .map(|u| Located::at(u.value, u.location));

    inputs.files = files(model, &resolver);
    inputs.external_checks = external_checks(model);
    samples::add_rule_maps(model, &resolver, &mut inputs.files);
    dedup_files(&mut inputs.files);

    network::add_listeners(model, extra, &mut inputs);
    network::add_servers(model, &mut inputs);
    network::add_log_targets(model, &mut inputs);
    inputs
}

/// A value with the argument as written when expansion changed it (`"$USER_ID"`).
fn written(sources: &SourceMap, value: String, at: Location) -> Located<String> {
    let located = Located::at(value, at);
    match raw_text(sources, at) {
        Some(raw) if raw != located.value => located.written(raw),
        _ => located,
    }
}

/// The raw bytes a located word was written with, when the location spans one.
fn raw_text(sources: &SourceMap, at: Location) -> Option<String> {
    if at.len == 0 || sources.ids().all(|id| id != at.file) {
        return None;
    }
    let line = sources.get(at.file).line_bytes(at.line)?;
    let start = (at.column as usize).checked_sub(1)?;
    let bytes = line.get(start..start + at.len as usize)?;
    Some(String::from_utf8_lossy(bytes).into_owned())
}

/// The files read at start, from the model's list of referenced paths.
fn files(model: &Model, resolver: &Resolver) -> Vec<FileRef> {
    let state_file_used = loads_server_state(model);
    let mut out = Vec::new();
    for path in model.referenced_paths() {
        let purpose = match path.purpose {
            PathPurpose::Certificate => FilePurpose::Certificate,
            PathPurpose::CertificateList => FilePurpose::CertificateList,
            PathPurpose::CaFile => FilePurpose::CaFile,
            PathPurpose::CrlFile => FilePurpose::CrlFile,
            PathPurpose::Errorfile => FilePurpose::ErrorFile,
            PathPurpose::AclPatternFile => FilePurpose::PatternFile,
            PathPurpose::MapFile => FilePurpose::MapFile,
            PathPurpose::LuaScript => FilePurpose::LuaScript,
            PathPurpose::DhParams => FilePurpose::DhParams,
            // Read after parsing, from the current directory, and only when a backend asks.
            PathPurpose::ServerStateFile => {
                if state_file_used {
                    out.push(FileRef::new(
                        FilePurpose::ServerStateFile,
                        PathBuf::from(&path.path),
                        Some(path.location),
                    ));
                }
                continue;
            }
            // Checked by their own items (chroot, pidfile, unix_sockets).
            PathPurpose::Pidfile | PathPurpose::Chroot | PathPurpose::UnixSocket => continue,
        };
        // `crt @store/name` names a crt-store entry, not a file.
        if path.written.starts_with('@') || path.path.is_empty() {
            continue;
        }
        out.push(FileRef::new(
            purpose,
            resolver.parse_time(&path.path, path.location),
            Some(path.location),
        ));
    }
    // Bind options the model keeps as written but that name files read while parsing.
    for proxy in model.proxies.iter().filter(|p| !p.disabled) {
        for bind in &proxy.binds {
            for (name, value, at) in &bind.options.other {
                let (Some(value), "ca-verify-file" | "ca-sign-file") = (value, name.as_str())
                else {
                    continue;
                };
                let mut file = FileRef::new(
                    FilePurpose::CaFile,
                    resolver.parse_time(&ca_based(model, value), *at),
                    Some(*at),
                );
                file.keyword = name.clone();
                out.push(file);
            }
        }
    }
    out
}

/// The programs of the backends whose check type is `option external-check` (the last check
/// option of a proxy wins, as with HAProxy).
fn external_checks(model: &Model) -> Vec<Located<PathBuf>> {
    let mut out = Vec::new();
    for proxy in model.proxies.iter().filter(|p| !p.disabled) {
        if !proxy
            .check_type()
            .is_some_and(|o| o.name == "external-check" && !o.negated)
            || !proxy.servers.iter().any(|s| s.options.check)
        {
            continue;
        }
        let command = proxy.other.iter().rev().find(|s| {
            s.keyword() == "external-check" && s.words.get(1).is_some_and(|w| w.text == "command")
        });
        if let Some((st, word)) = command.and_then(|st| Some((st, st.words.get(2)?))) {
            out.push(Located::at(PathBuf::from(&word.text), st.location));
        }
    }
    out
}

/// `ca-base` applied to a CA path, as the model does for `ca-file`.
fn ca_based(model: &Model, path: &str) -> String {
    match &model.global.ca_base {
        Some(base) if !path.starts_with('/') && !base.value.is_empty() => {
            format!("{}/{path}", base.value.trim_end_matches('/'))
        }
        _ => path.to_string(),
    }
}

/// HAProxy opens the global `server-state-file` only for backends with
/// `load-server-state-from-file global`.
fn loads_server_state(model: &Model) -> bool {
    model
        .defaults
        .iter()
        .chain(&model.proxies)
        .flat_map(|p| &p.other)
        .any(|st| {
            st.keyword() == "load-server-state-from-file"
                && st.words.get(1).is_some_and(|w| w.text == "global")
        })
}

/// One entry per file and line: defaults inherited by several proxies name the same line.
fn dedup_files(files: &mut Vec<FileRef>) {
    let mut seen = HashSet::new();
    files.retain(|f| {
        seen.insert((
            f.path.clone(),
            f.location.map(|l| (l.file, l.line)),
            f.purpose,
        ))
    });
}

/// A UNIX socket to create. (`unix-bind prefix` would apply here; Sluice refuses the keyword.)
fn unix_socket(path: &str, purpose: SocketPurpose, location: Option<Location>) -> UnixSocketRef {
    UnixSocketRef {
        path: PathBuf::from(path),
        purpose,
        location,
    }
}

#[cfg(test)]
mod tests;
