//! Why compiling an expression, ACL or rule failed, before the caller adds the line and the
//! ACL or rule it was found in. Keeps the category apart from the text, so that `-c` can tell
//! a typo (syntax) from a missing file (environment) or a feature Sluice lacks
//! (compatibility).

use regex::bytes::{Regex, RegexBuilder};
use sluice_config::keywords::Table;
use sluice_config::{Category, Diagnostic, Diagnostics, FileId, Location};
use sluice_model::catalogue::{self, Admission, Place};
use std::fmt;

/// A compile failure without its location.
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    pub(crate) category: Category,
    /// `None`: the caller's code (`acl-invalid`, `rule-invalid`...).
    pub(crate) code: Option<&'static str>,
    pub(crate) message: String,
    pub(crate) help: Option<String>,
    pub(crate) replacement: Option<String>,
}

impl Problem {
    pub(crate) fn new(
        category: Category,
        code: Option<&'static str>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            category,
            code,
            message: message.into(),
            help: None,
            replacement: None,
        }
    }

    /// A mistake in the words themselves (argument count, bad number, bad regex).
    pub(crate) fn syntax(message: impl Into<String>) -> Self {
        Self::new(Category::Syntax, None, message)
    }

    pub(crate) fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Prefixes the message with what was being compiled (`'regsub': ...`).
    pub(crate) fn context(mut self, prefix: &str) -> Self {
        self.message = format!("{prefix}{}", self.message);
        self
    }

    /// The diagnostic at `location`; `wrap` adds the ACL or rule to the message.
    pub(crate) fn into_diagnostic(
        self,
        default_code: &'static str,
        wrap: impl FnOnce(&str) -> String,
        location: Location,
    ) -> Diagnostic {
        let mut d = Diagnostic::error(
            self.category,
            self.code.unwrap_or(default_code),
            wrap(&self.message),
        )
        .at(location);
        d.help = Some(self.help.unwrap_or_else(|| default_help(self.category)));
        d.replacement = self.replacement;
        d
    }

    fn from_diagnostic(d: Diagnostic) -> Self {
        Self {
            category: d.category,
            code: Some(d.code),
            message: d.message,
            help: d.help,
            replacement: d.replacement,
        }
    }
}

fn default_help(category: Category) -> String {
    match category {
        Category::Environment => "make the file readable, or fix its path".into(),
        Category::Compatibility => {
            "remove the line or run HAProxy for this configuration until Sluice supports it".into()
        }
        _ => {
            "fix the expression as HAProxy 3.4's manual describes it; HAProxy rejects this line too"
                .into()
        }
    }
}

impl From<String> for Problem {
    fn from(message: String) -> Self {
        Self::new(Category::Semantic, None, message)
    }
}

impl From<&str> for Problem {
    fn from(message: &str) -> Self {
        Self::from(message.to_string())
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// What the keyword catalogue says of a fetch, converter or action name the rules engine
/// does not implement: `Ok(Some(warning))` when HAProxy's keyword is accepted and ignored,
/// `Err` otherwise (refused: compatibility; removed or misspelt: syntax). The same codes and
/// texts as the model's, which checks the names it sees itself.
pub(crate) fn not_in_registry(table: Table, name: &str) -> Result<Diagnostic, Problem> {
    let context = match table {
        Table::SampleFetch => "sample fetch",
        Table::Converter => "converter",
        _ => table.prefix().unwrap_or("rule"),
    };
    let mut diags = Diagnostics::new();
    let nowhere = Location::new(FileId(0), 0, 0, 0);
    let admission = catalogue::admit(&Place { table, context }, name, false, nowhere, &mut diags);
    let found = diags.into_iter().next();
    match (admission, found) {
        (Admission::ParseIgnored, Some(warning)) => Ok(warning),
        (_, Some(d)) => Err(Problem::from_diagnostic(d)),
        // The catalogue calls it supported: the registry lags behind it (a test prevents it).
        (_, None) => Err(Problem::new(
            Category::Compatibility,
            Some("not-implemented-refused"),
            format!("'{name}' is not implemented by Sluice's rules engine yet"),
        )),
    }
}

/// Compiles a regex from the configuration. HAProxy uses PCRE2: back-references,
/// look-around and the like are valid there but not in Rust's `regex`, so they are a
/// compatibility error, not a syntax error.
pub(crate) fn compile_regex(
    text: &str,
    ignore_case: bool,
    unicode: bool,
) -> Result<Regex, Problem> {
    RegexBuilder::new(text)
        .case_insensitive(ignore_case)
        .unicode(unicode)
        .build()
        .map_err(|e| regex_problem(text, &e))
}

pub(crate) fn regex_problem(text: &str, e: &regex::Error) -> Problem {
    let reason = e.to_string();
    let reason = reason.lines().last().unwrap_or("").trim().to_string();
    if let Some(feature) = pcre_only_feature(text, &reason) {
        Problem::new(
            Category::Compatibility,
            Some("regex-unsupported"),
            format!("regex '{text}' uses {feature}, which HAProxy's PCRE accepts but Sluice's regex engine does not"),
        )
        .with_help("rewrite the regex without back-references, look-around, atomic groups or possessive quantifiers, or run HAProxy for this configuration")
    } else {
        Problem::new(
            Category::Syntax,
            Some("regex-invalid"),
            format!("invalid regex '{text}': {reason}"),
        )
        .with_help("fix the regular expression (PCRE syntax); HAProxy rejects it too")
    }
}

/// The PCRE feature that made `regex` refuse `text`, if that is why.
fn pcre_only_feature(text: &str, reason: &str) -> Option<&'static str> {
    if reason.contains("backreferences are not supported") {
        return Some("a back-reference");
    }
    if reason.contains("look-around") {
        return Some("look-around");
    }
    let has = |s: &str| text.contains(s);
    if has("(?>") {
        return Some("an atomic group");
    }
    if has("*+") || has("++") || has("?+") || has("}+") {
        return Some("a possessive quantifier");
    }
    if has("\\K") || has("\\G") || has("\\Q") || has("(?|") || has("(?R") || has("(?P>") {
        return Some("a PCRE-only construct");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcre_only_regexes_are_compatibility_errors() {
        for re in ["(foo)\\1", "foo(?=bar)", "(?<!a)b", "(?>ab)"] {
            let p = compile_regex(re, false, true).unwrap_err();
            assert_eq!(p.category, Category::Compatibility, "{re}: {}", p.message);
            assert_eq!(p.code, Some("regex-unsupported"));
            assert!(p.help.is_some());
        }
        let p = compile_regex("(foo", false, true).unwrap_err();
        assert_eq!(p.category, Category::Syntax);
        assert_eq!(p.code, Some("regex-invalid"));
    }

    #[test]
    fn catalogue_decides_the_category_of_unknown_names() {
        let p = not_in_registry(Table::SampleFetch, "pathh").unwrap_err();
        assert_eq!(p.category, Category::Syntax);
        assert_eq!(p.code, Some("keyword-unknown"));
        assert!(p.message.contains("did you mean 'path'"), "{}", p.message);
        let p = not_in_registry(Table::SampleFetch, "req.hdrs").unwrap_err();
        assert_eq!(p.category, Category::Compatibility);
        assert_eq!(p.code, Some("not-implemented-refused"));
    }
}
