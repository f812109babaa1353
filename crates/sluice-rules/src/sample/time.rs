//! Dates: the `date` and `date_us` fetches, the `utime`/`ltime` converters with their
//! millisecond and microsecond forms, and `http_date`.
//!
//! Broken-down times and `strftime(3)` come from the C library, as HAProxy's do, so that
//! formats and the local time zone behave the same.

use super::{Arg, Fetched, Value};
use crate::message::SampleSource;
use std::ffi::CString;
use std::time::{SystemTime, UNIX_EPOCH};

type Emit<'e, 'a> = &'e mut dyn FnMut(Value<'a>) -> bool;
type Out<'a> = Option<Value<'a>>;

/// Units per second of a compiled `<unit>` argument (`Arg::Int`), 1 when omitted.
fn per_second(arg: Option<&Arg>) -> i64 {
    match arg {
        Some(Arg::Int(n)) if *n > 0 => *n,
        _ => 1,
    }
}

/// Parses a `<unit>` argument: `s`, `ms` or `us`, as units per second.
pub(crate) fn parse_unit(text: &str) -> Option<i64> {
    match text.trim() {
        "" | "s" => Some(1),
        "ms" => Some(1_000),
        "us" => Some(1_000_000),
        _ => None,
    }
}

/// The current date in microseconds since the epoch.
fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `date([<offset>[,<unit>]])`: the current date in seconds (or the unit), plus the offset
/// (in the same unit).
pub(crate) fn date<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let per = per_second(args.get(1));
    let now = now_us() / (1_000_000 / per);
    let offset = args.first().and_then(|a| a.int(s)).unwrap_or(0);
    emit(Value::Sint(now.saturating_add(offset)));
    Fetched::Done
}

/// `date_us`: the microseconds of the current second.
pub(crate) fn date_us<'a>(
    _: &'a [Arg],
    _: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    emit(Value::Sint(now_us().rem_euclid(1_000_000)));
    Fetched::Done
}

/// Reads the local time zone (`TZ`, else /etc/localtime) once.
pub(crate) fn load_zone() {
    // The C library reads the zone on the first local conversion and keeps it.
    let _ = broken_down(0, true);
}

/// The broken-down time of `secs`, in UTC or in the local time zone.
fn broken_down(secs: i64, local: bool) -> Option<libc::tm> {
    let t = libc::time_t::try_from(secs).ok()?;
    // SAFETY: an all-zero `tm` is a valid value (integers and a null zone pointer), and
    // the `_r` functions only write to the `tm` they are given.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let done = unsafe {
        if local {
            libc::localtime_r(&t, &mut tm)
        } else {
            libc::gmtime_r(&t, &mut tm)
        }
    };
    (!done.is_null()).then_some(tm)
}

/// `strftime(3)` of `fmt`; `None` when the format contains a NUL byte.
fn strftime(fmt: &[u8], tm: &libc::tm) -> Option<Vec<u8>> {
    let cfmt = CString::new(fmt).ok()?;
    // strftime gives 0 both for an empty result and for a too small buffer: grow a few
    // times before calling it empty.
    let mut size = 64 + fmt.len() * 8;
    for _ in 0..4 {
        let mut buf = vec![0u8; size];
        // SAFETY: `buf` is writable for `size` bytes, `cfmt` is NUL-terminated and `tm`
        // is a valid broken-down time.
        let n = unsafe { libc::strftime(buf.as_mut_ptr().cast(), size, cfmt.as_ptr(), tm) };
        if n > 0 {
            buf.truncate(n);
            return Some(buf);
        }
        size *= 4;
    }
    Some(Vec::new())
}

