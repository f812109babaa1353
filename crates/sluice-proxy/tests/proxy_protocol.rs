//! PROXY protocol end to end: `accept-proxy` (v1, v2, malformed, invalid TLVs), `send-proxy`
//! and `send-proxy-v2` seen by a backend that parses them (with `proxy-v2-options` and
//! `set-proxy-v2-tlv-fmt` TLVs), rules reading received TLVs (`fc_pp_*`), NetScaler CIP
//! (`accept-netscaler-cip`), and server connections that carried one client's header never
//! serving another client.

mod common;

use common::{read_message, request, Backend, Behaviour, Proxy, DEFAULTS};
use sluice_proxy::proxy_protocol::send::fill_crc32c;
use sluice_proxy::proxy_protocol::{parse, write_v2, Parsed};
use std::io::{BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n";

fn sa(s: &str) -> SocketAddr {
    s.parse().expect("address")
}

/// Each header a backend received: (version, source).
type Seen = Arc<Mutex<Vec<(u8, Option<SocketAddr>)>>>;
/// Each header a backend received, as bytes.
type Raw = Arc<Mutex<Vec<Vec<u8>>>>;

/// A backend that expects a PROXY header on each connection, then answers every request
/// with the header's source address as the body. Records each header's (version, source).
struct PpBackend {
    addr: SocketAddr,
    seen: Seen,
    raw: Raw,
}

impl PpBackend {
    fn start() -> PpBackend {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let (s, r) = (seen.clone(), raw.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let (s, r) = (s.clone(), r.clone());
                std::thread::spawn(move || serve(stream, s, r));
            }
        });
        PpBackend { addr, seen, raw }
    }

    fn raw(&self) -> Vec<Vec<u8>> {
        self.raw.lock().map(|v| v.clone()).unwrap_or_default()
    }

    fn seen(&self) -> Vec<(u8, Option<SocketAddr>)> {
        self.seen.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

fn serve(mut stream: TcpStream, seen: Seen, raw: Raw) {
    // Read byte by byte until a header parses: nothing after it may be consumed here.
    let mut head = Vec::new();
    let (version, src) = loop {
        let mut b = [0u8; 1];
        if stream.read_exact(&mut b).is_err() {
            return;
        }
        head.push(b[0]);
        match parse(&head) {
            Parsed::Partial => continue,
            Parsed::Complete { header, .. } => {
                break (header.version, header.inet().map(|(s, _)| s))
            }
            Parsed::Error(_) => return,
        }
    };
    if let Ok(mut v) = seen.lock() {
        v.push((version, src));
    }
    if let Ok(mut v) = raw.lock() {
        v.push(head);
    }
    let Ok(mut w) = stream.try_clone() else {
        return;
    };
    let mut r = BufReader::new(stream);
    while let Some(_req) = read_message(&mut r, false) {
        let body = src.map(|s| s.ip().to_string()).unwrap_or_default();
        let out = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        if w.write_all(out.as_bytes()).is_err() {
            return;
        }
    }
}

fn front(bind_opts: &str, server: &str) -> String {
    format!(
        "{DEFAULTS}    option forwardfor\nfrontend fe\n    bind @FE@ {bind_opts}\n    default_backend be\nbackend be\n    server s1 {server}\n"
    )
}

#[test]
fn accept_proxy_v1_sets_the_client_address() {
    let b = Backend::start("s1", Behaviour::Name);
    let p = Proxy::start(&front("accept-proxy", &b.addr.to_string()));
    let mut c = p.connect();
    c.write_all(b"PROXY TCP4 203.0.113.7 192.0.2.1 5555 80\r\n")
        .expect("write");
    let r = request(&mut c, GET).expect("response");
    assert_eq!(r.status(), 200);
    // Keep-alive goes on after the header.
    assert_eq!(request(&mut c, GET).map(|r| r.status()), Some(200));
    let heads = b.heads.lock().map(|h| h.clone()).unwrap_or_default();
    assert_eq!(heads.len(), 2);
    assert!(
        heads
            .iter()
            .all(|h| h.contains("x-forwarded-for: 203.0.113.7")),
        "{heads:?}"
    );
}

#[test]
fn accept_proxy_v2_sets_the_client_address() {
    let b = Backend::start("s1", Behaviour::Name);
    let p = Proxy::start(&front("accept-proxy", &b.addr.to_string()));
    let mut c = p.connect();
    let mut hdr = Vec::new();
    write_v2(
        &mut hdr,
        Some((sa("[2001:db8::7]:4000"), sa("[2001:db8::1]:80"))),
        false,
        &[(1, b"http/1.1")],
    );
    // The header and the request in one write, as a load balancer in front sends them.
    hdr.extend_from_slice(GET);
    c.write_all(&hdr).expect("write");
    let r =
        read_message(&mut BufReader::new(c.try_clone().expect("clone")), true).expect("response");
    assert_eq!(r.status(), 200);
    let heads = b.heads.lock().map(|h| h.clone()).unwrap_or_default();
    assert!(
        heads
            .iter()
            .any(|h| h.contains("x-forwarded-for: 2001:db8::7")),
        "{heads:?}"
    );
}

#[test]
fn malformed_or_missing_header_closes_the_connection() {
    let b = Backend::start("s1", Behaviour::Name);
    let p = Proxy::start(&front("accept-proxy", &b.addr.to_string()));
    for bad in [
        &b"PROXY TCP4 203.0.113.7 192.0.2.1 5555 99999\r\nGET / HTTP/1.1\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: t\r\n\r\n",
        b"\r\n\r\n\x00\r\nQUIT\n\x31\x11\x00\x0c",
    ] {
        let mut c = p.connect();
        c.write_all(bad).expect("write");
        let mut all = Vec::new();
        let _ = c.read_to_end(&mut all);
        assert!(
            all.is_empty(),
            "answered: {:?}",
            String::from_utf8_lossy(&all)
        );
    }
    assert_eq!(b.requests(), 0);
}

#[test]
fn a_bad_header_ends_the_connection_with_a_close_not_a_reset() {
    let b = Backend::start("s1", Behaviour::Name);
    let p = Proxy::start(&front("accept-proxy", &b.addr.to_string()));
    for _ in 0..20 {
        let mut c = p.connect();
        c.write_all(b"PROXY TCP4 not an address at all\r\n")
            .expect("write");
        c.write_all(GET).expect("write");
        // What the client sent before the close was read: the close is a FIN, and the
        // client reads the end of the stream instead of a reset.
        let mut all = Vec::new();
        let read = c.read_to_end(&mut all);
        assert!(read.is_ok(), "{read:?}");
        assert!(all.is_empty());
    }
    assert_eq!(b.requests(), 0);
}

#[test]
fn header_timeout_closes_the_connection() {
    let b = Backend::start("s1", Behaviour::Name);
    let cfg = front("accept-proxy", &b.addr.to_string())
        .replace("timeout client 10s", "timeout client 300ms");
    let p = Proxy::start(&cfg);
    let mut c = p.connect();
    c.write_all(b"PROXY TCP4 1.2.3.4").expect("write");
    let started = std::time::Instant::now();
    let mut all = Vec::new();
    let _ = c.read_to_end(&mut all);
    assert!(all.is_empty());
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn send_proxy_v1_and_v2_reach_the_server() {
    for (opt, version) in [("send-proxy", 1u8), ("send-proxy-v2", 2)] {
        let b = PpBackend::start();
        let p = Proxy::start(&front("", &format!("{} {opt}", b.addr)));
        let mut c = p.connect();
        let r = request(&mut c, GET).expect("response");
        assert_eq!(r.status(), 200);
        assert_eq!(r.body, b"127.0.0.1");
        assert_eq!(
            b.seen(),
            vec![(version, Some(c.local_addr().expect("addr")))]
        );
    }
}

#[test]
fn accept_proxy_in_send_proxy_v2_out_carries_the_original_client() {
    let b = PpBackend::start();
    let p = Proxy::start(&front("accept-proxy", &format!("{} send-proxy-v2", b.addr)));
    let mut c = p.connect();
    c.write_all(b"PROXY TCP4 198.51.100.9 192.0.2.1 4242 443\r\n")
        .expect("write");
    let r = request(&mut c, GET).expect("response");
    assert_eq!(r.body, b"198.51.100.9");
    assert_eq!(b.seen(), vec![(2, Some(sa("198.51.100.9:4242")))]);
}

#[test]
fn a_connection_with_a_proxy_header_never_serves_another_client() {
    let b = PpBackend::start();
    let p = Proxy::start(&front("accept-proxy", &format!("{} send-proxy", b.addr)));
    let mut clients = Vec::new();
    for (i, ip) in ["198.51.100.1", "198.51.100.2", "198.51.100.3"]
        .iter()
        .enumerate()
    {
        let mut c = p.connect();
        c.write_all(format!("PROXY TCP4 {ip} 192.0.2.1 {} 80\r\n", 1000 + i).as_bytes())
            .expect("write");
        clients.push((c, *ip));
    }
    // Interleaved keep-alive requests: each client always gets its own identity back.
    for _ in 0..3 {
        for (c, ip) in &mut clients {
            let r = request(c, GET).expect("response");
            assert_eq!(r.body, ip.as_bytes());
        }
    }
    assert_eq!(b.seen().len(), 3, "{:?}", b.seen());
}

/// The TLVs of a v2 header, as (type, value).
fn tlvs_of(header: &[u8]) -> Vec<(u8, Vec<u8>)> {
    match parse(header) {
        Parsed::Complete { header, .. } => {
            header.tlvs().map(|t| (t.kind, t.value.to_vec())).collect()
        }
        other => panic!("not a valid header: {other:?}"),
    }
}

#[test]
fn send_proxy_v2_carries_the_unique_id_a_crc32c_and_custom_tlvs() {
    let b = PpBackend::start();
    let server = format!(
        "{} send-proxy-v2 proxy-v2-options unique-id,crc32c set-proxy-v2-tlv-fmt(0xE1) %[req.hdr(in)]-x set-proxy-v2-tlv-fmt(0xE2)",
        b.addr
    );
    let cfg = front("", &server).replace(
        "frontend fe\n",
        "frontend fe\n    unique-id-format TEST-%[req.hdr(in)]\n",
    );
    let p = Proxy::start(&cfg);
    let mut c = p.connect();
    let r = request(&mut c, b"GET / HTTP/1.1\r\nHost: t\r\nin: foo\r\n\r\n").expect("response");
    assert_eq!(r.status(), 200);
    let raw = b.raw();
    assert_eq!(raw.len(), 1);
    // `parse` checks the CRC32C: the header would not parse with a wrong one.
    let tlvs = tlvs_of(&raw[0]);
    let kinds: Vec<u8> = tlvs.iter().map(|(k, _)| *k).collect();
    assert_eq!(kinds, vec![0x03, 0x05, 0xE1, 0xE2], "{tlvs:?}");
    assert_eq!(tlvs[1].1, b"TEST-foo");
    assert_eq!(tlvs[2].1, b"foo-x");
    assert!(tlvs[3].1.is_empty());
    // A flipped byte in the header makes the checksum fail.
    let mut bad = raw[0].clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x20;
    assert!(matches!(parse(&bad), Parsed::Error(_)));
}

/// A v2 header from 203.0.113.5:4000 with `tlvs`, and a valid CRC32C when `crc`.
fn v2_header(tlvs: &[(u8, &[u8])], crc: bool) -> Vec<u8> {
    let mut all: Vec<(u8, &[u8])> = Vec::new();
    if crc {
        all.push((0x03, &[0; 4]));
    }
    all.extend_from_slice(tlvs);
    let mut hdr = Vec::new();
    write_v2(
        &mut hdr,
        Some((sa("203.0.113.5:4000"), sa("192.0.2.1:80"))),
        false,
        &all,
    );
    if crc {
        fill_crc32c(&mut hdr, 0);
    }
    hdr
}

#[test]
fn rules_read_the_tlvs_of_the_received_header() {
    let cfg = format!(
        "{DEFAULTS}frontend fe\n    bind @FE@ accept-proxy\n    http-request return status 200 hdr x-auth \"%[fc_pp_authority]\" hdr x-uid \"%[fc_pp_unique_id]\" hdr x-tlv \"%[fc_pp_tlv(0xE1),hex]\" hdr x-byname \"%[fc_pp_tlv(AUTHORITY)]\" hdr x-src \"%[src]\"\n"
    );
    let p = Proxy::start(&cfg);
    let mut c = p.connect();
    let tlvs: &[(u8, &[u8])] = &[(0x02, b"example.org"), (0x05, b"req-42"), (0xE1, b"a\0b")];
    let mut hdr = v2_header(tlvs, true);
    hdr.extend_from_slice(GET);
    c.write_all(&hdr).expect("write");
    let r =
        read_message(&mut BufReader::new(c.try_clone().expect("clone")), true).expect("response");
    assert_eq!(r.status(), 200);
    assert_eq!(r.header("x-auth"), Some("example.org"));
    assert_eq!(r.header("x-uid"), Some("req-42"));
    // A raw TLV keeps its NUL byte.
    assert_eq!(r.header("x-tlv"), Some("610062"));
    assert_eq!(r.header("x-byname"), Some("example.org"));
    assert_eq!(r.header("x-src"), Some("203.0.113.5"));

    // A NUL in the authority: the text fetch gives nothing rather than a prefix.
    let mut c = p.connect();
    let mut hdr = v2_header(&[(0x02, b"pub\0lic")], false);
    hdr.extend_from_slice(GET);
    c.write_all(&hdr).expect("write");
    let r =
        read_message(&mut BufReader::new(c.try_clone().expect("clone")), true).expect("response");
    assert_eq!(r.header("x-auth").unwrap_or_default(), "");
}

#[test]
fn invalid_tlvs_close_the_connection() {
    let b = Backend::start("s1", Behaviour::Name);
    let p = Proxy::start(&front("accept-proxy", &b.addr.to_string()));
    let long_authority = vec![b'a'; 256];
    let mut bad_crc = v2_header(&[(0xE1, b"x")], true);
    let last = bad_crc.len() - 1;
    bad_crc[last] ^= 1;
    let mut overlong = v2_header(&[(0x02, b"12345")], false);
    // The TLV announces more bytes than the header holds.
    let at = overlong.len() - 6;
    overlong[at] = 0x0A;
    for bad in [
        v2_header(&[(0x02, &long_authority)], false),
        v2_header(&[(0x05, &[b'u'; 129])], false),
        bad_crc,
        overlong,
    ] {
        let mut c = p.connect();
        let mut all = bad.clone();
        all.extend_from_slice(GET);
        c.write_all(&all).expect("write");
        let mut got = Vec::new();
        let _ = c.read_to_end(&mut got);
        assert!(
            got.is_empty(),
            "answered: {:?}",
            String::from_utf8_lossy(&got)
        );
    }
    assert_eq!(b.requests(), 0);
}

/// A NetScaler CIP header (standard format) from 192.168.0.1:1234 to 10.0.0.2:81.
fn cip_header(magic: u32) -> Vec<u8> {
    let mut h = magic.to_be_bytes().to_vec();
    h.extend_from_slice(&[0, 0, 0, 0x2c, 0, 0, 0, 0x28]);
    h.extend_from_slice(&[0x45, 0, 0, 0x28, 0, 1, 0, 0, 0x40, 6, 0, 0]);
    h.extend_from_slice(&[192, 168, 0, 1, 10, 0, 0, 2]);
    h.extend_from_slice(&[0x04, 0xd2, 0, 0x51]);
    h.extend_from_slice(&[0; 16]);
    h
}

#[test]
fn netscaler_cip_sets_the_forwarded_client_address() {
    let b = Backend::start("s1", Behaviour::Name);
    let p = Proxy::start(&front(
        "accept-netscaler-cip 305419896",
        &b.addr.to_string(),
    ));
    let mut c = p.connect();
    let mut first = cip_header(0x1234_5678);
    first.extend_from_slice(GET);
    c.write_all(&first).expect("write");
    let r =
        read_message(&mut BufReader::new(c.try_clone().expect("clone")), true).expect("response");
    assert_eq!(r.status(), 200);
    let heads = b.heads.lock().map(|h| h.clone()).unwrap_or_default();
    assert!(
        heads
            .iter()
            .any(|h| h.contains("x-forwarded-for: 192.168.0.1")),
        "{heads:?}"
    );
    // A wrong magic number, or no header at all: closed without an answer.
    for bad in [cip_header(0xdead_beef), GET.to_vec()] {
        let mut c = p.connect();
        c.write_all(&bad).expect("write");
        let mut got = Vec::new();
        let _ = c.read_to_end(&mut got);
        assert!(
            got.is_empty(),
            "answered: {:?}",
            String::from_utf8_lossy(&got)
        );
    }
    assert_eq!(b.requests(), 1);
}

/// A CA in `dir` (`ca.pem`), a server certificate for `pp.test` it signed (`server.pem`,
/// certificate and key), and a client certificate whose common name is `client-7`.
fn tls_files(
    dir: &std::path::Path,
) -> (
    rustls::pki_types::CertificateDer<'static>,
    Vec<rustls::pki_types::CertificateDer<'static>>,
    rustls::pki_types::PrivateKeyDer<'static>,
) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("key")).expect("ca");
    std::fs::write(dir.join("ca.pem"), ca.pem()).expect("write ca");
    let key = KeyPair::generate().expect("key");
    let server = CertificateParams::new(vec!["pp.test".to_string()])
        .expect("params")
        .signed_by(&key, &ca)
        .expect("server");
    let pem = format!("{}{}", server.pem(), key.serialize_pem());
    std::fs::write(dir.join("server.pem"), pem).expect("write server");
    let client_key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params
        .distinguished_name
        .push(DnType::CommonName, "client-7");
    let client = params.signed_by(&client_key, &ca).expect("client");
    let key_der =
        rustls::pki_types::PrivateKeyDer::try_from(client_key.serialize_der()).expect("der");
    (
        ca.der().clone(),
        vec![client.der().clone(), ca.der().clone()],
        key_der,
    )
}

