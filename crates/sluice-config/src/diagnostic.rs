//! Diagnostics are data: severity, category, stable code, message, location, OS reason and fix.
//!
//! Checkers build [`Diagnostic`] values and never format text; the renderers in
//! [`crate::render`] turn them into HAProxy's one-line form, a rich form with the offending
//! line, or JSON.

use crate::source::Location;
use serde::Serialize;

/// How serious a diagnostic is. There is no "non-fatal alert": an alert is always an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Fatal: the configuration cannot be used. Printed as `[ALERT]`.
    Error,
    /// Counts for `Warnings were found.` and for `zero-warning`/`-dW`.
    Warning,
    /// Printed only in diagnostic mode (`-dD`); counts as a warning when printed.
    Diag,
    /// Information; never counts.
    Notice,
}

impl Severity {
    /// The bracketed label HAProxy prints.
    pub fn label(self) -> &'static str {
        match self {
            Severity::Error => "ALERT",
            Severity::Warning => "WARNING",
            Severity::Diag => "DIAG",
            Severity::Notice => "NOTICE",
        }
    }
}

/// Whose problem a diagnostic is (see `docs/diagnostics.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// The text is not HAProxy 3.4's language.
    Syntax,
    /// Valid words with an invalid meaning (unknown backend, duplicate names...).
    Semantic,
    /// The machine does not provide what the configuration names.
    Environment,
    /// Valid for HAProxy 3.4 but not implemented by Sluice yet.
    Compatibility,
    /// Diagnostic-mode advice: likely mistakes, never a failure by itself.
    Advice,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Syntax => "syntax",
            Category::Semantic => "semantic",
            Category::Environment => "environment",
            Category::Compatibility => "compatibility",
            Category::Advice => "advice",
        }
    }
}

/// One finding about a configuration or its environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub category: Category,
    /// Short stable identifier, e.g. `keyword-unknown`. Documented in `docs/diagnostics.md`.
    pub code: &'static str,
    /// What is wrong, in one sentence without the location (renderers add it).
    pub message: String,
    /// Where, when the diagnostic comes from a configuration line.
    pub location: Option<Location>,
    /// The operating system's reason (`No such file or directory`), when there is one.
    pub os_error: Option<String>,
    /// How to fix it, one line. For replacements that a tool could apply, see `replacement`.
    pub help: Option<String>,
    /// Text that a tool can put in place of the span at `location` to fix the problem.
    pub replacement: Option<String>,
    /// Further context lines (e.g. "first defined at f.cfg:3").
    pub notes: Vec<String>,
    /// Stops the reading of the current file at once (`.alert`, broken `.if` nesting); after
    /// such an error HAProxy does not print its `Fatal errors found` summary.
    pub aborts: bool,
    /// Printed but not counted for `zero-warning` (advisory security warnings, see R4.7).
    pub zero_warning_exempt: bool,
}

impl Diagnostic {
    pub fn new(
        severity: Severity,
        category: Category,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            severity,
            category,
            code,
            message: message.into(),
            location: None,
            os_error: None,
            help: None,
            replacement: None,
            notes: Vec::new(),
            aborts: false,
            zero_warning_exempt: false,
        }
    }

    pub fn error(category: Category, code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, category, code, message)
    }

    pub fn warning(category: Category, code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, category, code, message)
    }

    pub fn notice(category: Category, code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Severity::Notice, category, code, message)
    }

    pub fn diag(category: Category, code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Severity::Diag, category, code, message)
    }

    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    pub fn at_opt(mut self, location: Option<Location>) -> Self {
        self.location = location;
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn replacement(mut self, text: impl Into<String>) -> Self {
        self.replacement = Some(text.into());
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn os_error(mut self, error: &std::io::Error) -> Self {
        self.os_error = Some(os_reason(error));
        self
    }

    pub fn aborting(mut self) -> Self {
        self.aborts = true;
        self
    }

    pub fn exempt_from_zero_warning(mut self) -> Self {
        self.zero_warning_exempt = true;
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Whether this diagnostic, once printed, counts as a warning (for `Warnings were found.`
    /// and `zero-warning`).
    pub fn counts_as_warning(&self) -> bool {
        matches!(self.severity, Severity::Warning | Severity::Diag) && !self.zero_warning_exempt
    }
}

/// The OS error text without Rust's " (os error N)" suffix, as `strerror` prints it.
pub fn os_reason(error: &std::io::Error) -> String {
    let text = error.to_string();
    match text.rfind(" (os error ") {
        Some(pos) => text[..pos].to_string(),
        None => text,
    }
}

/// Diagnostics gathered by one run, in the order they were found.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics {
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    pub fn extend(&mut self, other: impl IntoIterator<Item = Diagnostic>) {
        self.items.extend(other);
    }

    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.items.iter()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}
