//! The backend side of a proxy: its servers, how one is chosen, how connections to them are
//! opened ([`connect`]) and kept for reuse ([`pool`]).

pub mod connect;
pub mod h2_client;
pub mod pool;
pub mod queue;
pub mod retry;
pub mod server;
pub mod socks4;
pub mod takeover;

use crate::errors::ErrorPages;
use crate::http::cookie::CookieConfig;
use crate::http::forwardfor::ForwardFor;
use crate::plan::{timeout, ConnMode};
use server::Server;
use sluice_balance::{Algorithm, Balancer, ServerState, Snapshot};
use sluice_model::proxy::balance::Algorithm as ModelAlgorithm;
use sluice_model::{Mode, Proxy};
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// `http-reuse`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reuse {
    /// Idle connections stay with the client connection that opened them.
    Never,
    /// HAProxy's default: the first request of a client connection gets a server
    /// connection of its own; later ones may use any idle connection.
    Safe,
    /// A first request may use an idle connection that served more than one request (so
    /// the server keeps connections open); later ones any.
    Aggressive,
    /// Any request may use any idle connection.
    Always,
}

/// A backend (or the backend side of a listen section).
pub struct Backend {
    pub name: String,
    pub mode: Mode,
    pub servers: Vec<Server>,
    pub balance: sluice_balance::Balance,
    pub snapshot: Snapshot,
    pub connect: Option<Duration>,
    pub server: Option<Duration>,
    pub server_fin: Option<Duration>,
    pub tunnel: Option<Duration>,
    /// Extra attempts after a failed connection (`retries`, default 3).
    pub retries: u32,
    /// `option redispatch`: the last retry goes to another server.
    pub redispatch: bool,
    /// What is retried (`retry-on`, default `conn-failure`).
    pub retry_on: retry::RetryOn,
    /// `option abortonclose`: a request whose client closes before it reaches a server
    /// (queued, connecting, between retries) is abandoned. HAProxy 3.x's default in HTTP
    /// mode; `no option abortonclose` turns it off.
    pub abortonclose: bool,
    /// Requests waiting for a server slot (`maxconn`), shared by the threads.
    pub queue: Arc<queue::Queue>,
    /// `timeout queue`, or `timeout connect` when unset.
    pub queue_timeout: Option<Duration>,
    /// `cookie`: persistence by cookie.
    pub cookie: Option<CookieConfig>,
    /// `option persist`: a cookie naming a disabled server still goes there.
    pub persist: bool,
    pub reuse: Reuse,
    pub conn_mode: ConnMode,
    /// `option http-no-delay`: body bytes leave at once, never corked with `MSG_MORE`.
    pub http_no_delay: bool,
    /// `option http-pretend-keepalive`: a server connection closed after the response is
    /// not announced with `connection: close` in the request.
    pub pretend_keepalive: bool,
    /// `option http-drop-request-trailers`: the trailer fields of chunked requests are
    /// not sent to the server.
    pub drop_request_trailers: bool,
    pub forwardfor: Option<ForwardFor>,
    pub errors: ErrorPages,
    /// Whether per-server request counts matter (leastconn, first, server maxconn); when
    /// not, the request path skips the shared counters. Turned on for good when a limit
    /// is set at run time.
    pub track: std::sync::atomic::AtomicBool,
    /// Moves when a server changes state: threads then rebuild their balancers.
    pub epoch: crate::check::state::Epoch,
    /// A per-request SNI (`sni req.hdr(host)`, `sni ssl_fc_sni`) some server uses: the
    /// session finds its value before a connection is opened.
    pub sni: Option<crate::tls::connector::Sni>,
    /// The only server is the `dispatch` address.
    pub dispatch: bool,
    /// Some server is sent PROXY v2 headers, whose TLVs may need the stream (the client's
    /// ALPN, `proxy-v2-options`, `set-proxy-v2-tlv-fmt`): the session hands it over.
    pub proxy_v2: bool,
    /// The proxy's `id`, when the configuration sets one (`be_id`).
    pub id: Option<i64>,
    /// Stream rates of the backend and its servers (`be_sess_rate`, `srv_sess_rate`).
    pub gauges: crate::gauges::BackendGauges,
}

