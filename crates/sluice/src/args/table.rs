//! HAProxy's command-line options as data: one table drives parsing and `--help`.
//!
//! HAProxy looks only at the first one or two letters after the dash (`-cV` is `-c`), so an
//! entry names those letters; the parser picks the longest entry the word starts with.

/// What an option does; the parser turns it into a field of
/// [`Invocation`](super::Invocation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagId {
    ConfigFile,
    EndOfOptions,
    Check,
    CheckCondition,
    Verbose,
    Quiet,
    MasterWorker,
    MasterWorkerSystemd,
    Daemon,
    Foreground,
    Debug,
    PidFile,
    SoftStop,
    HardStop,
    SocketsFrom,
    MasterCli,
    MaxConn,
    DefaultMaxConn,
    MemoryLimit,
    LocalPeer,
    ChangeDir,
    Version,
    VersionBuild,
    VersionOnly,
    VersionShort,
    VersionBranch,
    DiagMode,
    ZeroWarning,
    ResolveDontFail,
    SslVerifyNone,
    /// `-de`, `-dS`...: turns off a run-time option that `enabled()` reports.
    Disable(&'static str),
    DumpConfig,
    /// Accepted for compatibility; Sluice does nothing with it (a notice says so).
    Ignored,
    /// HAProxy debug builds only; refused.
    UnitTests,
    Json,
    DiagFormat,
    CheckEnv,
    Help,
}

/// What follows the option letters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Takes {
    Nothing,
    /// The next argv word, verbatim, even if it starts with `-`.
    NextWord,
    /// The following words up to the next one starting with `-` (`-sf`, `-st`).
    PidList,
    /// The rest of the same word (`-dC<key>`, `-dM<opts>`).
    Attached,
    /// The next word when it does not start with `-` (`-dt [<traces>]`).
    OptionalNextWord,
    /// `--name=value` or `--name value`.
    LongValue,
}

/// How far Sluice goes with an option (spec R1.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    /// HAProxy's semantics.
    A,
    /// Should have HAProxy's semantics; parsed, some not acted upon yet.
    B,
    /// Accepted and ignored, with a notice.
    C,
    /// Refused with a clear error.
    D,
    /// Sluice's own long options.
    Ours,
}

/// One option.
#[derive(Clone, Copy, Debug)]
pub struct Flag {
    pub id: FlagId,
    /// The letters after the first dash (`c`, `cc`, `vqs`), or the long name (`-json`).
    pub letters: &'static str,
    /// Only the whole word matches (`-vq` but not `-vqx`, which is `-v`).
    pub exact: bool,
    pub takes: Takes,
    /// Name of the value in `--help`.
    pub value: &'static str,
    pub doc: &'static str,
    pub tier: Tier,
}

const fn flag(
    id: FlagId,
    letters: &'static str,
    takes: Takes,
    value: &'static str,
    tier: Tier,
    doc: &'static str,
) -> Flag {
    Flag {
        id,
        letters,
        exact: false,
        takes,
        value,
        doc,
        tier,
    }
}

const fn exact(mut f: Flag) -> Flag {
    f.exact = true;
    f
}

use FlagId as F;
use Takes::*;
use Tier::*;

