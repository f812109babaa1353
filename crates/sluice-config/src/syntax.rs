//! The raw syntax tree: sections and their statements, each word with its position.
//!
//! This layer knows which sections exist and where every word came from, but not what the
//! keywords mean; that is [`sluice_model`]'s job. Directives (`.if`, `.notice`...) have already
//! been applied by the reader and do not appear here.

use crate::source::{FileId, Location};
use std::fmt;

/// One word of a configuration line after quoting, escapes and environment expansion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    /// The word's text after unquoting and expansion.
    pub text: String,
    /// 1-based byte position in the raw line where the word starts (indentation included).
    pub column: u32,
    /// Width in bytes of the raw text that produced the word (for underlining).
    pub raw_len: u32,
}

impl Word {
    pub fn new(text: impl Into<String>, column: u32, raw_len: u32) -> Self {
        Self {
            text: text.into(),
            column,
            raw_len,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Word {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The section keywords of HAProxy 3.4 (`program` was removed in 3.3 and is reported as such).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SectionKind {
    Global,
    Defaults,
    Frontend,
    Backend,
    Listen,
    Peers,
    Resolvers,
    Userlist,
    Mailers,
    HttpErrors,
    Ring,
    LogForward,
    LogProfile,
    Cache,
    FcgiApp,
    CrtStore,
    Traces,
    Acme,
    Healthcheck,
    NamespaceList,
}

impl SectionKind {
    pub const ALL: [SectionKind; 20] = [
        SectionKind::Global,
        SectionKind::Defaults,
        SectionKind::Frontend,
        SectionKind::Backend,
        SectionKind::Listen,
        SectionKind::Peers,
        SectionKind::Resolvers,
        SectionKind::Userlist,
        SectionKind::Mailers,
        SectionKind::HttpErrors,
        SectionKind::Ring,
        SectionKind::LogForward,
        SectionKind::LogProfile,
        SectionKind::Cache,
        SectionKind::FcgiApp,
        SectionKind::CrtStore,
        SectionKind::Traces,
        SectionKind::Acme,
        SectionKind::Healthcheck,
        SectionKind::NamespaceList,
    ];

    /// The keyword that opens the section.
    pub fn keyword(self) -> &'static str {
        match self {
            SectionKind::Global => "global",
            SectionKind::Defaults => "defaults",
            SectionKind::Frontend => "frontend",
            SectionKind::Backend => "backend",
            SectionKind::Listen => "listen",
            SectionKind::Peers => "peers",
            SectionKind::Resolvers => "resolvers",
            SectionKind::Userlist => "userlist",
            SectionKind::Mailers => "mailers",
            SectionKind::HttpErrors => "http-errors",
            SectionKind::Ring => "ring",
            SectionKind::LogForward => "log-forward",
            SectionKind::LogProfile => "log-profile",
            SectionKind::Cache => "cache",
            SectionKind::FcgiApp => "fcgi-app",
            SectionKind::CrtStore => "crt-store",
            SectionKind::Traces => "traces",
            SectionKind::Acme => "acme",
            SectionKind::Healthcheck => "healthcheck",
            SectionKind::NamespaceList => "namespace_list",
        }
    }

    pub fn from_keyword(word: &str) -> Option<SectionKind> {
        SectionKind::ALL.into_iter().find(|k| k.keyword() == word)
    }

    /// Sections that are proxies (share the proxy keyword table).
    pub fn is_proxy(self) -> bool {
        matches!(
            self,
            SectionKind::Defaults
                | SectionKind::Frontend
                | SectionKind::Backend
                | SectionKind::Listen
        )
    }
}

impl fmt::Display for SectionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

/// One non-directive line inside a section: the keyword and its arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// All words of the line; `words[0]` is the keyword (possibly `no` or `default`).
    pub words: Vec<Word>,
    /// The line, column 1.
    pub location: Location,
}

impl Statement {
    pub fn keyword(&self) -> &str {
        self.words.first().map(Word::as_str).unwrap_or("")
    }

    pub fn args(&self) -> &[Word] {
        self.words.get(1..).unwrap_or(&[])
    }

    /// The location of word `index` (0 = keyword), spanning its raw text.
    pub fn word_location(&self, index: usize) -> Location {
        match self.words.get(index) {
            Some(word) => Location::new(
                self.location.file,
                self.location.line,
                word.column,
                word.raw_len,
            ),
            None => self.location,
        }
    }

    /// The words joined by single spaces, as HAProxy quotes a line back.
    pub fn text(&self) -> String {
        self.words
            .iter()
            .map(Word::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A section header and its body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    pub kind: SectionKind,
    /// The header line: `words[0]` is the section keyword, `words[1]` the name when present,
    /// then e.g. `from <defaults>` or a (rejected) address on a `listen` line.
    pub header: Statement,
    pub statements: Vec<Statement>,
}

impl Section {
    pub fn name(&self) -> Option<&str> {
        self.header.words.get(1).map(Word::as_str)
    }

    pub fn location(&self) -> Location {
        self.header.location
    }

    pub fn file(&self) -> FileId {
        self.header.location.file
    }
}

/// Every section of every file, in reading order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfigTree {
    pub sections: Vec<Section>,
}
