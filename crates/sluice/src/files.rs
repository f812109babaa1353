//! The configuration file list (spec R1.3): `-f` and `--` paths in order, directories expanded
//! to their `*.cfg` files, each file read into the [`SourceMap`].

use sluice_config::diagnostic::os_reason;
use sluice_config::{Category, Diagnostic, SourceMap};
use std::fs;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;

/// Largest configuration read, as HAProxy caps it (pipes such as `/dev/stdin` have no size).
pub const MAX_CONFIG_SIZE: u64 = 10 * 1024 * 1024;

/// Replaces each directory by the regular files it directly contains whose name ends in `.cfg`
/// and does not start with `.`, in byte order; files are kept in place, duplicates included.
pub fn expand(paths: &[String]) -> Result<Vec<String>, Box<Diagnostic>> {
    let mut files = Vec::new();
    for path in paths {
        let meta = fs::metadata(path).map_err(|e| {
            Box::new(
                Diagnostic::error(
                    Category::Environment,
                    "config-file-open",
                    format!(
                        "Cannot open configuration file/directory {path} : {}",
                        os_reason(&e)
                    ),
                )
                .os_error(&e),
            )
        })?;
        if !meta.is_dir() {
            files.push(path.clone());
            continue;
        }
        let unreadable = |e: std::io::Error| {
            Box::new(
                Diagnostic::error(
                    Category::Environment,
                    "config-dir-open",
                    format!(
                        "Cannot open configuration directory {path} : {}",
                        os_reason(&e)
                    ),
                )
                .os_error(&e),
            )
        };
        let dir = path.trim_end_matches('/');
        let dir = if dir.is_empty() { "/" } else { dir };
        let mut names: Vec<Vec<u8>> = Vec::new();
        for entry in fs::read_dir(path).map_err(unreadable)? {
            let entry = entry.map_err(unreadable)?;
            let name = entry.file_name().as_bytes().to_vec();
            if name.starts_with(b".") || !name.ends_with(b".cfg") {
                continue;
            }
            // Symlinks are followed; anything but a regular file is skipped.
            if fs::metadata(entry.path()).is_ok_and(|m| m.is_file()) {
                names.push(name);
            }
        }
        names.sort();
        for name in names {
            let name = String::from_utf8_lossy(&name);
            files.push(if dir == "/" {
                format!("/{name}")
            } else {
                format!("{dir}/{name}")
            });
        }
    }
    Ok(files)
}

/// Reads every file into a new [`SourceMap`], in order.
pub fn load(files: &[String]) -> Result<SourceMap, Box<Diagnostic>> {
    let mut sources = SourceMap::new();
    for name in files {
        sources.add(name.clone(), read(name)?);
    }
    Ok(sources)
}

fn read(name: &str) -> Result<Vec<u8>, Box<Diagnostic>> {
    let open_error = |e: std::io::Error| {
        Box::new(
            Diagnostic::error(
                Category::Environment,
                "config-file-open",
                format!(
                    "Could not open configuration file {name} : {}",
                    os_reason(&e)
                ),
            )
            .os_error(&e),
        )
    };
    let file = fs::File::open(name).map_err(open_error)?;
    let mut text = Vec::new();
    file.take(MAX_CONFIG_SIZE + 1)
        .read_to_end(&mut text)
        .map_err(open_error)?;
    if text.len() as u64 > MAX_CONFIG_SIZE {
        let size = fs::metadata(name).map(|m| m.len()).unwrap_or(0);
        let size = size.max(text.len() as u64);
        return Err(Box::new(Diagnostic::error(
            Category::Environment,
            "config-file-too-large",
            format!(
                "Loading {name}: input is too large {}MB, limited to {}MB. Exiting.",
                size / (1024 * 1024),
                MAX_CONFIG_SIZE / (1024 * 1024)
            ),
        )));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_expand_to_sorted_cfg_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["20-b.cfg", "10-a.cfg", ".hidden.cfg", "40.conf", "B.cfg"] {
            fs::write(dir.path().join(name), "").expect("write");
        }
        fs::create_dir(dir.path().join("sub.cfg")).expect("mkdir");
        let root = dir.path().to_string_lossy().into_owned();
        let files = expand(&[format!("{root}/"), format!("{root}/10-a.cfg")]).expect("expand");
        assert_eq!(
            files,
            [
                format!("{root}/10-a.cfg"),
                format!("{root}/20-b.cfg"),
                format!("{root}/B.cfg"),
                format!("{root}/10-a.cfg"),
            ]
        );
    }

    #[test]
    fn missing_path_gives_haproxy_text() {
        let err = expand(&["/nonexistent.cfg".to_string()]).expect_err("missing");
        assert_eq!(
            err.message,
            "Cannot open configuration file/directory /nonexistent.cfg : No such file or directory"
        );
    }
}