/// The name of the implicit server of a `dispatch` line (never shown).
const DISPATCH: &str = "<dispatch>";

impl Backend {
    /// Resolves the backend side of `proxy` (server names are resolved now, TLS files
    /// loaded).
    pub fn build(model: &sluice_model::Model, proxy: &Proxy) -> io::Result<Backend> {
        // `dispatch <addr>:<port>` in a backend without servers: one implicit server.
        let implicit: Vec<sluice_model::proxy::server::Server> = proxy
            .dispatch
            .as_ref()
            .filter(|_| proxy.servers.is_empty())
            .map(|d| sluice_model::proxy::server::Server {
                name: DISPATCH.to_string(),
                address: d.value.clone(),
                options: Default::default(),
                location: d.location,
            })
            .into_iter()
            .collect();
        let dispatch = !implicit.is_empty();
        let configured = if dispatch { &implicit } else { &proxy.servers };
        let mut servers = Vec::with_capacity(configured.len());
        for (i, s) in configured.iter().enumerate() {
            let id = u32::try_from(i + 1).unwrap_or(u32::MAX);
            servers.push(Server::build(model, proxy, s, id)?);
        }
        let sni = servers
            .iter()
            .filter_map(|s| s.tls.as_ref())
            .map(|t| t.sni.clone())
            .find(crate::tls::connector::Sni::dynamic);
        let states: Vec<ServerState> = servers.iter().map(Server::state).collect();
        let allbackups = proxy.option("allbackups").is_some();
        let snapshot = Snapshot::new(states, allbackups);
        let balance = balance_of(proxy)?;
        let track = matches!(
            balance.kind,
            sluice_balance::Kind::LeastConn | sluice_balance::Kind::First
        ) || servers.iter().any(|s| s.maxconn > 0)
            || configured.iter().any(has_agent);
        let queue = queue::Queue::new(
            servers
                .iter()
                .map(|s| (s.connections.clone(), s.maxconn, s.maxqueue))
                .collect(),
        );
        let cookie = CookieConfig::of(proxy, &servers);
        let proxy_v2 = servers.iter().any(|s| s.send_proxy == Some(2));
        let reuse = match other_word(proxy, "http-reuse") {
            Some("never") => Reuse::Never,
            Some("always") => Reuse::Always,
            Some("aggressive") => Reuse::Aggressive,
            _ => Reuse::Safe,
        };
        let servers_len = servers.len();
        Ok(Backend {
            name: proxy.name.clone(),
            mode: proxy.mode(),
            servers,
            balance,
            snapshot,
            connect: timeout(proxy, "connect"),
            server: timeout(proxy, "server"),
            server_fin: timeout(proxy, "server-fin"),
            tunnel: timeout(proxy, "tunnel"),
            retries: proxy
                .retries
                .as_ref()
                .and_then(|r| u32::try_from(r.value).ok())
                .unwrap_or(3),
            redispatch: proxy.option("redispatch").is_some(),
            retry_on: retry::RetryOn::of(proxy),
            abortonclose: abortonclose(proxy),
            queue,
            queue_timeout: timeout(proxy, "queue").or_else(|| timeout(proxy, "connect")),
            cookie,
            persist: proxy.option("persist").is_some(),
            reuse,
            conn_mode: ConnMode::of(proxy),
            http_no_delay: proxy.option("http-no-delay").is_some(),
            pretend_keepalive: proxy.option("http-pretend-keepalive").is_some(),
            drop_request_trailers: proxy.option("http-drop-request-trailers").is_some(),
            forwardfor: ForwardFor::of(proxy),
            errors: ErrorPages::load(proxy)?,
            track: track.into(),
            epoch: Default::default(),
            sni,
            dispatch,
            proxy_v2,
            id: crate::frontend::configured_id(proxy),
            gauges: crate::gauges::BackendGauges::new(servers_len),
        })
    }

