//! End to end: the process model with the real binary (spec sections 6 and 7, tests T6.x and
//! T7.x). Every test picks its ports from the OS, works in a temporary directory and kills
//! what it starts (the [`Running`] guard). Tests that need root say so and return.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind :0");
    l.local_addr().expect("addr").port()
}

fn is_root() -> bool {
    nix_uid() == 0
}

fn nix_uid() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(str::to_string))
        })
        .and_then(|u| u.parse().ok())
        .unwrap_or(u32::MAX)
}

fn config(port: u16, global_extra: &str) -> String {
    format!(
        "global\n{global_extra}\n\ndefaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n\nfrontend f\n    bind 127.0.0.1:{port}\n    default_backend b\n\nbackend b\n    server s1 127.0.0.1:1\n"
    )
}

/// A started sluice: stderr goes to a file read while it runs; killed on drop.
struct Running {
    child: Option<Child>,
    pid: i32,
    stderr: PathBuf,
    dir: PathBuf,
}

impl Running {
    fn start(dir: &Path, args: &[&str]) -> Running {
        let stderr = dir.join(format!(
            "stderr-{}.txt",
            Instant::now().elapsed().as_nanos()
        ));
        let err = File::create(&stderr).expect("stderr file");
        let child = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(args)
            .current_dir(dir)
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(err))
            .spawn()
            .expect("spawn sluice");
        Running {
            pid: child.id() as i32,
            child: Some(child),
            stderr,
            dir: dir.to_path_buf(),
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn wait_for_stderr(&self, needle: &str, timeout: Duration) -> bool {
        wait_until(timeout, || self.stderr().contains(needle))
    }

    fn signal(&self, signal: i32) {
        send(self.pid, signal);
    }

    /// The exit code (128 + signal when killed), waiting at most `timeout`.
    fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let child = self.child.as_mut()?;
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                use std::os::unix::process::ExitStatusExt;
                self.child = None;
                return Some(
                    status
                        .code()
                        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    fn workers(&self) -> Vec<i32> {
        children_of(self.pid)
    }

    fn cli(&self, command: &str) -> String {
        cli(&self.dir.join("m.sock"), command)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let workers = children_of(self.pid);
            let _ = child.kill();
            let _ = child.wait();
            for w in workers {
                send(w, 9);
            }
        }
    }
}

fn send(pid: i32, signal: i32) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status();
}

fn children_of(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Ok(child) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
                continue;
            };
            // pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'.
            let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
            let mut fields = after.split_whitespace();
            let state = fields.next().unwrap_or("");
            let ppid: i32 = fields.next().and_then(|p| p.parse().ok()).unwrap_or(0);
            if ppid == pid && state != "Z" {
                out.push(child);
            }
        }
    }
    out.sort_unstable();
    out
}

fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}

fn cli(path: &Path, command: &str) -> String {
    let Ok(mut stream) = UnixStream::connect(path) else {
        return String::new();
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
    let _ = stream.write_all(format!("{command}\n").as_bytes());
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}

fn http_get(port: u16) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(answer)
}

fn serves(port: u16) -> bool {
    http_get(port).is_ok_and(|a| a.starts_with("HTTP/1.1 "))
}

/// HAProxy's "bug in haproxy" text or our crash hint (not "debug" in a path).
fn blames_itself(text: &str) -> bool {
    let text = text.to_lowercase();
    text.contains("bug in") || text.contains("bug report") || text.contains("report it")
}

const LONG: Duration = Duration::from_secs(10);

/// Starts `-W -S m.sock` on `cfg` and waits for the first worker.
fn start_master(dir: &Path, extra: &[&str]) -> Running {
    let socket = dir.join("m.sock").display().to_string();
    let mut args = vec!["-W", "-S", socket.as_str(), "-f", "h.cfg"];
    args.extend_from_slice(extra);
    let running = Running::start(dir, &args);
    assert!(
        running.wait_for_stderr("Loading success.", LONG),
        "no start: {}",
        running.stderr()
    );
    running
}

