//! Card actions (`adaptiveCard/action`, `Action.Execute`): accept, resolve, reassign, comment,
//! refresh, and the provisioning requests. The invoking user gets the refreshed card in the
//! HTTP answer; everyone else sees it through a `PUT` of the card message.

use crate::answer::Answer;
use crate::context::Turn;
use crate::handler::{Failure, HandlerResult};
use crate::identity::{self, Refusal};
use crate::jobs::{ActingUser, ProvisioningJob, ProvisioningKind};
use crate::state::MessagingState;
use botframework::Activity;
use botframework::invoke::{AdaptiveCardInvoke, AdaptiveCardInvokeResponse};
use cards::{Notice, ReassignTarget, Verb};
use chrono::Utc;
use domain::AlertId;
use domain::alerts::AlertEvent;
use domain::model::{AlertCard, AlertEventKind, AlertFacts, AlertRecord, AlertStatus, Connection};
use domain::store::StoreError;
use ilert::{Assignee, IlertError};
use serde_json::Value;
use std::time::{Duration, Instant};

const WRITE_ATTEMPTS: usize = 5;
const UPDATE_BUDGET: Duration = Duration::from_secs(4);

/// Why an action did not happen; `Display` is what the user reads.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("This alert was already resolved")]
    AlreadyResolved,
    #[error("{0}")]
    BadInput(String),
    #[error("{}", ilert_message(.0))]
    Ilert(#[from] IlertError),
    #[error(transparent)]
    Failed(#[from] Failure),
}

impl From<StoreError> for ActionError {
    fn from(e: StoreError) -> Self {
        ActionError::Failed(Failure::Store(e))
    }
}

fn ilert_message(e: &IlertError) -> String {
    match e {
        IlertError::InvalidApiKey => {
            "The ilert API key of this connection is invalid: ask your ilert admin to renew it.".into()
        }
        IlertError::NotFound { .. } => "ilert does not know this alert (or this connection may not see it).".into(),
        IlertError::Forbidden { .. } => {
            "ilert refused: the connection's API user lacks the permission for this.".into()
        }
        IlertError::Throttled { .. } | IlertError::Transient { .. } => {
            "ilert is not answering right now; please try again in a minute.".into()
        }
        IlertError::BadRequest { message } | IlertError::Rejected { message, .. } => {
            format!("ilert refused: {message}")
        }
        other => format!("ilert refused: {other}"),
    }
}

impl ActionError {
    fn code(&self) -> &'static str {
        match self {
            ActionError::Refused(r) => r.code(),
            ActionError::AlreadyResolved => "AlreadyResolved",
            ActionError::BadInput(_) => "BadRequest",
            ActionError::Ilert(_) => "IlertRefused",
            ActionError::Failed(_) => "Unavailable",
        }
    }

    pub fn into_answer(self) -> HandlerResult {
        match self {
            ActionError::Failed(failure) => Err(failure),
            other => Ok(Answer::invoke_error(other.code(), other.to_string())),
        }
    }
}

/// The numeric ilert id and our id of the alert in `data.alertId` (string or number).
pub fn alert_id(data: &Value) -> Option<(i64, AlertId)> {
    let raw = data.get(cards::actions::DATA_ALERT_ID)?;
    let number = raw.as_i64().or_else(|| raw.as_str().and_then(|s| s.trim().parse().ok()))?;
    Some((number, AlertId::parse(number.to_string()).ok()?))
}

/// `adaptiveCard/action`. `first` is false for a re-delivered invoke: it gets the current card
/// and changes nothing.
pub async fn execute(state: &MessagingState, turn: &Turn, invoke: &AdaptiveCardInvoke, first: bool) -> HandlerResult {
    let data = &invoke.action.data;
    let Some(verb) = Verb::of_action(invoke.action.verb.as_deref(), data) else {
        return Ok(Answer::invoke_error("UnknownAction", "This card action is not one the ilert bot knows."));
    };
    let Some(connection) = &turn.connection else {
        return Ok(Answer::invoke_error(
            "NotConnected",
            "This tenant is not connected to ilert: an ilert admin connects it (POST /admin/v1/connections).",
        ));
    };
    if data.get("connection").and_then(Value::as_str).is_some_and(|c| c != connection.id.as_str()) {
        tracing::warn!("card action for another connection refused");
        return Ok(Answer::invoke_error(
            "WrongTenant",
            "This card belongs to another ilert account than this tenant's.",
        ));
    }
    let Some((number, id)) = alert_id(data) else {
        return Ok(Answer::invoke_error("BadRequest", "This card does not name an alert."));
    };
    if !first {
        return current_card(state, connection, &id).await;
    }
    let notice = match perform(state, turn, connection, verb, number, &id, data).await {
        Ok(notice) => notice,
        Err(e) => return e.into_answer(),
    };
    let record = match state.inner.store.get_alert(&connection.id, &id).await? {
        Some(record) => record,
        None => return Ok(Answer::Card(AdaptiveCardInvokeResponse::message("Done."))),
    };
    let card = render(&record, notice);
    push_update(state, turn, connection, &record, card.clone()).await;
    Ok(Answer::Card(AdaptiveCardInvokeResponse::card(card)))
}

