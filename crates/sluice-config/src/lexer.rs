//! Splitting one configuration line into words: quotes, escapes, environment expansion.
//!
//! This follows HAProxy's `parse_line` byte for byte where users can see it:
//!
//! * a line ends at NUL, LF or CR; leading blanks are skipped;
//! * `#` outside quotes starts a comment, even in the middle of a word (`foo#bar` is `foo`);
//! * `"..."` quotes weakly (environment expansion and escapes work), `'...'` strongly
//!   (nothing is special but the closing `'`); quoted and unquoted pieces that touch form one
//!   word, and `""` is an empty word;
//! * outside single quotes a backslash escapes ` `, `\`, `#`, `'`, `"`, `t`, `n`, `r`, `xHH`,
//!   and `$` inside double quotes; any other pair is kept as is (`a\1b` stays `a\1b`);
//! * inside double quotes `$NAME`, `${NAME}`, `${NAME-default}` and `${NAME[*]}` expand, as
//!   do the pseudo-variables `${.FILE}`, `${.LINE}` and `${.SECTION}`;
//! * at most [`MAX_WORDS`] words per line.
//!
//! Positions are 1-based byte offsets in the raw line, indentation included, as HAProxy
//! prints them in "at position P".

use crate::environment::Environment;
use crate::syntax::Word;
use std::fmt;

/// Most words a line may have (HAProxy's `MAX_LINE_ARGS`).
pub const MAX_WORDS: usize = 64;

/// What the lexer needs to expand a line: the environment and where the line is, for
/// `${.FILE}`, `${.LINE}` and `${.SECTION}`.
#[derive(Clone, Copy, Debug)]
pub struct LexContext<'a> {
    pub env: &'a Environment,
    /// The file name as the user gave it (`${.FILE}`).
    pub file: &'a str,
    /// The 1-based line number (`${.LINE}`).
    pub line: u32,
    /// The current section's name, or its keyword when unnamed; empty before the first
    /// section (`${.SECTION}`).
    pub section: &'a str,
}

impl<'a> LexContext<'a> {
    /// A context for text that is not part of a file (`-cc`, tests).
    pub fn detached(env: &'a Environment) -> Self {
        Self {
            env,
            file: "",
            line: 0,
            section: "",
        }
    }
}

/// Which rule of the line syntax a line breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LexErrorKind {
    /// The line ends inside `"..."` or `'...'`.
    UnmatchedQuote,
    /// `\x` not followed by two hexadecimal digits.
    BadHex,
    /// `${` without its `}` (this includes the shell form `${NAME:-x}`).
    UnmatchedBrace,
    /// `$` followed by something that cannot start a variable name, or an unknown
    /// `${.NAME}` pseudo-variable.
    ForbiddenVarChar,
    /// `${NAME[` not followed by `*]`.
    BadWordExpansion,
    /// More than [`MAX_WORDS`] words.
    TooManyWords,
}

/// A line that cannot be split into words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LexError {
    pub kind: LexErrorKind,
    /// 1-based byte position of the offending byte in the raw line.
    pub position: u32,
    /// For [`LexErrorKind::TooManyWords`]: the last word kept.
    pub word: Option<String>,
}

impl LexError {
    fn new(kind: LexErrorKind, index: usize) -> Self {
        Self {
            kind,
            position: to_column(index),
            word: None,
        }
    }

    /// HAProxy's text for this error (what follows `parsing [file:line]: `). The texts that
    /// end with `:` are followed, in HAProxy's output, by the line and a caret under
    /// [`LexError::position`].
    pub fn message(&self) -> String {
        let p = self.position;
        match self.kind {
            LexErrorKind::UnmatchedQuote => format!("unmatched quote at position {p}:"),
            LexErrorKind::BadHex => {
                format!("truncated or invalid hexadecimal sequence at position {p}:")
            }
            LexErrorKind::UnmatchedBrace => {
                format!("unmatched brace in environment variable name at position {p}:")
            }
            LexErrorKind::ForbiddenVarChar => {
                format!("forbidden first char in environment variable name at position {p}:")
            }
            LexErrorKind::BadWordExpansion => {
                format!("truncated or invalid word expansion sequence at position {p}:")
            }
            LexErrorKind::TooManyWords => format!(
                "too many words, truncating after word {MAX_WORDS}, position {p}: <{}>.",
                self.word.as_deref().unwrap_or("")
            ),
        }
    }

