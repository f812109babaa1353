//! Sample expressions: a fetch followed by converters (`req.hdr(host),lower,map(hosts.map)`),
//! compiled once against the [`registry`] and evaluated per request.

pub mod aes_gcm;
pub mod auth;
pub mod client_hello;
pub mod conv;
pub mod fetch;
pub mod headers;
pub mod internal;
pub mod json;
pub mod map;
pub mod mqtt;
pub mod payload;
pub mod pp;
pub mod registry;
pub mod rfc7239;
pub mod state;
pub mod stick;
pub mod time;
pub mod value;

pub use registry::{ArgKind, ArgSpec, ConvDef, FetchDef, Valid, CONVERTERS, FETCHES};
pub use value::{SampleType, Value};

use crate::message::SampleSource;
use crate::pattern::MatchMethod;
use crate::problem::{compile_regex, not_in_registry, Problem};
use crate::Env;
use ipnet::IpNet;
use regex::bytes::Regex;
use sluice_config::keywords::Table;
use sluice_config::Category;
use std::sync::Arc;

/// A compiled argument of a fetch or converter.
#[derive(Debug, Clone)]
pub enum Arg {
    /// Omitted optional argument.
    None,
    /// Text.
    Str(Box<[u8]>),
    /// Integer.
    Int(i64),
    /// Variable name, scope included (`txn.x`).
    Var(Box<str>),
    /// Compiled regex.
    Regex(Regex),
    /// Loaded map file.
    Map(Arc<map::Map>),
    /// Network mask (`ipmask`): a network whose prefix length is the mask.
    Mask(IpNet),
    /// A named ACL and whether it is negated (`acl(!name)`).
    Acl(Arc<crate::acl::NamedAcl>, bool),
    /// The configuration's frontends (`fe_defbe`, `fe_exists`).
    Frontends(Arc<internal::Frontends>),
    /// A stick-table fetch or converter's resolved table and meaning (see [`stick`]).
    Stick(Arc<stick::Call>),
    /// A `userlist` section (`http_auth`).
    Userlist(Arc<crate::userlist::Userlist>),
}

impl Arg {
    /// The text of a string argument.
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Arg::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The text of a string argument as `str` (names of backends, servers, variables).
    pub fn text(&self) -> Option<&str> {
        match self {
            Arg::Str(s) => std::str::from_utf8(s).ok(),
            Arg::Var(v) => Some(v),
            _ => None,
        }
    }

    /// An integer argument, or the integer value of a variable argument.
    pub fn int(&self, src: &dyn SampleSource) -> Option<i64> {
        match self {
            Arg::Int(i) => Some(*i),
            Arg::Var(name) => read_var(src, name)?.to_int(),
            _ => None,
        }
    }
}

/// Whether a fetch produced everything it could, or needs data not received yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fetched {
    /// Done (zero or more values were emitted).
    Done,
    /// More data is needed (`req.ssl_sni` before the whole ClientHello arrived).
    Miss,
}

/// Where a sample expression is evaluated, for the validity check at compile time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// `tcp-request connection` / `session`: addresses only.
    TcpConnection,
    /// `tcp-request content`: addresses and buffered payload.
    TcpContent,
    /// `http-request`, `use_backend`, `redirect`...
    HttpRequest,
    /// `http-response`, `http-after-response`.
    HttpResponse,
    /// `tcp-response content`: addresses, buffered response payload, the HTTP response.
    TcpResponse,
    /// Not known yet (named ACLs, checked where a condition uses them).
    Any,
}

impl Place {
    /// Whether a fetch valid in `valid` can be used here.
    pub fn allows(self, valid: Valid) -> bool {
        match self {
            Place::TcpConnection => valid.contains(Valid::CONN),
            Place::TcpContent => valid.intersects(Valid::CONN | Valid::PAYLOAD | Valid::REQ),
            Place::HttpRequest => valid.intersects(Valid::CONN | Valid::PAYLOAD | Valid::REQ),
            Place::HttpResponse => valid.intersects(Valid::CONN | Valid::RES),
            Place::TcpResponse => valid.intersects(Valid::CONN | Valid::RES | Valid::RES_PAYLOAD),
            Place::Any => true,
        }
    }
}

