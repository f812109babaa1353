//! `timeout <name> <time>` in proxies.

use crate::catalogue::{self, Admission, Place};
use crate::spanned::Spanned;
use crate::statement::{self, Failure, Parsed};
use crate::units::TimeUnit;
use sluice_config::keywords::Table;
use sluice_config::{Category, Diagnostic, Diagnostics, Statement};
use std::time::Duration;

/// The timeouts of HAProxy 3.4 with the side they apply to.
const NAMES: &[&str] = &[
    "check",
    "client",
    "client-fin",
    "client-hs",
    "connect",
    "http-keep-alive",
    "http-request",
    "queue",
    "server",
    "server-fin",
    "tarpit",
    "tunnel",
];

/// Timeouts that only a frontend uses.
pub const FRONTEND_ONLY: &[&str] = &[
    "client",
    "client-fin",
    "client-hs",
    "http-request",
    "http-keep-alive",
];
/// Timeouts that only a backend uses.
pub const BACKEND_ONLY: &[&str] = &[
    "connect",
    "server",
    "server-fin",
    "queue",
    "check",
    "tunnel",
];

/// The timeouts set in a proxy (or inherited from its defaults).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Timeouts {
    entries: Vec<(String, Spanned<Duration>)>,
}

impl Timeouts {
    pub fn get(&self, name: &str) -> Option<&Spanned<Duration>> {
        self.entries.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Whether `name` is set to a non-zero value.
    pub fn is_set(&self, name: &str) -> bool {
        self.get(name).is_some_and(|t| !t.value.is_zero())
    }

    pub fn set(&mut self, name: &str, value: Spanned<Duration>) {
        match self.entries.iter_mut().find(|(n, _)| n == name) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((name.to_string(), value)),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Spanned<Duration>)> {
        self.entries.iter().map(|(n, v)| (n.as_str(), v))
    }
}

/// Parses a `timeout` statement; returns the name and value. `owner` describes the proxy
/// for the "suspiciously small" warning (`defaults ''`, `frontend 'f'`).
pub fn parse(stmt: &Statement, owner: &str, diags: &mut Diagnostics) -> Parsed<(String, Duration)> {
    let name = statement::arg(stmt, 1, "a timeout name ('client', 'server', 'connect'...)")?;
    let place = Place {
        table: Table::ProxyTimeout,
        context: "timeout",
    };
    let typed = NAMES.contains(&name.as_str());
    if catalogue::admit(&place, &name.text, typed, stmt.word_location(1), diags)
        == Admission::Reject
    {
        return Err(Failure::Reported);
    }
    let parsed = statement::time(stmt, 2, TimeUnit::Millis, diags)?;
    if let Some(extra) = stmt.words.get(3) {
        let value = stmt.words.get(2).map(|w| w.as_str()).unwrap_or("");
        return Err(statement::unexpected(
            stmt,
            3,
            format!(
                "'timeout {}' : unexpected extra argument '{}' after value '{value}'.",
                name.text, extra.text
            ),
            format!(
                "remove '{}': 'timeout {}' takes one time value",
                extra.text, name.text
            ),
        ));
    }
    let ms = parsed.duration.as_millis();
    if parsed.unitless && ms > 0 && ms < 100 {
        let value = stmt.words.get(2).map(|w| w.as_str()).unwrap_or("");
        diags.push(
            Diagnostic::warning(
                Category::Semantic,
                "timeout-suspiciously-small",
                format!(
                    "'timeout {} {value}' in {owner} is suspiciously small for a value in milliseconds. Please use an explicit unit ('{value}ms') if that was the intent.",
                    name.text
                ),
            )
            .at(stmt.word_location(2))
            .help(format!("a bare number is milliseconds: write '{value}s' for seconds or '{value}ms' to keep it"))
            .replacement(format!("{value}s")),
        );
    }
    Ok((name.text.clone(), parsed.duration))
}
