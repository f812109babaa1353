//! `http-request normalize-uri <normalizer>`: rewrites of the request target that give
//! equivalent URIs one spelling (RFC 3986 §6.2.2), one normalizer per rule.
//!
//! Each normalizer works on the part of the target it names: the path (up to `?`), the
//! query (after `?`), or both. A target without a path (`*`, authority form) is left alone.

use crate::problem::Problem;

/// One normalizer and its options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Normalizer {
    /// `fragment-encode`: every `#` becomes `%23`.
    FragmentEncode,
    /// `fragment-strip`: the fragment (from the first `#`) goes.
    FragmentStrip,
    /// `path-merge-slashes`: runs of `/` in the path become one.
    PathMergeSlashes,
    /// `path-strip-dot`: `.` segments of the path go.
    PathStripDot,
    /// `path-strip-dotdot [full]`: a `..` segment removes the segment before it; with
    /// `full`, the ones with nothing before them go too.
    PathStripDotdot {
        /// `full`.
        full: bool,
    },
    /// `percent-decode-unreserved [strict]`: `%XX` of a letter, digit, `-`, `.`, `_` or `~`
    /// becomes the character.
    PercentDecodeUnreserved {
        /// `strict`: a `%` not followed by two hex digits makes the request invalid.
        strict: bool,
    },
    /// `percent-to-uppercase [strict]`: the hex digits of `%xx` become upper case.
    PercentToUppercase {
        /// `strict`: a `%` not followed by two hex digits makes the request invalid.
        strict: bool,
    },
    /// `query-sort-by-name`: the query's `&`-separated parameters, sorted by name (the
    /// order of equal names kept).
    QuerySortByName,
}

/// The target cannot be normalized (a bad `%` sequence under `strict`): HAProxy answers 400.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidUri;

impl Normalizer {
    /// Parses the action's arguments (`path-strip-dotdot full`).
    pub(crate) fn parse(args: &[String]) -> Result<Normalizer, Problem> {
        let name = args.first().map(String::as_str).ok_or_else(|| {
            Problem::syntax(
                "expects a normalizer (fragment-encode, fragment-strip, path-merge-slashes, \
                 path-strip-dot, path-strip-dotdot, percent-decode-unreserved, \
                 percent-to-uppercase or query-sort-by-name)",
            )
        })?;
        let option = args.get(1).map(String::as_str);
        let flag = |word: &str| -> Result<bool, Problem> {
            match option {
                None => Ok(false),
                Some(o) if o == word => Ok(true),
                Some(o) => Err(Problem::syntax(format!(
                    "unexpected '{o}' after '{name}' (expects '{word}' or nothing)"
                ))),
            }
        };
        let normalizer = match name {
            "fragment-encode" => Normalizer::FragmentEncode,
            "fragment-strip" => Normalizer::FragmentStrip,
            "path-merge-slashes" => Normalizer::PathMergeSlashes,
            "path-strip-dot" => Normalizer::PathStripDot,
            "path-strip-dotdot" => Normalizer::PathStripDotdot {
                full: flag("full")?,
            },
            "percent-decode-unreserved" => Normalizer::PercentDecodeUnreserved {
                strict: flag("strict")?,
            },
            "percent-to-uppercase" => Normalizer::PercentToUppercase {
                strict: flag("strict")?,
            },
            "query-sort-by-name" => Normalizer::QuerySortByName,
            other => {
                return Err(Problem::syntax(format!(
                    "unknown normalizer '{other}' (expects fragment-encode, fragment-strip, \
                     path-merge-slashes, path-strip-dot, path-strip-dotdot, \
                     percent-decode-unreserved, percent-to-uppercase or query-sort-by-name)"
                )))
            }
        };
        let takes_option = matches!(
            normalizer,
            Normalizer::PathStripDotdot { .. }
                | Normalizer::PercentDecodeUnreserved { .. }
                | Normalizer::PercentToUppercase { .. }
        );
        let extra = if takes_option { 2 } else { 1 };
        if let Some(word) = args.get(extra) {
            return Err(Problem::syntax(format!(
                "unexpected '{word}' after '{name}'"
            )));
        }
        Ok(normalizer)
    }

