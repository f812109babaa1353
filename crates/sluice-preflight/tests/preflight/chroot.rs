use crate::common::*;
use sluice_preflight::{run, Identity, Inputs, Located, Options};
use std::path::Path;

fn with_chroot(dir: &Path) -> Inputs {
    Inputs {
        chroot: Some(Located::new(dir.to_path_buf(), loc(2))),
        ..quiet()
    }
}

#[test]
fn missing_chroot_is_an_error_with_reason_and_fix() {
    if skip_unless_root("missing_chroot_is_an_error_with_reason_and_fix") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dummydir");
    let diags = run(&with_chroot(&dir), &options());
    let d = only(&diags, "chroot-missing");
    assert_error(d);
    assert_eq!(d.location, loc(2));
    assert!(d.message.contains("does not exist"), "{}", d.message);
    assert_eq!(d.os_error.as_deref(), Some("No such file or directory"));
    assert!(d.help.as_deref().unwrap_or("").contains("mkdir -p"));
    assert_codes(&diags, &["chroot-missing"]);
}

#[test]
fn chroot_that_is_a_file_is_an_error() {
    if skip_unless_root("chroot_that_is_a_file_is_an_error") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("passwd");
    std::fs::write(&file, "x").unwrap();
    let diags = run(&with_chroot(&file), &options());
    assert_error(only(&diags, "chroot-not-directory"));
    assert_codes(&diags, &["chroot-not-directory"]);
}

#[test]
fn chroot_writable_by_others_is_a_warning() {
    if skip_unless_root("chroot_writable_by_others_is_a_warning") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    chmod(tmp.path(), 0o777);
    let diags = run(&with_chroot(tmp.path()), &options());
    let d = only(&diags, "chroot-writable");
    assert_warning(d);
    assert!(d.message.contains("every user"), "{}", d.message);
}

#[test]
fn chroot_writable_by_the_runtime_user_is_a_warning() {
    let Some((user, group)) = nobody() else {
        eprintln!("skipped: no 'nobody' user on this machine");
        return;
    };
    if skip_unless_root("chroot_writable_by_the_runtime_user") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let jail = tmp.path().join("jail");
    std::fs::create_dir(&jail).unwrap();
    chmod(&jail, 0o755);
    chmod(tmp.path(), 0o755);
    let uid = nix::unistd::User::from_name("nobody").unwrap().unwrap().uid;
    nix::unistd::chown(&jail, Some(uid), None).unwrap();
    let mut inputs = with_chroot(&jail);
    inputs.uid = None;
    inputs.user = Some(Located::new(user, loc(4)));
    inputs.group = Some(Located::new(group, loc(5)));
    let diags = run(&inputs, &options());
    let d = only(&diags, "chroot-writable");
    assert!(d.message.contains("nobody"), "{}", d.message);
}

#[test]
fn chroot_symlink_is_a_warning() {
    if skip_unless_root("chroot_symlink_is_a_warning") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    chmod(tmp.path(), 0o755);
    let real = tmp.path().join("real");
    std::fs::create_dir(&real).unwrap();
    chmod(&real, 0o755);
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let diags = run(&with_chroot(&link), &options());
    assert_warning(only(&diags, "chroot-symlink"));
    assert_codes(&diags, &["chroot-symlink"]);
}

#[test]
fn unprivileged_start_cannot_chroot() {
    let tmp = tempfile::tempdir().unwrap();
    chmod(tmp.path(), 0o755);
    let mut inputs = with_chroot(tmp.path());
    inputs.uid = None;
    let diags = run(&inputs, &unprivileged());
    let d = only(&diags, "chroot-not-permitted");
    assert_error(d);
    assert!(d.message.contains("CAP_SYS_CHROOT"), "{}", d.message);
}

#[test]
fn chroot_not_searchable_by_the_starting_identity() {
    let tmp = tempfile::tempdir().unwrap();
    let jail = tmp.path().join("jail");
    std::fs::create_dir(&jail).unwrap();
    chmod(tmp.path(), 0o700);
    let mut inputs = with_chroot(&jail);
    inputs.uid = None;
    let options = Options {
        // CAP_SYS_CHROOT alone: may chroot, but the mode bits still apply.
        running_as: Identity {
            capabilities: sluice_preflight::Capabilities(1 << 18),
            ..Identity::unprivileged(4242, 4242)
        },
        ..Options::default()
    };
    let diags = run(&inputs, &options);
    let d = only(&diags, "chroot-not-searchable");
    assert_error(d);
    assert_eq!(d.os_error.as_deref(), Some("Permission denied"));
}

#[test]
fn chroot_not_searchable_by_the_runtime_user_is_a_warning() {
    let Some((user, group)) = nobody() else {
        eprintln!("skipped: no 'nobody' user on this machine");
        return;
    };
    if skip_unless_root("chroot_not_searchable_by_the_runtime_user") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    chmod(tmp.path(), 0o700);
    let mut inputs = with_chroot(tmp.path());
    inputs.uid = None;
    inputs.user = Some(Located::new(user, loc(4)));
    inputs.group = Some(Located::new(group, loc(5)));
    let diags = run(&inputs, &options());
    assert_warning(only(&diags, "chroot-not-searchable-by-user"));
    assert_codes(&diags, &["chroot-not-searchable-by-user"]);
}

#[test]
fn chroot_slash_means_no_chroot() {
    let diags = run(&quiet(), &options());
    assert_codes(&diags, &[]);
}

#[test]
fn chroot_auto_needs_a_writable_tmp_only() {
    if skip_unless_root("chroot_auto_needs_a_writable_tmp_only") {
        return;
    }
    let inputs = with_chroot(Path::new("auto"));
    assert_codes(&run(&inputs, &options()), &[]);
}
