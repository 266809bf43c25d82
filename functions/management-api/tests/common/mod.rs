//! The test harness: the real router on the embedded store (in memory) and a file vault in a
//! temporary directory, called in-process with `oneshot`. Every reply is recorded so a test
//! can prove a secret never appeared in any of them.

#![allow(dead_code)] // each test binary uses a different part of the harness

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use chrono::Utc;
use config::Config;
use domain::model::{
    Connection, ConversationKind, ConversationRef, ConversationStatus, DirectoryChannel, DirectoryTeam, TeamRef,
};
use domain::store::{Store, StoreError};
use domain::{ConnectionId, ConversationId, GroupId, TenantId};
use management_api::AdminState;
use secrets::{FileVault, SecretVault};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use store::table::{Condition, Item, ItemPage, ItemTable, Query, WriteOp};
use tower::ServiceExt;

pub const TOKEN: &str = "admin-token-for-tests-0123456789";
pub const BASE_URL: &str = "https://teams.example.com/prod";
pub const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
pub const OTHER_TENANT: &str = "0b6c1e8a-1f7e-4c55-9d2b-3a4f5e6d7c8b";
pub const API_KEY: &str = "il1api-test-key-0f9e8d7c6b5a";

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The body as JSON; `Null` when empty.
    pub body: Value,
}

impl Reply {
    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }

    pub fn error_field(&self) -> Option<&str> {
        self.body["error"]["field"].as_str()
    }

    pub fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or_default()
    }

    pub fn str(&self, field: &str) -> String {
        self.body[field].as_str().unwrap_or_else(|| panic!("no string {field} in {}", self.body)).to_owned()
    }
}

pub struct Harness {
    pub router: Router,
    pub store: Arc<dyn Store>,
    pub faults: Arc<FaultyTable>,
    pub vault: Arc<FileVault>,
    dir: PathBuf,
    seen: Mutex<Vec<String>>,
}

fn temp_dir() -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    std::env::temp_dir().join(format!("management-api-test-{}-{n}-{nanos}", std::process::id()))
}

impl Harness {
    /// Configured with an admin token and a public base URL.
    pub async fn new() -> Self {
        Self::with_env(&[("ADMIN_TOKEN", TOKEN), ("PUBLIC_BASE_URL", BASE_URL)]).await
    }

