//! Reading files into a [`ConfigTree`]: lines, lexer, directives, sections.
//!
//! For each file, in order, as HAProxy's `parse_cfg` does:
//!
//! 1. split on LF (a CR ends a line's text, so CRLF files work; a NUL byte is an error and a
//!    last line without LF is an error after it has been read);
//! 2. tokenise every line, even in a skipped `.if` block (lexer errors are always reported);
//! 3. apply `.if`/`.elif`/`.else`/`.endif` (a stack per file), then, outside skipped blocks,
//!    `.notice`/`.warning`/`.alert`/`.diag`;
//! 4. reject lines with an empty word (HAProxy 3.4: keyword parsers would stop there);
//! 5. open sections on section keywords (every file starts outside any section) and file the
//!    other lines as statements; the global `setenv` family changes `env` as it is read.
//!
//! After 50 fatal errors in one file the rest of the file is not read. An aborting error
//! (`.alert`, broken `.if` nesting) stops the reading of every file.

use crate::cond::{self, CondContext};
use crate::diagnostic::{Category, Diagnostic, Diagnostics};
use crate::environment::Environment;
use crate::lexer::{self, LexContext, LexError};
use crate::source::{FileId, Location, SourceMap};
use crate::syntax::{ConfigTree, Section, SectionKind, Statement, Word};

/// Most fatal errors in one file before the reader gives up on it.
pub const MAX_FATAL_PER_FILE: usize = 50;
/// HAProxy's `MAXNESTEDCONDS`: `.if` blocks nest at most 99 deep.
pub const MAX_NESTED_IF: usize = 100;

/// The options `enabled()` answers true for by default, as on Linux.
pub const DEFAULT_ENABLED_OPTIONS: [&str; 6] = [
    "EPOLL",
    "POLL",
    "SPLICE",
    "GETADDRINFO",
    "REUSEPORT",
    "FAST-FORWARD",
];

/// Codes of the errors HAProxy finds in its first ("discovery") pass over the files. When
/// one of them is found, HAProxy stops before its second pass, so the `.notice`, `.warning`
/// and `.diag` lines of the files are never printed; the reader drops them in that case.
pub const FIRST_PASS_CODES: &[&str] = &[
    "unmatched-quote",
    "invalid-hex-escape",
    "unmatched-brace",
    "invalid-variable-name",
    "invalid-word-expansion",
    "too-many-words",
    "stray-nul",
    "too-many-errors",
    "if-too-deep",
    "if-lone-elif",
    "if-lone-else",
    "if-lone-endif",
    "if-elif-after-else",
    "if-else-after-else",
    "if-not-terminated",
    "invalid-condition",
];

/// Codes of the reader's diagnostics that HAProxy prints as `parsing [file:line]: message`,
/// without the space before the colon that keyword errors have (`parsing [file:line] : `).
pub const HAPROXY_TIGHT_CODES: &[&str] = &[
    "unmatched-quote",
    "invalid-hex-escape",
    "unmatched-brace",
    "invalid-variable-name",
    "invalid-word-expansion",
    "too-many-words",
    "missing-lf",
    "stray-nul",
    "too-many-errors",
    "empty-argument",
    "unknown-directive",
    "directive-extra-argument",
    "if-too-deep",
    "if-lone-elif",
    "if-lone-else",
    "if-lone-endif",
    "if-elif-after-else",
    "if-else-after-else",
    "if-not-terminated",
    "invalid-condition",
    "alert-directive",
    "warning-directive",
    "notice-directive",
    "diag-directive",
    "keyword-out-of-section",
    "program-section-removed",
];

/// Codes of the messages written by `.notice`, `.warning` and `.diag`.
const MESSAGE_DIRECTIVE_CODES: &[&str] =
    &["warning-directive", "notice-directive", "diag-directive"];

/// The note HAProxy prints once per run after the first empty-argument error.
const EMPTY_ARGUMENT_NOTE: &str = "Aborting to prevent all subsequent arguments from being silently ignored. If this is caused by an environment variable expansion, please have a look at section 2.3 of the configuration manual to find solutions to address this.";