#[test]
fn t6_1_chroot_failing_inside_the_worker_is_reported_with_its_cause() {
    if !is_root() {
        eprintln!("skipped: chroot needs root");
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let jail = dir.path().join("missing-jail");
    let port = free_port();
    std::fs::write(
        dir.path().join("h.cfg"),
        config(port, &format!("    chroot {}", jail.display())),
    )
    .expect("write");
    let mut run = Running::start(dir.path(), &["-W", "--check-env=off", "-f", "h.cfg"]);
    assert_eq!(run.wait_exit(LONG), Some(1));
    let err = run.stderr();
    assert!(err.contains(&jail.display().to_string()), "{err}");
    assert!(err.contains("No such file or directory"), "{err}");
    assert!(err.contains("h.cfg:2"), "{err}");
    assert!(err.contains("Failed to load worker ("), "{err}");
    assert!(err.contains("exited with code 1 (Exit)"), "{err}");
    assert!(!err.contains("Loading success."), "{err}");
    assert!(!blames_itself(&err), "{err}");
}

#[test]
fn t6_2_daemon_launcher_tells_the_truth_about_a_failed_start() {
    if !is_root() {
        eprintln!("skipped: chroot needs root");
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let port = free_port();
    std::fs::write(
        dir.path().join("h.cfg"),
        config(port, "    chroot /nonexistent-sluice-jail"),
    )
    .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["-W", "-D", "--check-env=off", "-f", "h.cfg"])
        .current_dir(dir.path())
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("exited with code 1 (Exit)"), "{err}");
    assert!(err.contains("Process "), "{err}");
}

#[test]
fn t6_3_daemon_master_worker_good_config() {
    let dir = tempfile::tempdir().expect("tmp");
    let port = free_port();
    std::fs::write(dir.path().join("h.cfg"), config(port, "")).expect("write");
    let pidfile = dir.path().join("s.pid");
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["-W", "-D", "--check-env=warn", "-p"])
        .arg(&pidfile)
        .args(["-f", "h.cfg"])
        .current_dir(dir.path())
        .output()
        .expect("run");
    let text = std::fs::read_to_string(&pidfile).unwrap_or_default();
    let master: i32 = text.trim().parse().unwrap_or(0);
    // Whatever happens next, the daemon goes.
    struct Kill(i32);
    impl Drop for Kill {
        fn drop(&mut self) {
            if self.0 > 0 {
                let workers = children_of(self.0);
                send(self.0, 9);
                for w in workers {
                    send(w, 9);
                }
            }
        }
    }
    let _guard = Kill(master);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(master > 0, "pidfile: {text:?}");
    assert!(Path::new(&format!("/proc/{master}")).exists());
    assert!(wait_until(LONG, || !children_of(master).is_empty()));
    assert!(serves(port));
    // Master and worker share a new session.
    let sid = |pid: i32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| {
                s.rsplit_once(')')
                    .and_then(|(_, r)| r.split_whitespace().nth(3).map(str::to_string))
            })
            .unwrap_or_default()
    };
    assert_eq!(sid(master), master.to_string());
    for w in children_of(master) {
        assert_eq!(sid(w), master.to_string());
    }
    send(master, 15);
    assert!(wait_until(LONG, || !Path::new(&format!("/proc/{master}"))
        .exists()
        || std::fs::read_to_string(format!("/proc/{master}/stat"))
            .is_ok_and(|s| s.contains(") Z"))));
}

