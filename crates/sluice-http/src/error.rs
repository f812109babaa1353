//! The one error type of the codec: what is wrong ([`ErrorKind`]) and where (a byte offset).

use std::fmt;

/// A message Sluice refuses: the kind of defect and the offset of the first offending byte.
///
/// For heads the offset counts from the start of the buffer given to `parse`; for chunked
/// bodies it counts from the first byte of the body. The status to answer with comes from
/// [`ErrorKind::request_status`] (the client sent it) or [`ErrorKind::response_status`] (a
/// server sent it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    offset: usize,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, offset: usize) -> Error {
        Error { kind, offset }
    }

    /// What is wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Offset of the first offending byte (see the type's doc for the origin).
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The status to answer a client with: see [`ErrorKind::request_status`].
    pub fn request_status(&self) -> u16 {
        self.kind.request_status()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.kind.description(), self.offset)
    }
}

impl std::error::Error for Error {}

/// The defects the codec recognises. New kinds may be added.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The method is not a token.
    InvalidMethod,
    /// The request-target has a forbidden byte (CTL, space, `#`, byte above 127) or a form
    /// that does not fit the method (`*` outside OPTIONS, CONNECT without `host:port`).
    InvalidTarget,
    /// The protocol version is not of the form `HTTP/digit.digit`.
    InvalidVersion,
    /// A well-formed version other than HTTP/1.0 and HTTP/1.1.
    UnsupportedVersion,
    /// The status line of a response is malformed (not three digits, below 100).
    InvalidStatus,
    /// A line ends with a bare LF; Sluice forwards heads as received, so it requires CRLF.
    BareLf,
    /// A CR that is not followed by LF.
    InvalidLineEnding,
    /// A header name is empty or has a byte that is not a token character.
    InvalidHeaderName,
    /// Whitespace inside a header name or between the name and the colon.
    HeaderNameWhitespace,
    /// A header value has NUL or another control character (HTAB excepted).
    InvalidHeaderValue,
    /// A header line starts with whitespace (obsolete line folding).
    ObsFold,
    /// The head is larger than `tune.bufsize` minus `tune.maxrewrite`.
    HeadTooLarge,
    /// More header lines than `tune.http.maxhdr` allows.
    TooManyHeaders,
    /// More than one Host header.
    DuplicateHost,
    /// A Host header whose value is not a valid authority.
    InvalidHost,
    /// The authority of an absolute-form or CONNECT target differs from the Host header.
    HostMismatch,
    /// A Content-Length value that is not a list of plain decimal numbers fitting 64 bits.
    InvalidContentLength,
    /// Content-Length values that differ from one another.
    ConflictingContentLength,
    /// A Transfer-Encoding that Sluice does not frame safely: empty element, chunked twice,
    /// chunked not last in a request, or any Transfer-Encoding in an HTTP/1.0 message.
    InvalidTransferEncoding,
    /// A request Transfer-Encoding with codings before `chunked` (`gzip, chunked`): valid,
    /// but not forwarded (HAProxy answers 422).
    UnsupportedTransferCoding,
    /// An HTTP/1.0 GET, HEAD or DELETE request with a payload (HAProxy answers 413).
    PayloadNotAllowed,
    /// A WebSocket upgrade request without one valid `Sec-WebSocket-Key`.
    InvalidWebSocketKey,
    /// A WebSocket 101 response without one valid `Sec-WebSocket-Accept`.
    InvalidWebSocketAccept,
    /// A chunk-size is missing or has a byte that is not a hex digit.
    InvalidChunkSize,
    /// A chunk-size does not fit 64 bits.
    ChunkSizeOverflow,
    /// A chunk extension has a control character.
    InvalidChunkExtension,
    /// A chunk-size line longer than the decoder accepts.
    ChunkLineTooLong,
    /// Chunk data is not followed by CRLF.
    MissingChunkCrlf,
    /// A malformed trailer field.
    InvalidTrailer,
    /// The trailer section is larger than the decoder accepts.
    TrailersTooLarge,
}

