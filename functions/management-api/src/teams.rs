//! The teams directory of a connection's tenant: every team and channel, as the directory sync
//! last listed them from Graph, marked with where the bot is installed. The admin UI picks
//! route targets from it; a channel the bot is not in cannot be one yet. The directory sync
//! writes it; this side only reads.

use crate::connections;
use crate::state::AdminState;
use crate::validate;
use crate::views::{ChannelView, TeamChannels, TeamList, TeamSummary, TeamView};
use domain::GroupId;
use domain::model::{Connection, ConversationRef, DirectoryChannel};
use domain::store::StoreError;
use httpapi::{ApiError, ApiResult};

/// One page of the tenant's teams, in the store's order (by group id).
pub async fn list(state: &AdminState, connection_id: &str, params: &[(String, String)]) -> ApiResult<TeamList> {
    let connection = connections::load(state, connection_id).await?;
    let page = validate::page_request(params)?;
    let tenant = &connection.tenant_id;
    let resumed = page.cursor.is_some();
    let found = match state.store.list_teams(tenant, page.limit, page.cursor).await {
        Ok(found) => found,
        // A read conflicts only over its cursor: malformed, or made for another listing (another
        // tenant's, too), which the store refuses without reading anything.
        Err(StoreError::Conflict(_)) if resumed => {
            return Err(ApiError::invalid(
                "cursor",
                "is not a cursor of this connection's teams; pass the previous page's next as it is, or leave it out \
                 to start from the first page",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let installed = state.store.list_conversations(tenant).await?;
    let teams = found
        .items
        .iter()
        .map(|team| TeamView::new(team, installed.iter().any(|c| in_team(c, &team.group_id))))
        .collect();
    Ok(TeamList { teams, next: found.next })
}

/// A team's channels, General first, then by name, each marked with the bot's conversation there.
pub async fn channels(state: &AdminState, connection_id: &str, team_id: &str) -> ApiResult<TeamChannels> {
    let connection = connections::load(state, connection_id).await?;
    let unknown = || no_team(&connection, team_id);
    // An id that cannot be valid cannot name a team.
    let group = GroupId::parse(team_id).map_err(|_| unknown())?;
    let team = state.store.get_team(&connection.tenant_id, &group).await?.ok_or_else(unknown)?;
    let installed = state.store.list_conversations(&connection.tenant_id).await?;
    let mut channels: Vec<&DirectoryChannel> = team.channels.iter().collect();
    channels.sort_by_cached_key(|c| sort_key(c));
    let channels = channels
        .into_iter()
        .map(|channel| ChannelView::new(channel, installed.iter().find(|c| c.conversation_id.as_str() == channel.id)))
        .collect();
    Ok(TeamChannels { team: TeamSummary::from(&team), channels })
}

/// Group ids are GUIDs, which Teams and Graph may spell in different cases.
fn in_team(conversation: &ConversationRef, group: &GroupId) -> bool {
    let group_of = conversation.team.as_ref().and_then(|t| t.aad_group_id.as_deref());
    group_of.is_some_and(|g| g.eq_ignore_ascii_case(group.as_str()))
}

/// General first, then names case-insensitively, as Teams' own list reads.
fn sort_key(channel: &DirectoryChannel) -> (bool, String, String) {
    let name = channel.display_name.to_lowercase();
    (name != "general", name, channel.id.clone())
}

fn no_team(connection: &Connection, raw: &str) -> ApiError {
    ApiError::not_found(format!(
        "connection {} has no team {raw} in its teams directory; teams appear here after the directory sync has \
         listed them (it runs every 15 minutes), so a new team may take that long to show",
        connection.id
    ))
}
