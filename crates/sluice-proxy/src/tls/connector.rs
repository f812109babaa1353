//! TLS origination on `server ... ssl`: the rustls client configuration of each server,
//! built at start, the handshake after the connect (and the PROXY header), and
//! [`ServerStream`], a server connection in plaintext or in TLS.

use super::certs;
use super::options::{self, Versions};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ResolvesClientCert, Resumption, WebPkiServerVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, SignatureScheme};
use sluice_model::proxy::server::Server as ModelServer;
use sluice_model::{Mode, Model, Proxy};
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// Where the SNI of a connection comes from (`sni <expr>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sni {
    /// No SNI: no `sni`, or an expression Sluice does not evaluate on connections.
    None,
    /// `str(<name>)`.
    Fixed(ServerName<'static>),
    /// `req.hdr(<name>)` (also `hdr`, `req.fhdr`): the request's header, without its port.
    Header(Box<str>),
    /// `ssl_fc_sni`: the SNI the client sent to the frontend.
    ClientSni,
}

impl Sni {
    /// The supported forms of a `sni` expression; anything else sends no SNI.
    pub fn parse(expr: &str) -> Sni {
        let expr = expr.trim();
        let call = |name: &str| {
            expr.strip_prefix(name)
                .and_then(|r| r.strip_prefix('('))
                .and_then(|r| r.strip_suffix(')'))
        };
        if let Some(s) = call("str") {
            return ServerName::try_from(s.to_string()).map_or(Sni::None, Sni::Fixed);
        }
        for f in ["req.hdr", "hdr", "req.fhdr"] {
            if let Some(h) = call(f) {
                // `req.hdr(host,1)`: the occurrence is ignored, the last one is taken.
                let name = h.split(',').next().unwrap_or("").trim();
                if !name.is_empty() {
                    return Sni::Header(name.to_ascii_lowercase().into());
                }
            }
        }
        if matches!(expr, "ssl_fc_sni" | "ssl_fc_sni()") {
            return Sni::ClientSni;
        }
        Sni::None
    }

    /// Whether the name changes per request (its connections are then never reused).
    pub fn dynamic(&self) -> bool {
        matches!(self, Sni::Header(_) | Sni::ClientSni)
    }
}

/// A server's TLS settings, ready for connections.
#[derive(Clone)]
pub struct Connector {
    inner: TlsConnector,
    pub sni: Sni,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector").field("sni", &self.sni).finish()
    }
}

impl Connector {
    /// The name a connection presents: the SNI (`dynamic` is the per-request value for
    /// `req.hdr`/`ssl_fc_sni`), else the server's address, for which rustls sends no SNI.
    pub fn name(&self, dynamic: Option<&[u8]>, ip: IpAddr) -> ServerName<'static> {
        let by_ip = || ServerName::IpAddress(ip.into());
        match &self.sni {
            Sni::Fixed(n) => n.clone(),
            Sni::Header(_) | Sni::ClientSni => dynamic
                .and_then(|v| std::str::from_utf8(v).ok())
                .map(strip_port)
                .and_then(|v| ServerName::try_from(v.to_ascii_lowercase()).ok())
                .unwrap_or_else(by_ip),
            Sni::None => by_ip(),
        }
    }

    /// The handshake on an open connection; the caller bounds it with `timeout connect`.
    pub async fn handshake(
        &self,
        tcp: TcpStream,
        name: ServerName<'static>,
    ) -> io::Result<ServerStream> {
        let tls = self.inner.connect(name, tcp).await?;
        Ok(ServerStream::Tls(Box::new(tls)))
    }
}

/// `host:port` → `host` (an IPv6 literal in brackets keeps its brackets off).
fn strip_port(v: &str) -> &str {
    let v = v.trim();
    if let Some(rest) = v.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match v.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => v,
    }
}

/// The connector of `server` when it has `ssl` (or `check_ssl`: TLS for checks only).
pub fn for_server(
    model: &Model,
    proxy: &Proxy,
    server: &ModelServer,
    check_ssl: bool,
) -> Result<Option<Connector>, String> {
    if !server.options.ssl && !check_ssl {
        return Ok(None);
    }
    build(model, proxy, server).map(Some).map_err(|e| {
        format!(
            "{} '{}', server '{}': {e}",
            proxy.kind.keyword(),
            proxy.name,
            server.name
        )
    })
}

