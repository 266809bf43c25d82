//! Routes: which of a connection's alerts go to which conversation.

use crate::connections;
use crate::state::AdminState;
use crate::validate;
use crate::views::{ARCHIVED_REASON, CreateRoute, RouteList, RouteView};
use chrono::Utc;
use domain::model::{Connection, ConversationStatus, Route};
use domain::{ConversationId, RouteId};
use httpapi::{ApiError, ApiResult};

pub async fn create(state: &AdminState, connection_id: &str, request: CreateRoute) -> ApiResult<RouteView> {
    let connection = connections::load(state, connection_id).await?;
    let conversation_id = validate::conversation_id(&request.conversation_id)?;
    let alert_source_ids = validate::ilert_ids("alertSourceIds", request.alert_source_ids)?;
    let escalation_policy_ids = validate::ilert_ids("escalationPolicyIds", request.escalation_policy_ids)?;
    let priorities = validate::selectors("priorities", request.priorities)?;
    let events = validate::selectors("events", request.events)?;
    check_postable(state, &connection, &conversation_id).await?;

    let route = Route {
        id: RouteId::generate(),
        connection_id: connection.id,
        conversation_id,
        alert_source_ids,
        escalation_policy_ids,
        priorities,
        events,
        notify_responders: request.notify_responders,
        created_at: Utc::now(),
    };
    state.store.create_route(&route).await?;
    tracing::info!(route_id = %route.id, conversation_id = %route.conversation_id, "route created");
    Ok(RouteView::from(&route))
}

/// A route may only point where the bot is installed for this tenant and Teams accepts its
/// posts; otherwise every delivery would fail, so the admin is told now, with what to do.
async fn check_postable(state: &AdminState, connection: &Connection, id: &ConversationId) -> ApiResult<()> {
    let refuse = |reason: String| Err(ApiError::invalid("conversationId", reason));
    match state.store.get_conversation(&connection.tenant_id, id).await? {
        None => refuse("the bot is not installed in this conversation; add it in Teams first".into()),
        Some(c) => match c.status {
            ConversationStatus::Active => Ok(()),
            ConversationStatus::Archived => refuse(format!("{ARCHIVED_REASON}; restore the team in Teams first")),
            ConversationStatus::Unusable { reason } => refuse(format!(
                "Teams no longer lets the bot post here ({reason}); add the bot to this conversation again in Teams \
                 first"
            )),
        },
    }
}

pub async fn list(state: &AdminState, connection_id: &str) -> ApiResult<RouteList> {
    let connection = connections::load(state, connection_id).await?;
    let mut routes = state.store.list_routes(&connection.id).await?;
    routes.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.id.cmp(&b.id)));
    Ok(RouteList { routes: routes.iter().map(RouteView::from).collect() })
}

pub async fn get(state: &AdminState, connection_id: &str, route_id: &str) -> ApiResult<RouteView> {
    let connection = connections::load(state, connection_id).await?;
    let id = parse_route_id(&connection, route_id)?;
    let route = state.store.get_route(&connection.id, &id).await?.ok_or_else(|| no_route(&connection, route_id))?;
    Ok(RouteView::from(&route))
}

pub async fn delete(state: &AdminState, connection_id: &str, route_id: &str) -> ApiResult<()> {
    let connection = connections::load(state, connection_id).await?;
    let id = parse_route_id(&connection, route_id)?;
    if !state.store.delete_route(&connection.id, &id).await? {
        return Err(no_route(&connection, route_id));
    }
    tracing::info!(route_id = %id, "route deleted");
    Ok(())
}

fn parse_route_id(connection: &Connection, raw: &str) -> ApiResult<RouteId> {
    RouteId::parse(raw).map_err(|_| no_route(connection, raw))
}

fn no_route(connection: &Connection, raw: &str) -> ApiError {
    ApiError::not_found(format!("connection {} has no route {raw}", connection.id))
}
