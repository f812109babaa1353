//! `option abortonclose`: a client that closes its side while its request waits for a
//! server (in the queue, during connection attempts and the pauses between them) or for
//! the response head abandons the request, as in HAProxy 3.x, where this is the default
//! for HTTP backends.
//!
//! The waiting step runs under [`unless_client_leaves`], which reads the client meanwhile:
//! a read of 0 bytes (or a failed one) ends the wait and drops the step, which gives back
//! the queue place, the server slot and the connection being opened. What the client sends
//! meanwhile (the rest of the body, a pipelined request) is kept, up to the room its
//! buffer has, and is not lost; with no room left, the client is not read until the step
//! ends.

use super::buf::Buf;
use crate::backend::connect::Progress;
use crate::error::{Error, ErrorKind, Side};
use crate::stream::io::ClientIo;
use crate::stream::log::Record;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use tokio::io::ReadBuf;

/// Where bytes the client sends during a wait go.
pub trait Sink {
    /// Room to read into (empty: none left).
    fn room(&mut self) -> &mut [u8];
    /// Keeps `n` bytes of [`Sink::room`].
    fn commit(&mut self, n: usize);
}

impl Sink for Buf {
    fn room(&mut self) -> &mut [u8] {
        self.spare()
    }

    fn commit(&mut self, n: usize) {
        Buf::commit(self, n);
    }
}

/// Bytes read while the client buffer is in use elsewhere (the request head is read by the
/// server choice): moved into it afterwards with [`Early::into_buf`]. Allocated only when
/// the client sends something during the wait.
#[derive(Default)]
pub struct Early {
    bytes: Vec<u8>,
    filled: usize,
    /// At most this many bytes (the room the client buffer has).
    limit: usize,
}

impl Early {
    /// Keeps at most `limit` bytes.
    pub fn new(limit: usize) -> Early {
        Early {
            bytes: Vec::new(),
            filled: 0,
            limit,
        }
    }

    /// Appends what was read to `buf` (which had `limit` bytes of room).
    pub fn into_buf(self, buf: &mut Buf) {
        let mut kept = self.bytes.get(..self.filled).unwrap_or_default();
        while !kept.is_empty() {
            let spare = buf.spare();
            let n = spare.len().min(kept.len());
            if n == 0 {
                return;
            }
            if let (Some(to), Some(from)) = (spare.get_mut(..n), kept.get(..n)) {
                to.copy_from_slice(from);
            }
            buf.commit(n);
            kept = kept.get(n..).unwrap_or_default();
        }
    }
}

impl Sink for Early {
    fn room(&mut self) -> &mut [u8] {
        if self.bytes.len() < self.limit {
            self.bytes.resize(self.limit, 0);
        }
        self.bytes.get_mut(self.filled..).unwrap_or_default()
    }

    fn commit(&mut self, n: usize) {
        self.filled = (self.filled + n).min(self.bytes.len());
    }
}

/// The client closed or failed during the wait.
fn left() -> Error {
    Error::new(ErrorKind::Closed, Side::Client)
}

/// Runs `work` while reading `client` into `sink`. `Err`: the client closed (or its
/// connection failed) first; `work` is dropped.
///
/// A future of its own rather than an `async fn`: that would keep `work` twice (the
/// argument and its pinned copy), and `work` is a connection attempt of a few KiB that the
/// exchange's boxed state would carry and copy on every request.
pub fn unless_client_leaves<'a, S, F>(
    client: &'a mut S,
    sink: &'a mut dyn Sink,
    work: F,
) -> UnlessClientLeaves<'a, S, F>
where
    S: ClientIo,
    F: Future,
{
    UnlessClientLeaves { client, sink, work }
}

pin_project_lite::pin_project! {
    /// See [`unless_client_leaves`].
    pub struct UnlessClientLeaves<'a, S, F> {
        client: &'a mut S,
        sink: &'a mut dyn Sink,
        #[pin]
        work: F,
    }
}