/// What the reader needs to know beyond the text.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    /// `-dD`: `.diag` lines and diagnostic-mode checks are reported.
    pub diag_mode: bool,
    /// The build features `feature(NAME)` is true for (the `+NAME` entries of `-vv`).
    pub features: Vec<String>,
    /// The options `enabled(OPT)` is true for, after command-line switches such as `-de`.
    pub enabled_options: Vec<String>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            diag_mode: false,
            features: Vec::new(),
            enabled_options: DEFAULT_ENABLED_OPTIONS
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }
    }
}

impl ReadOptions {
    fn cond_context<'a>(&'a self, env: &'a Environment) -> CondContext<'a> {
        CondContext::new(env, &self.features, &self.enabled_options)
    }
}

/// Reads every file of `sources` in order. `env` starts as the process environment and is
/// changed by the global `setenv` family as lines are read.
pub fn read_config(
    sources: &SourceMap,
    env: &mut Environment,
    options: &ReadOptions,
) -> (ConfigTree, Diagnostics) {
    let mut run = Run {
        options,
        tree: ConfigTree::default(),
        diags: Diagnostics::new(),
        empty_argument_noted: false,
        non_global_seen: false,
    };
    for file in sources.ids() {
        let source = sources.get(file);
        let outcome = FileReader::new(&mut run, env, file, &source.name).read(&source.text);
        if outcome == Outcome::Aborted {
            break;
        }
    }
    let mut diags = run.diags;
    if diags.iter().any(|d| FIRST_PASS_CODES.contains(&d.code)) {
        diags
            .items
            .retain(|d| !MESSAGE_DIRECTIVE_CODES.contains(&d.code));
    }
    (run.tree, diags)
}

/// Reads one in-memory file with an empty environment (tests and examples).
pub fn read_str(name: &str, text: &str, options: &ReadOptions) -> (ConfigTree, Diagnostics) {
    let mut sources = SourceMap::new();
    sources.add(name, text.as_bytes().to_vec());
    read_config(&sources, &mut Environment::empty(), options)
}

/// Evaluates a `-cc EXPR` condition: the text is tokenised like a configuration line
/// (quotes, escapes, environment), its words joined with one space, and the result
/// evaluated. Errors carry HAProxy's `-cc` texts and no location.
// Called once per process for `-cc`; the size of the error does not matter.
#[allow(clippy::result_large_err)]
pub fn evaluate_cc(
    expr_text: &str,
    env: &Environment,
    options: &ReadOptions,
) -> Result<bool, Diagnostic> {
    let words = lexer::tokenize(expr_text.as_bytes(), &LexContext::detached(env)).map_err(
        |e: LexError| Diagnostic::error(Category::Syntax, e.code(), e.cc_message()).help(e.help()),
    )?;
    let expr = join_words(&words);
    cond::evaluate(&expr, &options.cond_context(env)).map_err(|e| {
        Diagnostic::error(
            Category::Syntax,
            "invalid-condition",
            format!("Failed to evaluate condition: {}", e.message),
        )
        .help(CONDITION_HELP)
    })
}

const CONDITION_HELP: &str = "conditions combine integers, '!', '&&', '||', parentheses and the predicates defined(), feature(), streq(), strneq(), strstr(), version_atleast(), version_before(), enabled()";

fn join_words(words: &[Word]) -> String {
    words.iter().map(Word::as_str).collect::<Vec<_>>().join(" ")
}

/// State shared by all files of one run.
struct Run<'o> {
    options: &'o ReadOptions,
    tree: ConfigTree,
    diags: Diagnostics,
    /// HAProxy explains the empty-argument error only the first time.
    empty_argument_noted: bool,
    /// A section other than `global` was opened (for the `-dD` ordering advice).
    non_global_seen: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// The file was read to its end (possibly with errors).
    Done,
    /// The reading of this file stopped early; the next files are read.
    Stopped,
    /// An aborting error: no further file is read.
    Aborted,
}

/// Where a `.if` level stands (HAProxy's `nested_cond_state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cond {
    /// `.if` true: lines are read.
    IfTake,
    /// `.if` false: lines are skipped, a later `.elif`/`.else` may be taken.
    IfDrop,
    /// `.if` inside a skipped block: nothing in it is taken.
    IfSkip,
    ElifTake,
    ElifDrop,
    /// An `.elif` after a taken branch.
    ElifSkip,
    ElseTake,
    ElseDrop,
}

impl Cond {
    fn skips(self) -> bool {
        matches!(
            self,
            Cond::IfDrop | Cond::IfSkip | Cond::ElifDrop | Cond::ElifSkip | Cond::ElseDrop
        )
    }

