//! Conditional expressions of `.if`/`.elif` and `-cc`.
//!
//! Grammar (HAProxy's `cfgcond.c`):
//!
//! ```text
//! expr  := and ( '||' and )*
//! and   := term ( '&&' term )*
//! term  := '!'* ( integer | '(' expr ')' | predicate '(' args ')' )
//! ```
//!
//! An integer is whatever C's `strtol(s, &end, 0)` reads (`0x10`, `010`, `-1`): zero is false.
//! Blanks around operators are ignored, but not inside predicate arguments: `streq(a, a)`
//! compares `a` with ` a`. The whole expression is parsed before it is evaluated, so a
//! mistake is reported even in a branch that evaluation would skip; evaluation then
//! short-circuits.
//!
//! Differences from HAProxy, on purpose: a version predicate given something that is not a
//! version (`version_atleast(garbage)`) is an error instead of "true"; the TLS predicates
//! answer for Sluice's TLS stack (see [`CondContext::tls_library`]).

use crate::environment::Environment;
use crate::version::Version;
use std::fmt;

/// Deepest nesting of parentheses accepted (keeps the recursive parser's stack small).
const MAX_DEPTH: usize = 128;

/// What predicates look at.
#[derive(Clone, Copy, Debug)]
pub struct CondContext<'a> {
    /// `defined(NAME)`.
    pub env: &'a Environment,
    /// `feature(NAME)`: the names that `-vv` lists as `+NAME`.
    pub features: &'a [String],
    /// `enabled(OPT)`: the options on at run time (`EPOLL`, `SPLICE`, ...).
    pub enabled: &'a [String],
    /// `version_atleast`/`version_before` compare against this (normally [`Version::compat`]).
    pub version: Version,
    /// The TLS library's name for `ssllib_name_startswith`, `None` without TLS. Sluice does
    /// not use OpenSSL or AWS-LC, so their version predicates are always false.
    pub tls_library: Option<&'a str>,
}

impl<'a> CondContext<'a> {
    pub fn new(env: &'a Environment, features: &'a [String], enabled: &'a [String]) -> Self {
        Self {
            env,
            features,
            enabled,
            version: Version::compat(),
            // The data plane terminates TLS with rustls.
            tls_library: Some("rustls"),
        }
    }
}

/// A conditional expression that cannot be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CondError {
    /// HAProxy's text, e.g. `unparsable conditional expression 'foo(1)'`.
    pub message: String,
    /// 1-based byte position in the expression text.
    pub position: u32,
}

impl fmt::Display for CondError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CondError {}

/// Parses and evaluates `expr`. The empty expression is false.
pub fn evaluate(expr: &str, ctx: &CondContext) -> Result<bool, CondError> {
    Ok(parse(expr)?.eval(ctx))
}

/// A parsed expression, ready to be evaluated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expr {
    /// OR of ANDs of terms.
    any: Vec<Vec<Term>>,
}

impl Expr {
    pub fn eval(&self, ctx: &CondContext) -> bool {
        self.any
            .iter()
            .any(|all| all.iter().all(|term| term.eval(ctx)))
    }
}

