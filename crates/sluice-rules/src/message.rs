//! What rules read and change: the HTTP head ([`HttpMessage`]), the connection
//! ([`Connection`]) and the transaction's variables and captures ([`Txn`]). The data plane
//! implements the first two over its own types; [`SimpleMessage`] is an in-memory head for
//! tests and tools.

use crate::sample::value::OwnedValue;
use crate::sample::Value;
use std::cell::RefCell;
use std::net::SocketAddr;
use std::time::Duration;

/// An HTTP request or response head, as the data plane holds it.
///
/// Header names compare case-insensitively; headers keep their order and duplicates. Index
/// based so that evaluation walks headers without allocating.
pub trait HttpMessage {
    /// Request method (`GET`); empty for a response.
    fn method(&self) -> &[u8];
    /// Request target as received (`/a/b?x=1`, or absolute form); empty for a response.
    fn uri(&self) -> &[u8];
    /// Protocol version as on the wire (`HTTP/1.1`).
    fn version(&self) -> &[u8];
    /// Response status; 0 for a request.
    fn status(&self) -> u16;
    /// Number of header fields.
    fn header_count(&self) -> usize;
    /// Header field `index` as (name, value), value without surrounding blanks.
    fn header(&self, index: usize) -> Option<(&[u8], &[u8])>;
    /// Replaces the method.
    fn set_method(&mut self, method: &[u8]);
    /// Replaces the request target.
    fn set_uri(&mut self, uri: &[u8]);
    /// Replaces the status (and reason, when given).
    fn set_status(&mut self, status: u16, reason: Option<&[u8]>);
    /// Appends a header field.
    fn add_header(&mut self, name: &[u8], value: &[u8]);
    /// Replaces the value of header field `index`.
    fn set_header_value(&mut self, index: usize, value: &[u8]);
    /// Removes header field `index` (later fields shift down by one).
    fn remove_header(&mut self, index: usize);

    /// Bytes the header fields take on the wire (`name: value` and CRLF each): what
    /// rewrites are measured against (`tune.maxrewrite`).
    fn fields_size(&self) -> usize {
        (0..self.header_count())
            .filter_map(|i| self.header(i))
            .map(|(n, v)| field_size(n, v))
            .sum()
    }

    /// Index of the first field named `name` at or after `from`.
    fn find_header(&self, name: &[u8], from: usize) -> Option<usize> {
        (from..self.header_count()).find(|&i| {
            self.header(i)
                .is_some_and(|(n, _)| n.eq_ignore_ascii_case(name))
        })
    }

    /// Removes every field named `name`; returns how many.
    fn remove_headers(&mut self, name: &[u8]) -> usize {
        let mut removed = 0;
        let mut i = self.header_count();
        while i > 0 {
            i -= 1;
            if self
                .header(i)
                .is_some_and(|(n, _)| n.eq_ignore_ascii_case(name))
            {
                self.remove_header(i);
                removed += 1;
            }
        }
        removed
    }

    /// `set-header`: removes every field named `name`, then appends one.
    fn set_header(&mut self, name: &[u8], value: &[u8]) {
        self.remove_headers(name);
        self.add_header(name, value);
    }
}

/// Bytes one header field takes on the wire: the name, `: `, the value and CRLF.
pub fn field_size(name: &[u8], value: &[u8]) -> usize {
    name.len() + value.len() + 4
}

/// A timeout of a stream that `set-timeout` may change (`cur_<name>_timeout` fetches).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeoutKind {
    /// `timeout client` (the frontend's).
    Client,
    /// `timeout connect` (the backend's).
    Connect,
    /// `timeout queue` (the backend's).
    Queue,
    /// `timeout server` (the backend's).
    Server,
    /// `timeout tarpit`.
    Tarpit,
    /// `timeout tunnel` (the backend's).
    Tunnel,
}

impl TimeoutKind {
    /// Every kind, in the order of [`StreamChanges::timeouts`].
    pub const ALL: [TimeoutKind; 6] = [
        TimeoutKind::Client,
        TimeoutKind::Connect,
        TimeoutKind::Queue,
        TimeoutKind::Server,
        TimeoutKind::Tarpit,
        TimeoutKind::Tunnel,
    ];

    /// The kind named `name` (`server`, `tunnel`...).
    pub fn parse(name: &str) -> Option<TimeoutKind> {
        Some(match name {
            "client" => TimeoutKind::Client,
            "connect" => TimeoutKind::Connect,
            "queue" => TimeoutKind::Queue,
            "server" => TimeoutKind::Server,
            "tarpit" => TimeoutKind::Tarpit,
            "tunnel" => TimeoutKind::Tunnel,
            _ => return None,
        })
    }

    /// Position in [`StreamChanges::timeouts`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// What rules changed of the stream itself: its addresses (`set-src`, `set-dst`,
/// `set-src-port`, `set-dst-port`) and timeouts (`set-timeout`). Later rules and fetches
/// see the changes; the data plane applies them to the stream once the rules ran.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamChanges {
    /// The client address, when a rule replaced it.
    pub src: Option<SocketAddr>,
    /// The destination address, when a rule replaced it.
    pub dst: Option<SocketAddr>,
    /// By [`TimeoutKind::index`]: the timeouts a rule set.
    pub timeouts: [Option<Duration>; 6],
    /// `set-retries`: the connection retries of this stream, in place of the backend's.
    pub retries: Option<u32>,
    /// `pause`: how long the analysis waits once the rules ran (the sum of the pauses).
    pub pause: Duration,
}

