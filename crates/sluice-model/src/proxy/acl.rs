//! ACLs: `acl <name> <criterion> [flags] [operator] <pattern>...`, and the anonymous ones
//! written between braces in conditions.

use crate::catalogue::{self, Admission, Place};
use crate::statement::{Failure, Parsed};
use sluice_config::keywords::{self, Lookup, Table};
use sluice_config::{Category, Diagnostic, Diagnostics, Location, Statement, Word};

/// One ACL (named, or anonymous inside a condition).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acl {
    /// Empty for anonymous ACLs.
    pub name: String,
    /// The sample expression as written (`req.hdr(host),lower`).
    pub criterion: String,
    /// The fetch name (`req.hdr`).
    pub fetch: String,
    pub converters: Vec<String>,
    /// Flags such as `-i`, `-m str`.
    pub flags: Vec<String>,
    /// Pattern files (`-f`), for the environment preflight.
    pub files: Vec<(String, Location)>,
    /// Map files named by converters (`map(file)`, `map_str(file)`...).
    pub map_files: Vec<(String, Location)>,
    pub patterns: Vec<String>,
    pub location: Location,
}

/// Flags that take an argument.
const FLAGS_WITH_ARG: &[&str] = &["-f", "-m", "-M", "-u"];
/// Flags without one.
const FLAGS: &[&str] = &["-i", "-n", "--"];

/// Fetches whose patterns are IP addresses (unless `-m` says otherwise).
fn takes_ip_patterns(fetch: &str) -> bool {
    matches!(fetch, "src" | "dst" | "req.hdr_ip" | "hdr_ip" | "so_addr") || fetch.ends_with("_ip")
}

/// Parses a named ACL statement.
pub fn parse_named(stmt: &Statement, diags: &mut Diagnostics, diag_mode: bool) -> Parsed<Acl> {
    let name = crate::statement::arg(stmt, 1, "<name> <criterion> [pattern...]")?;
    if name.text.is_empty()
        || !name
            .text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
    {
        return Err(crate::statement::syntax_error(
            stmt,
            1,
            "acl-name-invalid",
            format!(
                "ACL name '{}' contains invalid characters (only letters, digits, '-', '_', '.' and ':' are allowed).",
                name.text
            ),
            "rename the ACL with letters, digits, '-', '_', '.' or ':'",
        )
        .into());
    }
    crate::statement::arg(stmt, 2, "a criterion")?;
    let words = stmt.words.get(2..).unwrap_or(&[]);
    let acl = parse_expression_named(&name.text, words, stmt, diags)?;
    if diag_mode {
        advise_patterns(&acl, stmt.location, diags);
    }
    Ok(acl)
}

/// Parses `<criterion> [flags] [patterns]` from `words` (an anonymous ACL's body).
pub fn parse_expression(words: &[Word], stmt: &Statement, diags: &mut Diagnostics) -> Parsed<Acl> {
    parse_expression_named("", words, stmt, diags)
}

