//! `compression ...` lines and the compression filters (`filter compression`, `filter
//! comp-req`, `filter comp-res`) of a proxy.
//!
//! Each line adds to what the proxy inherited from its defaults section: `algo gzip` then
//! `algo deflate` offers both, as in HAProxy.

use crate::catalogue::{self, Admission, Place};
use crate::statement::{self, Failure, Parsed};
use sluice_config::keywords::Table;
use sluice_config::{Category, Diagnostic, Diagnostics, Location, Statement};

/// A content coding HAProxy knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// No coding: the body is only re-framed as chunks (a debugging aid in HAProxy).
    Identity,
    Gzip,
    /// zlib format (RFC 1950), announced as `deflate`.
    Deflate,
    /// Raw DEFLATE (RFC 1951) without the zlib wrapper, also announced as `deflate`.
    RawDeflate,
}

impl Algorithm {
    /// The name written in the configuration.
    pub fn config_name(self) -> &'static str {
        match self {
            Algorithm::Identity => "identity",
            Algorithm::Gzip => "gzip",
            Algorithm::Deflate => "deflate",
            Algorithm::RawDeflate => "raw-deflate",
        }
    }

    /// The token that names it in `Accept-Encoding` and `Content-Encoding`.
    pub fn token(self) -> &'static str {
        match self {
            Algorithm::Identity => "identity",
            Algorithm::Gzip => "gzip",
            Algorithm::Deflate | Algorithm::RawDeflate => "deflate",
        }
    }

    fn parse(name: &str) -> Option<Algorithm> {
        Some(match name {
            "identity" => Algorithm::Identity,
            "gzip" => Algorithm::Gzip,
            "deflate" => Algorithm::Deflate,
            "raw-deflate" => Algorithm::RawDeflate,
            _ => return None,
        })
    }
}

/// `compression direction`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Direction {
    #[default]
    Response,
    Request,
    Both,
}

impl Direction {
    pub fn responses(self) -> bool {
        matches!(self, Direction::Response | Direction::Both)
    }

    pub fn requests(self) -> bool {
        matches!(self, Direction::Request | Direction::Both)
    }
}

/// A proxy's compression settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Compression {
    /// `algo`, `algo-res`: the codings offered for responses, in the order written.
    pub algos_res: Vec<Algorithm>,
    /// `algo-req`: the coding of compressed requests.
    pub algo_req: Option<Algorithm>,
    /// `type`, `type-res`: the media types compressed (prefixes of `Content-Type`); empty:
    /// every type but `multipart/*`.
    pub types_res: Vec<String>,
    /// `type-req`.
    pub types_req: Vec<String>,
    /// `minsize-res`: responses whose announced length is smaller stay as they are.
    pub minsize_res: u64,
    /// `minsize-req`.
    pub minsize_req: u64,
    /// `offload`: `Accept-Encoding` is removed from requests that Sluice will compress the
    /// response of, so that the server does not.
    pub offload: bool,
    /// `direction`; `filter comp-req`/`comp-res` lines add their side.
    pub direction: Direction,
    /// The proxy's first compression line or filter.
    pub location: Option<Location>,
}

/// The sub-keywords of `compression`.
pub const SUB_KEYWORDS: &[&str] = &[
    "algo",
    "algo-req",
    "algo-res",
    "type",
    "type-req",
    "type-res",
    "minsize-req",
    "minsize-res",
    "offload",
    "direction",
];

/// Parses one `compression <sub-keyword> ...` line into `comp`. `in_defaults`: the line is in
/// a `defaults` section, where HAProxy ignores `offload` with a warning.
pub fn parse(
    stmt: &Statement,
    comp: &mut Compression,
    in_defaults: bool,
    diags: &mut Diagnostics,
) -> Parsed<()> {
    let sub = statement::arg(
        stmt,
        1,
        "'algo', 'algo-req', 'algo-res', 'type', 'type-req', 'type-res', 'minsize-req', \
         'minsize-res', 'offload' or 'direction'",
    )?;
    comp.location.get_or_insert(stmt.location);
    // The catalogue says which parameters run (and warns about the ignored ones); those it
    // does not list (`type-req`, `type-res`) are checked below.
    let place = Place {
        table: Table::Compression,
        context: "'compression'",
    };
    if catalogue::admit(&place, sub.as_str(), true, stmt.word_location(1), diags)
        == Admission::Reject
    {
        return Err(Failure::Reported);
    }
    match sub.as_str() {
        "algo" | "algo-res" => {
            statement::arg(stmt, 2, "at least one algorithm")?;
            for i in 2..stmt.words.len() {
                let algo = algorithm(stmt, i)?;
                if !comp.algos_res.contains(&algo) {
                    comp.algos_res.push(algo);
                }
            }
        }
        "algo-req" => {
            let algo = algorithm(stmt, 2)?;
            statement::too_many_args(stmt, 2, "compression algo-req", "one algorithm")?;
            comp.algo_req = Some(algo);
        }
        "type" | "type-res" | "type-req" => {
            statement::arg(stmt, 2, "at least one media type")?;
            let list = if sub.as_str() == "type-req" {
                &mut comp.types_req
            } else {
                &mut comp.types_res
            };
            list.extend(statement::texts(stmt, 2));
        }
        "minsize-res" | "minsize-req" => {
            let size = statement::size(stmt, 2)?;
            statement::no_extra(stmt, 2)?;
            if sub.as_str() == "minsize-res" {
                comp.minsize_res = size;
            } else {
                comp.minsize_req = size;
            }
        }
        "offload" => {
            statement::no_extra(stmt, 1)?;
            if in_defaults {
                diags.push(
                    Diagnostic::warning(
                        Category::Semantic,
                        "compression-offload-in-defaults",
                        "'compression offload' ignored in 'defaults' section.",
                    )
                    .at(stmt.word_location(1))
                    .help("move 'compression offload' to the frontend, backend or listen section"),
                );
            } else {
                comp.offload = true;
            }
        }
        "direction" => {
            let word = statement::arg(stmt, 2, "'request', 'response' or 'both'")?;
            statement::no_extra(stmt, 2)?;
            comp.direction = match word.as_str() {
                "request" => Direction::Request,
                "response" => Direction::Response,
                "both" => Direction::Both,
                other => {
                    return Err(statement::syntax_error(
                        stmt,
                        2,
                        "compression-direction-unknown",
                        format!("'compression direction' : unknown direction '{other}'."),
                        "write 'request', 'response' or 'both'",
                    )
                    .into())
                }
            };
        }
        other => {
            return Err(statement::syntax_error(
                stmt,
                1,
                "keyword-unknown",
                format!("'compression' : unknown parameter '{other}'."),
                format!("write one of {}", SUB_KEYWORDS.join(", ")),
            )
            .into())
        }
    }
    Ok(())
}

