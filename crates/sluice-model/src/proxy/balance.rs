//! `balance <algorithm> [arguments]`.

use crate::statement::{self, Parsed};
use sluice_config::{Location, Statement};

/// The load-balancing algorithms of HAProxy 3.4.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Algorithm {
    RoundRobin,
    StaticRr,
    LeastConn,
    First,
    Source,
    Uri,
    UrlParam(String),
    Hdr(String),
    Random(Option<u32>),
    RdpCookie(Option<String>),
    Hash(String),
    LogHash(String),
    Sticky,
}

/// One `balance` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Balance {
    pub algorithm: Algorithm,
    /// Further arguments as written (`uri whole len 10`, `url_param id check_post`).
    pub args: Vec<String>,
    pub location: Location,
}

const NAMES: &str = "'roundrobin', 'static-rr', 'leastconn', 'first', 'source', 'uri', 'url_param', 'hdr(name)', 'random', 'rdp-cookie', 'hash', 'log-hash' and 'sticky'";

/// Parses a `balance` statement.
pub fn parse(stmt: &Statement) -> Parsed<Balance> {
    // A bare `balance` means round robin, as in HAProxy.
    let Some(word) = stmt.words.get(1) else {
        return Ok(Balance {
            algorithm: Algorithm::RoundRobin,
            args: Vec::new(),
            location: stmt.location,
        });
    };
    let text = word.text.as_str();
    let (name, inner) = match text.split_once('(') {
        Some((n, rest)) => (n, Some(rest.strip_suffix(')').unwrap_or(rest))),
        None => (text, None),
    };
    let next = stmt.words.get(2).map(|w| w.text.clone());
    let mut args_from = 2;
    let algorithm = match (name, inner) {
        ("roundrobin", None) => Algorithm::RoundRobin,
        ("static-rr", None) => Algorithm::StaticRr,
        ("leastconn", None) => Algorithm::LeastConn,
        ("first", None) => Algorithm::First,
        ("source", None) => Algorithm::Source,
        ("uri", None) => Algorithm::Uri,
        ("sticky", None) => Algorithm::Sticky,
        ("url_param", None) => {
            args_from = 3;
            Algorithm::UrlParam(next.ok_or_else(|| {
                statement::syntax_error(
                    stmt,
                    1,
                    "argument-missing",
                    "'balance url_param' requires an URL parameter name.",
                    "write 'balance url_param <name>'",
                )
            })?)
        }
        ("hdr", Some(h)) if !h.is_empty() => Algorithm::Hdr(h.to_string()),
        ("random", None) => Algorithm::Random(None),
        ("random", Some(d)) => Algorithm::Random(Some(d.parse().map_err(|_| {
            statement::syntax_error(
                stmt,
                1,
                "value-invalid",
                format!("'balance random' expects a number of draws, got '{d}'."),
                "write e.g. 'balance random(2)'",
            )
        })?)),
        ("rdp-cookie", c) => Algorithm::RdpCookie(c.map(str::to_string)),
        ("hash", None) | ("log-hash", None) => {
            args_from = 3;
            let expr = next.ok_or_else(|| {
                statement::syntax_error(
                    stmt,
                    1,
                    "argument-missing",
                    format!("'balance {name}' requires a sample expression."),
                    format!("write e.g. 'balance {name} req.cookie(id)'"),
                )
            })?;
            if name == "hash" {
                Algorithm::Hash(expr)
            } else {
                Algorithm::LogHash(expr)
            }
        }
        _ => {
            return Err(sluice_config::Diagnostic::error(
                sluice_config::Category::Syntax,
                "balance-unknown",
                format!("'balance' only supports {NAMES} (got '{text}')."),
            )
            .at(stmt.word_location(1))
            .help("write e.g. 'balance roundrobin' or 'balance leastconn'")
            .into())
        }
    };
    check_modifiers(stmt, &algorithm, text)?;
    Ok(Balance {
        algorithm,
        args: statement::texts(stmt, args_from),
        location: stmt.location,
    })
}

/// HAProxy 3.4's checks of the words after the algorithm. `roundrobin`, `static-rr`,
/// `leastconn`, `first`, `source`, `random` and `rdp-cookie` ignore them, as HAProxy does.
fn check_modifiers(stmt: &Statement, algorithm: &Algorithm, text: &str) -> Parsed<()> {
    let word = |i: usize| stmt.words.get(i).map(|w| w.as_str());
    let invalid = |i: usize, message: String, help: String| -> Parsed<()> {
        Err(statement::unexpected(stmt, i, message, help))
    };
    match algorithm {
        Algorithm::Uri => {
            let mut i = 2;
            while let Some(w) = word(i) {
                match w {
                    "len" | "depth" => i += 2,
                    "whole" | "path-only" => i += 1,
                    _ => {
                        return invalid(
                            i,
                            format!("balance uri only accepts parameters 'len', 'depth', 'path-only', and 'whole' (got '{w}')."),
                            format!("remove '{w}': write e.g. 'balance uri whole' or 'balance uri len 32 depth 3'"),
                        )
                    }
                }
            }
            Ok(())
        }
        Algorithm::UrlParam(_) => match word(3) {
            Some(w) if w != "check_post" => invalid(
                3,
                format!("balance url_param only accepts 'check_post' modifier (got '{w}')."),
                format!("remove '{w}': 'balance url_param <name>' takes only 'check_post'"),
            ),
            _ => Ok(()),
        },
        Algorithm::Hdr(_) => match word(2) {
            Some(w) if w != "use_domain_only" => invalid(
                2,
                format!("balance {text} only accepts 'use_domain_only' modifier (got '{w}')."),
                format!("remove '{w}': 'balance {text}' takes only 'use_domain_only'"),
            ),
            _ => Ok(()),
        },
        Algorithm::Hash(_) | Algorithm::LogHash(_) => match word(3) {
            Some(w) => {
                let name = if matches!(algorithm, Algorithm::Hash(_)) {
                    "hash"
                } else {
                    "log-hash"
                };
                invalid(
                    3,
                    format!("balance {name} takes no other argument (got '{w}')."),
                    format!("remove '{w}': 'balance {name}' takes one sample expression (quote it if it contains spaces)"),
                )
            }
            None => Ok(()),
        },
        _ => Ok(()),
    }
}
