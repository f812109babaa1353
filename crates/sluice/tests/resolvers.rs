//! End to end: servers changed while Sluice runs. `set server ... addr|fqdn` and `del
//! server` on the runtime API, and `resolvers` sections asking a small DNS server that the
//! test runs on 127.0.0.1 (UDP) and whose answers it changes as it goes. Backends listen on
//! 127.0.0.1 and 127.0.0.2 (the whole 127/8 is the loopback), each answering its name.

mod common;

use hickory_proto::op::{Message, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, SRV};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream, UdpSocket};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the test DNS server says about a name.
#[derive(Clone, Debug)]
enum Zone {
    /// A records (AAAA questions get an empty answer).
    Addrs(Vec<Ipv4Addr>),
    /// NXDOMAIN.
    Nx,
    /// SRV records (target, port); with `true`, the targets' A records come along in the
    /// additional section, else the client must ask for them.
    Srv(Vec<(String, u16)>, bool),
}

/// A DNS server on 127.0.0.1 (UDP), answering from a table the test edits.
struct Dns {
    port: u16,
    zones: Arc<Mutex<HashMap<String, Zone>>>,
}

impl Dns {
    fn start() -> Dns {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("dns socket");
        let port = socket.local_addr().expect("dns addr").port();
        let zones: Arc<Mutex<HashMap<String, Zone>>> = Arc::default();
        let table = zones.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok((n, from)) = socket.recv_from(&mut buf) {
                let Ok(query) = Message::from_vec(&buf[..n]) else {
                    continue;
                };
                let mut reply = Message::response(query.metadata.id, OpCode::Query);
                for q in &query.queries {
                    reply.add_query(q.clone());
                    let name = q.name.to_ascii().trim_end_matches('.').to_lowercase();
                    let zone = table.lock().ok().and_then(|t| t.get(&name).cloned());
                    match zone {
                        None | Some(Zone::Nx) => {
                            reply.metadata.response_code = ResponseCode::NXDomain;
                        }
                        Some(Zone::Addrs(ips)) if q.query_type == RecordType::A => {
                            for ip in ips {
                                reply.add_answer(Record::from_rdata(
                                    q.name.clone(),
                                    1,
                                    RData::A(A(ip)),
                                ));
                            }
                        }
                        Some(Zone::Srv(targets, additionals))
                            if q.query_type == RecordType::SRV =>
                        {
                            for (target, port) in targets {
                                let Ok(name) = Name::from_ascii(format!("{target}.")) else {
                                    continue;
                                };
                                reply.add_answer(Record::from_rdata(
                                    q.name.clone(),
                                    1,
                                    RData::SRV(SRV::new(0, 512, port, name.clone())),
                                ));
                                let known = table.lock().ok().and_then(|t| t.get(&target).cloned());
                                if let (true, Some(Zone::Addrs(ips))) = (additionals, known) {
                                    for ip in ips {
                                        reply.add_additional(Record::from_rdata(
                                            name.clone(),
                                            1,
                                            RData::A(A(ip)),
                                        ));
                                    }
                                }
                            }
                        }
                        Some(_) => {}
                    }
                }
                if let Ok(bytes) = reply.to_vec() {
                    let _ = socket.send_to(&bytes, from);
                }
            }
        });
        Dns { port, zones }
    }

    fn set(&self, name: &str, zone: Zone) {
        self.zones
            .lock()
            .expect("zones")
            .insert(name.to_string(), zone);
    }
}

