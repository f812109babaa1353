//! HTTP compression (`compression algo gzip`, `compression type text/html`...): responses
//! compressed on their way to the client, and request bodies on their way to the server when
//! asked, as HAProxy's compression filter does.
//!
//! - [`config`]: a proxy's settings, and which of the frontend's and backend's apply.
//! - [`negotiate`]: the coding the request accepts (`Accept-Encoding` with q-values), and
//!   `compression offload` removing that header towards the server.
//! - [`response`]: whether a response is compressed (status, method, types, existing
//!   coding, `no-transform`, ETag, length), and its head rewritten for it.
//! - [`encoder`]: gzip, deflate and raw deflate with flate2, flushed at each buffer.
//! - [`body`]: the body relayed through the encoder as chunks, never buffered whole.
//! - [`request`]: request bodies compressed towards the server (`direction request|both`).

pub mod body;
pub mod config;
pub mod encoder;
pub mod head;
pub mod negotiate;
pub mod request;
pub mod response;

pub use config::{Effective, ProxyCompression, RequestSettings};
pub use sluice_model::proxy::compression::Algorithm;