impl StreamChanges {
    /// The timeout `kind` a rule set, if any.
    pub fn timeout(&self, kind: TimeoutKind) -> Option<Duration> {
        self.timeouts.get(kind.index()).copied().flatten()
    }

    /// Forgets the backend-side settings (timeouts but `client` and `tarpit`, retries): the
    /// stream enters a backend, which sets them from its own configuration.
    pub fn enter_backend(&mut self) {
        for kind in [
            TimeoutKind::Connect,
            TimeoutKind::Queue,
            TimeoutKind::Server,
            TimeoutKind::Tunnel,
        ] {
            if let Some(slot) = self.timeouts.get_mut(kind.index()) {
                *slot = None;
            }
        }
        self.retries = None;
    }

    /// `current` with the address changes applied (`(src, dst)`).
    pub fn addrs(
        &self,
        src: Option<SocketAddr>,
        dst: Option<SocketAddr>,
    ) -> (Option<SocketAddr>, Option<SocketAddr>) {
        (self.src.or(src), self.dst.or(dst))
    }
}

/// The connection and proxy state fetches read. Every method has a default meaning "not
/// available", so an implementation fills in only what it knows.
pub trait Connection {
    /// Client address (`src`, `%ci`).
    fn src(&self) -> Option<SocketAddr> {
        None
    }
    /// Local address the client reached (`dst`, `%fi`).
    fn dst(&self) -> Option<SocketAddr> {
        None
    }
    /// The client connection's own source address (`fc_src`): rules of the session and
    /// stream levels change `src`, not this one.
    fn fc_src(&self) -> Option<SocketAddr> {
        self.src()
    }
    /// The client connection's own destination address (`fc_dst`).
    fn fc_dst(&self) -> Option<SocketAddr> {
        self.dst()
    }
    /// The configured timeout `kind` of the stream's proxies (`fe_client_timeout`,
    /// `be_server_timeout`...): `Some(ZERO)` when the proxy sets none, `None` when unknown.
    fn timeout(&self, _kind: TimeoutKind) -> Option<Duration> {
        None
    }
    /// How many bytes rewrites may add to the message's head in all before they fail (the
    /// room its buffer has left, as in HAProxy); `None` without a limit.
    fn rewrite_room(&self) -> Option<usize> {
        None
    }
    /// The backend's `retries` (`be_max_retries`), `None` when unknown.
    fn max_retries(&self) -> Option<i64> {
        None
    }
    /// Frontend name (`%f`, `fe_name`).
    fn frontend_name(&self) -> &str {
        ""
    }
    /// Backend chosen so far (`%b`, `be_name`).
    fn backend_name(&self) -> Option<&str> {
        None
    }
    /// Server chosen so far (`%s`, `srv_name`).
    fn server_name(&self) -> Option<&str> {
        None
    }
    /// Current connections on the frontend (`fe_conn`).
    fn fe_conn(&self) -> Option<i64> {
        None
    }
    /// Current connections on a backend, the current one when `None` (`be_conn`).
    fn be_conn(&self, _backend: Option<&str>) -> Option<i64> {
        None
    }
    /// Usable servers of a backend (`nbsrv`), `None` when unknown.
    fn nbsrv(&self, _backend: &str) -> Option<i64> {
        None
    }
    /// Whether a server is up (`srv_is_up`), `None` when unknown.
    fn srv_is_up(&self, _backend: &str, _server: &str) -> Option<bool> {
        None
    }
    /// Whether the client connection is TLS (`ssl_fc`).
    fn ssl_fc(&self) -> bool {
        false
    }
    /// The HTTP status of the transaction, whether the server or a rule produced it
    /// (`txn.status`), when the connection knows it better than the response head.
    fn txn_status(&self) -> Option<i64> {
        None
    }
    /// The stream's termination state as the log reports it (`txn.sess_term_state`), once
    /// known; `--` before.
    fn sess_term_state(&self) -> Option<[u8; 2]> {
        None
    }
    /// Request bytes buffered so far in TCP mode (`req.len`, `req.ssl_sni`), `None` outside
    /// content inspection.
    fn payload(&self) -> Option<&[u8]> {
        None
    }
    /// Response bytes buffered so far (`res.len`, `res.payload`), `None` outside
    /// `tcp-response content` inspection.
    fn res_payload(&self) -> Option<&[u8]> {
        None
    }
    /// Whether the rules run on the response (`tcp-response content`): the unprefixed
    /// `payload` and `payload_lv` then read the response buffer.
    fn on_response(&self) -> bool {
        false
    }
    /// Whether the inspected contents can no longer change (HAProxy's "final" evaluation):
    /// the inspect-delay is over, the buffer is full or the peer closed. Before that, a rule
    /// whose condition cannot tell yet waits for more (`wait_end` is true only then).
    fn contents_final(&self) -> bool {
        true
    }
    /// Whether the stream is a raw TCP stream (`mode tcp` before any switch to HTTP):
    /// HTTP fetches there read the buffered bytes as an HTTP/1 request, and
    /// `internal.strm.is_htx` is false.
    fn raw_stream(&self) -> bool {
        false
    }
    /// Whether, on a raw TCP stream, the buffered bytes start an HTTP/1 request whose head
    /// is not all there yet: HTTP request fetches cannot tell yet and wait for more.
    fn request_head_pending(&self) -> bool {
        false
    }
    /// The request body received so far, without chunk framing (`req.body`): what rules
    /// that waited for it (`wait-for-body`, `option http-buffer-request`) see.
    fn req_body(&self) -> Option<&[u8]> {
        None
    }
    /// The request body's announced length (`Content-Length`; `req.body_size`).
    fn req_body_size(&self) -> Option<u64> {
        None
    }
    /// The response body received so far, without chunk framing (`res.body`).
    fn res_body(&self) -> Option<&[u8]> {
        None
    }
    /// The response body's announced length (`res.body_size`).
    fn res_body_size(&self) -> Option<u64> {
        None
    }
    /// Unique request id (`%ID`, `unique-id`).
    fn unique_id(&self) -> Option<&[u8]> {
        None
    }
    /// Where the request's unique ID is kept and the format that makes it
    /// (`unique-id-format`), when the frontend has one.
    fn unique_id_source(&self) -> Option<(&crate::UniqueId, &crate::LogFormat)> {
        None
    }
    /// Numeric id of the frontend (`fe_id`): its `id` keyword, else HAProxy's automatic one.
    fn frontend_id(&self) -> Option<i64> {
        None
    }
    /// Numeric id of the backend chosen so far (`be_id`).
    fn backend_id(&self) -> Option<i64> {
        None
    }
    /// Numeric id of the server chosen so far (`srv_id`).
    fn server_id(&self) -> Option<i64> {
        None
    }
    /// Requests waiting in a backend's queues (`queue`), the current backend when `None`.
    fn queue(&self, _backend: Option<&str>) -> Option<i64> {
        None
    }
    /// Free connection and queue slots of a backend (`connslots`), the current one when
    /// `None`; HAProxy gives -1 when a usable server has no `maxconn` or no `maxqueue`.
    fn connslots(&self, _backend: Option<&str>) -> Option<i64> {
        None
    }
    /// The SNI the client sent on a TLS connection (`ssl_fc_sni`).
    fn ssl_sni(&self) -> Option<&[u8]> {
        None
    }
    /// The protocol negotiated by ALPN on a TLS connection (`ssl_fc_alpn`).
    fn ssl_alpn(&self) -> Option<&[u8]> {
        None
    }
    /// The TLVs of the PROXY v2 header the client connection started with, as received
    /// (`fc_pp_tlv`, `fc_pp_authority`, `fc_pp_unique_id`); `None` without one.
    fn proxy_tlvs(&self) -> Option<&[u8]> {
        None
    }
    /// A counter the kernel keeps on the client's TCP connection (`fc_rtt`, `fc_lost`...);
    /// `None` when not TCP or not known.
    fn fc_tcp_info(&self, _field: TcpInfoField) -> Option<i64> {
        None
    }
    /// Whether the exchange is the first of its client connection (`http_first_req`).
    fn http_first_req(&self) -> Option<bool> {
        None
    }
    /// Whether the server connection was reused from an earlier exchange (`bc_reused`).
    fn bc_reused(&self) -> Option<bool> {
        None
    }
    /// The `name` of the bind line that accepted the connection (`so_name`).
    fn listener_name(&self) -> Option<&str> {
        None
    }
    /// The numeric id of the listening socket that accepted the connection (`so_id`).
    fn listener_id(&self) -> Option<i64> {
        None
    }
    /// Connections open now on the listening socket of this one, itself included
    /// (`dst_conn`).
    fn listener_conn(&self) -> Option<i64> {
        None
    }
    /// Connections open now on the whole process (`act_conn`).
    fn act_conn(&self) -> Option<i64> {
        None
    }
    /// Whether the process is stopping (`stopping`).
    fn stopping(&self) -> bool {
        false
    }
    /// The counters of a frontend (`fe_sess_rate`...), the stream's when `None`.
    fn frontend_state(&self, _frontend: Option<&str>) -> Option<ProxyState> {
        None
    }
    /// The counters of a backend (`be_sess_rate`, `be_conn_free`...), the stream's when
    /// `None`.
    fn backend_state(&self, _backend: Option<&str>) -> Option<ProxyState> {
        None
    }
    /// The state of a server (`srv_weight`, `srv_conn`...), in the stream's backend when
    /// `backend` is `None`.
    fn server_state(&self, _backend: Option<&str>, _server: &str) -> Option<ServerState> {
        None
    }
    /// The stream's connection to its server, once there is one (`bc_src`, `bc_rtt`...).
    fn backend_connection(&self) -> Option<BackendConnection> {
        None
    }
    /// A `TCP_INFO` counter of the connection to the server (`bc_rtt`, `bc_rttvar`).
    fn bc_tcp_info(&self, _field: TcpInfoField) -> Option<i64> {
        None
    }
    /// The HTTP major version on the wire of the client connection (`fc_http_major`).
    fn fc_http_major(&self) -> Option<i64> {
        None
    }
    /// The protocol glitches counted on the client connection (`fc_glitches`).
    fn fc_glitches(&self) -> Option<i64> {
        None
    }
    /// Whether the client connection started with a PROXY header (`fc_rcvd_proxy`).
    fn fc_rcvd_proxy(&self) -> bool {
        false
    }
    /// When the connection was accepted (or got ready for this request on a kept-alive
    /// one), and when the request's first byte came, in microseconds since the epoch
    /// (`accept_date`, `request_date`).
    fn stream_dates(&self) -> Option<StreamDates> {
        None
    }
    /// What happened to the stream so far (`when()`).
    fn stream_events(&self) -> StreamEvents {
        StreamEvents::default()
    }
    /// The stream's timers so far (`req.timer.hdr`, `res.timer.hdr`...).
    fn stream_timers(&self) -> StreamTimers {
        StreamTimers::default()
    }
    /// The HTTP status as the server sent it, before any rewrite (`server_status`).
    fn server_status(&self) -> Option<i64> {
        None
    }
    /// The algorithm compressing the response, by its configuration name (`res.comp`,
    /// `res.comp_algo`).
    fn response_compression(&self) -> Option<&'static str> {
        None
    }
    /// The frontend's own `timeout tarpit` (`fe_tarpit_timeout`), where `timeout` gives
    /// the backend's.
    fn frontend_tarpit_timeout(&self) -> Option<Duration> {
        self.timeout(TimeoutKind::Tarpit)
    }
}