/// The algorithm at word `index`.
fn algorithm(stmt: &Statement, index: usize) -> Parsed<Algorithm> {
    let word = statement::arg(stmt, index, "an algorithm")?;
    Algorithm::parse(&word.text).ok_or_else(|| {
        statement::syntax_error(
            stmt,
            index,
            "compression-algorithm-unknown",
            format!(
                "'{} {}' : '{}' is not a supported algorithm.",
                stmt.keyword(),
                stmt.words.get(1).map_or("", |w| w.as_str()),
                word.text
            ),
            "use 'gzip', 'deflate', 'raw-deflate' or 'identity'",
        )
        .into()
    })
}

/// Whether a `filter` line names a compression filter.
pub fn is_filter(stmt: &Statement) -> bool {
    stmt.words
        .get(1)
        .is_some_and(|w| matches!(w.as_str(), "compression" | "comp-req" | "comp-res"))
}

/// `filter compression|comp-req|comp-res`: the filter runs anyway when the proxy has
/// compression settings (Sluice has no other filter to order it against); `comp-req` and
/// `comp-res` add their direction, as HAProxy's explicit filters do.
pub fn filter(stmt: &Statement, comp: &mut Compression) -> Parsed<()> {
    statement::no_extra(stmt, 1)?;
    comp.location.get_or_insert(stmt.location);
    let name = stmt.words.get(1).map_or("", |w| w.as_str());
    comp.direction = match (name, comp.direction) {
        ("comp-req", Direction::Response) => Direction::Both,
        ("comp-res", Direction::Request) => Direction::Both,
        (_, d) => d,
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::build;

    #[test]
    fn lines_add_up_and_defaults_are_inherited() {
        let (model, codes) = build(
            "defaults\n    mode http\n    compression algo gzip\n    compression type text/html\n\n\
             backend b\n    compression algo deflate gzip\n    compression type-res text/plain\n    \
             compression minsize-res 1k\n    compression offload\n    server s 127.0.0.1:80\n",
        );
        assert!(
            !codes.iter().any(|(c, _)| c.starts_with("compression")),
            "{codes:?}"
        );
        let b = model
            .proxies
            .iter()
            .find(|p| p.name == "b")
            .expect("the backend");
        let c = b.compression.as_ref().expect("compression settings");
        assert_eq!(c.algos_res, [Algorithm::Gzip, Algorithm::Deflate]);
        assert_eq!(c.types_res, ["text/html", "text/plain"]);
        assert_eq!(c.minsize_res, 1024);
        assert!(c.offload);
    }

    #[test]
    fn unknown_algorithms_and_parameters_are_errors() {
        let (_, codes) = build(
            "defaults\n    mode http\n\nbackend b\n    compression algo brotli\n    \
             compression speed 3\n    server s 127.0.0.1:80\n",
        );
        assert!(
            codes.contains(&("compression-algorithm-unknown", 5)),
            "{codes:?}"
        );
        assert!(codes.contains(&("keyword-unknown", 6)), "{codes:?}");
    }

    #[test]
    fn compression_filters_are_accepted_and_others_refused() {
        let (model, codes) = build(
            "defaults\n    mode http\n\nfrontend f\n    bind :8080\n    filter compression\n    \
             filter comp-req\n    filter trace name x\n",
        );
        assert_eq!(
            codes
                .iter()
                .filter(|(c, _)| *c == "not-implemented-refused")
                .count(),
            1
        );
        assert!(codes.contains(&("not-implemented-refused", 8)), "{codes:?}");
        let f = model
            .proxies
            .iter()
            .find(|p| p.name == "f")
            .expect("frontend");
        let c = f.compression.as_ref().expect("compression settings");
        assert_eq!(c.direction, Direction::Both);
    }

    #[test]
    fn offload_in_defaults_is_ignored_with_a_warning() {
        let (model, codes) = build(
            "defaults\n    mode http\n    compression offload\n\nbackend b\n    server s 127.0.0.1:80\n",
        );
        assert!(
            codes.contains(&("compression-offload-in-defaults", 3)),
            "{codes:?}"
        );
        let b = model
            .proxies
            .iter()
            .find(|p| p.name == "b")
            .expect("backend");
        assert!(!b.compression.as_ref().is_some_and(|c| c.offload));
    }
}
