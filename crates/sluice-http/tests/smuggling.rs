//! The classic request-smuggling vectors: each is either refused with the status a client
//! would see, or read exactly one way, with the framing the server will be sent.

use sluice_http::{Body, ChunkedDecoder, Config, ErrorKind, Parsed, RequestHead};

/// Parses a request; the status Sluice would answer with, if it refuses it.
fn refused(buf: &[u8]) -> Option<(ErrorKind, u16)> {
    let mut h = RequestHead::new();
    match h.parse(buf, &Config::default()) {
        Parsed::Error(e) => Some((e.kind(), e.request_status())),
        Parsed::Partial => panic!("incomplete: {}", String::from_utf8_lossy(buf)),
        Parsed::Complete { .. } => None,
    }
}

fn req(headers: &str, body: &str) -> Vec<u8> {
    format!("POST / HTTP/1.1\r\nHost: example.com\r\n{headers}\r\n{body}").into_bytes()
}

#[test]
fn cl_te_transfer_encoding_wins_and_content_length_is_not_forwarded() {
    let buf = req(
        "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n",
        "0\r\n\r\nG",
    );
    let mut h = RequestHead::new();
    let Parsed::Complete { head_len } = h.parse(&buf, &Config::default()) else {
        panic!("CL.TE should be read as chunked");
    };
    assert_eq!(h.framing().body, Body::Chunked);
    assert!(h.framing().drop_content_length);
    assert!(
        !h.framing().keep_alive,
        "the connection closes after the response"
    );
    assert!(h
        .forward_headers(&buf)
        .all(|(n, _)| !n.eq_ignore_ascii_case(b"content-length")));
    // The body ends before "G": that byte never reaches the server as a request.
    let f = ChunkedDecoder::new().forward(&buf[head_len..]).unwrap();
    assert!(f.done);
    assert_eq!(&buf[head_len + f.len..], b"G");
}

#[test]
fn te_cl_the_whole_chunk_is_body() {
    let smuggled = "GPOST / HTTP/1.1\r\nHost: x\r\n\r\n";
    let body = format!("{:x}\r\n{smuggled}\r\n0\r\n\r\n", smuggled.len());
    let buf = req("Content-Length: 4\r\nTransfer-Encoding: chunked\r\n", &body);
    let mut h = RequestHead::new();
    let Parsed::Complete { head_len } = h.parse(&buf, &Config::default()) else {
        panic!("TE.CL should be read as chunked");
    };
    let f = ChunkedDecoder::new().forward(&buf[head_len..]).unwrap();
    assert_eq!(f.len, body.len());
    assert!(f.done);
}

#[test]
fn te_te_obfuscations_are_refused() {
    let cases = [
        (
            "Transfer-Encoding: xchunked\r\n",
            ErrorKind::InvalidTransferEncoding,
        ),
        (
            "Transfer-Encoding: chunked, identity\r\n",
            ErrorKind::InvalidTransferEncoding,
        ),
        (
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n",
            ErrorKind::InvalidTransferEncoding,
        ),
        (
            "Transfer-Encoding: chunked, chunked\r\n",
            ErrorKind::InvalidTransferEncoding,
        ),
        (
            "Transfer-Encoding: \"chunked\"\r\n",
            ErrorKind::InvalidTransferEncoding,
        ),
        (
            "Transfer-Encoding: chunked;x=1\r\n",
            ErrorKind::InvalidTransferEncoding,
        ),
        ("Transfer-Encoding:\r\n", ErrorKind::InvalidTransferEncoding),
        (
            "Transfer-Encoding : chunked\r\n",
            ErrorKind::HeaderNameWhitespace,
        ),
        (
            "Transfer-Encoding\t: chunked\r\n",
            ErrorKind::HeaderNameWhitespace,
        ),
        (" Transfer-Encoding: chunked\r\n", ErrorKind::ObsFold),
        (
            "X: y\r\n Transfer-Encoding: chunked\r\n",
            ErrorKind::ObsFold,
        ),
        ("Transfer-Encoding:\r\n chunked\r\n", ErrorKind::ObsFold),
        (
            "Transfer-Encoding: \x0bchunked\r\n",
            ErrorKind::InvalidHeaderValue,
        ),
        (
            "Transfer-Encoding: chunked\x00\r\n",
            ErrorKind::InvalidHeaderValue,
        ),
        ("Transfer-Encoding: chunked\n", ErrorKind::BareLf),
    ];
    for (headers, kind) in cases {
        let buf = req(headers, "0\r\n\r\n");
        assert_eq!(refused(&buf), Some((kind, 400)), "{headers:?}");
    }
}

#[test]
fn whitespace_around_a_valid_coding_is_optional_whitespace() {
    for te in [
        "Transfer-Encoding:  chunked",
        "Transfer-Encoding:\tchunked",
        "Transfer-Encoding: chunked \t",
        "transfer-encoding: Chunked",
    ] {
        let buf = req(&format!("{te}\r\n"), "0\r\n\r\n");
        let mut h = RequestHead::new();
        assert!(
            matches!(h.parse(&buf, &Config::default()), Parsed::Complete { .. }),
            "{te:?}"
        );
        assert_eq!(h.framing().body, Body::Chunked);
    }
}

