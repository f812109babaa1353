//! `-cc <expr>`: evaluate one `.if` condition with the same tokeniser and predicates as the
//! reader; exit 0 when true, 1 when false, 2 on error (spec R3.2).

use crate::args::Invocation;
use crate::check::{read_options, startup_environment};
use crate::output::Printer;
use sluice_config::Severity;

/// Evaluates the condition of `inv` and returns the exit code.
pub fn run(inv: &Invocation, printer: &mut Printer) -> i32 {
    let expr = inv.check_condition.as_deref().unwrap_or_default();
    let env = startup_environment(inv);
    match sluice_config::reader::evaluate_cc(expr, &env, &read_options(inv)) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(diagnostic) => {
            let text = &diagnostic.message;
            // The lexer's own texts already say what failed ("Syntax Error in condition: ...").
            let line = if text.starts_with("Syntax Error in condition")
                || text.starts_with("Error in condition")
                || text.starts_with("Failed to evaluate condition")
            {
                text.clone()
            } else {
                format!("Failed to evaluate condition: {text}")
            };
            printer.message(Severity::Error, &line);
            2
        }
    }
}
