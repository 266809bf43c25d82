//! The wire shapes of the API (camelCase JSON), exactly as `openapi.json` documents them.
//! Requests refuse unknown fields so a misspelt one is a 400 instead of a silent no-op;
//! responses are built from the domain types here and nowhere else.

use chrono::{DateTime, Utc};
use domain::model::{
    AlertEventKind, Connection, ConversationKind, ConversationRef, ConversationStatus, DirectoryChannel, DirectoryTeam,
    Priority, Route,
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

/// A conversation's state and, when routes may not post there, why.
fn state_of(status: &ConversationStatus) -> (ConversationState, Option<String>) {
    match status {
        ConversationStatus::Active => (ConversationState::Active, None),
        ConversationStatus::Archived => (ConversationState::Archived, Some(ARCHIVED_REASON.to_owned())),
        ConversationStatus::Unusable { reason } => (ConversationState::Unusable, Some(reason.clone())),
    }
}

impl From<&ConversationRef> for ConversationView {
    fn from(c: &ConversationRef) -> Self {
        let (status, reason) = state_of(&c.status);
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

/// One team of the tenant's teams directory.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamView {
    /// The team's Microsoft 365 group id.
    pub id: String,
    pub display_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub channel_count: usize,
    pub synced_at: DateTime<Utc>,
    /// Routes can only target the team's channels once the bot is installed in it.
    pub bot_installed: bool,
}

impl TeamView {
    pub fn new(team: &DirectoryTeam, bot_installed: bool) -> Self {
        Self {
            id: team.group_id.to_string(),
            display_name: team.display_name.clone(),
            description: team.description.clone(),
            channel_count: team.channels.len(),
            synced_at: team.synced_at,
            bot_installed,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct TeamList {
    pub teams: Vec<TeamView>,
    /// The cursor of the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// The team a channel list belongs to.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamSummary {
    pub id: String,
    pub display_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub synced_at: DateTime<Utc>,
}

impl From<&DirectoryTeam> for TeamSummary {
    fn from(team: &DirectoryTeam) -> Self {
        Self {
            id: team.group_id.to_string(),
            display_name: team.display_name.clone(),
            description: team.description.clone(),
            synced_at: team.synced_at,
        }
    }
}

/// One channel of a team. `usable`, `status` and `reason` are the bot's conversation there,
/// as the conversations list shows it, so they are present only when the bot is installed.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelView {
    /// The channel's thread id: the conversation id a route targets.
    pub id: String,
    pub display_name: String,
    pub membership_type: String,
    pub bot_installed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usable: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<ConversationState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl ChannelView {
    /// `installed`: the bot's conversation in this channel, if it has one.
    pub fn new(channel: &DirectoryChannel, installed: Option<&ConversationRef>) -> Self {
        let (status, reason) = installed.map(|c| state_of(&c.status)).unzip();
        Self {
            id: channel.id.clone(),
            display_name: channel.display_name.clone(),
            membership_type: channel.membership_type.clone(),
            bot_installed: installed.is_some(),
            usable: installed.map(ConversationRef::is_usable),
            status,
            reason: reason.flatten(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct TeamChannels {
    pub team: TeamSummary,
    pub channels: Vec<ChannelView>,
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
