//! `retry-on` and `retries`: which failures get another attempt, and on which server.
//!
//! Connection failures are retried inside [`super::connect::acquire`]; the others (an empty
//! response, a response timeout, a listed status) by the HTTP session, for requests it can
//! replay (no body). Attempts after the first go to the same server, except the last one
//! with `option redispatch`, which goes to another, as in HAProxy.

use super::connect::Dest;
use super::Backend;
use crate::error::{Error, ErrorKind, Side};
use crate::stream::Addrs;
use sluice_model::Proxy;

const CONN_FAILURE: u32 = 1;
const EMPTY_RESPONSE: u32 = 1 << 1;
const RESPONSE_TIMEOUT: u32 = 1 << 2;
const ZERO_RTT_REJECTED: u32 = 1 << 3;
const JUNK_RESPONSE: u32 = 1 << 4;
/// Status bits, in the order of [`STATUSES`].
const STATUS_SHIFT: u32 = 8;
const STATUSES: [u16; 12] = [401, 403, 404, 408, 421, 425, 429, 500, 501, 502, 503, 504];

/// The `retry-on` set of a backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryOn(u32);

impl Default for RetryOn {
    /// HAProxy's default: connection failures only.
    fn default() -> RetryOn {
        RetryOn(CONN_FAILURE)
    }
}

impl RetryOn {
    /// The last `retry-on` line of `proxy` (unknown words are refused at check time).
    pub fn of(proxy: &Proxy) -> RetryOn {
        let Some(line) = proxy.other.iter().rev().find(|s| s.keyword() == "retry-on") else {
            return RetryOn::default();
        };
        RetryOn::parse(line.words.iter().skip(1).map(|w| w.text.as_str()))
    }

    /// The set named by `words`.
    pub fn parse<'a>(words: impl IntoIterator<Item = &'a str>) -> RetryOn {
        let mut bits = 0;
        for w in words {
            bits |= match w {
                "none" => 0,
                "conn-failure" => CONN_FAILURE,
                "empty-response" => EMPTY_RESPONSE,
                "response-timeout" => RESPONSE_TIMEOUT,
                "0rtt-rejected" => ZERO_RTT_REJECTED,
                "junk-response" => JUNK_RESPONSE,
                // HAProxy's list: every failure above, and 500 502 503 504.
                "all-retryable-errors" => {
                    CONN_FAILURE
                        | EMPTY_RESPONSE
                        | RESPONSE_TIMEOUT
                        | ZERO_RTT_REJECTED
                        | JUNK_RESPONSE
                        | status_bit(500)
                        | status_bit(502)
                        | status_bit(503)
                        | status_bit(504)
                }
                code => code.parse().map(status_bit).unwrap_or(0),
            };
        }
        RetryOn(bits)
    }

    /// Whether a failed connection is retried.
    pub fn conn_failure(self) -> bool {
        self.0 & CONN_FAILURE != 0
    }

    /// Whether a response with `status` is retried.
    pub fn status(self, status: u16) -> bool {
        let b = status_bit(status);
        b != 0 && self.0 & b != 0
    }

    /// Whether a failure after the request was sent is retried: `nothing_read` says no
    /// byte of a response came.
    pub fn error(self, e: &Error, nothing_read: bool) -> bool {
        if e.side != Side::Server {
            return false;
        }
        if e.kind == ErrorKind::Protocol {
            return self.0 & JUNK_RESPONSE != 0;
        }
        if !nothing_read {
            return false;
        }
        match e.kind {
            ErrorKind::Timeout => self.0 & RESPONSE_TIMEOUT != 0,
            ErrorKind::Closed | ErrorKind::Io => self.0 & EMPTY_RESPONSE != 0,
            _ => false,
        }
    }

    /// Whether anything beyond connection failures is retried (the session then checks).
    pub fn layer7(self) -> bool {
        self.0 & !CONN_FAILURE != 0
    }
}

/// Where the next attempt goes after a failure on `server`: the same server, except for the
/// last `retry-on` attempt (`tries` of `retries`) with `option redispatch`, which goes to
/// another one.
pub fn next(be: &Backend, addrs: Addrs, server: usize, tries: Option<u32>) -> Dest<'static> {
    let redispatch = be.redispatch && tries.is_some_and(|t| t >= be.retries);
    Dest {
        pin: (!redispatch).then_some(server),
        avoid: redispatch.then_some(server),
        ..Dest::new(addrs)
    }
}

fn status_bit(status: u16) -> u32 {
    STATUSES
        .iter()
        .position(|s| *s == status)
        .map_or(0, |i| 1 << (STATUS_SHIFT + i as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        let r = RetryOn::parse(["503", "empty-response"]);
        assert!(r.status(503) && !r.status(502) && !r.conn_failure());
        let t = Error::new(ErrorKind::Timeout, Side::Server);
        let c = Error::new(ErrorKind::Closed, Side::Server);
        assert!(r.error(&c, true) && !r.error(&c, false) && !r.error(&t, true));
        let all = RetryOn::parse(["all-retryable-errors"]);
        assert!(all.conn_failure() && all.status(504) && !all.status(404) && all.error(&t, true));
        assert_eq!(RetryOn::parse(["none"]), RetryOn(0));
        assert!(RetryOn::default().conn_failure() && !RetryOn::default().layer7());
    }
}
