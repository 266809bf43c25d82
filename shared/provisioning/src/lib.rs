//! The provisioning jobs the bot endpoint queues when a card asks for a dedicated channel, a
//! meeting or a group chat, and the channel provisioner consumes: the wire schema both sides
//! agree on, and nothing else (no AWS, no HTTP).

use domain::{AadObjectId, AlertId, ConnectionId, ConversationId, TenantId};
use serde::{Deserialize, Serialize};

/// What to create for an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ProvisioningKind {
    /// A dedicated Teams channel for the alert.
    Channel,
    /// A Teams meeting with the responders.
    Meeting,
    /// A group chat with the responders.
    Chat,
}

/// Who asked, from where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActingUser {
    /// Entra object id of the Teams user.
    pub aad_object_id: AadObjectId,
    /// The matched ilert user.
    pub ilert_user_id: i64,
    /// Display name, for the job's own messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// One provisioning job. JSON, camelCase, `{"kind": "channel", …}`; versioned by `v`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisioningJob {
    /// Schema version (1).
    pub v: u32,
    pub kind: ProvisioningKind,
    pub connection_id: ConnectionId,
    pub tenant_id: TenantId,
    pub alert_id: AlertId,
    /// The conversation holding the card that asked (its base id, not a thread id).
    pub conversation_id: ConversationId,
    /// The card's activity id, so the consumer can `PUT` the card once the thing exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_activity_id: Option<String>,
    /// Where the conversation's Bot Connector lives.
    pub service_url: String,
    pub acting_user: ActingUser,
}

impl ProvisioningJob {
    /// The current schema version.
    pub const VERSION: u32 = 1;

    /// The queue message: grouped per alert so two clicks are handled one after the other, and
    /// de-duplicated per alert and kind so double clicks queue one job.
    pub fn message(&self) -> domain::queue::OutgoingMessage {
        let kind = serde_json::to_value(self.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        domain::queue::OutgoingMessage::new(serde_json::to_string(self).unwrap_or_default())
            .in_group(format!("{}#{}", self.connection_id, self.alert_id))
            .dedup(format!("{}#{}#{kind}", self.connection_id, self.alert_id))
    }
}