/// Replaces `%N` and `%<width>N` (width 1 to 9, default 9) with the first digits of the
/// nanoseconds, leaving `%%` and other conversions to strftime.
fn expand_nanos(fmt: &[u8], nanos: u32) -> Vec<u8> {
    let digits = format!("{nanos:09}");
    let mut out = Vec::with_capacity(fmt.len() + 9);
    let mut i = 0;
    while let Some(&c) = fmt.get(i) {
        if c != b'%' {
            out.push(c);
            i += 1;
            continue;
        }
        match fmt.get(i + 1) {
            Some(b'%') => {
                out.extend_from_slice(b"%%");
                i += 2;
            }
            Some(b'N') => {
                out.extend_from_slice(digits.as_bytes());
                i += 2;
            }
            Some(w @ b'1'..=b'9') if fmt.get(i + 2) == Some(&b'N') => {
                let width = usize::from(w - b'0');
                out.extend_from_slice(digits.as_bytes().get(..width).unwrap_or(b""));
                i += 3;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Formats `value + offset`, counted in `per` units a second, with `args[0]`.
fn format_time<'a>(
    args: &'a [Arg],
    v: Value<'a>,
    s: &'a dyn SampleSource,
    per: i64,
    local: bool,
) -> Out<'a> {
    let fmt = args.first()?.bytes()?;
    let offset = args.get(1).and_then(|a| a.int(s)).unwrap_or(0);
    let t = v.to_int()?.checked_add(offset)?;
    let secs = t.div_euclid(per);
    let tm = broken_down(secs, local)?;
    let out = if per > 1 {
        let nanos = u32::try_from(t.rem_euclid(per) * (1_000_000_000 / per)).ok()?;
        strftime(&expand_nanos(fmt, nanos), &tm)?
    } else {
        strftime(fmt, &tm)?
    };
    Some(Value::string(out))
}

/// `utime(<format>[,<offset>])`: seconds since the epoch, formatted in UTC.
pub(crate) fn utime<'a>(args: &'a [Arg], v: Value<'a>, s: &'a dyn SampleSource) -> Out<'a> {
    format_time(args, v, s, 1, false)
}

/// `ltime(<format>[,<offset>])`: seconds since the epoch, formatted in local time.
pub(crate) fn ltime<'a>(args: &'a [Arg], v: Value<'a>, s: &'a dyn SampleSource) -> Out<'a> {
    format_time(args, v, s, 1, true)
}

/// `ms_utime`: milliseconds since the epoch, in UTC; `%N` gives the fraction.
pub(crate) fn ms_utime<'a>(args: &'a [Arg], v: Value<'a>, s: &'a dyn SampleSource) -> Out<'a> {
    format_time(args, v, s, 1_000, false)
}

/// `ms_ltime`: milliseconds since the epoch, in local time.
pub(crate) fn ms_ltime<'a>(args: &'a [Arg], v: Value<'a>, s: &'a dyn SampleSource) -> Out<'a> {
    format_time(args, v, s, 1_000, true)
}

/// `us_utime`: microseconds since the epoch, in UTC.
pub(crate) fn us_utime<'a>(args: &'a [Arg], v: Value<'a>, s: &'a dyn SampleSource) -> Out<'a> {
    format_time(args, v, s, 1_000_000, false)
}

/// `us_ltime`: microseconds since the epoch, in local time.
pub(crate) fn us_ltime<'a>(args: &'a [Arg], v: Value<'a>, s: &'a dyn SampleSource) -> Out<'a> {
    format_time(args, v, s, 1_000_000, true)
}

/// `http_date([<offset>[,<unit>]])`: the IMF-fixdate form of HTTP headers, with the
/// milliseconds or microseconds after the seconds when the unit says so. Names are
/// written here rather than by strftime so that no locale can change them.
pub(crate) fn http_date<'a>(args: &'a [Arg], v: Value<'a>, s: &'a dyn SampleSource) -> Out<'a> {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let per = per_second(args.get(1));
    let offset = args.first().and_then(|a| a.int(s)).unwrap_or(0);
    let t = v.to_int()?.checked_add(offset)?;
    let tm = broken_down(t.div_euclid(per), false)?;
    let day = DAYS.get(usize::try_from(tm.tm_wday).ok()?)?;
    let month = MONTHS.get(usize::try_from(tm.tm_mon).ok()?)?;
    let mut out = format!(
        "{day}, {:02} {month} {} {:02}:{:02}:{:02}",
        tm.tm_mday,
        i64::from(tm.tm_year) + 1900,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    );
    let frac = t.rem_euclid(per);
    match per {
        1_000 => out.push_str(&format!(".{frac:03}")),
        1_000_000 => out.push_str(&format!(".{frac:06}")),
        _ => {}
    }
    out.push_str(" GMT");
    Some(Value::string(out.into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nanoseconds_take_their_width() {
        assert_eq!(expand_nanos(b"%S.%3N", 123_000_000), b"%S.123");
        assert_eq!(expand_nanos(b"%N", 123_456_000), b"123456000");
        assert_eq!(expand_nanos(b"%%N %6N", 5_000), b"%%N 000005");
    }

    #[test]
    fn units() {
        assert_eq!(parse_unit("ms"), Some(1_000));
        assert_eq!(parse_unit("us"), Some(1_000_000));
        assert_eq!(parse_unit(""), Some(1));
        assert_eq!(parse_unit("ns"), None);
    }
}
