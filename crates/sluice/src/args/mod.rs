//! HAProxy's command-line grammar (spec R1.1), driven by the option table in [`table`].
//!
//! - argv is read left to right; every option starts with `-`; options are not bundled.
//! - Only an option's first one or two letters count; HAProxy ignores the rest silently, we
//!   keep that but warn (`-cV` is `-c`).
//! - An option with a value takes the next word verbatim, even if it starts with `-`.
//! - `--` ends the options: every following word is a configuration path.
//! - `-sf`/`-st` take the following words up to the next one starting with `-`.
//! - Anything else prints the usage and exits 1. `-v` and its variants answer at once.
//!
//! Our own long options (`--json`, `--diag-format=`, `--check-env=`, `--help`) live in a
//! namespace HAProxy never accepts.

pub mod help;
pub mod master_cli;
pub mod table;

pub use master_cli::MasterCli;
use table::{FlagId, Takes, Tier};

/// Form of diagnostics on stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiagFormat {
    /// HAProxy's one-line form.
    Text,
    /// Offending line with a caret, help and notes.
    Rich,
    /// One JSON object per line.
    Json,
}

/// How environment checks are classed (`--check-env`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CheckEnv {
    /// A problem that would make startup fail is an error.
    #[default]
    Strict,
    /// Reported as warnings.
    Warn,
    /// Not run.
    Off,
}

/// Environment variable read when `--check-env` is not given, so that packagers can set the
/// policy for every invocation of a service (e.g. an `ExecReload` line).
pub const CHECK_ENV_VARIABLE: &str = "SLUICE_CHECK_ENV";

impl CheckEnv {
    pub fn parse(text: &str) -> Option<CheckEnv> {
        match text {
            "strict" => Some(CheckEnv::Strict),
            "warn" => Some(CheckEnv::Warn),
            "off" => Some(CheckEnv::Off),
            _ => None,
        }
    }

    /// The policy in force: the command line, else `SLUICE_CHECK_ENV`, else strict. An
    /// unrecognised variable value keeps the strict policy (the safe side).
    pub fn effective(given: Option<CheckEnv>) -> CheckEnv {
        given
            .or_else(|| {
                std::env::var(CHECK_ENV_VARIABLE)
                    .ok()
                    .and_then(|v| CheckEnv::parse(v.trim()))
            })
            .unwrap_or_default()
    }
}

/// What `-v` and its variants ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionRequest {
    /// `-v`: the banner.
    Banner,
    /// `-vv`: the banner, build options and the feature list.
    Build,
    /// `-vq`: `3.4.0-sluice-X.Y.Z`.
    Only,
    /// `-vqs`: `3.4.0`.
    Short,
    /// `-vqb`: `3.4`.
    Branch,
}

/// Signal sent to old processes once ready.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopSignal {
    /// `-sf`: SIGUSR1, finish serving then exit.
    Finish,
    /// `-st`: SIGTERM.
    Terminate,
}

/// A warning about the command line (trailing letters) or a notice (ignored option), shown with
/// the configuration's diagnostics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArgNote {
    TrailingLetters {
        word: String,
        read_as: String,
        ignored: String,
    },
    Ignored {
        word: String,
    },
}

/// A checked command line for a run that loads a configuration (check or start).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Invocation {
    /// `argv[0]`, for the banner.
    pub program: String,
    /// `-f` and `--` paths in command-line order (directories not expanded yet).
    pub config_paths: Vec<String>,
    pub check: bool,
    pub check_condition: Option<String>,
    pub verbose: bool,
    pub quiet: bool,
    pub master_worker: bool,
    pub systemd: bool,
    pub daemon: bool,
    pub foreground: bool,
    pub debug: bool,
    pub pidfile: Option<String>,
    /// `-sf`/`-st` pids; the last of the two options given decides the signal.
    pub old_pids: Vec<u32>,
    pub old_pids_signal: Option<StopSignal>,
    pub sockets_from: Option<String>,
    pub master_cli: Vec<MasterCli>,
    pub maxconn: Option<u64>,
    pub default_maxconn: Option<u64>,
    pub memory_limit_mb: Option<u64>,
    pub local_peer: Option<String>,
    pub change_dir: Option<String>,
    pub diag_mode: bool,
    pub zero_warning: bool,
    pub resolve_dont_fail: bool,
    pub ssl_verify_none: bool,
    /// Run-time options turned off by `-de`, `-dS`... with `enabled()`'s names.
    pub disabled: Vec<&'static str>,
    pub json: bool,
    /// `None`: rich when stderr is a terminal, text otherwise.
    pub diag_format: Option<DiagFormat>,
    /// `--check-env`; `None` when not given (then `SLUICE_CHECK_ENV` decides, see
    /// [`CheckEnv::effective`]).
    pub check_env: Option<CheckEnv>,
    pub notes: Vec<ArgNote>,
}

