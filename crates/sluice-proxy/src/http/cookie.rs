//! Cookie persistence: `cookie <name> [rewrite|insert|prefix] [indirect] [nocache]
//! [postonly] [preserve] [httponly] [secure] [domain <d>]* [attr <a>]*` with the servers'
//! `cookie <value>`.
//!
//! Requests: a cookie naming a server sends the request there (when usable); `insert
//! indirect` removes it before forwarding, `prefix` takes its `VALUE~` off. Responses:
//! `insert` adds the server's cookie when the client did not send a valid one, `rewrite`
//! replaces the value of the cookie the server sets, `prefix` puts `VALUE~` before it.
//!
//! Both sides edit the head Sluice is about to send (`out`), after it was written, so the
//! request path of a backend without `cookie` is untouched. Not supported yet: `maxidle` and
//! `maxlife` (dates in the cookie value: the value is plain), `dynamic` (servers without a
//! `cookie` value get no persistence).

use crate::backend::server::Server;
use sluice_model::Proxy;

/// How the cookie is managed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Only read: the application sets it.
    Passive,
    Insert,
    Rewrite,
    Prefix,
}

/// A backend's `cookie` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CookieConfig {
    pub name: String,
    pub mode: Mode,
    pub indirect: bool,
    pub nocache: bool,
    pub postonly: bool,
    pub preserve: bool,
    pub httponly: bool,
    pub secure: bool,
    pub domains: Vec<String>,
    pub attrs: Vec<String>,
    /// By server position: its `cookie` value.
    pub values: Vec<Option<String>>,
}

/// What a request's cookie said.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Found {
    /// The server a valid cookie names.
    pub server: Option<usize>,
}

impl CookieConfig {
    /// The backend's `cookie` line, if any.
    pub fn of(proxy: &Proxy, servers: &[Server]) -> Option<CookieConfig> {
        let c = proxy.cookie.as_ref()?;
        let mut cfg = CookieConfig {
            name: c.name.clone(),
            mode: Mode::Passive,
            indirect: false,
            nocache: false,
            postonly: false,
            preserve: false,
            httponly: false,
            secure: false,
            domains: Vec::new(),
            attrs: Vec::new(),
            values: servers.iter().map(|s| s.cookie.clone()).collect(),
        };
        let mut words = c.options.iter();
        while let Some(w) = words.next() {
            match w.as_str() {
                "insert" => cfg.mode = Mode::Insert,
                "rewrite" => cfg.mode = Mode::Rewrite,
                "prefix" => cfg.mode = Mode::Prefix,
                "indirect" => cfg.indirect = true,
                "nocache" => cfg.nocache = true,
                "postonly" => cfg.postonly = true,
                "preserve" => cfg.preserve = true,
                "httponly" => cfg.httponly = true,
                "secure" => cfg.secure = true,
                "domain" => cfg.domains.extend(words.next().cloned()),
                "attr" => cfg.attrs.extend(words.next().cloned()),
                // Their argument is skipped; dates are not encoded (see the module).
                "maxidle" | "maxlife" => {
                    words.next();
                }
                _ => {}
            }
        }
        Some(cfg)
    }

    /// The server whose cookie value is `v`.
    fn server_of(&self, v: &[u8]) -> Option<usize> {
        self.values
            .iter()
            .position(|c| c.as_deref().map(str::as_bytes) == Some(v))
    }

    /// Reads the request cookie in the head about to be sent (`out`) and edits it as the
    /// mode says. Returns the server it names.
    pub fn request(&self, out: &mut Vec<u8>) -> Found {
        let name = self.name.as_bytes();
        let mut found = Found::default();
        for_each_header(out, b"cookie", |value| {
            let mut parts: Vec<&[u8]> = Vec::new();
            let mut changed = false;
            let mut prefixed: Vec<u8> = Vec::new();
            for part in value.split(|&b| b == b';') {
                let p = trim(part);
                let Some((n, v)) = split_pair(p) else {
                    parts.push(p);
                    continue;
                };
                if n != name || found.server.is_some() {
                    parts.push(p);
                    continue;
                }
                match self.mode {
                    Mode::Prefix => {
                        let Some(t) = v.iter().position(|&b| b == b'~') else {
                            parts.push(p);
                            continue;
                        };
                        found.server = self.server_of(v.get(..t).unwrap_or_default());
                        // The application gets its own value back.
                        prefixed.extend_from_slice(n);
                        prefixed.push(b'=');
                        prefixed.extend_from_slice(v.get(t + 1..).unwrap_or_default());
                        changed = true;
                    }
                    _ => {
                        found.server = self.server_of(v);
                        if self.mode == Mode::Insert && self.indirect && found.server.is_some() {
                            changed = true;
                        } else {
                            parts.push(p);
                        }
                    }
                }
            }
            if !changed {
                return None;
            }
            if !prefixed.is_empty() {
                parts.insert(0, &prefixed);
            }
            Some(parts.join(&b"; "[..]))
        });
        found
    }

