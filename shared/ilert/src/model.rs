//! ilert's REST entities, as far as we read them (spec `components/schemas`). Unknown fields
//! are ignored, enums are open and `null` lists read as empty, so additions on ilert's side
//! do not break parsing.

use crate::wire::{self, open_enum};
use chrono::{DateTime, Utc};
use secrets::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::Value;

open_enum! {
    /// `Alert.status`.
    pub enum AlertStatus {
        Pending = "PENDING",
        Accepted = "ACCEPTED",
        Resolved = "RESOLVED",
    }
}

open_enum! {
    /// `AlertPriority`.
    pub enum Priority {
        High = "HIGH",
        Low = "LOW",
    }
}

open_enum! {
    /// `AlertResponder.status`.
    pub enum ResponderStatus {
        Pending = "PENDING",
        Accepted = "ACCEPTED",
    }
}

open_enum! {
    /// `Role` of a user.
    pub enum Role {
        Stakeholder = "STAKEHOLDER",
        Guest = "GUEST",
        Responder = "RESPONDER",
        User = "USER",
        Admin = "ADMIN",
    }
}

/// A reference to an entity by id with its display name (`alertSource`, `escalationPolicy`,
/// `schedule`, `team` inside other objects). The full object ilert may embed is not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedRef {
    #[serde(deserialize_with = "wire::id")]
    pub id: i64,
    #[serde(default, deserialize_with = "wire::text")]
    pub name: String,
}

/// A user as it appears inside other objects (`UserRel`; webhooks add `username` and `email`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRef {
    #[serde(deserialize_with = "wire::id")]
    pub id: i64,
    #[serde(default, deserialize_with = "wire::text")]
    pub first_name: String,
    #[serde(default, deserialize_with = "wire::text")]
    pub last_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

impl UserRef {
    /// "First Last", or whatever part ilert sent.
    pub fn display_name(&self) -> String {
        display_name(&self.first_name, &self.last_name)
    }
}

fn display_name(first: &str, last: &str) -> String {
    format!("{} {}", first.trim(), last.trim()).trim().to_owned()
}

/// One responder of an alert (`AlertResponder`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Responder {
    pub user: UserRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ResponderStatus>,
    #[serde(default, deserialize_with = "wire::timestamp", skip_serializing_if = "Option::is_none")]
    pub accepted_at: Option<DateTime<Utc>>,
}

/// `EventLink`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Link {
    #[serde(default, deserialize_with = "wire::text")]
    pub href: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// `EventImage`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Image {
    #[serde(default, deserialize_with = "wire::text")]
    pub src: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt: Option<String>,
}

/// An alert (`Alert`). The REST id is a number; webhooks send it as a string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    #[serde(deserialize_with = "wire::id")]
    pub id: i64,
    #[serde(default, deserialize_with = "wire::text")]
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    pub status: AlertStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_source: Option<NamedRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation_policy: Option<NamedRef>,
    #[serde(default, deserialize_with = "wire::list")]
    pub responders: Vec<Responder>,
    #[serde(default, deserialize_with = "wire::list")]
    pub links: Vec<Link>,
    #[serde(default, deserialize_with = "wire::list")]
    pub images: Vec<Image>,
    #[serde(default, deserialize_with = "wire::timestamp", skip_serializing_if = "Option::is_none")]
    pub report_time: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "wire::timestamp", skip_serializing_if = "Option::is_none")]
    pub resolved_on: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "wire::timestamp", skip_serializing_if = "Option::is_none")]
    pub next_escalation: Option<DateTime<Utc>>,
    /// Groups related events; not unique (the spec says to key local state on `id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_key: Option<String>,
}

/// A user (`User`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    #[serde(deserialize_with = "wire::id")]
    pub id: i64,
    #[serde(default, deserialize_with = "wire::text")]
    pub first_name: String,
    #[serde(default, deserialize_with = "wire::text")]
    pub last_name: String,
    #[serde(default, deserialize_with = "wire::text")]
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
}

impl User {
    /// "First Last", or whatever part ilert sent.
    pub fn display_name(&self) -> String {
        display_name(&self.first_name, &self.last_name)
    }
}

/// A schedule inside an on-call (`ScheduleRel`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleRef {
    #[serde(deserialize_with = "wire::id")]
    pub id: i64,
    #[serde(default, deserialize_with = "wire::text")]
    pub name: String,
    /// `STATIC` or `RECURRING`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// Who is on call for which policy level, and when (`OnCall`, read with
