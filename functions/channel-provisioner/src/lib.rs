//! The channel provisioner: the consumer of the provisioning queue. A card's "open a channel",
//! "start a meeting" or "group chat" button queues a [`ProvisioningJob`]; this crate makes the
//! thing in Microsoft Graph, records it on the [`AlertRecord`] and updates the card in place so
//! it links there.
//!
//! - **channel**: a *standard* channel named `{alert source}_alert_{id}` in the team of the
//!   card's conversation, created with `create_channel_idempotent` (adopts a channel of that
//!   name). Standard, not private: every team member sees it, and responders who are not team
//!   members are added to the team's group (Group.ReadWrite.All), so everyone who must act can
//!   see it without the app needing TeamMember.ReadWrite.All or a private channel's owner
//!   bookkeeping. The alert card is posted into the new channel (the bot, installed in the
//!   team, may post in every channel) and the new channel is stored as a conversation so the
//!   notifier keeps that card current.
//! - **chat**: a group chat of the acting user and the responders, topic = alert summary.
//! - **meeting**: a Teams meeting in the acting user's calendar, starting now for 30 minutes,
//!   the responders invited; its `transactionId` is derived from connection and alert, so a
//!   retried create returns the first event.
//!
//! Every job is idempotent: what exists on the record is not created again, and the remaining
//! steps (card in the channel, card update) converge on a re-delivery. Graph throttling becomes
//! [`JobOutcome::RetryAfter`], transient failures [`JobOutcome::Failed`] (queue backoff), a
//! missing permission (403) a notice under the card naming the permission, then `Done`.
//!
//! Permissions (application): Channel.Create, Channel.ReadBasic.All (the name lookup of
//! `create_channel_idempotent`), Group.ReadWrite.All, Chat.Create, Calendars.ReadWrite.

use async_trait::async_trait;
use chrono::Utc;
use domain::model::{
    AlertCard, AlertRecord, ConversationKind, ConversationRef, ConversationStatus, LinkedChannel, LinkedChat,
    LinkedMeeting,
};
use domain::queue::{Job, JobHandler, JobOutcome};
use domain::store::{Store, StoreError};
use domain::{AadObjectId, ConversationId};
use graph::{
    Attendee, DateTimeTimeZone, Deadline, GraphClient, GraphError, NewChannel, NewChat, NewEvent, TenantGraph,
};
use notifications::{ConnectorPoster, PostError, TeamsPoster, render};
pub use provisioning::{ActingUser, ProvisioningJob, ProvisioningKind};
use std::sync::Arc;
use std::time::Duration;

/// How long one Bot Connector call may spend on retries before the job is re-queued instead.
pub const CONNECTOR_BUDGET: Duration = Duration::from_secs(20);

#[derive(Debug, Clone)]
pub struct ProvisionerOptions {
    /// Budget of the Graph calls of one job (retries and `Retry-After` waits included).
    pub graph_budget: Duration,
    /// Retries of an optimistic write that lost a race before the job is retried whole.
    pub write_attempts: u32,
    /// Length of the meeting.
    pub meeting_length: Duration,
}

impl Default for ProvisionerOptions {
    fn default() -> Self {
        Self { graph_budget: Duration::from_secs(20), write_attempts: 5, meeting_length: Duration::from_secs(30 * 60) }
    }
}

/// Consumes [`ProvisioningJob`]s.
pub struct Provisioner {
    store: Arc<dyn Store>,
    graph: GraphClient,
    teams: Arc<dyn TeamsPoster>,
    options: ProvisionerOptions,
}

/// One responder as Teams knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Person {
    aad_object_id: String,
    email: Option<String>,
    name: Option<String>,
}

