//! The `global` section.

use crate::address::{self, Address, Use};
use crate::catalogue::{self, Admission, Place};
use crate::log::{self, LogLine, LogTarget};
use crate::proxy::bind::{self, BindOptions};
use crate::spanned::Spanned;
use crate::statement::{self, report, Failure, Parsed};
use sluice_config::keywords::Table;
use sluice_config::{Category, Diagnostic, Diagnostics, Location, SectionKind, Statement};
use std::time::Duration;

/// `stats socket <address> [bind options]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatsSocket {
    pub address: Address,
    pub options: BindOptions,
    pub location: Location,
}

/// `default-path current|config|parent|origin <dir>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DefaultPath {
    Current,
    Config,
    Parent,
    Origin(String),
}

/// Global settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Global {
    /// The header of the first `global` section (for findings with no line of their own).
    pub location: Option<Location>,
    pub maxconn: Option<Spanned<u64>>,
    pub nbthread: Option<Spanned<u64>>,
    pub thread_groups: Option<Spanned<u64>>,
    pub chroot: Option<Spanned<String>>,
    pub user: Option<Spanned<String>>,
    pub group: Option<Spanned<String>>,
    pub uid: Option<Spanned<u64>>,
    pub gid: Option<Spanned<u64>>,
    pub daemon: bool,
    pub master_worker: bool,
    pub pidfile: Option<Spanned<String>>,
    pub stats_sockets: Vec<StatsSocket>,
    pub stats_timeout: Option<Duration>,
    pub logs: Vec<LogTarget>,
    pub ulimit_n: Option<Spanned<u64>>,
    pub ca_base: Option<Spanned<String>>,
    pub crt_base: Option<Spanned<String>>,
    pub default_path: Option<Spanned<DefaultPath>>,
    pub hard_stop_after: Option<Duration>,
    pub tune_bufsize: Option<Spanned<u64>>,
    pub tune_maxrewrite: Option<Spanned<u64>>,
    pub tune_http_maxhdr: Option<u64>,
    pub server_state_file: Option<Spanned<String>>,
    pub server_state_base: Option<Spanned<String>>,
    pub ssl_dh_param_file: Option<Spanned<String>>,
    pub lua_loads: Vec<Spanned<String>>,
    /// Supported keywords kept as written.
    pub other: Vec<Statement>,
}

const TYPED: &[&str] = &[
    "maxconn",
    "nbthread",
    "thread-groups",
    "chroot",
    "user",
    "group",
    "uid",
    "gid",
    "daemon",
    "master-worker",
    "pidfile",
    "stats",
    "log",
    "ulimit-n",
    "ca-base",
    "crt-base",
    "default-path",
    "hard-stop-after",
    "tune.bufsize",
    "tune.maxrewrite",
    "tune.http.maxhdr",
    "server-state-file",
    "server-state-base",
    "ssl-dh-param-file",
    "quiet",
    "zero-warning",
    "node",
    "description",
];

/// Parses one statement of a `global` section.
pub fn parse_statement(global: &mut Global, stmt: &Statement, diags: &mut Diagnostics) {
    if let Err(failure) = parse_inner(global, stmt, diags) {
        report(failure, diags);
    }
}

fn set_once<T>(
    slot: &mut Option<Spanned<T>>,
    value: T,
    stmt: &Statement,
    what: &str,
    diags: &mut Diagnostics,
) {
    if let Some(previous) = slot {
        diags.push(
            Diagnostic::warning(
                Category::Semantic,
                "global-duplicate",
                format!("{what} already specified. Continuing."),
            )
            .at(stmt.location)
            .help(format!(
                "remove one of the two lines; the first one (line {}) is kept",
                previous.location.line
            )),
        );
        return;
    }
    *slot = Some(Spanned::new(value, stmt.location));
}