/// An HTTP server on `ip:port` (port 0: any) answering every request with `name`.
fn backend(ip: Ipv4Addr, port: u16, name: &'static str) -> u16 {
    let listener = TcpListener::bind((ip, port)).expect("backend");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let Ok(read) = stream.try_clone() else {
                    return;
                };
                let mut reader = BufReader::new(read);
                let mut stream = stream;
                loop {
                    let mut line = String::new();
                    loop {
                        line.clear();
                        match reader.read_line(&mut line) {
                            Ok(0) | Err(_) => return,
                            Ok(_) if line == "\r\n" => break,
                            Ok(_) => {}
                        }
                    }
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{name}",
                        name.len()
                    );
                    if stream.write_all(answer.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

/// A port free on both 127.0.0.1 and 127.0.0.2, with a backend on each.
fn two_backends(first: &'static str, second: &'static str) -> u16 {
    for _ in 0..50 {
        let port = common::free_port();
        if TcpListener::bind((Ipv4Addr::new(127, 0, 0, 2), port)).is_ok() {
            backend(Ipv4Addr::new(127, 0, 0, 1), port, first);
            backend(Ipv4Addr::new(127, 0, 0, 2), port, second);
            return port;
        }
    }
    panic!("no port free on both 127.0.0.1 and 127.0.0.2");
}

/// One request on a new connection: the status line and the body.
fn get(port: u16) -> (String, String) {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return (String::new(), String::new());
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let status = out.lines().next().unwrap_or_default().to_string();
    let body = out.split("\r\n\r\n").nth(1).unwrap_or_default().to_string();
    (status, body)
}

struct Running {
    child: Child,
    dir: tempfile::TempDir,
}

impl Running {
    /// Starts `sluice -f h.cfg` with `config` (`@DIR@`: the temporary directory, where
    /// the `stats socket` goes) and waits for `port` to accept.
    fn start(config: &str, port: u16) -> Running {
        let dir = tempfile::tempdir().expect("tmp");
        let text = config.replace("@DIR@", &dir.path().display().to_string());
        std::fs::write(dir.path().join("h.cfg"), text).expect("write");
        let err = std::fs::File::create(dir.path().join("stderr.txt")).expect("stderr");
        let child = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["--check-env=warn", "-f", "h.cfg"])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(err))
            .spawn()
            .expect("spawn sluice");
        let run = Running { child, dir };
        let up = wait_until(Duration::from_secs(10), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        assert!(up, "sluice did not start: {}", run.stderr());
        run
    }

    fn sock(&self) -> PathBuf {
        self.dir.path().join("stats.sock")
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.txt")).unwrap_or_default()
    }

    /// One runtime API command and its answer.
    fn cli(&self, command: &str) -> String {
        let mut s = UnixStream::connect(self.sock()).expect("stats socket");
        s.write_all(format!("{command}\n").as_bytes())
            .expect("send");
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    }

    /// The `show servers state` line of `be/srv`, split in fields.
    fn state(&self, be: &str, srv: &str) -> Vec<String> {
        let all = self.cli(&format!("show servers state {be}"));
        all.lines()
            .map(|l| l.split(' ').map(str::to_string).collect::<Vec<_>>())
            .find(|f| {
                f.get(1).map(String::as_str) == Some(be)
                    && f.get(3).map(String::as_str) == Some(srv)
            })
            .unwrap_or_else(|| panic!("no state for {be}/{srv} in {all}"))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    false
}

const DEFAULTS: &str = "defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
";

// Field positions in `show servers state` (version 1).
const SRV_ADDR: usize = 4;
const SRV_ADMIN_STATE: usize = 6;
const SRV_FQDN: usize = 17;
const SRV_PORT: usize = 18;

#[test]
fn set_server_addr_moves_new_connections() {
    let one = backend(Ipv4Addr::LOCALHOST, 0, "one");
    let two = backend(Ipv4Addr::LOCALHOST, 0, "two");
    let fe = common::free_port();
    let config = format!(
        "global
    stats socket @DIR@/stats.sock level admin
{DEFAULTS}
frontend fe
    bind 127.0.0.1:{fe}
    default_backend be

backend be
    server s1 127.0.0.1:{one}
"
    );
    let run = Running::start(&config, fe);
    assert_eq!(get(fe).1, "one");

    let answer = run.cli(&format!("set server be/s1 addr 127.0.0.1 port {two}"));
    assert_eq!(
        answer.trim_end(),
        format!("no need to change the addr, port changed from '{one}' to '{two}' by 'stats socket command'")
    );
    assert_eq!(get(fe).1, "two");
    let state = run.state("be", "s1");
    assert_eq!(state[SRV_ADDR], "127.0.0.1");
    assert_eq!(state[SRV_PORT], two.to_string());
    assert!(
        run.cli("show stat").contains(&format!("127.0.0.1:{two}")),
        "show stat shows the new address"
    );

    // A new IP address (nothing listens on 127.0.0.3: the connection is refused).
    let answer = run.cli("set server be/s1 addr 127.0.0.3");
    assert_eq!(
        answer.trim_end(),
        "IP changed from '127.0.0.1' to '127.0.0.3' by 'stats socket command'"
    );
    assert_eq!(run.state("be", "s1")[SRV_ADDR], "127.0.0.3");
    assert!(get(fe).0.contains(" 503 "), "no server at 127.0.0.3");
    run.cli(&format!("set server be/s1 addr 127.0.0.1 port {one}"));
    assert_eq!(get(fe).1, "one");

    // Errors, in HAProxy's words.
    assert_eq!(
        run.cli("set server be/s1 addr").trim_end(),
        "set server <b>/<s> addr requires an address and optionally a port."
    );
    assert_eq!(
        run.cli("set server be/s1 addr nowhere").trim_end(),
        "Invalid addr 'nowhere' by 'stats socket command'"
    );
    assert!(run
        .cli("set server be/s1 addr 127.0.0.1 port x")
        .contains("problem converting port 'x' to an int"));
    assert!(run
        .cli("set server be/s1 addr 127.0.0.1 port +1")
        .contains("can't change <port> to port map"));
    assert_eq!(
        run.cli("set server be/s1 fqdn app.test").trim_end(),
        "set server <b>/<s> fqdn failed because no resolution is configured."
    );
    assert_eq!(
        run.cli("set server be/nope addr 127.0.0.1").trim_end(),
        "No such server."
    );
}

#[test]
fn resolvers_follow_the_dns_answers() {
    let dns = Dns::start();
    dns.set("app.test", Zone::Addrs(vec![Ipv4Addr::new(127, 0, 0, 1)]));
    let port = two_backends("first", "second");
    let fe = common::free_port();
    let config = format!(
        "global
    stats socket @DIR@/stats.sock level admin

resolvers dns
    nameserver ns1 127.0.0.1:{dns}
    resolve_retries 2
    timeout resolve 100ms
    timeout retry 200ms
    hold nx 1s
{DEFAULTS}
frontend fe
    bind 127.0.0.1:{fe}
    default_backend be

backend be
    server s1 app.test:{port} resolvers dns init-addr none resolve-prefer ipv4
",
        dns = dns.port
    );
    let run = Running::start(&config, fe);
    // `init-addr none`: no address until the resolvers find one.
    assert!(
        wait_until(Duration::from_secs(5), || get(fe).1 == "first"),
        "the server was never resolved: {}",
        run.stderr()
    );
    let state = run.state("be", "s1");
    assert_eq!(state[SRV_ADDR], "127.0.0.1");
    assert_eq!(state[SRV_FQDN], "app.test");

    // The record changes: new connections follow it.
    dns.set("app.test", Zone::Addrs(vec![Ipv4Addr::new(127, 0, 0, 2)]));
    assert!(
        wait_until(Duration::from_secs(5), || get(fe).1 == "second"),
        "traffic did not move to 127.0.0.2"
    );
    assert_eq!(run.state("be", "s1")[SRV_ADDR], "127.0.0.2");
    assert!(run
        .stderr()
        .contains("be/s1 changed its IP from 127.0.0.1 to 127.0.0.2 by DNS cache."));
    // The nameserver's counters.
    let counters = run.cli("show resolvers dns");
    assert!(
        counters.starts_with("Resolvers section dns\n nameserver ns1:\n"),
        "{counters}"
    );
    let count = |name: &str| -> u64 {
        counters
            .lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{name}:")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {counters}"))
    };
    assert!(
        count("sent") >= count("valid") && count("valid") > 0,
        "{counters}"
    );
    assert!(count("update") >= 2, "two moves: {counters}");

    // NXDOMAIN: the server stays for `hold nx`, then goes into maintenance.
    dns.set("app.test", Zone::Nx);
    let gone = Instant::now();
    assert!(
        wait_until(Duration::from_secs(5), || get(fe).0.contains(" 503 ")),
        "the server stayed up after NXDOMAIN"
    );
    assert!(
        gone.elapsed() >= Duration::from_millis(700),
        "maintenance came before `hold nx` was over"
    );
    assert_eq!(run.state("be", "s1")[SRV_ADMIN_STATE], "32");
    assert!(run
        .stderr()
        .contains("Server be/s1 is going DOWN for maintenance (DNS NX status)."));

    // The name comes back: so does the server.
    dns.set("app.test", Zone::Addrs(vec![Ipv4Addr::new(127, 0, 0, 1)]));
    assert!(
        wait_until(Duration::from_secs(5), || get(fe).1 == "first"),
        "the server did not come back"
    );
    assert_eq!(run.state("be", "s1")[SRV_ADMIN_STATE], "0");
}

