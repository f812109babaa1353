//! ACLs: a sample expression, a matching method and patterns. Named ACLs written on several
//! lines OR their lines together; pre-defined ACLs (`TRUE`, `METH_GET`, `LOCALHOST`...) are
//! compiled on first use.

use crate::pattern::{MatchMethod, PatternSet};
use crate::problem::Problem;
use crate::sample::{registry, Fetched, Place, SampleExpr, Valid};
use crate::{Env, SampleSource};
use sluice_config::{Diagnostic, Diagnostics, Location};
use sluice_model::proxy::acl::Acl as ModelAcl;

/// Three-valued result: HAProxy distinguishes "no match" from "cannot tell yet".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tri {
    /// Matches.
    Match,
    /// Does not match.
    NoMatch,
    /// Needs data not received yet (treated as no match once no more can come).
    Miss,
}

impl Tri {
    /// `!`: a miss stays a miss.
    pub fn negate(self) -> Tri {
        match self {
            Tri::Match => Tri::NoMatch,
            Tri::NoMatch => Tri::Match,
            Tri::Miss => Tri::Miss,
        }
    }
}

/// One ACL line (or an anonymous ACL).
#[derive(Debug)]
pub struct AclExpr {
    expr: SampleExpr,
    patterns: PatternSet,
}

impl AclExpr {
    /// Compiles a model ACL; pattern files (`-f`) are read here.
    pub(crate) fn compile(
        acl: &ModelAcl,
        place: Place,
        env: &mut Env<'_>,
    ) -> Result<Self, Diagnostic> {
        let err =
            |p: Problem| p.into_diagnostic("acl-invalid", |m| acl_message(acl, m), acl.location);
        let criterion = acl.criterion.as_str();
        let name_end = criterion.find(['(', ',']).unwrap_or(criterion.len());
        let (name, rest) = criterion.split_at(name_end);
        // An ACL-only form (`path_beg`) is the fetch with a default method; a name neither
        // form knows goes to the sample compiler, which asks the keyword catalogue.
        let (text, derived) = match registry::acl_criterion(name) {
            Some((def, derived)) => (format!("{}{rest}", def.name), Some(derived)),
            None => (criterion.to_string(), None),
        };
        let expr = SampleExpr::compile(&text, place, env).map_err(err)?;
        let derived = derived.unwrap_or_else(|| expr.default_match());
        let mut ignore_case = false;
        let mut method = None;
        let mut keys_only = false;
        for flag in &acl.flags {
            match flag.split_once(' ') {
                Some(("-m", m)) => {
                    method = Some(MatchMethod::parse(m).ok_or_else(|| {
                        err(Problem::syntax(format!("unknown matching method '{m}'")).with_help("use one of found, bool, int, ip, bin, len, str, sub, reg, beg, end, dir or dom"))
                    })?)
                }
                Some(("-M", _)) => keys_only = true,
                _ if flag == "-i" => ignore_case = true,
                _ => {}
            }
        }
        if acl.flags.iter().any(|f| f == "-M") {
            keys_only = true;
        }
        // Converters decide the type; without them the criterion's suffix does.
        let method = method.unwrap_or(if expr.has_converters() {
            expr.default_match()
        } else {
            derived
        });
        let mut from_files = Vec::new();
        for (file, location) in &acl.files {
            let text = env.read_file(file).map_err(|p| {
                p.into_diagnostic("acl-invalid", |m| acl_message(acl, m), *location)
            })?;
            for line in text.lines() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let pattern = if keys_only {
                    line.split_whitespace().next().unwrap_or(line)
                } else {
                    line
                };
                from_files.push(pattern.to_string());
            }
        }
        let mut texts: Vec<String> = acl.patterns.iter().chain(&from_files).cloned().collect();
        // `req.ssl_ver` ACLs write versions as MAJOR.MINOR (`3.1`), the fetch gives
        // MAJOR * 65536 + MINOR.
        if matches!(expr.fetch_name(), "req.ssl_ver" | "req_ssl_ver")
            && method == MatchMethod::Int
            && !expr.has_converters()
        {
            for t in &mut texts {
                *t = dotted_version(t);
            }
        }
        let patterns = PatternSet::compile(method, ignore_case, texts.iter().map(String::as_str))
            .map_err(err)?;
        // Named ACLs are compiled where first used: their warnings belong to their own line.
        let mut warnings = Diagnostics::new();
        env.flush_pending(acl.location, &mut warnings);
        env.acl_warnings.extend(warnings);
        Ok(Self { expr, patterns })
    }

    /// Where the fetch finds its data.
    pub fn valid(&self) -> Valid {
        self.expr.valid()
    }

    /// Evaluates against every value the fetch gives until one matches.
    pub fn eval(&self, src: &dyn SampleSource) -> Tri {
        let mut hit = false;
        let patterns = &self.patterns;
        let status = self.expr.each(src, true, &mut |v| {
            hit = patterns.matches(&v);
            hit
        });
        match (hit, status) {
            (true, _) => Tri::Match,
            // Once the contents are final, what could not be told does not match (and a
            // negation of it does).
            (false, Fetched::Miss) if !src.connection().contents_final() => Tri::Miss,
            (false, _) => Tri::NoMatch,
        }
    }
}

