//! The command table: which words run which command, at which level, and the help text
//! printed by `help` and after an unknown command.

use super::{info, servers, stat, stick, unsupported, Level, Runtime};

/// How a session talks: HAProxy's three modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// One line, its answer, then the connection closes (the default).
    NonInteractive,
    /// Lines until `quit` or the idle timeout, no prompt.
    Interactive,
    /// Interactive with a `> ` prompt.
    Prompt,
}

/// One session's settings, changed by `prompt`, `user`, `operator`, `expert-mode`...
#[derive(Clone, Debug)]
pub struct Session {
    pub level: Level,
    pub mode: Mode,
    /// `prompt timed`: the uptime in the prompt.
    pub timed: bool,
    pub expert: bool,
    pub experimental: bool,
}

impl Session {
    pub fn new(level: Level) -> Session {
        Session {
            level,
            mode: Mode::NonInteractive,
            timed: false,
            expert: false,
            experimental: false,
        }
    }
}

/// What a command produced.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Answer {
    pub text: String,
    /// `quit`: close after this.
    pub quit: bool,
}

impl Answer {
    pub fn text(text: impl Into<String>) -> Answer {
        Answer {
            text: text.into(),
            quit: false,
        }
    }

    pub fn empty() -> Answer {
        Answer::default()
    }
}

/// One line of the help: the usage and what it does.
pub struct HelpLine {
    pub usage: &'static str,
    pub what: &'static str,
    pub level: Level,
}

/// Every command Sluice answers (those it knows but does not support are in
/// [`unsupported`]).
pub const HELP: &[HelpLine] = &[
    HelpLine {
        usage: "help [<command>]",
        what: "list the commands, or those starting with <command>",
        level: Level::User,
    },
    HelpLine {
        usage: "prompt [help|n|i|p|timed]*",
        what: "switch between non-interactive, interactive and prompt modes",
        level: Level::User,
    },
    HelpLine {
        usage: "quit",
        what: "close this session",
        level: Level::User,
    },
    HelpLine {
        usage: "show version",
        what: "the version of the running process",
        level: Level::User,
    },
    HelpLine {
        usage: "show info [typed|desc]",
        what: "process information (name, version, uptime, limits, counters)",
        level: Level::User,
    },
    HelpLine {
        usage: "show env [<name>]",
        what: "the process environment, or one variable",
        level: Level::Operator,
    },
    HelpLine {
        usage: "show errors",
        what: "captured protocol errors (none are captured by Sluice)",
        level: Level::Operator,
    },
    HelpLine {
        usage: "show cli level",
        what: "the access level of this session",
        level: Level::User,
    },
    HelpLine {
        usage: "show backend",
        what: "the names of the backends",
        level: Level::User,
    },
    HelpLine {
        usage: "show servers state [<backend>]",
        what: "server states in the server-state file format",
        level: Level::User,
    },
    HelpLine {
        usage: "show servers conn [<backend>]",
        what: "servers' current and idle connections",
        level: Level::User,
    },
    HelpLine {
        usage: "show stat [typed|json|<iid> <type> <sid>]",
        what: "proxy and server statistics (CSV by default)",
        level: Level::User,
    },
    HelpLine {
        usage: "show table [<table> [data.<type> <op> <v>]*|[key <k>]|[ptr <p>]]",
        what: "list the stick tables, or one table's entries",
        level: Level::Operator,
    },
    HelpLine {
        usage: "clear table <table> [data.<type> <op> <v>]*|[key <k>]|[ptr <p>]",
        what: "remove stick-table entries no connection tracks",
        level: Level::Admin,
    },
    HelpLine {
        usage: "set table <table> key <k> [data.<type> <v>]*",
        what: "create or update a stick-table entry",
        level: Level::Admin,
    },
    HelpLine {
        usage: "get weight <bk>/<srv>",
        what: "a server's current and initial weights",
        level: Level::User,
    },
    HelpLine {
        usage: "set weight <bk>/<srv> <weight>[%]",
        what: "change a server's weight",
        level: Level::Admin,
    },
    HelpLine {
        usage: "disable server <bk>/<srv>",
        what: "put a server in maintenance (no traffic, no checks)",
        level: Level::Admin,
    },
    HelpLine {
        usage: "enable server <bk>/<srv>",
        what: "take a server out of maintenance",
        level: Level::Admin,
    },
    HelpLine {
        usage: "set server <bk>/<srv> state ready|drain|maint",
        what: "change a server's administrative state",
        level: Level::Admin,
    },
    HelpLine {
        usage: "set server <bk>/<srv> weight <weight>[%]",
        what: "same as 'set weight'",
        level: Level::Admin,
    },
    HelpLine {
        usage: "set server <bk>/<srv> health up|stopping|down",
        what: "force a server's health",
        level: Level::Admin,
    },
    HelpLine {
        usage: "del server <bk>/<srv>",
        what: "remove a server in maintenance that nothing refers to",
        level: Level::Admin,
    },
    HelpLine {
        usage: "show resolvers [<section>]",
        what: "the nameservers' counters",
        level: Level::User,
    },
    HelpLine {
        usage: "set server <bk>/<srv> addr <ip> [port <port>]",
        what: "move a server to a new address",
        level: Level::Admin,
    },
    HelpLine {
        usage: "set server <bk>/<srv> fqdn <name>",
        what: "resolve a server by a new name (needs 'resolvers')",
        level: Level::Admin,
    },
    HelpLine {
        usage: "disable health <bk>/<srv>",
        what: "stop a server's health checks (it counts as up)",
        level: Level::Admin,
    },
    HelpLine {
        usage: "enable health <bk>/<srv>",
        what: "resume a server's health checks",
        level: Level::Admin,
    },
    HelpLine {
        usage: "disable agent <bk>/<srv>",
        what: "stop a server's agent checks",
        level: Level::Admin,
    },
    HelpLine {
        usage: "enable agent <bk>/<srv>",
        what: "resume a server's agent checks",
        level: Level::Admin,
    },
    HelpLine {
        usage: "set maxconn server <bk>/<srv> <n>",
        what: "change a server's connection limit (0: none)",
        level: Level::Admin,
    },
    HelpLine {
        usage: "get var <name>",
        what: "show a process-wide variable (proc.*)",
        level: Level::Operator,
    },
    HelpLine {
        usage: "set var <name> [expr|fmt] <value>",
        what: "set a process-wide variable (experimental mode)",
        level: Level::Operator,
    },
    HelpLine {
        usage: "experimental-mode [on|off]",
        what: "allow experimental commands in this session",
        level: Level::Admin,
    },
    HelpLine {
        usage: "expert-mode [on|off]",
        what: "allow expert commands in this session",
        level: Level::Admin,
    },
    HelpLine {
        usage: "operator",
        what: "lower this session's level to operator",
        level: Level::Operator,
    },
    HelpLine {
        usage: "user",
        what: "lower this session's level to user",
        level: Level::User,
    },
];