    /// A branch of this level was taken or can never be (later branches are not taken).
    fn settled(self) -> bool {
        matches!(
            self,
            Cond::IfTake | Cond::IfSkip | Cond::ElifTake | Cond::ElifSkip
        )
    }

    fn is_else(self) -> bool {
        matches!(self, Cond::ElseTake | Cond::ElseDrop)
    }
}

/// Where the lines of a file currently go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    /// Before the first section header of the file.
    OutOfSection,
    /// Inside `tree.sections[index]`.
    Section(usize),
    /// Inside a `program` section (removed in HAProxy 3.3): its body is skipped silently.
    Program,
}

struct FileReader<'r, 'o> {
    run: &'r mut Run<'o>,
    env: &'r mut Environment,
    file: FileId,
    name: &'r str,
    line: u32,
    fatal: usize,
    conds: Vec<Cond>,
    place: Place,
    /// `${.SECTION}`: the current section's name, or its keyword when unnamed.
    section_label: String,
}

impl<'r, 'o> FileReader<'r, 'o> {
    fn new(run: &'r mut Run<'o>, env: &'r mut Environment, file: FileId, name: &'r str) -> Self {
        Self {
            run,
            env,
            file,
            name,
            line: 0,
            fatal: 0,
            conds: Vec::new(),
            place: Place::OutOfSection,
            section_label: String::new(),
        }
    }

    fn read(mut self, text: &[u8]) -> Outcome {
        // A file that does not end with LF has a last line without it.
        let ends_with_lf = !matches!(text.last(), Some(&b) if b != b'\n');
        let mut lines = text.split(|&b| b == b'\n').peekable();
        let mut last_len = 0;
        let mut outcome = Outcome::Done;
        while let Some(raw) = lines.next() {
            let is_last = lines.peek().is_none();
            if is_last && ends_with_lf {
                // The empty piece after the final LF is not a line.
                break;
            }
            self.line = self.line.saturating_add(1);
            last_len = raw.len();
            if self.fatal >= MAX_FATAL_PER_FILE {
                self.push(
                    Diagnostic::error(
                        Category::Syntax,
                        "too-many-errors",
                        format!(
                            "too many fatal errors ({}), stopping now.",
                            MAX_FATAL_PER_FILE
                        ),
                    )
                    .at(Location::line(self.file, self.line))
                    .help("fix the errors above; the rest of this file was not read"),
                );
                outcome = Outcome::Stopped;
                break;
            }
            if let Some(nul) = raw.iter().position(|&b| b == 0) {
                self.push(
                    Diagnostic::error(
                        Category::Syntax,
                        "stray-nul",
                        format!("Stray NUL character at position {}.", nul + 1),
                    )
                    .at(self.at_byte(nul, 1))
                    .help("the file contains a NUL byte: it is probably binary or corrupted; remove the byte"),
                );
                return self.finish(Outcome::Stopped, false, 0);
            }
            match self.line_bytes(raw) {
                Outcome::Done => {}
                Outcome::Stopped => {
                    outcome = Outcome::Stopped;
                    break;
                }
                Outcome::Aborted => return Outcome::Aborted,
            }
        }
        let missing_lf = !ends_with_lf && outcome == Outcome::Done;
        self.finish(outcome, missing_lf, last_len)
    }

    /// End-of-file checks: a missing final LF, a `.if` left open.
    fn finish(mut self, outcome: Outcome, missing_lf: bool, last_len: usize) -> Outcome {
        if missing_lf {
            self.push(
                // HAProxy refuses such a file; editors often leave the final newline out, so
                // Sluice warns instead (and `-dW` still fails on it).
                Diagnostic::warning(
                    Category::Syntax,
                    "missing-lf",
                    format!(
                        "Missing LF on last line, file might have been truncated at position {}.",
                        last_len + 1
                    ),
                )
                .at(self.at_byte(last_len, 0))
                .help("end the file with a newline; if the file was cut short, restore it"),
            );
        }
        if !self.conds.is_empty() {
            self.push(
                Diagnostic::error(
                    Category::Syntax,
                    "if-not-terminated",
                    "non-terminated '.if' block.",
                )
                .at(Location::line(self.file, self.line))
                .help("add the missing '.endif'; every '.if' ends in the file where it starts")
                .aborting(),
            );
            return Outcome::Aborted;
        }
        outcome
    }

