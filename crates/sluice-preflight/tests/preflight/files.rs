use crate::common::*;
use sluice_preflight::{run, FilePurpose, FileRef, Inputs, Policy};
use std::path::Path;

fn with_file(purpose: FilePurpose, path: &Path) -> Inputs {
    Inputs {
        files: vec![FileRef::new(purpose, path, loc(10))],
        ..quiet()
    }
}

#[test]
fn missing_certificate_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("site.pem");
    let diags = run(&with_file(FilePurpose::Certificate, &path), &options());
    let d = only(&diags, "file-missing");
    assert_error(d);
    assert_eq!(d.location, loc(10));
    assert!(
        d.message.starts_with("'crt' : certificate"),
        "{}",
        d.message
    );
    assert_eq!(d.os_error.as_deref(), Some("No such file or directory"));
    assert_codes(&diags, &["file-missing"]);
}

#[test]
fn missing_certificate_is_an_error_even_with_the_check_off() {
    // HAProxy's own -c rejects it: the policy never makes sluice more lenient.
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("site.pem");
    let mut opts = options();
    opts.policy = Policy::Off;
    let diags = run(&with_file(FilePurpose::Certificate, &path), &opts);
    assert_error(only(&diags, "file-missing"));
}

#[test]
fn missing_acl_file_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let diags = run(
        &with_file(FilePurpose::PatternFile, &tmp.path().join("blocked.lst")),
        &options(),
    );
    assert_error(only(&diags, "file-missing"));
}

#[test]
fn missing_server_state_file_is_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let diags = run(
        &with_file(FilePurpose::ServerStateFile, &tmp.path().join("state")),
        &options(),
    );
    assert_warning(only(&diags, "file-missing"));
}

#[test]
fn pem_without_key_is_an_error_unless_a_key_file_is_beside_it() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("site.pem");
    std::fs::write(&path, CERT).unwrap();
    let diags = run(&with_file(FilePurpose::Certificate, &path), &options());
    assert_error(only(&diags, "pem-no-private-key"));

    std::fs::write(tmp.path().join("site.pem.key"), KEY).unwrap();
    let diags = run(&with_file(FilePurpose::Certificate, &path), &options());
    assert_codes(&diags, &[]);
}

#[test]
fn pem_with_a_separate_key_needs_no_key_block() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("site.pem");
    std::fs::write(&path, CERT).unwrap();
    let mut inputs = with_file(FilePurpose::Certificate, &path);
    inputs.files[0].separate_key = true;
    assert_codes(&run(&inputs, &options()), &[]);
}

#[test]
fn pem_without_certificate_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("site.pem");
    std::fs::write(&path, KEY).unwrap();
    let diags = run(&with_file(FilePurpose::Certificate, &path), &options());
    assert_codes(&diags, &["pem-no-certificate"]);
}

#[test]
fn errorfile_that_is_not_http_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("503.http");
    std::fs::write(&path, "<html><body>down</body></html>\n").unwrap();
    let diags = run(&with_file(FilePurpose::ErrorFile, &path), &options());
    let d = only(&diags, "errorfile-not-http");
    assert_error(d);
    assert!(d.message.contains("<html>"), "{}", d.message);
}

#[test]
fn errorfile_without_blank_line_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("503.http");
    std::fs::write(
        &path,
        "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n",
    )
    .unwrap();
    let diags = run(&with_file(FilePurpose::ErrorFile, &path), &options());
    assert_codes(&diags, &["errorfile-head-unterminated"]);
}

#[test]
fn valid_and_empty_errorfiles_pass() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("503.http");
    std::fs::write(
        &path,
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/html\r\n\r\n<h1>down</h1>\n",
    )
    .unwrap();
    assert_codes(
        &run(&with_file(FilePurpose::ErrorFile, &path), &options()),
        &[],
    );
    let empty = Path::new("/dev/null");
    assert_codes(
        &run(&with_file(FilePurpose::ErrorFile, empty), &options()),
        &[],
    );
}

#[test]
fn file_unreadable_by_an_unprivileged_starter() {
    let tmp = tempfile::tempdir().unwrap();
    chmod(tmp.path(), 0o755);
    let path = tmp.path().join("site.pem");
    std::fs::write(&path, format!("{CERT}{KEY}")).unwrap();
    chmod(&path, 0o600);
    let mut inputs = with_file(FilePurpose::Certificate, &path);
    inputs.uid = None;
    inputs.chroot = None;
    let diags = run(&inputs, &unprivileged());
    let d = only(&diags, "file-unreadable");
    assert_error(d);
    assert_eq!(d.os_error.as_deref(), Some("Permission denied"));
}

#[test]
fn directory_where_a_map_file_is_expected() {
    let tmp = tempfile::tempdir().unwrap();
    let diags = run(&with_file(FilePurpose::MapFile, tmp.path()), &options());
    assert_codes(&diags, &["file-not-regular"]);
}
