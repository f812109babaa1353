//! How the generated tables spell an entry: one line per keyword, flags as bits.

use super::{Keyword, Sections, Support, Table};

/// The manual marks the keyword deprecated.
pub(super) const DEPRECATED: u8 = 1;
/// The manual marks the keyword experimental (needs `expose-experimental-directives`).
pub(super) const EXPERIMENTAL: u8 = 2;
/// The keyword may be prefixed with `no` (and `default`).
pub(super) const NEGATABLE: u8 = 4;
/// A sample fetch form usable only as an ACL criterion (`path_beg`, `hdr_dom`...).
pub(super) const ACL_ONLY: u8 = 8;

pub(super) const fn entry(
    name: &'static str,
    synopsis: &'static [&'static str],
    support: Support,
    sections: Sections,
    flags: u8,
    sub: Option<Table>,
) -> Keyword {
    Keyword {
        name,
        synopsis,
        support,
        sections,
        deprecated: flags & DEPRECATED != 0,
        experimental: flags & EXPERIMENTAL != 0,
        negatable: flags & NEGATABLE != 0,
        acl_only: flags & ACL_ONLY != 0,
        sub,
    }
}
