//! What request and response heads share: byte spans into the caller's buffer, the header
//! list, the limits, and the scratch space lent to `httparse`.

use std::mem::{self, MaybeUninit};
use std::ops::Range;

use crate::error::Error;

/// The outcome of parsing a head from the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed {
    /// The head is not complete yet: read more bytes and parse the whole buffer again.
    Partial,
    /// The head ends after `head_len` bytes; what follows is body or the next message.
    Complete {
        /// Length of the head, final empty line included.
        head_len: usize,
    },
    /// The head is malformed; answer with the kind's status and close.
    Error(Error),
}

/// A byte range of the buffer a head was parsed from. Heads are stored as spans, not slices,
/// so that one parsed head can live beside the buffer it describes and be reused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Span {
    start: u32,
    end: u32,
}

impl Span {
    /// The range of `part` inside `buf`; `part` must be a sub-slice of `buf`.
    /// A `part` from elsewhere (httparse's static `""`) gives an empty span.
    pub(crate) fn within(buf: &[u8], part: &[u8]) -> Span {
        // Address arithmetic only: no unsafe, and heads are far below 4 GiB.
        let base = buf.as_ptr() as usize;
        let at = part.as_ptr() as usize;
        match at.checked_sub(base) {
            Some(start) if start + part.len() <= buf.len() => Span::new(start, start + part.len()),
            _ => Span::default(),
        }
    }

    pub(crate) fn new(start: usize, end: usize) -> Span {
        let clamp = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        Span {
            start: clamp(start),
            end: clamp(end),
        }
    }

    /// Offset of the first byte.
    pub fn start(self) -> usize {
        self.start as usize
    }

    /// Offset just past the last byte.
    pub fn end(self) -> usize {
        self.end as usize
    }

    /// The span as a range.
    pub fn range(self) -> Range<usize> {
        self.start()..self.end()
    }

    /// Length in bytes.
    pub fn len(self) -> usize {
        self.end().saturating_sub(self.start())
    }

    /// Whether the span is empty.
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// The bytes of `buf` under the span; empty if `buf` is not the parsed buffer and is
    /// too short (never panics).
    pub fn slice(self, buf: &[u8]) -> &[u8] {
        buf.get(self.range()).unwrap_or(&[])
    }
}

/// One header line: the spans of its name and of its value (surrounding whitespace trimmed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Header {
    /// The name, as received (case kept).
    pub name: Span,
    /// The value, without the whitespace around it.
    pub value: Span,
}

/// The protocol version of a message. Only HTTP/1.0 and HTTP/1.1 are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// HTTP/1.0: connections close after each message unless `Connection: keep-alive`.
    Http10,
    /// HTTP/1.1.
    Http11,
}

impl Version {
    pub(crate) fn from_minor(minor: u8) -> Version {
        if minor == 0 {
            Version::Http10
        } else {
            Version::Http11
        }
    }
}

/// The limits and switches of the parser, from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Largest head accepted, in bytes: `tune.bufsize - tune.maxrewrite`.
    pub max_head_len: usize,
    /// `tune.http.maxhdr`: as in HAProxy the start line counts, so a message may carry at
    /// most `max_headers - 1` header lines.
    pub max_headers: usize,
    /// `h1-accept-payload-with-any-method`: accept a payload on HTTP/1.0 GET/HEAD/DELETE.
    pub accept_payload_with_any_method: bool,
    /// `option accept-unsafe-violations-in-http-request` (formerly
    /// `accept-invalid-http-request`): a request target may carry a fragment (`#`) and
    /// bytes above 127, and the authority is not checked against `Host`.
    pub accept_unsafe_request: bool,
}

impl Default for Config {
    /// HAProxy's defaults: 16384 - 1024 = 15360 bytes of head, 101 headers.
    fn default() -> Config {
        Config::from_tune(16384, 1024, 101)
    }
}

