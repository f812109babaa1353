//! # sluice-http
//!
//! The HTTP/1.1 codec of Sluice: it reads request and response heads, tells how each body
//! is framed, walks chunked bodies, and refuses every message that two HTTP implementations
//! could read differently. It does no I/O: bytes in, small result values out, nothing
//! allocated per header.
//!
//! Roles:
//!
//! - [`RequestHead`] / [`ResponseHead`] parse a head in place (tokenised by `httparse`,
//!   then checked by Sluice's own rules) into byte spans, and are reused for every message
//!   of a connection. [`Parsed`] says `Partial`, `Complete { head_len }` or `Error`.
//! - [`Framing`] (from the head) says how the body is delimited ([`Body`]), whether the
//!   connection stays open, and what `Connection`, `Expect` and `Upgrade` ask for.
//! - [`ChunkedDecoder`] walks a chunked body, split anywhere, without copying it.
//! - [`errors`] holds HAProxy's built-in error responses; an [`Error`]'s kind gives the
//!   status to answer with.
//!
//! ```
//! use sluice_http::{Body, Config, Parsed, RequestHead};
//!
//! let buf = b"POST /upload HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\n\r\nhello";
//! let mut head = RequestHead::new();
//! match head.parse(buf, &Config::default()) {
//!     Parsed::Complete { head_len } => {
//!         assert_eq!(head.target(buf), b"/upload");
//!         assert_eq!(head.framing().body, Body::Length(5));
//!         assert_eq!(&buf[head_len..], b"hello");
//!     }
//!     Parsed::Partial => unreachable!("the head is complete"),
//!     Parsed::Error(e) => {
//!         // answer with HAProxy's page for the status, then close
//!         let page = sluice_http::errors::page(e.request_status());
//!         unreachable!("{e}: would send {page:?}");
//!     }
//! }
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod authority;
mod chunked;
mod error;
pub mod errors;
mod framing;
mod head;
mod request;
mod response;
mod validate;

pub use authority::Normalization;
pub use chunked::{ChunkedDecoder, Decoded, Forward, MAX_CHUNK_LINE};
pub use error::{Error, ErrorKind};
pub use framing::{Body, ConnectionTokens, ForwardHeaders, Framing, Upgrade};
pub use head::{Config, Header, Parsed, Span, Version};
pub use request::{Method, RequestHead};
pub use response::ResponseHead;
pub use validate::TargetForm;
