//! The endpoint ilert's custom webhook alert action posts to:
//! `POST /webhooks/ilert/{connectionId}`.
//!
//! It authenticates the connection's webhook secret (HTTP Basic password, `Authorization:
//! Bearer`, or an `X-Webhook-Secret` header, compared by hash in constant time), validates the
//! body, and queues the event; it answers 2xx only once the queue has it, and 5xx otherwise so
//! ilert may retry. Everything after that happens in the notifier. This crate knows HTTP and
//! the queue port; it knows nothing of Teams.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use domain::ConnectionId;
use domain::queue::Queue;
use domain::store::{ClaimScope, Store};
use httpapi::ApiError;
use notifications::ingest::{self, Ignored};
use notifications::{EventJob, NotificationJob};
use std::sync::Arc;

/// ilert's alert bodies are small; anything this large is not one.
pub const BODY_LIMIT: usize = 256 * 1024;

/// Custom headers a webhook secret may come in, for operators who prefer a header to
/// credentials in the URL.
pub const SECRET_HEADERS: [&str; 2] = ["x-webhook-secret", "x-ilert-webhook-secret"];

#[derive(Clone)]
pub struct WebhookState {
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn Queue>,
}

pub fn router(state: WebhookState) -> Router {
    Router::new()
        .route("/webhooks/ilert/{connection_id}", post(receive).fallback(httpapi::method_not_allowed))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(httpapi::RequestSpanLayer::new("ilert-webhook"))
        .with_state(state)
}

/// The secret the caller presented, wherever it put it.
fn presented_secret(headers: &HeaderMap) -> Option<String> {
    for name in SECRET_HEADERS {
        if let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) {
            return Some(v.trim().to_owned());
        }
    }
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, value) = auth.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(value.trim().to_owned());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD.decode(value.trim()).ok()?;
        let text = String::from_utf8(decoded).ok()?;
        // `user:password`; ilert puts the credentials in the URL and the user part is free.
        return text.split_once(':').map(|(_, password)| password.to_owned());
    }
    None
}

fn accepted(status: StatusCode, body: serde_json::Value) -> Response {
    (status, axum::Json(body)).into_response()
}

async fn receive(
    State(state): State<WebhookState>,
    httpapi::Path(connection_id): httpapi::Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    // Unknown connection and wrong secret answer alike, so the endpoint reveals nothing.
    let unauthorized = || ApiError::Unauthorized;
    let connection_id = ConnectionId::parse(connection_id).map_err(|_| unauthorized())?;
    let secret = presented_secret(&headers).ok_or_else(unauthorized)?;
    let connection = state
        .store
        .get_connection(&connection_id)
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?
        .ok_or_else(unauthorized)?;
    telemetry::record_tenant(connection.tenant_id.as_str());
    if !connection.webhook_secret_matches(&secret) {
        tracing::warn!(connection = %connection_id, "webhook with a wrong secret refused");
        return Err(unauthorized());
    }

    let hook = ilert::parse_webhook(&body).map_err(|e| match e.field() {
        Some(field) => ApiError::invalid(field.to_owned(), e.to_string()),
        None => ApiError::invalid_request(e.to_string()),
    })?;
    let raw: serde_json::Value = serde_json::from_slice(&body).map_err(|e| ApiError::invalid_request(e.to_string()))?;
    let event = match ingest::normalize(&hook, raw) {
        Ok(event) => event,
        Err(Ignored::EventType(event_type)) => {
            tracing::info!(event_type, alert = hook.id, "ilert event type not posted to Teams: recorded and ignored");
            return Ok(accepted(
                StatusCode::ACCEPTED,
                serde_json::json!({ "status": "ignored", "reason": format!("event type {event_type} is not posted to Teams") }),
            ));
        }
    };
    let scope = ClaimScope::Connection(connection_id.clone());
    if state
        .store
        .is_claimed(&scope, "ilert-event", &event.key)
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?
    {
        return Ok(accepted(StatusCode::OK, serde_json::json!({ "status": "duplicate", "eventKey": event.key })));
    }
    let key = event.key.clone();
    let job = NotificationJob::Event(EventJob { connection_id, event });
    // Durable before we answer: once the queue has it, it will be processed.
    state
        .queue
        .send(job.message())
        .await
        .map_err(|e| ApiError::Unavailable(format!("could not queue the event: {e}")))?;
    tracing::info!(event_key = key, alert = hook.id, event_type = %hook.event_type, "ilert event queued");
    Ok(accepted(StatusCode::ACCEPTED, serde_json::json!({ "status": "accepted", "eventKey": key })))
}
