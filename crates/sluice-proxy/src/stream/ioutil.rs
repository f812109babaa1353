//! Reads and writes bounded by a side's timeout, with errors classified by side.

use crate::error::{Error, ErrorKind, Side};
use crate::http::buf::Buf;
use std::future::Future;
use std::io::{self, IoSlice};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Runs `fut` within `limit` (no limit when `None`).
#[inline]
pub async fn within<T>(
    limit: Option<Duration>,
    side: Side,
    fut: impl Future<Output = io::Result<T>>,
) -> Result<T, Error> {
    let r = match limit {
        Some(d) => match tokio::time::timeout(d, fut).await {
            Ok(r) => r,
            Err(_) => return Err(Error::new(ErrorKind::Timeout, side)),
        },
        None => fut.await,
    };
    r.map_err(|e| Error::io(side, &e))
}

/// Reads once into `buf`; `Ok(0)` is end of stream (or a full buffer).
#[inline]
pub async fn read_into<R: AsyncRead + Unpin>(
    r: &mut R,
    buf: &mut Buf,
    limit: Option<Duration>,
    side: Side,
) -> Result<usize, Error> {
    let spare = buf.spare();
    if spare.is_empty() {
        return Ok(0);
    }
    let n = within(limit, side, r.read(spare)).await?;
    buf.commit(n);
    Ok(n)
}

/// Writes all of `bytes`.
#[inline]
pub async fn write_all<W: AsyncWrite + Unpin>(
    w: &mut W,
    bytes: &[u8],
    limit: Option<Duration>,
    side: Side,
) -> Result<(), Error> {
    if bytes.is_empty() {
        return Ok(());
    }
    within(limit, side, w.write_all(bytes)).await
}

/// Writes all of `bytes`, telling the kernel that more follows at once (`MSG_MORE`).
pub async fn write_all_more<W: crate::stream::io::WriteMore>(
    w: &mut W,
    mut bytes: &[u8],
    limit: Option<Duration>,
    side: Side,
) -> Result<(), Error> {
    let job = async {
        while !bytes.is_empty() {
            let n = std::future::poll_fn(|cx| w.poll_write_more(cx, bytes)).await?;
            if n == 0 {
                return Err(io::Error::from(io::ErrorKind::WriteZero));
            }
            bytes = bytes.get(n..).unwrap_or_default();
        }
        Ok(())
    };
    within(limit, side, job).await
}

/// Writes `a` then `b` with as few system calls as possible (one `writev` usually).
pub async fn write_two<W: AsyncWrite + Unpin>(
    w: &mut W,
    mut a: &[u8],
    mut b: &[u8],
    limit: Option<Duration>,
    side: Side,
) -> Result<(), Error> {
    if b.is_empty() {
        return write_all(w, a, limit, side).await;
    }
    if a.is_empty() {
        return write_all(w, b, limit, side).await;
    }
    let job = async {
        while !a.is_empty() || !b.is_empty() {
            let n = if a.is_empty() {
                w.write(b).await?
            } else {
                w.write_vectored(&[IoSlice::new(a), IoSlice::new(b)])
                    .await?
            };
            if n == 0 {
                return Err(io::Error::from(io::ErrorKind::WriteZero));
            }
            let from_a = n.min(a.len());
            a = a.get(from_a..).unwrap_or_default();
            b = b.get(n - from_a..).unwrap_or_default();
        }
        Ok(())
    };
    within(limit, side, job).await
}

/// One counter of the kernel's `TCP_INFO` on socket `fd` (times in microseconds); `None`
/// when the call fails (not a TCP socket, closed).
/// The local (or, with `peer`, the remote) address of socket `fd`.
pub fn socket_addr(fd: std::os::fd::RawFd, peer: bool) -> Option<std::net::SocketAddr> {
    // SAFETY: `sockaddr_storage` is plain data, valid when zeroed.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    let at = std::ptr::addr_of_mut!(storage).cast::<libc::sockaddr>();
    // SAFETY: `storage` and `len` are live locals of the right sizes; a bad `fd` only makes
    // the call fail.
    let rc = unsafe {
        if peer {
            libc::getpeername(fd, at, &mut len)
        } else {
            libc::getsockname(fd, at, &mut len)
        }
    };
    if rc != 0 {
        return None;
    }
    // SAFETY: the kernel filled `storage` with an address of `len` bytes.
    let addr = unsafe { socket2::SockAddr::new(storage, len) };
    addr.as_socket()
}

pub fn tcp_info(fd: std::os::fd::RawFd, field: sluice_rules::TcpInfoField) -> Option<i64> {
    use sluice_rules::TcpInfoField as F;
    // SAFETY: `tcp_info` is plain data, valid when zeroed; the kernel writes at most `len`
    // bytes into it and reports how many.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: `info` and `len` are live locals of the right sizes; a bad `fd` only makes the
    // call fail.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            std::ptr::addr_of_mut!(info).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return None;
    }
    let v = match field {
        F::Rtt => info.tcpi_rtt,
        F::RttVar => info.tcpi_rttvar,
        F::Unacked => info.tcpi_unacked,
        F::Sacked => info.tcpi_sacked,
        F::Lost => info.tcpi_lost,
        F::Retrans => info.tcpi_retrans,
        F::Fackets => info.tcpi_fackets,
        F::Reordering => info.tcpi_reordering,
    };
    Some(i64::from(v))
}