/// Every option, in `--help` order.
#[rustfmt::skip]
pub const FLAGS: &[Flag] = &[
    flag(F::ConfigFile, "f", NextWord, "<cfgfile|cfgdir>", A, "add a configuration file, or a directory's *.cfg files in byte order; repeatable"),
    flag(F::EndOfOptions, "-", Nothing, "<cfgfile|cfgdir>*", A, "every following word is a configuration file or directory"),
    flag(F::ChangeDir, "C", NextWord, "<dir>", A, "change to <dir> before loading files"),
    flag(F::Check, "c", Nothing, "", A, "check the configuration and exit: 0 valid, 1 errors, 2 nothing would listen"),
    flag(F::CheckCondition, "cc", NextWord, "<expr>", A, "evaluate a '.if' condition: exit 0 true, 1 false, 2 error"),
    flag(F::Verbose, "V", Nothing, "", A, "verbose: cancels -q; with -c, print 'Configuration file is valid'"),
    flag(F::Quiet, "q", Nothing, "", A, "quiet: print nothing at all, only the exit code tells"),
    flag(F::MasterWorker, "W", Nothing, "", A, "master-worker mode"),
    flag(F::MasterWorkerSystemd, "Ws", Nothing, "", A, "master-worker mode with systemd notify support (foreground)"),
    flag(F::Daemon, "D", Nothing, "", A, "run in the background"),
    flag(F::Foreground, "db", Nothing, "", A, "stay in the foreground (cancels 'daemon')"),
    flag(F::Debug, "d", Nothing, "", B, "debug mode: foreground"),
    flag(F::PidFile, "p", NextWord, "<pidfile>", A, "write the pid to <pidfile>"),
    flag(F::SoftStop, "sf", PidList, "<pid>*", A, "once ready, ask these processes to finish (SIGUSR1)"),
    flag(F::HardStop, "st", PidList, "<pid>*", A, "once ready, terminate these processes (SIGTERM)"),
    flag(F::SocketsFrom, "x", NextWord, "<unix_socket>", A, "take the listening sockets of an old process from this socket"),
    flag(F::MasterCli, "S", NextWord, "<bind>[,<opt>...]", A, "master CLI listener (needs -W or -Ws); repeatable"),
    flag(F::MaxConn, "n", NextWord, "<maxconn>", A, "global maxconn"),
    flag(F::DefaultMaxConn, "N", NextWord, "<maxpconn>", B, "default per-proxy maxconn"),
    flag(F::MemoryLimit, "m", NextWord, "<megs>", B, "limit memory to <megs> MB"),
    flag(F::LocalPeer, "L", NextWord, "<name>", B, "local peer name (default: host name); sets HAPROXY_LOCALPEER"),
    flag(F::Ignored, "4", Nothing, "", C, "resolvers: IPv4 only (no effect in Sluice yet)"),
    flag(F::Version, "v", Nothing, "", A, "print the version"),
    flag(F::VersionBuild, "vv", Nothing, "", A, "print the version and the feature list used by feature()"),
    exact(flag(F::VersionOnly, "vq", Nothing, "", A, "print the HAProxy-compatible version with Sluice's (3.4.0-sluice-X.Y.Z)")),
    exact(flag(F::VersionShort, "vqs", Nothing, "", A, "print the HAProxy version whose language Sluice implements (3.4.0)")),
    exact(flag(F::VersionBranch, "vqb", Nothing, "", A, "print that version's branch (3.4), as HAPROXY_BRANCH")),
    flag(F::DiagMode, "dD", Nothing, "", A, "diagnostic mode: report likely mistakes too"),
    flag(F::ZeroWarning, "dW", Nothing, "", A, "zero-warning: any warning is fatal (as global 'zero-warning')"),
    flag(F::ResolveDontFail, "dr", Nothing, "", A, "server name resolution failures disable the server instead of failing"),
    flag(F::SslVerifyNone, "dV", Nothing, "", B, "do not verify servers' certificates ('ssl-server-verify none')"),
    flag(F::Disable("EPOLL"), "de", Nothing, "", C, "disable epoll"),
    flag(F::Disable("POLL"), "dp", Nothing, "", C, "disable poll"),
    flag(F::Disable("KQUEUE"), "dk", Nothing, "", C, "disable kqueue"),
    flag(F::Disable("EVPORTS"), "dv", Nothing, "", C, "disable event ports"),
    flag(F::Disable("SPLICE"), "dS", Nothing, "", C, "disable splice()"),
    flag(F::Disable("GETADDRINFO"), "dG", Nothing, "", C, "disable getaddrinfo()"),
    flag(F::Disable("REUSEPORT"), "dR", Nothing, "", B, "disable SO_REUSEPORT"),
    flag(F::Disable("FAST-FORWARD"), "dF", Nothing, "", C, "disable data fast-forward"),
    flag(F::Disable("ZERO-COPY"), "dZ", Nothing, "", C, "disable zero-copy forwarding"),
    flag(F::Disable("KTLS"), "dT", Nothing, "", C, "disable kernel TLS"),
    flag(F::DumpConfig, "dC", Attached, "[key][,line]", B, "dump the tokenised configuration (not implemented yet)"),
    flag(F::Ignored, "dI", Nothing, "", C, "insecure fork (no effect in Sluice)"),
    flag(F::Ignored, "dc", Nothing, "", C, "CPU affinity debugging (no effect in Sluice)"),
    flag(F::Ignored, "dK", Attached, "<class[,class]*>", C, "dump registered keywords (no effect in Sluice)"),
    flag(F::Ignored, "dL", Nothing, "", C, "dump shared libraries (no effect in Sluice)"),
    flag(F::Ignored, "dA", Attached, "[file]", C, "archive shared libraries (no effect in Sluice)"),
    flag(F::Ignored, "dM", Attached, "[<byte>][,opts]", C, "memory debugging (no effect in Sluice)"),
    flag(F::Ignored, "dt", OptionalNextWord, "[<trace>,...]", C, "traces on stderr (no effect in Sluice)"),
    flag(F::UnitTests, "U", Nothing, "", D, "unit tests of HAProxy debug builds (refused)"),
    exact(flag(F::Json, "-json", Nothing, "", Ours, "with -c: print all diagnostics as one JSON array on stdout, nothing else")),
    flag(F::DiagFormat, "-diag-format", LongValue, "text|rich|json", Ours, "form of diagnostics on stderr (default: rich on a terminal, text otherwise)"),
    flag(F::CheckEnv, "-check-env", LongValue, "strict|warn|off", Ours, "environment checks are errors, warnings, or skipped (default: $SLUICE_CHECK_ENV, else strict)"),
    exact(flag(F::Help, "-help", Nothing, "", Ours, "print this help on stdout and exit 0")),
];