#[test]
fn t7_1_reload_with_a_chroot_failing_in_the_worker_keeps_the_old_worker() {
    if !is_root() {
        eprintln!("skipped: chroot needs root");
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let port = free_port();
    let cfg = dir.path().join("h.cfg");
    std::fs::write(&cfg, config(port, "")).expect("write");
    let run = start_master(dir.path(), &["--check-env=off"]);
    let old = run.workers();
    assert_eq!(old.len(), 1);
    std::fs::write(&cfg, config(port, "    chroot /nonexistent-sluice-jail")).expect("write");
    let answer = run.cli("reload");
    assert!(answer.starts_with("Success=0\n--\n"), "{answer}");
    assert!(answer.contains("Failed to load worker ("), "{answer}");
    assert!(answer.contains("/nonexistent-sluice-jail"), "{answer}");
    assert!(answer.contains("No such file or directory"), "{answer}");
    assert!(!blames_itself(&answer), "{answer}");
    assert!(serves(port), "{}", run.stderr());
    assert_eq!(run.workers(), old);
    let procs = run.cli("show proc");
    let workers_part = procs.split("# workers\n").nth(1).unwrap_or("");
    assert!(
        workers_part.starts_with(&old[0].to_string()),
        "the serving worker is listed under '# workers': {procs}"
    );
    assert!(procs.contains("[failed: 1]"), "{procs}");
}

#[test]
fn t7_1_reload_with_a_missing_chroot_is_refused_by_the_master_check() {
    let dir = tempfile::tempdir().expect("tmp");
    let port = free_port();
    let cfg = dir.path().join("h.cfg");
    std::fs::write(&cfg, config(port, "")).expect("write");
    let run = start_master(dir.path(), &["--check-env=warn"]);
    let old = run.workers();
    std::fs::write(&cfg, config(port, "    chroot /nonexistent-sluice-jail")).expect("write");
    let answer = Running::cli(&run, "reload");
    assert!(answer.starts_with("Success=0\n--\n"), "{answer}");
    assert!(answer.contains("/nonexistent-sluice-jail"), "{answer}");
    assert!(serves(port));
    assert_eq!(run.workers(), old);
}

#[test]
fn t7_2_reload_with_a_lexer_error_keeps_master_and_worker() {
    let dir = tempfile::tempdir().expect("tmp");
    let port = free_port();
    let cfg = dir.path().join("h.cfg");
    std::fs::write(&cfg, config(port, "")).expect("write");
    let run = start_master(dir.path(), &["--check-env=warn"]);
    let old = run.workers();
    std::fs::write(&cfg, config(port, "    description \"unterminated")).expect("write");
    run.signal(12); // SIGUSR2
    assert!(
        run.wait_for_stderr("Master failed to load", LONG),
        "{}",
        run.stderr()
    );
    let procs = run.cli("show proc");
    assert!(procs.contains("master"), "{procs}");
    let answer = run.cli("reload");
    assert!(answer.starts_with("Success=0"), "{answer}");
    assert!(serves(port));
    assert_eq!(run.workers(), old);
}

#[test]
fn t7_3_reload_with_the_config_file_renamed_keeps_master_and_worker() {
    let dir = tempfile::tempdir().expect("tmp");
    let port = free_port();
    let cfg = dir.path().join("h.cfg");
    std::fs::write(&cfg, config(port, "")).expect("write");
    let run = start_master(dir.path(), &["--check-env=warn"]);
    let old = run.workers();
    std::fs::rename(&cfg, dir.path().join("renamed.cfg")).expect("rename");
    let answer = run.cli("reload");
    assert!(answer.starts_with("Success=0"), "{answer}");
    assert!(answer.contains("h.cfg"), "{answer}");
    run.signal(12);
    std::thread::sleep(Duration::from_millis(300));
    assert!(serves(port));
    assert_eq!(run.workers(), old);
    assert!(run.cli("show proc").contains("master"));
}

#[test]
fn t7_5_good_reload_replaces_the_worker() {
    let dir = tempfile::tempdir().expect("tmp");
    let port = free_port();
    std::fs::write(dir.path().join("h.cfg"), config(port, "")).expect("write");
    let run = start_master(dir.path(), &["--check-env=warn"]);
    let old = run.workers();
    assert_eq!(old.len(), 1);
    run.signal(12);
    let line = format!("Former worker ({}) exited with code 0 (Exit)", old[0]);
    assert!(run.wait_for_stderr(&line, LONG), "{}", run.stderr());
    let new = run.workers();
    assert_eq!(new.len(), 1);
    assert_ne!(new, old);
    assert!(serves(port));
    let answer = run.cli("reload");
    assert!(answer.starts_with("Success=1\n--\n"), "{answer}");
    assert!(answer.contains("Loading success."), "{answer}");
    let answer = run.cli("hard-reload");
    assert!(answer.starts_with("Success=1"), "{answer}");
    assert!(run.wait_for_stderr("exited with code 143 (Terminated)", LONG));
}

#[test]
fn t7_6_master_stop_signals_and_exit_codes() {
    for (signal, code) in [(10, 0), (15, 0), (2, 130)] {
        let dir = tempfile::tempdir().expect("tmp");
        let port = free_port();
        std::fs::write(dir.path().join("h.cfg"), config(port, "")).expect("write");
        let mut run = start_master(dir.path(), &["--check-env=warn"]);
        run.signal(signal);
        assert_eq!(
            run.wait_exit(LONG),
            Some(code),
            "signal {signal}: {}",
            run.stderr()
        );
        let err = run.stderr();
        assert!(err.contains("Exiting Master process..."), "{err}");
        assert!(
            err.contains(&format!("All workers exited. Exiting... ({code})")),
            "{err}"
        );
        assert!(!blames_itself(&err), "{err}");
    }
}

#[test]
fn t7_7_sigkill_of_the_worker_is_not_called_a_bug() {
    let dir = tempfile::tempdir().expect("tmp");
    let port = free_port();
    std::fs::write(dir.path().join("h.cfg"), config(port, "")).expect("write");
    let mut run = start_master(dir.path(), &["--check-env=warn"]);
    let workers = run.workers();
    assert_eq!(workers.len(), 1);
    send(workers[0], 9);
    assert_eq!(run.wait_exit(LONG), Some(137), "{}", run.stderr());
    let err = run.stderr();
    assert!(
        err.contains("killed by SIGKILL (out-of-memory killer or an administrator)"),
        "{err}"
    );
    assert!(err.contains("exited with code 137 (Killed)"), "{err}");
    assert!(!blames_itself(&err), "{err}");
}

#[test]
fn t7_8_sigsegv_of_the_worker_suggests_a_report() {
    let dir = tempfile::tempdir().expect("tmp");
    let port = free_port();
    std::fs::write(dir.path().join("h.cfg"), config(port, "")).expect("write");
    let mut run = start_master(dir.path(), &["--check-env=warn"]);
    let workers = run.workers();
    send(workers[0], 11);
    assert_eq!(run.wait_exit(LONG), Some(139), "{}", run.stderr());
    assert!(
        run.stderr().contains("please report it"),
        "{}",
        run.stderr()
    );
}

/// A temporary directory holding an empty `jail` directory, both root-owned and 0755 as a
/// chroot must be.
fn temp_dir_with_jail() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tmp");
    let jail = dir.path().join("jail");
    std::fs::create_dir(&jail).expect("jail");
    let _ = Command::new("chmod").arg("755").arg(dir.path()).status();
    let _ = Command::new("chmod").arg("755").arg(&jail).status();
    (dir, jail)
}

