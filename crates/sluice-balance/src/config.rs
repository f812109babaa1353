//! From HAProxy's `balance` and `hash-type` argument words to algorithm values.
//!
//! The model crate has already checked the names when the configuration was loaded; this is
//! the run-time side, which turns the same words into what [`Balancer`](crate::Balancer)
//! builds from. Nothing here panics on odd input: every problem is an [`Error`] value.

use crate::error::{Error, ErrorKind};
use crate::hash::{HashFunction, HashMethod, HashParams, HashType};
use crate::random::DEFAULT_DRAWS;
use crate::uri::UriOptions;

/// The algorithm of a `balance` line and its own arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// `roundrobin` (also a bare `balance`).
    RoundRobin,
    /// `static-rr`.
    StaticRr,
    /// `leastconn`.
    LeastConn,
    /// `first`.
    First,
    /// `source`.
    Source,
    /// `uri [whole] [len N] [depth N] [path-only]`.
    Uri(UriOptions),
    /// `url_param <name> [check_post]`.
    UrlParam {
        /// The parameter's name.
        name: String,
        /// Look in a POST body too (the caller does, and passes the value in the key).
        check_post: bool,
    },
    /// `hdr(<name>) [use_domain_only]`.
    Hdr {
        /// The header's name, as written.
        name: String,
        /// Hash only the main domain label.
        use_domain_only: bool,
    },
    /// `random[(draws)]`.
    Random {
        /// Number of draws, at least 1.
        draws: u32,
    },
    /// `rdp-cookie[(name)]`.
    RdpCookie {
        /// The cookie's name (`mstshash` when omitted).
        name: String,
    },
    /// `hash <expr>`: the caller evaluates the sample expression.
    Hash {
        /// The sample expression as written.
        expr: String,
    },
}

/// Everything that decides how a backend balances: the algorithm plus the backend's
/// `hash-type` and `hash-balance-factor`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Balance {
    /// The algorithm.
    pub kind: Kind,
    /// `hash-type`: used by the hash-based algorithms.
    pub hash_type: HashType,
    /// `hash-balance-factor` (0: none).
    pub hash_balance_factor: u32,
}

impl Default for Balance {
    /// HAProxy 3.4's algorithm for a backend that sets none: `random`.
    fn default() -> Self {
        Balance::new(Kind::Random {
            draws: DEFAULT_DRAWS,
        })
    }
}

impl Balance {
    /// An algorithm with the default hash type (map-based sdbm) and no balance factor.
    pub fn new(kind: Kind) -> Self {
        Balance {
            kind,
            hash_type: HashType::default(),
            hash_balance_factor: 0,
        }
    }

    /// Parses the words after `balance`: `["uri", "whole", "depth", "2"]`,
    /// `["hdr(Host)", "use_domain_only"]`, `["random(3)"]`. No words means round robin.
    pub fn parse<S: AsRef<str>>(words: &[S]) -> Result<Self, Error> {
        let mut words = words.iter().map(AsRef::as_ref);
        let Some(first) = words.next() else {
            return Ok(Balance::new(Kind::RoundRobin));
        };
        let rest: Vec<&str> = words.collect();
        let (name, inner) = split_call(first);
        let simple = |kind: Kind| -> Result<Kind, Error> {
            match (inner, rest.first()) {
                (Some(_), _) => Err(Error::new(ErrorKind::InvalidArgument, first)),
                (None, Some(extra)) => Err(Error::new(ErrorKind::UnexpectedArgument, *extra)),
                (None, None) => Ok(kind),
            }
        };
        let kind = match name {
            "roundrobin" => simple(Kind::RoundRobin)?,
            "static-rr" => simple(Kind::StaticRr)?,
            "leastconn" => simple(Kind::LeastConn)?,
            "first" => simple(Kind::First)?,
            "source" => simple(Kind::Source)?,
            "uri" if inner.is_none() => Kind::Uri(parse_uri(&rest)?),
            "url_param" if inner.is_none() => parse_url_param(&rest)?,
            "hdr" => {
                let header = inner
                    .filter(|h| !h.is_empty())
                    .ok_or_else(|| Error::new(ErrorKind::MissingArgument, first))?;
                let use_domain_only = match rest.as_slice() {
                    [] => false,
                    ["use_domain_only"] => true,
                    [extra, ..] => {
                        return Err(Error::new(ErrorKind::UnexpectedArgument, *extra));
                    }
                };
                Kind::Hdr {
                    name: header.to_string(),
                    use_domain_only,
                }
            }
            "random" => {
                let draws = match inner {
                    None => DEFAULT_DRAWS,
                    Some(d) => d
                        .parse::<u32>()
                        .ok()
                        .filter(|&d| d >= 1)
                        .ok_or_else(|| Error::new(ErrorKind::InvalidArgument, first))?,
                };
                if let Some(extra) = rest.first() {
                    return Err(Error::new(ErrorKind::UnexpectedArgument, *extra));
                }
                Kind::Random { draws }
            }
            "rdp-cookie" => {
                if let Some(extra) = rest.first() {
                    return Err(Error::new(ErrorKind::UnexpectedArgument, *extra));
                }
                Kind::RdpCookie {
                    name: inner
                        .filter(|n| !n.is_empty())
                        .unwrap_or("mstshash")
                        .to_string(),
                }
            }
            "hash" if inner.is_none() => {
                let expr = rest
                    .first()
                    .ok_or_else(|| Error::new(ErrorKind::MissingArgument, first))?;
                if let Some(extra) = rest.get(1) {
                    return Err(Error::new(ErrorKind::UnexpectedArgument, *extra));
                }
                Kind::Hash {
                    expr: (*expr).to_string(),
                }
            }
            "log-hash" | "sticky" => return Err(Error::new(ErrorKind::Unsupported, name)),
            _ => return Err(Error::new(ErrorKind::Unknown, first)),
        };
        Ok(Balance::new(kind))
    }

