//! A streaming, zero-copy reader of chunked bodies (RFC 9112 §7.1): it says which input
//! bytes are payload and where the body ends, never copies, and refuses anything that two
//! implementations could read differently.
//!
//! Refused: a chunk-size that is empty, not hex or above 64 bits; a control character in a
//! chunk extension; a chunk-size line longer than [`MAX_CHUNK_LINE`]; chunk data not
//! followed by CRLF; a bare LF or a CR without LF anywhere; a malformed trailer field (not
//! `token ":" value`, folded, or with a control character); trailers larger than the limit.
//! HAProxy accepts a bare LF as the end of a chunk-size line or of chunk data; Sluice does
//! not, since that difference is what chunk-based smuggling relies on.

use crate::error::{Error, ErrorKind};
use crate::validate::{is_tchar, is_value_byte};

/// Longest chunk-size line accepted (size, extensions, CRLF).
pub const MAX_CHUNK_LINE: usize = 4096;

/// One step of decoding: `input[..consumed]` has been read; `input[data]` (inside it) is
/// payload; `done` means the body ended exactly at `consumed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// Bytes of the input read by this step.
    pub consumed: usize,
    /// The payload bytes among them (possibly empty).
    pub data: std::ops::Range<usize>,
    /// The last chunk and the trailers have been read: the bytes after `consumed` belong to
    /// the next message.
    pub done: bool,
}

/// What [`ChunkedDecoder::forward`] found: the first `len` input bytes belong to the body and
/// can be relayed as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forward {
    /// Body bytes at the start of the input (framing included).
    pub len: usize,
    /// The body ends after these `len` bytes.
    pub done: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    SizeStart,
    Size(u64),
    SizeSpace(u64),
    Extension(u64),
    SizeLf(u64),
    Data(u64),
    DataCr,
    DataLf,
    TrailerStart,
    TrailerName,
    TrailerValue,
    TrailerLf,
    EndLf,
    Done,
    Failed(Error),
}

/// The state of one chunked body. Create one per message; feed it the body bytes in order,
/// split anywhere.
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: State,
    /// Body bytes read so far, for error offsets.
    pos: u64,
    line_len: usize,
    trailer_len: usize,
    max_trailers: usize,
    /// The body offsets of the trailer fields read so far (one run: they end where the
    /// final empty line starts), for [`ChunkedDecoder::forward_dropping_trailers`].
    fields: Option<(u64, u64)>,
    /// The trailer fields are not relayed (see [`ChunkedDecoder::drop_trailers`]).
    drop_trailers: bool,
}

impl Default for ChunkedDecoder {
    fn default() -> ChunkedDecoder {
        ChunkedDecoder::new()
    }
}

impl ChunkedDecoder {
    /// A decoder at the start of a body, accepting trailers up to 15360 bytes (the default
    /// head limit).
    pub fn new() -> ChunkedDecoder {
        ChunkedDecoder::with_max_trailers(15360)
    }

    /// A decoder accepting at most `max` bytes of trailer section.
    pub fn with_max_trailers(max: usize) -> ChunkedDecoder {
        ChunkedDecoder {
            state: State::SizeStart,
            pos: 0,
            line_len: 0,
            trailer_len: 0,
            max_trailers: max,
            fields: None,
            drop_trailers: false,
        }
    }

    /// This decoder, for a body whose trailer fields are not relayed when `drop` (`option
    /// http-drop-request-trailers`...): the relay asks [`drops_trailers`](Self::drops_trailers)
    /// and uses [`forward_dropping_trailers`](Self::forward_dropping_trailers).
    pub fn drop_trailers(mut self, drop: bool) -> ChunkedDecoder {
        self.drop_trailers = drop;
        self
    }

    /// Whether the trailer fields of this body are not relayed.
    pub fn drops_trailers(&self) -> bool {
        self.drop_trailers
    }

