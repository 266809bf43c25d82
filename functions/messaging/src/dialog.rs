//! "Alert an on-call engineer": the `alert` command posts a card whose button opens a dialog
//! (`task/fetch`); the dialog asks for the problem area (an alert source or an escalation
//! policy), a summary and details; `task/submit` creates the alert in ilert (`ManualAlert`),
//! closes the dialog and posts the alert's card into the conversation.
//!
//! Only Teams users matched to an ilert user may create alerts. The alert is created by the
//! connection's API user; the Teams user is named in the alert's details.

use crate::actions::{self, ActionError};
use crate::context::Turn;
use crate::handler::Failure;
use crate::identity;
use crate::replies;
use crate::state::MessagingState;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use botframework::Activity;
use botframework::invoke::{Invoke, TaskModuleRequest, TaskModuleResponse};
use chrono::Utc;
use domain::model::{AlertCard, Connection, UserMapping};
use domain::{AlertId, ConversationId};
use futures::TryStreamExt;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The dialog's title and heading (ilert's own wording).
pub const TITLE: &str = "Alert an on-call engineer";
/// `data.dialog` of our dialog's buttons.
pub const DIALOG: &str = "createAlert";
/// Input ids of the dialog.
pub mod input {
    pub const TARGET: &str = "target";
    pub const SUMMARY: &str = "summary";
    pub const DETAILS: &str = "details";
}
const NOT_CONNECTED: &str = "This tenant is not connected to ilert: an ilert admin connects it \
     (POST /admin/v1/connections).";
const SELECTION_HEADING: &str = "Please choose a problem area below to report an incident.";
const SUMMARY_MAX_CHARS: usize = 255;
const DETAILS_MAX_CHARS: usize = 3000;
/// Up to this many choices are shown as radio buttons, more as a drop-down.
const EXPANDED_CHOICES: usize = 8;
const POST_BUDGET: Duration = Duration::from_secs(4);

/// Whether the activity is a dialog invoke this module answers (`task/fetch`, `task/submit`
/// with a parseable value; a malformed value is left to the handler's 400).
pub fn handles(activity: &Activity) -> bool {
    matches!(activity.invoke(), Ok(Invoke::TaskFetch(_) | Invoke::TaskSubmit(_)))
}

/// The `alert` command: posts the card whose button opens the dialog.
pub async fn on_command(state: &MessagingState, turn: &Turn) {
    let Some(connection) = &turn.connection else { return };
    replies::send_card(state, &turn.service_url, turn.conversation_id(), launcher_card(connection)).await;
}

/// A card with one button, "Create alert", that opens the dialog (`task/fetch`).
pub fn launcher_card(connection: &Connection) -> Value {
    json!({
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "body": [
            {"type": "TextBlock", "text": TITLE, "weight": "Bolder", "size": "Medium", "wrap": true},
            {"type": "TextBlock", "text": "Open the dialog to choose a problem area and describe what is wrong; \
                ilert alerts whoever is on call.", "wrap": true}
        ],
        "actions": [{
            "type": "Action.Submit",
            "title": "Create alert",
            "data": {"msteams": {"type": "task/fetch"}, "dialog": DIALOG, "connection": connection.id.as_str()}
        }]
    })
}

/// Answers `task/fetch` and `task/submit`. `first` is false for a re-delivered invoke: a
/// re-delivered submit creates nothing.
pub async fn on_task(state: &MessagingState, turn: &Turn, first: bool) -> Result<Response, Failure> {
    let answer = match turn.activity.invoke() {
        Ok(Invoke::TaskFetch(request)) => fetch(state, turn, &request).await?,
        Ok(Invoke::TaskSubmit(request)) if first => submit(state, turn, &request).await?,
        Ok(Invoke::TaskSubmit(_)) => TaskModuleResponse::message("This alert was already created."),
        _ => TaskModuleResponse::message("The ilert bot could not read this dialog request."),
    };
    Ok((StatusCode::OK, Json(answer)).into_response())
}

/// The checks both invokes share: a connection, our dialog, the card's connection, a matched
/// user. `Err` is the message that closes the dialog.
async fn preflight<'a>(
    state: &MessagingState,
    turn: &'a Turn,
    data: &Value,
) -> Result<(&'a Connection, UserMapping), String> {
    let Some(connection) = &turn.connection else {
        return Err(NOT_CONNECTED.into());
    };
    if data.get("dialog").and_then(Value::as_str).is_some_and(|d| d != DIALOG) {
        return Err("This dialog is not one the ilert bot knows.".into());
    }
    if data.get("connection").and_then(Value::as_str).is_some_and(|c| c != connection.id.as_str()) {
        return Err("This dialog belongs to another ilert account than this tenant's.".into());
    }
    let mapping = identity::matched_user(state, turn, connection).await.map_err(|e| e.to_string())?;
    Ok((connection, mapping))
}