/// Parses `expr` without evaluating it.
pub fn parse(expr: &str) -> Result<Expr, CondError> {
    let parser = Parser {
        text: expr,
        s: expr.as_bytes(),
    };
    let start = parser.skip_blanks(0);
    if start >= parser.s.len() {
        return Ok(Expr {
            any: vec![vec![Term {
                negate: false,
                kind: TermKind::Const(false),
            }]],
        });
    }
    let (parsed, end) = parser.expr(start, 0)?;
    let end = parser.skip_blanks(end);
    if end < parser.s.len() {
        let c = expr
            .get(end..)
            .and_then(|r| r.chars().next())
            .unwrap_or('?');
        return Err(parser.error(
            end,
            format!("unexpected character '{c}' at the end of conditional expression '{expr}'"),
        ));
    }
    Ok(parsed)
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Term {
    negate: bool,
    kind: TermKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum TermKind {
    Const(bool),
    Paren(Expr),
    Pred(Predicate, Vec<String>),
}

impl Term {
    fn eval(&self, ctx: &CondContext) -> bool {
        let value = match &self.kind {
            TermKind::Const(value) => *value,
            TermKind::Paren(expr) => expr.eval(ctx),
            TermKind::Pred(pred, args) => pred.eval(args, ctx),
        };
        value != self.negate
    }
}

/// The predicates of HAProxy 3.4.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Predicate {
    Defined,
    Feature,
    Streq,
    Strneq,
    Strstr,
    VersionAtleast,
    VersionBefore,
    OpensslVersionAtleast,
    OpensslVersionBefore,
    SsllibNameStartswith,
    Enabled,
    AwslcApiAtleast,
    AwslcApiBefore,
}

impl Predicate {
    pub const ALL: [Predicate; 13] = [
        Predicate::Defined,
        Predicate::Feature,
        Predicate::Streq,
        Predicate::Strneq,
        Predicate::Strstr,
        Predicate::VersionAtleast,
        Predicate::VersionBefore,
        Predicate::OpensslVersionAtleast,
        Predicate::OpensslVersionBefore,
        Predicate::SsllibNameStartswith,
        Predicate::Enabled,
        Predicate::AwslcApiAtleast,
        Predicate::AwslcApiBefore,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Predicate::Defined => "defined",
            Predicate::Feature => "feature",
            Predicate::Streq => "streq",
            Predicate::Strneq => "strneq",
            Predicate::Strstr => "strstr",
            Predicate::VersionAtleast => "version_atleast",
            Predicate::VersionBefore => "version_before",
            Predicate::OpensslVersionAtleast => "openssl_version_atleast",
            Predicate::OpensslVersionBefore => "openssl_version_before",
            Predicate::SsllibNameStartswith => "ssllib_name_startswith",
            Predicate::Enabled => "enabled",
            Predicate::AwslcApiAtleast => "awslc_api_atleast",
            Predicate::AwslcApiBefore => "awslc_api_before",
        }
    }

    pub fn from_name(name: &str) -> Option<Predicate> {
        Predicate::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Number of (string) arguments; every predicate takes exactly this many.
    pub fn arity(self) -> usize {
        match self {
            Predicate::Streq | Predicate::Strneq | Predicate::Strstr => 2,
            _ => 1,
        }
    }

    fn eval(self, args: &[String], ctx: &CondContext) -> bool {
        let arg = |n: usize| args.get(n).map(String::as_str).unwrap_or("");
        match self {
            Predicate::Defined => ctx.env.is_defined(arg(0)),
            Predicate::Feature => ctx.features.iter().any(|f| f == arg(0)),
            Predicate::Streq => arg(0) == arg(1),
            Predicate::Strneq => arg(0) != arg(1),
            Predicate::Strstr => arg(0).contains(arg(1)),
            Predicate::VersionAtleast => {
                Version::parse(arg(0)).is_ok_and(|wanted| ctx.version >= wanted)
            }
            Predicate::VersionBefore => {
                Version::parse(arg(0)).is_ok_and(|wanted| ctx.version < wanted)
            }
            Predicate::Enabled => ctx.enabled.iter().any(|o| o == arg(0)),
            Predicate::SsllibNameStartswith => {
                ctx.tls_library.is_some_and(|name| name.starts_with(arg(0)))
            }
            // Sluice does not link OpenSSL nor AWS-LC: there is no such version to compare.
            Predicate::OpensslVersionAtleast
            | Predicate::OpensslVersionBefore
            | Predicate::AwslcApiAtleast
            | Predicate::AwslcApiBefore => false,
        }
    }

    /// Checks the arguments when the expression is parsed; returns the message on error.
    fn check(self, args: &[String]) -> Result<(), String> {
        let arg = args.first().map(String::as_str).unwrap_or("");
        match self {
            Predicate::VersionAtleast
            | Predicate::VersionBefore
            | Predicate::OpensslVersionAtleast
            | Predicate::OpensslVersionBefore => match Version::parse(arg) {
                Ok(_) => Ok(()),
                Err(_) => Err(format!(
                    "predicate '{}' expects a version number such as 3.4 or 3.4-dev2, got '{arg}', in conditional expression",
                    self.name()
                )),
            },
            Predicate::AwslcApiAtleast | Predicate::AwslcApiBefore => {
                if !arg.is_empty() && arg.trim().bytes().all(|b| b.is_ascii_digit()) {
                    Ok(())
                } else {
                    Err(format!(
                        "predicate '{}' expects an API number, got '{arg}', in conditional expression",
                        self.name()
                    ))
                }
            }
            _ => Ok(()),
        }
    }
}

struct Parser<'t> {
    text: &'t str,
    s: &'t [u8],
}

