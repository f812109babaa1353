//! Properties that hold for any input: no panic, the same answer however the bytes arrive,
//! and the same chunked payload however the body is split.

use proptest::prelude::*;
use sluice_http::{ChunkedDecoder, Config, Method, Parsed, RequestHead, ResponseHead};

fn small() -> Config {
    Config::from_tune(512, 256, 8)
}

fn parse_req(buf: &[u8], c: &Config) -> Parsed {
    RequestHead::new().parse(buf, c)
}

fn parse_resp(buf: &[u8], c: &Config) -> Parsed {
    ResponseHead::new().parse(buf, c, Method::Get)
}

/// Every prefix is either `Partial` or gives exactly the whole buffer's answer.
fn prefixes_agree(buf: &[u8], c: &Config, parse: fn(&[u8], &Config) -> Parsed) {
    let whole = parse(buf, c);
    for k in 0..buf.len() {
        let p = parse(&buf[..k], c);
        assert!(
            p == Parsed::Partial || p == whole,
            "prefix {k} of {:?}: {p:?} but whole: {whole:?}",
            String::from_utf8_lossy(buf)
        );
    }
}

/// Heads made of plausible pieces, some of them broken, so that every path is taken.
fn request_bytes() -> impl Strategy<Value = Vec<u8>> {
    let line = prop::sample::select(vec![
        "GET / HTTP/1.1\r\n",
        "POST /a?b=c HTTP/1.0\r\n",
        "CONNECT a:443 HTTP/1.1\r\n",
        "GET http://h/x HTTP/1.1\r\n",
        "GET / HTTP/2.0\r\n",
        "GET / HTTP/1.1\n",
        "GE T / HTTP/1.1\r\n",
        "\r\n",
    ]);
    let header = prop::sample::select(vec![
        "Host: h\r\n",
        "Host: a:443\r\n",
        "Content-Length: 5\r\n",
        "Content-Length: 5, 5\r\n",
        "Content-Length: +5\r\n",
        "Transfer-Encoding: chunked\r\n",
        "Transfer-Encoding: gzip, chunked\r\n",
        "Transfer-Encoding: chunked, x\r\n",
        "Connection: keep-alive, Upgrade\r\n",
        "Upgrade: websocket\r\n",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
        "Expect: 100-continue\r\n",
        "X : y\r\n",
        " folded\r\n",
        "X: a\0b\r\n",
        "X: y\n",
        "X: y\rz\r\n",
        "X-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
    ]);
    (line, prop::collection::vec(header, 0..12), any::<bool>()).prop_map(|(l, hs, end)| {
        let mut v = l.as_bytes().to_vec();
        for h in hs {
            v.extend_from_slice(h.as_bytes());
        }
        if end {
            v.extend_from_slice(b"\r\nBODY");
        }
        v
    })
}

fn response_bytes() -> impl Strategy<Value = Vec<u8>> {
    let line = prop::sample::select(vec![
        "HTTP/1.1 200 OK\r\n",
        "HTTP/1.0 404 Not Found\r\n",
        "HTTP/1.1 204\r\n",
        "HTTP/1.1 101 Switching Protocols\r\n",
        "HTTP/1.1 20 X\r\n",
        "HTTP/2.0 200 OK\r\n",
        "HTTP/1.1 200 OK\n",
    ]);
    let header = prop::sample::select(vec![
        "Content-Length: 2\r\n",
        "Content-Length: 2, 3\r\n",
        "Transfer-Encoding: chunked\r\n",
        "Transfer-Encoding: gzip\r\n",
        "Connection: close\r\n",
        "X: y\r\n",
        "X : y\r\n",
        " folded\r\n",
    ]);
    (line, prop::collection::vec(header, 0..10), any::<bool>()).prop_map(|(l, hs, end)| {
        let mut v = l.as_bytes().to_vec();
        for h in hs {
            v.extend_from_slice(h.as_bytes());
        }
        if end {
            v.extend_from_slice(b"\r\nhi");
        }
        v
    })
}

/// Chunked-encodes `chunks`, with an extension on odd chunks and optional trailers.
fn encode(chunks: &[Vec<u8>], trailers: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, c) in chunks.iter().filter(|c| !c.is_empty()).enumerate() {
        if i % 2 == 1 {
            out.extend_from_slice(format!("{:X};ext=\"v\"\r\n", c.len()).as_bytes());
        } else {
            out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        }
        out.extend_from_slice(c);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n");
    if trailers {
        out.extend_from_slice(b"X-Checksum: abc\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Decodes `body` fed in the pieces cut at `cuts`: the payload, the bytes used, whether
/// the body ended, and the first error (kind, offset).
fn decode_in_pieces(
    body: &[u8],
    cuts: &[usize],
) -> (
    Vec<u8>,
    usize,
    bool,
    Option<(sluice_http::ErrorKind, usize)>,
) {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (body.len() + 1)).collect();
    cuts.push(body.len());
    cuts.sort_unstable();
    let mut d = ChunkedDecoder::new();
    let mut out = Vec::new();
    let mut pos = 0;
    for end in cuts {
        // the caller keeps unread bytes and appends the next piece
        while pos < end {
            let piece = &body[pos..end];
            match d.decode(piece) {
                Ok(s) => {
                    out.extend_from_slice(&piece[s.data.clone()]);
                    pos += s.consumed;
                    if s.done {
                        return (out, pos, true, None);
                    }
                    if s.consumed == 0 {
                        break;
                    }
                }
                // where the error is counts, not how far earlier pieces got
                Err(e) => return (out, 0, false, Some((e.kind(), e.offset()))),
            }
        }
    }
    (out, pos, false, None)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn no_panic_on_arbitrary_bytes(buf in prop::collection::vec(any::<u8>(), 0..700)) {
        let c = small();
        let _ = parse_req(&buf, &c);
        let _ = parse_resp(&buf, &c);
        let _ = parse_req(&buf, &Config::default());
        let _ = ChunkedDecoder::new().forward(&buf);
    }

    #[test]
    fn request_prefixes_agree_with_the_whole(buf in request_bytes()) {
        prefixes_agree(&buf, &small(), parse_req);
        prefixes_agree(&buf, &Config::default(), parse_req);
    }

    #[test]
    fn response_prefixes_agree_with_the_whole(buf in response_bytes()) {
        prefixes_agree(&buf, &small(), parse_resp);
    }

    #[test]
    fn arbitrary_prefixes_agree_with_the_whole(buf in prop::collection::vec(any::<u8>(), 0..300)) {
        prefixes_agree(&buf, &small(), parse_req);
        prefixes_agree(&buf, &small(), parse_resp);
    }

    #[test]
    fn chunked_payload_is_the_same_however_split(
        chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..8),
        trailers in any::<bool>(),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        let mut body = encode(&chunks, trailers);
        let len = body.len();
        body.extend_from_slice(b"GET / HTTP/1.1\r\n");
        let (out, used, done, err) = decode_in_pieces(&body, &cuts);
        prop_assert_eq!(err, None);
        prop_assert!(done);
        prop_assert_eq!(used, len);
        prop_assert_eq!(out, chunks.concat());
        let f = ChunkedDecoder::new().forward(&body).unwrap();
        prop_assert_eq!((f.len, f.done), (len, true));
    }

    #[test]
    fn chunked_errors_are_the_same_however_split(
        body in prop::collection::vec(prop::sample::select(b"0123456789aAfFgx;= \t\r\n:\"".to_vec()), 0..80),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        let whole = decode_in_pieces(&body, &[]);
        let split = decode_in_pieces(&body, &cuts);
        prop_assert_eq!(whole, split);
    }
}
