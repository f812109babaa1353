//! `mode tcp`: a relay of bytes between the client and one server ([`relay`]), chosen and
//! connected by [`session`]. HTTP tunnels (WebSocket, 101) reuse the same relay.

pub mod raw_http;
pub mod relay;
pub mod rules;
pub mod session;
