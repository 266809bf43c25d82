//! The jobs on the notifications queue. Both kinds share one FIFO queue: events are grouped
//! per alert (so one alert's events apply in order), deliveries per conversation (so a card
//! exists before it is updated and Teams' per-conversation limits are respected).

use domain::alerts::AlertEvent;
use domain::queue::OutgoingMessage;
use domain::{AlertId, ConnectionId, ConversationId, TenantId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum NotificationJob {
    Event(EventJob),
    Delivery(Delivery),
}

/// An accepted ilert event, to apply and fan out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventJob {
    pub connection_id: ConnectionId,
    pub event: AlertEvent,
}

/// Bring one alert's card in one conversation up to date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub connection_id: ConnectionId,
    pub tenant_id: TenantId,
    pub alert_id: AlertId,
    pub conversation_id: ConversationId,
    /// The event that caused it; with the conversation, the key of its thread reply.
    pub event_key: String,
    /// Whether this event may open the card's thread if there is none yet.
    pub may_create: bool,
    /// The line to post under the card, if this event posts one here.
    pub reply: Option<String>,
}

impl NotificationJob {
    pub fn message(&self) -> OutgoingMessage {
        let body = serde_json::to_string(self).unwrap_or_default();
        match self {
            NotificationJob::Event(e) => OutgoingMessage::new(body)
                .in_group(format!("alert:{}:{}", e.connection_id, e.event.alert_id))
                .dedup(dedup_id(&format!("event:{}:{}", e.connection_id, e.event.key))),
            NotificationJob::Delivery(d) => OutgoingMessage::new(body)
                .in_group(format!("conversation:{}", d.conversation_id))
                .dedup(dedup_id(&format!("delivery:{}:{}:{}", d.connection_id, d.event_key, d.conversation_id))),
        }
    }
}

/// SQS de-duplication ids are at most 128 characters of `[!-~]`; longer keys are hashed down.
fn dedup_id(key: &str) -> String {
    use sha2::Digest;
    let printable: String = key.chars().filter(|c| ('!'..='~').contains(c)).collect();
    if printable.len() == key.len() && printable.len() <= 128 {
        return printable;
    }
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(key.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_ids_fit_sqs() {
        let long = "x".repeat(500);
        let id = dedup_id(&long);
        assert!(id.len() <= 128);
        assert_ne!(dedup_id(&format!("{long}a")), dedup_id(&format!("{long}b")));
        assert_eq!(dedup_id("delivery:c:e:19:a@thread.tacv2"), "delivery:c:e:19:a@thread.tacv2");
    }
}
