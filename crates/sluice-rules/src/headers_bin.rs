//! `add-headers-bin`, `set-headers-bin` and `del-headers-bin`: header fields given as a
//! binary list, the format `req.hdrs_bin` produces: for each field its name then its value,
//! each a SPOE variable-length integer length followed by the bytes, the list ending with an
//! empty name and an empty value.

/// A variable-length integer at the start of `input`: the value and the rest.
fn varint(input: &[u8]) -> Option<(u64, &[u8])> {
    let (value, used) = crate::varint::get(input).ok()?;
    Some((value, input.get(used..)?))
}

fn string(input: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = varint(input)?;
    let len = usize::try_from(len).ok()?;
    Some((rest.get(..len)?, rest.get(len..)?))
}

/// The (name, value) pairs of a list, up to its end marker (or the end of the bytes); `None`
/// when the list is malformed.
pub(crate) fn decode(mut input: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    let mut fields = Vec::new();
    while !input.is_empty() {
        let (name, rest) = string(input)?;
        let (value, rest) = string(rest)?;
        input = rest;
        if name.is_empty() && value.is_empty() {
            break;
        }
        fields.push((name, value));
    }
    Some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_short_and_long_lengths() {
        assert_eq!(varint(&[3]), Some((3, &[][..])));
        // 240 + 16 * 1 = 256, written as 0xf0 0x01.
        assert_eq!(varint(&[0xf0, 0x01]), Some((256, &[][..])));
        assert_eq!(varint(&[0xf0]), None);
    }

    #[test]
    fn decodes_a_list_until_its_end_marker() {
        let list = b"\x03x-a\x011\x03x-b\x00\x00\x00\x03x-c\x013";
        assert_eq!(
            decode(list),
            Some(vec![(&b"x-a"[..], &b"1"[..]), (&b"x-b"[..], &b""[..])])
        );
        assert_eq!(decode(b"\x05x-a"), None);
        let mut long = vec![0xf0, 0x01];
        long.extend_from_slice(&[b'a'; 256]);
        long.extend_from_slice(b"\x00\x00\x00");
        assert_eq!(decode(&long).map(|f| f.len()), Some(1));
    }
}