/// A compiled sample expression.
#[derive(Debug)]
pub struct SampleExpr {
    fetch: &'static FetchDef,
    args: Vec<Arg>,
    convs: Vec<(&'static ConvDef, Vec<Arg>)>,
    output: SampleType,
}

impl SampleExpr {
    /// Compiles `text` (`fetch(args),conv(args)...`) for `place`.
    pub(crate) fn compile(text: &str, place: Place, env: &mut Env<'_>) -> Result<Self, Problem> {
        internal::mark_start();
        let calls = split_calls(text).map_err(Problem::syntax)?;
        let mut calls = calls.into_iter();
        let Some((name, raw_args)) = calls.next() else {
            return Err(Problem::syntax("missing fetch method"));
        };
        let fetch = match registry::fetch(&name) {
            Some(f) => f,
            None => {
                // Accepted by HAProxy and ignored by Sluice: a fetch that never has a value.
                env.pending
                    .push(not_in_registry(Table::SampleFetch, &name)?);
                &registry::IGNORED_FETCH
            }
        };
        if !place.allows(fetch.valid) {
            return Err(Problem::new(
                Category::Semantic,
                None,
                format!(
                    "fetch method '{name}' extracts information from {}, none of which is available here",
                    fetch.valid.describe()
                ),
            )
            .with_help("move the condition to a rule set that sees this data (e.g. 'http-request' instead of 'tcp-request connection'), or use another fetch"));
        }
        let args = compile_args(&name, fetch.args, raw_args.as_deref(), None, env)?;
        let mut output = fetch.output;
        let mut convs = Vec::new();
        for (cname, raw) in calls {
            let conv = match registry::converter(&cname) {
                Some(c) => c,
                None => {
                    env.pending.push(not_in_registry(Table::Converter, &cname)?);
                    &registry::IGNORED_CONVERTER
                }
            };
            if !output.casts_to(conv.input) {
                return Err(Problem::new(
                    Category::Semantic,
                    None,
                    format!(
                        "converter '{cname}' cannot be applied: it expects {}, the expression gives {}",
                        conv.input.name(),
                        output.name()
                    ),
                )
                .with_help(format!(
                    "insert a converter that turns {} into {} before '{cname}', or apply it to another fetch",
                    output.name(),
                    conv.input.name()
                )));
            }
            let mut cargs = compile_args(&cname, conv.args, raw.as_deref(), conv.map, env)?;
            if let Some(prepare) = conv.prepare {
                // Converters whose arguments depend on each other (regsub's flags).
                prepare(&mut cargs).map_err(Problem::syntax)?;
            }
            convs.push((conv, cargs));
            output = match conv.output {
                SampleType::Any => output,
                t => t,
            };
        }
        Ok(Self {
            fetch,
            args,
            convs,
            output,
        })
    }

    /// Where the fetch finds its data.
    pub fn valid(&self) -> Valid {
        self.fetch.valid
    }

    /// The fetch's name.
    pub fn fetch_name(&self) -> &'static str {
        self.fetch.name
    }

    /// Whether converters follow the fetch.
    pub fn has_converters(&self) -> bool {
        !self.convs.is_empty()
    }

    /// The type of the final value.
    pub fn output(&self) -> SampleType {
        self.output
    }

    /// The default matching method of the fetch's output type (ACLs without `-m`).
    pub fn default_match(&self) -> MatchMethod {
        match self.output {
            SampleType::Bool => MatchMethod::Bool,
            SampleType::Sint => MatchMethod::Int,
            SampleType::Ip => MatchMethod::Ip,
            SampleType::Bin => MatchMethod::Bin,
            _ => MatchMethod::Str,
        }
    }

    /// Evaluates to one value: for multi-valued fetches such as `hdr`, the last occurrence
    /// (or the one the occurrence argument names).
    pub fn eval<'a>(&'a self, src: &'a dyn SampleSource) -> Option<Value<'a>> {
        let mut out = None;
        self.each(src, false, &mut |v| {
            out = Some(v);
            true
        });
        out
    }

    /// Calls `f` on every value (all occurrences when `all`, as ACLs do) after converters,
    /// until `f` returns true.
    pub fn each<'a>(
        &'a self,
        src: &'a dyn SampleSource,
        all: bool,
        f: &mut dyn FnMut(Value<'a>) -> bool,
    ) -> Fetched {
        // On a raw TCP stream whose HTTP request head is still coming, a request fetch
        // cannot tell yet (HAProxy's "may change"): the rules wait for more bytes.
        if self.fetch.valid.contains(Valid::REQ)
            && !self.fetch.valid.intersects(Valid::CONN | Valid::PAYLOAD)
            && src.request().is_none()
            && src.connection().request_head_pending()
        {
            return Fetched::Miss;
        }
        let convs = &self.convs;
        // A converter that settles (`fix_is_valid`) gave a value: more bytes would not
        // change it.
        let settles = convs.iter().any(|(c, _)| c.settles);
        let mut settled = false;
        let status = (self.fetch.eval)(&self.args, src, all, &mut |v| match apply(convs, v, src) {
            Some(v) => {
                settled |= settles;
                f(v)
            }
            None => false,
        });
        if settled {
            Fetched::Done
        } else {
            status
        }
    }
}

