//! The endpoint wired to the simulators (Microsoft login, Bot Framework keys, Bot Connector,
//! Graph, ilert) over an in-memory store and queue, and helpers to send it signed activities.

#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use botframework::{ChannelAuthConfig, ChannelValidator, ConnectorClient, ConnectorConfig};
use chrono::Utc;
use domain::model::{Connection, ConversationKind, ConversationRef, ConversationStatus, TeamRef};
use domain::store::Store;
use domain::{ConnectionId, ConversationId, TenantId};
use messaging::{MessagingDeps, MessagingState};
use secrets::SecretVault;
use serde_json::{Value, json};
use simulators::botframework_login::{BotLoginSim, ISSUER};
use simulators::connector::ConnectorSim;
use simulators::graph::GraphSim;
use simulators::ilert::IlertSim;
use simulators::login::LoginSim;
use std::sync::Arc;
use tower::ServiceExt;

pub const APP_ID: &str = "8f3b287d-df09-44e2-93b3-35e0dfa90756";
pub const BOT: &str = "28:8f3b287d-df09-44e2-93b3-35e0dfa90756";
pub const SECRET: &str = "bot-secret";
pub const BOT_TENANT: &str = "0c4b3b5e-1d2f-4a36-9a57-7b6c1e2d3f40";
pub const SCOPE: &str = "https://api.botframework.com/.default";
pub const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
pub const OTHER_TENANT: &str = "11111111-2222-3333-4444-555555555555";
pub const API_KEY: &str = "il-api-key";

pub struct World {
    pub login: LoginSim,
    pub bot_login: BotLoginSim,
    pub connector: ConnectorSim,
    pub graph: GraphSim,
    pub ilert: IlertSim,
    pub store: Arc<dyn Store>,
    pub queue: queue::LocalQueue,
    pub router: axum::Router,
    pub connection: Option<Connection>,
    dir: std::path::PathBuf,
}

/// A channel with a member matched in ilert, and an alert routed there.
pub struct Scene {
    pub channel: String,
    pub team_thread: String,
    pub user_aad: String,
    pub ilert_user: i64,
    pub alert: i64,
    pub card_id: String,
}

