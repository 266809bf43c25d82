//! The HTTP handlers: extract, call one service function, shape the answer. Nothing else.

use crate::state::AdminState;
use crate::views::{
    ConnectionList, ConnectionView, ConversationList, CreateConnection, CreateRoute, PatchConnection, RouteList,
    RouteView, TeamChannels, TeamList,
};
use crate::{BASE_PATH, connections, conversations, routes, teams};
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use httpapi::{ApiError, ApiResult, JsonBody, Path};

/// Answers that carry a secret must not be kept by any cache on the way.
const NO_STORE: (header::HeaderName, &str) = (header::CACHE_CONTROL, "no-store");

pub async fn create_connection(
    State(state): State<AdminState>,
    JsonBody(request): JsonBody<CreateConnection>,
) -> ApiResult<Response> {
    let created = connections::create(&state, request).await?;
    let location = format!("{BASE_PATH}/connections/{}", created.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], [NO_STORE], Json(created)).into_response())
}

pub async fn list_connections(State(state): State<AdminState>) -> ApiResult<Json<ConnectionList>> {
    connections::list(&state).await.map(Json)
}

pub async fn get_connection(
    State(state): State<AdminState>,
    Path(id): Path<String>,
) -> ApiResult<Json<ConnectionView>> {
    connections::get(&state, &id).await.map(Json)
}

pub async fn patch_connection(
    State(state): State<AdminState>,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<PatchConnection>,
) -> ApiResult<Json<ConnectionView>> {
    connections::patch(&state, &id, request).await.map(Json)
}

pub async fn delete_connection(State(state): State<AdminState>, Path(id): Path<String>) -> ApiResult<StatusCode> {
    connections::delete(&state, &id).await.map(|()| StatusCode::NO_CONTENT)
}

pub async fn rotate_webhook_secret(State(state): State<AdminState>, Path(id): Path<String>) -> ApiResult<Response> {
    let rotated = connections::rotate_webhook_secret(&state, &id).await?;
    Ok(([NO_STORE], Json(rotated)).into_response())
}

pub async fn list_conversations(
    State(state): State<AdminState>,
    Path(id): Path<String>,
) -> ApiResult<Json<ConversationList>> {
    conversations::list(&state, &id).await.map(Json)
}

/// The query string arrives as name/value pairs, so the service can name a bad parameter.
pub async fn list_teams(
    State(state): State<AdminState>,
    Path(id): Path<String>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> ApiResult<Json<TeamList>> {
    // Pairs of strings always decode; should that change, the refusal is still our JSON 400.
    let Query(params) = query.map_err(|e| ApiError::invalid_request(e.body_text()))?;
    teams::list(&state, &id, &params).await.map(Json)
}

pub async fn list_team_channels(
    State(state): State<AdminState>,
    Path((id, team_id)): Path<(String, String)>,
) -> ApiResult<Json<TeamChannels>> {
    teams::channels(&state, &id, &team_id).await.map(Json)
}

pub async fn create_route(
    State(state): State<AdminState>,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<CreateRoute>,
) -> ApiResult<Response> {
    let route = routes::create(&state, &id, request).await?;
    let location = format!("{BASE_PATH}/connections/{id}/routes/{}", route.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(route)).into_response())
}

pub async fn list_routes(State(state): State<AdminState>, Path(id): Path<String>) -> ApiResult<Json<RouteList>> {
    routes::list(&state, &id).await.map(Json)
}

pub async fn get_route(
    State(state): State<AdminState>,
    Path((id, route_id)): Path<(String, String)>,
) -> ApiResult<Json<RouteView>> {
    routes::get(&state, &id, &route_id).await.map(Json)
}

pub async fn delete_route(
    State(state): State<AdminState>,
    Path((id, route_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    routes::delete(&state, &id, &route_id).await.map(|()| StatusCode::NO_CONTENT)
}
