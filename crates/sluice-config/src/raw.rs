//! Configuration words are `String`s, but HAProxy reads its configuration as bytes: a `\xE0`
//! escape, or a Latin-1 byte in the file, is one byte that is not UTF-8 on its own. The lexer
//! keeps each such byte as a code point of the last private-use block (U+10FF00 plus the
//! byte) instead of a replacement character, and the places that need the bytes themselves
//! (string arguments of sample fetches and converters, the text of log-format strings) turn
//! those code points back into the bytes with [`bytes_of`].

use std::borrow::Cow;

/// The first code point of the block that carries raw bytes.
const RAW_BASE: u32 = 0x10_FF00;

/// `bytes` as text: UTF-8 as it is, each byte outside a valid sequence as its code point in
/// the raw block.
pub fn text_of(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let bytes = e.into_bytes();
            let mut out = String::with_capacity(bytes.len() + 8);
            for chunk in bytes.utf8_chunks() {
                out.push_str(chunk.valid());
                for &b in chunk.invalid() {
                    out.push(char::from_u32(RAW_BASE + u32::from(b)).unwrap_or('\u{FFFD}'));
                }
            }
            out
        }
    }
}

/// The bytes `text` stands for: its UTF-8, with each code point of the raw block (see
/// [`text_of`]) turned back into its byte.
pub fn bytes_of(text: &str) -> Cow<'_, [u8]> {
    if !text.chars().any(is_raw) {
        return Cow::Borrowed(text.as_bytes());
    }
    let mut out = Vec::with_capacity(text.len());
    let mut utf8 = [0u8; 4];
    for c in text.chars() {
        if is_raw(c) {
            out.push(u8::try_from(u32::from(c) - RAW_BASE).unwrap_or(b'?'));
        } else {
            out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
        }
    }
    Cow::Owned(out)
}

/// [`bytes_of`] on UTF-8 bytes (a part of a word).
pub fn bytes_of_utf8(text: &[u8]) -> Cow<'_, [u8]> {
    match std::str::from_utf8(text) {
        Ok(t) => bytes_of(t),
        Err(_) => Cow::Borrowed(text),
    }
}

fn is_raw(c: char) -> bool {
    u32::from(c) >= RAW_BASE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_outside_utf8_come_back_as_they_were() {
        for bytes in [
            &b"plain"[..],
            "caf\u{e9}".as_bytes(),
            b"\xe0",
            b"-\xe0-",
            b"\xff\xfe a \xc3",
        ] {
            let text = text_of(bytes.to_vec());
            assert_eq!(&bytes_of(&text)[..], bytes, "{text:?}");
        }
        assert_eq!(text_of(b"ok".to_vec()), "ok");
        assert!(matches!(bytes_of("ok"), Cow::Borrowed(_)));
    }
}
