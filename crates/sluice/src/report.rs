//! Check mode's output and exit code (spec R4.6, R4.7): diagnostics on stderr, then HAProxy's
//! summary lines, or one JSON array on stdout with `--json`.

use crate::args::Invocation;
use crate::check::{CheckOutcome, Verdict};
use crate::output::Printer;
use sluice_config::render;
use sluice_config::{Category, Diagnostic, Severity, SourceMap};

pub const FATAL_ERRORS: &str = "Fatal errors found in configuration.";
pub const ZERO_WARNING_ABORT: &str =
    "Some warnings were found and 'zero-warning' is set. Aborting.";
pub const NO_LISTENER: &str =
    "Configuration file has no error but will not start (no listener) => exit(2).";
pub const VALID: &str = "Configuration file is valid";
pub const WARNINGS_FOUND: &str = "Warnings were found.";

/// Prints every diagnostic of `outcome` and the error summary (per file, then the fatal line
/// unless an aborting error), as HAProxy does after parsing. Shared by check and start.
pub fn print_diagnostics(outcome: &CheckOutcome, printer: &mut Printer) {
    for diagnostic in &outcome.diagnostics {
        printer.diagnostic(diagnostic, &outcome.sources);
    }
    match outcome.verdict() {
        Verdict::Errors => {
            for file in outcome.files_with_errors() {
                printer.config_message(
                    Severity::Error,
                    &format!(
                        "Error(s) found in configuration file : {}",
                        outcome.sources.name(file)
                    ),
                );
            }
            if !outcome.aborted() {
                printer.config_message(Severity::Error, FATAL_ERRORS);
            }
        }
        Verdict::ZeroWarningAbort => printer.message(Severity::Error, ZERO_WARNING_ABORT),
        Verdict::NoListener | Verdict::Valid => {}
    }
}

/// `-c`: prints the outcome and returns the exit code.
pub fn check(outcome: &CheckOutcome, inv: &Invocation, printer: &mut Printer) -> i32 {
    let verdict = outcome.verdict();
    if inv.json {
        let mut all = outcome.diagnostics.clone();
        match verdict {
            Verdict::ZeroWarningAbort => all.push(Diagnostic::error(
                Category::Semantic,
                "zero-warning-abort",
                ZERO_WARNING_ABORT,
            )),
            Verdict::NoListener => all.push(Diagnostic::notice(
                Category::Semantic,
                "no-listener",
                NO_LISTENER,
            )),
            Verdict::Errors | Verdict::Valid => {}
        }
        printer.stdout_raw(&render::json(&all, &outcome.sources));
        return verdict.exit_code();
    }
    print_diagnostics(outcome, printer);
    if matches!(verdict, Verdict::NoListener | Verdict::Valid) {
        if outcome.has_counted_warnings() {
            printer.stdout_line(WARNINGS_FOUND);
        }
        if verdict == Verdict::NoListener {
            printer.stdout_line(NO_LISTENER);
        } else if inv.verbose {
            printer.stdout_line(VALID);
        }
    }
    verdict.exit_code()
}

/// A file that could not be loaded: printed (or listed in `--json`), exit 1.
pub fn load_failure(failure: &Diagnostic, inv: &Invocation, printer: &mut Printer) -> i32 {
    let sources = SourceMap::new();
    if inv.json && inv.check {
        printer.stdout_raw(&render::json(std::slice::from_ref(failure), &sources));
    } else {
        printer.diagnostic(failure, &sources);
    }
    1
}