    /// The stable diagnostic code.
    pub fn code(&self) -> &'static str {
        match self.kind {
            LexErrorKind::UnmatchedQuote => "unmatched-quote",
            LexErrorKind::BadHex => "invalid-hex-escape",
            LexErrorKind::UnmatchedBrace => "unmatched-brace",
            LexErrorKind::ForbiddenVarChar => "invalid-variable-name",
            LexErrorKind::BadWordExpansion => "invalid-word-expansion",
            LexErrorKind::TooManyWords => "too-many-words",
        }
    }

    /// How to fix it, one line.
    pub fn help(&self) -> &'static str {
        match self.kind {
            LexErrorKind::UnmatchedQuote => {
                "close the quote on the same line (a line cannot continue on the next one), or escape it with a backslash"
            }
            LexErrorKind::BadHex => {
                "write exactly two hexadecimal digits after '\\x' (e.g. '\\x41'), or '\\\\x' for a literal backslash"
            }
            LexErrorKind::UnmatchedBrace => {
                "close the variable with '}'; a default value is written \"${NAME-default}\" (no ':' as in shells)"
            }
            LexErrorKind::ForbiddenVarChar => {
                "a variable name starts with a letter or '_' (pseudo-variables: ${.FILE}, ${.LINE}, ${.SECTION}); write '\\$' for a literal dollar"
            }
            LexErrorKind::BadWordExpansion => "the only word expansion is \"${NAME[*]}\"",
            LexErrorKind::TooManyWords => {
                "split the line in several lines (e.g. several 'acl' lines with the same name), or use a file (-f) for long value lists"
            }
        }
    }

    /// The `-cc` form of the error (HAProxy prints these without a position).
    pub fn cc_message(&self) -> &'static str {
        match self.kind {
            LexErrorKind::UnmatchedQuote => "Syntax Error in condition: Unmatched quote.",
            LexErrorKind::BadHex => {
                "Syntax Error in condition: Truncated or invalid hexadecimal sequence."
            }
            LexErrorKind::UnmatchedBrace => {
                "Syntax Error in condition: Unmatched brace in environment variable name."
            }
            LexErrorKind::ForbiddenVarChar => {
                "Syntax Error in condition: Forbidden first char in environment variable name."
            }
            LexErrorKind::BadWordExpansion => {
                "Syntax Error in condition: Truncated or invalid word expansion sequence."
            }
            LexErrorKind::TooManyWords => "Error in condition: Too many words.",
        }
    }
}

impl fmt::Display for LexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for LexError {}

/// A word that came out empty (`""`, or `"$UNSET"`): HAProxy 3.4 rejects such lines because
/// keyword parsers stop at the first empty word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmptyWord {
    /// Index of the word in the line (0 = keyword), HAProxy's "argument number".
    pub index: usize,
    /// 1-based position to report: the name of the variable that expanded to nothing, or
    /// else the start of the word.
    pub position: u32,
    /// The variable that expanded to nothing, when there is one.
    pub variable: Option<String>,
}

/// The words of one line, and which of them are empty.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Line {
    pub words: Vec<Word>,
    pub empty: Vec<EmptyWord>,
}

/// Splits one line (without its LF) into words.
pub fn tokenize(raw_line: &[u8], ctx: &LexContext) -> Result<Vec<Word>, LexError> {
    tokenize_line(raw_line, ctx).map(|line| line.words)
}

/// Like [`tokenize`], also telling which words came out empty.
pub fn tokenize_line(raw_line: &[u8], ctx: &LexContext) -> Result<Line, LexError> {
    // HAProxy sees C strings: a NUL ends the line like a LF.
    let end = raw_line
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(raw_line.len());
    let mut lexer = Lexer {
        s: raw_line.get(..end).unwrap_or_default(),
        ctx,
        out: Line::default(),
        cur: Vec::new(),
        start: None,
        end: 0,
        explicit_empty: false,
        empty_var: None,
        too_many: None,
    };
    lexer.run()?;
    Ok(lexer.out)
}

/// The C locale's `isspace`.
pub fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn to_column(index: usize) -> u32 {
    u32::try_from(index.saturating_add(1)).unwrap_or(u32::MAX)
}

