//! One validated activity and what it is about: tenant, connection, conversation.

use botframework::Activity;
use domain::model::Connection;
use domain::{ConversationId, TenantId};

/// An activity whose token checked out, with the facts the handlers need.
pub struct Turn {
    pub activity: Activity,
    pub tenant: TenantId,
    /// The serviceUrl the token vouched for: the only one we send the bot's token to.
    pub service_url: String,
    /// The tenant's connection, if an ilert admin linked it.
    pub connection: Option<Connection>,
}

impl Turn {
    /// The conversation id as Teams sent it (a channel thread keeps its `;messageid=`).
    pub fn conversation_id(&self) -> &str {
        self.activity.conversation_id()
    }

    /// The conversation without the thread suffix: the id we store references under.
    pub fn base_conversation(&self) -> Option<ConversationId> {
        let id = self.conversation_id();
        ConversationId::parse(id.split(";messageid=").next().unwrap_or(id)).ok()
    }

    /// `personal`, `groupChat` or `channel`.
    pub fn conversation_type(&self) -> &str {
        self.activity.conversation.as_ref().and_then(|c| c.conversation_type.as_deref()).unwrap_or("")
    }

    pub fn is_channel(&self) -> bool {
        self.conversation_type() == "channel"
    }

    /// The bot's id here (`28:{appId}`).
    pub fn bot_id(&self) -> String {
        self.activity.recipient.as_ref().map(|r| r.id.clone()).unwrap_or_default()
    }

    /// The acting user's Entra object id.
    pub fn actor_aad(&self) -> Option<&str> {
        self.activity.from.as_ref().and_then(|f| f.aad_object_id.as_deref()).filter(|s| !s.is_empty())
    }
}
