//! `balance hdr(<name>) [use_domain_only]`: a header's value designates the server.

use crate::algorithm::{Algorithm, RequestKey};
use crate::hash::{HashParams, HashTable};
use crate::snapshot::{ServerId, Snapshot};

/// Header hashing. The caller looks the header up (case-insensitively, first occurrence) and
/// passes its value as [`RequestKey::header`]; a missing or empty value falls back to round
/// robin.
#[derive(Debug)]
pub struct Hdr {
    table: HashTable,
    use_domain_only: bool,
}

/// Parameters of [`Hdr`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HdrParams {
    /// Hash type and balance factor.
    pub hash: HashParams,
    /// Hash only the registered domain's main label: `1wt` in `haproxy.1wt.eu`.
    pub use_domain_only: bool,
}

/// The label before the last dot: `1wt` for `www.1wt.eu`, `example` for `example.com`, the
/// whole value when it has no dot.
pub fn domain_only(value: &[u8]) -> &[u8] {
    let Some(last_dot) = value.iter().rposition(|&c| c == b'.') else {
        return value;
    };
    let head = value.get(..last_dot).unwrap_or(&[]);
    match head.iter().rposition(|&c| c == b'.') {
        Some(dot) => head.get(dot + 1..).unwrap_or(&[]),
        None => head,
    }
}

impl Algorithm for Hdr {
    type Params = HdrParams;

    fn build(params: &HdrParams, snapshot: &Snapshot) -> Self {
        Hdr {
            table: HashTable::new(&params.hash, snapshot),
            use_domain_only: params.use_domain_only,
        }
    }

    #[inline]
    fn select(&self, key: &RequestKey<'_>) -> Option<ServerId> {
        let value = key.header.filter(|v| !v.is_empty());
        let value = if self.use_domain_only {
            value.map(domain_only)
        } else {
            value
        };
        self.table.select_bytes(value)
    }
}

#[cfg(test)]
mod tests {
    use super::domain_only;

    #[test]
    fn keeps_the_main_label() {
        assert_eq!(domain_only(b"haproxy.1wt.eu"), b"1wt");
        assert_eq!(domain_only(b"example.com"), b"example");
        assert_eq!(domain_only(b"localhost"), b"localhost");
        assert_eq!(domain_only(b"a.b.c.d"), b"c");
    }
}
