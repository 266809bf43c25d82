//! Replies in the thread of an alert card become comments on the alert in ilert.
//!
//! A channel message whose conversation is `19:…;messageid=<root>` and that does not mention
//! the bot (mentions stay commands) is looked up by its thread: if the thread's root is one of
//! our alert cards, the message is sent to ilert as a `COMMENT` event (the alert source's
//! integration key and the alert's key) with the Teams user's name as its creator. Only
//! users matched to an ilert user comment; anyone else, or a comment ilert cannot take, is
//! told why in the thread. Messages in other threads are not ours and are ignored.

use crate::actions::ActionError;
use crate::answer::Answer;
use crate::context::Turn;
use crate::handler::HandlerResult;
use crate::identity;
use crate::replies;
use crate::state::MessagingState;
use domain::ConversationId;
use domain::model::Connection;

/// Whether `turn` is a reply in a channel thread that this module looks at (before any
/// store lookup): a channel message in a thread, with text, not mentioning the bot, in a
/// connected tenant.
pub fn applies(turn: &Turn) -> bool {
    let activity = &turn.activity;
    turn.connection.is_some()
        && turn.is_channel()
        && turn.conversation_id().contains(";messageid=")
        && !activity.mentions_bot()
        && activity.value.is_none()
        && activity.text.as_deref().is_some_and(|t| !t.trim().is_empty())
}

/// The reply: a comment on the thread's alert, or a word in the thread on why it is not.
pub async fn on_reply(state: &MessagingState, turn: &Turn) -> HandlerResult {
    let Some(connection) = &turn.connection else { return Ok(Answer::Ok) };
    let Ok(thread) = ConversationId::parse(turn.conversation_id()) else { return Ok(Answer::Ok) };
    let Some(card) = state.inner.store.card_for_thread(&connection.id, &thread).await? else {
        // Not the thread of one of our cards.
        return Ok(Answer::Ok);
    };
    let Ok(number) = card.alert_id.as_str().parse::<i64>() else { return Ok(Answer::Ok) };
    let text: String = turn
        .activity
        .text
        .as_deref()
        .unwrap_or_default()
        .trim()
        .chars()
        .take(cards::actions::COMMENT_MAX_CHARS)
        .collect();
    match comment(state, turn, connection, number, &text).await {
        Ok(()) => {}
        Err(ActionError::Failed(failure)) => return Err(failure),
        Err(e) => {
            let why = format!("Your reply was not added to ilert alert {number} as a comment: {e}");
            replies::send_text(state, &turn.service_url, turn.conversation_id(), &why).await;
        }
    }
    Ok(Answer::Ok)
}

async fn comment(
    state: &MessagingState,
    turn: &Turn,
    connection: &Connection,
    number: i64,
    text: &str,
) -> Result<(), ActionError> {
    let mapping = identity::matched_user(state, turn, connection).await?;
    let author = mapping.display_name.clone().unwrap_or_else(|| mapping.email.clone());
    let client = identity::ilert_client(state, connection).await?;
    let alert = client.get_alert(number).await?;
    let unavailable = |why: &str| ActionError::BadInput(format!("comments cannot be added to this alert: {why}."));
    let source = alert.alert_source.as_ref().ok_or_else(|| unavailable("it has no alert source"))?;
    let alert_key = alert.alert_key.clone().ok_or_else(|| unavailable("it has no alert key"))?;
    let source = client.get_alert_source(source.id).await?;
    let key =
        source.integration_key.ok_or_else(|| unavailable("its alert source has no integration key we may use"))?;
    state.inner.ilert.send_event(&ilert::Event::comment(key, alert_key, author, text)).await?;
    Ok(())
}
