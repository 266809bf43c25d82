//! A whole product (the local runner's wiring) against the simulators, for end-to-end tests
//! and benchmarks: [`World`] starts the Microsoft login, Bot Connector, Graph and ilert
//! simulators, builds
//! the runner on a fresh data directory with settings pointing at them, and offers helpers to
//! call its HTTP routes and seed what Teams installs would have stored.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::Utc;
use domain::model::{ConversationKind, ConversationRef, ConversationStatus, TeamRef};
use domain::{ConversationId, TenantId};
use serde_json::Value;
use simulators::connector::ConnectorSim;
use simulators::graph::GraphSim;
use simulators::ilert::IlertSim;
use simulators::login::LoginSim;
use std::collections::HashMap;
use std::time::Duration;
use tower::ServiceExt;

pub const BOT_APP_ID: &str = "8f3b287d-df09-44e2-93b3-35e0dfa90756";
pub const BOT_SECRET: &str = "bot-client-secret";
pub const BOT_TENANT: &str = "0c4b3b5e-1d2f-4a36-9a57-7b6c1e2d3f40";
pub const BOT_SCOPE: &str = "https://api.botframework.com/.default";
pub const ADMIN_TOKEN: &str = "admin-token-for-tests";
pub const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

pub struct World {
    pub login: LoginSim,
    pub connector: ConnectorSim,
    pub graph: GraphSim,
    pub ilert: IlertSim,
    pub runner: local_runner::Runner,
    stop: tokio::sync::watch::Sender<bool>,
    data_dir: std::path::PathBuf,
}

impl World {
    pub async fn start() -> World {
        let login = LoginSim::start().await;
        login.register_app(BOT_APP_ID, BOT_SECRET);
        let connector = ConnectorSim::start(login.clone(), BOT_SCOPE).await;
        let graph = GraphSim::start(&login).await;
        let ilert = IlertSim::start().await;
        let data_dir = std::env::temp_dir().join(format!(
            "e2e-{}-{}",
            std::process::id(),
            Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        let vars: HashMap<&str, String> = HashMap::from([
            ("BOT_APP_ID", BOT_APP_ID.to_owned()),
            ("BOT_TENANT_ID", BOT_TENANT.to_owned()),
            ("BOT_APP_PASSWORD", BOT_SECRET.to_owned()),
            ("MICROSOFT_LOGIN_URL", login.url()),
            ("GRAPH_URL", graph.url()),
            ("ILERT_API_URL", ilert.url()),
            ("BOT_SERVICE_URL_HOSTS", "127.0.0.1".to_owned()),
            ("ADMIN_TOKEN", ADMIN_TOKEN.to_owned()),
            ("DATA_DIR", data_dir.display().to_string()),
        ]);
        let config = config::Config::from_lookup(|k| vars.get(k).cloned()).expect("test configuration");
        let options = queue::LocalQueueOptions {
            poll_interval: Duration::from_millis(5),
            concurrency: 16,
            ..local_runner::queue_options()
        };
        let runner = local_runner::Runner::build_with(config, options).await.expect("runner");
        let (stop, stopped) = tokio::sync::watch::channel(false);
        runner.start_background(stopped);
        World { login, connector, graph, ilert, runner, stop, data_dir }
    }

    /// Calls a route of the runner; returns the status and the JSON body (Null when empty).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let request = request.body(body.map(Body::from).unwrap_or_else(Body::empty)).unwrap();
        let response = self.runner.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 22).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    pub async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let auth = format!("Bearer {ADMIN_TOKEN}");
        self.call(method, path, &[("authorization", &auth)], body.map(|b| b.to_string().into_bytes())).await
    }

    /// A channel the bot is installed in, as the messaging endpoint would have stored it.
    pub async fn install_channel(&self, tenant: &str, channel: &str) -> ConversationRef {
        self.connector.add_conversation(channel, tenant);
        let conversation = ConversationRef {
            tenant_id: TenantId::parse(tenant).unwrap(),
            conversation_id: ConversationId::parse(channel).unwrap(),
            kind: ConversationKind::Channel,
            service_url: self.connector.service_url(tenant),
            bot_id: format!("28:{BOT_APP_ID}"),
            team: Some(TeamRef { id: "19:team@thread.tacv2".into(), aad_group_id: None, name: Some("Ops".into()) }),
            channel_name: Some("Alerts".into()),
            title: None,
            user_id: None,
            user_aad_object_id: None,
            status: ConversationStatus::Active,
            updated_at: Utc::now(),
            version: 0,
        };
        self.runner.store.save_conversation(&conversation).await.unwrap()
    }

    /// Creates a connection through the management API; returns (id, webhook secret).
    pub async fn connect(&self, tenant: &str) -> (String, String) {
        let (status, body) = self
            .admin(
                "POST",
                "/admin/v1/connections",
                Some(serde_json::json!({ "tenantId": tenant, "name": "Acme ilert", "ilertApiKey": "il-api-key" })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        (body["id"].as_str().unwrap().to_owned(), body["webhookSecret"].as_str().unwrap().to_owned())
    }

    pub async fn route(&self, connection: &str, body: Value) -> String {
        let (status, body) =
            self.admin("POST", &format!("/admin/v1/connections/{connection}/routes"), Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    /// Posts an ilert webhook with the secret as a bearer token.
    pub async fn webhook(&self, connection: &str, secret: &str, body: &Value) -> (StatusCode, Value) {
        let auth = format!("Bearer {secret}");
        self.call(
            "POST",
            &format!("/webhooks/ilert/{connection}"),
            &[("authorization", &auth)],
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    /// Waits until the notifications queue is empty (every job done), up to `limit`.
    pub async fn settle(&self, limit: Duration) {
        let started = std::time::Instant::now();
        while started.elapsed() < limit {
            if self.runner.notifications.depth().await.unwrap() == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the notifications queue did not drain within {limit:?}");
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// An ilert webhook body for alert `id` (the shape of ilert's deliveries).
pub fn alert_event(id: &str, event_type: &str, status: &str, second: u32, event_id: &str) -> Value {
    serde_json::json!({
        "id": id,
        "eventId": event_id,
        "eventType": event_type,
        "status": status,
        "summary": "Disk full on db-1",
        "details": "/var is at 99%",
        "priority": "HIGH",
        "reportTime": "2026-12-03T10:00:00Z",
        "timestamp": format!("2026-12-03T10:00:{second:02}.123Z"),
        "alertSource": { "id": 7, "name": "Grafana" },
        "escalationPolicy": { "id": 9, "name": "Ops on-call" },
        "responders": [{ "user": { "id": 2, "firstName": "Jane", "lastName": "Doe", "email": "jane@contoso.com" }, "status": if status == "PENDING" { "PENDING" } else { "ACCEPTED" } }],
        "mergeState": "NONE"
    })
}

/// The `verb`s of the `Action.Execute` actions anywhere in a card.
pub fn verbs(card: &Value) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                let verb = map.get("verb").and_then(Value::as_str);
                if let (Some("Action.Execute"), Some(verb)) = (map.get("type").and_then(Value::as_str), verb) {
                    out.push(verb.to_owned());
                }
                map.values().for_each(|v| walk(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    walk(card, &mut out);
    out.sort();
    out.dedup();
    out
}

/// The Adaptive Card of a recorded activity.
pub fn card_of(activity: &Value) -> Value {
    activity["attachments"][0]["content"].clone()
}
