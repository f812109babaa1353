//! A `mode tcp` stream: choose the backend and a server, connect, relay.

use super::relay::{relay_held, Hold, Timeouts};
use crate::backend::connect::{acquire, Dest, Progress};
use crate::frontend::BindProto;
use crate::http::head::Edits;
use crate::http::rules::Conn;
use crate::stream::io::ClientIo;
use crate::stream::log::{emit, Record};
use crate::stream::{Addrs, Ctx};
use sluice_balance::RequestKey;
use sluice_rules::{Backend as Target, HttpMux, Stream, Txn, Verdict};
use std::rc::Rc;
use tokio::time::Instant;

/// Runs one TCP-mode connection.
pub async fn run<S: ClientIo>(ctx: &Rc<Ctx>, fe_idx: usize, mut client: S, addrs: Addrs) {
    let plan = ctx.plan.clone();
    let Some(fe) = plan.frontend(fe_idx) else {
        return;
    };
    let Some((accepted, mut sess_vars)) = super::rules::on_session(
        &plan,
        fe_idx,
        addrs,
        // The connection's own addresses: the session's unless a PROXY header said otherwise.
        client
            .meter()
            .and_then(|m| m.connection_addrs())
            .unwrap_or(addrs),
    ) else {
        return;
    };
    let (fc, mut addrs) = (accepted.fc, accepted.session);
    let mut record = Record::start(fe_idx, addrs, client.meter(), false);
    let mut scratch = ctx.take_scratch();
    let static_be = crate::http::rules::route_static(fe);
    // The stream's transaction: the content rules' variables, then the response rules'.
    let mut txn = Txn::new();
    let ruled = crate::http::rules::needed(&plan, fe_idx, static_be);
    let be_choice = if ruled {
        // The session's variables (`tcp-request session set-var(sess.x)`) for the content
        // rules: this stream is the session's only one.
        txn.vars.put_session(&mut sess_vars);
        let peers = (addrs, fc);
        let routed = route(ctx, &mut client, &mut scratch.cbuf, fe_idx, peers, &mut txn).await;
        crate::log::on_vars(&mut record, &txn);
        // `tcp-request content set-src`...: the connection goes on with its new addresses.
        addrs = super::rules::changed(addrs, &txn);
        // A TCP stream is its connection's only one: its trackers live as long.
        sess_vars.stick = std::mem::take(&mut txn.vars.stick);
        record.client = addrs.peer;
        record.local = addrs.local;
        match routed {
            Ok(b) => b,
            Err(()) => {
                // Refused by a content rule: logged as HAProxy logs a stream the proxy
                // blocked at the request phase (`PR`).
                ctx.give_scratch(scratch);
                record.answer(0, *b"PR");
                emit(&record);
                return;
            }
        }
    } else {
        static_be
    };
    // `switch-mode http`, or an HTTP backend: the stream goes on as HTTP.
    let to_http_backend = be_choice
        .and_then(|b| plan.backend(b))
        .is_some_and(|b| b.mode == sluice_model::Mode::Http);
    if let Some(mux) = txn.switch_http.or(to_http_backend.then_some(HttpMux::Auto)) {
        let bind = client.meter().and_then(|m| m.socket.bind);
        // `bind ... proto none`: the stream cannot become HTTP; HAProxy aborts it.
        if fe.bind_proto(bind) == Some(BindProto::None) {
            ctx.give_scratch(scratch);
            record.answer(0, *b"PR");
            emit(&record);
            return;
        }
        // The session's variables and trackers go on with the HTTP transaction.
        if ruled {
            txn.vars.stick = std::mem::take(&mut sess_vars.stick);
        } else {
            txn.vars.put_session(&mut sess_vars);
        }
        scratch.txn = txn;
        let http = Box::pin(crate::http::session::run_switched(
            ctx.clone(),
            fe_idx,
            client,
            (addrs, fc),
            scratch,
            mux,
        ));
        http.await;
        return;
    }
    let Some(be_idx) = be_choice else {
        ctx.give_scratch(scratch);
        return;
    };
    record.backend = Some(be_idx);
    let Some(be) = plan.backend(be_idx) else {
        ctx.give_scratch(scratch);
        return;
    };
    let mut key = RequestKey::new();
    if let Some(peer) = addrs.peer {
        key = key.with_source(peer.ip());
    }
    record.connecting();
    // `sni ssl_fc_sni`: the name the client sent to a TLS listener.
    let tls = client.tls().cloned();
    // The stream, for the TLVs of the PROXY v2 headers the backend sends.
    let meter = client.meter().cloned();
    let unique_id = sluice_rules::UniqueId::new();
    let pp_conn = be.proxy_v2.then(|| {
        let mut c = Conn::new(&plan, fe_idx, addrs);
        c.fc = fc;
        c.tls = tls.as_deref();
        c.be = Some(be_idx);
        c.uid = Some(&unique_id);
        c.socket = meter.as_deref().map(|m| m.socket).unwrap_or_default();
        c.proxy_tlvs = meter.as_deref().map_or(&[][..], |m| m.proxy_tlvs());
        c
    });
    let pp_stream = pp_conn.as_ref().map(|c| Stream {
        conn: c,
        request: None,
        response: None,
        vars: Some(&txn.vars),
        changes: Some(&txn.changes),
        captures: None,
    });
    let progress = Progress::default();
    let dest = Dest {
        // `stick on`/`stick match`: the server the backend's table remembers, if usable.
        pin: crate::stick::tcp_persistence(&plan, fe_idx, be_idx, (addrs, fc), &mut sess_vars),
        sni: tls.as_deref().and_then(|t| t.sni.as_deref()),
        // `tcp-request content set-retries`.
        retries: txn.changes.retries,
        stream: pp_stream
            .as_ref()
            .map(|s| s as &dyn sluice_rules::SampleSource),
        client_tls: tls.as_deref(),
        progress: Some(&progress),
        ..Dest::new(addrs)
    };
    // `option abortonclose` (off by default in TCP mode): a client that closes while the
    // stream waits for a server abandons it (`CQ`, `CC`); its bytes meanwhile are kept.
    let mut no_own = None;
    let acquiring = acquire(ctx, be_idx, &dest, &key, false, &mut no_own);
    let acquired = if be.abortonclose {
        crate::http::abort::unless_client_leaves(&mut client, &mut scratch.cbuf, acquiring).await
    } else {
        Ok(acquiring.await)
    };
    let Ok(acquired) = acquired else {
        crate::http::abort::record_abandoned(&mut record, &progress);
        emit(&record);
        ctx.give_scratch(scratch);
        return;
    };
    crate::http::abort::left_queue(&mut record, &progress);
    let mut server = match acquired {
        Ok(a) => a,
        Err(e) => {
            record.connect_failed(e);
            emit(&record);
            ctx.give_scratch(scratch);
            return;
        }
    };
    record.connected(server.server);
    crate::stick::tcp_connected(&plan, be_idx, server.server, &mut sess_vars);
    let response_rules = plan
        .rules(be_idx)
        .filter(|r| !r.compiled.tcp_response.is_empty());
    let mut conn = Conn::new(&plan, fe_idx, addrs);
    conn.fc = fc;
    conn.be = Some(be_idx);
    conn.srv = Some(server.server);
    conn.proxy_tlvs = meter.as_deref().map_or(&[][..], |m| m.proxy_tlvs());
    conn.meter = meter.as_deref();
    conn.socket = meter.as_deref().map(|m| m.socket).unwrap_or_default();
    conn.bc = Some(crate::http::rules::backend_connection(&server.stream));
    conn.events.forwarded = true;
    conn.contents.raw_stream = true;
    // `tcp-response content`: the server's first bytes wait for the rules (up to
    // `tcp-response inspect-delay`), the client's go on to the server meanwhile.
    let mut decide = |data: &[u8], final_: bool| {
        let r = response_rules?;
        super::rules::inspect_response(r, &conn, data, final_, &mut txn)
    };
    let hold = response_rules.map(|r| Hold {
        until: r.response_inspect_delay.map(|d| Instant::now() + d),
        decide: &mut decide,
    });
    let t = Timeouts {
        client: fe.client,
        server: be.server,
        client_fin: fe.client_fin,
        server_fin: be.server_fin,
        tunnel: be.tunnel,
    };
    let (up, down) = scratch.bufs();
    let relayed = relay_held(&mut client, &mut server.stream, up, down, t, hold).await;
    if response_rules.is_some() {
        crate::log::on_vars(&mut record, &txn);
    }
    match relayed {
        Ok(m) => {
            record.bytes_out = m.to_client;
            let now = sluice_stick::now_ms();
            sess_vars.stick.count_bytes(m.to_server, m.to_client, now);
        }
        Err(e) => record.error = Some(e),
    }
    ctx.give_scratch(scratch);
    emit(&record);
}

