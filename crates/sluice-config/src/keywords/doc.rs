//! `docs/compatibility.md`, written from the catalogue so that it cannot drift from it.

use super::{section_removed, Keyword, Support, Table};
use std::fmt::Write;

/// The compatibility reference: every HAProxy 3.4 keyword per table with Sluice's support and
/// what is lost when it is not supported, then the removed keywords with what to write instead.
pub fn compatibility_markdown() -> String {
    let mut out = String::new();
    out.push_str("# Compatibility with HAProxy 3.4\n\n");
    out.push_str(
        "Generated from Sluice's keyword catalogue (`crates/sluice-config/src/keywords/`); \
         run `SLUICE_BLESS=1 cargo test -p sluice-config --test catalogue_doc` after changing \
         `tools/catalogue/overrides.txt`. Do not edit by hand.\n\n",
    );
    out.push_str(
        "- **supported**: parsed and honoured.\n\
         - **ignored**: accepted; Sluice warns and runs without it (the note says what is lost).\n\
         - **refused**: accepted by `-c` with an error saying Sluice cannot run it (the note \
         says why).\n\
         - **removed**: HAProxy 3.4 rejects it too; the table says what to write instead.\n\n",
    );

    out.push_str("## Summary\n\n");
    out.push_str("| table | keywords | supported | ignored | refused | removed |\n");
    out.push_str("| --- | ---: | ---: | ---: | ---: | ---: |\n");
    for table in Table::ALL {
        let keywords = table.keywords();
        let count = |f: fn(&Support) -> bool| keywords.iter().filter(|k| f(&k.support)).count();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            table.describe(),
            keywords.len(),
            count(|s| matches!(s, Support::Supported)),
            count(|s| matches!(s, Support::Ignored(_))),
            count(|s| matches!(s, Support::Refused(_))),
            table.removed().len(),
        );
    }
    out.push('\n');

    for table in Table::ALL {
        keyword_table(&mut out, table);
    }

    out.push_str("## Removed keywords\n\n");
    out.push_str("| where | keyword | removed in | write instead | why |\n");
    out.push_str("| --- | --- | --- | --- | --- |\n");
    for removed in section_removed::SECTION_REMOVED {
        let _ = writeln!(
            out,
            "| section keywords | `{}` | {} | {} | {} |",
            removed.name,
            removed.since,
            code_or_dash(removed.replacement),
            cell(removed.help)
        );
    }
    for table in Table::ALL {
        for removed in table.removed() {
            let _ = writeln!(
                out,
                "| {} | `{}` | {} | {} | {} |",
                table.describe(),
                removed.name,
                removed.since,
                code_or_dash(removed.replacement),
                cell(removed.help)
            );
        }
    }
    out
}

fn keyword_table(out: &mut String, table: Table) {
    let proxies = matches!(table, Table::Section(kind) if kind.is_proxy())
        || (table.prefix().is_some() && !table.is_action() && table != Table::GlobalStats);
    let _ = writeln!(out, "## {}\n", capitalise(&table.describe()));
    if proxies {
        out.push_str("| keyword | status | sections | note |\n| --- | --- | --- | --- |\n");
    } else {
        out.push_str("| keyword | status | note |\n| --- | --- | --- |\n");
    }
    for keyword in table.keywords() {
        let (status, reason) = match keyword.support {
            Support::Supported => ("supported", ""),
            Support::Ignored(why) => ("ignored", why),
            Support::Refused(why) => ("refused", why),
        };
        let note = note(keyword, reason);
        if proxies {
            let mut sections = keyword.sections.describe();
            if keyword.sections.named_defaults_only() {
                sections = sections.replace("defaults", "defaults (named)");
            }
            let _ = writeln!(
                out,
                "| `{}` | {status} | {sections} | {note} |",
                keyword.name
            );
        } else {
            let _ = writeln!(out, "| `{}` | {status} | {note} |", keyword.name);
        }
    }
    out.push('\n');
}

fn note(keyword: &Keyword, reason: &str) -> String {
    let mut parts = Vec::new();
    if !reason.is_empty() {
        parts.push(cell(reason));
    }
    if keyword.deprecated {
        parts.push("deprecated in HAProxy".to_string());
    }
    if keyword.experimental {
        parts.push("experimental in HAProxy".to_string());
    }
    if keyword.acl_only {
        parts.push("ACL criterion only".to_string());
    }
    parts.join("; ")
}

/// Table cells must not break the row.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

fn code_or_dash(text: &str) -> String {
    if text.is_empty() {
        "(remove the line)".to_string()
    } else {
        format!("`{text}`")
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) if first != '\'' => first.to_uppercase().chain(chars).collect(),
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_proxy_option_appears_with_its_sections() {
        let doc = compatibility_markdown();
        assert!(doc.contains("| `httplog` | supported | defaults, frontend, listen |"));
        assert!(doc.contains("| `reqadd` | 2.1 | `http-request add-header` |"));
    }
}
