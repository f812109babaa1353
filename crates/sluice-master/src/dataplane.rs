//! The data plane as the process model sees it (`sluice-proxy`): [`BoundListeners`] (bind,
//! export, adopt), [`Worker`] (start, stop handle, wait) and the listener keys a configuration
//! wants, so that a reload hands a new worker only the sockets its configuration names.

pub use sluice_proxy::{BoundListeners, StopHandle, Worker};

use sluice_model::Model;

/// The keys of the listening sockets `model` binds (`<proxy>|<address>|<port>`), stats
/// sockets included (`@stats|<address>|<port>`).
pub fn wanted_keys(model: &Model) -> Vec<String> {
    sluice_proxy::listener::bind::specs(model)
        .into_iter()
        .map(|spec| spec.key)
        .chain(
            sluice_proxy::cli::listener::specs(model)
                .into_iter()
                .map(|spec| spec.key),
        )
        .collect()
}
