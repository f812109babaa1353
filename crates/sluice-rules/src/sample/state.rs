//! Proxy, server and connection state fetches: connection counts and rates of frontends,
//! backends and servers (`fe_sess_rate`, `srv_weight`, `srv_conn`...), the listening socket
//! (`so_id`, `dst_conn`), the connection to the server (`bc_src`, `bc_rtt`...), the
//! stream's dates (`accept_date`, `request_date`), the scheduler counters (`cpu_calls`...)
//! and the `when` and `debug` converters.

use super::{Arg, Fetched, Value};
use crate::acl::Tri;
use crate::message::{
    BackendConnection, Connection, ProxyState, SampleSource, ServerState, TcpInfoField,
};
use std::net::SocketAddr;

type Emit<'e, 'a> = &'e mut dyn FnMut(Value<'a>) -> bool;
type Out<'a> = Option<Value<'a>>;

fn one<'a>(v: Option<Value<'a>>, emit: Emit<'_, 'a>) -> Fetched {
    if let Some(v) = v {
        emit(v);
    }
    Fetched::Done
}

/// Declares fetches without arguments reading one value of the connection.
macro_rules! conn_fetches {
    ($($(#[$doc:meta])* $name:ident => $get:expr;)*) => {$(
        $(#[$doc])*
        pub(crate) fn $name<'a>(
            _: &'a [Arg],
            s: &'a dyn SampleSource,
            _: bool,
            emit: Emit<'_, 'a>,
        ) -> Fetched {
            let get: fn(&dyn Connection) -> Option<Value<'static>> = $get;
            one(get(s.connection()), emit)
        }
    )*};
}

fn ip(a: Option<SocketAddr>) -> Option<Value<'static>> {
    a.map(|a| Value::Ip(a.ip()))
}

fn port(a: Option<SocketAddr>) -> Option<Value<'static>> {
    a.map(|a| Value::Sint(i64::from(a.port())))
}

fn bc(c: &dyn Connection) -> Option<BackendConnection> {
    c.backend_connection()
}

conn_fetches! {
    /// `act_conn`: connections open on the process.
    act_conn => |c| c.act_conn().map(Value::Sint);
    /// `dst_conn`: connections open on the listening socket of this one.
    dst_conn => |c| c.listener_conn().map(Value::Sint);
    /// `so_id`: the listening socket's id.
    so_id => |c| c.listener_id().map(Value::Sint);
    /// `stopping`: whether the process is stopping.
    stopping => |c| Some(Value::Bool(c.stopping()));
    /// `fc_http_major`: 1 for HTTP/1.x on the wire, 2 for HTTP/2.
    fc_http_major => |c| c.fc_http_major().map(Value::Sint);
    /// `fc_glitches`: the protocol glitches counted on the client connection (malformed
    /// HTTP/2 requests and other stream errors the client caused).
    fc_glitches => |c| c.fc_glitches().map(Value::Sint);
    /// `fc_nb_streams`: the streams open on the client connection; an HTTP/1 connection
    /// carries the one being evaluated.
    fc_nb_streams => |c| c.fc_http_major().map(|_| Value::Sint(1));
    /// `fc_rcvd_proxy`: whether the client connection started with a PROXY header.
    fc_rcvd_proxy => |c| Some(Value::Bool(c.fc_rcvd_proxy()));
    /// `fc_err_name`: the client connection's error. A stream evaluating rules on it has
    /// met none (errors end the connection before any rule runs): no value, as HAProxy
    /// gives without an error (empty in a header, `-` in a log line).
    fc_err_name => |_| None;
    /// `bc_src`: the local address of the connection to the server.
    bc_src => |c| ip(bc(c)?.src);
    /// `bc_src_port`.
    bc_src_port => |c| port(bc(c)?.src);
    /// `bc_dst`: the server's address.
    bc_dst => |c| ip(bc(c)?.dst);
    /// `bc_dst_port`.
    bc_dst_port => |c| port(bc(c)?.dst);
    /// `bc_http_major`: the HTTP version spoken to the server.
    bc_http_major => |c| Some(Value::Sint(bc(c)?.http_major));
    /// `bc_nb_streams`: the streams on the server connection (this one).
    bc_nb_streams => |c| bc(c).map(|_| Value::Sint(1));
    /// `bc_be_queue`: requests the stream waited behind in the backend's queue.
    bc_be_queue => |c| Some(Value::Sint(bc(c)?.be_queue));
    /// `bc_srv_queue`: requests it waited behind in the server's queue.
    bc_srv_queue => |c| Some(Value::Sint(bc(c)?.srv_queue));
    /// `bc_err_name`: the server connection's error; none is recorded (no value).
    bc_err_name => |_| None;
}

