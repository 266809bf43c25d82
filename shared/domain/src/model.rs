//! The entities the product keeps. Storage layout is the `store` crate's business; these types
//! only say what each thing is and which rules it obeys.

use crate::ids::{AadObjectId, AlertId, ConnectionId, ConversationId, GroupId, RouteId, TenantId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One ilert account linked to one Microsoft tenant. A tenant has at most one connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    pub id: ConnectionId,
    pub tenant_id: TenantId,
    pub name: String,
    /// Where the ilert API key is kept (a Secrets Manager ARN, or a local secret name): never the key.
    pub ilert_api_key_ref: String,
    /// Hex SHA-256 of the webhook secret. The secret is shown once at creation and never stored.
    pub webhook_secret_sha256: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version; the store refuses a write whose version is stale.
    #[serde(default)]
    pub version: u64,
}

impl Connection {
    /// Lower-case hex SHA-256 of a webhook secret's UTF-8 text: what a connection keeps.
    pub fn hash_webhook_secret(secret: &str) -> String {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(secret.as_bytes()))
    }

    /// Whether `presented` is this connection's webhook secret, compared by hash in constant
    /// time so the answer's timing says nothing about the secret.
    pub fn webhook_secret_matches(&self, presented: &str) -> bool {
        use subtle::ConstantTimeEq;
        Self::hash_webhook_secret(presented).as_bytes().ct_eq(self.webhook_secret_sha256.as_bytes()).into()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ConversationKind {
    Channel,
    Personal,
    GroupChat,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamRef {
    /// The team's thread id (`19:…@thread.tacv2`), as the Bot Framework names it.
    pub id: String,
    /// The team's Microsoft 365 group id, which Graph uses.
    pub aad_group_id: Option<String>,
    pub name: Option<String>,
}

/// Whether we may post into a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "state")]
pub enum ConversationStatus {
    Active,
    /// The team is archived: readable, but Teams refuses new posts.
    Archived,
    /// Teams refused us (bot removed or blocked: 403); deliveries stop until the bot is re-added.
    Unusable {
        reason: String,
    },
}

/// Where the bot is installed: enough to post there proactively.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationRef {
    pub tenant_id: TenantId,
    pub conversation_id: ConversationId,
    pub kind: ConversationKind,
    /// The Bot Connector base URL Teams gave us for this conversation.
    pub service_url: String,
    /// The bot's own id in this conversation (`28:{appId}`).
    pub bot_id: String,
    pub team: Option<TeamRef>,
    pub channel_name: Option<String>,
    /// Group chat title, if it has one.
    pub title: Option<String>,
    /// Personal scope: the user the bot talks to (`29:` id and Entra object id).
    pub user_id: Option<String>,
    pub user_aad_object_id: Option<AadObjectId>,
    pub status: ConversationStatus,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub version: u64,
}

impl ConversationRef {
    pub fn is_usable(&self) -> bool {
        self.status == ConversationStatus::Active
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Priority {
    High,
    Low,
}

/// The alert events a route can post, as the product (not ilert's wire format) names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AlertEventKind {
    Created,
    Accepted,
    Assigned,
    Escalated,
    Resolved,
    Comment,
    ResponderAdded,
}

impl AlertEventKind {
    pub const ALL: [AlertEventKind; 7] = [
        Self::Created,
        Self::Accepted,
        Self::Assigned,
        Self::Escalated,
        Self::Resolved,
        Self::Comment,
        Self::ResponderAdded,
    ];
}

/// Which alerts go to which conversation. An empty selector list means "any".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Route {
    pub id: RouteId,
    pub connection_id: ConnectionId,
    pub conversation_id: ConversationId,
    #[serde(default)]
    pub alert_source_ids: Vec<i64>,
    #[serde(default)]
    pub escalation_policy_ids: Vec<i64>,
    #[serde(default)]
    pub priorities: Vec<Priority>,
    /// Event kinds that post; empty means all.
    #[serde(default)]
    pub events: Vec<AlertEventKind>,
    /// Also message the alert's responders personally.
    #[serde(default)]
    pub notify_responders: bool,
    pub created_at: DateTime<Utc>,
}

/// What a route looks at to decide whether an alert event is for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertFacts {
    pub alert_source_id: Option<i64>,
    pub escalation_policy_id: Option<i64>,
    pub priority: Option<Priority>,
}

impl Route {
    /// Whether this route is for the alert at all (its source, policy and priority).
    pub fn selects(&self, alert: &AlertFacts) -> bool {
        fn wants<T: PartialEq>(wanted: &[T], actual: Option<T>) -> bool {
            wanted.is_empty() || actual.is_some_and(|a| wanted.contains(&a))
        }
        wants(&self.alert_source_ids, alert.alert_source_id)
            && wants(&self.escalation_policy_ids, alert.escalation_policy_id)
            && wants(&self.priorities, alert.priority)
    }

