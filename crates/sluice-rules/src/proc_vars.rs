//! Process-wide variables (`proc.*`).
//!
//! One store per process, shared by every stream and thread: global `set-var` and
//! `set-var-fmt` lines fill it at start, rules read and write it as they run, and the runtime
//! API's `get var` / `set var` show and change it. Reads copy the value out, so no lock is
//! held while a rule runs.

use crate::logformat::LogFormat;
use crate::message::{NoConnection, Stream};
use crate::sample::value::OwnedValue;
use crate::sample::{Place, SampleExpr, Value};
use crate::{CompileOptions, Env};
use sluice_config::{Category, Diagnostic, Diagnostics, Location, Statement};
use sluice_model::proxy::{Proxy, ProxyKind};
use sluice_model::Model;
use std::sync::RwLock;

static STORE: RwLock<Vec<(Box<str>, OwnedValue)>> = RwLock::new(Vec::new());

/// The prefix of the names this store holds.
const PREFIX: &str = "proc.";

/// Whether `name` is a process-wide variable.
pub fn is_proc(name: &str) -> bool {
    name.starts_with(PREFIX)
}

/// A copy of the variable `name`.
pub fn get(name: &str) -> Option<OwnedValue> {
    let store = STORE
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    store
        .iter()
        .find(|(n, _)| n.as_ref() == name)
        .map(|(_, v)| v.clone())
}

/// Sets (or replaces) the variable `name`.
pub fn set(name: &str, value: OwnedValue) {
    let mut store = STORE
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    match store.iter_mut().find(|(n, _)| n.as_ref() == name) {
        Some(entry) => entry.1 = value,
        None => store.push((name.into(), value)),
    }
}

/// Removes the variable `name`.
pub fn unset(name: &str) {
    let mut store = STORE
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    store.retain(|(n, _)| n.as_ref() != name);
}

/// How a variable is shown by `get var`: `proc.x: type=sint value=<5>`.
pub fn describe(name: &str) -> Option<String> {
    let value = get(name)?;
    let mut text = Vec::new();
    value.write_to(&mut text);
    Some(format!(
        "{name}: type={} value=<{}>",
        type_name(&value),
        String::from_utf8_lossy(&text)
    ))
}

/// The type names the runtime API prints.
fn type_name(value: &Value<'_>) -> &'static str {
    match value {
        Value::Bool(_) => "bool",
        Value::Sint(_) => "sint",
        Value::Str(_) => "str",
        Value::Ip(std::net::IpAddr::V4(_)) => "ipv4",
        Value::Ip(std::net::IpAddr::V6(_)) => "ipv6",
        Value::Bin(_) => "bin",
        Value::Meth(_) => "meth",
    }
}

/// A compiled global `set-var` or `set-var-fmt` line.
enum Init {
    Expr(SampleExpr),
    Format(LogFormat),
}

/// The proxy global expressions are compiled in: none of the stream's fetches has data there.
fn global_proxy(location: Location) -> Proxy {
    Proxy::new(ProxyKind::Listen, "<global>", location)
}

fn compile_line(
    model: &Model,
    stmt: &Statement,
) -> Result<Option<(String, Init)>, Box<Diagnostic>> {
    let keyword = stmt.keyword();
    if keyword != "set-var" && keyword != "set-var-fmt" {
        return Ok(None);
    }
    let args = &stmt.words;
    let error = |message: String, index: usize| {
        Box::new(
            Diagnostic::error(Category::Semantic, "global-set-var", message)
                .at(stmt.word_location(index)),
        )
    };
    let (Some(name), Some(text)) = (args.get(1), args.get(2)) else {
        return Err(error(
            format!(
                "'{keyword}' expects a variable name and a {}",
                what(keyword)
            ),
            0,
        ));
    };
    if args.len() > 3 {
        return Err(error(
            format!(
                "'{keyword}' takes one {}; quote it if it contains spaces",
                what(keyword)
            ),
            3,
        ));
    }
    let name = name.as_str();
    if !is_proc(name) || name.len() == PREFIX.len() {
        return Err(error(
            format!("'{keyword}' in the global section sets process-wide variables only: '{name}' must start with 'proc.'"),
            1,
        ));
    }
    let proxy = global_proxy(stmt.location);
    let mut env = Env::new(model, &proxy, &CompileOptions::default());
    let init = if keyword == "set-var" {
        SampleExpr::compile(text.as_str(), Place::TcpConnection, &mut env).map(Init::Expr)
    } else {
        LogFormat::compile(text.as_str(), Place::TcpConnection, &mut env).map(Init::Format)
    };
    match init {
        Ok(init) => Ok(Some((name.to_string(), init))),
        Err(problem) => Err(error(format!("'{keyword} {name}': {}", problem.message), 2)),
    }
}

fn what(keyword: &str) -> &'static str {
    if keyword == "set-var" {
        "sample expression"
    } else {
        "log-format string"
    }
}