fn apply<'a>(
    convs: &'a [(&'static ConvDef, Vec<Arg>)],
    mut v: Value<'a>,
    src: &'a dyn SampleSource,
) -> Option<Value<'a>> {
    for (conv, args) in convs {
        let input = v.cast(conv.input)?;
        v = (conv.eval)(args, input, src)?;
    }
    Some(v)
}

/// Splits `a(x,y),b,c(z)` into calls with their raw argument text.
pub(crate) fn split_calls(text: &str) -> Result<Vec<(String, Option<String>)>, String> {
    let mut calls = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c == '(' || c == ',' {
                break;
            }
            name.push(c);
            chars.next();
        }
        let name = name.trim().to_string();
        let mut args = None;
        if chars.peek() == Some(&'(') {
            chars.next();
            let mut depth = 0u32;
            let mut raw = String::new();
            let mut quote: Option<char> = None;
            let mut closed = false;
            while let Some(c) = chars.next() {
                match (quote, c) {
                    (Some(q), c) if c == q => quote = None,
                    (Some(_), '\\') => {
                        raw.push(c);
                        if let Some(n) = chars.next() {
                            raw.push(n);
                        }
                        continue;
                    }
                    (Some(_), _) => {}
                    (None, '\'' | '"') => quote = Some(c),
                    (None, '\\') => {
                        raw.push(c);
                        if let Some(n) = chars.next() {
                            raw.push(n);
                        }
                        continue;
                    }
                    (None, '(') => depth += 1,
                    (None, ')') if depth == 0 => {
                        closed = true;
                        break;
                    }
                    (None, ')') => depth -= 1,
                    _ => {}
                }
                raw.push(c);
            }
            if !closed {
                return Err(format!("missing closing ')' after arguments to '{name}'"));
            }
            args = Some(raw);
        }
        if name.is_empty() {
            // HAProxy tolerates an empty converter (`ssl_fc,`).
            if args.is_some() {
                return Err("missing name before '('".into());
            }
        } else {
            calls.push((name, args));
        }
        match chars.next() {
            None => break,
            Some(',') => continue,
            Some(c) => return Err(format!("unexpected '{c}' after ')'")),
        }
    }
    Ok(calls)
}

/// Splits raw argument text on top-level commas, removing one level of quotes and the
/// backslashes that protect `,`, `)`, quotes and backslashes (other escapes are kept for
/// regexes).
pub(crate) fn split_args(raw: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut depth = 0u32;
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('\''), c) => cur.push(c),
            (_, '\\') => match chars.next() {
                Some(n @ (',' | ')' | '(' | '\'' | '"' | '\\')) => cur.push(n),
                Some(n) => {
                    cur.push('\\');
                    cur.push(n);
                }
                None => cur.push('\\'),
            },
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => quote = Some(c),
            (None, '(') => {
                depth += 1;
                cur.push(c);
            }
            (None, ')') => {
                depth = depth.saturating_sub(1);
                cur.push(c);
            }
            (None, ',') if depth == 0 => args.push(std::mem::take(&mut cur)),
            (None, c) => cur.push(c),
        }
    }
    args.push(cur);
    args
}

