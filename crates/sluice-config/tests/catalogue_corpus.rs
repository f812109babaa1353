//! Every keyword of the real-world configurations HAProxy 3.4 accepts is known to the catalogue.
//!
//! A crude line scanner on purpose (section headers and first words, the second word where it
//! selects the meaning, rule actions, ACL criteria): the test must not depend on the reader
//! it helps to build. Lines it cannot classify are skipped.

use sluice_config::keywords::{lookup, Lookup, Table};
use sluice_config::SectionKind;
use std::path::{Path, PathBuf};

fn corpus() -> Option<PathBuf> {
    sluice_config::testing::corpus_dir()
}

/// Files HAProxy 3.4 accepts as language (`valid`, or `env-only`: rejected only because this
/// machine lacks files, hosts or users).
fn accepted_files(dir: &Path) -> Vec<PathBuf> {
    let verdicts = std::fs::read_to_string(dir.join("dev-verdicts.tsv")).unwrap_or_default();
    verdicts
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            let (id, class) = (fields.first()?, fields.get(2)?);
            matches!(*class, "valid" | "env-only")
                .then(|| dir.join("dev").join(format!("{id}.cfg")))
        })
        .collect()
}

/// The words of a line, without comments; `None` for lines the scanner cannot judge
/// (quotes or environment variables in the first words).
fn words(line: &str) -> Option<Vec<&str>> {
    let words: Vec<&str> = line
        .split_whitespace()
        .take_while(|w| !w.starts_with('#'))
        .collect();
    if words
        .iter()
        .take(3)
        .any(|w| w.contains(['"', '\'', '$', '\\']))
    {
        return None;
    }
    Some(words)
}

/// Checks one word and records it when the catalogue does not know it.
fn check(table: Table, word: &str, place: &str, misses: &mut Vec<String>) {
    if let Lookup::Unknown { .. } | Lookup::Removed(_) = lookup(table, word) {
        misses.push(format!("{place}: '{word}' in {}", table.describe()));
    }
}

fn scan(path: &Path, misses: &mut Vec<String>) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
    let mut section: Option<SectionKind> = None;
    for (index, line) in text.lines().enumerate() {
        let place = format!("{name}:{}", index + 1);
        let Some(words) = words(line) else { continue };
        let Some(&first) = words.first() else {
            continue;
        };
        if first.starts_with('.') {
            continue;
        }
        if let Some(kind) = SectionKind::from_keyword(first) {
            section = Some(kind);
            continue;
        }
        let Some(kind) = section else { continue };
        // `no option x`, `default option x`.
        let words = match first {
            "no" | "default" if words.len() > 1 => words.get(1..).unwrap_or_default(),
            _ => &words[..],
        };
        let Some(&keyword) = words.first() else {
            continue;
        };
        let table = Table::Section(kind);
        check(table, keyword, &place, misses);
        let Lookup::Known(entry) = lookup(table, keyword) else {
            continue;
        };
        let second = words.get(1).copied();
        if let (Some(sub), Some(second)) = (entry.sub, second) {
            check(sub, second, &place, misses);
        }
        if !kind.is_proxy() {
            continue;
        }
        // Rule actions: `http-request <action>`, `tcp-request content <action>`.
        let action = match keyword {
            "tcp-request" | "tcp-response" => words.get(2).copied(),
            _ => second,
        };
        if let (Some(rules), Some(action)) = (Table::for_rule(keyword, second), action) {
            check(rules, action, &place, misses);
        }
        // `acl <name> <criterion> ...`: the criterion is a sample fetch or an ACL form of one.
        if keyword == "acl" {
            if let Some(criterion) = words.get(2) {
                let fetch = criterion.split([',', '(']).next().unwrap_or(criterion);
                if !fetch.is_empty() && !fetch.starts_with('{') {
                    check(Table::SampleFetch, fetch, &place, misses);
                }
            }
        }
    }
}

#[test]
fn keywords_of_configurations_haproxy_accepts_are_known() {
    let Some(dir) = corpus() else {
        println!("skipped: ../shared/corpus is not present");
        return;
    };
    let files = accepted_files(&dir);
    assert!(
        files.len() > 100,
        "only {} accepted files found",
        files.len()
    );
    let mut misses = Vec::new();
    for file in &files {
        scan(file, &mut misses);
    }
    assert!(
        misses.is_empty(),
        "{} keywords unknown to the catalogue:\n{}",
        misses.len(),
        misses.join("\n")
    );
}
