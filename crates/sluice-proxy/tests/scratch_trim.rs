//! The thread's free list of scratch sets (buffers and parser state): a steady load keeps
//! what it uses, a burst's sets are dropped once nothing takes them.

use sluice_config::{read_str, ReadOptions};
use sluice_model::{build, BuildOptions};
use sluice_proxy::counters::ThreadCounters;
use sluice_proxy::plan::Plan;
use sluice_proxy::stream::Ctx;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

const CONFIG: &str = "defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\nfrontend fe\n    bind 127.0.0.1:0\n    default_backend be\nbackend be\n    server s1 127.0.0.1:9\n";

/// Runs `f` on a thread context like a worker thread's, with its trimmer task.
fn with_ctx<F, Fut>(f: F)
where
    F: FnOnce(Rc<Ctx>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let (tree, _) = read_str("t.cfg", CONFIG, &ReadOptions::default());
    let (model, _) = build(&tree, &BuildOptions::default());
    let plan = Arc::new(Plan::build(&model).expect("plan"));
    let counters = Arc::new(ThreadCounters::with_traffic(0, |_| 0));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let ctx = Rc::new(Ctx::new(plan, counters));
        let trimmer = ctx.clone();
        tokio::task::spawn_local(async move { trimmer.trim_scratch().await });
        f(ctx).await;
    });
}

#[test]
fn a_burst_leaves_no_more_than_eight_free_scratch_sets() {
    with_ctx(|ctx| async move {
        // 40 exchanges at once, then all idle.
        let sets: Vec<_> = (0..40).map(|_| ctx.take_scratch()).collect();
        for s in sets {
            ctx.give_scratch(s);
        }
        assert_eq!(ctx.free_scratch(), 40);
        // Nothing takes them: gone within two looks of the trimmer (250 ms each).
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert_eq!(ctx.free_scratch(), 8);
        // Below the floor, nothing more is dropped.
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(ctx.free_scratch(), 8);
    });
}

#[test]
fn a_steady_load_keeps_the_sets_it_uses() {
    with_ctx(|ctx| async move {
        let sets: Vec<_> = (0..30).map(|_| ctx.take_scratch()).collect();
        for s in sets {
            ctx.give_scratch(s);
        }
        // 20 exchanges at a time every 20 ms, for a second: the 20 stay, the 10 others go.
        for _ in 0..50 {
            let sets: Vec<_> = (0..20).map(|_| ctx.take_scratch()).collect();
            tokio::time::sleep(Duration::from_millis(10)).await;
            for s in sets {
                ctx.give_scratch(s);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(ctx.free_scratch(), 20);
    });
}
