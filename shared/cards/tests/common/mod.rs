//! Inputs shared by the integration tests and the `dump_cards` example (which feeds the Node
//! validation): the ilert fixtures, a full context, and a deliberately huge alert.
#![allow(dead_code)] // Each user of this module needs a different part of it.

use cards::{AlertView, CardContext, Choice, Link, Notice, Refresh, render_alert_card, render_notice_card};
use serde_json::{Value, json};
use std::path::PathBuf;

/// The shared reference fixtures (`REFERENCE_FIXTURES` overrides the default beside the checkout).
pub fn fixtures_dir() -> PathBuf {
    let root = std::env::var_os("REFERENCE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures")));
    assert!(root.is_dir(), "reference fixtures missing: {} (set REFERENCE_FIXTURES)", root.display());
    root
}

/// Drops the `_note…` annotation keys at any depth.
fn strip_notes(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|key, _| !key.starts_with("_note"));
            map.values_mut().for_each(strip_notes);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_notes),
        _ => {}
    }
}

/// A fixture file as JSON, annotations removed.
pub fn fixture(relative: &str) -> Value {
    let path = fixtures_dir().join(relative);
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut value: Value = serde_json::from_slice(&raw).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()));
    strip_notes(&mut value);
    value
}

/// The docs sample webhook payload (accepted, legacy `assignedTo`).
pub fn docs_sample() -> AlertView {
    AlertView::from_json(&fixture("ilert/webhook-payload-docs-sample.json")).expect("docs sample is an alert")
}

/// The alert derived from ilert's schema (pending, one responder, one link).
pub fn schema_derived() -> AlertView {
    AlertView::from_json(&fixture("ilert/alert.schema-derived.json")).expect("schema-derived fixture is an alert")
}

/// A context with everything set except linked resources.
pub fn full_ctx(alert_id: &str) -> CardContext {
    let mut action_data = serde_json::Map::new();
    action_data.insert("connection".into(), json!("conn-7f3a"));
    CardContext {
        alert_url: Some(format!("https://acme.ilert.com/alert/view?id={alert_id}")),
        reassign_users: vec![Choice::new("123", "Gunter Meier"), Choice::new("124", "Ana Lopez")],
        reassign_policies: vec![Choice::new("2256025", "Default")],
        refresh: Refresh::Users(vec!["29:1a-gunter".into(), "29:1b-ana".into()]),
        action_data,
        ..CardContext::default()
    }
}

/// Teams links as Graph returns them (long, percent-encoded).
pub fn channel_link() -> Link {
    Link::new(
        "test_api_source_alert_4160228",
        "https://teams.microsoft.com/l/channel/19%3a4a95f7d8db4c4e7fae857bcebe0623e6%40thread.tacv2/test_api_source_alert_4160228?groupId=02bd9fd6-8f93-4758-87c3-1fb73740a315&tenantId=72f988bf-86f1-41af-91ab-2d7cd011db47",
    )
}

/// 100 responders, 50 KB of details, 200 links, 200 images, 200 + 200 reassign choices and 60
/// refresh ids of realistic length.
pub fn huge() -> (AlertView, CardContext) {
    let responders: Vec<Value> = (0..100)
        .map(|i| {
            json!({
                "user": {"id": 1000 + i, "firstName": format!("Firstname{i}"), "lastName": format!("Lastname-with-length-{i}"),
                         "email": format!("user{i}@example.com"), "username": format!("user{i}")},
                "status": if i % 3 == 0 { "ACCEPTED" } else { "PENDING" },
                "acceptedAt": if i % 3 == 0 { json!("2023-08-09T12:00:00Z") } else { Value::Null }
            })
        })
        .collect();
    let details: String =
        (0..1000).map(|i| format!("{i:04} log line with some text, ok=false, retry=3 \"x\"\n")).collect();
    assert!(details.len() >= 50_000);
    let links: Vec<Value> = (0..200)
        .map(|i| json!({"href": format!("https://grafana.example.com/d/abc/dashboard-{i}?orgId=1&from=now-6h&to=now&var-host=app{i}"), "text": format!("Grafana dashboard number {i} for host app{i}")}))
        .collect();
    let images: Vec<Value> = (0..200)
        .map(|i| json!({"src": format!("https://grafana.example.com/render/d-solo/abc/panel-{i}.png?width=1000&height=500"), "href": format!("https://grafana.example.com/d/abc?panel={i}"), "alt": format!("Panel {i}")}))
        .collect();
    let alert = AlertView::from_json(&json!({
        "id": "4160228",
        "status": "PENDING",
        "priority": "HIGH",
        "summary": "S".repeat(5000),
        "details": details,
        "alertSource": {"id": 1, "name": "N".repeat(500)},
        "escalationPolicy": {"id": 2, "name": "P".repeat(500)},
        "responders": responders,
        "links": links,
        "images": images,
        "reportTime": "2023-08-09T11:55:00.000Z",
    }))
    .expect("huge alert parses");
    let mut ctx = full_ctx("4160228");
    ctx.reassign_users =
        (0..200).map(|i| Choice::new(format!("{}", 5000 + i), format!("Reassign user with a long name {i}"))).collect();
    ctx.reassign_policies =
        (0..200).map(|i| Choice::new(format!("{}", 9000 + i), format!("Escalation policy {i}"))).collect();
    ctx.refresh = Refresh::Users(
        (0..100)
            .map(|i| {
                format!("29:1{i:03}xLgHnDbS7ydWkVWG5QAqIUXRMKQzm4lXoVQdcRzzyPbiOMsVsdu5pJvEgqaDCN8zMNnfAl_TgQkTDGt")
            })
            .collect(),
    );
    ctx.notice = Some(Notice::error("E".repeat(2000)));
    (alert, ctx)
}

/// Named cards covering every shape the renderer produces, for validation outside Rust.
pub fn sample_cards() -> Vec<(&'static str, Value)> {
    let docs = docs_sample();
    let derived = schema_derived();
    let mut resolved = derived.clone();
    resolved.status = Some(cards::AlertStatus::Resolved);
    resolved.resolved_on = derived.report_time;
    let mut linked = full_ctx(&derived.id);
    linked.channel = Some(channel_link());
    linked.meeting = Some(Link::new(
        "Alert 4160228 bridge",
        "https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc%40thread.v2/0",
    ));
    linked.notice = Some(Notice::info("Creating the chat…"));
    let mut long = derived.clone();
    long.details = Some((0..40).map(|i| format!("line {i}: something happened\n")).collect());
    let (huge_alert, huge_ctx) = huge();
    vec![
        ("docs-sample", render_alert_card(&docs, &full_ctx(&docs.id))),
        ("schema-derived", render_alert_card(&derived, &full_ctx(&derived.id))),
        ("schema-derived-linked", render_alert_card(&derived, &linked)),
        ("schema-derived-resolved", render_alert_card(&resolved, &full_ctx(&derived.id))),
        ("long-details", render_alert_card(&long, &CardContext::default())),
        ("huge", render_alert_card(&huge_alert, &huge_ctx)),
        ("notice", render_notice_card("Creating the channel", "This takes a few seconds…")),
    ]
}
