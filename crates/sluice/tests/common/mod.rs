//! Running the real binary in a temporary directory.

#![allow(dead_code)]

pub mod http;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::LazyLock;

/// The spec's `ok.cfg`: valid, one frontend listening, one backend; as root it draws no
/// advisory warning (chroot and uid are set). The frontend's port is chosen by the OS once per
/// test process, so that the environment check never finds it taken by another program.
pub fn ok_cfg() -> &'static str {
    static OK_CFG: LazyLock<String> = LazyLock::new(|| {
        format!(
            "global
    chroot /
    uid 0

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend f
    bind 127.0.0.1:{}
    default_backend b

backend b
    server s1 127.0.0.1:18081
",
            free_port()
        )
    });
    &OK_CFG
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// A temporary directory holding configuration files.
pub struct Dir {
    pub dir: tempfile::TempDir,
}

impl Dir {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temporary directory"),
        }
    }

    /// Writes `name` (relative) with `text`, creating parent directories.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&path, text).expect("write config");
        path
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs sluice with `args` in this directory.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, None)
    }

    pub fn run_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Run {
        self.run_with_env(args, stdin, &[])
    }

    /// Runs with extra environment variables; `SLUICE_CHECK_ENV` is cleared unless given, so
    /// that the caller's environment cannot change the policy under test.
    pub fn run_with_env(&self, args: &[&str], stdin: Option<&str>, vars: &[(&str, &str)]) -> Run {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(args)
            .current_dir(self.path())
            .env_remove("NO_COLOR")
            .env_remove("SLUICE_CHECK_ENV")
            .envs(vars.iter().copied())
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run sluice");
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes()).expect("write stdin");
        }
        Run::from(child.wait_with_output().expect("wait for sluice"))
    }
}

/// What one run printed and returned.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    /// stderr lines with the varying pid replaced by `PID`, as the spec quotes them.
    pub fn stderr_lines(&self) -> Vec<String> {
        self.stderr.lines().map(mask_pid).collect()
    }
}

fn mask_pid(line: &str) -> String {
    match (line.find(" ("), line.find(") : ")) {
        (Some(open), Some(close)) if line.starts_with('[') && open < close => {
            format!("{} (PID{}", &line[..open], &line[close..])
        }
        _ => line.to_string(),
    }
}
