//! What a client connection must offer: TCP and UNIX stream sockets both do.

use std::future::Future;
use std::io;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};

/// A client connection.
pub trait ClientIo: AsyncRead + AsyncWrite + Unpin + 'static {
    /// Waits until a read would not block (used by idle connections, which hold no buffer).
    fn readable(&self) -> impl Future<Output = io::Result<()>>;

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
    fn readable(&self) -> impl Future<Output = io::Result<()>> {
        TcpStream::readable(self)
    }
}

impl ClientIo for UnixStream {
    fn readable(&self) -> impl Future<Output = io::Result<()>> {
        UnixStream::readable(self)
    }
}
