//! A proxy's compression settings as the data plane reads them, and the settings that apply
//! to one exchange: the backend's where it has them, else the frontend's (HAProxy looks at
//! the backend first for the algorithms and the types).

use super::Algorithm;
use crate::plan::Plan;
use sluice_model::{Model, Proxy};

/// HAProxy's default `tune.comp.maxlevel`: fast, a modest ratio.
pub const DEFAULT_LEVEL: u32 = 1;

/// One proxy's `compression` lines.
#[derive(Clone, Debug)]
pub struct ProxyCompression {
    /// The codings offered for responses, in the order written.
    pub algos: Vec<Algorithm>,
    /// Media types compressed (`Content-Type` prefixes, lowercase); empty: any type.
    pub types: Vec<Box<[u8]>>,
    /// `minsize-res`.
    pub minsize: u64,
    /// `offload`.
    pub offload: bool,
    /// `direction` includes responses.
    pub responses: bool,
    /// The deflate level (`tune.comp.maxlevel`).
    pub level: u32,
    /// `algo-req`: the coding of request bodies.
    pub algo_req: Option<Algorithm>,
    /// `type-req`, as `types`.
    pub types_req: Vec<Box<[u8]>>,
    /// `minsize-req`.
    pub minsize_req: u64,
    /// `direction` includes requests (or a `filter comp-req` line).
    pub requests: bool,
}

impl ProxyCompression {
    /// The settings of `proxy`, `None` without any `compression` line.
    pub fn of(model: &Model, proxy: &Proxy) -> Option<ProxyCompression> {
        let c = proxy.compression.as_ref()?;
        let lowercase = |types: &[String]| {
            types
                .iter()
                .map(|t| t.to_ascii_lowercase().into_bytes().into_boxed_slice())
                .collect()
        };
        Some(ProxyCompression {
            algos: c.algos_res.clone(),
            types: lowercase(&c.types_res),
            minsize: c.minsize_res,
            offload: c.offload,
            responses: c.direction.responses(),
            level: level(model),
            algo_req: c.algo_req,
            types_req: lowercase(&c.types_req),
            minsize_req: c.minsize_req,
            requests: c.direction.requests(),
        })
    }
}

/// `tune.comp.maxlevel` (1 to 9, checked by the model; HAProxy's default 1).
pub fn level(model: &Model) -> u32 {
    model
        .global
        .other
        .iter()
        .rev()
        .find(|s| s.keyword() == "tune.comp.maxlevel")
        .and_then(|s| s.words.get(1))
        .and_then(|w| w.text.parse::<u32>().ok())
        .map_or(DEFAULT_LEVEL, |l| l.min(9))
}

/// What applies to an exchange of frontend `fe` routed to backend `be`.
#[derive(Clone, Copy, Debug)]
pub struct Effective<'a> {
    pub algos: &'a [Algorithm],
    pub types: &'a [Box<[u8]>],
    pub minsize: u64,
    pub offload: bool,
    pub level: u32,
}

impl<'a> Effective<'a> {
    /// The settings for frontend `fe` and backend `be`, `None` when neither compresses
    /// responses.
    pub fn of(plan: &'a Plan, fe: usize, be: usize) -> Option<Effective<'a>> {
        let fe = plan.compression(fe);
        let be = plan.compression(be);
        if !fe.is_some_and(|c| c.responses) && !be.is_some_and(|c| c.responses) {
            return None;
        }
        let pick =
            |f: fn(&ProxyCompression) -> bool| be.filter(|c| f(c)).or_else(|| fe.filter(|c| f(c)));
        let algos = pick(|c| !c.algos.is_empty())?;
        let types = pick(|c| !c.types.is_empty()).map_or(&[][..], |c| &c.types[..]);
        let own = be.or(fe)?;
        Some(Effective {
            algos: &algos.algos,
            types,
            minsize: own.minsize,
            offload: fe.is_some_and(|c| c.offload) || be.is_some_and(|c| c.offload),
            level: own.level,
        })
    }
}

/// What applies to the body of a request of frontend `fe` routed to backend `be`
/// (`compression direction request|both` with `algo-req`).
#[derive(Clone, Copy, Debug)]
pub struct RequestSettings<'a> {
    pub algo: Algorithm,
    pub types: &'a [Box<[u8]>],
    pub minsize: u64,
    pub level: u32,
}

impl<'a> RequestSettings<'a> {
    /// The backend's settings where it compresses requests, else the frontend's.
    pub fn of(plan: &'a Plan, fe: usize, be: usize) -> Option<RequestSettings<'a>> {
        let own = |c: &&ProxyCompression| c.requests && c.algo_req.is_some();
        let c = plan
            .compression(be)
            .filter(own)
            .or_else(|| plan.compression(fe).filter(own))?;
        Some(RequestSettings {
            algo: c.algo_req?,
            types: &c.types_req,
            minsize: c.minsize_req,
            level: c.level,
        })
    }
}

/// Whether a body of `content_type` may be compressed given the configured `types`
/// (`compression type`, lower-case prefixes): never multipart, any type when the list is
/// empty, and a body without a type only then.
pub fn type_allowed(content_type: Option<&[u8]>, types: &[Box<[u8]>]) -> bool {
    let starts_with = |value: &[u8], prefix: &[u8]| {
        value
            .get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
    };
    match content_type {
        Some(ct) if starts_with(ct, b"multipart") => false,
        Some(ct) => types.is_empty() || types.iter().any(|t| starts_with(ct, t)),
        None => types.is_empty(),
    }
}
