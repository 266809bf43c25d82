//! Inbound channel-token validation with a warm key cache: the per-request cost the bot's
//! endpoint pays before it reads an activity.

use botframework::{ChannelAuthConfig, ChannelValidator};
use criterion::{Criterion, criterion_group, criterion_main};
use simulators::botframework_login::{BotLoginSim, ISSUER};
use std::time::{Duration, Instant};

const APP_ID: &str = "5e2b4f1a-8c3d-4e6f-9a7b-1c2d3e4f5a6b";
const SERVICE_URL: &str = "https://smba.trafficmanager.net/amer/50612dbb-0237-4969-b378-8d42590f9c00/";

fn validate(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let (sim, validator, header) = runtime.block_on(async {
        let sim = BotLoginSim::start().await;
        let config = ChannelAuthConfig {
            metadata_url: sim.metadata_url().parse().expect("a URL"),
            issuer: ISSUER.into(),
            app_id: APP_ID.into(),
        };
        let validator = ChannelValidator::new(reqwest::Client::new(), config);
        let header = format!("Bearer {}", sim.channel_token(APP_ID, SERVICE_URL));
        validator.validate(Some(&header), SERVICE_URL, "msteams").await.expect("a valid token warms the cache");
        (sim, validator, header)
    });
    c.bench_function("validate channel token (warm keys)", |b| {
        b.iter(|| runtime.block_on(validator.validate(Some(&header), SERVICE_URL, "msteams")).expect("valid"))
    });
    // Criterion reports the mean's estimate; the median is printed here from plain samples.
    let mut samples: Vec<Duration> = (0..2000)
        .map(|_| {
            let started = Instant::now();
            runtime.block_on(validator.validate(Some(&header), SERVICE_URL, "msteams")).expect("valid");
            started.elapsed()
        })
        .collect();
    samples.sort();
    println!("validate channel token (warm keys): median {:?} over {} runs", samples[samples.len() / 2], samples.len());
    assert_eq!(sim.key_fetches(), 1, "the benchmark measured validation, not key fetches");
}

criterion_group!(benches, validate);
criterion_main!(benches);
