//! The rich form, for people at a terminal.
//!
//! ```text
//! error[keyword-unknown]: unknown keyword 'chrot' in 'global' section
//!  --> f.cfg:2:5
//!   |
//! 2 |     chrot /var/empty
//!   |     ^^^^^
//!   |
//!   = help: did you mean 'chroot'?
//! ```
//!
//! ASCII only. With `color`, ANSI escapes mark the severity, the gutter and the underline.

use super::{display, source_line};
use crate::diagnostic::{Diagnostic, Severity};
use crate::source::SourceMap;

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const GUTTER: &str = "\x1b[1;34m";

/// The word that opens the header line.
pub fn severity_word(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Diag => "diag",
        Severity::Notice => "notice",
    }
}

fn severity_color(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "\x1b[1;31m",
        Severity::Warning => "\x1b[1;33m",
        Severity::Diag | Severity::Notice => "\x1b[1;36m",
    }
}

/// Paints `text` with `style` when colors are on.
fn paint(text: &str, style: &str, color: bool) -> String {
    if color {
        format!("{style}{text}{RESET}")
    } else {
        text.to_string()
    }
}

/// A one-line header in the rich style for a message that is not a [`Diagnostic`] (summaries,
/// command-line problems): `error: text`.
pub fn header(severity: Severity, text: &str, color: bool) -> String {
    format!(
        "{}{}\n",
        paint(severity_word(severity), severity_color(severity), color),
        paint(&format!(": {text}"), BOLD, color)
    )
}

/// The diagnostic in the rich form, ending with a newline.
pub fn rich(diagnostic: &Diagnostic, sources: &SourceMap, color: bool) -> String {
    let severity = diagnostic.severity;
    let mut out = String::new();
    out.push_str(&paint(
        &format!("{}[{}]", severity_word(severity), diagnostic.code),
        severity_color(severity),
        color,
    ));
    // HAProxy's "at position P:" announces a display that follows; here the display is below.
    let message = diagnostic
        .message
        .strip_suffix(':')
        .unwrap_or(&diagnostic.message);
    out.push_str(&paint(&format!(": {message}"), BOLD, color));
    out.push('\n');

    let location = diagnostic
        .location
        .filter(|l| (l.file.0 as usize) < sources.ids().count());
    let width = location.map_or(0, |l| l.line.to_string().len());
    let pad = " ".repeat(width);
    let bar = paint("|", GUTTER, color);
    if let Some(location) = location {
        // Line 0 is the file as a whole (HAProxy's `[f.cfg:0]`): no column.
        let column = match location.line {
            0 => String::new(),
            _ => format!(":{}", location.column),
        };
        out.push_str(&format!(
            "{pad}{} {}:{}{column}\n",
            paint("-->", GUTTER, color),
            sources.name(location.file),
            location.line,
        ));
        if let Some(line) = source_line(sources, location) {
            let start = (location.column.max(1) as usize - 1).min(line.len());
            let end = (start + location.len as usize).min(line.len());
            let offset = display(&line[..start]).chars().count();
            let marks = display(&line[start..end]).chars().count().max(1);
            let underline = "^".repeat(if location.len == 0 { 1 } else { marks });
            out.push_str(&format!("{pad} {bar}\n"));
            out.push_str(&format!(
                "{} {bar} {}\n",
                paint(&location.line.to_string(), GUTTER, color),
                display(line)
            ));
            out.push_str(&format!(
                "{pad} {bar} {}{}\n",
                " ".repeat(offset),
                paint(&underline, severity_color(severity), color)
            ));
        }
    }

    let mut tail = Vec::new();
    if let Some(reason) = &diagnostic.os_error {
        tail.push(("reason", reason.clone()));
    }
    for note in &diagnostic.notes {
        tail.push(("note", note.clone()));
    }
    if let Some(help) = &diagnostic.help {
        tail.push(("help", help.clone()));
    }
    match diagnostic.replacement.as_deref() {
        // An empty replacement means the underlined text is to be deleted.
        Some("") => tail.push(("fix", "remove the underlined text".to_string())),
        Some(replacement) => tail.push(("replace with", format!("`{replacement}`"))),
        None => {}
    }
    if !tail.is_empty() && location.is_some() {
        out.push_str(&format!("{pad} {bar}\n"));
    }
    for (label, text) in tail {
        out.push_str(&format!(
            "{pad} {} {}: {text}\n",
            paint("=", GUTTER, color),
            paint(label, BOLD, color)
        ));
    }
    out
}