/// The entry for an option word without its first dash: the longest entry it starts with.
/// `None` for a word HAProxy does not know (which prints the usage).
pub fn find(word: &str) -> Option<&'static Flag> {
    let long = word.starts_with('-');
    FLAGS
        .iter()
        .filter(|f| f.id != FlagId::EndOfOptions)
        .filter(|f| {
            if long {
                // Long options: the whole name, then nothing or `=value`.
                word == f.letters
                    || (f.takes == LongValue
                        && word
                            .strip_prefix(f.letters)
                            .is_some_and(|rest| rest.starts_with('=')))
            } else if f.exact {
                word == f.letters
            } else {
                !f.letters.starts_with('-') && word.starts_with(f.letters)
            }
        })
        .max_by_key(|f| f.letters.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_letters_count() {
        assert_eq!(find("cV").map(|f| f.id), Some(FlagId::Check));
        assert_eq!(find("cfoo").map(|f| f.id), Some(FlagId::Check));
        assert_eq!(find("cc").map(|f| f.id), Some(FlagId::CheckCondition));
        assert_eq!(find("dDW").map(|f| f.id), Some(FlagId::DiagMode));
        assert_eq!(find("dz").map(|f| f.id), Some(FlagId::Debug));
        assert_eq!(find("Ws").map(|f| f.id), Some(FlagId::MasterWorkerSystemd));
        assert_eq!(find("vqb").map(|f| f.id), Some(FlagId::VersionBranch));
        assert_eq!(find("vqx").map(|f| f.id), Some(FlagId::Version));
        assert_eq!(find("vvv").map(|f| f.id), Some(FlagId::VersionBuild));
    }

    #[test]
    fn unknown_words_are_none() {
        assert!(find("s").is_none());
        assert!(find("h").is_none());
        assert!(find("-jsonx").is_none());
        assert!(find("-nope").is_none());
    }

    #[test]
    fn long_options_take_an_equals_value() {
        assert_eq!(
            find("-diag-format=json").map(|f| f.id),
            Some(FlagId::DiagFormat)
        );
        assert_eq!(find("-diag-format").map(|f| f.id), Some(FlagId::DiagFormat));
        assert!(find("-diag-formats").is_none());
    }
}
