//! Bidirectional copy with HAProxy's half-close: when one side ends its stream, the write
//! side of the other connection is shut down (FIN forwarded) and the other direction goes on
//! until it ends too.
//!
//! Timeouts are inactivity timeouts per side: the client side is active when bytes are read
//! from or written to the client, the server side likewise. `timeout tunnel`, when set,
//! replaces both; once either direction is shut, `client-fin`/`server-fin` (when set)
//! replace the client's/server's timeout. One timer per relay, re-armed lazily: activity
//! only records an instant.

use crate::error::{Error, ErrorKind, Side};
use crate::http::buf::Buf;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// The timeouts of a relay.
#[derive(Clone, Copy, Debug, Default)]
pub struct Timeouts {
    pub client: Option<Duration>,
    pub server: Option<Duration>,
    pub client_fin: Option<Duration>,
    pub server_fin: Option<Duration>,
    pub tunnel: Option<Duration>,
}

/// Bytes moved each way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Moved {
    pub to_server: u64,
    pub to_client: u64,
}

struct Pipe<'b> {
    buf: &'b mut Buf,
    eof: bool,
    shut: bool,
    moved: u64,
}

enum Step {
    /// Bytes moved; which sides saw activity (read side, write side).
    Progress {
        read: bool,
        wrote: bool,
    },
    Pending,
    Done,
}

impl Pipe<'_> {
    /// Moves what it can from `r` to `w` without blocking.
    fn poll<R: AsyncRead + Unpin, W: AsyncWrite + Unpin>(
        &mut self,
        cx: &mut Context<'_>,
        r: &mut R,
        w: &mut W,
    ) -> Poll<io::Result<Step>> {
        if self.shut {
            return Poll::Ready(Ok(Step::Done));
        }
        let mut read = false;
        let mut wrote = false;
        loop {
            if !self.buf.is_empty() {
                match Pin::new(&mut *w).poll_write(cx, self.buf.filled()) {
                    Poll::Ready(Ok(0)) => {
                        return Poll::Ready(Err(io::Error::from(io::ErrorKind::WriteZero)))
                    }
                    Poll::Ready(Ok(n)) => {
                        self.buf.consume(n);
                        self.moved += n as u64;
                        wrote = true;
                        continue;
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => break,
                }
            }
            if self.eof {
                ready!(Pin::new(&mut *w).poll_shutdown(cx))?;
                self.shut = true;
                return Poll::Ready(Ok(Step::Done));
            }
            let spare = self.buf.spare();
            let mut rb = ReadBuf::new(spare);
            match Pin::new(&mut *r).poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) => {
                    let n = rb.filled().len();
                    if n == 0 {
                        self.eof = true;
                    } else {
                        self.buf.commit(n);
                        read = true;
                    }
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => break,
            }
        }
        Poll::Ready(Ok(if read || wrote {
            Step::Progress { read, wrote }
        } else {
            Step::Pending
        }))
    }
}

impl Pipe<'_> {
    /// Reads what the source has without writing anything (a held direction); whether
    /// bytes came. Stops at the end of the source or when the buffer is full.
    fn fill<R: AsyncRead + Unpin>(&mut self, cx: &mut Context<'_>, r: &mut R) -> io::Result<bool> {
        let mut read = false;
        while !self.eof && !self.buf.is_full() {
            let mut rb = ReadBuf::new(self.buf.spare());
            match Pin::new(&mut *r).poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) => {
                    let n = rb.filled().len();
                    if n == 0 {
                        self.eof = true;
                    } else {
                        self.buf.commit(n);
                        read = true;
                    }
                }
                Poll::Ready(Err(e)) => return Err(e),
                Poll::Pending => break,
            }
        }
        Ok(read)
    }
}

