//! What `%[...]` items and captures read at log time: the connection as the record saw it
//! and read-only views of the request and response heads copied during the stream.

use super::format::Heads;
use crate::stream::log::Record;
use sluice_http::Header;
use sluice_rules::{
    Connection, HttpMessage, SampleSource, StreamChanges, TimeoutKind, TxnCaptures, Vars,
};
use std::net::SocketAddr;
use std::time::Duration;

/// The connection side of a finished stream.
pub struct Conn<'a> {
    pub rec: &'a Record,
    pub frontend: &'a str,
    pub backend: Option<&'a str>,
    pub server: Option<&'a str>,
    /// The configured timeouts of the stream's proxies, by [`TimeoutKind::index`].
    pub timeouts: [Option<Duration>; 6],
}

impl Connection for Conn<'_> {
    fn unique_id(&self) -> Option<&[u8]> {
        self.rec.extra.unique_id()
    }
    fn timeout(&self, kind: TimeoutKind) -> Option<Duration> {
        self.timeouts.get(kind.index()).copied().flatten()
    }
    fn src(&self) -> Option<SocketAddr> {
        self.rec.client
    }
    fn dst(&self) -> Option<SocketAddr> {
        self.rec.local
    }
    fn frontend_name(&self) -> &str {
        self.frontend
    }
    fn backend_name(&self) -> Option<&str> {
        self.backend
    }
    fn server_name(&self) -> Option<&str> {
        self.server
    }
    fn txn_status(&self) -> Option<i64> {
        Some(super::format::implied_status(self.rec)).filter(|s| *s > 0)
    }
    fn sess_term_state(&self) -> Option<[u8; 2]> {
        Some(super::format::term_state(self.rec))
    }
    fn response_compression(&self) -> Option<&'static str> {
        self.rec.compression.map(|a| a.config_name())
    }
    fn fc_http_major(&self) -> Option<i64> {
        self.rec.extra.request_http_major()
    }
    fn fc_glitches(&self) -> Option<i64> {
        let meter = self.rec.meter.as_deref();
        Some(meter.map_or(0, |m| i64::from(m.glitches.get())))
    }
    // Process and stream state (sample/state.rs in sluice-rules).
    fn act_conn(&self) -> Option<i64> {
        Some(crate::gauges::act_conn())
    }
    fn stopping(&self) -> bool {
        crate::gauges::stopping()
    }
    fn stream_dates(&self) -> Option<sluice_rules::StreamDates> {
        let t = &self.rec.t;
        let us = |at: std::time::Instant| {
            let wall = t.start_wall + at.saturating_duration_since(t.start);
            wall.duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        };
        Some(sluice_rules::StreamDates {
            accept_us: us(t.start),
            request_us: us(t.first_byte.unwrap_or(t.start)),
        })
    }
    fn backend_connection(&self) -> Option<sluice_rules::BackendConnection> {
        // The log keeps no addresses of the server connection, only that there was one.
        self.rec.t.connected?;
        Some(sluice_rules::BackendConnection {
            http_major: 1,
            ..Default::default()
        })
    }
    fn stream_events(&self) -> sluice_rules::StreamEvents {
        sluice_rules::StreamEvents {
            error: self.rec.error.is_some() || super::format::implied_status(self.rec) >= 500,
            forwarded: self.rec.t.connect_start.is_some(),
            to_applet: false,
        }
    }
}

/// A parsed head over its bytes (read-only: setters do nothing).
#[derive(Clone, Copy)]
pub struct Msg<'a> {
    pub method: &'a [u8],
    pub uri: &'a [u8],
    pub version: &'a [u8],
    pub status: u16,
    pub headers: &'a [Header],
    pub buf: &'a [u8],
}

impl Msg<'_> {
    fn last(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .rev()
            .find(|h| h.name.slice(self.buf).eq_ignore_ascii_case(name.as_bytes()))
            .map(|h| h.value.slice(self.buf))
    }

    fn each(&self, name: &str, f: &mut dyn FnMut(&[u8]) -> bool) {
        for h in self.headers {
            if h.name.slice(self.buf).eq_ignore_ascii_case(name.as_bytes())
                && !f(h.value.slice(self.buf))
            {
                return;
            }
        }
    }
}

impl HttpMessage for Msg<'_> {
    fn method(&self) -> &[u8] {
        self.method
    }
    fn uri(&self) -> &[u8] {
        self.uri
    }
    fn version(&self) -> &[u8] {
        self.version
    }
    fn status(&self) -> u16 {
        self.status
    }
    fn header_count(&self) -> usize {
        self.headers.len()
    }
    fn header(&self, index: usize) -> Option<(&[u8], &[u8])> {
        let h = self.headers.get(index)?;
        Some((h.name.slice(self.buf), h.value.slice(self.buf)))
    }
    fn set_method(&mut self, _: &[u8]) {}
    fn set_uri(&mut self, _: &[u8]) {}
    fn set_status(&mut self, _: u16, _: Option<&[u8]>) {}
    fn add_header(&mut self, _: &[u8], _: &[u8]) {}
    fn set_header_value(&mut self, _: usize, _: &[u8]) {}
    fn remove_header(&mut self, _: usize) {}
}

/// Everything a log line's samples and captures read.
pub struct Src<'a> {
    pub conn: Conn<'a>,
    pub request: Option<Msg<'a>>,
    pub response: Option<Msg<'a>>,
    /// The transaction's captures, rebuilt from the heads (`capture.req.*`).
    pub captures: Option<&'a TxnCaptures>,
}

impl SampleSource for Src<'_> {
    fn connection(&self) -> &dyn Connection {
        &self.conn
    }
    fn request(&self) -> Option<&dyn HttpMessage> {
        self.request.as_ref().map(|m| m as &dyn HttpMessage)
    }
    fn response(&self) -> Option<&dyn HttpMessage> {
        self.response.as_ref().map(|m| m as &dyn HttpMessage)
    }
    fn vars(&self) -> Option<&Vars> {
        self.conn.rec.extra.vars()
    }
    fn changes(&self) -> Option<&StreamChanges> {
        Some(&self.conn.rec.changes)
    }
    fn captures(&self) -> Option<&TxnCaptures> {
        self.captures
    }
}

impl Heads for Src<'_> {
    fn request_header(&self, name: &str) -> Option<&[u8]> {
        self.request.as_ref()?.last(name)
    }
    fn response_header(&self, name: &str) -> Option<&[u8]> {
        self.response.as_ref()?.last(name)
    }
    fn request_headers(&self, name: &str, each: &mut dyn FnMut(&[u8]) -> bool) {
        if let Some(m) = &self.request {
            m.each(name, each);
        }
    }
    fn response_headers(&self, name: &str, each: &mut dyn FnMut(&[u8]) -> bool) {
        if let Some(m) = &self.response {
            m.each(name, each);
        }
    }
}
