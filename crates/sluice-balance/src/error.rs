//! Errors of [`Balance::parse`](crate::Balance::parse) and
//! [`parse_hash_type`](crate::parse_hash_type), as values.

use std::fmt;

/// A `balance` or `hash-type` argument list that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    word: String,
}

/// What is wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The algorithm or method is not one HAProxy knows.
    Unknown,
    /// A keyword lacks its argument (`url_param` without a name, `len` without a number).
    MissingArgument,
    /// An argument has the wrong form (a number that is not a positive integer...).
    InvalidArgument,
    /// An option the algorithm does not take.
    UnexpectedArgument,
    /// Valid for HAProxy but not for a proxy backend (`log-hash`, `sticky`: log backends).
    Unsupported,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, word: impl Into<String>) -> Self {
        Error {
            kind,
            word: word.into(),
        }
    }

    /// What is wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The word at fault (the keyword whose argument is missing, for `MissingArgument`).
    pub fn word(&self) -> &str {
        &self.word
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = &self.word;
        match self.kind {
            ErrorKind::Unknown => write!(f, "unknown balancing algorithm or hash method '{w}'"),
            ErrorKind::MissingArgument => write!(f, "'{w}' requires an argument"),
            ErrorKind::InvalidArgument => write!(f, "invalid argument '{w}'"),
            ErrorKind::UnexpectedArgument => write!(f, "unexpected argument '{w}'"),
            ErrorKind::Unsupported => {
                write!(f, "'{w}' only applies to log backends")
            }
        }
    }
}

impl std::error::Error for Error {}