struct Lexer<'s, 'c> {
    s: &'s [u8],
    ctx: &'c LexContext<'c>,
    out: Line,
    /// Bytes of the word being built.
    cur: Vec<u8>,
    /// Raw index where the current word started, if one has.
    start: Option<usize>,
    /// Raw index just after the last byte that belongs to the current word.
    end: usize,
    /// The current word exists even if empty (`""`, `"$UNSET"`).
    explicit_empty: bool,
    /// First variable of the current word that expanded to nothing: (raw index, name).
    empty_var: Option<(usize, String)>,
    /// Set once a word beyond [`MAX_WORDS`] shows up; reported after the other errors, as
    /// HAProxy does.
    too_many: Option<LexError>,
}

impl Lexer<'_, '_> {
    fn at(&self, i: usize) -> Option<u8> {
        self.s.get(i).copied()
    }

    fn begin(&mut self, i: usize) {
        if self.start.is_none() {
            self.start = Some(i);
        }
    }

    fn push(&mut self, i: usize, b: u8, next: usize) {
        self.begin(i);
        self.cur.push(b);
        self.end = next;
    }

    fn run(&mut self) -> Result<(), LexError> {
        let mut i = 0;
        while self.at(i).is_some_and(is_space) {
            i += 1;
        }
        let mut squote = false;
        let mut dquote = false;
        let mut quote_at = 0;
        // A `${X[*]}` inside the current double quotes: the quotes alone do not make a word.
        let mut star_in_quotes = false;
        while let Some(c) = self.at(i) {
            match c {
                b'\n' | b'\r' => break,
                b'#' if !squote && !dquote => break,
                b'"' if !squote => {
                    self.begin(i);
                    if dquote {
                        if !star_in_quotes {
                            self.explicit_empty = true;
                        }
                    } else {
                        quote_at = i;
                        star_in_quotes = false;
                    }
                    dquote = !dquote;
                    i += 1;
                    self.end = i;
                }
                b'\'' if !dquote => {
                    self.begin(i);
                    if squote {
                        self.explicit_empty = true;
                    } else {
                        quote_at = i;
                    }
                    squote = !squote;
                    i += 1;
                    self.end = i;
                }
                b'\\' if !squote => i = self.escape(i, dquote)?,
                c if is_space(c) && !squote && !dquote => {
                    self.finish();
                    while self.at(i).is_some_and(is_space) {
                        i += 1;
                    }
                }
                b'$' if dquote => {
                    let (next, star) = self.expand(i)?;
                    star_in_quotes |= star;
                    i = next;
                }
                _ => {
                    self.push(i, c, i + 1);
                    i += 1;
                }
            }
        }
        if squote || dquote {
            return Err(LexError::new(LexErrorKind::UnmatchedQuote, quote_at));
        }
        self.finish();
        match self.too_many.take() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// A backslash at `i` outside single quotes; returns the next index.
    fn escape(&mut self, i: usize, dquote: bool) -> Result<usize, LexError> {
        let (byte, len) = match self.at(i + 1) {
            Some(b' ') => (b' ', 2),
            Some(b'\\') => (b'\\', 2),
            Some(b't') => (b'\t', 2),
            Some(b'n') => (b'\n', 2),
            Some(b'r') => (b'\r', 2),
            Some(b'#') => (b'#', 2),
            Some(b'\'') => (b'\'', 2),
            Some(b'"') => (b'"', 2),
            Some(b'$') if dquote => (b'$', 2),
            Some(b'x') => {
                let high = self.at(i + 2).and_then(hex_value);
                let low = self.at(i + 3).and_then(hex_value);
                match (high, low) {
                    (Some(h), Some(l)) => ((h << 4) | l, 4),
                    _ => return Err(LexError::new(LexErrorKind::BadHex, i)),
                }
            }
            // Not an escape: the backslash stays (regex back-references rely on it).
            _ => (b'\\', 1),
        };
        self.push(i, byte, i + len);
        Ok(i + len)
    }

    /// A `$` at `i` inside double quotes; returns the next index and whether it was a
    /// `${NAME[*]}` word expansion.
    fn expand(&mut self, dollar: usize) -> Result<(usize, bool), LexError> {
        let mut i = dollar + 1;
        let brace = if self.at(i) == Some(b'{') {
            i += 1;
            Some(i - 1)
        } else {
            None
        };
        match self.at(i) {
            Some(b) if b.is_ascii_alphabetic() || b == b'_' || b == b'.' => {}
            _ => return Err(LexError::new(LexErrorKind::ForbiddenVarChar, i)),
        }
        let name_at = i;
        if self.at(i) == Some(b'.') {
            i += 1;
        }
        while self
            .at(i)
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            i += 1;
        }
        let name = String::from_utf8_lossy(self.s.get(name_at..i).unwrap_or_default()).into_owned();
        let mut value: Option<Vec<u8>> = if name.starts_with('.') {
            let pseudo = match name.as_str() {
                ".LINE" => self.ctx.line.to_string(),
                ".FILE" => self.ctx.file.to_string(),
                ".SECTION" => self.ctx.section.to_string(),
                _ => return Err(LexError::new(LexErrorKind::ForbiddenVarChar, name_at)),
            };
            Some(pseudo.into_bytes())
        } else {
            self.ctx.env.get(&name).map(|v| v.as_bytes().to_vec())
        };
        let mut star = false;
        if let Some(open) = brace {
            if self.at(i) == Some(b'[') {
                if self.at(i + 1) == Some(b'*') && self.at(i + 2) == Some(b']') {
                    star = true;
                    i += 3;
                } else {
                    return Err(LexError::new(LexErrorKind::BadWordExpansion, i));
                }
            }
            match self.at(i) {
                Some(b'-') => {
                    let from = i + 1;
                    let close = self
                        .s
                        .get(from..)
                        .and_then(|rest| rest.iter().position(|&b| b == b'}'))
                        .map(|offset| from + offset)
                        .ok_or_else(|| LexError::new(LexErrorKind::UnmatchedBrace, open))?;
                    if value.is_none() {
                        value = Some(self.s.get(from..close).unwrap_or_default().to_vec());
                    }
                    i = close + 1;
                }
                Some(b'}') => i += 1,
                _ => return Err(LexError::new(LexErrorKind::UnmatchedBrace, open)),
            }
        }
        let value = value.unwrap_or_default();
        self.begin(dollar);
        self.end = i;
        if star {
            // Split on blanks into separate words; an empty value gives no word at all.
            let mut k = 0;
            while let Some(&b) = value.get(k) {
                if is_space(b) {
                    self.finish();
                    while value.get(k).copied().is_some_and(is_space) {
                        k += 1;
                    }
                } else {
                    self.push(dollar, b, i);
                    k += 1;
                }
            }
        } else if value.is_empty() {
            self.explicit_empty = true;
            if self.empty_var.is_none() {
                self.empty_var = Some((name_at, name));
            }
        } else {
            self.cur.extend_from_slice(&value);
        }
        Ok((i, star))
    }