/// Does what `verb` asks in ilert (or queues it) and saves the alert's new picture; returns
/// the notice the card should show.
pub async fn perform(
    state: &MessagingState,
    turn: &Turn,
    connection: &Connection,
    verb: Verb,
    number: i64,
    id: &AlertId,
    data: &Value,
) -> Result<Option<Notice>, ActionError> {
    let client = identity::ilert_client(state, connection).await?;
    if verb == Verb::Refresh {
        let alert = client.get_alert(number).await?;
        save_snapshot(state, connection, id, &alert).await?;
        return Ok(None);
    }
    let mapping = identity::matched_user(state, turn, connection).await?;
    identity::ensure_member(state, turn).await?;
    let alert = match verb {
        Verb::Accept => {
            refuse_resolved(&client.get_alert(number).await?)?;
            // The API key acts as its owner: assigning first makes ilert show the Teams user
            // as the one who holds the alert.
            client.assign_alert(number, Assignee::User(mapping.ilert_user_id)).await?;
            client.accept_alert(number).await?
        }
        Verb::Resolve => {
            refuse_resolved(&client.get_alert(number).await?)?;
            client.resolve_alert(number).await?
        }
        Verb::Reassign => {
            let raw = data.get(cards::actions::input::REASSIGN_TARGET).and_then(Value::as_str).unwrap_or_default();
            let assignee = match ReassignTarget::parse(raw) {
                Some(ReassignTarget::User(u)) => u.parse().ok().map(Assignee::User),
                Some(ReassignTarget::EscalationPolicy(p)) => p.parse().ok().map(Assignee::EscalationPolicy),
                None => None,
            }
            .ok_or_else(|| ActionError::BadInput("Choose whom to reassign the alert to.".into()))?;
            refuse_resolved(&client.get_alert(number).await?)?;
            client.assign_alert(number, assignee).await?
        }
        Verb::Comment => {
            let text = data.get(cards::actions::input::COMMENT).and_then(Value::as_str).unwrap_or_default().trim();
            if text.is_empty() {
                return Err(ActionError::BadInput("Write a comment first.".into()));
            }
            let text: String = text.chars().take(cards::actions::COMMENT_MAX_CHARS).collect();
            let author = mapping.display_name.clone().unwrap_or_else(|| mapping.email.clone());
            comment(state, &client, number, &author, &text).await?
        }
        Verb::CreateChannel | Verb::CreateMeeting | Verb::CreateChat => {
            let (kind, text) = match verb {
                Verb::CreateChannel => (ProvisioningKind::Channel, "Creating the channel…"),
                Verb::CreateMeeting => (ProvisioningKind::Meeting, "Creating the meeting…"),
                _ => (ProvisioningKind::Chat, "Creating the chat…"),
            };
            queue_job(state, turn, connection, id, kind, &mapping).await?;
            if state.inner.store.get_alert(&connection.id, id).await?.is_none() {
                save_snapshot(state, connection, id, &client.get_alert(number).await?).await?;
            }
            return Ok(Some(Notice::info(text)));
        }
        Verb::Refresh => unreachable!("handled above"),
    };
    save_snapshot(state, connection, id, &alert).await?;
    Ok(None)
}

fn refuse_resolved(alert: &ilert::Alert) -> Result<(), ActionError> {
    if alert.status == ilert::AlertStatus::Resolved { Err(ActionError::AlreadyResolved) } else { Ok(()) }
}

/// ilert has no REST comment call: comments go through the events API with the alert
/// source's integration key and the alert's key.
async fn comment(
    state: &MessagingState,
    client: &ilert::IlertClient,
    number: i64,
    author: &str,
    text: &str,
) -> Result<ilert::Alert, ActionError> {
    let alert = client.get_alert(number).await?;
    let unavailable = |why: &str| ActionError::BadInput(format!("Comments cannot be added to this alert: {why}."));
    let source = alert.alert_source.as_ref().ok_or_else(|| unavailable("it has no alert source"))?;
    let alert_key = alert.alert_key.clone().ok_or_else(|| unavailable("it has no alert key"))?;
    let source = client.get_alert_source(source.id).await?;
    let key =
        source.integration_key.ok_or_else(|| unavailable("its alert source has no integration key we may use"))?;
    state.inner.ilert.send_event(&ilert::Event::comment(key, alert_key, author, text)).await?;
    Ok(alert)
}

