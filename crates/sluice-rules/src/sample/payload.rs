//! Fetches on buffer contents: the raw bytes content inspection holds (`req.len`,
//! `req.payload`, `res.payload`, the unprefixed `payload` of either direction, `wait_end`),
//! and the HTTP bodies rules waited for (`req.body`, `req.body_param`, `res.body`...).
//!
//! Buffer contents can still grow while content inspection waits: a fetch that lacks bytes,
//! or whose answer may change with more of them, reports [`Fetched::Miss`], and the rule set
//! decides whether to wait ([`crate::Connection::contents_final`]).

use super::fetch::params;
use super::{Arg, Fetched, Value};
use crate::message::SampleSource;

type Emit<'e, 'a> = &'e mut dyn FnMut(Value<'a>) -> bool;

/// Which buffer a fetch reads.
#[derive(Clone, Copy)]
enum Dir {
    Request,
    Response,
    /// The direction of the rule set (the unprefixed `payload`, `payload_lv`).
    Rules,
}

fn buffer(s: &dyn SampleSource, dir: Dir) -> Option<&[u8]> {
    let conn = s.connection();
    let response = match dir {
        Dir::Request => false,
        Dir::Response => true,
        Dir::Rules => conn.on_response() || s.response().is_some(),
    };
    if response {
        conn.res_payload()
    } else {
        conn.payload()
    }
}

fn int_arg(args: &[Arg], i: usize) -> usize {
    match args.get(i) {
        Some(Arg::Int(n)) => usize::try_from(*n).unwrap_or(0),
        _ => 0,
    }
}

/// The length of the buffered bytes: it may grow while the contents are not final.
fn len<'a>(s: &'a dyn SampleSource, dir: Dir, emit: Emit<'_, 'a>) -> Fetched {
    let Some(data) = buffer(s, dir) else {
        return Fetched::Done;
    };
    emit(Value::Sint(i64::try_from(data.len()).unwrap_or(i64::MAX)));
    Fetched::Miss
}

/// `<length>` bytes at `<offset>`; a length of 0 takes everything from the offset on (which
/// may still grow). Too few bytes: no value yet.
fn payload<'a>(args: &'a [Arg], s: &'a dyn SampleSource, dir: Dir, emit: Emit<'_, 'a>) -> Fetched {
    let Some(data) = buffer(s, dir) else {
        return Fetched::Done;
    };
    let (offset, length) = (int_arg(args, 0), int_arg(args, 1));
    if length == 0 {
        if let Some(rest) = data.get(offset..) {
            emit(Value::Bin(rest.into()));
        }
        return Fetched::Miss;
    }
    match data.get(offset..offset.saturating_add(length)) {
        Some(block) => {
            emit(Value::Bin(block.into()));
            Fetched::Done
        }
        None => Fetched::Miss,
    }
}

/// A block whose size is the big-endian number of `<length>` bytes at `<offset1>`; it
/// starts right after that number, or at `<offset2>` (relative to that point when signed).
fn payload_lv<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    dir: Dir,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let Some(data) = buffer(s, dir) else {
        return Fetched::Done;
    };
    let (at, width) = (int_arg(args, 0), int_arg(args, 1));
    let Some(field) = data.get(at..at.saturating_add(width)) else {
        return Fetched::Miss;
    };
    let size = field.iter().fold(0usize, |acc, &b| {
        acc.saturating_mul(256).saturating_add(usize::from(b))
    });
    let after = at + width;
    let start = match args.get(2).and_then(Arg::text).map(str::trim) {
        None | Some("") => Some(after),
        Some(t) if t.starts_with('+') || t.starts_with('-') => t
            .parse::<i64>()
            .ok()
            .and_then(|d| usize::try_from(i64::try_from(after).ok()? + d).ok()),
        Some(t) => t.parse::<usize>().ok(),
    };
    let Some(start) = start else {
        return Fetched::Done;
    };
    match data.get(start..start.saturating_add(size)) {
        Some(block) => {
            emit(Value::Bin(block.into()));
            Fetched::Done
        }
        None => Fetched::Miss,
    }
}

macro_rules! directed {
    ($($name:ident => $imp:ident, $dir:expr;)*) => {$(
        pub(crate) fn $name<'a>(
            args: &'a [Arg],
            s: &'a dyn SampleSource,
            _: bool,
            emit: Emit<'_, 'a>,
        ) -> Fetched {
            $imp(args, s, $dir, emit)
        }
    )*};
}