/// The counters of a proxy side that fetches read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProxyState {
    /// Connections (frontends) or streams (backends) in progress.
    pub conn: i64,
    /// New sessions over the last second.
    pub sess_rate: i64,
    /// HTTP requests over the last second (frontends).
    pub req_rate: i64,
    /// Connections the proxy may still take before its servers' `maxconn` (backends);
    /// `None` when a usable server has no limit.
    pub conn_free: Option<i64>,
}

/// A server's state that fetches read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerState {
    /// The effective weight (`srv_weight`): the user's, 0 while draining.
    pub weight: i64,
    /// The configured weight (`srv_iweight`).
    pub iweight: i64,
    /// The weight set by the user on the runtime API, the configured one otherwise
    /// (`srv_uweight`).
    pub uweight: i64,
    /// Connections in use (`srv_conn`).
    pub conn: i64,
    /// `maxconn`, 0 when unlimited.
    pub maxconn: i64,
    /// Requests waiting in the server's own queue (`srv_queue`).
    pub queue: i64,
    /// New sessions over the last second (`srv_sess_rate`).
    pub sess_rate: i64,
}

/// The connection to the server that fetches read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BackendConnection {
    /// Its local address (`bc_src`).
    pub src: Option<SocketAddr>,
    /// The server's address (`bc_dst`).
    pub dst: Option<SocketAddr>,
    /// The HTTP major version spoken on it (`bc_http_major`).
    pub http_major: i64,
    /// Requests the stream waited behind in the backend's queue (`bc_be_queue`).
    pub be_queue: i64,
    /// Requests it waited behind in the server's queue (`bc_srv_queue`).
    pub srv_queue: i64,
}