    pub async fn with_env(vars: &[(&str, &str)]) -> Self {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let config = Config::from_lookup(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
            .expect("test configuration is valid");
        let faults = Arc::new(FaultyTable::new(store::EmbeddedTable::in_memory().expect("in-memory store")));
        let store: Arc<dyn Store> = Arc::new(store::TableStore::new(faults.clone()));
        let dir = temp_dir();
        let vault = Arc::new(FileVault::new(dir.join("secrets.json")));
        let state = AdminState::from_config(config, store.clone(), vault.clone()).await;
        Harness { router: management_api::router(state), store, faults, vault, dir, seen: Mutex::new(Vec::new()) }
    }

    /// Sends `request` as is and records the reply.
    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.expect("the router is infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
        let text = String::from_utf8(bytes.to_vec()).expect("UTF-8 body");
        let mut record = format!("{status} {headers:?} {text}");
        record.push('\n');
        self.seen.lock().unwrap().push(record);
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("reply is not JSON ({e}): {text}"))
        };
        Reply { status, headers, body }
    }

    /// A request with the admin token and, if given, a JSON body.
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        self.call_with_auth(Some(&format!("Bearer {TOKEN}")), method, path, body).await
    }

    pub async fn call_with_auth(
        &self,
        authorization: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(auth) = authorization {
            request = request.header(header::AUTHORIZATION, auth);
        }
        let body = match body {
            Some(json) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        self.send(request.body(body).unwrap()).await
    }

    /// Creates a connection for `tenant` and returns the 201 reply.
    pub async fn create_connection(&self, tenant: &str, name: &str) -> Reply {
        let body = serde_json::json!({ "tenantId": tenant, "name": name, "ilertApiKey": API_KEY });
        let reply = self.call("POST", "/admin/v1/connections", Some(body)).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply
    }

    /// Records that the bot is installed in a conversation of `tenant`.
    pub async fn seed_conversation(
        &self,
        tenant: &str,
        id: &str,
        kind: ConversationKind,
        status: ConversationStatus,
        team: Option<(&str, &str)>,
        name: Option<&str>,
    ) {
        let conversation = conversation(tenant, id, kind, status, team, name);
        self.store.save_conversation(&conversation).await.expect("seed conversation");
    }

    /// Records that the bot is installed in channel `id` of the team with Microsoft 365 group
    /// `group_id`, as Teams reports a team channel (with `aadGroupId`).
    pub async fn seed_team_channel(&self, tenant: &str, id: &str, group_id: &str, status: ConversationStatus) {
        let team = Some(("19:team-of-a-group@thread.tacv2", "A team"));
        let mut conversation = conversation(tenant, id, ConversationKind::Channel, status, team, Some("A channel"));
        conversation.team.as_mut().expect("a team").aad_group_id = Some(group_id.to_owned());
        self.store.save_conversation(&conversation).await.expect("seed team channel");
    }

    /// Makes `teams` the tenant's whole teams directory, as the directory sync does.
    pub async fn seed_teams(&self, tenant: &str, teams: &[DirectoryTeam]) {
        self.store.replace_teams(&TenantId::parse(tenant).unwrap(), teams).await.expect("seed teams");
    }

    pub async fn stored_connection(&self, id: &str) -> Option<Connection> {
        self.store.get_connection(&ConnectionId::parse(id).unwrap()).await.unwrap()
    }

    /// Every secret name in the vault file.
    pub fn vault_names(&self) -> Vec<String> {
        match std::fs::read(self.dir.join("secrets.json")) {
            Ok(bytes) => {
                let map: serde_json::Map<String, Value> = serde_json::from_slice(&bytes).unwrap();
                map.keys().cloned().collect()
            }
            Err(_) => Vec::new(),
        }
    }

    pub async fn vault_value(&self, reference: &str) -> Option<String> {
        use secrets::ExposeSecret;
        self.vault.get(reference).await.ok().map(|s| s.expose_secret().to_owned())
    }

    /// Fails the test if `needle` is in any reply so far (status line, headers or body).
    pub fn assert_never_replied(&self, needle: &str) {
        let seen = self.seen.lock().unwrap();
        assert!(!seen.is_empty());
        for record in seen.iter() {
            assert!(!record.contains(needle), "a reply contained a secret: {record}");
        }
    }

    pub fn replies_seen(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn active() -> ConversationStatus {
    ConversationStatus::Active
}

/// A conversation reference as the messaging function stores it.
fn conversation(
    tenant: &str,
    id: &str,
    kind: ConversationKind,
    status: ConversationStatus,
    team: Option<(&str, &str)>,
    name: Option<&str>,
) -> ConversationRef {
    ConversationRef {
        tenant_id: TenantId::parse(tenant).unwrap(),
        conversation_id: ConversationId::parse(id).unwrap(),
        kind,
        service_url: "https://smba.trafficmanager.net/emea/".into(),
        bot_id: "28:bot".into(),
        team: team.map(|(id, name)| TeamRef { id: id.into(), aad_group_id: None, name: Some(name.into()) }),
        channel_name: if kind == ConversationKind::Channel { name.map(str::to_owned) } else { None },
        title: if kind == ConversationKind::GroupChat { name.map(str::to_owned) } else { None },
        user_id: None,
        user_aad_object_id: None,
        status,
        updated_at: Utc::now(),
        version: 0,
    }
}

/// A team of `tenant`'s directory as the directory sync stores it, with standard channels
/// `(id, display name)`.
pub fn directory_team(tenant: &str, group_id: &str, name: &str, channels: &[(&str, &str)]) -> DirectoryTeam {
    DirectoryTeam {
        tenant_id: TenantId::parse(tenant).unwrap(),
        group_id: GroupId::parse(group_id).unwrap(),
        display_name: name.to_owned(),
        description: None,
        channels: channels
            .iter()
            .map(|(id, name)| DirectoryChannel {
                id: (*id).to_owned(),
                display_name: (*name).to_owned(),
                membership_type: "standard".to_owned(),
            })
            .collect(),
        synced_at: Utc::now(),
    }
}

/// The embedded table with two injectable faults, beneath the real `TableStore`: a
/// concurrent writer that changes a connection between the API's read and its write, and a
/// table that refuses to create connections. (Faults go in at the table, not the store
/// traits, so the harness does not change whenever a port gains a method.)
pub struct FaultyTable {
    inner: store::EmbeddedTable,
    pub race_next_update: AtomicBool,
    pub fail_creates: AtomicBool,
}

impl FaultyTable {
    fn new(inner: store::EmbeddedTable) -> Self {
        Self { inner, race_next_update: AtomicBool::new(false), fail_creates: AtomicBool::new(false) }
    }

    /// Another writer's versioned update of the connection item under `(pk, sk)`.
    async fn change_elsewhere(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
        let mut current = self.inner.get(pk, sk).await?.expect("the raced connection exists");
        let expected = current.version;
        current.body["name"] = "changed elsewhere".into();
        current.version = expected + 1;
        self.inner.write(WriteOp::Put { item: current, condition: Condition::Version(expected) }).await
    }
}

/// The connection item's sort key in the single-table design (`shared/store/README.md`).
const CONNECTION_SK: &str = "CONNECTION";

#[async_trait]
impl ItemTable for FaultyTable {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        self.inner.get(pk, sk).await
    }

    async fn write(&self, op: WriteOp) -> Result<(), StoreError> {
        if let WriteOp::Put { item, condition: Condition::Version(_) } = &op
            && item.sk == CONNECTION_SK
            && self.race_next_update.swap(false, Ordering::SeqCst)
        {
            self.change_elsewhere(&item.pk, &item.sk).await?;
        }
        self.inner.write(op).await
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        let creates_connection = ops
            .iter()
            .any(|op| matches!(op, WriteOp::Put { item, condition: Condition::Absent } if item.sk == CONNECTION_SK));
        if creates_connection && self.fail_creates.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("injected: the table is unreachable".into()));
        }
        self.inner.transact(ops).await
    }

    async fn query(&self, query: &Query) -> Result<ItemPage, StoreError> {
        self.inner.query(query).await
    }

    async fn batch_write(&self, puts: Vec<Item>, deletes: Vec<(String, String)>) -> Result<(), StoreError> {
        self.inner.batch_write(puts, deletes).await
    }

    fn backend(&self) -> &'static str {
        "embedded (with injectable faults)"
    }
}
