//! JSON for tools: one array of diagnostics, or one object per line.
//!
//! Each object has the same fields, `null` when absent (schema in `docs/diagnostics.md`):
//! `severity`, `category`, `code`, `file`, `line`, `column`, `length`, `message`, `help`,
//! `os_error`, `replacement`, `notes`.

use crate::diagnostic::{Category, Diagnostic, Severity};
use crate::source::SourceMap;
use serde::Serialize;

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    severity: Severity,
    category: Category,
    code: &'a str,
    file: Option<&'a str>,
    line: Option<u32>,
    column: Option<u32>,
    length: Option<u32>,
    message: &'a str,
    help: Option<&'a str>,
    os_error: Option<&'a str>,
    replacement: Option<&'a str>,
    notes: &'a [String],
}

impl<'a> JsonDiagnostic<'a> {
    fn new(diagnostic: &'a Diagnostic, sources: &'a SourceMap) -> Self {
        let location = diagnostic
            .location
            .filter(|l| (l.file.0 as usize) < sources.ids().count());
        Self {
            severity: diagnostic.severity,
            category: diagnostic.category,
            code: diagnostic.code,
            file: location.map(|l| sources.name(l.file)),
            line: location.map(|l| l.line),
            // Line 0 is the file as a whole (HAProxy's `[f.cfg:0]`): no column, no span.
            column: location.filter(|l| l.line > 0).map(|l| l.column),
            length: location.filter(|l| l.line > 0).map(|l| l.len),
            message: &diagnostic.message,
            help: diagnostic.help.as_deref(),
            os_error: diagnostic.os_error.as_deref(),
            replacement: diagnostic.replacement.as_deref(),
            notes: &diagnostic.notes,
        }
    }
}

/// All diagnostics as one pretty-printed JSON array, ending with a newline.
pub fn json(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    let items: Vec<JsonDiagnostic> = diagnostics
        .iter()
        .map(|d| JsonDiagnostic::new(d, sources))
        .collect();
    // Serialising plain strings and numbers cannot fail.
    let mut out = serde_json::to_string_pretty(&items).unwrap_or_else(|_| "[]".to_string());
    out.push('\n');
    out
}

/// One diagnostic as a single-line JSON object, ending with a newline (`--diag-format=json`).
pub fn json_line(diagnostic: &Diagnostic, sources: &SourceMap) -> String {
    let mut out = serde_json::to_string(&JsonDiagnostic::new(diagnostic, sources))
        .unwrap_or_else(|_| "{}".to_string());
    out.push('\n');
    out
}