/// The help list for `level`, optionally only the commands starting with `filter`.
pub fn help_text(level: Level, filter: &[String]) -> String {
    let prefix = filter.join(" ");
    let mut out = String::new();
    for h in HELP.iter().filter(|h| h.level <= level) {
        if !prefix.is_empty() && !h.usage.starts_with(prefix.as_str()) {
            continue;
        }
        out.push_str(&format!("  {:<48} : {}\n", h.usage, h.what));
    }
    out
}

fn permission_denied() -> Answer {
    Answer::text("Permission denied\n")
}

/// Runs one command (its words, and the payload when the line announced one).
pub fn execute(rt: &Runtime, s: &mut Session, words: &[String], payload: Option<&str>) -> Answer {
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let need = |level: Level| s.level >= level;
    match w.as_slice() {
        [] => Answer::empty(),
        ["help", rest @ ..] => {
            let rest: Vec<String> = rest.iter().map(|r| r.to_string()).collect();
            let list = help_text(s.level, &rest);
            if list.is_empty() {
                Answer::text(format!(
                    "No command starts with '{}'. Type 'help' for the list.\n",
                    rest.join(" ")
                ))
            } else {
                Answer::text(format!(
                    "The runtime API of Sluice knows these commands:\n{list}"
                ))
            }
        }
        ["prompt", args @ ..] => prompt(s, args),
        ["quit"] => Answer {
            text: String::new(),
            quit: true,
        },
        ["user"] => {
            s.level = s.level.min(Level::User);
            Answer::empty()
        }
        ["operator"] => {
            if !need(Level::Operator) {
                return permission_denied();
            }
            s.level = s.level.min(Level::Operator);
            Answer::empty()
        }
        ["experimental-mode", args @ ..] | ["expert-mode", args @ ..] => {
            if !need(Level::Admin) {
                return permission_denied();
            }
            let expert = w.first() == Some(&"expert-mode");
            let flag = if expert {
                &mut s.expert
            } else {
                &mut s.experimental
            };
            match args {
                [] => Answer::text(format!(
                    "{} mode is {}\n",
                    if expert { "expert" } else { "experimental" },
                    if *flag { "on" } else { "off" }
                )),
                ["on"] => {
                    *flag = true;
                    Answer::empty()
                }
                ["off"] => {
                    *flag = false;
                    Answer::empty()
                }
                _ => Answer::text("error: 'on' or 'off' expected.\n"),
            }
        }
        ["show", "cli", "level"] => Answer::text(format!("{}\n", s.level.name())),
        ["show", "version"] => Answer::text(format!("{}\n", Runtime::version())),
        ["show", "info", args @ ..] => info::show_info(rt, args),
        ["show", "env", args @ ..] => {
            if !need(Level::Operator) {
                return permission_denied();
            }
            info::show_env(args)
        }
        ["show", "errors", ..] => {
            if !need(Level::Operator) {
                return permission_denied();
            }
            info::show_errors()
        }
        ["show", "events", args @ ..] => {
            if !need(Level::Operator) {
                return permission_denied();
            }
            let outputs = crate::log::Outputs::current();
            Answer::text(crate::log::ring::show_events(outputs.rings(), args))
        }
        ["show", "backend"] => servers::show_backend(rt),
        ["show", "resolvers", args @ ..] => super::resolvers::show_resolvers(rt, args),
        ["show", "servers", "state", args @ ..] => servers::show_state(rt, args),
        ["show", "servers", "conn", args @ ..] => servers::show_conn(rt, args),
        ["show", "stat", args @ ..] => stat::show_stat(rt, args),
        ["show", "table", args @ ..] if need(Level::Operator) => stick::show_table(rt, args),
        ["clear", "table", args @ ..] if need(Level::Admin) => stick::clear_table(rt, args),
        ["set", "table", args @ ..] if need(Level::Admin) => stick::set_table(rt, args),
        ["show" | "clear" | "set", "table", ..] => permission_denied(),
        ["get", "weight", args @ ..] => servers::get_weight(rt, args),
        ["get", "var", args @ ..] if need(Level::Operator) => super::vars::get_var(args),
        ["set", "var", args @ ..] if need(Level::Operator) => super::vars::set_var(rt, s, args),
        ["get" | "set", "var", ..] => permission_denied(),
        ["set", "weight", args @ ..] => {
            if !need(Level::Admin) {
                return permission_denied();
            }
            servers::set_weight(rt, args)
        }
        ["set", "maxconn", "server", args @ ..] => {
            if !need(Level::Admin) {
                return permission_denied();
            }
            servers::set_maxconn(rt, args)
        }
        ["del", "server", args @ ..] => {
            if !need(Level::Admin) {
                return permission_denied();
            }
            super::del_server::del_server(rt, args)
        }
        ["set", "server", args @ ..] => {
            if !need(Level::Admin) {
                return permission_denied();
            }
            servers::set_server(rt, args)
        }
        [verb @ ("enable" | "disable"), what @ ("server" | "health" | "agent"), args @ ..] => {
            if !need(Level::Admin) {
                return permission_denied();
            }
            servers::toggle(rt, *verb == "enable", what, args)
        }
        _ => match unsupported::answer(&w, payload.is_some()) {
            Some(a) => a,
            None => unknown(s.level, &w),
        },
    }
}