/// `3.1` as 3 * 65536 + 1, in each bound of a range; other words are kept.
fn dotted_version(pattern: &str) -> String {
    let one = |v: &str| -> Option<String> {
        let (major, minor) = v.split_once('.')?;
        let (major, minor) = (major.parse::<i64>().ok()?, minor.parse::<i64>().ok()?);
        Some((major << 16 | minor).to_string())
    };
    match pattern.split_once(':') {
        Some((lo, hi)) => format!(
            "{}:{}",
            one(lo).unwrap_or_else(|| lo.to_string()),
            one(hi).unwrap_or_else(|| hi.to_string())
        ),
        None => one(pattern).unwrap_or_else(|| pattern.to_string()),
    }
}

fn acl_message(acl: &ModelAcl, message: &str) -> String {
    if acl.name.is_empty() {
        format!("error detected while parsing an anonymous ACL: {message}")
    } else {
        format!("error detected while parsing ACL '{}': {message}", acl.name)
    }
}

/// A named ACL: its lines ORed.
#[derive(Debug)]
pub struct NamedAcl {
    /// The name.
    pub name: String,
    lines: Vec<AclExpr>,
}

impl NamedAcl {
    /// An ACL from compiled lines.
    pub(crate) fn new(name: &str, lines: Vec<AclExpr>) -> Self {
        Self {
            name: name.to_string(),
            lines,
        }
    }

    /// Evaluates: the first line that matches decides.
    pub fn eval(&self, src: &dyn SampleSource) -> Tri {
        let mut result = Tri::NoMatch;
        for line in &self.lines {
            match line.eval(src) {
                Tri::Match => return Tri::Match,
                Tri::Miss => result = Tri::Miss,
                Tri::NoMatch => {}
            }
        }
        result
    }

    /// Whether any line can be evaluated at `place`.
    pub fn usable_at(&self, place: Place) -> bool {
        self.lines.iter().any(|l| place.allows(l.valid()))
    }
}

/// HAProxy's pre-defined ACLs: name, criterion, patterns.
pub static PREDEFINED: &[(&str, &str, &[&str])] = &[
    ("FALSE", "always_false", &[]),
    ("HTTP", "req.proto_http", &[]),
    ("HTTP_1.0", "req.ver", &["1.0"]),
    ("HTTP_1.1", "req.ver", &["1.1"]),
    ("HTTP_2.0", "req.ver", &["2.0"]),
    ("HTTP_3.0", "req.ver", &["3.0"]),
    ("HTTP_CONTENT", "req.hdr_val(content-length)", &["gt", "0"]),
    ("HTTP_URL_ABS", "url_reg", &["^[^/:]*://"]),
    ("HTTP_URL_SLASH", "url_beg", &["/"]),
    ("HTTP_URL_STAR", "url", &["*"]),
    ("LOCALHOST", "src", &["127.0.0.1/8", "::1"]),
    ("METH_CONNECT", "method", &["CONNECT"]),
    ("METH_DELETE", "method", &["DELETE"]),
    ("METH_GET", "method", &["GET", "HEAD"]),
    ("METH_HEAD", "method", &["HEAD"]),
    ("METH_OPTIONS", "method", &["OPTIONS"]),
    ("METH_POST", "method", &["POST"]),
    ("METH_PUT", "method", &["PUT"]),
    ("METH_TRACE", "method", &["TRACE"]),
    ("RDP_COOKIE", "req.rdp_cookie_cnt", &["gt", "0"]),
    ("REQ_CONTENT", "req.len", &["gt", "0"]),
    ("TRUE", "always_true", &[]),
    ("WAIT_END", "wait_end", &[]),
];

/// Compiles the pre-defined ACL `name`, if there is one.
pub(crate) fn predefined(
    name: &str,
    location: Location,
    env: &mut Env<'_>,
) -> Option<Result<NamedAcl, Diagnostic>> {
    let (_, criterion, patterns) = PREDEFINED.iter().find(|(n, _, _)| *n == name)?;
    let fetch = criterion.split('(').next().unwrap_or(criterion);
    let acl = ModelAcl {
        name: name.to_string(),
        criterion: criterion.to_string(),
        fetch: fetch.to_string(),
        converters: Vec::new(),
        flags: Vec::new(),
        files: Vec::new(),
        map_files: Vec::new(),
        patterns: patterns.iter().map(|p| p.to_string()).collect(),
        location,
    };
    Some(AclExpr::compile(&acl, Place::Any, env).map(|line| NamedAcl::new(name, vec![line])))
}
