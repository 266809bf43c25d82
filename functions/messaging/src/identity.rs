//! Who is acting: the Teams user matched to an ilert user, and whether they may act on a
//! card in this conversation.

use crate::context::Turn;
use crate::state::MessagingState;
use chrono::Utc;
use domain::AadObjectId;
use domain::model::{Connection, MappingSource, UserMapping};
use futures::TryStreamExt;
use secrets::SecretString;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Budget of the look-ups made while answering (Connector, ilert, Graph).
const LOOKUP_BUDGET: Duration = Duration::from_secs(5);

/// Why a user may not act; `Display` is the message shown to them.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("Teams did not say who you are; please try again from the Teams client.")]
    Anonymous,
    #[error("You are not linked to an ilert user: ask your ilert admin to add {0}")]
    NotLinked(String),
    #[error(
        "You are not linked to an ilert user, and Teams did not give us your email address: ask your ilert admin to add you."
    )]
    NoEmail,
    #[error("You are not a member of this channel")]
    NotMember,
    #[error("Could not check who you are right now ({0}); please try again.")]
    Unavailable(String),
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Anonymous => "Anonymous",
            Refusal::NotLinked(_) | Refusal::NoEmail => "NotLinked",
            Refusal::NotMember => "NotMember",
            Refusal::Unavailable(_) => "Unavailable",
        }
    }
}

/// The connection's ilert API key from the vault.
pub async fn api_key(state: &MessagingState, connection: &Connection) -> Result<SecretString, Refusal> {
    state
        .inner
        .vault
        .get(&connection.ilert_api_key_ref)
        .await
        .map_err(|e| Refusal::Unavailable(format!("ilert key: {e}")))
}

/// The ilert client acting for the connection, bounded by the answer's budget.
pub async fn ilert_client(state: &MessagingState, connection: &Connection) -> Result<ilert::IlertClient, Refusal> {
    Ok(state.inner.ilert.client(api_key(state, connection).await?).with_deadline(Instant::now() + LOOKUP_BUDGET))
}

/// The acting user's ilert match: stored (directory sync or an earlier look-up), else found now
/// by their Teams email and remembered as an on-demand mapping.
pub async fn matched_user(
    state: &MessagingState,
    turn: &Turn,
    connection: &Connection,
) -> Result<UserMapping, Refusal> {
    let aad = turn.actor_aad().and_then(|a| AadObjectId::parse(a).ok()).ok_or(Refusal::Anonymous)?;
    let store = &state.inner.store;
    if let Some(mapping) =
        store.get_user_mapping(&turn.tenant, &aad).await.map_err(|e| Refusal::Unavailable(e.to_string()))?
    {
        return Ok(mapping);
    }
    let conversation = turn.base_conversation().ok_or(Refusal::Anonymous)?;
    let deadline = Instant::now() + LOOKUP_BUDGET;
    let member = state
        .inner
        .connector
        .get_member(&turn.service_url, conversation.as_str(), aad.as_str(), deadline)
        .await
        .map_err(|e| match e {
            botframework::ConnectorError::NotFound { .. } => Refusal::NoEmail,
            other => Refusal::Unavailable(other.to_string()),
        })?;
    let email = member.email.or(member.user_principal_name).filter(|e| !e.is_empty()).ok_or(Refusal::NoEmail)?;
    let client = ilert_client(state, connection).await?;
    let user = client
        .find_user_by_email(&email)
        .await
        .map_err(|e| Refusal::Unavailable(e.to_string()))?
        .ok_or_else(|| Refusal::NotLinked(email.clone()))?;
    let mapping = UserMapping {
        tenant_id: turn.tenant.clone(),
        aad_object_id: aad,
        ilert_user_id: user.id,
        email,
        display_name: member.name.or_else(|| Some(user.display_name())),
        source: MappingSource::OnDemand,
        updated_at: Utc::now(),
    };
    if let Err(e) = store.put_user_mapping(&mapping).await {
        // The match stands for this answer; the next action looks it up again.
        tracing::warn!(error = %e, "could not remember an on-demand user mapping");
    }
    Ok(mapping)
}

/// On a channel card the acting user must be a member of that channel (Graph, cached briefly);
/// in personal and group chats Teams only shows the card to the chat's members.
pub async fn ensure_member(state: &MessagingState, turn: &Turn) -> Result<(), Refusal> {
    if !turn.is_channel() {
        return Ok(());
    }
    let aad = turn.actor_aad().ok_or(Refusal::Anonymous)?.to_owned();
    let channel = turn.base_conversation().ok_or(Refusal::NotMember)?;
    let stored = state
        .inner
        .store
        .get_conversation(&turn.tenant, &channel)
        .await
        .map_err(|e| Refusal::Unavailable(e.to_string()))?;
    let group = turn
        .activity
        .team()
        .and_then(|t| t.aad_group_id.clone())
        .or_else(|| stored.and_then(|c| c.team).and_then(|t| t.aad_group_id))
        .ok_or_else(|| Refusal::Unavailable("the team of this channel is unknown; reinstall the app".into()))?;
    let key = (turn.tenant.to_string(), group.clone(), channel.to_string());
    let members = match state.inner.cached_members(&key) {
        Some(members) => members,
        None => {
            let graph = state.inner.graph.tenant(turn.tenant.as_str(), graph::Deadline::after(LOOKUP_BUDGET));
            let listed: Vec<graph::ConversationMember> = graph
                .list_channel_members(&group, channel.as_str())
                .try_collect()
                .await
                .map_err(|e| Refusal::Unavailable(e.to_string()))?;
            let members: Arc<HashSet<String>> = Arc::new(listed.into_iter().filter_map(|m| m.user_id).collect());
            state.inner.cache_members(key, members.clone());
            members
        }
    };
    if members.contains(&aad) { Ok(()) } else { Err(Refusal::NotMember) }
}
