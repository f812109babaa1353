//! Where messages go and in which form: stderr in HAProxy's text form, the rich form or JSON
//! lines; the NOTICE banner once before the first warning, alert or diag; `-q` silences all.

use crate::args::{DiagFormat, Invocation};
use crate::version::notice_banner;
use sluice_config::render::{self, haproxy::prefix, rich};
use sluice_config::{Diagnostic, Severity, SourceMap};
use std::io::{IsTerminal, Write};

/// Prints messages for one process.
#[derive(Debug)]
pub struct Printer {
    pid: u32,
    program: String,
    format: DiagFormat,
    color: bool,
    quiet: bool,
    banner_printed: bool,
}

impl Printer {
    /// A printer for the command line: `--diag-format`, else rich on a terminal and text
    /// otherwise; `-q` without `-V` silences everything.
    pub fn new(inv: &Invocation) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let format = inv.diag_format.unwrap_or(if terminal {
            DiagFormat::Rich
        } else {
            DiagFormat::Text
        });
        Self {
            pid: std::process::id(),
            program: inv.program.clone(),
            format,
            color: terminal && format == DiagFormat::Rich && std::env::var_os("NO_COLOR").is_none(),
            quiet: inv.is_quiet(),
            banner_printed: false,
        }
    }

    /// A text printer before the command line is understood (usage errors).
    pub fn plain(program: &str) -> Self {
        Self {
            pid: std::process::id(),
            program: program.to_string(),
            format: DiagFormat::Text,
            color: false,
            quiet: false,
            banner_printed: false,
        }
    }

    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// One configuration diagnostic.
    pub fn diagnostic(&mut self, diagnostic: &Diagnostic, sources: &SourceMap) {
        if self.quiet {
            return;
        }
        let text = match self.format {
            DiagFormat::Text => render::haproxy(diagnostic, sources, self.pid),
            // A blank line between rich diagnostics, as compilers print them.
            DiagFormat::Rich => render::rich(diagnostic, sources, self.color) + "\n",
            DiagFormat::Json => render::json_line(diagnostic, sources),
        };
        self.emit(diagnostic.severity, &text);
    }

    /// A message that is not about a configuration line (`[ALERT]    (pid) : text`).
    pub fn message(&mut self, severity: Severity, text: &str) {
        self.context_message(severity, "", text);
    }

    /// A message printed while the configuration is handled (`[ALERT]    (pid) : config : text`).
    pub fn config_message(&mut self, severity: Severity, text: &str) {
        self.context_message(severity, "config : ", text);
    }

    fn context_message(&mut self, severity: Severity, context: &str, text: &str) {
        if self.quiet {
            return;
        }
        let rendered = match self.format {
            DiagFormat::Text => format!("{}{context}{text}\n", prefix(severity, self.pid)),
            DiagFormat::Rich => rich::header(severity, text, self.color),
            DiagFormat::Json => {
                let mut line = serde_json::json!({
                    "severity": severity,
                    "message": text,
                })
                .to_string();
                line.push('\n');
                line
            }
        };
        self.emit(severity, &rendered);
    }

    /// A line on stdout (check-mode summaries), unless quiet.
    pub fn stdout_line(&self, text: &str) {
        if !self.quiet {
            let mut out = std::io::stdout().lock();
            // Nothing sensible to do when stdout is closed; the exit code still tells.
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        }
    }

    /// Text on stdout as is (the `--json` array), unless quiet.
    pub fn stdout_raw(&self, text: &str) {
        if !self.quiet {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        }
    }

    /// Writes one message with one write, after the banner when it is the first warning,
    /// alert or diag of the process (HAProxy's text form only: the banner is its shape).
    fn emit(&mut self, severity: Severity, text: &str) {
        let mut out = String::new();
        if severity != Severity::Notice && !self.banner_printed {
            self.banner_printed = true;
            if self.format == DiagFormat::Text {
                for line in notice_banner(&self.program) {
                    out.push_str(&prefix(Severity::Notice, self.pid));
                    out.push_str(&line);
                    out.push('\n');
                }
            }
        }
        out.push_str(text);
        let _ = std::io::stderr().lock().write_all(out.as_bytes());
    }
}
