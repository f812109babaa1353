//! Name resolution at run time: the `resolvers` sections, and the servers that name one
//! (`server ... resolvers <id>`), whose host name is resolved again every `timeout
//! resolve` over DNS (UDP), their address following the answers.
//!
//! One thread ("sluice-dns") with a current-thread runtime, one task per section. The
//! sections are read when the plan is built, before any chroot: `parse-resolv-conf` reads
//! `/etc/resolv.conf` then.
//!
//! - [`message`]: the DNS query and what an answer says (hickory-proto's wire format);
//! - [`nameserver`]: one query to all the nameservers of a section;
//! - [`resolution`]: the query type sequence, and which server gets which address.

pub mod message;
pub mod nameserver;
pub mod resolution;

use crate::plan::Plan;
use crate::worker::StopLevel;
use message::Status;
use sluice_config::SectionKind;
use sluice_model::address::{Family, Host};
use sluice_model::units::{parse_time, TimeUnit};
use sluice_model::Model;
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

/// A `resolvers` section, ready to run.
#[derive(Debug)]
pub struct Section {
    pub name: String,
    /// UDP nameservers, in the order given (`parse-resolv-conf` in its place).
    pub nameservers: Vec<Nameserver>,
    /// `resolve_retries` (3).
    pub retries: u32,
    /// `timeout resolve` (1 s): how often servers are resolved.
    pub resolve_every: Duration,
    /// `timeout retry` (1 s): how long an answer is waited for.
    pub retry_after: Duration,
    pub hold: Hold,
    /// `accepted_payload_size` (512).
    pub payload: u16,
    /// When the worker started: a server that never had a valid answer counts from then.
    pub started: Instant,
}

/// One nameserver of a section, with what `show resolvers` reports of it.
#[derive(Debug)]
pub struct Nameserver {
    /// Its name on the `nameserver` line (its address for `parse-resolv-conf`).
    pub name: String,
    pub addr: SocketAddr,
    pub counters: Counters,
}

impl Nameserver {
    pub fn new(name: String, addr: SocketAddr) -> Nameserver {
        Nameserver {
            name,
            addr,
            counters: Counters::default(),
        }
    }
}

/// A nameserver's counters (HAProxy's names), written by the resolvers' thread and read
/// by the runtime API.
#[derive(Debug, Default)]
pub struct Counters {
    pub sent: AtomicU64,
    pub snd_error: AtomicU64,
    pub valid: AtomicU64,
    pub update: AtomicU64,
    pub nx: AtomicU64,
    pub timeout: AtomicU64,
    pub refused: AtomicU64,
    pub other: AtomicU64,
    pub invalid: AtomicU64,
    pub truncated: AtomicU64,
    pub outdated: AtomicU64,
}

impl Counters {
    pub fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters in `show resolvers` order, with their names.
    pub fn listed(&self) -> [(&'static str, u64); 15] {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        [
            ("sent", get(&self.sent)),
            ("snd_error", get(&self.snd_error)),
            ("valid", get(&self.valid)),
            ("update", get(&self.update)),
            ("cname", 0),
            ("cname_error", 0),
            ("any_err", 0),
            ("nx", get(&self.nx)),
            ("timeout", get(&self.timeout)),
            ("refused", get(&self.refused)),
            ("other", get(&self.other)),
            ("invalid", get(&self.invalid)),
            ("too_big", 0),
            ("truncated", get(&self.truncated)),
            ("outdated", get(&self.outdated)),
        ]
    }
}

/// `hold <status> <period>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hold {
    pub nx: Duration,
    pub refused: Duration,
    pub timeout: Duration,
    pub other: Duration,
    /// Only for `do-resolve` (not available): kept for completeness.
    pub valid: Duration,
    /// How long an SRV record missing from an answer is kept (not applied yet: a record
    /// that leaves the answer is dropped at once, as with the default 0 s).
    pub obsolete: Duration,
}

impl Default for Hold {
    fn default() -> Hold {
        let thirty = Duration::from_secs(30);
        Hold {
            nx: thirty,
            refused: thirty,
            timeout: thirty,
            other: thirty,
            valid: Duration::from_secs(10),
            obsolete: Duration::ZERO,
        }
    }
}