    /// Sets the backend's `hash-type`.
    pub fn with_hash_type(mut self, hash_type: HashType) -> Self {
        self.hash_type = hash_type;
        self
    }

    /// Sets the backend's `hash-balance-factor`.
    pub fn with_hash_balance_factor(mut self, factor: u32) -> Self {
        self.hash_balance_factor = factor;
        self
    }

    /// The hash parameters the hash-based algorithms are built with.
    pub fn hash_params(&self) -> HashParams {
        HashParams {
            hash_type: self.hash_type,
            balance_factor: self.hash_balance_factor,
        }
    }
}

/// Parses the words after `hash-type`: `<method> [<function>] [avalanche]`.
///
/// `consistent` alone means sdbm with avalanche, as HAProxy documents; `map-based` alone
/// means plain sdbm.
pub fn parse_hash_type<S: AsRef<str>>(words: &[S]) -> Result<HashType, Error> {
    let mut words = words.iter().map(AsRef::as_ref);
    let method = match words.next() {
        Some("map-based") => HashMethod::MapBased,
        Some("consistent") => HashMethod::Consistent,
        Some(other) => return Err(Error::new(ErrorKind::Unknown, other)),
        None => return Err(Error::new(ErrorKind::MissingArgument, "hash-type")),
    };
    let function = match words.next() {
        None => {
            return Ok(match method {
                HashMethod::Consistent => HashType::consistent(),
                HashMethod::MapBased => HashType::default(),
            });
        }
        Some("sdbm") => HashFunction::Sdbm,
        Some("djb2") => HashFunction::Djb2,
        Some("wt6") => HashFunction::Wt6,
        Some("crc32") => HashFunction::Crc32,
        Some("none") => HashFunction::None,
        Some(other) => return Err(Error::new(ErrorKind::InvalidArgument, other)),
    };
    let avalanche = match words.next() {
        None => false,
        Some("avalanche") => true,
        Some(other) => return Err(Error::new(ErrorKind::InvalidArgument, other)),
    };
    if let Some(extra) = words.next() {
        return Err(Error::new(ErrorKind::UnexpectedArgument, extra));
    }
    Ok(HashType {
        method,
        function,
        avalanche,
    })
}

/// `hdr(Host)` → ("hdr", Some("Host")); `uri` → ("uri", None).
fn split_call(word: &str) -> (&str, Option<&str>) {
    match word.split_once('(') {
        Some((name, rest)) => (name, Some(rest.strip_suffix(')').unwrap_or(rest))),
        None => (word, None),
    }
}