    /// Whether events of this kind post (a new card, a thread reply) through this route.
    pub fn posts(&self, event: AlertEventKind) -> bool {
        self.events.is_empty() || self.events.contains(&event)
    }

    pub fn matches(&self, alert: &AlertFacts, event: AlertEventKind) -> bool {
        self.selects(alert) && self.posts(event)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum AlertStatus {
    Pending,
    Accepted,
    Resolved,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkedChannel {
    pub team_id: String,
    pub channel_id: String,
    pub name: String,
    pub web_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkedMeeting {
    pub event_id: String,
    pub organizer: String,
    pub join_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkedChat {
    pub chat_id: String,
    pub web_url: Option<String>,
}

/// What we know of one ilert alert: the latest state we accepted and what hangs off it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertRecord {
    pub connection_id: ConnectionId,
    pub alert_id: AlertId,
    pub status: AlertStatus,
    /// Time of the newest event applied; older events never move the state back.
    pub last_event_at: DateTime<Utc>,
    /// The alert as last seen (ilert's shape), for rendering cards.
    pub snapshot: serde_json::Value,
    pub channel: Option<LinkedChannel>,
    pub meeting: Option<LinkedMeeting>,
    pub chat: Option<LinkedChat>,
    #[serde(default)]
    pub version: u64,
}

/// The card of one alert in one conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertCard {
    pub connection_id: ConnectionId,
    pub alert_id: AlertId,
    pub conversation_id: ConversationId,
    /// The thread the card opened (`19:…;messageid=…`), where replies go.
    pub thread_id: ConversationId,
    /// The card's activity id, for `PUT` updates.
    pub activity_id: String,
    /// Which alert revision the card currently shows.
    pub rendered_revision: u64,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub version: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MappingSource {
    DirectorySync,
    OnDemand,
}

/// A Teams (Entra) user matched to an ilert user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserMapping {
    pub tenant_id: TenantId,
    pub aad_object_id: AadObjectId,
    pub ilert_user_id: i64,
    pub email: String,
    pub display_name: Option<String>,
    pub source: MappingSource,
    pub updated_at: DateTime<Utc>,
}

/// Where an incremental Graph sync resumes (a delta link).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncCursor {
    pub tenant_id: TenantId,
    /// What is synced, e.g. `users`.
    pub resource: String,
    pub delta_link: String,
    pub updated_at: DateTime<Utc>,
    /// When the last full round (every object, not only changes) finished.
    #[serde(default)]
    pub full_round_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub version: u64,
}

/// A team of a tenant as the directory sync last listed it, with its channels: what the
/// management UI offers before the bot is installed anywhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryTeam {
    pub tenant_id: TenantId,
    pub group_id: GroupId,
    pub display_name: String,
    pub description: Option<String>,
    pub channels: Vec<DirectoryChannel>,
    pub synced_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryChannel {
    /// The channel's thread id (`19:…@thread.tacv2`), the same id the bot sees.
    pub id: String,
    pub display_name: String,
    /// `standard`, `private` or `shared`.
    pub membership_type: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(sources: Vec<i64>, prios: Vec<Priority>, events: Vec<AlertEventKind>) -> Route {
        Route {
            id: RouteId::parse("r1").unwrap(),
            connection_id: ConnectionId::parse("c1").unwrap(),
            conversation_id: ConversationId::parse("19:x@thread.tacv2").unwrap(),
            alert_source_ids: sources,
            escalation_policy_ids: vec![],
            priorities: prios,
            events,
            notify_responders: false,
            created_at: Utc::now(),
        }
    }

    #[test]
    fn empty_selectors_match_everything() {
        let r = route(vec![], vec![], vec![]);
        let facts = AlertFacts { alert_source_id: None, escalation_policy_id: None, priority: None };
        for e in AlertEventKind::ALL {
            assert!(r.matches(&facts, e));
        }
    }

    #[test]
    fn selectors_and_event_toggles_filter() {
        let r = route(vec![7], vec![Priority::High], vec![AlertEventKind::Created]);
        let hit =
            AlertFacts { alert_source_id: Some(7), escalation_policy_id: Some(1), priority: Some(Priority::High) };
        assert!(r.matches(&hit, AlertEventKind::Created));
        assert!(!r.matches(&hit, AlertEventKind::Resolved));
        assert!(!r.matches(&AlertFacts { alert_source_id: Some(8), ..hit }, AlertEventKind::Created));
        assert!(!r.matches(&AlertFacts { priority: Some(Priority::Low), ..hit }, AlertEventKind::Created));
        assert!(!r.matches(&AlertFacts { alert_source_id: None, ..hit }, AlertEventKind::Created));
    }

    #[test]
    fn alert_status_orders_forward() {
        assert!(AlertStatus::Pending < AlertStatus::Accepted);
        assert!(AlertStatus::Accepted < AlertStatus::Resolved);
    }
}
