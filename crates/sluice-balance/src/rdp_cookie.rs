//! `balance rdp-cookie[(name)]`: the RDP cookie's value designates the server.

use crate::algorithm::{Algorithm, RequestKey};
use crate::hash::{HashParams, HashTable};
use crate::snapshot::{ServerId, Snapshot};

/// RDP cookie hashing. The caller finds the cookie (named `mstshash` unless the
/// configuration says otherwise) in the connection's first bytes and passes its value as
/// [`RequestKey::rdp_cookie`]; a missing or empty cookie falls back to round robin.
#[derive(Debug)]
pub struct RdpCookie {
    table: HashTable,
}

impl Algorithm for RdpCookie {
    type Params = HashParams;

    fn build(params: &HashParams, snapshot: &Snapshot) -> Self {
        RdpCookie {
            table: HashTable::new(params, snapshot),
        }
    }

    #[inline]
    fn select(&self, key: &RequestKey<'_>) -> Option<ServerId> {
        self.table
            .select_bytes(key.rdp_cookie.filter(|v| !v.is_empty()))
    }
}
