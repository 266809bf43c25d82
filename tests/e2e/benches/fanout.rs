//! Fan-out benchmark: one alert routed to 200 conversations, then 5 updates, against the
//! connector simulator enforcing Teams' documented limits (per conversation 7/1 s, 8/2 s,
//! 60/30 s, 1800/h; per tenant 50/s). Prints the wall time next to the least time those limits
//! allow for the writes made, and the number of lost or duplicated messages (must be 0).
//!
//! `cargo bench -p e2e --bench fanout` (about a minute).

use e2e::{TENANT, World, alert_event, card_of, verbs};
use serde_json::json;
use std::collections::HashMap;
use std::time::{Duration, Instant};

const CONVERSATIONS: usize = 200;
const UPDATES: [(&str, &str); 5] = [
    ("alert-assigned", "PENDING"),
    ("alert-comment-added", "PENDING"),
    ("alert-auto-escalated", "PENDING"),
    ("alert-acknowledged", "ACCEPTED"),
    ("alert-resolved", "RESOLVED"),
];

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(run());
}

async fn run() {
    let world = World::start().await;
    let (connection, secret) = world.connect(TENANT).await;
    let channels: Vec<String> = (0..CONVERSATIONS).map(|i| format!("19:fanout{i:03}@thread.tacv2")).collect();
    for channel in &channels {
        world.install_channel(TENANT, channel).await;
        world.route(&connection, json!({ "conversationId": channel })).await;
    }

    let started = Instant::now();
    let mut events = vec![alert_event("31337", "alert-created", "PENDING", 0, "fan-0")];
    for (i, (event_type, status)) in UPDATES.iter().enumerate() {
        let mut e = alert_event("31337", event_type, status, i as u32 + 1, &format!("fan-{}", i + 1));
        if *event_type == "alert-comment-added" {
            e["comment"] = json!("Investigating");
        }
        events.push(e);
    }
    for event in &events {
        let (status, body) = world.webhook(&connection, &secret, event).await;
        assert!(status.is_success(), "{status} {body}");
    }
    world.settle(Duration::from_secs(600)).await;
    let wall = started.elapsed();

    // Count what Teams received.
    let (mut lost, mut duplicated, mut writes) = (0usize, 0usize, 0usize);
    for channel in &channels {
        let activities = world.connector.activities_in(channel);
        let cards: Vec<_> = activities.iter().filter(|a| a.activity["attachments"].is_array()).collect();
        match cards.len() {
            0 => lost += 1 + UPDATES.len(),
            1 => {}
            n => duplicated += n - 1,
        }
        if let Some(card) = cards.first() {
            if verbs(&card_of(&card.activity)).contains(&"resolve".to_string()) {
                lost += 1; // the final state never reached this card
            }
            writes += card.versions.len();
        }
        let mut seen: HashMap<String, usize> = HashMap::new();
        for reply in activities.iter().filter(|a| a.activity["text"].is_string()) {
            *seen.entry(reply.activity["text"].as_str().unwrap().to_owned()).or_default() += 1;
            writes += 1;
        }
        lost += UPDATES.len().saturating_sub(seen.len());
        duplicated += seen.values().map(|n| n - 1).sum::<usize>();
    }
    let throttled = world.connector.requests().iter().filter(|r| r.status == 429).count();
    // Teams allows 50 writes per second per tenant; that is the binding limit for 200 conversations.
    let minimum = Duration::from_secs_f64(writes as f64 / 50.0);
    let nominal = CONVERSATIONS * (1 + 2 * UPDATES.len());
    println!("fanout: {CONVERSATIONS} conversations x (1 card + {} updates)", UPDATES.len());
    println!(
        "fanout: writes to Teams      {writes} (nominal {nominal}: updates that a later one superseded are skipped)"
    );
    println!("fanout: wall time            {:.1} s", wall.as_secs_f64());
    println!("fanout: minimum under limits {:.1} s (50 writes/s per tenant)", minimum.as_secs_f64());
    println!("fanout: 429s absorbed        {throttled}");
    println!("fanout: lost messages        {lost}");
    println!("fanout: duplicated messages  {duplicated}");
    assert_eq!(lost + duplicated, 0, "every message delivered exactly once");
}
