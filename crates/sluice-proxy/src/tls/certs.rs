//! Certificates and keys from PEM files (`crt`, `ca-file`), and the names a certificate
//! serves (its SAN DNS names and subject CN), read at start, never per connection.

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use rustls::RootCertStore;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One loaded certificate: chain, key, and the lower-case names it answers SNI for.
#[derive(Debug)]
pub struct Loaded {
    pub key: Arc<CertifiedKey>,
    pub names: Vec<String>,
    pub path: PathBuf,
}

/// Extensions HAProxy treats as companions of a certificate, not certificates, when it
/// loads a directory.
const COMPANIONS: &[&str] = &["key", "ocsp", "issuer", "sctl"];

/// Loads `path`: one PEM file, or every PEM of a directory in name order (as HAProxy).
pub fn load_crt(path: &Path, provider: &CryptoProvider) -> Result<Vec<Loaded>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("'{}': {e}", path.display()))?;
    if !meta.is_dir() {
        return Ok(vec![load_file(path, provider)?]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| format!("'{}': {e}", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter(|p| {
            let hidden = p
                .file_name()
                .and_then(|n| n.to_str())
                .map_or(true, |n| n.starts_with('.'));
            let companion = p
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| COMPANIONS.contains(&e));
            !hidden && !companion
        })
        .collect();
    files.sort();
    let mut out = Vec::with_capacity(files.len());
    for f in files {
        out.push(load_file(&f, provider)?);
    }
    if out.is_empty() {
        return Err(format!(
            "'{}': the directory holds no certificate",
            path.display()
        ));
    }
    Ok(out)
}

/// A PEM file with the chain and, in the same file or in `<file>.key`, the private key.
pub fn load_file(path: &Path, provider: &CryptoProvider) -> Result<Loaded, String> {
    let shown = path.display();
    let pem = std::fs::read(path).map_err(|e| format!("'{shown}': {e}"))?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("'{shown}': unreadable PEM certificate ({e})"))?;
    if chain.is_empty() {
        return Err(format!("'{shown}': no certificate in the file"));
    }
    let key = match PrivateKeyDer::from_pem_slice(&pem) {
        Ok(k) => k,
        Err(_) => {
            let side = key_file(path).ok_or_else(|| {
                format!("'{shown}': no private key in the file nor in '{shown}.key'")
            })?;
            let text = std::fs::read(&side).map_err(|e| format!("'{}': {e}", side.display()))?;
            PrivateKeyDer::from_pem_slice(&text)
                .map_err(|e| format!("'{}': unreadable private key ({e})", side.display()))?
        }
    };
    let signer = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| format!("'{shown}': unsupported private key ({e})"))?;
    let certified = CertifiedKey::new(chain, signer);
    certified
        .keys_match()
        .map_err(|e| format!("'{shown}': the private key does not match the certificate ({e})"))?;
    let names = certified.cert.first().map(|c| names(c)).unwrap_or_default();
    Ok(Loaded {
        key: Arc::new(certified),
        names,
        path: path.to_path_buf(),
    })
}

/// `<file>.key`, else the file with its extension replaced by `.key`, whichever exists.
fn key_file(path: &Path) -> Option<PathBuf> {
    let mut appended = path.as_os_str().to_owned();
    appended.push(".key");
    let appended = PathBuf::from(appended);
    if appended.is_file() {
        return Some(appended);
    }
    let replaced = path.with_extension("key");
    (replaced != path && replaced.is_file()).then_some(replaced)
}

/// The trusted certificates of a `ca-file`.
pub fn load_roots(path: &Path) -> Result<RootCertStore, String> {
    let shown = path.display();
    let pem = std::fs::read(path).map_err(|e| format!("'{shown}': {e}"))?;
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(&pem) {
        let c = c.map_err(|e| format!("'{shown}': unreadable PEM certificate ({e})"))?;
        roots
            .add(c)
            .map_err(|e| format!("'{shown}': unusable CA certificate ({e})"))?;
    }
    if roots.is_empty() {
        return Err(format!("'{shown}': no certificate in the file"));
    }
    Ok(roots)
}

/// The SAN DNS names and the subject CN of a certificate, lower-cased, SAN first.
pub fn names(cert: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let _ = collect_names(cert, &mut out);
    let mut seen = std::collections::HashSet::new();
    out.retain(|n| seen.insert(n.clone()));
    out
}

const OID_SAN: &[u8] = &[0x55, 0x1d, 0x11];
const OID_CN: &[u8] = &[0x55, 0x04, 0x03];

fn collect_names(cert: &[u8], out: &mut Vec<String>) -> Option<()> {
    let (_, cert, _) = tlv(cert)?;
    let (_, mut tbs, _) = tlv(cert)?;
    let mut peek = tlv(tbs)?;
    if peek.0 == 0xa0 {
        tbs = peek.2; // explicit version
        peek = tlv(tbs)?;
    }
    // serialNumber, signature, issuer, validity, then subject.
    let mut rest = peek.2;
    for _ in 0..3 {
        rest = tlv(rest)?.2;
    }
    let (_, subject, mut rest) = tlv(rest)?;
    let mut cn = Vec::new();
    let mut rdns = subject;
    while let Some((_, set, next)) = tlv(rdns) {
        rdns = next;
        let mut atvs = set;
        while let Some((_, atv, after)) = tlv(atvs) {
            atvs = after;
            let (_, oid, value) = tlv(atv)?;
            if oid == OID_CN {
                if let Some(name) = tlv(value).and_then(|(_, v, _)| text(v)) {
                    cn.push(name);
                }
            }
        }
    }
    rest = tlv(rest)?.2; // subjectPublicKeyInfo
    while let Some((tag, body, next)) = tlv(rest) {
        rest = next;
        if tag != 0xa3 {
            continue;
        }
        let (_, mut exts, _) = tlv(body)?;
        while let Some((_, ext, after)) = tlv(exts) {
            exts = after;
            let (_, oid, mut fields) = tlv(ext)?;
            if oid != OID_SAN {
                continue;
            }
            let (mut tag, mut value, mut tail) = tlv(fields)?;
            if tag == 0x01 {
                fields = tail; // critical
                (tag, value, tail) = tlv(fields)?;
            }
            let _ = (tag, tail);
            let (_, mut general, _) = tlv(value)?;
            while let Some((gtag, gname, gnext)) = tlv(general) {
                general = gnext;
                if gtag == 0x82 {
                    if let Some(n) = text(gname) {
                        out.push(n);
                    }
                }
            }
        }
    }
    out.extend(cn);
    Some(())
}

fn text(bytes: &[u8]) -> Option<String> {
    std::str::from_utf8(bytes)
        .ok()
        .filter(|s| !s.is_empty())
        .map(|s| s.to_ascii_lowercase())
}

/// One DER tag-length-value: (tag, value, what follows).
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let (bytes, after) = (rest.get(..n)?, rest.get(n..)?);
        rest = after;
        bytes.iter().fold(0usize, |a, b| (a << 8) | usize::from(*b))
    };
    Some((tag, rest.get(..len)?, rest.get(len..)?))
}
