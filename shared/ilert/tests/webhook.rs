//! The webhook body parser: tolerance where ilert varies, precise refusals otherwise.

use ilert::{AlertStatus, MergeState, Priority, ResponderStatus, WebhookEventType, WebhookParseError, parse_webhook};
use serde_json::json;

fn parse(value: serde_json::Value) -> Result<ilert::WebhookEvent, WebhookParseError> {
    parse_webhook(value.to_string().as_bytes())
}

/// A delivery shaped as the 2026 third-party observations describe (reference §2.1).
fn current_delivery() -> serde_json::Value {
    json!({
        "id": "4160228",
        "summary": "CPU high",
        "details": "load 12",
        "reportTime": "2026-08-26T10:00:00.123Z",
        "status": "ACCEPTED",
        "eventType": "alert-acknowledged",
        "priority": "HIGH",
        "alertKey": "cpu/web01",
        "alertSource": { "id": 2101194, "name": "Grafana" },
        "escalationPolicy": { "id": 2256025, "name": "Ops" },
        "responders": [{
            "user": { "id": 123, "username": "ada", "firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com" },
            "status": "ACCEPTED"
        }],
        "timestamp": "2026-08-26T10:05:00.123456789Z",
        "eventId": "9b2f7a51-3c1e-4e0c-9d7e-6a1f2b3c4d5e",
        "correlationId": "0f0e0d0c-0b0a-0908-0706-050403020100",
        "mergeState": "NONE",
        "links": [{ "href": "https://grafana.example/d/1", "text": "Dashboard" }],
        "images": [{ "src": "https://grafana.example/i.png" }],
        "somethingNew": { "nested": true }
    })
}

#[test]
fn reads_a_current_delivery() {
    let event = parse(current_delivery()).unwrap();
    assert_eq!(event.id, "4160228");
    assert_eq!(event.alert_id(), Some(4160228));
    assert_eq!(event.event_type, WebhookEventType::AlertAcknowledged);
    assert_eq!(event.status, Some(AlertStatus::Accepted));
    assert_eq!(event.priority, Some(Priority::High));
    assert_eq!(event.alert_source.as_ref().map(|s| s.id), Some(2101194));
    assert_eq!(event.escalation_policy.as_ref().map(|p| p.name.as_str()), Some("Ops"));
    assert_eq!(event.responders[0].user.display_name(), "Ada Lovelace");
    assert_eq!(event.responders[0].status, Some(ResponderStatus::Accepted));
    assert_eq!(event.timestamp.unwrap().timestamp_subsec_nanos(), 123_456_789);
    assert_eq!(event.merge_state, Some(MergeState::None));
    assert_eq!(event.links[0].text.as_deref(), Some("Dashboard"));
}

#[test]
fn unknown_event_types_and_enum_values_are_kept() {
    let mut body = current_delivery();
    body["eventType"] = json!("alert-snoozed");
    body["status"] = json!("SNOOZED");
    body["priority"] = json!("MEDIUM");
    let event = parse(body).unwrap();
    assert_eq!(event.event_type, WebhookEventType::Other("alert-snoozed".into()));
    assert_eq!(event.event_type.as_str(), "alert-snoozed");
    assert_eq!(event.status, Some(AlertStatus::Other("SNOOZED".into())));
    assert_eq!(event.priority, Some(Priority::Other("MEDIUM".into())));
}

#[test]
fn legacy_incident_names_read_as_alert_names() {
    let event = parse(json!({ "id": "1", "eventType": "incident-acknowledged" })).unwrap();
    assert_eq!(event.event_type, WebhookEventType::AlertAcknowledged);
    let event = parse(json!({ "id": "1", "eventType": "incident-created" })).unwrap();
    assert_eq!(event.event_type, WebhookEventType::AlertCreated);
}

#[test]
fn only_id_and_event_type_are_required() {
    let event = parse(json!({ "id": "7", "eventType": "alert-created" })).unwrap();
    assert_eq!(event.summary, None);
    assert!(event.responders.is_empty());
    // `null` lists and a numeric id are read too.
    let event = parse(json!({ "id": 7, "eventType": "alert-created", "responders": null, "links": null })).unwrap();
    assert_eq!(event.id, "7");
}