impl Config {
    /// The limits from `tune.bufsize`, `tune.maxrewrite` and `tune.http.maxhdr`. As in
    /// HAProxy, a `maxrewrite` above half the buffer is brought down to half.
    pub fn from_tune(bufsize: usize, maxrewrite: usize, maxhdr: usize) -> Config {
        let maxrewrite = maxrewrite.min(bufsize / 2);
        Config {
            max_head_len: bufsize - maxrewrite,
            max_headers: maxhdr,
            accept_payload_with_any_method: false,
            accept_unsafe_request: false,
        }
    }

    /// Header lines allowed in one message.
    pub(crate) fn header_lines(&self) -> usize {
        self.max_headers.saturating_sub(1)
    }
}

/// The header spans of one head and the scratch array lent to `httparse`; both keep their
/// allocation from one message to the next.
#[derive(Debug, Default)]
pub(crate) struct HeaderList {
    pub(crate) headers: Vec<Header>,
    scratch: Vec<MaybeUninit<httparse::Header<'static>>>,
}

impl HeaderList {
    /// Lends the scratch array, sized for `n` headers, with the lifetime of the buffer.
    pub(crate) fn take_scratch<'b>(&mut self, n: usize) -> Vec<MaybeUninit<httparse::Header<'b>>> {
        let mut v = recycle(mem::take(&mut self.scratch));
        v.resize_with(n, MaybeUninit::uninit);
        v
    }

    /// Takes the scratch array back.
    pub(crate) fn give_scratch(&mut self, v: Vec<MaybeUninit<httparse::Header<'_>>>) {
        self.scratch = recycle(v);
    }

    /// The headers as `(name, value)` slices of `buf`, in order.
    pub(crate) fn pairs<'a>(
        &'a self,
        buf: &'a [u8],
    ) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + 'a {
        self.headers
            .iter()
            .map(move |h| (h.name.slice(buf), h.value.slice(buf)))
    }

    /// The value of the first header called `name` (case ignored).
    pub(crate) fn find<'a>(&self, buf: &'a [u8], name: &str) -> Option<&'a [u8]> {
        self.headers
            .iter()
            .find(|h| h.name.slice(buf).eq_ignore_ascii_case(name.as_bytes()))
            .map(|h| h.value.slice(buf))
    }

    /// Records the spans of `parsed`, which borrow `buf`.
    pub(crate) fn record(&mut self, buf: &[u8], parsed: &[httparse::Header<'_>]) {
        self.headers.clear();
        self.headers.extend(parsed.iter().map(|h| Header {
            name: Span::within(buf, h.name.as_bytes()),
            value: Span::within(buf, h.value),
        }));
    }
}

/// Empties a vector and changes the lifetime of its element type, keeping the allocation:
/// the vector is empty, so `map` never runs, and the in-place `collect` reuses the buffer
/// since the layouts are equal (checked by a test).
fn recycle<'a, 'b>(
    mut v: Vec<MaybeUninit<httparse::Header<'a>>>,
) -> Vec<MaybeUninit<httparse::Header<'b>>> {
    v.clear();
    v.into_iter().map(|_| MaybeUninit::uninit()).collect()
}

/// ASCII case-insensitive equality of a header name with a lower-case name.
pub(crate) fn name_is(name: &[u8], lower: &[u8]) -> bool {
    name.eq_ignore_ascii_case(lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_haproxys() {
        let c = Config::default();
        assert_eq!(c.max_head_len, 15360);
        assert_eq!(c.max_headers, 101);
        assert_eq!(c.header_lines(), 100);
    }

    #[test]
    fn maxrewrite_is_capped_at_half_the_buffer() {
        assert_eq!(Config::from_tune(8192, 6000, 101).max_head_len, 4096);
    }

    #[test]
    fn scratch_keeps_its_allocation() {
        let mut list = HeaderList::default();
        let v = list.take_scratch(101);
        let cap = v.capacity();
        let ptr = v.as_ptr() as usize;
        list.give_scratch(v);
        let again = list.take_scratch(101);
        assert_eq!(again.capacity(), cap);
        assert_eq!(again.as_ptr() as usize, ptr);
    }

    #[test]
    fn span_slice_never_panics() {
        let s = Span::new(5, 10);
        assert_eq!(s.slice(b"abc"), b"");
        assert_eq!(s.slice(b"0123456789ab"), b"56789");
    }
}
