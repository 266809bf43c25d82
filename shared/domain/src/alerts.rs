//! The rules of alert events: what an event means for the alert we keep (state only moves
//! forward, whatever order events arrive in) and the one-line thread reply it earns.

use crate::ids::{AlertId, ConnectionId};
use crate::model::{AlertEventKind, AlertFacts, AlertRecord, AlertStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// An ilert alert event, normalised from ilert's webhook by the adapter that received it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertEvent {
    /// De-duplication key: ilert's `eventId`, or a hash of alert, type and time.
    pub key: String,
    pub kind: AlertEventKind,
    pub alert_id: AlertId,
    pub occurred_at: DateTime<Utc>,
    pub status: Option<AlertStatus>,
    pub facts: AlertFacts,
    /// The alert as the event describes it (ilert's JSON), for rendering.
    pub snapshot: serde_json::Value,
    /// Who acted or was acted on (acceptor, assignee, added responder, comment author).
    pub actor: Option<String>,
    pub comment: Option<String>,
}

fn rank(status: AlertStatus) -> u8 {
    match status {
        AlertStatus::Pending => 0,
        AlertStatus::Accepted => 1,
        AlertStatus::Resolved => 2,
    }
}

impl AlertRecord {
    /// The record of an alert first seen through `event`.
    pub fn first_seen(connection_id: ConnectionId, event: &AlertEvent) -> AlertRecord {
        AlertRecord {
            connection_id,
            alert_id: event.alert_id.clone(),
            status: event.status.unwrap_or(AlertStatus::Pending),
            last_event_at: event.occurred_at,
            snapshot: event.snapshot.clone(),
            channel: None,
            meeting: None,
            chat: None,
            version: 0,
        }
    }

    /// Applies `event` if it moves the alert forward: a later status always wins; at the same
    /// status, the newer event's picture wins. Returns whether the record changed. An older
    /// event (a late `alert-created` after `alert-resolved`) changes nothing.
    pub fn apply(&mut self, event: &AlertEvent) -> bool {
        let status = event.status.unwrap_or(self.status);
        let forward = rank(status) > rank(self.status)
            || (rank(status) == rank(self.status) && event.occurred_at >= self.last_event_at);
        if !forward {
            return false;
        }
        self.status = status;
        self.last_event_at = self.last_event_at.max(event.occurred_at);
        self.snapshot = event.snapshot.clone();
        true
    }
}

/// The line posted under the alert's card for this event; `None` for the creation, which the
/// card itself announces.
pub fn thread_reply(event: &AlertEvent) -> Option<String> {
    let by = |verb: &str| match &event.actor {
        Some(who) => format!("{verb} by {who}"),
        None => verb.to_owned(),
    };
    let to = |verb: &str| match &event.actor {
        Some(who) => format!("{verb} to {who}"),
        None => verb.to_owned(),
    };
    Some(match event.kind {
        AlertEventKind::Created => return None,
        AlertEventKind::Accepted => by("Accepted"),
        AlertEventKind::Resolved => by("Resolved"),
        AlertEventKind::Assigned => to("Assigned"),
        AlertEventKind::Escalated => to("Escalated"),
        AlertEventKind::ResponderAdded => match &event.actor {
            Some(who) => format!("{who} was added as a responder"),
            None => "A responder was added".to_owned(),
        },
        AlertEventKind::Comment => {
            let text = event.comment.as_deref().unwrap_or("").trim();
            match (&event.actor, text.is_empty()) {
                (Some(who), false) => format!("Comment from {who}: {text}"),
                (None, false) => format!("Comment: {text}"),
                (_, true) => return None,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn event(kind: AlertEventKind, status: AlertStatus, second: u32) -> AlertEvent {
        AlertEvent {
            key: format!("{kind:?}-{second}"),
            kind,
            alert_id: AlertId::parse("1").unwrap(),
            occurred_at: Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, second).unwrap(),
            status: Some(status),
            facts: AlertFacts { alert_source_id: None, escalation_policy_id: None, priority: None },
            snapshot: serde_json::json!({ "status": format!("{status:?}"), "second": second }),
            actor: Some("Jane Doe".into()),
            comment: None,
        }
    }

    #[test]
    fn state_only_moves_forward() {
        let created = event(AlertEventKind::Created, AlertStatus::Pending, 0);
        let mut record = AlertRecord::first_seen(ConnectionId::parse("c").unwrap(), &created);
        assert!(record.apply(&event(AlertEventKind::Resolved, AlertStatus::Resolved, 20)));
        assert_eq!(record.status, AlertStatus::Resolved);
        // Late arrivals of earlier events do not revert the card.
        assert!(!record.apply(&event(AlertEventKind::Created, AlertStatus::Pending, 1)));
        assert!(!record.apply(&event(AlertEventKind::Accepted, AlertStatus::Accepted, 10)));
        assert_eq!(record.status, AlertStatus::Resolved);
        assert_eq!(record.snapshot["second"], 20);
    }

    #[test]
    fn a_later_status_wins_even_with_an_earlier_clock() {
        let created = event(AlertEventKind::Created, AlertStatus::Pending, 30);
        let mut record = AlertRecord::first_seen(ConnectionId::parse("c").unwrap(), &created);
        assert!(record.apply(&event(AlertEventKind::Accepted, AlertStatus::Accepted, 29)));
        assert_eq!(record.status, AlertStatus::Accepted);
        assert_eq!(record.last_event_at.timestamp() % 60, 30);
    }

    #[test]
    fn same_status_takes_the_newer_picture() {
        let created = event(AlertEventKind::Created, AlertStatus::Pending, 0);
        let mut record = AlertRecord::first_seen(ConnectionId::parse("c").unwrap(), &created);
        assert!(record.apply(&event(AlertEventKind::Assigned, AlertStatus::Pending, 5)));
        assert_eq!(record.snapshot["second"], 5);
        assert!(!record.apply(&event(AlertEventKind::Escalated, AlertStatus::Pending, 4)));
        assert_eq!(record.snapshot["second"], 5);
    }

    #[test]
    fn replies_say_what_happened() {
        assert_eq!(thread_reply(&event(AlertEventKind::Created, AlertStatus::Pending, 0)), None);
        assert_eq!(
            thread_reply(&event(AlertEventKind::Accepted, AlertStatus::Accepted, 0)).unwrap(),
            "Accepted by Jane Doe"
        );
        assert_eq!(
            thread_reply(&event(AlertEventKind::Escalated, AlertStatus::Pending, 0)).unwrap(),
            "Escalated to Jane Doe"
        );
        let mut comment = event(AlertEventKind::Comment, AlertStatus::Pending, 0);
        comment.comment = Some("rebooting db-1".into());
        assert_eq!(thread_reply(&comment).unwrap(), "Comment from Jane Doe: rebooting db-1");
        comment.comment = None;
        assert_eq!(thread_reply(&comment), None);
    }
}
