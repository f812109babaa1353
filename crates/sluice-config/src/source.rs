//! Loaded configuration files and positions inside them.
//!
//! Every diagnostic and every syntax node points back into a [`SourceMap`] through a
//! [`Location`], so that renderers can show `file:line:column` and the offending line.

use std::fmt;

/// Index of a file inside a [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// One configuration file as read from disk (or given by a test).
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// The path exactly as the user gave it (after directory expansion), as HAProxy prints it.
    pub name: String,
    /// The raw bytes; configuration files are not required to be UTF-8.
    pub text: Vec<u8>,
}

impl SourceFile {
    /// The raw bytes of 1-based line `line`, without its LF (a CR is kept), if it exists.
    pub fn line_bytes(&self, line: u32) -> Option<&[u8]> {
        if line == 0 {
            return None;
        }
        self.text
            .split(|&b| b == b'\n')
            .nth(line as usize - 1)
            .filter(|_| line as usize <= self.line_count())
    }

    /// Number of lines (a last line without LF counts).
    pub fn line_count(&self) -> usize {
        let lf = self.text.iter().filter(|&&b| b == b'\n').count();
        if self.text.last().is_some_and(|&b| b != b'\n') {
            lf + 1
        } else {
            lf
        }
    }
}

/// All files of one load, in command-line order.
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a file and returns its id. The same path may be added twice (HAProxy parses it twice).
    pub fn add(&mut self, name: impl Into<String>, text: Vec<u8>) -> FileId {
        self.files.push(SourceFile {
            name: name.into(),
            text,
        });
        FileId(self.files.len() as u32 - 1)
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn name(&self, id: FileId) -> &str {
        &self.get(id).name
    }

    pub fn ids(&self) -> impl Iterator<Item = FileId> + '_ {
        (0..self.files.len() as u32).map(FileId)
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// `[file:line]` text for a location, as HAProxy prints it.
    pub fn describe(&self, loc: Location) -> String {
        format!("{}:{}", self.name(loc.file), loc.line)
    }
}

/// A place in a configuration file. `column` is 1-based and counts bytes of the raw line,
/// indentation included (as HAProxy's "at position P"); `len` is the width of the span to
/// underline (0 = just a caret).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Location {
    pub file: FileId,
    pub line: u32,
    pub column: u32,
    pub len: u32,
}

impl Location {
    pub fn new(file: FileId, line: u32, column: u32, len: u32) -> Self {
        Self {
            file,
            line,
            column,
            len,
        }
    }

    /// The whole line (column 1, no span).
    pub fn line(file: FileId, line: u32) -> Self {
        Self::new(file, line, 1, 0)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}:{}:{}", self.file.0, self.line, self.column)
    }
}
