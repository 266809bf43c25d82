//! `POST /api/messages`: the order of checks Teams and the Bot Framework expect (method, size,
//! JSON object, token, `type`), then de-duplication and dispatch by activity type.

use crate::answer::Answer;
use crate::context::Turn;
use crate::state::MessagingState;
use crate::{actions, commands, dialog, lifecycle, replies, thread_comments};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use botframework::invoke::{AdaptiveCardInvoke, Invoke, InvokeError};
use botframework::{Activity, ActivityType};
use domain::TenantId;
use domain::queue::QueueError;
use domain::store::{ClaimScope, StoreError};
use serde_json::Value;
use std::time::Duration;

/// Largest body accepted: Teams activities are far smaller (a card message is under 100 KB).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// How long an activity id is remembered. Teams re-sends within minutes; a day is ample.
const ACTIVITY_TTL: Duration = Duration::from_secs(24 * 3600);

/// Claim kind of processed activities.
const ACTIVITY_CLAIM: &str = "activity";

/// What stops a handler: a port that failed. Answered 500 so Teams retries (the activity's
/// claim is released first, so the retry is processed).
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("state store: {0}")]
    Store(#[from] StoreError),
    #[error("provisioning queue: {0}")]
    Queue(#[from] QueueError),
}

pub type HandlerResult = Result<Answer, Failure>;

fn refused(status: StatusCode, reason: &str) -> Response {
    Answer::Refused(status, reason.to_owned()).into_response()
}

/// The endpoint.
pub async fn messages(State(state): State<MessagingState>, method: Method, headers: HeaderMap, body: Body) -> Response {
    if method != Method::POST {
        return refused(StatusCode::METHOD_NOT_ALLOWED, "only POST is allowed");
    }
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > MAX_BODY_BYTES) {
        return refused(StatusCode::PAYLOAD_TOO_LARGE, "activity is larger than 256 KB");
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return refused(StatusCode::PAYLOAD_TOO_LARGE, "activity is larger than 256 KB");
    };
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&bytes) else {
        return refused(StatusCode::BAD_REQUEST, "body is not a JSON object");
    };
    // Read only to be checked against the token; nothing else in the body is looked at yet.
    let service_url = body.get("serviceUrl").and_then(Value::as_str).unwrap_or_default();
    let channel_id = body.get("channelId").and_then(Value::as_str).unwrap_or_default();
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let identity = match state.inner.validator.validate(authorization, service_url, channel_id).await {
        Ok(identity) => identity,
        Err(e) => {
            tracing::warn!(reason = %e, "activity refused: token");
            return refused(StatusCode::UNAUTHORIZED, &e.to_string());
        }
    };
    if channel_id != "msteams" {
        tracing::warn!(channel_id, "activity refused: not from Teams");
        return refused(StatusCode::UNAUTHORIZED, "channelId is not msteams");
    }
    if !body.contains_key("type") {
        return refused(StatusCode::BAD_REQUEST, "activity has no type");
    }
    let activity: Activity = match serde_json::from_value(Value::Object(body)) {
        Ok(a) => a,
        Err(_) => return refused(StatusCode::BAD_REQUEST, "activity is malformed"),
    };
    let Some(tenant) = activity.tenant_id().and_then(|t| TenantId::parse(t).ok()) else {
        tracing::info!(kind = activity.kind.as_str(), "activity without a tenant ignored");
        return no_tenant(&activity).into_response();
    };
    telemetry::record_tenant(tenant.as_str());
    let connection = match state.inner.store.connection_for_tenant(&tenant).await {
        Ok(c) => c,
        Err(e) => return internal(Failure::Store(e)),
    };
    let turn = Turn { activity, tenant, service_url: identity.service_url, connection };
    // Dialogs answer `{"task": …}`, not an invoke response: claimed the same way, answered apart.
    if dialog::handles(&turn.activity) {
        return match process_as(&state, &turn, |first| dialog::on_task(&state, &turn, first)).await {
            Ok(response) => response,
            Err(failure) => internal(failure),
        };
    }
    match process(&state, &turn).await {
        Ok(answer) => answer.into_response(),
        Err(failure) => internal(failure),
    }
}

fn internal(failure: Failure) -> Response {
    tracing::error!(error = %failure, "activity failed");
    refused(StatusCode::INTERNAL_SERVER_ERROR, "temporary failure, please retry")
}

fn no_tenant(activity: &Activity) -> Answer {
    match activity.kind {
        ActivityType::Invoke => Answer::invoke_error("NoTenant", "Teams did not say which organisation this is."),
        _ => Answer::Ok,
    }
}

