//! Loading and checking a configuration: the one flow behind `-c` and, later, the master's
//! start and reload.
//!
//! ```text
//! Invocation ─ files::expand/load ─ SourceMap
//!            ─ Environment (process + HAPROXY_* + log formats while reading)
//!            ─ sluice_config::read_config ─ ConfigTree
//!            ─ sluice_model::build ─ Model
//!            ─ sluice_rules::check_all (when the model has no error: ACLs, samples, actions)
//!            ─ sluice_preflight::run (when the text has no error; `--check-env`)
//!            → CheckOutcome { sources, env, tree, model, diagnostics }
//! ```
//!
//! Nothing here prints: [`crate::report`] renders an outcome and computes the exit code.

use crate::args::{ArgNote, Invocation};
use crate::environment;
use crate::features::enabled_features;
use crate::files;
use crate::haproxy_env;
use sluice_config::reader::{DEFAULT_ENABLED_OPTIONS, MAX_FATAL_PER_FILE};
use sluice_config::{
    read_config, Category, ConfigTree, Diagnostic, Environment, FileId, Location, ReadOptions,
    SectionKind, Severity, SourceMap,
};
use sluice_model::{BuildOptions, Model};

/// Everything one load produced.
#[derive(Debug)]
pub struct CheckOutcome {
    /// The files actually read, directories expanded, in order.
    pub sources: SourceMap,
    /// The environment after reading: process variables, `HAPROXY_*`, the `setenv` family.
    pub env: Environment,
    pub tree: ConfigTree,
    pub model: Model,
    /// In report order: command-line notes, reader, model; `diag` ones only in `-dD`.
    pub diagnostics: Vec<Diagnostic>,
    /// `-dW` or the global `zero-warning` keyword.
    pub zero_warning: bool,
}

/// What a check concludes, in HAProxy's order of precedence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// At least one error: exit 1.
    Errors,
    /// Warnings under zero-warning: exit 1.
    ZeroWarningAbort,
    /// Valid, but no proxy listens, no peers and no log-forward section: exit 2.
    NoListener,
    /// Exit 0.
    Valid,
}

impl Verdict {
    /// The `-c` exit code.
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Errors | Verdict::ZeroWarningAbort => 1,
            Verdict::NoListener => 2,
            Verdict::Valid => 0,
        }
    }
}

impl CheckOutcome {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// Whether a printed warning or diag counts (`Warnings were found.`, zero-warning).
    pub fn has_counted_warnings(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::counts_as_warning)
    }

    pub fn verdict(&self) -> Verdict {
        if self.has_errors() {
            Verdict::Errors
        } else if self.zero_warning && self.has_counted_warnings() {
            Verdict::ZeroWarningAbort
        } else if !self.model.has_listener() {
            Verdict::NoListener
        } else {
            Verdict::Valid
        }
    }

    /// Files holding at least one error, once each, in load order.
    pub fn files_with_errors(&self) -> Vec<FileId> {
        let mut files: Vec<FileId> = self
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .filter_map(|d| d.location.map(|l| l.file))
            .collect();
        files.sort();
        files.dedup();
        files
    }

    /// Whether an error stopped a file at once (`.alert`...): HAProxy then omits its
    /// `Fatal errors found in configuration.` summary.
    pub fn aborted(&self) -> bool {
        self.diagnostics.iter().any(|d| d.is_error() && d.aborts)
    }
}

/// The reader's options for this command line; the one place that wires command-line state
/// (diagnostic mode, the feature list, `-d*` switches) into `.if` evaluation.
pub fn read_options(inv: &Invocation) -> ReadOptions {
    let mut enabled_options: Vec<String> = DEFAULT_ENABLED_OPTIONS
        .iter()
        .filter(|name| !inv.disabled.contains(name))
        .map(|name| name.to_string())
        .collect();
    if inv.ssl_verify_none {
        enabled_options.push("SERVER-SSL-VERIFY-NONE".to_string());
    }
    ReadOptions {
        diag_mode: inv.diag_mode,
        // The same list `-vv` prints.
        features: enabled_features(),
        enabled_options,
    }
}

/// The process environment with the `HAPROXY_*` variables defined before reading.
pub fn startup_environment(inv: &Invocation) -> Environment {
    let mut env = Environment::from_process();
    haproxy_env::set_startup(&mut env, inv);
    env
}

