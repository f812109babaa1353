//! `json_query(<json_path>[,<output_type>])`: one value out of a JSON document, found by a
//! path of `.name` and `[index]` steps after `$` (a `\.` keeps a dot in a name).
//!
//! The scanner reads only what the path needs and never trusts the input: any malformed
//! part on the way makes the converter fail.

use super::{Arg, Value};
use crate::message::SampleSource;
use std::borrow::Cow;

type Out<'a> = Option<Value<'a>>;

/// One step of a path.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    Key(Vec<u8>),
    Index(usize),
}

/// Parses `$.a.b[2]`; `None` when it is not such a path.
fn parse_path(path: &[u8]) -> Option<Vec<Step>> {
    let mut rest = path.strip_prefix(b"$")?;
    let mut steps = Vec::new();
    while let Some(&c) = rest.first() {
        match c {
            b'.' => {
                let mut key = Vec::new();
                let mut i = 1;
                while let Some(&b) = rest.get(i) {
                    match b {
                        b'\\' => {
                            key.push(*rest.get(i + 1)?);
                            i += 2;
                        }
                        b'.' | b'[' => break,
                        _ => {
                            key.push(b);
                            i += 1;
                        }
                    }
                }
                if key.is_empty() {
                    return None;
                }
                steps.push(Step::Key(key));
                rest = rest.get(i..)?;
            }
            b'[' => {
                let end = rest.iter().position(|&b| b == b']')?;
                let n = std::str::from_utf8(rest.get(1..end)?).ok()?.parse().ok()?;
                steps.push(Step::Index(n));
                rest = rest.get(end + 1..)?;
            }
            _ => return None,
        }
    }
    Some(steps)
}

/// Checks the path and the output type when the configuration is loaded.
pub(crate) fn prepare_json_query(args: &mut [Arg]) -> Result<(), String> {
    let path = args.first().and_then(Arg::bytes).unwrap_or_default();
    if parse_path(path).is_none() {
        return Err(format!(
            "'json_query': '{}' is not a JSON path ('$' followed by '.name' and '[index]' steps)",
            String::from_utf8_lossy(path)
        ));
    }
    match args.get(1).and_then(Arg::bytes) {
        None | Some(b"") | Some(b"int") => Ok(()),
        Some(other) => Err(format!(
            "'json_query': unknown output type '{}' (only 'int' is supported)",
            String::from_utf8_lossy(other)
        )),
    }
}

fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while s
        .get(i)
        .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
    {
        i += 1;
    }
    i
}

/// The end (exclusive) of the string whose opening quote is at `i`.
fn string_end(s: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    loop {
        match *s.get(j)? {
            b'"' => return Some(j + 1),
            b'\\' => j += 2,
            _ => j += 1,
        }
    }
}

/// The end (exclusive) of the value starting at `i` (after blanks).
fn value_end(s: &[u8], i: usize, depth: u32) -> Option<usize> {
    if depth > 64 {
        return None;
    }
    let i = skip_ws(s, i);
    match *s.get(i)? {
        b'"' => string_end(s, i),
        b'{' | b'[' => {
            let close = if s.get(i) == Some(&b'{') { b'}' } else { b']' };
            let mut j = skip_ws(s, i + 1);
            if s.get(j) == Some(&close) {
                return Some(j + 1);
            }
            loop {
                if close == b'}' {
                    j = skip_ws(s, string_end(s, skip_ws(s, j))?);
                    if s.get(j) != Some(&b':') {
                        return None;
                    }
                    j += 1;
                }
                j = skip_ws(s, value_end(s, j, depth + 1)?);
                match *s.get(j)? {
                    b',' => j += 1,
                    c if c == close => return Some(j + 1),
                    _ => return None,
                }
            }
        }
        _ => {
            let len = s
                .get(i..)?
                .iter()
                .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.')))
                .unwrap_or(s.len() - i);
            (len > 0).then_some(i + len)
        }
    }
}

/// Decodes a JSON string token (quotes included); `None` on a bad escape.
fn unescape(tok: &[u8]) -> Option<Vec<u8>> {
    let inner = tok.get(1..tok.len().checked_sub(1)?)?;
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    while let Some(&b) = inner.get(i) {
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        let e = *inner.get(i + 1)?;
        i += 2;
        let c = match e {
            b'"' | b'\\' | b'/' => e,
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let hex = std::str::from_utf8(inner.get(i..i + 4)?).ok()?;
                let mut cp = u32::from_str_radix(hex, 16).ok()?;
                i += 4;
                // A surrogate pair makes one code point.
                if (0xd800..0xdc00).contains(&cp) && inner.get(i..i + 2) == Some(b"\\u") {
                    let low = std::str::from_utf8(inner.get(i + 2..i + 6)?).ok()?;
                    let low = u32::from_str_radix(low, 16).ok()?;
                    if (0xdc00..0xe000).contains(&low) {
                        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
                        i += 6;
                    }
                }
                let ch = char::from_u32(cp).unwrap_or('\u{fffd}');
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                continue;
            }
            _ => return None,
        };
        out.push(c);
    }
    Some(out)
}