/// Why a job stopped early.
enum Stop {
    /// Settle the job with this outcome.
    Outcome(JobOutcome),
    /// Graph refused for lack of a permission: tell the admin under the card.
    Forbidden(&'static str),
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Self {
        Stop::Outcome(JobOutcome::Failed(format!("state store: {e}")))
    }
}

fn graph_stop(what: &str, e: GraphError) -> Stop {
    match e {
        GraphError::Forbidden { permission, .. } => Stop::Forbidden(permission),
        GraphError::Throttled { retry_after, .. } => {
            tracing::info!(what, ?retry_after, "Graph throttled; job retried later");
            Stop::Outcome(JobOutcome::RetryAfter(retry_after))
        }
        e if e.is_retryable() => match e.retry_after() {
            Some(wait) => Stop::Outcome(JobOutcome::RetryAfter(wait)),
            None => Stop::Outcome(JobOutcome::Failed(format!("{what}: {e}"))),
        },
        e => {
            tracing::warn!(what, error = %e, "Graph refused");
            Stop::Outcome(JobOutcome::Failed(format!("permanent: {what}: {e}")))
        }
    }
}

fn teams_stop(what: &str, e: PostError) -> Stop {
    match e {
        PostError::Throttled(wait) => Stop::Outcome(JobOutcome::RetryAfter(wait)),
        PostError::Blocked(reason) => {
            tracing::warn!(what, %reason, "Teams refused the bot; nothing more to do");
            Stop::Outcome(JobOutcome::Done)
        }
        e => Stop::Outcome(JobOutcome::Failed(format!("{what}: {e}"))),
    }
}

/// The Graph `transactionId` of an alert's meeting: the same for every retry of the same
/// request, so Graph returns the first event instead of creating a second (graph.md §3.1).
pub fn meeting_transaction_id(job: &ProvisioningJob) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("ilert-teams#{}#{}#meeting", job.connection_id, job.alert_id));
    let h = hex::encode(&digest[..16]);
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// The dedicated channel's name: `{alert source}_alert_{id}`, made acceptable to Teams.
pub fn channel_name(record: &AlertRecord) -> String {
    let view = cards::AlertView::from_json(&record.snapshot).ok();
    let source = view
        .as_ref()
        .and_then(|v| v.alert_source.as_ref())
        .and_then(|s| s.name.clone())
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| "ilert".into());
    let wanted = format!("{}_alert_{}", source.trim(), record.alert_id);
    graph::sanitize_channel_name(&wanted)
        .or_else(|| graph::sanitize_channel_name(&format!("ilert_alert_{}", record.alert_id)))
        .unwrap_or_else(|| format!("alert-{}", record.alert_id.as_str().chars().take(40).collect::<String>()))
}

fn summary(record: &AlertRecord) -> String {
    cards::AlertView::from_json(&record.snapshot)
        .ok()
        .and_then(|v| v.summary)
        .map(|s| cards::text::inline(&s, 200))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| format!("Alert {}", record.alert_id))
}

fn kind_name(kind: ProvisioningKind) -> &'static str {
    match kind {
        ProvisioningKind::Channel => "channel",
        ProvisioningKind::Meeting => "meeting",
        ProvisioningKind::Chat => "group chat",
    }
}

impl Provisioner {
    pub fn new(
        store: Arc<dyn Store>,
        graph: GraphClient,
        teams: Arc<dyn TeamsPoster>,
        options: ProvisionerOptions,
    ) -> Self {
        Self { store, graph, teams, options }
    }

    async fn run(&self, job: &ProvisioningJob) -> JobOutcome {
        tracing::Span::current().record("tenant_id", job.tenant_id.as_str());
        let conversation = match self.store.get_conversation(&job.tenant_id, &job.conversation_id).await {
            Ok(Some(c)) => c,
            Ok(None) => {
                tracing::info!(conversation = %job.conversation_id, "provisioning for an unknown conversation dropped");
                return JobOutcome::Done;
            }
            Err(e) => return JobOutcome::Failed(format!("state store: {e}")),
        };
        let record = match self.store.get_alert(&job.connection_id, &job.alert_id).await {
            Ok(Some(r)) => r,
            Ok(None) => {
                tracing::info!(alert = %job.alert_id, "provisioning for an unknown alert dropped");
                return JobOutcome::Done;
            }
            Err(e) => return JobOutcome::Failed(format!("state store: {e}")),
        };
        let graph = self.graph.tenant(job.tenant_id.as_str(), Deadline::after(self.options.graph_budget));
        let result = match job.kind {
            ProvisioningKind::Channel => self.channel(job, &graph, &conversation, record).await,
            ProvisioningKind::Chat => self.chat(job, &graph, &conversation, record).await,
            ProvisioningKind::Meeting => self.meeting(job, &graph, &conversation, record).await,
        };
        match result {
            Ok(()) => JobOutcome::Done,
            Err(Stop::Outcome(outcome)) => outcome,
            Err(Stop::Forbidden(permission)) => {
                let text = format!(
                    "I could not create the {} for this alert: the ilert app lacks the Microsoft Graph \
                     application permission {permission}. A Microsoft 365 admin must grant it (with admin \
                     consent) to the ilert app; then try again.",
                    kind_name(job.kind)
                );
                tracing::warn!(permission, kind = kind_name(job.kind), "missing Graph permission; notice posted");
                self.notice(job, &conversation, &text).await
            }
        }
    }

