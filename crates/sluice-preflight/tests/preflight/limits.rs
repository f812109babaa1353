use crate::common::*;
use nix::sys::resource::{getrlimit, Resource};
use sluice_preflight::{run, Inputs, Located};

fn hard_limit() -> Option<u64> {
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    (hard < 1 << 40).then_some(hard)
}

#[test]
fn ulimit_n_over_the_hard_limit_is_an_error_when_unprivileged() {
    let Some(hard) = hard_limit() else {
        eprintln!("skipped: no finite hard RLIMIT_NOFILE here");
        return;
    };
    let inputs = Inputs {
        ulimit_n: Some(Located::new(hard + 1, loc(9))),
        ..Inputs::default()
    };
    let diags = run(&inputs, &unprivileged());
    let d = only(&diags, "fd-limit-too-low");
    assert_error(d);
    assert_eq!(d.location, loc(9));
    assert!(
        d.message.contains(&format!("hard limit {hard}")),
        "{}",
        d.message
    );
}

#[test]
fn maxconn_beyond_the_hard_limit_is_an_error_when_unprivileged() {
    let Some(hard) = hard_limit() else {
        eprintln!("skipped: no finite hard RLIMIT_NOFILE here");
        return;
    };
    let inputs = Inputs {
        maxconn: Some(Located::new(hard, loc(9))),
        ..Inputs::default()
    };
    let diags = run(&inputs, &unprivileged());
    let d = only(&diags, "fd-limit-too-low");
    assert!(
        d.help.as_deref().unwrap_or("").contains("lower maxconn"),
        "{d:#?}"
    );
}

#[test]
fn ulimit_n_below_maxconn_needs_is_a_warning() {
    let inputs = Inputs {
        maxconn: Some(Located::new(1000, loc(8))),
        ulimit_n: Some(Located::new(100, loc(9))),
        ..quiet()
    };
    assert_warning(only(&run(&inputs, &options()), "fd-limit-below-maxconn"));
}

#[test]
fn modest_maxconn_passes() {
    let inputs = Inputs {
        maxconn: Some(Located::new(100, loc(8))),
        listener_count: 2,
        ..quiet()
    };
    assert_codes(&run(&inputs, &options()), &[]);
}
