//! The error responses Sluice sends itself: HAProxy's built-in pages (from
//! [`sluice_http::errors`]) with `connection: close`, or the proxy's overrides, built once
//! when the worker starts and sent as they are, as HAProxy does. Overrides apply in this
//! order, a later one replacing an earlier one for the same status: `errorfiles <section>
//! [<code>...]` (the `errorfile` lines of an `http-errors` section), the proxy's `errorfile`
//! and `errorloc`/`errorloc302`/`errorloc303` lines (in the order they were written, the
//! defaults section's first), then `http-error status <code> ...` lines.
//!
//! An `errorloc` line turns the response for its status into a bodiless redirect (302, or
//! 303 for `errorloc303`) whose `location` is the URL as written.
//!
//! A response of a backend uses the backend's own override for the status, else the
//! frontend's, else the built-in page ([`ErrorPages::pick`]), as HAProxy does.

use sluice_config::{SectionKind, Statement};
use sluice_model::sections::OtherSection;
use sluice_model::{Model, Proxy};
use std::io;
use std::sync::Arc;

/// Statuses the data plane answers with.
const USED: &[u16] = &[400, 403, 408, 413, 422, 500, 502, 503, 504, 505];

/// HAProxy's built-in 200 page (the `monitor-uri` answer), with `connection: close`.
const OK_PAGE: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 58\r\ncache-control: no-cache\r\ncontent-type: text/html\r\nconnection: close\r\n\r\n<html><body><h1>200 OK</h1>\nService ready.\n</body></html>\n";

/// The error responses of one proxy.
#[derive(Clone, Debug)]
pub struct ErrorPages {
    pages: Vec<(u16, Arc<[u8]>)>,
    /// The statuses the proxy's own lines replaced (not built-in pages).
    custom: Vec<u16>,
    /// The statuses whose page is an `errorloc` redirect: bodiless and without `connection:
    /// close`, so that the client connection may stay open after it, as after a `redirect`.
    redirects: Vec<u16>,
}

/// One `errorfile` or `errorloc` line, to apply them in the order they were written.
enum Override<'p> {
    File(&'p sluice_model::proxy::ErrorFile),
    Loc(&'p sluice_model::proxy::ErrorLoc),
}

impl Override<'_> {
    fn key(&self) -> (sluice_config::FileId, u32) {
        let l = match self {
            Override::File(f) => f.path.location,
            Override::Loc(l) => l.location,
        };
        (l.file, l.line)
    }

    fn status(&self) -> u16 {
        match self {
            Override::File(f) => f.status,
            Override::Loc(l) => l.status,
        }
    }

    fn bytes(&self) -> io::Result<Vec<u8>> {
        match self {
            Override::File(f) => read(&f.path.value),
            Override::Loc(l) => Ok(redirect(l.redirect, &l.url)),
        }
    }
}

/// The proxy's `errorfile` and `errorloc` lines in the order they were written.
fn overrides(proxy: &Proxy) -> Vec<Override<'_>> {
    let mut all: Vec<Override<'_>> = proxy
        .errorfiles
        .iter()
        .map(Override::File)
        .chain(proxy.errorlocs.iter().map(Override::Loc))
        .collect();
    all.sort_by_key(Override::key);
    all
}

/// The response of an `errorloc` line: a redirect with no body, never cached (without
/// `connection: close`: [`with_close`] adds it when the connection closes after it).
pub fn redirect(code: u16, url: &str) -> Vec<u8> {
    let reason = if code == 303 { "See Other" } else { "Found" };
    let mut v = Vec::with_capacity(96 + url.len());
    v.extend_from_slice(format!("HTTP/1.1 {code} {reason}\r\n").as_bytes());
    v.extend_from_slice(b"cache-control: no-cache\r\ncontent-length: 0\r\nlocation: ");
    v.extend_from_slice(url.as_bytes());
    v.extend_from_slice(b"\r\n\r\n");
    v
}

/// A bodiless response head (an `errorloc` redirect) with `connection: close` added.
pub fn with_close(head: &[u8]) -> Vec<u8> {
    let base = head.strip_suffix(b"\r\n").unwrap_or(head);
    let mut v = Vec::with_capacity(base.len() + 21);
    v.extend_from_slice(base);
    v.extend_from_slice(b"connection: close\r\n\r\n");
    v
}