/// Content inspection and `use_backend` for a connection of a frontend with rules: the
/// frontend's `tcp-request content` rules (waiting up to `inspect-delay` for the bytes
/// they need), the backend switching rules on those bytes (`req.ssl_sni`...), then the
/// backend's content rules. `Err`: close.
async fn route<S: ClientIo>(
    ctx: &Ctx,
    client: &mut S,
    buf: &mut crate::http::buf::Buf,
    fe_idx: usize,
    (addrs, fc): (Addrs, Addrs),
    txn: &mut Txn,
) -> Result<Option<usize>, ()> {
    let plan = &ctx.plan;
    let Some(fe) = plan.frontend(fe_idx) else {
        return Err(());
    };
    let fe_rules = plan.rules(fe_idx);
    let tls = client.tls().cloned();
    let socket = client.meter().map(|m| m.socket).unwrap_or_default();
    // Owned, as `tls`: the rules read the PROXY v2 TLVs while the client is read.
    let meter = client.meter().cloned();
    let proxy_tlvs = meter.as_deref().map_or(&[][..], |m| m.proxy_tlvs());
    if let Some(r) = fe_rules {
        let mut conn = Conn::new(plan, fe_idx, addrs);
        conn.fc = fc;
        conn.tls = tls.as_deref();
        conn.socket = socket;
        conn.proxy_tlvs = proxy_tlvs;
        conn.meter = meter.as_deref();
        if !super::rules::inspect(client, buf, plan, r, conn, txn).await {
            return Err(());
        }
    }
    // Later rules see what the content rules changed of the addresses.
    let mut conn = Conn::new(plan, fe_idx, super::rules::changed(addrs, txn));
    conn.fc = fc;
    conn.payload = Some(buf.filled());
    conn.tls = tls.as_deref();
    conn.socket = socket;
    conn.proxy_tlvs = proxy_tlvs;
    conn.meter = meter.as_deref();
    conn.contents.raw_stream = true;
    // `use_backend ... if { path_beg /api }`: HTTP fetches read the bytes as a request.
    let (mut parser, mut edits) = (sluice_http::RequestHead::new(), Edits::default());
    let request = super::raw_http::read(buf.filled(), &mut parser, &mut edits, &fe.http);
    let msg = super::raw_http::message(&request);
    let be = match fe_rules.filter(|r| r.routes) {
        Some(r) => {
            let src = Stream {
                conn: &conn,
                request: msg,
                response: None,
                vars: Some(&txn.vars),
                changes: Some(&txn.changes),
                captures: Some(&txn.captures),
            };
            // A static rule naming a disabled backend gives way to the next rule.
            let usable = |n: &str| plan.backend_names.contains_key(n);
            let found = match r.compiled.select_backend_where(&src, usable) {
                Some(Target::Static(n)) => plan.backend_names.get(n).copied(),
                Some(Target::Dynamic(n)) => plan.backend_names.get(n.as_str()).copied(),
                None => None,
            };
            found.or(fe.default_backend)
        }
        None => crate::http::rules::route_static(fe),
    };
    if let Some(b) = be.filter(|b| *b != fe_idx) {
        if let Some(r) = plan.rules(b) {
            conn.be = Some(b);
            if matches!(
                r.compiled
                    .tcp_content
                    .run_tcp_on(&conn, msg.map(|m| (m, false)), txn),
                Verdict::Reject | Verdict::SilentDrop
            ) {
                return Err(());
            }
        }
    }
    Ok(be)
}
