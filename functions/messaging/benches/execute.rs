//! The in-process path of an `Action.Execute` accept: token validation with warm signing
//! keys, de-duplication, routing, the ilert calls, the card render and the card update, with
//! every remote (Bot Framework keys, Microsoft login, Bot Connector, Graph, ilert) answered by
//! the in-process simulators over loopback. Criterion reports the median; the p99 is computed
//! here over `TIMED` further iterations and printed with their median.

#[path = "../tests/common/mod.rs"]
mod common;

use axum::http::StatusCode;
use common::World;
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const TIMED: usize = 1000;

fn accept(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let (world, scene) = rt.block_on(async {
        let world = World::start().await;
        let scene = world.scene().await;
        (world, scene)
    });
    let counter = AtomicU64::new(0);
    let once = || {
        let id = format!("bench-{}", counter.fetch_add(1, Ordering::Relaxed));
        let activity = world.execute(&scene, &id, "accept", json!({}));
        rt.block_on(async {
            let (status, body) = world.send(activity).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        })
    };
    // Warm: signing keys fetched, tokens cached, the user matched and the members listed.
    for _ in 0..20 {
        once();
    }
    c.bench_function("action_execute_accept", |b| b.iter(once));

    let mut samples: Vec<Duration> = (0..TIMED)
        .map(|_| {
            let start = Instant::now();
            once();
            start.elapsed()
        })
        .collect();
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q).ceil() as usize).saturating_sub(1).min(samples.len() - 1)];
    println!(
        "action_execute_accept over {TIMED} timed iterations: median {:?}, p99 {:?}, max {:?}",
        at(0.50),
        at(0.99),
        samples[samples.len() - 1]
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(8));
    targets = accept
}
criterion_main!(benches);