impl Hold {
    /// How long an error status is tolerated after the last valid answer.
    pub fn of(&self, status: Status) -> Duration {
        match status {
            Status::Nx => self.nx,
            Status::Refused => self.refused,
            Status::Timeout => self.timeout,
            Status::Truncated | Status::Other => self.other,
            Status::Valid => Duration::ZERO,
        }
    }
}

/// Wakes the resolvers (a server's name changed): they resolve at once instead of at the
/// next `timeout resolve`.
static WAKE: Notify = Notify::const_new();

pub fn wake() {
    WAKE.notify_waiters();
}

/// The `resolvers` sections of the configuration. Fails on a nameserver whose name does
/// not resolve, with the section and line.
pub fn sections(model: &Model) -> io::Result<Vec<Section>> {
    let mut out = Vec::new();
    for section in model.sections_of(SectionKind::Resolvers) {
        out.push(section_of(section)?);
    }
    // HAProxy's implicit `default` section: the nameservers of `/etc/resolv.conf`.
    if !out.iter().any(|s| s.name == "default") {
        let mut default = Section::named("default");
        default.nameservers = resolv_conf()
            .into_iter()
            .map(|a| Nameserver::new(a.ip().to_string(), a))
            .collect();
        out.push(default);
    }
    Ok(out)
}

impl Section {
    /// A section with HAProxy's defaults and no nameserver.
    fn named(name: &str) -> Section {
        Section {
            name: name.to_string(),
            nameservers: Vec::new(),
            retries: 3,
            resolve_every: Duration::from_secs(1),
            retry_after: Duration::from_secs(1),
            hold: Hold::default(),
            payload: 512,
            started: Instant::now(),
        }
    }
}

fn section_of(section: &sluice_model::sections::OtherSection) -> io::Result<Section> {
    let mut s = Section::named(&section.name);
    let mut in_order: Vec<(u32, Vec<Nameserver>)> = Vec::new();
    for e in &section.endpoints {
        let Some(a) = &e.address else { continue };
        let at = format!("line {}", e.location.line);
        let addr = match (&a.family, &a.host) {
            (Family::Inet | Family::Ipv4 | Family::Ipv6 | Family::Udp, Host::Ip(ip)) => {
                SocketAddr::new(*ip, a.port_number().unwrap_or(53))
            }
            (Family::Inet | Family::Ipv4 | Family::Ipv6 | Family::Udp, Host::Name(n)) => {
                let port = a.port_number().unwrap_or(53);
                (n.as_str(), port)
                    .to_socket_addrs()
                    .ok()
                    .and_then(|mut it| it.next())
                    .ok_or_else(|| {
                        io::Error::new(
                            io::ErrorKind::NotFound,
                            format!("{at} : resolvers '{}' : nameserver '{}' : could not resolve address '{n}'", s.name, e.name),
                        )
                    })?
            }
            _ => {
                crate::check::report::emit(
                    crate::check::report::Level::Warning,
                    &format!("{at} : resolvers '{}' : nameserver '{}' : only UDP nameservers are queried; '{}' is not used", s.name, e.name, a.text),
                );
                continue;
            }
        };
        in_order.push((e.location.line, vec![Nameserver::new(e.name.clone(), addr)]));
    }
    for stmt in &section.statements {
        let words: Vec<&str> = stmt.words.iter().map(|w| w.text.as_str()).collect();
        let at = format!("line {}", stmt.location.line);
        let time = |w: Option<&&str>| -> io::Result<Duration> {
            let text = w.copied().unwrap_or("");
            parse_time(text, TimeUnit::Millis)
                .map(|t| t.duration)
                .map_err(|e| invalid(&at, &s.name, &e.describe(text, "a time")))
        };
        match words.as_slice() {
            ["parse-resolv-conf", ..] => {
                let found = resolv_conf()
                    .into_iter()
                    .map(|a| Nameserver::new(a.ip().to_string(), a));
                in_order.push((stmt.location.line, found.collect()));
            }
            ["resolve_retries", n, ..] => {
                s.retries = n.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    invalid(&at, &s.name, "'resolve_retries' expects a positive number")
                })?;
            }
            ["accepted_payload_size", n, ..] => {
                s.payload = n.parse::<u16>().ok().filter(|n| *n >= 512).ok_or_else(|| {
                    invalid(
                        &at,
                        &s.name,
                        "'accepted_payload_size' expects a number from 512 to 65535",
                    )
                })?;
            }
            ["timeout", "resolve", rest @ ..] => s.resolve_every = time(rest.first())?,
            ["timeout", "retry", rest @ ..] => s.retry_after = time(rest.first())?,
            ["hold", status, rest @ ..] => {
                let d = time(rest.first())?;
                match *status {
                    "nx" => s.hold.nx = d,
                    "refused" => s.hold.refused = d,
                    "timeout" => s.hold.timeout = d,
                    "other" => s.hold.other = d,
                    "valid" => s.hold.valid = d,
                    "obsolete" => s.hold.obsolete = d,
                    other => {
                        return Err(invalid(&at, &s.name, &format!("'hold' : unknown status '{other}', expects 'nx', 'refused', 'timeout', 'other', 'valid' or 'obsolete'")))
                    }
                }
            }
            _ => {}
        }
    }
    in_order.sort_by_key(|(line, _)| *line);
    s.nameservers = in_order.into_iter().flat_map(|(_, a)| a).collect();
    // A timer of zero would spin.
    s.resolve_every = s.resolve_every.max(Duration::from_millis(10));
    s.retry_after = s.retry_after.max(Duration::from_millis(10));
    Ok(s)
}

