//! Splitting one line of the runtime API into commands and words.
//!
//! A line holds commands separated by `;`; a command holds words separated by spaces or tabs.
//! A backslash makes the next character literal, so `\;`, `\ ` and `\\` put a semicolon, a
//! space or a backslash inside a word. A line may end with `<<` (or `<<PATTERN`): the lines
//! that follow, up to an empty line (or the pattern), are the payload of its last command.

/// The commands of one line, each a list of words (empty commands are dropped).
pub fn split_line(line: &str) -> Vec<Vec<String>> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut commands = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                // A lone backslash at the end of the line stays a backslash.
                let next = chars.next().unwrap_or('\\');
                word.get_or_insert_with(String::new).push(next);
            }
            ';' => {
                words.extend(word.take());
                if !words.is_empty() {
                    commands.push(std::mem::take(&mut words));
                }
            }
            ' ' | '\t' => words.extend(word.take()),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word.take());
    if !words.is_empty() {
        commands.push(words);
    }
    commands
}

/// Longest custom payload pattern after `<<`.
const MAX_PATTERN: usize = 64;

/// When `line` announces a payload (its last word is `<<` or `<<PATTERN`, not escaped), the
/// line without that word and the pattern that ends the payload (empty: an empty line).
pub fn payload_marker(line: &str) -> Option<(&str, &str)> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let trimmed = line.trim_end_matches([' ', '\t']);
    let start = trimmed.rfind([' ', '\t']).map_or(0, |i| i + 1);
    let last = trimmed.get(start..)?;
    let pattern = last.strip_prefix("<<")?;
    if pattern.len() > MAX_PATTERN {
        return None;
    }
    // `\<<` is an escaped word, not a marker.
    let before = trimmed.get(..start)?;
    if before.ends_with('\\') {
        return None;
    }
    Some((before, pattern))
}

#[cfg(test)]
mod tests {
    use super::{payload_marker, split_line};

    fn words(line: &str) -> Vec<Vec<&'static str>> {
        split_line(line)
            .into_iter()
            .map(|c| {
                c.into_iter()
                    .map(|w| &*Box::leak(w.into_boxed_str()))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn splits_words_on_spaces_and_tabs() {
        assert_eq!(
            words("show  servers\tstate be1"),
            vec![vec!["show", "servers", "state", "be1"]]
        );
        assert_eq!(words("   "), Vec::<Vec<&str>>::new());
        assert_eq!(words(""), Vec::<Vec<&str>>::new());
    }

    #[test]
    fn splits_commands_on_semicolons() {
        assert_eq!(
            words("show info;show stat ; ;help"),
            vec![vec!["show", "info"], vec!["show", "stat"], vec!["help"]]
        );
        assert_eq!(
            words("experimental-mode on; add server be/s 1.2.3.4:80"),
            vec![
                vec!["experimental-mode", "on"],
                vec!["add", "server", "be/s", "1.2.3.4:80"]
            ]
        );
    }

    #[test]
    fn backslash_escapes_separators() {
        assert_eq!(
            words(r"set map m key a\;b\ c"),
            vec![vec!["set", "map", "m", "key", "a;b c"]]
        );
        assert_eq!(words(r"echo a\\b"), vec![vec!["echo", r"a\b"]]);
        assert_eq!(words(r"echo end\"), vec![vec!["echo", r"end\"]]);
        assert_eq!(words("echo \\\t"), vec![vec!["echo", "\t"]]);
    }

    #[test]
    fn drops_carriage_return() {
        assert_eq!(words("show info\r"), vec![vec!["show", "info"]]);
    }

    #[test]
    fn handles_any_unicode_without_panicking() {
        assert_eq!(words("é;\\é ü"), vec![vec!["é"], vec!["é", "ü"]]);
        let _ = payload_marker("é<<");
        let _ = payload_marker("<<");
    }

    #[test]
    fn finds_payload_markers() {
        assert_eq!(payload_marker("add map m <<"), Some(("add map m ", "")));
        assert_eq!(
            payload_marker("set ssl cert x <<%EOF%"),
            Some(("set ssl cert x ", "%EOF%"))
        );
        assert_eq!(payload_marker("add map m <<  \r"), Some(("add map m ", "")));
        assert_eq!(payload_marker("show info"), None);
        assert_eq!(payload_marker(r"echo \<<"), None);
        let long = format!("x <<{}", "p".repeat(65));
        assert_eq!(payload_marker(&long), None);
    }
}