/// The time fetches of the server connection in milliseconds, or in `us` when asked.
fn bc_time<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    field: TcpInfoField,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let us = s.connection().bc_tcp_info(field);
    let v = match args.first().and_then(Arg::bytes) {
        Some(b"us") => us,
        _ => us.map(|us| us / 1000),
    };
    one(v.map(Value::Sint), emit)
}

/// `bc_rtt([<unit>])`: the smoothed round trip time of the server connection.
pub(crate) fn bc_rtt<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    bc_time(args, s, TcpInfoField::Rtt, emit)
}

/// `bc_rttvar([<unit>])`: its variance.
pub(crate) fn bc_rttvar<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    bc_time(args, s, TcpInfoField::RttVar, emit)
}

/// `fe_tarpit_timeout`: the frontend's `timeout tarpit`, in milliseconds.
pub(crate) fn fe_tarpit_timeout<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let ms = s
        .connection()
        .frontend_tarpit_timeout()
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    one(ms.map(Value::Sint), emit)
}

macro_rules! timer_fetches {
    ($($(#[$doc:meta])* $name:ident => $field:ident;)*) => {$(
        $(#[$doc])*
        pub(crate) fn $name<'a>(
            _: &'a [Arg],
            s: &'a dyn SampleSource,
            _: bool,
            emit: Emit<'_, 'a>,
        ) -> Fetched {
            one(s.connection().stream_timers().$field.map(Value::Sint), emit)
        }
    )*};
}

timer_fetches! {
    /// `req.timer.idle` (`%Ti`).
    req_timer_idle => idle;
    /// `req.timer.hdr` (`%TR`).
    req_timer_hdr => request_head;
    /// `req.timer.tq` (`%Tq`).
    req_timer_tq => request_total;
    /// `res.timer.hdr` (`%Tr`).
    res_timer_hdr => response_head;
}

conn_fetches! {
    /// `server_status`: the status the server sent, before rules rewrote it.
    server_status => |c| c.server_status().map(Value::Sint);
    /// `res.comp`: whether Sluice compresses the response.
    res_comp => |c| Some(Value::Bool(c.response_compression().is_some()));
    /// `res.comp_algo`: the algorithm compressing the response (none when not compressed).
    res_comp_algo => |c| c
        .response_compression()
        .map(|a| Value::Str(std::borrow::Cow::Borrowed(a.as_bytes())));
}

/// The optional proxy name of a fetch.
fn proxy_arg(args: &[Arg]) -> Option<&str> {
    args.first().and_then(Arg::text).filter(|t| !t.is_empty())
}

macro_rules! proxy_fetches {
    ($($(#[$doc:meta])* $name:ident => $state:ident, $get:expr;)*) => {$(
        $(#[$doc])*
        pub(crate) fn $name<'a>(
            args: &'a [Arg],
            s: &'a dyn SampleSource,
            _: bool,
            emit: Emit<'_, 'a>,
        ) -> Fetched {
            let get: fn(ProxyState) -> Option<i64> = $get;
            let v = s.connection().$state(proxy_arg(args)).and_then(get);
            one(v.map(Value::Sint), emit)
        }
    )*};
}

proxy_fetches! {
    /// `fe_sess_rate([<frontend>])`: new sessions per second.
    fe_sess_rate => frontend_state, |p| Some(p.sess_rate);
    /// `fe_req_rate([<frontend>])`: HTTP requests per second.
    fe_req_rate => frontend_state, |p| Some(p.req_rate);
    /// `be_sess_rate([<backend>])`: new sessions per second.
    be_sess_rate => backend_state, |p| Some(p.sess_rate);
    /// `be_conn_free([<backend>])`: connections the backend's usable servers may still
    /// take; -1 when one of them has no `maxconn`.
    be_conn_free => backend_state, |p| Some(p.conn_free.unwrap_or(-1));
}

/// `fe_conn([<frontend>])`: connections open on the frontend.
pub(crate) fn fe_conn<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let c = s.connection();
    let v = match proxy_arg(args) {
        Some(name) => c.frontend_state(Some(name)).map(|p| p.conn),
        None => c
            .frontend_state(None)
            .map(|p| p.conn)
            .or_else(|| c.fe_conn()),
    };
    one(v.map(Value::Sint), emit)
}

/// The server named by `[<backend>/]<server>`, in the stream's backend without one.
fn server(c: &dyn Connection, text: &str) -> Option<ServerState> {
    match text.split_once('/') {
        Some((be, srv)) => c.server_state(Some(be), srv),
        None => c.server_state(None, text),
    }
}

macro_rules! server_fetches {
    ($($(#[$doc:meta])* $name:ident => $get:expr;)*) => {$(
        $(#[$doc])*
        pub(crate) fn $name<'a>(
            args: &'a [Arg],
            s: &'a dyn SampleSource,
            _: bool,
            emit: Emit<'_, 'a>,
        ) -> Fetched {
            let get: fn(ServerState) -> i64 = $get;
            let v = args
                .first()
                .and_then(Arg::text)
                .and_then(|t| server(s.connection(), t))
                .map(get);
            one(v.map(Value::Sint), emit)
        }
    )*};
}

server_fetches! {
    /// `srv_weight`: the effective weight.
    srv_weight => |s| s.weight;
    /// `srv_iweight`: the configured weight.
    srv_iweight => |s| s.iweight;
    /// `srv_uweight`: the user weight.
    srv_uweight => |s| s.uweight;
    /// `srv_conn`: connections in use.
    srv_conn => |s| s.conn;
    /// `srv_conn_free`: connections the server may still take, -1 without `maxconn`.
    srv_conn_free => |s| if s.maxconn == 0 { -1 } else { (s.maxconn - s.conn).max(0) };
    /// `srv_queue`: requests waiting for the server.
    srv_queue => |s| s.queue;
    /// `srv_sess_rate`: new sessions per second.
    srv_sess_rate => |s| s.sess_rate;
}

/// `srv_queue` as a converter: `[<backend>/]<server>` taken from the input.
pub(crate) fn srv_queue_conv<'a>(_: &'a [Arg], v: Value<'a>, s: &'a dyn SampleSource) -> Out<'a> {
    let text = std::str::from_utf8(v.as_bytes()?).ok()?;
    server(s.connection(), text).map(|st| Value::Sint(st.queue))
}