    /// Posts `text` under the card that asked; `Done` unless Teams asks us to come back.
    async fn notice(&self, job: &ProvisioningJob, conversation: &ConversationRef, text: &str) -> JobOutcome {
        let card = match self.original_card(job, conversation).await {
            Ok(Some(card)) => card,
            Ok(None) => {
                tracing::warn!(%text, "no card to post the notice under");
                return JobOutcome::Done;
            }
            Err(Stop::Outcome(o)) => return o,
            Err(Stop::Forbidden(_)) => return JobOutcome::Done,
        };
        match self.teams.reply(conversation, &card, text).await {
            Ok(()) => JobOutcome::Done,
            Err(PostError::Throttled(wait)) => JobOutcome::RetryAfter(wait),
            Err(e @ PostError::Transient(_)) => JobOutcome::Failed(format!("notice: {e}")),
            Err(e) => {
                tracing::warn!(error = %e, "the notice could not be posted");
                JobOutcome::Done
            }
        }
    }

    /// The card that asked: as stored, else rebuilt from the job's activity id.
    async fn original_card(
        &self,
        job: &ProvisioningJob,
        conversation: &ConversationRef,
    ) -> Result<Option<AlertCard>, Stop> {
        if let Some(card) = self.store.get_card(&job.connection_id, &job.alert_id, &job.conversation_id).await? {
            return Ok(Some(card));
        }
        let Some(activity_id) = job.card_activity_id.clone() else { return Ok(None) };
        let thread = match conversation.kind {
            ConversationKind::Channel => format!("{};messageid={activity_id}", job.conversation_id),
            _ => job.conversation_id.to_string(),
        };
        let Ok(thread_id) = ConversationId::parse(thread) else { return Ok(None) };
        Ok(Some(AlertCard {
            connection_id: job.connection_id.clone(),
            alert_id: job.alert_id.clone(),
            conversation_id: job.conversation_id.clone(),
            thread_id,
            activity_id,
            rendered_revision: 0,
            updated_at: Utc::now(),
            version: 0,
        }))
    }

    /// The alert's responders as Entra users (those matched by the directory sync).
    async fn responders(&self, job: &ProvisioningJob, record: &AlertRecord) -> Result<Vec<Person>, Stop> {
        let view = cards::AlertView::from_json(&record.snapshot).ok();
        let mut out: Vec<Person> = Vec::new();
        for responder in view.iter().flat_map(|v| v.responders.iter()) {
            let Some(user) = &responder.user else { continue };
            let Some(id) = user.id.as_deref().and_then(|id| id.trim().parse::<i64>().ok()) else { continue };
            for mapping in self.store.users_for_ilert_user(&job.tenant_id, id).await? {
                let aad = mapping.aad_object_id.as_str().to_owned();
                if out.iter().all(|p| p.aad_object_id != aad) {
                    out.push(Person {
                        aad_object_id: aad,
                        email: Some(mapping.email.clone()).filter(|e| !e.is_empty()),
                        name: mapping.display_name.clone().or_else(|| user.display_name()),
                    });
                }
            }
        }
        Ok(out)
    }

    /// Applies `change` to the freshest record and saves it, reloading on a lost race.
    async fn save_record(
        &self,
        job: &ProvisioningJob,
        mut record: AlertRecord,
        change: impl Fn(&mut AlertRecord),
    ) -> Result<AlertRecord, Stop> {
        for _ in 0..self.options.write_attempts {
            change(&mut record);
            match self.store.save_alert(&record).await {
                Ok(saved) => return Ok(saved),
                Err(StoreError::Conflict(_)) => match self.store.get_alert(&job.connection_id, &job.alert_id).await? {
                    Some(fresh) => record = fresh,
                    None => return Err(Stop::Outcome(JobOutcome::Done)),
                },
                Err(e) => return Err(e.into()),
            }
        }
        Err(Stop::Outcome(JobOutcome::Failed("alert record kept changing under us".into())))
    }