fn compile_args(
    name: &str,
    specs: &[ArgSpec],
    raw: Option<&str>,
    map: Option<(MatchMethod, SampleType)>,
    env: &mut Env<'_>,
) -> Result<Vec<Arg>, Problem> {
    let texts = match raw {
        Some(r) if !r.is_empty() || specs.first().is_some_and(|s| s.required) => split_args(r),
        _ => Vec::new(),
    };
    // Arguments the configuration fills in (`fe_defbe`'s frontends) come last and are
    // never written.
    let written = specs.iter().filter(|s| !s.kind.is_implicit()).count();
    let usage = || {
        let kinds: Vec<&str> = specs
            .iter()
            .filter(|s| !s.kind.is_implicit())
            .map(|s| s.kind.describe())
            .collect();
        if kinds.is_empty() {
            format!("'{name}' takes no argument: remove the parentheses")
        } else {
            format!("'{name}' takes: {}", kinds.join(", "))
        }
    };
    if texts.len() > written {
        return Err(Problem::syntax(format!(
            "'{name}' takes at most {written} argument(s), got {}",
            texts.len()
        ))
        .with_help(usage()));
    }
    let mut args = Vec::with_capacity(specs.len());
    for (i, spec) in specs.iter().enumerate() {
        if spec.kind == ArgKind::Frontends {
            args.push(Arg::Frontends(env.frontends()));
            continue;
        }
        let Some(text) = texts.get(i) else {
            if spec.required {
                return Err(Problem::syntax(format!(
                    "missing argument {} ({}) to '{name}'",
                    i + 1,
                    spec.kind.describe()
                ))
                .with_help(usage()));
            }
            args.push(Arg::None);
            continue;
        };
        if text.is_empty() && !spec.required && spec.kind != ArgKind::Str {
            args.push(Arg::None);
            continue;
        }
        let bad = |what: &str| {
            Problem::syntax(format!(
                "argument {} to '{name}' must be {what}, got '{text}'",
                i + 1
            ))
            .with_help(usage())
        };
        let arg = match spec.kind {
            // `ipv4(<address>)`, `ipv6(<address>)`: checked here, parsed when evaluated.
            ArgKind::Str if name == "ipv4" && text.parse::<std::net::Ipv4Addr>().is_err() => {
                return Err(bad("an IPv4 address"))
            }
            ArgKind::Str if name == "ipv6" && text.parse::<std::net::Ipv6Addr>().is_err() => {
                return Err(bad("an IPv6 address"))
            }
            // `fc_pp_tlv(<id>)`: a number or a PPv2 name, resolved here.
            ArgKind::Str if name == "fc_pp_tlv" => match pp::tlv_id(text) {
                Some(id) => Arg::Int(id.into()),
                None => return Err(bad("a TLV type from 0 to 255 or a PPv2 TLV name")),
            },
            // The bytes the configuration wrote, even when they are not UTF-8 (`str(\xE0)`).
            ArgKind::Str => Arg::Str(sluice_config::raw::bytes_of(text).into()),
            ArgKind::Int => Arg::Int(text.trim().parse().map_err(|_| bad("an integer"))?),
            ArgKind::IntOrVar => match text.trim().parse() {
                Ok(i) => Arg::Int(i),
                Err(_) => Arg::Var(
                    check_var(text)
                        .map_err(|e| Problem::syntax(format!("{e} in '{name}'")))?
                        .into(),
                ),
            },
            ArgKind::Var => Arg::Var(
                check_var(text)
                    .map_err(|e| Problem::syntax(format!("{e} in '{name}'")))?
                    .into(),
            ),
            ArgKind::Regex => Arg::Regex(
                compile_regex(text, false, true).map_err(|p| p.context(&format!("'{name}': ")))?,
            ),
            ArgKind::Backend => {
                env.check_backend(text)?;
                Arg::Str(text.as_bytes().into())
            }
            ArgKind::Server => {
                // A server name alone is one of the proxy the expression is written in.
                let text = match text.split_once('/') {
                    Some(_) => text.trim().to_string(),
                    None => format!("{}/{}", env.proxy.name, text.trim()),
                };
                let (be, srv) = text
                    .split_once('/')
                    .ok_or_else(|| bad("[<backend>/]<server>"))?;
                env.check_server(be, srv)?;
                Arg::Str(text.as_bytes().into())
            }
            ArgKind::ServerRef => {
                if let Some((be, srv)) = text.split_once('/') {
                    env.check_server(be, srv)?;
                }
                Arg::Str(text.as_bytes().into())
            }
            ArgKind::Acl => {
                let (negated, acl_name) = match text.trim().strip_prefix('!') {
                    Some(rest) => (true, rest.trim()),
                    None => (false, text.trim()),
                };
                Arg::Acl(resolve_acl(acl_name, env)?, negated)
            }
            ArgKind::TimeUnit => {
                Arg::Int(time::parse_unit(text).ok_or_else(|| bad("'s', 'ms' or 'us'"))?)
            }
            ArgKind::Frontends => Arg::Frontends(env.frontends()),
            ArgKind::Userlist => match env.userlist(text.trim()) {
                Some(list) => Arg::Userlist(list),
                None => {
                    return Err(Problem::new(
                        Category::Semantic,
                        Some("userlist-unknown"),
                        format!("unable to find userlist '{}'", text.trim()),
                    )
                    .with_help("declare 'userlist <name>' with 'user' lines, or fix the name"))
                }
            },
            ArgKind::MapFile => {
                let (method, out) = map.ok_or_else(|| bad("a map file"))?;
                Arg::Map(env.load_map(text, method, out)?)
            }
            ArgKind::Mask4 => Arg::Mask(
                crate::pattern::parse_net(&format!("0.0.0.0/{}", text.trim()))
                    .map_err(|_| bad("an IPv4 mask"))?,
            ),
            // A prefix length, or a mask written as an address (which may have holes):
            // kept as the address with a /128 prefix, applied bit by bit.
            ArgKind::Mask6 => Arg::Mask(match text.trim().parse::<std::net::Ipv6Addr>() {
                Ok(mask) => {
                    IpNet::new(std::net::IpAddr::V6(mask), 128).map_err(|_| bad("an IPv6 mask"))?
                }
                Err(_) => crate::pattern::parse_net(&format!("::/{}", text.trim()))
                    .map_err(|_| bad("an IPv6 prefix length or mask"))?,
            }),
        };
        args.push(arg);
    }
    stick::resolve(name, &mut args, env)?;
    Ok(args)
}