/// The dates of a stream, in microseconds since the epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamDates {
    /// `accept_date`.
    pub accept_us: i64,
    /// `request_date`.
    pub request_us: i64,
}

/// The timers of a stream in milliseconds, as far as it got (HAProxy's timing events).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamTimers {
    /// `%Ti`: idle time before the request's first byte.
    pub idle: Option<i64>,
    /// `%TR`: from the request's first byte to the end of its head.
    pub request_head: Option<i64>,
    /// `%Tq`: `%Th` + `%Ti` + `%TR`.
    pub request_total: Option<i64>,
    /// `%Tr`: from the server connection's establishment to the response head.
    pub response_head: Option<i64>,
}

/// What happened to a stream so far, for `when()`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamEvents {
    /// Sluice answered with an error, or the exchange failed.
    pub error: bool,
    /// A connection to a server was attempted.
    pub forwarded: bool,
    /// An internal service answered (the statistics page).
    pub to_applet: bool,
}

/// The `TCP_INFO` counters fetches read (`fc_<name>`). Times are in microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpInfoField {
    /// Smoothed round trip time.
    Rtt,
    /// Its variance.
    RttVar,
    /// Segments sent and not acknowledged.
    Unacked,
    /// Segments selectively acknowledged.
    Sacked,
    /// Segments considered lost.
    Lost,
    /// Segments being retransmitted.
    Retrans,
    /// Forward-acknowledged segments.
    Fackets,
    /// Reordering tolerance.
    Reordering,
}

/// A connection that knows nothing (tests, configuration checks).
#[derive(Clone, Debug, Default)]
pub struct NoConnection;

impl Connection for NoConnection {}

/// Transaction variables (`set-var`, `var()`), keyed by their full name (`txn.user`).
///
/// The scopes `sess`, `txn`, `req` and `res` live here per transaction; `proc` variables
/// go to the process-wide store ([`crate::proc_vars`]). `sess.*` variables outlive a request: the
/// data plane keeps them with the client connection between requests
/// ([`Vars::take_session`], [`Vars::put_session`]) and [`Txn::clear`] keeps them.
///
/// The stream's stick counters ride along: the session's are kept with `sess.*`, the
/// transaction's end with it (see [`crate::stick`]).
#[derive(Clone, Debug, Default)]
pub struct Vars {
    entries: Vec<(Box<str>, OwnedValue)>,
    /// Tracked stick-table entries (`sc0`, `sc1`...).
    pub stick: crate::stick::StickCounters,
    /// The last rule that ended a rule set of the transaction (`last_rule_file`,
    /// `last_rule_line`): it rides along with the variables to the log line.
    pub last_rule: Option<crate::origin::RuleOrigin>,
    /// Variables a converter set while an expression was evaluated (`aes_gcm_enc` stores
    /// its tag): they take effect once the rule is done ([`Vars::apply_deferred`]).
    deferred: RefCell<Vec<(Box<str>, OwnedValue)>>,
}

