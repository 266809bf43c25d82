//! Creating chats (graph.md §2.1). Posting into them goes through the Bot Framework: Graph
//! offers no ordinary app-only permission for it.

use crate::client::{Call, TenantGraph};
use crate::error::GraphError;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ChatType {
    OneOnOne,
    Group,
    Meeting,
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Chat {
    /// `19:{a}_{b}@unq.gbl.spaces` (one-on-one) or `19:…@thread.v2` (group).
    pub id: String,
    pub topic: Option<String>,
    pub chat_type: ChatType,
    pub created_date_time: Option<String>,
    pub last_updated_date_time: Option<String>,
    pub web_url: Option<String>,
}

/// A chat to create. With app-only there is no signed-in user, so every participant is listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChat {
    chat_type: ChatType,
    topic: Option<String>,
    /// User ids or UPNs, all made owners.
    members: Vec<String>,
}

impl NewChat {
    /// One-on-one chats are unique per pair: creating one that exists returns it.
    pub fn one_on_one(a: impl Into<String>, b: impl Into<String>) -> Self {
        NewChat { chat_type: ChatType::OneOnOne, topic: None, members: vec![a.into(), b.into()] }
    }

    pub fn group(topic: Option<String>, members: Vec<String>) -> Self {
        NewChat { chat_type: ChatType::Group, topic, members }
    }
}

impl TenantGraph {
    /// `POST /chats` with `aadUserConversationMember` members. A one-on-one create is resent
    /// after a 5xx (Graph returns the existing chat); a group create is not (it would make a
    /// second chat).
    ///
    /// Permission: Chat.Create.
    pub async fn create_chat(&self, chat: &NewChat) -> Result<Chat, GraphError> {
        if chat.chat_type == ChatType::OneOnOne && chat.members.len() != 2 {
            return Err(GraphError::Invalid("a one-on-one chat has exactly two members".into()));
        }
        let members: Vec<_> = chat
            .members
            .iter()
            .map(|user| {
                json!({
                    "@odata.type": "#microsoft.graph.aadUserConversationMember",
                    "roles": ["owner"],
                    "user@odata.bind": self.user_bind(user),
                })
            })
            .collect();
        let mut body = json!({ "chatType": chat.chat_type, "members": members });
        if let Some(topic) = chat.topic.as_ref().filter(|_| chat.chat_type == ChatType::Group) {
            body["topic"] = json!(topic);
        }
        let mut call = Call::new(Method::POST, self.url("/chats", &[]), "Chat.Create").json(body);
        if chat.chat_type == ChatType::OneOnOne {
            call = call.idempotent();
        }
        self.json(call).await
    }
}
