//! Conditions: `if|unless` over ACLs, with implicit AND, `||`/`or` and `!`, compiled to
//! shared ACL references.

use crate::acl::{AclExpr, NamedAcl, Tri};
use crate::sample::Place;
use crate::{Env, SampleSource};
use sluice_config::{Category, Diagnostic, Diagnostics};
use sluice_model::proxy::condition::{Condition as ModelCondition, Term as ModelTerm};
use std::sync::Arc;

/// A compiled condition.
#[derive(Debug)]
pub struct Condition {
    unless: bool,
    /// Alternatives, each a list of (ACL, negated) that must all match.
    alternatives: Vec<Vec<(Arc<NamedAcl>, bool)>>,
}

impl Condition {
    /// Compiles `cond`, resolving names against the proxy's ACLs (and the pre-defined ones).
    /// `keyword` names the rule in warnings.
    pub(crate) fn compile(
        cond: &ModelCondition,
        place: Place,
        keyword: &str,
        env: &mut Env<'_>,
        warnings: &mut Diagnostics,
    ) -> Result<Self, Diagnostic> {
        let mut alternatives = Vec::with_capacity(cond.alternatives.len());
        for terms in &cond.alternatives {
            let mut all = Vec::with_capacity(terms.len());
            for term in terms {
                let (acl, negated) = match term {
                    ModelTerm::Named {
                        name,
                        negated,
                        location,
                    } => (env.named_acl(name, *location)?, *negated),
                    ModelTerm::Anonymous { acl, negated } => {
                        // Like a named ACL, an anonymous one whose fetch has no data here
                        // only warns (HAProxy's warnif_cond_conflicts returns ERR_WARN).
                        let line = AclExpr::compile(acl, Place::Any, env)?;
                        (Arc::new(NamedAcl::new("", vec![line])), *negated)
                    }
                };
                if !acl.usable_at(place) {
                    let message = if acl.name.is_empty() {
                        format!(
                            "anonymous acl will never match in '{keyword}' because it uses keywords that are incompatible with this rule"
                        )
                    } else {
                        format!(
                            "acl '{}' will never match in '{keyword}' because it only involves keywords that are incompatible with this rule",
                            acl.name
                        )
                    };
                    warnings.push(
                        Diagnostic::warning(Category::Semantic, "acl-never-matches", message)
                            .at(cond.location),
                    );
                }
                all.push((acl, negated));
            }
            alternatives.push(all);
        }
        Ok(Self {
            unless: cond.unless,
            alternatives,
        })
    }

    /// Whether the condition holds (a miss counts as "no").
    pub fn eval(&self, src: &dyn SampleSource) -> bool {
        self.eval_tri(src) == Tri::Match
    }

    /// The three-valued result, for rules that can wait for more data
    /// (`tcp-request content` with `inspect-delay`).
    pub fn eval_tri(&self, src: &dyn SampleSource) -> Tri {
        let mut result = Tri::NoMatch;
        for terms in &self.alternatives {
            let mut all = Tri::Match;
            for (acl, negated) in terms {
                let r = acl.eval(src);
                let r = if *negated { r.negate() } else { r };
                match r {
                    Tri::NoMatch => {
                        all = Tri::NoMatch;
                        break;
                    }
                    Tri::Miss => all = Tri::Miss,
                    Tri::Match => {}
                }
            }
            match all {
                Tri::Match => {
                    result = Tri::Match;
                    break;
                }
                Tri::Miss => result = Tri::Miss,
                Tri::NoMatch => {}
            }
        }
        if self.unless {
            result.negate()
        } else {
            result
        }
    }
}

/// Evaluates an optional condition (no condition: always).
pub fn holds_opt(cond: &Option<Condition>, src: &dyn SampleSource) -> bool {
    holds(cond, src)
}

pub(crate) fn holds(cond: &Option<Condition>, src: &dyn SampleSource) -> bool {
    cond.as_ref().is_none_or(|c| c.eval(src))
}
