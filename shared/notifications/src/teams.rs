//! Posting to Teams: the port the notifier needs, and its Bot Connector adapter.

use async_trait::async_trait;
use botframework::{Activity, ConnectorClient, ConnectorError, ConversationParameters};
use domain::model::{AlertCard, ConversationKind, ConversationRef};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where a new card landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedCard {
    /// The conversation replies go to: the channel thread (`19:…;messageid=…`), or the chat.
    pub thread_id: String,
    pub activity_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// Teams asked us to slow down; try again after this long.
    #[error("throttled; retry after {0:?}")]
    Throttled(Duration),
    /// The bot was removed or blocked there (403): stop posting to this conversation.
    #[error("the bot can no longer post here: {0}")]
    Blocked(String),
    /// The card message is gone (deleted in Teams).
    #[error("the message no longer exists")]
    Gone,
    /// Teams refused the message as too large.
    #[error("message too large for Teams")]
    TooLarge,
    /// Worth retrying later.
    #[error("Teams unavailable: {0}")]
    Transient(String),
    /// Retrying will not help.
    #[error("Teams refused: {0}")]
    Refused(String),
}

#[async_trait]
pub trait TeamsPoster: Send + Sync {
    /// Posts `card` as the first message of a new thread (channel) or into the chat.
    async fn post_card(&self, conversation: &ConversationRef, card: serde_json::Value)
    -> Result<PostedCard, PostError>;
    /// Replaces the card for everyone.
    async fn update_card(
        &self,
        conversation: &ConversationRef,
        card: &AlertCard,
        content: serde_json::Value,
    ) -> Result<(), PostError>;
    /// Adds a line under the card.
    async fn reply(&self, conversation: &ConversationRef, card: &AlertCard, text: &str) -> Result<(), PostError>;
}

/// [`TeamsPoster`] over the Bot Connector.
pub struct ConnectorPoster {
    connector: Arc<ConnectorClient>,
    /// How long one call (with its retries) may take before it gives up as throttled.
    budget: Duration,
}

impl ConnectorPoster {
    pub fn new(connector: Arc<ConnectorClient>, budget: Duration) -> Self {
        Self { connector, budget }
    }

    fn deadline(&self) -> Instant {
        Instant::now() + self.budget
    }
}

fn classify(e: ConnectorError) -> PostError {
    match e {
        ConnectorError::Throttled { retry_after } => PostError::Throttled(retry_after),
        ConnectorError::WritesBlocked => PostError::Blocked("MessageWritesBlocked".into()),
        ConnectorError::Forbidden { code, message } => PostError::Blocked(format!("{code}: {message}")),
        ConnectorError::NotFound { .. } => PostError::Gone,
        ConnectorError::TooLarge { .. } => PostError::TooLarge,
        ConnectorError::Unavailable(m) | ConnectorError::InvalidResponse(m) => PostError::Transient(m),
        ConnectorError::Timeout => PostError::Transient("timed out".into()),
        ConnectorError::Token(e) => PostError::Transient(e.to_string()),
        other => PostError::Refused(other.to_string()),
    }
}

#[async_trait]
impl TeamsPoster for ConnectorPoster {
    async fn post_card(
        &self,
        conversation: &ConversationRef,
        card: serde_json::Value,
    ) -> Result<PostedCard, PostError> {
        let activity = Activity::card_message(card);
        let conversation_id = conversation.conversation_id.as_str();
        if conversation.kind == ConversationKind::Channel {
            let parameters =
                ConversationParameters::channel_thread(conversation_id, conversation.tenant_id.as_str(), activity);
            let created = self
                .connector
                .create_conversation(&conversation.service_url, &parameters, self.deadline())
                .await
                .map_err(classify)?;
            let activity_id = created
                .activity_id
                .or_else(|| created.id.split_once(";messageid=").map(|(_, id)| id.to_owned()))
                .ok_or_else(|| PostError::Transient("Teams returned no activity id for the new thread".into()))?;
            return Ok(PostedCard { thread_id: created.id, activity_id });
        }
        let sent = self
            .connector
            .send_to_conversation(&conversation.service_url, conversation_id, &activity, self.deadline())
            .await
            .map_err(classify)?;
        let activity_id = sent.id.ok_or_else(|| PostError::Transient("Teams returned no activity id".into()))?;
        Ok(PostedCard { thread_id: conversation_id.to_owned(), activity_id })
    }

    async fn update_card(
        &self,
        conversation: &ConversationRef,
        card: &AlertCard,
        content: serde_json::Value,
    ) -> Result<(), PostError> {
        let mut activity = Activity::card_message(content);
        activity.id = Some(card.activity_id.clone());
        self.connector
            .update_activity(
                &conversation.service_url,
                card.thread_id.as_str(),
                &card.activity_id,
                &activity,
                self.deadline(),
            )
            .await
            .map(drop)
            .map_err(classify)
    }

    async fn reply(&self, conversation: &ConversationRef, card: &AlertCard, text: &str) -> Result<(), PostError> {
        let activity = Activity::text_message(text);
        let result = if conversation.kind == ConversationKind::Channel {
            // In a channel the thread is its own conversation: posting there replies under the card.
            self.connector
                .send_to_conversation(&conversation.service_url, card.thread_id.as_str(), &activity, self.deadline())
                .await
        } else {
            self.connector
                .reply_to_activity(
                    &conversation.service_url,
                    card.thread_id.as_str(),
                    &card.activity_id,
                    &activity,
                    self.deadline(),
                )
                .await
        };
        result.map(drop).map_err(classify)
    }
}
