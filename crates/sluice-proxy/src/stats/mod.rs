//! The statistics page (`stats enable`, `stats uri`, `stats auth`...): a request whose path
//! starts with a proxy's stats URI is answered by Sluice itself, after that proxy's
//! `http-request` rules, with an HTML report of every proxy and server, or the CSV of the
//! runtime API's `show stat` when the URI carries `;csv`. The numbers come from the same
//! counters as the runtime API ([`crate::cli::Runtime`]).
//!
//! Read-only: `stats admin` is accepted and gives no actions.

mod html;

use crate::cli::Runtime;
use sluice_model::{Model, Proxy};
use std::sync::{OnceLock, Weak};

/// HAProxy's default stats URI and realm.
const DEFAULT_URI: &str = "/haproxy?stats";
const DEFAULT_REALM: &str = "HAProxy Statistics";

/// One proxy's statistics page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The prefix requests must start with.
    pub uri: String,
    /// `stats realm`, for the `WWW-Authenticate` challenge.
    pub realm: String,
    /// `stats auth <user>:<password>`, each kept as the Base64 token of a `Basic`
    /// `Authorization` header, so that a request is checked without decoding it.
    pub credentials: Vec<String>,
    /// `stats refresh`: seconds between reloads, sent as a `Refresh` header.
    pub refresh: Option<u64>,
    /// `stats hide-version`.
    pub hide_version: bool,
    /// `stats scope`: the proxies shown (`None`: all of them).
    pub scope: Option<Vec<String>>,
    /// The proxy the page belongs to (`stats scope .`).
    pub proxy: String,
}

impl Page {
    /// The page `proxy`'s `stats` lines describe, when they enable one.
    pub fn of(proxy: &Proxy) -> Option<Page> {
        let mut page = Page {
            uri: DEFAULT_URI.into(),
            realm: DEFAULT_REALM.into(),
            credentials: Vec::new(),
            refresh: None,
            hide_version: false,
            scope: None,
            proxy: proxy.name.clone(),
        };
        let mut enabled = false;
        for line in &proxy.stats {
            let words = &line.value;
            let arg = words.get(1).cloned().unwrap_or_default();
            match words.first().map(String::as_str) {
                // Every setting but `disable` turns the page on, as in HAProxy.
                Some("disable") => enabled = false,
                Some("uri") => page.uri = arg,
                Some("realm") => page.realm = words.get(1..).unwrap_or_default().join(" "),
                Some("auth") => page.credentials.push(
                    String::from_utf8_lossy(&sluice_rules::base64::encode(arg.as_bytes()))
                        .into_owned(),
                ),
                Some("refresh") => {
                    page.refresh = sluice_model::units::parse_time(
                        &arg,
                        sluice_model::units::TimeUnit::Seconds,
                    )
                    .ok()
                    .map(|t| t.duration.as_secs().max(1))
                }
                Some("hide-version") => page.hide_version = true,
                Some("scope") => page.scope.get_or_insert_with(Vec::new).push(arg),
                _ => {}
            }
            enabled |= words.first().is_some_and(|w| w != "disable");
        }
        enabled.then_some(page)
    }

    /// Whether a request for `target` asks for this page: its path (or the whole target,
    /// when the URI is not a path) starts with the stats URI.
    pub fn matches(&self, target: &[u8]) -> bool {
        let subject = if self.uri.starts_with('/') {
            crate::http::monitor::path_of(target)
        } else {
            target
        };
        subject.starts_with(self.uri.as_bytes())
    }

    /// Whether the `Authorization` header value lets the request in.
    fn admits(&self, authorization: Option<&[u8]>) -> bool {
        if self.credentials.is_empty() {
            return true;
        }
        let Some(value) = authorization else {
            return false;
        };
        let mut words = value.split(|c| *c == b' ').filter(|w| !w.is_empty());
        let scheme = words.next().unwrap_or_default();
        let token = words.next().unwrap_or_default();
        scheme.eq_ignore_ascii_case(b"basic")
            && self.credentials.iter().any(|c| c.as_bytes() == token)
    }
}

/// The statistics pages of a worker's proxies, and the counters they show.
#[derive(Debug, Default)]
pub struct Stats {
    /// By proxy index.
    pages: Vec<Option<Page>>,
    /// The worker's counters, set when its threads start (weak: the worker owns them).
    runtime: OnceLock<Weak<Runtime>>,
}

impl Stats {
    /// The pages the model's proxies enable.
    pub fn build(model: &Model) -> Stats {
        Stats {
            pages: model
                .proxies
                .iter()
                .map(|p| Page::of(p).filter(|_| !p.disabled))
                .collect(),
            runtime: OnceLock::new(),
        }
    }

    /// Whether any proxy serves a page (the worker then keeps a [`Runtime`] for them).
    pub fn any(&self) -> bool {
        self.pages.iter().any(Option::is_some)
    }

