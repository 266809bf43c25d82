//! The state-store ports. Every method takes the tenant or connection it acts for, so no call
//! can read or write another tenant's data; the adapters build every key from that scope.

use crate::ids::{AadObjectId, AlertId, ConnectionId, ConversationId, GroupId, RouteId, TenantId};
use crate::model::{
    AlertCard, AlertRecord, Connection, ConversationRef, DirectoryTeam, Route, SyncCursor, UserMapping,
};
use async_trait::async_trait;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write lost: the item exists already, or its version moved on.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The store could not be reached or refused for a passing reason; retrying may succeed.
    #[error("state store unavailable: {0}")]
    Unavailable(String),
    /// An item could not be read back into its type.
    #[error("corrupt item {key}: {reason}")]
    Corrupt { key: String, reason: String },
    /// The caller asked for something the store refuses to do, e.g. to write one tenant's
    /// data under another tenant.
    #[error("refused by the state store: {0}")]
    Invalid(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Whose claim namespace a de-duplication key lives in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimScope {
    Tenant(TenantId),
    Connection(ConnectionId),
}

/// One page of a listing and where the next one starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

#[async_trait]
pub trait ConnectionStore: Send + Sync {
    /// Creates the connection; `Conflict` if its id exists or its tenant is already connected.
    async fn create_connection(&self, connection: &Connection) -> StoreResult<()>;
    async fn get_connection(&self, id: &ConnectionId) -> StoreResult<Option<Connection>>;
    async fn connection_for_tenant(&self, tenant: &TenantId) -> StoreResult<Option<Connection>>;
    /// The operator's directory of connections (the management API lists them all).
    async fn list_connections(&self) -> StoreResult<Vec<Connection>>;
    /// Writes `connection` if the stored version still equals `connection.version`;
    /// returns it with the new version, or `Conflict` when the write was stale.
    async fn update_connection(&self, connection: &Connection) -> StoreResult<Connection>;
    /// Deletes the connection and everything stored under it (routes, alerts, cards).
    async fn delete_connection(&self, id: &ConnectionId) -> StoreResult<bool>;
}

#[async_trait]
pub trait ConversationStore: Send + Sync {
    /// Inserts or replaces the reference if the stored version equals `conversation.version`
    /// (0 = must not exist yet); returns it with its new version.
    async fn save_conversation(&self, conversation: &ConversationRef) -> StoreResult<ConversationRef>;
    async fn get_conversation(&self, tenant: &TenantId, id: &ConversationId) -> StoreResult<Option<ConversationRef>>;
    async fn list_conversations(&self, tenant: &TenantId) -> StoreResult<Vec<ConversationRef>>;
    /// The channels we know of one team (the team's thread id).
    async fn list_team_conversations(&self, tenant: &TenantId, team_id: &str) -> StoreResult<Vec<ConversationRef>>;
    async fn delete_conversation(&self, tenant: &TenantId, id: &ConversationId) -> StoreResult<bool>;
}

#[async_trait]
pub trait RouteStore: Send + Sync {
    async fn create_route(&self, route: &Route) -> StoreResult<()>;
    async fn get_route(&self, connection: &ConnectionId, id: &RouteId) -> StoreResult<Option<Route>>;
    async fn list_routes(&self, connection: &ConnectionId) -> StoreResult<Vec<Route>>;
    async fn routes_for_conversation(
        &self,
        connection: &ConnectionId,
        conversation: &ConversationId,
    ) -> StoreResult<Vec<Route>>;
    async fn delete_route(&self, connection: &ConnectionId, id: &RouteId) -> StoreResult<bool>;
}

#[async_trait]
pub trait AlertStore: Send + Sync {
    async fn get_alert(&self, connection: &ConnectionId, id: &AlertId) -> StoreResult<Option<AlertRecord>>;
    /// Optimistic write: `record.version` is the version read (0 = new).
    async fn save_alert(&self, record: &AlertRecord) -> StoreResult<AlertRecord>;
    async fn get_card(
        &self,
        connection: &ConnectionId,
        alert: &AlertId,
        conversation: &ConversationId,
    ) -> StoreResult<Option<AlertCard>>;
    /// Optimistic write: `card.version` is the version read (0 = new).
    async fn save_card(&self, card: &AlertCard) -> StoreResult<AlertCard>;
    async fn list_cards(&self, connection: &ConnectionId, alert: &AlertId) -> StoreResult<Vec<AlertCard>>;
    /// The card whose thread this is (`thread_id` as the card stored it, `19:…;messageid=…`):
    /// how a reply in a channel thread finds its alert. Read through an index, so a card saved
    /// a moment ago may not be found yet.
    async fn card_for_thread(
        &self,
        connection: &ConnectionId,
        thread_id: &ConversationId,
    ) -> StoreResult<Option<AlertCard>>;
}

#[async_trait]
pub trait UserMappingStore: Send + Sync {
    async fn put_user_mapping(&self, mapping: &UserMapping) -> StoreResult<()>;
    /// Many mappings at once (directory sync); retried until every item is written.
    async fn put_user_mappings(&self, mappings: &[UserMapping]) -> StoreResult<()>;
    async fn get_user_mapping(&self, tenant: &TenantId, user: &AadObjectId) -> StoreResult<Option<UserMapping>>;
    /// Teams users matched to one ilert user.
    async fn users_for_ilert_user(&self, tenant: &TenantId, ilert_user_id: i64) -> StoreResult<Vec<UserMapping>>;
    async fn list_user_mappings(
        &self,
        tenant: &TenantId,
        page_size: u32,
        cursor: Option<String>,
    ) -> StoreResult<Page<UserMapping>>;
    async fn delete_user_mapping(&self, tenant: &TenantId, user: &AadObjectId) -> StoreResult<bool>;
}

#[async_trait]
pub trait SyncCursorStore: Send + Sync {
    async fn get_cursor(&self, tenant: &TenantId, resource: &str) -> StoreResult<Option<SyncCursor>>;
    /// Optimistic write: `cursor.version` is the version read (0 = new).
    async fn save_cursor(&self, cursor: &SyncCursor) -> StoreResult<SyncCursor>;
    async fn delete_cursor(&self, tenant: &TenantId, resource: &str) -> StoreResult<bool>;
}

/// The teams (and their channels) of each tenant, as the directory sync last listed them.
#[async_trait]
pub trait DirectoryStore: Send + Sync {
    /// Makes `teams` the tenant's whole list: writes each, deletes the teams not among them.
    async fn replace_teams(&self, tenant: &TenantId, teams: &[DirectoryTeam]) -> StoreResult<()>;
    /// The tenant's teams, ordered by group id, paged.
    async fn list_teams(
        &self,
        tenant: &TenantId,
        page_size: u32,
        cursor: Option<String>,
    ) -> StoreResult<Page<DirectoryTeam>>;
    async fn get_team(&self, tenant: &TenantId, group: &GroupId) -> StoreResult<Option<DirectoryTeam>>;
}

#[async_trait]
pub trait ClaimStore: Send + Sync {
    /// Claims `key` in `scope` for `ttl`. Exactly one of any number of concurrent callers gets
    /// `true`; the rest get `false` until the claim expires.
    async fn claim(&self, scope: &ClaimScope, kind: &str, key: &str, ttl: Duration) -> StoreResult<bool>;
    /// Whether a live claim exists (does not take it).
    async fn is_claimed(&self, scope: &ClaimScope, kind: &str, key: &str) -> StoreResult<bool>;
    /// Gives a claim back (the work it guarded failed and may be retried).
    async fn release(&self, scope: &ClaimScope, kind: &str, key: &str) -> StoreResult<()>;
}

/// Everything the product keeps, behind one handle.
pub trait Store:
    ConnectionStore
    + ConversationStore
    + RouteStore
    + AlertStore
    + UserMappingStore
    + SyncCursorStore
    + DirectoryStore
    + ClaimStore
{
    /// Which adapter this is, for `/health` and logs.
    fn backend(&self) -> &'static str;
}