impl ErrorPages {
    /// Built-in pages with `connection: close`.
    fn builtin() -> ErrorPages {
        let mut pages: Vec<(u16, Arc<[u8]>)> = USED
            .iter()
            .filter_map(|s| sluice_http::errors::page(*s))
            .map(|p| {
                let mut v = Vec::with_capacity(p.bytes.len() + 20);
                v.extend_from_slice(p.head.as_bytes());
                v.extend_from_slice(b"connection: close\r\n\r\n");
                v.extend_from_slice(p.body.as_bytes());
                (p.status, Arc::from(v))
            })
            .collect();
        pages.push((200, Arc::from(OK_PAGE)));
        ErrorPages {
            pages,
            custom: Vec::new(),
            redirects: Vec::new(),
        }
    }

    /// Replaces the page for `status` with the one of an `errorfile` or `errorloc` line.
    fn apply(&mut self, o: &Override<'_>) -> io::Result<()> {
        let status = o.status();
        self.set(status, Arc::from(o.bytes()?));
        self.redirects.retain(|s| *s != status);
        if matches!(o, Override::Loc(_)) {
            self.redirects.push(status);
        }
        Ok(())
    }

    /// Built-in pages with `connection: close`, then the proxy's `errorfile` and `errorloc`
    /// lines.
    pub fn load(proxy: &Proxy) -> io::Result<ErrorPages> {
        let mut out = ErrorPages::builtin();
        for o in overrides(proxy) {
            out.apply(&o)?;
        }
        Ok(out)
    }

    /// The built-in pages, then the proxy's `errorfiles` sections, `errorfile` and
    /// `errorloc` lines in the order they were written, then its `http-error` lines, which
    /// need the whole model. Fails on a file that cannot be read or an `http-error` line
    /// that cannot be built.
    pub fn build(model: &Model, proxy: &Proxy) -> io::Result<ErrorPages> {
        let mut pages = ErrorPages::builtin();
        let bad = |m: String| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} : {m}", proxy.describe()),
            )
        };
        let section = |name: &str| -> io::Result<&OtherSection> {
            model
                .sections
                .iter()
                .find(|s| s.kind == SectionKind::HttpErrors && s.name == name)
                .ok_or_else(|| bad(format!("unknown http-errors section '{name}'")))
        };
        // (where the line is, index of an `errorfiles` line or of an override)
        let lines = overrides(proxy);
        let mut order: Vec<((sluice_config::FileId, u32), Result<usize, usize>)> = proxy
            .errorfiles_sections
            .iter()
            .enumerate()
            .map(|(i, n)| ((n.location.file, n.location.line), Ok(i)))
            .chain(lines.iter().enumerate().map(|(i, o)| (o.key(), Err(i))))
            .collect();
        order.sort_by_key(|(key, _)| *key);
        for (_, line) in order {
            match line {
                Ok(i) => {
                    let Some(name) = proxy.errorfiles_sections.get(i) else {
                        continue;
                    };
                    let codes = proxy.errorfiles_codes.get(i).map_or(&[][..], Vec::as_slice);
                    for (status, path) in &section(&name.value)?.errorfiles {
                        if codes.is_empty() || codes.contains(status) {
                            pages.set(*status, Arc::from(read(&path.value)?));
                            pages.redirects.retain(|s| s != status);
                        }
                    }
                }
                Err(i) => {
                    if let Some(o) = lines.get(i) {
                        pages.apply(o)?;
                    }
                }
            }
        }
        let defaults = proxy
            .defaults
            .as_deref()
            .and_then(|d| model.defaults.iter().rev().find(|p| p.name == d));
        let lines = defaults
            .map(|d| d.other.as_slice())
            .unwrap_or_default()
            .iter()
            .chain(proxy.other.iter())
            .filter(|s| s.keyword() == "http-error")
            // Those with log-format parts are rendered per answer by the rules.
            .filter(|s| {
                let args: Vec<String> = s.words.iter().skip(1).map(|w| w.text.clone()).collect();
                !sluice_rules::actions::http_error_is_dynamic(&args)
            });
        for stmt in lines {
            let (status, bytes) = http_error(stmt, &section).map_err(bad)?;
            pages.set(status, Arc::from(bytes));
            pages.redirects.retain(|s| *s != status);
        }
        Ok(pages)
    }

    fn set(&mut self, status: u16, bytes: Arc<[u8]>) {
        match self.pages.iter_mut().find(|(s, _)| *s == status) {
            Some(entry) => entry.1 = bytes,
            None => self.pages.push((status, bytes)),
        }
        if !self.custom.contains(&status) {
            self.custom.push(status);
        }
    }

    /// The response for `status` when the proxy's own lines (`errorfile`, `errorloc`,
    /// `errorfiles`, `http-error`) replaced the built-in one.
    pub fn custom(&self, status: u16) -> Option<&[u8]> {
        if !self.custom.contains(&status) {
            return None;
        }
        self.exact(status)
    }

    /// Whether the page for `status` is an `errorloc` redirect.
    pub fn is_redirect(&self, status: u16) -> bool {
        self.redirects.contains(&status)
    }

    /// The response for `status` (a 500 page for a status that has none).
    pub fn get(&self, status: u16) -> &[u8] {
        self.pages
            .iter()
            .find(|(s, _)| *s == status)
            .or_else(|| self.pages.iter().find(|(s, _)| *s == 500))
            .map_or(&b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"[..], |(_, b)| b)
    }

    /// The response for exactly `status`, when the proxy has one (built-in or errorfile).
    pub fn exact(&self, status: u16) -> Option<&[u8]> {
        self.pages
            .iter()
            .find(|(s, _)| *s == status)
            .map(|(_, b)| &b[..])
    }

    /// Whether `errorfile` or `errorloc` replaced the page for `status`.
    pub fn has_override(&self, status: u16, proxy: &Proxy) -> bool {
        proxy.errorfiles.iter().any(|e| e.status == status)
            || proxy.errorlocs.iter().any(|e| e.status == status)
    }
}

