//! End to end: the runtime API on `stats socket`, with the real binary, real backends on
//! ports chosen by the OS and a temporary directory. Each test kills what it starts.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// An HTTP server answering every request with its name, on its own thread.
fn backend(name: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("backend");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(match stream.try_clone() {
                    Ok(s) => s,
                    Err(_) => return,
                });
                let mut stream = stream;
                loop {
                    let mut line = String::new();
                    // Read one request head.
                    loop {
                        line.clear();
                        match reader.read_line(&mut line) {
                            Ok(0) | Err(_) => return,
                            Ok(_) if line == "\r\n" => break,
                            Ok(_) => {}
                        }
                    }
                    let body = name;
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
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

/// One request on a new connection; the body (the backend's name).
fn get(port: u16) -> String {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.split("\r\n\r\n").nth(1).unwrap_or_default().to_string()
}

struct Running {
    child: Child,
    dir: tempfile::TempDir,
    stderr: PathBuf,
}

impl Running {
    fn sock(&self) -> PathBuf {
        self.dir.path().join("stats.sock")
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
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Starts `sluice -f h.cfg` with `config` (where `@DIR@` is the temporary directory) and
/// waits for `port` to accept.
fn start(config: &str, port: u16, envs: &[(&str, String)], keep: &[i32]) -> Running {
    let dir = tempfile::tempdir().expect("tmp");
    let text = config.replace("@DIR@", &dir.path().display().to_string());
    std::fs::write(dir.path().join("h.cfg"), text).expect("write");
    let stderr = dir.path().join("stderr.txt");
    let err = std::fs::File::create(&stderr).expect("stderr");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice"));
    cmd.args(["--check-env=warn", "-f", "h.cfg"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(err));
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let keep = keep.to_vec();
    // SAFETY: only fcntl between fork and exec, on descriptors the test owns.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(move || {
            for fd in &keep {
                if libc::fcntl(*fd, libc::F_SETFD, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let child = cmd.spawn().expect("spawn sluice");
    let run = Running { child, dir, stderr };
    let up = wait_until(Duration::from_secs(10), || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(
        up,
        "sluice did not start: {}",
        std::fs::read_to_string(&run.stderr).unwrap_or_default()
    );
    run
}

/// Sends one line on a UNIX stats socket and reads until the server closes.
fn cli(path: &Path, line: &str) -> String {
    let mut s = UnixStream::connect(path).expect("connect to the stats socket");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s.write_all(format!("{line}\n").as_bytes()).expect("send");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("answer");
    out
}

fn config(port: u16, s1: u16, s2: u16, global: &str) -> String {
    format!(
        "global\n    stats socket @DIR@/stats.sock level admin mode 600\n{global}\n\
         defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\n\
         frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\n\n\
         backend be\n    balance roundrobin\n    server s1 127.0.0.1:{s1}\n    server s2 127.0.0.1:{s2} weight 3\n"
    )
}

#[test]
fn show_info_and_servers_state_on_a_unix_socket() {
    let (s1, s2, port) = (backend("one"), backend("two"), free_port());
    let run = start(&config(port, s1, s2, ""), port, &[], &[]);
    let mode = std::fs::metadata(run.sock())
        .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777)
        .expect("socket file");
    assert_eq!(mode, 0o600);

    let info = cli(&run.sock(), "show info");
    assert!(info.starts_with("Name: "), "{info}");
    assert!(info.contains("\nVersion: 3.4"), "{info}");
    assert!(
        info.contains(&format!("\nPid: {}\n", run.child.id())),
        "{info}"
    );
    assert!(info.contains("\nUptime_sec: "), "{info}");
    assert!(info.ends_with("\n\n"), "{info}");

    let state = cli(&run.sock(), "show servers state");
    let lines: Vec<&str> = state.lines().collect();
    assert_eq!(lines.first(), Some(&"1"), "{state}");
    assert!(
        lines.get(1).is_some_and(|l| l.starts_with(
            "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight"
        )),
        "{state}"
    );
    assert!(
        lines
            .get(2)
            .is_some_and(|l| l.starts_with("3 be 1 s1 127.0.0.1 2 0 1 1 ")),
        "{state}"
    );
    assert!(
        lines
            .get(2)
            .is_some_and(|l| l.ends_with(&format!(" - {s1} - 0 0 - - 0"))),
        "{state}"
    );
    assert!(
        lines
            .get(3)
            .is_some_and(|l| l.starts_with("3 be 2 s2 127.0.0.1 2 0 3 3 ")),
        "{state}"
    );
    // One backend only; an unknown one.
    assert_eq!(cli(&run.sock(), "show servers state be").lines().count(), 5);
    assert!(cli(&run.sock(), "show servers state nope").starts_with("Can't find backend."));
    // Several commands on a line, each answer ending with an empty line.
    let two = cli(&run.sock(), "show version;show backend");
    assert!(two.ends_with("\n\n# name\nbe\n\n"), "{two:?}");
}

#[test]
fn disable_and_enable_server_change_the_traffic() {
    let (s1, s2, port) = (backend("one"), backend("two"), free_port());
    let run = start(&config(port, s1, s2, ""), port, &[], &[]);
    let seen: Vec<String> = (0..8).map(|_| get(port)).collect();
    assert!(seen.iter().any(|b| b == "one"), "{seen:?}");
    assert!(seen.iter().any(|b| b == "two"), "{seen:?}");

    assert_eq!(cli(&run.sock(), "disable server be/s2"), "\n");
    let state = cli(&run.sock(), "show servers state be");
    assert!(state.contains("\n3 be 2 s2 127.0.0.1 0 1 3 3 "), "{state}");
    let seen: Vec<String> = (0..8).map(|_| get(port)).collect();
    assert!(seen.iter().all(|b| b == "one"), "{seen:?}");
    let stat = cli(&run.sock(), "show stat");
    assert!(stat.contains("\nbe,s2,0,0,0,0,,"), "{stat}");
    assert!(stat.contains(",MAINT,"), "{stat}");

    assert_eq!(cli(&run.sock(), "enable server be/s2"), "\n");
    let seen: Vec<String> = (0..8).map(|_| get(port)).collect();
    assert!(seen.iter().any(|b| b == "two"), "{seen:?}");

    // Drain: no new balanced traffic; ready brings it back.
    cli(&run.sock(), "set server be/s1 state drain");
    let seen: Vec<String> = (0..6).map(|_| get(port)).collect();
    assert!(seen.iter().all(|b| b == "two"), "{seen:?}");
    assert!(cli(&run.sock(), "show servers state be").contains("\n3 be 1 s1 127.0.0.1 2 8 1 1 "));
    cli(&run.sock(), "set server be/s1 state ready");
    let seen: Vec<String> = (0..8).map(|_| get(port)).collect();
    assert!(seen.iter().any(|b| b == "one"), "{seen:?}");
    let errors = std::fs::read_to_string(&run.stderr).unwrap_or_default();
    assert!(
        errors.contains("Server be/s2 is going DOWN for maintenance."),
        "{errors}"
    );
}

#[test]
fn set_and_get_weight() {
    let (s1, s2, port) = (backend("one"), backend("two"), free_port());
    let run = start(&config(port, s1, s2, ""), port, &[], &[]);
    assert_eq!(cli(&run.sock(), "get weight be/s2"), "3 (initial 3)\n\n");
    assert_eq!(cli(&run.sock(), "set weight be/s2 10"), "\n");
    assert_eq!(cli(&run.sock(), "get weight be/s2"), "10 (initial 3)\n\n");
    assert_eq!(
        cli(&run.sock(), "set server be/s2 weight 200%;get weight be/s2"),
        "\n6 (initial 3)\n\n"
    );
    // Weight 0 takes the server out of the balancing.
    cli(&run.sock(), "set weight be/s1 0");
    let seen: Vec<String> = (0..6).map(|_| get(port)).collect();
    assert!(seen.iter().all(|b| b == "two"), "{seen:?}");
    assert!(cli(&run.sock(), "set weight be/s1 300").contains("between 0 and 256"));
    assert_eq!(
        cli(&run.sock(), "get weight be/nope"),
        "No such server.\n\n"
    );
    assert_eq!(
        cli(&run.sock(), "get weight nope/s1"),
        "No such backend.\n\n"
    );
    assert_eq!(
        cli(&run.sock(), "get weight be"),
        "Require 'backend/server'.\n\n"
    );
}

#[test]
fn show_stat_csv() {
    let (s1, s2, port) = (backend("one"), backend("two"), free_port());
    let run = start(&config(port, s1, s2, ""), port, &[], &[]);
    let stat = cli(&run.sock(), "show stat");
    let mut lines = stat.lines();
    let header = lines.next().unwrap_or_default();
    assert!(
        header.starts_with("# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,"),
        "{header}"
    );
    assert!(header.ends_with(",proto,priv_idle_cur,"), "{header}");
    let columns = header.trim_start_matches("# ").split(',').count();
    let s2_line = stat
        .lines()
        .find(|l| l.starts_with("be,s2,"))
        .unwrap_or_default();
    assert_eq!(s2_line.split(',').count(), columns, "{s2_line}");
    let fields: Vec<&str> = s2_line.split(',').collect();
    assert_eq!(fields.get(17), Some(&"no check"), "{s2_line}");
    assert_eq!(fields.get(18), Some(&"3"), "{s2_line}");
    assert_eq!(
        fields.get(73).map(|a| a.to_string()),
        Some(format!("127.0.0.1:{s2}"))
    );
    assert!(stat.contains("\nfe,FRONTEND,"), "{stat}");
    assert!(stat.contains("\nbe,BACKEND,"), "{stat}");
    let typed = cli(&run.sock(), "show stat be 4 2 typed");
    assert!(
        typed.contains("S.3.2.17.status.1:MGP:str:no check\n"),
        "{typed}"
    );
}

#[test]
fn inherited_fd_stats_socket_and_bad_commands() {
    let (s1, s2, port) = (backend("one"), backend("two"), free_port());
    let cli_listener = TcpListener::bind("127.0.0.1:0").expect("cli listener");
    let cli_addr = cli_listener.local_addr().expect("addr");
    let fd = std::os::fd::AsRawFd::as_raw_fd(&cli_listener);
    let global = "    stats socket \"fd@${CLI}\" level operator\n";
    let run = start(
        &config(port, s1, s2, global),
        port,
        &[("CLI", fd.to_string())],
        &[fd],
    );
    let tcp = |line: &str| {
        let mut s = TcpStream::connect(cli_addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        s.write_all(format!("{line}\n").as_bytes()).expect("send");
        let mut out = String::new();
        s.read_to_string(&mut out).expect("read");
        out
    };
    let state = tcp("show servers state");
    assert!(state.starts_with("1\n# be_id be_name"), "{state}");
    assert_eq!(tcp("show cli level"), "operator\n\n");
    // Operator level: no changes.
    assert_eq!(tcp("disable server be/s1"), "Permission denied\n\n");
    let unknown = tcp("frobnicate now");
    assert!(unknown.starts_with("Unknown command"), "{unknown}");
    assert!(unknown.contains("show servers state"), "{unknown}");
    assert_eq!(tcp("show table t"), "No such table: 't'.\n\n");
    let unsupported = tcp("show map m");
    assert!(
        unsupported.contains("not supported by Sluice yet"),
        "{unsupported}"
    );
    // Garbage does not hurt the worker.
    let _ = tcp("\u{1}\u{2}\\;;;\\");
    assert!(["one", "two"].contains(&get(port).as_str()));
    drop(run);
}

#[test]
fn prompt_mode_keeps_the_session() {
    let (s1, s2, port) = (backend("one"), backend("two"), free_port());
    let run = start(&config(port, s1, s2, ""), port, &[], &[]);
    let mut s = UnixStream::connect(run.sock()).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s.write_all(b"prompt\nshow version\nquit\n").expect("send");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    assert!(out.starts_with("\n> 3.4"), "{out:?}");
    assert!(out.ends_with("\n\n> "), "{out:?}");
}

/// An agent (`agent-check`) answering each connection with the current `reply`.
fn agent(reply: std::sync::Arc<std::sync::Mutex<String>>) -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { return };
            let line = reply.lock().map(|r| r.clone()).unwrap_or_default();
            let _ = s.write_all(line.as_bytes());
        }
    });
    port
}

#[test]
fn an_agent_sets_weight_state_and_health() {
    let port = free_port();
    let (s1, s2) = (backend("s1"), backend("s2"));
    let reply = std::sync::Arc::new(std::sync::Mutex::new("50%,drain\n".to_string()));
    let a = agent(reply.clone());
    let cfg = format!(
        "global\n    stats socket @DIR@/stats.sock level admin mode 600\n\
         defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\n\
         frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\n\n\
         backend be\n    balance roundrobin\n\
         \x20   server s1 127.0.0.1:{s1} weight 100 agent-check agent-port {a} agent-inter 300ms\n\
         \x20   server s2 127.0.0.1:{s2} weight 100\n"
    );
    let run = start(&cfg, port, &[], &[]);
    let s1_line = |run: &Running| {
        cli(&run.sock(), "show servers state be")
            .lines()
            .find(|l| l.contains(" s1 "))
            .unwrap_or_default()
            .to_string()
    };
    // be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight ...
    let fields = |l: &str| l.split(' ').map(str::to_string).collect::<Vec<_>>();
    let drained = wait_until(Duration::from_secs(5), || {
        let f = fields(&s1_line(&run));
        f.get(6).map(String::as_str) == Some("8") && f.get(7).map(String::as_str) == Some("50")
    });
    assert!(drained, "{}", s1_line(&run));
    // Draining: new balanced traffic goes to s2 only.
    for _ in 0..4 {
        assert_eq!(get(port), "s2");
    }
    // The agent says the server is down: it stays out even when ready again.
    *reply.lock().expect("reply") = "ready,100%,down # maintenance\n".to_string();
    let down = wait_until(Duration::from_secs(5), || {
        let f = fields(&s1_line(&run));
        f.get(5).map(String::as_str) == Some("0") && f.get(6).map(String::as_str) == Some("0")
    });
    assert!(down, "{}", s1_line(&run));
    for _ in 0..4 {
        assert_eq!(get(port), "s2");
    }
    // And back up: round robin reaches s1 again, and the agent's maxconn is the limit.
    *reply.lock().expect("reply") = "up,maxconn:30\n".to_string();
    let back = wait_until(Duration::from_secs(5), || (0..2).any(|_| get(port) == "s1"));
    assert!(
        back,
        "{}\n{}",
        s1_line(&run),
        std::fs::read_to_string(&run.stderr).unwrap_or_default()
    );
    // `slim` (the 7th column of `show stat`) carries the limit the agent set.
    let limited = wait_until(Duration::from_secs(5), || {
        cli(&run.sock(), "show stat")
            .lines()
            .find(|l| l.starts_with("be,s1,"))
            .is_some_and(|l| l.split(',').nth(6) == Some("30"))
    });
    assert!(limited, "{}", cli(&run.sock(), "show stat"));
}

/// One request on a new connection; the whole answer.
fn get_answer(port: u16) -> String {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn process_wide_variables_are_shared_set_at_start_and_on_the_api() {
    let (s1, s2, port) = (backend("one"), backend("two"), free_port());
    let global = "    set-var proc.base int(100)\n    set-var-fmt proc.greeting \"hello %[var(proc.base)]\"\n";
    let mut cfg = config(port, s1, s2, global);
    cfg = cfg.replace(
        "    default_backend be\n",
        "    http-request set-var(proc.hits) var(proc.hits,0),add(1)\n    http-response set-header x-hits \"%[var(proc.hits)] %[var(proc.greeting)]\"\n    default_backend be\n",
    );
    let run = start(&cfg, port, &[], &[]);

    // Every connection and thread sees the same counter.
    assert!(get_answer(port).contains("\r\nx-hits: 1 hello 100\r\n"));
    assert!(get_answer(port).contains("\r\nx-hits: 2 hello 100\r\n"));
    assert_eq!(
        cli(&run.sock(), "get var proc.hits"),
        "proc.hits: type=sint value=<2>\n\n"
    );
    assert_eq!(
        cli(&run.sock(), "get var proc.greeting"),
        "proc.greeting: type=str value=<hello 100>\n\n"
    );
    assert_eq!(
        cli(&run.sock(), "get var proc.nothing"),
        "Variable not found.\n\n"
    );

    // Setting needs the experimental mode.
    let refused = cli(&run.sock(), "set var proc.hits int(10)");
    assert!(refused.contains("experimental mode"), "{refused}");
    let set = cli(
        &run.sock(),
        "experimental-mode on; set var proc.hits expr int(10)",
    );
    assert_eq!(set.trim(), "", "{set}");
    assert!(get_answer(port).contains("\r\nx-hits: 11 hello 100\r\n"));
}

#[test]
fn set_maxconn_server_changes_the_limit_show_stat_reports() {
    let (s1, s2, port) = (backend("one"), backend("two"), free_port());
    let run = start(&config(port, s1, s2, ""), port, &[], &[]);
    let slim = |run: &Running| {
        cli(&run.sock(), "show stat")
            .lines()
            .find(|l| l.starts_with("be,s1,"))
            .and_then(|l| l.split(',').nth(6).map(str::to_string))
            .unwrap_or_default()
    };
    assert_eq!(slim(&run), "");
    assert_eq!(cli(&run.sock(), "set maxconn server be/s1 7"), "\n");
    assert_eq!(slim(&run), "7");
    let bad = cli(&run.sock(), "set maxconn server be/s1 lots");
    assert!(bad.contains("Integer value expected"), "{bad}");
    // Traffic still flows under the limit.
    assert!(["one", "two"].contains(&get(port).as_str()));
}