/// Checks the global `set-var` and `set-var-fmt` lines (the configuration check).
pub fn check_global(model: &Model) -> Diagnostics {
    let mut found = Diagnostics::new();
    for stmt in &model.global.other {
        if let Err(d) = compile_line(model, stmt) {
            found.push(*d);
        }
    }
    found
}

/// Evaluates the global `set-var` and `set-var-fmt` lines in order, as a process starts: a
/// line may read the variables the lines before it set. An expression without a value
/// leaves its variable unset, as HAProxy does.
pub fn apply_global(model: &Model) -> Result<(), Diagnostics> {
    let mut errors = Diagnostics::new();
    for stmt in &model.global.other {
        match compile_line(model, stmt) {
            Ok(Some((name, init))) => assign(&name, &init),
            Ok(None) => {}
            Err(d) => errors.push(*d),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn assign(name: &str, init: &Init) {
    let conn = NoConnection;
    let src = Stream {
        conn: &conn,
        request: None,
        response: None,
        vars: None,
        changes: None,
        captures: None,
    };
    match init {
        Init::Expr(expr) => {
            if let Some(v) = expr.eval(&src).map(Value::into_owned) {
                set(name, v);
            }
        }
        Init::Format(format) => {
            let mut out = Vec::new();
            format.render(&src, &mut out);
            set(name, Value::string(out));
        }
    }
}

/// The runtime API's `set var <name> expr <expression>` / `fmt <format>`: compiled as the
/// global lines are, then applied.
pub fn set_from_text(model: &Model, name: &str, kind: &str, text: &str) -> Result<(), String> {
    if !is_proc(name) || name.len() == PREFIX.len() {
        return Err(format!(
            "only process-wide variables ('proc.' names) can be set here, not '{name}'"
        ));
    }
    let location = model
        .global
        .location
        .unwrap_or_else(|| Location::line(sluice_config::FileId(0), 0));
    let proxy = global_proxy(location);
    let mut env = Env::new(model, &proxy, &CompileOptions::default());
    let init = match kind {
        "expr" => SampleExpr::compile(text, Place::TcpConnection, &mut env).map(Init::Expr),
        "fmt" => LogFormat::compile(text, Place::TcpConnection, &mut env).map(Init::Format),
        _ => return Err("expects 'expr <expression>' or 'fmt <format>'".to_string()),
    }
    .map_err(|p| p.message)?;
    assign(name, &init);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_config::{read_str, ReadOptions};
    use sluice_model::{build, BuildOptions};

    fn model(text: &str) -> Model {
        let (tree, _) = read_str("t.cfg", text, &ReadOptions::default());
        build(&tree, &BuildOptions::default()).0
    }

    #[test]
    fn global_lines_run_in_order_and_read_each_other() {
        let m = model(
            "global\n    set-var proc.t_twelve int(12)\n    set-var proc.t_five var(proc.t_unset,60),div(proc.t_twelve)\n    set-var proc.t_s str(\"this is\")\n    set-var-fmt proc.t_s \"%[var(proc.t_s)] a string\"\n",
        );
        let found = check_global(&m);
        assert!(found.is_empty(), "{found:?}");
        apply_global(&m).unwrap();
        assert_eq!(get("proc.t_five"), Some(Value::Sint(5)));
        assert_eq!(
            describe("proc.t_s").as_deref(),
            Some("proc.t_s: type=str value=<this is a string>")
        );
    }

    #[test]
    fn global_lines_are_checked_with_their_line() {
        let m = model("global\n    set-var txn.x int(1)\n    set-var proc.y nosuchfetch\n");
        let found = check_global(&m);
        assert_eq!(found.len(), 2, "{found:?}");
        let lines: Vec<u32> = found
            .iter()
            .map(|d| d.location.as_ref().map(|l| l.line).unwrap_or(0))
            .collect();
        assert_eq!(lines, [2, 3]);
    }

    #[test]
    fn the_runtime_api_sets_from_an_expression_or_a_format() {
        let m = model("global\n");
        set_from_text(&m, "proc.t_cli", "expr", "str(updating)").unwrap();
        set_from_text(&m, "proc.t_cli", "fmt", "%[var(proc.t_cli),regsub(ing,ed)]").unwrap();
        assert_eq!(get("proc.t_cli"), Some(Value::string(b"updated".to_vec())));
        assert!(set_from_text(&m, "txn.t_cli", "expr", "int(1)").is_err());
        unset("proc.t_cli");
        assert_eq!(get("proc.t_cli"), None);
    }
}