/// The pages a stream answers with: its backend's (or its frontend's, before a backend is
/// chosen), with the frontend's overrides as the fallback.
#[derive(Clone, Copy)]
pub struct Pages<'a> {
    pub own: &'a ErrorPages,
    pub frontend: &'a ErrorPages,
}

impl<'a> Pages<'a> {
    /// The pages of a stream that has no backend yet.
    pub fn frontend(fe: &'a ErrorPages) -> Pages<'a> {
        Pages {
            own: fe,
            frontend: fe,
        }
    }

    /// The pages the override for `status` comes from.
    fn source(&self, status: u16) -> &'a ErrorPages {
        if self.own.custom.contains(&status) || !self.frontend.custom.contains(&status) {
            self.own
        } else {
            self.frontend
        }
    }

    /// The response for exactly `status`: an override of the backend, else of the
    /// frontend, else the built-in page the proxy has.
    pub fn exact(&self, status: u16) -> Option<&'a [u8]> {
        self.source(status).exact(status)
    }

    /// The response for `status` (a 500 page for a status that has none).
    pub fn get(&self, status: u16) -> &'a [u8] {
        self.source(status).get(status)
    }

    /// Whether the page for `status` is the proxy's own (`errorfile`, `errorloc`...), not
    /// a built-in one.
    pub fn is_custom(&self, status: u16) -> bool {
        self.source(status).custom.contains(&status)
    }

    /// Whether the response for `status` is an `errorloc` redirect (bodiless, the
    /// connection may stay open after it).
    pub fn is_redirect(&self, status: u16) -> bool {
        self.source(status).is_redirect(status)
    }
}

fn read(path: &str) -> io::Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot read errorfile '{path}': {e}")))
}

