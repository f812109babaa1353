//! What a client connection must offer: TCP and UNIX stream sockets both do.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, Interest};
use tokio::net::{TcpStream, UnixStream};

/// Writing with "more bytes follow at once" (`MSG_MORE`): the middle of a body whose end is
/// known to come. The kernel then sends full segments instead of one per write, and the
/// peer is woken once per burst instead of once per 16 KiB, as HAProxy does mid-message.
/// Streams without the flag (TLS, UNIX sockets) write as usual.
pub trait WriteMore: AsyncWrite + Unpin {
    fn poll_write_more(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(self).poll_write(cx, buf)
    }
}

impl WriteMore for TcpStream {
    fn poll_write_more(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        send_more(self, cx, buf)
    }
}

impl WriteMore for UnixStream {}

/// One `send(MSG_MORE)` on a tokio TCP stream, waiting for writability as `poll_write` does.
pub fn send_more(s: &TcpStream, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
    loop {
        match s.poll_write_ready(cx) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        }
        let sent = s.try_io(Interest::WRITABLE, || {
            socket2::SockRef::from(s).send_with_flags(buf, libc::MSG_MORE | libc::MSG_NOSIGNAL)
        });
        match sent {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            r => return Poll::Ready(r),
        }
    }
}

/// A client connection.
pub trait ClientIo: AsyncRead + AsyncWrite + WriteMore + Unpin + 'static {
    /// Ready when a read would not block; otherwise wakes the task when it would. Idle
    /// connections wait with this: no buffer, no future of their own.
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Waits until a read would not block.
    fn readable(&self) -> impl Future<Output = io::Result<()>> {
        std::future::poll_fn(move |cx| self.poll_read_ready(cx))
    }

    /// The connection's byte counts and instants, for its log lines.
    fn meter(&self) -> Option<&std::rc::Rc<crate::stream::log::Meter>> {
        None
    }

    /// What the TLS handshake settled (`None`: a plaintext connection).
    fn tls(&self) -> Option<&std::rc::Rc<crate::tls::TlsInfo>> {
        None
    }

    /// An HTTP/2 stream after its connection's first: its request is not the connection's
    /// first, so `http-reuse safe` may give it an idle server connection ([`crate::h2`]).
    fn later_stream(&self) -> bool {
        false
    }

    /// The HTTP major version of the client connection on the wire (`fc_http_major`).
    fn http_major(&self) -> i64 {
        1
    }
}

impl ClientIo for TcpStream {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        TcpStream::poll_read_ready(self, cx)
    }
}

impl ClientIo for UnixStream {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        UnixStream::poll_read_ready(self, cx)
    }
}
