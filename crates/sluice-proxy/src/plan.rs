//! The run-time plan: what the worker threads need from the [`Model`], resolved once at
//! start (backend names to indexes, server addresses, timeouts, options, error pages) and
//! shared read-only by every thread.

use crate::backend::Backend;
use crate::errors::ErrorPages;
use crate::frontend::Frontend;
use crate::http::forwardfor::OriginalTo;
use sluice_model::proxy::options::ProxyOption;
use sluice_model::proxy::BackendName;
use sluice_model::{Model, Proxy};
use sluice_rules::{CompileOptions, CompiledProxyRules};
use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// HAProxy's default `tune.bufsize`.
pub const DEFAULT_BUFSIZE: usize = 16384;

/// How HTTP connections are kept (`option httpclose`, `http-server-close`, `http-keep-alive`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ConnMode {
    /// Keep-alive on both sides (HAProxy's default).
    KeepAlive,
    /// Close the server side after each response, keep the client side.
    ServerClose,
    /// Close both sides after each response.
    Close,
}

impl ConnMode {
    /// The mode the last of the three options sets in `proxy` (they replace each other).
    pub fn of(proxy: &Proxy) -> ConnMode {
        let mut mode = ConnMode::KeepAlive;
        for o in &proxy.options {
            let m = match o.name.as_str() {
                "httpclose" => ConnMode::Close,
                "http-server-close" => ConnMode::ServerClose,
                "http-keep-alive" => ConnMode::KeepAlive,
                _ => continue,
            };
            if o.negated {
                if mode == m {
                    mode = ConnMode::KeepAlive;
                }
            } else {
                mode = m;
            }
        }
        mode
    }
}

/// Whether the last `option <name>` line of `proxy` turns it on.
pub fn option<'p>(proxy: &'p Proxy, name: &str) -> Option<&'p ProxyOption> {
    proxy.option(name)
}

/// Everything the threads read.
pub struct Plan {
    /// By proxy index: the frontend side of frontends and listen sections.
    pub frontends: Vec<Option<Frontend>>,
    /// By proxy index: the backend side of backends and listen sections.
    pub backends: Vec<Option<Backend>>,
    /// `tune.bufsize`.
    pub bufsize: usize,
    /// The HTTP parser's limits.
    pub http: sluice_http::Config,
    /// `hard-stop-after`.
    pub hard_stop_after: Option<Duration>,
    /// Threads to start.
    pub nbthread: usize,
    /// The global `maxconn`, shared by every frontend and thread.
    pub global_limit: Option<Arc<Semaphore>>,
    /// By proxy index: the compiled rules of proxies that have any (`None`: nothing to
    /// evaluate, so the request path does no rule work at all).
    pub rules: Vec<Option<ProxyRules>>,
    /// Backend names to proxy indexes (`use_backend`, dynamic names, `nbsrv(name)`).
    pub backend_names: HashMap<String, usize>,
    /// By proxy index: `option originalto`.
    pub original_to: Vec<Option<OriginalTo>>,
    /// By proxy index: the frontend's `monitor-uri`.
    pub monitor_uri: Vec<Option<Box<[u8]>>>,
    /// By proxy index: the frontend's `unique-id-format` and `unique-id-header`.
    pub unique_id: Vec<Option<UniqueIdConf>>,
    /// By proxy index: `compression` settings.
    pub compression: Vec<Option<crate::http::compression::ProxyCompression>>,
    /// The stick tables, shared by the threads, the rules and the runtime API.
    pub stick_tables: Arc<sluice_stick::Tables>,
    /// The statistics pages (`stats uri`...).
    pub stats: crate::stats::Stats,
    /// The `resolvers` sections (`crate::resolvers`), read before any chroot.
    pub resolvers: Vec<crate::resolvers::Section>,
}

/// A frontend's unique request IDs: the format, and the header that carries the ID to the
/// server when `unique-id-header` names one.
pub struct UniqueIdConf {
    pub format: sluice_rules::LogFormat,
    pub header: Option<Box<str>>,
}