/// `http-error status <code> [content-type <type>] [default-errorfiles | errorfile <file> |
/// errorfiles <name> | file <file> | string <text>] [hdr <name> <value>]*`: the response
/// for `<code>`, when it has no log-format part (those are rendered per answer by the
/// rules, see `sluice_rules::actions::DynamicErrors`). Without a payload option the answer
/// has none; `default-errorfiles` gives the built-in page.
fn http_error<'m>(
    stmt: &Statement,
    section: &dyn Fn(&str) -> io::Result<&'m OtherSection>,
) -> Result<(u16, Vec<u8>), String> {
    enum Body {
        Default,
        Raw(Vec<u8>),
        Content(Vec<u8>),
    }
    let words: Vec<&str> = stmt.words.iter().skip(1).map(|w| w.text.as_str()).collect();
    let line = stmt.location.line;
    let value = |i: usize| -> Result<&str, String> {
        words.get(i + 1).copied().ok_or_else(|| {
            format!(
                "'http-error' (line {line}) : '{}' expects a value",
                words.get(i).copied().unwrap_or_default()
            )
        })
    };
    let mut status = None;
    let mut content_type = None;
    // Without a payload option the answer has none (`default-errorfiles` asks for the
    // built-in page).
    let mut body = Body::Content(Vec::new());
    let mut headers: Vec<(&str, &str)> = Vec::new();
    let mut i = 0;
    while let Some(word) = words.get(i).copied() {
        match word {
            "status" => status = value(i)?.parse::<u16>().ok(),
            "content-type" => content_type = Some(value(i)?),
            "default-errorfiles" => {
                body = Body::Default;
                i += 1;
                continue;
            }
            "string" => body = Body::Content(value(i)?.as_bytes().to_vec()),
            "file" => body = Body::Content(read(value(i)?).map_err(|e| e.to_string())?),
            "errorfile" => body = Body::Raw(read(value(i)?).map_err(|e| e.to_string())?),
            "errorfiles" => {
                let name = value(i)?;
                let s = section(name).map_err(|e| e.to_string())?;
                let code = status.unwrap_or(0);
                body = match s.errorfiles.iter().rev().find(|(c, _)| *c == code) {
                    Some((_, path)) => Body::Raw(read(&path.value).map_err(|e| e.to_string())?),
                    None => Body::Default,
                };
            }
            "hdr" => {
                let name = value(i)?;
                let v = words
                    .get(i + 2)
                    .copied()
                    .ok_or_else(|| format!("'http-error' (line {line}) : 'hdr' expects a name and a value"))?;
                if v.contains('%') {
                    return Err(format!("'http-error' (line {line}) : log-format header values are not supported by Sluice yet"));
                }
                headers.push((name, v));
                i += 3;
                continue;
            }
            "lf-string" | "lf-file" => {
                return Err(format!("'http-error' (line {line}) : '{word}' (log-format bodies) is not supported by Sluice yet"))
            }
            other => return Err(format!("'http-error' (line {line}) : unexpected '{other}'")),
        }
        i += 2;
    }
    let status = status
        .filter(|s| sluice_model::proxy::ERRORFILE_STATUSES.contains(s))
        .ok_or_else(|| format!("'http-error' (line {line}) : expects 'status <code>' with a status 'errorfile' accepts"))?;
    let builtin = ErrorPages::builtin();
    let bytes = match body {
        Body::Raw(bytes) => bytes,
        Body::Default if headers.is_empty() => builtin
            .exact(status)
            .map(<[u8]>::to_vec)
            .unwrap_or_default(),
        Body::Default => {
            // The built-in page with the extra headers inserted after its status line.
            let page = builtin.exact(status).unwrap_or_default();
            let cut = page
                .windows(2)
                .position(|w| w == b"\r\n")
                .map_or(page.len(), |p| p + 2);
            let mut out = page.get(..cut).unwrap_or_default().to_vec();
            for (n, v) in &headers {
                out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
            }
            out.extend_from_slice(page.get(cut..).unwrap_or_default());
            out
        }
        Body::Content(content) => {
            let reason = sluice_http::errors::page(status).map_or("", |p| p.reason);
            let mut out = format!("HTTP/1.1 {status} {reason}\r\n").into_bytes();
            if let Some(t) = content_type {
                out.extend_from_slice(format!("content-type: {t}\r\n").as_bytes());
            }
            out.extend_from_slice(format!("content-length: {}\r\n", content.len()).as_bytes());
            for (n, v) in &headers {
                out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
            }
            out.extend_from_slice(b"connection: close\r\n\r\n");
            out.extend_from_slice(&content);
            out
        }
    };
    if bytes.is_empty() {
        return Err(format!(
            "'http-error' (line {line}) : no page for status {status}"
        ));
    }
    Ok((status, bytes))
}