#[test]
fn worker_runs_as_the_configured_user_inside_the_chroot() {
    if !is_root() {
        eprintln!("skipped: changing identity needs root");
        return;
    }
    let (Some(uid), Some(gid)) = (id_of("passwd", "nobody"), id_of("group", "nogroup")) else {
        eprintln!("skipped: no 'nobody' user or 'nogroup' group here");
        return;
    };
    let (dir, jail) = temp_dir_with_jail();
    let port = free_port();
    std::fs::write(
        dir.path().join("h.cfg"),
        config(
            port,
            &format!(
                "    chroot {}\n    user nobody\n    group nogroup",
                jail.display()
            ),
        ),
    )
    .expect("write");
    let run = start_master(dir.path(), &["--check-env=warn"]);
    let workers = run.workers();
    assert_eq!(workers.len(), 1, "{}", run.stderr());
    let status = std::fs::read_to_string(format!("/proc/{}/status", workers[0])).expect("status");
    let line = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    };
    assert_eq!(line("Uid:"), format!("{uid} {uid} {uid} {uid}"));
    assert_eq!(line("Gid:"), format!("{gid} {gid} {gid} {gid}"));
    assert_eq!(line("Groups:"), "");
    let root = std::fs::read_link(format!("/proc/{}/root", workers[0])).expect("root");
    assert_eq!(root, jail.canonicalize().expect("canonical jail"));
    assert!(serves(port));
}

fn id_of(database: &str, name: &str) -> Option<u32> {
    let text = std::fs::read_to_string(format!("/etc/{database}")).ok()?;
    text.lines()
        .find(|l| l.split(':').next() == Some(name))
        .and_then(|l| l.split(':').nth(2))
        .and_then(|n| n.parse().ok())
}

