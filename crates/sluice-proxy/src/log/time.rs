//! Dates in log lines and syslog headers, from a `SystemTime`. Broken-down local time is
//! computed once per second per thread (`localtime_r`), so a line costs a few digit writes.

use std::time::{SystemTime, UNIX_EPOCH};

pub const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A broken-down time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tm {
    pub year: i64,
    /// 0-11.
    pub mon: u32,
    pub mday: u32,
    pub hour: u32,
    pub min: u32,
    pub sec: u32,
    /// Seconds east of UTC.
    pub gmtoff: i64,
}

/// Seconds and sub-second microseconds since the epoch (0 before it).
pub fn split(t: SystemTime) -> (i64, u32) {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (
            i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            d.subsec_micros(),
        ),
        Err(_) => (0, 0),
    }
}

/// UTC, without libc (days-from-civil inverse, Howard Hinnant's algorithm).
pub fn utc(secs: i64) -> Tm {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let mday = doy - (153 * mp + 2) / 5 + 1;
    let mon = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(mon <= 2);
    Tm {
        year,
        mon: u32::try_from(mon - 1).unwrap_or(0),
        mday: u32::try_from(mday).unwrap_or(1),
        hour: u32::try_from(rem / 3600).unwrap_or(0),
        min: u32::try_from(rem % 3600 / 60).unwrap_or(0),
        sec: u32::try_from(rem % 60).unwrap_or(0),
        gmtoff: 0,
    }
}

/// Local time (the process's time zone, as HAProxy uses).
pub fn local(secs: i64) -> Tm {
    let t: libc::time_t = secs as libc::time_t;
    // SAFETY: `tm` is plain data filled by localtime_r; both pointers are valid for the call.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
    if !ok {
        return utc(secs);
    }
    Tm {
        year: i64::from(tm.tm_year) + 1900,
        mon: u32::try_from(tm.tm_mon).unwrap_or(0).min(11),
        mday: u32::try_from(tm.tm_mday).unwrap_or(1),
        hour: u32::try_from(tm.tm_hour).unwrap_or(0),
        min: u32::try_from(tm.tm_min).unwrap_or(0),
        sec: u32::try_from(tm.tm_sec).unwrap_or(0),
        gmtoff: tm.tm_gmtoff,
    }
}

/// The last second converted to local time on this thread.
#[derive(Debug, Default)]
pub struct Cache {
    secs: Option<i64>,
    tm: Tm,
}

impl Cache {
    pub fn local(&mut self, secs: i64) -> Tm {
        if self.secs != Some(secs) {
            self.tm = local(secs);
            self.secs = Some(secs);
        }
        self.tm
    }
}

fn two(out: &mut Vec<u8>, v: u32) {
    out.push(b'0' + (v / 10 % 10) as u8);
    out.push(b'0' + (v % 10) as u8);
}

fn month(out: &mut Vec<u8>, tm: &Tm) {
    out.extend_from_slice(MONTHS.get(tm.mon as usize).unwrap_or(&"Jan").as_bytes());
}

fn year(out: &mut Vec<u8>, y: i64) {
    use std::io::Write;
    let _ = write!(out, "{y:04}");
}

/// `06/Feb/2009:12:12:51`
pub fn clf_date(out: &mut Vec<u8>, tm: &Tm) {
    two(out, tm.mday);
    out.push(b'/');
    month(out, tm);
    out.push(b'/');
    year(out, tm.year);
    out.push(b':');
    hms(out, tm);
}

fn hms(out: &mut Vec<u8>, tm: &Tm) {
    two(out, tm.hour);
    out.push(b':');
    two(out, tm.min);
    out.push(b':');
    two(out, tm.sec);
}

/// `.443`
pub fn millis(out: &mut Vec<u8>, micros: u32) {
    let ms = micros / 1000;
    out.push(b'0' + (ms / 100 % 10) as u8);
    two(out, ms % 100);
}

/// `+0100` (`sep`: `+01:00`).
pub fn offset(out: &mut Vec<u8>, gmtoff: i64, sep: bool) {
    out.push(if gmtoff < 0 { b'-' } else { b'+' });
    let a = gmtoff.unsigned_abs();
    two(out, (a / 3600) as u32);
    if sep {
        out.push(b':');
    }
    two(out, (a % 3600 / 60) as u32);
}

/// RFC3164 header date: `Feb  6 12:12:51` (day padded with a space).
pub fn rfc3164(out: &mut Vec<u8>, tm: &Tm) {
    month(out, tm);
    out.push(b' ');
    if tm.mday < 10 {
        out.push(b' ');
        out.push(b'0' + tm.mday as u8);
    } else {
        two(out, tm.mday);
    }
    out.push(b' ');
    hms(out, tm);
}

/// RFC5424 / ISO date: `2009-02-06T12:12:51.443123+01:00`.
pub fn iso(out: &mut Vec<u8>, tm: &Tm, micros: u32) {
    use std::io::Write;
    year(out, tm.year);
    out.push(b'-');
    two(out, tm.mon + 1);
    out.push(b'-');
    two(out, tm.mday);
    out.push(b'T');
    hms(out, tm);
    let _ = write!(out, ".{micros:06}");
    offset(out, tm.gmtoff, true);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        // 06/Feb/2009:12:12:51 UTC, the manual's example date.
        let tm = utc(1_233_922_371);
        let mut out = Vec::new();
        clf_date(&mut out, &tm);
        assert_eq!(out, b"06/Feb/2009:12:12:51");
        out.clear();
        rfc3164(&mut out, &tm);
        assert_eq!(out, b"Feb  6 12:12:51");
        out.clear();
        iso(&mut out, &tm, 443_123);
        assert_eq!(out, b"2009-02-06T12:12:51.443123+00:00");
        out.clear();
        millis(&mut out, 5_000);
        assert_eq!(out, b"005");
        assert_eq!(utc(951_782_400).mday, 29); // 2000-02-29
    }

    #[test]
    fn offsets() {
        let mut out = Vec::new();
        offset(&mut out, -(5 * 3600 + 30 * 60), false);
        assert_eq!(out, b"-0530");
        out.clear();
        offset(&mut out, 3600, true);
        assert_eq!(out, b"+01:00");
    }
}