#[test]
fn a_name_not_yet_in_dns_starts_and_set_fqdn_resolves() {
    let dns = Dns::start();
    let port = two_backends("first", "second");
    let fe = common::free_port();
    let config = format!(
        "global
    stats socket @DIR@/stats.sock level admin

resolvers dns
    nameserver ns1 127.0.0.1:{dns}
    timeout resolve 100ms
    timeout retry 200ms
{DEFAULTS}
frontend fe
    bind 127.0.0.1:{fe}
    default_backend be

backend be
    server s1 later.test:{port} resolvers dns init-addr none resolve-prefer ipv4
",
        dns = dns.port
    );
    let run = Running::start(&config, fe);
    assert!(get(fe).0.contains(" 503 "), "no address yet: 503");
    let state = run.state("be", "s1");
    assert_eq!(state[SRV_ADDR], "-");
    assert_eq!(state[SRV_ADMIN_STATE], "32");

    dns.set("later.test", Zone::Addrs(vec![Ipv4Addr::new(127, 0, 0, 2)]));
    assert!(
        wait_until(Duration::from_secs(5), || get(fe).1 == "second"),
        "the server was not resolved once its name existed"
    );

    // Another name, at once.
    dns.set("other.test", Zone::Addrs(vec![Ipv4Addr::new(127, 0, 0, 1)]));
    assert_eq!(
        run.cli("set server be/s1 fqdn other.test").trim_end(),
        "be/s1 changed its FQDN from later.test to other.test by 'stats socket command'"
    );
    assert!(
        wait_until(Duration::from_secs(5), || get(fe).1 == "first"),
        "the new name was not followed"
    );
    assert_eq!(run.state("be", "s1")[SRV_FQDN], "other.test");
    assert_eq!(
        run.cli("set server be/s1 fqdn bad_name!").trim_end(),
        "invalid fqdn 'bad_name!' by 'stats socket command'"
    );
}