impl<S: ClientIo, F: Future> Future for UnlessClientLeaves<'_, S, F> {
    type Output = Result<F::Output, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(v) = this.work.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        let client = &mut **this.client;
        loop {
            // Readiness first: nothing is allocated or read while the client is quiet.
            match client.poll_read_ready(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(_)) => return Poll::Ready(Err(left())),
                Poll::Ready(Ok(())) => {}
            }
            let room = this.sink.room();
            if room.is_empty() {
                // No room: the client is read again once the work is done.
                return Poll::Pending;
            }
            let mut rb = ReadBuf::new(room);
            match Pin::new(&mut *client).poll_read(cx, &mut rb) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(_)) => return Poll::Ready(Err(left())),
                Poll::Ready(Ok(())) => {
                    let n = rb.filled().len();
                    if n == 0 {
                        return Poll::Ready(Err(left()));
                    }
                    this.sink.commit(n);
                }
            }
        }
    }
}

/// What the server choice and the connection attempts tell the log line: the queue and
/// connection timers (`Tw` from the start of the wait, `Tc` from the end of the queue)
/// and the retries (`%rc`).
pub fn left_queue(record: &mut Record, progress: &Progress) {
    if let (Some(start), Some(out)) = (record.t.connect_start, progress.dequeued.get()) {
        record.t.queued = Some(out.saturating_duration_since(start));
        record.t.connect_start = Some(out);
    }
    record.retries = progress.retries.get();
    record.redispatched = progress.redispatched.get();
}

/// Logs a request whose client left before a server connection was ready: `CQ` while it
/// waited in the queue, `CC` once connection attempts had begun, no status, `Tw` up to
/// now or the end of the queue, `Tc` unknown.
pub fn record_abandoned(record: &mut Record, progress: &Progress) {
    let queued = progress.dequeued.get().is_none();
    if queued {
        if let Some(start) = record.t.connect_start {
            record.t.queued = Some(start.elapsed());
        }
    }
    left_queue(record, progress);
    record.server = progress.server.get();
    record.error = Some(left());
    record.term = Some(if queued { *b"CQ" } else { *b"CC" });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn early_bytes_join_the_client_buffer_in_order() {
        let mut buf = Buf::new(16);
        buf.spare()[..4].copy_from_slice(b"HEAD");
        buf.commit(4);
        let mut early = Early::new(buf.spare().len());
        let room = early.room();
        assert_eq!(room.len(), 12);
        room[..3].copy_from_slice(b"abc");
        early.commit(3);
        early.room()[..2].copy_from_slice(b"de");
        early.commit(2);
        early.into_buf(&mut buf);
        assert_eq!(buf.filled(), b"HEADabcde");
    }

    #[test]
    fn nothing_is_allocated_while_the_client_is_quiet() {
        let early = Early::new(16_384);
        assert_eq!(early.bytes.capacity(), 0);
    }

    #[test]
    fn the_wait_ends_when_the_client_closes() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("runtime: {e}"));
        rt.block_on(async {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .unwrap_or_else(|e| panic!("bind: {e}"));
            let addr = l.local_addr().unwrap_or_else(|e| panic!("addr: {e}"));
            let peer = tokio::net::TcpStream::connect(addr)
                .await
                .unwrap_or_else(|e| panic!("connect: {e}"));
            let (mut client, _) = l.accept().await.unwrap_or_else(|e| panic!("accept: {e}"));
            let mut early = Early::new(64);
            // Bytes, then a close, while the work never ends: the bytes are kept.
            tokio::spawn(async move {
                use tokio::io::AsyncWriteExt;
                let mut peer = peer;
                let _ = peer.write_all(b"body").await;
                let _ = peer.shutdown().await;
            });
            let never = std::future::pending::<()>();
            let r = unless_client_leaves(&mut client, &mut early, never).await;
            assert_eq!(r, Err(left()));
            let mut buf = Buf::new(64);
            early.into_buf(&mut buf);
            assert_eq!(buf.filled(), b"body");
        });
    }
}
