//! End-to-end: `option external-check` with the real binary: the program runs with HAProxy's
//! arguments and environment, its exit status decides, `timeout check` kills a slow one, and
//! `sluice -c` names a program the workers could not run.

use std::net::UdpSocket;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

mod common;
use common::free_port;
use common::http::Sluice;

/// A syslog server on 127.0.0.1.
struct Syslog {
    sock: UdpSocket,
    port: u16,
}

impl Syslog {
    fn new() -> Syslog {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind syslog");
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        let port = sock.local_addr().expect("address").port();
        Syslog { sock, port }
    }

    /// The first line that contains `needle`, within 10 s.
    fn line_with(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while Instant::now() < deadline {
            if let Ok(n) = self.sock.recv(&mut buf) {
                let line = String::from_utf8_lossy(&buf[..n]).into_owned();
                if line.contains(needle) {
                    return line;
                }
                seen.push(line);
            }
        }
        panic!("no line with {needle:?} in {seen:#?}");
    }
}

fn script(dir: &Path, name: &str, body: &str, mode: u32) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write the script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    path.display().to_string()
}

const DEFAULTS: &str = "defaults\n  mode http\n  timeout client 5s\n  timeout server 5s\n  timeout connect 1s\n  option log-health-checks\n";

#[test]
fn the_program_gets_haproxys_arguments_and_environment_and_its_status_decides() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let out = dir.path().join("seen.txt");
    let ok = script(
        dir.path(),
        "ok.sh",
        &format!(
            "{{ echo \"args: $*\"; env; }} > {}.tmp && mv {0}.tmp {0}\nexit 0",
            out.display()
        ),
        0o755,
    );
    let failing = script(dir.path(), "fail.sh", "exit 3", 0o755);
    let slow = script(dir.path(), "slow.sh", "exec /bin/sleep 5", 0o755);
    let syslog = Syslog::new();
    let (fe, srv) = (free_port(), free_port());
    let log = format!("  log 127.0.0.1:{} daemon\n", syslog.port);
    let cfg = format!(
        "global\n  external-check\n  insecure-fork-wanted\n{DEFAULTS}\
         listen fe\n  bind 127.0.0.1:{fe}\n  http-request return status 200\n\
         backend ok\n{log}  option external-check\n  external-check command {ok}\n  external-check path \"/usr/bin:/bin\"\n\
         \x20 server srv 127.0.0.1:{srv} check inter 200ms rise 1 fall 1 maxconn 7\n\
         backend failing\n{log}  option external-check\n  external-check command {failing}\n\
         \x20 server srv 127.0.0.1:{srv} check inter 200ms rise 1 fall 1\n\
         backend slow\n{log}  timeout check 200ms\n  option external-check\n  external-check command {slow}\n\
         \x20 server srv 127.0.0.1:{srv} check inter 1s rise 1 fall 1\n"
    );
    let _sluice = Sluice::start(&cfg, &[fe]);
    let line = syslog.line_with("server ok/srv");
    assert!(
        line.contains("Health check for server ok/srv succeeded, reason: External check passed, code: 0, check duration: "),
        "{line}"
    );
    let line = syslog.line_with("server failing/srv");
    assert!(
        line.contains("Health check for server failing/srv failed, reason: External check error, code: 3, check duration: "),
        "{line}"
    );
    let started = Instant::now();
    let line = syslog.line_with("server slow/srv");
    assert!(
        line.contains("Health check for server slow/srv failed, reason: External check timeout, check duration: "),
        "{line}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the slow program was killed"
    );

    let seen = std::fs::read_to_string(&out).expect("the program ran");
    // A backend has no listener: both proxy arguments read NOT_USED.
    assert!(
        seen.starts_with(&format!("args: NOT_USED NOT_USED 127.0.0.1 {srv}\n")),
        "{seen}"
    );
    for var in [
        "HAPROXY_PROXY_NAME=ok",
        "HAPROXY_PROXY_ID=2",
        "HAPROXY_PROXY_ADDR=",
        "HAPROXY_SERVER_NAME=srv",
        "HAPROXY_SERVER_ID=1",
        "HAPROXY_SERVER_ADDR=127.0.0.1",
        &format!("HAPROXY_SERVER_PORT={srv}"),
        "HAPROXY_SERVER_MAXCONN=7",
        "HAPROXY_SERVER_CURCONN=0",
        "HAPROXY_SERVER_SSL=0",
        "HAPROXY_SERVER_PROTO=h1",
        "PATH=/usr/bin:/bin",
    ] {
        assert!(seen.lines().any(|l| l == var), "{var} in {seen}");
    }
    // The environment starts empty: nothing of the test's own.
    assert!(!seen.contains("CARGO"), "{seen}");
}

/// `sluice -c -f <cfg>`: exit code and stderr.
fn check_mode(path: &Path) -> (Option<i32>, String) {
    let run = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("-c")
        .arg("-f")
        .arg(path)
        .output()
        .expect("run sluice -c");
    (
        run.status.code(),
        String::from_utf8_lossy(&run.stderr).into_owned(),
    )
}

#[test]
fn check_mode_names_a_program_the_workers_could_not_run() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let not_executable = script(dir.path(), "plain.sh", "exit 0", 0o644);
    let missing = dir.path().join("missing.sh").display().to_string();
    let cfg_path = dir.path().join("haproxy.cfg");
    let cfg = format!(
        "global\n  external-check\n  insecure-fork-wanted\n{DEFAULTS}\
         backend a\n  option external-check\n  external-check command {missing}\n  server srv 127.0.0.1:80 check\n\
         backend b\n  option external-check\n  external-check command {not_executable}\n  server srv 127.0.0.1:80 check\n"
    );
    std::fs::write(&cfg_path, cfg).expect("write the configuration");
    let (code, stderr) = check_mode(&cfg_path);
    assert_eq!(code, Some(1), "{stderr}");
    let file = cfg_path.display();
    assert!(
        stderr.contains(&format!(
            "parsing [{file}:12] : 'external-check command' : program '{missing}' does not exist (No such file or directory)"
        )),
        "{stderr}"
    );
    // Run as root, the file needs an execute bit for someone.
    assert!(
        stderr.contains(&format!("parsing [{file}:16] : 'external-check command' : program '{not_executable}' is not executable by uid ")),
        "{stderr}"
    );
}

#[test]
fn check_mode_refuses_an_incomplete_external_check_or_an_unknown_section() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let cfg_path = dir.path().join("haproxy.cfg");
    let cfg = format!(
        "{DEFAULTS}\
         backend c\n  option external-check\n  server srv 127.0.0.1:80 check\n\
         backend d\n  server srv 127.0.0.1:80 check healthcheck nowhere\n"
    );
    std::fs::write(&cfg_path, cfg).expect("write the configuration");
    let (code, stderr) = check_mode(&cfg_path);
    assert_eq!(code, Some(1), "{stderr}");
    let file = cfg_path.display();
    for needed in [
        "'external-check command <program>' in the proxy or its defaults",
        "'external-check' in the global section",
        "'insecure-fork-wanted' in the global section",
    ] {
        assert!(
            stderr.contains(&format!(
                "parsing [{file}:8] : backend 'c' : 'option external-check' needs {needed}"
            )),
            "{needed} in {stderr}"
        );
    }
    assert!(
        stderr.contains(&format!(
            "parsing [{file}:11] : backend 'd', server 'srv' : no healthcheck section named 'nowhere'"
        )),
        "{stderr}"
    );
}
