//! Directory sync: on a schedule, matches every connected tenant's Teams (Entra) users to ilert
//! users, so a responder's click is attributed without a look-up on the hot path.
//!
//! The schedule queues one [`SyncJob`] per connection ([`DirectorySync::enqueue_all`]); each job
//! ([`JobHandler`]) runs one round of Graph's users delta for its tenant (graph.md §4.1):
//!
//! - **incremental** (the stored deltaLink): only users that changed since the last round. A
//!   round without changes costs one Graph call and no ilert call.
//! - **full** (no cursor yet, the delta token expired, or the last full round is older than
//!   [`SyncOptions::full_round_every`]): every user, and afterwards every stored mapping not
//!   matched again is deleted. Full rounds catch what a Graph delta cannot see: users added,
//!   removed or re-addressed on the ilert side.
//!
//! A Teams user matches the ilert user whose e-mail equals (ignoring case) their `mail`, else
//! their `userPrincipalName`, else one of their `otherMails`. Disabled and deleted accounts lose
//! their mapping. The deltaLink is saved only after the round's writes, so a run that fails
//! midway (throttled past its budget, ilert down, the function timing out) leaves the cursor
//! where it was and the next run repeats the round; every write is idempotent.
//!
//! The same job then refreshes the tenant's **teams directory**: every team (a group with a
//! team) and its channels, listed in `$batch`es of 20 and stored whole, for the management
//! API's pickers. Teams have no delta for channels; a listing is 1 + teams/20 Graph calls.
//!
//! Permissions: User.Read.All (users delta), Directory.Read.All or Group.ReadWrite.All (teams
//! through their groups), Channel.ReadBasic.All (channels). Knows nothing of AWS or Lambda;
//! `main.rs` wires it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::model::{Connection, DirectoryChannel, DirectoryTeam, MappingSource, SyncCursor, UserMapping};
use domain::queue::{Job, JobHandler, JobOutcome, OutgoingMessage, Queue, QueueError};
use domain::store::{Store, StoreError};
use domain::{AadObjectId, ConnectionId, GroupId};
use futures::TryStreamExt;
use graph::{BatchRequest, Change, Deadline, DeltaStart, GraphClient, GraphError, USER_SELECT, path_segment};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// The sync cursor's resource name for the users delta.
pub const USERS_CURSOR: &str = "users";

#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// How often a tenant gets a full round instead of an incremental one.
    pub full_round_every: Duration,
    /// Budget of each of a tenant's two rounds (users, teams) in Graph, retries and
    /// `Retry-After` waits included; past it the round stops and the job comes back later.
    pub graph_budget: Duration,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            full_round_every: Duration::from_secs(24 * 3600),
            // Users and teams rounds together stay inside the function's timeout
            // (template.yaml: 300 s); at Graph's 999 users a page, over 100 000 users.
            graph_budget: Duration::from_secs(120),
        }
    }
}

/// Why a tenant's round stopped; its cursor is untouched and the next run repeats it.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(
        "Microsoft Graph refused: the app lacks the {permission} application permission in this tenant; an admin of the tenant must grant consent"
    )]
    MissingPermission { permission: &'static str },
    #[error("Microsoft Graph: {0}")]
    Graph(GraphError),
    #[error("ilert: {0}")]
    Ilert(#[from] ilert::IlertError),
    #[error("the connection's ilert API key cannot be read: {0}")]
    ApiKey(String),
    #[error("state store: {0}")]
    Store(#[from] StoreError),
}

impl SyncError {
    /// What becomes of the job. Retrying helps with throttling and outages; a missing consent
    /// or a revoked ilert key waits for a person, and the next scheduled run tries again.
    pub fn outcome(&self) -> JobOutcome {
        match self {
            SyncError::MissingPermission { .. } => JobOutcome::Done,
            SyncError::Ilert(ilert::IlertError::InvalidApiKey | ilert::IlertError::Forbidden { .. }) => {
                JobOutcome::Done
            }
            // Another run saved the cursor first: that round's result stands.
            SyncError::Store(StoreError::Conflict(_)) => JobOutcome::Done,
            SyncError::Graph(GraphError::Throttled { retry_after, .. }) => JobOutcome::RetryAfter(*retry_after),
            SyncError::Ilert(ilert::IlertError::Throttled { retry_after }) => JobOutcome::RetryAfter(*retry_after),
            e => JobOutcome::Failed(e.to_string()),
        }
    }
}

impl From<GraphError> for SyncError {
    fn from(e: GraphError) -> Self {
        match e {
            GraphError::Forbidden { permission, .. } => SyncError::MissingPermission { permission },
            e => SyncError::Graph(e),
        }
    }
}

/// What one tenant's round did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsersReport {
    /// Whether this was a full round.
    pub full: bool,
    /// Users the round reported (changed ones; every one in a full round).
    pub changed: usize,
    /// Mappings written.
    pub matched: usize,
    /// Users reported without an ilert user of their address.
    pub unmatched: usize,
    /// Mappings deleted (account deleted or disabled, address no longer matching).
    pub removed: usize,
}

/// What one tenant's teams listing found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamsReport {
    pub teams: usize,
    pub channels: usize,
}