/// The span of the value at the end of `steps`, in the document `s`.
fn find<'s>(s: &'s [u8], steps: &[Step]) -> Option<&'s [u8]> {
    let mut start = skip_ws(s, 0);
    for step in steps {
        let open = *s.get(start)?;
        let mut j = skip_ws(s, start + 1);
        let mut found = None;
        let mut index = 0usize;
        let close = match (step, open) {
            (Step::Key(_), b'{') => b'}',
            (Step::Index(_), b'[') => b']',
            _ => return None,
        };
        if s.get(j) != Some(&close) {
            loop {
                let matches_here = match step {
                    Step::Key(want) => {
                        let k_end = string_end(s, j)?;
                        let key = unescape(s.get(j..k_end)?)?;
                        j = skip_ws(s, k_end);
                        if s.get(j) != Some(&b':') {
                            return None;
                        }
                        j = skip_ws(s, j + 1);
                        key == *want
                    }
                    Step::Index(n) => {
                        index += 1;
                        index - 1 == *n
                    }
                };
                if matches_here {
                    found = Some(j);
                    break;
                }
                j = skip_ws(s, value_end(s, j, 0)?);
                match *s.get(j)? {
                    b',' => j = skip_ws(s, j + 1),
                    c if c == close => break,
                    _ => return None,
                }
            }
        }
        start = found?;
    }
    let end = value_end(s, start, 0)?;
    s.get(start..end)
}

/// `json_query`: strings unescaped, numbers as text (or integers with `int`), booleans,
/// arrays as their JSON text; objects and `null` give nothing.
pub(crate) fn json_query<'a>(args: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    let steps = parse_path(args.first()?.bytes()?)?;
    let as_int = args.get(1).and_then(Arg::bytes) == Some(&b"int"[..]);
    let doc = v.as_bytes()?;
    let tok = find(doc, &steps)?;
    match *tok.first()? {
        b'"' if !as_int => unescape(tok).map(|s| Value::Str(Cow::Owned(s))),
        b'[' if !as_int => Some(Value::Str(Cow::Owned(tok.to_vec()))),
        b't' if tok == b"true" => Some(Value::Bool(true)),
        b'f' if tok == b"false" => Some(Value::Bool(false)),
        b'-' | b'0'..=b'9' => {
            let text = std::str::from_utf8(tok).ok()?;
            if as_int {
                match text.parse::<i64>() {
                    Ok(i) => Some(Value::Sint(i)),
                    // A fractional or exponent form: its integer part, if it fits.
                    Err(_) => {
                        let f = text.parse::<f64>().ok()?;
                        (f.is_finite() && f.abs() < 9.2e18).then(|| Value::Sint(f.trunc() as i64))
                    }
                }
            } else {
                text.parse::<f64>()
                    .ok()
                    .map(|_| Value::Str(Cow::Owned(tok.to_vec())))
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(doc: &str, path: &str) -> Option<Vec<u8>> {
        let steps = parse_path(path.as_bytes())?;
        find(doc.as_bytes(), &steps).map(<[u8]>::to_vec)
    }

    #[test]
    fn paths() {
        assert_eq!(
            parse_path(b"$.a\\.b[2].c"),
            Some(vec![
                Step::Key(b"a.b".to_vec()),
                Step::Index(2),
                Step::Key(b"c".to_vec())
            ])
        );
        assert_eq!(parse_path(b"a.b"), None);
        assert_eq!(parse_path(b"$."), None);
    }

    #[test]
    fn finds_nested_values() {
        let doc = r#" {"a": {"b": [1, {"c": "x"}, [2,3]]}, "d\u0041": true} "#;
        assert_eq!(q(doc, "$.a.b[1].c"), Some(b"\"x\"".to_vec()));
        assert_eq!(q(doc, "$.a.b[2]"), Some(b"[2,3]".to_vec()));
        assert_eq!(q(doc, "$.dA"), Some(b"true".to_vec()));
        assert_eq!(q(doc, "$.a.b[3]"), None);
        assert_eq!(q(r#"{"a": [1, }"#, "$.b"), None);
    }

    #[test]
    fn strings_are_unescaped() {
        assert_eq!(
            unescape(br#""a\"b\u00e9\u0000c""#),
            Some(b"a\"b\xc3\xa9\0c".to_vec())
        );
        assert_eq!(unescape(br#""\q""#), None);
    }
}
