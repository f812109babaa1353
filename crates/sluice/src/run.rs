//! Starting without `-c`. Master-worker, daemon mode and the data plane are later work: today
//! every flag is parsed and validated, the configuration is loaded and checked exactly as `-c`
//! does, and then Sluice says plainly that it does not run traffic yet. It never pretends.

use crate::args::Invocation;
use crate::check::{CheckOutcome, Verdict};
use crate::output::Printer;
use crate::report::print_diagnostics;
use sluice_config::Severity;

pub const NOT_IMPLEMENTED: &str = "the configuration is valid, but running traffic is not implemented yet in this version of Sluice; use '-c' to check configurations.";

/// Returns the exit code of a start attempt.
pub fn start(outcome: &CheckOutcome, inv: &Invocation, printer: &mut Printer) -> i32 {
    let _ = inv;
    print_diagnostics(outcome, printer);
    match outcome.verdict() {
        Verdict::Errors | Verdict::ZeroWarningAbort => 1,
        Verdict::NoListener => {
            printer.message(
                Severity::Error,
                "[sluice.main()] No enabled listener found (check for 'bind' directives) ! Exiting.",
            );
            1
        }
        Verdict::Valid => {
            printer.message(Severity::Error, NOT_IMPLEMENTED);
            1
        }
    }
}
