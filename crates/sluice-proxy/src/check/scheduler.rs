//! The checker: one thread ("sluice-check") with a current-thread runtime, one task per
//! checked server. Checks start spread over the shortest interval (as HAProxy does), then
//! repeat every `inter` (`fastinter` while a server is changing state, `downinter` while it
//! is down), with `spread-checks` jitter. A soft or hard stop ends the thread and drops every
//! check in flight.

use super::context::CheckContext;
use super::external;
use super::report::{self, Cause, Counts, Level};
use super::rules::{self, Ruleset};
use super::state::{step, State};
use super::tcp::{self, Target};
use super::Outcome;
use crate::backend::server::Target as ServerTarget;
use crate::plan::{timeout, Plan};
use crate::worker::StopLevel;
use sluice_model::{Model, Proxy};
use sluice_rules::sample::Place;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::watch;

/// HAProxy's default `inter`.
const DEFAULT_INTER: Duration = Duration::from_millis(2000);

/// One checked server.
struct Spec {
    backend: usize,
    server: usize,
    rules: Arc<Ruleset>,
    target: Target,
    inter: Duration,
    fastinter: Option<Duration>,
    downinter: Option<Duration>,
    rise: u32,
    fall: u32,
    log_checks: bool,
    /// Servers whose state mirrors this one (`track`, followed to its end).
    trackers: Vec<(usize, usize)>,
    /// `option external-check`: the program run instead of the ruleset.
    external: Option<(Arc<external::Program>, external::Server)>,
}

impl Spec {
    /// HAProxy's `srv_getinter`.
    fn interval(&self, counter: u32, down: bool) -> Duration {
        if counter >= self.rise + self.fall - 1 {
            self.inter
        } else if down && counter == 0 {
            self.downinter.unwrap_or(self.inter)
        } else {
            self.fastinter.unwrap_or(self.inter)
        }
    }
}

/// Starts the checker when any server has `check`. Compatibility warnings (what a
/// configuration asks of checks that is not applied) are printed on stderr.
pub fn start(
    model: &Model,
    plan: Arc<Plan>,
    stop: watch::Receiver<StopLevel>,
) -> io::Result<Option<JoinHandle<()>>> {
    for e in report::install(model) {
        report::emit(Level::Warning, &format!("health messages not logged: {e}"));
    }
    let specs = specs(model, &plan);
    let (agents, agent_warnings) = super::agent::specs(model, &plan);
    for w in agent_warnings {
        report::emit(Level::Warning, &format!("config : {w}"));
    }
    if specs.is_empty() && agents.is_empty() {
        return Ok(None);
    }
    let spread = spread_checks(model);
    let handle = std::thread::Builder::new()
        .name("sluice-check".into())
        .spawn(move || run(plan, specs, agents, spread, stop))?;
    Ok(Some(handle))
}

fn warn(proxy: &Proxy, what: &str) {
    report::emit(
        Level::Warning,
        &format!("config : backend '{}' : {what}", proxy.name),
    );
}

