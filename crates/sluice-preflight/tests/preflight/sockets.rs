use crate::common::*;
use sluice_preflight::{run, Inputs, Located, Policy, SocketPurpose, UnixSocketRef};
use std::path::{Path, PathBuf};

fn with_socket(path: &Path) -> Inputs {
    Inputs {
        unix_sockets: vec![UnixSocketRef {
            path: path.to_path_buf(),
            purpose: SocketPurpose::StatsSocket,
            location: loc(6),
        }],
        ..quiet()
    }
}

#[test]
fn missing_pidfile_directory_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("run/x/h.pid");
    let inputs = Inputs {
        pidfile: Some(Located::new(path.clone(), loc(7))),
        ..quiet()
    };
    let diags = run(&inputs, &options());
    let d = only(&diags, "pidfile-directory-missing");
    assert_error(d);
    assert!(
        d.message.starts_with("'pidfile' : cannot create"),
        "{}",
        d.message
    );
    assert!(d.help.as_deref().unwrap_or("").contains("mkdir -p"));
    assert_codes(&diags, &["pidfile-directory-missing"]);
}

#[test]
fn command_line_pidfile_says_dash_p() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = Inputs {
        pidfile: Some(Located::command_line(tmp.path().join("nope/h.pid"))),
        ..quiet()
    };
    let diags = run(&inputs, &options());
    let d = only(&diags, "pidfile-directory-missing");
    assert_eq!(d.location, None);
    assert!(d.message.starts_with("'-p' :"), "{}", d.message);
}

#[test]
fn pidfile_directory_not_writable_when_unprivileged() {
    let tmp = tempfile::tempdir().unwrap();
    chmod(tmp.path(), 0o755);
    let inputs = Inputs {
        pidfile: Some(Located::new(tmp.path().join("h.pid"), loc(7))),
        ..Inputs::default()
    };
    let diags = run(&inputs, &unprivileged());
    assert_error(only(&diags, "pidfile-directory-not-writable"));
}

#[test]
fn stats_socket_directory_missing_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let diags = run(
        &with_socket(&tmp.path().join("haproxy/admin.sock")),
        &options(),
    );
    let d = only(&diags, "unix-socket-directory-missing");
    assert_error(d);
    assert!(
        d.message
            .starts_with("'stats socket' : cannot bind UNIX socket"),
        "{}",
        d.message
    );
    assert_eq!(d.os_error.as_deref(), Some("No such file or directory"));
    assert_codes(&diags, &["unix-socket-directory-missing"]);
}

#[test]
fn socket_path_too_long_is_an_error_under_every_policy() {
    let long: PathBuf = format!("/run/{}/admin.sock", "x".repeat(90)).into();
    let mut opts = options();
    opts.policy = Policy::Off;
    let diags = run(&with_socket(&long), &opts);
    let d = only(&diags, "unix-socket-path-too-long");
    assert_error(d);
    assert!(d.message.contains("max 97"), "{}", d.message);
}

#[test]
fn socket_path_of_97_bytes_is_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().to_string_lossy().len() + 1;
    let path = tmp.path().join("s".repeat(97 - base));
    assert_eq!(path.as_os_str().len(), 97);
    assert_codes(&run(&with_socket(&path), &options()), &[]);
}

#[test]
fn live_unix_socket_in_use_names_its_holder() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("admin.sock");
    let _held = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let diags = run(&with_socket(&path), &options());
    let d = only(&diags, "unix-socket-in-use");
    assert_error(d);
    let pid = std::process::id().to_string();
    assert!(d.message.contains(&pid), "{}", d.message);
}

#[test]
fn stale_unix_socket_is_fine() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("admin.sock");
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    assert_codes(&run(&with_socket(&path), &options()), &[]);
}

#[test]
fn socket_directory_not_writable_when_unprivileged() {
    let tmp = tempfile::tempdir().unwrap();
    chmod(tmp.path(), 0o755);
    let mut inputs = with_socket(&tmp.path().join("admin.sock"));
    inputs.uid = None;
    inputs.chroot = None;
    let diags = run(&inputs, &unprivileged());
    assert_codes(&diags, &["unix-socket-directory-not-writable"]);
}
