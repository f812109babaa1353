//! End-to-end: `userlist` sections with `http_auth`/`http_auth_group` protecting routes, and
//! the credential fetches, through the real binary.

use std::time::Duration;

mod common;
use common::free_port;
use common::http::*;

#[test]
fn userlists_guard_routes_and_groups() {
    let fe = free_port();
    let srv = echo_server(Duration::ZERO);
    // "secret" for tiger, as a SHA-512 crypt(3) hash (glibc's crypt("secret", "$6$saltsalt$")).
    let hash = "$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1";
    let cfg = format!(
        "global\n    chroot /\n\
         userlist staff\n    group admins users tiger\n    user tiger password '{hash}'\n    user scott insecure-password elgato\n\
         defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\
         frontend fe\n    bind 127.0.0.1:{fe}\n\
         \x20   acl ok http_auth(staff)\n    acl admin http_auth_group(staff) admins\n\
         \x20   http-request auth realm Staff unless ok\n\
         \x20   http-request deny if {{ path_beg /admin }} !admin\n\
         \x20   http-request set-header x-user %[http_auth_user] if ok\n\
         \x20   default_backend be\n\
         backend be\n    server s1 127.0.0.1:{srv}\n"
    );
    let _sluice = Sluice::start(&cfg, &[fe]);
    // The challenge keeps the connection open: the client answers it on the same one.
    let mut c = connect(fe);
    let (head, _) = request(&mut c, "/", "");
    assert!(head.starts_with("http/1.1 401"), "{head}");
    assert!(
        head.contains("www-authenticate: basic realm=\"staff\""),
        "{head}"
    );
    let (head, _) = request(&mut c, "/", "authorization: Basic c2NvdHQ6ZWxnYXRv\r\n");
    assert!(head.starts_with("http/1.1 200"), "{head}");
    // scott:wrong
    let (head, _) = request(
        &mut connect(fe),
        "/",
        "authorization: Basic c2NvdHQ6d3Jvbmc=\r\n",
    );
    assert!(head.starts_with("http/1.1 401"), "{head}");
    // scott:elgato (insecure-password): in, but not an admin.
    let scott = "authorization: Basic c2NvdHQ6ZWxnYXRv\r\n";
    let (head, body) = request(&mut connect(fe), "/", scott);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(body.contains("x-user: scott\r\n"), "{body}");
    let (head, _) = request(&mut connect(fe), "/admin", scott);
    assert!(head.starts_with("http/1.1 403"), "{head}");
    // tiger:secret (hashed password), in the admins group.
    let tiger = "authorization: Basic dGlnZXI6c2VjcmV0\r\n";
    let (head, _) = request(&mut connect(fe), "/admin", tiger);
    assert!(head.starts_with("http/1.1 200"), "{head}");
}

#[test]
fn an_unknown_userlist_is_a_configuration_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("h.cfg");
    std::fs::write(
        &path,
        "defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\
         frontend fe\n    bind 127.0.0.1:8080\n    http-request auth unless { http_auth(nobody) }\n",
    )
    .expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["-c", "--check-env=off", "-f"])
        .arg(&path)
        .output()
        .expect("run sluice -c");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("h.cfg:8]"), "{err}");
    assert!(err.contains("unable to find userlist 'nobody'"), "{err}");
}
