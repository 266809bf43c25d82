//! The wire shapes of the API (camelCase JSON), exactly as `openapi.json` documents them.
//! Requests refuse unknown fields so a misspelt one is a 400 instead of a silent no-op;
//! responses are built from the domain types here and nowhere else.

use chrono::{DateTime, Utc};
use domain::model::{
    AlertEventKind, Connection, ConversationKind, ConversationRef, ConversationStatus, Priority, Route,
};
use secrets::SecretString;
use serde::{Deserialize, Serialize};

/// `POST /connections`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateConnection {
    pub tenant_id: String,
    pub name: String,
    /// A `SecretString`, so even a `Debug` of the request cannot print the key.
    pub ilert_api_key: SecretString,
}

/// `PATCH /connections/{id}`: only what is given changes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PatchConnection {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub ilert_api_key: Option<SecretString>,
}

/// A connection as every read shows it: never the API key, never the webhook secret.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionView {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub webhook_url: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ConnectionView {
    pub fn new(connection: &Connection, webhook_url: String) -> Self {
        Self {
            id: connection.id.to_string(),
            tenant_id: connection.tenant_id.to_string(),
            name: connection.name.clone(),
            webhook_url,
            created_at: connection.created_at,
            updated_at: connection.updated_at,
        }
    }
}

/// The answer to a create: the only time the webhook secret is shown.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedConnection {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub webhook_url: String,
    pub webhook_secret: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
pub struct ConnectionList {
    pub connections: Vec<ConnectionView>,
}

/// The answer to a webhook-secret rotation: the new secret, shown once.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RotatedSecret {
    pub webhook_url: String,
    pub webhook_secret: String,
}

/// Whether routes may post into a conversation, as the admin UI shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ConversationState {
    Active,
    Archived,
    Unusable,
}

/// One place the bot is installed in.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationView {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: ConversationKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub usable: bool,
    pub status: ConversationState,
    /// Why it is not usable, in words an admin can act on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What an archived team means for routing (shown as `reason`, and in route refusals).
pub const ARCHIVED_REASON: &str = "the team is archived; Teams accepts no new messages there until it is restored";

impl From<&ConversationRef> for ConversationView {
    fn from(c: &ConversationRef) -> Self {
        let (status, reason) = match &c.status {
            ConversationStatus::Active => (ConversationState::Active, None),
            ConversationStatus::Archived => (ConversationState::Archived, Some(ARCHIVED_REASON.to_owned())),
            ConversationStatus::Unusable { reason } => (ConversationState::Unusable, Some(reason.clone())),
        };
        Self {
            id: c.conversation_id.to_string(),
            kind: c.kind,
            team_id: c.team.as_ref().map(|t| t.id.clone()),
            team_name: c.team.as_ref().and_then(|t| t.name.clone()),
            channel_name: c.channel_name.clone(),
            title: c.title.clone(),
            usable: c.is_usable(),
            status,
            reason,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ConversationList {
    pub conversations: Vec<ConversationView>,
}

/// `POST /connections/{id}/routes`. Every selector list may be left out or empty: "any".
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateRoute {
    pub conversation_id: String,
    #[serde(default)]
    pub alert_source_ids: Vec<i64>,
    #[serde(default)]
    pub escalation_policy_ids: Vec<i64>,
    #[serde(default)]
    pub priorities: Vec<Priority>,
    #[serde(default)]
    pub events: Vec<AlertEventKind>,
    #[serde(default)]
    pub notify_responders: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteView {
    pub id: String,
    pub connection_id: String,
    pub conversation_id: String,
    pub alert_source_ids: Vec<i64>,
    pub escalation_policy_ids: Vec<i64>,
    pub priorities: Vec<Priority>,
    pub events: Vec<AlertEventKind>,
    pub notify_responders: bool,
    pub created_at: DateTime<Utc>,
}

impl From<&Route> for RouteView {
    fn from(r: &Route) -> Self {
        Self {
            id: r.id.to_string(),
            connection_id: r.connection_id.to_string(),
            conversation_id: r.conversation_id.to_string(),
            alert_source_ids: r.alert_source_ids.clone(),
            escalation_policy_ids: r.escalation_policy_ids.clone(),
            priorities: r.priorities.clone(),
            events: r.events.clone(),
            notify_responders: r.notify_responders,
            created_at: r.created_at,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct RouteList {
    pub routes: Vec<RouteView>,
}
