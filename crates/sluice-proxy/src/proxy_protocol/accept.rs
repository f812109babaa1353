//! `accept-proxy` (and `tcp-request connection expect-proxy layer4`): the header is read
//! first, within `timeout client`, and its addresses replace the connection's own for
//! everything after (logs, `X-Forwarded-For`, rules, `send-proxy` to servers), except the
//! `tcp-request connection` rules, which ran before it, and `fc_src`/`fc_dst`. The TLVs of a
//! v2 header are kept with the connection for the `fc_pp_*` fetches ([`Proxied`]).
//! `accept-netscaler-cip` (and `expect-netscaler-cip layer4`) reads a NetScaler CIP header
//! ([`super::cip`]) the same way, after the PROXY header when both are expected.
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

/// What the connections of a bind line start with before their session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Expected {
    /// `accept-proxy`: a PROXY header.
    pub proxy: bool,
    /// `accept-netscaler-cip <magic>`: a NetScaler CIP header with this magic number.
    pub netscaler_cip: Option<u32>,
}

/// What bind line `bind` of proxy `proxy` expects on every connection. `tcp-request
/// connection expect-proxy layer4` and `expect-netscaler-cip layer4` rules are run per
/// connection, in their order among the other connection rules
/// ([`crate::tcp::rules::connection_stage`]).
pub fn expected(model: &Model, proxy: usize, bind: usize) -> Expected {
    let options = model
        .proxies
        .get(proxy)
        .and_then(|p| p.binds.get(bind))
        .map(|b| &b.options);
    Expected {
        proxy: options.is_some_and(|o| o.accept_proxy),
        netscaler_cip: options.and_then(|o| o.accept_netscaler_cip),
    }
}

/// A connection whose session addresses came from a header it started with: its own
/// addresses (`fc_src`, `fc_dst`) and the TLVs of a PROXY v2 header (`fc_pp_tlv`...).
#[derive(Debug, Default)]
pub struct Proxied {
    pub own: Addrs,
    /// As received (validated); empty without a v2 header.
    pub tlvs: Box<[u8]>,
}

/// Reads what a connection starts with before its session, within `limit`: a PROXY header
/// when `proxy`, then a NetScaler CIP header when `cip` gives its magic number (HAProxy's
/// order). Returns the session's addresses and what the connection keeps of the headers.
pub async fn read_preamble<S: Peek>(
    stream: &mut S,
    addrs: Addrs,
    (proxy, cip): (bool, Option<u32>),
    limit: Option<Duration>,
) -> Result<(Addrs, Proxied), ReadError> {
    let deadline = limit.map(|d| Instant::now() + d);
    let mut session = addrs;
    let mut tlvs = Box::default();
    if proxy {
        let header = read_header_until(stream, deadline).await?;
        session = apply(session, header.addrs);
        tlvs = header.tlvs;
    }
    if let Some(magic) = cip {
        let announced = read_prefix(stream, deadline, |b| match super::cip::parse(b, magic) {
            super::cip::Parsed::Complete { len, src, dst } => Step::Complete(len, (src, dst)),
            super::cip::Parsed::Partial { need } => Step::Partial(need),
            super::cip::Parsed::Error(e) => Step::Error(ReadError::MalformedCip(e)),
        })
        .await?;
        session = apply(session, Some(announced));
    }
    Ok((session, Proxied { own: addrs, tlvs }))
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
    MalformedCip(super::cip::Error),
    Timeout,
    Io(io::Error),
    Closed,
}

/// What a PROXY header said.
#[derive(Debug, Default)]
pub struct Announced {
    /// The client and the address it reached (`None` for LOCAL, UNKNOWN or UNIX addresses:
    /// the connection's own addresses stay).
    pub addrs: Option<(SocketAddr, SocketAddr)>,
    /// The v2 TLVs.
    pub tlvs: Box<[u8]>,
}

/// Reads the PROXY header at the start of `stream`, consuming exactly its bytes.
pub async fn read_header<S: Peek>(
    stream: &mut S,
    limit: Option<Duration>,
) -> Result<Announced, ReadError> {
    read_header_until(stream, limit.map(|d| Instant::now() + d)).await
}

async fn read_header_until<S: Peek>(
    stream: &mut S,
    deadline: Option<Instant>,
) -> Result<Announced, ReadError> {
    read_prefix(stream, deadline, |b| match parse(b) {
        Parsed::Complete { len, header } => Step::Complete(
            len,
            Announced {
                addrs: header.inet(),
                tlvs: header.tlvs.into(),
            },
        ),
        Parsed::Error(e) => Step::Error(ReadError::Malformed(e)),
        Parsed::Partial => Step::Partial(v2_len(b)),
    })
    .await
}

/// What a parser made of the bytes peeked so far.
enum Step<T> {
    /// More bytes are needed: this many in all, when known.
    Partial(Option<usize>),
    /// A whole header of this many bytes.
    Complete(usize, T),
    Error(ReadError),
}

/// Peeks at `stream` until `parse` finds a whole header or an error, then consumes exactly
/// the header's bytes (what follows belongs to the application).
async fn read_prefix<S: Peek, T>(
    stream: &mut S,
    deadline: Option<Instant>,
    parse: impl Fn(&[u8]) -> Step<T>,
) -> Result<T, ReadError> {
    let mut buf = vec![0u8; FIRST_PEEK];
    let mut seen = 0;
    loop {
        let n = within(deadline, stream.peek(&mut buf)).await?;
        if n == 0 {
            return Err(ReadError::Closed);
        }
        let peeked = buf.get(..n).unwrap_or_default();
        let len = match parse(peeked) {
            Step::Complete(len, found) => {
                let mut sink = vec![0u8; len];
                within(deadline, stream.read_exact(&mut sink)).await?;
                return Ok(found);
            }
            Step::Error(e) => {
                discard_pending(stream, n).await;
                return Err(e);
            }
            Step::Partial(len) => len,
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