impl Invocation {
    /// `-q` unless `-V` cancels it.
    pub fn is_quiet(&self) -> bool {
        self.quiet && !self.verbose
    }
}

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Load the configuration: check it (`-c`) or start (not implemented yet).
    Load(Box<Invocation>),
    /// `-cc <expr>`.
    Condition(Box<Invocation>),
    Version(VersionRequest),
    Help,
}

/// A command line that cannot be used: ALERT lines to print, then the usage when `usage`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgError {
    pub alerts: Vec<String>,
    pub usage: bool,
}

impl ArgError {
    fn usage() -> Self {
        Self {
            alerts: Vec::new(),
            usage: true,
        }
    }

    fn alert(text: impl Into<String>) -> Self {
        Self {
            alerts: vec![text.into()],
            usage: false,
        }
    }

    fn alert_then_usage(text: impl Into<String>) -> Self {
        Self {
            alerts: vec![text.into()],
            usage: true,
        }
    }
}

/// Parses `argv` (including `argv[0]`).
pub fn parse(argv: &[String]) -> Result<Command, ArgError> {
    let mut inv = Invocation {
        program: argv.first().cloned().unwrap_or_else(|| "sluice".into()),
        ..Invocation::default()
    };
    let mut words = argv.iter().skip(1).peekable();
    while let Some(word) = words.next() {
        let Some(body) = word.strip_prefix('-') else {
            return Err(ArgError::usage());
        };
        if body == "-" {
            inv.config_paths.extend(words.by_ref().cloned());
            break;
        }
        let Some(flag) = table::find(body) else {
            return Err(if body.starts_with('-') {
                ArgError::alert_then_usage(format!("unknown option '{word}'."))
            } else {
                ArgError::usage()
            });
        };
        let rest = &body[flag.letters.len().min(body.len())..];
        if !rest.is_empty()
            && matches!(
                flag.takes,
                Takes::Nothing | Takes::NextWord | Takes::PidList | Takes::OptionalNextWord
            )
        {
            inv.notes.push(ArgNote::TrailingLetters {
                word: word.clone(),
                read_as: format!("-{}", flag.letters),
                ignored: rest.to_string(),
            });
        }
        if flag.tier == Tier::C {
            inv.notes.push(ArgNote::Ignored { word: word.clone() });
        }
        let value = match flag.takes {
            Takes::NextWord => match words.next() {
                Some(v) => v.clone(),
                None => return Err(missing_value(flag.id)),
            },
            Takes::LongValue => match rest.strip_prefix('=') {
                Some(v) => v.to_string(),
                None => match words.next() {
                    Some(v) => v.clone(),
                    None => {
                        return Err(ArgError::alert_then_usage(format!(
                            "option '{word}' expects {}.",
                            flag.value
                        )))
                    }
                },
            },
            Takes::OptionalNextWord => {
                if words.peek().is_some_and(|w| !w.starts_with('-')) {
                    words.next();
                }
                String::new()
            }
            Takes::PidList => {
                let mut pids = Vec::new();
                while let Some(next) = words.next_if(|w| !w.starts_with('-')) {
                    pids.push(parse_pid(flag.letters, next)?);
                }
                inv.old_pids.extend(pids);
                String::new()
            }
            Takes::Nothing | Takes::Attached => String::new(),
        };
        match flag.id {
            FlagId::ConfigFile => inv.config_paths.push(value),
            FlagId::EndOfOptions => {}
            FlagId::ChangeDir => inv.change_dir = Some(value),
            FlagId::Check => inv.check = true,
            FlagId::CheckCondition => inv.check_condition = Some(value),
            FlagId::Verbose => inv.verbose = true,
            FlagId::Quiet => inv.quiet = true,
            FlagId::MasterWorker => inv.master_worker = true,
            FlagId::MasterWorkerSystemd => {
                inv.master_worker = true;
                inv.systemd = true;
                inv.foreground = true;
            }
            FlagId::Daemon => inv.daemon = true,
            FlagId::Foreground => inv.foreground = true,
            FlagId::Debug => inv.debug = true,
            FlagId::PidFile => inv.pidfile = Some(value),
            FlagId::SoftStop => inv.old_pids_signal = Some(StopSignal::Finish),
            FlagId::HardStop => inv.old_pids_signal = Some(StopSignal::Terminate),
            FlagId::SocketsFrom => inv.sockets_from = Some(value),
            FlagId::MasterCli => {
                let cli = master_cli::parse(&value).map_err(|e| ArgError {
                    alerts: e.lines,
                    usage: false,
                })?;
                inv.master_cli.push(cli);
            }
            FlagId::MaxConn => inv.maxconn = Some(number(word, &value)?),
            FlagId::DefaultMaxConn => inv.default_maxconn = Some(number(word, &value)?),
            FlagId::MemoryLimit => inv.memory_limit_mb = Some(number(word, &value)?),
            FlagId::LocalPeer => inv.local_peer = Some(value),
            FlagId::Version => return Ok(Command::Version(VersionRequest::Banner)),
            FlagId::VersionBuild => return Ok(Command::Version(VersionRequest::Build)),
            FlagId::VersionOnly => return Ok(Command::Version(VersionRequest::Only)),
            FlagId::VersionShort => return Ok(Command::Version(VersionRequest::Short)),
            FlagId::VersionBranch => return Ok(Command::Version(VersionRequest::Branch)),
            FlagId::DiagMode => inv.diag_mode = true,
            FlagId::ZeroWarning => inv.zero_warning = true,
            FlagId::ResolveDontFail => inv.resolve_dont_fail = true,
            FlagId::SslVerifyNone => inv.ssl_verify_none = true,
            FlagId::Disable(name) => {
                if !inv.disabled.contains(&name) {
                    inv.disabled.push(name);
                }
            }
            FlagId::DumpConfig => {
                return Err(ArgError::alert(format!(
                    "option '{word}' (dump the tokenised configuration) is not implemented yet in Sluice."
                )))
            }
            FlagId::Ignored => {}
            FlagId::UnitTests => {
                return Err(ArgError::alert(format!(
                    "option '{word}' runs HAProxy's unit tests and exists only in HAProxy debug builds."
                )))
            }
            FlagId::Json => inv.json = true,
            FlagId::DiagFormat => {
                inv.diag_format = Some(match value.as_str() {
                    "text" => DiagFormat::Text,
                    "rich" => DiagFormat::Rich,
                    "json" => DiagFormat::Json,
                    _ => return Err(bad_choice("--diag-format", &value, flag.value)),
                })
            }
            FlagId::CheckEnv => {
                inv.check_env = match CheckEnv::parse(&value) {
                    Some(choice) => Some(choice),
                    None => return Err(bad_choice("--check-env", &value, flag.value)),
                }
            }
            FlagId::Help => return Ok(Command::Help),
        }
    }
    if inv.check_condition.is_some() {
        return Ok(Command::Condition(Box::new(inv)));
    }
    if inv.config_paths.is_empty() {
        return Err(ArgError::usage());
    }
    Ok(Command::Load(Box::new(inv)))
}