fn parse_inner(global: &mut Global, stmt: &Statement, diags: &mut Diagnostics) -> Parsed<()> {
    let keyword = stmt.keyword();
    let is_no = keyword == "no" || keyword == "default";
    let real = if is_no {
        stmt.words.get(1).map(|w| w.as_str()).unwrap_or("")
    } else {
        keyword
    };
    let place = Place {
        table: Table::Section(SectionKind::Global),
        context: "'global' section",
    };
    let typed = TYPED.contains(&real);
    if catalogue::admit(
        &place,
        real,
        typed,
        stmt.word_location(usize::from(is_no)),
        diags,
    ) == Admission::Reject
    {
        return Err(Failure::Reported);
    }
    let path = |i: usize| -> Parsed<String> {
        statement::no_extra(stmt, i)?;
        Ok(statement::arg(stmt, i, "a path")?.text.clone())
    };
    // `server-state-file` and `server-state-base` ignore what follows their path, as HAProxy
    // does (no `too_many_args()` in `cfg_parse_global_state_files()`).
    let path_then_anything =
        |i: usize| -> Parsed<String> { Ok(statement::arg(stmt, i, "a path")?.text.clone()) };
    // HAProxy checks the number of arguments before anything else (duplicates, values).
    if let Some(last) = max_args(real).filter(|_| !is_no) {
        statement::no_extra(stmt, last)?;
    }
    match real {
        "maxconn" => {
            let v = statement::uint(stmt, 1, 1, i32::MAX as u64, "a number of connections")?;
            set_once(&mut global.maxconn, v, stmt, "'maxconn'", diags);
        }
        "nbthread" => {
            let v = statement::uint(stmt, 1, 1, 4096, "a number of threads")?;
            set_once(&mut global.nbthread, v, stmt, "'nbthread'", diags);
        }
        "thread-groups" => {
            // HAProxy's default build allows 16 groups. Sluice's threads share nothing that
            // a group would partition (each runs its own runtime and accept loop), so one
            // group is exactly what runs; more only changes HAProxy's internal sharing.
            let v = statement::uint(stmt, 1, 1, 16, "a number of thread groups")?;
            if v > 1 {
                diags.push(
                    Diagnostic::warning(
                        Category::Compatibility,
                        "thread-groups-single",
                        format!("'thread-groups {v}': Sluice runs its threads as one group"),
                    )
                    .at(stmt.location)
                    .help("each thread already accepts and serves its own connections; remove the line or write 'thread-groups 1'"),
                );
            }
            set_once(&mut global.thread_groups, v, stmt, "'thread-groups'", diags);
        }
        "chroot" => {
            let p = path(1)?;
            set_once(&mut global.chroot, p, stmt, "chroot", diags);
        }
        "user" | "uid" => {
            if global.user.is_some() || global.uid.is_some() {
                diags.push(
                    Diagnostic::warning(
                        Category::Semantic,
                        "global-duplicate",
                        "user/uid already specified. Continuing.",
                    )
                    .at(stmt.location)
                    .help("keep only one 'user' or 'uid' line"),
                );
                return Ok(());
            }
            if real == "uid" {
                let v = statement::uint(stmt, 1, 0, u32::MAX as u64, "a numeric user id")?;
                global.uid = Some(Spanned::new(v, stmt.word_location(1)));
            } else {
                let name = statement::arg(stmt, 1, "a user name")?;
                global.user = Some(Spanned::new(name.text.clone(), stmt.word_location(1)));
            }
        }
        "group" | "gid" => {
            if global.group.is_some() || global.gid.is_some() {
                diags.push(
                    Diagnostic::warning(
                        Category::Semantic,
                        "global-duplicate",
                        "group/gid already specified. Continuing.",
                    )
                    .at(stmt.location)
                    .help("keep only one 'group' or 'gid' line"),
                );
                return Ok(());
            }
            if real == "gid" {
                let v = statement::uint(stmt, 1, 0, u32::MAX as u64, "a numeric group id")?;
                global.gid = Some(Spanned::new(v, stmt.word_location(1)));
            } else {
                let name = statement::arg(stmt, 1, "a group name")?;
                global.group = Some(Spanned::new(name.text.clone(), stmt.word_location(1)));
            }
        }
        "daemon" => {
            statement::too_many_args(
                stmt,
                0,
                "daemon",
                "no argument; remove the whole line to run in the foreground",
            )?;
            global.daemon = true;
        }
        "master-worker" => {
            if let Some(word) = stmt.words.get(1) {
                if word.text != "no-exit-on-failure" {
                    return Err(statement::unexpected(
                        stmt,
                        1,
                        "'master-worker' only supports 'no-exit-on-failure' option.",
                        format!(
                            "remove '{}': 'master-worker' takes no argument, or only 'no-exit-on-failure'",
                            word.text
                        ),
                    ));
                }
            }
            global.master_worker = true;
        }
        "description" => {
            if stmt.words.len() < 2 {
                return Err(Diagnostic::error(
                    Category::Syntax,
                    "argument-missing",
                    "'description' expects a string argument.",
                )
                .at(stmt.location)
                .help("write 'description <text>' (the rest of the line is the description)")
                .into());
            }
            global.other.push(stmt.clone());
        }
        "pidfile" => {
            let p = path(1)?;
            set_once(&mut global.pidfile, p, stmt, "pidfile", diags);
        }
        "stats" => parse_stats(global, stmt, diags)?,
        "log" => match log::parse(stmt)? {
            LogLine::Target(t) => global.logs.push(t),
            LogLine::Disable => global.logs.clear(),
            LogLine::Global(_) => {
                return Err(statement::syntax_error(
                    stmt,
                    1,
                    "log-global-in-global",
                    "'log global' is only meaningful in proxies.",
                    "write the log target itself, e.g. 'log 127.0.0.1:514 local0'",
                )
                .into())
            }
        },
        "ulimit-n" => {
            let v = statement::uint(stmt, 1, 1, i32::MAX as u64, "a number of file descriptors")?;
            set_once(&mut global.ulimit_n, v, stmt, "ulimit-n", diags);
        }
        "ca-base" => {
            let p = path(1)?;
            set_once(&mut global.ca_base, p, stmt, "'ca-base'", diags);
        }
        "crt-base" => {
            let p = path(1)?;
            set_once(&mut global.crt_base, p, stmt, "'crt-base'", diags);
        }
        "default-path" => {
            let kind = statement::arg(stmt, 1, "'current', 'config', 'parent' or 'origin <dir>'")?;
            let value = match kind.as_str() {
                "current" => DefaultPath::Current,
                "config" => DefaultPath::Config,
                "parent" => DefaultPath::Parent,
                "origin" => DefaultPath::Origin(statement::arg(stmt, 2, "a directory")?.text.clone()),
                other => {
                    return Err(statement::syntax_error(
                        stmt,
                        1,
                        "value-invalid",
                        format!("'default-path' expects 'current', 'config', 'parent' or 'origin', got '{other}'."),
                        "write e.g. 'default-path config'",
                    )
                    .into())
                }
            };
            global.default_path = Some(Spanned::new(value, stmt.location));
        }
        "hard-stop-after" => global.hard_stop_after = Some(statement::duration(stmt, 1, diags)?),
        "tune.bufsize" => {
            let v = statement::size(stmt, 1)?;
            global.tune_bufsize = Some(Spanned::new(v, stmt.location));
        }
        "tune.maxrewrite" => {
            let v = statement::size(stmt, 1)?;
            global.tune_maxrewrite = Some(Spanned::new(v, stmt.location));
        }
        "tune.http.maxhdr" => {
            global.tune_http_maxhdr =
                Some(statement::uint(stmt, 1, 1, 32767, "a number of headers")?)
        }
        "server-state-file" => {
            global.server_state_file =
                Some(Spanned::new(path_then_anything(1)?, stmt.word_location(1)))
        }
        "server-state-base" => {
            global.server_state_base =
                Some(Spanned::new(path_then_anything(1)?, stmt.word_location(1)))
        }
        "ssl-dh-param-file" => {
            global.ssl_dh_param_file = Some(Spanned::new(path(1)?, stmt.word_location(1)))
        }
        "lua-load" | "lua-load-per-thread" => {
            let w = statement::arg(stmt, 1, "a Lua file")?;
            global
                .lua_loads
                .push(Spanned::new(w.text.clone(), stmt.word_location(1)));
        }
        // Read by the data plane's compression (kept as written, checked here).
        "tune.comp.maxlevel" => {
            statement::uint(stmt, 1, 1, 9, "a compression level")?;
            global.other.push(stmt.clone());
        }
        _ => global.other.push(stmt.clone()),
    }
    Ok(())
}