fn fd_count(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// One request on `stream`; `Ok(false)` when the server closed an idle keep-alive connection
/// before answering (the request may be retried on a new connection, RFC 9112 §9.3.1).
fn keep_alive_request(stream: &mut TcpStream) -> std::io::Result<Option<bool>> {
    stream.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")?;
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if buffer.is_empty() && e.kind() == std::io::ErrorKind::ConnectionReset => {
                return Ok(None)
            }
            Err(e) => return Err(e),
        };
        if n == 0 {
            return if buffer.is_empty() {
                Ok(None)
            } else {
                Err(std::io::Error::other("truncated response"))
            };
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).to_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if buffer.len() >= end + 4 + length {
                if !head.starts_with("http/1.1 200") {
                    return Err(std::io::Error::other(head));
                }
                return Ok(Some(!head.contains("connection: close")));
            }
        }
    }
}

/// A keep-alive HTTP/1.1 server answering 200 to every request; returns its port. Its threads
/// end with the test process.
fn backend_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("backend");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut stream = stream;
                let mut buffer = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                        buffer.drain(..end + 4);
                        if stream
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nok\n")
                            .is_err()
                        {
                            return;
                        }
                        continue;
                    }
                    match stream.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                    }
                }
            });
        }
    });
    port
}

#[test]
fn reloads_under_load_lose_nothing_and_leak_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let port = free_port();
    let backend = backend_server();
    let text = config(port, "").replace("127.0.0.1:1\n", &format!("127.0.0.1:{backend}\n"));
    std::fs::write(dir.path().join("h.cfg"), text).expect("write");
    let run = start_master(dir.path(), &["--check-env=warn"]);
    let fds_before = fd_count(run.pid);
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut clients = Vec::new();
    for keep_alive in [true, false] {
        let (stop, done, failures) = (stop.clone(), done.clone(), failures.clone());
        clients.push(std::thread::spawn(move || {
            let mut stream: Option<TcpStream> = None;
            while !stop.load(Ordering::SeqCst) {
                if !keep_alive {
                    match http_get(port) {
                        Ok(a) if a.starts_with("HTTP/1.1 200") => {
                            done.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(a) => failures.lock().expect("lock").push(a),
                        Err(e) => failures.lock().expect("lock").push(e.to_string()),
                    }
                    continue;
                }
                let reused = stream.is_some();
                let s = match stream.take() {
                    Some(s) => s,
                    None => match TcpStream::connect(("127.0.0.1", port)) {
                        Ok(s) => s,
                        Err(e) => {
                            failures.lock().expect("lock").push(e.to_string());
                            continue;
                        }
                    },
                };
                let mut s = s;
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                match keep_alive_request(&mut s) {
                    Ok(Some(keep)) => {
                        done.fetch_add(1, Ordering::SeqCst);
                        if keep {
                            stream = Some(s);
                        }
                    }
                    Ok(None) if reused => {} // closed while idle: retry on a new connection
                    Ok(None) => failures.lock().expect("lock").push("closed".into()),
                    Err(e) => failures.lock().expect("lock").push(e.to_string()),
                }
            }
        }));
    }
    for i in 0..10 {
        let answer = run.cli("reload");
        assert!(answer.starts_with("Success=1"), "reload {i}: {answer}");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        let _ = c.join();
    }
    let failures = failures.lock().expect("lock").clone();
    assert!(
        failures.is_empty(),
        "{} failed requests, first: {:?}",
        failures.len(),
        failures.iter().take(5).collect::<Vec<_>>()
    );
    assert!(done.load(Ordering::SeqCst) > 100, "too few requests");
    assert!(
        wait_until(LONG, || run.workers().len() == 1),
        "leaked workers: {:?}",
        run.workers()
    );
    assert_eq!(
        fd_count(run.pid),
        fds_before,
        "the master leaked descriptors"
    );
}

#[test]
fn master_cli_show_proc_help_and_routing() {
    let dir = tempfile::tempdir().expect("tmp");
    let port = free_port();
    std::fs::write(dir.path().join("h.cfg"), config(port, "")).expect("write");
    let run = start_master(dir.path(), &["--check-env=warn"]);
    let procs = run.cli("show proc");
    assert!(
        procs.starts_with("#<PID>          <type>          <reloads>"),
        "{procs}"
    );
    assert!(
        procs.contains(&format!("{:<15} master", run.pid)),
        "{procs}"
    );
    assert!(run.cli("help").contains("show proc"));
    assert!(run.cli("show startup-logs").contains("Loading success."));
    assert!(run.cli("@1 show info").contains("has no 'stats socket'"));
    assert_eq!(
        run.cli("@2 show info"),
        "Can't find the target PID matching the prefix '@2'\n"
    );
}

