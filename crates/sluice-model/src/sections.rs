//! Sections other than global and proxies: keyword existence through the catalogue, typed
//! values where they are cheap (userlists, resolvers, peers, mailers, http-errors,
//! log-forward), raw statements otherwise.

use crate::address::{self, Address, Use};
use crate::catalogue::{self, Admission, Place};
use crate::spanned::Spanned;
use crate::statement::{self, report, Failure, Parsed};
use sluice_config::keywords::Table;
use sluice_config::{Category, Diagnostic, Diagnostics, Location, Section, SectionKind, Statement};

/// A named endpoint in a resolvers, peers or mailers section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub name: String,
    /// `None` for a local peer without address.
    pub address: Option<Address>,
    pub location: Location,
}

/// One of the "other" sections.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OtherSection {
    pub kind: SectionKind,
    pub name: String,
    pub location: Location,
    /// `user`/`group` names of a userlist.
    pub users: Vec<Spanned<String>>,
    pub groups: Vec<Spanned<String>>,
    /// A userlist's `user` and `group` lines as written (passwords and memberships).
    pub accounts: Vec<Statement>,
    /// `nameserver`, `peer`/`server`, `mailer` entries.
    pub endpoints: Vec<Endpoint>,
    /// `bind` / `dgram-bind` addresses of peers and log-forward sections (`dgram-bind` IP
    /// addresses have the family [`address::Family::Udp`]).
    pub binds: Vec<Spanned<Vec<Address>>>,
    /// `errorfile` entries of an http-errors section.
    pub errorfiles: Vec<(u16, Spanned<String>)>,
    /// Everything else, as written.
    pub statements: Vec<Statement>,
    /// The `bind`, `peer` and `server` lines of a peers section as written (their options).
    pub peer_lines: Vec<Statement>,
}

/// Builds an other section from the tree.
pub fn parse(section: &Section, diags: &mut Diagnostics) -> OtherSection {
    let mut out = OtherSection {
        kind: section.kind,
        name: section.name().unwrap_or("").to_string(),
        location: section.location(),
        users: Vec::new(),
        groups: Vec::new(),
        accounts: Vec::new(),
        endpoints: Vec::new(),
        binds: Vec::new(),
        errorfiles: Vec::new(),
        statements: Vec::new(),
        peer_lines: Vec::new(),
    };
    let context = format!("'{}' section", section.kind.keyword());
    for stmt in &section.statements {
        if let Err(f) = statement_of(&mut out, stmt, &context, diags) {
            report(f, diags);
        }
    }
    out
}

/// The values of a resolvers section's settings, checked here so that `-c` reports them
/// with their line (the running code reads them from `statements`).
fn resolvers_value(stmt: &Statement, diags: &mut Diagnostics) -> Parsed<()> {
    match stmt.keyword() {
        "resolve_retries" => {
            statement::uint(stmt, 1, 1, u64::from(u32::MAX), "a number of retries")?;
        }
        "accepted_payload_size" => {
            statement::uint(
                stmt,
                1,
                512,
                65535,
                "a payload size in bytes (512 to 65535)",
            )?;
        }
        "timeout" => {
            let event = statement::arg(stmt, 1, "'resolve' or 'retry'")?;
            if !matches!(event.text.as_str(), "resolve" | "retry") {
                return Err(statement::syntax_error(
                    stmt,
                    1,
                    "value-invalid",
                    format!("'timeout' : unknown event '{}'.", event.text),
                    "write 'timeout resolve <time>' or 'timeout retry <time>'",
                )
                .into());
            }
            statement::duration(stmt, 2, diags)?;
        }
        "hold" => {
            let status = statement::arg(stmt, 1, "a status")?;
            if !matches!(
                status.text.as_str(),
                "nx" | "refused" | "timeout" | "other" | "valid" | "obsolete"
            ) {
                return Err(statement::syntax_error(
                    stmt,
                    1,
                    "value-invalid",
                    format!("'hold' : unknown status '{}'.", status.text),
                    "the statuses are nx, refused, timeout, other, valid and obsolete",
                )
                .into());
            }
            statement::duration(stmt, 2, diags)?;
        }
        _ => {}
    }
    Ok(())
}

