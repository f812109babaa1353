//! Conditions: `if|unless <term> [<term>...] [or|'||' <term>...]`, each term an ACL name or an
//! anonymous ACL between braces, optionally negated with `!`.

use super::acl::{self, Acl};
use crate::statement::{Failure, Parsed};
use sluice_config::{Category, Diagnostic, Diagnostics, Location, Statement};

/// One term of a condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Term {
    /// A reference to a named ACL (checked by `checks::acl_unknown`).
    Named {
        name: String,
        negated: bool,
        location: Location,
    },
    /// `{ fetch [flags] patterns }`.
    Anonymous { acl: Acl, negated: bool },
}

/// A parsed condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    /// `unless` instead of `if`.
    pub unless: bool,
    /// Alternatives (`||`), each a list of terms that must all match.
    pub alternatives: Vec<Vec<Term>>,
    pub location: Location,
}

impl Condition {
    /// Named ACLs the condition uses.
    pub fn references(&self) -> impl Iterator<Item = (&str, Location)> {
        self.alternatives.iter().flatten().filter_map(|t| match t {
            Term::Named { name, location, .. } => Some((name.as_str(), *location)),
            Term::Anonymous { .. } => None,
        })
    }

    /// Anonymous ACLs of the condition.
    pub fn anonymous(&self) -> impl Iterator<Item = &Acl> {
        self.alternatives.iter().flatten().filter_map(|t| match t {
            Term::Anonymous { acl, .. } => Some(acl),
            Term::Named { .. } => None,
        })
    }
}

/// Index of the `if`/`unless` word in `stmt`, searching from `from`.
pub fn find(stmt: &Statement, from: usize) -> Option<usize> {
    stmt.words
        .iter()
        .enumerate()
        .skip(from)
        .find(|(_, w)| w.text == "if" || w.text == "unless")
        .map(|(i, _)| i)
}

/// Parses the condition starting at word `start` (which is `if` or `unless`).
pub fn parse(stmt: &Statement, start: usize, diags: &mut Diagnostics) -> Parsed<Condition> {
    let words = stmt.words.get(start..).unwrap_or(&[]);
    let unless = words.first().is_some_and(|w| w.text == "unless");
    let mut alternatives = vec![Vec::new()];
    let mut index = 1;
    let at = |i: usize| stmt.word_location(start + i);
    while let Some(word) = words.get(index) {
        let mut text = word.text.as_str();
        if text == "||" || text.eq_ignore_ascii_case("or") {
            if alternatives.last().is_some_and(Vec::is_empty) {
                return Err(missing_term(at(index)));
            }
            alternatives.push(Vec::new());
            index += 1;
            continue;
        }
        let mut negated = false;
        while let Some(rest) = text.strip_prefix('!') {
            negated = !negated;
            text = rest;
        }
        if text.is_empty() {
            // A lone `!` applies to the next word.
            index += 1;
            let Some(next) = words.get(index) else {
                return Err(missing_term(at(index - 1)));
            };
            text = next.text.as_str();
        }
        let term = if text == "{" {
            let close = words
                .iter()
                .enumerate()
                .skip(index + 1)
                .find(|(_, w)| w.text == "}")
                .map(|(i, _)| i)
                .ok_or_else(|| {
                    Failure::from(
                        Diagnostic::error(
                            Category::Syntax,
                            "condition-unclosed-brace",
                            "missing closing '}' in condition",
                        )
                        .at(at(index))
                        .help(
                            "close the anonymous ACL with ' }' (spaces around braces are required)",
                        ),
                    )
                })?;
            let body = words.get(index + 1..close).unwrap_or(&[]);
            let acl = acl::parse_expression(body, stmt, diags)?;
            index = close;
            Term::Anonymous { acl, negated }
        } else if text == "}" {
            return Err(Diagnostic::error(
                Category::Syntax,
                "condition-unexpected-brace",
                "unexpected '}' in condition",
            )
            .at(at(index))
            .help("remove the '}' or add the matching '{'")
            .into());
        } else {
            Term::Named {
                name: text.to_string(),
                negated,
                location: at(index),
            }
        };
        if let Some(last) = alternatives.last_mut() {
            last.push(term);
        }
        index += 1;
    }
    if alternatives.iter().any(Vec::is_empty) {
        return Err(missing_term(at(0)));
    }
    Ok(Condition {
        unless,
        alternatives,
        location: at(0),
    })
}

fn missing_term(location: Location) -> Failure {
    Diagnostic::error(
        Category::Syntax,
        "condition-empty",
        "missing ACL name or anonymous ACL in condition",
    )
    .at(location)
    .help("write an ACL name or '{ <fetch> <pattern> }' after 'if'/'unless' and around 'or'")
    .into()
}