/// Relays until both directions have ended. `to_server` and `to_client` may already hold
/// bytes to forward (what followed an HTTP upgrade).
pub async fn relay<C, S>(
    client: &mut C,
    server: &mut S,
    to_server: &mut Buf,
    to_client: &mut Buf,
    t: Timeouts,
) -> Result<Moved, Error>
where
    C: AsyncRead + AsyncWrite + Unpin,
    S: AsyncRead + AsyncWrite + Unpin,
{
    relay_held(client, server, to_server, to_client, t, None).await
}

/// Holds the server's first bytes back from the client until a decision on them
/// (`tcp-response content` rules): the server's bytes are buffered, the client's keep
/// flowing to the server.
pub struct Hold<'h> {
    /// Until when bytes may be held (`tcp-response inspect-delay`); `None`: decide at once.
    pub until: Option<Instant>,
    /// Decides on the bytes held, told whether more can come: `None` waits for more,
    /// `Some(true)` lets them through, `Some(false)` ends the relay (refused).
    pub decide: &'h mut dyn FnMut(&[u8], bool) -> Option<bool>,
}

/// [`relay`], with the server's bytes held back until `hold` decides on them.
pub async fn relay_held<C, S>(
    client: &mut C,
    server: &mut S,
    to_server: &mut Buf,
    to_client: &mut Buf,
    t: Timeouts,
    mut hold: Option<Hold<'_>>,
) -> Result<Moved, Error>
where
    C: AsyncRead + AsyncWrite + Unpin,
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut up = Pipe {
        buf: to_server,
        eof: false,
        shut: false,
        moved: 0,
    };
    let mut down = Pipe {
        buf: to_client,
        eof: false,
        shut: false,
        moved: 0,
    };
    let now = Instant::now();
    let mut client_seen = now;
    let mut server_seen = now;
    let mut sleep: Option<Pin<Box<Sleep>>> = None;
    let mut asked = false;
    poll_fn(|cx| {
        // One pass per wake-up: a pipe moves bytes until its read or its write would block,
        // and that registers the waker, so polling it again before the next wake-up only
        // costs a readiness check (two per direction and request, measured ~10% of the
        // relay's instructions).
        // One clock read per wake-up with traffic, shared by both directions.
        let mut now: Option<Instant> = None;
        match up.poll(cx, client, server) {
            Poll::Ready(Ok(Step::Progress { read, wrote })) => {
                let at = *now.get_or_insert_with(Instant::now);
                if read {
                    client_seen = at;
                }
                if wrote {
                    server_seen = at;
                }
            }
            Poll::Ready(Ok(_)) | Poll::Pending => {}
            Poll::Ready(Err(e)) => return Poll::Ready(Err(classify(&e, &up, true))),
        }
        if let Some(h) = &mut hold {
            // Held: read what the server sends (while there is room), send nothing yet.
            let read = match down.fill(cx, server) {
                Ok(read) => read,
                Err(e) => return Poll::Ready(Err(classify(&e, &down, false))),
            };
            let at = *now.get_or_insert_with(Instant::now);
            if read {
                server_seen = at;
            }
            let final_ = down.eof || down.buf.is_full() || h.until.map_or(true, |u| at >= u);
            // Asked again only when there is something new to decide on.
            // As for requests, the rules first run when bytes come (or waiting ends).
            let verdict = if final_ || ((read || !asked) && !down.buf.is_empty()) {
                asked = true;
                (h.decide)(down.buf.filled(), final_)
            } else {
                None
            };
            match verdict {
                Some(true) => hold = None,
                Some(false) => {
                    return Poll::Ready(Err(Error::new(ErrorKind::Refused, Side::Server)))
                }
                None => {}
            }
        }
        let held_until = hold.as_ref().and_then(|h| h.until);
        if hold.is_some() {
            // Nothing goes to the client yet.
        } else {
            match down.poll(cx, server, client) {
                Poll::Ready(Ok(Step::Progress { read, wrote })) => {
                    let at = *now.get_or_insert_with(Instant::now);
                    if read {
                        server_seen = at;
                    }
                    if wrote {
                        client_seen = at;
                    }
                }
                Poll::Ready(Ok(_)) | Poll::Pending => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(classify(&e, &down, false))),
            }
        }
        if up.shut && down.shut {
            return Poll::Ready(Ok(Moved {
                to_server: up.moved,
                to_client: down.moved,
            }));
        }
        // Timers: the earliest side deadline.
        let half = up.shut || down.shut;
        let client_t = t.tunnel.or(if half {
            t.client_fin.or(t.client)
        } else {
            t.client
        });
        let server_t = t.tunnel.or(if half {
            t.server_fin.or(t.server)
        } else {
            t.server
        });
        let c_deadline = client_t.map(|d| client_seen + d);
        let s_deadline = server_t.map(|d| server_seen + d);
        let earliest = |a: Option<Instant>, b: Option<Instant>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let deadline = earliest(c_deadline, s_deadline);
        // The end of a hold wakes the relay up to decide, as a timeout would.
        let deadline = earliest(deadline, held_until);
        let Some(deadline) = deadline else {
            return Poll::Pending;
        };
        // The timer is moved only when the deadline comes nearer (a `*-fin` timeout after
        // a half-close); activity pushes the deadline later and is caught up with when the
        // timer fires early. Re-arming tokio's timer wheel on every chunk cost ~5% of the
        // relay's instructions; an early wake-up costs one poll per timeout period.
        let timer = match &mut sleep {
            Some(timer) => {
                if deadline < timer.deadline() {
                    timer.as_mut().reset(deadline);
                }
                timer
            }
            None => sleep.insert(Box::pin(tokio::time::sleep_until(deadline))),
        };
        while timer.as_mut().poll(cx).is_ready() {
            let now = Instant::now();
            if deadline > now {
                timer.as_mut().reset(deadline);
                continue;
            }
            if held_until.is_some_and(|u| u <= now) {
                // The hold ended: decide on what is held (the timer is re-armed then).
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let side = if c_deadline.is_some_and(|d| d <= now) {
                Side::Client
            } else {
                Side::Server
            };
            return Poll::Ready(Err(Error::new(ErrorKind::Timeout, side)));
        }
        Poll::Pending
    })
    .await
}

