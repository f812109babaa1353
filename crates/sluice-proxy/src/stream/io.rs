//! What a client connection must offer: TCP and UNIX stream sockets both do.

use std::future::Future;
use std::io;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};

/// A client connection.
pub trait ClientIo: AsyncRead + AsyncWrite + Unpin + 'static {
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
