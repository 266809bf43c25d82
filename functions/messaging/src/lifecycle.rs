//! Installs and the conversation lifecycle: the conversation references we keep (to post
//! proactively), updated as Teams reports channel and team changes, deleted when the bot is
//! removed (data retention), and the welcome card on install.

use crate::answer::Answer;
use crate::context::Turn;
use crate::handler::HandlerResult;
use crate::replies;
use crate::state::MessagingState;
use chrono::Utc;
use domain::model::{ConversationKind, ConversationRef, ConversationStatus, TeamRef};
use domain::store::{ClaimScope, StoreError};
use domain::{AadObjectId, ConversationId};
use std::time::Duration;

/// Optimistic writes retried this often before giving up.
const WRITE_ATTEMPTS: usize = 5;

/// `conversationUpdate`: the SDK order — members added, members removed, then `eventType`.
pub async fn on_conversation_update(state: &MessagingState, turn: &Turn) -> HandlerResult {
    if turn.activity.bot_added() {
        return installed(state, turn).await;
    }
    if turn.activity.bot_removed() {
        return removed(state, turn).await;
    }
    let Some(event) = turn.activity.event_type().map(str::to_ascii_lowercase) else { return Ok(Answer::Ok) };
    let channel = turn.activity.channel_data.as_ref().and_then(|c| c.channel.as_ref());
    match (event.as_str(), channel) {
        ("channelcreated" | "channelrenamed" | "channelrestored", Some(channel)) => {
            let Ok(id) = ConversationId::parse(&channel.id) else { return Ok(Answer::Ok) };
            let fresh = team_channel(turn, id.clone(), channel.name.clone());
            upsert(state, turn, &id, |existing| {
                Some(match existing {
                    Some(old) => ConversationRef {
                        channel_name: channel.name.clone(),
                        service_url: turn.service_url.clone(),
                        status: ConversationStatus::Active,
                        ..old
                    },
                    None => fresh.clone(),
                })
            })
            .await?;
        }
        ("channeldeleted", Some(channel)) => {
            if let Ok(id) = ConversationId::parse(&channel.id) {
                forget(state, turn, &[id]).await?;
            }
        }
        ("teamrenamed", _) => {
            let name = turn.activity.team().and_then(|t| t.name.clone());
            for_team(state, turn, |mut c| {
                if let Some(team) = c.team.as_mut() {
                    team.name = name.clone();
                }
                c
            })
            .await?;
        }
        ("teamarchived", _) => {
            for_team(state, turn, |c| ConversationRef { status: ConversationStatus::Archived, ..c }).await?
        }
        ("teamunarchived" | "teamrestored", _) => {
            for_team(state, turn, |c| ConversationRef { status: ConversationStatus::Active, ..c }).await?
        }
        ("teamdeleted" | "teamharddeleted", _) => {
            let ids = team_conversations(state, turn).await?;
            forget(state, turn, &ids).await?;
        }
        _ => {}
    }
    Ok(Answer::Ok)
}

/// `installationUpdate`: `add`/`add-upgrade` store the reference, `remove` deletes it.
pub async fn on_installation_update(state: &MessagingState, turn: &Turn) -> HandlerResult {
    match turn.activity.action.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("add" | "add-upgrade") => installed(state, turn).await,
        Some("remove") => removed(state, turn).await,
        _ => Ok(Answer::Ok),
    }
}

/// The reference of the conversation the activity came from, as an install describes it.
fn reference(turn: &Turn, id: ConversationId) -> ConversationRef {
    let activity = &turn.activity;
    let kind = match turn.conversation_type() {
        "channel" => ConversationKind::Channel,
        "groupChat" => ConversationKind::GroupChat,
        _ if activity.team().is_some() => ConversationKind::Channel,
        _ => ConversationKind::Personal,
    };
    let conversation_name = activity.conversation.as_ref().and_then(|c| c.name.clone());
    let personal = kind == ConversationKind::Personal;
    let from = activity.from.as_ref();
    ConversationRef {
        tenant_id: turn.tenant.clone(),
        conversation_id: id,
        kind,
        service_url: turn.service_url.clone(),
        bot_id: turn.bot_id(),
        team: team_ref(turn),
        channel_name: if kind == ConversationKind::Channel { conversation_name.clone() } else { None },
        title: if kind == ConversationKind::GroupChat { conversation_name } else { None },
        user_id: from.filter(|_| personal).map(|f| f.id.clone()),
        user_aad_object_id: from
            .filter(|_| personal)
            .and_then(|f| f.aad_object_id.as_deref())
            .and_then(|a| AadObjectId::parse(a).ok()),
        status: ConversationStatus::Active,
        updated_at: Utc::now(),
        version: 0,
    }
}

