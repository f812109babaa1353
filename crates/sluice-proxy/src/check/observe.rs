//! `observe layer4|layer7`, `error-limit` and `on-error`: the traffic a server serves adjusts
//! its health, as HAProxy's health analysis does. Consecutive errors are counted per server
//! (any thread); when they reach the limit, the `on-error` action runs once and the count
//! starts again. A success resets the count.
//!
//! Layer 4 errors are failed connections; layer 7 adds responses with a 5xx status other
//! than 501 and 505, and servers that fail to send a response. `observe layer4` ignores
//! what HTTP says.

use super::report::{self, Cause};
use super::state::State;
use crate::backend::Backend;
use crate::plan::Plan;
use std::sync::atomic::Ordering;

/// What is watched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    Layer4,
    Layer7,
}

/// `on-error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnError {
    /// Checks run at `fastinter` (HAProxy's default); the health itself is left to them.
    FastInter,
    /// As if a check had failed.
    FailCheck,
    /// As if checks had failed until one more failure takes the server down.
    SuddenDeath,
    /// Down at once.
    MarkDown,
}

/// A server's `observe` settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Observe {
    pub layer: Layer,
    /// `error-limit` (10 by default).
    pub limit: u32,
    pub on_error: OnError,
}

impl Observe {
    /// The settings of a server's options (`other` keeps them as written); `None` without
    /// `observe`. An unknown value is reported by the configuration checks; here it
    /// leaves the server unobserved.
    pub fn of(options: &[(String, Option<String>, sluice_config::Location)]) -> Option<Observe> {
        let value = |name: &str| {
            options
                .iter()
                .rev()
                .find(|(n, _, _)| n == name)
                .and_then(|(_, v, _)| v.as_deref())
        };
        let layer = match value("observe")? {
            "layer4" => Layer::Layer4,
            "layer7" => Layer::Layer7,
            _ => return None,
        };
        let limit = value("error-limit")
            .and_then(|v| v.parse().ok())
            .unwrap_or(10);
        let on_error = match value("on-error") {
            Some("fail-check") => OnError::FailCheck,
            Some("sudden-death") => OnError::SuddenDeath,
            Some("mark-down") => OnError::MarkDown,
            _ => OnError::FastInter,
        };
        Some(Observe {
            layer,
            limit,
            on_error,
        })
    }
}

/// What the traffic showed of a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A connection opened.
    Connected,
    /// A connection failed.
    ConnectFailed,
    /// A response with this status.
    Status(u16),
    /// No valid response (timeout, reset, garbage).
    NoResponse,
}

impl Event {
    /// Whether the event is an error for `layer` (`None`: not looked at).
    fn error_for(self, layer: Layer) -> Option<bool> {
        match (self, layer) {
            // In layer 7, a connection is not yet a success: the response decides.
            (Event::Connected, Layer::Layer4) => Some(false),
            (Event::Connected, Layer::Layer7) => None,
            (Event::ConnectFailed, _) => Some(true),
            (Event::Status(_) | Event::NoResponse, Layer::Layer4) => None,
            (Event::Status(s), Layer::Layer7) => {
                Some((500..600).contains(&s) && s != 501 && s != 505)
            }
            (Event::NoResponse, Layer::Layer7) => Some(true),
        }
    }

    /// HAProxy's words for the last error, in the DOWN message.
    fn describe(self) -> &'static str {
        match self {
            Event::ConnectFailed => "Failed to connect to server",
            Event::Status(_) => "Wrong http response",
            Event::NoResponse => "Read error or timeout",
            Event::Connected => "",
        }
    }
}

/// Tells server `server` of backend `backend` what its traffic showed. Cheap when the
/// server has no `observe`.
#[inline]
pub fn report(plan: &Plan, backend: usize, server: usize, event: Event) {
    let Some(be) = plan.backend(backend) else {
        return;
    };
    let Some(srv) = be.servers.get(server) else {
        return;
    };
    let Some(observe) = srv.health.settings.observe else {
        return;
    };
    let Some(error) = event.error_for(observe.layer) else {
        return;
    };
    let errors = &srv.health.consecutive_errors;
    if !error {
        if errors.load(Ordering::Relaxed) != 0 {
            errors.store(0, Ordering::Relaxed);
        }
        return;
    }
    let n = errors.fetch_add(1, Ordering::Relaxed) + 1;
    if n < observe.limit.max(1) {
        return;
    }
    errors.store(0, Ordering::Relaxed);
    act(be, server, observe, n, event);
}

/// The `on-error` action on server `server` of `be`, after `n` consecutive errors ending
/// with `last`.
fn act(be: &Backend, server: usize, observe: Observe, n: u32, last: Event) {
    let Some(srv) = be.servers.get(server) else {
        return;
    };
    let h = &srv.health;
    if h.checks_paused() || h.state() != State::Up {
        return;
    }
    let rise = h.settings.rise;
    let counter = h.counter();
    let new_counter = match observe.on_error {
        OnError::FastInter => return,
        OnError::FailCheck => counter.saturating_sub(1),
        OnError::SuddenDeath => counter.min(rise),
        OnError::MarkDown => 0,
    };
    h.set_counter(new_counter);
    h.record_check(super::state::hchk::HANA, None, std::time::Duration::ZERO);
    if new_counter >= rise {
        return;
    }
    h.set_state(State::Down);
    be.epoch.bump();
    let info = format!(
        "Detected {n} consecutive errors, last one was: {}",
        last.describe()
    );
    let counts = super::scheduler::counts_of(be, server);
    let line = report::down(
        &be.name,
        &srv.name,
        srv.backup,
        Cause::Analysis(&info),
        counts,
    );
    report::notify(
        &be.name,
        crate::check::report::Level::Warning,
        report::syslog::ALERT,
        &line,
    );
    if counts.active == 0 && counts.backup == 0 {
        report::no_server(&be.name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_counts_as_an_error() {
        assert_eq!(Event::Status(500).error_for(Layer::Layer7), Some(true));
        assert_eq!(Event::Status(503).error_for(Layer::Layer7), Some(true));
        assert_eq!(Event::Status(501).error_for(Layer::Layer7), Some(false));
        assert_eq!(Event::Status(505).error_for(Layer::Layer7), Some(false));
        assert_eq!(Event::Status(404).error_for(Layer::Layer7), Some(false));
        assert_eq!(Event::Status(500).error_for(Layer::Layer4), None);
        assert_eq!(Event::ConnectFailed.error_for(Layer::Layer4), Some(true));
        assert_eq!(Event::Connected.error_for(Layer::Layer7), None);
        assert_eq!(Event::Connected.error_for(Layer::Layer4), Some(false));
    }
}
