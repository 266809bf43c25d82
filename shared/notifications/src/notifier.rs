//! The queue consumer of the alert path.

use crate::jobs::{Delivery, EventJob, NotificationJob};
use crate::teams::{PostError, TeamsPoster};
use async_trait::async_trait;
use chrono::Utc;
use domain::alerts::thread_reply;
use domain::model::{AlertCard, AlertRecord, ConversationKind, ConversationRef, ConversationStatus};
use domain::queue::{Job, JobHandler, JobOutcome, Queue};
use domain::store::{ClaimScope, Store, StoreError};
use domain::{ConversationId, TenantId};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct NotifierOptions {
    /// How long a processed event (and a posted reply) is remembered, so a late redelivery has
    /// no second effect.
    pub remember: Duration,
    /// Retries of an optimistic write that lost a race before the job is retried whole.
    pub write_attempts: u32,
}

impl Default for NotifierOptions {
    fn default() -> Self {
        Self { remember: Duration::from_secs(14 * 24 * 3600), write_attempts: 5 }
    }
}

/// Consumes [`NotificationJob`]s.
pub struct Notifier {
    store: Arc<dyn Store>,
    queue: Arc<dyn Queue>,
    teams: Arc<dyn TeamsPoster>,
    options: NotifierOptions,
}

const EVENT_DONE: &str = "ilert-event";
const REPLY_POSTED: &str = "thread-reply";

fn store_failure(e: StoreError) -> JobOutcome {
    JobOutcome::Failed(format!("state store: {e}"))
}

impl Notifier {
    pub fn new(
        store: Arc<dyn Store>,
        queue: Arc<dyn Queue>,
        teams: Arc<dyn TeamsPoster>,
        options: NotifierOptions,
    ) -> Self {
        Self { store, queue, teams, options }
    }

    async fn on_event(&self, job: &EventJob) -> JobOutcome {
        let scope = ClaimScope::Connection(job.connection_id.clone());
        match self.store.is_claimed(&scope, EVENT_DONE, &job.event.key).await {
            Ok(true) => {
                tracing::info!(event_key = job.event.key, "duplicate ilert event: already processed");
                return JobOutcome::Done;
            }
            Ok(false) => {}
            Err(e) => return store_failure(e),
        }
        let connection = match self.store.get_connection(&job.connection_id).await {
            Ok(Some(c)) => c,
            Ok(None) => {
                tracing::warn!(connection = %job.connection_id, "event for a deleted connection dropped");
                return JobOutcome::Done;
            }
            Err(e) => return store_failure(e),
        };
        telemetry_tenant(&connection.tenant_id);
        if let Err(outcome) = self.apply(job).await {
            return outcome;
        }
        // Fan out. Deliveries are idempotent, so a crash after some of them were queued is
        // repaired by processing the event again.
        let routes = match self.store.list_routes(&job.connection_id).await {
            Ok(r) => r,
            Err(e) => return store_failure(e),
        };
        let reply = thread_reply(&job.event);
        let mut targets: Vec<(ConversationId, bool, Option<String>)> = Vec::new();
        for route in routes.iter().filter(|r| r.selects(&job.event.facts)) {
            let posts = route.posts(job.event.kind);
            let entry = (route.conversation_id.clone(), posts, if posts { reply.clone() } else { None });
            match targets.iter_mut().find(|t| t.0 == entry.0) {
                // Two routes to one conversation: one delivery, posting if either posts.
                Some(existing) => {
                    existing.1 |= entry.1;
                    existing.2 = existing.2.take().or(entry.2);
                }
                None => targets.push(entry),
            }
        }
        // Routes that also notify responders personally: their 1:1 chats with the bot.
        if routes.iter().any(|r| r.selects(&job.event.facts) && r.notify_responders && r.posts(job.event.kind)) {
            match self.personal_chats_of_responders(&connection.tenant_id, &job.event.snapshot).await {
                Ok(chats) => {
                    for chat in chats {
                        if !targets.iter().any(|t| t.0 == chat) {
                            targets.push((chat, true, reply.clone()));
                        }
                    }
                }
                Err(e) => return store_failure(e),
            }
        }
        // A card that exists stays true even where the route no longer posts this event.
        match self.store.list_cards(&job.connection_id, &job.event.alert_id).await {
            Ok(cards) => {
                for card in cards {
                    if !targets.iter().any(|t| t.0 == card.conversation_id) {
                        targets.push((card.conversation_id, false, None));
                    }
                }
            }
            Err(e) => return store_failure(e),
        }
        for (conversation_id, may_create, reply) in targets {
            let delivery = NotificationJob::Delivery(Delivery {
                connection_id: job.connection_id.clone(),
                tenant_id: connection.tenant_id.clone(),
                alert_id: job.event.alert_id.clone(),
                conversation_id,
                event_key: job.event.key.clone(),
                may_create,
                reply,
            });
            if let Err(e) = self.queue.send(delivery.message()).await {
                return JobOutcome::Failed(format!("could not queue a delivery: {e}"));
            }
        }
        match self.store.claim(&scope, EVENT_DONE, &job.event.key, self.options.remember).await {
            Ok(_) => JobOutcome::Done,
            Err(e) => store_failure(e),
        }
    }

