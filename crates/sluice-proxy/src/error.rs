//! Errors of the data path: what failed, on which side, and whether another attempt may help.
//!
//! They are values, never panics, and carry no allocation: a stream ends with one and the
//! (future) log line reads its kind and side, as HAProxy's termination state does (`cD`,
//! `sH`...).

use std::fmt;
use std::io;

/// Which side of the stream an error belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The client: it sent something malformed, went away or was too slow.
    Client,
    /// The server: it refused, went away, answered badly or too slowly.
    Server,
    /// Sluice itself: no usable server, a resource limit, a configuration gap.
    Internal,
}

/// What went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Reading or writing failed (reset, broken pipe...).
    Io,
    /// The peer closed the connection before the message was complete.
    Closed,
    /// No activity within the side's timeout.
    Timeout,
    /// The connection to the server could not be set up.
    Connect,
    /// The message broke the HTTP/1 rules.
    Protocol,
    /// No server could take the request.
    NoServer,
    /// The request was refused by a rule or a limit.
    Refused,
}

/// One data-path error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error {
    /// What failed.
    pub kind: ErrorKind,
    /// Where.
    pub side: Side,
    /// Whether the request may be tried again on another connection (nothing of it has
    /// reached a server that may have acted on it).
    pub retryable: bool,
    /// The server a failed connection was to (the last one tried), for the log line.
    pub server: Option<u16>,
}

impl Error {
    /// A non-retryable error.
    pub const fn new(kind: ErrorKind, side: Side) -> Error {
        Error {
            kind,
            side,
            retryable: false,
            server: None,
        }
    }

    /// A retryable error.
    pub const fn retryable(kind: ErrorKind, side: Side) -> Error {
        Error {
            kind,
            side,
            retryable: true,
            server: None,
        }
    }

    /// The same error, about the server at `index` in its backend.
    pub fn on_server(mut self, index: usize) -> Error {
        self.server = u16::try_from(index).ok();
        self
    }

    /// Classifies an I/O error of one side.
    pub fn io(side: Side, e: &io::Error) -> Error {
        let kind = match e.kind() {
            io::ErrorKind::TimedOut => ErrorKind::Timeout,
            io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionAborted => ErrorKind::Closed,
            _ => ErrorKind::Io,
        };
        Error::new(kind, side)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let side = match self.side {
            Side::Client => "client",
            Side::Server => "server",
            Side::Internal => "proxy",
        };
        let what = match self.kind {
            ErrorKind::Io => "I/O error",
            ErrorKind::Closed => "connection closed",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Connect => "connection failed",
            ErrorKind::Protocol => "protocol error",
            ErrorKind::NoServer => "no server available",
            ErrorKind::Refused => "refused",
        };
        write!(f, "{side}: {what}")
    }
}

impl std::error::Error for Error {}
