//! How a worker ended, in HAProxy's words (`exited with code C (Exit)`) and in ours: never
//! "a bug" for an exit or a signal from outside; a crash signal alone suggests a bug report
//! (spec R7.3, design rule D2).

use nix::sys::signal::Signal;
use nix::sys::wait::WaitStatus;

/// The end of a child process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    Exited(i32),
    Signaled(Signal),
}

impl Ended {
    /// From `waitpid`; `None` for stop/continue events.
    pub fn from_wait(status: WaitStatus) -> Option<(i32, Ended)> {
        match status {
            WaitStatus::Exited(pid, code) => Some((pid.as_raw(), Ended::Exited(code))),
            WaitStatus::Signaled(pid, signal, _) => Some((pid.as_raw(), Ended::Signaled(signal))),
            _ => None,
        }
    }

    /// The shell's view: the exit code, or 128 + signal number.
    pub fn code(self) -> i32 {
        match self {
            Ended::Exited(code) => code,
            Ended::Signaled(signal) => 128 + signal as i32,
        }
    }

    /// HAProxy's parenthesised word: `Exit` below 128, else the signal's description.
    pub fn label(self) -> &'static str {
        let code = self.code();
        if code < 128 {
            "Exit"
        } else {
            signal_description(code - 128)
        }
    }

    /// `code C (label)`.
    pub fn describe(self) -> String {
        format!("code {} ({})", self.code(), self.label())
    }

    /// A fatal signal that only a defect explains.
    pub fn is_crash(self) -> bool {
        matches!(
            self,
            Ended::Signaled(
                Signal::SIGSEGV
                    | Signal::SIGBUS
                    | Signal::SIGILL
                    | Signal::SIGFPE
                    | Signal::SIGABRT
                    | Signal::SIGSYS
                    | Signal::SIGTRAP
            )
        )
    }

    /// Whether HAProxy counts this end as abnormal (exit-on-failure, the master's exit code):
    /// anything but 0 and 143 (SIGTERM); 130 (SIGINT) is abnormal for the exit code only.
    pub fn is_abnormal_status(self) -> bool {
        !matches!(self.code(), 0 | 143)
    }

    /// Whether a running worker ending this way triggers exit-on-failure.
    pub fn triggers_exit_on_failure(self) -> bool {
        !matches!(self.code(), 0 | 130 | 143)
    }

    /// Our explanation of the end of worker `pid`, when it adds something to HAProxy's line.
    /// `reported`: the worker sent a structured cause (printed separately). `sent_by_us`: the
    /// master sent the signal that ended it.
    pub fn explanation(self, pid: i32, reported: bool, sent_by_us: bool) -> Option<String> {
        match self {
            Ended::Exited(0) => None,
            Ended::Exited(_) if reported => None,
            Ended::Exited(code) => Some(format!(
                "worker {pid} exited with error status {code}; see its messages above."
            )),
            Ended::Signaled(Signal::SIGKILL) => Some(format!(
                "worker {pid} was killed by SIGKILL (out-of-memory killer or an administrator){}.",
                oom_hint()
            )),
            Ended::Signaled(signal) if self.is_crash() => Some(format!(
                "worker {pid} crashed with {signal} ({}). This is a defect in Sluice, not in the configuration: please report it with the version ('sluice -vv') and the configuration.",
                signal_description(signal as i32)
            )),
            Ended::Signaled(_) if sent_by_us => None,
            Ended::Signaled(signal) => Some(format!(
                "worker {pid} was stopped by signal {signal} from outside."
            )),
        }
    }
}

/// The kernel counts OOM kills per boot in /proc/vmstat: say so when there is one.
fn oom_hint() -> &'static str {
    match std::fs::read_to_string("/proc/vmstat") {
        Ok(text)
            if text
                .lines()
                .any(|l| l.strip_prefix("oom_kill ").is_some_and(|n| n.trim() != "0")) =>
        {
            "; the kernel has killed processes for lack of memory since boot (see `dmesg`)"
        }
        _ => "",
    }
}

/// `strsignal(3)`'s text on Linux, for the signals a worker can die of.
pub fn signal_description(number: i32) -> &'static str {
    match number {
        1 => "Hangup",
        2 => "Interrupt",
        3 => "Quit",
        4 => "Illegal instruction",
        5 => "Trace/breakpoint trap",
        6 => "Aborted",
        7 => "Bus error",
        8 => "Floating point exception",
        9 => "Killed",
        10 => "User defined signal 1",
        11 => "Segmentation fault",
        12 => "User defined signal 2",
        13 => "Broken pipe",
        14 => "Alarm clock",
        15 => "Terminated",
        24 => "CPU time limit exceeded",
        25 => "File size limit exceeded",
        31 => "Bad system call",
        _ => "Unknown signal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haproxy_labels() {
        assert_eq!(Ended::Exited(1).describe(), "code 1 (Exit)");
        assert_eq!(
            Ended::Signaled(Signal::SIGTERM).describe(),
            "code 143 (Terminated)"
        );
        assert_eq!(
            Ended::Signaled(Signal::SIGKILL).describe(),
            "code 137 (Killed)"
        );
        assert_eq!(Ended::Exited(130).label(), "Interrupt");
    }

    #[test]
    fn only_crashes_blame_us() {
        let kill = Ended::Signaled(Signal::SIGKILL).explanation(7, false, false);
        assert!(kill
            .as_deref()
            .is_some_and(|t| t.contains("out-of-memory killer")));
        assert!(!kill.unwrap_or_default().contains("defect"));
        let exit = Ended::Exited(1)
            .explanation(7, false, false)
            .unwrap_or_default();
        assert!(!exit.contains("defect"));
        assert_eq!(Ended::Exited(1).explanation(7, true, false), None);
        let segv = Ended::Signaled(Signal::SIGSEGV).explanation(7, false, false);
        assert!(segv.is_some_and(|t| t.contains("report it")));
    }

    #[test]
    fn abnormal_statuses() {
        assert!(!Ended::Exited(0).is_abnormal_status());
        assert!(!Ended::Signaled(Signal::SIGTERM).is_abnormal_status());
        assert!(Ended::Signaled(Signal::SIGINT).is_abnormal_status());
        assert!(!Ended::Signaled(Signal::SIGINT).triggers_exit_on_failure());
        assert!(Ended::Signaled(Signal::SIGKILL).triggers_exit_on_failure());
    }
}
