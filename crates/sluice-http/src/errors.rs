//! HAProxy's built-in error responses, as static bytes ready to send.
//!
//! The layout is HAProxy's: `HTTP/1.1 <status> <reason>`, then `content-length`,
//! `cache-control: no-cache` and `content-type: text/html`, then a small HTML body with the
//! status in an `<h1>` and one sentence. Status codes and reason phrases are HAProxy's
//! (`400 Bad request`, `408 Request Time-out`, `504 Gateway Time-out`); the sentences are
//! Sluice's own. 505 is Sluice's addition (HAProxy forwards unknown versions). 401 and 407
//! carry a realm, so they are built where `http-request auth` is, not here.
//!
//! The pages carry no `connection` header: whoever sends one decides whether the
//! connection closes, and adds `connection: close` between [`ErrorPage::head`] and the
//! body when it does.

/// One built-in error response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorPage {
    /// The status code.
    pub status: u16,
    /// The reason phrase, as HAProxy writes it.
    pub reason: &'static str,
    /// Status line and headers, each ending with CRLF, without the empty line.
    pub head: &'static str,
    /// The HTML body.
    pub body: &'static str,
    /// The whole response: `head`, CRLF, `body`.
    pub bytes: &'static [u8],
}

macro_rules! page {
    ($status:literal, $reason:literal, $len:literal, $sentence:literal) => {
        ErrorPage {
            status: $status,
            reason: $reason,
            head: page!(@head $status, $reason, $len),
            body: page!(@body $status, $reason, $sentence),
            bytes: concat!(
                page!(@head $status, $reason, $len),
                "\r\n",
                page!(@body $status, $reason, $sentence)
            )
            .as_bytes(),
        }
    };
    (@head $status:literal, $reason:literal, $len:literal) => {
        concat!(
            "HTTP/1.1 ", $status, " ", $reason, "\r\n",
            "content-length: ", $len, "\r\n",
            "cache-control: no-cache\r\n",
            "content-type: text/html\r\n"
        )
    };
    (@body $status:literal, $reason:literal, $sentence:literal) => {
        concat!("<html><body><h1>", $status, " ", $reason, "</h1>\n", $sentence, "\n</body></html>\n")
    };
}

/// Every built-in page, by status. The content lengths are checked by a test.
pub static PAGES: &[ErrorPage] = &[
    page!(
        400,
        "Bad request",
        101,
        "The request was malformed and was not forwarded."
    ),
    page!(
        403,
        "Forbidden",
        98,
        "The proxy's rules deny access to this resource."
    ),
    page!(404, "Not Found", 85, "Nothing was found at this address."),
    page!(
        405,
        "Method Not Allowed",
        114,
        "This method is not allowed for the requested resource."
    ),
    page!(
        408,
        "Request Time-out",
        104,
        "The request did not arrive completely in time."
    ),
    page!(410, "Gone", 86, "This resource has been removed for good."),
    page!(
        413,
        "Payload Too Large",
        99,
        "The request body is larger than allowed."
    ),
    page!(
        421,
        "Misdirected Request",
        110,
        "This server cannot answer for the requested host."
    ),
    page!(
        422,
        "Unprocessable Content",
        113,
        "The request's transfer coding cannot be processed."
    ),
    page!(
        425,
        "Too Early",
        97,
        "The request came as early data; send it again."
    ),
    page!(
        429,
        "Too Many Requests",
        103,
        "Too many requests were sent in a short time."
    ),
    page!(
        500,
        "Internal Server Error",
        95,
        "The proxy met an internal error."
    ),
    page!(
        501,
        "Not Implemented",
        111,
        "The server does not support what the request asks for."
    ),
    page!(
        502,
        "Bad Gateway",
        103,
        "The server sent an invalid or incomplete response."
    ),
    page!(
        503,
        "Service Unavailable",
        107,
        "No server is available to answer this request."
    ),
    page!(
        504,
        "Gateway Time-out",
        92,
        "The server did not answer in time."
    ),
    page!(
        505,
        "HTTP Version Not Supported",
        106,
        "This version of HTTP is not supported."
    ),
];

/// The built-in page for `status`, if there is one.
pub fn page(status: u16) -> Option<&'static ErrorPage> {
    PAGES.iter().find(|p| p.status == status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Config, Method, Parsed, ResponseHead};

    #[test]
    fn every_page_parses_and_its_length_is_right() {
        for p in PAGES {
            let mut h = ResponseHead::new();
            let parsed = h.parse(p.bytes, &Config::default(), Method::Get);
            let Parsed::Complete { head_len } = parsed else {
                panic!("{} does not parse: {parsed:?}", p.status);
            };
            assert_eq!(h.status(), p.status);
            assert_eq!(h.reason(p.bytes), p.reason.as_bytes());
            assert_eq!(
                h.framing().body,
                crate::Body::Length(p.body.len() as u64),
                "content-length of {}",
                p.status
            );
            assert_eq!(&p.bytes[head_len..], p.body.as_bytes());
            assert_eq!(h.header(p.bytes, "cache-control"), Some(&b"no-cache"[..]));
            assert_eq!(h.header(p.bytes, "content-type"), Some(&b"text/html"[..]));
        }
    }

    #[test]
    fn the_400_page_looks_like_haproxys() {
        let p = page(400).map(|p| p.bytes);
        let text = std::str::from_utf8(p.unwrap_or_default()).unwrap_or_default();
        assert!(text.starts_with("HTTP/1.1 400 Bad request\r\ncontent-length: 101\r\n"));
        assert!(text.contains("\r\n\r\n<html><body><h1>400 Bad request</h1>\n"));
        assert!(text.ends_with("\n</body></html>\n"));
    }

    #[test]
    fn the_statuses_haproxy_sends_are_all_there() {
        for s in [
            400, 403, 405, 408, 410, 413, 425, 429, 500, 501, 502, 503, 504,
        ] {
            assert!(page(s).is_some(), "{s}");
        }
        assert!(page(418).is_none());
    }
}
