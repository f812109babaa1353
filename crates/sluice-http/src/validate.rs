//! Smuggling defences: the checks that `httparse` does not make, and the exact kind and
//! offset of a defect once `httparse` has refused a head.
//!
//! What is refused, and how that compares with HAProxy 3.4 without
//! `option accept-unsafe-violations-in-http-request` ("manual" = its configuration manual
//! says so; "not documented" = the manual lists no such check, so Sluice may be stricter):
//!
//! | defect | Sluice | HAProxy |
//! | --- | --- | --- |
//! | byte outside token in a header name, empty name | 400 | 400 (manual) |
//! | whitespace before the colon | 400 | 400 |
//! | NUL in a value | 400 | 400 (manual) |
//! | another CTL but HTAB in a value | 400 | not documented |
//! | obsolete line folding | 400 | not documented (its parser unfolds into spaces, which RFC 9112 §5.2 also allows) |
//! | bare LF as line ending | 400 | accepted (manual: a double LF is an empty line). HAProxy rewrites the head with CRLF; Sluice forwards heads as received, so a line end the next hop may read differently must not pass |
//! | CTL, space, `#` or byte above 127 in the request-target | 400 | 400 (manual) |
//! | `*` outside OPTIONS, CONNECT without `host:port`, other target forms | 400 | CONNECT authority checked (manual) |
//! | version not `HTTP/d.d` | 400 | 400 (manual) |
//! | `HTTP/d.d` other than 1.0 and 1.1 | 505 | not documented |
//! | HTTP/1.1 without Host (RFC 9112 §3.2) | 400 | not documented |
//! | two Host headers | 400 | not documented |
//! | Host not an authority (spaces, `/`, `@`, lists) | 400 | not documented |
//! | absolute-form or CONNECT authority differs from Host (ASCII case ignored) | 400 | 400 (manual) |
//! | WebSocket upgrade without a valid `Sec-WebSocket-Key` | 400 | 400 (manual) |

use crate::error::{Error, ErrorKind};
use crate::head::Parsed;

/// Token characters (RFC 9110 §5.6.2).
static TCHAR: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        i += 1;
    }
    t
};

/// Whether `b` may appear in a token (method, header name, coding).
pub(crate) fn is_tchar(b: u8) -> bool {
    TCHAR[b as usize]
}

/// Whether `b` may appear in a field value: HTAB, SP, visible ASCII, obs-text.
pub(crate) fn is_value_byte(b: u8) -> bool {
    b == b'\t' || (0x20..0x7f).contains(&b) || b >= 0x80
}

/// Whether `b` is optional whitespace.
pub(crate) fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Trims optional whitespace at both ends.
pub(crate) fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if !is_ows(*first) {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if !is_ows(*last) {
            break;
        }
        s = rest;
    }
    s
}

/// The first line ending of `head` that is a bare LF, as an error.
pub(crate) fn check_crlf(head: &[u8]) -> Result<(), Error> {
    for i in memchr::memchr_iter(b'\n', head) {
        let cr = i.checked_sub(1).and_then(|p| head.get(p)) == Some(&b'\r');
        if !cr {
            return Err(Error::new(ErrorKind::BareLf, i));
        }
    }
    Ok(())
}

/// The form of a request-target (RFC 9112 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetForm {
    /// `/path?query`, the usual form.
    Origin,
    /// `scheme://authority/path`, sent to proxies.
    Absolute,
    /// `host:port`, CONNECT only.
    Authority,
    /// `*`, OPTIONS only.
    Asterisk,
}

