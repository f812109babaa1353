//! `balance source`: the client's address designates the server.

use crate::algorithm::{Algorithm, RequestKey};
use crate::hash::{HashParams, HashTable};
use crate::snapshot::{ServerId, Snapshot};
use std::net::IpAddr;

/// Source-address hashing.
///
/// As in HAProxy, the address is not run through the hash function: its 32-bit words are
/// XORed together, then the `avalanche` modifier applies if set. A request without an address
/// (a unix socket client) falls back to round robin.
#[derive(Debug)]
pub struct Source {
    table: HashTable,
}

/// The address folded to 32 bits, before the modifier.
pub fn fold(addr: IpAddr) -> u32 {
    match addr {
        IpAddr::V4(v4) => u32::from(v4),
        IpAddr::V6(v6) => {
            let n = u128::from(v6);
            // Truncations are the point: the four 32-bit words of the address.
            (n >> 96) as u32 ^ (n >> 64) as u32 ^ (n >> 32) as u32 ^ n as u32
        }
    }
}

impl Algorithm for Source {
    type Params = HashParams;

    fn build(params: &HashParams, snapshot: &Snapshot) -> Self {
        Source {
            table: HashTable::new(params, snapshot),
        }
    }

    #[inline]
    fn select(&self, key: &RequestKey<'_>) -> Option<ServerId> {
        match key.source {
            Some(addr) => self
                .table
                .select_hash(self.table.hash_type().finish(fold(addr))),
            None => self.table.round_robin(),
        }
    }
}