impl Vars {
    /// The variable `name`.
    pub fn get(&self, name: &str) -> Option<&OwnedValue> {
        self.entries
            .iter()
            .find(|(n, _)| n.as_ref() == name)
            .map(|(_, v)| v)
    }

    /// Every variable with its full name, in the order they were first set.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &OwnedValue)> {
        self.entries.iter().map(|(n, v)| (n.as_ref(), v))
    }

    /// Sets the variable `name` once the running rule is done: for converters, which see
    /// the variables read-only.
    pub fn set_deferred(&self, name: &str, value: Value<'_>) {
        if let Ok(mut d) = self.deferred.try_borrow_mut() {
            d.push((name.into(), value.into_owned()));
        }
    }

    /// Sets the variables converters asked for ([`Vars::set_deferred`]).
    pub fn apply_deferred(&mut self) {
        // Called after every rule: nothing pending is the common case.
        if self.deferred.get_mut().is_empty() {
            return;
        }
        let pending = std::mem::take(self.deferred.get_mut());
        for (name, value) in pending {
            self.set_now(&name, value);
        }
    }

    /// Sets (or replaces) the variable `name`.
    pub fn set(&mut self, name: &str, value: Value<'_>) {
        // What the expression that made `value` set comes first.
        if !self.deferred.get_mut().is_empty() {
            self.apply_deferred();
        }
        self.set_now(name, value.into_owned());
    }

    fn set_now(&mut self, name: &str, value: OwnedValue) {
        if crate::proc_vars::is_proc(name) {
            return crate::proc_vars::set(name, value);
        }
        match self.entries.iter_mut().find(|(n, _)| n.as_ref() == name) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((name.into(), value)),
        }
    }

    /// Removes the variable `name`.
    pub fn unset(&mut self, name: &str) {
        if crate::proc_vars::is_proc(name) {
            return crate::proc_vars::unset(name);
        }
        self.entries.retain(|(n, _)| n.as_ref() != name);
    }

    /// Forgets every variable.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.stick.clear();
        self.last_rule = None;
    }

    /// Whether no variable is set and nothing is tracked.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.stick.is_empty()
    }

    /// Forgets every variable but the session's (`sess.*`): a new transaction on a
    /// kept-alive connection.
    pub fn clear_request(&mut self) {
        self.last_rule = None;
        self.entries.retain(|(n, _)| is_session(n));
        self.stick.end_transaction();
    }

    /// Whether a session variable (`sess.*`) is set, or a stick counter tracks something
    /// (the session's are kept, the transaction's must end with [`Vars::take_session`]).
    pub fn has_session(&self) -> bool {
        self.entries.iter().any(|(n, _)| is_session(n)) || !self.stick.is_empty()
    }

    /// Moves the session variables (`sess.*`) into `into`, replacing what it held; the other
    /// variables stay. Allocates only when `into` must grow.
    pub fn take_session(&mut self, into: &mut Vars) {
        self.stick.take_session(&mut into.stick);
        into.entries.clear();
        let mut i = 0;
        while i < self.entries.len() {
            if is_session(&self.entries[i].0) {
                into.entries.push(self.entries.swap_remove(i));
            } else {
                i += 1;
            }
        }
    }

    /// Replaces every variable with the session variables of `from` (emptied): the start of
    /// a transaction on a connection that has some.
    pub fn put_session(&mut self, from: &mut Vars) {
        self.stick.put_session(&mut from.stick);
        self.entries.clear();
        self.entries.append(&mut from.entries);
    }
}

/// Whether `name` is a session-scoped variable.
fn is_session(name: &str) -> bool {
    name.starts_with("sess.")
}

/// Per-transaction state rules write: variables, captures and the server `use-server` picked.
/// The data plane keeps one per stream and clears it between requests.
#[derive(Clone, Debug, Default)]
pub struct Txn {
    /// Variables.
    pub vars: Vars,
    /// Capture slots (`declare capture`, `capture ... id N` / `len N`, `capture-req()`...)
    /// and the request and status lines the `capture.*` fetches read.
    pub captures: TxnCaptures,
    /// Addresses and timeouts rules changed for this stream.
    pub changes: StreamChanges,
    /// Reused buffer for rendered values, so rules do not allocate per header.
    pub(crate) scratch: Vec<u8>,
    /// A `tcp-request connection expect-proxy layer4` rule matched: the connection starts
    /// with a PROXY header.
    pub expect_proxy: bool,
    /// A `tcp-request connection expect-netscaler-cip layer4` rule matched: the connection
    /// starts with a NetScaler CIP header.
    pub expect_netscaler_cip: bool,
    /// Rewrites that failed this transaction (a value grown past what a header may hold,
    /// a head grown past its buffer's room); the data plane counts them (`failed_rewrites`).
    pub failed_rewrites: u32,
    /// The size of the request's and the response's heads when their rules first ran:
    /// what rewrites add is measured from there.
    pub head_sizes: [Option<usize>; 2],
    /// The header fields `http-request early-hint` rules gave, in order: the data plane
    /// sends them in a 103 Early Hints response before anything else.
    pub early_hints: Vec<(Box<[u8]>, Vec<u8>)>,
    /// A `tcp-request content switch-mode http` rule ran: the stream goes on as HTTP, with
    /// the multiplexer it names.
    pub switch_http: Option<HttpMux>,
}

