//! Times and sizes with HAProxy's units (manual sections 2.5 and 2.6).
//!
//! Times are integers followed by an optional unit (`us`, `ms`, `s`, `m`, `h`, `d`); without a
//! unit the keyword's default applies (milliseconds for timeouts). Sizes take `k`, `m` or `g`
//! (powers of 1024). HAProxy caps timers at 2^31-1 milliseconds.

use std::time::Duration;

/// Largest timer HAProxy accepts, in milliseconds (`TIMER_LOOK_BACK` / INT_MAX).
pub const MAX_TIMER_MS: u64 = i32::MAX as u64;

/// The unit of a number written without one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeUnit {
    Micros,
    Millis,
    Seconds,
}

/// A parsed time and whether it needs a warning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParsedTime {
    pub duration: Duration,
    /// The text had no unit (used for the "suspiciously small" warning on timeouts).
    pub unitless: bool,
    /// Characters followed a valid unit (`15min`): HAProxy 3.4 warns and keeps `15m`.
    pub trailing: Option<char>,
}

/// Why a time or size could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnitError {
    Empty,
    NotANumber,
    BadUnit(char),
    Overflow,
}

impl UnitError {
    /// A sentence for a diagnostic about `text`.
    pub fn describe(&self, text: &str, what: &str) -> String {
        match self {
            UnitError::Empty => format!("missing {what} value"),
            UnitError::NotANumber => format!("'{text}' is not a valid {what}"),
            UnitError::BadUnit(c) => format!("unexpected character '{c}' in {what} '{text}'"),
            UnitError::Overflow => format!("{what} '{text}' is too large"),
        }
    }

    /// The fix to suggest.
    pub fn help(&self, what: &str) -> String {
        match what {
            "size" => "write a number optionally followed by k, m or g (e.g. 16k)".into(),
            _ => format!(
                "write a {what} as a number followed by us, ms, s, m, h or d (e.g. 30s); the maximum is 2147483647ms (about 24.8 days)"
            ),
        }
    }
}

/// Parses a time. `default` is the unit of a bare number.
pub fn parse_time(text: &str, default: TimeUnit) -> Result<ParsedTime, UnitError> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if text.is_empty() {
        return Err(UnitError::Empty);
    }
    if digits == 0 {
        return Err(UnitError::NotANumber);
    }
    let number: u64 = text
        .get(..digits)
        .and_then(|d| d.parse().ok())
        .ok_or(UnitError::Overflow)?;
    let rest = text.get(digits..).unwrap_or("");
    // Longest unit first so that `ms` is not read as `m` + junk.
    let units: [(&str, u64); 6] = [
        ("us", 1),
        ("ms", 1_000),
        ("s", 1_000_000),
        ("m", 60_000_000),
        ("h", 3_600_000_000),
        ("d", 86_400_000_000),
    ];
    let (factor_us, used, unitless) = match units.iter().find(|(u, _)| rest.starts_with(u)) {
        Some((unit, factor)) => (*factor, unit.len(), false),
        None => {
            let factor = match default {
                TimeUnit::Micros => 1,
                TimeUnit::Millis => 1_000,
                TimeUnit::Seconds => 1_000_000,
            };
            if let Some(c) = rest.chars().next() {
                return Err(UnitError::BadUnit(c));
            }
            (factor, 0, true)
        }
    };
    let micros = number.checked_mul(factor_us).ok_or(UnitError::Overflow)?;
    if micros.div_ceil(1_000) > MAX_TIMER_MS {
        return Err(UnitError::Overflow);
    }
    Ok(ParsedTime {
        duration: Duration::from_micros(micros),
        unitless,
        trailing: rest.get(used..).and_then(|r| r.chars().next()),
    })
}

/// Parses a size in bytes (`16384`, `16k`, `1m`, `2g`).
pub fn parse_size(text: &str) -> Result<u64, UnitError> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if text.is_empty() {
        return Err(UnitError::Empty);
    }
    if digits == 0 {
        return Err(UnitError::NotANumber);
    }
    let number: u64 = text
        .get(..digits)
        .and_then(|d| d.parse().ok())
        .ok_or(UnitError::Overflow)?;
    let rest = text.get(digits..).unwrap_or("");
    let factor = match rest {
        "" => 1,
        "k" | "K" => 1 << 10,
        "m" | "M" => 1 << 20,
        "g" | "G" => 1 << 30,
        _ => return Err(UnitError::BadUnit(rest.chars().next().unwrap_or('?'))),
    };
    let bytes = number.checked_mul(factor).ok_or(UnitError::Overflow)?;
    if bytes > u64::from(u32::MAX) {
        return Err(UnitError::Overflow);
    }
    Ok(bytes)
}

/// Parses a non-negative integer that must fit in `max`.
pub fn parse_uint(text: &str, max: u64) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u64>().ok().filter(|v| *v <= max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> u128 {
        parse_time(text, TimeUnit::Millis)
            .map(|t| t.duration.as_millis())
            .unwrap_or(u128::MAX)
    }

    #[test]
    fn times_default_to_milliseconds() {
        assert_eq!(ms("5000"), 5000);
        assert!(parse_time("5000", TimeUnit::Millis).is_ok_and(|t| t.unitless));
    }

    #[test]
    fn time_units() {
        assert_eq!(ms("10s"), 10_000);
        assert_eq!(ms("1m"), 60_000);
        assert_eq!(ms("2h"), 7_200_000);
        assert_eq!(ms("1d"), 86_400_000);
        assert_eq!(ms("250ms"), 250);
        assert_eq!(
            parse_time("1500us", TimeUnit::Millis).map(|t| t.duration.as_micros()),
            Ok(1500)
        );
    }

    #[test]
    fn junk_after_a_unit_is_kept_for_a_warning() {
        let t = parse_time("15min", TimeUnit::Millis);
        assert_eq!(t.as_ref().map(|t| t.duration.as_secs()), Ok(900));
        assert_eq!(t.map(|t| t.trailing), Ok(Some('i')));
    }

    #[test]
    fn bad_times_are_errors() {
        assert_eq!(parse_time("", TimeUnit::Millis), Err(UnitError::Empty));
        assert_eq!(
            parse_time("abc", TimeUnit::Millis),
            Err(UnitError::NotANumber)
        );
        assert_eq!(
            parse_time("10x", TimeUnit::Millis),
            Err(UnitError::BadUnit('x'))
        );
        assert_eq!(
            parse_time("25d", TimeUnit::Millis),
            Err(UnitError::Overflow)
        );
        assert_eq!(
            parse_time("99999999999999999999999", TimeUnit::Millis),
            Err(UnitError::Overflow)
        );
        assert!(parse_time("24d", TimeUnit::Millis).is_ok());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("16384"), Ok(16384));
        assert_eq!(parse_size("16k"), Ok(16384));
        assert_eq!(parse_size("1M"), Ok(1 << 20));
        assert_eq!(parse_size("2g"), Ok(2 << 30));
        assert_eq!(parse_size("4g"), Err(UnitError::Overflow));
        assert_eq!(parse_size("1kb"), Err(UnitError::BadUnit('k')));
        assert_eq!(parse_size("x"), Err(UnitError::NotANumber));
    }

    #[test]
    fn integers() {
        assert_eq!(parse_uint("256", 256), Some(256));
        assert_eq!(parse_uint("257", 256), None);
        assert_eq!(parse_uint("-1", 256), None);
        assert_eq!(parse_uint("", 256), None);
    }
}