    /// The personal conversations the bot has with the alert's responders (ilert users matched
    /// to Teams users); responders without a match or without the bot installed are skipped.
    async fn personal_chats_of_responders(
        &self,
        tenant: &TenantId,
        snapshot: &serde_json::Value,
    ) -> Result<Vec<ConversationId>, StoreError> {
        let responder_ids: Vec<i64> = snapshot
            .get("responders")
            .and_then(|r| r.as_array())
            .map(|list| list.iter().filter_map(|r| r.pointer("/user/id").and_then(|id| id.as_i64())).collect())
            .unwrap_or_default();
        if responder_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut users = Vec::new();
        for id in responder_ids {
            users.extend(self.store.users_for_ilert_user(tenant, id).await?.into_iter().map(|m| m.aad_object_id));
        }
        let chats = self
            .store
            .list_conversations(tenant)
            .await?
            .into_iter()
            .filter(|c| c.kind == ConversationKind::Personal && c.is_usable())
            .filter(|c| c.user_aad_object_id.as_ref().is_some_and(|u| users.contains(u)))
            .map(|c| c.conversation_id)
            .collect();
        Ok(chats)
    }

    /// Applies the event to the alert record, retrying lost optimistic races.
    async fn apply(&self, job: &EventJob) -> Result<(), JobOutcome> {
        for _ in 0..self.options.write_attempts {
            let current = self.store.get_alert(&job.connection_id, &job.event.alert_id).await.map_err(store_failure)?;
            let record = match current {
                None => AlertRecord::first_seen(job.connection_id.clone(), &job.event),
                Some(mut record) => {
                    if !record.apply(&job.event) {
                        tracing::info!(event_key = job.event.key, "older than the alert's state: card unchanged");
                        return Ok(());
                    }
                    record
                }
            };
            match self.store.save_alert(&record).await {
                Ok(_) => return Ok(()),
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(store_failure(e)),
            }
        }
        Err(JobOutcome::Failed("alert record kept changing under us".into()))
    }

    async fn on_delivery(&self, job: &Delivery) -> JobOutcome {
        telemetry_tenant(&job.tenant_id);
        let conversation = match self.store.get_conversation(&job.tenant_id, &job.conversation_id).await {
            Ok(Some(c)) if c.is_usable() => c,
            Ok(Some(c)) => {
                tracing::info!(conversation = %c.conversation_id, status = ?c.status, "conversation not usable: delivery skipped");
                return JobOutcome::Done;
            }
            Ok(None) => {
                tracing::info!(conversation = %job.conversation_id, "the bot is no longer installed there: delivery skipped");
                return JobOutcome::Done;
            }
            Err(e) => return store_failure(e),
        };
        let record = match self.store.get_alert(&job.connection_id, &job.alert_id).await {
            Ok(Some(r)) => r,
            Ok(None) => return JobOutcome::Failed("delivery for an alert that has no record".into()),
            Err(e) => return store_failure(e),
        };
        let card = match self.store.get_card(&job.connection_id, &job.alert_id, &job.conversation_id).await {
            Ok(c) => c,
            Err(e) => return store_failure(e),
        };
        let content = render(&record);
        let card = match card {
            None if !job.may_create => return JobOutcome::Done,
            None => match self.post_new(&conversation, job, &record, content).await {
                Ok(card) => card,
                Err(outcome) => return outcome,
            },
            Some(card) if card.rendered_revision < record.version => {
                match self.teams.update_card(&conversation, &card, content.clone()).await {
                    Ok(()) => match self
                        .save_card(AlertCard { rendered_revision: record.version, updated_at: Utc::now(), ..card })
                        .await
                    {
                        Ok(card) => card,
                        Err(outcome) => return outcome,
                    },
                    // Someone deleted the card in Teams: open a new thread rather than go silent.
                    Err(PostError::Gone) => match self.post_new(&conversation, job, &record, content).await {
                        Ok(card) => card,
                        Err(outcome) => return outcome,
                    },
                    Err(e) => return self.teams_failure(&conversation, e).await,
                }
            }
            Some(card) => card,
        };
        if let Some(text) = &job.reply {
            let scope = ClaimScope::Connection(job.connection_id.clone());
            let key = format!("{}#{}", job.event_key, job.conversation_id);
            match self.store.claim(&scope, REPLY_POSTED, &key, self.options.remember).await {
                Ok(false) => {}
                Ok(true) => {
                    if let Err(e) = self.teams.reply(&conversation, &card, text).await {
                        // Give the claim back so the retry posts the reply.
                        if let Err(release) = self.store.release(&scope, REPLY_POSTED, &key).await {
                            tracing::error!(error = %release, "could not release a reply claim; that reply may be skipped");
                        }
                        return self.teams_failure(&conversation, e).await;
                    }
                }
                Err(e) => return store_failure(e),
            }
        }
        JobOutcome::Done
    }

