//! TLS with rustls (ring provider): termination on `bind ... ssl` ([`acceptor`]) and
//! origination on `server ... ssl` ([`connector`]). Certificates and keys are loaded when
//! the plan is built, before the chroot; plaintext listeners never reach this module.

pub mod acceptor;
pub mod certs;
pub mod connector;
pub mod options;

use crate::stream::io::ClientIo;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_rustls::server::TlsStream;

/// What the handshake settled, for `ssl_fc_sni` and `ssl_fc_alpn`, and the `PP2_TYPE_SSL`
/// TLV of PROXY v2 headers to servers (`proxy-v2-options ssl,ssl-cipher,cert-cn`).
#[derive(Debug, Default)]
pub struct TlsInfo {
    pub sni: Option<Box<[u8]>>,
    pub alpn: Option<Box<[u8]>>,
    /// The protocol version, in OpenSSL's words (`TLSv1.3`).
    pub version: Option<&'static str>,
    /// The cipher suite, in OpenSSL's words.
    pub cipher: Option<&'static str>,
    /// The client presented a certificate (verified: the handshake succeeded).
    pub client_cert: bool,
    /// The common name of the client's certificate, if it has one.
    pub client_cn: Option<Box<[u8]>>,
}

/// A client connection after a TLS handshake.
pub struct TlsClient<S> {
    inner: TlsStream<S>,
    info: Rc<TlsInfo>,
}

impl<S> TlsClient<S> {
    pub fn new(inner: TlsStream<S>, info: Rc<TlsInfo>) -> Self {
        TlsClient { inner, info }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for TlsClient<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for TlsClient<S> {
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

// Records are written through rustls: no `MSG_MORE` on them.
impl<S: ClientIo> crate::stream::io::WriteMore for TlsClient<S> {}

impl<S: ClientIo> ClientIo for TlsClient<S> {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let (io, conn) = self.inner.get_ref();
        // Plaintext already decrypted (or a close_notify) is readable without the socket.
        if !conn.wants_read() {
            return Poll::Ready(Ok(()));
        }
        io.poll_read_ready(cx)
    }

    fn tls(&self) -> Option<&Rc<TlsInfo>> {
        Some(&self.info)
    }
}
