//! `http-request`, `http-response`, `http-after-response`, `tcp-request`, `tcp-response`
//! rules: an action, its arguments (kept as written for the long tail) and a condition.

use super::condition::{self, Condition};
use crate::catalogue::{self, Admission, Place};
use crate::statement::{self, Failure, Parsed};
use sluice_config::keywords::Table;
use sluice_config::{Category, Diagnostic, Diagnostics, Location, Statement};

/// Which rule set a rule belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleSet {
    HttpRequest,
    HttpResponse,
    HttpAfterResponse,
    TcpRequestConnection,
    TcpRequestSession,
    TcpRequestContent,
    TcpResponseContent,
}

impl RuleSet {
    fn table(self) -> Table {
        match self {
            RuleSet::HttpRequest => Table::HttpRequestAction,
            RuleSet::HttpResponse => Table::HttpResponseAction,
            RuleSet::HttpAfterResponse => Table::HttpAfterResponseAction,
            RuleSet::TcpRequestConnection => Table::TcpRequestConnectionAction,
            RuleSet::TcpRequestSession => Table::TcpRequestSessionAction,
            RuleSet::TcpRequestContent => Table::TcpRequestContentAction,
            RuleSet::TcpResponseContent => Table::TcpResponseContentAction,
        }
    }
}

/// One rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub set: RuleSet,
    /// The action as written (`set-header`, `set-var(txn.x)`).
    pub action: String,
    /// The words between the action and the condition.
    pub args: Vec<String>,
    pub condition: Option<Condition>,
    pub location: Location,
}

/// What a rule line is: a rule, or a setting such as `tcp-request inspect-delay`.
pub enum RuleLine {
    Rule(Rule),
    InspectDelay(std::time::Duration),
}

/// Parses a rule statement.
pub fn parse(stmt: &Statement, diags: &mut Diagnostics) -> Parsed<RuleLine> {
    let keyword = stmt.keyword();
    let (set, action_index) = match keyword {
        "http-request" => (RuleSet::HttpRequest, 1),
        "http-response" => (RuleSet::HttpResponse, 1),
        "http-after-response" => (RuleSet::HttpAfterResponse, 1),
        "tcp-request" | "tcp-response" => {
            let layer = statement::arg(
                stmt,
                1,
                "'connection', 'session', 'content' or 'inspect-delay'",
            )?;
            match (keyword, layer.as_str()) {
                (_, "inspect-delay") => {
                    // HAProxy ignores words after the delay.
                    let delay = statement::duration(stmt, 2, diags)?;
                    return Ok(RuleLine::InspectDelay(delay));
                }
                ("tcp-request", "connection") => (RuleSet::TcpRequestConnection, 2),
                ("tcp-request", "session") => (RuleSet::TcpRequestSession, 2),
                ("tcp-request", "content") => (RuleSet::TcpRequestContent, 2),
                ("tcp-response", "content") => (RuleSet::TcpResponseContent, 2),
                _ => {
                    let expected = if keyword == "tcp-request" {
                        "'connection', 'session', 'content' or 'inspect-delay'"
                    } else {
                        "'content' or 'inspect-delay'"
                    };
                    return Err(statement::syntax_error(
                        stmt,
                        1,
                        "rule-layer-unknown",
                        format!("'{keyword}' expects {expected}, got '{}'.", layer.text),
                        format!(
                            "write '{keyword} {}'",
                            expected
                                .split(' ')
                                .next()
                                .unwrap_or("")
                                .trim_matches(['\'', ','])
                        ),
                    )
                    .into());
                }
            }
        }
        _ => {
            return Err(statement::syntax_error(
                stmt,
                0,
                "rule-unknown",
                format!("'{keyword}' is not a rule keyword"),
                "",
            )
            .into());
        }
    };
    let action_word = statement::arg(stmt, action_index, "an action")?;
    let action = action_word.text.clone();
    // `set-var(txn.x)`, `sc-inc-gpc0(1)`: the catalogue knows the name before the parenthesis.
    let base = action.split('(').next().unwrap_or(&action);
    let context = stmt
        .words
        .iter()
        .take(action_index)
        .map(|w| w.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let place = Place {
        table: set.table(),
        context: &context,
    };
    let location = stmt.word_location(action_index);
    if catalogue::admit(&place, base, false, location, diags) == Admission::Reject {
        return Err(Failure::Reported);
    }
    let cond_index = condition::find(stmt, action_index + 1);
    let end = cond_index.unwrap_or(stmt.words.len());
    let args = stmt
        .words
        .get(action_index + 1..end)
        .unwrap_or(&[])
        .iter()
        .map(|w| w.text.clone())
        .collect::<Vec<_>>();
    if base == "use-service" {
        check_service(stmt, action_index + 1, args.first().map(String::as_str))?;
    }
    let condition = match cond_index {
        Some(i) => Some(condition::parse(stmt, i, diags)?),
        None => None,
    };
    Ok(RuleLine::Rule(Rule {
        set,
        action,
        args,
        condition,
        location: stmt.location,
    }))
}

/// `use-service <name>`: Sluice has no built-in service yet.
fn check_service(stmt: &Statement, index: usize, service: Option<&str>) -> Parsed<()> {
    let Some(service) = service else {
        return Err(Diagnostic::error(
            Category::Syntax,
            "argument-missing",
            "'use-service' expects a service name.",
        )
        .at(stmt.location)
        .help("write e.g. 'http-request use-service prometheus-exporter'")
        .into());
    };
    let known = service == "prometheus-exporter" || service.starts_with("lua.");
    if !known {
        return Err(statement::syntax_error(
            stmt,
            index,
            "service-unknown",
            format!("'{service}' unknown service name."),
            "HAProxy 3.4 services are 'prometheus-exporter' and Lua services 'lua.<name>'",
        )
        .into());
    }
    Err(Diagnostic::error(
        Category::Compatibility,
        "not-implemented-refused",
        format!("the '{service}' service is not implemented by Sluice yet"),
    )
    .at(stmt.word_location(index))
    .help("serve this path with HAProxy or another exporter until Sluice supports it")
    .into())
}
