//! The Bot Framework activity as Teams sends and receives it, with Teams' `channelData`.
//!
//! Parsing is tolerant by design: Teams adds fields and event types without notice, so
//! unknown fields are ignored and an unknown `type` becomes [`ActivityType::Other`]. The same
//! types serialize the activities the bot sends, leaving out whatever is unset.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// Reads `null` like a missing field: Teams sends either for "none".
fn null_as_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(deserializer: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// An activity's `type`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum ActivityType {
    /// A message from a user (or, outbound, from the bot).
    #[default]
    Message,
    /// Members or conversation properties changed (`channelData.eventType` says which).
    ConversationUpdate,
    /// The app was installed or uninstalled (`action`).
    InstallationUpdate,
    /// A request that is answered in the HTTP response (`name` says which).
    Invoke,
    /// Reactions were added to or removed from a message.
    MessageReaction,
    /// A message was edited or undeleted.
    MessageUpdate,
    /// A message was (soft) deleted.
    MessageDelete,
    /// The user is typing.
    Typing,
    /// A named event.
    Event,
    /// Any type this crate does not name, kept verbatim.
    Other(String),
}

impl ActivityType {
    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Message => "message",
            Self::ConversationUpdate => "conversationUpdate",
            Self::InstallationUpdate => "installationUpdate",
            Self::Invoke => "invoke",
            Self::MessageReaction => "messageReaction",
            Self::MessageUpdate => "messageUpdate",
            Self::MessageDelete => "messageDelete",
            Self::Typing => "typing",
            Self::Event => "event",
            Self::Other(other) => other,
        }
    }
}

impl From<String> for ActivityType {
    fn from(value: String) -> Self {
        match value.as_str() {
            "message" => Self::Message,
            "conversationUpdate" => Self::ConversationUpdate,
            "installationUpdate" => Self::InstallationUpdate,
            "invoke" => Self::Invoke,
            "messageReaction" => Self::MessageReaction,
            "messageUpdate" => Self::MessageUpdate,
            "messageDelete" => Self::MessageDelete,
            "typing" => Self::Typing,
            "event" => Self::Event,
            _ => Self::Other(value),
        }
    }
}

impl From<ActivityType> for String {
    fn from(value: ActivityType) -> Self {
        match value {
            ActivityType::Other(other) => other,
            known => known.as_str().to_owned(),
        }
    }
}

/// A user or bot: `from`, `recipient`, a member added or removed, a mentioned party.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelAccount {
    /// `29:…` for users (specific to this bot), `28:{appId}` for bots.
    #[serde(default, deserialize_with = "null_as_default")]
    pub id: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The user's Entra object id: the same for every app, so the one to map users by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aad_object_id: Option<String>,
    /// `user` or `bot`, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

impl ChannelAccount {
    /// An account known only by its id.
    pub fn with_id(id: impl Into<String>) -> Self {
        Self { id: id.into(), ..Default::default() }
    }
}

/// The conversation an activity belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationAccount {
    /// `a:…` personal, `19:…@thread.v2` group chat, `19:…@thread.tacv2` channel, or
    /// `19:…@thread.tacv2;messageid=<root>` a channel thread.
    #[serde(default, deserialize_with = "null_as_default")]
    pub id: String,
    /// `personal`, `groupChat` or `channel`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_type: Option<String>,
    /// The customer tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// True for channels and group chats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_group: Option<bool>,
    /// Channel or group chat name, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `channelData.tenant`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TenantInfo {
    /// The tenant id (GUID).
    #[serde(default, deserialize_with = "null_as_default")]
    pub id: String,
}

/// `channelData.team`: present in team contexts only.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamInfo {
    /// The team's thread id (`19:…@thread.tacv2`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub id: String,
    /// The team's display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The team's Microsoft 365 group id, as Graph knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aad_group_id: Option<String>,
}

/// `channelData.channel` and `channelData.settings.selectedChannel`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChannelInfo {
    /// The channel's thread id (`19:…@thread.tacv2`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub id: String,
    /// Display name (absent for the General channel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `channelData.settings`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamsChannelDataSettings {
    /// The channel chosen when the app was installed in a team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected_channel: Option<ChannelInfo>,
}

/// `channelData.notification` (outbound): `alert: true` raises a feed notification.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NotificationInfo {
    /// Whether to notify the user's activity feed.
    #[serde(default, deserialize_with = "null_as_default")]
    pub alert: bool,
}

/// Teams' `channelData`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamsChannelData {
    /// The customer tenant; always present on Teams activities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<TenantInfo>,
    /// The team, in team contexts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<TeamInfo>,
    /// The channel, in channel contexts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<ChannelInfo>,
    /// `teamMemberAdded`, `channelCreated`, `teamRenamed`, … (compare case-insensitively:
    /// Microsoft's own samples vary the case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// Install-time settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<TeamsChannelDataSettings>,
    /// Outbound only: feed notification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification: Option<NotificationInfo>,
}