/// Whether servers are verified when their line says nothing: `ssl-server-verify`
/// (default `required`).
pub fn verify_by_default(model: &Model) -> bool {
    let last = model
        .global
        .other
        .iter()
        .rev()
        .find(|s| s.keyword() == "ssl-server-verify")
        .and_then(|s| s.words.get(1));
    !matches!(last, Some(w) if w.text == "none")
}

fn build(model: &Model, proxy: &Proxy, server: &ModelServer) -> Result<Connector, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let o = &server.options;
    let mut words = options::global_defaults(model, "ssl-default-server-options");
    words.extend(o.other.iter().map(|(n, v, _)| (n.clone(), v.clone())));
    let versions = Versions::from_words(&words)?;
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions.list())
        .map_err(|e| format!("TLS versions: {e}"))?;
    let verify = match o.verify.as_deref() {
        Some(v) => v == "required",
        None => verify_by_default(model),
    };
    let verifyhost = words
        .iter()
        .rev()
        .find(|(n, _)| n == "verifyhost" || n == "no-verifyhost")
        .filter(|(n, _)| n == "verifyhost")
        .and_then(|(_, v)| v.as_deref())
        .map(|h| {
            ServerName::try_from(h.to_ascii_lowercase())
                .map_err(|_| format!("'verifyhost {h}' is not a host name"))
        })
        .transpose()?;
    let verifier: Arc<dyn ServerCertVerifier> = if verify {
        let ca = o.ca_file.as_ref().ok_or(
            "verify is enabled by default but no CA file specified: add 'ca-file <file>', \
             or 'verify none' on the server line, or 'ssl-server-verify none' in the global \
             section",
        )?;
        let ca_base = model.global.ca_base.as_ref().map(|b| b.value.as_str());
        let roots = certs::load_roots(&options::based(ca_base, &ca.value))?;
        let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| format!("server verification: {e}"))?;
        Arc::new(Chain { inner, verifyhost })
    } else {
        Arc::new(AcceptAny(provider.clone()))
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match &o.crt {
        Some(crt) => {
            let crt_base = model.global.crt_base.as_ref().map(|b| b.value.as_str());
            let loaded = certs::load_file(&options::based(crt_base, &crt.value), &provider)?;
            builder.with_client_cert_resolver(Arc::new(ClientCert(loaded.key)))
        }
        None => builder.with_no_client_auth(),
    };
    let alpn = words
        .iter()
        .rev()
        .find(|(n, _)| n == "alpn")
        .and_then(|(_, v)| v.as_deref());
    config.alpn_protocols = alpn
        .map(|a| options::alpn(a, proxy.mode() == Mode::Http))
        .unwrap_or_default();
    if words.iter().any(|(n, _)| n == "no-ssl-reuse") {
        config.resumption = Resumption::disabled();
    }
    Ok(Connector {
        inner: TlsConnector::from(Arc::new(config)),
        sni: o.sni.as_deref().map_or(Sni::None, Sni::parse),
    })
}

/// `crt` on a server line: the client certificate offered to every server that asks.
#[derive(Debug)]
struct ClientCert(Arc<CertifiedKey>);

impl ResolvesClientCert for ClientCert {
    fn resolve(&self, _: &[&[u8]], _: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// `verify required`: the chain must lead to a `ca-file` CA. The name is checked as HAProxy
/// does: against `verifyhost` when set, else against the SNI sent; with neither (the
/// connection then names the server by its address), the certificate's names are ignored.
#[derive(Debug)]
struct Chain {
    inner: Arc<WebPkiServerVerifier>,
    verifyhost: Option<ServerName<'static>>,
}

impl ServerCertVerifier for Chain {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let name = self.verifyhost.as_ref().unwrap_or(server_name);
        let checked = self
            .inner
            .verify_server_cert(end_entity, intermediates, name, ocsp, now);
        let unnamed = self.verifyhost.is_none() && matches!(server_name, ServerName::IpAddress(_));
        match checked {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if unnamed => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// `verify none` (or `ssl-server-verify none`, `-dV`): ANY certificate is accepted, as the
/// configuration asks — expired, self-signed, for another name. This is deliberate and only
/// reachable through those settings. The handshake signatures are still checked, so the
/// server holds the key of the certificate it sent (which proves nothing about who it is).
#[derive(Debug)]
struct AcceptAny(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A server connection: plaintext, or TLS (boxed: the rustls state is large, and the
/// plaintext path should carry no more than the enum's tag).
pub enum ServerStream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    /// A server spoken to in HTTP/2 (`proto h2`), seen as an HTTP/1.1 connection.
    H2(Box<crate::backend::h2_client::H2Server>),
}

impl std::fmt::Debug for ServerStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ServerStream::Plain(_) => "ServerStream::Plain",
            ServerStream::Tls(_) => "ServerStream::Tls",
            ServerStream::H2(_) => "ServerStream::H2",
        })
    }
}

impl From<TcpStream> for ServerStream {
    fn from(s: TcpStream) -> Self {
        ServerStream::Plain(s)
    }
}

impl ServerStream {
    /// The socket underneath (none for HTTP/2: its connection has a task of its own).
    pub fn tcp(&self) -> Option<&TcpStream> {
        match self {
            ServerStream::Plain(s) => Some(s),
            ServerStream::Tls(t) => Some(t.get_ref().0),
            ServerStream::H2(_) => None,
        }
    }