    /// Gives the pages the worker's counters.
    pub fn attach(&self, runtime: Weak<Runtime>) {
        let _ = self.runtime.set(runtime);
    }

    /// The page of proxy `index`.
    pub fn page(&self, index: usize) -> Option<&Page> {
        self.pages.get(index)?.as_ref()
    }

    /// The response to a request for `target` on proxy `index`'s stats URI (`None`: not a
    /// stats request): the page, a `401` challenge without valid credentials, or the CSV.
    pub fn answer(
        &self,
        index: usize,
        target: &[u8],
        authorization: Option<&[u8]>,
    ) -> Option<Vec<u8>> {
        let page = self.page(index).filter(|p| p.matches(target))?;
        if !page.admits(authorization) {
            return Some(challenge(page));
        }
        let options = target
            .get(page.uri.len()..)
            .filter(|_| !page.uri.starts_with('/'))
            .unwrap_or_else(|| {
                crate::http::monitor::path_of(target)
                    .get(page.uri.len()..)
                    .unwrap_or_default()
            });
        let has = |o: &[u8]| options.windows(o.len()).any(|w| w == o);
        let Some(rt) = self.runtime.get().and_then(Weak::upgrade) else {
            return Some(response(
                503,
                "text/plain",
                None,
                b"statistics are not ready\n",
            ));
        };
        let refresh = page.refresh.filter(|_| !has(b";norefresh"));
        if has(b";csv") {
            let csv = crate::cli::stat::show_stat(&rt, &[]).text;
            return Some(response(200, "text/plain", None, csv.as_bytes()));
        }
        let body = html::render(&rt, page, has(b";up"));
        Some(response(200, "text/html", refresh, body.as_bytes()))
    }
}

/// `401` with the realm to authenticate in.
fn challenge(page: &Page) -> Vec<u8> {
    let body = b"<html><body><h1>401 Unauthorized</h1>\nYou need a valid user and password to access this content.\n</body></html>\n";
    let mut out = format!(
        "HTTP/1.1 401 Unauthorized\r\ncontent-length: {}\r\ncache-control: no-cache\r\ncontent-type: text/html\r\nwww-authenticate: Basic realm=\"{}\"\r\n\r\n",
        body.len(),
        page.realm.replace('"', "'")
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

fn response(status: u16, content_type: &str, refresh: Option<u64>, body: &[u8]) -> Vec<u8> {
    let reason = String::from_utf8_lossy(crate::http::head::reason(status)).into_owned();
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\ncache-control: no-cache\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n",
        body.len()
    );
    if let Some(r) = refresh {
        head.push_str(&format!("refresh: {r}\r\n"));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(lines: &[&[&str]]) -> Option<Page> {
        let cfg = format!(
            "listen st\n    bind :8404\n{}",
            lines
                .iter()
                .map(|l| format!("    stats {}\n", l.join(" ")))
                .collect::<String>()
        );
        let mut sources = sluice_config::SourceMap::new();
        sources.add("t.cfg", cfg.into_bytes());
        let mut env = sluice_config::Environment::empty();
        let (tree, _) =
            sluice_config::read_config(&sources, &mut env, &sluice_config::ReadOptions::default());
        let (model, _) = sluice_model::build(&tree, &Default::default());
        model.proxies.first().and_then(Page::of)
    }

    #[test]
    fn settings_and_matching() {
        assert_eq!(page(&[]), None);
        let p = page(&[&["enable"]]).expect("a page");
        assert_eq!(p.uri, "/haproxy?stats");
        assert!(p.matches(b"/haproxy?stats"));
        assert!(p.matches(b"/haproxy?stats;csv"));
        assert!(!p.matches(b"/haproxy"));
        let p = page(&[
            &["uri", "/st"],
            &["refresh", "10s"],
            &["realm", "Ops", "only"],
        ])
        .expect("a page");
        assert!(p.matches(b"/st"));
        assert!(p.matches(b"http://lb/st;csv"));
        assert!(!p.matches(b"/other"));
        assert_eq!(p.refresh, Some(10));
        assert_eq!(p.realm, "Ops only");
    }

    #[test]
    fn basic_credentials() {
        let p = page(&[&["auth", "admin:secret"]]).expect("a page");
        assert!(p.admits(Some(b"Basic YWRtaW46c2VjcmV0")));
        assert!(p.admits(Some(b"basic  YWRtaW46c2VjcmV0")));
        assert!(!p.admits(Some(b"Basic YTpi")));
        assert!(!p.admits(None));
        let c = String::from_utf8(challenge(&p)).expect("text");
        assert!(c.starts_with("HTTP/1.1 401 Unauthorized\r\n"));
        assert!(c.contains("www-authenticate: Basic realm=\"HAProxy Statistics\"\r\n"));
    }
}
