//! Size of the per-connection task: every idle client connection holds one such future,
//! so its size is part of the memory per idle connection (docs/performance.md).

use sluice_config::{read_str, ReadOptions};
use sluice_model::{build, BuildOptions};
use sluice_proxy::counters::ThreadCounters;
use sluice_proxy::plan::Plan;
use sluice_proxy::stream::{self, Addrs, Ctx, Permits};
use std::rc::Rc;
use std::sync::Arc;

fn ctx(mode: &str) -> Rc<Ctx> {
    let text = format!(
        "defaults\n mode {mode}\n timeout connect 5s\n timeout client 5s\n timeout server 5s\n\
         frontend fe\n bind 127.0.0.1:1\n default_backend be\n\
         backend be\n server a 127.0.0.1:9\n"
    );
    let (tree, _) = read_str("t.cfg", &text, &ReadOptions::default());
    let (model, _) = build(&tree, &BuildOptions::default());
    let plan = Plan::build(&model).expect("plan");
    Rc::new(Ctx::new(
        Arc::new(plan),
        Arc::new(ThreadCounters::default()),
    ))
}

#[test]
fn session_futures_stay_small() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = l.local_addr().expect("addr");
        for mode in ["http", "tcp"] {
            let c = tokio::net::TcpStream::connect(addr).await.expect("connect");
            let permits = Permits::none();
            let ctx = ctx(mode);
            let session = {
                let c = tokio::net::TcpStream::connect(addr).await.expect("connect");
                if mode == "http" {
                    let f = sluice_proxy::http::session::run(ctx.clone(), 0, c, Addrs::default());
                    std::mem::size_of_val(&f)
                } else {
                    let f = sluice_proxy::tcp::session::run(&ctx, 0, c, Addrs::default());
                    std::mem::size_of_val(&f)
                }
            };
            println!("{mode} session future: {session} bytes");
            let fut = stream::serve(
                ctx,
                0,
                c,
                Addrs::default(),
                None,
                Default::default(),
                permits,
            );
            let size = std::mem::size_of_val(&fut);
            println!("serve future ({mode}): {size} bytes");
            // tokio allocates the task as one cell aligned to 128 bytes: the future plus
            // 104 bytes of header and trailer. Up to 536 bytes the cell is 640 bytes. Checked
            // on optimised builds only (`cargo test --release`): debug builds keep more.
            if !cfg!(debug_assertions) {
                assert!(size <= 536, "{mode} session future grew to {size} bytes");
            }
        }
    });
}

#[test]
fn the_connection_meter_stays_in_its_size_class() {
    // Every client connection has one `Rc<Meter>`: 16 bytes of counts plus the meter, 128
    // bytes in all (one jemalloc size class) while the meter is at most 112 bytes.
    let size = std::mem::size_of::<sluice_proxy::stream::log::Meter>();
    println!("meter: {size} bytes");
    assert!(size <= 112, "the meter grew to {size} bytes");
}
