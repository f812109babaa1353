//! Arbitrary bytes as what a client sends: a request head, then the body its framing
//! announces (chunked bodies through the decoder), then the next pipelined request; the
//! same bytes as a server's response. Nothing may panic, and what is accepted must hold
//! together.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_http::{Body, ChunkedDecoder, Config, Method, Parsed, RequestHead, ResponseHead};

fuzz_target!(|data: &[u8]| {
    let configs = [Config::default(), Config::from_tune(256, 128, 5)];
    for config in &configs {
        let mut head = RequestHead::new();
        let mut pos = 0;
        // a few pipelined requests at most
        for _ in 0..4 {
            let rest = &data[pos..];
            let head_len = match head.parse(rest, config) {
                Parsed::Complete { head_len } => head_len,
                Parsed::Partial => break,
                Parsed::Error(e) => {
                    assert!(sluice_http::errors::page(e.request_status()).is_some());
                    break;
                }
            };
            assert!(head_len <= rest.len() && head_len <= config.max_head_len);
            assert!(head.host(rest).is_some() || head.version() == Some(sluice_http::Version::Http10));
            for (name, value) in head.forward_headers(rest) {
                assert!(!name.is_empty());
                assert!(!value.contains(&b'\n') && !value.contains(&0));
            }
            pos += head_len;
            match head.framing().body {
                Body::None => {}
                Body::Length(n) => {
                    let n = usize::try_from(n).unwrap_or(usize::MAX);
                    pos = pos.saturating_add(n).min(data.len());
                }
                Body::Chunked => match ChunkedDecoder::new().forward(&data[pos..]) {
                    Ok(f) => {
                        pos += f.len;
                        if !f.done {
                            break;
                        }
                    }
                    Err(_) => break,
                },
                Body::UntilClose | Body::Tunnel => break,
            }
            if !head.framing().keep_alive {
                break;
            }
        }
        for method in [Method::Get, Method::Head, Method::Connect] {
            let mut resp = ResponseHead::new();
            if let Parsed::Complete { head_len } = resp.parse(data, config, method) {
                assert!(head_len <= data.len());
                assert!(resp.status() >= 100);
            }
        }
    }
});
