//! JSON batching: `POST /$batch` (graph.md §5.6). The outer 200 says nothing about the items;
//! each carries its own status, comes back in any order, and is throttled on its own.

use crate::client::{Call, TenantGraph};
use crate::error::{GraphError, GraphFailure, classify};
use crate::retry::parse_retry_after;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

/// Graph's limit of requests in one batch; larger sets are split.
pub const MAX_BATCH_REQUESTS: usize = 20;

/// One request of a batch. `dependsOn` is not offered: the docs advise batches that are wholly
/// parallel or wholly sequential, and ours are parallel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchRequest {
    /// Unique within the call, ignoring case.
    pub id: String,
    pub method: String,
    /// Relative to the version, e.g. `/users/{id}`; encode ids with [`crate::path_segment`].
    pub url: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// Named in the 403 hint of this item's error.
    #[serde(skip)]
    pub permission: &'static str,
}

impl BatchRequest {
    pub fn new(id: impl Into<String>, method: Method, url: impl Into<String>) -> Self {
        BatchRequest {
            id: id.into(),
            method: method.as_str().to_owned(),
            url: url.into(),
            headers: BTreeMap::new(),
            body: None,
            permission: "",
        }
    }

    pub fn get(id: impl Into<String>, url: impl Into<String>) -> Self {
        BatchRequest::new(id, Method::GET, url)
    }

    /// A JSON body; Graph then requires the `Content-Type` header, which this sets.
    pub fn with_body(mut self, body: Value) -> Self {
        self.headers.insert("Content-Type".into(), "application/json".into());
        self.body = Some(body);
        self
    }

    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.insert(name.into(), value.into());
        self
    }

    pub fn with_permission(mut self, permission: &'static str) -> Self {
        self.permission = permission;
        self
    }
}

/// One item of a batch reply.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BatchResponse {
    pub id: String,
    pub status: u16,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<Value>,
    #[serde(skip)]
    permission: &'static str,
}

/// The body of a `$batch` reply.
#[derive(Debug, Clone, Deserialize)]
pub struct BatchReply {
    pub responses: Vec<BatchResponse>,
}

impl BatchResponse {
    /// Stands in for the answer to `request` when its whole batch failed with `error`.
    fn failed(request: &BatchRequest, error: &GraphError) -> Self {
        let status = match error {
            GraphError::Throttled { .. } => 429,
            e => e.failure().map_or(503, |f| f.status),
        };
        let mut headers = BTreeMap::new();
        if let Some(wait) = error.retry_after() {
            headers.insert("Retry-After".into(), wait.as_secs_f64().to_string());
        }
        let code = error.failure().map(|f| f.code.clone()).unwrap_or_default();
        BatchResponse {
            id: request.id.clone(),
            status,
            headers,
            body: Some(json!({ "error": { "code": code, "message": error.to_string() } })),
            permission: request.permission,
        }
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A header of this item, by name ignoring case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn retry_after(&self) -> Option<Duration> {
        self.header("retry-after").and_then(parse_retry_after)
    }

    /// The item's error, typed as for a single call; `None` for a success.
    pub fn error(&self) -> Option<GraphError> {
        if self.is_success() {
            return None;
        }
        let body = self.body.as_ref().map(|b| b.to_string()).unwrap_or_default();
        let failure = GraphFailure::from_body(self.status, body.as_bytes(), self.header("request-id"));
        Some(classify(failure, self.retry_after(), self.permission))
    }

    /// The item's body as `T`, or its error.
    pub fn into_result<T: DeserializeOwned>(self) -> Result<T, GraphError> {
        if let Some(error) = self.error() {
            return Err(error);
        }
        serde_json::from_value(self.body.unwrap_or(Value::Null))
            .map_err(|e| GraphError::InvalidResponse(format!("batch item {}: {e}", self.id)))
    }
}

impl TenantGraph {
    /// Runs `requests` in batches of at most 20 and returns one response per request, in the
    /// order given. Items answered 429 are sent again, alone, after the longest `Retry-After`
    /// among them, while the deadline allows; those still throttled then are returned as they
    /// are (their [`BatchResponse::into_result`] is [`GraphError::Throttled`]). Other failed
    /// items are not resent: a POST among them may have run.
    ///
    /// Permission: whatever each request needs.
    pub async fn batch(&self, requests: Vec<BatchRequest>) -> Result<Vec<BatchResponse>, GraphError> {
        let mut seen = HashSet::new();
        for request in &requests {
            if request.id.is_empty() || !seen.insert(request.id.to_lowercase()) {
                return Err(GraphError::Invalid(format!("batch ids must be unique and non-empty: {:?}", request.id)));
            }
        }
        let mut answers: HashMap<String, BatchResponse> = HashMap::new();
        let mut pending: Vec<&BatchRequest> = requests.iter().collect();
        let mut round = 0;
        while !pending.is_empty() {
            round += 1;
            for chunk in pending.chunks(MAX_BATCH_REQUESTS) {
                match self.send_batch(chunk).await {
                    Ok(responses) => answers.extend(responses),
                    Err(e) if answers.is_empty() => return Err(e),
                    // Earlier chunks or rounds may have run POSTs: report what they did rather
                    // than lose it, and give these items the outer error.
                    Err(e) => answers.extend(chunk.iter().map(|r| (r.id.to_lowercase(), BatchResponse::failed(r, &e)))),
                }
            }
            let throttled: Vec<&BatchRequest> = pending
                .into_iter()
                .filter(|r| answers.get(&r.id.to_lowercase()).is_some_and(|a| a.status == 429))
                .collect();
            if throttled.is_empty() {
                break;
            }
            let wait = throttled
                .iter()
                .filter_map(|r| answers.get(&r.id.to_lowercase()).and_then(BatchResponse::retry_after))
                .max()
                .unwrap_or_else(|| self.policy().backoff(round));
            if round >= self.policy().max_attempts || !self.deadline().allows(wait) {
                break;
            }
            tracing::info!(
                tenant = self.tenant_id(),
                items = throttled.len(),
                wait_ms = wait.as_millis() as u64,
                "retrying throttled batch items"
            );
            tokio::time::sleep(wait).await;
            pending = throttled;
        }
        requests
            .iter()
            .map(|r| {
                answers.remove(&r.id.to_lowercase()).ok_or_else(|| {
                    GraphError::InvalidResponse(format!("the batch reply has no response for id {:?}", r.id))
                })
            })
            .collect()
    }

    /// One `POST /$batch`; returns its items keyed by lower-cased id.
    async fn send_batch(&self, chunk: &[&BatchRequest]) -> Result<Vec<(String, BatchResponse)>, GraphError> {
        let mut call = Call::new(Method::POST, self.url("/$batch", &[]), "").json(json!({ "requests": chunk }));
        // Resending the whole batch after a 5xx is only safe when every item is.
        if chunk.iter().all(|r| r.method != "POST") {
            call = call.idempotent();
        }
        let reply: BatchReply = self.json(call).await?;
        let by_id: HashMap<String, &BatchRequest> = chunk.iter().map(|r| (r.id.to_lowercase(), *r)).collect();
        let mut out = Vec::with_capacity(reply.responses.len());
        for mut response in reply.responses {
            let key = response.id.to_lowercase();
            match by_id.get(&key) {
                Some(request) => {
                    response.permission = request.permission;
                    out.push((key, response));
                }
                None => {
                    tracing::warn!(tenant = self.tenant_id(), id = %response.id, "batch reply item for an unknown id")
                }
            }
        }
        Ok(out)
    }
}
