//! The HTTP/2 connection preface (RFC 9113 §3.4), and a client connection that replays the
//! bytes the HTTP/1 session read before it saw the preface.

use crate::stream::io::{ClientIo, WriteMore};
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// What an HTTP/2 client sends first with prior knowledge.
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Whether a connection's first bytes start the preface: at least "PRI " (no HTTP/1
/// method is `PRI`), and the preface as far as they go. The `h2` crate checks the rest.
pub fn starts(first: &[u8]) -> bool {
    let n = first.len().min(PREFACE.len());
    n >= 4 && first.get(..n) == PREFACE.get(..n)
}

/// A client connection whose first reads return `pre` (bytes already read from it).
pub struct Rewind<S> {
    pre: Vec<u8>,
    pos: usize,
    inner: S,
}

impl<S> Rewind<S> {
    pub fn new(pre: Vec<u8>, inner: S) -> Rewind<S> {
        Rewind { pre, pos: 0, inner }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Rewind<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let left = this.pre.get(this.pos..).unwrap_or_default();
        if !left.is_empty() {
            let n = left.len().min(buf.remaining());
            buf.put_slice(left.get(..n).unwrap_or_default());
            this.pos += n;
            if this.pos >= this.pre.len() {
                // Replayed: the memory goes back now, not with the connection.
                this.pre = Vec::new();
                this.pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Rewind<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

impl<S: ClientIo> WriteMore for Rewind<S> {}

impl<S: ClientIo> ClientIo for Rewind<S> {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.pos < self.pre.len() {
            return Poll::Ready(Ok(()));
        }
        self.inner.poll_read_ready(cx)
    }

    fn meter(&self) -> Option<&Rc<crate::stream::log::Meter>> {
        self.inner.meter()
    }

    fn tls(&self) -> Option<&Rc<crate::tls::TlsInfo>> {
        self.inner.tls()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preface_detection() {
        assert!(starts(PREFACE));
        assert!(starts(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04"));
        assert!(starts(b"PRI * HT"));
        assert!(!starts(b"PRI"));
        assert!(!starts(b"POST / HTTP/1.1\r\n"));
        assert!(!starts(b"PRI * HTTP/1.1\r\n"));
        assert!(!starts(b""));
    }
}
