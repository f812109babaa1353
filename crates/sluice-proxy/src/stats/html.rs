//! The HTML report: one table per proxy (its frontend row, its servers, its backend row),
//! built from the rows of `show stat` so that the page and the runtime API never disagree.

use super::Page;
use crate::cli::Runtime;
use std::collections::HashMap;
use std::fmt::Write;

/// A row of `show stat`: proxy, `FRONTEND`/server/`BACKEND`, values by column.
type Row = (String, String, HashMap<&'static str, String>);

/// The columns shown, with their headings: (group, heading, CSV column).
const SHOWN: &[(&str, &str, &str)] = &[
    ("Queue", "Cur", "qcur"),
    ("Queue", "Max", "qmax"),
    ("Queue", "Limit", "qlimit"),
    ("Sessions", "Cur", "scur"),
    ("Sessions", "Max", "smax"),
    ("Sessions", "Limit", "slim"),
    ("Sessions", "Total", "stot"),
    ("Bytes", "In", "bin"),
    ("Bytes", "Out", "bout"),
    ("Denied", "Req", "dreq"),
    ("Denied", "Resp", "dresp"),
    ("Errors", "Req", "ereq"),
    ("Errors", "Conn", "econ"),
    ("Errors", "Resp", "eresp"),
    ("Warnings", "Retr", "wretr"),
    ("Warnings", "Redis", "wredis"),
    ("Server", "Status", "status"),
    ("Server", "LastChk", "check_status"),
    ("Server", "Wght", "weight"),
    ("Server", "Act", "act"),
    ("Server", "Bck", "bck"),
    ("Server", "Chk", "chkfail"),
    ("Server", "Dwn", "chkdown"),
];

/// The page: the process summary, then each proxy in scope.
pub fn render(rt: &Runtime, page: &Page, up_only: bool) -> String {
    let rows = crate::cli::stat::table(rt);
    let mut out = String::with_capacity(8192);
    out.push_str(HEAD);
    let title = if page.hide_version {
        "Statistics Report".to_string()
    } else {
        format!("Statistics Report for {}", Runtime::version())
    };
    let _ = writeln!(out, "<h1>{}</h1>", escape(&title));
    let _ = writeln!(
        out,
        "<p class=\"info\">pid = {} &middot; uptime = {} &middot; current connections = {}</p>",
        rt.pid,
        escape(&crate::cli::info::uptime_text(
            rt.started.elapsed().as_secs()
        )),
        rows.iter()
            .filter(|(_, sv, _)| sv == "FRONTEND")
            .filter_map(|(_, _, v)| v.get("scur")?.parse::<u64>().ok())
            .sum::<u64>()
    );
    let mut order: Vec<&str> = Vec::new();
    for (px, _, _) in &rows {
        if !order.contains(&px.as_str()) {
            order.push(px);
        }
    }
    for px in order {
        if let Some(scope) = &page.scope {
            let in_scope = scope
                .iter()
                .any(|s| s == px || (s == "." && page.proxy == px));
            if !in_scope {
                continue;
            }
        }
        proxy_table(&mut out, px, &rows, up_only);
    }
    out.push_str("</body></html>\n");
    out
}

fn proxy_table(out: &mut String, px: &str, rows: &[Row], up_only: bool) {
    let _ = write!(
        out,
        "<table class=\"px\">\n<tr class=\"title\"><th colspan=\"{}\">{}</th></tr>\n<tr class=\"groups\"><th></th>",
        SHOWN.len() + 1,
        escape(px)
    );
    let mut groups: Vec<(&str, usize)> = Vec::new();
    for (g, _, _) in SHOWN {
        match groups.last_mut() {
            Some((last, n)) if last == g => *n += 1,
            _ => groups.push((g, 1)),
        }
    }
    for (g, n) in groups {
        let _ = write!(out, "<th colspan=\"{n}\">{g}</th>");
    }
    out.push_str("</tr>\n<tr class=\"heads\"><th></th>");
    for (_, h, _) in SHOWN {
        let _ = write!(out, "<th>{h}</th>");
    }
    out.push_str("</tr>\n");
    for (_, name, r) in rows.iter().filter(|(p, _, _)| p == px) {
        let name = name.as_str();
        let status = r.get("status").map(String::as_str).unwrap_or_default();
        let is_server = name != "FRONTEND" && name != "BACKEND";
        if up_only && is_server && !(status.starts_with("UP") || status == "no check") {
            continue;
        }
        let class = match (name, status) {
            ("FRONTEND" | "BACKEND", _) => "total",
            (_, s) if s.starts_with("UP") || s == "no check" => "up",
            (_, s) if s.starts_with("MAINT") => "maint",
            (_, s) if s.starts_with("NOLB") || s.starts_with("DRAIN") => "drain",
            _ => "down",
        };
        let _ = write!(
            out,
            "<tr class=\"{class}\"><td class=\"name\">{}</td>",
            escape(name)
        );
        for (_, _, col) in SHOWN {
            let v = r.get(*col).map(String::as_str).unwrap_or_default();
            let _ = write!(out, "<td>{}</td>", escape(v));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const HEAD: &str = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Statistics Report</title>\n<style>\nbody{font-family:sans-serif;font-size:12px;margin:1em}\nh1{font-size:16px}\np.info{color:#444}\ntable.px{border-collapse:collapse;margin:1em 0;min-width:60%}\ntable.px th,table.px td{border:1px solid #bbb;padding:2px 5px;text-align:right}\ntable.px td.name{text-align:left;font-weight:bold}\ntr.title th{background:#20507a;color:#fff;text-align:left}\ntr.groups th,tr.heads th{background:#d8e0e8}\ntr.total{background:#e8e8e8;font-weight:bold}\ntr.up{background:#c8f0c8}\ntr.down{background:#f4b8b8}\ntr.maint{background:#b8c8f0}\ntr.drain{background:#f0e0a8}\n</style></head><body>\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(escape("s<1>&\""), "s&lt;1&gt;&amp;&quot;");
    }
}
