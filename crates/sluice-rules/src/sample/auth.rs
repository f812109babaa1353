//! HTTP authentication fetches against `userlist` sections: `http_auth(<userlist>)`,
//! `http_auth_group(<userlist>)`, and the credentials themselves: `http_auth_user`,
//! `http_auth_pass`, `http_auth_type`.

use super::{Arg, Fetched};
use crate::message::SampleSource;
use crate::sample::value::Value;
use crate::userlist::Credentials;
use std::borrow::Cow;

type Emit<'e, 'a> = &'e mut dyn FnMut(Value<'a>) -> bool;

/// The credentials of the request's (last) header `name`.
fn credentials(s: &dyn SampleSource, name: &[u8]) -> Option<Credentials> {
    let req = s.request()?;
    let mut found = None;
    let mut from = 0;
    while let Some(i) = req.find_header(name, from) {
        found = req.header(i).map(|(_, v)| v);
        from = i + 1;
    }
    Credentials::parse(found?)
}

fn basic(s: &dyn SampleSource) -> Option<(String, String)> {
    match credentials(s, b"authorization")? {
        Credentials::Basic { user, password } => Some((user, password)),
        _ => None,
    }
}

/// `http_auth(<userlist>)`: the request carries Basic credentials the userlist accepts.
pub(crate) fn http_auth<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let Some(Arg::Userlist(list)) = args.first() else {
        return Fetched::Done;
    };
    if s.request().is_none() {
        return Fetched::Done;
    }
    let ok = basic(s).is_some_and(|(u, p)| list.check(&u, &p).is_some());
    emit(Value::Bool(ok));
    Fetched::Done
}

/// `http_auth_group(<userlist>)`: for a request whose credentials the userlist accepts, the
/// groups of the user (patterns match any of them, as HAProxy matches group names).
pub(crate) fn http_auth_group<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let Some(Arg::Userlist(list)) = args.first() else {
        return Fetched::Done;
    };
    let Some((u, p)) = basic(s) else {
        return Fetched::Done;
    };
    let Some(user) = list.check(&u, &p) else {
        return Fetched::Done;
    };
    for g in &user.groups {
        if !emit(Value::Str(Cow::Owned(g.as_bytes().to_vec()))) {
            break;
        }
    }
    Fetched::Done
}

/// `http_auth_user`: the user name of Basic credentials (not checked).
pub(crate) fn http_auth_user<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    if let Some((u, _)) = basic(s) {
        emit(Value::Str(Cow::Owned(u.into_bytes())));
    }
    Fetched::Done
}

/// `http_auth_pass`: the password of Basic credentials (not checked).
pub(crate) fn http_auth_pass<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    if let Some((_, p)) = basic(s) {
        emit(Value::Str(Cow::Owned(p.into_bytes())));
    }
    Fetched::Done
}

/// `http_auth_type`: the scheme of the `Authorization` header (`Basic`, `Bearer`, `Digest`).
pub(crate) fn http_auth_type<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    if let Some(scheme) = credentials(s, b"authorization").and_then(|c| c.scheme()) {
        emit(Value::Str(Cow::Borrowed(scheme.as_bytes())));
    }
    Fetched::Done
}
