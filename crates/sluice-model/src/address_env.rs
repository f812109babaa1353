//! Environment variables inside addresses.
//!
//! HAProxy's address parser expands `$NAME` and `${NAME}` itself, so `bind *:$PORT` and
//! `server s db:${DB_PORT}` work without double quotes (the lexer only expands inside double
//! quotes). The model does the same, once, on the words that are addresses, with the
//! environment as it stands after the reader (the global `setenv` family applied). A
//! variable that is not set becomes the empty string, as in HAProxy (`server s ${H}:${P}`
//! with neither set is the port-less `server s :`), with a warning naming it.

use sluice_config::{
    Category, ConfigTree, Diagnostic, Diagnostics, Environment, SectionKind, Statement,
};
use std::borrow::Cow;

/// `tree` with the variables of its address words expanded; borrowed when none has any.
/// Unset variables are reported in `diags`.
pub fn expand_tree<'t>(
    tree: &'t ConfigTree,
    env: &Environment,
    diags: &mut Diagnostics,
) -> Cow<'t, ConfigTree> {
    let mut expanded: Option<ConfigTree> = None;
    for (si, section) in tree.sections.iter().enumerate() {
        for (ti, stmt) in section.statements.iter().enumerate() {
            let Some(index) = address_word(section.kind, stmt) else {
                continue;
            };
            let Some(word) = stmt.words.get(index) else {
                continue;
            };
            let Some(Expanded { text, unset }) = expand(&word.text, env) else {
                continue;
            };
            for name in unset {
                diags.push(
                    Diagnostic::warning(
                        Category::Semantic,
                        "address-variable-unset",
                        format!(
                            "environment variable '{name}' in address '{}' is not set: it reads as empty, giving '{text}'",
                            word.text
                        ),
                    )
                    .at(stmt.word_location(index))
                    .help(format!("set {name} in the environment (or with 'setenv' in the global section), or write the address")),
                );
            }
            let copy = expanded.get_or_insert_with(|| tree.clone());
            if let Some(word) = copy
                .sections
                .get_mut(si)
                .and_then(|s| s.statements.get_mut(ti))
                .and_then(|s| s.words.get_mut(index))
            {
                word.text = text;
            }
        }
    }
    match expanded {
        Some(tree) => Cow::Owned(tree),
        None => Cow::Borrowed(tree),
    }
}

/// The index of the word of `stmt` that HAProxy parses as an address, if any.
fn address_word(kind: SectionKind, stmt: &Statement) -> Option<usize> {
    let second = stmt.words.get(1).map(|w| w.as_str());
    match (kind, stmt.keyword()) {
        (_, "bind" | "dgram-bind" | "dispatch") => Some(1),
        (_, "log") if second != Some("global") => Some(1),
        (_, "server" | "peer" | "nameserver" | "mailer") => Some(2),
        (SectionKind::Global, "stats") if second == Some("socket") => Some(2),
        _ => None,
    }
}

/// An address with its variables replaced.
#[derive(Debug, PartialEq, Eq)]
pub struct Expanded {
    pub text: String,
    /// The variables that were not set (replaced by nothing).
    pub unset: Vec<String>,
}

/// `text` with `$NAME` and `${NAME}` replaced by their values (the empty string when not
/// set); `None` when it has no variable or an unterminated `${`.
pub fn expand(text: &str, env: &Environment) -> Option<Expanded> {
    if !text.contains('$') {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut changed = false;
    let mut unset = Vec::new();
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let (name, consumed) = match after.strip_prefix('{') {
            Some(inner) => match inner.find('}') {
                Some(end) => (&inner[..end], end + 2),
                None => return None,
            },
            None => {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..end], end)
            }
        };
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            // Not a variable: keep the `$` as written.
            out.push('$');
            rest = after;
            continue;
        }
        match env.get(name) {
            Some(value) => out.push_str(value),
            None => unset.push(name.to_string()),
        }
        changed = true;
        rest = &after[consumed..];
    }
    out.push_str(rest);
    changed.then_some(Expanded { text: out, unset })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Environment {
        let mut env = Environment::empty();
        env.set("PORT", "8080");
        env.set("HOST", "10.0.0.1");
        env
    }

    fn text(s: &str) -> Option<String> {
        expand(s, &env()).map(|e| e.text)
    }

    #[test]
    fn both_forms_are_expanded() {
        assert_eq!(text("*:$PORT").as_deref(), Some("*:8080"));
        assert_eq!(text("${HOST}:${PORT}").as_deref(), Some("10.0.0.1:8080"));
        assert_eq!(text("ipv4@$HOST:80").as_deref(), Some("ipv4@10.0.0.1:80"));
    }

    #[test]
    fn unset_variables_read_as_empty_and_are_named() {
        let e = expand("${NOPE}:${PORT}", &env());
        assert_eq!(
            e,
            Some(Expanded {
                text: ":8080".into(),
                unset: vec!["NOPE".into()]
            })
        );
        assert_eq!(text("*:$NOPE").as_deref(), Some("*:"));
    }

    #[test]
    fn malformed_variables_leave_the_text_alone() {
        assert_eq!(text("*:${PORT"), None);
        assert_eq!(text("*:80"), None);
        assert_eq!(text("*:$1"), None);
    }
}