/// `expand=user&expand=escalationPolicy&expand=schedule`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OnCall {
    pub user: User,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation_policy: Option<NamedRef>,
    /// Absent when the duty comes from a user named directly in the policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleRef>,
    #[serde(default, deserialize_with = "wire::timestamp", skip_serializing_if = "Option::is_none")]
    pub start: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "wire::timestamp", skip_serializing_if = "Option::is_none")]
    pub end: Option<DateTime<Utc>>,
    /// 1 for the first rule of the policy.
    #[serde(default, deserialize_with = "wire::opt_int", skip_serializing_if = "Option::is_none")]
    pub escalation_level: Option<i64>,
}

/// One rule of an escalation policy (`EscalationRule`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EscalationRule {
    /// Minutes before the next rule is notified.
    #[serde(default, deserialize_with = "wire::opt_int", skip_serializing_if = "Option::is_none")]
    pub escalation_timeout: Option<i64>,
    #[serde(default, deserialize_with = "wire::list")]
    pub users: Vec<UserRef>,
    #[serde(default, deserialize_with = "wire::list")]
    pub schedules: Vec<ScheduleRef>,
    #[serde(default, deserialize_with = "wire::list")]
    pub teams: Vec<NamedRef>,
}

/// `EscalationPolicy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EscalationPolicy {
    #[serde(deserialize_with = "wire::id")]
    pub id: i64,
    #[serde(default, deserialize_with = "wire::text")]
    pub name: String,
    #[serde(default, deserialize_with = "wire::list")]
    pub escalation_rules: Vec<EscalationRule>,
    #[serde(default, deserialize_with = "wire::list")]
    pub teams: Vec<NamedRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_key: Option<String>,
}

/// An alert source (`AlertSourceNoIncludes` in lists, `AlertSource` singly). Not `Serialize`:
/// the integration key lets anyone post events, so it stays a secret once read.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertSource {
    #[serde(deserialize_with = "wire::id")]
    pub id: i64,
    #[serde(default, deserialize_with = "wire::text")]
    pub name: String,
    /// `null` unless the key's user may update the source.
    #[serde(default)]
    pub integration_key: Option<SecretString>,
    /// `API`, `MSTEAMS`, … (over a hundred values, so kept as text).
    #[serde(default)]
    pub integration_type: Option<String>,
    #[serde(default)]
    pub escalation_policy: Option<NamedRef>,
    /// `PENDING`, `ALL_ACCEPTED`, `ALL_RESOLVED`, `IN_MAINTENANCE`, `DISABLED`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub active: Option<bool>,
}

/// An alert to create with `POST /api/alerts` (`ManualAlert`). ilert asks not to use this
/// for monitoring volumes; that is what the events API is for.
#[derive(Debug, Clone, PartialEq)]
pub struct ManualAlert {
    pub alert_source_id: i64,
    pub summary: String,
    pub details: Option<String>,
    pub priority: Option<Priority>,
    /// Overrides the source's escalation policy.
    pub escalation_policy_id: Option<i64>,
    /// Notifies only these users, without further escalation.
    pub responder_user_ids: Vec<i64>,
    pub links: Vec<Link>,
    pub images: Vec<Image>,
}

impl ManualAlert {
    pub fn new(alert_source_id: i64, summary: impl Into<String>) -> Self {
        Self {
            alert_source_id,
            summary: summary.into(),
            details: None,
            priority: None,
            escalation_policy_id: None,
            responder_user_ids: Vec::new(),
            links: Vec::new(),
            images: Vec::new(),
        }
    }

    pub(crate) fn to_wire(&self) -> Value {
        let mut body = serde_json::json!({
            "summary": self.summary,
            "alertSource": { "id": self.alert_source_id },
        });
        let fields = [
            ("details", self.details.as_ref().map(|d| Value::from(d.as_str()))),
            ("priority", self.priority.as_ref().map(|p| Value::from(p.as_str()))),
            ("escalationPolicy", self.escalation_policy_id.map(|id| serde_json::json!({ "id": id }))),
            (
                "responders",
                (!self.responder_user_ids.is_empty()).then(|| {
                    self.responder_user_ids.iter().map(|id| serde_json::json!({ "user": { "id": id } })).collect()
                }),
            ),
            ("links", (!self.links.is_empty()).then(|| serde_json::json!(self.links))),
            ("images", (!self.images.is_empty()).then(|| serde_json::json!(self.images))),
        ];
        for (name, value) in fields {
            if let Some(value) = value {
                body[name] = value;
            }
        }
        body
    }
}

open_enum! {
    /// `Event.eventType` of the events API.
    pub enum EventType {
        Alert = "ALERT",
        Accept = "ACCEPT",
        Resolve = "RESOLVE",
        Comment = "COMMENT",
    }
}