fn classify(e: &io::Error, pipe: &Pipe<'_>, upstream: bool) -> Error {
    // A failed write is the destination's fault; a failed read the source's.
    let writing = !pipe.buf.is_empty();
    let side = match (upstream, writing) {
        (true, false) | (false, true) => Side::Client,
        _ => Side::Server,
    };
    Error::io(side, e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    // The timer is armed once and caught up with when it fires early: activity must still
    // push the timeout back, and silence must still end the relay.
    #[test]
    fn activity_defers_the_lazy_timeout() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let (mut client, mut client_peer) = tokio::io::duplex(1024);
            let (mut server, mut server_peer) = tokio::io::duplex(1024);
            let t = Timeouts {
                client: Some(Duration::from_millis(150)),
                server: Some(Duration::from_millis(150)),
                ..Timeouts::default()
            };
            let mut up = Buf::new(1024);
            let mut down = Buf::new(1024);
            let start = Instant::now();
            let chatter = async {
                for _ in 0..5 {
                    tokio::time::sleep(Duration::from_millis(80)).await;
                    client_peer.write_all(b"x").await.expect("write");
                    let mut b = [0u8; 1];
                    server_peer.read_exact(&mut b).await.expect("read");
                    server_peer.write_all(b"y").await.expect("write");
                    client_peer.read_exact(&mut b).await.expect("read");
                }
                (client_peer, server_peer)
            };
            let (r, _peers) = tokio::join!(
                relay(&mut client, &mut server, &mut up, &mut down, t),
                chatter
            );
            let e = r.expect_err("times out");
            assert_eq!(e.kind, ErrorKind::Timeout);
            let took = start.elapsed();
            // 5 x 80 ms of activity, then 150 ms of silence.
            assert!(took >= Duration::from_millis(540), "ended after {took:?}");
            assert!(took < Duration::from_millis(2000), "ended after {took:?}");
        });
    }
}
