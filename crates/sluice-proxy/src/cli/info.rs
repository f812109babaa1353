//! `show info`, `show env`, `show errors`.

use super::dispatch::Answer;
use super::Runtime;
use crate::counters::Counter;

/// HAProxy's `Uptime` text: `<d>d <h>h<mm>m<ss>s`.
pub fn uptime_text(secs: u64) -> String {
    format!(
        "{}d {}h{:02}m{:02}s",
        secs / 86400,
        (secs % 86400) / 3600,
        (secs % 3600) / 60,
        secs % 60
    )
}

/// Type and tags of a field in the typed output (HAProxy's origin/nature/scope letters).
#[derive(Clone, Copy)]
enum Ty {
    Str,
    U32,
    U64,
}

impl Ty {
    fn name(self) -> &'static str {
        match self {
            Ty::Str => "str",
            Ty::U32 => "u32",
            Ty::U64 => "u64",
        }
    }
}

/// The fields, in HAProxy's order, with what Sluice knows of them.
fn fields(rt: &Runtime) -> Vec<(&'static str, &'static str, Ty, String)> {
    let g = &rt.model.global;
    let up = rt.started.elapsed().as_secs();
    let start = rt
        .started_at
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let maxconn = g.maxconn.as_ref().map_or(0, |m| m.value);
    let ulimit = g.ulimit_n.as_ref().map_or_else(current_nofile, |u| u.value);
    let accepted = rt.totals.sum(Counter::Accepted);
    let requests = rt.totals.sum(Counter::Requests);
    let current = rt
        .plan
        .global_limit
        .as_ref()
        .map(|s| maxconn.saturating_sub(s.available_permits() as u64));
    let listeners: usize = rt
        .model
        .proxies
        .iter()
        .filter(|p| p.kind.is_frontend() && !p.disabled)
        .map(|p| p.binds.iter().map(|b| b.addresses.len()).sum::<usize>())
        .sum::<usize>()
        + g.stats_sockets.len();
    let node = g
        .other
        .iter()
        .rev()
        .find(|s| s.keyword() == "node")
        .and_then(|s| s.words.get(1))
        .map_or_else(hostname, |w| w.text.clone());
    let description = g
        .other
        .iter()
        .rev()
        .find(|s| s.keyword() == "description")
        .map(|s| {
            s.words
                .iter()
                .skip(1)
                .map(|w| w.text.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    let n = |v: u64| v.to_string();
    let mut f = vec![
        ("Name", "POSV", Ty::Str, "Sluice".to_string()),
        ("Version", "POSV", Ty::Str, Runtime::version()),
        ("Release_date", "POSV", Ty::Str, "".to_string()),
        ("Nbthread", "CGSV", Ty::U32, n(rt.plan.nbthread as u64)),
        ("Nbproc", "CGSV", Ty::U32, n(1)),
        ("Process_num", "KGPV", Ty::U32, n(1)),
        ("Pid", "SGPV", Ty::U32, n(u64::from(rt.pid))),
        ("Uptime", "MDPV", Ty::Str, uptime_text(up)),
        ("Uptime_sec", "MDPV", Ty::U32, n(up)),
        ("Memmax_MB", "CLPV", Ty::U32, n(0)),
        ("PoolAlloc_MB", "MGPV", Ty::U32, n(0)),
        ("PoolUsed_MB", "MGPV", Ty::U32, n(0)),
        ("PoolFailed", "MCPV", Ty::U32, n(0)),
        ("Ulimit-n", "CLPV", Ty::U32, n(ulimit)),
        ("Maxsock", "CLPV", Ty::U32, n(ulimit)),
        ("Maxconn", "CLPV", Ty::U32, n(maxconn)),
        ("Hard_maxconn", "CLPV", Ty::U32, n(maxconn)),
        (
            "CurrConns",
            "MGPV",
            Ty::U32,
            current.map_or_else(String::new, n),
        ),
        ("CumConns", "MCPV", Ty::U32, n(accepted)),
        ("CumReq", "MCPV", Ty::U32, n(requests)),
    ];
    for name in [
        "MaxSslConns",
        "CurrSslConns",
        "CumSslConns",
        "Maxpipes",
        "PipesUsed",
        "PipesFree",
        "ConnRate",
        "ConnRateLimit",
        "MaxConnRate",
        "SessRate",
        "SessRateLimit",
        "MaxSessRate",
        "SslRate",
        "SslRateLimit",
        "MaxSslRate",
        "SslFrontendKeyRate",
        "SslFrontendMaxKeyRate",
        "SslFrontendSessionReuse_pct",
        "SslBackendKeyRate",
        "SslBackendMaxKeyRate",
        "SslCacheLookups",
        "SslCacheMisses",
        "CompressBpsIn",
        "CompressBpsOut",
        "CompressBpsRateLim",
        "ZlibMemUsage",
        "MaxZlibMemUsage",
        "Tasks",
        "Run_queue",
    ] {
        f.push((name, "MGPV", Ty::U32, n(0)));
    }
    f.push(("Idle_pct", "MGPV", Ty::U32, n(100)));
    f.push(("node", "CGSV", Ty::Str, node));
    f.push(("description", "CGSV", Ty::Str, description));
    f.push(("Stopping", "MGPV", Ty::U32, n(0)));
    f.push(("Jobs", "MGPV", Ty::U32, n(0)));
    f.push(("Unstoppable Jobs", "MGPV", Ty::U32, n(0)));
    f.push(("Listeners", "MGPV", Ty::U32, n(listeners as u64)));
    for name in [
        "ActivePeers",
        "ConnectedPeers",
        "DroppedLogs",
        "BusyPolling",
        "FailedResolutions",
        "TotalBytesOut",
        "TotalSplicedBytesOut",
        "BytesOutRate",
        "DebugCommandsIssued",
        "CumRecvLogs",
    ] {
        f.push((name, "MGPV", Ty::U64, n(0)));
    }
    f.push((
        "Build info",
        "POSV",
        Ty::Str,
        format!("{} (Sluice)", Runtime::version()),
    ));
    f.push(("Memmax_bytes", "CLPV", Ty::U64, n(0)));
    f.push(("PoolAlloc_bytes", "MGPV", Ty::U64, n(0)));
    f.push(("PoolUsed_bytes", "MGPV", Ty::U64, n(0)));
    f.push(("Start_time_sec", "MDPV", Ty::U32, n(start)));
    f.push(("Tainted", "CGSV", Ty::Str, "0x0".to_string()));
    f.push(("TotalWarnings", "MCPV", Ty::U32, n(0)));
    f.push(("MaxconnReached", "MCPV", Ty::U32, n(0)));
    f.push(("BootTime_ms", "CGPV", Ty::U32, n(0)));
    f.push(("Niced_tasks", "MGPV", Ty::U32, n(0)));
    f.push(("CurrStreams", "MGPV", Ty::U64, n(0)));
    f.push(("CumStreams", "MCPV", Ty::U64, n(accepted)));
    f.push(("BlockedTrafficWarnings", "MCPV", Ty::U32, n(0)));
    f
}

fn current_nofile() -> u64 {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into a valid rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } == 0 {
        r.rlim_cur
    } else {
        0
    }
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `len` bytes into the buffer.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return String::new();
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// `show info [typed] [desc]`.
pub fn show_info(rt: &Runtime, args: &[&str]) -> Answer {
    let typed = args.contains(&"typed");
    if args.contains(&"json") {
        return Answer::text("The JSON form of 'show info' is not supported by Sluice yet: use 'show info' or 'show info typed'.\n");
    }
    let mut out = String::new();
    for (i, (name, tags, ty, value)) in fields(rt).into_iter().enumerate() {
        // A value never spans lines: the answer must stay one field per line.
        let value = value.replace(['\n', '\r'], " ");
        if typed {
            out.push_str(&format!("{i}.{name}.1:{tags}:{}:{value}\n", ty.name()));
        } else {
            out.push_str(&format!("{name}: {value}\n"));
        }
    }
    Answer::text(out)
}

/// `show env [<name>]`.
pub fn show_env(args: &[&str]) -> Answer {
    let mut out = String::new();
    match args.first() {
        Some(name) => match std::env::var_os(name) {
            Some(v) => out.push_str(&format!("{name}={}\n", v.to_string_lossy())),
            None => return Answer::text("Variable not found\n"),
        },
        None => {
            for (k, v) in std::env::vars_os() {
                out.push_str(&format!(
                    "{}={}\n",
                    k.to_string_lossy(),
                    v.to_string_lossy().replace('\n', " ")
                ));
            }
        }
    }
    Answer::text(out)
}

/// `show errors`: Sluice captures no erroneous messages yet, so only the header.
pub fn show_errors() -> Answer {
    Answer::text(format!(
        "Total events captured on [{}] : 0\n",
        log_date(std::time::SystemTime::now())
    ))
}

/// `10/Mar/2024:12:00:00.123` in local time, as HAProxy dates its captures.
fn log_date(t: std::time::SystemTime) -> String {
    let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = libc::time_t::try_from(d.as_secs()).unwrap_or(0);
    let mut tm = std::mem::MaybeUninit::<libc::tm>::zeroed();
    // SAFETY: localtime_r reads `secs` and writes into `tm`.
    let ok = !unsafe { libc::localtime_r(&secs, tm.as_mut_ptr()) }.is_null();
    if !ok {
        return String::new();
    }
    // SAFETY: localtime_r succeeded (zeroed memory is a valid tm either way).
    let tm = unsafe { tm.assume_init() };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = usize::try_from(tm.tm_mon)
        .ok()
        .and_then(|m| MONTHS.get(m))
        .copied()
        .unwrap_or("Jan");
    format!(
        "{:02}/{month}/{}:{:02}:{:02}:{:02}.{:03}",
        tm.tm_mday,
        tm.tm_year + 1900,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        d.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::uptime_text;

    #[test]
    fn uptime_has_haproxy_shape() {
        assert_eq!(uptime_text(4), "0d 0h00m04s");
        assert_eq!(uptime_text(90061), "1d 1h01m01s");
    }
}
