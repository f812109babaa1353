//! HAProxy's one-line form.
//!
//! ```text
//! [ALERT]    (1234) : config : parsing [f.cfg:2] : unknown keyword 'chrot' in 'global' section
//!    | help: did you mean 'chroot'?
//! ```
//!
//! The first line is what HAProxy prints, so that `grep '^\[ALERT\]'` and log scrapers keep
//! working. A message that ends with `:` announces a position display, as HAProxy's lexer
//! messages do (`unmatched quote at position 13:`): the line and a caret follow, each indented
//! by two spaces. Notes and help come last, on lines indented with `   | ` like HAProxy's hint
//! blocks; none of the extra lines starts with `[`.

use super::{display, source_line};
use crate::diagnostic::{Diagnostic, Severity};
// The line reader, lexer and directives write `parsing [f:N]: ...`; keyword parsers write
// `parsing [f:N] : ...`. The reader lists its codes of the first kind.
use crate::reader::HAPROXY_TIGHT_CODES;
use crate::source::SourceMap;

/// `[LABEL]<pad> (pid) : `: the bracketed label padded to 10 characters, as HAProxy prints it.
pub fn prefix(severity: Severity, pid: u32) -> String {
    format!("{:<10} ({pid}) : ", format!("[{}]", severity.label()))
}

/// The diagnostic in HAProxy's form, ending with a newline. Diagnostics with a location get the
/// `config : parsing [file:line]` context; the others are printed as bare messages, as HAProxy
/// prints its messages after parsing.
pub fn haproxy(diagnostic: &Diagnostic, sources: &SourceMap, pid: u32) -> String {
    let mut out = prefix(diagnostic.severity, pid);
    if let Some(location) = diagnostic.location {
        let separator = if tight(diagnostic) { ": " } else { " : " };
        out.push_str("config : parsing [");
        out.push_str(&file_line(sources, location));
        out.push(']');
        out.push_str(separator);
    }
    out.push_str(&message_with_reason(diagnostic));
    out.push('\n');
    if let Some(location) = diagnostic
        .location
        .filter(|_| diagnostic.message.ends_with(':'))
    {
        if let Some(line) = source_line(sources, location) {
            // HAProxy prints the line without its indentation and moves the caret with it.
            let indent = line.iter().take_while(|b| b.is_ascii_whitespace()).count();
            let caret = (location.column.max(1) as usize - 1).saturating_sub(indent);
            let caret = caret.min(line.len() - indent);
            out.push_str("  ");
            out.push_str(&display(&line[indent..]));
            out.push_str("\n  ");
            out.push_str(&" ".repeat(display(&line[indent..indent + caret]).chars().count()));
            out.push_str("^\n");
        }
    }
    for note in &diagnostic.notes {
        out.push_str("   | ");
        out.push_str(note);
        out.push('\n');
    }
    if let Some(help) = &diagnostic.help {
        out.push_str("   | help: ");
        out.push_str(help);
        out.push('\n');
    }
    out
}

fn tight(diagnostic: &Diagnostic) -> bool {
    diagnostic.message.ends_with(':') || HAPROXY_TIGHT_CODES.contains(&diagnostic.code)
}

fn file_line(sources: &SourceMap, location: crate::source::Location) -> String {
    if (location.file.0 as usize) < sources.ids().count() {
        sources.describe(location)
    } else {
        format!("?:{}", location.line)
    }
}

/// The message, with the OS reason appended in HAProxy's `(reason)` style unless the message
/// already quotes it.
pub(crate) fn message_with_reason(diagnostic: &Diagnostic) -> String {
    match &diagnostic.os_error {
        Some(reason) if !diagnostic.message.contains(reason.as_str()) => {
            let base = diagnostic.message.trim_end();
            match base.strip_suffix('.') {
                Some(stem) => format!("{stem} ({reason})."),
                None => format!("{base} ({reason})"),
            }
        }
        _ => diagnostic.message.clone(),
    }
}
