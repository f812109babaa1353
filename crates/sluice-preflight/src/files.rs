//! Files read at start (certificates, CA/CRL, keys, error files, pattern and map files, Lua,
//! server state, DH parameters): they exist, the starting identity can read them, and where
//! cheap they have the right shape.
//!
//! All of them are read before any chroot (HAProxy reads them while parsing), so they are
//! checked on the host, for the starting identity.

use crate::access::{self, Want};
use crate::inputs::{FilePurpose, FileRef};
use crate::report::Report;
use crate::Context;
use sluice_config::{Category, Diagnostic};
use std::io::{ErrorKind, Read};
use std::path::Path;

/// Shape checks read at most this much; a certificate bundle or error file is far smaller.
const SHAPE_LIMIT: u64 = 4 << 20;

pub(crate) fn check(ctx: &Context, report: &mut Report) {
    for file in &ctx.inputs.files {
        check_one(ctx, file, report);
    }
}

fn check_one(ctx: &Context, file: &FileRef, report: &mut Report) {
    let path = file.path.as_path();
    let kw = &file.keyword;
    let noun = file.purpose.noun();
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(err) => {
            let missing = err.kind() == ErrorKind::NotFound;
            let diag = if file.purpose == FilePurpose::ServerStateFile {
                // HAProxy only warns and starts with the configured addresses.
                Diagnostic::warning(
                    Category::Environment,
                    "file-missing",
                    format!("'{kw}' : cannot open {noun} '{}'", path.display()),
                )
                .help("servers start from the configured addresses; create the file with `show servers state` on the stats socket before a reload")
            } else if missing {
                Diagnostic::error(
                    Category::Environment,
                    "file-missing",
                    format!("'{kw}' : {noun} '{}' does not exist", path.display()),
                )
                .help(missing_help(file))
            } else {
                Diagnostic::error(
                    Category::Environment,
                    "file-unreadable",
                    format!("'{kw}' : cannot access {noun} '{}'", path.display()),
                )
                .help("check the file and its parent directories with `namei -l`")
            };
            report.haproxy(diag.at_opt(file.location).os_error(&err));
            return;
        }
    };
    if meta.is_dir() {
        // A directory of certificates (or of CA certificates) is valid; nothing else is.
        if !matches!(file.purpose, FilePurpose::Certificate | FilePurpose::CaFile) {
            report.haproxy(
                Diagnostic::error(
                    Category::Environment,
                    "file-not-regular",
                    format!("'{kw}' : {noun} '{}' is a directory", path.display()),
                )
                .at_opt(file.location)
                .os_error(&std::io::Error::from_raw_os_error(libc::EISDIR))
                .help("name a file"),
            );
            return;
        }
    }
    let want = if meta.is_dir() {
        Want::Search
    } else {
        Want::Read
    };
    if let Err(denied) = access::check_path(path, ctx.running, want) {
        report.haproxy(
            Diagnostic::error(
                Category::Environment,
                "file-unreadable",
                format!(
                    "'{kw}' : {noun} '{}' is not readable by uid {}: cannot {} '{}'",
                    path.display(),
                    ctx.running.uid,
                    denied.want.verb(),
                    denied.at.display()
                ),
            )
            .at_opt(file.location)
            .os_error(&std::io::Error::from_raw_os_error(libc::EACCES))
            .help(format!(
                "let uid {} read it (e.g. `chmod o+r {}` or change its owner)",
                ctx.running.uid,
                denied.at.display()
            )),
        );
        return;
    }
    if meta.is_dir() {
        return;
    }
    let head = match read_head(path) {
        Ok(bytes) => bytes,
        Err(err) => {
            report.haproxy(
                Diagnostic::error(
                    Category::Environment,
                    "file-unreadable",
                    format!("'{kw}' : cannot read {noun} '{}'", path.display()),
                )
                .at_opt(file.location)
                .os_error(&err),
            );
            return;
        }
    };
    check_shape(file, &head, report);
}