/// Checks the bytes `httparse` lets through in a target (HAProxy refuses `#` and bytes
/// above 127) and the form against the method. Returns the form and, for the absolute and
/// authority forms, the authority's range within `target`.
pub(crate) fn check_target(
    target: &[u8],
    is_connect: bool,
    is_options: bool,
    at: usize,
    unsafe_ok: bool,
) -> Result<(TargetForm, Option<(usize, usize)>), Error> {
    if let Some(i) = target
        .iter()
        .position(|&b| !unsafe_ok && (b == b'#' || b >= 0x80))
    {
        return Err(Error::new(ErrorKind::InvalidTarget, at + i));
    }
    let bad = Error::new(ErrorKind::InvalidTarget, at);
    if is_connect {
        // CONNECT takes host:port and nothing else.
        if !is_authority(target, true) {
            return Err(bad);
        }
        return Ok((TargetForm::Authority, Some((0, target.len()))));
    }
    match target.first() {
        Some(b'/') => Ok((TargetForm::Origin, None)),
        Some(b'*') if target.len() == 1 && is_options => Ok((TargetForm::Asterisk, None)),
        _ => {
            let sep = memchr::memmem::find(target, b"://").ok_or(bad)?;
            let scheme = target.get(..sep).unwrap_or_default();
            let scheme_ok = scheme.first().is_some_and(u8::is_ascii_alphabetic)
                && scheme
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
            if !scheme_ok {
                return Err(bad);
            }
            let start = sep + 3;
            let rest = target.get(start..).unwrap_or_default();
            let len = rest
                .iter()
                .position(|&b| b == b'/' || b == b'?')
                .unwrap_or(rest.len());
            let whole = rest.get(..len).unwrap_or_default();
            // A deprecated `userinfo@` is kept in the target but is not part of the host.
            let skip = whole
                .iter()
                .rposition(|&b| b == b'@')
                .map_or(0, |at| at + 1);
            let userinfo = whole.get(..skip.saturating_sub(1)).unwrap_or_default();
            let authority = whole.get(skip..).unwrap_or_default();
            if !userinfo.iter().all(|&b| is_userinfo_byte(b)) || !is_authority(authority, false) {
                return Err(bad);
            }
            Ok((TargetForm::Absolute, Some((start + skip, start + len))))
        }
    }
}

/// Whether `s` is `host[:port]` (`host:port` when `port_required`): a reg-name of
/// unreserved, sub-delims and percent bytes, or an `[IP-literal]`.
pub(crate) fn is_authority(s: &[u8], port_required: bool) -> bool {
    let (host, port) = match s.first() {
        Some(b'[') => match s.iter().position(|&b| b == b']') {
            Some(close) => {
                let inner = s.get(1..close).unwrap_or_default();
                let ok = !inner.is_empty()
                    && inner
                        .iter()
                        .all(|&b| b.is_ascii_hexdigit() || matches!(b, b':' | b'.'));
                if !ok {
                    return false;
                }
                (s.get(..=close).unwrap_or_default(), s.get(close + 1..))
            }
            None => return false,
        },
        _ => match s.iter().rposition(|&b| b == b':') {
            Some(colon) => (
                s.get(..colon).unwrap_or_default(),
                s.get(colon..).filter(|p| !p.is_empty()),
            ),
            None => (s, None),
        },
    };
    let host_ok = host.first() == Some(&b'[')
        || host.iter().all(|&b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'-' | b'.'
                        | b'_'
                        | b'~'
                        | b'!'
                        | b'$'
                        | b'&'
                        | b'\''
                        | b'('
                        | b')'
                        | b'*'
                        | b'+'
                        | b','
                        | b';'
                        | b'='
                        | b'%'
                )
        });
    let port_ok = match port {
        // `port` keeps its leading ':'; it may be empty (RFC 3986), except for CONNECT.
        Some(p) => {
            (p.len() > 1 || !port_required)
                && p.iter().skip(1).all(u8::is_ascii_digit)
                && p.first() == Some(&b':')
        }
        None => !port_required,
    };
    host_ok && port_ok && !(port_required && host.is_empty())
}

/// A byte of RFC 3986's userinfo: unreserved, percent-encoded, sub-delims or `:`.
fn is_userinfo_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b'%'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
        )
}