    fn push(&mut self, diagnostic: Diagnostic) {
        self.run.diags.push(diagnostic);
    }

    fn fatal(&mut self, diagnostic: Diagnostic) {
        self.fatal += 1;
        self.push(diagnostic);
    }

    /// The location of 0-based byte `index` of the current line.
    fn at_byte(&self, index: usize, len: u32) -> Location {
        let column = u32::try_from(index.saturating_add(1)).unwrap_or(u32::MAX);
        Location::new(self.file, self.line, column, len)
    }

    fn at_word(&self, word: &Word) -> Location {
        Location::new(self.file, self.line, word.column, word.raw_len)
    }

    fn skipping(&self) -> bool {
        self.conds.last().is_some_and(|c| c.skips())
    }

    /// One line, without its LF.
    fn line_bytes(&mut self, raw: &[u8]) -> Outcome {
        let first = raw.iter().position(|&b| !lexer::is_space(b));
        let Some(first) = first else {
            return Outcome::Done;
        };
        if raw.get(first) == Some(&b'[') {
            self.scope(raw, first);
            return Outcome::Done;
        }
        let ctx = LexContext {
            env: self.env,
            file: self.name,
            line: self.line,
            section: &self.section_label,
        };
        let line = match lexer::tokenize_line(raw, &ctx) {
            Ok(line) => line,
            Err(error) => {
                let len = u32::from(error.kind != lexer::LexErrorKind::TooManyWords);
                let diagnostic = Diagnostic::error(Category::Syntax, error.code(), error.message())
                    .at(Location::new(self.file, self.line, error.position, len))
                    .help(error.help());
                self.fatal(diagnostic);
                return Outcome::Done;
            }
        };
        let Some(keyword) = line.words.first() else {
            return Outcome::Done;
        };
        match keyword.as_str() {
            ".if" => return self.directive_if(&line.words),
            ".elif" => return self.directive_elif(&line.words),
            ".else" | ".endif" => return self.directive_else_endif(&line.words),
            _ => {}
        }
        if self.skipping() {
            return Outcome::Done;
        }
        if keyword.as_str().starts_with('.') {
            return self.message_directive(&line.words);
        }
        if let Some(empty) = line.empty.first() {
            self.empty_argument(&line.words, empty);
            return Outcome::Done;
        }
        self.statement(line.words);
        Outcome::Done
    }