fn typed(kind: SectionKind, keyword: &str) -> bool {
    matches!(
        (kind, keyword),
        (SectionKind::Userlist, "user" | "group")
            | (SectionKind::Resolvers, "nameserver")
            | (SectionKind::Peers, "peer" | "server" | "bind")
            | (SectionKind::Mailers, "mailer")
            | (SectionKind::HttpErrors, "errorfile")
            | (SectionKind::LogForward, "bind" | "dgram-bind")
    )
}

fn statement_of(
    out: &mut OtherSection,
    stmt: &Statement,
    context: &str,
    diags: &mut Diagnostics,
) -> Parsed<()> {
    let keyword = stmt.keyword();
    let place = Place {
        table: Table::Section(out.kind),
        context,
    };
    let is_typed = typed(out.kind, keyword);
    if catalogue::admit(&place, keyword, is_typed, stmt.word_location(0), diags)
        == Admission::Reject
    {
        return Err(Failure::Reported);
    }
    if !is_typed {
        if out.kind == SectionKind::Resolvers {
            resolvers_value(stmt, diags)?;
        }
        out.statements.push(stmt.clone());
        return Ok(());
    }
    if out.kind == SectionKind::Peers {
        out.peer_lines.push(stmt.clone());
    }
    match keyword {
        "user" => {
            let name = statement::arg(stmt, 1, "a user name")?;
            out.users
                .push(Spanned::new(name.text.clone(), stmt.word_location(1)));
            out.accounts.push(stmt.clone());
        }
        "group" => {
            let name = statement::arg(stmt, 1, "a group name")?;
            out.groups
                .push(Spanned::new(name.text.clone(), stmt.word_location(1)));
            out.accounts.push(stmt.clone());
        }
        "nameserver" | "peer" | "server" | "mailer" => {
            let name = statement::arg(stmt, 1, "<name> <address>:<port>")?;
            let usage = if keyword == "nameserver" {
                Use::Target
            } else {
                Use::Listen
            };
            let address = match stmt.words.get(2) {
                None if keyword == "nameserver" || keyword == "mailer" => {
                    statement::arg(stmt, 2, "<address>:<port>")?;
                    None
                }
                None => None,
                Some(word) => {
                    let parsed = address::parse(&word.text, usage).map_err(|e| {
                        Diagnostic::error(
                            Category::Syntax,
                            "address-invalid",
                            format!("'{keyword} {}' : {}", name.text, e.message),
                        )
                        .at(stmt.word_location(2))
                        .help(e.help)
                    })?;
                    if keyword == "nameserver"
                        && matches!(
                            parsed.family,
                            address::Family::Inet
                                | address::Family::Ipv4
                                | address::Family::Ipv6
                                | address::Family::Udp
                        )
                        && word.text.ends_with(':')
                    {
                        return Err(statement::syntax_error(
                            stmt,
                            2,
                            "address-invalid",
                            format!(
                                "'nameserver {}' : missing port specification in '{}'",
                                name.text, word.text
                            ),
                            "add the DNS port, e.g. 10.0.0.2:53",
                        )
                        .into());
                    }
                    Some(parsed)
                }
            };
            out.endpoints.push(Endpoint {
                name: name.text.clone(),
                address,
                location: stmt.location,
            });
        }
        "bind" | "dgram-bind" => {
            let word = statement::arg(stmt, 1, "an address")?;
            let list = address::parse_list(&word.text, Use::Listen).map_err(|e| {
                Diagnostic::error(
                    Category::Syntax,
                    "address-invalid",
                    format!("'{keyword}' : {}", e.message),
                )
                .at(stmt.word_location(1))
                .help(e.help)
            })?;
            // A `dgram-bind` address is a datagram listener whatever its prefix says.
            let list = if keyword == "dgram-bind" {
                list.into_iter().map(as_datagram).collect()
            } else {
                list
            };
            out.binds.push(Spanned::new(list, stmt.location));
        }
        "errorfile" => {
            let status = statement::uint(stmt, 1, 100, 599, "an HTTP status code")? as u16;
            let path = statement::arg(stmt, 2, "a file name")?;
            out.errorfiles.push((
                status,
                Spanned::new(path.text.clone(), stmt.word_location(2)),
            ));
        }
        _ => out.statements.push(stmt.clone()),
    }
    Ok(())
}

/// An IP address of a `dgram-bind` line, marked as a datagram (UDP) listener.
fn as_datagram(mut address: Address) -> Address {
    if matches!(
        address.family,
        address::Family::Inet | address::Family::Ipv4 | address::Family::Ipv6
    ) {
        address.family = address::Family::Udp;
    }
    address
}