/// Whether a `Sec-WebSocket-Key` is the base64 form of 16 bytes (RFC 6455 §4.1).
pub(crate) fn is_websocket_key(v: &[u8]) -> bool {
    is_base64_of(v, 24, 2)
}

/// Whether a `Sec-WebSocket-Accept` is the base64 form of a SHA-1 digest (20 bytes).
pub(crate) fn is_websocket_accept(v: &[u8]) -> bool {
    is_base64_of(v, 28, 1)
}

fn is_base64_of(v: &[u8], len: usize, pad: usize) -> bool {
    let body = len - pad;
    v.len() == len
        && v.iter()
            .take(body)
            .all(|&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
        && v.iter().skip(body).all(|&b| b == b'=')
}

/// Which start line precedes the headers.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum StartLine {
    Request,
    Response,
}

/// Finds the first defect in a head that `httparse` refused, walking it with Sluice's rules:
/// gives its kind and offset, or `Partial` when the bytes seen so far could still become
/// valid (so that parsing a prefix never reports what the whole would not).
pub(crate) fn diagnose(buf: &[u8], start: StartLine, header_lines: usize) -> Parsed {
    match walk(buf, start, header_lines) {
        Walk::Defect(kind, at) => Parsed::Error(Error::new(kind, at)),
        Walk::NeedMore => Parsed::Partial,
        // httparse refused a head these rules accept: an internal disagreement, reported
        // as a generic 400 rather than forwarded.
        // (none found by 300k mutated heads).
        Walk::Clean => Parsed::Error(Error::new(ErrorKind::InvalidHeaderName, 0)),
    }
}

enum Walk {
    Defect(ErrorKind, usize),
    NeedMore,
    Clean,
}

/// A cursor over the head; every read is bounds-checked.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.buf.get(self.pos + ahead).copied()
    }

    /// Reads a line ending at the cursor: `Ok(true)` if it was CRLF, `Ok(false)` if there is
    /// no line ending here.
    fn line_end(&mut self) -> Result<bool, Walk> {
        match self.peek() {
            Some(b'\r') => match self.peek_at(1) {
                Some(b'\n') => {
                    self.pos += 2;
                    Ok(true)
                }
                Some(_) => Err(Walk::Defect(ErrorKind::InvalidLineEnding, self.pos)),
                None => Err(Walk::NeedMore),
            },
            Some(b'\n') => Err(Walk::Defect(ErrorKind::BareLf, self.pos)),
            Some(_) => Ok(false),
            None => Err(Walk::NeedMore),
        }
    }
}

fn walk(buf: &[u8], start: StartLine, header_lines: usize) -> Walk {
    let mut c = Cursor { buf, pos: 0 };
    match walk_inner(&mut c, start, header_lines) {
        Ok(()) => Walk::Clean,
        Err(w) => w,
    }
}

fn walk_inner(c: &mut Cursor<'_>, start: StartLine, header_lines: usize) -> Result<(), Walk> {
    // Empty lines before the start line are ignored (RFC 9112 §2.2), as httparse does.
    while c.line_end()? {}
    match start {
        StartLine::Request => request_line(c)?,
        StartLine::Response => status_line(c)?,
    }
    let mut count = 0usize;
    loop {
        let line = c.pos;
        if c.line_end()? {
            return Ok(());
        }
        match c.peek() {
            Some(b' ' | b'\t') => return Err(Walk::Defect(ErrorKind::ObsFold, line)),
            None => return Err(Walk::NeedMore),
            Some(_) => {}
        }
        // name
        loop {
            match c.peek() {
                None => return Err(Walk::NeedMore),
                Some(b':') if c.pos > line => break,
                Some(b' ' | b'\t') => {
                    return Err(Walk::Defect(ErrorKind::HeaderNameWhitespace, c.pos))
                }
                Some(b) if is_tchar(b) => c.pos += 1,
                Some(_) => return Err(Walk::Defect(ErrorKind::InvalidHeaderName, c.pos)),
            }
        }
        c.pos += 1;
        // value, up to the line ending
        loop {
            if c.line_end()? {
                break;
            }
            match c.peek() {
                Some(b) if is_value_byte(b) => c.pos += 1,
                Some(_) => return Err(Walk::Defect(ErrorKind::InvalidHeaderValue, c.pos)),
                None => return Err(Walk::NeedMore),
            }
        }
        count += 1;
        if count > header_lines {
            return Err(Walk::Defect(ErrorKind::TooManyHeaders, line));
        }
    }
}