fn specs(model: &Model, plan: &Arc<Plan>) -> Vec<Spec> {
    let mut specs = Vec::new();
    let node = super::context::node_name(model);
    for (pi, proxy) in model.proxies.iter().enumerate() {
        let Some(be) = plan.backend(pi) else { continue };
        let checked = proxy.servers.iter().any(|s| s.options.check);
        if !checked {
            continue;
        }
        let (ruleset, warnings) = rules::of(model, proxy);
        for w in warnings {
            warn(proxy, &format!("{w} (not supported yet; ignored)"));
        }
        // The backend's unique ID format, for the `unique-id` its checks may send.
        let unique_id_format = sluice_rules::unique_id_format_text(model, proxy).and_then(|text| {
            sluice_rules::compile_log_format(model, proxy, text, Place::Any)
                .map_err(|e| warn(proxy, &format!("'unique-id-format' in checks: {e}")))
                .ok()
                .map(Arc::new)
        });
        // `option external-check`: a program instead of the rules.
        let program = match external::program(model, proxy) {
            None => None,
            Some(Ok(p)) if external_checks_allowed(model) => Some(Arc::new(p)),
            Some(Ok(_)) => {
                warn(proxy, "'option external-check' needs the global 'external-check' and 'insecure-fork-wanted'; its servers are not checked");
                continue;
            }
            Some(Err(e)) => {
                warn(proxy, &format!("{e}; its servers are not checked"));
                continue;
            }
        };
        let http_check = ruleset
            .rules
            .iter()
            .any(|r| matches!(r, rules::Rule::HttpSend(_)));
        let ruleset = Arc::new(ruleset);
        let connect = timeout(proxy, "connect");
        let check = timeout(proxy, "check");
        let log_checks = proxy.option("log-health-checks").is_some();
        for (si, s) in proxy.servers.iter().enumerate() {
            let o = &s.options;
            if !o.check || o.track.is_some() {
                continue;
            }
            // Server options checks do not apply (agent-check, observe, slowstart...) are
            // reported by the keyword catalogue at -c and at start, not again here.
            let Some(srv) = be.servers.get(si) else {
                continue;
            };
            // `healthcheck <name>`: the server's check is the section's, whatever the
            // backend's check options say.
            let section = o
                .other
                .iter()
                .rev()
                .find(|(n, _, _)| n == "healthcheck")
                .and_then(|(_, v, _)| v.as_deref());
            let (ruleset, http_check, program) = match section {
                None => (ruleset.clone(), http_check, program.clone()),
                Some(name) => {
                    let Some(found) = model
                        .sections_of(sluice_config::SectionKind::Healthcheck)
                        .find(|sec| sec.name == name)
                    else {
                        warn(
                            proxy,
                            &format!(
                                "server '{}' : no healthcheck section '{name}'; the server is not checked",
                                s.name
                            ),
                        );
                        continue;
                    };
                    let (own, warnings) = rules::of_section(model, proxy, found);
                    for w in warnings {
                        warn(proxy, &format!("{w} (not supported yet; ignored)"));
                    }
                    let http = own
                        .rules
                        .iter()
                        .any(|r| matches!(r, rules::Rule::HttpSend(_)));
                    (Arc::new(own), http, None)
                }
            };
            // A `disabled` server gets its check too: it runs once the runtime API takes
            // the server out of maintenance (the loop pauses while it is in maintenance).
            let addr_opt: Option<IpAddr> = o
                .other
                .iter()
                .rev()
                .find(|(n, _, _)| n == "addr")
                .and_then(|(_, v, _)| v.as_deref())
                .and_then(|v| v.parse().ok());
            let addr = match &srv.target() {
                ServerTarget::Addr(a) => Some(SocketAddr::new(
                    addr_opt.unwrap_or(a.ip()),
                    o.check_port.unwrap_or(a.port()),
                )),
                ServerTarget::Relative(ip, _) => o
                    .check_port
                    .map(|p| SocketAddr::new(addr_opt.unwrap_or(*ip), p)),
                ServerTarget::Unix(_) => None,
            };
            let Some(addr) = addr else {
                warn(
                    proxy,
                    &format!(
                        "server '{}' : checks of a server without a fixed TCP port or with a UNIX socket address are not supported yet; the server stays up",
                        s.name
                    ),
                );
                continue;
            };
            let check_send_proxy = o.other.iter().any(|(n, _, _)| n == "check-send-proxy");
            let moved = o.check_port.is_some() || addr_opt.is_some();
            let send_proxy = if check_send_proxy {
                Some(srv.send_proxy.unwrap_or(1))
            } else if moved {
                None
            } else {
                srv.send_proxy
            };
            let rise = o
                .rise
                .and_then(|r| u32::try_from(r).ok())
                .unwrap_or(2)
                .max(1);
            let fall = o
                .fall
                .and_then(|r| u32::try_from(r).ok())
                .unwrap_or(3)
                .max(1);
            let inter = o.inter.filter(|d| !d.is_zero()).unwrap_or(DEFAULT_INTER);
            // HTTP/2 checks: `check-proto h2`, else the server's `proto h2` for HTTP checks.
            let check_proto = o
                .other
                .iter()
                .rev()
                .find(|(n, _, _)| n == "check-proto")
                .and_then(|(_, v, _)| v.as_deref());
            let h2 = match check_proto {
                Some(p) => p.eq_ignore_ascii_case("h2"),
                None => srv.h2 && http_check,
            };
            if h2 && !http_check {
                warn(
                    proxy,
                    &format!(
                        "server '{}' : 'check-proto h2' needs an HTTP check ('option httpchk'); the check stays in TCP",
                        s.name
                    ),
                );
            }
            // The server starts as `init-state` says (its health was built with it).
            specs.push(Spec {
                backend: pi,
                server: si,
                rules: ruleset,
                target: Target {
                    addr,
                    send_proxy,
                    proxy_version: srv.send_proxy.unwrap_or(1),
                    inter,
                    connect,
                    check,
                    bufsize: plan.bufsize,
                    // `check-ssl`, or `ssl` when the check goes where the traffic goes.
                    tls: srv
                        .check_tls
                        .clone()
                        .or_else(|| srv.tls.clone().filter(|_| !moved)),
                    sni: o
                        .other
                        .iter()
                        .rev()
                        .find(|(n, _, _)| n == "check-sni")
                        .and_then(|(_, v, _)| v.clone()),
                    socks4: srv.socks4.filter(|_| srv.check_via_socks4),
                    context: Some(CheckContext {
                        plan: plan.clone(),
                        backend: pi,
                        server: si,
                        unique_id_format: unique_id_format.clone(),
                        node: node.clone(),
                    }),
                    h2: (h2 && http_check).then_some(plan.http),
                },
                inter,
                fastinter: o.fastinter.filter(|d| !d.is_zero()),
                downinter: o.downinter.filter(|d| !d.is_zero()),
                rise,
                fall,
                log_checks,
                trackers: Vec::new(),
                external: program.clone().map(|p| {
                    let (addr, port) = match &srv.target() {
                        ServerTarget::Addr(a) => (a.ip().to_string(), a.port().to_string()),
                        ServerTarget::Relative(ip, _) => (ip.to_string(), String::new()),
                        ServerTarget::Unix(path) => (path.clone(), String::new()),
                    };
                    let proto = if srv.h2 {
                        "h2"
                    } else if be.mode == sluice_model::Mode::Http {
                        "h1"
                    } else {
                        "tcp"
                    };
                    let server = external::Server {
                        backend_id: be.id.unwrap_or(i64::try_from(pi + 1).unwrap_or(0)),
                        backend_name: be.name.clone(),
                        server_id: srv.id,
                        server_name: srv.name.clone(),
                        addr,
                        port,
                        maxconn: srv.maxconn,
                        ssl: srv.tls.is_some(),
                        proto,
                    };
                    (p, server)
                }),
            });
        }
    }
    // `track [<backend>/]<server>`: followed to the checked server at the end of the chain.
    for (pi, proxy) in model.proxies.iter().enumerate() {
        if plan.backend(pi).is_none() {
            continue;
        }
        for (si, s) in proxy.servers.iter().enumerate() {
            if s.options.track.is_none() || s.options.disabled {
                continue;
            }
            let mut at = (pi, si);
            let mut root = None;
            for _ in 0..16 {
                let Some(t) = model
                    .proxies
                    .get(at.0)
                    .and_then(|p| p.servers.get(at.1))
                    .and_then(|s| s.options.track.as_ref())
                else {
                    break;
                };
                let Some(next) = resolve(model, plan, at.0, &t.value) else {
                    break;
                };
                if let Some(i) = specs.iter().position(|sp| (sp.backend, sp.server) == next) {
                    root = Some(i);
                    break;
                }
                at = next;
            }
            match root.and_then(|i| specs.get_mut(i)) {
                Some(spec) => spec.trackers.push((pi, si)),
                None => warn(
                    proxy,
                    &format!(
                        "server '{}' : tracks a server without health checks; it stays up",
                        s.name
                    ),
                ),
            }
        }
    }
    specs
}