    /// Whether the whole body has been read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Reads framing bytes and at most one run of payload from the start of `input`.
    ///
    /// Call again with `input[consumed..]` until `done`; when `consumed == input.len()` and
    /// not `done`, wait for more bytes. Each call on non-empty input consumes at least one
    /// byte unless the body is done. After an error every call returns the same error.
    pub fn decode(&mut self, input: &[u8]) -> Result<Decoded, Error> {
        let mut i = 0;
        loop {
            if let State::Failed(e) = self.state {
                return Err(e);
            }
            if self.state == State::Done {
                return Ok(Decoded {
                    consumed: i,
                    data: i..i,
                    done: true,
                });
            }
            if let State::Data(remaining) = self.state {
                let avail = input.len().saturating_sub(i);
                let take = usize::try_from(remaining).unwrap_or(usize::MAX).min(avail);
                if take == 0 {
                    return Ok(Decoded {
                        consumed: i,
                        data: i..i,
                        done: false,
                    });
                }
                let left = remaining - take as u64;
                self.state = if left == 0 {
                    State::DataCr
                } else {
                    State::Data(left)
                };
                self.pos += take as u64;
                return Ok(Decoded {
                    consumed: i + take,
                    data: i..i + take,
                    done: false,
                });
            }
            let Some(&b) = input.get(i) else {
                return Ok(Decoded {
                    consumed: i,
                    data: i..i,
                    done: false,
                });
            };
            let field = match self.state {
                State::TrailerStart => b != b'\r',
                State::TrailerName | State::TrailerValue | State::TrailerLf => true,
                _ => false,
            };
            if field {
                let start = self.fields.map_or(self.pos, |(s, _)| s);
                self.fields = Some((start, self.pos + 1));
            }
            if let Err(kind) = self.step(b) {
                let e = Error::new(kind, usize::try_from(self.pos).unwrap_or(usize::MAX));
                self.state = State::Failed(e);
                return Err(e);
            }
            self.pos += 1;
            i += 1;
        }
    }

    /// Finds how many bytes at the start of `input` belong to the body, to relay them as
    /// they are (chunk framing included) without decoding into a copy.
    pub fn forward(&mut self, input: &[u8]) -> Result<Forward, Error> {
        let mut len = 0;
        loop {
            let rest = input.get(len..).unwrap_or_default();
            let d = self.decode(rest)?;
            len += d.consumed;
            if d.done || d.consumed == 0 {
                return Ok(Forward { len, done: d.done });
            }
        }
    }

    /// [`forward`](Self::forward) for a body whose trailer fields are not relayed (`option
    /// http-drop-request-trailers`...): also the positions in `input` of the trailer field
    /// bytes among the first `len` (empty when there are none there). The last chunk and
    /// the final empty line stay, so the body is still well framed without them.
    pub fn forward_dropping_trailers(
        &mut self,
        input: &[u8],
    ) -> Result<(Forward, std::ops::Range<usize>), Error> {
        let base = self.pos;
        let f = self.forward(input)?;
        let end = base + f.len as u64;
        let skip = match self.fields {
            Some((s, e)) if e > base && s < end => {
                let from = usize::try_from(s.max(base) - base).unwrap_or(0);
                let to = usize::try_from(e.min(end) - base).unwrap_or(f.len);
                from..to
            }
            _ => 0..0,
        };
        Ok((f, skip))
    }

