//! # sluice-config
//!
//! The configuration front-end of Sluice: it reads HAProxy configuration files into a raw
//! syntax tree and reports what is wrong with them as [`Diagnostic`] values.
//!
//! Pipeline (each stage pure but for reading the files):
//!
//! ```text
//! files ─ reader (lines, lexer, .if/.elif/.else/.endif, .notice/.warning/.alert/.diag,
//!                 section headers, global setenv family)
//!       → ConfigTree (sections → statements → words, each with file:line:column)
//! ```
//!
//! The [`keywords`] catalogue knows every keyword of HAProxy 3.4 and whether Sluice supports
//! it; `sluice-model` turns the tree into a typed configuration. [`render`] prints
//! diagnostics in HAProxy's one-line form, a rich form, or JSON.
//!
//! ```
//! use sluice_config::{read_str, ReadOptions};
//! let (tree, diags) = read_str("t.cfg", "global\n    maxconn 100\n", &ReadOptions::default());
//! assert!(diags.is_empty());
//! assert_eq!(tree.sections[0].statements[0].keyword(), "maxconn");
//! ```

pub mod cond;
pub mod diagnostic;
pub mod environment;
pub mod keywords;
pub mod lexer;
pub mod raw;
pub mod reader;
pub mod render;
pub mod source;
pub mod syntax;
#[doc(hidden)]
pub mod testing;
pub mod version;

pub use diagnostic::{Category, Diagnostic, Diagnostics, Severity};
pub use environment::Environment;
pub use reader::{read_config, read_str, ReadOptions};
pub use source::{FileId, Location, SourceFile, SourceMap};
pub use syntax::{ConfigTree, Section, SectionKind, Statement, Word};