    /// Edits the response head about to be sent (`out`): the server's own cookie as the
    /// mode says, and the inserted cookie when the client did not have a valid one for
    /// `served`. `post`: the request was a POST (`postonly`).
    pub fn response(&self, out: &mut Vec<u8>, served: usize, had: Found, post: bool) {
        let name = self.name.as_bytes();
        let value = self.values.get(served).and_then(Option::as_deref);
        let mut server_set = false;
        let mode = self.mode;
        let preserve = self.preserve;
        for_each_header(out, b"set-cookie", |v| {
            let first = v.split(|&b| b == b';').next().map(trim).unwrap_or_default();
            let (n, old) = split_pair(first)?;
            if n != name {
                return None;
            }
            server_set = true;
            let rest = v.get(first_end(v)..).unwrap_or_default();
            let mut new = Vec::with_capacity(v.len() + 16);
            new.extend_from_slice(n);
            new.push(b'=');
            match (mode, value) {
                (Mode::Rewrite, Some(val)) => new.extend_from_slice(val.as_bytes()),
                (Mode::Prefix, Some(val)) => {
                    new.extend_from_slice(val.as_bytes());
                    new.push(b'~');
                    new.extend_from_slice(old);
                }
                // Insert mode: the proxy's cookie replaces the server's, unless `preserve`.
                (Mode::Insert, _) if !preserve => return Some(Vec::new()),
                _ => return None,
            }
            new.extend_from_slice(rest);
            Some(new)
        });
        let insert = self.mode == Mode::Insert
            && had.server != Some(served)
            && (!self.postonly || post)
            && !(self.preserve && server_set);
        let Some(value) = value.filter(|_| insert) else {
            return;
        };
        // Before the blank line that ends the head.
        if out.ends_with(b"\r\n\r\n") {
            out.truncate(out.len() - 2);
        }
        out.extend_from_slice(b"set-cookie: ");
        out.extend_from_slice(name);
        out.push(b'=');
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"; path=/");
        for d in &self.domains {
            out.extend_from_slice(b"; domain=");
            out.extend_from_slice(d.as_bytes());
        }
        if self.httponly {
            out.extend_from_slice(b"; HttpOnly");
        }
        if self.secure {
            out.extend_from_slice(b"; Secure");
        }
        for a in &self.attrs {
            out.extend_from_slice(b"; ");
            out.extend_from_slice(a.as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        if self.nocache {
            out.extend_from_slice(b"cache-control: private\r\n");
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// Calls `edit` with the value of every `name` header of the head in `out`; a returned
/// value replaces it (an empty one removes the header line). `out` is rebuilt only when
/// something changed.
fn for_each_header(out: &mut Vec<u8>, name: &[u8], mut edit: impl FnMut(&[u8]) -> Option<Vec<u8>>) {
    let mut rebuilt: Option<Vec<u8>> = None;
    let mut pos = 0;
    let mut copied = 0;
    while pos < out.len() {
        let end = out
            .get(pos..)
            .and_then(|r| r.iter().position(|&b| b == b'\n'))
            .map_or(out.len(), |i| pos + i + 1);
        let line = out.get(pos..end).unwrap_or_default();
        let text = line.strip_suffix(b"\r\n").unwrap_or(line);
        // The start line has no ':' before a space in a name position; headers do.
        if pos > 0 {
            if let Some(colon) = text.iter().position(|&b| b == b':') {
                let n = text.get(..colon).unwrap_or_default();
                if n.eq_ignore_ascii_case(name) {
                    let v = trim(text.get(colon + 1..).unwrap_or_default());
                    if let Some(new) = edit(v) {
                        let r = rebuilt.get_or_insert_with(|| Vec::with_capacity(out.len() + 32));
                        r.extend_from_slice(out.get(copied..pos).unwrap_or_default());
                        if !new.is_empty() {
                            r.extend_from_slice(n);
                            r.extend_from_slice(b": ");
                            r.extend_from_slice(&new);
                            r.extend_from_slice(b"\r\n");
                        }
                        copied = end;
                    }
                }
            }
        }
        pos = end;
    }
    if let Some(mut r) = rebuilt {
        r.extend_from_slice(out.get(copied..).unwrap_or_default());
        *out = r;
    }
}

fn trim(b: &[u8]) -> &[u8] {
    let s = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let e = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(s, |i| i + 1);
    b.get(s..e).unwrap_or_default()
}

fn split_pair(p: &[u8]) -> Option<(&[u8], &[u8])> {
    let eq = p.iter().position(|&b| b == b'=')?;
    Some((trim(p.get(..eq)?), trim(p.get(eq + 1..)?)))
}

/// Where the first `name=value` pair of a Set-Cookie value ends (its attributes follow).
fn first_end(v: &[u8]) -> usize {
    v.iter().position(|&b| b == b';').unwrap_or(v.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(mode: Mode, indirect: bool) -> CookieConfig {
        CookieConfig {
            name: "SRV".into(),
            mode,
            indirect,
            nocache: true,
            postonly: false,
            preserve: false,
            httponly: true,
            secure: false,
            domains: vec![".example.com".into()],
            attrs: Vec::new(),
            values: vec![Some("a".into()), Some("b".into()), None],
        }
    }

    const REQ: &[u8] = b"GET / HTTP/1.1\r\nhost: t\r\nCookie: x=1; SRV=b; y=2\r\n\r\n";

    #[test]
    fn insert_indirect_removes_and_pins() {
        let mut out = REQ.to_vec();
        assert_eq!(
            cfg(Mode::Insert, true).request(&mut out),
            Found { server: Some(1) }
        );
        assert_eq!(
            out,
            b"GET / HTTP/1.1\r\nhost: t\r\nCookie: x=1; y=2\r\n\r\n"
        );
        let mut out = REQ.to_vec();
        assert_eq!(cfg(Mode::Insert, false).request(&mut out).server, Some(1));
        assert_eq!(out, REQ);
        let mut only = b"GET / HTTP/1.1\r\ncookie: SRV=a\r\nx: y\r\n\r\n".to_vec();
        cfg(Mode::Insert, true).request(&mut only);
        assert_eq!(only, b"GET / HTTP/1.1\r\nx: y\r\n\r\n");
        let mut unknown = b"GET / HTTP/1.1\r\ncookie: SRV=zz\r\n\r\n".to_vec();
        assert_eq!(cfg(Mode::Insert, true).request(&mut unknown).server, None);
    }

    #[test]
    fn insert_on_response_when_missing() {
        let head = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        let mut out = head.to_vec();
        cfg(Mode::Insert, true).response(&mut out, 0, Found::default(), false);
        assert_eq!(
            out,
            &b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nset-cookie: SRV=a; path=/; domain=.example.com; HttpOnly\r\ncache-control: private\r\n\r\n"[..]
        );
        let mut out = head.to_vec();
        cfg(Mode::Insert, true).response(&mut out, 0, Found { server: Some(0) }, false);
        assert_eq!(out, head);
        // A server without a value gets none.
        let mut out = head.to_vec();
        cfg(Mode::Insert, true).response(&mut out, 2, Found::default(), false);
        assert_eq!(out, head);
    }

    #[test]
    fn rewrite_and_prefix() {
        let head = b"HTTP/1.1 200 OK\r\nSet-Cookie: SRV=app; Path=/x\r\nSet-Cookie: o=1\r\n\r\n";
        let mut out = head.to_vec();
        cfg(Mode::Rewrite, false).response(&mut out, 1, Found::default(), false);
        assert_eq!(
            out,
            b"HTTP/1.1 200 OK\r\nSet-Cookie: SRV=b; Path=/x\r\nSet-Cookie: o=1\r\n\r\n"
        );
        let mut out = head.to_vec();
        cfg(Mode::Prefix, false).response(&mut out, 0, Found::default(), false);
        assert_eq!(
            out,
            b"HTTP/1.1 200 OK\r\nSet-Cookie: SRV=a~app; Path=/x\r\nSet-Cookie: o=1\r\n\r\n"
        );
        let mut req = b"GET / HTTP/1.1\r\nCookie: SRV=a~app; z=3\r\n\r\n".to_vec();
        assert_eq!(cfg(Mode::Prefix, false).request(&mut req).server, Some(0));
        assert_eq!(req, b"GET / HTTP/1.1\r\nCookie: SRV=app; z=3\r\n\r\n");
    }
}