/// The last `keyword` line of `proxy`, else of its defaults section: its first argument.
fn own_or_inherited<'m>(model: &'m Model, proxy: &'m Proxy, keyword: &str) -> Option<&'m str> {
    let defaults = proxy
        .defaults
        .as_deref()
        .and_then(|d| model.defaults.iter().rev().find(|p| p.name == d));
    let inherited = defaults.map(|d| d.other.as_slice()).unwrap_or_default();
    proxy
        .other
        .iter()
        .rev()
        .chain(inherited.iter().rev())
        .find(|s| s.keyword() == keyword)
        .and_then(|s| s.words.get(1))
        .map(|w| w.text.as_str())
}

/// One proxy's compiled rules and the settings that go with them. Compiled once per worker
/// and shared read-only by its threads (the compiled rules hold no interior mutability).
pub struct ProxyRules {
    pub compiled: CompiledProxyRules,
    /// `use_backend` lines or a dynamic `default_backend`: routing goes through the rules.
    pub routes: bool,
    /// `use-server` lines.
    pub use_server: bool,
    /// `timeout tarpit` (HAProxy falls back to `timeout connect`).
    pub tarpit: Option<Duration>,
    /// `tcp-request inspect-delay`.
    pub inspect_delay: Option<Duration>,
    /// `tcp-response inspect-delay`.
    pub response_inspect_delay: Option<Duration>,
    /// A backend's `option forwarded`.
    pub forwarded: Option<crate::http::forwarded::Forwarded>,
    /// `option http-restrict-req-hdr-names`.
    pub restrict_hdr_names: crate::http::restrict_hdr_names::RestrictHdrNames,
}

impl ProxyRules {
    /// The proxy's rules, or `None` when it has nothing to evaluate.
    fn build(
        model: &Model,
        proxy: &Proxy,
        compiled: CompiledProxyRules,
    ) -> io::Result<Option<ProxyRules>> {
        use crate::http::restrict_hdr_names::RestrictHdrNames;
        let forwarded = crate::http::forwarded::Forwarded::of(model, proxy).map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("{}: {e}", proxy.name))
        })?;
        let restrict_hdr_names = RestrictHdrNames::of(proxy);
        let c = &compiled;
        let routes = !proxy.use_backends.is_empty()
            || matches!(
                proxy.default_backend.as_ref().map(|d| &d.value),
                Some(BackendName::Dynamic(_))
            );
        let use_server = proxy.other.iter().any(|s| s.keyword() == "use-server");
        let empty = c.http_request.is_empty()
            && c.redirects.is_empty()
            && c.http_response.is_empty()
            && c.http_after_response.is_empty()
            && c.tcp_connection.is_empty()
            && c.tcp_session.is_empty()
            && c.tcp_content.is_empty()
            && c.tcp_response.is_empty()
            && c.stick.is_empty()
            && c.monitor_fail.is_empty()
            && !routes
            && !use_server
            && forwarded.is_none()
            && restrict_hdr_names == RestrictHdrNames::Preserve;
        if empty {
            return Ok(None);
        }
        Ok(Some(ProxyRules {
            routes,
            use_server,
            tarpit: timeout(proxy, "tarpit").or_else(|| timeout(proxy, "connect")),
            inspect_delay: proxy
                .tcp_inspect_delay
                .as_ref()
                .map(|d| d.value)
                .filter(|d| !d.is_zero()),
            response_inspect_delay: proxy
                .tcp_response_inspect_delay
                .as_ref()
                .map(|d| d.value)
                .filter(|d| !d.is_zero()),
            forwarded,
            restrict_hdr_names,
            compiled,
        }))
    }
}

// The plan is shared by every worker thread.
const _: () = {
    const fn shared<T: Send + Sync>() {}
    shared::<Plan>();
};

impl Plan {
    /// Resolves `model`. Fails on what cannot run (an unreadable errorfile, a server name
    /// that does not resolve).
    pub fn build(model: &Model) -> io::Result<Plan> {
        Self::build_with(model, &CompileOptions::default())
    }