fn read_head(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(SHAPE_LIMIT)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn missing_help(file: &FileRef) -> String {
    match file.purpose {
        FilePurpose::Certificate => format!(
            "put the certificate and its key in one PEM file at {} (e.g. `cat cert.pem key.pem > {}`), or fix the path or 'crt-base'",
            file.path.display(),
            file.path.display()
        ),
        FilePurpose::ErrorFile => format!(
            "create {} holding a full HTTP response (status line, headers, blank line, body)",
            file.path.display()
        ),
        FilePurpose::PatternFile | FilePurpose::MapFile => format!(
            "create it (`touch {}` for an empty one) or fix the path",
            file.path.display()
        ),
        FilePurpose::CaFile | FilePurpose::CrlFile | FilePurpose::CertificateList => {
            "fix the path (relative paths are resolved against 'ca-base'/'crt-base')".to_string()
        }
        _ => "fix the path, or create the file".to_string(),
    }
}

/// Cheap format checks: PEM block markers, the HTTP status line of an error file.
fn check_shape(file: &FileRef, bytes: &[u8], report: &mut Report) {
    let path = file.path.display();
    let kw = &file.keyword;
    let text = String::from_utf8_lossy(bytes);
    let has_cert = text.contains("-----BEGIN CERTIFICATE-----")
        || text.contains("-----BEGIN TRUSTED CERTIFICATE-----");
    let has_key = has_private_key(&text);
    let shape = |code: &'static str, message: String, help: &str| {
        Diagnostic::error(Category::Environment, code, message)
            .at_opt(file.location)
            .help(help.to_string())
    };
    match file.purpose {
        FilePurpose::Certificate => {
            if !has_cert {
                report.haproxy(shape(
                    "pem-no-certificate",
                    format!(
                        "'{kw}' : '{path}' holds no PEM certificate (no 'BEGIN CERTIFICATE' block)"
                    ),
                    "give a PEM file with the certificate, its chain and its private key",
                ));
            }
            let beside = {
                let mut key = file.path.clone().into_os_string();
                key.push(".key");
                std::path::PathBuf::from(key)
            };
            if has_cert && !has_key && !file.separate_key && !beside.is_file() {
                report.haproxy(shape(
                    "pem-no-private-key",
                    format!("'{kw}' : certificate '{path}' holds no private key and there is no '{}'", beside.display()),
                    "append the key to the PEM file (`cat key.pem >> cert.pem`) or put it in a '.key' file beside it",
                ));
            }
        }
        FilePurpose::Key if !has_key => report.haproxy(shape(
            "pem-no-private-key",
            format!("'{kw}' : '{path}' holds no PEM private key"),
            "give the PEM private key that matches the certificate",
        )),
        FilePurpose::CaFile if !has_cert => report.haproxy(shape(
            "pem-no-certificate",
            format!("'{kw}' : CA file '{path}' holds no PEM certificate"),
            "give the PEM certificates of the trusted authorities",
        )),
        FilePurpose::CrlFile if !text.contains("-----BEGIN X509 CRL-----") => report
            .haproxy(shape(
            "pem-no-crl",
            format!("'{kw}' : '{path}' holds no PEM certificate revocation list"),
            "give a PEM file with 'BEGIN X509 CRL' blocks (`openssl crl -inform DER -outform PEM`)",
        )),
        FilePurpose::DhParams if !text.contains("-----BEGIN DH PARAMETERS-----") => {
            report.haproxy(shape(
                "pem-no-dh-params",
                format!("'{kw}' : '{path}' holds no PEM DH parameters"),
                "generate them with `openssl dhparam -out dh.pem 2048`",
            ))
        }
        FilePurpose::ErrorFile => check_errorfile(file, bytes, report),
        _ => {}
    }
}

fn has_private_key(text: &str) -> bool {
    text.lines()
        .any(|l| l.starts_with("-----BEGIN ") && l.trim_end().ends_with("PRIVATE KEY-----"))
}

/// An error file is a whole HTTP/1 response: status line, headers, blank line. An empty file
/// is allowed (HAProxy then sends nothing, e.g. `errorfile 408 /dev/null`).
fn check_errorfile(file: &FileRef, bytes: &[u8], report: &mut Report) {
    if bytes.is_empty() {
        return;
    }
    let kw = &file.keyword;
    let path = file.path.display();
    let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let first = first.strip_suffix(b"\r").unwrap_or(first);
    if !is_status_line(first) {
        let shown: String = String::from_utf8_lossy(first).chars().take(40).collect();
        report.haproxy(
            Diagnostic::error(
                Category::Environment,
                "errorfile-not-http",
                format!("'{kw}' : '{path}' is not an HTTP response: it starts with '{shown}' instead of a status line such as 'HTTP/1.1 503 Service Unavailable'"),
            )
            .at_opt(file.location)
            .help("start the file with a status line, then headers, then a blank line before the body"),
        );
        return;
    }
    let ends_head =
        bytes.windows(4).any(|w| w == b"\r\n\r\n") || bytes.windows(2).any(|w| w == b"\n\n");
    if !ends_head {
        report.haproxy(
            Diagnostic::error(
                Category::Environment,
                "errorfile-head-unterminated",
                format!("'{kw}' : '{path}' has no blank line ending the response headers"),
            )
            .at_opt(file.location)
            .help("add an empty line (CRLF) after the last header, before the body"),
        );
    }
}

/// `HTTP/1.0 NNN` or `HTTP/1.1 NNN` followed by the end or a space.
fn is_status_line(line: &[u8]) -> bool {
    let Some(rest) = line
        .strip_prefix(b"HTTP/1.1 ")
        .or_else(|| line.strip_prefix(b"HTTP/1.0 "))
    else {
        return false;
    };
    rest.len() >= 3
        && rest[..3].iter().all(u8::is_ascii_digit)
        && matches!(rest.get(3), None | Some(b' '))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        assert!(is_status_line(b"HTTP/1.1 503 Service Unavailable"));
        assert!(is_status_line(b"HTTP/1.0 200"));
        assert!(!is_status_line(b"<html>"));
        assert!(!is_status_line(b"HTTP/1.1 50"));
        assert!(!is_status_line(b"HTTP/2 503"));
    }

    #[test]
    fn private_key_markers() {
        assert!(has_private_key("-----BEGIN RSA PRIVATE KEY-----\n"));
        assert!(has_private_key("-----BEGIN PRIVATE KEY-----\n"));
        assert!(has_private_key("-----BEGIN EC PRIVATE KEY-----\n"));
        assert!(!has_private_key("-----BEGIN CERTIFICATE-----\n"));
    }
}
