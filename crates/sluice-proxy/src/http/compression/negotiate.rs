//! The coding a request accepts: its `Accept-Encoding` elements with their q-values against
//! the configured algorithms, as HAProxy chooses (the highest q wins, the first of equal
//! ones; `*` takes the last configured algorithm, HAProxy's list being built backwards; `q=0`
//! refuses). `identity`, when configured, applies without being asked for.

use super::head::{self, Line};
use super::{Algorithm, Effective};
use crate::plan::Plan;

/// The coding to compress the response to the request whose head (as sent to the server)
/// is `request`, `None` when it accepts none of `algos`.
pub fn offer(algos: &[Algorithm], request: &[u8]) -> Option<Algorithm> {
    if old_mozilla(request) {
        return None;
    }
    let mut best: Option<(u16, Algorithm)> = None;
    for value in head::values(request, "accept-encoding") {
        for element in value.split(|&b| b == b',') {
            let element = element.trim_ascii();
            let token_len = element
                .iter()
                .position(|&b| !is_token(b))
                .unwrap_or(element.len());
            let token = element.get(..token_len).unwrap_or_default();
            let q = qvalue(element.get(token_len..).unwrap_or_default());
            if q <= best.map_or(0, |(q, _)| q) {
                continue;
            }
            let matched = if element.first() == Some(&b'*') {
                algos.last().copied()
            } else {
                algos
                    .iter()
                    .copied()
                    .find(|a| token.eq_ignore_ascii_case(a.token().as_bytes()))
            };
            if let Some(a) = matched {
                best = Some((q, a));
            }
        }
    }
    best.map(|(_, a)| a)
        .or_else(|| algos.iter().copied().find(|a| *a == Algorithm::Identity))
}

/// The settings and the coding for the request of frontend `fe` routed to backend `be`,
/// whose head as sent to the server is `request`; `compression offload` removes its
/// `Accept-Encoding` when a coding was chosen. `None`: the response will not be compressed.
pub fn for_request<'p>(
    plan: &'p Plan,
    fe: usize,
    be: usize,
    request: &mut Vec<u8>,
) -> Option<(Effective<'p>, Algorithm)> {
    let conf = Effective::of(plan, fe, be)?;
    let algo = offer(conf.algos, request)?;
    if conf.offload {
        drop_accept_encoding(request);
    }
    Some((conf, algo))
}

/// `compression offload`: the server must not compress, so it is not told what the client
/// accepts.
pub fn drop_accept_encoding(request: &mut Vec<u8>) {
    head::rewrite(
        request,
        |name, _| {
            if name.eq_ignore_ascii_case(b"accept-encoding") {
                Line::Drop
            } else {
                Line::Keep
            }
        },
        &[],
    );
}

/// Old browsers that say `Mozilla/4` mishandle compressed responses, except MSIE 6 with XP
/// SP2 (`SV1`) and MSIE 7 and later: HAProxy's rule.
fn old_mozilla(request: &[u8]) -> bool {
    let Some(ua) = head::values(request, "user-agent").next() else {
        return false;
    };
    if !ua.starts_with(b"Mozilla/4") {
        return false;
    }
    let msie = ua.get(25..30) == Some(&b"MSIE "[..]);
    let major = ua.get(30).copied().unwrap_or(0);
    !msie || major < b'6' || (major == b'6' && ua.get(51..54) != Some(&b"SV1"[..]))
}

/// The q-value in the parameters that follow a token (`;q=0.5`), in thousandths; 1000
/// without one.
fn qvalue(params: &[u8]) -> u16 {
    for param in params.split(|&b| b == b';').skip(1) {
        let param = param.trim_ascii();
        let Some(v) = param
            .strip_prefix(b"q=")
            .or_else(|| param.strip_prefix(b"Q="))
        else {
            continue;
        };
        return parse_qvalue(v.trim_ascii());
    }
    1000
}

/// `1`, `1.0`, `0.5`, `0.125`... in thousandths; anything else counts as 0.
fn parse_qvalue(v: &[u8]) -> u16 {
    match v.first() {
        Some(b'1') => 1000,
        Some(b'0') => {
            let mut q = 0u16;
            let mut scale = 100u16;
            for &d in v.get(2..).unwrap_or_default().iter().take(3) {
                if !d.is_ascii_digit() {
                    break;
                }
                q += u16::from(d - b'0') * scale;
                scale /= 10;
            }
            q
        }
        _ => 0,
    }
}

/// RFC 9110 `tchar`.
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Algorithm::*;

    fn req(headers: &str) -> Vec<u8> {
        format!("GET / HTTP/1.1\r\nhost: x\r\n{headers}\r\n").into_bytes()
    }

    #[test]
    fn the_highest_q_value_wins() {
        let both = [Gzip, Deflate];
        let r = req("Accept-Encoding: *;q=0, gzip;q=0.750, deflate;q=0.500\r\n");
        assert_eq!(offer(&both, &r), Some(Gzip));
        let r = req("Accept-Encoding: *;q=0, gzip;q=0.500, deflate;q=0.750\r\n");
        assert_eq!(offer(&both, &r), Some(Deflate));
        let r = req("Accept-Encoding: br\r\nAccept-Encoding: deflate, gzip\r\n");
        assert_eq!(offer(&both, &r), Some(Deflate));
        assert_eq!(
            offer(&[RawDeflate], &req("accept-encoding: DEFLATE\r\n")),
            Some(RawDeflate)
        );
    }

    #[test]
    fn nothing_is_chosen_without_a_match() {
        assert_eq!(offer(&[Gzip], &req("")), None);
        assert_eq!(offer(&[Gzip], &req("Accept-Encoding: invalid\r\n")), None);
        assert_eq!(offer(&[Gzip], &req("Accept-Encoding: gzip;q=0\r\n")), None);
        assert_eq!(offer(&[Gzip], &req("Accept-Encoding: *\r\n")), Some(Gzip));
        let both = [Gzip, Deflate];
        assert_eq!(offer(&both, &req("Accept-Encoding: *\r\n")), Some(Deflate));
        assert_eq!(offer(&[Identity], &req("")), Some(Identity));
    }

    #[test]
    fn old_mozilla_gets_no_compression() {
        let r = req("Accept-Encoding: gzip\r\nUser-Agent: Mozilla/4\r\n");
        assert_eq!(offer(&[Gzip], &r), None);
        let msie7 = "User-Agent: Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.0)\r\n";
        let r = req(&format!("Accept-Encoding: gzip\r\n{msie7}"));
        assert_eq!(offer(&[Gzip], &r), Some(Gzip));
    }

    #[test]
    fn offload_removes_every_accept_encoding_line() {
        let mut r = req("Accept-Encoding: gzip\r\nx: 1\r\naccept-encoding: br\r\n");
        drop_accept_encoding(&mut r);
        assert_eq!(r, b"GET / HTTP/1.1\r\nhost: x\r\nx: 1\r\n\r\n");
    }
}
