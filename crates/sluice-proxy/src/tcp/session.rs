//! A `mode tcp` stream: choose the backend and a server, connect, relay.

use super::relay::{relay, Timeouts};
use crate::backend::connect::acquire;
use crate::stream::io::ClientIo;
use crate::stream::log::{emit, Record};
use crate::stream::{Addrs, Ctx};
use sluice_balance::RequestKey;
use std::rc::Rc;

/// Runs one TCP-mode connection.
pub async fn run<S: ClientIo>(ctx: &Rc<Ctx>, fe_idx: usize, mut client: S, addrs: Addrs) {
    let plan = ctx.plan.clone();
    let Some(fe) = plan.frontend(fe_idx) else {
        return;
    };
    let mut record = Record {
        frontend: fe_idx,
        client: addrs.peer,
        ..Record::default()
    };
    // Rules on TCP content come with the rules stage; until then the first unconditional
    // use_backend or the default backend.
    let Some(be_idx) = crate::http::rules::route_static(fe) else {
        return;
    };
    record.backend = Some(be_idx);
    let Some(be) = plan.backend(be_idx) else {
        return;
    };
    let mut key = RequestKey::new();
    if let Some(peer) = addrs.peer {
        key = key.with_source(peer.ip());
    }
    let port = addrs.local.map(|a| a.port());
    let mut server = match acquire(ctx, be_idx, port, &key, false, &mut None).await {
        Ok(a) => a,
        Err(e) => {
            record.error = Some(e);
            emit(&record);
            return;
        }
    };
    record.server = Some(server.server);
    let _busy = be
        .servers
        .get(server.server)
        .map(|s| crate::backend::server::Busy::new(&s.connections));
    let mut scratch = ctx.take_scratch();
    let t = Timeouts {
        client: fe.client,
        server: be.server,
        client_fin: fe.client_fin,
        server_fin: be.server_fin,
        tunnel: be.tunnel,
    };
    let (up, down) = scratch.bufs();
    match relay(&mut client, &mut server.stream, up, down, t).await {
        Ok(m) => record.bytes_out = m.to_client,
        Err(e) => record.error = Some(e),
    }
    ctx.give_scratch(scratch);
    emit(&record);
}