fn missing_value(id: FlagId) -> ArgError {
    match id {
        FlagId::SocketsFrom => {
            ArgError::alert_then_usage("Unix socket path expected with the -x flag")
        }
        FlagId::MasterCli => ArgError::alert_then_usage(
            "Socket and optional bind parameters expected with the -S flag",
        ),
        _ => ArgError::usage(),
    }
}

fn bad_choice(option: &str, value: &str, choices: &str) -> ArgError {
    ArgError::alert_then_usage(format!(
        "option '{option}': '{value}' is not one of {choices}."
    ))
}

/// `-n`, `-N`, `-m`: HAProxy's `atol` would read garbage as 0; we refuse it.
fn number(option: &str, value: &str) -> Result<u64, ArgError> {
    value.trim().parse::<u64>().map_err(|_| {
        ArgError::alert(format!(
            "option '{option}' expects a number, not '{value}'."
        ))
    })
}

/// One word of a `-sf`/`-st` list, read as HAProxy's `strtol(.., 10)` with its messages.
fn parse_pid(letters: &str, word: &str) -> Result<u32, ArgError> {
    let trimmed = word.trim_start();
    let digits_end = trimmed
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && (c == '+' || c == '-'))))
        .map_or(trimmed.len(), |(i, _)| i);
    let (number, tail) = trimmed.split_at(digits_end);
    if !tail.trim().is_empty() {
        return Err(ArgError::alert(format!(
            "-{letters} option: some bytes unconsumed in PID list {{{word}}}"
        )));
    }
    let has_digits = number.bytes().any(|b| b.is_ascii_digit());
    match number.parse::<i64>() {
        Ok(pid) if pid > 0 && pid <= i64::from(i32::MAX) => Ok(pid as u32),
        Ok(pid) if pid > 0 => Err(ArgError::alert(format!(
            "-{letters} option: failed to parse {{{word}}}: Numerical result out of range"
        ))),
        Err(_) if has_digits => Err(ArgError::alert(format!(
            "-{letters} option: failed to parse {{{word}}}: Numerical result out of range"
        ))),
        _ => Err(ArgError::usage()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<String> {
        std::iter::once("sluice")
            .chain(words.iter().copied())
            .map(String::from)
            .collect()
    }

    fn load(words: &[&str]) -> Invocation {
        match parse(&args(words)) {
            Ok(Command::Load(inv)) => *inv,
            other => panic!("{words:?} gave {other:?}"),
        }
    }

    #[test]
    fn files_keep_command_line_order_with_double_dash() {
        let inv = load(&["-f", "a.cfg", "-c", "--", "b.cfg", "-f", "c"]);
        assert_eq!(inv.config_paths, ["a.cfg", "b.cfg", "-f", "c"]);
        assert!(inv.check);
    }

    #[test]
    fn values_are_taken_verbatim_even_with_a_dash() {
        let inv = load(&["-f", "-weird.cfg", "-p", "-c"]);
        assert_eq!(inv.config_paths, ["-weird.cfg"]);
        assert_eq!(inv.pidfile.as_deref(), Some("-c"));
        assert!(!inv.check);
    }

    #[test]
    fn trailing_letters_are_ignored_with_a_note() {
        let inv = load(&["-cV", "-f", "x"]);
        assert!(inv.check);
        assert!(!inv.verbose);
        assert_eq!(
            inv.notes,
            [ArgNote::TrailingLetters {
                word: "-cV".into(),
                read_as: "-c".into(),
                ignored: "V".into()
            }]
        );
    }

    #[test]
    fn pid_lists_stop_at_the_next_option_and_may_be_empty() {
        let inv = load(&["-sf", "12", "34", "-c", "-f", "x"]);
        assert_eq!(inv.old_pids, [12, 34]);
        assert_eq!(inv.old_pids_signal, Some(StopSignal::Finish));
        let inv = load(&["-st", "-c", "-f", "x"]);
        assert!(inv.old_pids.is_empty());
        assert_eq!(inv.old_pids_signal, Some(StopSignal::Terminate));
    }

    #[test]
    fn bad_pids_give_haproxy_texts() {
        let err = parse(&args(&["-sf", "abc"])).expect_err("bad pid");
        assert_eq!(
            err.alerts,
            ["-sf option: some bytes unconsumed in PID list {abc}"]
        );
        assert!(!err.usage);
        assert_eq!(parse(&args(&["-sf", "0"])), Err(ArgError::usage()));
        assert_eq!(parse(&args(&["-sf", ""])), Err(ArgError::usage()));
        assert!(parse(&args(&["-sf", "99999999999"])).is_err());
    }

    #[test]
    fn usage_cases() {
        for words in [
            &["-c"][..],
            &["-c", "-f", "a", "extra"],
            &["-f"],
            &["-s"],
            &["-h"],
            &["--nope"],
        ] {
            assert!(parse(&args(words)).expect_err("usage").usage, "{words:?}");
        }
    }

    #[test]
    fn version_answers_at_once() {
        assert_eq!(
            parse(&args(&["-vqb", "--nope"])),
            Ok(Command::Version(VersionRequest::Branch))
        );
        assert_eq!(
            parse(&args(&["-vv"])),
            Ok(Command::Version(VersionRequest::Build))
        );
    }

    #[test]
    fn long_options() {
        let inv = load(&[
            "--json",
            "--diag-format=rich",
            "--check-env",
            "warn",
            "-f",
            "x",
        ]);
        assert!(inv.json);
        assert_eq!(inv.diag_format, Some(DiagFormat::Rich));
        assert_eq!(inv.check_env, Some(CheckEnv::Warn));
        assert!(parse(&args(&["--diag-format=xml", "-f", "x"])).is_err());
        assert_eq!(parse(&args(&["--help"])), Ok(Command::Help));
    }

    #[test]
    fn condition_needs_no_file() {
        match parse(&args(&["-cc", "defined(HOME)"])) {
            Ok(Command::Condition(inv)) => {
                assert_eq!(inv.check_condition.as_deref(), Some("defined(HOME)"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn numbers_are_checked() {
        assert_eq!(load(&["-n", "100", "-f", "x"]).maxconn, Some(100));
        assert!(parse(&args(&["-n", "abc", "-f", "x"])).is_err());
    }

    #[test]
    fn master_cli_is_validated_while_parsing() {
        let err = parse(&args(&["-S", "/m.sock,bogus", "-f", "x"])).expect_err("bad -S");
        assert_eq!(
            err.alerts.last().map(String::as_str),
            Some("Can't create the master's CLI.")
        );
        let err = parse(&args(&["-S"])).expect_err("missing -S value");
        assert_eq!(
            err.alerts,
            ["Socket and optional bind parameters expected with the -S flag"]
        );
    }
}
