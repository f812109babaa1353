//! `show resolvers [<section>]`: each nameserver's counters, in HAProxy's layout.

use super::dispatch::Answer;
use super::Runtime;
use std::fmt::Write;

pub fn show_resolvers(rt: &Runtime, args: &[&str]) -> Answer {
    let sections: Vec<&crate::resolvers::Section> = match args.first() {
        Some(name) => match rt.plan.resolvers.iter().find(|s| s.name == *name) {
            Some(s) => vec![s],
            None => return Answer::text("Can't find that resolvers section\n"),
        },
        None => rt.plan.resolvers.iter().collect(),
    };
    let mut out = String::new();
    for section in sections {
        let _ = writeln!(out, "Resolvers section {}", section.name);
        for ns in &section.nameservers {
            let _ = writeln!(out, " nameserver {}:", ns.name);
            for (name, value) in ns.counters.listed() {
                let label = format!("{name}:");
                let _ = writeln!(out, "  {label:<13}{value}");
            }
        }
    }
    Answer::text(out)
}
