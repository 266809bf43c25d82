//! The domain's store traits, implemented once over any [`ItemTable`]. Both adapters share
//! this code, so the key layout and the rules (versions, TTL, cascades) cannot drift apart.

use crate::keys;
use crate::table::{Condition, Item, ItemTable, Query, WriteOp, query_all};
use async_trait::async_trait;
use domain::model::{
    AlertCard, AlertRecord, Connection, ConversationRef, DirectoryTeam, Route, SyncCursor, UserMapping,
};
use domain::store::{
    AlertStore, ClaimScope, ClaimStore, ConnectionStore, ConversationStore, DirectoryStore, Page, RouteStore, Store,
    StoreError, StoreResult, SyncCursorStore, UserMappingStore,
};
use domain::{AadObjectId, AlertId, ConnectionId, ConversationId, GroupId, RouteId, TenantId};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// The product's store over one item table.
#[derive(Clone)]
pub struct TableStore {
    table: Arc<dyn ItemTable>,
}

impl TableStore {
    pub fn new(table: Arc<dyn ItemTable>) -> Self {
        Self { table }
    }

    /// The table underneath, for the conformance suite and housekeeping.
    pub fn table(&self) -> &Arc<dyn ItemTable> {
        &self.table
    }

    async fn get_live(&self, (pk, sk): (String, String)) -> StoreResult<Option<Item>> {
        let item = self.table.get(&pk, &sk).await?;
        Ok(item.filter(|i| !i.is_expired(now())))
    }

    async fn get_as<T: DeserializeOwned>(&self, key: (String, String)) -> StoreResult<Option<T>> {
        self.get_live(key).await?.map(|i| decode(&i)).transpose()
    }

    async fn query_as<T: DeserializeOwned>(&self, query: Query) -> StoreResult<Vec<T>> {
        let now = now();
        query_all(self.table.as_ref(), query).await?.iter().filter(|i| !i.is_expired(now)).map(decode).collect()
    }

    /// Writes `body` under `key` if the stored version is `expected` (0 = absent), as version
    /// `expected + 1`.
    async fn write_versioned(
        &self,
        key: (String, String),
        gsi1: Option<(String, String)>,
        body: serde_json::Value,
        expected: u64,
    ) -> StoreResult<u64> {
        let version = expected + 1;
        let mut item = Item::new(key.0, key.1, body).with_version(version);
        item.gsi1 = gsi1;
        self.table.write(WriteOp::Put { item, condition: version_condition(expected) }).await?;
        Ok(version)
    }

