//! The one trait every balancing algorithm implements, and the key a request offers it.

use crate::snapshot::{ServerId, Snapshot};
use std::net::IpAddr;

/// A balancing algorithm over one [`Snapshot`], like HAProxy's `lb_ops` or Pingora's
/// `BackendSelection`.
///
/// Contract:
/// - [`build`](Algorithm::build) runs off the hot path, whenever a server changes state or
///   weight; it may allocate. The caller swaps the new value in (for example behind an
///   `Arc` it replaces atomically), so readers never wait.
/// - [`select`](Algorithm::select) runs once per request, from many threads at once. It takes
///   no lock and allocates nothing. What state it shares between threads is said on each
///   algorithm (at most a position counter advanced by one relaxed `fetch_add`).
/// - `select` only ever returns a candidate of the snapshot it was built from. `None` means
///   no candidate at all (see [`Snapshot::is_empty`]: answer 503) or every candidate is at
///   its `maxconn` (queue the request).
pub trait Algorithm: Send + Sync {
    /// What the algorithm needs beyond the servers (hash type, number of draws...).
    type Params;

    /// Builds the algorithm for the candidates of `snapshot`.
    fn build(params: &Self::Params, snapshot: &Snapshot) -> Self
    where
        Self: Sized;

    /// Chooses a server for one request.
    fn select(&self, key: &RequestKey<'_>) -> Option<ServerId>;
}

/// What hash-based algorithms read from a request. The caller extracts each part (it owns the
/// HTTP parser and the connection); parts an algorithm does not use may stay `None`. Nothing
/// is copied: the key borrows the request's buffers.
///
/// When the part an algorithm hashes is missing, it falls back to round robin, as HAProxy
/// does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestKey<'a> {
    /// The client's address (`balance source`).
    pub source: Option<IpAddr>,
    /// The request target as sent, e.g. `/a/b?x=1` or `http://host/a` (`balance uri`, and
    /// `balance url_param` when `url_param` is `None`).
    pub uri: Option<&'a [u8]>,
    /// The value of the header named by `balance hdr(<name>)`.
    pub header: Option<&'a [u8]>,
    /// The value of the parameter named by `balance url_param`, when the caller found it
    /// itself (for example in a POST body with `check_post`).
    pub url_param: Option<&'a [u8]>,
    /// The value of the RDP cookie named by `balance rdp-cookie`.
    pub rdp_cookie: Option<&'a [u8]>,
    /// The result of the sample expression of `balance hash <expr>`.
    pub sample: Option<&'a [u8]>,
}

impl<'a> RequestKey<'a> {
    /// An empty key: enough for the algorithms that hash nothing.
    pub const fn new() -> Self {
        RequestKey {
            source: None,
            uri: None,
            header: None,
            url_param: None,
            rdp_cookie: None,
            sample: None,
        }
    }

    /// Sets the client's address.
    pub const fn with_source(mut self, source: IpAddr) -> Self {
        self.source = Some(source);
        self
    }

    /// Sets the request target.
    pub const fn with_uri(mut self, uri: &'a [u8]) -> Self {
        self.uri = Some(uri);
        self
    }

    /// Sets the balancing header's value.
    pub const fn with_header(mut self, value: &'a [u8]) -> Self {
        self.header = Some(value);
        self
    }

    /// Sets the URL parameter's value.
    pub const fn with_url_param(mut self, value: &'a [u8]) -> Self {
        self.url_param = Some(value);
        self
    }

    /// Sets the RDP cookie's value.
    pub const fn with_rdp_cookie(mut self, value: &'a [u8]) -> Self {
        self.rdp_cookie = Some(value);
        self
    }

    /// Sets the sample expression's result.
    pub const fn with_sample(mut self, value: &'a [u8]) -> Self {
        self.sample = Some(value);
        self
    }
}
