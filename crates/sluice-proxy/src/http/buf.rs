//! A fixed-size byte buffer with a read and a write position: filled by socket reads,
//! drained by parsing and forwarding, compacted only when its end is reached.

/// One connection-side buffer (`tune.bufsize` bytes).
#[derive(Debug)]
pub struct Buf {
    data: Box<[u8]>,
    start: usize,
    end: usize,
}

impl Buf {
    /// A buffer of `cap` bytes.
    pub fn new(cap: usize) -> Buf {
        Buf {
            data: vec![0; cap].into_boxed_slice(),
            start: 0,
            end: 0,
        }
    }

    /// The bytes read and not consumed yet.
    #[inline]
    pub fn filled(&self) -> &[u8] {
        self.data.get(self.start..self.end).unwrap_or_default()
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// No room left even after compaction.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.len() == self.data.len()
    }

    /// Drops the first `n` filled bytes.
    #[inline]
    pub fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Room to read into (moves the filled bytes to the front when the end is reached).
    #[inline]
    pub fn spare(&mut self) -> &mut [u8] {
        if self.end == self.data.len() && self.start > 0 {
            self.data.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        self.data.get_mut(self.end..).unwrap_or_default()
    }

    /// Marks `n` bytes of [`spare`](Buf::spare) as filled.
    #[inline]
    pub fn commit(&mut self, n: usize) {
        self.end = (self.end + n).min(self.data.len());
    }

    /// Removes the filled bytes in `range` (positions in [`filled`](Buf::filled)), moving
    /// the bytes after them down: a part of a message that is not forwarded (dropped
    /// trailers).
    pub fn remove(&mut self, range: std::ops::Range<usize>) {
        let len = self.len();
        let (from, to) = (range.start.min(len), range.end.min(len));
        if from >= to {
            return;
        }
        self.data
            .copy_within(self.start + to..self.end, self.start + from);
        self.end -= to - from;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Empties the buffer.
    #[inline]
    pub fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }
}