/// An entry of `entities`: a mention, `clientInfo`, or anything else (kept in `properties`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Entity {
    /// `mention`, `clientInfo`, …
    #[serde(rename = "type", default, deserialize_with = "null_as_default")]
    pub kind: String,
    /// For mentions: who was mentioned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mentioned: Option<ChannelAccount>,
    /// For mentions: the `<at>Name</at>` markup as it appears in the activity's text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Every other property of the entity.
    #[serde(flatten)]
    pub properties: Map<String, Value>,
}

impl Entity {
    /// A mention of `account`; put `<at>{name}</at>` (what this returns as `text`) into the
    /// activity's text as well, or Teams ignores it.
    pub fn mention(account: ChannelAccount) -> Self {
        let name = account.name.clone().unwrap_or_default();
        Self {
            kind: "mention".into(),
            text: Some(format!("<at>{name}</at>")),
            mentioned: Some(account),
            ..Default::default()
        }
    }
}

/// The content type of Adaptive Card attachments.
pub const ADAPTIVE_CARD_CONTENT_TYPE: &str = "application/vnd.microsoft.card.adaptive";

/// An attachment: a card, a file, or rich text.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    /// MIME type, e.g. [`ADAPTIVE_CARD_CONTENT_TYPE`] or `text/html`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub content_type: String,
    /// Inline content (the card JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Value>,
    /// Link to the content, for files and images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_url: Option<String>,
    /// File name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Attachment {
    /// An Adaptive Card attachment.
    pub fn adaptive_card(card: Value) -> Self {
        Self { content_type: ADAPTIVE_CARD_CONTENT_TYPE.into(), content: Some(card), ..Default::default() }
    }
}

/// One reaction of a `messageReaction` activity (`like`, `heart`, …).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MessageReaction {
    /// Reaction type.
    #[serde(rename = "type", default, deserialize_with = "null_as_default")]
    pub kind: String,
}

/// An activity, inbound or outbound.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    /// The activity `type`.
    #[serde(rename = "type")]
    pub kind: ActivityType,
    /// Teams' message id (epoch milliseconds as a string) or an event id (`f:…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// UTC time Teams received it (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// The sender's local time (RFC 3339 with offset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_timestamp: Option<String>,
    /// `msteams` for Teams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<String>,
    /// Where replies go. Trust it only once the token's `serviceurl` claim matched it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_url: Option<String>,
    /// Who sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<ChannelAccount>,
    /// Who receives it: the bot (`28:{appId}`) on inbound activities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<ChannelAccount>,
    /// The conversation it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<ConversationAccount>,
    /// Teams-specific data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_data: Option<TeamsChannelData>,
    /// Message text; on channel messages it includes the `<at>…</at>` mention markup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// `plain`, `markdown` or `xml`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_format: Option<String>,
    /// Text shown where the message cannot be rendered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// The sender's locale, e.g. `en-US`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// conversationUpdate: members that joined (the bot itself when installed).
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub members_added: Vec<ChannelAccount>,
    /// conversationUpdate: members that left (the bot itself when uninstalled).
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub members_removed: Vec<ChannelAccount>,
    /// messageReaction: reactions added.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub reactions_added: Vec<MessageReaction>,
    /// messageReaction: reactions removed.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub reactions_removed: Vec<MessageReaction>,
    /// installationUpdate: `add`, `remove`, `add-upgrade` or `remove-upgrade`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The message this one answers; on invokes and card submits, the message holding the card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to_id: Option<String>,
    /// Invoke payload, or the card data of an `Action.Submit` message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// Invoke name (`adaptiveCard/action`, `task/fetch`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Mentions, `clientInfo` and other entities.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub entities: Vec<Entity>,
    /// Cards, files and rich-text copies.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// `list` or `carousel`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment_layout: Option<String>,
}

impl Activity {
    /// A message carrying one Adaptive Card.
    pub fn card_message(card: Value) -> Self {
        Self { kind: ActivityType::Message, attachments: vec![Attachment::adaptive_card(card)], ..Default::default() }
    }

    /// A plain-text (markdown) message.
    pub fn text_message(text: impl Into<String>) -> Self {
        Self { kind: ActivityType::Message, text: Some(text.into()), ..Default::default() }
    }

    /// The customer tenant: `channelData.tenant.id`, else `conversation.tenantId`.
    pub fn tenant_id(&self) -> Option<&str> {
        let from_channel_data = self.channel_data.as_ref().and_then(|c| c.tenant.as_ref()).map(|t| t.id.as_str());
        from_channel_data
            .filter(|id| !id.is_empty())
            .or_else(|| self.conversation.as_ref().and_then(|c| c.tenant_id.as_deref()))
            .filter(|id| !id.is_empty())
    }