/// `[<backend>/]<server>` seen from backend `from`.
fn resolve(model: &Model, plan: &Plan, from: usize, name: &str) -> Option<(usize, usize)> {
    let (be, srv) = match name.split_once('/') {
        Some((b, s)) => (*plan.backend_names.get(b)?, s),
        None => (from, name),
    };
    let si = model
        .proxies
        .get(be)?
        .servers
        .iter()
        .position(|s| s.name == srv)?;
    Some((be, si))
}

/// External checks need the global `external-check` and `insecure-fork-wanted`, as with
/// HAProxy (which refuses to fork otherwise).
fn external_checks_allowed(model: &Model) -> bool {
    let has = |kw: &str| model.global.other.iter().any(|s| s.keyword() == kw);
    has("external-check") && has("insecure-fork-wanted")
}

/// The global `spread-checks` percentage (0 to 50).
fn spread_checks(model: &Model) -> u32 {
    model
        .global
        .other
        .iter()
        .rev()
        .find(|s| s.keyword() == "spread-checks")
        .and_then(|s| s.words.get(1))
        .and_then(|w| w.text.parse::<u32>().ok())
        .map_or(0, |v| v.min(50))
}

fn run(
    plan: Arc<Plan>,
    specs: Vec<Spec>,
    agents: Vec<super::agent::AgentSpec>,
    spread: u32,
    mut stop: watch::Receiver<StopLevel>,
) {
    crate::local_runtime::run_local(async move {
        // First checks spread over the shortest first interval, by position.
        let n = u32::try_from(specs.len()).unwrap_or(u32::MAX).max(1);
        let min = specs
            .iter()
            .map(|s| s.interval(s.rise, false))
            .min()
            .unwrap_or(DEFAULT_INTER);
        for (i, spec) in specs.into_iter().enumerate() {
            let pos = u32::try_from(i).unwrap_or(u32::MAX);
            let first = min.mul_f64(f64::from(pos) / f64::from(n));
            let seed = seed(i);
            tokio::task::spawn_local(check_loop(plan.clone(), spec, first, spread, seed));
        }
        for agent in agents {
            tokio::task::spawn_local(super::agent::agent_loop(plan.clone(), agent));
        }
        let _ = stop.wait_for(|l| *l >= StopLevel::Soft).await;
    });
}