#[test]
fn the_ssl_tlv_says_the_version_cipher_and_client_common_name() {
    use rustls::pki_types::ServerName;
    use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
    let dir = tempfile::tempdir().expect("tempdir");
    let (ca, chain, key) = tls_files(dir.path());
    let b = PpBackend::start();
    let d = dir.path().display();
    let cfg = front(
        &format!("ssl crt {d}/server.pem ca-file {d}/ca.pem verify required"),
        &format!(
            "{} send-proxy-v2 proxy-v2-options ssl,ssl-cipher,cert-cn,authority",
            b.addr
        ),
    );
    let p = Proxy::start(&cfg);
    let mut roots = RootCertStore::empty();
    roots.add(ca).expect("root");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .expect("client certificate");
    let name = ServerName::try_from("pp.test").expect("name");
    let conn = ClientConnection::new(Arc::new(config), name).expect("client");
    let mut s = StreamOwned::new(conn, p.connect());
    s.write_all(GET).expect("send");
    let r = read_message(&mut BufReader::new(&mut s), true).expect("response");
    assert_eq!(r.status(), 200);
    let raw = b.raw();
    assert_eq!(raw.len(), 1);
    let tlvs = tlvs_of(&raw[0]);
    let authority = tlvs
        .iter()
        .find(|(k, _)| *k == 0x02)
        .map(|(_, v)| v.clone());
    assert_eq!(authority.as_deref(), Some(&b"pp.test"[..]));
    let ssl = tlvs
        .iter()
        .find(|(k, _)| *k == 0x20)
        .map(|(_, v)| v.clone())
        .expect("an SSL TLV");
    // TLS, a certificate on the connection and in the session; verified (0).
    assert_eq!(&ssl[..5], &[0x07, 0, 0, 0, 0]);
    let parsed = sluice_proxy::proxy_protocol::v2::Ssl::parse(&ssl).expect("ssl");
    assert_eq!(parsed.get(0x21), Some(&b"TLSv1.3"[..]));
    assert_eq!(parsed.get(0x22), Some(&b"client-7"[..]));
    let cipher = parsed
        .get(0x23)
        .map(|c| String::from_utf8_lossy(c).into_owned());
    assert!(
        cipher.as_deref().is_some_and(|c| c.starts_with("TLS_")),
        "{cipher:?}"
    );
}
