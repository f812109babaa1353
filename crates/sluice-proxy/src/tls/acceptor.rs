//! TLS termination on `bind ... ssl`: the rustls server configuration of each bind line,
//! built at start, and the per-connection handshake before the stream is served.

use super::certs::{self, Loaded};
use super::options::{self, Versions};
use super::{TlsClient, TlsInfo};
use crate::counters::Counter;
use crate::proxy_protocol::accept::{read_preamble, Peek};
use crate::stream::io::ClientIo;
use crate::stream::{self, Addrs, Ctx, Permits};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use sluice_model::proxy::bind::Bind;
use sluice_model::{Mode, Model, Proxy};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use tokio_rustls::TlsAcceptor;

/// The acceptor of each bind line of `proxy` (by bind index; `None` for plaintext lines).
pub fn for_proxy(model: &Model, proxy: &Proxy) -> Result<Vec<Option<TlsAcceptor>>, String> {
    proxy
        .binds
        .iter()
        .map(|b| {
            if !b.options.ssl {
                return Ok(None);
            }
            let where_ = b.addresses.first().map_or("", |a| a.text.as_str());
            build(model, proxy, b).map(Some).map_err(|e| {
                format!(
                    "{} '{}', bind '{where_}': {e}",
                    proxy.kind.keyword(),
                    proxy.name
                )
            })
        })
        .collect()
}

/// The bind's options after the global `ssl-default-bind-options` (the line wins).
fn bind_words(model: &Model, bind: &Bind) -> Vec<(String, Option<String>)> {
    let mut words = options::global_defaults(model, "ssl-default-bind-options");
    words.extend(
        bind.options
            .other
            .iter()
            .map(|(n, v, _)| (n.clone(), v.clone())),
    );
    words
}

fn build(model: &Model, proxy: &Proxy, bind: &Bind) -> Result<TlsAcceptor, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let words = bind_words(model, bind);
    let versions = Versions::from_words(&words)?;
    let strict = words.iter().fold(false, |s, (n, _)| match n.as_str() {
        "strict-sni" => true,
        "no-strict-sni" => false,
        _ => s,
    });
    let crt_base = model.global.crt_base.as_ref().map(|b| b.value.as_str());
    let mut loaded: Vec<Loaded> = Vec::new();
    for crt in &bind.options.crt {
        let path = options::based(crt_base, &crt.value);
        loaded.extend(certs::load_crt(&path, &provider)?);
    }
    if loaded.is_empty() {
        return Err(
            "'ssl' needs a certificate: add 'crt <file>' ('crt-list' is not supported)".into(),
        );
    }
    let resolver = ByName::new(loaded, strict);
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions.list())
        .map_err(|e| format!("TLS versions: {e}"))?;
    let verify = words
        .iter()
        .rev()
        .find(|(n, _)| n == "verify")
        .and_then(|(_, v)| v.as_deref())
        .unwrap_or("none");
    let builder = match verify {
        "none" => builder.with_no_client_auth(),
        "optional" | "required" => {
            let ca = bind.options.ca_file.as_ref().ok_or_else(|| {
                format!("'verify {verify}' needs a 'ca-file' to check client certificates against")
            })?;
            let ca_base = model.global.ca_base.as_ref().map(|b| b.value.as_str());
            let roots = certs::load_roots(&options::based(ca_base, &ca.value))?;
            let mut v = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            if verify == "optional" {
                v = v.allow_unauthenticated();
            }
            let v = v.build().map_err(|e| format!("client verification: {e}"))?;
            builder.with_client_cert_verifier(v)
        }
        other => {
            return Err(format!(
                "'verify' expects none, optional or required, got '{other}'"
            ))
        }
    };
    let mut config = builder.with_cert_resolver(Arc::new(resolver));
    let alpn = bind
        .options
        .alpn
        .as_deref()
        .map(|a| options::alpn_bind(a, proxy.mode() == Mode::Http));
    config.alpn_protocols = alpn.unwrap_or_default();
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Picks the certificate by SNI: exact name, then wildcard, then the first certificate
/// (none with `strict-sni`).
#[derive(Debug)]
struct ByName {
    certs: Vec<Arc<CertifiedKey>>,
    exact: HashMap<String, usize>,
    /// `*.example.com` under `example.com`.
    wildcard: HashMap<String, usize>,
    strict: bool,
}

