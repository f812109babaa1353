//! `get var` and `set var`: the process-wide variables (`proc.*`) at run time.

use super::dispatch::{Answer, Session};
use super::Runtime;
use sluice_rules::proc_vars;

/// `get var <name>`.
pub fn get_var(args: &[&str]) -> Answer {
    let [name] = args else {
        return Answer::text("Missing or extra arguments: 'get var <name>'.\n");
    };
    if !proc_vars::is_proc(name) {
        return Answer::text("Only process-wide variables ('proc.' names) can be read here.\n");
    }
    match proc_vars::describe(name) {
        Some(line) => Answer::text(format!("{line}\n")),
        None => Answer::text("Variable not found.\n"),
    }
}

/// `set var <name> <expression>`, `set var <name> expr <expression>`,
/// `set var <name> fmt <format>` (experimental mode).
pub fn set_var(rt: &Runtime, s: &Session, args: &[&str]) -> Answer {
    if !s.experimental {
        return Answer::text(
            "This command is restricted to experimental mode only: enable it with 'experimental-mode on'.\n",
        );
    }
    let (name, kind, rest) = match args {
        [name, kind @ ("expr" | "fmt"), rest @ ..] if !rest.is_empty() => (*name, *kind, rest),
        [name, rest @ ..] if !rest.is_empty() => (*name, "expr", rest),
        _ => {
            return Answer::text(
                "Missing arguments: 'set var <name> [expr|fmt] <expression|format>'.\n",
            )
        }
    };
    // The command line splits on spaces (escaped ones stay in the word): one expression.
    let text = rest.join(" ");
    match proc_vars::set_from_text(&rt.model, name, kind, &text) {
        Ok(()) => Answer::empty(),
        Err(why) => Answer::text(format!("{why}\n")),
    }
}
