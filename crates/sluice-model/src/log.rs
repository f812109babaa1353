//! `log` lines (global and proxies): `log global`, `no log`, or
//! `log <target> [len <n>] [format <fmt>] [sample <ranges>:<size>] [profile <name>] <facility> [<level> [<minlevel>]]`.

use crate::address::{self, Address, Use};
use crate::statement::{self, Parsed};
use sluice_config::{Category, Diagnostic, Location, Statement};

const FACILITIES: &[&str] = &[
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "auth2",
    "ftp", "ntp", "audit", "alert", "cron2", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
];
const LEVELS: &[&str] = &[
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

/// Where logs go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogDestination {
    /// `stdout` / `stderr` (or `fd@1`/`fd@2`).
    Stream(String),
    /// `ring@<name>`.
    Ring(String),
    /// `backend@<name>`: a `mode log` backend that balances the lines over its servers.
    Backend(String),
    /// A syslog address (UDP, UNIX datagram socket...). Host names are resolved by preflight.
    Address(Address),
}

/// One `log` target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogTarget {
    pub destination: LogDestination,
    pub facility: String,
    pub level: Option<String>,
    pub min_level: Option<String>,
    /// Other settings as written (`len 1024`, `format rfc5424`).
    pub settings: Vec<String>,
    pub location: Location,
}

/// A `log` statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogLine {
    /// `log global`: use the global targets.
    Global(Location),
    /// `no log`: forget the inherited targets.
    Disable,
    Target(LogTarget),
}

/// Parses a `log` (or `no log`) statement.
pub fn parse(stmt: &Statement) -> Parsed<LogLine> {
    if stmt.keyword() == "no" {
        return Ok(LogLine::Disable);
    }
    let target = statement::arg(stmt, 1, "<address> <facility> [level]")?;
    if target.text == "global" {
        statement::no_extra(stmt, 1)?;
        return Ok(LogLine::Global(stmt.location));
    }
    let destination = match target.as_str() {
        "stdout" | "stderr" | "fd@1" | "fd@2" => LogDestination::Stream(target.text.clone()),
        t if t.starts_with("ring@") => {
            LogDestination::Ring(t.trim_start_matches("ring@").to_string())
        }
        t if t.starts_with("backend@") => {
            LogDestination::Backend(t.trim_start_matches("backend@").to_string())
        }
        t => LogDestination::Address(address::parse(t, Use::Target).map_err(|e| {
            Diagnostic::error(
                Category::Syntax,
                "address-invalid",
                format!("log : {}", e.message),
            )
            .at(stmt.word_location(1))
            .help(e.help)
        })?),
    };
    let mut index = 2;
    let mut settings = Vec::new();
    while let Some(word) = stmt.words.get(index) {
        match word.as_str() {
            "len" | "format" | "sample" | "profile" => {
                let value = statement::arg(stmt, index + 1, "a value")?;
                settings.push(format!("{} {}", word.text, value.text));
                index += 2;
            }
            _ => break,
        }
    }
    let facility = statement::arg(stmt, index, "a facility")?;
    if !FACILITIES.contains(&facility.as_str()) {
        return Err(statement::syntax_error(
            stmt,
            index,
            "log-facility-unknown",
            format!("log : unknown log facility '{}'", facility.text),
            format!("use one of {}", FACILITIES.join(", ")),
        )
        .into());
    }
    let mut levels = Vec::new();
    for i in index + 1..stmt.words.len().min(index + 3) {
        let Some(level) = stmt.words.get(i) else {
            break;
        };
        if !LEVELS.contains(&level.as_str()) {
            return Err(statement::syntax_error(
                stmt,
                i,
                "log-level-unknown",
                format!("log : unknown optional log level '{}'", level.text),
                format!("use one of {}", LEVELS.join(", ")),
            )
            .into());
        }
        levels.push(level.text.clone());
    }
    let last = index + levels.len();
    if let Some(extra) = stmt.words.get(last + 1) {
        return Err(statement::unexpected(
            stmt,
            last + 1,
            format!("log : cannot handle unexpected argument '{}'", extra.text),
            format!(
                "remove '{}': 'log' takes an address, a facility and at most two levels",
                extra.text
            ),
        ));
    }
    let mut levels = levels.into_iter();
    Ok(LogLine::Target(LogTarget {
        destination,
        facility: facility.text.clone(),
        level: levels.next(),
        min_level: levels.next(),
        settings,
        location: stmt.location,
    }))
}