impl ByName {
    fn new(loaded: Vec<Loaded>, strict: bool) -> ByName {
        let mut by = ByName {
            certs: Vec::with_capacity(loaded.len()),
            exact: HashMap::new(),
            wildcard: HashMap::new(),
            strict,
        };
        for (i, l) in loaded.into_iter().enumerate() {
            for n in l.names {
                match n.strip_prefix("*.") {
                    Some(parent) => by.wildcard.entry(parent.to_string()).or_insert(i),
                    None => by.exact.entry(n).or_insert(i),
                };
            }
            by.certs.push(l.key);
        }
        by
    }

    fn find(&self, sni: &str) -> Option<usize> {
        if let Some(i) = self.exact.get(sni) {
            return Some(*i);
        }
        let (_, parent) = sni.split_once('.')?;
        self.wildcard.get(parent).copied()
    }
}

impl ResolvesServerCert for ByName {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let found = hello.server_name().and_then(|sni| {
            if sni.bytes().any(|b| b.is_ascii_uppercase()) {
                self.find(&sni.to_ascii_lowercase())
            } else {
                self.find(sni)
            }
        });
        match found {
            Some(i) => self.certs.get(i).cloned(),
            None if self.strict => None,
            None => self.certs.first().cloned(),
        }
    }
}

/// Serves one connection of a TLS listener: the PROXY and/or NetScaler CIP header when the
/// bind expects them (`header`: PROXY, CIP magic number), then the handshake, all within
/// `timeout client`, then the stream as usual.
#[allow(clippy::too_many_arguments)]
pub async fn serve<S: ClientIo + Peek>(
    ctx: Rc<Ctx>,
    fe: usize,
    mut s: S,
    mut addrs: Addrs,
    socket: crate::stream::Socket,
    permits: Permits,
    acceptor: TlsAcceptor,
    header: (bool, Option<u32>),
    limit: Option<Duration>,
) {
    // The connection's own addresses, when a header announces the session's.
    let mut connection = None;
    let handshake = async {
        if header.0 || header.1.is_some() {
            match read_preamble(&mut s, addrs, header, None).await {
                Ok((session, proxied)) => {
                    connection = Some(std::rc::Rc::new(proxied));
                    addrs = session;
                }
                Err(_) => return Err(Counter::ProxyHeaderErrors),
            }
        }
        acceptor
            .accept(s)
            .await
            .map_err(|_| Counter::TlsHandshakeErrors)
    };
    let done = match limit {
        Some(d) => tokio::time::timeout(d, handshake)
            .await
            .unwrap_or(Err(Counter::TlsHandshakeErrors)),
        None => handshake.await,
    };
    let tls = match done {
        Ok(t) => t,
        Err(c) => {
            ctx.count(c);
            return;
        }
    };
    let conn = tls.get_ref().1;
    let leaf = conn.peer_certificates().and_then(|c| c.first());
    let info = TlsInfo {
        sni: conn.server_name().map(|n| n.as_bytes().into()),
        alpn: conn.alpn_protocol().map(Into::into),
        version: conn
            .protocol_version()
            .and_then(crate::proxy_protocol::ssl::version_name),
        cipher: conn
            .negotiated_cipher_suite()
            .and_then(|s| crate::proxy_protocol::ssl::cipher_name(s.suite())),
        client_cert: leaf.is_some(),
        client_cn: leaf
            .and_then(|c| crate::proxy_protocol::ssl::subject_common_name(c))
            .map(Into::into),
    };
    stream::serve(
        ctx,
        fe,
        TlsClient::new(tls, Rc::new(info)),
        addrs,
        connection,
        socket,
        permits,
    )
    .await;
}
