//! `balance uri [whole] [len N] [depth N] [path-only]`: the request target designates the
//! server.

use crate::algorithm::{Algorithm, RequestKey};
use crate::hash::{HashParams, HashTable};
use crate::snapshot::{ServerId, Snapshot};

/// Options of `balance uri`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UriOptions {
    /// `whole`: keep the query string (by default hashing stops at `?`).
    pub whole: bool,
    /// `len N`: hash at most the first N bytes (0: no limit).
    pub len: u32,
    /// `depth N`: hash at most N directory levels, i.e. stop before the (N+1)-th `/`
    /// (0: no limit).
    pub depth: u32,
    /// `path-only`: start at the path, skipping an absolute URI's scheme and authority, so
    /// that HTTP/1 and HTTP/2 requests hash alike.
    pub path_only: bool,
}

/// Parameters of [`Uri`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UriParams {
    /// Hash type and balance factor.
    pub hash: HashParams,
    /// What part of the target to hash.
    pub options: UriOptions,
}

/// URI hashing over [`RequestKey::uri`]; round robin when the request has no target.
#[derive(Debug)]
pub struct Uri {
    table: HashTable,
    options: UriOptions,
}

/// The part of `uri` that `options` say to hash.
pub fn hashed_part<'a>(uri: &'a [u8], options: &UriOptions) -> &'a [u8] {
    let uri = if options.path_only { path(uri) } else { uri };
    let uri = match usize::try_from(options.len) {
        Ok(len) if len > 0 => uri.get(..len).unwrap_or(uri),
        _ => uri,
    };
    let mut slashes = 0u32;
    let end = uri.iter().position(|&c| {
        if c == b'/' {
            slashes += 1;
            options.depth != 0 && slashes == options.depth.saturating_add(1)
        } else {
            c == b'?' && !options.whole
        }
    });
    match end {
        Some(end) => uri.get(..end).unwrap_or(uri),
        None => uri,
    }
}

/// The path (and query) of a request target: itself in origin form, what follows the
/// authority in absolute form, nothing for `*` or an authority alone.
fn path(uri: &[u8]) -> &[u8] {
    if uri.first() == Some(&b'/') {
        return uri;
    }
    let Some(scheme_end) = uri.windows(3).position(|w| w == b"://") else {
        return &[];
    };
    let authority = uri.get(scheme_end + 3..).unwrap_or(&[]);
    match authority.iter().position(|&c| c == b'/') {
        Some(start) => authority.get(start..).unwrap_or(&[]),
        None => &[],
    }
}

impl Algorithm for Uri {
    type Params = UriParams;

    fn build(params: &UriParams, snapshot: &Snapshot) -> Self {
        Uri {
            table: HashTable::new(&params.hash, snapshot),
            options: params.options,
        }
    }

    #[inline]
    fn select(&self, key: &RequestKey<'_>) -> Option<ServerId> {
        self.table
            .select_bytes(key.uri.map(|u| hashed_part(u, &self.options)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(uri: &str, options: UriOptions) -> String {
        String::from_utf8_lossy(hashed_part(uri.as_bytes(), &options)).into_owned()
    }

    #[test]
    fn stops_at_the_query_unless_whole() {
        let o = UriOptions::default();
        assert_eq!(part("/a/b?x=1", o), "/a/b");
        let whole = UriOptions { whole: true, ..o };
        assert_eq!(part("/a/b?x=1", whole), "/a/b?x=1");
    }

    #[test]
    fn len_and_depth_cut_the_key() {
        let depth = UriOptions {
            depth: 2,
            ..Default::default()
        };
        assert_eq!(part("/a/b/c/d", depth), "/a/b");
        let len = UriOptions {
            len: 3,
            ..Default::default()
        };
        assert_eq!(part("/abcdef", len), "/ab");
        let both = UriOptions {
            len: 4,
            depth: 2,
            ..Default::default()
        };
        assert_eq!(part("/a/bcdef/g", both), "/a/b");
    }

    #[test]
    fn path_only_skips_scheme_and_authority() {
        let o = UriOptions {
            path_only: true,
            ..Default::default()
        };
        assert_eq!(part("http://example.com/a?b", o), "/a");
        assert_eq!(part("/a?b", o), "/a");
        assert_eq!(part("http://example.com", o), "");
        assert_eq!(part("*", o), "");
    }
}