fn invalid(at: &str, section: &str, what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{at} : resolvers '{section}' : {what}"),
    )
}

/// The `nameserver` lines of `/etc/resolv.conf` (port 53).
fn resolv_conf() -> Vec<SocketAddr> {
    std::fs::read_to_string("/etc/resolv.conf")
        .map(|text| parse_resolv_conf(&text))
        .unwrap_or_default()
}

fn parse_resolv_conf(text: &str) -> Vec<SocketAddr> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some("nameserver")).then_some(())?;
            // A link-local IPv6 address with a zone (`fe80::1%eth0`) is skipped.
            let ip: IpAddr = words.next()?.parse().ok()?;
            Some(SocketAddr::new(ip, 53))
        })
        .collect()
}

/// Starts the resolvers when a server names a section.
pub(crate) fn start(
    plan: Arc<Plan>,
    stop: watch::Receiver<StopLevel>,
) -> io::Result<Option<JoinHandle<()>>> {
    let used = plan
        .backends
        .iter()
        .flatten()
        .flat_map(|b| b.servers.iter())
        .any(|s| s.resolve.is_some());
    if !used || plan.resolvers.is_empty() {
        return Ok(None);
    }
    let handle = std::thread::Builder::new()
        .name("sluice-dns".into())
        .spawn(move || run(plan, stop))?;
    Ok(Some(handle))
}

fn run(plan: Arc<Plan>, mut stop: watch::Receiver<StopLevel>) {
    crate::local_runtime::run_local(async move {
        for i in 0..plan.resolvers.len() {
            tokio::task::spawn_local(section_loop(plan.clone(), i));
        }
        let _ = stop.wait_for(|l| *l >= StopLevel::Soft).await;
    });
}

async fn section_loop(plan: Arc<Plan>, index: usize) {
    let Some(section) = plan.resolvers.get(index) else {
        return;
    };
    if section.nameservers.is_empty() {
        return;
    }
    let mut last_valid = resolution::LastValid::new();
    loop {
        let woken = WAKE.notified();
        resolution::run_once(&plan, index, &mut last_valid).await;
        tokio::select! {
            () = tokio::time::sleep(section.resolve_every) => {}
            () = woken => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_resolv_conf;
    use std::net::SocketAddr;

    #[test]
    fn resolv_conf_nameservers() {
        let text = "# comment\nsearch example.com\nnameserver 10.0.0.2\nnameserver ::1\nnameserver fe80::1%eth0\noptions ndots:2\n";
        let want: Vec<SocketAddr> = vec![
            "10.0.0.2:53".parse().expect("v4"),
            "[::1]:53".parse().expect("v6"),
        ];
        assert_eq!(parse_resolv_conf(text), want);
    }
}
