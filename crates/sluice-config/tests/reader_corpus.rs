//! Every real-world configuration of the corpus is read with exactly the reader-level errors
//! (lexer errors, empty arguments, missing final LF, stray NUL, `.if` misuse) that HAProxy 3.4
//! reported for it, on the same lines.

use sluice_config::{read_config, Environment, ReadOptions, SourceMap};
use std::collections::BTreeSet;
use std::path::PathBuf;

/// Message beginnings of HAProxy's reader-level errors, and our codes for them.
const READER_ERRORS: &[(&str, &str)] = &[
    ("unmatched quote at position", "unmatched-quote"),
    (
        "truncated or invalid hexadecimal sequence",
        "invalid-hex-escape",
    ),
    (
        "unmatched brace in environment variable name",
        "unmatched-brace",
    ),
    (
        "forbidden first char in environment variable name",
        "invalid-variable-name",
    ),
    (
        "truncated or invalid word expansion sequence",
        "invalid-word-expansion",
    ),
    ("too many words, truncating after word", "too-many-words"),
    (
        "is empty and marks the end of the argument list",
        "empty-argument",
    ),
    ("Missing LF on last line", "missing-lf"),
    ("Stray NUL character", "stray-nul"),
    ("unknown directive", "unknown-directive"),
    ("with no matching '.if'", "if-lone"),
    ("non-terminated '.if' block", "if-not-terminated"),
];

fn corpus() -> Option<PathBuf> {
    sluice_config::testing::corpus_dir()
}

/// Codes whose HAProxy message gives the raw-line position we report as the column.
const POSITIONED: &[&str] = &[
    "unmatched-quote",
    "invalid-hex-escape",
    "unmatched-brace",
    "invalid-variable-name",
    "invalid-word-expansion",
    "empty-argument",
    "missing-lf",
    "stray-nul",
];

type Finding = (u32, String, Option<u32>);

/// The number after "position " in a message.
fn position(message: &str) -> Option<u32> {
    let rest = &message[message.find("position ")? + "position ".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// (line, code, position) of reader-level errors in HAProxy's output for `id`.
fn haproxy_errors(output: &str, id: &str) -> BTreeSet<Finding> {
    let marker = format!("parsing [dev/{id}.cfg:");
    let mut found = BTreeSet::new();
    for line in output.lines() {
        let Some(start) = line.find(&marker) else {
            continue;
        };
        let rest = &line[start + marker.len()..];
        let Some(close) = rest.find(']') else {
            continue;
        };
        let Ok(number) = rest[..close].parse::<u32>() else {
            continue;
        };
        for (text, code) in READER_ERRORS {
            if rest.contains(text) {
                let at = POSITIONED.contains(code).then(|| position(rest)).flatten();
                found.insert((number, (*code).to_string(), at));
            }
        }
    }
    found
}

fn normalise(code: &str) -> String {
    if code.starts_with("if-lone") {
        "if-lone".to_string()
    } else {
        code.to_string()
    }
}

#[test]
fn corpus_reader_errors_match_haproxy() {
    let Some(dir) = corpus() else {
        println!("corpus not found next to the repository; skipping");
        return;
    };
    let codes: BTreeSet<&str> = READER_ERRORS.iter().map(|(_, c)| *c).collect();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir.join("dev"))
        .expect("corpus directory is readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "cfg"))
        .collect();
    entries.sort();
    assert!(!entries.is_empty());
    let mut mismatches = Vec::new();
    let mut compared = 0;
    for path in &entries {
        let id = path.file_stem().unwrap().to_string_lossy().to_string();
        let output_path = dir.join("haproxy-3.4-output").join(format!("{id}.txt"));
        let Ok(output) = std::fs::read_to_string(&output_path) else {
            continue;
        };
        let expected = haproxy_errors(&output, &id);
        let mut sources = SourceMap::new();
        sources.add(format!("dev/{id}.cfg"), std::fs::read(path).unwrap());
        // HAProxy ran without the variables these files expect.
        let (_, diags) = read_config(&sources, &mut Environment::empty(), &ReadOptions::default());
        let ours: BTreeSet<Finding> = diags
            .iter()
            // A missing final LF is a warning in Sluice, an error in HAProxy: same finding.
            .filter(|d| d.is_error() || d.code == "missing-lf")
            .filter(|d| codes.contains(normalise(d.code).as_str()))
            .map(|d| {
                let line = d.location.map_or(0, |l| l.line);
                let at = POSITIONED
                    .contains(&d.code)
                    .then(|| d.location.map(|l| l.column))
                    .flatten();
                (line, normalise(d.code), at)
            })
            .collect();
        compared += expected.len();
        if ours != expected {
            mismatches.push(format!("{id}: haproxy {expected:?}, sluice {ours:?}"));
        }
    }
    println!("{compared} reader-level errors of HAProxy compared");
    assert!(
        compared > 20,
        "the corpus outputs should hold reader-level errors"
    );
    assert!(
        mismatches.is_empty(),
        "{} of {} files differ:\n{}",
        mismatches.len(),
        entries.len(),
        mismatches.join("\n")
    );
}

#[test]
fn corpus_reads_fast() {
    let Some(dir) = corpus() else {
        println!("corpus not found next to the repository; skipping");
        return;
    };
    // Concatenate the valid files' bodies into one large file (~10k lines and more).
    let mut text = Vec::new();
    for entry in std::fs::read_dir(dir.join("dev")).unwrap().flatten() {
        let mut body = std::fs::read(entry.path()).unwrap();
        if body.last() != Some(&b'\n') {
            body.push(b'\n');
        }
        text.extend_from_slice(&body);
    }
    let lines = text.iter().filter(|&&b| b == b'\n').count();
    let mut sources = SourceMap::new();
    sources.add("all.cfg", text);
    let start = std::time::Instant::now();
    let _ = read_config(&sources, &mut Environment::empty(), &ReadOptions::default());
    let elapsed = start.elapsed();
    println!("{lines} lines read in {elapsed:?}");
    // Generous for an unoptimised build on a loaded machine; quadratic behaviour takes seconds.
    assert!(
        elapsed.as_millis() < 2_000,
        "{lines} lines took {elapsed:?}"
    );
}