    /// Advances over one framing byte.
    fn step(&mut self, b: u8) -> Result<(), ErrorKind> {
        use State::*;
        self.state = match self.state {
            SizeStart => {
                self.line_len = 1;
                Size(hex(b).ok_or(ErrorKind::InvalidChunkSize)?)
            }
            Size(n) => {
                self.line()?;
                match (b, hex(b)) {
                    (_, Some(d)) => {
                        let n = n
                            .checked_mul(16)
                            .and_then(|n| n.checked_add(d))
                            .ok_or(ErrorKind::ChunkSizeOverflow)?;
                        Size(n)
                    }
                    (b' ' | b'\t', _) => SizeSpace(n),
                    (b';', _) => Extension(n),
                    (b'\r', _) => SizeLf(n),
                    (b'\n', _) => return Err(ErrorKind::BareLf),
                    _ => return Err(ErrorKind::InvalidChunkSize),
                }
            }
            SizeSpace(n) => {
                self.line()?;
                match b {
                    b' ' | b'\t' => SizeSpace(n),
                    b';' => Extension(n),
                    b'\r' => SizeLf(n),
                    b'\n' => return Err(ErrorKind::BareLf),
                    _ => return Err(ErrorKind::InvalidChunkSize),
                }
            }
            Extension(n) => {
                self.line()?;
                match b {
                    b'\r' => SizeLf(n),
                    b'\n' => return Err(ErrorKind::BareLf),
                    b if is_value_byte(b) => Extension(n),
                    _ => return Err(ErrorKind::InvalidChunkExtension),
                }
            }
            SizeLf(n) => match b {
                b'\n' if n == 0 => TrailerStart,
                b'\n' => Data(n),
                _ => return Err(ErrorKind::InvalidLineEnding),
            },
            DataCr => match b {
                b'\r' => DataLf,
                b'\n' => return Err(ErrorKind::BareLf),
                _ => return Err(ErrorKind::MissingChunkCrlf),
            },
            DataLf => match b {
                b'\n' => SizeStart,
                _ => return Err(ErrorKind::InvalidLineEnding),
            },
            TrailerStart => {
                self.trailer()?;
                match b {
                    b'\r' => EndLf,
                    b'\n' => return Err(ErrorKind::BareLf),
                    b if is_tchar(b) => TrailerName,
                    _ => return Err(ErrorKind::InvalidTrailer),
                }
            }
            TrailerName => {
                self.trailer()?;
                match b {
                    b':' => TrailerValue,
                    b if is_tchar(b) => TrailerName,
                    _ => return Err(ErrorKind::InvalidTrailer),
                }
            }
            TrailerValue => {
                self.trailer()?;
                match b {
                    b'\r' => TrailerLf,
                    b'\n' => return Err(ErrorKind::BareLf),
                    b if is_value_byte(b) => TrailerValue,
                    _ => return Err(ErrorKind::InvalidTrailer),
                }
            }
            TrailerLf => {
                self.trailer()?;
                match b {
                    b'\n' => TrailerStart,
                    _ => return Err(ErrorKind::InvalidLineEnding),
                }
            }
            EndLf => match b {
                b'\n' => Done,
                _ => return Err(ErrorKind::InvalidLineEnding),
            },
            // decode() never steps in these states
            Data(_) | Done | Failed(_) => self.state,
        };
        Ok(())
    }

    fn line(&mut self) -> Result<(), ErrorKind> {
        self.line_len += 1;
        if self.line_len > MAX_CHUNK_LINE {
            return Err(ErrorKind::ChunkLineTooLong);
        }
        Ok(())
    }

    fn trailer(&mut self) -> Result<(), ErrorKind> {
        self.trailer_len += 1;
        if self.trailer_len > self.max_trailers {
            return Err(ErrorKind::TrailersTooLarge);
        }
        Ok(())
    }
}

