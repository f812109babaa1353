//! `accept-proxy` (and `tcp-request connection expect-proxy layer4`): the header is read
//! first, within `timeout client`, and its addresses replace the connection's own for
//! everything after (logs, `X-Forwarded-For`, rules, `send-proxy` to servers), except the
//! `tcp-request connection` rules, which ran before it, and `fc_src`/`fc_dst`.
//!
//! The socket is peeked, the header parsed, and exactly its bytes are read: what follows
//! belongs to the application and stays in the socket. A malformed header, a timeout or
//! a close ends the connection without a byte sent, as HAProxy does.

use super::{parse, Parsed, V2_FIXED_LEN};
use crate::stream::Addrs;
use sluice_model::Model;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, Interest};
use tokio::net::{TcpStream, UnixStream};
use tokio::time::Instant;

/// Bytes peeked first: the longest v1 line, and a v2 header with a few TLVs.
const FIRST_PEEK: usize = 256;
/// The largest v2 header accepted (HAProxy's bound is its buffer too).
const MAX_HEADER: usize = 16384;
/// Pause when a peek shows no new byte: a header split across packets is rare, and
/// peeking does not consume the readiness, so waiting is by time.
const PEEK_PAUSE: Duration = Duration::from_millis(2);

/// Whether every connection on bind line `bind` of proxy `proxy` starts with a PROXY
/// header (`accept-proxy`). `tcp-request connection expect-proxy layer4` rules are run per
/// connection, in their order among the other connection rules
/// ([`crate::tcp::rules::connection_stage`]).
pub fn expected(model: &Model, proxy: usize, bind: usize) -> bool {
    model
        .proxies
        .get(proxy)
        .and_then(|p| p.binds.get(bind))
        .is_some_and(|b| b.options.accept_proxy)
}

/// A socket the header can be peeked from.
pub trait Peek: AsyncRead + Unpin {
    /// Copies what is readable now without consuming it (waits for at least one byte).
    fn peek<'a>(&'a self, buf: &'a mut [u8]) -> impl Future<Output = io::Result<usize>> + 'a;
}

impl Peek for TcpStream {
    fn peek<'a>(&'a self, buf: &'a mut [u8]) -> impl Future<Output = io::Result<usize>> + 'a {
        TcpStream::peek(self, buf)
    }
}

impl Peek for UnixStream {
    fn peek<'a>(&'a self, buf: &'a mut [u8]) -> impl Future<Output = io::Result<usize>> + 'a {
        unix_peek(self, buf)
    }
}

/// tokio has no `peek` for UNIX streams: `recv(MSG_PEEK)` when readable.
async fn unix_peek(s: &UnixStream, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        s.readable().await?;
        let fd = s.as_raw_fd();
        let r = s.try_io(Interest::READABLE, || {
            // SAFETY: `buf` is valid for `buf.len()` bytes and `fd` stays open while `s`
            // is borrowed.
            let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_PEEK) };
            usize::try_from(n).map_err(|_| io::Error::last_os_error())
        });
        match r {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            r => return r,
        }
    }
}

/// Why the header could not be read.
#[derive(Debug)]
pub enum ReadError {
    Malformed(super::Error),
    Timeout,
    Io(io::Error),
    Closed,
}

/// Reads the header at the start of `stream`, consuming exactly its bytes. Returns the
/// client and destination it names (`None` for LOCAL, UNKNOWN or UNIX addresses: the
/// connection's own addresses stay).
pub async fn read_header<S: Peek>(
    stream: &mut S,
    limit: Option<Duration>,
) -> Result<Option<(SocketAddr, SocketAddr)>, ReadError> {
    let deadline = limit.map(|d| Instant::now() + d);
    let mut buf = vec![0u8; FIRST_PEEK];
    let mut seen = 0;
    loop {
        let n = within(deadline, stream.peek(&mut buf)).await?;
        if n == 0 {
            return Err(ReadError::Closed);
        }
        let peeked = buf.get(..n).unwrap_or_default();
        let len = match parse(peeked) {
            Parsed::Complete { len, header } => {
                let addrs = header.inet();
                let mut sink = vec![0u8; len];
                within(deadline, stream.read_exact(&mut sink)).await?;
                return Ok(addrs);
            }
            Parsed::Error(e) => {
                discard_pending(stream, n).await;
                return Err(ReadError::Malformed(e));
            }
            Parsed::Partial => v2_len(peeked),
        };
        if let Some(total) = len.filter(|t| *t > buf.len()) {
            if total > MAX_HEADER {
                return Err(ReadError::Malformed(super::Error::BadLength));
            }
            buf.resize(total, 0);
        } else if n == seen {
            match deadline {
                Some(d) if Instant::now() + PEEK_PAUSE >= d => return Err(ReadError::Timeout),
                _ => tokio::time::sleep(PEEK_PAUSE).await,
            }
        }
        seen = n;
    }
}

/// Reads and drops what the client already sent (the `peeked` bytes and whatever else is
/// readable now), so that closing after a bad header ends the connection with a FIN: unread
/// bytes would make the kernel reset it, and the client could lose its own error.
async fn discard_pending<S: Peek>(stream: &mut S, peeked: usize) {
    let mut sink = vec![0u8; peeked.max(1024)];
    let _ = stream
        .read_exact(sink.get_mut(..peeked).unwrap_or_default())
        .await;
    // What arrived with it, without waiting for more.
    while let Ok(Ok(n)) = tokio::time::timeout(Duration::ZERO, stream.read(&mut sink)).await {
        if n == 0 {
            break;
        }
    }
}

async fn within<T>(
    deadline: Option<Instant>,
    fut: impl Future<Output = io::Result<T>>,
) -> Result<T, ReadError> {
    match deadline {
        Some(d) => tokio::time::timeout_at(d, fut)
            .await
            .map_err(|_| ReadError::Timeout)?,
        None => fut.await,
    }
    .map_err(ReadError::Io)
}

/// The whole length of a v2 header whose fixed part is in `b`.
fn v2_len(b: &[u8]) -> Option<usize> {
    let (hi, lo) = (*b.get(14)?, *b.get(15)?);
    (b.first() == Some(&b'\r')).then(|| V2_FIXED_LEN + usize::from(u16::from_be_bytes([hi, lo])))
}

/// The connection's addresses once the header said who the client is.
pub fn apply(addrs: Addrs, header: Option<(SocketAddr, SocketAddr)>) -> Addrs {
    let mut a = addrs;
    if let Some((src, dst)) = header {
        a.peer = Some(src);
        a.local = Some(dst);
    }
    a
}
