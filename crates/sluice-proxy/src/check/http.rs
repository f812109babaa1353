//! HTTP checks: the response a check reads, and `http-check expect` on it.

use super::rules::{HttpExpect, HttpMatch};
use super::{Outcome, Status};

/// A response as much as a check needs: status, reason, headers, body (as received; a
/// chunked body keeps its chunk sizes).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What the bytes read so far make.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// More bytes are needed (or the end of the stream).
    Partial,
    /// A complete response (by `Content-Length`, or at the end of the stream).
    Done(Response),
    /// Not an HTTP response.
    Invalid(&'static str),
}

/// Parses `buf`; `eof`: the server closed (the body ends there).
pub fn parse(buf: &[u8], eof: bool) -> Parsed {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        if eof {
            return if buf.is_empty() {
                Parsed::Invalid("empty response")
            } else {
                Parsed::Invalid("truncated response")
            };
        }
        if !buf.is_empty() && !b"HTTP/".starts_with(buf.get(..buf.len().min(5)).unwrap_or_default())
        {
            return Parsed::Invalid("not an HTTP response");
        }
        return Parsed::Partial;
    };
    let head = String::from_utf8_lossy(buf.get(..end).unwrap_or_default()).into_owned();
    let mut lines = head.split("\r\n");
    let start = lines.next().unwrap_or_default();
    let mut parts = start.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/") {
        return Parsed::Invalid("not an HTTP response");
    }
    let Some(status) = parts.next().and_then(|s| s.parse::<u16>().ok()) else {
        return Parsed::Invalid("invalid status line");
    };
    let reason = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    for l in lines {
        if let Some((n, v)) = l.split_once(':') {
            headers.push((n.trim().to_string(), v.trim().to_string()));
        }
    }
    let body = buf.get(end + 4..).unwrap_or_default();
    let length = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok());
    let no_body = status < 200 || status == 204 || status == 304;
    let complete = eof || no_body || length.is_some_and(|l| body.len() >= l);
    if !complete {
        return Parsed::Partial;
    }
    let body = match length {
        Some(l) => body.get(..l.min(body.len())).unwrap_or_default(),
        None if no_body => &[],
        None => body,
    };
    Parsed::Done(Response {
        status,
        reason,
        headers,
        body: body.to_vec(),
    })
}

/// HAProxy's implicit rule: 2xx and 3xx pass.
pub fn default_expect(r: &Response) -> Outcome {
    let code = u32::from(r.status);
    if (200..400).contains(&r.status) {
        Outcome::new(Status::L7Ok, r.reason.clone()).with_code(code)
    } else {
        Outcome::new(
            Status::L7Sts,
            // HAProxy's message, with `<` and `>` as its log encoding writes them.
            format!("HTTP status check returned code <3C>{}<3E>", r.status),
        )
        .with_code(code)
    }
}

/// One `http-check expect` on `r`: `Ok` with the success outcome, `Err` with the failure.
pub fn expect(e: &HttpExpect, r: &Response) -> Result<Outcome, Outcome> {
    let code = u32::from(r.status);
    let status_text = r.status.to_string();
    let found = match &e.what {
        HttpMatch::Status(ranges) => ranges.iter().any(|(a, b)| (*a..=*b).contains(&r.status)),
        HttpMatch::RStatus(re) => re.is_match(status_text.as_bytes()),
        HttpMatch::String(s) => contains(&r.body, s),
        HttpMatch::RString(re) => re.is_match(&r.body),
        HttpMatch::Hdr { name, value } => r.headers.iter().any(|(n, v)| {
            n.eq_ignore_ascii_case(name)
                && value
                    .as_ref()
                    .map_or(true, |want| v.split(',').any(|p| p.trim() == want))
        }),
    };
    if found != e.negate {
        let info = e.on_success.clone().unwrap_or_else(|| r.reason.clone());
        return Ok(Outcome::new(e.ok, info).with_code(code));
    }
    let info = e.on_error.clone().unwrap_or_else(|| match &e.what {
        HttpMatch::Status(_) | HttpMatch::RStatus(_) => r.reason.clone(),
        HttpMatch::Hdr { .. } if e.negate => "HTTP header matched unwanted content".into(),
        HttpMatch::Hdr { .. } => "HTTP header did not match".into(),
        _ if e.negate => "HTTP check matched unwanted content".into(),
        _ => "HTTP content check did not match".into(),
    });
    Err(Outcome::new(e.error, info).with_code(code))
}

/// Whether `needle` occurs in `hay`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_by_length_and_at_eof() {
        let full = b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 2\r\n\r\nok";
        let Parsed::Done(r) = parse(full, false) else {
            panic!("complete")
        };
        assert_eq!(
            (r.status, r.reason.as_str(), &r.body[..]),
            (500, "Internal Server Error", &b"ok"[..])
        );
        assert_eq!(parse(b"HTTP/1.0 200 OK\r\n\r\nab", false), Parsed::Partial);
        assert!(matches!(
            parse(b"HTTP/1.0 200 OK\r\n\r\nab", true),
            Parsed::Done(_)
        ));
        assert!(matches!(parse(b"SSH-2.0", false), Parsed::Invalid(_)));
        assert!(matches!(parse(b"", true), Parsed::Invalid(_)));
    }

    #[test]
    fn default_rule_is_2xx_3xx() {
        let mut r = Response {
            status: 302,
            ..Response::default()
        };
        assert!(default_expect(&r).status.passed());
        r.status = 404;
        assert_eq!(default_expect(&r).status, Status::L7Sts);
    }
}
