//! The error responses Sluice sends itself: HAProxy's built-in pages (from
//! [`sluice_http::errors`]) with `connection: close`, or the proxy's `errorfile` overrides,
//! read once at start and sent as they are, as HAProxy does.

use sluice_model::Proxy;
use std::io;
use std::sync::Arc;

/// Statuses the data plane answers with.
const USED: &[u16] = &[400, 403, 408, 500, 502, 503, 504];

/// The error responses of one proxy.
#[derive(Clone, Debug)]
pub struct ErrorPages {
    pages: Vec<(u16, Arc<[u8]>)>,
}

impl ErrorPages {
    /// Built-in pages with `connection: close`, then the proxy's `errorfile` lines.
    pub fn load(proxy: &Proxy) -> io::Result<ErrorPages> {
        let mut pages: Vec<(u16, Arc<[u8]>)> = USED
            .iter()
            .filter_map(|s| sluice_http::errors::page(*s))
            .map(|p| {
                let mut v = Vec::with_capacity(p.bytes.len() + 20);
                v.extend_from_slice(p.head.as_bytes());
                v.extend_from_slice(b"connection: close\r\n\r\n");
                v.extend_from_slice(p.body.as_bytes());
                (p.status, Arc::from(v))
            })
            .collect();
        for ef in &proxy.errorfiles {
            let bytes = std::fs::read(&ef.path.value).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot read errorfile '{}': {e}", ef.path.value),
                )
            })?;
            match pages.iter_mut().find(|(s, _)| *s == ef.status) {
                Some(entry) => entry.1 = Arc::from(bytes),
                None => pages.push((ef.status, Arc::from(bytes))),
            }
        }
        Ok(ErrorPages { pages })
    }

    /// The response for `status` (a 500 page for a status that has none).
    pub fn get(&self, status: u16) -> &[u8] {
        self.pages
            .iter()
            .find(|(s, _)| *s == status)
            .or_else(|| self.pages.iter().find(|(s, _)| *s == 500))
            .map_or(&b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"[..], |(_, b)| b)
    }

    /// The response for exactly `status`, when the proxy has one (built-in or errorfile).
    pub fn exact(&self, status: u16) -> Option<&[u8]> {
        self.pages
            .iter()
            .find(|(s, _)| *s == status)
            .map(|(_, b)| &b[..])
    }

    /// Whether `errorfile` replaced the page for `status`.
    pub fn has_override(&self, status: u16, proxy: &Proxy) -> bool {
        proxy.errorfiles.iter().any(|e| e.status == status)
    }
}