    /// The conversation id, or `""` when there is none.
    pub fn conversation_id(&self) -> &str {
        self.conversation.as_ref().map_or("", |c| c.id.as_str())
    }

    fn bot_id(&self) -> Option<&str> {
        self.recipient.as_ref().map(|r| r.id.as_str()).filter(|id| !id.is_empty())
    }

    /// The mention entities that mention the bot (`mentioned.id == recipient.id`).
    fn bot_mentions(&self) -> impl Iterator<Item = &Entity> {
        let bot = self.bot_id();
        self.entities
            .iter()
            .filter(move |e| e.kind == "mention" && bot.is_some() && e.mentioned.as_ref().map(|m| m.id.as_str()) == bot)
    }

    /// Whether the message @mentions the bot, judged by the mention entities, never the text.
    pub fn mentions_bot(&self) -> bool {
        self.bot_mentions().next().is_some()
    }

    /// The text with the bot's mentions removed (using each mention entity's own `text`)
    /// and surrounding whitespace trimmed; `""` when there is no text.
    pub fn text_without_bot_mention(&self) -> String {
        let mut text = self.text.clone().unwrap_or_default();
        for markup in self.bot_mentions().filter_map(|e| e.text.as_deref()).filter(|t| !t.is_empty()) {
            text = text.replace(markup, "");
        }
        text.trim().to_owned()
    }

    /// Whether the bot itself is among `membersAdded` (it was installed here).
    pub fn bot_added(&self) -> bool {
        self.bot_id().is_some_and(|bot| self.members_added.iter().any(|m| m.id == bot))
    }

    /// Whether the bot itself is among `membersRemoved` (it was uninstalled here).
    pub fn bot_removed(&self) -> bool {
        self.bot_id().is_some_and(|bot| self.members_removed.iter().any(|m| m.id == bot))
    }

    /// `channelData.eventType`.
    pub fn event_type(&self) -> Option<&str> {
        self.channel_data.as_ref().and_then(|c| c.event_type.as_deref())
    }

    /// `channelData.team`.
    pub fn team(&self) -> Option<&TeamInfo> {
        self.channel_data.as_ref().and_then(|c| c.team.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_types_and_fields_are_kept_or_ignored() {
        let a: Activity = serde_json::from_value(json!({
            "type": "someFutureThing", "brandNew": {"x": 1}, "channelData": {"tenant": {"id": "t"}, "whatever": 2}
        }))
        .unwrap();
        assert_eq!(a.kind, ActivityType::Other("someFutureThing".into()));
        assert_eq!(serde_json::to_value(&a).unwrap()["type"], "someFutureThing");
        assert_eq!(a.tenant_id(), Some("t"));
    }

    #[test]
    fn nulls_read_as_absent() {
        let a: Activity = serde_json::from_value(json!({
            "type": "message", "entities": null, "attachments": null, "membersAdded": null,
            "from": {"id": null, "name": null}, "channelData": {"tenant": {"id": null}, "notification": {"alert": null}}
        }))
        .unwrap();
        assert!(a.entities.is_empty() && a.attachments.is_empty() && a.members_added.is_empty());
        assert_eq!(a.from.as_ref().unwrap().id, "");
        assert_eq!(a.tenant_id(), None);
    }

    #[test]
    fn a_missing_type_is_an_error() {
        assert!(serde_json::from_value::<Activity>(json!({"text": "hi"})).is_err());
    }

    #[test]
    fn outbound_messages_leave_out_what_is_unset() {
        let v = serde_json::to_value(Activity::card_message(json!({"type": "AdaptiveCard"}))).unwrap();
        assert_eq!(
            v,
            json!({"type": "message", "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive", "content": {"type": "AdaptiveCard"}
            }]})
        );
    }

    #[test]
    fn only_the_bots_own_mentions_are_stripped() {
        let a: Activity = serde_json::from_value(json!({
            "type": "message",
            "text": "<at>Bot</at> ack <at>Alice</at>",
            "recipient": {"id": "28:bot"},
            "entities": [
                {"type": "mention", "mentioned": {"id": "28:bot", "name": "Bot"}, "text": "<at>Bot</at>"},
                {"type": "mention", "mentioned": {"id": "29:alice", "name": "Alice"}, "text": "<at>Alice</at>"}
            ]
        }))
        .unwrap();
        assert!(a.mentions_bot());
        assert_eq!(a.text_without_bot_mention(), "ack <at>Alice</at>");
    }

    #[test]
    fn tenant_falls_back_to_the_conversation() {
        let a: Activity =
            serde_json::from_value(json!({"type": "message", "conversation": {"id": "a:1", "tenantId": "t2"}}))
                .unwrap();
        assert_eq!(a.tenant_id(), Some("t2"));
        assert!(!a.bot_added());
    }
}