    async fn delete_key(&self, (pk, sk): (String, String)) -> StoreResult<bool> {
        match self.table.write(WriteOp::Delete { pk, sk, condition: Condition::Exists }).await {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

fn version_condition(expected: u64) -> Condition {
    if expected == 0 { Condition::Absent } else { Condition::Version(expected) }
}

pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn encode<T: Serialize>(value: &T) -> StoreResult<serde_json::Value> {
    let mut body = serde_json::to_value(value)
        .map_err(|e| StoreError::Corrupt { key: "(new item)".into(), reason: e.to_string() })?;
    // The version lives in the item's own attribute; keeping a second copy in the body would let them disagree.
    if let Some(map) = body.as_object_mut() {
        map.remove("version");
    }
    Ok(body)
}

fn decode<T: DeserializeOwned>(item: &Item) -> StoreResult<T> {
    let mut body = item.body.clone();
    if let Some(map) = body.as_object_mut() {
        map.insert("version".into(), item.version.into());
    }
    serde_json::from_value(body)
        .map_err(|e| StoreError::Corrupt { key: format!("{}/{}", item.pk, item.sk), reason: e.to_string() })
}

#[async_trait]
impl ConnectionStore for TableStore {
    async fn create_connection(&self, connection: &Connection) -> StoreResult<()> {
        let (pk, sk) = keys::connection(&connection.id);
        let (gpk, gsk) = keys::connection_directory(&connection.id);
        let item = Item::new(pk, sk, encode(connection)?).with_gsi1(gpk, gsk).with_version(1);
        let (tpk, tsk) = keys::tenant_connection(&connection.tenant_id);
        let link = Item::new(tpk, tsk, serde_json::json!({ "connectionId": connection.id })).with_version(1);
        self.table
            .transact(vec![
                WriteOp::Put { item, condition: Condition::Absent },
                WriteOp::Put { item: link, condition: Condition::Absent },
            ])
            .await
    }

    async fn get_connection(&self, id: &ConnectionId) -> StoreResult<Option<Connection>> {
        self.get_as(keys::connection(id)).await
    }

    async fn connection_for_tenant(&self, tenant: &TenantId) -> StoreResult<Option<Connection>> {
        let Some(link) = self.get_live(keys::tenant_connection(tenant)).await? else {
            return Ok(None);
        };
        let id = link
            .body
            .get("connectionId")
            .and_then(|v| v.as_str())
            .and_then(|s| ConnectionId::parse(s).ok())
            .ok_or_else(|| StoreError::Corrupt { key: link.pk.clone(), reason: "no connectionId".into() })?;
        // The link and the connection are written together; checking the tenant guards
        // against a half-finished delete ever handing one tenant another's connection.
        Ok(self.get_connection(&id).await?.filter(|c| &c.tenant_id == tenant))
    }

    async fn list_connections(&self) -> StoreResult<Vec<Connection>> {
        self.query_as(Query::gsi1(keys::CONNECTION_DIRECTORY_PK)).await
    }

    async fn update_connection(&self, connection: &Connection) -> StoreResult<Connection> {
        let existing = self
            .get_connection(&connection.id)
            .await?
            .ok_or_else(|| StoreError::Conflict(format!("connection {} does not exist", connection.id)))?;
        if existing.tenant_id != connection.tenant_id {
            return Err(StoreError::Conflict("a connection's tenant cannot change".into()));
        }
        let version = self
            .write_versioned(
                keys::connection(&connection.id),
                Some(keys::connection_directory(&connection.id)),
                encode(connection)?,
                connection.version,
            )
            .await?;
        Ok(Connection { version, ..connection.clone() })
    }

    async fn delete_connection(&self, id: &ConnectionId) -> StoreResult<bool> {
        let Some(connection) = self.get_connection(id).await? else {
            return Ok(false);
        };
        // Children first, so a crash half-way leaves a connection that can be deleted again.
        let mut doomed: Vec<(String, String)> =
            query_all(self.table.as_ref(), Query::primary(keys::routes_pk(id)).prefix(keys::ROUTE_PREFIX))
                .await?
                .into_iter()
                .map(|i| (i.pk, i.sk))
                .collect();
        for alert in query_all(self.table.as_ref(), Query::gsi1(keys::connection_alerts(id))).await? {
            for child in query_all(self.table.as_ref(), Query::primary(alert.pk.clone())).await? {
                doomed.push((child.pk, child.sk));
            }
        }
        self.table.batch_write(Vec::new(), doomed).await?;
        let (pk, sk) = keys::connection(id);
        let (tpk, tsk) = keys::tenant_connection(&connection.tenant_id);
        self.table
            .transact(vec![
                WriteOp::Delete { pk, sk, condition: Condition::Always },
                WriteOp::Delete { pk: tpk, sk: tsk, condition: Condition::Always },
            ])
            .await?;
        Ok(true)
    }
}

#[async_trait]
impl ConversationStore for TableStore {
    async fn save_conversation(&self, conversation: &ConversationRef) -> StoreResult<ConversationRef> {
        let gsi1 = conversation.team.as_ref().map(|team| {
            (
                keys::team_conversations(&conversation.tenant_id, &team.id),
                format!("{}{}", keys::CONVERSATION_PREFIX, conversation.conversation_id),
            )
        });
        let version = self
            .write_versioned(
                keys::conversation(&conversation.tenant_id, &conversation.conversation_id),
                gsi1,
                encode(conversation)?,
                conversation.version,
            )
            .await?;
        Ok(ConversationRef { version, ..conversation.clone() })
    }

    async fn get_conversation(&self, tenant: &TenantId, id: &ConversationId) -> StoreResult<Option<ConversationRef>> {
        self.get_as(keys::conversation(tenant, id)).await
    }

    async fn list_conversations(&self, tenant: &TenantId) -> StoreResult<Vec<ConversationRef>> {
        self.query_as(Query::primary(keys::conversations_pk(tenant)).prefix(keys::CONVERSATION_PREFIX)).await
    }

    async fn list_team_conversations(&self, tenant: &TenantId, team_id: &str) -> StoreResult<Vec<ConversationRef>> {
        let found: Vec<ConversationRef> = self.query_as(Query::gsi1(keys::team_conversations(tenant, team_id))).await?;
        // The index is eventually consistent; the base item is the truth about its tenant.
        Ok(found.into_iter().filter(|c| &c.tenant_id == tenant).collect())
    }

    async fn delete_conversation(&self, tenant: &TenantId, id: &ConversationId) -> StoreResult<bool> {
        self.delete_key(keys::conversation(tenant, id)).await
    }
}

#[async_trait]
impl RouteStore for TableStore {
    async fn create_route(&self, route: &Route) -> StoreResult<()> {
        let (pk, sk) = keys::route(&route.connection_id, &route.id);
        let item = Item::new(pk, sk, encode(route)?)
            .with_gsi1(
                keys::conversation_routes(&route.connection_id, &route.conversation_id),
                format!("{}{}", keys::ROUTE_PREFIX, route.id),
            )
            .with_version(1);
        self.table.write(WriteOp::Put { item, condition: Condition::Absent }).await
    }

    async fn get_route(&self, connection: &ConnectionId, id: &RouteId) -> StoreResult<Option<Route>> {
        self.get_as(keys::route(connection, id)).await
    }

    async fn list_routes(&self, connection: &ConnectionId) -> StoreResult<Vec<Route>> {
        self.query_as(Query::primary(keys::routes_pk(connection)).prefix(keys::ROUTE_PREFIX)).await
    }

    async fn routes_for_conversation(
        &self,
        connection: &ConnectionId,
        conversation: &ConversationId,
    ) -> StoreResult<Vec<Route>> {
        let found: Vec<Route> = self.query_as(Query::gsi1(keys::conversation_routes(connection, conversation))).await?;
        Ok(found.into_iter().filter(|r| &r.connection_id == connection).collect())
    }

    async fn delete_route(&self, connection: &ConnectionId, id: &RouteId) -> StoreResult<bool> {
        self.delete_key(keys::route(connection, id)).await
    }
}

#[async_trait]
impl AlertStore for TableStore {
    async fn get_alert(&self, connection: &ConnectionId, id: &AlertId) -> StoreResult<Option<AlertRecord>> {
        self.get_as(keys::alert(connection, id)).await
    }

    async fn save_alert(&self, record: &AlertRecord) -> StoreResult<AlertRecord> {
        let gsi1 = Some((keys::connection_alerts(&record.connection_id), format!("ALERT#{}", record.alert_id)));
        let version = self
            .write_versioned(
                keys::alert(&record.connection_id, &record.alert_id),
                gsi1,
                encode(record)?,
                record.version,
            )
            .await?;
        Ok(AlertRecord { version, ..record.clone() })
    }

    async fn get_card(
        &self,
        connection: &ConnectionId,
        alert: &AlertId,
        conversation: &ConversationId,
    ) -> StoreResult<Option<AlertCard>> {
        self.get_as(keys::card(connection, alert, conversation)).await
    }

    async fn save_card(&self, card: &AlertCard) -> StoreResult<AlertCard> {
        let version = self
            .write_versioned(
                keys::card(&card.connection_id, &card.alert_id, &card.conversation_id),
                Some(keys::card_thread(&card.connection_id, &card.thread_id)),
                encode(card)?,
                card.version,
            )
            .await?;
        Ok(AlertCard { version, ..card.clone() })
    }

    async fn list_cards(&self, connection: &ConnectionId, alert: &AlertId) -> StoreResult<Vec<AlertCard>> {
        self.query_as(Query::primary(keys::alert_pk(connection, alert)).prefix(keys::CARD_PREFIX)).await
    }

    async fn card_for_thread(
        &self,
        connection: &ConnectionId,
        thread_id: &ConversationId,
    ) -> StoreResult<Option<AlertCard>> {
        let (pk, _) = keys::card_thread(connection, thread_id);
        let found: Vec<AlertCard> = self.query_as(Query::gsi1(pk)).await?;
        // The index is eventually consistent; the base item is the truth about its connection
        // and thread. Should two cards ever claim one thread, the newest wins.
        Ok(found
            .into_iter()
            .filter(|c| &c.connection_id == connection && &c.thread_id == thread_id)
            .max_by_key(|c| c.updated_at))
    }
}

impl TableStore {
    fn mapping_item(mapping: &UserMapping) -> StoreResult<Item> {
        let (pk, sk) = keys::user(&mapping.tenant_id, &mapping.aad_object_id);
        Ok(Item::new(pk, sk.clone(), encode(mapping)?)
            .with_gsi1(keys::ilert_user(&mapping.tenant_id, mapping.ilert_user_id), sk)
            .with_version(1))
    }
}

#[async_trait]
impl UserMappingStore for TableStore {
    async fn put_user_mapping(&self, mapping: &UserMapping) -> StoreResult<()> {
        self.table.write(WriteOp::Put { item: Self::mapping_item(mapping)?, condition: Condition::Always }).await
    }

    async fn put_user_mappings(&self, mappings: &[UserMapping]) -> StoreResult<()> {
        let items = mappings.iter().map(Self::mapping_item).collect::<StoreResult<Vec<_>>>()?;
        self.table.batch_write(items, Vec::new()).await
    }

    async fn get_user_mapping(&self, tenant: &TenantId, user: &AadObjectId) -> StoreResult<Option<UserMapping>> {
        self.get_as(keys::user(tenant, user)).await
    }

    async fn users_for_ilert_user(&self, tenant: &TenantId, ilert_user_id: i64) -> StoreResult<Vec<UserMapping>> {
        let found: Vec<UserMapping> = self.query_as(Query::gsi1(keys::ilert_user(tenant, ilert_user_id))).await?;
        Ok(found.into_iter().filter(|m| &m.tenant_id == tenant).collect())
    }

    async fn list_user_mappings(
        &self,
        tenant: &TenantId,
        page_size: u32,
        cursor: Option<String>,
    ) -> StoreResult<Page<UserMapping>> {
        let page =
            self.table.query(&Query::primary(keys::users_pk(tenant)).limit(page_size.max(1)).after(cursor)).await?;
        Ok(Page { items: page.items.iter().map(decode).collect::<StoreResult<_>>()?, next: page.next })
    }

    async fn delete_user_mapping(&self, tenant: &TenantId, user: &AadObjectId) -> StoreResult<bool> {
        self.delete_key(keys::user(tenant, user)).await
    }
}

#[async_trait]
impl SyncCursorStore for TableStore {
    async fn get_cursor(&self, tenant: &TenantId, resource: &str) -> StoreResult<Option<SyncCursor>> {
        self.get_as(keys::sync_cursor(tenant, resource)).await
    }

    async fn save_cursor(&self, cursor: &SyncCursor) -> StoreResult<SyncCursor> {
        let version = self
            .write_versioned(
                keys::sync_cursor(&cursor.tenant_id, &cursor.resource),
                None,
                encode(cursor)?,
                cursor.version,
            )
            .await?;
        Ok(SyncCursor { version, ..cursor.clone() })
    }

    async fn delete_cursor(&self, tenant: &TenantId, resource: &str) -> StoreResult<bool> {
        self.delete_key(keys::sync_cursor(tenant, resource)).await
    }
}

#[async_trait]
impl DirectoryStore for TableStore {
    async fn replace_teams(&self, tenant: &TenantId, teams: &[DirectoryTeam]) -> StoreResult<()> {
        if let Some(foreign) = teams.iter().find(|t| &t.tenant_id != tenant) {
            return Err(StoreError::Invalid(format!("team {} belongs to another tenant", foreign.group_id)));
        }
        let keep: HashSet<String> = teams.iter().map(|t| keys::team(tenant, &t.group_id).1).collect();
        let mut stale = Vec::new();
        let mut cursor = None;
        loop {
            let page = self.table.query(&Query::primary(keys::teams_pk(tenant)).limit(500).after(cursor)).await?;
            stale.extend(page.items.into_iter().filter(|i| !keep.contains(&i.sk)).map(|i| (i.pk, i.sk)));
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        let puts = teams
            .iter()
            .map(|t| {
                let (pk, sk) = keys::team(tenant, &t.group_id);
                Ok(Item::new(pk, sk, encode(t)?).with_version(1))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        self.table.batch_write(puts, stale).await
    }

    async fn list_teams(
        &self,
        tenant: &TenantId,
        page_size: u32,
        cursor: Option<String>,
    ) -> StoreResult<Page<DirectoryTeam>> {
        let page =
            self.table.query(&Query::primary(keys::teams_pk(tenant)).limit(page_size.max(1)).after(cursor)).await?;
        Ok(Page { items: page.items.iter().map(decode).collect::<StoreResult<_>>()?, next: page.next })
    }

    async fn get_team(&self, tenant: &TenantId, group: &GroupId) -> StoreResult<Option<DirectoryTeam>> {
        self.get_as(keys::team(tenant, group)).await
    }
}

#[async_trait]
impl ClaimStore for TableStore {
    async fn claim(&self, scope: &ClaimScope, kind: &str, key: &str, ttl: Duration) -> StoreResult<bool> {
        let now = now();
        let (pk, sk) = keys::claim(scope, kind, key);
        let expires = now + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2).max(1);
        let item = Item::new(pk, sk, serde_json::json!({ "claimedAt": now })).expiring_at(expires).with_version(1);
        match self.table.write(WriteOp::Put { item, condition: Condition::AbsentOrExpired { now } }).await {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn is_claimed(&self, scope: &ClaimScope, kind: &str, key: &str) -> StoreResult<bool> {
        Ok(self.get_live(keys::claim(scope, kind, key)).await?.is_some())
    }

    async fn release(&self, scope: &ClaimScope, kind: &str, key: &str) -> StoreResult<()> {
        let (pk, sk) = keys::claim(scope, kind, key);
        self.table.write(WriteOp::Delete { pk, sk, condition: Condition::Always }).await
    }
}

impl Store for TableStore {
    fn backend(&self) -> &'static str {
        self.table.backend()
    }
}