/// `prompt [help|n|i|p|timed]*`.
fn prompt(s: &mut Session, args: &[&str]) -> Answer {
    if args.is_empty() {
        // Cycles prompt → non-interactive.
        s.mode = match s.mode {
            Mode::Prompt => Mode::NonInteractive,
            _ => Mode::Prompt,
        };
        return Answer::empty();
    }
    for a in args {
        match *a {
            "n" => s.mode = Mode::NonInteractive,
            "i" => s.mode = Mode::Interactive,
            "p" => s.mode = Mode::Prompt,
            "timed" => {
                s.timed = !s.timed;
                if s.mode != Mode::Prompt {
                    s.mode = Mode::Prompt;
                }
            }
            _ => {
                return Answer::text(
                    "Usage: prompt [help | n | i | p | timed]*\n  n: non-interactive, i: interactive, p: interactive with a prompt, timed: uptime in the prompt\n",
                )
            }
        }
    }
    Answer::empty()
}

fn unknown(level: Level, words: &[&str]) -> Answer {
    let first = words.first().copied().unwrap_or_default();
    Answer::text(format!(
        "Unknown command: '{first}'. The runtime API of Sluice knows these commands:\n{}",
        help_text(level, &[])
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_hides_commands_above_the_level() {
        let user = help_text(Level::User, &[]);
        assert!(user.contains("show info"));
        assert!(!user.contains("disable server"));
        let admin = help_text(Level::Admin, &[]);
        assert!(admin.contains("disable server"));
        assert!(help_text(Level::Admin, &["show".into(), "servers".into()])
            .lines()
            .all(|l| l.trim_start().starts_with("show servers")));
    }
}