/// `accept_date([<unit>])` and `request_date([<unit>])`: a date of the stream in the unit
/// (seconds by default).
fn date_of<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    request: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let Some(d) = s.connection().stream_dates() else {
        return Fetched::Done;
    };
    let us = if request { d.request_us } else { d.accept_us };
    let per = match args.first() {
        Some(Arg::Int(n)) if *n > 0 => *n,
        _ => 1,
    };
    emit(Value::Sint(us / (1_000_000 / per)));
    Fetched::Done
}

pub(crate) fn accept_date<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    date_of(args, s, false, emit)
}

pub(crate) fn request_date<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    date_of(args, s, true, emit)
}

/// The scheduler counters of HAProxy's tasks (`cpu_calls`, `cpu_ns_avg`, `cpu_ns_tot`,
/// `lat_ns_avg`, `lat_ns_tot`): Sluice's streams run on an async runtime that does not
/// measure them per stream, so they read 0, as HAProxy's do with task profiling off.
pub(crate) fn task_counter<'a>(
    _: &'a [Arg],
    _: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    emit(Value::Sint(0));
    Fetched::Done
}

/// CPU time used so far, in microseconds: the whole process's or the calling thread's.
fn cpu_time_us(thread: bool) -> Option<i64> {
    // SAFETY: `rusage` is plain data, valid when zeroed; getrusage writes it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let who = if thread {
        libc::RUSAGE_THREAD
    } else {
        libc::RUSAGE_SELF
    };
    // SAFETY: `ru` is a live local of the right type.
    if unsafe { libc::getrusage(who, &mut ru) } != 0 {
        return None;
    }
    // `time_t` and `suseconds_t` are 64-bit on the Linux targets Sluice runs on.
    let us = |t: libc::timeval| -> i64 { t.tv_sec.saturating_mul(1_000_000) + t.tv_usec };
    Some(us(ru.ru_utime) + us(ru.ru_stime))
}

