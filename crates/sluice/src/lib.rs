//! # sluice
//!
//! The binary's library: HAProxy's command line ([`args`]), the configuration file list
//! ([`files`]), the load-and-check flow shared by `-c` and the start ([`check`]) with its
//! environment preflight ([`environment`]), check mode's
//! output and exit codes ([`report`]), `-cc` ([`cc`]), the version texts and feature list
//! ([`version`], [`features`]).
//!
//! ```no_run
//! let argv: Vec<String> = std::env::args().collect();
//! std::process::exit(sluice::main_with(&argv));
//! ```

pub mod args;
pub mod cc;
pub mod check;
pub mod environment;
pub mod features;
pub mod files;
pub mod haproxy_env;
pub mod output;
pub mod report;
pub mod run;
pub mod version;

use args::{Command, VersionRequest};
use output::Printer;
use sluice_config::Severity;

/// Runs the command line `argv` (with `argv[0]`) and returns the exit code.
pub fn main_with(argv: &[String]) -> i32 {
    let program = argv.first().map_or("sluice", String::as_str);
    let command = match args::parse(argv) {
        Ok(command) => command,
        Err(error) => {
            let mut printer = Printer::plain(program);
            for alert in &error.alerts {
                printer.message(Severity::Error, alert);
            }
            if error.usage {
                // HAProxy prints its version on stdout, then the usage on stderr.
                print!("{}", version::banner());
                eprint!("{}", args::help::usage(program));
            }
            return 1;
        }
    };
    match command {
        Command::Help => {
            print!("{}", args::help::help(program));
            0
        }
        Command::Version(request) => {
            let text = match request {
                VersionRequest::Banner => version::banner(),
                VersionRequest::Build => version::build_options(),
                VersionRequest::Only => format!("{}\n", version::version_only()),
                VersionRequest::Short => format!("{}\n", version::version_short()),
                VersionRequest::Branch => format!("{}\n", version::version_branch()),
            };
            print!("{text}");
            0
        }
        Command::Condition(inv) => cc::run(&inv, &mut Printer::new(&inv)),
        Command::Load(inv) => {
            let mut printer = Printer::new(&inv);
            if let Some(dir) = &inv.change_dir {
                if let Err(e) = std::env::set_current_dir(dir) {
                    printer.message(
                        Severity::Error,
                        &format!(
                            "Could not change to directory {dir} : {}",
                            sluice_config::diagnostic::os_reason(&e)
                        ),
                    );
                    return 1;
                }
            }
            match check::load_and_check(&inv) {
                Err(failure) => report::load_failure(&failure, &inv, &mut printer),
                Ok(outcome) if inv.check => report::check(&outcome, &inv, &mut printer),
                Ok(outcome) => run::start(&outcome, &inv, &mut printer),
            }
        }
    }
}
