//! Every ilert sample in the shared reference fixtures parses into its type. A new fixture
//! without a mapping here fails the test, so none is skipped silently.

use ilert::{Alert, AlertAction, AlertActionTrigger, Event, OnCall};
use serde_json::Value;
use std::path::PathBuf;

fn fixtures_dir() -> PathBuf {
    let root = std::env::var_os("REFERENCE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures")));
    let dir = root.join("ilert");
    assert!(
        dir.is_dir(),
        "reference fixtures missing: {} (set REFERENCE_FIXTURES to the fixtures folder)",
        dir.display()
    );
    dir
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

fn parse_as<T: serde::de::DeserializeOwned>(name: &str, value: Value) {
    if let Err(e) = serde_json::from_value::<T>(value) {
        panic!("{name} does not parse as {}: {e}", std::any::type_name::<T>());
    }
}

#[test]
fn every_ilert_fixture_parses_into_its_type() {
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(fixtures_dir()).expect("read the fixtures folder") {
        let path = entry.expect("list the fixtures folder").path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("read {name}: {e}"));
        let mut value: Value = serde_json::from_slice(&raw).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"));
        strip_notes(&mut value);
        match name.as_str() {
            n if n.starts_with("webhook-payload") => {
                let event = ilert::parse_webhook(value.to_string().as_bytes())
                    .unwrap_or_else(|e| panic!("{name} is not a webhook payload: {e}"));
                assert!(!event.dedup_key().is_empty());
            }
            n if n.starts_with("alert-action-trigger") => parse_as::<AlertActionTrigger>(n, value),
            n if n.starts_with("alert-action-") => parse_as::<AlertAction>(n, value),
            n if n.starts_with("alert.") => parse_as::<Alert>(n, value),
            n if n.starts_with("on-calls") => parse_as::<Vec<OnCall>>(n, value),
            n if n.starts_with("events-api-") => parse_as::<Event>(n, value),
            other => panic!("no type is mapped to the ilert fixture {other}; add one to this test"),
        }
        seen.push(name);
    }
    assert!(seen.len() >= 8, "expected the ilert fixtures, found only {seen:?}");
}

#[test]
fn fixture_values_read_as_expected() {
    let read = |name: &str| -> Value {
        let raw = std::fs::read(fixtures_dir().join(name)).unwrap_or_else(|e| panic!("read {name}: {e}"));
        let mut value = serde_json::from_slice(&raw).unwrap();
        strip_notes(&mut value);
        value
    };

    let alert: Alert = serde_json::from_value(read("alert.schema-derived.json")).unwrap();
    assert_eq!(alert.id, 4160228);
    assert_eq!(alert.status, ilert::AlertStatus::Pending);
    assert_eq!(alert.alert_source.as_ref().map(|s| s.name.as_str()), Some("Test API Source"));
    assert_eq!(alert.responders[0].user.display_name(), "Gunter Meier");
    assert_eq!(alert.resolved_on, None);

    let on_calls: Vec<OnCall> = serde_json::from_value(read("on-calls.schema-derived.json")).unwrap();
    assert_eq!(on_calls[0].user.email, "ada@example.com");
    assert_eq!(on_calls[0].escalation_level, Some(1));
    assert_eq!(on_calls[0].schedule.as_ref().map(|s| s.name.as_str()), Some("Nachtdienst"));

    let comment: Event = serde_json::from_value(read("events-api-comment.json")).unwrap();
    assert_eq!(comment.event_type, ilert::EventType::Comment);
    assert_eq!(comment.comments[0].creator, "Peter Parker");
    // The integration key survives a round trip but never prints.
    assert!(!format!("{comment:?}").contains("8972f0d5d8c9cde78d79b6cc8fd"));
    assert_eq!(serde_json::to_value(&comment).unwrap()["integrationKey"], "8972f0d5d8c9cde78d79b6cc8fd");

    let legacy = ilert::parse_webhook(read("webhook-payload-docs-sample.json").to_string().as_bytes()).unwrap();
    assert_eq!(legacy.event_type, ilert::WebhookEventType::AlertAcknowledged);
    assert_eq!(legacy.assigned_to.and_then(|a| a.username).as_deref(), Some("abr"));

    let action: AlertAction = serde_json::from_value(read("alert-action-custom-webhook.schema-derived.json")).unwrap();
    assert_eq!(action.connector_type, "webhook");
    assert!(action.trigger_types.contains(&ilert::WebhookEventType::AlertChannelDetached));
    assert!(!format!("{action:?}").contains("secret@"), "alert action params must not print");
}
