//! Several requests in one buffer, as a pipelining client sends them: each head and body is
//! found in turn from the framing of the previous one.

use sluice_http::{Body, ChunkedDecoder, Config, Method, Parsed, RequestHead};

#[test]
fn three_pipelined_requests() {
    let buf: &[u8] = b"GET /one HTTP/1.1\r\nHost: a\r\n\r\n\
POST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc\
POST /three HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nxyz\r\n0\r\n\r\n\
GET /four HTTP/1.1\r\nHost: a\r\n";
    let config = Config::default();
    let mut head = RequestHead::new();
    let mut pos = 0;
    let mut seen = Vec::new();
    loop {
        let rest = &buf[pos..];
        let head_len = match head.parse(rest, &config) {
            Parsed::Complete { head_len } => head_len,
            Parsed::Partial => break,
            Parsed::Error(e) => panic!("{e}"),
        };
        seen.push((
            head.method(),
            String::from_utf8_lossy(head.target(rest)).into_owned(),
        ));
        pos += head_len;
        match head.framing().body {
            Body::None => {}
            Body::Length(n) => pos += n as usize,
            Body::Chunked => {
                let f = ChunkedDecoder::new().forward(&buf[pos..]).unwrap();
                assert!(f.done);
                pos += f.len;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        seen,
        vec![
            (Method::Get, "/one".to_owned()),
            (Method::Post, "/two".to_owned()),
            (Method::Post, "/three".to_owned()),
        ]
    );
    // the fourth head is incomplete and waits for more bytes
    assert_eq!(&buf[pos..pos + 9], b"GET /four");
}