/// A CPU usage in percent since the previous reading of the same kind (at least 100 ms
/// apart; in between, the last result stands).
fn cpu_usage(thread: bool) -> i64 {
    use std::sync::Mutex;
    use std::time::Instant;
    struct Reading {
        at: Instant,
        cpu_us: i64,
        percent: i64,
    }
    static LAST: [Mutex<Option<Reading>>; 2] = [Mutex::new(None), Mutex::new(None)];
    let Some(cpu_us) = cpu_time_us(thread) else {
        return 0;
    };
    let threads = if thread {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get() as i64)
    };
    let Ok(mut last) = LAST[usize::from(thread)].lock() else {
        return 0;
    };
    let now = Instant::now();
    match last.as_mut() {
        Some(r) if now.duration_since(r.at).as_millis() < 100 => r.percent,
        Some(r) => {
            let wall = i64::try_from(now.duration_since(r.at).as_micros()).unwrap_or(i64::MAX);
            let used = (cpu_us - r.cpu_us).max(0);
            r.percent = (used * 100 / wall.max(1) / threads).clamp(0, 100);
            r.at = now;
            r.cpu_us = cpu_us;
            r.percent
        }
        None => {
            *last = Some(Reading {
                at: now,
                cpu_us,
                percent: 0,
            });
            0
        }
    }
}

/// `cpu_usage_proc` and `cpu_usage_grp` (Sluice has one thread group): the process's CPU
/// usage over its threads, in percent.
pub(crate) fn cpu_usage_proc<'a>(
    _: &'a [Arg],
    _: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    emit(Value::Sint(cpu_usage(false)));
    Fetched::Done
}

/// `cpu_usage_thr`: the calling thread's CPU usage, in percent.
pub(crate) fn cpu_usage_thr<'a>(
    _: &'a [Arg],
    _: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    emit(Value::Sint(cpu_usage(true)));
    Fetched::Done
}

/// The conditions of `when()`.
const WHEN_CONDITIONS: &[&str] = &[
    "error",
    "normal",
    "forwarded",
    "processed",
    "toapplet",
    "stopping",
    "acl",
];

/// Checks the condition of `when(<condition>[,<acl>])`.
pub(crate) fn prepare_when(args: &mut [Arg]) -> Result<(), String> {
    let text = args.first().and_then(Arg::text).unwrap_or("");
    let name = text.trim().strip_prefix('!').unwrap_or(text.trim());
    if !WHEN_CONDITIONS.contains(&name) {
        return Err(format!(
            "when: unknown condition '{text}' (expects one of {}, maybe negated with '!')",
            WHEN_CONDITIONS.join(", ")
        ));
    }
    let has_acl = matches!(args.get(1), Some(Arg::Acl(..)));
    match (name == "acl", has_acl) {
        (true, false) => Err("when: the 'acl' condition needs an ACL name".into()),
        (false, true) => Err(format!("when: the '{name}' condition takes no argument")),
        _ => Ok(()),
    }
}