/// The index of the last word HAProxy 3.4 accepts after `keyword` (its `too_many_args()`
/// count), for the keywords whose parser checks it and that the model reads. `daemon` and
/// `master-worker` have their own messages; `description` takes the rest of the line;
/// `hard-stop-after`, `default-path`, `stats timeout`, the `server-state-*` paths and
/// `lua-load` (script arguments) accept more words.
fn max_args(keyword: &str) -> Option<usize> {
    match keyword {
        "quiet" | "zero-warning" => Some(0),
        "master-worker" | "maxconn" | "nbthread" | "thread-groups" | "ulimit-n" | "user"
        | "group" | "uid" | "gid" | "node" | "log-tag" | "tune.bufsize" | "tune.maxrewrite"
        | "tune.http.maxhdr" => Some(1),
        _ => None,
    }
}

fn parse_stats(global: &mut Global, stmt: &Statement, diags: &mut Diagnostics) -> Parsed<()> {
    let sub = statement::arg(stmt, 1, "'socket', 'timeout' or 'maxconn'")?;
    match sub.as_str() {
        "socket" => {
            let word = statement::arg(stmt, 2, "an address or a path")?;
            let address = address::parse(&word.text, Use::Listen).map_err(|e| {
                Diagnostic::error(Category::Syntax, "address-invalid", format!("'stats socket' : {}", e.message))
                    .at(stmt.word_location(2))
                    .help(e.help)
            })?;
            bind::check_unix_path(&address, stmt, 2)?;
            let options = bind::parse_options(stmt, 3, "stats socket", diags)?;
            global.stats_sockets.push(StatsSocket {
                address,
                options,
                location: stmt.location,
            });
        }
        "timeout" => global.stats_timeout = Some(statement::duration(stmt, 2, diags)?),
        "maxconn" => {
            statement::uint(stmt, 2, 1, i32::MAX as u64, "a number of connections")?;
        }
        "bind-process" => {}
        other => {
            return Err(statement::syntax_error(
                stmt,
                1,
                "keyword-unknown",
                format!("'stats' in the 'global' section expects 'socket', 'maxconn' or 'timeout', got '{other}'."),
                "write e.g. 'stats socket /run/haproxy.sock mode 600 level admin'",
            )
            .into())
        }
    }
    Ok(())
}