/// Loads the files of `inv` and checks them. `Err` when a file cannot be found or read (the
/// diagnostic carries HAProxy's text; nothing else can be said then).
pub fn load_and_check(inv: &Invocation) -> Result<CheckOutcome, Box<Diagnostic>> {
    let names = files::expand(&inv.config_paths)?;
    let sources = files::load(&names)?;

    let mut env = startup_environment(inv);
    haproxy_env::set_log_formats(&mut env);
    let (mut tree, read_diagnostics) = read_config(&sources, &mut env, &read_options(inv));
    if inv.ssl_verify_none {
        verify_servers_none(&mut tree);
    }
    haproxy_env::unset_log_formats(&mut env);
    // `-L` wins over the `localpeer` keyword.
    if let Some(peer) = &inv.local_peer {
        env.set("HAPROXY_LOCALPEER", peer.clone());
    }
    haproxy_env::set_config_files(&mut env, sources.ids().map(|id| sources.name(id)));

    let (model, model_diagnostics) = sluice_model::build(
        &tree,
        &BuildOptions {
            diag_mode: inv.diag_mode,
            env: Some(env.clone()),
        },
    );

    let mut diagnostics: Vec<Diagnostic> = Vec::new();
    let reader_failed = read_diagnostics.has_errors();
    diagnostics.extend(read_diagnostics);
    // HAProxy runs its post-parse checks only on a configuration that parsed: after a reader
    // error, keep the model's keyword-level findings but not its cross-checks, which would
    // mostly be consequences of the lines the reader dropped.
    diagnostics.extend(model_diagnostics.into_iter().filter(|d| {
        !reader_failed || matches!(d.category, Category::Syntax | Category::Compatibility)
    }));
    let mut diagnostics = cap_fatal_errors(in_line_order(diagnostics));

    if !inv.master_cli.is_empty() && !inv.master_worker && !global_has(&tree, "master-worker") {
        // HAProxy's text; it ends the check without the "Fatal errors" summary.
        diagnostics.push(
            Diagnostic::error(
                Category::Semantic,
                "master-cli-without-master-worker",
                "a master CLI socket was defined, but master-worker mode (-W) is not enabled.",
            )
            .help("add -W (or -Ws under systemd), or remove the -S option")
            .aborting(),
        );
    }
    // The typed chain (fetches, converters, regexes, actions) is checked here, not at the
    // first request; only on a model whose ACLs and rules parsed. What Sluice cannot run
    // yet (compatibility errors) does not stop it: the lines it refused are out of the
    // model, and the other causes should not wait for the next run to show.
    if !diagnostics.iter().any(is_language_error) {
        let found = rules_findings(&model, &sources, &diagnostics);
        diagnostics.extend(in_line_order(found));
    }
    // The machine is checked only for a configuration whose text is otherwise valid:
    // environment findings about lines that are wrong anyway would be noise. After the
    // text's own findings, as HAProxy resolves servers after parsing.
    if !diagnostics.iter().any(is_language_error) {
        diagnostics.extend(in_line_order(
            environment::preflight(inv, &model, &sources).items,
        ));
    }
    if !inv.diag_mode {
        diagnostics.retain(|d| d.severity != Severity::Diag);
    }
    let diagnostics: Vec<Diagnostic> = inv
        .notes
        .iter()
        .map(note_diagnostic)
        .chain(diagnostics)
        .collect();

    let zero_warning = inv.zero_warning || global_has(&tree, "zero-warning");
    Ok(CheckOutcome {
        sources,
        env,
        tree,
        model,
        diagnostics,
        zero_warning,
    })
}

/// An error in the configuration's language (syntax or meaning), as opposed to one about
/// what Sluice cannot run yet or about the machine.
fn is_language_error(d: &Diagnostic) -> bool {
    d.is_error() && matches!(d.category, Category::Syntax | Category::Semantic)
}

/// What compiling every proxy's ACLs and rules finds. Files that cannot be opened are left to
/// the environment preflight, which reports each one (one cause, one message); a finding the
/// model already made on the same line (an ignored keyword) is not repeated.
fn rules_findings(model: &Model, sources: &SourceMap, known: &[Diagnostic]) -> Vec<Diagnostic> {
    // Relative pattern and map files are opened as HAProxy does while parsing: from the
    // current directory, or where `default-path` says for the lines after it.
    let options = sluice_rules::CompileOptions {
        base_dir: sluice_preflight::rules_base_dir(model, sources),
    };
    sluice_rules::check_all(model, &options)
        .into_iter()
        .filter(|d| d.code != sluice_rules::FILE_UNREADABLE)
        .filter(|d| {
            !known.iter().any(|k| {
                k.code == d.code
                    && k.location.map(|l| (l.file, l.line)) == d.location.map(|l| (l.file, l.line))
            })
        })
        .collect()
}