impl World {
    pub async fn start() -> World {
        let login = LoginSim::start().await;
        login.register_app(APP_ID, SECRET);
        let bot_login = BotLoginSim::start().await;
        let connector = ConnectorSim::start(login.clone(), SCOPE).await;
        connector.set_rate_limits(None);
        let graph = GraphSim::start(&login).await;
        let ilert = IlertSim::start().await;
        let http = reqwest::Client::new();
        let tokens = Arc::new(entra::TokenProvider::new(
            http.clone(),
            login.url().parse().unwrap(),
            APP_ID,
            Arc::new(secrets::FixedSecret::new(SECRET)),
        ));
        let connector_client = ConnectorClient::new(
            http.clone(),
            tokens.clone(),
            ConnectorConfig {
                bot_tenant_id: BOT_TENANT.into(),
                token_scope: SCOPE.into(),
                allowed_hosts: vec!["127.0.0.1".into()],
            },
        );
        let graph_client = graph::GraphClient::new(http.clone(), &graph.url().parse().unwrap(), tokens).unwrap();
        let validator = ChannelValidator::new(
            http.clone(),
            ChannelAuthConfig {
                metadata_url: bot_login.metadata_url().parse().unwrap(),
                issuer: ISSUER.into(),
                app_id: APP_ID.into(),
            },
        );
        let dir = std::env::temp_dir().join(format!("messaging-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let vault = Arc::new(secrets::FileVault::new(dir.join("secrets.json")));
        let store: Arc<dyn Store> =
            Arc::new(store::TableStore::new(Arc::new(store::EmbeddedTable::in_memory().unwrap())));
        let queue = queue::LocalQueue::in_memory("provisioning", Default::default()).unwrap();
        let key_ref = vault.put("ilert-key", secrets::SecretString::from(API_KEY.to_owned())).await.unwrap();
        let state = MessagingState::new(MessagingDeps {
            store: store.clone(),
            vault,
            provisioning: Arc::new(queue.clone()),
            validator,
            connector: Arc::new(connector_client),
            graph: graph_client,
            ilert: ilert::Ilert::new(http, ilert.url().parse().unwrap()),
        });
        let connection = Connection {
            id: ConnectionId::parse("conn-1").unwrap(),
            tenant_id: TenantId::parse(TENANT).unwrap(),
            name: "Acme ilert".into(),
            ilert_api_key_ref: key_ref,
            webhook_secret_sha256: Connection::hash_webhook_secret("s"),
            created_at: Utc::now(),
            updated_at: Utc::now(),
            version: 0,
        };
        World {
            login,
            bot_login,
            connector,
            graph,
            ilert,
            store,
            queue,
            router: messaging::router(state),
            connection: Some(connection),
            dir,
        }
    }

    /// Links [`TENANT`] to ilert.
    pub async fn connect(&self) {
        self.store.create_connection(self.connection.as_ref().unwrap()).await.unwrap();
    }

    pub fn service_url(&self, tenant: &str) -> String {
        self.connector.service_url(tenant)
    }

    /// Sends `activity` (its serviceUrl replaced by the connector simulator's for its tenant)
    /// with a freshly signed token.
    pub async fn send(&self, mut activity: Value) -> (StatusCode, Value) {
        let tenant = activity["channelData"]["tenant"]["id"]
            .as_str()
            .or(activity["conversation"]["tenantId"].as_str())
            .unwrap_or(TENANT)
            .to_owned();
        let service_url = self.service_url(&tenant);
        activity["serviceUrl"] = json!(service_url);
        let token = self.bot_login.channel_token(APP_ID, &service_url);
        self.raw("POST", Some(&format!("Bearer {token}")), activity.to_string().into_bytes()).await
    }

    pub async fn raw(&self, method: &str, auth: Option<&str>, body: Vec<u8>) -> (StatusCode, Value) {
        let mut request =
            Request::builder().method(method).uri("/api/messages").header("content-type", "application/json");
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        let response = self.router.clone().oneshot(request.body(Body::from(body)).unwrap()).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 22).await.unwrap();
        (
            status,
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned())),
        )
    }

    /// A connected tenant with a team channel the bot is installed in, a Teams user who is a
    /// member and matched (by email) to an ilert user, and an alert whose card is in the channel.
    pub async fn scene(&self) -> Scene {
        self.connect().await;
        let team = self.graph.add_team(TENANT, "Ops");
        let channel = self.graph.add_channel(TENANT, &team, "Alerts", false, &[]);
        let user_aad = self.graph.add_user(TENANT, "Jane Doe", "jane@contoso.com");
        self.graph.add_group_member(TENANT, &team, &user_aad);
        self.connector.add_conversation(&channel, TENANT);
        self.connector.add_member(json!({"id": "29:jane", "name": "Jane Doe", "aadObjectId": user_aad, "email": "jane@contoso.com", "userPrincipalName": "jane@contoso.com", "tenantId": TENANT}));
        let team_thread = "19:team-thread@thread.tacv2".to_owned();
        self.store
            .save_conversation(&ConversationRef {
                tenant_id: TenantId::parse(TENANT).unwrap(),
                conversation_id: ConversationId::parse(&channel).unwrap(),
                kind: ConversationKind::Channel,
                service_url: self.service_url(TENANT),
                bot_id: BOT.into(),
                team: Some(TeamRef {
                    id: team_thread.clone(),
                    aad_group_id: Some(team.clone()),
                    name: Some("Ops".into()),
                }),
                channel_name: Some("Alerts".into()),
                title: None,
                user_id: None,
                user_aad_object_id: None,
                status: ConversationStatus::Active,
                updated_at: Utc::now(),
                version: 0,
            })
            .await
            .unwrap();
        let ilert_user = self.ilert.add_user("Jane", "Doe", "jane@contoso.com");
        let owner = self.ilert.add_user("Api", "Owner", "owner@contoso.com");
        self.ilert.add_api_key(API_KEY, owner);
        let policy = self.ilert.add_policy("Ops on-call");
        let source = self.ilert.add_source("Grafana", policy, "il-integration-key");
        self.ilert.add_on_call(ilert_user, policy, 1, None);
        let alert = self.ilert.add_alert(source, "Disk full on db-1", Some("disk-db-1"));
        // The card the notifier would have posted.
        let card_id = self.post_card(&channel).await;
        Scene { channel, team_thread, user_aad, ilert_user, alert, card_id }
    }

    /// Posts a card message into `conversation` through the connector simulator, as the
    /// notifier would; returns its activity id.
    pub async fn post_card(&self, conversation: &str) -> String {
        self.post_card_in(TENANT, conversation).await
    }

    pub async fn post_card_in(&self, tenant: &str, conversation: &str) -> String {
        let token = reqwest::Client::new()
            .post(format!("{}/{BOT_TENANT}/oauth2/v2.0/token", self.login.url()))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", APP_ID),
                ("client_secret", SECRET),
                ("scope", SCOPE),
            ])
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let url = format!("{}v3/conversations/{}/activities", self.service_url(tenant), urlencode(conversation));
        let body = json!({"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": {"type": "AdaptiveCard", "version": "1.5", "body": []}}]});
        let answer: Value =
            reqwest::Client::new().post(url).bearer_auth(token).json(&body).send().await.unwrap().json().await.unwrap();
        answer["id"].as_str().expect("card posted").to_owned()
    }

    /// An `Action.Execute` invoke on the card in the scene's channel, by the scene's user.
    pub fn execute(&self, scene: &Scene, id: &str, verb: &str, extra: Value) -> Value {
        let mut data = json!({"verb": verb, "alertId": scene.alert.to_string(), "connection": "conn-1"});
        if let (Some(d), Some(e)) = (data.as_object_mut(), extra.as_object()) {
            d.extend(e.clone());
        }
        json!({
            "type": "invoke", "name": "adaptiveCard/action", "id": id, "channelId": "msteams",
            "from": {"id": "29:jane", "name": "Jane Doe", "aadObjectId": scene.user_aad},
            "recipient": {"id": BOT, "name": "ilert"},
            "conversation": {"id": format!("{};messageid={}", scene.channel, scene.card_id), "conversationType": "channel", "isGroup": true, "tenantId": TENANT},
            "channelData": {"tenant": {"id": TENANT}, "channel": {"id": scene.channel}, "team": {"id": scene.team_thread}},
            "replyToId": scene.card_id,
            "value": {"action": {"type": "Action.Execute", "verb": verb, "data": data}, "trigger": "manual"}
        })
    }

    /// A message to the bot in `conversation` with the bot mentioned.
    pub fn message(&self, conversation: &str, kind: &str, id: &str, text: &str, aad: &str) -> Value {
        json!({
            "type": "message", "id": id, "channelId": "msteams",
            "text": format!("<at>ilert</at> {text}"),
            "entities": [{"type": "mention", "mentioned": {"id": BOT, "name": "ilert"}, "text": "<at>ilert</at>"}],
            "from": {"id": "29:jane", "name": "Jane Doe", "aadObjectId": aad},
            "recipient": {"id": BOT, "name": "ilert"},
            "conversation": {"id": conversation, "conversationType": kind, "tenantId": TENANT},
            "channelData": {"tenant": {"id": TENANT}}
        })
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A Teams fixture with its `_note*` keys removed.
pub fn fixture(name: &str) -> Value {
    let path = format!("{}/../../../shared/fixtures/teams/{name}", env!("CARGO_MANIFEST_DIR"));
    let mut value: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    strip_notes(&mut value);
    value
}

fn strip_notes(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|k, _| !k.starts_with("_note"));
            map.values_mut().for_each(strip_notes);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_notes),
        _ => {}
    }
}

/// Texts of everything in a recorded activity (its text and the card's text runs).
pub fn text_of(activity: &Value) -> String {
    let mut out = String::new();
    fn walk(v: &Value, out: &mut String) {
        match v {
            Value::String(s) => {
                out.push_str(s);
                out.push(' ');
            }
            Value::Object(m) => m.values().for_each(|v| walk(v, out)),
            Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    walk(activity, &mut out);
    out
}