impl Parser<'_> {
    fn at(&self, i: usize) -> Option<u8> {
        self.s.get(i).copied()
    }

    fn skip_blanks(&self, mut i: usize) -> usize {
        while matches!(self.at(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        i
    }

    fn rest(&self, i: usize) -> &str {
        self.text.get(i..).unwrap_or("")
    }

    fn error(&self, i: usize, message: String) -> CondError {
        CondError {
            message,
            position: u32::try_from(i.saturating_add(1)).unwrap_or(u32::MAX),
        }
    }

    fn expr(&self, i: usize, depth: usize) -> Result<(Expr, usize), CondError> {
        let mut any = Vec::new();
        let mut i = i;
        loop {
            let (all, end) = self.and(i, depth)?;
            any.push(all);
            let end = self.skip_blanks(end);
            if self.s.get(end..end + 2) == Some(b"||") {
                i = self.skip_blanks(end + 2);
            } else {
                return Ok((Expr { any }, end));
            }
        }
    }

    fn and(&self, i: usize, depth: usize) -> Result<(Vec<Term>, usize), CondError> {
        let mut all = Vec::new();
        let mut i = i;
        loop {
            let (term, end) = self.term(i, depth)?;
            all.push(term);
            let end = self.skip_blanks(end);
            if self.s.get(end..end + 2) == Some(b"&&") {
                i = self.skip_blanks(end + 2);
            } else {
                return Ok((all, end));
            }
        }
    }

    fn term(&self, start: usize, depth: usize) -> Result<(Term, usize), CondError> {
        let mut i = self.skip_blanks(start);
        if i >= self.s.len() {
            return Err(self.error(
                i,
                format!("unparsable conditional expression '{}'", self.text),
            ));
        }
        let term_at = i;
        let mut negate = false;
        while self.at(i) == Some(b'!') {
            negate = !negate;
            i = self.skip_blanks(i + 1);
        }
        if let Some((value, end)) = strtol(self.s, i) {
            let kind = TermKind::Const(value);
            return Ok((Term { negate, kind }, end));
        }
        if self.at(i) == Some(b'(') {
            if depth >= MAX_DEPTH {
                return Err(self.error(
                    i,
                    format!(
                        "too many nested parentheses in conditional expression '{}'",
                        self.text
                    ),
                ));
            }
            let (inner, end) = self.expr(self.skip_blanks(i + 1), depth + 1)?;
            let end = self.skip_blanks(end);
            if self.at(end) != Some(b')') {
                return Err(self.error(
                    end,
                    format!(
                        "expected ')' after conditional expression '{}'",
                        self.rest(i)
                    ),
                ));
            }
            let kind = TermKind::Paren(inner);
            return Ok((Term { negate, kind }, self.skip_blanks(end + 1)));
        }
        // HAProxy takes the name up to a blank or '(' (strcspn " (").
        let name_end = self
            .s
            .iter()
            .skip(i)
            .position(|&b| b == b' ' || b == b'(')
            .map_or(self.s.len(), |n| i + n);
        let name = self.text.get(i..name_end).unwrap_or("");
        let Some(pred) = Predicate::from_name(name) else {
            return Err(self.error(
                term_at,
                format!("unparsable conditional expression '{}'", self.rest(term_at)),
            ));
        };
        let (args, end) = self.args(pred, name_end)?;
        if let Err(message) = pred.check(&args) {
            return Err(self.error(i, message));
        }
        let kind = TermKind::Pred(pred, args);
        Ok((Term { negate, kind }, end))
    }

    /// The `(a,b)` after a predicate name at `i`: commas separate, quotes group, a backslash
    /// escapes the next byte; blanks are kept.
    fn args(&self, pred: Predicate, i: usize) -> Result<(Vec<String>, usize), CondError> {
        let name = pred.name();
        let arity = pred.arity();
        let mut args: Vec<String> = Vec::new();
        let mut end = i;
        let mut extra_at = None;
        if self.at(i) == Some(b'(') {
            let mut cur: Vec<u8> = Vec::new();
            let mut quote: Option<u8> = None;
            let mut k = i + 1;
            loop {
                match (self.at(k), quote) {
                    (None, _) => {
                        return Err(self.error(
                            k,
                            format!(
                                "missing closing ')' after the arguments of predicate '{name}' used in conditional expression"
                            ),
                        ))
                    }
                    (Some(b'\\'), q) if q != Some(b'\'') => {
                        if let Some(b) = self.at(k + 1) {
                            cur.push(b);
                        }
                        k += 2;
                    }
                    (Some(q @ (b'"' | b'\'')), None) => {
                        quote = Some(q);
                        k += 1;
                    }
                    (Some(b), Some(q)) if b == q => {
                        quote = None;
                        k += 1;
                    }
                    (Some(b','), None) => {
                        args.push(String::from_utf8_lossy(&cur).into_owned());
                        cur.clear();
                        if args.len() == arity && extra_at.is_none() {
                            extra_at = Some(k);
                        }
                        k += 1;
                    }
                    (Some(b')'), None) => {
                        args.push(String::from_utf8_lossy(&cur).into_owned());
                        end = k + 1;
                        break;
                    }
                    (Some(b), _) => {
                        cur.push(b);
                        k += 1;
                    }
                }
            }
        }
        if args.len() < arity {
            let got = args.len();
            return Err(self.error(
                end.saturating_sub(1).max(i),
                format!(
                    "missing arguments (got {got}/{arity}), type 'string' expected in argument {got} of predicate '{name}' used in conditional expression"
                ),
            ));
        }
        if let Some(comma) = extra_at {
            let extra = self.text.get(comma..end.saturating_sub(1)).unwrap_or("");
            return Err(self.error(
                comma,
                format!(
                    "end of arguments expected at position {}, but got '{extra}' in argument {arity} of predicate '{name}' used in conditional expression",
                    arity + 1
                ),
            ));
        }
        Ok((args, end))
    }
}

/// C's `strtol(s + i, &end, 0)`: `Some((value != 0, end))` when at least one digit is read.
fn strtol(s: &[u8], i: usize) -> Option<(bool, usize)> {
    let at = |k: usize| s.get(k).copied();
    let mut k = i;
    if matches!(at(k), Some(b'+' | b'-')) {
        k += 1;
    }
    let (radix, first) = if at(k) == Some(b'0')
        && matches!(at(k + 1), Some(b'x' | b'X'))
        && at(k + 2).is_some_and(|b| b.is_ascii_hexdigit())
    {
        (16, k + 2)
    } else if at(k) == Some(b'0') {
        (8, k)
    } else {
        (10, k)
    };
    let mut end = first;
    let mut nonzero = false;
    while let Some(b) = at(end) {
        if !(b as char).is_digit(radix) {
            break;
        }
        nonzero |= b != b'0';
        end += 1;
    }
    (end > first).then_some((nonzero, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(expr: &str) -> Result<bool, CondError> {
        let env = Environment::from_pairs([("SET", "x"), ("EMPTY", "")]);
        let features = vec!["THREAD".to_string(), "LINUX_SPLICE".to_string()];
        let enabled = vec!["EPOLL".to_string()];
        evaluate(expr, &CondContext::new(&env, &features, &enabled))
    }

    #[test]
    fn integers_follow_strtol() {
        assert_eq!(eval("0"), Ok(false));
        assert_eq!(eval("1"), Ok(true));
        assert_eq!(eval("-1"), Ok(true));
        assert_eq!(eval("0x10"), Ok(true));
        assert_eq!(eval("0x0"), Ok(false));
        assert_eq!(eval("010"), Ok(true));
        assert_eq!(eval(""), Ok(false));
        assert!(eval("08").is_err(), "8 is not an octal digit");
    }

    #[test]
    fn operators_and_precedence() {
        assert_eq!(eval("1 || 0 && 0"), Ok(true));
        assert_eq!(eval("(1 || 0) && 0"), Ok(false));
        assert_eq!(eval("!0"), Ok(true));
        assert_eq!(eval("!!1"), Ok(true));
        assert_eq!(eval("! 1"), Ok(false));
        assert_eq!(eval("!(0||0)"), Ok(true));
    }

    #[test]
    fn predicates() {
        assert_eq!(eval("defined(SET)"), Ok(true));
        assert_eq!(eval("defined(EMPTY)"), Ok(true));
        assert_eq!(eval("defined(NOPE)"), Ok(false));
        assert_eq!(eval("feature(THREAD)"), Ok(true));
        assert_eq!(eval("feature(OPENSSL)"), Ok(false));
        assert_eq!(eval("streq(a,a)"), Ok(true));
        assert_eq!(eval("streq(a, a)"), Ok(false));
        assert_eq!(eval("strneq(a,b)"), Ok(true));
        assert_eq!(eval("strstr(haystack,st)"), Ok(true));
        assert_eq!(eval("version_atleast(3.4)"), Ok(true));
        assert_eq!(eval("version_atleast(3.4.1)"), Ok(false));
        assert_eq!(eval("version_before(3.5-dev0)"), Ok(true));
        assert_eq!(eval("version_before(3.4)"), Ok(false));
        assert_eq!(eval("enabled(EPOLL)"), Ok(true));
        assert_eq!(eval("enabled(KQUEUE)"), Ok(false));
        assert_eq!(eval("enabled(WHATEVER)"), Ok(false));
        assert_eq!(eval("openssl_version_atleast(1.1.1)"), Ok(false));
        assert_eq!(eval("ssllib_name_startswith(OpenSSL)"), Ok(false));
        assert_eq!(eval("streq('a,b',\"a,b\")"), Ok(true));
    }

    #[test]
    fn errors_carry_haproxy_texts_and_positions() {
        let e = eval("foo(1)").unwrap_err();
        assert_eq!(e.message, "unparsable conditional expression 'foo(1)'");
        assert_eq!(e.position, 1);
        let e = eval("(1").unwrap_err();
        assert_eq!(e.message, "expected ')' after conditional expression '(1'");
        let e = eval("1 1").unwrap_err();
        assert_eq!(
            e.message,
            "unexpected character '1' at the end of conditional expression '1 1'"
        );
        assert_eq!(e.position, 3);
        let e = eval("streq(a)").unwrap_err();
        assert_eq!(
            e.message,
            "missing arguments (got 1/2), type 'string' expected in argument 1 of predicate 'streq' used in conditional expression"
        );
        let e = eval("defined(a,b)").unwrap_err();
        assert!(e
            .message
            .starts_with("end of arguments expected at position 2, but got ',b'"));
        assert!(eval("version_atleast(garbage)").is_err());
        assert!(eval("version_before(garbage)").is_err());
        let e = eval("1 && bar").unwrap_err();
        assert_eq!(e.position, 6);
    }

    #[test]
    fn errors_in_skipped_branches_are_still_found() {
        assert!(eval("1 || foo(1)").is_err());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "(".repeat(10_000);
        assert!(eval(&deep).is_err());
    }
}