    /// Ends the current word, if one has started.
    fn finish(&mut self) {
        let Some(start) = self.start.take() else {
            return;
        };
        // Keyword parsers see C strings: a `\x00` ends the word there.
        if let Some(nul) = self.cur.iter().position(|&b| b == 0) {
            self.cur.truncate(nul);
        }
        let keep = !self.cur.is_empty() || self.explicit_empty;
        let empty_var = self.empty_var.take();
        self.explicit_empty = false;
        let bytes = std::mem::take(&mut self.cur);
        if !keep {
            return;
        }
        if self.out.words.len() >= MAX_WORDS {
            if self.too_many.is_none() {
                let last = self.out.words.last();
                self.too_many = Some(LexError {
                    kind: LexErrorKind::TooManyWords,
                    position: last.map_or(to_column(start), |w| w.column),
                    word: last.map(|w| w.text.clone()),
                });
            }
            return;
        }
        let raw_len = u32::try_from(self.end.saturating_sub(start)).unwrap_or(u32::MAX);
        let column = to_column(start);
        if bytes.is_empty() {
            let (position, variable) = match empty_var {
                Some((at, name)) => (to_column(at), Some(name)),
                None => (column, None),
            };
            self.out.empty.push(EmptyWord {
                index: self.out.words.len(),
                position,
                variable,
            });
        }
        // Bytes that are not UTF-8 stay recoverable (see `crate::raw`).
        let text = crate::raw::text_of(bytes);
        self.out.words.push(Word::new(text, column, raw_len));
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Quotes `text` so that [`tokenize`] gives it back as one word: single quotes when it has
/// no `'`, else double quotes with escapes. Control bytes other than TAB/LF/CR are written
/// as `\xHH`.
pub fn quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'\'' | b'\\' | b'#' | b'$'));
    if plain {
        return text.to_string();
    }
    if !text.contains('\'') && !text.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return format!("'{text}'");
    }
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '$' => out.push_str("\\$"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
