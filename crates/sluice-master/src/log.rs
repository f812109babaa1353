//! The master's and worker's own messages in HAProxy's form (`[NOTICE]   (pid) : text`), kept
//! per start or reload attempt so that the master CLI can answer `reload` and
//! `show startup-logs` with exactly what was printed.

use sluice_config::render::haproxy::prefix;
use sluice_config::Severity;
use std::io::Write;

/// Prints process messages on stderr and records the current attempt's lines.
#[derive(Debug)]
pub struct Log {
    pid: u32,
    quiet: bool,
    attempt: Vec<String>,
}

impl Log {
    /// `quiet`: `-q` (messages are still recorded for the master CLI).
    pub fn new(quiet: bool) -> Self {
        Self {
            pid: std::process::id(),
            quiet,
            attempt: Vec::new(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn notice(&mut self, text: &str) {
        self.message(Severity::Notice, text);
    }

    pub fn warning(&mut self, text: &str) {
        self.message(Severity::Warning, text);
    }

    pub fn alert(&mut self, text: &str) {
        self.message(Severity::Error, text);
    }

    /// `[LABEL]<pad> (pid) : text`, printed and recorded.
    pub fn message(&mut self, severity: Severity, text: &str) {
        let line = format!("{}{text}\n", prefix(severity, self.pid));
        self.print(&line);
        self.attempt.push(line);
    }

    /// Text already printed by someone else (the configuration's diagnostics): recorded only.
    pub fn record(&mut self, text: &str) {
        let mut text = text.to_string();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        self.attempt.push(text);
    }

    /// Text printed and recorded as is (continuation lines such as `   | help: ...`).
    pub fn raw(&mut self, text: &str) {
        self.print(text);
        self.record(text);
    }

    /// A new start or reload attempt: `show startup-logs` shows only the latest.
    pub fn begin_attempt(&mut self) {
        self.attempt.clear();
    }

    /// The messages of the latest attempt.
    pub fn attempt_text(&self) -> String {
        self.attempt.concat()
    }

    fn print(&self, text: &str) {
        if !self.quiet {
            // A closed stderr (daemon after detaching) must not stop the master.
            let _ = std::io::stderr().lock().write_all(text.as_bytes());
        }
    }
}