async fn fetch(
    state: &MessagingState,
    turn: &Turn,
    request: &TaskModuleRequest,
) -> Result<TaskModuleResponse, Failure> {
    let (connection, _) = match preflight(state, turn, &request.data).await {
        Ok(ok) => ok,
        Err(message) => return Ok(TaskModuleResponse::message(message)),
    };
    Ok(match choices(state, connection).await {
        Ok(choices) => dialog(connection, &choices, &Value::Null, None),
        Err(message) => TaskModuleResponse::message(message),
    })
}

async fn submit(
    state: &MessagingState,
    turn: &Turn,
    request: &TaskModuleRequest,
) -> Result<TaskModuleResponse, Failure> {
    let data = &request.data;
    let (connection, mapping) = match preflight(state, turn, data).await {
        Ok(ok) => ok,
        Err(message) => return Ok(TaskModuleResponse::message(message)),
    };
    let choices = match choices(state, connection).await {
        Ok(choices) => choices,
        Err(message) => return Ok(TaskModuleResponse::message(message)),
    };
    let again = |error: &str| Ok(dialog(connection, &choices, data, Some(error)));
    let summary = text(data, input::SUMMARY, SUMMARY_MAX_CHARS);
    if summary.is_empty() {
        return again("Write a summary of the problem.");
    }
    let Some(mut alert) = choices.manual_alert(data.get(input::TARGET).and_then(Value::as_str).unwrap_or_default())
    else {
        return again("Choose a problem area.");
    };
    alert.summary = summary;
    let who = match &mapping.display_name {
        Some(name) => format!("{name} ({})", mapping.email),
        None => mapping.email.clone(),
    };
    let details = text(data, input::DETAILS, DETAILS_MAX_CHARS);
    let signature = format!("Created in Microsoft Teams by {who}.");
    alert.details = Some(if details.is_empty() { signature } else { format!("{details}\n\n{signature}") });
    let client = match identity::ilert_client(state, connection).await {
        Ok(client) => client,
        Err(e) => return Ok(TaskModuleResponse::message(e.to_string())),
    };
    let created = match client.create_alert(&alert).await {
        Ok(created) => created,
        Err(e) => return again(&ActionError::Ilert(e).to_string()),
    };
    let posted = post_card(state, turn, connection, &created).await;
    let mut message = format!("Alert {} created in ilert: {}", created.id, created.summary);
    if !posted {
        message.push_str(" (its card could not be posted here; it is in ilert)");
    }
    Ok(TaskModuleResponse::message(message))
}

/// Alert sources and escalation policies the connection's API user sees.
pub struct Choices {
    pub sources: Vec<ilert::AlertSource>,
    pub policies: Vec<ilert::EscalationPolicy>,
}

impl Choices {
    /// The alert for a `target` choice (`source:{id}` or `policy:{id}`), summary still empty.
    /// A policy is reached through an alert source that escalates to it (else the first
    /// source), with the policy set as the alert's own.
    pub fn manual_alert(&self, target: &str) -> Option<ilert::ManualAlert> {
        let (kind, id) = target.split_once(':')?;
        let id: i64 = id.parse().ok()?;
        match kind {
            "source" => self.sources.iter().find(|s| s.id == id).map(|s| ilert::ManualAlert::new(s.id, "")),
            "policy" => {
                self.policies.iter().find(|p| p.id == id)?;
                let source = self
                    .sources
                    .iter()
                    .find(|s| s.escalation_policy.as_ref().is_some_and(|p| p.id == id))
                    .or_else(|| self.sources.first())?;
                let mut alert = ilert::ManualAlert::new(source.id, "");
                alert.escalation_policy_id = Some(id);
                Some(alert)
            }
            _ => None,
        }
    }

    fn cards_choices(&self) -> Vec<Value> {
        let sources = self.sources.iter().map(|s| json!({"title": s.name, "value": format!("source:{}", s.id)}));
        let policies = self
            .policies
            .iter()
            .map(|p| json!({"title": format!("{} (escalation policy)", p.name), "value": format!("policy:{}", p.id)}));
        sources.chain(policies).collect()
    }
}

async fn choices(state: &MessagingState, connection: &Connection) -> Result<Choices, String> {
    let client = identity::ilert_client(state, connection).await.map_err(|e| e.to_string())?;
    let ilert_error = |e| ActionError::Ilert(e).to_string();
    let sources: Vec<ilert::AlertSource> =
        client.list_alert_sources().stream().try_collect().await.map_err(ilert_error)?;
    let policies: Vec<ilert::EscalationPolicy> =
        client.list_escalation_policies().stream().try_collect().await.map_err(ilert_error)?;
    if sources.is_empty() {
        return Err("ilert has no alert source this connection may create alerts in: ask your ilert admin.".into());
    }
    Ok(Choices { sources, policies })
}

