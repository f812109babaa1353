//! Asking the keyword catalogue about a word and turning its answer into diagnostics.
//!
//! The catalogue decides whether a keyword exists, was removed, or is supported; the model
//! only parses what the catalogue lets through. A keyword the model has a typed parser for is
//! known even when the catalogue does not list it (it cannot be a typo if we parse it).

use sluice_config::keywords::{self, Lookup, Support, Table};
use sluice_config::{Category, Diagnostic, Diagnostics, Location};

/// What the caller should do with the keyword.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Known and usable: parse it.
    Parse,
    /// Known, accepted but ignored by Sluice (a warning was emitted): still parse its
    /// arguments so that mistakes in them are found.
    ParseIgnored,
    /// An error was emitted; do not look at the rest of the statement.
    Reject,
}

/// Where the keyword was found, to word the message as HAProxy does.
pub struct Place<'a> {
    pub table: Table,
    /// e.g. `'global' section`, or the keyword it qualifies (`bind`, `option`).
    pub context: &'a str,
}

/// Looks `name` up and reports unknown, removed, ignored or refused keywords.
pub fn admit(
    place: &Place<'_>,
    name: &str,
    typed: bool,
    location: Location,
    diags: &mut Diagnostics,
) -> Admission {
    match keywords::lookup(place.table, name) {
        Lookup::Known(keyword) => match keyword.support {
            Support::Supported => Admission::Parse,
            Support::Ignored(reason) => {
                diags.push(
                    Diagnostic::warning(
                        Category::Compatibility,
                        "not-implemented-ignored",
                        format!("'{name}' is not implemented by Sluice yet and will be ignored: {reason}"),
                    )
                    .at(location)
                    .help("remove the line if you do not need it, or run HAProxy for this configuration"),
                );
                Admission::ParseIgnored
            }
            Support::Refused(reason) => {
                diags.push(
                    Diagnostic::error(
                        Category::Compatibility,
                        "not-implemented-refused",
                        format!("'{name}' is not implemented by Sluice yet: {reason}"),
                    )
                    .at(location)
                    .help("remove the line or run HAProxy for this configuration until Sluice supports it"),
                );
                Admission::Reject
            }
        },
        Lookup::Removed(removed) => {
            let mut message = format!(
                "the '{}' directive is not supported anymore since HAProxy {}",
                removed.name, removed.since
            );
            if removed.replacement.is_empty() {
                message.push('.');
            } else {
                message.push_str(&format!(". Use '{}'.", removed.replacement));
            }
            diags.push(
                Diagnostic::error(Category::Syntax, "keyword-removed", message)
                    .at(location)
                    .help(removed.help)
                    .replacement(removed.replacement),
            );
            Admission::Reject
        }
        Lookup::Unknown { .. } if typed => Admission::Parse,
        Lookup::Unknown { suggestion } => {
            diags.push(unknown(place, name, suggestion, location));
            Admission::Reject
        }
    }
}

/// The "unknown keyword" diagnostic in HAProxy's shape.
pub fn unknown(
    place: &Place<'_>,
    name: &str,
    suggestion: Option<&str>,
    location: Location,
) -> Diagnostic {
    let mut message = match place.table {
        Table::Section(_) => format!("unknown keyword '{name}' in {}", place.context),
        Table::ProxyOption => format!("unknown option '{name}'"),
        Table::ProxyTimeout => format!("unknown timeout '{name}'"),
        Table::BindOption | Table::ServerOption => {
            format!("'{}' : unknown keyword '{name}'", place.context)
        }
        Table::SampleFetch => format!("unknown fetch method '{name}'"),
        Table::Converter => format!("unknown converter '{name}'"),
        _ => format!("unknown action '{name}' for '{}'", place.context),
    };
    let mut diagnostic = Diagnostic::error(Category::Syntax, "keyword-unknown", String::new());
    match suggestion {
        Some(s) => {
            message.push_str(&format!("; did you mean '{s}' maybe ?"));
            diagnostic = diagnostic
                .help(format!("replace '{name}' with '{s}'"))
                .replacement(s);
        }
        None => {
            diagnostic = diagnostic.help(format!(
                "check the spelling against HAProxy 3.4's manual, or remove the '{name}' line"
            ));
        }
    }
    diagnostic.message = message;
    diagnostic.at(location)
}
