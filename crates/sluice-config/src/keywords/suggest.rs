//! "Did you mean": the closest keyword of the same table.

use super::Keyword;

/// The keyword of `keywords` closest to `name` by edit distance (a transposition counts as
/// one edit), when it is close enough to be a likely typo: one edit for short words, up to a
/// quarter of the length for long ones. Ties go to the candidate sharing the longest prefix,
/// then to the first in sorted order.
pub(super) fn closest(keywords: &'static [Keyword], name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return None;
    }
    let allowed = (name.chars().count() / 4).clamp(1, 4);
    let mut best: Option<(usize, usize, &'static str)> = None;
    for keyword in keywords {
        // Placeholders such as `lua.<name>` are not spellings.
        if keyword.name.contains('<') {
            continue;
        }
        let distance = strsim::damerau_levenshtein(name, keyword.name);
        if distance == 0 || distance > allowed {
            continue;
        }
        let shared = name
            .chars()
            .zip(keyword.name.chars())
            .take_while(|(a, b)| a == b)
            .count();
        let better = match best {
            None => true,
            Some((d, s, _)) => distance < d || (distance == d && shared > s),
        };
        if better {
            best = Some((distance, shared, keyword.name));
        }
    }
    best.map(|(_, _, name)| name)
}
