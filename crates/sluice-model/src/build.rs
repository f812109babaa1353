//! The walk over the syntax tree: section headers, defaults selection, and dispatch of each
//! statement to its section's parser.

use crate::address::{self, Use};
use crate::defaults;
use crate::proxy::bind::{Bind, BindOptions};
use crate::proxy::{self, Proxy, ProxyKind};
use crate::{global, sections, BuildOptions, Model};
use sluice_config::{Category, ConfigTree, Diagnostic, Diagnostics, Section, SectionKind};

/// Builds the model's sections; checks run afterwards (see [`crate::checks`]).
pub fn sections(tree: &ConfigTree, options: &BuildOptions, diags: &mut Diagnostics) -> Model {
    let mut model = Model::default();
    // The defaults section that applies to proxies without `from`: the last one seen.
    let mut implicit: Option<Proxy> = None;
    for section in &tree.sections {
        match ProxyKind::from_section(section.kind) {
            Some(kind) => {
                let Some(mut proxy) = header(section, kind, &model, implicit.as_ref(), diags)
                else {
                    continue;
                };
                for stmt in &section.statements {
                    proxy::parse_statement(&mut proxy, stmt, options.diag_mode, diags);
                }
                if kind == ProxyKind::Defaults {
                    implicit = Some(proxy.clone());
                    model.defaults.push(proxy);
                } else {
                    model.proxies.push(proxy);
                }
            }
            None if section.kind == SectionKind::Global => {
                model.global.location.get_or_insert(section.location());
                for stmt in &section.statements {
                    global::parse_statement(&mut model.global, stmt, diags);
                }
            }
            None => model.sections.push(sections::parse(section, diags)),
        }
    }
    model
}

fn name_is_valid(name: &str) -> Option<char> {
    name.chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')))
}

/// Reads a proxy header (`frontend <name> [<address>]`, `defaults [<name>] [from <name>]`,
/// `backend <name> [from <defaults>]`) and returns the proxy initialised from its defaults.
fn header(
    section: &Section,
    kind: ProxyKind,
    model: &Model,
    implicit: Option<&Proxy>,
    diags: &mut Diagnostics,
) -> Option<Proxy> {
    let head = &section.header;
    let keyword = kind.keyword();
    let mut words = head.words.iter().enumerate().skip(1).peekable();
    let mut name = "";
    if let Some((_, w)) = words.peek() {
        if !(kind == ProxyKind::Defaults && w.text == "from") {
            name = w.text.as_str();
            words.next();
        }
    }
    if name.is_empty() && kind != ProxyKind::Defaults {
        diags.push(
            Diagnostic::error(
                Category::Syntax,
                "proxy-name-missing",
                format!("'{keyword}' expects <name> as an argument."),
            )
            .at(head.location)
            .help(format!("name the section, e.g. '{keyword} web'")),
        );
        // The section is still read so that its lines are checked, under an empty name.
    }
    if let Some(c) = name_is_valid(name) {
        diags.push(
            Diagnostic::error(
                Category::Syntax,
                "proxy-name-invalid",
                format!("character '{c}' is not permitted in '{keyword}' name '{name}'."),
            )
            .at(head.word_location(1))
            .help("proxy names may contain letters, digits, '-', '_', '.' and ':'"),
        );
    }
    let mut from: Option<&str> = None;
    let mut header_bind: Option<Bind> = None;
    while let Some((index, word)) = words.next() {
        if word.text == "from" {
            match words.next() {
                Some((_, target)) => from = Some(target.text.as_str()),
                None => diags.push(
                    Diagnostic::error(
                        Category::Syntax,
                        "defaults-from-missing",
                        format!(
                            "'from' in '{keyword} {name}' expects the name of a defaults section."
                        ),
                    )
                    .at(head.word_location(index))
                    .help("write 'from <defaults name>' or remove 'from'"),
                ),
            }
            continue;
        }
        if kind.is_frontend() && index == 2 {
            // 1.x style `listen name 0.0.0.0:80`: one error, then read the section normally.
            let bind_line = format!("bind {}", word.text);
            diags.push(
                Diagnostic::error(
                    Category::Syntax,
                    "header-address",
                    "please use the 'bind' keyword for listening addresses.",
                )
                .at(head.word_location(index))
                .help(format!(
                    "remove '{}' from the '{keyword}' line and add '{bind_line}' inside the section",
                    word.text
                ))
                .replacement(""),
            );
            if let Ok(addresses) = address::parse_list(&word.text, Use::Listen) {
                header_bind = Some(Bind {
                    addresses,
                    options: BindOptions::default(),
                    location: head.location,
                });
            }
            continue;
        }
        diags.push(
            Diagnostic::error(
                Category::Syntax,
                "argument-unexpected",
                format!(
                    "'{keyword}' cannot handle unexpected argument '{}'.",
                    word.text
                ),
            )
            .at(head.word_location(index))
            .help(format!(
                "write '{keyword} <name>' optionally followed by 'from <defaults>'"
            )),
        );
    }
    let base = match from {
        Some(target) => match model.defaults.iter().rev().find(|d| d.name == target) {
            Some(d) => Some(d),
            None => {
                let location = head
                    .words
                    .iter()
                    .position(|w| w.text == target)
                    .map_or(head.location, |i| head.word_location(i));
                diags.push(
                    Diagnostic::error(
                        Category::Semantic,
                        "defaults-unknown",
                        format!("{keyword} '{name}' : unable to find defaults section '{target}'."),
                    )
                    .at(location)
                    .help(format!(
                        "declare 'defaults {target}' before this section, or fix the name after 'from'"
                    )),
                );
                implicit
            }
        },
        // A `defaults` section without `from` starts from the documented settings, not
        // from the previous `defaults`; the other sections take the latest one.
        None if kind == ProxyKind::Defaults => None,
        None => implicit,
    };
    let mut proxy = match base {
        Some(d) => defaults::inherit(d, kind, name, head.location),
        None => Proxy::new(kind, name, head.location),
    };
    if let Some(bind) = header_bind {
        proxy.binds.push(bind);
    }
    Some(proxy)
}
