//! `del server <backend>/<server>`: a server in maintenance that nothing in the
//! configuration points at leaves its backend.
//!
//! A backend's servers are laid out when the worker starts (the balancers, queues, counters
//! and idle pools are indexed by position), so a deleted server keeps its slot: it stays in
//! maintenance for good and disappears from every listing and from `<backend>/<server>`
//! lookups. A reload brings back whatever the configuration declares.

use super::dispatch::Answer;
use super::servers::find_server;
use super::Runtime;
use crate::check::report::{self, Level};
use sluice_model::Proxy;
use std::sync::atomic::Ordering;

/// `del server <backend>/<server>`.
pub fn del_server(rt: &Runtime, args: &[&str]) -> Answer {
    let (bi, si) = match find_server(rt, args.first()) {
        Ok(at) => at,
        Err(a) => return a,
    };
    let (Some(be), Some(proxy)) = (rt.plan.backend(bi), rt.model.proxies.get(bi)) else {
        return Answer::text("No such backend.\n");
    };
    let Some(s) = be.servers.get(si) else {
        return Answer::text("No such server.\n");
    };
    if referenced(rt, proxy, &s.name) {
        return Answer::text(
            "This server cannot be removed at runtime due to other configuration elements pointing to it.\n",
        );
    }
    if !s.health.in_maintenance() {
        return Answer::text("Only servers in maintenance mode can be deleted.\n");
    }
    if s.connections.load(Ordering::Relaxed) > 0 {
        return Answer::text("Server still has connections attached to it, cannot remove it.\n");
    }
    s.delete();
    be.epoch.bump();
    report::notify(
        &be.name,
        Level::Warning,
        report::syslog::NOTICE,
        &format!("Server deleted: {}/{}", be.name, s.name),
    );
    Answer::text("Server deleted.\n")
}

/// Whether the configuration points at server `name` of `backend`: another server tracks
/// it, `use-server` names it, or a sample fetch takes it as an argument
/// (`srv_conn(<backend>/<server>)`, or `(<server>)` within the backend).
fn referenced(rt: &Runtime, backend: &Proxy, name: &str) -> bool {
    let full = format!("{}/{name}", backend.name);
    let tracked = rt.model.proxies.iter().any(|p| {
        p.servers.iter().any(|s| {
            s.options
                .track
                .as_ref()
                .is_some_and(|t| t.value == full || (p.name == backend.name && t.value == name))
        })
    });
    if tracked {
        return true;
    }
    let use_server = backend
        .other
        .iter()
        .any(|st| st.keyword() == "use-server" && st.words.get(1).is_some_and(|w| w.text == name));
    if use_server {
        return true;
    }
    rt.model.proxies.iter().any(|p| {
        let texts = texts_of(p);
        texts.iter().any(|t| {
            names_argument(t, &full) || (p.name == backend.name && names_argument(t, name))
        })
    })
}

/// The texts of a proxy where sample fetches are written: ACL criteria, rule arguments and
/// conditions, and its other lines (log formats...).
fn texts_of(p: &Proxy) -> Vec<String> {
    let mut out: Vec<String> = p.acls.iter().map(|a| a.criterion.clone()).collect();
    let mut conditions = Vec::new();
    for r in &p.rules {
        out.extend(r.args.iter().cloned());
        conditions.extend(r.condition.iter());
    }
    conditions.extend(p.conditions.iter().map(|c| &c.condition));
    conditions.extend(p.use_backends.iter().filter_map(|u| u.condition.as_ref()));
    for c in conditions {
        for term in c.alternatives.iter().flatten() {
            if let sluice_model::proxy::condition::Term::Anonymous { acl, .. } = term {
                out.push(acl.criterion.clone());
            }
        }
    }
    for st in &p.other {
        out.extend(st.words.iter().skip(1).map(|w| w.text.clone()));
    }
    out
}

/// `text` has `arg` as a whole argument of a call: `(arg)`, `(arg,`, `,arg)`...
fn names_argument(text: &str, arg: &str) -> bool {
    text.match_indices(arg).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + arg.len()..].chars().next();
        matches!(before, Some('(' | ',')) && matches!(after, Some(')' | ','))
    })
}

#[cfg(test)]
mod tests {
    use super::names_argument;

    #[test]
    fn arguments_of_fetches() {
        assert!(names_argument("srv_sess_rate(test/s1)", "test/s1"));
        assert!(names_argument("%[srv_conn(test/s1),add(1)]", "test/s1"));
        assert!(names_argument("srv_is_up(s1)", "s1"));
        assert!(!names_argument("srv_is_up(s10)", "s1"));
        assert!(!names_argument("req.hdr(host)", "s1"));
        assert!(!names_argument("s1", "s1"));
    }
}
