//! Files named inside sample expressions and rule arguments, which the model keeps as text:
//! map converters (`req.hdr(host),map_dom(/etc/haproxy/hosts.map,default)`) anywhere on a
//! proxy line, and the body files of `return` actions. HAProxy opens both while parsing.
//!
//! ACL criteria are parsed by the model already (`Acl::map_files`); a line found both ways is
//! listed once (see `dedup_files`).

use super::paths::Resolver;
use crate::inputs::{FilePurpose, FileRef};
use sluice_config::Location;
use sluice_model::proxy::BackendName;
use sluice_model::Model;

/// Adds the map files and `return` files of every proxy's rules and other lines.
pub(super) fn add_rule_maps(model: &Model, resolver: &Resolver, files: &mut Vec<FileRef>) {
    let mut push = |purpose: FilePurpose, keyword: &str, path: &str, at: Location| {
        let mut file = FileRef::new(purpose, resolver.parse_time(path, at), Some(at));
        file.keyword = keyword.to_string();
        files.push(file);
    };
    for proxy in model.defaults.iter().chain(&model.proxies) {
        for rule in &proxy.rules {
            for arg in &rule.args {
                for map in map_files(arg) {
                    push(FilePurpose::MapFile, "map", &map, rule.location);
                }
            }
            if rule.action == "return" {
                for (purpose, keyword, path) in return_files(&rule.args) {
                    push(purpose, keyword, path, rule.location);
                }
            }
        }
        let dynamic = proxy
            .use_backends
            .iter()
            .map(|u| (&u.target, u.location))
            .chain(proxy.default_backend.iter().map(|d| (&d.value, d.location)));
        for (target, at) in dynamic {
            if let BackendName::Dynamic(text) = target {
                for map in map_files(text) {
                    push(FilePurpose::MapFile, "map", &map, at);
                }
            }
        }
        for statement in &proxy.other {
            for word in statement.args() {
                for map in map_files(&word.text) {
                    push(FilePurpose::MapFile, "map", &map, statement.location);
                }
            }
        }
    }
}

/// The first argument of every `map*` converter in `text` (`,map(f)`, `,map_str(f,def)`...).
pub(super) fn map_files(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(",map") {
        let after = &rest[at + 1..];
        rest = &rest[at + 4..];
        let name_len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let name = &after[..name_len];
        if !(name == "map" || name.starts_with("map_")) {
            continue;
        }
        let Some(args) = after[name_len..].strip_prefix('(') else {
            continue;
        };
        let end = args.find([',', ')']).unwrap_or(args.len());
        let file = args[..end].trim().trim_matches(['"', '\'']);
        if !file.is_empty() {
            out.push(file.to_string());
        }
    }
    out
}

/// `return [status <code>] [content-type <type>] [errorfile|file|lf-file <path>] ...`.
fn return_files(args: &[String]) -> Vec<(FilePurpose, &'static str, &str)> {
    let mut out = Vec::new();
    for pair in args.windows(2) {
        let (purpose, keyword) = match pair[0].as_str() {
            "errorfile" => (FilePurpose::ErrorFile, "return errorfile"),
            "file" => (FilePurpose::Other, "return file"),
            "lf-file" => (FilePurpose::Other, "return lf-file"),
            _ => continue,
        };
        out.push((purpose, keyword, pair[1].as_str()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{map_files, return_files};

    #[test]
    fn map_converters_give_their_file() {
        assert_eq!(
            map_files("%[req.hdr(host),lower,map_dom(/etc/h.map,default)]"),
            ["/etc/h.map"]
        );
        assert_eq!(map_files("src,map_ip(ips.map)"), ["ips.map"]);
        assert_eq!(
            map_files("req.hdr(host),map(/a.map),map_str(/b.map)"),
            ["/a.map", "/b.map"]
        );
        // Not converters: a fetch argument, a variable name.
        assert!(map_files("var(txn.map)").is_empty());
        assert!(map_files("req.hdr(x),mapping(y)").is_empty());
    }

    #[test]
    fn return_action_files() {
        let args: Vec<String> = ["status", "503", "errorfile", "/e/503.http"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let files = return_files(&args);
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].2, "/e/503.http");
    }
}