fn request_line(c: &mut Cursor<'_>) -> Result<(), Walk> {
    let method = c.pos;
    loop {
        match c.peek() {
            None => return Err(Walk::NeedMore),
            Some(b' ') if c.pos > method => break,
            Some(b) if is_tchar(b) => c.pos += 1,
            Some(_) => return Err(Walk::Defect(ErrorKind::InvalidMethod, c.pos)),
        }
    }
    c.pos += 1;
    let target = c.pos;
    loop {
        match c.peek() {
            None => return Err(Walk::NeedMore),
            Some(b' ') if c.pos > target => break,
            // '#' and bytes above 127 are refused as HAProxy does
            Some(b'#') => return Err(Walk::Defect(ErrorKind::InvalidTarget, c.pos)),
            Some(b'!'..=0x7e) => c.pos += 1,
            Some(_) => return Err(Walk::Defect(ErrorKind::InvalidTarget, c.pos)),
        }
    }
    c.pos += 1;
    version(c, true)
}

fn status_line(c: &mut Cursor<'_>) -> Result<(), Walk> {
    version(c, false)?;
    let code = c.pos;
    for _ in 0..3 {
        match c.peek() {
            None => return Err(Walk::NeedMore),
            Some(b) if b.is_ascii_digit() => c.pos += 1,
            Some(_) => return Err(Walk::Defect(ErrorKind::InvalidStatus, code)),
        }
    }
    if c.line_end()? {
        return Ok(());
    }
    if c.peek() != Some(b' ') {
        return Err(Walk::Defect(ErrorKind::InvalidStatus, code));
    }
    c.pos += 1;
    loop {
        if c.line_end()? {
            return Ok(());
        }
        match c.peek() {
            Some(b) if is_value_byte(b) => c.pos += 1,
            Some(_) => return Err(Walk::Defect(ErrorKind::InvalidStatus, c.pos)),
            None => return Err(Walk::NeedMore),
        }
    }
}