    /// Re-renders the card that asked so it links to what now exists.
    async fn update_original(
        &self,
        job: &ProvisioningJob,
        conversation: &ConversationRef,
        record: &AlertRecord,
    ) -> Result<(), Stop> {
        let Some(card) = self.original_card(job, conversation).await? else {
            tracing::info!("no card to update");
            return Ok(());
        };
        if card.version > 0 && card.rendered_revision >= record.version {
            return Ok(());
        }
        match self.teams.update_card(conversation, &card, render(record)).await {
            Ok(()) => {}
            Err(PostError::Gone) => {
                tracing::info!("the card was deleted in Teams; not updated");
                return Ok(());
            }
            Err(e) => return Err(teams_stop("updating the card", e)),
        }
        if card.version == 0 {
            return Ok(());
        }
        let mut card = card;
        for _ in 0..self.options.write_attempts {
            card.rendered_revision = card.rendered_revision.max(record.version);
            card.updated_at = Utc::now();
            match self.store.save_card(&card).await {
                Ok(_) => return Ok(()),
                Err(StoreError::Conflict(_)) => {
                    match self.store.get_card(&job.connection_id, &job.alert_id, &job.conversation_id).await? {
                        Some(fresh) => card = fresh,
                        None => return Ok(()),
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    async fn channel(
        &self,
        job: &ProvisioningJob,
        graph: &TenantGraph,
        conversation: &ConversationRef,
        record: AlertRecord,
    ) -> Result<(), Stop> {
        let Some(group_id) = conversation.team.as_ref().and_then(|t| t.aad_group_id.clone()) else {
            tracing::info!(conversation = %conversation.conversation_id, "not a team channel (or its group id is unknown): no alert channel");
            return Err(Stop::Outcome(
                self.notice(
                    job,
                    conversation,
                    "A dedicated alert channel can only be created from a card in a team channel.",
                )
                .await,
            ));
        };
        let record = match &record.channel {
            Some(_) => record,
            None => {
                let name = channel_name(&record);
                let ensured = graph
                    .create_channel_idempotent(
                        &group_id,
                        &NewChannel::standard(&name).with_description(summary(&record)),
                    )
                    .await
                    .map_err(|e| graph_stop("creating the channel", e))?;
                tracing::info!(channel = ensured.channel.id, adopted = ensured.adopted, "alert channel ready");
                let linked = LinkedChannel {
                    team_id: group_id.clone(),
                    channel_id: ensured.channel.id.clone(),
                    name: ensured.channel.display_name.clone(),
                    web_url: ensured.channel.web_url.clone(),
                };
                self.save_record(job, record, |r| {
                    if r.channel.is_none() {
                        r.channel = Some(linked.clone());
                    }
                })
                .await?
            }
        };
        let Some(linked) = record.channel.clone() else { return Ok(()) };
        // Responders outside the team join its group, so the standard channel is theirs to see.
        for person in self.responders(job, &record).await? {
            graph
                .add_group_member(&linked.team_id, &person.aad_object_id)
                .await
                .map_err(|e| graph_stop("adding a responder to the team", e))?;
        }
        let channel_conversation = self.channel_conversation(conversation, &linked).await?;
        if let Some(channel_conversation) = channel_conversation {
            self.card_in_channel(job, &channel_conversation, &record).await?;
        }
        self.update_original(job, conversation, &record).await
    }

    /// The new channel as a conversation the bot posts to (and the notifier keeps current).
    async fn channel_conversation(
        &self,
        conversation: &ConversationRef,
        linked: &LinkedChannel,
    ) -> Result<Option<ConversationRef>, Stop> {
        let Ok(id) = ConversationId::parse(&linked.channel_id) else {
            tracing::warn!(channel = linked.channel_id, "Graph returned an unusable channel id");
            return Ok(None);
        };
        if let Some(existing) = self.store.get_conversation(&conversation.tenant_id, &id).await? {
            return Ok(Some(existing));
        }
        let fresh = ConversationRef {
            conversation_id: id.clone(),
            kind: ConversationKind::Channel,
            channel_name: Some(linked.name.clone()),
            title: None,
            user_id: None,
            user_aad_object_id: None,
            status: ConversationStatus::Active,
            updated_at: Utc::now(),
            version: 0,
            ..conversation.clone()
        };
        match self.store.save_conversation(&fresh).await {
            Ok(saved) => Ok(Some(saved)),
            Err(StoreError::Conflict(_)) => Ok(self.store.get_conversation(&conversation.tenant_id, &id).await?),
            Err(e) => Err(e.into()),
        }
    }

    /// Posts the alert card into the alert's channel once.
    async fn card_in_channel(
        &self,
        job: &ProvisioningJob,
        channel: &ConversationRef,
        record: &AlertRecord,
    ) -> Result<(), Stop> {
        if self.store.get_card(&job.connection_id, &job.alert_id, &channel.conversation_id).await?.is_some() {
            return Ok(());
        }
        let posted = self
            .teams
            .post_card(channel, render(record))
            .await
            .map_err(|e| teams_stop("posting into the channel", e))?;
        let thread_id = ConversationId::parse(posted.thread_id)
            .map_err(|e| Stop::Outcome(JobOutcome::Failed(format!("Teams returned an unusable thread id: {e}"))))?;
        let card = AlertCard {
            connection_id: job.connection_id.clone(),
            alert_id: job.alert_id.clone(),
            conversation_id: channel.conversation_id.clone(),
            thread_id,
            activity_id: posted.activity_id,
            rendered_revision: record.version,
            updated_at: Utc::now(),
            version: 0,
        };
        match self.store.save_card(&card).await {
            Ok(_) | Err(StoreError::Conflict(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn chat(
        &self,
        job: &ProvisioningJob,
        graph: &TenantGraph,
        conversation: &ConversationRef,
        record: AlertRecord,
    ) -> Result<(), Stop> {
        let record = match &record.chat {
            Some(_) => record,
            None => {
                let mut members = vec![job.acting_user.aad_object_id.as_str().to_owned()];
                for person in self.responders(job, &record).await? {
                    if !members.contains(&person.aad_object_id) {
                        members.push(person.aad_object_id);
                    }
                }
                if members.len() < 2 {
                    return Err(Stop::Outcome(
                        self.notice(job, conversation, "No other responder of this alert is matched to a Teams user, so there is no one to chat with.")
                            .await,
                    ));
                }
                let chat = graph
                    .create_chat(&NewChat::group(Some(summary(&record)), members))
                    .await
                    .map_err(|e| graph_stop("creating the group chat", e))?;
                let linked = LinkedChat { chat_id: chat.id.clone(), web_url: chat.web_url.clone() };
                self.save_record(job, record, |r| {
                    if r.chat.is_none() {
                        r.chat = Some(linked.clone());
                    }
                })
                .await?
            }
        };
        self.update_original(job, conversation, &record).await
    }

    async fn meeting(
        &self,
        job: &ProvisioningJob,
        graph: &TenantGraph,
        conversation: &ConversationRef,
        record: AlertRecord,
    ) -> Result<(), Stop> {
        let record = match &record.meeting {
            Some(_) => record,
            None => {
                let organizer: &AadObjectId = &job.acting_user.aad_object_id;
                let attendees: Vec<Attendee> = self
                    .responders(job, &record)
                    .await?
                    .into_iter()
                    .filter(|p| p.aad_object_id != organizer.as_str())
                    .filter_map(|p| p.email.map(|e| Attendee::required(e, p.name)))
                    .collect();
                let start = Utc::now().naive_utc();
                let length = chrono::Duration::from_std(self.options.meeting_length)
                    .unwrap_or_else(|_| chrono::Duration::minutes(30));
                let alert_url = record.snapshot.get("alertUrl").and_then(|u| u.as_str()).map(str::to_owned);
                let event = NewEvent {
                    subject: format!("ilert alert {}: {}", record.alert_id, summary(&record)),
                    body: alert_url.map(|url| graph::ItemBody {
                        content_type: graph::BodyType::Text,
                        content: format!("ilert alert: {url}"),
                    }),
                    start: DateTimeTimeZone::utc(start),
                    end: DateTimeTimeZone::utc(start + length),
                    location: None,
                    attendees,
                    transaction_id: meeting_transaction_id(job),
                };
                let created = graph
                    .create_event(organizer.as_str(), &event)
                    .await
                    .map_err(|e| graph_stop("creating the meeting", e))?;
                let Some(join_url) = created.online_meeting.and_then(|m| m.join_url) else {
                    // Graph sometimes fills the join URL a moment later (graph.md §3.1): retry,
                    // the transactionId returns this same event.
                    return Err(Stop::Outcome(JobOutcome::RetryAfter(Duration::from_secs(5))));
                };
                let linked =
                    LinkedMeeting { event_id: created.id.clone(), organizer: organizer.as_str().to_owned(), join_url };
                self.save_record(job, record, |r| {
                    if r.meeting.is_none() {
                        r.meeting = Some(linked.clone());
                    }
                })
                .await?
            }
        };
        self.update_original(job, conversation, &record).await
    }
}

#[async_trait]
impl JobHandler for Provisioner {
    async fn handle(&self, job: &Job) -> JobOutcome {
        let parsed: ProvisioningJob = match serde_json::from_str(&job.body) {
            Ok(j) => j,
            Err(e) => return JobOutcome::Failed(format!("unreadable job: {e}")),
        };
        if parsed.v != ProvisioningJob::VERSION {
            return JobOutcome::Failed(format!("unknown provisioning job version {}", parsed.v));
        }
        self.run(&parsed).await
    }
}

/// The provisioner over a store, Graph and the Bot Connector.
pub fn handler(
    store: Arc<dyn Store>,
    graph: GraphClient,
    connector: Arc<botframework::ConnectorClient>,
) -> Provisioner {
    Provisioner::new(
        store,
        graph,
        Arc::new(ConnectorPoster::new(connector, CONNECTOR_BUDGET)),
        ProvisionerOptions::default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{AlertId, ConnectionId, TenantId};

    fn job() -> ProvisioningJob {
        ProvisioningJob {
            v: 1,
            kind: ProvisioningKind::Meeting,
            connection_id: ConnectionId::parse("c1").unwrap(),
            tenant_id: TenantId::parse("72f988bf-86f1-41af-91ab-2d7cd011db47").unwrap(),
            alert_id: AlertId::parse("42").unwrap(),
            conversation_id: ConversationId::parse("19:x@thread.tacv2").unwrap(),
            card_activity_id: None,
            service_url: "https://smba.trafficmanager.net/amer/".into(),
            acting_user: ActingUser {
                aad_object_id: AadObjectId::parse("6e1c6f2b-0b7a-4b8e-9a44-2f6a3a1b9c01").unwrap(),
                ilert_user_id: 1,
                name: None,
            },
        }
    }

    #[test]
    fn transaction_id_is_stable_per_alert() {
        let a = meeting_transaction_id(&job());
        assert_eq!(a, meeting_transaction_id(&job()));
        assert_eq!(a.len(), 36);
        let other = ProvisioningJob { alert_id: AlertId::parse("43").unwrap(), ..job() };
        assert_ne!(a, meeting_transaction_id(&other));
    }

    #[test]
    fn channel_names_follow_teams_rules() {
        let record = AlertRecord {
            connection_id: ConnectionId::parse("c1").unwrap(),
            alert_id: AlertId::parse("42").unwrap(),
            status: domain::model::AlertStatus::Pending,
            last_event_at: Utc::now(),
            snapshot: serde_json::json!({"id": "42", "alertSource": {"id": 7, "name": "_Grafana: prod/eu #1"}}),
            channel: None,
            meeting: None,
            chat: None,
            version: 1,
        };
        let name = channel_name(&record);
        assert_eq!(name, "Grafana- prod-eu -1_alert_42");
        assert!(graph::validate_channel_name(&name).is_ok());
        let bare = AlertRecord { snapshot: serde_json::json!({"id": "42"}), ..record };
        assert_eq!(channel_name(&bare), "ilert_alert_42");
    }
}
