//! The body ilert POSTs to a custom webhook alert action (reference §2.1, §2.2). What is
//! known of it comes from an old documentation sample and a third party's observations, so
//! everything but `id` and `eventType` is optional and unknown fields and values are kept
//! out of the way rather than refused.

use crate::model::{AlertStatus, Image, Link, NamedRef, Priority, Responder};
use crate::wire::{self, open_enum};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::de::Deserializer;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

open_enum! {
    /// `eventType` of a webhook delivery; the same names are an alert action's
    /// `triggerTypes`. Legacy `incident-…` names read as their `alert-…` twins.
    pub enum WebhookEventType {
        AlertCreated = "alert-created" | "incident-created",
        /// The alert was accepted (ilert has no `alert-accepted`).
        AlertAcknowledged = "alert-acknowledged" | "incident-acknowledged",
        /// Reassigned by hand.
        AlertAssigned = "alert-assigned" | "incident-assigned",
        AlertAutoEscalated = "alert-auto-escalated" | "incident-auto-escalated",
        AlertResolved = "alert-resolved" | "incident-resolved",
        AlertAutoResolved = "alert-auto-resolved" | "incident-auto-resolved",
        AlertCommentAdded = "alert-comment-added" | "incident-comment-added",
        AlertResponderAdded = "alert-responder-added",
        AlertResponderRemoved = "alert-responder-removed",
        AlertRaised = "alert-raised" | "incident-raised",
        AlertEscalationEnded = "alert-escalation-ended",
        AlertChannelAttached = "alert-channel-attached",
        AlertChannelDetached = "alert-channel-detached",
    }
}

open_enum! {
    /// `mergeState` of the alert.
    pub enum MergeState {
        None = "NONE",
        Main = "MAIN",
        Merged = "MERGED",
    }
}

/// The legacy single assignee (`assignedTo`), which carries no id.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignedUser {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
}

/// One webhook delivery: the alert's state after an event, and the event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEvent {
    /// The alert id, sent as a string (the REST API's number, in decimal).
    #[serde(deserialize_with = "wire::id_string")]
    pub id: String,
    pub event_type: WebhookEventType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    #[serde(default, deserialize_with = "wire::timestamp", skip_serializing_if = "Option::is_none")]
    pub report_time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<AlertStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_source: Option<NamedRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation_policy: Option<NamedRef>,
    #[serde(default, deserialize_with = "wire::list", skip_serializing_if = "Vec::is_empty")]
    pub responders: Vec<Responder>,
    /// Deprecated by ilert in favour of `responders`; still in old deliveries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_to: Option<AssignedUser>,
    /// When the event happened (up to nanosecond precision).
    #[serde(default, deserialize_with = "wire::timestamp", skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<Utc>>,
    /// Unique per event, the same on redelivery: the de-duplication key when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// The comment text of `alert-comment-added`.
    #[serde(default, deserialize_with = "comment_text", skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, deserialize_with = "wire::list", skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    #[serde(default, deserialize_with = "wire::list", skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<Image>,
    #[serde(default, deserialize_with = "wire::timestamp", skip_serializing_if = "Option::is_none")]
    pub resolved_on: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge_state: Option<MergeState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_details: Option<Value>,
}

impl WebhookEvent {
    /// The alert id as the REST API's number, if it is one.
    pub fn alert_id(&self) -> Option<i64> {
        self.id.parse().ok()
    }

    /// The same for every delivery of one event: ilert's `eventId` when it sent one, else
    /// `sha256:` and the hex SHA-256 of alert id, event type and event time. Deliveries
    /// without `eventId` or `timestamp` (legacy ones) therefore collapse per alert and type.
    pub fn dedup_key(&self) -> String {
        if let Some(event_id) = self.event_id.as_deref().map(str::trim).filter(|id| !id.is_empty()) {
            return event_id.to_owned();
        }
        // Formatted from the parsed time, so `…Z` and `…+00:00` spellings agree.
        let time = self.timestamp.map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true)).unwrap_or_default();
        let digest = Sha256::digest(format!("{}\n{}\n{}", self.id, self.event_type, time));
        let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
        format!("sha256:{hex}")
    }
}

/// Why a webhook body was refused, worded for a 400 answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookParseError {
    #[error("the body is empty")]
    Empty,
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    #[error("the body must be a JSON object, not {0}")]
    NotAnObject(&'static str),
    /// `field` is a path such as `alertSource.id` or `responders[0].user.id`.
    #[error("field `{field}`: {reason}")]
    Field { field: String, reason: String },
}

impl WebhookParseError {
    /// The offending field, when one is to blame.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Field { field, .. } => Some(field),
            _ => None,
        }
    }
}

/// Reads a webhook delivery body.
pub fn parse_webhook(body: &[u8]) -> Result<WebhookEvent, WebhookParseError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(WebhookParseError::Empty);
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| WebhookParseError::NotJson(e.to_string()))?;
    let Value::Object(object) = value else {
        return Err(WebhookParseError::NotAnObject(wire::kind(&value)));
    };
    for required in ["id", "eventType"] {
        if object.get(required).is_none_or(Value::is_null) {
            return Err(WebhookParseError::Field { field: required.to_owned(), reason: "missing".to_owned() });
        }
    }
    serde_path_to_error::deserialize(Value::Object(object))
        .map_err(|e| WebhookParseError::Field { field: e.path().to_string(), reason: e.inner().to_string() })
}

/// `comment` as text; an object form (`{"content": …}`, as in ilert's comment model) is
/// read for its content.
fn comment_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(text) => Some(text),
        Value::Object(mut object) => match object.remove("content") {
            Some(Value::String(text)) => Some(text),
            _ => None,
        },
        _ => None,
    })
}