#[test]
fn server_template_shares_out_the_addresses() {
    let dns = Dns::start();
    dns.set(
        "pool.test",
        Zone::Addrs(vec![
            Ipv4Addr::new(127, 0, 0, 1),
            Ipv4Addr::new(127, 0, 0, 2),
        ]),
    );
    let port = two_backends("first", "second");
    let fe = common::free_port();
    let config = format!(
        "global
    stats socket @DIR@/stats.sock level admin

resolvers dns
    nameserver ns1 127.0.0.1:{dns}
    timeout resolve 100ms
    timeout retry 200ms
{DEFAULTS}
frontend fe
    bind 127.0.0.1:{fe}
    default_backend be

backend be
    balance roundrobin
    server-template web 1-3 pool.test:{port} resolvers dns init-addr none resolve-prefer ipv4
",
        dns = dns.port
    );
    let run = Running::start(&config, fe);
    assert!(
        wait_until(Duration::from_secs(5), || {
            run.state("be", "web1")[SRV_ADDR] != "-" && run.state("be", "web2")[SRV_ADDR] != "-"
        }),
        "the template's servers were not resolved"
    );
    let mut addrs = vec![
        run.state("be", "web1")[SRV_ADDR].clone(),
        run.state("be", "web2")[SRV_ADDR].clone(),
    ];
    addrs.sort();
    assert_eq!(addrs, ["127.0.0.1", "127.0.0.2"], "one address each");
    // Two addresses for three servers: the third has none and takes no traffic.
    let third = run.state("be", "web3");
    assert_eq!(third[SRV_ADDR], "-");
    assert_eq!(third[SRV_ADMIN_STATE], "32");
    let bodies: Vec<String> = (0..4).map(|_| get(fe).1).collect();
    assert!(bodies.iter().any(|b| b == "first"), "{bodies:?}");
    assert!(bodies.iter().any(|b| b == "second"), "{bodies:?}");

    // One address left: one server keeps it, the other goes into maintenance.
    dns.set("pool.test", Zone::Addrs(vec![Ipv4Addr::new(127, 0, 0, 2)]));
    assert!(
        wait_until(Duration::from_secs(5), || {
            (0..4).all(|_| get(fe).1 == "second")
        }),
        "traffic still reached the address that left the answer"
    );
}