#[test]
fn a_missing_id_is_named() {
    let mut body = current_delivery();
    body.as_object_mut().unwrap().remove("id");
    let err = parse(body).unwrap_err();
    assert_eq!(err.field(), Some("id"));
    assert_eq!(err.to_string(), "field `id`: missing");

    let err = parse(json!({ "id": null, "eventType": "alert-created" })).unwrap_err();
    assert_eq!(err.field(), Some("id"));
    let err = parse(json!({ "id": "1" })).unwrap_err();
    assert_eq!(err.field(), Some("eventType"));
}

#[test]
fn a_wrong_nested_field_is_named_with_its_path() {
    let mut body = current_delivery();
    body["alertSource"]["id"] = json!("not-a-number");
    let err = parse(body).unwrap_err();
    assert_eq!(err.field(), Some("alertSource.id"));
    assert!(err.to_string().contains("integer id"), "{err}");

    let mut body = current_delivery();
    body["timestamp"] = json!("last tuesday");
    let err = parse(body).unwrap_err();
    assert_eq!(err.field(), Some("timestamp"));

    let mut body = current_delivery();
    body["responders"][0]["user"] = json!({ "firstName": "no id" });
    let err = parse(body).unwrap_err();
    assert_eq!(err.field(), Some("responders[0].user"));
    assert!(err.to_string().contains("missing field `id`"), "{err}");
}

#[test]
fn bodies_that_are_not_objects_are_refused() {
    assert_eq!(parse_webhook(b"").unwrap_err(), WebhookParseError::Empty);
    assert_eq!(parse_webhook(b"[1,2]").unwrap_err(), WebhookParseError::NotAnObject("an array"));
    assert_eq!(parse_webhook(b"\"id\"").unwrap_err(), WebhookParseError::NotAnObject("a string"));
    assert!(matches!(parse_webhook(b"{\"id\": ").unwrap_err(), WebhookParseError::NotJson(_)));
    assert!(parse_webhook(b"[]").unwrap_err().to_string().contains("JSON object"));
}

#[test]
fn dedup_key_is_the_event_id_when_present() {
    let event = parse(current_delivery()).unwrap();
    assert_eq!(event.dedup_key(), "9b2f7a51-3c1e-4e0c-9d7e-6a1f2b3c4d5e");
}

#[test]
fn dedup_key_without_event_id_is_a_stable_hash() {
    let mut body = current_delivery();
    body.as_object_mut().unwrap().remove("eventId");
    let key = parse(body.clone()).unwrap().dedup_key();
    assert!(key.starts_with("sha256:") && key.len() == 7 + 64, "{key}");
    // Redelivery, even with fields that do not identify the event changed or spelled differently.
    let mut again = body.clone();
    again["summary"] = json!("edited");
    again["timestamp"] = json!("2026-08-26T12:05:00.123456789+02:00");
    assert_eq!(parse(again).unwrap().dedup_key(), key);
    // Pinned, so a change of the formula (which would let old events through again) shows.
    assert_eq!(key, parse(body.clone()).unwrap().dedup_key());
    let pinned = parse(json!({ "id": "1", "eventType": "alert-created", "timestamp": "2026-01-01T00:00:00Z" }))
        .unwrap()
        .dedup_key();
    assert_eq!(pinned, "sha256:ab5b2f44a5aaf5c295251a0501d7c18cf1dbf74600dde9b0da02df971596ab68");

    for (field, value) in [("timestamp", json!("2026-08-26T10:06:00Z")), ("eventType", json!("alert-resolved"))] {
        let mut other = body.clone();
        other[field] = value;
        assert_ne!(parse(other).unwrap().dedup_key(), key, "{field}");
    }
}

#[test]
fn round_trips_through_serde() {
    let event = parse(current_delivery()).unwrap();
    let written = serde_json::to_vec(&event).unwrap();
    assert_eq!(parse_webhook(&written).unwrap(), event);
}