directed! {
    req_payload => payload, Dir::Request;
    res_payload => payload, Dir::Response;
    rules_payload => payload, Dir::Rules;
    req_payload_lv => payload_lv, Dir::Request;
    res_payload_lv => payload_lv, Dir::Response;
    rules_payload_lv => payload_lv, Dir::Rules;
}

/// `req.len`, `req_len`.
pub(crate) fn req_len<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    len(s, Dir::Request, emit)
}

/// `res.len`.
pub(crate) fn res_len<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    len(s, Dir::Response, emit)
}

/// `wait_end`: true once content inspection can wait no more (the inspect-delay is over);
/// no value before, so that a rule on it waits.
pub(crate) fn wait_end<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    if s.connection().contents_final() {
        emit(Value::Bool(true));
        Fetched::Done
    } else {
        Fetched::Miss
    }
}

/// `res.ssl_hello_type`, `rep_ssl_hello_type`: the type of the TLS handshake message the
/// server's first bytes hold (2 for a ServerHello).
pub(crate) fn res_ssl_hello_type<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let Some(data) = s.connection().res_payload() else {
        return Fetched::Done;
    };
    match crate::tls::hello_type(data) {
        Ok(kind) => {
            emit(Value::Sint(i64::from(kind)));
            Fetched::Done
        }
        Err(true) => Fetched::Miss,
        Err(false) => Fetched::Done,
    }
}

/// `last_rule_file`: the configuration file of the last rule that ended a rule set.
pub(crate) fn last_rule_file<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let name = s
        .vars()
        .and_then(|v| v.last_rule)
        .and_then(|o| crate::origin::source_name(o.file));
    if let Some(name) = name {
        emit(Value::string(name.into_bytes()));
    }
    Fetched::Done
}

/// `last_rule_line`: its line.
pub(crate) fn last_rule_line<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    if let Some(o) = s.vars().and_then(|v| v.last_rule) {
        emit(Value::Sint(i64::from(o.line)));
    }
    Fetched::Done
}

fn body(s: &dyn SampleSource, response: bool) -> Option<&[u8]> {
    let conn = s.connection();
    if response {
        conn.res_body()
    } else {
        conn.req_body()
    }
}

fn body_size(s: &dyn SampleSource, response: bool) -> Option<u64> {
    let conn = s.connection();
    if response {
        conn.res_body_size()
    } else {
        conn.req_body_size()
    }
}

macro_rules! body_fetches {
    ($($data:ident, $len:ident, $size:ident => $response:expr;)*) => {$(
        /// The body received so far, without its chunk framing.
        pub(crate) fn $data<'a>(
            _: &'a [Arg],
            s: &'a dyn SampleSource,
            _: bool,
            emit: Emit<'_, 'a>,
        ) -> Fetched {
            if let Some(b) = body(s, $response) {
                emit(Value::Bin(b.into()));
            }
            Fetched::Done
        }

        /// How many bytes of the body were received.
        pub(crate) fn $len<'a>(
            _: &'a [Arg],
            s: &'a dyn SampleSource,
            _: bool,
            emit: Emit<'_, 'a>,
        ) -> Fetched {
            if let Some(b) = body(s, $response) {
                emit(Value::Sint(i64::try_from(b.len()).unwrap_or(i64::MAX)));
            }
            Fetched::Done
        }

        /// The body's announced length (`Content-Length`), or what was received of a
        /// chunked one.
        pub(crate) fn $size<'a>(
            _: &'a [Arg],
            s: &'a dyn SampleSource,
            _: bool,
            emit: Emit<'_, 'a>,
        ) -> Fetched {
            let size = body_size(s, $response)
                .or_else(|| body(s, $response).map(|b| b.len() as u64));
            if let Some(n) = size {
                emit(Value::Sint(i64::try_from(n).unwrap_or(i64::MAX)));
            }
            Fetched::Done
        }
    )*};
}

body_fetches! {
    req_body, req_body_len, req_body_size => false;
    res_body, res_body_len, res_body_size => true;
}

/// `req.body_param([<name>[,i]])`: the values of an `application/x-www-form-urlencoded`
/// body's parameters, the named one's (without case with `i`) or all of them.
pub(crate) fn req_body_param<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    all: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let Some(b) = body(s, false) else {
        return Fetched::Done;
    };
    let name = args.first().and_then(Arg::bytes).filter(|n| !n.is_empty());
    let ci = args.get(1).and_then(Arg::bytes) == Some(&b"i"[..]);
    params(b, name, b'&', ci, all, emit);
    Fetched::Done
}