/// Claims the activity (first delivery → `true`), then dispatches. A failed first attempt
/// gives the claim back so Teams' retry is processed.
async fn process(state: &MessagingState, turn: &Turn) -> HandlerResult {
    let key =
        turn.activity.id.as_deref().filter(|id| !id.is_empty()).map(|id| format!("{}#{id}", turn.conversation_id()));
    let scope = ClaimScope::Tenant(turn.tenant.clone());
    let first = match &key {
        Some(key) => state.inner.store.claim(&scope, ACTIVITY_CLAIM, key, ACTIVITY_TTL).await?,
        // Without an id there is nothing to de-duplicate on.
        None => true,
    };
    if !first {
        tracing::info!(kind = turn.activity.kind.as_str(), "re-delivered activity: no second effect");
    }
    let result = dispatch(state, turn, first).await;
    if result.is_err()
        && first
        && let Some(key) = &key
        && let Err(e) = state.inner.store.release(&scope, ACTIVITY_CLAIM, key).await
    {
        tracing::error!(error = %e, "could not release the activity claim; Teams' retry will be ignored");
    }
    result
}

/// [`process`] for answers that are not an [`Answer`] (dialogs): the same claim, the same
/// release when the first attempt fails.
async fn process_as<T, F>(state: &MessagingState, turn: &Turn, run: impl FnOnce(bool) -> F) -> Result<T, Failure>
where
    F: Future<Output = Result<T, Failure>>,
{
    let key =
        turn.activity.id.as_deref().filter(|id| !id.is_empty()).map(|id| format!("{}#{id}", turn.conversation_id()));
    let scope = ClaimScope::Tenant(turn.tenant.clone());
    let first = match &key {
        Some(key) => state.inner.store.claim(&scope, ACTIVITY_CLAIM, key, ACTIVITY_TTL).await?,
        None => true,
    };
    let result = run(first).await;
    if result.is_err()
        && first
        && let Some(key) = &key
        && let Err(e) = state.inner.store.release(&scope, ACTIVITY_CLAIM, key).await
    {
        tracing::error!(error = %e, "could not release the activity claim; Teams' retry will be ignored");
    }
    result
}

async fn dispatch(state: &MessagingState, turn: &Turn, first: bool) -> HandlerResult {
    match &turn.activity.kind {
        ActivityType::Invoke => invoke(state, turn, first).await,
        // Re-deliveries of anything but invokes are answered without a second effect.
        _ if !first => Ok(Answer::Ok),
        ActivityType::Message if submitted_card_action(turn).is_some() => on_submit_fallback(state, turn).await,
        ActivityType::Message if thread_comments::applies(turn) => thread_comments::on_reply(state, turn).await,
        ActivityType::Message => commands::on_message(state, turn).await,
        ActivityType::ConversationUpdate => lifecycle::on_conversation_update(state, turn).await,
        ActivityType::InstallationUpdate => lifecycle::on_installation_update(state, turn).await,
        _ => Ok(Answer::Ok),
    }
}

/// A card's `Action.Submit` fallback (clients that cannot run `Action.Execute`) arrives as a
/// message whose `value` is the action's data, verb included.
fn submitted_card_action(turn: &Turn) -> Option<AdaptiveCardInvoke> {
    let value = turn.activity.value.as_ref()?;
    let verb = value.get(cards::actions::DATA_VERB)?.as_str()?;
    cards::Verb::parse(verb)?;
    Some(AdaptiveCardInvoke {
        action: botframework::invoke::ExecuteAction {
            kind: "Action.Submit".into(),
            verb: Some(verb.to_owned()),
            data: value.clone(),
            ..Default::default()
        },
        ..Default::default()
    })
}

/// Runs the fallback like the `Action.Execute` it stands for. A message has no inline answer:
/// the card is updated for everyone by the action itself, and a refusal is posted as a reply.
async fn on_submit_fallback(state: &MessagingState, turn: &Turn) -> HandlerResult {
    let Some(action) = submitted_card_action(turn) else {
        return Ok(Answer::Ok);
    };
    let answer = actions::execute(state, turn, &action, true).await?;
    if let Answer::Card(response) | Answer::CardAt200(response) = &answer
        && response.kind == botframework::invoke::response_type::ERROR
    {
        let message = response.value.get("message").and_then(|m| m.as_str()).unwrap_or("The action failed.");
        replies::send_text(state, &turn.service_url, turn.conversation_id(), message).await;
    }
    Ok(Answer::Ok)
}

async fn invoke(state: &MessagingState, turn: &Turn, first: bool) -> HandlerResult {
    match turn.activity.invoke() {
        Ok(Invoke::AdaptiveCardAction(action)) => actions::execute(state, turn, &action, first).await,
        Ok(Invoke::Other(name)) => Ok(Answer::not_implemented(&name)),
        Ok(Invoke::TaskFetch(_) | Invoke::TaskSubmit(_)) => Ok(Answer::not_implemented("task")),
        Ok(Invoke::ComposeExtensionQuery(_)) => Ok(Answer::not_implemented("composeExtension/query")),
        Err(InvokeError::BadValue { name }) => {
            Ok(Answer::invoke_error("BadRequest", format!("The '{name}' request is missing or malformed.")))
        }
        Err(InvokeError::NotInvoke) => Ok(Answer::Ok),
    }
}