/// The HTTP multiplexer a `switch-mode http [proto <name>]` rule asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpMux {
    /// No `proto`: HTTP/1, or HTTP/2 when the client starts with its preface.
    Auto,
    /// `proto h1`: HTTP/1 only.
    H1,
    /// `proto h2`: HTTP/2 from the first byte.
    H2,
}

impl Txn {
    /// A fresh transaction.
    pub fn new() -> Self {
        Self::default()
    }

    /// Resets for the next request on the same connection; the session variables
    /// (`sess.*`) stay.
    pub fn clear(&mut self) {
        self.vars.clear_request();
        self.captures.clear();
        self.changes = StreamChanges::default();
        self.failed_rewrites = 0;
        self.head_sizes = [None; 2];
        self.early_hints.clear();
        self.switch_http = None;
    }

    /// The stream enters a backend other than its frontend (see
    /// [`StreamChanges::enter_backend`]).
    pub fn enter_backend(&mut self) {
        self.changes.enter_backend();
    }
}

/// One capture slot: its length limit and what it holds this transaction.
#[derive(Clone, Debug, Default)]
struct Slot {
    limit: usize,
    filled: bool,
    value: Vec<u8>,
}

/// The capture slots of one direction (request or response), numbered from 0 in the order
/// the frontend declares them. Written through a shared reference (the `capture-req()`
/// converter runs where only the sample source is at hand); the buffers are kept between
/// transactions, so a capture allocates only when a value outgrows its buffer.
#[derive(Clone, Debug, Default)]
pub struct CaptureSlots {
    slots: RefCell<Vec<Slot>>,
}

impl CaptureSlots {
    /// Makes one empty slot per limit in `limits`, in order.
    pub fn reset(&mut self, limits: &[usize]) {
        let slots = self.slots.get_mut();
        slots.truncate(limits.len());
        for s in slots.iter_mut() {
            s.filled = false;
            s.value.clear();
        }
        for (i, limit) in limits.iter().enumerate() {
            match slots.get_mut(i) {
                Some(s) => s.limit = *limit,
                None => slots.push(Slot {
                    limit: *limit,
                    ..Slot::default()
                }),
            }
        }
    }

    /// Empties every slot (the slots stay).
    pub fn clear(&mut self) {
        for s in self.slots.get_mut().iter_mut() {
            s.filled = false;
            s.value.clear();
        }
    }

    /// Number of slots.
    pub fn len(&self) -> usize {
        self.slots.borrow().len()
    }

    /// Whether there is no slot.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stores `value` (truncated to the slot's length) in slot `id`, `limit` bytes at most;
    /// `false` when there is no such slot.
    pub fn set(&self, id: usize, value: &[u8], limit: usize) -> bool {
        let Ok(mut slots) = self.slots.try_borrow_mut() else {
            return false;
        };
        let Some(s) = slots.get_mut(id) else {
            return false;
        };
        let n = value.len().min(s.limit).min(limit);
        s.value.clear();
        s.value.extend_from_slice(&value[..n]);
        s.filled = true;
        true
    }

    /// Empties slot `id` (a capture whose sample was missing).
    pub fn unset(&self, id: usize) {
        if let Ok(mut slots) = self.slots.try_borrow_mut() {
            if let Some(s) = slots.get_mut(id) {
                s.filled = false;
                s.value.clear();
            }
        }
    }

    /// A copy of what slot `id` holds, `None` when it is empty or does not exist.
    pub fn get(&self, id: usize) -> Option<Vec<u8>> {
        let slots = self.slots.try_borrow().ok()?;
        slots.get(id).filter(|s| s.filled).map(|s| s.value.clone())
    }
}

/// A transaction's captures: the slots of both directions and the request and status
/// lines kept for the response side (`capture.req.method`, `capture.req.uri`,
/// `capture.req.ver`, `capture.res.ver`).
#[derive(Clone, Debug, Default)]
pub struct TxnCaptures {
    /// Request slots.
    pub request: CaptureSlots,
    /// Response slots.
    pub response: CaptureSlots,
    /// The request's method.
    pub method: Vec<u8>,
    /// The request's URI from its first slash (no scheme or authority), up to a space.
    pub uri: Vec<u8>,
    /// The request's version (`HTTP/1.1`), empty when not valid.
    pub req_version: Vec<u8>,
    /// The response's version, empty when none was seen or not valid.
    pub res_version: Vec<u8>,
}

impl TxnCaptures {
    /// Empties everything for the next transaction (the buffers stay).
    pub fn clear(&mut self) {
        self.request.clear();
        self.response.clear();
        self.method.clear();
        self.uri.clear();
        self.req_version.clear();
        self.res_version.clear();
    }

    /// Keeps the request line of `msg` for the response side.
    pub fn keep_request_line(&mut self, msg: &dyn HttpMessage) {
        self.method.clear();
        self.method.extend_from_slice(msg.method());
        self.uri.clear();
        self.uri.extend_from_slice(uri_from_slash(msg.uri()));
        self.req_version.clear();
        if let Some(v) = valid_version(msg.version()) {
            self.req_version.extend_from_slice(v);
        }
    }

