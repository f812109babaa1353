//! Relays a body through the encoder: what the sender sends (a length or chunks) is decoded,
//! compressed and sent on as chunks, buffer by buffer, ending with the encoder's trailer and
//! the last chunk. Chunk trailers are not forwarded.

use super::encoder::Encoder;
use super::Algorithm;
use crate::error::{Error, ErrorKind, Side};
use crate::http::buf::Buf;
use crate::stream::ioutil::{read_into, write_all};
use sluice_http::{Body, ChunkedDecoder};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

/// Sends the response head `head` (rewritten by [`super::response::rewrite_head`]), then
/// the body compressed with `coding` (the algorithm and its level), counted for the
/// statistics of frontend `fe` and backend `be`. The timeouts: the server's, the client's.
#[allow(clippy::too_many_arguments)]
pub async fn relay<R, W>(
    server: &mut R,
    client: &mut W,
    head: &[u8],
    buf: &mut Buf,
    body: Body,
    coding: Option<(Algorithm, u32)>,
    (server_timeout, client_timeout): (Option<Duration>, Option<Duration>),
    (fe, be): (usize, usize),
) -> Result<(), Error>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let Some(coding) = coding else {
        return Err(Error::new(ErrorKind::Protocol, Side::Server));
    };
    write_all(client, head, client_timeout, Side::Client).await?;
    let mut job = Job::new(coding);
    let r = compress(
        server,
        client,
        buf,
        body,
        &mut job,
        (server_timeout, Side::Server),
        (client_timeout, Side::Client),
    )
    .await;
    crate::counters::with_traffic(|t| {
        use crate::counters::{Row, Traffic};
        for row in [Row::Frontend(fe), Row::Backend(be)] {
            if let Some(row) = t.row(row) {
                row.add(Traffic::CompIn, job.input);
                row.add(Traffic::CompOut, job.output);
                row.add(Traffic::CompResponses, u64::from(r.is_ok()));
            }
        }
    });
    r
}

/// One body's compression: its coding and level, the payload bytes fed to the encoder and
/// the bytes it gave (`comp_in`, `comp_out`).
#[derive(Clone, Copy, Debug)]
pub struct Job {
    pub algo: Algorithm,
    pub level: u32,
    pub input: u64,
    pub output: u64,
}

impl Job {
    pub fn new((algo, level): (Algorithm, u32)) -> Job {
        Job {
            algo,
            level,
            input: 0,
            output: 0,
        }
    }
}

/// Relays the body `body` whose first bytes are at the start of `buf` from `r` to `w`,
/// compressed as `job` says (which counts what goes through). Consumes exactly the body from
/// `buf`. Each side comes with its timeout and says whose it is (the request's body goes from
/// the client to the server).
pub async fn compress<R, W>(
    r: &mut R,
    w: &mut W,
    buf: &mut Buf,
    body: Body,
    job: &mut Job,
    (read_timeout, read_side): (Option<Duration>, Side),
    (write_timeout, write_side): (Option<Duration>, Side),
) -> Result<(), Error>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut left = match body {
        Body::Length(n) => Left::Length(n),
        Body::Chunked => Left::Chunked(ChunkedDecoder::new()),
        // Bodies that end at close are not compressed (see `response::applies`).
        _ => return Err(Error::new(ErrorKind::Protocol, read_side)),
    };
    let mut encoder = Encoder::new(job.algo, job.level);
    let mut encoded = Vec::new();
    let mut frame = Vec::new();
    let encoding_failed = |_| Error::new(ErrorKind::Io, write_side);
    loop {
        let (fed, done) = feed(&mut left, buf, &mut encoder).map_err(|_| {
            // A chunk the decoder refuses: the message is cut, as without compression.
            Error::new(ErrorKind::Protocol, read_side)
        })?;
        job.input += fed as u64;
        if done {
            // The end of the stream flushes what is pending.
            encoder.finish(&mut encoded).map_err(encoding_failed)?;
            job.output += encoded.len() as u64;
            chunk(&mut frame, &encoded);
            frame.extend_from_slice(b"0\r\n\r\n");
            return write_all(w, &frame, write_timeout, write_side).await;
        }
        if fed > 0 {
            encoder.flush(&mut encoded).map_err(encoding_failed)?;
            if !encoded.is_empty() {
                job.output += encoded.len() as u64;
                chunk(&mut frame, &encoded);
                write_all(w, &frame, write_timeout, write_side).await?;
                encoded.clear();
            }
        }
        if read_into(r, buf, read_timeout, read_side).await? == 0 {
            return Err(Error::new(ErrorKind::Closed, read_side));
        }
    }
}

/// What is left of the body to read.
enum Left {
    Length(u64),
    Chunked(ChunkedDecoder),
}

/// Feeds the encoder with the body bytes at the start of `buf` and consumes them: how many
/// payload bytes were fed, and whether the body is complete.
fn feed(left: &mut Left, buf: &mut Buf, encoder: &mut Encoder) -> Result<(usize, bool), ()> {
    match left {
        Left::Length(n) => {
            let take = usize::try_from(*n).unwrap_or(usize::MAX).min(buf.len());
            let bytes = buf.filled().get(..take).unwrap_or_default();
            encoder.write(bytes).map_err(|_| ())?;
            buf.consume(take);
            *n -= take as u64;
            Ok((take, *n == 0))
        }
        Left::Chunked(decoder) => {
            let mut at = 0;
            let mut fed = 0;
            let done = loop {
                let rest = buf.filled().get(at..).unwrap_or_default();
                let d = decoder.decode(rest).map_err(|_| ())?;
                if let Some(data) = rest.get(d.data.clone()) {
                    if !data.is_empty() {
                        encoder.write(data).map_err(|_| ())?;
                        fed += data.len();
                    }
                }
                at += d.consumed;
                if d.done || d.consumed == 0 {
                    break d.done;
                }
            };
            buf.consume(at);
            Ok((fed, done))
        }
    }
}

/// `frame` becomes one chunk carrying `data` (nothing when `data` is empty).
fn chunk(frame: &mut Vec<u8>, data: &[u8]) {
    frame.clear();
    if data.is_empty() {
        return;
    }
    frame.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
    frame.extend_from_slice(data);
    frame.extend_from_slice(b"\r\n");
}
