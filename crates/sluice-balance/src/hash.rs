//! Hash-based selection: HAProxy's hash functions, `hash-type map-based|consistent`, and
//! `balance hash <expr>`.
//!
//! The key extractors (`source`, `uri`, `url_param`, `hdr`, `rdp-cookie`) only decide which
//! bytes to hash; they all share the [`HashTable`] here.

use crate::algorithm::{Algorithm, RequestKey};
use crate::schedule::Rotation;
use crate::snapshot::{ServerId, ServerState, Snapshot};

/// Ring points per unit of weight, as HAProxy's `BE_WEIGHT_SCALE`.
const POINTS_PER_WEIGHT: u32 = 16;
/// Spacing between two servers' point numbers before mixing, as HAProxy's `SRV_EWGHT_RANGE`.
const POINT_RANGE: u32 = 256 * POINTS_PER_WEIGHT;

/// How a hash designates a server (the `<method>` of `hash-type`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HashMethod {
    /// `hash % total weight` over a weighted table: even, but most keys move when a server
    /// comes or goes.
    #[default]
    MapBased,
    /// The nearest point on a ring holding points in proportion to each server's weight: only
    /// the keys of a server that comes or goes move.
    Consistent,
}

/// The function applied to the key's bytes (the `<function>` of `hash-type`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HashFunction {
    /// The sdbm database library's hash.
    #[default]
    Sdbm,
    /// Dan Bernstein's "times 33" hash.
    Djb2,
    /// HAProxy's own rotating hash.
    Wt6,
    /// The Ethernet/gzip CRC-32.
    Crc32,
    /// No hashing: the key is read as a decimal number.
    None,
}

impl HashFunction {
    /// Hashes `bytes`.
    pub fn hash(self, bytes: &[u8]) -> u32 {
        match self {
            HashFunction::Sdbm => sdbm(bytes),
            HashFunction::Djb2 => djb2(bytes),
            HashFunction::Wt6 => wt6(bytes),
            HashFunction::Crc32 => crc32(bytes),
            HashFunction::None => as_number(bytes),
        }
    }
}

/// A complete `hash-type`: method, function and the optional `avalanche` modifier.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HashType {
    /// Map-based or consistent.
    pub method: HashMethod,
    /// The function hashing the key.
    pub function: HashFunction,
    /// Mix the function's result once more with [`full_hash`].
    pub avalanche: bool,
}

impl HashType {
    /// `hash-type consistent` without a function: sdbm with avalanche, as HAProxy documents,
    /// since raw sdbm values of short keys crowd one end of the ring.
    pub const fn consistent() -> Self {
        HashType {
            method: HashMethod::Consistent,
            function: HashFunction::Sdbm,
            avalanche: true,
        }
    }

    /// The hash of `bytes` under this type, modifier included.
    #[inline]
    pub fn hash(&self, bytes: &[u8]) -> u32 {
        self.finish(self.function.hash(bytes))
    }

    /// Applies the modifier to an already computed value.
    #[inline]
    pub fn finish(&self, h: u32) -> u32 {
        if self.avalanche {
            full_hash(h)
        } else {
            h
        }
    }
}

/// Parameters shared by every hash-based algorithm.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HashParams {
    /// The backend's `hash-type`.
    pub hash_type: HashType,
    /// `hash-balance-factor`: with consistent hashing, no server takes more than this
    /// percentage of the average load (0: no bound).
    pub balance_factor: u32,
}

/// The sdbm hash.
pub fn sdbm(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0u32, |h, &c| {
        u32::from(c)
            .wrapping_add(h << 6)
            .wrapping_add(h << 16)
            .wrapping_sub(h)
    })
}

/// The djb2 hash.
pub fn djb2(bytes: &[u8]) -> u32 {
    bytes.iter().fold(5381u32, |h, &c| {
        (h << 5).wrapping_add(h).wrapping_add(u32::from(c))
    })
}