    /// [`build`](Plan::build) with the options rules are compiled with.
    pub fn build_with(model: &Model, options: &CompileOptions) -> io::Result<Plan> {
        let g = &model.global;
        let bufsize = g
            .tune_bufsize
            .as_ref()
            .and_then(|v| usize::try_from(v.value).ok())
            .filter(|v| *v >= 1024)
            .unwrap_or(DEFAULT_BUFSIZE);
        let maxrewrite = g
            .tune_maxrewrite
            .as_ref()
            .and_then(|v| usize::try_from(v.value).ok())
            .unwrap_or(1024);
        let maxhdr = g
            .tune_http_maxhdr
            .and_then(|v| usize::try_from(v).ok())
            .unwrap_or(101);
        let http = sluice_http::Config::from_tune(bufsize, maxrewrite, maxhdr);
        let nbthread = g
            .nbthread
            .as_ref()
            .and_then(|v| usize::try_from(v.value).ok())
            .filter(|v| *v > 0)
            .unwrap_or_else(|| {
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1)
            });
        let global_limit = g
            .maxconn
            .as_ref()
            .and_then(|m| usize::try_from(m.value).ok())
            .filter(|m| *m > 0)
            .map(|m| Arc::new(Semaphore::new(m.min(Semaphore::MAX_PERMITS))));
        let mut backends = Vec::with_capacity(model.proxies.len());
        for p in &model.proxies {
            backends.push(if p.kind.is_backend() && !p.disabled {
                Some(Backend::build(model, p)?)
            } else {
                None
            });
        }
        let mut frontends = Vec::with_capacity(model.proxies.len());
        for p in &model.proxies {
            frontends.push(if p.kind.is_frontend() && !p.disabled {
                Some(Frontend::build(model, p, &backends, http)?)
            } else {
                None
            });
        }
        // Error pages from `errorfiles` sections and `http-error` lines need the whole model.
        for (p, (fe, be)) in model
            .proxies
            .iter()
            .zip(frontends.iter_mut().zip(backends.iter_mut()))
        {
            if fe.is_none() && be.is_none() {
                continue;
            }
            let pages = ErrorPages::build(model, p)?;
            if let Some(fe) = fe.as_mut() {
                fe.errors = pages.clone();
            }
            if let Some(be) = be.as_mut() {
                be.errors = pages;
            }
        }
        let original_to = model.proxies.iter().map(OriginalTo::of).collect();
        let monitor_uri = model
            .proxies
            .iter()
            .map(|p| {
                p.kind
                    .is_frontend()
                    .then(|| crate::http::monitor::uri_of(model, p))
                    .flatten()
            })
            .collect();
        // Global `set-var` lines run first: the rules' first streams read what they set.
        sluice_rules::proc_vars::apply_global(model).map_err(|d| {
            let first = d
                .iter()
                .next()
                .map_or_else(String::new, |d| d.message.clone());
            io::Error::new(io::ErrorKind::InvalidInput, format!("global: {first}"))
        })?;
        // `http-err-codes`, `http-fail-codes`: what the stick counters count.
        sluice_rules::status_codes::apply_global(model)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("global: {e}")))?;
        // All proxies at once and in order: a frontend and a backend may share a name.
        let stick_tables = Arc::new(sluice_stick::Tables::build(model).0);
        let compiled = sluice_rules::compile_all_with_tables(model, options, &stick_tables);
        let compiled = compiled.map_err(|d| {
            let first = d
                .iter()
                .next()
                .map_or_else(String::new, |d| d.message.clone());
            io::Error::new(io::ErrorKind::InvalidInput, format!("rules: {first}"))
        })?;
        let mut rules = Vec::with_capacity(model.proxies.len());
        let mut backend_names = HashMap::new();
        let mut unique_id = Vec::with_capacity(model.proxies.len());
        for ((i, p), mut c) in model.proxies.iter().enumerate().zip(compiled) {
            let header = own_or_inherited(model, p, "unique-id-header").map(Box::from);
            unique_id.push(
                c.unique_id_format
                    .take()
                    .filter(|_| !p.disabled)
                    .map(|format| UniqueIdConf { format, header }),
            );
            if p.kind.is_backend() && backends.get(i).is_some_and(Option::is_some) {
                backend_names.entry(p.name.clone()).or_insert(i);
            }
            // `set-proxy-v2-tlv-fmt` formats, compiled with the rules, go to their servers.
            if let Some(Some(be)) = backends.get_mut(i) {
                let formats = std::mem::take(&mut c.server_tlvs);
                for (server, custom) in be.servers.iter_mut().zip(formats) {
                    server.proxy_v2.custom = custom;
                }
            }
            rules.push(if p.disabled {
                None
            } else {
                ProxyRules::build(model, p, c)?
            });
        }
        let compression = model
            .proxies
            .iter()
            .map(|p| crate::http::compression::ProxyCompression::of(model, p))
            .collect();
        Ok(Plan {
            rules,
            compression,
            backend_names,
            original_to,
            monitor_uri,
            unique_id,
            frontends,
            backends,
            bufsize,
            http,
            hard_stop_after: g.hard_stop_after,
            nbthread,
            global_limit,
            stick_tables,
            stats: crate::stats::Stats::build(model),
            resolvers: crate::resolvers::sections(model)?,
        })
    }

    /// The compression settings of the proxy at index `i`.
    #[inline]
    pub fn compression(&self, i: usize) -> Option<&crate::http::compression::ProxyCompression> {
        self.compression.get(i).and_then(Option::as_ref)
    }

    /// The backend at proxy index `i`.
    #[inline]
    pub fn backend(&self, i: usize) -> Option<&Backend> {
        self.backends.get(i).and_then(Option::as_ref)
    }

    /// The rules of the proxy at index `i`, when it has any.
    #[inline]
    pub fn rules(&self, i: usize) -> Option<&ProxyRules> {
        self.rules.get(i).and_then(Option::as_ref)
    }

    /// The `option originalto` header for a request of frontend `fe` sent by backend `be` on
    /// a connection to `dst`.
    #[inline]
    pub fn original_to(
        &self,
        fe: usize,
        be: usize,
        dst: Option<std::net::IpAddr>,
    ) -> Option<(&str, std::net::IpAddr)> {
        let side = |i: usize| self.original_to.get(i).and_then(Option::as_ref);
        OriginalTo::header_for(side(fe), side(be), dst)
    }

    /// The `monitor-uri` of the frontend at proxy index `i`.
    #[inline]
    pub fn monitor_uri(&self, i: usize) -> Option<&[u8]> {
        self.monitor_uri.get(i).and_then(Option::as_deref)
    }

    /// The `unique-id-format` (and header) of the frontend at proxy index `i`.
    #[inline]
    pub fn unique_id(&self, i: usize) -> Option<&UniqueIdConf> {
        self.unique_id.get(i).and_then(Option::as_ref)
    }

    /// The frontend at proxy index `i`.
    #[inline]
    pub fn frontend(&self, i: usize) -> Option<&Frontend> {
        self.frontends.get(i).and_then(Option::as_ref)
    }

    /// The configured timeout `kind` of a stream of frontend `fe` on backend `be` (the
    /// frontend itself before one is chosen), as `fe_client_timeout`, `be_server_timeout`...
    /// report it: `ZERO` when unset, `None` when the proxy has no such side.
    pub fn configured_timeout(
        &self,
        fe: usize,
        be: Option<usize>,
        kind: sluice_rules::TimeoutKind,
    ) -> Option<Duration> {
        use sluice_rules::TimeoutKind as K;
        let be_idx = be.unwrap_or(fe);
        let v = match kind {
            K::Client => self.frontend(fe)?.client,
            K::Tarpit => self.rules(be_idx).or(self.rules(fe)).and_then(|r| r.tarpit),
            K::Connect => self.backend(be_idx)?.connect,
            K::Queue => self.backend(be_idx)?.queue_timeout,
            K::Server => self.backend(be_idx)?.server,
            K::Tunnel => self.backend(be_idx)?.tunnel,
        };
        Some(v.unwrap_or(Duration::ZERO))
    }
}

/// A timeout of `proxy`, `None` when unset or zero (no timeout).
pub fn timeout(proxy: &Proxy, name: &str) -> Option<Duration> {
    proxy
        .timeouts
        .get(name)
        .map(|t| t.value)
        .filter(|d| !d.is_zero())
}
