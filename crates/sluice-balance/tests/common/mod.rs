//! Helpers shared by the integration tests.
#![allow(dead_code)]

use sluice_balance::{Algorithm, Balance, Balancer, RequestKey, ServerId, ServerState, Snapshot};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

/// Servers 1..=n with the given weights, usable, not backup.
pub fn weighted(weights: &[u16]) -> Vec<ServerState> {
    weights
        .iter()
        .enumerate()
        .map(|(i, &w)| ServerState::new(i as u32 + 1).weight(w))
        .collect()
}

pub fn balancer(words: &[&str], servers: Vec<ServerState>) -> Balancer {
    let balance = Balance::parse(words).expect("valid balance words");
    Balancer::build(&balance, &Snapshot::new(servers, false))
}

/// How many of `n` keyless selections each server got.
pub fn counts(b: &Balancer, n: usize) -> BTreeMap<u32, usize> {
    let mut counts = BTreeMap::new();
    for _ in 0..n {
        if let Some(ServerId(id)) = b.select(&RequestKey::new()) {
            *counts.entry(id).or_insert(0) += 1;
        }
    }
    counts
}

pub fn set_connections(servers: &[ServerState], id: u32, n: u32) {
    if let Some(s) = servers.iter().find(|s| s.id == ServerId(id)) {
        s.connections.store(n, Ordering::Relaxed);
    }
}

pub fn open_connection(servers: &[ServerState], id: ServerId) {
    if let Some(s) = servers.iter().find(|s| s.id == id) {
        s.connections.fetch_add(1, Ordering::Relaxed);
    }
}
