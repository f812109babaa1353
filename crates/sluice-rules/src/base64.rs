//! Base64 (RFC 4648) for the `base64`/`b64dec` converters, HTTP `Basic` credentials and the
//! statistics page's `stats auth`.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard Base64 with `=` padding.
pub fn encode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]);
            } else {
                out.push(b'=');
            }
        }
    }
    out
}

/// Decodes Base64 with or without its padding; `url_safe` also takes `-` and `_` for `+` and
/// `/`. `None` on any other character.
pub fn decode(input: &[u8], url_safe: bool) -> Option<Vec<u8>> {
    let input = input
        .strip_suffix(b"==")
        .or_else(|| input.strip_suffix(b"="))
        .unwrap_or(input);
    let mut out = Vec::with_capacity(input.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in input {
        let d = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'-' if url_safe => 62,
            b'_' if url_safe => 63,
            _ => return None,
        };
        acc = acc << 6 | u32::from(d);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_alphabets() {
        for s in [
            &b""[..],
            b"a",
            b"ab",
            b"abc",
            b"admin:secret",
            b"\xff\xfe\x00",
        ] {
            assert_eq!(decode(&encode(s), false).as_deref(), Some(s));
        }
        assert_eq!(encode(b"a:"), b"YTo=");
        assert_eq!(decode(b"YTo", false).as_deref(), Some(&b"a:"[..]));
        assert_eq!(decode(b"-_8", false), None);
        assert_eq!(decode(b"-_8", true).as_deref(), Some(&b"\xfb\xff"[..]));
        assert_eq!(decode(b"!!", true), None);
    }
}
