//! The readiness pipe: one line from a new worker to the master, `READY` once it serves, or a
//! structured diagnostic as one JSON line when it cannot start (spec R7.1). The master decides
//! on the line and on the worker's exit status together; nothing else travels on the pipe.

use serde::{Deserialize, Serialize};
use sluice_config::{Diagnostic, SourceMap};
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;

/// The word a worker writes once it serves traffic.
pub const READY: &str = "READY";

/// Why a worker could not start: what the master prints with its cause and config line.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerDiagnostic {
    pub code: String,
    pub message: String,
    #[serde(default)]
    pub os_error: Option<String>,
    #[serde(default)]
    pub file: Option<String>,
    #[serde(default)]
    pub line: Option<u32>,
    #[serde(default)]
    pub help: Option<String>,
}

impl WorkerDiagnostic {
    /// A configuration diagnostic with its location resolved to a file name.
    pub fn from_diagnostic(d: &Diagnostic, sources: &SourceMap) -> Self {
        Self {
            code: d.code.to_string(),
            message: d.message.clone(),
            os_error: d.os_error.clone(),
            file: d.location.map(|l| sources.name(l.file).to_string()),
            line: d.location.map(|l| l.line),
            help: d.help.clone(),
        }
    }

    /// `message: os error (file:line)`.
    pub fn summary(&self) -> String {
        let mut text = self.message.trim_end_matches('.').to_string();
        if let Some(os) = &self.os_error {
            text.push_str(": ");
            text.push_str(os);
        }
        match (&self.file, self.line) {
            (Some(file), Some(line)) => text.push_str(&format!(" ({file}:{line})")),
            (Some(file), None) => text.push_str(&format!(" ({file})")),
            _ => {}
        }
        text
    }
}

/// What a worker said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Report {
    Ready,
    Failed(WorkerDiagnostic),
}

/// Reads one report line; `None` for a line that is neither (a worker of another version).
pub fn parse_line(line: &str) -> Option<Report> {
    let line = line.trim();
    if line == READY {
        return Some(Report::Ready);
    }
    serde_json::from_str::<WorkerDiagnostic>(line)
        .ok()
        .map(Report::Failed)
}

/// The worker's end of the pipe. Each method consumes it: one report per worker.
#[derive(Debug)]
pub struct ReadyWriter {
    file: std::fs::File,
}

impl ReadyWriter {
    pub fn new(fd: OwnedFd) -> Self {
        Self { file: fd.into() }
    }

    pub fn ready(mut self) -> io::Result<()> {
        self.file.write_all(format!("{READY}\n").as_bytes())
    }

    pub fn failed(mut self, diagnostic: &WorkerDiagnostic) -> io::Result<()> {
        let mut line = serde_json::to_string(diagnostic).map_err(io::Error::other)?;
        line.push('\n');
        self.file.write_all(line.as_bytes())
    }
}

/// The master's end of one worker's pipe, read without blocking.
#[derive(Debug)]
pub struct ReadyReader {
    file: std::fs::File,
    buffer: Vec<u8>,
    report: Option<Report>,
    eof: bool,
}

impl ReadyReader {
    /// `fd` must be non-blocking.
    pub fn new(fd: OwnedFd) -> Self {
        Self {
            file: fd.into(),
            buffer: Vec::new(),
            report: None,
            eof: false,
        }
    }

    pub fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.file.as_fd()
    }

    pub fn is_eof(&self) -> bool {
        self.eof
    }

    /// Reads what is there; returns the report once a full line arrived.
    pub fn poll(&mut self) -> Option<&Report> {
        let mut chunk = [0u8; 4096];
        while !self.eof && self.buffer.len() < 64 * 1024 {
            match self.file.read(&mut chunk) {
                Ok(0) => self.eof = true,
                Ok(n) => self.buffer.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // WouldBlock: nothing more now; any other error ends the pipe.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => self.eof = true,
            }
        }
        if self.report.is_none() {
            if let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
                let line = String::from_utf8_lossy(&self.buffer[..end]).into_owned();
                self.report = parse_line(&line);
            }
        }
        self.report.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let (r, w) = nix::unistd::pipe().expect("pipe");
        let d = WorkerDiagnostic {
            code: "chroot-failed".into(),
            message: "chroot to '/dummydir' failed".into(),
            os_error: Some("No such file or directory".into()),
            file: Some("f.cfg".into()),
            line: Some(2),
            help: None,
        };
        ReadyWriter::new(w).failed(&d).expect("write");
        let mut reader = ReadyReader::new(r);
        assert_eq!(reader.poll(), Some(&Report::Failed(d.clone())));
        assert_eq!(
            d.summary(),
            "chroot to '/dummydir' failed: No such file or directory (f.cfg:2)"
        );
        assert_eq!(parse_line("READY\n"), Some(Report::Ready));
        assert_eq!(parse_line("garbage"), None);
    }
}
