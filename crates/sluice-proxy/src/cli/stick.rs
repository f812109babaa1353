//! `show table`, `clear table` and `set table`: the worker's stick tables
//! ([`sluice_stick::show`] renders them in HAProxy's format).

use super::dispatch::Answer;
use super::Runtime;
use sluice_stick::show::{self, Selection};
use sluice_stick::Table;
use std::sync::Arc;

fn table<'r>(rt: &'r Runtime, name: &str) -> Result<&'r Arc<Table>, Answer> {
    rt.plan
        .stick_tables
        .get(name)
        .ok_or_else(|| Answer::text(format!("No such table: '{name}'.\n")))
}

/// `show table [<name> [data.<type> <op> <value>]... | [key <key>] | [ptr <ptr>]]`.
pub fn show_table(rt: &Runtime, args: &[&str]) -> Answer {
    let now = sluice_stick::now_ms();
    let Some((name, rest)) = args.split_first() else {
        let mut out = String::new();
        for t in rt.plan.stick_tables.iter() {
            t.purge(now);
            show::header(t, &mut out);
        }
        return Answer::text(out);
    };
    let t = match table(rt, name) {
        Ok(t) => t,
        Err(a) => return a,
    };
    match Selection::parse(t, rest) {
        Ok(sel) => Answer::text(show::show(t, &sel, now)),
        Err(e) => Answer::text(format!("{e}\n")),
    }
}

/// `clear table <name> [data.<type> <op> <value>]... | [key <key>] | [ptr <ptr>]`.
pub fn clear_table(rt: &Runtime, args: &[&str]) -> Answer {
    let Some((name, rest)) = args.split_first() else {
        return Answer::text("'clear table' expects a table name.\n");
    };
    let t = match table(rt, name) {
        Ok(t) => t,
        Err(a) => return a,
    };
    match Selection::parse(t, rest) {
        Ok(sel) => {
            show::clear(t, &sel, sluice_stick::now_ms());
            Answer::empty()
        }
        Err(e) => Answer::text(format!("{e}\n")),
    }
}

/// `set table <name> key <key> [data.<type> <value>]...`.
pub fn set_table(rt: &Runtime, args: &[&str]) -> Answer {
    let Some((name, rest)) = args.split_first() else {
        return Answer::text("'set table' expects a table name.\n");
    };
    let t = match table(rt, name) {
        Ok(t) => t,
        Err(a) => return a,
    };
    match show::set(t, rest, sluice_stick::now_ms()) {
        Ok(()) => Answer::empty(),
        Err(e) => Answer::text(format!("{e}\n")),
    }
}
