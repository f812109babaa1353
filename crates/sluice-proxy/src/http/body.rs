//! Body buffering: `option http-buffer-request` and `http-request`/`http-response
//! wait-for-body` make the rules wait until the message's body is in the buffer (or as much
//! of it as the buffer holds, or `at-least` bytes, or the time ends), so that `req.body`,
//! `req.body_param`, `res.body`... see it. The body is then forwarded as it came.

use super::buf::Buf;
use super::head::{Edits, Msg};
use super::rules::{Conn, RequestIn};
use crate::plan::Plan;
use sluice_http::{Body, ChunkedDecoder, ResponseHead};
use sluice_rules::{BodyWait, Stream};
use std::borrow::Cow;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::Instant;

/// A wait without a time limit (a year).
const NO_LIMIT: Duration = Duration::from_secs(365 * 24 * 3600);

/// How a wait for a body ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Waited {
    /// The rules can run: the body is complete, fills the buffer, or `at-least` is there.
    Ready,
    /// The `wait-for-body` time ended first.
    TimedOut,
    /// The peer sent nothing within its inactivity timeout.
    Idle,
    /// The peer closed before the body was complete.
    Closed,
    /// The body's framing is broken.
    Invalid,
}

/// What of a body is in a buffer: its payload bytes (without chunk framing), whether it is
/// complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Received {
    data: u64,
    complete: bool,
}

/// Looks at the body that starts at the beginning of `bytes`.
fn received(bytes: &[u8], body: Body) -> Result<Received, ()> {
    Ok(match body {
        Body::Length(n) => Received {
            data: (bytes.len() as u64).min(n),
            complete: bytes.len() as u64 >= n,
        },
        Body::Chunked => {
            let mut decoder = ChunkedDecoder::new();
            let mut at = 0;
            let mut data = 0u64;
            loop {
                let d = decoder
                    .decode(bytes.get(at..).unwrap_or_default())
                    .map_err(|_| ())?;
                data += d.data.len() as u64;
                at += d.consumed;
                if d.done || d.consumed == 0 {
                    break Received {
                        data,
                        complete: d.done,
                    };
                }
            }
        }
        Body::UntilClose | Body::Tunnel => Received {
            data: bytes.len() as u64,
            complete: false,
        },
        Body::None => Received {
            data: 0,
            complete: true,
        },
    })
}

/// The payload of the body at the start of `bytes`, without chunk framing (copied only for
/// a chunked body).
pub fn payload(bytes: &[u8], body: Body) -> Cow<'_, [u8]> {
    match body {
        Body::Length(n) => {
            let end = usize::try_from(n).unwrap_or(usize::MAX).min(bytes.len());
            Cow::Borrowed(bytes.get(..end).unwrap_or_default())
        }
        Body::Chunked => {
            let mut decoder = ChunkedDecoder::new();
            let mut out = Vec::with_capacity(bytes.len());
            let mut at = 0;
            while let Ok(d) = decoder.decode(bytes.get(at..).unwrap_or_default()) {
                if let Some(data) = bytes.get(at..).and_then(|r| r.get(d.data.clone())) {
                    out.extend_from_slice(data);
                }
                at += d.consumed;
                if d.done || d.consumed == 0 {
                    break;
                }
            }
            Cow::Owned(out)
        }
        Body::UntilClose | Body::Tunnel => Cow::Borrowed(bytes),
        Body::None => Cow::Borrowed(&[]),
    }
}

/// How many bytes at the start of `bytes` the body takes (framing included), when it is all
/// there.
pub fn whole_len(bytes: &[u8], body: Body) -> Option<usize> {
    match body {
        Body::Length(n) => usize::try_from(n).ok().filter(|n| *n <= bytes.len()),
        Body::Chunked => ChunkedDecoder::new()
            .forward(bytes)
            .ok()
            .filter(|f| f.done)
            .map(|f| f.len),
        Body::None => Some(0),
        Body::UntilClose | Body::Tunnel => None,
    }
}

/// Removes the `Expect` header lines from the serialized head `out` (the client got its
/// 100 from us, the body follows the head at once).
pub fn drop_expect(out: &mut Vec<u8>) {
    let mut kept = Vec::with_capacity(out.len());
    let mut first = true;
    for line in out.split_inclusive(|&b| b == b'\n') {
        let name = line.split(|&b| b == b':').next().unwrap_or_default();
        if !first && line.contains(&b':') && name.eq_ignore_ascii_case(b"expect") {
            continue;
        }
        first = false;
        kept.extend_from_slice(line);
    }
    *out = kept;
}

/// The announced length of a body (`req.body_size`): its `Content-Length`.
pub fn announced(body: Body) -> Option<u64> {
    match body {
        Body::Length(n) => Some(n),
        Body::None => Some(0),
        _ => None,
    }
}