/// HAProxy's wt6 hash.
pub fn wt6(bytes: &[u8]) -> u32 {
    let mut h0: u32 = 0xa53c_965a;
    let mut h1: u32 = 0x5ca6_953a;
    let mut step0: u32 = 6;
    let mut step1: u32 = 18;
    for &c in bytes {
        let t = u32::from(c);
        h0 = !(h0 ^ t);
        h1 = !(h1.wrapping_add(t));
        let t = h1.rotate_left(step0);
        h1 = h0.rotate_left(step1);
        h0 = t;
        let t = ((h0 >> 16) ^ h1) & 0xffff;
        step0 = t & 0x1f;
        step1 = t >> 11;
    }
    h0 ^ h1
}

/// The common CRC-32 (polynomial 0xEDB88320), bit by bit: keys are short and a table would
/// cost cache.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut h = !0u32;
    for &c in bytes {
        h ^= u32::from(c);
        for _ in 0..8 {
            h = (h >> 1) ^ if h & 1 != 0 { 0xedb8_8320 } else { 0 };
        }
    }
    !h
}

/// Bob Jenkins' 32-bit full-avalanche integer mix (the `avalanche` modifier, and the
/// placement of ring points).
pub fn full_hash(a: u32) -> u32 {
    let a = a.wrapping_add(0x7ed5_5d16).wrapping_add(a << 12);
    let a = (a ^ 0xc761_c23c) ^ (a >> 19);
    let a = a.wrapping_add(0x1656_67b1).wrapping_add(a << 5);
    let a = a.wrapping_add(0xd3a2_646c) ^ (a << 9);
    let a = a.wrapping_add(0xfd70_46c5).wrapping_add(a << 3);
    (a ^ 0xb55a_4f09) ^ (a >> 16)
}

/// `hash-type ... none`: the key's leading decimal digits as a number (wrapping), 0 if none.
fn as_number(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .fold(0u32, |n, &c| {
            n.wrapping_mul(10).wrapping_add(u32::from(c - b'0'))
        })
}

/// The lookup structure shared by all hash-based algorithms, with round robin for requests
/// that carry no key.
///
/// Shared state: the round-robin fallback's position counter (one relaxed `fetch_add` per
/// keyless selection); keyed selections only read.
#[derive(Debug)]
pub struct HashTable {
    params: HashParams,
    rotation: Rotation,
    ring: Option<Ring>,
}

impl HashTable {
    /// Builds the table for the candidates of `snapshot`.
    pub fn new(params: &HashParams, snapshot: &Snapshot) -> Self {
        let candidates = snapshot.candidates();
        HashTable {
            params: *params,
            // Map-based hashing indexes the table: no position.
            rotation: Rotation::new(candidates, Default::default()),
            ring: match params.hash_type.method {
                HashMethod::MapBased => None,
                HashMethod::Consistent => Some(Ring::new(candidates)),
            },
        }
    }

    /// The hash type this table was built with.
    #[inline]
    pub fn hash_type(&self) -> &HashType {
        &self.params.hash_type
    }

    /// The server for `bytes` hashed with the table's hash type, or round robin for `None`.
    #[inline]
    pub fn select_bytes(&self, bytes: Option<&[u8]>) -> Option<ServerId> {
        match bytes {
            Some(b) => self.select_hash(self.params.hash_type.hash(b)),
            None => self.round_robin(),
        }
    }

    /// The server a finished hash value designates. The server is returned even when it is
    /// at its `maxconn` (the request then queues for it): keeping affinity is the point.
    #[inline]
    pub fn select_hash(&self, hash: u32) -> Option<ServerId> {
        match &self.ring {
            Some(ring) => ring.select(hash, self.params.balance_factor).map(|s| s.id),
            None => self.rotation.at(hash),
        }
    }

    /// The next server in weighted turn, skipping full ones.
    #[inline]
    pub fn round_robin(&self) -> Option<ServerId> {
        self.rotation.pick()
    }
}

/// A consistent-hash ring: each server owns `weight × 16` points placed by mixing its id
/// with the point's number, so that a server's points depend on nothing else.
#[derive(Debug)]
pub(crate) struct Ring {
    /// (position on the ring, candidate index), sorted by position.
    points: Vec<(u32, u32)>,
    candidates: Vec<ServerState>,
    total_weight: u64,
}

