//! The heads Sluice sends: the received start line as it was, the received headers minus
//! hop-by-hop `Connection` (kept for upgrades), then what the proxy adds.

use crate::http::forwardfor::ForwardFor;
use sluice_http::{RequestHead, ResponseHead, Version};
use std::io::Write;
use std::net::IpAddr;

/// What the request head sent to the server gets.
pub struct RequestOut<'a> {
    /// `option forwardfor` with the client's address.
    pub forwardfor: Option<(&'a ForwardFor, IpAddr)>,
    /// Ask the server to close after the response.
    pub close: bool,
    /// Forward `Connection`/`Upgrade` as they are (upgrade requests).
    pub upgrade: bool,
}

fn start_line(buf: &[u8]) -> &[u8] {
    let end = buf
        .iter()
        .position(|&b| b == b'\n')
        .map_or(buf.len(), |i| i + 1);
    buf.get(..end).unwrap_or(buf)
}

#[inline]
fn header(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Writes the request head for the server into `out` (cleared first).
pub fn request(out: &mut Vec<u8>, req: &RequestHead, buf: &[u8], o: &RequestOut<'_>) {
    out.clear();
    out.extend_from_slice(start_line(buf));
    let mut has_xff = false;
    let xff_name = o.forwardfor.map(|(f, _)| f.header.as_bytes());
    for (name, value) in req.forward_headers(buf) {
        if !o.upgrade && name.eq_ignore_ascii_case(b"connection") {
            continue;
        }
        if let Some(x) = xff_name {
            if name.eq_ignore_ascii_case(x) {
                has_xff = true;
            }
        }
        header(out, name, value);
    }
    if let Some((ff, ip)) = o.forwardfor {
        if ff.applies(ip) && !(ff.if_none && has_xff) {
            out.extend_from_slice(ff.header.as_bytes());
            out.extend_from_slice(b": ");
            let ip = match ip {
                IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
                v4 => v4,
            };
            let _ = write!(out, "{ip}");
            out.extend_from_slice(b"\r\n");
        }
    }
    if !o.upgrade {
        if o.close {
            out.extend_from_slice(b"connection: close\r\n");
        } else if req.version() == Some(Version::Http10) {
            out.extend_from_slice(b"connection: keep-alive\r\n");
        }
    }
    out.extend_from_slice(b"\r\n");
}

/// Writes the response head for the client into `out` (cleared first).
/// `close`: the client connection closes after this response; `client_v10`: the client
/// spoke HTTP/1.0 (keep-alive must then be said).
pub fn response(out: &mut Vec<u8>, resp: &ResponseHead, buf: &[u8], close: bool, client_v10: bool) {
    out.clear();
    out.extend_from_slice(start_line(buf));
    let tunnel = resp.status() == 101;
    for (name, value) in resp.forward_headers(buf) {
        if !tunnel && name.eq_ignore_ascii_case(b"connection") {
            continue;
        }
        header(out, name, value);
    }
    if !tunnel {
        if close {
            out.extend_from_slice(b"connection: close\r\n");
        } else if client_v10 {
            out.extend_from_slice(b"connection: keep-alive\r\n");
        }
    }
    out.extend_from_slice(b"\r\n");
}
