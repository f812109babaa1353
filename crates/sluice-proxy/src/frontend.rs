//! The frontend side of a proxy: client timeouts, connection mode, routing to backends.

use crate::backend::Backend;
use crate::errors::ErrorPages;
use crate::http::forwardfor::ForwardFor;
use crate::plan::{timeout, ConnMode};
use sluice_model::proxy::BackendName;
use sluice_model::{Mode, Model, Proxy};
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// One `use_backend` line the data plane can evaluate.
#[derive(Debug)]
pub struct Route {
    /// Proxy index of the backend.
    pub backend: usize,
    /// Whether the line has a condition (evaluated by the rules stage).
    pub conditional: bool,
}

/// A frontend (or the frontend side of a listen section).
pub struct Frontend {
    pub name: String,
    /// Proxy index.
    pub index: usize,
    pub mode: Mode,
    pub client: Option<Duration>,
    pub client_fin: Option<Duration>,
    pub http_request: Option<Duration>,
    pub http_keep_alive: Option<Duration>,
    pub conn_mode: ConnMode,
    /// `option http-no-delay`: body bytes leave at once, never corked with `MSG_MORE`.
    pub http_no_delay: bool,
    /// `option http-drop-response-trailers`: the trailer fields of chunked responses are
    /// not sent to the client.
    pub drop_response_trailers: bool,
    /// How its requests are parsed: the plan's limits, and
    /// `option accept-unsafe-violations-in-http-request`.
    pub http: sluice_http::Config,
    pub forwardfor: Option<ForwardFor>,
    /// `use_backend` lines in order.
    pub routes: Vec<Route>,
    /// `default_backend`, or the proxy itself for a listen section.
    pub default_backend: Option<usize>,
    /// The frontend's `maxconn`.
    pub limit: Option<Arc<Semaphore>>,
    pub errors: ErrorPages,
    /// By bind index: the TLS acceptor of `ssl` bind lines.
    pub tls: Vec<Option<tokio_rustls::TlsAcceptor>>,
    /// By bind index: the listener's `name` (`so_name`).
    pub bind_names: Vec<Option<String>>,
    /// By bind index: `proto h2`, HTTP/2 from the first byte (see [`crate::h2`]).
    pub h2: Vec<bool>,
    /// By bind index: the `proto` the bind line names, if any.
    pub protos: Vec<Option<BindProto>>,
    /// `option http-buffer-request` in the frontend or its default backend: the request
    /// rules wait for the body (see [`crate::http::body`]).
    pub buffer_request: bool,
    /// The proxy's `id`, when the configuration sets one (`fe_id`).
    pub id: Option<i64>,
    /// Connections and rates (`fe_conn`, `dst_conn`, `fe_sess_rate`...).
    pub gauges: crate::gauges::FrontendGauges,
}

/// The multiplexer a bind line's `proto` forces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindProto {
    /// `proto h1`: HTTP/1 only, no switch to HTTP/2 on its preface.
    H1,
    /// `proto h2`: HTTP/2 from the first byte.
    H2,
    /// `proto none`: a raw TCP stream that can never become HTTP (no `switch-mode http`,
    /// no HTTP backend).
    None,
}

impl Frontend {
    /// The `proto` of the bind line that accepted a connection (`bind`: its index).
    pub fn bind_proto(&self, bind: Option<u32>) -> Option<BindProto> {
        let i = usize::try_from(bind?).ok()?;
        self.protos.get(i).copied().flatten()
    }
}

/// The numeric `id` a proxy section sets, if any.
pub fn configured_id(proxy: &Proxy) -> Option<i64> {
    proxy
        .other
        .iter()
        .rev()
        .find(|s| s.keyword() == "id")
        .and_then(|s| s.words.get(1))
        .and_then(|w| w.text.parse().ok())
}

impl Frontend {
    /// Resolves the frontend side of `proxy`.
    pub fn build(
        model: &Model,
        proxy: &Proxy,
        backends: &[Option<Backend>],
        http: sluice_http::Config,
    ) -> io::Result<Frontend> {
        let index = model
            .proxies
            .iter()
            .position(|p| std::ptr::eq(p, proxy))
            .unwrap_or(0);
        let find = |name: &str| -> Option<usize> {
            model
                .proxies
                .iter()
                .position(|p| p.kind.is_backend() && p.name == name)
                .filter(|i| backends.get(*i).is_some_and(Option::is_some))
        };
        let mut routes = Vec::new();
        for ub in &proxy.use_backends {
            // Dynamic names (`%[...]`) need the rules stage; they are skipped until it lands.
            if let BackendName::Static(name) = &ub.target {
                if let Some(backend) = find(name) {
                    routes.push(Route {
                        backend,
                        conditional: ub.condition.is_some(),
                    });
                }
            }
        }
        let default_backend = match proxy.default_backend.as_ref().map(|d| &d.value) {
            Some(BackendName::Static(name)) => find(name),
            _ if proxy.kind.is_backend() => Some(index),
            _ => None,
        };
        let buffer_request = std::iter::once(Some(index))
            .chain(std::iter::once(default_backend))
            .flatten()
            .filter_map(|i| model.proxies.get(i))
            .any(|p| p.option("http-buffer-request").is_some());
        let limit = proxy
            .maxconn
            .as_ref()
            .and_then(|m| usize::try_from(m.value).ok())
            .filter(|m| *m > 0)
            .map(|m| Arc::new(Semaphore::new(m.min(Semaphore::MAX_PERMITS))));
        Ok(Frontend {
            name: proxy.name.clone(),
            index,
            mode: proxy.mode(),
            client: timeout(proxy, "client"),
            client_fin: timeout(proxy, "client-fin"),
            http_request: timeout(proxy, "http-request"),
            http_keep_alive: timeout(proxy, "http-keep-alive"),
            conn_mode: ConnMode::of(proxy),
            http_no_delay: proxy.option("http-no-delay").is_some(),
            drop_response_trailers: proxy.option("http-drop-response-trailers").is_some(),
            http: sluice_http::Config {
                accept_unsafe_request: proxy
                    .option("accept-unsafe-violations-in-http-request")
                    .or_else(|| proxy.option("accept-invalid-http-request"))
                    .is_some(),
                ..http
            },
            forwardfor: ForwardFor::of(proxy),
            routes,
            default_backend,
            limit,
            errors: ErrorPages::load(proxy)?,
            tls: crate::tls::acceptor::for_proxy(model, proxy)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?,
            bind_names: proxy.binds.iter().map(|b| b.options.name.clone()).collect(),
            h2: proxy
                .binds
                .iter()
                .map(|b| b.options.proto.as_ref().is_some_and(|p| p.value == "h2"))
                .collect(),
            protos: proxy
                .binds
                .iter()
                .map(
                    |b| match b.options.proto.as_ref().map(|p| p.value.as_str()) {
                        Some("h1") => Some(BindProto::H1),
                        Some("h2") => Some(BindProto::H2),
                        Some("none") => Some(BindProto::None),
                        _ => None,
                    },
                )
                .collect(),
            buffer_request,
            id: configured_id(proxy),
            gauges: crate::gauges::FrontendGauges::new(proxy.binds.len()),
        })
    }
}
