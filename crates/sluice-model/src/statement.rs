//! Small helpers to read a statement's arguments and build diagnostics that point at them.

use crate::units::{self, ParsedTime, TimeUnit};
use sluice_config::{Category, Diagnostic, Diagnostics, Statement, Word};
use std::time::Duration;

/// A syntax error about word `index` of `stmt`.
pub fn syntax_error(
    stmt: &Statement,
    index: usize,
    code: &'static str,
    message: impl Into<String>,
    help: impl Into<String>,
) -> Diagnostic {
    Diagnostic::error(Category::Syntax, code, message)
        .at(stmt.word_location(index))
        .help(help)
}

/// The argument at `index` (0 = keyword), or a "missing argument" error.
pub fn arg<'a>(stmt: &'a Statement, index: usize, what: &str) -> Parsed<&'a Word> {
    stmt.words.get(index).ok_or_else(|| {
        let keyword = keyword_text(stmt, index);
        Diagnostic::error(
            Category::Syntax,
            "argument-missing",
            format!("'{keyword}' expects {what} as an argument."),
        )
        .at(stmt.location)
        .help(format!("write '{keyword} {what}'"))
        .into()
    })
}

/// The words before `index`, as the keyword a message talks about (`timeout client`).
fn keyword_text(stmt: &Statement, index: usize) -> String {
    stmt.words
        .iter()
        .take(index.max(1))
        .map(Word::as_str)
        .collect::<Vec<_>>()
        .join(" ")
}

/// An error if words follow index `last`, in HAProxy's `too_many_args()` wording: the message
/// names the keyword (`'maxconn'`, `'option httplog'` for options, without a `no` prefix).
pub fn no_extra(stmt: &Statement, last: usize) -> Parsed<()> {
    let first = usize::from(matches!(stmt.keyword(), "no" | "default"));
    let named = if stmt.words.get(first).is_some_and(|w| w.text == "option") {
        2
    } else {
        1
    };
    let keyword = stmt
        .words
        .iter()
        .skip(first)
        .take(named)
        .map(Word::as_str)
        .collect::<Vec<_>>()
        .join(" ");
    let takes = match (last + 1).saturating_sub(first + named) {
        0 => "no argument".to_string(),
        1 => "one argument".to_string(),
        n => format!("{n} arguments"),
    };
    too_many_args(stmt, last, &keyword, &takes)
}

/// An error if words follow index `last`: `'<keyword>' cannot handle unexpected argument 'x'.`
/// at the first extra word, with a help line saying what `keyword` takes.
pub fn too_many_args(stmt: &Statement, last: usize, keyword: &str, takes: &str) -> Parsed<()> {
    match stmt.words.get(last + 1) {
        None => Ok(()),
        Some(word) => Err(unexpected(
            stmt,
            last + 1,
            format!(
                "'{keyword}' cannot handle unexpected argument '{}'.",
                word.text
            ),
            format!(
                "remove '{}'{}: '{keyword}' takes {takes}{}",
                word.text,
                if stmt.words.len() > last + 2 {
                    " and the words after it"
                } else {
                    ""
                },
                if takes.starts_with("no argument") {
                    ""
                } else {
                    " (quote a value that contains spaces)"
                }
            ),
        )),
    }
}

/// An `argument-unexpected` error at word `index` with HAProxy's `message`.
pub fn unexpected(
    stmt: &Statement,
    index: usize,
    message: impl Into<String>,
    help: impl Into<String>,
) -> Failure {
    syntax_error(stmt, index, "argument-unexpected", message, help).into()
}

/// Parses the integer at `index` in `min..=max`.
pub fn uint(stmt: &Statement, index: usize, min: u64, max: u64, what: &str) -> Parsed<u64> {
    let word = arg(stmt, index, what)?;
    match units::parse_uint(&word.text, max) {
        Some(v) if v >= min => Ok(v),
        _ => Err(syntax_error(
            stmt,
            index,
            "value-invalid",
            format!(
                "'{}' expects an integer between {min} and {max} as {what}, got '{}'.",
                keyword_text(stmt, index),
                word.text
            ),
            format!("write a whole number from {min} to {max}"),
        )
        .into()),
    }
}

/// Parses the time at `index`, warning about junk after the unit as HAProxy 3.4 does.
pub fn time(
    stmt: &Statement,
    index: usize,
    default: TimeUnit,
    diags: &mut Diagnostics,
) -> Parsed<ParsedTime> {
    let word = arg(stmt, index, "a time")?;
    match units::parse_time(&word.text, default) {
        Ok(parsed) => {
            if let Some(c) = parsed.trailing {
                diags.push(
                    Diagnostic::warning(
                        Category::Syntax,
                        "time-trailing-junk",
                        format!(
                            "unexpected character '{c}' after the timer value '{}'; HAProxy 3.4 ignores it but later versions reject it",
                            word.text
                        ),
                    )
                    .at(stmt.word_location(index))
                    .help(format!(
                        "units are us, ms, s, m, h and d: write e.g. '{}'",
                        shortest_valid(&word.text).unwrap_or(&word.text)
                    )),
                );
            }
            Ok(parsed)
        }
        Err(e) => Err(syntax_error(
            stmt,
            index,
            "time-invalid",
            format!(
                "'{}' : {}.",
                keyword_text(stmt, index),
                e.describe(&word.text, "time")
            ),
            e.help("time"),
        )
        .into()),
    }
}

/// `15min` → `15m`: the part HAProxy actually reads.
fn shortest_valid(text: &str) -> Option<&str> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let rest = text.get(digits..)?;
    let unit = ["us", "ms", "s", "m", "h", "d"]
        .into_iter()
        .find(|u| rest.starts_with(u))?;
    text.get(..digits + unit.len())
}

/// Parses the time at `index` into a duration (warnings go to `diags`).
pub fn duration(stmt: &Statement, index: usize, diags: &mut Diagnostics) -> Parsed<Duration> {
    time(stmt, index, TimeUnit::Millis, diags).map(|t| t.duration)
}

/// Parses the size at `index`.
pub fn size(stmt: &Statement, index: usize) -> Parsed<u64> {
    let word = arg(stmt, index, "a size")?;
    units::parse_size(&word.text).map_err(|e| {
        Failure::from(syntax_error(
            stmt,
            index,
            "size-invalid",
            format!(
                "'{}' : {}.",
                keyword_text(stmt, index),
                e.describe(&word.text, "size")
            ),
            e.help("size"),
        ))
    })
}

/// Texts of the words from `from` on.
pub fn texts(stmt: &Statement, from: usize) -> Vec<String> {
    stmt.words
        .iter()
        .skip(from)
        .map(|w| w.text.clone())
        .collect()
}

/// Why a statement could not be used.
#[derive(Debug)]
pub enum Failure {
    /// A new problem to report.
    New(Box<Diagnostic>),
    /// The problem was already reported (e.g. by the catalogue): stay silent, one cause gives
    /// one message.
    Reported,
}

impl From<Diagnostic> for Failure {
    fn from(d: Diagnostic) -> Self {
        Failure::New(Box::new(d))
    }
}

/// The result of parsing one statement or part of it.
pub type Parsed<T> = Result<T, Failure>;

/// Pushes the diagnostic of a failure, if it has a new one.
pub fn report(failure: Failure, diags: &mut Diagnostics) {
    if let Failure::New(d) = failure {
        diags.push(*d);
    }
}