    /// The normalized request target, `Ok(None)` when it does not change.
    pub fn apply(self, target: &[u8]) -> Result<Option<Vec<u8>>, InvalidUri> {
        let Some(start) = path_start(target) else {
            return Ok(None);
        };
        let (prefix, rest) = target.split_at(start);
        let query_at = rest.iter().position(|&b| b == b'?').unwrap_or(rest.len());
        let (path, query) = rest.split_at(query_at);
        let mut out = Vec::with_capacity(target.len() + 8);
        out.extend_from_slice(prefix);
        match self {
            Normalizer::FragmentEncode => {
                for &b in rest {
                    match b {
                        b'#' => out.extend_from_slice(b"%23"),
                        _ => out.push(b),
                    }
                }
            }
            Normalizer::FragmentStrip => {
                let end = rest.iter().position(|&b| b == b'#').unwrap_or(rest.len());
                out.extend_from_slice(&rest[..end]);
            }
            Normalizer::PathMergeSlashes => {
                for &b in path {
                    if !(b == b'/' && out.last() == Some(&b'/') && out.len() > prefix.len()) {
                        out.push(b);
                    }
                }
                out.extend_from_slice(query);
            }
            Normalizer::PathStripDot => {
                join_segments(&mut out, strip_dot(path));
                out.extend_from_slice(query);
            }
            Normalizer::PathStripDotdot { full } => {
                join_segments(&mut out, strip_dotdot(path, full));
                out.extend_from_slice(query);
            }
            Normalizer::PercentDecodeUnreserved { strict } => {
                percent_decode_unreserved(rest, strict, &mut out)?
            }
            Normalizer::PercentToUppercase { strict } => {
                percent_to_uppercase(rest, strict, &mut out)?
            }
            Normalizer::QuerySortByName => {
                out.extend_from_slice(path);
                if let Some(q) = query.strip_prefix(b"?") {
                    out.push(b'?');
                    sort_query(q, &mut out);
                }
            }
        }
        Ok((out != target).then_some(out))
    }
}

/// Where the path starts: at the first `/` of an origin-form target, after the authority
/// of an absolute one; `None` without a path (`*`, `host:port`).
fn path_start(target: &[u8]) -> Option<usize> {
    if target.first() == Some(&b'/') {
        return Some(0);
    }
    let scheme_end = target.windows(3).position(|w| w == b"://")? + 3;
    let after = target.get(scheme_end..)?;
    let slash = after.iter().position(|&b| b == b'/' || b == b'?')?;
    (after.get(slash) == Some(&b'/')).then_some(scheme_end + slash)
}

/// The segments of `path` after its leading `/`.
fn segments(path: &[u8]) -> impl Iterator<Item = &[u8]> {
    path.strip_prefix(b"/")
        .unwrap_or(path)
        .split(|&b| b == b'/')
}

/// Writes `/` then the segments joined with `/`.
fn join_segments(out: &mut Vec<u8>, segments: Vec<&[u8]>) {
    out.push(b'/');
    for (i, s) in segments.iter().enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(s);
    }
}

fn strip_dot(path: &[u8]) -> Vec<&[u8]> {
    let all: Vec<&[u8]> = segments(path).collect();
    let mut kept: Vec<&[u8]> = Vec::with_capacity(all.len());
    for (i, seg) in all.iter().enumerate() {
        if *seg == b"." {
            // A last `.` leaves the directory it names: `/a/.` is `/a/`.
            if i + 1 == all.len() {
                kept.push(b"");
            }
            continue;
        }
        kept.push(seg);
    }
    kept
}

