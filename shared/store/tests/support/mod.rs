//! Backends for the conformance suite, and a fault-injecting proxy in front of DynamoDB.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use store::{DynamoTable, EmbeddedTable, TableStore};

pub fn embedded() -> Arc<TableStore> {
    Arc::new(TableStore::new(Arc::new(EmbeddedTable::in_memory().unwrap())))
}

fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| {
        panic!("AWS_ENDPOINT_URL is not set: run the README's test command (./scripts/test), which starts a DynamoDB-compatible server")
    })
}

fn unique_table() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "conformance-{}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        chrono::Utc::now().timestamp_micros()
    )
}

pub async fn dynamodb_via(endpoint: &str) -> Arc<TableStore> {
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest()).endpoint_url(endpoint).load().await;
    let table = DynamoTable::new(aws_sdk_dynamodb::Client::new(&conf), unique_table());
    table.create_if_missing().await.expect("create the test table");
    Arc::new(TableStore::new(Arc::new(table)))
}

pub async fn dynamodb() -> Arc<TableStore> {
    dynamodb_via(&endpoint()).await
}

/// A cursor as the adapters encode them, naming an arbitrary partition.
pub fn cursor_for(pk: &str, sk: &str) -> String {
    let json = serde_json::json!({ "pk": pk, "sk": sk });
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(&json).unwrap())
}

/// Forwards DynamoDB calls to the real server but, on each `BatchWriteItem`, passes only half
/// of the requests on and hands the rest back as `UnprocessedItems`, as DynamoDB does under
/// load, so the adapter's retry is exercised against real writes.
pub struct ThrottlingProxy {
    running: tokio::task::JoinHandle<()>,
    url: String,
    withheld: Arc<AtomicUsize>,
}

#[derive(Clone)]
struct ProxyState {
    upstream: String,
    http: reqwest::Client,
    withheld: Arc<AtomicUsize>,
    lock: Arc<Mutex<()>>,
}

async fn forward(State(state): State<ProxyState>, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let mut body = body.to_vec();
    let mut withheld = serde_json::Map::new();
    if target.ends_with(".BatchWriteItem") {
        let mut json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let _guard = state.lock.lock().unwrap();
        for (table, requests) in json["RequestItems"].as_object_mut().unwrap() {
            let list = requests.as_array_mut().unwrap();
            if list.len() > 1 {
                let kept = list.len() / 2;
                let rest: Vec<_> = list.drain(kept..).collect();
                state.withheld.fetch_add(rest.len(), Ordering::Relaxed);
                withheld.insert(table.clone(), serde_json::Value::Array(rest));
            }
        }
        body = serde_json::to_vec(&json).unwrap();
    }
    let mut request = state.http.post(&state.upstream).body(body);
    for (name, value) in &headers {
        // moto does not verify SigV4 signatures, so the original headers can pass unchanged.
        if name != "content-length" && name != "host" {
            request = request.header(name, value);
        }
    }
    let upstream = request.send().await.unwrap();
    let status = StatusCode::from_u16(upstream.status().as_u16()).unwrap();
    let content_type = upstream.headers().get("content-type").cloned();
    let mut bytes = upstream.bytes().await.unwrap().to_vec();
    if !withheld.is_empty() && status.is_success() {
        let mut json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        json["UnprocessedItems"] = serde_json::Value::Object(withheld);
        bytes = serde_json::to_vec(&json).unwrap();
    }
    let mut response = (status, bytes).into_response();
    if let Some(ct) = content_type {
        response.headers_mut().insert("content-type", ct);
    }
    response
}

impl ThrottlingProxy {
    pub async fn start() -> Self {
        let withheld = Arc::new(AtomicUsize::new(0));
        let state = ProxyState {
            upstream: endpoint(),
            http: reqwest::Client::new(),
            withheld: withheld.clone(),
            lock: Arc::new(Mutex::new(())),
        };
        let router = axum::Router::new().fallback(forward).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let running = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self { running, url, withheld }
    }

    pub fn url(&self) -> String {
        self.url.clone()
    }

    pub fn withheld(&self) -> usize {
        self.withheld.load(Ordering::Relaxed)
    }
}

impl Drop for ThrottlingProxy {
    fn drop(&mut self) {
        self.running.abort();
    }
}