    /// Keeps the status line's version of `msg`.
    pub fn keep_response_version(&mut self, msg: &dyn HttpMessage) {
        self.res_version.clear();
        if let Some(v) = valid_version(msg.version()) {
            self.res_version.extend_from_slice(v);
        }
    }
}

/// The part of a request target from its first slash (the path of an absolute URI) up to
/// the first space; empty when there is no slash.
fn uri_from_slash(target: &[u8]) -> &[u8] {
    let start = if target.first() == Some(&b'/') {
        0
    } else {
        // Skip `scheme://authority`.
        let after_scheme = target
            .windows(3)
            .position(|w| w == b"://")
            .map_or(0, |i| i + 3);
        match target[after_scheme..].iter().position(|b| *b == b'/') {
            Some(i) => after_scheme + i,
            None => return &[],
        }
    };
    let rest = &target[start..];
    let end = rest.iter().position(|b| *b == b' ').unwrap_or(rest.len());
    &rest[..end]
}

/// `HTTP/<digit>.<digit>`, else `None`.
fn valid_version(v: &[u8]) -> Option<&[u8]> {
    match v {
        [b'H', b'T', b'T', b'P', b'/', a, b'.', b] if a.is_ascii_digit() && b.is_ascii_digit() => {
            Some(v)
        }
        _ => None,
    }
}

/// What fetches read: the connection, the messages and the variables.
pub trait SampleSource {
    /// The connection.
    fn connection(&self) -> &dyn Connection;
    /// The request head, when the rule runs on the request.
    fn request(&self) -> Option<&dyn HttpMessage>;
    /// The response head, when the rule runs on the response.
    fn response(&self) -> Option<&dyn HttpMessage>;
    /// The transaction's variables.
    fn vars(&self) -> Option<&Vars>;
    /// What rules changed of the stream so far (addresses, timeouts).
    fn changes(&self) -> Option<&StreamChanges> {
        None
    }
    /// The transaction's captures.
    fn captures(&self) -> Option<&TxnCaptures> {
        None
    }
}

/// The usual [`SampleSource`]: references to what the data plane has at hand.
#[derive(Clone, Copy)]
pub struct Stream<'a> {
    /// The connection.
    pub conn: &'a dyn Connection,
    /// The request head, if any.
    pub request: Option<&'a dyn HttpMessage>,
    /// The response head, if any.
    pub response: Option<&'a dyn HttpMessage>,
    /// Variables, if any.
    pub vars: Option<&'a Vars>,
    /// Addresses and timeouts changed by rules, if any.
    pub changes: Option<&'a StreamChanges>,
    /// The transaction's captures, if any.
    pub captures: Option<&'a TxnCaptures>,
}

impl<'a> Stream<'a> {
    /// A stream with a connection only (TCP rules).
    pub fn tcp(conn: &'a dyn Connection) -> Self {
        Self {
            conn,
            request: None,
            response: None,
            vars: None,
            changes: None,
            captures: None,
        }
    }

    /// A stream on a request.
    pub fn request(conn: &'a dyn Connection, request: &'a dyn HttpMessage) -> Self {
        Self {
            conn,
            request: Some(request),
            response: None,
            vars: None,
            changes: None,
            captures: None,
        }
    }
}

impl SampleSource for Stream<'_> {
    fn connection(&self) -> &dyn Connection {
        self.conn
    }
    fn request(&self) -> Option<&dyn HttpMessage> {
        self.request
    }
    fn response(&self) -> Option<&dyn HttpMessage> {
        self.response
    }
    fn vars(&self) -> Option<&Vars> {
        self.vars
    }
    fn changes(&self) -> Option<&StreamChanges> {
        self.changes
    }
    fn captures(&self) -> Option<&TxnCaptures> {
        self.captures
    }
}

/// An in-memory HTTP head, for tests and tools.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SimpleMessage {
    /// Method (requests).
    pub method: Vec<u8>,
    /// Request target (requests).
    pub uri: Vec<u8>,
    /// Version, `HTTP/1.1` by default.
    pub version: Vec<u8>,
    /// Status (responses).
    pub status: u16,
    /// Reason phrase (responses).
    pub reason: Vec<u8>,
    /// Header fields in order.
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
}

impl SimpleMessage {
    /// A request `method uri HTTP/1.1` with `headers`.
    pub fn request(method: &str, uri: &str, headers: &[(&str, &str)]) -> Self {
        Self {
            method: method.as_bytes().to_vec(),
            uri: uri.as_bytes().to_vec(),
            version: b"HTTP/1.1".to_vec(),
            status: 0,
            reason: Vec::new(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
                .collect(),
        }
    }

    /// A response `HTTP/1.1 status` with `headers`.
    pub fn response(status: u16, headers: &[(&str, &str)]) -> Self {
        Self {
            status,
            ..Self::request("", "", headers)
        }
    }

    /// Values of the fields named `name`, in order, as text.
    pub fn values(&self, name: &str) -> Vec<String> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .collect()
    }

    /// The last value of the field `name`, as text.
    pub fn get(&self, name: &str) -> Option<String> {
        self.values(name).pop()
    }
}

