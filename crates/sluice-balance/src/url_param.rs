//! `balance url_param <name> [check_post]`: a query-string parameter designates the server.

use crate::algorithm::{Algorithm, RequestKey};
use crate::hash::{HashParams, HashTable};
use crate::snapshot::{ServerId, Snapshot};

/// Parameters of [`UrlParam`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UrlParamParams {
    /// Hash type and balance factor.
    pub hash: HashParams,
    /// The parameter's name, compared byte for byte.
    pub name: String,
}

/// URL parameter hashing.
///
/// The value is [`RequestKey::url_param`] when the caller found it (for instance in a POST
/// body with `check_post`), otherwise it is looked up in [`RequestKey::uri`]'s query string.
/// A request without the parameter falls back to round robin, as in HAProxy.
#[derive(Debug)]
pub struct UrlParam {
    table: HashTable,
    name: Box<[u8]>,
}

/// The value of parameter `name` in the query string of `uri` (after the first `?`), up to
/// the next `&`. `None` when absent or written without `=`.
pub fn find<'a>(uri: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let query_start = uri.iter().position(|&c| c == b'?')? + 1;
    find_in_query(uri.get(query_start..)?, name)
}

/// The value of parameter `name` in `query` (`a=1&b=2`, as in a form-encoded body).
pub fn find_in_query<'a>(query: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    query.split(|&c| c == b'&').find_map(|pair| {
        let value = pair.strip_prefix(name)?.strip_prefix(b"=")?;
        Some(value)
    })
}

impl Algorithm for UrlParam {
    type Params = UrlParamParams;

    fn build(params: &UrlParamParams, snapshot: &Snapshot) -> Self {
        UrlParam {
            table: HashTable::new(&params.hash, snapshot),
            name: params.name.as_bytes().into(),
        }
    }

    #[inline]
    fn select(&self, key: &RequestKey<'_>) -> Option<ServerId> {
        let value = key
            .url_param
            .or_else(|| key.uri.and_then(|u| find(u, &self.name)));
        self.table.select_bytes(value)
    }
}

#[cfg(test)]
mod tests {
    use super::find;

    #[test]
    fn finds_the_named_parameter_only() {
        assert_eq!(find(b"/p?user=42&x=1", b"user"), Some(&b"42"[..]));
        assert_eq!(find(b"/p?x=1&user=42", b"user"), Some(&b"42"[..]));
        assert_eq!(find(b"/p?username=42", b"user"), None);
        assert_eq!(find(b"/p?user", b"user"), None);
        assert_eq!(find(b"/p/user=42", b"user"), None);
        assert_eq!(find(b"/p?user=", b"user"), Some(&b""[..]));
    }
}