fn parse_uri(args: &[&str]) -> Result<UriOptions, Error> {
    let mut options = UriOptions::default();
    let mut args = args.iter();
    while let Some(&arg) = args.next() {
        match arg {
            "whole" => options.whole = true,
            "path-only" => options.path_only = true,
            "len" | "depth" => {
                let value = args
                    .next()
                    .ok_or_else(|| Error::new(ErrorKind::MissingArgument, arg))?;
                let n = value
                    .parse::<u32>()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| Error::new(ErrorKind::InvalidArgument, *value))?;
                if arg == "len" {
                    options.len = n;
                } else {
                    options.depth = n;
                }
            }
            other => return Err(Error::new(ErrorKind::UnexpectedArgument, other)),
        }
    }
    Ok(options)
}

fn parse_url_param(args: &[&str]) -> Result<Kind, Error> {
    let (name, rest) = args
        .split_first()
        .ok_or_else(|| Error::new(ErrorKind::MissingArgument, "url_param"))?;
    let check_post = match rest {
        [] => false,
        // HAProxy still accepts and ignores the old `max_wait` number after check_post.
        ["check_post"] | ["check_post", _] => true,
        [extra, ..] => return Err(Error::new(ErrorKind::UnexpectedArgument, *extra)),
    };
    Ok(Kind::UrlParam {
        name: (*name).to_string(),
        check_post,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_names() {
        assert_eq!(
            Balance::parse::<&str>(&[]).map(|b| b.kind),
            Ok(Kind::RoundRobin)
        );
        assert_eq!(
            Balance::parse(&["static-rr"]).map(|b| b.kind),
            Ok(Kind::StaticRr)
        );
        assert_eq!(Balance::parse(&["first"]).map(|b| b.kind), Ok(Kind::First));
        let err = Balance::parse(&["leastconn", "x"]).err();
        assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::UnexpectedArgument));
    }

    #[test]
    fn arguments() {
        let uri = Balance::parse(&["uri", "whole", "len", "10", "depth", "3", "path-only"]);
        assert_eq!(
            uri.map(|b| b.kind),
            Ok(Kind::Uri(UriOptions {
                whole: true,
                len: 10,
                depth: 3,
                path_only: true
            }))
        );
        assert_eq!(
            Balance::parse(&["random(3)"]).map(|b| b.kind),
            Ok(Kind::Random { draws: 3 })
        );
        assert_eq!(
            Balance::parse(&["rdp-cookie"]).map(|b| b.kind),
            Ok(Kind::RdpCookie {
                name: "mstshash".into()
            })
        );
        assert_eq!(
            Balance::parse(&["hdr(Host)", "use_domain_only"]).map(|b| b.kind),
            Ok(Kind::Hdr {
                name: "Host".into(),
                use_domain_only: true
            })
        );
        assert_eq!(
            Balance::parse(&["url_param", "uid", "check_post"]).map(|b| b.kind),
            Ok(Kind::UrlParam {
                name: "uid".into(),
                check_post: true
            })
        );
    }

    #[test]
    fn errors_are_values() {
        let kind = |w: &[&str]| Balance::parse(w).err().map(|e| e.kind());
        assert_eq!(kind(&["roundrobn"]), Some(ErrorKind::Unknown));
        assert_eq!(kind(&["url_param"]), Some(ErrorKind::MissingArgument));
        assert_eq!(kind(&["uri", "len"]), Some(ErrorKind::MissingArgument));
        assert_eq!(
            kind(&["uri", "depth", "-1"]),
            Some(ErrorKind::InvalidArgument)
        );
        assert_eq!(kind(&["random(0)"]), Some(ErrorKind::InvalidArgument));
        assert_eq!(kind(&["hdr()"]), Some(ErrorKind::MissingArgument));
        assert_eq!(kind(&["log-hash", "lower"]), Some(ErrorKind::Unsupported));
        assert_eq!(kind(&["hash"]), Some(ErrorKind::MissingArgument));
    }

    #[test]
    fn hash_types() {
        assert_eq!(parse_hash_type(&["consistent"]), Ok(HashType::consistent()));
        assert_eq!(
            parse_hash_type(&["map-based", "djb2", "avalanche"]),
            Ok(HashType {
                method: HashMethod::MapBased,
                function: HashFunction::Djb2,
                avalanche: true
            })
        );
        let err = parse_hash_type(&["consistent", "md5"]).err();
        assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::InvalidArgument));
    }
}