/// The dialog, with the values of `previous` (a submit that was refused) and an error line.
pub fn dialog(connection: &Connection, choices: &Choices, previous: &Value, error: Option<&str>) -> TaskModuleResponse {
    let options = choices.cards_choices();
    let kept = |id: &str| previous.get(id).and_then(Value::as_str).unwrap_or_default().to_owned();
    let target = Some(kept(input::TARGET))
        .filter(|t| options.iter().any(|o| o["value"] == t.as_str()))
        .or_else(|| options.first().and_then(|o| o["value"].as_str()).map(str::to_owned))
        .unwrap_or_default();
    let mut body =
        vec![json!({"type": "TextBlock", "text": TITLE, "weight": "Bolder", "size": "Medium", "wrap": true})];
    if let Some(error) = error {
        body.push(json!({"type": "TextBlock", "text": error, "color": "Attention", "wrap": true}));
    }
    body.push(json!({"type": "TextBlock", "text": SELECTION_HEADING, "wrap": true}));
    body.push(json!({
        "type": "Input.ChoiceSet", "id": input::TARGET, "isRequired": true,
        "errorMessage": "Choose a problem area.",
        "style": if options.len() <= EXPANDED_CHOICES { "expanded" } else { "compact" },
        "value": target, "choices": options
    }));
    body.push(json!({
        "type": "Input.Text", "id": input::SUMMARY, "label": "Alert summary", "isRequired": true,
        "errorMessage": "Write a summary of the problem.", "maxLength": SUMMARY_MAX_CHARS,
        "value": kept(input::SUMMARY)
    }));
    body.push(json!({
        "type": "Input.Text", "id": input::DETAILS, "label": "Alert details", "isMultiline": true,
        "maxLength": DETAILS_MAX_CHARS, "value": kept(input::DETAILS)
    }));
    let card = json!({
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "body": body,
        "actions": [{
            "type": "Action.Submit", "title": "Create alert",
            "data": {"dialog": DIALOG, "connection": connection.id.as_str()}
        }]
    });
    TaskModuleResponse::card(TITLE, card)
}

fn text(data: &Value, id: &str, max: usize) -> String {
    data.get(id).and_then(Value::as_str).unwrap_or_default().trim().chars().take(max).collect()
}

/// Posts the new alert's card into the conversation (a new thread in a channel) and records
/// it, so later events update it and replies in its thread become comments. `false` when
/// the card could not be posted.
async fn post_card(state: &MessagingState, turn: &Turn, connection: &Connection, alert: &ilert::Alert) -> bool {
    let Some(conversation) = turn.base_conversation() else { return false };
    let Ok(id) = AlertId::parse(alert.id.to_string()) else { return false };
    let snapshot = serde_json::to_value(alert).unwrap_or(Value::Null);
    let record = match actions::save_snapshot(state, connection, &id, alert).await {
        Ok(record) => Some(record),
        Err(e) => {
            // The alert exists in ilert; the card is still worth posting.
            tracing::warn!(error = %e, "could not record the created alert");
            None
        }
    };
    let view = cards::AlertView::from_json(&snapshot).unwrap_or_else(|_| cards::AlertView::new(id.as_str()));
    let mut ctx = cards::CardContext {
        alert_url: snapshot.get("alertUrl").and_then(Value::as_str).map(str::to_owned),
        ..Default::default()
    };
    ctx.action_data.insert("connection".into(), connection.id.as_str().into());
    let card = cards::render_alert_card(&view, &ctx);
    let deadline = Instant::now() + POST_BUDGET;
    let sent = match state
        .inner
        .connector
        .send_to_conversation(&turn.service_url, conversation.as_str(), &Activity::card_message(card), deadline)
        .await
    {
        Ok(sent) => sent,
        Err(e) => {
            tracing::warn!(error = %e, "could not post the created alert's card");
            return false;
        }
    };
    let (Some(activity_id), Some(record)) = (sent.id, record) else { return true };
    let thread =
        if turn.is_channel() { format!("{conversation};messageid={activity_id}") } else { conversation.to_string() };
    let Ok(thread_id) = ConversationId::parse(thread) else { return true };
    let card = AlertCard {
        connection_id: connection.id.clone(),
        alert_id: id,
        conversation_id: conversation,
        thread_id,
        activity_id,
        rendered_revision: record.version,
        updated_at: Utc::now(),
        version: 0,
    };
    if let Err(e) = state.inner.store.save_card(&card).await {
        tracing::warn!(error = %e, "could not record the created alert's card");
    }
    true
}