/// `EventComment`: a comment posted through the events API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventComment {
    #[serde(default, deserialize_with = "wire::text")]
    pub creator: String,
    #[serde(default, deserialize_with = "wire::text")]
    pub content: String,
}

/// A body for `POST /api/events` (`Event`). The integration key authenticates it; there is
/// no `Authorization` header. `alertKey` selects the open alert for ACCEPT, RESOLVE and
/// COMMENT, and de-duplicates ALERT events.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    #[serde(serialize_with = "wire::expose")]
    pub integration_key: SecretString,
    pub event_type: EventType,
    /// Required by the spec for ALERT; the official clients omit it for the other types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    #[serde(default, deserialize_with = "wire::list", skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<Image>,
    #[serde(default, deserialize_with = "wire::list", skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    #[serde(default, deserialize_with = "wire::list", skip_serializing_if = "Vec::is_empty")]
    pub comments: Vec<EventComment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_details: Option<Value>,
    /// Selects an escalation policy by its routing key for a new alert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_key: Option<String>,
}

impl Event {
    fn new(integration_key: SecretString, event_type: EventType, alert_key: Option<String>) -> Self {
        Self {
            integration_key,
            event_type,
            summary: None,
            details: None,
            alert_key,
            priority: None,
            images: Vec::new(),
            links: Vec::new(),
            comments: Vec::new(),
            custom_details: None,
            routing_key: None,
        }
    }

    /// Opens an alert, or adds to the open one with the same `alert_key`.
    pub fn alert(integration_key: SecretString, summary: impl Into<String>, alert_key: Option<String>) -> Self {
        Self { summary: Some(summary.into()), ..Self::new(integration_key, EventType::Alert, alert_key) }
    }

    /// Accepts the open alert with this key.
    pub fn accept(integration_key: SecretString, alert_key: impl Into<String>) -> Self {
        Self::new(integration_key, EventType::Accept, Some(alert_key.into()))
    }

    /// Resolves the open alert with this key.
    pub fn resolve(integration_key: SecretString, alert_key: impl Into<String>) -> Self {
        Self::new(integration_key, EventType::Resolve, Some(alert_key.into()))
    }

    /// Adds a comment to the open alert with this key (ilert has no public REST comment call).
    pub fn comment(
        integration_key: SecretString,
        alert_key: impl Into<String>,
        creator: impl Into<String>,
        content: impl Into<String>,
    ) -> Self {
        Self {
            comments: vec![EventComment { creator: creator.into(), content: content.into() }],
            ..Self::new(integration_key, EventType::Comment, Some(alert_key.into()))
        }
    }
}

/// What ilert answered to an event: 202, with a body that is usually empty. ilert-go reads
/// these fields when present; a filtered or rejected event still gets 202.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventAccepted {
    #[serde(default)]
    pub alert_key: Option<String>,
    #[serde(default)]
    pub alert_url: Option<String>,
    #[serde(default)]
    pub response_code: Option<String>,
}

/// An alert action (`AlertAction`): how ilert pushes alert events to a connector, e.g. our
/// webhook (`connectorType: "webhook"`) or ilert's own Teams bot (`microsoft_teams_bot`).
/// `params` differ per connector type and may carry credentials (webhook URL, headers), so
/// `Debug` leaves them out.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertAction {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "wire::text")]
    pub name: String,
    pub connector_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connector_id: Option<String>,
    #[serde(default, deserialize_with = "wire::list")]
    pub alert_sources: Vec<AlertSourceId>,
    /// `AUTOMATIC` or `MANUAL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger_mode: Option<String>,
    /// The same names as the webhook's `eventType`, plus `v-alert-not-resolved`.
    #[serde(default, deserialize_with = "wire::list")]
    pub trigger_types: Vec<crate::WebhookEventType>,
    /// An ICL condition limiting which alerts trigger the action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<String>,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub params: Value,
}

impl std::fmt::Debug for AlertAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertAction")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("connector_type", &self.connector_type)
            .field("connector_id", &self.connector_id)
            .field("alert_sources", &self.alert_sources)
            .field("trigger_mode", &self.trigger_mode)
            .field("trigger_types", &self.trigger_types)
            .field("params", &"[not shown]")
            .finish()
    }
}

/// An alert source named by id only (`SimpleIdField64`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertSourceId {
    #[serde(deserialize_with = "wire::id")]
    pub id: i64,
}

/// Fires a manual alert action, e.g. ilert's "Microsoft Teams Meeting"
/// (`AlertActionTrigger`, body of `POST /api/alerts/{id}/actions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertActionTrigger {
    pub alert_action_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connector_id: Option<String>,
    /// The connector type, e.g. `microsoft_teams_bot`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}