/// Reader and model findings interleaved as one pass would print them: by file (in load order),
/// then line; findings without a location keep their order, after the others.
fn in_line_order(mut diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    // A stable sort keeps the order of findings on the same line.
    diagnostics.sort_by_key(|d| match d.location {
        Some(l) => (0, l.file, l.line),
        None => (1, FileId(0), 0),
    });
    diagnostics
}

/// HAProxy stops reading a file after its 50th fatal error; the reader and the model each see
/// only their own errors, so the cap is applied here, on both together.
fn cap_fatal_errors(diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut errors: Vec<(FileId, usize)> = Vec::new();
    let mut stopped: Vec<FileId> = Vec::new();
    let mut kept = Vec::with_capacity(diagnostics.len());
    for d in diagnostics {
        if d.code == TOO_MANY_ERRORS {
            continue;
        }
        let Some(location) = d.location else {
            kept.push(d);
            continue;
        };
        if stopped.contains(&location.file) {
            continue;
        }
        let is_error = d.is_error();
        kept.push(d);
        if !is_error {
            continue;
        }
        let count = match errors.iter_mut().find(|(f, _)| *f == location.file) {
            Some((_, n)) => {
                *n += 1;
                *n
            }
            None => {
                errors.push((location.file, 1));
                1
            }
        };
        if count >= MAX_FATAL_PER_FILE {
            stopped.push(location.file);
            kept.push(
                Diagnostic::error(
                    Category::Syntax,
                    TOO_MANY_ERRORS,
                    format!("too many fatal errors ({MAX_FATAL_PER_FILE}), stopping now."),
                )
                .at(Location::line(location.file, location.line + 1))
                .help("fix the errors above; the rest of this file was not read"),
            );
        }
    }
    kept
}

const TOO_MANY_ERRORS: &str = "too-many-errors";

/// Whether a `global` section holds `keyword` (a flag keyword the binary acts on itself).
/// `-dV`: `ssl-server-verify none` as the first line of the global section, so that a
/// `ssl-server-verify` line in the file still wins, as HAProxy applies the flag before
/// reading the file.
fn verify_servers_none(tree: &mut ConfigTree) {
    use sluice_config::{Section, Statement, Word};
    let Some(at) = tree.sections.first().map(|s| s.header.location) else {
        return;
    };
    let line = Statement {
        words: vec![
            Word::new("ssl-server-verify", 1, 0),
            Word::new("none", 1, 0),
        ],
        location: at,
    };
    match tree
        .sections
        .iter_mut()
        .find(|s| s.kind == SectionKind::Global)
    {
        Some(g) => g.statements.insert(0, line),
        None => tree.sections.insert(
            0,
            Section {
                kind: SectionKind::Global,
                header: Statement {
                    words: vec![Word::new("global", 1, 0)],
                    location: at,
                },
                statements: vec![line],
            },
        ),
    }
}

pub fn global_has(tree: &ConfigTree, keyword: &str) -> bool {
    tree.sections
        .iter()
        .filter(|s| s.kind == SectionKind::Global)
        .flat_map(|s| &s.statements)
        .any(|st| st.keyword() == keyword)
}

/// A command-line note as a diagnostic, shown (and in `--json` listed) with the others.
fn note_diagnostic(note: &ArgNote) -> Diagnostic {
    match note {
        ArgNote::TrailingLetters {
            word,
            read_as,
            ignored,
        } => Diagnostic::warning(
            Category::Syntax,
            "option-trailing-letters",
            format!("option '{word}' was read as '{read_as}'; trailing '{ignored}' ignored"),
        )
        .help(format!(
            "options are not bundled: write each one separately (e.g. '{read_as} -{}')",
            ignored
        ))
        // HAProxy accepts these silently; the warning must not change an exit code.
        .exempt_from_zero_warning(),
        ArgNote::Ignored { word } => Diagnostic::notice(
            Category::Compatibility,
            "option-ignored",
            format!("option '{word}' is accepted for compatibility and has no effect in Sluice"),
        ),
    }
}
