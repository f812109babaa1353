//! TLS settings shared by listeners and servers: protocol versions, ALPN lists, the global
//! `ssl-default-*-options`, and paths under `crt-base`/`ca-base`.

use rustls::SupportedProtocolVersion;
use sluice_model::Model;
use std::path::PathBuf;

/// `path` under `base` unless absolute, as HAProxy resolves `crt` and `ca-file`.
pub fn based(base: Option<&str>, path: &str) -> PathBuf {
    match base {
        Some(base) if !path.starts_with('/') && !base.is_empty() => {
            PathBuf::from(format!("{}/{path}", base.trim_end_matches('/')))
        }
        _ => PathBuf::from(path),
    }
}

/// The words of the global `name` lines (`ssl-default-bind-options`...), as option pairs.
pub fn global_defaults(model: &Model, name: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    for stmt in model.global.other.iter().filter(|s| s.keyword() == name) {
        let mut words = stmt.words.iter().skip(1).map(|w| w.text.clone());
        while let Some(w) = words.next() {
            let value = matches!(w.as_str(), "ssl-min-ver" | "ssl-max-ver")
                .then(|| words.next())
                .flatten();
            out.push((w, value));
        }
    }
    out
}

/// Protocol versions by HAProxy's order: SSLv3, TLSv1.0, 1.1, 1.2, 1.3.
fn rank(name: &str) -> Option<u8> {
    match name.to_ascii_uppercase().as_str() {
        "SSLV3" => Some(0),
        "TLSV1.0" => Some(1),
        "TLSV1.1" => Some(2),
        "TLSV1.2" => Some(3),
        "TLSV1.3" => Some(4),
        _ => None,
    }
}

/// The TLS versions a line enables; rustls offers 1.2 and 1.3 only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Versions {
    pub tls12: bool,
    pub tls13: bool,
}

impl Versions {
    /// Applies `ssl-min-ver`, `ssl-max-ver`, `no-tlsv1x` and `force-tlsv1x` in order.
    /// Asking for SSLv3, TLS 1.0 or 1.1 only leaves 1.2 and 1.3 out of reach: an error when
    /// nothing is left.
    pub fn from_words(words: &[(String, Option<String>)]) -> Result<Versions, String> {
        let (mut min, mut max) = (0u8, 4u8);
        let mut no = [false; 5];
        for (n, v) in words {
            let version = |v: &Option<String>| {
                let v = v.as_deref().unwrap_or("");
                rank(v).ok_or_else(|| {
                    format!("'{n}' expects SSLv3, TLSv1.0, TLSv1.1, TLSv1.2 or TLSv1.3, got '{v}'")
                })
            };
            match n.as_str() {
                "ssl-min-ver" => min = version(v)?,
                "ssl-max-ver" => max = version(v)?,
                _ => {
                    let (forced, name) = match (n.strip_prefix("no-"), n.strip_prefix("force-")) {
                        (Some(x), _) => (false, x),
                        (_, Some(x)) => (true, x),
                        _ => continue,
                    };
                    let Some(r) = rank(&name.replace("tlsv1", "tlsv1.")).or_else(|| rank(name))
                    else {
                        continue;
                    };
                    if forced {
                        (min, max) = (r, r);
                    } else if let Some(slot) = no.get_mut(usize::from(r)) {
                        *slot = true;
                    }
                }
            }
        }
        let on = |r: u8| min <= r && r <= max && !no.get(usize::from(r)).copied().unwrap_or(true);
        let v = Versions {
            tls12: on(3),
            tls13: on(4),
        };
        if !v.tls12 && !v.tls13 {
            return Err("no TLS version left: Sluice speaks TLS 1.2 and 1.3 only".into());
        }
        Ok(v)
    }

    pub fn list(self) -> &'static [&'static SupportedProtocolVersion] {
        static BOTH: &[&SupportedProtocolVersion] =
            &[&rustls::version::TLS13, &rustls::version::TLS12];
        static V12: &[&SupportedProtocolVersion] = &[&rustls::version::TLS12];
        static V13: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13];
        match (self.tls12, self.tls13) {
            (true, true) => BOTH,
            (true, false) => V12,
            _ => V13,
        }
    }
}

/// An `alpn` list (`h2,http/1.1`) as wire protocol names. `http`: the data plane speaks
/// HTTP/1.x to this side, so `h2` (and `h3`) are not offered: a client would then speak
/// a protocol Sluice cannot parse.
pub fn alpn(list: &str, http: bool) -> Vec<Vec<u8>> {
    alpn_without(list, http, &["h2", "h3"])
}

/// The `alpn` list of a bind line: HTTP frontends speak HTTP/2 to clients ([`crate::h2`]),
/// not HTTP/3 (QUIC only).
pub fn alpn_bind(list: &str, http: bool) -> Vec<Vec<u8>> {
    alpn_without(list, http, &["h3"])
}

fn alpn_without(list: &str, http: bool, unspoken: &[&str]) -> Vec<Vec<u8>> {
    list.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .filter(|p| !(http && unspoken.contains(p)))
        .map(|p| p.as_bytes().to_vec())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(list: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.map(str::to_string)))
            .collect()
    }

    #[test]
    fn versions() {
        let v = |l: &[(&str, Option<&str>)]| Versions::from_words(&w(l));
        assert_eq!(
            v(&[]),
            Ok(Versions {
                tls12: true,
                tls13: true
            })
        );
        assert_eq!(
            v(&[("ssl-min-ver", Some("TLSv1.3"))]),
            Ok(Versions {
                tls12: false,
                tls13: true
            })
        );
        assert_eq!(
            v(&[("no-tlsv13", None), ("no-tlsv10", None)]),
            Ok(Versions {
                tls12: true,
                tls13: false
            })
        );
        assert_eq!(
            v(&[("force-tlsv12", None)]),
            Ok(Versions {
                tls12: true,
                tls13: false
            })
        );
        assert!(v(&[("ssl-max-ver", Some("TLSv1.1"))]).is_err());
        assert!(v(&[("ssl-min-ver", Some("TLS2"))]).is_err());
    }

    #[test]
    fn alpn_drops_h2_in_http() {
        assert_eq!(alpn("h2,http/1.1", true), vec![b"http/1.1".to_vec()]);
        assert_eq!(alpn("h2,http/1.1", false).len(), 2);
    }

    #[test]
    fn bind_alpn_keeps_h2_in_http() {
        assert_eq!(
            alpn_bind("h3,h2,http/1.1", true),
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        );
    }
}