/// `HTTP/d.d`, then the line end (request) or a space (response). A well-formed version
/// other than 1.0/1.1 is `UnsupportedVersion`; only decided once the byte after it is seen.
fn version(c: &mut Cursor<'_>, request: bool) -> Result<(), Walk> {
    let at = c.pos;
    const SHAPE: &[u8] = b"HTTP/d.d";
    for (i, &want) in SHAPE.iter().enumerate() {
        let ok = match c.peek_at(i) {
            None => return Err(Walk::NeedMore),
            Some(b) if want == b'd' => b.is_ascii_digit(),
            Some(b) => b == want,
        };
        if !ok {
            return Err(Walk::Defect(ErrorKind::InvalidVersion, at));
        }
    }
    let v = c.buf.get(at..at + 8).unwrap_or_default();
    c.pos += 8;
    let ended = if request {
        c.line_end()?
    } else {
        match c.peek() {
            Some(b' ') => {
                c.pos += 1;
                true
            }
            Some(_) => false,
            None => return Err(Walk::NeedMore),
        }
    };
    if !ended {
        return Err(Walk::Defect(ErrorKind::InvalidVersion, at));
    }
    if v != b"HTTP/1.0" && v != b"HTTP/1.1" {
        return Err(Walk::Defect(ErrorKind::UnsupportedVersion, at));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind_at(buf: &[u8]) -> Option<(ErrorKind, usize)> {
        match diagnose(buf, StartLine::Request, 100) {
            Parsed::Error(e) => Some((e.kind(), e.offset())),
            _ => None,
        }
    }

    #[test]
    fn space_before_colon_is_named() {
        let r = kind_at(b"GET / HTTP/1.1\r\nHost : a\r\n\r\n");
        assert_eq!(r, Some((ErrorKind::HeaderNameWhitespace, 20)));
    }

    #[test]
    fn obs_fold_is_named() {
        let r = kind_at(b"GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n");
        assert_eq!(r, Some((ErrorKind::ObsFold, 25)));
    }

    #[test]
    fn nul_in_value_is_named() {
        let r = kind_at(b"GET / HTTP/1.1\r\nX: a\0b\r\n\r\n");
        assert_eq!(r, Some((ErrorKind::InvalidHeaderValue, 20)));
    }

    #[test]
    fn version_is_undecided_until_its_end() {
        assert_eq!(
            diagnose(b"GET / HTTP/2", StartLine::Request, 100),
            Parsed::Partial
        );
        assert_eq!(
            kind_at(b"GET / HTTP/2.0\r\n"),
            Some((ErrorKind::UnsupportedVersion, 6))
        );
        assert_eq!(
            kind_at(b"GET / HTTP/1.10\r\n"),
            Some((ErrorKind::InvalidVersion, 6))
        );
    }

    #[test]
    fn bare_lf_is_found() {
        assert_eq!(
            check_crlf(b"a\r\nb\nc"),
            Err(Error::new(ErrorKind::BareLf, 4))
        );
        assert_eq!(check_crlf(b"\n"), Err(Error::new(ErrorKind::BareLf, 0)));
        assert_eq!(check_crlf(b"a\r\n\r\n"), Ok(()));
    }

    #[test]
    fn targets() {
        let t =
            |s: &[u8], connect, options| check_target(s, connect, options, 0, false).map(|x| x.0);
        assert_eq!(t(b"/a?b", false, false), Ok(TargetForm::Origin));
        assert_eq!(t(b"*", false, true), Ok(TargetForm::Asterisk));
        assert!(t(b"*", false, false).is_err());
        assert_eq!(
            t(b"http://a.b:80/x", false, false),
            Ok(TargetForm::Absolute)
        );
        // userinfo is accepted and is not part of the authority.
        let full = |s: &[u8]| check_target(s, false, false, 0, false).map(|x| x.1);
        assert_eq!(full(b"http://u:p@a:80/x"), Ok(Some((11, 15))));
        assert!(t(b"http://u p@a/x", false, false).is_err());
        assert!(t(b"a.b:", true, false).is_err());
        assert_eq!(t(b"a.b:443", true, false), Ok(TargetForm::Authority));
        assert_eq!(t(b"[::1]:443", true, false), Ok(TargetForm::Authority));
        assert!(t(b"a.b", true, false).is_err());
        assert!(t(b"/a#frag", false, false).is_err());
        assert!(t(b"/\xc3\xa9", false, false).is_err());
        assert!(t(b"foo", false, false).is_err());
    }

    #[test]
    fn authorities() {
        assert!(is_authority(b"example.com", false));
        assert!(is_authority(b"example.com:8080", false));
        assert!(is_authority(b"", false));
        assert!(!is_authority(b"a b", false));
        assert!(!is_authority(b"a/b", false));
        // An empty port is allowed, but not where a port is required (CONNECT).
        assert!(is_authority(b"a:", false));
        assert!(!is_authority(b"a:", true));
        assert!(!is_authority(b"a:8x", false));
        assert!(is_authority(b"[2001:db8::1]:80", false));
        assert!(!is_authority(b"[zz]", false));
    }

    #[test]
    fn websocket_keys() {
        assert!(is_websocket_key(b"dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(!is_websocket_key(b"dGhlIHNhbXBsZSBub25jZQ="));
        assert!(!is_websocket_key(b"dGhlIHNhbXBsZSBub25j*Q=="));
        assert!(is_websocket_accept(b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    }
}