fn strip_dotdot(path: &[u8], full: bool) -> Vec<&[u8]> {
    let all: Vec<&[u8]> = segments(path).collect();
    let mut kept: Vec<&[u8]> = Vec::with_capacity(all.len());
    for (i, seg) in all.iter().enumerate() {
        if *seg != b".." {
            kept.push(seg);
            continue;
        }
        let removed = match kept.last() {
            Some(prev) if *prev != b".." => {
                kept.pop();
                true
            }
            // Nothing left to go up from.
            _ if full => true,
            _ => {
                kept.push(seg);
                false
            }
        };
        // A last `..` names a directory: `/a/b/..` is `/a/`.
        if removed && i + 1 == all.len() {
            kept.push(b"");
        }
    }
    kept
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The byte `%XX` at the start of `rest` encodes, when it is a valid sequence.
fn percent_at(rest: &[u8]) -> Option<u8> {
    match rest {
        [b'%', h, l, ..] => Some(hex_value(*h)? << 4 | hex_value(*l)?),
        _ => None,
    }
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn percent_decode_unreserved(
    input: &[u8],
    strict: bool,
    out: &mut Vec<u8>,
) -> Result<(), InvalidUri> {
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        if b != b'%' {
            out.push(b);
            i += 1;
            continue;
        }
        match percent_at(&input[i..]) {
            Some(decoded) if is_unreserved(decoded) => {
                out.push(decoded);
                i += 3;
            }
            Some(_) => {
                out.extend_from_slice(&input[i..i + 3]);
                i += 3;
            }
            None if strict => return Err(InvalidUri),
            // A bare `%` stays, and what follows it is read on its own.
            None => {
                out.push(b);
                i += 1;
            }
        }
    }
    Ok(())
}

fn percent_to_uppercase(input: &[u8], strict: bool, out: &mut Vec<u8>) -> Result<(), InvalidUri> {
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        if b != b'%' {
            out.push(b);
            i += 1;
            continue;
        }
        match percent_at(&input[i..]) {
            Some(_) => {
                out.push(b'%');
                out.extend(input[i + 1..i + 3].iter().map(u8::to_ascii_uppercase));
                i += 3;
            }
            None if strict => return Err(InvalidUri),
            None => {
                out.push(b);
                i += 1;
            }
        }
    }
    Ok(())
}

