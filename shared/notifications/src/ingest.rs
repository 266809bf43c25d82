//! ilert's webhook body → a domain alert event.

use chrono::Utc;
use domain::AlertId;
use domain::alerts::AlertEvent;
use domain::model::{AlertEventKind, AlertFacts, AlertStatus, Priority};
use ilert::{WebhookEvent, WebhookEventType};

/// What became of a delivery we do not act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ignored {
    /// An event type we do not post (recorded in the logs with its name).
    EventType(String),
}

/// The product's meaning of an ilert event type, if it has one.
pub fn kind_of(event_type: &WebhookEventType) -> Option<AlertEventKind> {
    use WebhookEventType as T;
    Some(match event_type {
        T::AlertCreated | T::AlertRaised => AlertEventKind::Created,
        T::AlertAcknowledged => AlertEventKind::Accepted,
        T::AlertAssigned => AlertEventKind::Assigned,
        T::AlertAutoEscalated | T::AlertEscalationEnded => AlertEventKind::Escalated,
        T::AlertResolved | T::AlertAutoResolved => AlertEventKind::Resolved,
        T::AlertCommentAdded => AlertEventKind::Comment,
        T::AlertResponderAdded => AlertEventKind::ResponderAdded,
        _ => return None,
    })
}

fn status_of(hook: &WebhookEvent, kind: AlertEventKind) -> Option<AlertStatus> {
    use ilert::AlertStatus as S;
    match &hook.status {
        Some(S::Pending) => Some(AlertStatus::Pending),
        Some(S::Accepted) => Some(AlertStatus::Accepted),
        Some(S::Resolved) => Some(AlertStatus::Resolved),
        // No (or an unknown) status: what the event itself implies.
        _ => match kind {
            AlertEventKind::Accepted => Some(AlertStatus::Accepted),
            AlertEventKind::Resolved => Some(AlertStatus::Resolved),
            AlertEventKind::Created => Some(AlertStatus::Pending),
            _ => None,
        },
    }
}

fn actor_of(hook: &WebhookEvent, kind: AlertEventKind) -> Option<String> {
    use ilert::ResponderStatus;
    let accepted = hook.responders.iter().find(|r| matches!(r.status, Some(ResponderStatus::Accepted)));
    let names = || {
        let all: Vec<String> =
            hook.responders.iter().map(|r| r.user.display_name()).filter(|n| !n.is_empty()).collect();
        (!all.is_empty()).then(|| all.join(", "))
    };
    let legacy = || {
        hook.assigned_to.as_ref().and_then(|a| {
            let name = format!("{} {}", a.first_name.as_deref().unwrap_or(""), a.last_name.as_deref().unwrap_or(""));
            let name = name.trim().to_owned();
            if name.is_empty() { a.username.clone().or_else(|| a.email.clone()) } else { Some(name) }
        })
    };
    match kind {
        AlertEventKind::Accepted => accepted.map(|r| r.user.display_name()).or_else(legacy),
        AlertEventKind::Assigned | AlertEventKind::Escalated => names().or_else(legacy),
        AlertEventKind::ResponderAdded => hook.responders.last().map(|r| r.user.display_name()),
        _ => None,
    }
}

/// Normalises a parsed webhook. `raw` is the body as received, kept as the alert's snapshot
/// so the card shows every field ilert sent, including ones this code does not model.
pub fn normalize(hook: &WebhookEvent, raw: serde_json::Value) -> Result<AlertEvent, Ignored> {
    let kind = kind_of(&hook.event_type).ok_or_else(|| Ignored::EventType(hook.event_type.to_string()))?;
    let alert_id = AlertId::parse(hook.id.trim()).map_err(|_| Ignored::EventType(hook.event_type.to_string()))?;
    let priority = match &hook.priority {
        Some(ilert::Priority::High) => Some(Priority::High),
        Some(ilert::Priority::Low) => Some(Priority::Low),
        _ => None,
    };
    Ok(AlertEvent {
        key: hook.dedup_key(),
        kind,
        alert_id,
        occurred_at: hook
            .timestamp
            .or(hook.resolved_on.filter(|_| kind == AlertEventKind::Resolved))
            .or(hook.report_time)
            .unwrap_or_else(Utc::now),
        status: status_of(hook, kind),
        facts: AlertFacts {
            alert_source_id: hook.alert_source.as_ref().map(|s| s.id),
            escalation_policy_id: hook.escalation_policy.as_ref().map(|p| p.id),
            priority,
        },
        snapshot: raw,
        actor: actor_of(hook, kind),
        comment: hook.comment.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(json: serde_json::Value) -> (WebhookEvent, serde_json::Value) {
        (ilert::parse_webhook(json.to_string().as_bytes()).unwrap(), json)
    }

    #[test]
    fn an_acknowledgement_is_an_acceptance_by_the_accepting_responder() {
        let (h, raw) = hook(serde_json::json!({
            "id": "2983781", "eventType": "alert-acknowledged", "status": "ACCEPTED", "priority": "HIGH",
            "eventId": "6f1c2a8e-1111-4222-8333-944455556666", "timestamp": "2026-12-03T10:00:00.123456789Z",
            "alertSource": { "id": 7, "name": "Grafana" }, "escalationPolicy": { "id": 9, "name": "Ops" },
            "responders": [
                { "user": { "id": 1, "firstName": "Max", "lastName": "Mustermann" }, "status": "PENDING" },
                { "user": { "id": 2, "firstName": "Jane", "lastName": "Doe" }, "status": "ACCEPTED" }
            ]
        }));
        let e = normalize(&h, raw).unwrap();
        assert_eq!(e.kind, AlertEventKind::Accepted);
        assert_eq!(e.status, Some(AlertStatus::Accepted));
        assert_eq!(e.actor.as_deref(), Some("Jane Doe"));
        assert_eq!(e.key, "6f1c2a8e-1111-4222-8333-944455556666");
        assert_eq!(
            e.facts,
            AlertFacts { alert_source_id: Some(7), escalation_policy_id: Some(9), priority: Some(Priority::High) }
        );
        assert_eq!(e.snapshot["alertSource"]["name"], "Grafana");
    }

    #[test]
    fn types_we_do_not_post_are_ignored_by_name() {
        let (h, raw) = hook(serde_json::json!({ "id": "1", "eventType": "alert-snoozed" }));
        assert_eq!(normalize(&h, raw), Err(Ignored::EventType("alert-snoozed".into())));
        let (h, raw) = hook(serde_json::json!({ "id": "1", "eventType": "alert-responder-removed" }));
        assert!(normalize(&h, raw).is_err());
    }

    #[test]
    fn legacy_incident_events_still_work() {
        let (h, raw) = hook(serde_json::json!({ "id": "5", "eventType": "incident-resolved" }));
        let e = normalize(&h, raw).unwrap();
        assert_eq!(e.kind, AlertEventKind::Resolved);
        assert_eq!(e.status, Some(AlertStatus::Resolved));
        assert!(e.key.starts_with("sha256:"));
    }
}
