//! The hook a logging subsystem will plug into: one record per finished stream (HTTP
//! request or TCP connection), with what `option httplog`/`tcplog` need. No logger is wired
//! yet; [`emit`] is the single place to call it from.

use crate::error::Error;
use std::net::SocketAddr;

/// What one stream did.
#[derive(Debug, Default, Clone)]
pub struct Record {
    pub frontend: usize,
    pub backend: Option<usize>,
    pub server: Option<usize>,
    pub client: Option<SocketAddr>,
    pub status: u16,
    pub bytes_out: u64,
    pub error: Option<Error>,
}

/// Called when a stream ends.
#[inline]
pub fn emit(_record: &Record) {}