/// Reads from `peer` into `buf` (whose body starts at `start`) until the body is complete,
/// the buffer is full, `wait.at_least` payload bytes are there, or the time ends.
/// `until_close`: a body that ends when the peer closes (a response) is complete then.
/// `idle`: the peer's inactivity timeout.
pub async fn wait<R: AsyncRead + Unpin>(
    peer: &mut R,
    buf: &mut Buf,
    start: usize,
    body: Body,
    wait: BodyWait,
    idle: Option<Duration>,
) -> Waited {
    // A time too far to count is no limit.
    let until = Instant::now()
        .checked_add(wait.time)
        .unwrap_or_else(|| Instant::now() + NO_LIMIT);
    loop {
        let got = match received(buf.filled().get(start..).unwrap_or_default(), body) {
            Ok(r) => r,
            Err(()) => return Waited::Invalid,
        };
        if got.complete || buf.is_full() || wait.at_least.is_some_and(|n| got.data >= n) {
            return Waited::Ready;
        }
        let idle_end = idle.map(|d| Instant::now() + d);
        let deadline = idle_end.map_or(until, |i| i.min(until));
        match tokio::time::timeout_at(deadline, peer.read(buf.spare())).await {
            Ok(Ok(0)) if body == Body::UntilClose => return Waited::Ready,
            Ok(Ok(0)) | Ok(Err(_)) => return Waited::Closed,
            Ok(Ok(n)) => buf.commit(n),
            Err(_) if Instant::now() >= until => return Waited::TimedOut,
            Err(_) => return Waited::Idle,
        }
    }
}

/// What answers a request whose body did not come as the rules wanted: the status (0: close
/// without one) and the termination state logged; `None` when it came.
pub fn request_failure(waited: Waited) -> Option<(u16, [u8; 2])> {
    match waited {
        Waited::Ready => None,
        // The client was too slow: HAProxy's 408, a client-side timeout in the data phase.
        Waited::TimedOut | Waited::Idle => Some((408, *b"cD")),
        Waited::Closed => Some((0, *b"CR")),
        Waited::Invalid => Some((400, *b"PR")),
    }
}

/// The status that replaces a response whose body did not come as the rules wanted (504
/// when the server was too slow, 502 when it broke off), `None` when it came.
pub fn response_failure(waited: Waited) -> Option<u16> {
    match waited {
        Waited::Ready => None,
        Waited::TimedOut | Waited::Idle => Some(504),
        Waited::Closed | Waited::Invalid => Some(502),
    }
}

/// Whether the request rules wait for the body of the request in `input`, and how: `option
/// http-buffer-request` (up to `timeout http-request`, else the client's inactivity
/// timeout), or the first `http-request wait-for-body` rule of the frontend (or its default
/// backend) whose condition holds on the head.
pub fn request_wait(
    plan: &Plan,
    fe: &crate::frontend::Frontend,
    input: &RequestIn<'_>,
) -> Option<BodyWait> {
    if input.req.framing().body == Body::None {
        return None;
    }
    let mut edits = Edits::default();
    let msg = Msg::request(input.req, input.buf, &mut edits);
    let mut conn = Conn::new(plan, fe.index, input.addrs);
    conn.fc = input.fc;
    conn.tls = input.tls;
    let src = Stream::request(&conn, &msg);
    let by_rule = [Some(fe.index), fe.default_backend]
        .into_iter()
        .flatten()
        .filter_map(|p| plan.rules(p))
        .find_map(|r| r.compiled.http_request.body_wait(&src));
    by_rule.or_else(|| {
        fe.buffer_request.then_some(BodyWait {
            // No `timeout http-request`: the client's inactivity timeout ends the wait.
            time: fe.http_request.unwrap_or(NO_LIMIT),
            at_least: None,
        })
    })
}

/// Whether the response rules of backend `be` wait for the body of `resp`: the first
/// `http-response wait-for-body` rule whose condition holds on the head.
pub fn response_wait(
    plan: &Plan,
    conn: &Conn<'_>,
    resp: &ResponseHead,
    buf: &[u8],
) -> Option<BodyWait> {
    if matches!(resp.framing().body, Body::None | Body::Tunnel) {
        return None;
    }
    let be = conn.be?;
    let mut edits = Edits::default();
    let msg = Msg::response(resp, buf, &mut edits);
    let src = Stream {
        response: Some(&msg),
        ..Stream::tcp(conn)
    };
    [Some(be), Some(conn.fe)]
        .into_iter()
        .flatten()
        .filter_map(|p| plan.rules(p))
        .find_map(|r| r.compiled.http_response.body_wait(&src))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies_are_seen_without_their_framing() {
        let bytes = b"1\r\na\r\n3\r\nbcd\r\n0\r\n\r\nNEXT";
        assert_eq!(
            received(bytes, Body::Chunked),
            Ok(Received {
                data: 4,
                complete: true
            })
        );
        assert_eq!(&payload(bytes, Body::Chunked)[..], b"abcd");
        let partial = b"1\r\na\r\n3\r\nb";
        assert_eq!(
            received(partial, Body::Chunked),
            Ok(Received {
                data: 2,
                complete: false
            })
        );
        assert_eq!(&payload(partial, Body::Chunked)[..], b"ab");
        assert!(received(b"zz\r\n", Body::Chunked).is_err());
    }

    #[test]
    fn expect_lines_are_dropped() {
        let mut head =
            b"POST / HTTP/1.1\r\nhost: x\r\nExpect: 100-continue\r\nexpected: 1\r\n\r\n".to_vec();
        drop_expect(&mut head);
        assert_eq!(head, b"POST / HTTP/1.1\r\nhost: x\r\nexpected: 1\r\n\r\n");
    }

    #[test]
    fn length_bodies_stop_at_their_length() {
        assert_eq!(&payload(b"abcdef", Body::Length(4))[..], b"abcd");
        assert_eq!(
            received(b"ab", Body::Length(4)),
            Ok(Received {
                data: 2,
                complete: false
            })
        );
    }
}