    /// `[name]` scope lines (used by SPOE files; accepted and ignored here).
    fn scope(&mut self, raw: &[u8], open: usize) {
        let body = raw.get(open + 1..).unwrap_or_default();
        let close = body.iter().position(|&b| b == b']');
        let error = match close {
            None | Some(0) => Some((
                open,
                "scope-empty",
                "empty scope name is forbidden.".to_string(),
            )),
            Some(close) => {
                let name = body.get(..close).unwrap_or_default();
                let bad = name.iter().position(|&b| {
                    !(b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'))
                });
                if let Some(bad) = bad {
                    let c = name.get(bad).copied().unwrap_or(b'?');
                    Some((
                        open + 1 + bad,
                        "scope-invalid-char",
                        format!(
                            "character '{}' is not permitted in a scope name.",
                            char::from(c)
                        ),
                    ))
                } else {
                    let after = open + 1 + close + 1;
                    let tail = raw.get(after..).unwrap_or_default();
                    let junk = tail.iter().position(|&b| !lexer::is_space(b));
                    match junk.and_then(|j| tail.get(j).map(|&b| (j, b))) {
                        Some((j, b)) if b != b'#' => Some((
                            after + j,
                            "scope-trailing-text",
                            format!(
                                "character '{}' is not permitted after scope declaration.",
                                char::from(b)
                            ),
                        )),
                        _ => None,
                    }
                }
            }
        };
        if let Some((index, code, message)) = error {
            let diagnostic = Diagnostic::error(Category::Syntax, code, message)
                .at(self.at_byte(index, 1))
                .help("a scope line is '[name]' alone on its line, the name made of letters, digits, '.', '_', '-' and ':'");
            // HAProxy does not count these towards its 50-error limit.
            self.push(diagnostic);
        }
    }

    fn directive_if(&mut self, words: &[Word]) -> Outcome {
        if self.conds.len() + 1 >= MAX_NESTED_IF {
            return self.abort(
                Diagnostic::error(
                    Category::Syntax,
                    "if-too-deep",
                    format!("too many nested '.if', max is {MAX_NESTED_IF}."),
                )
                .at(self.at_word_or_line(words.first()))
                .help("simplify the conditions: combine them with '&&' and '||'"),
            );
        }
        if self.skipping() {
            self.conds.push(Cond::IfSkip);
            return Outcome::Done;
        }
        match self.condition(".if", words) {
            Ok(true) => self.conds.push(Cond::IfTake),
            Ok(false) => self.conds.push(Cond::IfDrop),
            Err(diagnostic) => return self.abort(*diagnostic),
        }
        Outcome::Done
    }

    fn directive_elif(&mut self, words: &[Word]) -> Outcome {
        let Some(&top) = self.conds.last() else {
            return self.abort(self.lone(".elif", words));
        };
        if top.is_else() {
            return self.abort(
                Diagnostic::error(
                    Category::Syntax,
                    "if-elif-after-else",
                    "'.elif' after '.else' is not permitted.",
                )
                .at(self.at_word_or_line(words.first()))
                .help("move the '.elif' before the '.else'"),
            );
        }
        let next = if top.settled() {
            Cond::ElifSkip
        } else {
            match self.condition(".elif", words) {
                Ok(true) => Cond::ElifTake,
                Ok(false) => Cond::ElifDrop,
                Err(diagnostic) => return self.abort(*diagnostic),
            }
        };
        if let Some(slot) = self.conds.last_mut() {
            *slot = next;
        }
        Outcome::Done
    }

    fn directive_else_endif(&mut self, words: &[Word]) -> Outcome {
        let directive = words.first().map(Word::as_str).unwrap_or(".endif");
        if let Some(extra) = words.get(1) {
            return self.abort(
                Diagnostic::error(
                    Category::Syntax,
                    "directive-extra-argument",
                    format!("Unexpected argument '{}' for '{directive}'.", extra.text),
                )
                .at(self.at_word(extra))
                .help(format!(
                    "'{directive}' takes no argument; a comment starts with '#'"
                )),
            );
        }
        let Some(&top) = self.conds.last() else {
            return self.abort(self.lone(directive, words));
        };
        if directive == ".endif" {
            self.conds.pop();
            return Outcome::Done;
        }
        if top.is_else() {
            return self.abort(
                Diagnostic::error(
                    Category::Syntax,
                    "if-else-after-else",
                    "'.else' after '.else' is not permitted.",
                )
                .at(self.at_word_or_line(words.first()))
                .help("a '.if' block has at most one '.else'; use '.elif' for more branches"),
            );
        }
        let next = if top.settled() {
            Cond::ElseDrop
        } else {
            Cond::ElseTake
        };
        if let Some(slot) = self.conds.last_mut() {
            *slot = next;
        }
        Outcome::Done
    }

    fn lone(&self, directive: &str, words: &[Word]) -> Diagnostic {
        let code = match directive {
            ".elif" => "if-lone-elif",
            ".else" => "if-lone-else",
            _ => "if-lone-endif",
        };
        Diagnostic::error(
            Category::Syntax,
            code,
            format!("lone '{directive}' with no matching '.if'."),
        )
        .at(self.at_word_or_line(words.first()))
        .help(format!(
            "remove the '{directive}' or add the '.if' it belongs to; '.if' blocks do not span files"
        ))
    }

    fn at_word_or_line(&self, word: Option<&Word>) -> Location {
        match word {
            Some(word) => self.at_word(word),
            None => Location::line(self.file, self.line),
        }
    }

    fn abort(&mut self, diagnostic: Diagnostic) -> Outcome {
        self.push(diagnostic.aborting());
        Outcome::Aborted
    }

    /// Evaluates the words after `.if`/`.elif`, joined by one space.
    fn condition(&self, directive: &str, words: &[Word]) -> Result<bool, Box<Diagnostic>> {
        let args = words.get(1..).unwrap_or_default();
        let expr = join_words(args);
        let ctx = self.run.options.cond_context(self.env);
        cond::evaluate(&expr, &ctx).map_err(|e| {
            let location = self.expression_location(args, e.position);
            Box::new(
                Diagnostic::error(
                    Category::Syntax,
                    "invalid-condition",
                    format!("{} in '{directive}' at position {}:", e.message, e.position),
                )
                .at(location)
                .help(CONDITION_HELP),
            )
        })
    }

    /// Maps a 1-based position in the joined expression back to the raw line.
    fn expression_location(&self, args: &[Word], position: u32) -> Location {
        let mut offset = position.saturating_sub(1) as usize;
        for word in args {
            let len = word.text.len();
            if offset < len {
                let within = (offset as u32).min(word.raw_len.saturating_sub(1));
                return Location::new(self.file, self.line, word.column.saturating_add(within), 1);
            }
            if offset == len {
                return Location::new(
                    self.file,
                    self.line,
                    word.column.saturating_add(word.raw_len),
                    1,
                );
            }
            offset -= len + 1;
        }
        match args.last() {
            Some(word) => Location::new(
                self.file,
                self.line,
                word.column.saturating_add(word.raw_len),
                1,
            ),
            None => Location::line(self.file, self.line),
        }
    }

    /// `.notice`, `.warning`, `.alert`, `.diag` and unknown directives (outside skipped blocks).
    fn message_directive(&mut self, words: &[Word]) -> Outcome {
        let Some(directive) = words.first() else {
            return Outcome::Done;
        };
        let name = directive.as_str();
        let known = matches!(name, ".notice" | ".warning" | ".alert" | ".diag");
        if !known {
            let diagnostic = Diagnostic::error(
                Category::Syntax,
                "unknown-directive",
                format!("unknown directive '{name}'."),
            )
            .at(self.at_word(directive))
            .help("the directives are .if, .elif, .else, .endif, .notice, .warning, .alert and .diag; the rest of this file was not read");
            self.fatal(diagnostic);
            return Outcome::Stopped;
        }
        if let Some(extra) = words.get(2) {
            let diagnostic = Diagnostic::error(
                Category::Syntax,
                "directive-extra-argument",
                format!(
                    "Unexpected argument '{}' for '{name}'. Use quotes if the message should contain spaces.",
                    extra.text
                ),
            )
            .at(self.at_word(extra))
            .help(format!("write the message as one quoted word: {name} \"...\""));
            self.push(diagnostic);
            return Outcome::Done;
        }
        let text = words.get(1).map(Word::as_str).unwrap_or("");
        let message = format!("'{text}'.");
        let location = Location::new(self.file, self.line, directive.column, directive.raw_len);
        match name {
            ".alert" => {
                return self.abort(
                    Diagnostic::error(Category::Syntax, "alert-directive", message).at(location),
                );
            }
            ".warning" => {
                self.push(
                    Diagnostic::warning(Category::Syntax, "warning-directive", message)
                        .at(location),
                );
            }
            ".notice" => {
                self.push(
                    Diagnostic::notice(Category::Syntax, "notice-directive", message).at(location),
                );
            }
            _ => {
                if self.run.options.diag_mode {
                    self.push(
                        Diagnostic::diag(Category::Syntax, "diag-directive", message).at(location),
                    );
                }
            }
        }
        Outcome::Done
    }

    /// HAProxy 3.4 rejects a line with an empty word: every keyword parser would stop there
    /// and silently ignore the words after it.
    fn empty_argument(&mut self, words: &[Word], empty: &lexer::EmptyWord) {
        let len = match (&empty.variable, words.get(empty.index)) {
            (Some(name), _) => u32::try_from(name.len()).unwrap_or(0),
            (None, Some(word)) => word.raw_len,
            (None, None) => 1,
        };
        let mut diagnostic = Diagnostic::error(
            Category::Syntax,
            "empty-argument",
            format!(
                "argument number {} at position {} is empty and marks the end of the argument list:",
                empty.index, empty.position
            ),
        )
        .at(Location::new(self.file, self.line, empty.position, len));
        diagnostic = match &empty.variable {
            Some(name) if self.env.is_defined(name) => diagnostic.help(format!(
                "the environment variable '{name}' is set but empty: give it a value, or remove this argument"
            )),
            Some(name) => diagnostic.help(format!(
                "the environment variable '{name}' is not set: set it, or give a default with \"${{{name}-default}}\""
            )),
            None => diagnostic.help("remove the empty argument, or write its value between the quotes"),
        };
        if !self.run.empty_argument_noted {
            self.run.empty_argument_noted = true;
            diagnostic = diagnostic.note(EMPTY_ARGUMENT_NOTE);
        }
        if let Some(name) = &empty.variable {
            if !self.env.is_defined(name) {
                if let Some(close) = self.env.suggest(name) {
                    diagnostic =
                        diagnostic.note(format!("Hint: maybe you meant {close} instead ?"));
                }
            }
        }
        self.fatal(diagnostic);
    }

    /// A line that is neither a directive nor empty.
    fn statement(&mut self, words: Vec<Word>) {
        let location = Location::line(self.file, self.line);
        let keyword = words.first().map(Word::as_str).unwrap_or("");
        if let Some(kind) = SectionKind::from_keyword(keyword) {
            self.open_section(kind, Statement { words, location });
            return;
        }
        if keyword == "program" {
            self.program(&words);
            return;
        }
        match self.place {
            Place::Program => {}
            Place::OutOfSection => {
                let at = self.at_word_or_line(words.first());
                let diagnostic = Diagnostic::error(
                    Category::Syntax,
                    "keyword-out-of-section",
                    format!("unknown keyword '{keyword}' out of section."),
                )
                .at(at)
                .help("every file starts outside any section: put this line after a section header such as 'global' or 'defaults'");
                self.fatal(diagnostic);
            }
            Place::Section(index) => {
                let statement = Statement { words, location };
                let global = self
                    .run
                    .tree
                    .sections
                    .get(index)
                    .is_some_and(|s| s.kind == SectionKind::Global);
                if global {
                    apply_setenv(self.env, &statement);
                }
                if let Some(section) = self.run.tree.sections.get_mut(index) {
                    section.statements.push(statement);
                }
            }
        }
    }

    fn open_section(&mut self, kind: SectionKind, header: Statement) {
        if kind == SectionKind::Global {
            if self.run.non_global_seen && self.run.options.diag_mode {
                let at = self.at_word_or_line(header.words.first());
                self.push(
                    Diagnostic::diag(
                        Category::Advice,
                        "global-after-non-global",
                        "global section detected after a non-global one, the prevalence of their statements is unspecified",
                    )
                    .at(at)
                    .help("move every 'global' section before the other sections"),
                );
            }
        } else {
            self.run.non_global_seen = true;
        }
        self.section_label = header
            .words
            .get(1)
            .or(header.words.first())
            .map(|w| w.text.clone())
            .unwrap_or_default();
        self.run.tree.sections.push(Section {
            kind,
            header,
            statements: Vec::new(),
        });
        self.place = Place::Section(self.run.tree.sections.len().saturating_sub(1));
    }

    /// `program` sections were removed in HAProxy 3.3: one error, then the body is skipped.
    fn program(&mut self, words: &[Word]) {
        let at = self.at_word_or_line(words.first());
        let diagnostic = Diagnostic::error(
            Category::Syntax,
            "program-section-removed",
            "'program' sections are not supported anymore since HAProxy 3.3; this section and its lines are ignored.",
        )
        .at(at)
        .help("start the program with the service manager instead (e.g. a systemd unit next to Sluice's)");
        self.fatal(diagnostic);
        self.place = Place::Program;
        self.section_label = words
            .get(1)
            .or(words.first())
            .map(|w| w.text.clone())
            .unwrap_or_default();
    }
}

/// Applies a global `setenv`/`presetenv`/`unsetenv`/`resetenv` (or `localpeer`, which sets
/// `HAPROXY_LOCALPEER`) line to `env` when its words
/// are well formed; a malformed one is left to the keyword checks, which report it.
fn apply_setenv(env: &mut Environment, statement: &Statement) {
    let args: Vec<&str> = statement.args().iter().map(Word::as_str).collect();
    match (statement.keyword(), args.as_slice()) {
        ("setenv", [name, value]) => env.set(*name, *value),
        ("presetenv", [name, value]) => env.preset(name, value),
        // The local peer's name, which `-L` overrides once the files are read.
        ("localpeer", [name]) => env.set("HAPROXY_LOCALPEER", *name),
        ("unsetenv", names) if !names.is_empty() => {
            for name in names {
                env.unset(name);
            }
        }
        ("resetenv", keep) => env.reset_except(keep),
        _ => {}
    }
}
