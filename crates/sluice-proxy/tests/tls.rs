//! TLS termination on `bind ... ssl crt`: certificates made here with rcgen, a rustls client
//! that trusts them, plaintext backends behind.

mod common;

use common::{read_message, Backend, Behaviour, Proxy, DEFAULTS};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;

/// A self-signed certificate for `names`, written as one PEM (chain + key) in `dir`.
fn cert(dir: &Path, file: &str, names: &[&str]) -> CertificateDer<'static> {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let ck = rcgen::generate_simple_self_signed(names).expect("rcgen");
    let pem = format!("{}{}", ck.cert.pem(), ck.signing_key.serialize_pem());
    std::fs::write(dir.join(file), pem).expect("write pem");
    ck.cert.der().clone()
}

fn client(roots: &[&CertificateDer<'static>], alpn: &[&[u8]]) -> Arc<ClientConfig> {
    let mut store = RootCertStore::empty();
    for r in roots {
        store.add((*r).clone()).expect("root");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut c = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(store)
        .with_no_client_auth();
    c.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(c)
}

type Tls = StreamOwned<ClientConnection, TcpStream>;

fn connect(proxy: &Proxy, config: &Arc<ClientConfig>, sni: &str) -> Tls {
    let name = ServerName::try_from(sni.to_string()).expect("name");
    let conn = ClientConnection::new(config.clone(), name).expect("client");
    let mut s = StreamOwned::new(conn, proxy.connect());
    while s.conn.is_handshaking() {
        s.conn.complete_io(&mut s.sock).expect("handshake");
    }
    s
}

fn get(s: &mut Tls, host: &str) -> (u16, String) {
    let req = format!("GET / HTTP/1.1\r\nhost: {host}\r\n\r\n");
    s.write_all(req.as_bytes()).expect("send");
    let m = read_message(&mut BufReader::new(s), true).expect("response");
    (m.status(), String::from_utf8_lossy(&m.body).into_owned())
}

fn config(dir: &Path, binds: &str, a: &Backend, b: &Backend) -> String {
    format!(
        "{DEFAULTS}frontend fe\n    bind @FE@ {binds}\n    use_backend be_b if {{ ssl_fc_sni b.test }}\n    \
         http-request deny if !{{ ssl_fc }}\n    default_backend be_a\n\
         backend be_a\n    server a {}\nbackend be_b\n    server b {}\n",
        a.addr, b.addr
    )
    .replace("@DIR@", &dir.display().to_string())
}

#[test]
fn terminates_and_picks_the_certificate_by_sni() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = cert(dir.path(), "a.pem", &["a.test"]);
    let cb = cert(dir.path(), "b.pem", &["b.test", "*.wild.test"]);
    let (a, b) = (
        Backend::start("A", Behaviour::Name),
        Backend::start("B", Behaviour::Name),
    );
    let text = config(
        dir.path(),
        "ssl crt @DIR@/a.pem crt @DIR@/b.pem alpn h2,http/1.1",
        &a,
        &b,
    );
    let proxy = Proxy::start(&text);
    // h2 is offered too, and chosen by clients that offer it (crates/sluice/tests/http2.rs).
    let h2 = connect(&proxy, &client(&[&ca], &[b"h2", b"http/1.1"]), "a.test");
    assert_eq!(h2.conn.alpn_protocol(), Some(&b"h2"[..]));
    let cfg = client(&[&ca, &cb], &[b"http/1.1"]);

    let mut s = connect(&proxy, &cfg, "a.test");
    assert_eq!(s.conn.peer_certificates().expect("certs")[0], ca);
    assert_eq!(s.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
    assert_eq!(get(&mut s, "a.test"), (200, "A".to_string()));
    // Keep-alive over TLS.
    assert_eq!(get(&mut s, "a.test"), (200, "A".to_string()));

    let mut s = connect(&proxy, &cfg, "b.test");
    assert_eq!(s.conn.peer_certificates().expect("certs")[0], cb);
    assert_eq!(get(&mut s, "b.test"), (200, "B".to_string()));

    // A wildcard name.
    let s = connect(&proxy, &cfg, "x.wild.test");
    assert_eq!(s.conn.peer_certificates().expect("certs")[0], cb);
}

#[test]
fn loads_a_directory_and_falls_back_to_the_first_certificate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let certs = dir.path().join("certs");
    std::fs::create_dir(&certs).expect("mkdir");
    let c1 = cert(&certs, "1.pem", &["one.test"]);
    let c2 = cert(&certs, "2.pem", &["two.test"]);
    let (a, b) = (
        Backend::start("A", Behaviour::Name),
        Backend::start("B", Behaviour::Name),
    );
    let text = config(dir.path(), "ssl crt @DIR@/certs", &a, &b);
    let proxy = Proxy::start(&text);
    let cfg = client(&[&c1, &c2], &[]);
    let mut s = connect(&proxy, &cfg, "two.test");
    assert_eq!(s.conn.peer_certificates().expect("certs")[0], c2);
    assert_eq!(s.conn.alpn_protocol(), None);
    assert_eq!(get(&mut s, "two.test"), (200, "A".to_string()));

    // An unknown name gets the first (default) certificate, which the client rejects.
    let name = ServerName::try_from("other.test").expect("name");
    let conn = ClientConnection::new(cfg.clone(), name).expect("client");
    let mut s = StreamOwned::new(conn, proxy.connect());
    let mut failed = false;
    while s.conn.is_handshaking() {
        if s.conn.complete_io(&mut s.sock).is_err() {
            failed = true;
            break;
        }
    }
    assert!(failed, "the default certificate does not name other.test");
}

#[test]
fn strict_sni_refuses_unknown_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = cert(dir.path(), "a.pem", &["a.test"]);
    let (a, b) = (
        Backend::start("A", Behaviour::Name),
        Backend::start("B", Behaviour::Name),
    );
    let text = config(dir.path(), "ssl crt @DIR@/a.pem strict-sni", &a, &b);
    let proxy = Proxy::start(&text);
    // The client trusts the certificate for any name it asks: only strict-sni can fail.
    let cfg = client(&[&ca], &[]);
    let name = ServerName::try_from("nope.test").expect("name");
    let conn = ClientConnection::new(cfg, name).expect("client");
    let mut s = StreamOwned::new(conn, proxy.connect());
    let mut result = Ok(());
    while s.conn.is_handshaking() && result.is_ok() {
        result = s.conn.complete_io(&mut s.sock).map(|_| ());
    }
    let err = result.expect_err("handshake fails");
    assert!(
        err.to_string().contains("AlertReceived") || err.to_string().contains("alert"),
        "{err}"
    );
}

