//! Rules on real traffic: ACLs, `http-request`/`http-response`/`http-after-response`
//! rules, redirects, `return`, `auth`, `use_backend` (static, map file, dynamic),
//! `tcp-request connection` and `tcp-request content` with `inspect-delay` and SNI routing.

mod common;

use common::{read_message, Message, Proxy};
use std::io::{BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// An HTTP backend that records each request head and answers 200 with its name as body
/// and a `Server` header.
struct Http {
    addr: SocketAddr,
    heads: Arc<Mutex<Vec<Message>>>,
}

impl Http {
    fn start(name: &'static str) -> Http {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = l.local_addr().expect("addr");
        let heads = Arc::new(Mutex::new(Vec::new()));
        let h = heads.clone();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(s) = s else { return };
                let h = h.clone();
                std::thread::spawn(move || {
                    let Ok(mut w) = s.try_clone() else { return };
                    let mut r = BufReader::new(s);
                    while let Some(m) = read_message(&mut r, false) {
                        h.lock().expect("lock").push(m);
                        let resp = format!(
                            "HTTP/1.1 200 OK\r\nServer: tiny/1.0\r\nContent-Length: {}\r\n\r\n{name}",
                            name.len()
                        );
                        if w.write_all(resp.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Http { addr, heads }
    }

    fn last(&self) -> Option<Message> {
        self.heads.lock().expect("lock").pop()
    }
}

/// A TCP backend that records what it receives and answers with its name.
struct Raw {
    addr: SocketAddr,
    got: Arc<Mutex<Vec<u8>>>,
}

impl Raw {
    fn start(name: &'static str) -> Raw {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = l.local_addr().expect("addr");
        let got = Arc::new(Mutex::new(Vec::new()));
        let g = got.clone();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { return };
                let g = g.clone();
                std::thread::spawn(move || {
                    let _ = s.write_all(name.as_bytes());
                    s.set_read_timeout(Some(Duration::from_millis(300))).ok();
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = s.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        g.lock().expect("lock").extend_from_slice(&buf[..n]);
                    }
                });
            }
        });
        Raw { addr, got }
    }

    fn received(&self) -> Vec<u8> {
        self.got.lock().expect("lock").clone()
    }
}

fn send(p: &Proxy, raw: &str) -> Message {
    let mut s = p.connect();
    common::request(&mut s, raw.as_bytes()).expect("a response")
}

fn get(p: &Proxy, path: &str, host: &str, extra: &str) -> Message {
    send(
        p,
        &format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n"),
    )
}

/// The bench's http-rules configuration, as in shared/bench/configs/http-rules.cfg.in.
const BENCH_RULES: &str = "global
    nbthread 1
    maxconn 1000

defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    timeout http-keep-alive 60s
    option http-keep-alive

frontend fe
    bind @FE@
    option forwardfor

    acl is_admin    path_beg /admin
    acl has_auth    req.hdr(authorization) -m found
    acl is_static   path_beg /static/ /assets/ /img/
    acl is_api      path_beg /api/
    acl api_host    hdr(host) -i api.example.com api.example.org
    acl is_write    method POST PUT DELETE PATCH

    http-request deny if is_admin !has_auth
    http-request deny if is_write is_static
    http-request del-header X-Forwarded-Host
    http-request set-header X-Forwarded-Proto http
    http-request set-header X-Client-IP %[src]
    http-request add-header X-Bench-Route api if is_api

    http-response set-header X-Served-By bench
    http-response del-header Server

    use_backend be_static if is_static
    use_backend be_api if is_api api_host
    default_backend be_default

backend be_api
    balance roundrobin
    http-request set-header X-Backend api
    server a1 @S1@
    server a2 @S1@

backend be_static
    balance roundrobin
    server st1 @S2@
    server st2 @S2@

backend be_default
    balance roundrobin
    server d1 @S3@
    server d2 @S3@
";

#[test]
fn the_bench_rules_config_routes_rewrites_and_denies() {
    let api = Http::start("api");
    let stat = Http::start("static");
    let def = Http::start("default");
    let text = BENCH_RULES
        .replace("@S1@", &api.addr.to_string())
        .replace("@S2@", &stat.addr.to_string())
        .replace("@S3@", &def.addr.to_string());
    let p = Proxy::start(&text);

    let r = get(
        &p,
        "/api/v1/items",
        "api.example.com",
        "X-Forwarded-Host: evil\r\n",
    );
    assert_eq!(r.status(), 200);
    assert_eq!(r.body, b"api");
    assert_eq!(r.header("x-served-by"), Some("bench"));
    assert_eq!(r.header("server"), None);
    let seen = api.last().expect("be_api got the request");
    assert_eq!(seen.header("x-forwarded-proto"), Some("http"));
    assert_eq!(seen.header("x-client-ip"), Some("127.0.0.1"));
    assert_eq!(seen.header("x-bench-route"), Some("api"));
    assert_eq!(seen.header("x-backend"), Some("api"));
    assert_eq!(seen.header("x-forwarded-for"), Some("127.0.0.1"));
    assert_eq!(seen.header("x-forwarded-host"), None);
    assert_eq!(seen.header("host"), Some("api.example.com"));

    // Keep-alive goes on with rules: two requests on one connection.
    let mut s = p.connect();
    let mut reader = BufReader::new(s.try_clone().expect("clone"));
    for _ in 0..2 {
        s.write_all(b"GET /api/x HTTP/1.1\r\nHost: api.example.org\r\n\r\n")
            .expect("write");
        let m = read_message(&mut reader, true).expect("response");
        assert_eq!(m.body, b"api");
    }

    // Other hosts and paths go to the default backend, static paths to be_static.
    assert_eq!(get(&p, "/api/x", "www.example.com", "").body, b"default");
    assert_eq!(get(&p, "/static/a.css", "x", "").body, b"static");

    // /admin without Authorization: HAProxy's 403 page; with it, forwarded.
    let r = get(&p, "/admin", "x", "");
    assert_eq!(r.status(), 403);
    assert!(String::from_utf8_lossy(&r.body).contains("403 Forbidden"));
    assert_eq!(
        get(&p, "/admin", "x", "Authorization: Basic eDp5\r\n").status(),
        200
    );

    // A write to a static path is denied.
    let r = send(
        &p,
        "POST /static/x HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi",
    );
    assert_eq!(r.status(), 403);
}

const ANSWERS: &str = "
frontend fe
    bind @FE@
    http-request redirect scheme https code 301 if { path_beg /secure }
    http-request redirect prefix /new code 302 if { path_beg /old }
    http-request redirect location /moved code 307 set-cookie seen=1 if { path /here }
    http-request return status 200 content-type text/plain string hello hdr X-Ret yes if { path /ret }
    http-request auth realm Admins if { path_beg /priv } !{ req.hdr(authorization) -m found }
    http-request deny deny_status 429 if { path /limited }
    http-request tarpit if { path /trap }
    http-request set-path /rewritten%[path] if { path_beg /rw }
    http-request set-query a=1 if { path_beg /rewritten/rw }
    redirect location /line code 303 if { path /via-redirect-line }
    http-after-response set-header X-After yes
    default_backend app

backend app
    timeout tarpit 300ms
    server s1 @S1@
";

#[test]
fn redirects_returns_auth_deny_and_tarpit() {
    let app = Http::start("app");
    let text = format!("{}{ANSWERS}", common::DEFAULTS).replace("@S1@", &app.addr.to_string());
    let p = Proxy::start(&text);

    let r = get(&p, "/secure/x?y=1", "www.example.com", "");
    assert_eq!(r.status(), 301);
    assert_eq!(
        r.header("location"),
        Some("https://www.example.com/secure/x?y=1")
    );
    assert_eq!(r.header("x-after"), Some("yes"));

    let r = get(&p, "/old/page", "h", "");
    assert_eq!(r.status(), 302);
    assert_eq!(r.header("location"), Some("/new/old/page"));

    let r = get(&p, "/here", "h", "");
    assert_eq!(r.status(), 307);
    assert_eq!(r.header("location"), Some("/moved"));
    assert!(r
        .header("set-cookie")
        .is_some_and(|c| c.starts_with("seen=1")));

    let r = get(&p, "/via-redirect-line", "h", "");
    assert_eq!(r.status(), 303);
    assert_eq!(r.header("location"), Some("/line"));

    let r = get(&p, "/ret", "h", "");
    assert_eq!(r.status(), 200);
    assert_eq!(r.body, b"hello");
    assert_eq!(r.header("content-type"), Some("text/plain"));
    assert_eq!(r.header("x-ret"), Some("yes"));
    assert_eq!(r.header("x-after"), Some("yes"));

    let r = get(&p, "/priv/a", "h", "");
    assert_eq!(r.status(), 401);
    assert_eq!(r.header("www-authenticate"), Some("Basic realm=\"Admins\""));
    assert_eq!(
        get(&p, "/priv/a", "h", "Authorization: Basic eDp5\r\n").body,
        b"app"
    );

    let r = get(&p, "/limited", "h", "");
    assert_eq!(r.status(), 429);

    // Rewrites reach the server.
    assert_eq!(get(&p, "/rw/x?old=1", "h", "").body, b"app");
    let seen = app.last().expect("request");
    assert_eq!(seen.start, "GET /rewritten/rw/x?a=1 HTTP/1.1");

    // A redirect keeps the connection: the next request on it is answered.
    let mut s = p.connect();
    let mut reader = BufReader::new(s.try_clone().expect("clone"));
    s.write_all(b"GET /old/a HTTP/1.1\r\nHost: h\r\n\r\nGET /x HTTP/1.1\r\nHost: h\r\n\r\n")
        .expect("write");
    assert_eq!(
        read_message(&mut reader, true).expect("first").status(),
        302
    );
    assert_eq!(
        read_message(&mut reader, true).expect("second").body,
        b"app"
    );

    // Tarpit: held for `timeout tarpit`, then 500.
    let t = Instant::now();
    let r = get(&p, "/trap", "h", "");
    assert_eq!(r.status(), 500);
    assert!(
        t.elapsed() >= Duration::from_millis(250),
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn use_backend_by_map_file_and_dynamic_names() {
    let a = Http::start("a");
    let b = Http::start("b");
    let def = Http::start("default");
    let map = std::env::temp_dir().join(format!("sluice-rules-{}.map", std::process::id()));
    std::fs::write(&map, "# host to backend\nwww.a.com be_a\nb.example be_b\n").expect("map");
    let text = format!(
        "{}
frontend fe
    bind @FE@
    use_backend %[req.hdr(host),lower,map_str({},be_default)] if {{ path_beg /m/ }}
    use_backend be_%[req.hdr(x-target)] if {{ req.hdr(x-target) -m found }}
    default_backend be_default

backend be_a
    server s @A@
backend be_b
    server s @B@
backend be_default
    server s @D@
",
        common::DEFAULTS,
        map.display()
    )
    .replace("@A@", &a.addr.to_string())
    .replace("@B@", &b.addr.to_string())
    .replace("@D@", &def.addr.to_string());
    let p = Proxy::start(&text);
    assert_eq!(get(&p, "/m/1", "WWW.A.COM", "").body, b"a");
    assert_eq!(get(&p, "/m/1", "b.example", "").body, b"b");
    assert_eq!(get(&p, "/m/1", "other", "").body, b"default");
    assert_eq!(get(&p, "/x", "h", "X-Target: b\r\n").body, b"b");
    // An unknown dynamic name falls back to the default backend.
    assert_eq!(get(&p, "/x", "h", "X-Target: nope\r\n").body, b"default");
    let _ = std::fs::remove_file(&map);
}

/// A TLS 1.2 ClientHello record with one `server_name`.
fn client_hello(sni: &str) -> Vec<u8> {
    let name = sni.as_bytes();
    let be16 = |n: usize| u16::try_from(n).expect("small").to_be_bytes();
    let mut sn = Vec::new();
    sn.extend(be16(3 + name.len()));
    sn.push(0);
    sn.extend(be16(name.len()));
    sn.extend(name);
    let mut ext = vec![0, 0];
    ext.extend(be16(sn.len()));
    ext.extend(sn);
    let mut body = vec![3, 3];
    body.extend([7u8; 32]);
    body.push(0);
    body.extend([0, 2, 0x13, 0x01, 1, 0]);
    body.extend(be16(ext.len()));
    body.extend(ext);
    let mut hs = vec![1];
    hs.extend(&u32::try_from(body.len()).expect("small").to_be_bytes()[1..]);
    hs.extend(body);
    let mut rec = vec![0x16, 3, 1];
    rec.extend(be16(hs.len()));
    rec.extend(hs);
    rec
}

const SNI: &str = "defaults
    mode tcp
    timeout connect 2s
    timeout client 5s
    timeout server 5s

frontend tls
    bind @FE@
    tcp-request inspect-delay 400ms
    tcp-request content accept if { req.ssl_hello_type 1 }
    use_backend be_one if { req.ssl_sni -i one.example }
    use_backend be_two if { req.ssl_sni -i two.example }
    default_backend be_other

backend be_one
    server s @ONE@
backend be_two
    server s @TWO@
backend be_other
    server s @OTHER@
";

fn read_name(s: &mut TcpStream) -> String {
    let mut buf = [0u8; 16];
    let n = s.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[test]
fn tcp_content_rules_route_by_sni_and_wait_for_inspect_delay() {
    let one = Raw::start("one");
    let two = Raw::start("two");
    let other = Raw::start("other");
    let text = SNI
        .replace("@ONE@", &one.addr.to_string())
        .replace("@TWO@", &two.addr.to_string())
        .replace("@OTHER@", &other.addr.to_string());
    let p = Proxy::start(&text);

    // The ClientHello in two writes: the rules wait for the whole record.
    let hello = client_hello("two.example");
    let mut s = p.connect();
    s.write_all(&hello[..10]).expect("write");
    std::thread::sleep(Duration::from_millis(50));
    s.write_all(&hello[10..]).expect("write");
    let t = Instant::now();
    assert_eq!(read_name(&mut s), "two");
    assert!(t.elapsed() < Duration::from_millis(300));
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(two.received(), hello);

    let mut s = p.connect();
    s.write_all(&client_hello("ONE.example")).expect("write");
    assert_eq!(read_name(&mut s), "one");

    // An incomplete hello: after inspect-delay the rules decide on what is there.
    let mut s = p.connect();
    let t = Instant::now();
    s.write_all(&hello[..20]).expect("write");
    assert_eq!(read_name(&mut s), "other");
    assert!(
        t.elapsed() >= Duration::from_millis(350),
        "{:?}",
        t.elapsed()
    );
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(other.received(), &hello[..20]);
}

#[test]
fn tcp_request_connection_reject_by_src() {
    let app = Http::start("app");
    let text = format!(
        "{}
frontend fe
    bind @FE@
    tcp-request connection reject if {{ src 127.0.0.0/8 }}
    default_backend app
backend app
    server s @S1@
",
        common::DEFAULTS
    )
    .replace("@S1@", &app.addr.to_string());
    let p = Proxy::start(&text);
    let mut s = p.connect();
    let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    let mut buf = [0u8; 64];
    // Closed without a response (EOF or reset).
    assert!(matches!(s.read(&mut buf), Ok(0) | Err(_)));
    assert!(app.last().is_none());

    // Another source passes.
    let text = text.replace("127.0.0.0/8", "10.0.0.0/8");
    let p = Proxy::start(&text);
    assert_eq!(get(&p, "/", "h", "").body, b"app");
}

#[test]
fn response_rules_and_use_server() {
    let s1 = Http::start("one");
    let s2 = Http::start("two");
    let text = format!(
        "{}
frontend fe
    bind @FE@
    http-response set-status 203 if {{ res.hdr(server) -m beg tiny }}
    http-response deny if {{ var(txn.block) -m str yes }}
    http-request set-var(txn.block) str(yes) if {{ path /block }}
    default_backend app
backend app
    balance roundrobin
    use-server s2 if {{ path_beg /two }}
    http-response set-header X-Backend-Saw %[status]
    server s1 @S1@
    server s2 @S2@
",
        common::DEFAULTS
    )
    .replace("@S1@", &s1.addr.to_string())
    .replace("@S2@", &s2.addr.to_string());
    let p = Proxy::start(&text);
    for _ in 0..3 {
        let r = get(&p, "/two/x", "h", "");
        assert_eq!(r.body, b"two");
        assert_eq!(r.status(), 203);
        assert_eq!(r.header("x-backend-saw"), Some("200"));
    }
    let r = get(&p, "/block", "h", "");
    assert_eq!(r.status(), 502);
}
