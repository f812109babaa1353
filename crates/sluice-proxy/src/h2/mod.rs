//! HTTP/2 on the client side: `bind ... proto h2`, TLS with ALPN `h2`, and the connection
//! preface on a plain HTTP bind (prior knowledge, which HAProxy detects too).
//!
//! The `h2` crate does the framing, HPACK, flow control and stream states. Each request
//! stream becomes one HTTP/1.1 exchange run by the HTTP/1 session
//! ([`crate::http::session::run`]) over an in-memory client ([`stream::StreamIo`]): its
//! reads yield the request as HTTP/1.1 ([`request`]), its writes take the HTTP/1.1 response,
//! which is sent back as HEADERS, DATA and trailers ([`response`]). Rules, routing,
//! balancing, servers and logs are therefore those of HTTP/1 clients.
//!
//! - [`preface`]: the preface and replaying bytes the HTTP/1 session already read.
//! - [`conn`]: one connection: settings, streams, idle timeout, soft stop (GOAWAY).

pub mod conn;
pub mod preface;
pub mod request;
pub mod response;
pub mod stream;

pub use conn::serve;

use crate::plan::Plan;
use crate::tls::TlsInfo;
use sluice_model::Mode;

/// Whether a new connection of frontend `fe` speaks HTTP/2 from its first byte: its bind
/// line says `proto h2`, or TLS negotiated `h2` by ALPN. HTTP frontends only.
pub fn wanted(plan: &Plan, fe: usize, bind: Option<u32>, tls: Option<&TlsInfo>) -> bool {
    let Some(f) = plan.frontend(fe) else {
        return false;
    };
    if f.mode != Mode::Http {
        return false;
    }
    let by_bind = bind
        .and_then(|b| f.h2.get(usize::try_from(b).ok()?).copied())
        .unwrap_or(false);
    by_bind || tls.and_then(|t| t.alpn.as_deref()) == Some(&b"h2"[..])
}