#[test]
fn plaintext_on_a_tls_port_is_closed() {
    let dir = tempfile::tempdir().expect("tempdir");
    cert(dir.path(), "a.pem", &["a.test"]);
    let (a, b) = (
        Backend::start("A", Behaviour::Name),
        Backend::start("B", Behaviour::Name),
    );
    let proxy = Proxy::start(&config(dir.path(), "ssl crt @DIR@/a.pem", &a, &b));
    let mut s = proxy.connect();
    s.write_all(b"GET / HTTP/1.1\r\nhost: a\r\n\r\n")
        .expect("send");
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    assert!(
        !got.starts_with(b"HTTP/"),
        "got {:?}",
        String::from_utf8_lossy(&got)
    );
    assert_eq!(a.requests(), 0);
}

#[test]
fn bad_certificate_file_fails_the_start() {
    use sluice_config::{read_str, ReadOptions};
    use sluice_model::{build, BuildOptions};
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("bad.pem"), "not a pem").expect("write");
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:1 ssl crt {}/bad.pem\n    default_backend be\n\
         backend be\n    server a 127.0.0.1:1\n",
        dir.path().display()
    );
    let (tree, _) = read_str("t.cfg", &text, &ReadOptions::default());
    let (model, _) = build(&tree, &BuildOptions::default());
    let err =
        sluice_proxy::Worker::prepare(Arc::new(model), &sluice_rules::CompileOptions::default())
            .err()
            .expect("prepare fails");
    assert!(err.to_string().contains("bad.pem"), "{err}");
}

// ------------------------------------------------------------------------------------------
// TLS to servers (`server ... ssl`): rustls backends made here, with their own CA.

use rustls::{ServerConfig, ServerConnection};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// A CA, and a certificate for `names` it signed, written as `ca.pem` and `<file>` in `dir`.
fn ca_and_leaf(
    dir: &Path,
    file: &str,
    names: &[&str],
) -> (
    Vec<CertificateDer<'static>>,
    rustls::pki_types::PrivateKeyDer<'static>,
) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("key")).expect("ca");
    std::fs::write(dir.join(format!("{file}.ca.pem")), ca.pem()).expect("write ca");
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let key = KeyPair::generate().expect("key");
    let leaf = CertificateParams::new(names)
        .expect("params")
        .signed_by(&key, &ca)
        .expect("leaf");
    std::fs::write(dir.join(file), leaf.pem()).expect("write leaf");
    let der = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).expect("key der");
    (vec![leaf.der().clone(), ca.der().clone()], der)
}

fn self_signed(
    names: &[&str],
) -> (
    Vec<CertificateDer<'static>>,
    rustls::pki_types::PrivateKeyDer<'static>,
) {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let ck = rcgen::generate_simple_self_signed(names).expect("rcgen");
    let der =
        rustls::pki_types::PrivateKeyDer::try_from(ck.signing_key.serialize_der()).expect("der");
    (vec![ck.cert.der().clone()], der)
}