fn parse_expression_named(
    name: &str,
    words: &[Word],
    stmt: &Statement,
    diags: &mut Diagnostics,
) -> Parsed<Acl> {
    let location = stmt.location;
    let Some(first) = words.first() else {
        return Err(Diagnostic::error(
            Category::Syntax,
            "acl-empty",
            "missing fetch method in ACL expression",
        )
        .at(location)
        .help("write a sample fetch such as 'path_beg /api' inside the braces")
        .into());
    };
    let word_location = Location::new(location.file, location.line, first.column, first.raw_len);
    let (fetch, converters, map_files) = parse_sample(&first.text, word_location, diags)?;
    let mut acl = Acl {
        name: name.to_string(),
        criterion: first.text.clone(),
        fetch,
        converters,
        flags: Vec::new(),
        files: Vec::new(),
        map_files,
        patterns: Vec::new(),
        location,
    };
    let mut rest = words.iter().skip(1).peekable();
    let mut explicit_match = false;
    while let Some(word) = rest.peek() {
        let text = word.text.as_str();
        if FLAGS_WITH_ARG.contains(&text) {
            rest.next();
            let value = rest.next().ok_or_else(|| {
                Diagnostic::error(
                    Category::Syntax,
                    "acl-flag-missing-argument",
                    format!("missing argument after ACL flag '{text}'"),
                )
                .at(location)
                .help(format!("write '{text} <value>'"))
            })?;
            if text == "-f" {
                acl.files.push((
                    value.text.clone(),
                    Location::new(location.file, location.line, value.column, value.raw_len),
                ));
            }
            explicit_match |= text == "-m";
            acl.flags.push(format!("{text} {}", value.text));
        } else if FLAGS.contains(&text) {
            rest.next();
            acl.flags.push(text.to_string());
            if text == "--" {
                break;
            }
        } else {
            break;
        }
    }
    for word in rest {
        if !explicit_match && acl.files.is_empty() && takes_ip_patterns(&acl.fetch) {
            check_ip_pattern(&acl, word, stmt)?;
        }
        acl.patterns.push(word.text.clone());
    }
    Ok(acl)
}

fn check_ip_pattern(acl: &Acl, word: &Word, stmt: &Statement) -> Parsed<()> {
    let text = word.text.as_str();
    let (ip, mask) = text.split_once('/').unwrap_or((text, ""));
    let ip_ok = ip.parse::<std::net::IpAddr>().is_ok();
    let mask_ok = mask.is_empty()
        || mask.parse::<u8>().is_ok_and(|m| m <= 128)
        || mask.parse::<std::net::Ipv4Addr>().is_ok();
    if ip_ok && mask_ok {
        return Ok(());
    }
    // HAProxy resolves a host name here while starting (`str2net()`): whether it resolves is
    // the machine's business, which the rules compile reports.
    if mask_ok && is_host_name(ip) {
        return Ok(());
    }
    let what = if acl.name.is_empty() {
        "an anonymous ACL".to_string()
    } else {
        format!("ACL '{}'", acl.name)
    };
    Err(Failure::from(Diagnostic::error(
        Category::Syntax,
        "acl-pattern-invalid",
        format!(
            "error detected while parsing {what} : '{text}' is not a valid IPv4 or IPv6 address."
        ),
    )
    .at(Location::new(
        stmt.location.file,
        stmt.location.line,
        word.column,
        word.raw_len,
    ))
    .help(format!(
        "'{}' compares addresses: write an address or network such as 10.0.0.0/8 (a host name must resolve to an IPv4 address)",
        acl.fetch
    ))))
}

