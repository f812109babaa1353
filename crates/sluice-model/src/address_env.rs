//! Environment variables inside addresses.
//!
//! HAProxy's address parser expands `$NAME` and `${NAME}` itself, so `bind *:$PORT` and
//! `server s db:${DB_PORT}` work without double quotes (the lexer only expands inside double
//! quotes). The model does the same, once, on the words that are addresses, with the
//! environment as it stands after the reader (the global `setenv` family applied).

use sluice_config::{ConfigTree, Environment, SectionKind, Statement};
use std::borrow::Cow;

/// `tree` with the variables of its address words expanded; borrowed when none has any.
pub fn expand_tree<'t>(tree: &'t ConfigTree, env: &Environment) -> Cow<'t, ConfigTree> {
    let mut expanded: Option<ConfigTree> = None;
    for (si, section) in tree.sections.iter().enumerate() {
        for (ti, stmt) in section.statements.iter().enumerate() {
            let Some(index) = address_word(section.kind, stmt) else {
                continue;
            };
            let Some(text) = stmt.words.get(index).and_then(|w| expand(&w.text, env)) else {
                continue;
            };
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

/// `text` with `$NAME` and `${NAME}` replaced by their values; `None` when it has no
/// variable or when one of them is not set (the address is then reported as written).
pub fn expand(text: &str, env: &Environment) -> Option<String> {
    if !text.contains('$') {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut changed = false;
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
        out.push_str(env.get(name)?);
        changed = true;
        rest = &after[consumed..];
    }
    out.push_str(rest);
    changed.then_some(out)
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

    #[test]
    fn both_forms_are_expanded() {
        assert_eq!(expand("*:$PORT", &env()).as_deref(), Some("*:8080"));
        assert_eq!(
            expand("${HOST}:${PORT}", &env()).as_deref(),
            Some("10.0.0.1:8080")
        );
        assert_eq!(
            expand("ipv4@$HOST:80", &env()).as_deref(),
            Some("ipv4@10.0.0.1:80")
        );
    }

    #[test]
    fn unset_or_malformed_variables_leave_the_text_alone() {
        assert_eq!(expand("*:$NOPE", &env()), None);
        assert_eq!(expand("*:${PORT", &env()), None);
        assert_eq!(expand("*:80", &env()), None);
        assert_eq!(expand("*:$1", &env()), None);
    }
}
