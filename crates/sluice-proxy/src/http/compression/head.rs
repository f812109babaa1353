//! Reading and editing a serialized HTTP/1 head (the one about to be sent, after the rules
//! edited it): its fields, and the header lines compression removes, replaces or adds.

/// The field lines of `head` as `(name, value)`, value trimmed, in order.
pub fn fields(head: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    head.split(|&b| b == b'\n')
        .skip(1)
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .take_while(|line| !line.is_empty())
        .filter_map(|line| {
            let colon = line.iter().position(|&b| b == b':')?;
            let name = line.get(..colon)?;
            let value = line.get(colon + 1..)?.trim_ascii();
            Some((name, value))
        })
}

/// The values of every `name` field of `head`.
pub fn values<'a>(head: &'a [u8], name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
    fields(head)
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
        .map(|(_, v)| v)
}

/// Rewrites `head`: `edit` sees each field line's name and value and says what becomes of
/// it; `added` lines go last, before the blank line.
pub fn rewrite(
    head: &mut Vec<u8>,
    mut edit: impl FnMut(&[u8], &[u8]) -> Line,
    added: &[(&str, &[u8])],
) {
    let mut out = Vec::with_capacity(head.len() + 64);
    let mut lines = head.split_inclusive(|&b| b == b'\n');
    if let Some(start) = lines.next() {
        out.extend_from_slice(start);
    }
    for line in lines {
        let bare = line.strip_suffix(b"\n").unwrap_or(line);
        let bare = bare.strip_suffix(b"\r").unwrap_or(bare);
        if bare.is_empty() {
            break;
        }
        let Some(colon) = bare.iter().position(|&b| b == b':') else {
            out.extend_from_slice(line);
            continue;
        };
        let name = bare.get(..colon).unwrap_or_default();
        let value = bare.get(colon + 1..).unwrap_or_default().trim_ascii();
        match edit(name, value) {
            Line::Keep => out.extend_from_slice(line),
            Line::Drop => {}
            Line::Value(v) => {
                out.extend_from_slice(name);
                out.extend_from_slice(b": ");
                out.extend_from_slice(&v);
                out.extend_from_slice(b"\r\n");
            }
        }
    }
    for (name, value) in added {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    *head = out;
}

/// What [`rewrite`] does with one field line.
pub enum Line {
    Keep,
    Drop,
    /// The same name with this value.
    Value(Vec<u8>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_read_and_lines_rewritten() {
        let mut head =
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nETag: \"x\"\r\nA: b\r\n\r\n".to_vec();
        let names: Vec<&[u8]> = fields(&head).map(|(n, _)| n).collect();
        assert_eq!(names, [&b"Content-Length"[..], b"ETag", b"A"]);
        rewrite(
            &mut head,
            |name, value| {
                if name.eq_ignore_ascii_case(b"content-length") {
                    Line::Drop
                } else if name.eq_ignore_ascii_case(b"etag") {
                    Line::Value([b"W/", value].concat())
                } else {
                    Line::Keep
                }
            },
            &[("Vary", b"Accept-Encoding")],
        );
        assert_eq!(
            head,
            b"HTTP/1.1 200 OK\r\nETag: W/\"x\"\r\nA: b\r\nVary: Accept-Encoding\r\n\r\n"
        );
    }
}