/// Text that can be a DNS host name (letters, digits, `-`, `_`, `.`, with at least one letter).
fn is_host_name(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.bytes().any(|b| b.is_ascii_alphabetic())
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A fetch name, its converters' names and the map files the converters name.
pub type Sample = (String, Vec<String>, Vec<(String, Location)>);

/// Splits `fetch(args),conv1(args),conv2` and looks each name up in the catalogue. Returns the
/// fetch name, the converter names and the map files converters name.
pub fn parse_sample(text: &str, location: Location, diags: &mut Diagnostics) -> Parsed<Sample> {
    let parts = split_top_level(text, ',');
    let mut parts = parts.into_iter();
    let head = parts.next().unwrap_or_default();
    let fetch = name_of(&head).to_string();
    let place = Place {
        table: Table::SampleFetch,
        context: "sample fetch",
    };
    if catalogue::admit(&place, &fetch, false, location, diags) == Admission::Reject {
        return Err(Failure::Reported);
    }
    let mut converters = Vec::new();
    let mut maps = Vec::new();
    let place = Place {
        table: Table::Converter,
        context: "converter",
    };
    // HAProxy tolerates an empty converter (`ssl_fc,`).
    for part in parts.filter(|p| !p.trim().is_empty()) {
        let name = name_of(&part).to_string();
        if catalogue::admit(&place, &name, false, location, diags) == Admission::Reject {
            return Err(Failure::Reported);
        }
        if name.starts_with("map") {
            if let Some(file) =
                args_of(&part).and_then(|a| split_top_level(a, ',').into_iter().next())
            {
                if !file.is_empty() {
                    maps.push((file, location));
                }
            }
        }
        converters.push(name);
    }
    Ok((fetch, converters, maps))
}

fn name_of(part: &str) -> &str {
    part.split('(').next().unwrap_or(part)
}

fn args_of(part: &str) -> Option<&str> {
    let open = part.find('(')?;
    let inner = part.get(open + 1..)?;
    Some(inner.strip_suffix(')').unwrap_or(inner))
}

/// Splits on `sep` outside parentheses.
fn split_top_level(text: &str, sep: char) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut current = String::new();
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        if c == sep && depth <= 0 {
            parts.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    parts.push(current);
    parts
}

/// `-dD`: patterns that look like operators, comments or keywords, in HAProxy's order and
/// words (`parse_acl_expr`). `location` is the line of the ACL (named or anonymous).
pub(crate) fn advise_patterns(acl: &Acl, location: Location, diags: &mut Diagnostics) {
    for pattern in &acl.patterns {
        let (reason, help) = match pattern.as_str() {
            "&&" | "and" | "||" | "or" => (
                "looks like a failed attempt at using an operator inside a pattern list",
                "patterns of one ACL are ORed; combine ACLs in the condition instead ('if a b', 'if a || b')",
            ),
            "#" | "//" => (
                "looks like a failed attempt at commenting an end of line",
                "only an unquoted, unescaped '#' starts a comment: remove this pattern and the words after it, or start the comment with '#'",
            ),
            p => match keyword_like(p) {
                Some(KeywordLike::Acl) => (
                    "suspiciously looks like a known acl keyword",
                    "an 'acl' line has one criterion, the other words are patterns: put the other criterion on its own 'acl' line (lines with the same name are ORed)",
                ),
                Some(KeywordLike::Fetch) => (
                    "suspiciously looks like a known sample fetch keyword",
                    "patterns are literal values, not sample fetches: to compare two samples, store one in a variable and use a converter such as 'strcmp(txn.x)'",
                ),
                None => continue,
            },
        };
        let owner = if acl.name.is_empty() {
            "in an anonymous ACL".to_string()
        } else {
            format!("in ACL '{}'", acl.name)
        };
        diags.push(
            Diagnostic::diag(
                Category::Advice,
                "acl-pattern-suspicious",
                format!("pattern '{pattern}' {reason}"),
            )
            .at(location)
            .help(help)
            .note(format!("{owner}, whose criterion is '{}'", acl.criterion)),
        );
    }
}

enum KeywordLike {
    Acl,
    Fetch,
}

/// HAProxy's `find_acl_kw` then `find_sample_fetch` on the pattern's leading identifier
/// (letters, digits, `.`, `_`, `-`, `+`, `:`): `hdr(host)` looks like the ACL keyword `hdr`.
/// ACL keywords are the ACL-only forms (`path_beg`) and the fetches the manual lists as ACL
/// criteria too (`path`, `method`).
fn keyword_like(pattern: &str) -> Option<KeywordLike> {
    let end = pattern
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | ':')))
        .unwrap_or(pattern.len());
    let word = pattern.get(..end).filter(|w| !w.is_empty())?;
    if word.starts_with("lua.") {
        return None;
    }
    let Lookup::Known(keyword) = keywords::lookup(Table::SampleFetch, word) else {
        return None;
    };
    // The manual gives an ACL criterion's form without a ` : <type>` result.
    let acl = keyword.acl_only || keyword.synopsis.iter().any(|s| !s.contains(" : "));
    Some(if acl {
        KeywordLike::Acl
    } else {
        KeywordLike::Fetch
    })
}