    /// Whether plaintext is already decrypted and waiting (an idle TLS connection with
    /// such bytes is not idle).
    pub fn buffered(&self) -> bool {
        match self {
            ServerStream::Plain(_) | ServerStream::H2(_) => false,
            ServerStream::Tls(t) => !t.get_ref().1.wants_read(),
        }
    }

    /// Whether an idle connection can take a request: nothing to read (readable means
    /// closed, or a protocol error from the server), from the readiness tokio has recorded.
    pub fn still_idle(&mut self, cx: &mut Context<'_>) -> bool {
        match self {
            ServerStream::H2(h) => h.still_idle(cx),
            _ => {
                !self.buffered()
                    && self
                        .tcp()
                        .is_some_and(|t| matches!(t.poll_read_ready(cx), Poll::Pending))
            }
        }
    }
}

impl AsyncRead for ServerStream {
    #[inline]
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ServerStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            ServerStream::Tls(t) => Pin::new(&mut **t).poll_read(cx, buf),
            ServerStream::H2(h) => Pin::new(&mut **h).poll_read(cx, buf),
        }
    }
}

impl crate::stream::io::WriteMore for ServerStream {
    fn poll_write_more(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self {
            ServerStream::Plain(s) => crate::stream::io::send_more(s, cx, buf),
            ServerStream::Tls(t) => Pin::new(&mut **t).poll_write(cx, buf),
            ServerStream::H2(h) => Pin::new(&mut **h).poll_write(cx, buf),
        }
    }
}

impl AsyncWrite for ServerStream {
    #[inline]
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ServerStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            ServerStream::Tls(t) => Pin::new(&mut **t).poll_write(cx, buf),
            ServerStream::H2(h) => Pin::new(&mut **h).poll_write(cx, buf),
        }
    }

    #[inline]
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ServerStream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            ServerStream::Tls(t) => Pin::new(&mut **t).poll_write_vectored(cx, bufs),
            ServerStream::H2(h) => Pin::new(&mut **h).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            ServerStream::Plain(s) => s.is_write_vectored(),
            ServerStream::Tls(t) => t.is_write_vectored(),
            ServerStream::H2(_) => false,
        }
    }

    #[inline]
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ServerStream::Plain(s) => Pin::new(s).poll_flush(cx),
            ServerStream::Tls(t) => Pin::new(&mut **t).poll_flush(cx),
            ServerStream::H2(h) => Pin::new(&mut **h).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ServerStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            ServerStream::Tls(t) => Pin::new(&mut **t).poll_shutdown(cx),
            ServerStream::H2(h) => Pin::new(&mut **h).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sni_forms() {
        assert_eq!(
            Sni::parse("str(backend.test)"),
            Sni::Fixed(ServerName::try_from("backend.test").expect("name"))
        );
        assert_eq!(Sni::parse("req.hdr(Host)"), Sni::Header("host".into()));
        assert_eq!(Sni::parse("hdr(host,1)"), Sni::Header("host".into()));
        assert_eq!(Sni::parse("ssl_fc_sni"), Sni::ClientSni);
        assert_eq!(Sni::parse("var(txn.x)"), Sni::None);
    }

    #[test]
    fn ports_are_not_part_of_the_name() {
        assert_eq!(strip_port("a.test:8443"), "a.test");
        assert_eq!(strip_port("a.test"), "a.test");
        assert_eq!(strip_port("[::1]:443"), "::1");
    }
}