    async fn post_new(
        &self,
        conversation: &ConversationRef,
        job: &Delivery,
        record: &AlertRecord,
        content: serde_json::Value,
    ) -> Result<AlertCard, JobOutcome> {
        let posted = match self.teams.post_card(conversation, content).await {
            Ok(p) => p,
            Err(e) => return Err(self.teams_failure(conversation, e).await),
        };
        let previous = self
            .store
            .get_card(&job.connection_id, &job.alert_id, &job.conversation_id)
            .await
            .map_err(store_failure)?;
        let card = AlertCard {
            connection_id: job.connection_id.clone(),
            alert_id: job.alert_id.clone(),
            conversation_id: job.conversation_id.clone(),
            thread_id: ConversationId::parse(posted.thread_id)
                .map_err(|e| JobOutcome::Failed(format!("Teams returned an unusable thread id: {e}")))?,
            activity_id: posted.activity_id,
            rendered_revision: record.version,
            updated_at: Utc::now(),
            version: previous.map(|p| p.version).unwrap_or(0),
        };
        self.save_card(card).await
    }

    async fn save_card(&self, card: AlertCard) -> Result<AlertCard, JobOutcome> {
        self.store.save_card(&card).await.map_err(store_failure)
    }

    async fn teams_failure(&self, conversation: &ConversationRef, error: PostError) -> JobOutcome {
        match error {
            PostError::Throttled(wait) => JobOutcome::RetryAfter(wait),
            PostError::Blocked(reason) => {
                tracing::warn!(conversation = %conversation.conversation_id, %reason, "Teams refused the bot: conversation marked unusable");
                self.mark_unusable(conversation, reason).await;
                JobOutcome::Done
            }
            e @ (PostError::Transient(_) | PostError::Gone) => JobOutcome::Failed(e.to_string()),
            e @ (PostError::TooLarge | PostError::Refused(_)) => JobOutcome::Failed(format!("permanent: {e}")),
        }
    }

    async fn mark_unusable(&self, conversation: &ConversationRef, reason: String) {
        let mut current = conversation.clone();
        for _ in 0..self.options.write_attempts {
            current.status = ConversationStatus::Unusable { reason: reason.clone() };
            current.updated_at = Utc::now();
            match self.store.save_conversation(&current).await {
                Ok(_) => return,
                Err(StoreError::Conflict(_)) => {
                    match self.store.get_conversation(&current.tenant_id, &current.conversation_id).await {
                        Ok(Some(fresh)) => current = fresh,
                        _ => return,
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "could not mark the conversation unusable");
                    return;
                }
            }
        }
    }
}

/// The card of an alert as we know it now: ilert's picture plus what hangs off the record.
pub fn render(record: &AlertRecord) -> serde_json::Value {
    let view = cards::AlertView::from_json(&record.snapshot).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "alert snapshot unreadable; rendering from the id alone");
        cards::AlertView::new(record.alert_id.as_str())
    });
    let mut ctx = cards::CardContext {
        alert_url: record.snapshot.get("alertUrl").and_then(|u| u.as_str()).map(str::to_owned),
        channel: record.channel.as_ref().and_then(|c| c.web_url.as_ref().map(|url| cards::Link::new(&c.name, url))),
        meeting: record.meeting.as_ref().map(|m| cards::Link::new("Teams meeting", &m.join_url)),
        chat: record.chat.as_ref().and_then(|c| c.web_url.as_ref().map(|url| cards::Link::new("Group chat", url))),
        ..Default::default()
    };
    ctx.action_data.insert("connection".into(), record.connection_id.as_str().into());
    cards::render_alert_card(&view, &ctx)
}

fn telemetry_tenant(tenant: &TenantId) {
    tracing::Span::current().record("tenant_id", tenant.as_str());
}

#[async_trait]
impl JobHandler for Notifier {
    async fn handle(&self, job: &Job) -> JobOutcome {
        let parsed: NotificationJob = match serde_json::from_str(&job.body) {
            Ok(j) => j,
            // A body we cannot read fails the same way every time: straight to the dead-letter queue.
            Err(e) => return JobOutcome::Failed(format!("unreadable job: {e}")),
        };
        match &parsed {
            NotificationJob::Event(e) => self.on_event(e).await,
            NotificationJob::Delivery(d) => self.on_delivery(d).await,
        }
    }
}