/// A TLS backend: answers each HTTP request with the SNI it got (`-` without), or in
/// `echo` mode copies bytes back. Records the ALPN and counts handshakes and requests.
struct TlsBackend {
    addr: std::net::SocketAddr,
    handshakes: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
    alpn: Arc<Mutex<Vec<Option<Vec<u8>>>>>,
}

impl TlsBackend {
    fn start(
        chain: Vec<CertificateDer<'static>>,
        key: rustls::pki_types::PrivateKeyDer<'static>,
        echo: bool,
    ) -> TlsBackend {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("cert");
        config.alpn_protocols = vec![b"http/1.1".to_vec(), b"h2".to_vec()];
        let config = Arc::new(config);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let handshakes = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let alpn = Arc::new(Mutex::new(Vec::new()));
        let (h, r, a) = (handshakes.clone(), requests.clone(), alpn.clone());
        std::thread::spawn(move || {
            for s in listener.incoming() {
                let Ok(s) = s else { return };
                let (config, h, r, a) = (config.clone(), h.clone(), r.clone(), a.clone());
                std::thread::spawn(move || {
                    let conn = ServerConnection::new(config).expect("conn");
                    let mut tls = StreamOwned::new(conn, s);
                    while tls.conn.is_handshaking() {
                        if tls.conn.complete_io(&mut tls.sock).is_err() {
                            return;
                        }
                    }
                    h.fetch_add(1, Ordering::SeqCst);
                    a.lock()
                        .expect("lock")
                        .push(tls.conn.alpn_protocol().map(<[u8]>::to_vec));
                    let sni = tls.conn.server_name().unwrap_or("-").to_string();
                    if echo {
                        let mut buf = [0u8; 4096];
                        while let Ok(n) = tls.read(&mut buf) {
                            if n == 0 || tls.write_all(&buf[..n]).is_err() {
                                return;
                            }
                        }
                        return;
                    }
                    loop {
                        let mut r2 = BufReader::new(&mut tls);
                        let Some(_req) = read_message(&mut r2, false) else {
                            return;
                        };
                        drop(r2);
                        r.fetch_add(1, Ordering::SeqCst);
                        let out = format!(
                            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{sni}",
                            sni.len()
                        );
                        if tls.write_all(out.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        TlsBackend {
            addr,
            handshakes,
            requests,
            alpn,
        }
    }
}

fn http_proxy(server: &str) -> Proxy {
    Proxy::start(&format!(
        "{DEFAULTS}frontend fe\n    bind @FE@\n    default_backend be\n\
         backend be\n    server s {server}\n"
    ))
}

fn plain_get(proxy: &Proxy, host: &str) -> (u16, String) {
    let mut s = proxy.connect();
    let m = common::request(
        &mut s,
        format!("GET / HTTP/1.1\r\nhost: {host}\r\n\r\n").as_bytes(),
    )
    .expect("response");
    (m.status(), String::from_utf8_lossy(&m.body).into_owned())
}

#[test]
fn server_tls_verified_with_sni_and_reused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (chain, key) = ca_and_leaf(dir.path(), "be.pem", &["backend.test"]);
    let be = TlsBackend::start(chain, key, false);
    let proxy = http_proxy(&format!(
        "{} ssl verify required ca-file {}/be.pem.ca.pem sni str(backend.test) alpn h2,http/1.1",
        be.addr,
        dir.path().display()
    ));
    let mut s = proxy.connect();
    for _ in 0..3 {
        let m = common::request(&mut s, b"GET / HTTP/1.1\r\nhost: x\r\n\r\n").expect("response");
        assert_eq!(m.status(), 200);
        // The backend saw the SNI.
        assert_eq!(m.body, b"backend.test");
    }
    assert_eq!(be.requests.load(Ordering::SeqCst), 3);
    // Keep-alive: one TLS connection for the three requests.
    assert_eq!(be.handshakes.load(Ordering::SeqCst), 1);
    // h2 is not offered to servers in HTTP mode.
    assert_eq!(
        be.alpn.lock().expect("lock").as_slice(),
        &[Some(b"http/1.1".to_vec())]
    );
}

#[test]
fn server_tls_sni_from_the_host_header_and_no_name_without_sni() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (chain, key) = ca_and_leaf(dir.path(), "be.pem", &["a.test", "b.test"]);
    let be = TlsBackend::start(chain, key, false);
    let ca = format!("{}/be.pem.ca.pem", dir.path().display());
    let proxy = http_proxy(&format!("{} ssl ca-file {ca} sni req.hdr(host)", be.addr));
    assert_eq!(plain_get(&proxy, "a.test:8080"), (200, "a.test".into()));
    assert_eq!(plain_get(&proxy, "b.test"), (200, "b.test".into()));
    // A name the certificate does not carry fails verification.
    assert_eq!(plain_get(&proxy, "c.test").0, 503);
    drop(proxy);
    // Without SNI (nor verifyhost) HAProxy checks the chain only, not the names.
    let proxy = http_proxy(&format!("{} ssl verify required ca-file {ca}", be.addr));
    assert_eq!(plain_get(&proxy, "x"), (200, "-".into()));
}

#[test]
fn server_tls_wrong_ca_is_a_503_and_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (chain, key) = ca_and_leaf(dir.path(), "be.pem", &["backend.test"]);
    ca_and_leaf(dir.path(), "other.pem", &["backend.test"]);
    let be = TlsBackend::start(chain, key, false);
    let proxy = http_proxy(&format!(
        "{} ssl verify required ca-file {}/other.pem.ca.pem sni str(backend.test)",
        be.addr,
        dir.path().display()
    ));
    assert_eq!(plain_get(&proxy, "x").0, 503);
    assert_eq!(be.requests.load(Ordering::SeqCst), 0);
    let totals = proxy.worker.as_ref().expect("worker").totals();
    // The first attempt and the 3 retries.
    assert_eq!(
        totals.sum(sluice_proxy::counters::Counter::ServerTlsErrors),
        4
    );
    assert_eq!(
        totals.sum(sluice_proxy::counters::Counter::ConnectErrors),
        4
    );
}

#[test]
fn server_tls_verify_none_accepts_a_self_signed_certificate() {
    let (chain, key) = self_signed(&["elsewhere.test"]);
    let be = TlsBackend::start(chain, key, false);
    let proxy = http_proxy(&format!("{} ssl verify none", be.addr));
    assert_eq!(plain_get(&proxy, "x"), (200, "-".into()));
    // `ssl-server-verify none` in the global section does the same.
    drop(proxy);
    let proxy = Proxy::start(&format!(
        "global\n    ssl-server-verify none\n{DEFAULTS}frontend fe\n    bind @FE@\n    \
         default_backend be\nbackend be\n    server s {} ssl sni str(any.test)\n",
        be.addr
    ));
    assert_eq!(plain_get(&proxy, "x"), (200, "any.test".into()));
}

#[test]
fn server_tls_in_tcp_mode_relays_bytes() {
    let (chain, key) = self_signed(&["echo.test"]);
    let be = TlsBackend::start(chain, key, true);
    let proxy = Proxy::start(&format!(
        "{}frontend fe\n    mode tcp\n    bind @FE@\n    default_backend be\n\
         backend be\n    mode tcp\n    server s {} ssl verify none\n",
        DEFAULTS, be.addr
    ));
    let mut s = proxy.connect();
    s.write_all(b"hello over tls").expect("send");
    let mut got = [0u8; 14];
    s.read_exact(&mut got).expect("echo");
    assert_eq!(&got, b"hello over tls");
    // No ALPN is offered when none is configured.
    assert_eq!(be.alpn.lock().expect("lock").as_slice(), &[None]);
}

#[test]
fn server_tls_health_checks_go_over_tls() {
    let (chain, key) = self_signed(&["check.test"]);
    let be = TlsBackend::start(chain, key, false);
    let _proxy = Proxy::start(&format!(
        "{DEFAULTS}frontend fe\n    bind @FE@\n    default_backend be\n\
         backend be\n    option httpchk GET /\n    server s {} ssl verify none check inter 100ms\n",
        be.addr
    ));
    // Only TLS reaches the backend's HTTP: a request counted is a check that went over TLS.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while be.requests.load(Ordering::SeqCst) == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(be.requests.load(Ordering::SeqCst) >= 1);
}

#[test]
fn server_tls_without_ca_file_is_refused_unless_verify_none() {
    use sluice_config::{read_str, ReadOptions};
    use sluice_model::{build, BuildOptions};
    let errors = |text: &str| {
        let (tree, _) = read_str("t.cfg", text, &ReadOptions::default());
        let (_, diags) = build(&tree, &BuildOptions::default());
        diags
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.message.clone())
            .collect::<Vec<_>>()
    };
    let be = "backend be\n    server s 127.0.0.1:1 ssl\n";
    let e = errors(&format!("{DEFAULTS}{be}"));
    assert!(
        e.iter()
            .any(|m| m.contains("verify is enabled by default but no CA file specified")),
        "{e:?}"
    );
    assert!(errors(&format!(
        "global\n    ssl-server-verify none\n{DEFAULTS}{be}"
    ))
    .is_empty());
    assert!(errors(&format!(
        "{DEFAULTS}backend be\n    server s 127.0.0.1:1 ssl verify none\n"
    ))
    .is_empty());
}