#[test]
fn content_length_defences() {
    for cl in [
        "+5",
        "-5",
        " 5 x",
        "5.0",
        "0x5",
        "1e3",
        "",
        "5,",
        ",5",
        "99999999999999999999",
    ] {
        let buf = req(&format!("Content-Length: {cl}\r\n"), "hello");
        assert_eq!(
            refused(&buf),
            Some((ErrorKind::InvalidContentLength, 400)),
            "{cl:?}"
        );
    }
    let buf = req("Content-Length: 5\r\nContent-Length: 6\r\n", "hello");
    assert_eq!(
        refused(&buf),
        Some((ErrorKind::ConflictingContentLength, 400))
    );
    let buf = req("Content-Length: 5, 6\r\n", "hello");
    assert_eq!(
        refused(&buf),
        Some((ErrorKind::ConflictingContentLength, 400))
    );
}

#[test]
fn repeated_equal_content_lengths_are_one() {
    let buf = req("Content-Length: 5, 5\r\nContent-Length: 5\r\n", "hello");
    let mut h = RequestHead::new();
    assert!(matches!(
        h.parse(&buf, &Config::default()),
        Parsed::Complete { .. }
    ));
    assert_eq!(h.framing().body, Body::Length(5));
    let cls: Vec<&[u8]> = h
        .forward_headers(&buf)
        .filter(|(n, _)| n.eq_ignore_ascii_case(b"content-length"))
        .map(|(_, v)| v)
        .collect();
    assert_eq!(cls, vec![&b"5"[..]]);
}

#[test]
fn malformed_lines_are_refused() {
    let cases: &[(&[u8], ErrorKind)] = &[
        (b"GET / HTTP/1.1\nHost: a\n\n", ErrorKind::BareLf),
        (b"GET / HTTP/1.1\r\nHost: a\n\r\n", ErrorKind::BareLf),
        (b"GET / HTTP/1.1\r\nHost: a\r\n\n", ErrorKind::BareLf),
        (
            b"GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n",
            ErrorKind::InvalidLineEnding,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n",
            ErrorKind::InvalidHeaderValue,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n",
            ErrorKind::InvalidHeaderValue,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nX(: b\r\n\r\n",
            ErrorKind::InvalidHeaderName,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n",
            ErrorKind::InvalidHeaderName,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nX\r\n\r\n",
            ErrorKind::InvalidHeaderName,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\tX-B: 2\r\n\r\n",
            ErrorKind::ObsFold,
        ),
        (
            b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n",
            ErrorKind::InvalidVersion,
        ),
        (
            b"GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n",
            ErrorKind::InvalidTarget,
        ),
        (
            b"GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n",
            ErrorKind::InvalidTarget,
        ),
        (
            b"GET /\xff HTTP/1.1\r\nHost: a\r\n\r\n",
            ErrorKind::InvalidTarget,
        ),
        (
            b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
            ErrorKind::InvalidTarget,
        ),
        (
            b"G\x00T / HTTP/1.1\r\nHost: a\r\n\r\n",
            ErrorKind::InvalidMethod,
        ),
        (
            b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
            ErrorKind::InvalidVersion,
        ),
        (
            b"GET / http/1.1\r\nHost: a\r\n\r\n",
            ErrorKind::InvalidVersion,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            ErrorKind::DuplicateHost,
        ),
        (
            b"GET http://evil/ HTTP/1.1\r\nHost: good\r\n\r\n",
            ErrorKind::HostMismatch,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: good, evil\r\n\r\n",
            ErrorKind::InvalidHost,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            ErrorKind::UnsupportedTransferCoding,
        ),
    ];
    for (buf, kind) in cases {
        assert_eq!(
            refused(buf).map(|r| r.0),
            Some(*kind),
            "{:?}",
            String::from_utf8_lossy(buf)
        );
    }
}

#[test]
fn http10_get_with_a_body_is_413() {
    let buf = b"GET / HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc";
    assert_eq!(refused(buf), Some((ErrorKind::PayloadNotAllowed, 413)));
    // h1-accept-payload-with-any-method
    let lax = Config {
        accept_payload_with_any_method: true,
        ..Config::default()
    };
    let mut h = RequestHead::new();
    assert!(matches!(h.parse(buf, &lax), Parsed::Complete { .. }));
}

#[test]
fn chunk_level_vectors_are_refused() {
    let cases: &[(&[u8], ErrorKind)] = &[
        // a bare LF after the size: some servers end the line there, others do not
        (b"2\nxx\r\n0\r\n\r\n", ErrorKind::BareLf),
        // a bare LF inside an extension ("funky chunks")
        (b"2;\nxx\r\n0\r\n\r\n", ErrorKind::BareLf),
        (b"2;a\rxx\r\n0\r\n\r\n", ErrorKind::InvalidLineEnding),
        // data longer than announced
        (b"2\r\nxxx\r\n0\r\n\r\n", ErrorKind::MissingChunkCrlf),
        // a size that wraps 64 bits to a small number elsewhere
        (
            b"10000000000000002\r\nxx\r\n0\r\n\r\n",
            ErrorKind::ChunkSizeOverflow,
        ),
        (b"0x2\r\nxx\r\n0\r\n\r\n", ErrorKind::InvalidChunkSize),
        (b"+2\r\nxx\r\n0\r\n\r\n", ErrorKind::InvalidChunkSize),
        (
            b"0\r\nTransfer-Encoding : x\r\n\r\n",
            ErrorKind::InvalidTrailer,
        ),
    ];
    for (body, kind) in cases {
        let e = ChunkedDecoder::new().forward(body).unwrap_err();
        assert_eq!(e.kind(), *kind, "{:?}", String::from_utf8_lossy(body));
        assert_eq!(e.request_status(), 400);
    }
}