impl Ring {
    pub(crate) fn new(candidates: &[ServerState]) -> Self {
        let mut points = Vec::new();
        for (index, s) in candidates.iter().enumerate() {
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            let base = s.id.0.wrapping_mul(POINT_RANGE);
            for point in 0..s.effective_weight() * POINTS_PER_WEIGHT {
                points.push((full_hash(base.wrapping_add(point)), index));
            }
        }
        points.sort_unstable();
        Ring {
            points,
            candidates: candidates.to_vec(),
            total_weight: candidates
                .iter()
                .map(|s| u64::from(s.effective_weight()))
                .sum(),
        }
    }

    fn server(&self, point: usize) -> Option<&ServerState> {
        self.points
            .get(point)
            .and_then(|&(_, i)| self.candidates.get(i as usize))
    }

    /// The index of the point nearest to `hash`, looking both ways around the ring.
    #[inline]
    pub(crate) fn nearest(&self, hash: u32) -> Option<usize> {
        let len = self.points.len();
        if len == 0 {
            return None;
        }
        let mut next = self.points.partition_point(|&(k, _)| k < hash);
        if next == len {
            next = 0;
        }
        let prev = if next == 0 { len - 1 } else { next - 1 };
        let (next_key, next_srv) = *self.points.get(next)?;
        let (prev_key, prev_srv) = *self.points.get(prev)?;
        if next_srv == prev_srv {
            return Some(next);
        }
        let dp = hash.wrapping_sub(prev_key);
        let dn = next_key.wrapping_sub(hash);
        Some(if dp <= dn { prev } else { next })
    }

    /// The server nearest to `hash`; with a balance factor, the first server from there on
    /// whose load stays within `factor`% of the average.
    pub(crate) fn select(&self, hash: u32, factor: u32) -> Option<&ServerState> {
        let point = self.nearest(hash)?;
        let chosen = self.server(point)?;
        if factor == 0 {
            return Some(chosen);
        }
        let slots = self.slots(factor);
        let len = self.points.len();
        for step in 0..len {
            match self.server((point + step) % len) {
                Some(s) if self.has_room(s, slots) => return Some(s),
                _ => {}
            }
        }
        Some(chosen)
    }

    /// Bounded load: `factor`% of all connections, this one included, shared out by weight.
    fn slots(&self, factor: u32) -> u64 {
        let total: u64 = self.candidates.iter().map(|c| u64::from(c.current())).sum();
        ((total + 1) * u64::from(factor)).div_ceil(100)
    }

    /// A server may take one more connection while it holds less than its weight's share of
    /// `slots`.
    fn has_room(&self, s: &ServerState, slots: u64) -> bool {
        let share = (slots * u64::from(s.effective_weight())).div_ceil(self.total_weight.max(1));
        u64::from(s.current()) < share
    }
}

/// `balance hash <expr>`: hashes the result of a sample expression the caller evaluated
/// ([`RequestKey::sample`]); round robin when it is absent.
#[derive(Debug)]
pub struct Hash {
    table: HashTable,
}

impl Algorithm for Hash {
    type Params = HashParams;

    fn build(params: &HashParams, snapshot: &Snapshot) -> Self {
        Hash {
            table: HashTable::new(params, snapshot),
        }
    }

    #[inline]
    fn select(&self, key: &RequestKey<'_>) -> Option<ServerId> {
        self.table.select_bytes(key.sample)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_match_known_values() {
        // Reference values computed with HAProxy's C implementations.
        assert_eq!(sdbm(b""), 0);
        assert_eq!(sdbm(b"a"), 97);
        assert_eq!(djb2(b""), 5381);
        assert_eq!(djb2(b"a"), 177_670);
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(as_number(b"42abc"), 42);
    }

    #[test]
    fn avalanche_changes_only_when_asked() {
        let plain = HashType::default();
        let mixed = HashType {
            avalanche: true,
            ..plain
        };
        assert_eq!(plain.hash(b"abc"), sdbm(b"abc"));
        assert_eq!(mixed.hash(b"abc"), full_hash(sdbm(b"abc")));
    }
}
