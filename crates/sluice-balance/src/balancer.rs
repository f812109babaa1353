//! One value for whichever algorithm a backend uses.

use crate::algorithm::{Algorithm, RequestKey};
use crate::config::{Balance, Kind};
use crate::first::First;
use crate::hash::Hash;
use crate::hdr::{Hdr, HdrParams};
use crate::leastconn::LeastConn;
use crate::random::{Random, RandomParams};
use crate::rdp_cookie::RdpCookie;
use crate::roundrobin::RoundRobin;
use crate::snapshot::{ServerId, Snapshot};
use crate::source::Source;
use crate::static_rr::StaticRr;
use crate::uri::{Uri, UriParams};
use crate::url_param::{UrlParam, UrlParamParams};

/// The algorithm a backend's [`Balance`] names, built for one snapshot.
///
/// An enum rather than a trait object: `select` is one predictable branch and the call can be
/// inlined. Build one per snapshot, off the hot path, and swap it in.
#[derive(Debug)]
#[non_exhaustive]
pub enum Balancer {
    /// `roundrobin`.
    RoundRobin(RoundRobin),
    /// `static-rr`.
    StaticRr(StaticRr),
    /// `leastconn`.
    LeastConn(LeastConn),
    /// `first`.
    First(First),
    /// `source`.
    Source(Source),
    /// `uri`.
    Uri(Uri),
    /// `url_param`.
    UrlParam(UrlParam),
    /// `hdr(<name>)`.
    Hdr(Hdr),
    /// `random`.
    Random(Random),
    /// `rdp-cookie`.
    RdpCookie(RdpCookie),
    /// `hash <expr>`.
    Hash(Hash),
}

impl Balancer {
    /// Builds from `snapshot`, carrying over what should survive a rebuild (round robin's
    /// position), so that frequent weight changes do not restart the cycle.
    pub fn rebuild(&self, balance: &Balance, snapshot: &Snapshot) -> Self {
        match (self, &balance.kind) {
            (Balancer::RoundRobin(rr), Kind::RoundRobin) => {
                Balancer::RoundRobin(rr.rebuild(snapshot))
            }
            _ => Balancer::build(balance, snapshot),
        }
    }
}

impl Algorithm for Balancer {
    type Params = Balance;

    fn build(balance: &Balance, snapshot: &Snapshot) -> Self {
        let hash = balance.hash_params();
        match &balance.kind {
            Kind::RoundRobin => Balancer::RoundRobin(RoundRobin::build(&(), snapshot)),
            Kind::StaticRr => Balancer::StaticRr(StaticRr::build(&(), snapshot)),
            Kind::LeastConn => Balancer::LeastConn(LeastConn::build(&(), snapshot)),
            Kind::First => Balancer::First(First::build(&(), snapshot)),
            Kind::Source => Balancer::Source(Source::build(&hash, snapshot)),
            Kind::Uri(options) => Balancer::Uri(Uri::build(
                &UriParams {
                    hash,
                    options: *options,
                },
                snapshot,
            )),
            Kind::UrlParam { name, .. } => Balancer::UrlParam(UrlParam::build(
                &UrlParamParams {
                    hash,
                    name: name.clone(),
                },
                snapshot,
            )),
            Kind::Hdr {
                use_domain_only, ..
            } => Balancer::Hdr(Hdr::build(
                &HdrParams {
                    hash,
                    use_domain_only: *use_domain_only,
                },
                snapshot,
            )),
            Kind::Random { draws } => Balancer::Random(Random::build(
                &RandomParams {
                    draws: *draws,
                    balance_factor: balance.hash_balance_factor,
                },
                snapshot,
            )),
            Kind::RdpCookie { .. } => Balancer::RdpCookie(RdpCookie::build(&hash, snapshot)),
            Kind::Hash { .. } => Balancer::Hash(Hash::build(&hash, snapshot)),
        }
    }

    #[inline]
    fn select(&self, key: &RequestKey<'_>) -> Option<ServerId> {
        match self {
            Balancer::RoundRobin(a) => a.select(key),
            Balancer::StaticRr(a) => a.select(key),
            Balancer::LeastConn(a) => a.select(key),
            Balancer::First(a) => a.select(key),
            Balancer::Source(a) => a.select(key),
            Balancer::Uri(a) => a.select(key),
            Balancer::UrlParam(a) => a.select(key),
            Balancer::Hdr(a) => a.select(key),
            Balancer::Random(a) => a.select(key),
            Balancer::RdpCookie(a) => a.select(key),
            Balancer::Hash(a) => a.select(key),
        }
    }
}