    /// The name of the server at `i` as logs and `srv_name` show it: none for the
    /// `dispatch` address (HAProxy logs `<NOSRV>`: it is not a server).
    pub fn server_name(&self, i: usize) -> Option<&str> {
        if self.dispatch {
            return None;
        }
        self.servers.get(i).map(|s| s.name.as_str())
    }

    /// A balancer for one thread (built off the hot path).
    pub fn balancer(&self) -> Balancer {
        Balancer::build(&self.balance, &self.snapshot)
    }

    /// The server a balancer's `ServerId` names (ids are positions from 1).
    #[inline]
    pub fn server_index(&self, id: sluice_balance::ServerId) -> Option<usize> {
        let i = usize::try_from(id.0).ok()?.checked_sub(1)?;
        (i < self.servers.len()).then_some(i)
    }
}

/// `option abortonclose` as set (last line wins, `no` included), else on in HTTP mode.
fn abortonclose(proxy: &Proxy) -> bool {
    proxy
        .options
        .iter()
        .rev()
        .find(|o| o.name == "abortonclose")
        .map_or(proxy.mode() == Mode::Http, |o| !o.negated)
}

/// The first word after `keyword` on the proxy's last line of that keyword.
fn other_word<'p>(proxy: &'p Proxy, keyword: &str) -> Option<&'p str> {
    proxy
        .other
        .iter()
        .rev()
        .find(|s| s.keyword() == keyword)
        .and_then(|s| s.words.get(1))
        .map(|w| w.text.as_str())
}

/// The balancing algorithm: the model's `balance` line in sluice-balance's words, with
/// `hash-type`. No `balance` line means HAProxy's default (`random`).
fn balance_of(proxy: &Proxy) -> io::Result<sluice_balance::Balance> {
    let Some(b) = &proxy.balance else {
        return Ok(sluice_balance::Balance::default());
    };
    let mut words: Vec<String> = match &b.algorithm {
        ModelAlgorithm::RoundRobin => vec!["roundrobin".into()],
        ModelAlgorithm::StaticRr => vec!["static-rr".into()],
        ModelAlgorithm::LeastConn => vec!["leastconn".into()],
        ModelAlgorithm::First => vec!["first".into()],
        ModelAlgorithm::Source => vec!["source".into()],
        ModelAlgorithm::Uri => vec!["uri".into()],
        ModelAlgorithm::UrlParam(n) => vec!["url_param".into(), n.clone()],
        ModelAlgorithm::Hdr(h) => vec![format!("hdr({h})")],
        ModelAlgorithm::Random(None) => vec!["random".into()],
        ModelAlgorithm::Random(Some(d)) => vec![format!("random({d})")],
        ModelAlgorithm::RdpCookie(None) => vec!["rdp-cookie".into()],
        ModelAlgorithm::RdpCookie(Some(c)) => vec![format!("rdp-cookie({c})")],
        ModelAlgorithm::Hash(e) => vec!["hash".into(), e.clone()],
        ModelAlgorithm::LogHash(_) | ModelAlgorithm::Sticky => vec!["roundrobin".into()],
    };
    words.extend(b.args.iter().cloned());
    let mut balance = sluice_balance::Balance::parse(&words).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("backend '{}': balance: {e}", proxy.name),
        )
    })?;
    if let Some(ht) = proxy
        .other
        .iter()
        .rev()
        .find(|s| s.keyword() == "hash-type")
    {
        let args: Vec<&str> = ht.words.iter().skip(1).map(|w| w.text.as_str()).collect();
        if let Ok(t) = sluice_balance::parse_hash_type(&args) {
            balance = balance.with_hash_type(t);
        }
    }
    Ok(balance)
}

/// Whether `server` runs an agent check, whose replies may set a connection limit: its
/// connections are then counted from the start.
fn has_agent(server: &sluice_model::proxy::server::Server) -> bool {
    server
        .options
        .other
        .iter()
        .rev()
        .find(|(n, _, _)| n == "agent-check" || n == "no-agent-check")
        .is_some_and(|(n, _, _)| n == "agent-check")
}