fn sort_query(query: &[u8], out: &mut Vec<u8>) {
    let mut params: Vec<&[u8]> = query.split(|&b| b == b'&').collect();
    let name = |p: &[u8]| -> usize { p.iter().position(|&b| b == b'=').unwrap_or(p.len()) };
    // A stable sort: parameters of the same name keep their order.
    params.sort_by(|a, b| a[..name(a)].cmp(&b[..name(b)]));
    for (i, p) in params.iter().enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        out.extend_from_slice(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(normalizer: Normalizer, target: &str) -> Result<String, InvalidUri> {
        let out = normalizer.apply(target.as_bytes())?;
        Ok(String::from_utf8_lossy(out.as_deref().unwrap_or(target.as_bytes())).into_owned())
    }

    fn ok(normalizer: Normalizer, target: &str) -> String {
        run(normalizer, target).unwrap_or_else(|_| panic!("{target} is valid"))
    }

    #[test]
    fn parses_normalizers_and_their_options() {
        let parse = |words: &[&str]| {
            Normalizer::parse(&words.iter().map(|w| w.to_string()).collect::<Vec<_>>())
        };
        assert_eq!(
            parse(&["path-strip-dotdot", "full"]).ok(),
            Some(Normalizer::PathStripDotdot { full: true })
        );
        assert_eq!(
            parse(&["percent-to-uppercase"]).ok(),
            Some(Normalizer::PercentToUppercase { strict: false })
        );
        assert!(parse(&["percent-to-uppercase", "full"]).is_err());
        assert!(parse(&["query-sort-by-name", "strict"]).is_err());
        assert!(parse(&["lowercase"]).is_err());
        assert!(parse(&[]).is_err());
    }

    #[test]
    fn merges_slashes_in_the_path_only() {
        let n = Normalizer::PathMergeSlashes;
        assert_eq!(ok(n, "/foo//bar"), "/foo/bar");
        assert_eq!(ok(n, "///foo///bar///"), "/foo/bar/");
        assert_eq!(ok(n, "///"), "/");
        assert_eq!(ok(n, "//foo?bar=///"), "/foo?bar=///");
        assert_eq!(ok(n, "http://h//a//b"), "http://h/a/b");
        assert_eq!(ok(n, "*"), "*");
    }

    #[test]
    fn strips_dot_segments() {
        let n = Normalizer::PathStripDot;
        for (from, to) in [
            ("/", "/"),
            ("/.", "/"),
            ("/./", "/"),
            ("/a/.", "/a/"),
            ("/a.", "/a."),
            ("/.a", "/.a"),
            ("/a/./a", "/a/a"),
            ("/a/../", "/a/../"),
            ("/?a=/./", "/?a=/./"),
        ] {
            assert_eq!(ok(n, from), to, "{from}");
        }
    }

    #[test]
    fn strips_dotdot_segments() {
        let n = Normalizer::PathStripDotdot { full: false };
        let full = Normalizer::PathStripDotdot { full: true };
        for (from, to, to_full) in [
            ("/foo/bar", "/foo/bar", "/foo/bar"),
            ("/foo/..", "/", "/"),
            ("/foo/bar/../", "/foo/", "/foo/"),
            ("/foo/../bar", "/bar", "/bar"),
            ("/foo/../../bar/", "/../bar/", "/bar/"),
            ("/foo//../../bar/", "/bar/", "/bar/"),
            ("/bar/../../", "/../", "/"),
            ("/foo/../?bar=/foo/../", "/?bar=/foo/../", "/?bar=/foo/../"),
            ("/foo/%2E%2E/", "/foo/%2E%2E/", "/foo/%2E%2E/"),
        ] {
            assert_eq!(ok(n, from), to, "{from}");
            assert_eq!(ok(full, from), to_full, "{from} (full)");
        }
    }

    #[test]
    fn decodes_unreserved_characters() {
        let n = Normalizer::PercentDecodeUnreserved { strict: false };
        let strict = Normalizer::PercentDecodeUnreserved { strict: true };
        assert_eq!(ok(n, "/%61?%61=%61"), "/a?a=a");
        assert_eq!(ok(n, "/%3F?foo=bar"), "/%3F?foo=bar");
        assert_eq!(ok(n, "/%%36%36"), "/%66");
        assert_eq!(ok(n, "/%ZZ"), "/%ZZ");
        assert_eq!(run(strict, "/%%36%36"), Err(InvalidUri));
        assert_eq!(run(strict, "/%7e"), Ok("/~".into()));
    }

    #[test]
    fn uppercases_percent_sequences() {
        let n = Normalizer::PercentToUppercase { strict: false };
        let strict = Normalizer::PercentToUppercase { strict: true };
        assert_eq!(ok(n, "/%aa?a=%aa"), "/%AA?a=%AA");
        assert_eq!(ok(n, "/%zz?a=%zz"), "/%zz?a=%zz");
        assert_eq!(run(strict, "/%zz"), Err(InvalidUri));
        assert_eq!(run(strict, "/%2"), Err(InvalidUri));
    }

    #[test]
    fn sorts_query_parameters_by_name() {
        let n = Normalizer::QuerySortByName;
        for (from, to) in [
            ("/?z=z&a=a", "/?a=a&z=z"),
            ("/?c&b&a&z&x&y", "/?a&b&c&x&y&z"),
            ("/?aaaa=&a=&aa=&aaa=", "/?a=&aa=&aaa=&aaaa="),
            ("/?a=5&b=3&a=1&a=2&b=4", "/?a=5&a=1&a=2&b=3&b=4"),
            ("/", "/"),
            ("/?", "/?"),
        ] {
            assert_eq!(ok(n, from), to, "{from}");
        }
    }

    #[test]
    fn encodes_or_strips_fragments() {
        assert_eq!(ok(Normalizer::FragmentStrip, "/#foo"), "/");
        assert_eq!(ok(Normalizer::FragmentStrip, "/%23foo"), "/%23foo");
        assert_eq!(
            ok(Normalizer::FragmentEncode, "/#foo/#foo"),
            "/%23foo/%23foo"
        );
        assert_eq!(ok(Normalizer::FragmentEncode, "*"), "*");
    }
}