#[test]
fn check_reports_resolvers_mistakes_with_their_line() {
    let dir = common::Dir::new();
    dir.write(
        "h.cfg",
        "resolvers dns
    nameserver ns1 127.0.0.1:abc
    hold sometimes 10s

defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s

backend be
    server s1 app.test:80 resolvers nodns init-addr none
",
    );
    let run = dir.run(&["-c", "-f", "h.cfg"]);
    let err = run.stderr_lines().join("\n");
    assert!(
        err.contains("[h.cfg:2]") && err.contains("'nameserver ns1'"),
        "{err}"
    );
    assert!(
        err.contains("[h.cfg:3]") && err.contains("'hold' : unknown status 'sometimes'"),
        "{err}"
    );
    assert!(
        err.contains("[h.cfg:12]") && err.contains("unable to find required resolvers 'nodns'"),
        "{err}"
    );
    assert_eq!(run.code, 1);

    // `default` needs no section: HAProxy declares it with the system's nameservers.
    let fe = common::free_port();
    dir.write(
        "ok.cfg",
        &format!(
            "global
    chroot /
    uid 0
{DEFAULTS}
frontend fe
    bind 127.0.0.1:{fe}
    default_backend be

backend be
    server-template s 2 app.test:80 resolvers default init-addr none
"
        ),
    );
    let run = dir.run(&["-c", "-f", "ok.cfg"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn del_server_removes_a_server_in_maintenance_that_nothing_names() {
    let one = backend(Ipv4Addr::LOCALHOST, 0, "one");
    let two = backend(Ipv4Addr::LOCALHOST, 0, "two");
    let fe = common::free_port();
    let config = format!(
        "global
    stats socket @DIR@/stats.sock level admin
{DEFAULTS}
frontend fe
    bind 127.0.0.1:{fe}
    acl busy srv_sess_rate(be/named) gt 50
    http-request deny if busy
    default_backend be

backend be
    balance roundrobin
    server s1 127.0.0.1:{one}
    server s2 127.0.0.1:{two}
    server named 127.0.0.1:{two} disabled
"
    );
    let run = Running::start(&config, fe);
    let bodies: Vec<String> = (0..4).map(|_| get(fe).1).collect();
    assert!(bodies.iter().any(|b| b == "two"), "{bodies:?}");

    assert_eq!(run.cli("del server be/nope").trim_end(), "No such server.");
    assert_eq!(run.cli("del server nobe/s2").trim_end(), "No such backend.");
    assert_eq!(
        run.cli("del server be/named").trim_end(),
        "This server cannot be removed at runtime due to other configuration elements pointing to it."
    );
    assert_eq!(
        run.cli("del server be/s2").trim_end(),
        "Only servers in maintenance mode can be deleted."
    );
    run.cli("disable server be/s2");
    assert_eq!(run.cli("del server be/s2").trim_end(), "Server deleted.");

    // Gone from the listings and lookups; its traffic goes to the others.
    assert!(!run.cli("show servers state be").contains(" s2 "));
    assert!(!run.cli("show stat").contains("be,s2,"));
    assert_eq!(run.cli("enable server be/s2").trim_end(), "No such server.");
    assert!((0..4).all(|_| get(fe).1 == "one"));
}

#[test]
fn server_template_follows_srv_records() {
    let dns = Dns::start();
    let first = backend(Ipv4Addr::LOCALHOST, 0, "first");
    let second = backend(Ipv4Addr::LOCALHOST, 0, "second");
    dns.set("a.test", Zone::Addrs(vec![Ipv4Addr::LOCALHOST]));
    dns.set("b.test", Zone::Addrs(vec![Ipv4Addr::LOCALHOST]));
    let label = "_http._tcp.app.test";
    // With the targets' addresses in the answer.
    dns.set(
        label,
        Zone::Srv(
            vec![("a.test".into(), first), ("b.test".into(), second)],
            true,
        ),
    );
    let fe = common::free_port();
    let config = format!(
        "global
    stats socket @DIR@/stats.sock level admin

resolvers dns
    nameserver ns1 127.0.0.1:{dns}
    timeout resolve 100ms
    timeout retry 200ms
{DEFAULTS}
frontend fe
    bind 127.0.0.1:{fe}
    default_backend be

backend be
    balance roundrobin
    server-template web 3 {label} resolvers dns init-addr none resolve-prefer ipv4
",
        dns = dns.port
    );
    let run = Running::start(&config, fe);
    let ports = |run: &Running| {
        let mut p: Vec<String> = ["web1", "web2"]
            .iter()
            .map(|s| run.state("be", s)[SRV_PORT].clone())
            .collect();
        p.sort();
        p
    };
    let mut want = vec![first.to_string(), second.to_string()];
    want.sort();
    assert!(
        wait_until(Duration::from_secs(5), || ports(&run) == want),
        "the servers did not take the SRV records: {}",
        run.cli("show servers state be")
    );
    let web1 = run.state("be", "web1");
    assert_eq!(web1[SRV_ADDR], "127.0.0.1");
    assert!(
        ["a.test", "b.test"].contains(&web1[SRV_FQDN].as_str()),
        "{web1:?}"
    );
    assert_eq!(web1[SRV_FQDN + 2], label);
    // The records' weight (512 of 65535) on HAProxy's scale.
    assert_eq!(run.cli("get weight be/web1").trim_end(), "3 (initial 1)");
    // Two records for three servers.
    assert_eq!(run.state("be", "web3")[SRV_ADMIN_STATE], "32");
    let bodies: Vec<String> = (0..4).map(|_| get(fe).1).collect();
    assert!(bodies.iter().any(|b| b == "first"), "{bodies:?}");
    assert!(bodies.iter().any(|b| b == "second"), "{bodies:?}");

    // One record left, whose target's address must be asked for: traffic follows.
    dns.set(label, Zone::Srv(vec![("b.test".into(), second)], false));
    assert!(
        wait_until(Duration::from_secs(5), || (0..4)
            .all(|_| get(fe).1 == "second")),
        "traffic still reached the record that left: {}",
        run.cli("show servers state be")
    );
}
