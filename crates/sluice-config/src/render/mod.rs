//! Renderers: the same [`Diagnostic`](crate::Diagnostic) printed three ways.
//!
//! - [`haproxy`]: HAProxy's one-line form (`[ALERT]    (PID) : config : parsing [f.cfg:2] : ...`),
//!   so that scripts and log scrapers written for HAProxy keep working; our help follows on
//!   indented lines that do not start with `[`.
//! - [`rich`]: a header with the stable code, the offending line with a line-number gutter and a
//!   caret or underline, then help and notes; for people at a terminal.
//! - [`json`]: one JSON array for tools (schema in `docs/diagnostics.md`).
//!
//! Renderers never decide what is printed or counted; the caller filters (quiet, diagnostic
//! mode) and computes exit codes.

pub mod haproxy;
pub mod json;
pub mod rich;

pub use haproxy::haproxy;
pub use json::{json, json_line};
pub use rich::rich;

use crate::source::{Location, SourceMap};

/// The raw bytes of the line a location points at, without its CR, if the file has it.
fn source_line(sources: &SourceMap, location: Location) -> Option<&[u8]> {
    if location.file.0 as usize >= sources.ids().count() {
        return None;
    }
    let line = sources.get(location.file).line_bytes(location.line)?;
    Some(line.strip_suffix(b"\r").unwrap_or(line))
}

/// A byte of a configuration line as it can be shown on a terminal: tabs become one space (so
/// that byte columns stay aligned) and other control bytes become `?`, as HAProxy sanitises.
fn printable(byte: u8) -> u8 {
    match byte {
        b'\t' => b' ',
        0..=0x1f | 0x7f => b'?',
        _ => byte,
    }
}

/// `bytes` made printable and decoded (invalid UTF-8 is replaced).
fn display(bytes: &[u8]) -> String {
    let cleaned: Vec<u8> = bytes.iter().map(|&b| printable(b)).collect();
    String::from_utf8_lossy(&cleaned).into_owned()
}