/// One connection's sync, queued by the schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncJob {
    /// Schema version of the message.
    pub v: u32,
    pub connection_id: ConnectionId,
}

impl SyncJob {
    pub const VERSION: u32 = 1;

    /// The queue message: grouped by tenant, so one tenant's rounds never overlap, and
    /// de-duplicated per connection and schedule tick, so a repeated schedule event (EventBridge
    /// delivers at least once) queues nothing new.
    pub fn message(connection: &Connection, tick: DateTime<Utc>) -> Result<OutgoingMessage, serde_json::Error> {
        let job = SyncJob { v: Self::VERSION, connection_id: connection.id.clone() };
        Ok(OutgoingMessage::new(serde_json::to_string(&job)?).in_group(connection.tenant_id.as_str()).dedup(format!(
            "{}#{}",
            connection.id,
            tick.format("%Y%m%dT%H%M")
        )))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("state store: {0}")]
    Store(#[from] StoreError),
    #[error("queue: {0}")]
    Queue(#[from] QueueError),
}

/// The directory sync over the store, Graph (the app's tokens, per tenant), ilert and the
/// vault holding each connection's ilert API key.
pub struct DirectorySync {
    store: Arc<dyn Store>,
    graph: GraphClient,
    ilert: ilert::Ilert,
    vault: Arc<dyn secrets::SecretVault>,
    options: SyncOptions,
}

/// One delta round's result: each reported user's last state (`None` = removed).
struct Round {
    users: HashMap<String, Option<graph::User>>,
    delta_link: String,
    full: bool,
}

impl DirectorySync {
    pub fn new(
        store: Arc<dyn Store>,
        graph: GraphClient,
        ilert: ilert::Ilert,
        vault: Arc<dyn secrets::SecretVault>,
        options: SyncOptions,
    ) -> Self {
        Self { store, graph, ilert, vault, options }
    }

    /// The schedule's part: queues one [`SyncJob`] per connection. Each job then runs on its
    /// own (and in parallel), so the number of tenants never meets a function's time limit.
    pub async fn enqueue_all(&self, queue: &dyn Queue, tick: DateTime<Utc>) -> Result<usize, ScheduleError> {
        let connections = self.store.list_connections().await?;
        for connection in &connections {
            let message = SyncJob::message(connection, tick)
                .map_err(|e| ScheduleError::Queue(QueueError::Refused(e.to_string())))?;
            queue.send(message).await?;
        }
        Ok(connections.len())
    }

    /// Runs one job: its connection's users round, then its teams listing.
    async fn run_job(&self, job: &SyncJob) -> JobOutcome {
        let connection = match self.store.get_connection(&job.connection_id).await {
            Ok(Some(connection)) => connection,
            Ok(None) => {
                tracing::info!(connection_id = %job.connection_id, "the connection was deleted; nothing to sync");
                return JobOutcome::Done;
            }
            Err(e) => return JobOutcome::Failed(format!("state store: {e}")),
        };
        telemetry::record_tenant(connection.tenant_id.as_str());
        // Both halves run whatever the other did; the job's outcome is the graver of the two.
        let users = self.sync_users(&connection).await;
        let teams = self.sync_teams(&connection).await;
        let mut outcomes = Vec::new();
        match users {
            Ok(users) => tracing::info!(?users, "users synced"),
            Err(e) => {
                tracing::warn!(error = %e, "users not synced");
                outcomes.push(e.outcome());
            }
        }
        match teams {
            Ok(teams) => tracing::info!(?teams, "teams directory refreshed"),
            Err(e) => {
                tracing::warn!(error = %e, "teams directory not refreshed");
                outcomes.push(e.outcome());
            }
        }
        graver(outcomes)
    }

    /// One users round for the connection's tenant.
    pub async fn sync_users(&self, connection: &Connection) -> Result<UsersReport, SyncError> {
        let tenant = &connection.tenant_id;
        let now = Utc::now();
        let cursor = self.store.get_cursor(tenant, USERS_CURSOR).await?;
        let incremental = cursor.as_ref().filter(|c| !self.full_round_due(c, now)).map(|c| c.delta_link.clone());
        let graph = self.graph.tenant(tenant.as_str(), Deadline::after(self.options.graph_budget)).low_priority();
        let round = match incremental {
            Some(link) => match delta_round(&graph, DeltaStart::Link(&link), false).await {
                Err(GraphError::ResyncRequired(failure)) => {
                    tracing::info!(code = %failure.code, "the delta token expired; running a full round");
                    delta_round(&graph, DeltaStart::Full { select: USER_SELECT }, true).await?
                }
                other => other?,
            },
            None => delta_round(&graph, DeltaStart::Full { select: USER_SELECT }, true).await?,
        };

        let report = if round.users.is_empty() && !round.full {
            UsersReport::default()
        } else {
            self.apply(connection, &round).await?
        };

        let version = cursor.as_ref().map_or(0, |c| c.version);
        let full_round_at = if round.full { Some(now) } else { cursor.and_then(|c| c.full_round_at) };
        self.store
            .save_cursor(&SyncCursor {
                tenant_id: tenant.clone(),
                resource: USERS_CURSOR.into(),
                delta_link: round.delta_link,
                updated_at: Utc::now(),
                full_round_at,
                version,
            })
            .await?;
        Ok(report)
    }

    /// Lists the tenant's teams and their channels and stores them as its teams directory.
    pub async fn sync_teams(&self, connection: &Connection) -> Result<TeamsReport, SyncError> {
        let tenant = &connection.tenant_id;
        let graph = self.graph.tenant(tenant.as_str(), Deadline::after(self.options.graph_budget)).low_priority();
        let listed: Vec<graph::TeamSummary> = graph.list_teams().try_collect().await?;
        let requests = listed
            .iter()
            .enumerate()
            .map(|(i, team)| {
                let url = format!("/teams/{}/channels?$select=id,displayName,membershipType", path_segment(&team.id));
                BatchRequest::get(i.to_string(), url).with_permission(CHANNELS_PERMISSION)
            })
            .collect();
        let replies = if listed.is_empty() { Vec::new() } else { graph.batch(requests).await? };
        let now = Utc::now();
        let mut teams = Vec::with_capacity(listed.len());
        for (team, reply) in listed.into_iter().zip(replies) {
            let Ok(group_id) = GroupId::parse(&team.id) else {
                tracing::warn!(group_id = %team.id, "Graph listed a team id we cannot store; skipped");
                continue;
            };
            let channels = match reply.into_result::<graph::Page<graph::Channel>>() {
                Ok(page) if page.next_link.is_none() => page.value,
                // Rare (Graph lists a team's channels in one page): follow the links alone.
                Ok(_) => graph.list_channels(&team.id).try_collect().await?,
                // A group whose team is still being made, or was deleted since the listing.
                Err(GraphError::NotFound(_)) => continue,
                Err(e) => return Err(e.into()),
            };
            teams.push(DirectoryTeam {
                tenant_id: tenant.clone(),
                group_id,
                display_name: team.display_name.unwrap_or_default(),
                description: team.description.filter(|d| !d.trim().is_empty()),
                channels: channels.into_iter().map(directory_channel).collect(),
                synced_at: now,
            });
        }
        self.store.replace_teams(tenant, &teams).await?;
        Ok(TeamsReport { teams: teams.len(), channels: teams.iter().map(|t| t.channels.len()).sum() })
    }

    fn full_round_due(&self, cursor: &SyncCursor, now: DateTime<Utc>) -> bool {
        let every = chrono::Duration::from_std(self.options.full_round_every).unwrap_or(chrono::Duration::MAX);
        cursor.full_round_at.is_none_or(|at| now - at >= every)
    }

    /// Writes the mappings of the round's users and deletes those that no longer hold.
    async fn apply(&self, connection: &Connection, round: &Round) -> Result<UsersReport, SyncError> {
        let tenant = &connection.tenant_id;
        let directory = self.ilert_directory(connection).await?;
        let mut report = UsersReport { full: round.full, changed: round.users.len(), ..UsersReport::default() };
        let mut mappings = Vec::new();
        let mut gone = Vec::new();
        for (id, user) in &round.users {
            let Ok(aad) = AadObjectId::parse(id) else {
                tracing::warn!(user_id = %id, "Graph reported a user id we cannot store; skipped");
                continue;
            };
            let matched = user.as_ref().filter(|u| u.account_enabled != Some(false)).and_then(|u| {
                let (email, ilert_user) = directory.match_user(u)?;
                Some(UserMapping {
                    tenant_id: tenant.clone(),
                    aad_object_id: aad.clone(),
                    ilert_user_id: ilert_user,
                    email,
                    display_name: u.display_name.clone(),
                    source: MappingSource::DirectorySync,
                    updated_at: Utc::now(),
                })
            });
            match matched {
                Some(mapping) => mappings.push(mapping),
                None => {
                    if user.as_ref().is_some_and(|u| u.account_enabled != Some(false)) {
                        report.unmatched += 1;
                    }
                    gone.push(aad);
                }
            }
        }
        self.store.put_user_mappings(&mappings).await?;
        report.matched = mappings.len();

        if round.full {
            // Everything stored but not matched in this round goes, whatever made it.
            let kept: HashSet<&str> = mappings.iter().map(|m| m.aad_object_id.as_str()).collect();
            let mut page_cursor = None;
            let mut stale = Vec::new();
            loop {
                let page = self.store.list_user_mappings(tenant, 500, page_cursor).await?;
                stale.extend(page.items.into_iter().map(|m| m.aad_object_id).filter(|a| !kept.contains(a.as_str())));
                match page.next {
                    Some(next) => page_cursor = Some(next),
                    None => break,
                }
            }
            gone = stale;
        }
        for aad in &gone {
            if self.store.delete_user_mapping(tenant, aad).await? {
                report.removed += 1;
            }
        }
        Ok(report)
    }

    async fn ilert_directory(&self, connection: &Connection) -> Result<IlertDirectory, SyncError> {
        let key = self.vault.get(&connection.ilert_api_key_ref).await.map_err(|e| SyncError::ApiKey(e.to_string()))?;
        let users = self.ilert.client(key).list_users().all().await?;
        Ok(IlertDirectory::new(users))
    }
}

#[async_trait]
impl JobHandler for DirectorySync {
    async fn handle(&self, job: &Job) -> JobOutcome {
        match serde_json::from_str::<SyncJob>(&job.body) {
            Ok(sync) if sync.v == SyncJob::VERSION => self.run_job(&sync).await,
            Ok(sync) => JobOutcome::Failed(format!("permanent: unknown sync job version {}", sync.v)),
            Err(e) => JobOutcome::Failed(format!("permanent: not a sync job: {e}")),
        }
    }
}

const CHANNELS_PERMISSION: &str = "Channel.ReadBasic.All";

fn directory_channel(channel: graph::Channel) -> DirectoryChannel {
    let membership = match channel.membership_type {
        Some(graph::MembershipType::Private) => "private",
        Some(graph::MembershipType::Shared) => "shared",
        _ => "standard",
    };
    DirectoryChannel { id: channel.id, display_name: channel.display_name, membership_type: membership.into() }
}

/// The outcome that needs the most: a failure (queue backoff) over a wait over done.
fn graver(outcomes: Vec<JobOutcome>) -> JobOutcome {
    let mut result = JobOutcome::Done;
    for outcome in outcomes {
        result = match (result, outcome) {
            (failed @ JobOutcome::Failed(_), _) | (_, failed @ JobOutcome::Failed(_)) => failed,
            (JobOutcome::RetryAfter(a), JobOutcome::RetryAfter(b)) => JobOutcome::RetryAfter(a.max(b)),
            (wait @ JobOutcome::RetryAfter(_), JobOutcome::Done) | (JobOutcome::Done, wait) => wait,
        };
    }
    result
}

/// Follows one delta round to its deltaLink.
async fn delta_round(graph: &graph::TenantGraph, start: DeltaStart<'_>, full: bool) -> Result<Round, GraphError> {
    let mut pages = graph.users_delta(start);
    let mut users = HashMap::new();
    while let Some(page) = pages.try_next().await? {
        for change in page.value {
            // Entries may repeat within a round; the later one is the newer state.
            match change {
                Change::Upserted(user) => users.insert(user.id.clone(), Some(user)),
                Change::Removed { id, .. } => users.insert(id, None),
            };
        }
        if let Some(delta_link) = page.delta_link {
            return Ok(Round { users, delta_link, full });
        }
    }
    Err(GraphError::InvalidResponse("the users delta round ended without a deltaLink".into()))
}

/// ilert's users by lower-cased e-mail address.
pub struct IlertDirectory {
    by_email: HashMap<String, i64>,
}

impl IlertDirectory {
    pub fn new(users: impl IntoIterator<Item = ilert::User>) -> Self {
        let by_email = users
            .into_iter()
            .filter(|u| !u.email.trim().is_empty())
            .map(|u| (u.email.trim().to_lowercase(), u.id))
            .collect();
        Self { by_email }
    }

    /// The address that matched and the ilert user id: `mail` first, then the UPN, then
    /// `otherMails`, each compared without case.
    pub fn match_user(&self, user: &graph::User) -> Option<(String, i64)> {
        let addresses = user.mail.iter().chain(user.user_principal_name.iter()).chain(user.other_mails.iter());
        addresses.map(|a| a.trim().to_lowercase()).find_map(|a| self.by_email.get(&a).map(|id| (a, *id)))
    }
}

/// The sync with ilert at `ILERT_API_URL`, over `graph` (the bot's app-only tokens: the app
/// registration is multi-tenant and each customer tenant admin-consents to it).
pub fn from_config(
    config: &config::Config,
    graph: GraphClient,
    store: Arc<dyn Store>,
    vault: Arc<dyn secrets::SecretVault>,
    http: reqwest::Client,
) -> DirectorySync {
    let ilert = ilert::Ilert::new(http, config.endpoints.ilert_api_url.clone());
    DirectorySync::new(store, graph, ilert, vault, SyncOptions::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ilert_user(id: i64, email: &str) -> ilert::User {
        serde_json::from_value(serde_json::json!({ "id": id, "email": email })).unwrap()
    }

    fn graph_user(mail: Option<&str>, upn: Option<&str>, other: &[&str]) -> graph::User {
        serde_json::from_value(serde_json::json!({
            "id": "u1", "mail": mail, "userPrincipalName": upn, "otherMails": other,
        }))
        .unwrap()
    }

    #[test]
    fn mail_wins_over_upn_and_upn_over_other_mails() {
        let directory = IlertDirectory::new([
            ilert_user(1, "ann@contoso.com"),
            ilert_user(2, " Ann.Lee@Contoso.com "),
            ilert_user(3, "a.lee@private.example"),
            ilert_user(4, ""),
        ]);
        let both = graph_user(Some("Ann.Lee@contoso.com"), Some("ann@contoso.com"), &["a.lee@private.example"]);
        assert_eq!(directory.match_user(&both), Some(("ann.lee@contoso.com".into(), 2)));
        let upn_only = graph_user(None, Some("ANN@contoso.com"), &["a.lee@private.example"]);
        assert_eq!(directory.match_user(&upn_only), Some(("ann@contoso.com".into(), 1)));
        let other = graph_user(Some("x@contoso.com"), Some("y@contoso.com"), &["nobody@x", "A.Lee@private.example"]);
        assert_eq!(directory.match_user(&other), Some(("a.lee@private.example".into(), 3)));
        assert_eq!(directory.match_user(&graph_user(Some(""), None, &[])), None, "an empty address matches nobody");
    }
}