fn seed(i: usize) -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    (t ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1
}

/// xorshift64: jitter needs no better randomness.
fn next_random(state: &mut u64) -> f64 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

async fn check_loop(plan: Arc<Plan>, mut spec: Spec, first: Duration, spread: u32, mut rng: u64) {
    tokio::time::sleep(first).await;
    let mut last_status = None;
    loop {
        // Maintenance or `disable health` (runtime API): no check until it ends.
        let paused = match plan
            .backend(spec.backend)
            .and_then(|b| b.servers.get(spec.server))
        {
            Some(s) => s.health.checks_paused(),
            None => true,
        };
        if paused {
            tokio::time::sleep(spec.inter.min(Duration::from_millis(100))).await;
            continue;
        }
        // The server may have moved (`set server addr`, the resolvers): checks follow.
        if let Some(s) = plan
            .backend(spec.backend)
            .and_then(|b| b.servers.get(spec.server))
        {
            spec.target.addr = s.check_addr(spec.target.addr);
        }
        let outcome = match &spec.external {
            Some((program, server)) => {
                let connections = plan
                    .backend(spec.backend)
                    .and_then(|b| b.servers.get(spec.server))
                    .map(|s| s.connections.clone())
                    .unwrap_or_default();
                let limit = spec.target.check.unwrap_or(spec.inter);
                external::run(program, server, &connections, limit).await
            }
            None => tcp::run(&spec.rules, &spec.target).await,
        };
        // A connection timeout may mean the server has a new address: as HAProxy does,
        // the resolvers ask again now rather than at their next turn.
        if outcome.status == super::Status::L4Tout {
            crate::resolvers::wake();
        }
        let (counter, down) = apply(&plan, &spec, &outcome, &mut last_status);
        let mut wait = spec.interval(counter, down);
        if spread > 0 {
            // HAProxy: +/- `spread`% of the interval.
            let r = wait.mul_f64(f64::from(spread) / 100.0);
            let delta = r.mul_f64(2.0 * next_random(&mut rng));
            wait = (wait + r).saturating_sub(delta);
        }
        tokio::time::sleep(wait).await;
    }
}

