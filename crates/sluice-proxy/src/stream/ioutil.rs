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