async fn queue_job(
    state: &MessagingState,
    turn: &Turn,
    connection: &Connection,
    id: &AlertId,
    kind: ProvisioningKind,
    mapping: &domain::model::UserMapping,
) -> Result<(), ActionError> {
    let conversation = turn.base_conversation().ok_or_else(|| ActionError::BadInput("No conversation.".into()))?;
    let job = ProvisioningJob {
        v: ProvisioningJob::VERSION,
        kind,
        connection_id: connection.id.clone(),
        tenant_id: turn.tenant.clone(),
        alert_id: id.clone(),
        conversation_id: conversation,
        card_activity_id: turn.activity.reply_to_id.clone(),
        service_url: turn.service_url.clone(),
        acting_user: ActingUser {
            aad_object_id: mapping.aad_object_id.clone(),
            ilert_user_id: mapping.ilert_user_id,
            name: mapping.display_name.clone(),
        },
    };
    state.inner.provisioning.send(job.message()).await.map_err(|e| ActionError::Failed(Failure::Queue(e)))
}

fn status_of(alert: &ilert::Alert) -> Option<AlertStatus> {
    match alert.status {
        ilert::AlertStatus::Pending => Some(AlertStatus::Pending),
        ilert::AlertStatus::Accepted => Some(AlertStatus::Accepted),
        ilert::AlertStatus::Resolved => Some(AlertStatus::Resolved),
        _ => None,
    }
}

/// Applies ilert's answer to the alert record as an event would (state only moves forward),
/// with optimistic writes retried on a lost race.
pub async fn save_snapshot(
    state: &MessagingState,
    connection: &Connection,
    id: &AlertId,
    alert: &ilert::Alert,
) -> Result<AlertRecord, StoreError> {
    let event = AlertEvent {
        key: format!("teams-action-{}", uuid::Uuid::new_v4()),
        kind: AlertEventKind::Assigned,
        alert_id: id.clone(),
        occurred_at: Utc::now(),
        status: status_of(alert),
        facts: AlertFacts {
            alert_source_id: alert.alert_source.as_ref().map(|s| s.id),
            escalation_policy_id: alert.escalation_policy.as_ref().map(|p| p.id),
            priority: None,
        },
        snapshot: serde_json::to_value(alert).unwrap_or(Value::Null),
        actor: None,
        comment: None,
    };
    let store = &state.inner.store;
    for _ in 0..WRITE_ATTEMPTS {
        let record = match store.get_alert(&connection.id, id).await? {
            None => AlertRecord::first_seen(connection.id.clone(), &event),
            Some(mut record) => {
                if !record.apply(&event) {
                    return Ok(record);
                }
                record
            }
        };
        match store.save_alert(&record).await {
            Ok(saved) => return Ok(saved),
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Conflict(format!("alert {id} kept changing")))
}

/// The alert's card; with a notice, rendered like [`notifications::render`] plus the notice.
pub fn render(record: &AlertRecord, notice: Option<Notice>) -> Value {
    let Some(notice) = notice else { return notifications::render(record) };
    let view = cards::AlertView::from_json(&record.snapshot)
        .unwrap_or_else(|_| cards::AlertView::new(record.alert_id.as_str()));
    let mut ctx = cards::CardContext {
        alert_url: record.snapshot.get("alertUrl").and_then(Value::as_str).map(str::to_owned),
        notice: Some(notice),
        ..Default::default()
    };
    ctx.action_data.insert("connection".into(), record.connection_id.as_str().into());
    cards::render_alert_card(&view, &ctx)
}

async fn current_card(state: &MessagingState, connection: &Connection, id: &AlertId) -> HandlerResult {
    Ok(match state.inner.store.get_alert(&connection.id, id).await? {
        Some(record) => Answer::Card(AdaptiveCardInvokeResponse::card(notifications::render(&record))),
        None => Answer::Card(AdaptiveCardInvokeResponse::message("Already done.")),
    })
}

/// `PUT`s the card for everyone and records which revision it shows. A failure is logged: the
/// invoking user has the card already, and the notifier repairs the rest on the next event.
async fn push_update(state: &MessagingState, turn: &Turn, connection: &Connection, record: &AlertRecord, card: Value) {
    let store = &state.inner.store;
    let stored = match turn.base_conversation() {
        Some(conversation) => store.get_card(&connection.id, &record.alert_id, &conversation).await.ok().flatten(),
        None => None,
    };
    let (conversation, activity_id) = match (&stored, &turn.activity.reply_to_id) {
        (Some(card), _) => (card.thread_id.to_string(), card.activity_id.clone()),
        (None, Some(reply_to)) => (turn.conversation_id().to_owned(), reply_to.clone()),
        (None, None) => return,
    };
    let deadline = Instant::now() + UPDATE_BUDGET;
    let activity = Activity::card_message(card);
    if let Err(e) =
        state.inner.connector.update_activity(&turn.service_url, &conversation, &activity_id, &activity, deadline).await
    {
        tracing::warn!(error = %e, "could not update the card for everyone");
        return;
    }
    if let Some(card) = stored {
        let updated = AlertCard { rendered_revision: record.version, updated_at: Utc::now(), ..card };
        if let Err(e) = store.save_card(&updated).await {
            tracing::warn!(error = %e, "could not record the card's revision");
        }
    }
}
