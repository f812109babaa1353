//! Every file and directory the configuration names, for the environment preflight.
//!
//! `crt` and `crt-list` paths are relative to `crt-base`, `ca-file`/`crl-file` to `ca-base`,
//! as HAProxy resolves them; other relative paths stay relative (the preflight applies
//! `default-path` and the current directory).

use crate::Model;
use sluice_config::{Location, SectionKind};

/// What a path is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathPurpose {
    Certificate,
    CertificateList,
    CaFile,
    CrlFile,
    Errorfile,
    AclPatternFile,
    MapFile,
    LuaScript,
    ServerStateFile,
    Pidfile,
    /// A directory that must exist.
    Chroot,
    /// A UNIX socket to create (stats socket or bind): its directory must exist.
    UnixSocket,
    DhParams,
}

/// One path and where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathRef {
    /// The path after `ca-base`/`crt-base`.
    pub path: String,
    /// As written in the configuration.
    pub written: String,
    pub purpose: PathPurpose,
    pub location: Location,
}

fn based(base: Option<&str>, path: &str) -> String {
    match base {
        Some(base) if !path.starts_with('/') && !base.is_empty() => {
            format!("{}/{path}", base.trim_end_matches('/'))
        }
        _ => path.to_string(),
    }
}

/// Collects the paths of `model`.
pub fn collect(model: &Model) -> Vec<PathRef> {
    let g = &model.global;
    let crt_base = g.crt_base.as_ref().map(|b| b.value.as_str());
    let ca_base = g.ca_base.as_ref().map(|b| b.value.as_str());
    let mut out = Vec::new();
    let mut push = |base: Option<&str>, written: &str, purpose, location| {
        out.push(PathRef {
            path: based(base, written),
            written: written.to_string(),
            purpose,
            location,
        })
    };
    if let Some(c) = &g.chroot {
        push(None, &c.value, PathPurpose::Chroot, c.location);
    }
    if let Some(p) = &g.pidfile {
        push(None, &p.value, PathPurpose::Pidfile, p.location);
    }
    if let Some(p) = &g.server_state_file {
        let base = g.server_state_base.as_ref().map(|b| b.value.as_str());
        push(base, &p.value, PathPurpose::ServerStateFile, p.location);
    }
    if let Some(p) = &g.ssl_dh_param_file {
        push(None, &p.value, PathPurpose::DhParams, p.location);
    }
    for l in &g.lua_loads {
        push(None, &l.value, PathPurpose::LuaScript, l.location);
    }
    for s in &g.stats_sockets {
        if let Some(path) = s.address.unix_path() {
            push(None, path, PathPurpose::UnixSocket, s.location);
        }
    }
    for proxy in &model.proxies {
        for bind in &proxy.binds {
            for a in &bind.addresses {
                if let Some(path) = a.unix_path() {
                    push(None, path, PathPurpose::UnixSocket, bind.location);
                }
            }
            let o = &bind.options;
            for c in &o.crt {
                push(crt_base, &c.value, PathPurpose::Certificate, c.location);
            }
            for c in &o.crt_list {
                push(crt_base, &c.value, PathPurpose::CertificateList, c.location);
            }
            if let Some(c) = &o.ca_file {
                push(ca_base, &c.value, PathPurpose::CaFile, c.location);
            }
            if let Some(c) = &o.crl_file {
                push(ca_base, &c.value, PathPurpose::CrlFile, c.location);
            }
        }
        for server in &proxy.servers {
            let o = &server.options;
            if let Some(c) = &o.crt {
                push(crt_base, &c.value, PathPurpose::Certificate, c.location);
            }
            if let Some(c) = &o.ca_file {
                push(ca_base, &c.value, PathPurpose::CaFile, c.location);
            }
            if let Some(c) = &o.crl_file {
                push(ca_base, &c.value, PathPurpose::CrlFile, c.location);
            }
        }
        for e in &proxy.errorfiles {
            push(None, &e.path.value, PathPurpose::Errorfile, e.path.location);
        }
        let anonymous = proxy
            .conditions
            .iter()
            .flat_map(|c| c.condition.anonymous());
        for acl in proxy.acls.iter().chain(anonymous) {
            for (f, at) in &acl.files {
                push(None, f, PathPurpose::AclPatternFile, *at);
            }
            for (f, at) in &acl.map_files {
                push(None, f, PathPurpose::MapFile, *at);
            }
        }
    }
    for section in &model.sections {
        if section.kind == SectionKind::HttpErrors {
            for (_, p) in &section.errorfiles {
                push(None, &p.value, PathPurpose::Errorfile, p.location);
            }
        }
    }
    // Settings inherited from defaults appear in several proxies: report each line once.
    let mut seen = std::collections::HashSet::new();
    out.retain(|p| {
        seen.insert((
            p.written.clone(),
            p.location.file,
            p.location.line,
            p.location.column,
        ))
    });
    out
}
