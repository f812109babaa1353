//! Cookie persistence end to end: insert, stickiness, indirect removal, a cookie naming a
//! server that cannot be reached, rewrite and prefix.

mod common;

use common::{closed_port, request, Backend, Behaviour, Proxy, DEFAULTS};

fn get(cookie: Option<&str>) -> Vec<u8> {
    match cookie {
        Some(c) => format!("GET / HTTP/1.1\r\nHost: t\r\nCookie: {c}\r\n\r\n").into_bytes(),
        None => b"GET / HTTP/1.1\r\nHost: t\r\n\r\n".to_vec(),
    }
}

fn cfg(extra: &str, cookie: &str, servers: &str) -> String {
    format!("{DEFAULTS}{extra}frontend fe\n    bind @FE@\n    default_backend be\nbackend be\n    balance roundrobin\n    cookie {cookie}\n{servers}")
}

#[test]
fn insert_then_stick_for_twenty_requests_with_indirect_removal() {
    let a = Backend::start("a", Behaviour::Name);
    let b = Backend::start("b", Behaviour::Name);
    let p = Proxy::start(&cfg(
        "",
        "SRV insert indirect nocache httponly",
        &format!(
            "    server a {} cookie ca\n    server b {} cookie cb\n",
            a.addr, b.addr
        ),
    ));
    let mut c = p.connect();
    let first = request(&mut c, &get(None)).expect("response");
    let served = String::from_utf8_lossy(&first.body).to_string();
    let set = first.header("set-cookie").expect("set-cookie").to_string();
    assert_eq!(set, format!("SRV=c{served}; path=/; HttpOnly"));
    assert_eq!(first.header("cache-control"), Some("private"));
    let cookie = format!("other=1; SRV=c{served}");
    for _ in 0..20 {
        let mut c = p.connect();
        let r = request(&mut c, &get(Some(&cookie))).expect("response");
        assert_eq!(String::from_utf8_lossy(&r.body), served);
        // A client with a valid cookie gets none again.
        assert_eq!(r.header("set-cookie"), None);
        assert_eq!(r.header("cache-control"), None);
    }
    let sticky = if served == "a" { &a } else { &b };
    assert_eq!(sticky.requests(), 21);
    let heads = sticky.heads.lock().map(|h| h.clone()).unwrap_or_default();
    // `indirect`: the server never sees the persistence cookie, only the others.
    assert!(heads.iter().all(|h| !h.contains("SRV=")), "{heads:?}");
    assert!(
        heads.iter().skip(1).all(|h| h.contains("other=1")),
        "{heads:?}"
    );
}

#[test]
fn without_indirect_the_cookie_is_forwarded() {
    let a = Backend::start("a", Behaviour::Name);
    let p = Proxy::start(&cfg(
        "",
        "SRV insert",
        &format!("    server a {} cookie ca\n", a.addr),
    ));
    let mut c = p.connect();
    let r = request(&mut c, &get(Some("SRV=ca"))).expect("response");
    assert_eq!(r.header("set-cookie"), None);
    let heads = a.heads.lock().map(|h| h.clone()).unwrap_or_default();
    assert!(heads.iter().all(|h| h.contains("SRV=ca")), "{heads:?}");
}

#[test]
fn a_cookie_for_an_unreachable_server_redispatches() {
    let up = Backend::start("up", Behaviour::Name);
    let p = Proxy::start(&cfg(
        "    retries 1\n    option redispatch\n",
        "SRV insert indirect",
        &format!(
            "    server down {} cookie cd\n    server up {} cookie cu\n",
            closed_port(),
            up.addr
        ),
    ));
    for _ in 0..3 {
        let mut c = p.connect();
        let r = request(&mut c, &get(Some("SRV=cd"))).expect("response");
        assert_eq!(r.status(), 200);
        assert_eq!(r.body, b"up");
        // The client is given the cookie of the server that answered.
        assert_eq!(r.header("set-cookie"), Some("SRV=cu; path=/"));
    }
}

#[test]
fn a_cookie_for_a_disabled_server_is_ignored() {
    let a = Backend::start("a", Behaviour::Name);
    let b = Backend::start("b", Behaviour::Name);
    let p = Proxy::start(&cfg(
        "",
        "SRV insert indirect",
        &format!(
            "    server a {} cookie ca disabled\n    server b {} cookie cb\n",
            a.addr, b.addr
        ),
    ));
    let mut c = p.connect();
    let r = request(&mut c, &get(Some("SRV=ca"))).expect("response");
    assert_eq!(r.body, b"b");
    assert_eq!(r.header("set-cookie"), Some("SRV=cb; path=/"));
    assert_eq!(a.requests(), 0);
}

#[test]
fn prefix_mode_selects_and_strips() {
    let a = Backend::start("a", Behaviour::Name);
    let b = Backend::start("b", Behaviour::Name);
    let p = Proxy::start(&cfg(
        "",
        "JSESSIONID prefix",
        &format!(
            "    server a {} cookie ca\n    server b {} cookie cb\n",
            a.addr, b.addr
        ),
    ));
    for _ in 0..4 {
        let mut c = p.connect();
        let r = request(&mut c, &get(Some("JSESSIONID=cb~xyz"))).expect("response");
        assert_eq!(r.body, b"b");
    }
    let heads = b.heads.lock().map(|h| h.clone()).unwrap_or_default();
    assert!(
        heads.iter().all(|h| h.contains("JSESSIONID=xyz")),
        "{heads:?}"
    );
}
