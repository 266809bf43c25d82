//! Where the bot is installed for a connection's tenant: what the admin UI offers as route
//! targets. The messaging function records these as Teams tells it; this side only reads.

use crate::connections;
use crate::state::AdminState;
use crate::views::{ConversationList, ConversationView};
use domain::model::{ConversationKind, ConversationRef};
use httpapi::ApiResult;

pub async fn list(state: &AdminState, connection_id: &str) -> ApiResult<ConversationList> {
    let connection = connections::load(state, connection_id).await?;
    let mut found = state.store.list_conversations(&connection.tenant_id).await?;
    found.sort_by_cached_key(sort_key);
    Ok(ConversationList { conversations: found.iter().map(ConversationView::from).collect() })
}

/// Channels first, grouped by team, then group chats, then personal chats; names
/// case-insensitively, so a picker reads like Teams' own list.
fn sort_key(c: &ConversationRef) -> (u8, String, String, String) {
    let kind = match c.kind {
        ConversationKind::Channel => 0,
        ConversationKind::GroupChat => 1,
        ConversationKind::Personal => 2,
    };
    let team = c.team.as_ref().and_then(|t| t.name.clone()).unwrap_or_default().to_lowercase();
    let name = c.channel_name.clone().or_else(|| c.title.clone()).unwrap_or_default().to_lowercase();
    (kind, team, name, c.conversation_id.to_string())
}
