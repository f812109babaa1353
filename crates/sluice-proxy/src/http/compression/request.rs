//! Request bodies compressed towards the server (`compression direction request|both` with
//! `algo-req`, `type-req`, `minsize-req`).
//!
//! A request body is compressed when the request is HTTP/1.1 (or HTTP/2), its body has a
//! length (not under `minsize-req`) or is chunked, it has no `Content-Encoding` already, its
//! `Content-Type` is not `multipart/*` and is in `type-req` when that lists types, and the
//! client does not wait for a `100 Continue` (Sluice then relays the body as it comes).

use super::config::RequestSettings;
use super::head::{self, Line};
use super::Algorithm;
use crate::plan::Plan;
use sluice_http::{Body, Framing};

/// The coding and level of the body of the request of frontend `fe` routed to backend `be`,
/// whose head `out` is then rewritten for it; `None`: the body goes as it came.
pub fn for_request(
    plan: &Plan,
    (fe, be): (usize, usize),
    framing: &Framing,
    out: &mut Vec<u8>,
    request_11: bool,
) -> Option<(Algorithm, u32)> {
    let coding = decide(RequestSettings::of(plan, fe, be), framing, out, request_11)?;
    rewrite_head(out, coding.0, framing.body == Body::Chunked);
    Some(coding)
}

/// The coding and level of the body of the request whose head, as it goes to the server, is
/// `out`, with `framing`; `request_11`: HTTP/1.1 or HTTP/2.
pub fn decide(
    settings: Option<RequestSettings<'_>>,
    framing: &Framing,
    out: &[u8],
    request_11: bool,
) -> Option<(Algorithm, u32)> {
    let s = settings?;
    if !request_11 || framing.expect_continue {
        return None;
    }
    match framing.body {
        Body::Length(n) if n > 0 && n >= s.minsize => {}
        Body::Chunked => {}
        _ => return None,
    }
    if head::values(out, "content-encoding").next().is_some() {
        return None;
    }
    let typed = super::config::type_allowed(head::values(out, "content-type").next(), s.types);
    typed.then_some((s.algo, s.level))
}

/// The head of a request whose body goes compressed with `algo`: chunks instead of a
/// length, and `Content-Encoding`. `chunked`: the client already sent chunks.
pub fn rewrite_head(out: &mut Vec<u8>, algo: Algorithm, chunked: bool) {
    let mut added: Vec<(&str, &[u8])> = Vec::with_capacity(2);
    if algo != Algorithm::Identity {
        added.push(("Content-Encoding", algo.token().as_bytes()));
    }
    if !chunked {
        added.push(("Transfer-Encoding", b"chunked"));
    }
    head::rewrite(
        out,
        |name, _| {
            if name.eq_ignore_ascii_case(b"content-length") {
                Line::Drop
            } else {
                Line::Keep
            }
        },
        &added,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(types: &[Box<[u8]>]) -> Option<RequestSettings<'_>> {
        Some(RequestSettings {
            algo: Algorithm::Gzip,
            types,
            minsize: 800,
            level: 1,
        })
    }

    fn framing(body: Body) -> Framing {
        let mut f = Framing::default();
        f.body = body;
        f
    }

    #[test]
    fn bodies_over_the_minimum_of_a_listed_type_are_compressed() {
        let types: Vec<Box<[u8]>> = vec![b"text/plain"[..].into()];
        let out = b"POST / HTTP/1.1\r\nContent-Type: text/plain\r\nContent-Length: 800\r\n\r\n";
        let s = settings(&types);
        assert_eq!(
            decide(s, &framing(Body::Length(800)), out, true),
            Some((Algorithm::Gzip, 1))
        );
        assert_eq!(decide(s, &framing(Body::Length(799)), out, true), None);
        assert_eq!(decide(s, &framing(Body::Length(800)), out, false), None);
        assert!(decide(s, &framing(Body::Chunked), out, true).is_some());
        let json = b"POST / HTTP/1.1\r\nContent-Type: application/json\r\n\r\n";
        assert_eq!(decide(s, &framing(Body::Chunked), json, true), None);
        let encoded =
            b"POST / HTTP/1.1\r\nContent-Type: text/plain\r\nContent-Encoding: br\r\n\r\n";
        assert_eq!(decide(s, &framing(Body::Chunked), encoded, true), None);
        let mut out = out.to_vec();
        rewrite_head(&mut out, Algorithm::Gzip, false);
        assert_eq!(
            String::from_utf8_lossy(&out),
            "POST / HTTP/1.1\r\nContent-Type: text/plain\r\nContent-Encoding: gzip\r\n\
             Transfer-Encoding: chunked\r\n\r\n"
        );
    }
}
