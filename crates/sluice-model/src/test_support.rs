//! Builds syntax trees from text for unit tests, without the reader: a line that starts
//! without indentation opens a section, an indented line is a statement, words are split on
//! whitespace.

use sluice_config::{ConfigTree, FileId, Location, Section, SectionKind, Statement, Word};

pub fn statement(line_no: u32, line: &str) -> Statement {
    let mut words = Vec::new();
    let mut column = 0u32;
    let mut current: Option<(u32, String)> = None;
    for c in line.chars() {
        column += 1;
        if c.is_whitespace() {
            if let Some((start, text)) = current.take() {
                let len = text.len() as u32;
                words.push(Word::new(text, start, len));
            }
        } else {
            match &mut current {
                Some((_, text)) => text.push(c),
                None => current = Some((column, c.to_string())),
            }
        }
    }
    if let Some((start, text)) = current {
        let len = text.len() as u32;
        words.push(Word::new(text, start, len));
    }
    Statement {
        words,
        location: Location::line(FileId(0), line_no),
    }
}

pub fn tree(text: &str) -> ConfigTree {
    let mut tree = ConfigTree::default();
    for (i, line) in text.lines().enumerate() {
        let line_no = i as u32 + 1;
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let stmt = statement(line_no, line);
        let starts_section = !line.starts_with(char::is_whitespace);
        match (starts_section, SectionKind::from_keyword(stmt.keyword())) {
            (true, Some(kind)) => tree.sections.push(Section {
                kind,
                header: stmt,
                statements: Vec::new(),
            }),
            _ => {
                if let Some(section) = tree.sections.last_mut() {
                    section.statements.push(stmt);
                }
            }
        }
    }
    tree
}

/// Builds `text` and returns the model and the diagnostics' codes with their lines.
pub fn build(text: &str) -> (crate::Model, Vec<(&'static str, u32)>) {
    build_with(text, &crate::BuildOptions::default())
}

pub fn build_with(
    text: &str,
    options: &crate::BuildOptions,
) -> (crate::Model, Vec<(&'static str, u32)>) {
    let (model, diags) = crate::build(&tree(text), options);
    let codes = diags
        .iter()
        .map(|d| (d.code, d.location.map_or(0, |l| l.line)))
        .collect();
    (model, codes)
}
