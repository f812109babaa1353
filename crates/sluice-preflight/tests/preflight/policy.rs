use crate::common::*;
use sluice_config::Severity;
use sluice_preflight::{run, Inputs, Located, LogTarget, LogTargetRef, Options, Policy};

fn missing_chroot(dir: &std::path::Path) -> Inputs {
    Inputs {
        chroot: Some(Located::new(dir.join("dummydir"), loc(2))),
        ..quiet()
    }
}

#[test]
fn warn_policy_turns_environment_errors_into_warnings() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = Options {
        policy: Policy::Warn,
        ..options()
    };
    let diags = run(&missing_chroot(tmp.path()), &opts);
    assert_warning(only(&diags, "chroot-missing"));
}

#[test]
fn off_policy_skips_environment_checks_but_not_haproxy_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let mut inputs = missing_chroot(tmp.path());
    inputs.uid = None;
    inputs.user = Some(Located::new("sluice-no-such-user".into(), loc(4)));
    let opts = Options {
        policy: Policy::Off,
        ..options()
    };
    let diags = run(&inputs, &opts);
    assert_codes(&diags, &["user-unknown"]);
}

#[test]
fn root_advisories_are_exempt_from_zero_warning() {
    if skip_unless_root("root_advisories_are_exempt_from_zero_warning") {
        return;
    }
    let diags = run(&Inputs::default(), &options());
    assert_codes(&diags, &["root-without-chroot", "root-without-user"]);
    for d in diags.iter() {
        assert_eq!(d.severity, Severity::Warning);
        assert!(d.zero_warning_exempt, "{d:#?}");
        assert!(!d.counts_as_warning());
    }
}

#[test]
fn log_socket_missing_inside_the_chroot_is_a_warning() {
    if skip_unless_root("log_socket_missing_inside_the_chroot_is_a_warning") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    chmod(tmp.path(), 0o755);
    let inputs = Inputs {
        chroot: Some(Located::new(tmp.path().to_path_buf(), loc(2))),
        log_targets: vec![LogTargetRef {
            target: LogTarget::Unix("/dev/log".into()),
            location: loc(5),
        }],
        ..quiet()
    };
    let diags = run(&inputs, &options());
    let d = only(&diags, "log-socket-missing-in-chroot");
    assert_warning(d);
    assert!(
        d.message
            .contains(&tmp.path().join("dev/log").display().to_string()),
        "{}",
        d.message
    );

    // Once the syslog daemon listens inside the jail, all is well.
    std::fs::create_dir(tmp.path().join("dev")).unwrap();
    let _sock = std::os::unix::net::UnixDatagram::bind(tmp.path().join("dev/log")).unwrap();
    assert_codes(&run(&inputs, &options()), &[]);
}