thread_local! {
    /// How deep `acl()` arguments are being resolved, to refuse an ACL that names itself.
    static ACL_DEPTH: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// The named ACL an `acl()` argument designates, compiled now if it was not yet.
fn resolve_acl(name: &str, env: &mut Env<'_>) -> Result<Arc<crate::acl::NamedAcl>, Problem> {
    if name.is_empty() {
        return Err(Problem::syntax("missing ACL name in 'acl()'"));
    }
    let depth = ACL_DEPTH.with(|d| d.get());
    if depth >= 32 {
        return Err(Problem::new(
            Category::Semantic,
            None,
            format!("ACL '{name}' refers to itself through 'acl()'"),
        )
        .with_help("break the loop: an ACL cannot depend on its own result"));
    }
    ACL_DEPTH.with(|d| d.set(depth + 1));
    // Pre-defined ACLs compiled here report at the proxy's line.
    let location = env.proxy.location;
    let found = env.named_acl(name, location);
    ACL_DEPTH.with(|d| d.set(depth));
    found.map_err(|d| Problem::new(d.category, None, d.message))
}

/// The variable `name` as `src` sees it: process-wide ones from their store (a copy), the
/// others from the stream's.
pub(crate) fn read_var<'a>(src: &'a dyn SampleSource, name: &str) -> Option<Value<'a>> {
    if crate::proc_vars::is_proc(name) {
        return crate::proc_vars::get(name);
    }
    src.vars()?.get(name).map(Value::reborrow)
}

/// Variable names are `<scope>.<name>` with scope proc, sess, txn, req, res or check.
pub(crate) fn check_var(name: &str) -> Result<&str, String> {
    let name = name.trim();
    let (scope, rest) = name.split_once('.').unwrap_or(("", ""));
    if !matches!(scope, "proc" | "sess" | "txn" | "req" | "res" | "check") || rest.is_empty() {
        return Err(format!(
            "invalid variable name '{name}' (expects 'proc', 'sess', 'txn', 'req', 'res' or 'check' followed by '.' and a name)"
        ));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_and_arguments_split_like_haproxy() {
        let calls = split_calls("req.hdr(host),lower,map_beg(/x.map,def)").unwrap();
        assert_eq!(calls.len(), 3);
        assert_eq!(calls[0], ("req.hdr".into(), Some("host".into())));
        assert_eq!(calls[1], ("lower".into(), None));
        let calls = split_calls("url,regsub('(a,b)','x\\1',g)").unwrap();
        assert_eq!(
            split_args(calls[1].1.as_deref().unwrap()),
            ["(a,b)", "x\\1", "g"]
        );
        assert_eq!(split_args("\\.,_"), ["\\.", "_"]);
        assert!(split_calls("hdr(host").is_err());
        assert_eq!(split_calls("ssl_fc,").unwrap().len(), 1);
    }

    #[test]
    fn variable_names_need_a_scope() {
        assert!(check_var("txn.user").is_ok());
        assert!(check_var("user").is_err());
        assert!(check_var("foo.user").is_err());
    }
}
