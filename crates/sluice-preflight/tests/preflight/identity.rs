use crate::common::*;
use sluice_preflight::{run, Inputs, Located};

#[test]
fn unknown_user_is_an_error_with_a_clear_text() {
    let inputs = Inputs {
        user: Some(Located::new("sluice-no-such-user".into(), loc(4))),
        ..quiet()
    };
    let inputs = Inputs {
        uid: None,
        ..inputs
    };
    let diags = run(&inputs, &options());
    let d = only(&diags, "user-unknown");
    assert_error(d);
    assert_eq!(d.location, loc(4));
    assert!(
        d.message.contains("no such user 'sluice-no-such-user'"),
        "{}",
        d.message
    );
    assert!(d.help.as_deref().unwrap_or("").contains("useradd"));
    assert_codes(&diags, &["user-unknown"]);
}

#[test]
fn unknown_group_is_an_error() {
    let inputs = Inputs {
        group: Some(Located::new("sluice-no-such-group".into(), loc(5))),
        ..quiet()
    };
    let diags = run(&inputs, &options());
    assert_error(only(&diags, "group-unknown"));
}

#[test]
fn non_numeric_uid_is_an_error() {
    let inputs = Inputs {
        uid: Some(Located::new("abc".into(), loc(3))),
        ..quiet()
    };
    let diags = run(&inputs, &options());
    let d = only(&diags, "uid-not-numeric");
    assert_error(d);
    assert!(d.message.contains("'abc' is not a number"), "{}", d.message);
}

#[test]
fn empty_uid_from_an_unset_variable_names_the_variable() {
    let inputs = Inputs {
        uid: Some(Located::new(String::new(), loc(3)).written("\"$USER_ID\"")),
        ..quiet()
    };
    let diags = run(&inputs, &options());
    let d = only(&diags, "identity-empty");
    assert_error(d);
    assert!(
        d.notes
            .iter()
            .any(|n| n.contains("variable USER_ID is unset")),
        "{d:#?}"
    );
}

#[test]
fn changing_identity_without_privileges_is_an_error() {
    let inputs = Inputs {
        uid: Some(Located::new("4243".into(), loc(3))),
        chroot: None,
        ..Inputs::default()
    };
    let diags = run(&inputs, &unprivileged());
    let d = only(&diags, "identity-change-not-permitted");
    assert_error(d);
    assert!(d.message.contains("CAP_SETUID"), "{}", d.message);
}

#[test]
fn user_without_group_is_a_warning() {
    let Some((user, group)) = nobody() else {
        eprintln!("skipped: no 'nobody' user on this machine");
        return;
    };
    if skip_unless_root("user_without_group_is_a_warning") {
        return;
    }
    let inputs = Inputs {
        uid: None,
        user: Some(Located::new(user, loc(4))),
        ..quiet()
    };
    let diags = run(&inputs, &options());
    let d = only(&diags, "group-missing");
    assert_warning(d);
    assert!(d.help.as_deref().unwrap_or("").contains(&group), "{d:#?}");
}