impl HttpMessage for SimpleMessage {
    fn method(&self) -> &[u8] {
        &self.method
    }
    fn uri(&self) -> &[u8] {
        &self.uri
    }
    fn version(&self) -> &[u8] {
        &self.version
    }
    fn status(&self) -> u16 {
        self.status
    }
    fn header_count(&self) -> usize {
        self.headers.len()
    }
    fn header(&self, index: usize) -> Option<(&[u8], &[u8])> {
        self.headers
            .get(index)
            .map(|(n, v)| (n.as_slice(), v.as_slice()))
    }
    fn set_method(&mut self, method: &[u8]) {
        self.method = method.to_vec();
    }
    fn set_uri(&mut self, uri: &[u8]) {
        self.uri = uri.to_vec();
    }
    fn set_status(&mut self, status: u16, reason: Option<&[u8]>) {
        self.status = status;
        if let Some(reason) = reason {
            self.reason = reason.to_vec();
        }
    }
    fn add_header(&mut self, name: &[u8], value: &[u8]) {
        self.headers.push((name.to_vec(), value.to_vec()));
    }
    fn set_header_value(&mut self, index: usize, value: &[u8]) {
        if let Some(h) = self.headers.get_mut(index) {
            h.1 = value.to_vec();
        }
    }
    fn remove_header(&mut self, index: usize) {
        if index < self.headers.len() {
            self.headers.remove(index);
        }
    }
}

/// A connection with fixed addresses and backend state, for tests and tools.
#[derive(Clone, Debug, Default)]
pub struct SimpleConnection {
    /// Client address.
    pub src: Option<SocketAddr>,
    /// Local address.
    pub dst: Option<SocketAddr>,
    /// Frontend name.
    pub frontend: String,
    /// (backend, usable servers).
    pub nbsrv: Vec<(String, i64)>,
    /// (backend, server, up).
    pub servers: Vec<(String, String, bool)>,
    /// Buffered request bytes (TCP content inspection).
    pub payload: Option<Vec<u8>>,
    /// Buffered response bytes (`tcp-response content`).
    pub res_payload: Option<Vec<u8>>,
    /// The rules run on the response.
    pub on_response: bool,
    /// More bytes may still come (content inspection before its end).
    pub pending: bool,
    /// The request body the rules waited for.
    pub req_body: Option<Vec<u8>>,
    /// TLS on the client side.
    pub ssl: bool,
}

impl SimpleConnection {
    /// A connection from `src` to `dst` (e.g. `"10.0.0.1:5555"`); unparsable addresses are
    /// left unknown.
    pub fn new(src: &str, dst: &str) -> Self {
        Self {
            src: src.parse().ok(),
            dst: dst.parse().ok(),
            ..Self::default()
        }
    }
}

impl Connection for SimpleConnection {
    fn src(&self) -> Option<SocketAddr> {
        self.src
    }
    fn dst(&self) -> Option<SocketAddr> {
        self.dst
    }
    fn frontend_name(&self) -> &str {
        &self.frontend
    }
    fn nbsrv(&self, backend: &str) -> Option<i64> {
        self.nbsrv
            .iter()
            .find(|(b, _)| b == backend)
            .map(|(_, n)| *n)
    }
    fn srv_is_up(&self, backend: &str, server: &str) -> Option<bool> {
        self.servers
            .iter()
            .find(|(b, s, _)| b == backend && s == server)
            .map(|(_, _, up)| *up)
    }
    fn ssl_fc(&self) -> bool {
        self.ssl
    }
    fn payload(&self) -> Option<&[u8]> {
        self.payload.as_deref()
    }
    fn res_payload(&self) -> Option<&[u8]> {
        self.res_payload.as_deref()
    }
    fn on_response(&self) -> bool {
        self.on_response
    }
    fn contents_final(&self) -> bool {
        !self.pending
    }
    fn req_body(&self) -> Option<&[u8]> {
        self.req_body.as_deref()
    }
}

#[cfg(test)]
mod session_vars_tests {
    use super::*;

    fn text(v: Option<&OwnedValue>) -> Option<Vec<u8>> {
        v.map(|v| {
            let mut out = Vec::new();
            v.write_to(&mut out);
            out
        })
    }

    #[test]
    fn clear_keeps_session_variables() {
        let mut txn = Txn::new();
        txn.vars.set("sess.a", Value::string(b"1".to_vec()));
        txn.vars.set("txn.b", Value::string(b"2".to_vec()));
        txn.vars.set("req.c", Value::string(b"3".to_vec()));
        txn.clear();
        assert_eq!(text(txn.vars.get("sess.a")), Some(b"1".to_vec()));
        assert!(txn.vars.get("txn.b").is_none());
        assert!(txn.vars.get("req.c").is_none());
    }

    #[test]
    fn session_variables_move_between_connection_and_transaction() {
        let mut txn = Vars::default();
        txn.set("txn.x", Value::string(b"t".to_vec()));
        txn.set("sess.a", Value::string(b"1".to_vec()));
        txn.set("sess.b", Value::string(b"2".to_vec()));
        let mut kept = Vars::default();
        kept.set("sess.old", Value::string(b"0".to_vec()));
        assert!(txn.has_session());
        txn.take_session(&mut kept);
        assert!(!txn.has_session());
        assert!(kept.get("sess.old").is_none());
        assert_eq!(text(kept.get("sess.b")), Some(b"2".to_vec()));
        assert!(txn.get("txn.x").is_some());
        // Another connection's transaction: everything replaced.
        txn.put_session(&mut kept);
        assert!(kept.is_empty());
        assert!(txn.get("txn.x").is_none());
        assert_eq!(text(txn.get("sess.a")), Some(b"1".to_vec()));
    }
}