#[test]
fn systemd_notifications() {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixDatagram};
    let dir = tempfile::tempdir().expect("tmp");
    let port = free_port();
    std::fs::write(dir.path().join("h.cfg"), config(port, "")).expect("write");
    let name = format!("sluice-test-notify-{}", std::process::id());
    let addr = SocketAddr::from_abstract_name(name.as_bytes()).expect("addr");
    let socket = UnixDatagram::bind_addr(&addr).expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let stderr = dir.path().join("err.txt");
    let child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["-Ws", "--check-env=warn", "-f", "h.cfg"])
        .current_dir(dir.path())
        .env("NOTIFY_SOCKET", format!("@{name}"))
        .stdin(Stdio::null())
        .stderr(Stdio::from(File::create(&stderr).expect("err")))
        .spawn()
        .expect("spawn");
    let mut run = Running {
        pid: child.id() as i32,
        child: Some(child),
        stderr,
        dir: dir.path().to_path_buf(),
    };
    let mut buf = [0u8; 512];
    let mut next = || {
        let n = socket.recv(&mut buf).unwrap_or(0);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    assert_eq!(
        next(),
        format!("READY=1\nMAINPID={}\nSTATUS=Ready.\n", run.pid)
    );
    run.signal(12);
    assert!(next().starts_with("RELOADING=1\nSTATUS=Reloading Configuration.\nMONOTONIC_USEC="));
    assert!(next().starts_with("READY=1\n"));
    run.signal(10);
    assert_eq!(next(), "STOPPING=1\n");
    assert_eq!(run.wait_exit(LONG), Some(0));
}

/// A GET with a Host header; the whole answer.
fn http_get_host(port: u16, host: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET / HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n"
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(answer)
}

#[test]
fn files_and_names_are_loaded_before_the_chroot() {
    // HAProxy reads maps and errorfiles and resolves server names while parsing, before the
    // chroot; a worker that loaded them afterwards would find neither the files nor
    // /etc/hosts inside an empty jail.
    if !is_root() {
        eprintln!("skipped: chroot needs root");
        return;
    }
    let (Some(_), Some(_)) = (id_of("passwd", "nobody"), id_of("group", "nogroup")) else {
        eprintln!("skipped: no 'nobody' user or 'nogroup' group here");
        return;
    };
    let (dir, jail) = temp_dir_with_jail();
    let files = dir.path().display().to_string();
    std::fs::write(dir.path().join("hosts.map"), "api.example be_api\n").expect("map");
    std::fs::write(
        dir.path().join("503.http"),
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: 11\r\nconnection: close\r\n\r\ncustom-503\n",
    )
    .expect("errorfile");
    let (port, api_port) = (free_port(), free_port());
    let text = format!(
        "global\n    chroot {jail}\n    user nobody\n    group nogroup\n\n\
         defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\n\
         frontend f\n    bind 127.0.0.1:{port}\n    use_backend %[req.hdr(host),lower,map({files}/hosts.map,be_dead)]\n\n\
         backend be_api\n    server s1 localhost:{api_port}\n\n\
         backend be_dead\n    errorfile 503 {files}/503.http\n    server s1 127.0.0.1:1\n\n\
         listen api\n    bind 127.0.0.1:{api_port}\n    http-request return status 200 content-type text/plain string from-api\n",
        jail = jail.display(),
    );
    std::fs::write(dir.path().join("h.cfg"), text).expect("write");
    let run = start_master(dir.path(), &["--check-env=warn"]);
    let api = http_get_host(port, "api.example").expect("request routed by the map");
    assert!(
        api.starts_with("HTTP/1.1 200") && api.ends_with("from-api"),
        "{api}\n{}",
        run.stderr()
    );
    let dead = http_get_host(port, "other.example").expect("request to the dead backend");
    assert!(
        dead.starts_with("HTTP/1.1 503") && dead.contains("custom-503"),
        "{dead}\n{}",
        run.stderr()
    );
}