/// `when(<condition>[,<acl>])`: the input when the condition holds, nothing otherwise.
pub(crate) fn when<'a>(args: &'a [Arg], v: Value<'a>, s: &'a dyn SampleSource) -> Out<'a> {
    let text = args.first().and_then(Arg::text)?.trim();
    let (negated, name) = match text.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let c = s.connection();
    let ev = c.stream_events();
    let holds = match name {
        "error" => ev.error,
        "normal" => !ev.error,
        "forwarded" => ev.forwarded,
        "processed" => ev.forwarded || ev.to_applet,
        "toapplet" => ev.to_applet,
        "stopping" => c.stopping(),
        "acl" => match args.get(1) {
            Some(Arg::Acl(acl, acl_negated)) => {
                let r = acl.eval(s);
                let r = if *acl_negated { r.negate() } else { r };
                r == Tri::Match
            }
            _ => false,
        },
        _ => false,
    };
    (holds != negated).then_some(v)
}

/// The type's name as HAProxy prints it.
fn type_name(v: &Value<'_>) -> &'static str {
    match v {
        Value::Bool(_) => "bool",
        Value::Sint(_) => "sint",
        Value::Str(_) => "str",
        Value::Ip(std::net::IpAddr::V4(_)) => "ipv4",
        Value::Ip(std::net::IpAddr::V6(_)) => "ipv6",
        Value::Bin(_) => "bin",
        Value::Meth(_) => "meth",
    }
}

/// `debug([<prefix>][,<sink>])`: passes the input through and writes it, with its type,
/// to standard error when the sink is `stderr` or `stdout`. Sluice has no event rings:
/// other sinks (the default `buf0` included) receive nothing.
pub(crate) fn debug<'a>(args: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    let sink = args.get(1).and_then(Arg::text).unwrap_or("buf0");
    if sink == "stderr" || sink == "stdout" {
        let prefix = args.first().and_then(Arg::text).unwrap_or("");
        let mut text = Vec::new();
        v.write_to(&mut text);
        let line = format!(
            "{prefix}: type={} <{}>\n",
            type_name(&v),
            String::from_utf8_lossy(&text)
        );
        use std::io::Write;
        let _ = if sink == "stdout" {
            std::io::stdout().write_all(line.as_bytes())
        } else {
            std::io::stderr().write_all(line.as_bytes())
        };
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{NoConnection, Stream, StreamDates, StreamEvents};

    /// A connection with fixed state.
    #[derive(Default)]
    struct Fixed {
        events: StreamEvents,
        stopping: bool,
    }

    impl Connection for Fixed {
        fn server_state(&self, backend: Option<&str>, server: &str) -> Option<ServerState> {
            (backend.unwrap_or("be") == "be" && server == "s1").then_some(ServerState {
                weight: 20,
                iweight: 10,
                uweight: 20,
                conn: 2,
                maxconn: 5,
                queue: 1,
                sess_rate: 7,
            })
        }
        fn backend_state(&self, _: Option<&str>) -> Option<ProxyState> {
            Some(ProxyState {
                conn: 1,
                sess_rate: 3,
                req_rate: 0,
                conn_free: None,
            })
        }
        fn stream_dates(&self) -> Option<StreamDates> {
            Some(StreamDates {
                accept_us: 1_234_567_890_123_456,
                request_us: 1_234_567_891_000_000,
            })
        }
        fn stream_events(&self) -> StreamEvents {
            self.events
        }
        fn stopping(&self) -> bool {
            self.stopping
        }
    }

    fn fetch_one(
        f: super::super::registry::FetchFn,
        args: &[Arg],
        conn: &dyn Connection,
    ) -> Option<i64> {
        let s = Stream::tcp(conn);
        let mut out = None;
        f(args, &s, false, &mut |v| {
            out = v.to_int();
            true
        });
        out
    }

    fn arg(t: &str) -> Arg {
        Arg::Str(t.as_bytes().into())
    }

    #[test]
    fn server_fetches_read_the_named_or_current_backend() {
        let c = Fixed::default();
        assert_eq!(fetch_one(srv_weight, &[arg("be/s1")], &c), Some(20));
        assert_eq!(fetch_one(srv_iweight, &[arg("s1")], &c), Some(10));
        assert_eq!(fetch_one(srv_conn_free, &[arg("be/s1")], &c), Some(3));
        assert_eq!(fetch_one(srv_queue, &[arg("be/s1")], &c), Some(1));
        assert_eq!(fetch_one(srv_sess_rate, &[arg("be/s1")], &c), Some(7));
        assert_eq!(fetch_one(srv_weight, &[arg("other/s1")], &c), None);
        let s = Stream::tcp(&c);
        assert_eq!(
            srv_queue_conv(&[], Value::str(b"be/s1"), &s).and_then(|v| v.to_int()),
            Some(1)
        );
    }

    #[test]
    fn be_conn_free_is_minus_one_without_limit() {
        assert_eq!(fetch_one(be_conn_free, &[], &Fixed::default()), Some(-1));
        assert_eq!(fetch_one(be_sess_rate, &[], &Fixed::default()), Some(3));
    }

    #[test]
    fn dates_follow_the_unit() {
        let c = Fixed::default();
        assert_eq!(fetch_one(accept_date, &[], &c), Some(1_234_567_890));
        assert_eq!(
            fetch_one(accept_date, &[Arg::Int(1000)], &c),
            Some(1_234_567_890_123)
        );
        assert_eq!(
            fetch_one(request_date, &[Arg::Int(1_000_000)], &c),
            Some(1_234_567_891_000_000)
        );
        assert_eq!(fetch_one(accept_date, &[], &NoConnection), None);
    }

    #[test]
    fn when_follows_the_stream_events() {
        let ok = Fixed {
            events: StreamEvents {
                error: false,
                forwarded: true,
                to_applet: false,
            },
            stopping: false,
        };
        let s = Stream::tcp(&ok);
        let pass = |cond: &str| {
            let args = [arg(cond)];
            when(&args, Value::str(b"v"), &s).is_some()
        };
        assert!(!pass("error"));
        assert!(pass("normal"));
        assert!(pass("forwarded"));
        assert!(pass("processed"));
        assert!(!pass("toapplet"));
        assert!(!pass("stopping"));
        assert!(pass("!error"));
        let mut args = [arg("bogus")];
        assert!(prepare_when(&mut args).is_err());
        let mut args = [arg("acl")];
        assert!(prepare_when(&mut args).is_err());
        let mut args = [arg("!normal")];
        assert!(prepare_when(&mut args).is_ok());
    }

    #[test]
    fn debug_passes_its_input_through() {
        let s = Stream::tcp(&NoConnection);
        let args = [arg("tag")];
        let v = debug(&args, Value::str(b"hello"), &s);
        assert_eq!(
            v.and_then(|v| v.as_bytes().map(<[u8]>::to_vec)),
            Some(b"hello".to_vec())
        );
    }

    #[test]
    fn cpu_usage_is_a_percentage() {
        let s = Stream::tcp(&NoConnection);
        for f in [cpu_usage_proc, cpu_usage_thr] {
            let mut out = None;
            f(&[], &s, false, &mut |v| {
                out = v.to_int();
                true
            });
            assert!(out.is_some_and(|p| (0..=100).contains(&p)));
        }
    }
}