fn hex(b: u8) -> Option<u64> {
    char::from(b).to_digit(16).map(u64::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `input` in one go: the payload and the bytes used, or the error kind.
    fn decode_all(input: &[u8]) -> Result<(Vec<u8>, usize, bool), ErrorKind> {
        let mut d = ChunkedDecoder::new();
        let mut out = Vec::new();
        let mut pos = 0;
        loop {
            let rest = &input[pos..];
            let s = d.decode(rest).map_err(|e| e.kind())?;
            out.extend_from_slice(&rest[s.data.clone()]);
            pos += s.consumed;
            if s.done || s.consumed == 0 {
                return Ok((out, pos, s.done));
            }
        }
    }

    #[test]
    fn decodes_chunks_and_stops_at_the_end() {
        let body = b"4\r\nWiki\r\n5;name=\"v\"\r\npedia\r\n0\r\n\r\nGET / HTTP/1.1";
        let (out, used, done) = decode_all(body).unwrap();
        assert_eq!(out, b"Wikipedia");
        assert!(done);
        assert_eq!(&body[used..], b"GET / HTTP/1.1");
    }

    #[test]
    fn trailers_are_read() {
        let (out, _, done) = decode_all(b"1\r\na\r\n0\r\nX-Sum: 1\r\nY: 2\r\n\r\n").unwrap();
        assert_eq!(out, b"a");
        assert!(done);
    }

    #[test]
    fn size_may_be_followed_by_whitespace_and_has_leading_zeros() {
        let (out, _, done) = decode_all(b"0003 \r\nabc\r\n0\r\n\r\n").unwrap();
        assert_eq!(out, b"abc");
        assert!(done);
    }

    #[test]
    fn strict_errors() {
        let cases: &[(&[u8], ErrorKind)] = &[
            (b"4\nWiki\r\n0\r\n\r\n", ErrorKind::BareLf),
            (b"4\r\nWiki\n0\r\n\r\n", ErrorKind::BareLf),
            (b"4\r\nWiki\r\n0\r\n\n", ErrorKind::BareLf),
            (b"4\r\nWikiX\r\n", ErrorKind::MissingChunkCrlf),
            (b"g\r\n", ErrorKind::InvalidChunkSize),
            (b"\r\n", ErrorKind::InvalidChunkSize),
            (b" 4\r\n", ErrorKind::InvalidChunkSize),
            (b"-1\r\n", ErrorKind::InvalidChunkSize),
            (b"0x4\r\n", ErrorKind::InvalidChunkSize),
            (b"4 4\r\n", ErrorKind::InvalidChunkSize),
            (b"10000000000000000\r\n", ErrorKind::ChunkSizeOverflow),
            (b"4;a\0\r\n", ErrorKind::InvalidChunkExtension),
            (b"4\rX", ErrorKind::InvalidLineEnding),
            (b"0\r\nX : y\r\n\r\n", ErrorKind::InvalidTrailer),
            (b"0\r\n y\r\n\r\n", ErrorKind::InvalidTrailer),
            (b"0\r\nX: \x01\r\n\r\n", ErrorKind::InvalidTrailer),
        ];
        for (input, kind) in cases {
            assert_eq!(
                decode_all(input).map(|_| ()),
                Err(*kind),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn error_offset_counts_from_the_body_start() {
        let mut d = ChunkedDecoder::new();
        assert!(d.decode(b"4\r\nWi").is_ok());
        let e = d.forward(b"ki\r\nz\r\n").unwrap_err();
        assert_eq!((e.kind(), e.offset()), (ErrorKind::InvalidChunkSize, 9));
        // and it stays failed
        assert_eq!(d.decode(b"0\r\n\r\n"), Err(e));
    }

    #[test]
    fn the_largest_size_is_accepted() {
        let mut d = ChunkedDecoder::new();
        let f = d.forward(b"ffffffffffffffff\r\nabc").unwrap();
        assert_eq!(
            f,
            Forward {
                len: 21,
                done: false
            }
        );
    }

    #[test]
    fn trailer_fields_are_located_for_dropping() {
        let body = b"5\r\nhello\r\n0\r\nx-a: 1\r\nx-b: 2\r\n\r\nNEXT";
        let mut d = ChunkedDecoder::new();
        let (f, skip) = d.forward_dropping_trailers(body).expect("valid");
        assert!(f.done);
        assert_eq!(
            &body[..f.len],
            &b"5\r\nhello\r\n0\r\nx-a: 1\r\nx-b: 2\r\n\r\n"[..]
        );
        assert_eq!(&body[skip], &b"x-a: 1\r\nx-b: 2\r\n"[..]);

        // Split anywhere, each part says which of its bytes are trailer fields.
        for cut in 1..body.len() - 4 {
            let mut d = ChunkedDecoder::new();
            let mut kept = Vec::new();
            let (a, b) = body.split_at(cut);
            let (f, skip) = d.forward_dropping_trailers(a).expect("valid");
            kept.extend_from_slice(&a[..skip.start]);
            kept.extend_from_slice(&a[skip.end..f.len]);
            if !f.done {
                let (f, skip) = d.forward_dropping_trailers(b).expect("valid");
                kept.extend_from_slice(&b[..skip.start]);
                kept.extend_from_slice(&b[skip.end..f.len]);
            }
            assert_eq!(kept, b"5\r\nhello\r\n0\r\n\r\n", "cut at {cut}");
        }

        // Without trailers nothing is left out.
        let mut d = ChunkedDecoder::new();
        let (f, skip) = d.forward_dropping_trailers(b"0\r\n\r\n").expect("valid");
        assert!(f.done && skip.is_empty());
    }

    #[test]
    fn long_lines_and_trailers_are_refused() {
        let mut line = b"1;".to_vec();
        line.resize(MAX_CHUNK_LINE + 10, b'a');
        assert_eq!(
            decode_all(&line).map(|_| ()),
            Err(ErrorKind::ChunkLineTooLong)
        );
        let mut d = ChunkedDecoder::with_max_trailers(8);
        let e = d.forward(b"0\r\nX-Long: 123456\r\n\r\n").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TrailersTooLarge);
    }

    #[test]
    fn forward_covers_the_whole_body_and_no_more() {
        let mut d = ChunkedDecoder::new();
        let input = b"3\r\nabc\r\n0\r\n\r\nNEXT";
        assert_eq!(
            d.forward(input).unwrap(),
            Forward {
                len: 13,
                done: true
            }
        );
        assert!(d.is_done());
    }
}