fn team_ref(turn: &Turn) -> Option<TeamRef> {
    turn.activity.team().filter(|t| !t.id.is_empty()).map(|t| TeamRef {
        id: t.id.clone(),
        aad_group_id: t.aad_group_id.clone(),
        name: t.name.clone(),
    })
}

fn team_channel(turn: &Turn, id: ConversationId, name: Option<String>) -> ConversationRef {
    ConversationRef {
        kind: ConversationKind::Channel,
        channel_name: name,
        title: None,
        user_id: None,
        user_aad_object_id: None,
        ..reference(turn, id)
    }
}

/// The bot was added: keep the reference and welcome everyone (once per conversation, since
/// `conversationUpdate` and `installationUpdate` both announce an install).
async fn installed(state: &MessagingState, turn: &Turn) -> HandlerResult {
    let Some(id) = turn.base_conversation() else { return Ok(Answer::Ok) };
    let fresh = reference(turn, id.clone());
    let saved = upsert(state, turn, &id, |existing| {
        Some(match existing {
            Some(old) => ConversationRef {
                service_url: fresh.service_url.clone(),
                team: fresh.team.clone().or(old.team.clone()),
                status: ConversationStatus::Active,
                ..old
            },
            None => fresh.clone(),
        })
    })
    .await?;
    let scope = ClaimScope::Tenant(turn.tenant.clone());
    let welcome_due = state.inner.store.claim(&scope, "welcome", id.as_str(), Duration::from_secs(24 * 3600)).await?;
    if welcome_due && let Some(conversation) = saved {
        let card = replies::welcome_card(conversation.kind, turn.connection.as_ref());
        replies::send_card(state, &conversation.service_url, id.as_str(), card).await;
    }
    Ok(Answer::Ok)
}

/// The bot was removed: forget the conversation (and, for a team, all its channels) and the
/// routes posting there, so nothing is kept or posted any more.
async fn removed(state: &MessagingState, turn: &Turn) -> HandlerResult {
    let mut ids = team_conversations(state, turn).await?;
    if let Some(id) = turn.base_conversation()
        && !ids.contains(&id)
    {
        ids.push(id);
    }
    forget(state, turn, &ids).await?;
    Ok(Answer::Ok)
}

async fn team_conversations(state: &MessagingState, turn: &Turn) -> Result<Vec<ConversationId>, StoreError> {
    let Some(team) = turn.activity.team().filter(|t| !t.id.is_empty()) else { return Ok(Vec::new()) };
    let stored = state.inner.store.list_team_conversations(&turn.tenant, &team.id).await?;
    Ok(stored.into_iter().map(|c| c.conversation_id).collect())
}

async fn forget(state: &MessagingState, turn: &Turn, ids: &[ConversationId]) -> Result<(), StoreError> {
    let store = &state.inner.store;
    for id in ids {
        store.delete_conversation(&turn.tenant, id).await?;
        if let Some(connection) = &turn.connection {
            for route in store.routes_for_conversation(&connection.id, id).await? {
                store.delete_route(&connection.id, &route.id).await?;
            }
        }
        tracing::info!(conversation = %id, "bot removed: conversation reference deleted");
    }
    Ok(())
}

async fn for_team(
    state: &MessagingState,
    turn: &Turn,
    change: impl Fn(ConversationRef) -> ConversationRef,
) -> Result<(), StoreError> {
    for id in team_conversations(state, turn).await? {
        upsert(state, turn, &id, |existing| existing.map(|c| ConversationRef { updated_at: Utc::now(), ..change(c) }))
            .await?;
    }
    Ok(())
}

/// Read, change, write with the version read; reloads and re-applies on a lost race.
/// `change` returning `None` writes nothing.
async fn upsert(
    state: &MessagingState,
    turn: &Turn,
    id: &ConversationId,
    change: impl Fn(Option<ConversationRef>) -> Option<ConversationRef>,
) -> Result<Option<ConversationRef>, StoreError> {
    let store = &state.inner.store;
    for _ in 0..WRITE_ATTEMPTS {
        let existing = store.get_conversation(&turn.tenant, id).await?;
        let version = existing.as_ref().map_or(0, |c| c.version);
        let Some(mut next) = change(existing) else { return Ok(None) };
        next.version = version;
        next.updated_at = Utc::now();
        match store.save_conversation(&next).await {
            Ok(saved) => return Ok(Some(saved)),
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Conflict(format!("conversation {id} kept changing")))
}
