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
    let cfg = client(&[&ca, &cb], &[b"h2", b"http/1.1"]);

    let mut s = connect(&proxy, &cfg, "a.test");
    assert_eq!(s.conn.peer_certificates().expect("certs")[0], ca);
    // h2 is never offered: the data plane speaks HTTP/1.1.
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