impl ErrorKind {
    /// The status HAProxy (and so Sluice) answers a client whose request has this defect.
    ///
    /// 400 for nearly everything, including a head that is too large (HAProxy answers 400
    /// there, not 431); 413 for a payload on an HTTP/1.0 GET/HEAD/DELETE; 505 for a
    /// well-formed but unsupported version (HAProxy forwards those as HTTP/1.1).
    pub fn request_status(self) -> u16 {
        match self {
            ErrorKind::PayloadNotAllowed => 413,
            ErrorKind::UnsupportedTransferCoding => 422,
            ErrorKind::UnsupportedVersion => 505,
            _ => 400,
        }
    }

    /// The status answered to the client when a server's response has this defect: always
    /// 502, as HAProxy does.
    pub fn response_status(self) -> u16 {
        502
    }

    /// A short English description, for logs.
    pub fn description(self) -> &'static str {
        match self {
            ErrorKind::InvalidMethod => "invalid method",
            ErrorKind::InvalidTarget => "invalid request-target",
            ErrorKind::InvalidVersion => "invalid HTTP version",
            ErrorKind::UnsupportedVersion => "unsupported HTTP version",
            ErrorKind::InvalidStatus => "invalid status line",
            ErrorKind::BareLf => "line ends with LF without CR",
            ErrorKind::InvalidLineEnding => "CR not followed by LF",
            ErrorKind::InvalidHeaderName => "invalid character in header name",
            ErrorKind::HeaderNameWhitespace => "whitespace in header name or before colon",
            ErrorKind::InvalidHeaderValue => "invalid character in header value",
            ErrorKind::ObsFold => "header line starts with whitespace (obsolete folding)",
            ErrorKind::HeadTooLarge => "head larger than the buffer allows",
            ErrorKind::TooManyHeaders => "too many headers",
            ErrorKind::DuplicateHost => "more than one Host header",
            ErrorKind::InvalidHost => "invalid Host header",
            ErrorKind::HostMismatch => "request-target authority differs from Host",
            ErrorKind::InvalidContentLength => "invalid Content-Length",
            ErrorKind::ConflictingContentLength => "conflicting Content-Length values",
            ErrorKind::InvalidTransferEncoding => "invalid Transfer-Encoding",
            ErrorKind::UnsupportedTransferCoding => "transfer coding other than chunked",
            ErrorKind::PayloadNotAllowed => "payload on an HTTP/1.0 GET, HEAD or DELETE",
            ErrorKind::InvalidWebSocketKey => "invalid Sec-WebSocket-Key",
            ErrorKind::InvalidWebSocketAccept => "invalid Sec-WebSocket-Accept",
            ErrorKind::InvalidChunkSize => "invalid chunk size",
            ErrorKind::ChunkSizeOverflow => "chunk size overflows",
            ErrorKind::InvalidChunkExtension => "invalid chunk extension",
            ErrorKind::ChunkLineTooLong => "chunk-size line too long",
            ErrorKind::MissingChunkCrlf => "chunk data not followed by CRLF",
            ErrorKind::InvalidTrailer => "invalid trailer field",
            ErrorKind::TrailersTooLarge => "trailer section too large",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_haproxy() {
        assert_eq!(ErrorKind::HeadTooLarge.request_status(), 400);
        assert_eq!(ErrorKind::PayloadNotAllowed.request_status(), 413);
        assert_eq!(ErrorKind::UnsupportedVersion.request_status(), 505);
        assert_eq!(ErrorKind::TooManyHeaders.response_status(), 502);
    }

    #[test]
    fn display_names_the_defect_and_the_offset() {
        let e = Error::new(ErrorKind::ObsFold, 17);
        assert_eq!(
            e.to_string(),
            "header line starts with whitespace (obsolete folding) (at byte 17)"
        );
    }
}