/// Counts of a backend's usable servers, and its connections and queue.
fn counts(plan: &Plan, backend: usize, server: usize) -> Counts {
    match plan.backend(backend) {
        Some(be) => counts_of(be, server),
        None => Counts::default(),
    }
}

/// [`counts`] of a backend at hand.
pub(crate) fn counts_of(be: &crate::backend::Backend, server: usize) -> Counts {
    let mut c = Counts::default();
    for s in &be.servers {
        if s.health.usable() && s.health.effective_weight() > 0 {
            if s.backup {
                c.backup += 1;
            } else {
                c.active += 1;
            }
        }
    }
    c.sessions = be.servers.get(server).map_or(0, |s| {
        s.connections.load(std::sync::atomic::Ordering::Relaxed)
    });
    c.queued = be.queue.waiting();
    c
}

/// Applies one result: counters, state, tracking servers, messages. Returns the new
/// counter and whether the server is down.
fn apply(plan: &Plan, spec: &Spec, o: &Outcome, last: &mut Option<super::Status>) -> (u32, bool) {
    let Some(be) = plan.backend(spec.backend) else {
        return (0, true);
    };
    let Some(srv) = be.servers.get(spec.server) else {
        return (0, true);
    };
    srv.health
        .record_check(super::state::hchk::of(o.status), o.code, o.duration);
    // The runtime API put the server in maintenance or stopped its checks meanwhile.
    if srv.health.checks_paused() {
        return (srv.health.counter(), srv.health.state() != State::Up);
    }
    let before = srv.health.counter();
    let was_up = srv.health.state() == State::Up;
    let (counter, up) = step(before, spec.rise, spec.fall, o.status.passed());
    // An agent that said `down` keeps the server down whatever the checks say.
    let up = up && !srv.health.agent_down();
    srv.health.set_counter(counter);
    if spec.log_checks && (counter != before || *last != Some(o.status)) {
        let line = report::check_result(
            &be.name,
            &srv.name,
            srv.backup,
            o,
            (counter, spec.rise, spec.fall, up),
        );
        report::notify(&be.name, Level::Warning, report::syslog::NOTICE, &line);
    }
    *last = Some(o.status);
    if up == was_up {
        return (counter, !up);
    }
    let new = if up { State::Up } else { State::Down };
    srv.health.set_state(new);
    be.epoch.bump();
    for (b, s) in &spec.trackers {
        if let Some(t) = plan.backend(*b).and_then(|tb| tb.servers.get(*s)) {
            t.health.set_state(new);
        }
        if let Some(tb) = plan.backend(*b) {
            tb.epoch.bump();
        }
    }
    let c = counts(plan, spec.backend, spec.server);
    let cause = || {
        if spec.log_checks {
            Cause::Logged
        } else {
            Cause::Check(o)
        }
    };
    let (line, level) = if up {
        (
            report::up(&be.name, &srv.name, srv.backup, cause(), c),
            report::syslog::NOTICE,
        )
    } else {
        (
            report::down(&be.name, &srv.name, srv.backup, cause(), c),
            report::syslog::ALERT,
        )
    };
    report::notify(&be.name, Level::Warning, level, &line);
    if !up && c.active == 0 && c.backup == 0 {
        report::no_server(&be.name);
    }
    let via = format!("{}/{}", be.name, srv.name);
    for (b, s) in &spec.trackers {
        let Some(tb) = plan.backend(*b) else { continue };
        let Some(t) = tb.servers.get(*s) else {
            continue;
        };
        let c = counts(plan, *b, *s);
        let (line, level) = if up {
            (
                report::up(&tb.name, &t.name, t.backup, Cause::Via(&via), c),
                report::syslog::NOTICE,
            )
        } else {
            (
                report::down(&tb.name, &t.name, t.backup, Cause::Via(&via), c),
                report::syslog::ALERT,
            )
        };
        report::notify(&tb.name, Level::Warning, level, &line);
        if !up && c.active == 0 && c.backup == 0 {
            report::no_server(&tb.name);
        }
    }
    (counter, !up)
}
