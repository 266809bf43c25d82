//! The HTTP side: tokens, the retry loop, URLs and JSON.

use crate::error::{GraphError, GraphFailure, classify};
use crate::retry::{Deadline, RetryPolicy, parse_retry_after};
use entra::TokenProvider;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Method;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::sync::Arc;
use std::time::Instant;
use url::Url;

/// Everything but unreserved characters, so ids like `19:…@thread.tacv2` reach Graph encoded
/// (`19%3A…%40thread.tacv2`) as channel-post-members.md asks.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// What must be encoded in an OData query value; `$`, `/`, `(`, `)`, `:` and `'` stay readable.
const QUERY_VALUE: &AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'+')
    .add(b'<')
    .add(b'=')
    .add(b'>')
    .add(b'[')
    .add(b']')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Percent-encodes one path segment (an id or UPN) for a Graph URL, also inside `$batch`.
pub fn path_segment(id: &str) -> String {
    utf8_percent_encode(id, SEGMENT).to_string()
}

/// The app's Graph client for every customer tenant. Cheap to clone.
#[derive(Clone)]
pub struct GraphClient {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    http: reqwest::Client,
    /// `GRAPH_URL` without a trailing slash.
    base: String,
    origin: url::Origin,
    scope: String,
    tokens: Arc<TokenProvider>,
    policy: RetryPolicy,
}

impl GraphClient {
    /// `graph_url` is `GRAPH_URL` (e.g. `https://graph.microsoft.com`): https, or http on a
    /// loopback host for the simulator. Tokens come from `tokens` with scope
    /// `{GRAPH_URL}/.default` in each customer tenant.
    pub fn new(http: reqwest::Client, graph_url: &Url, tokens: Arc<TokenProvider>) -> Result<Self, GraphError> {
        let url = config::parse_remote_url(graph_url.as_str())
            .map_err(|expected| GraphError::Invalid(format!("GRAPH_URL must be {expected}")))?;
        let base = url.as_str().trim_end_matches('/').to_owned();
        let scope = format!("{base}/.default");
        Ok(GraphClient {
            inner: Arc::new(Inner { http, origin: url.origin(), base, scope, tokens, policy: RetryPolicy::default() }),
        })
    }

    /// Replaces the token scope (default `{GRAPH_URL}/.default`).
    pub fn with_scope(mut self, scope: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.inner).scope = scope.into();
        self
    }

    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        Arc::make_mut(&mut self.inner).policy = policy;
        self
    }

    pub fn scope(&self) -> &str {
        &self.inner.scope
    }

    /// Calls in `tenant_id` (the customer's tenant GUID) that give up before `deadline`.
    pub fn tenant(&self, tenant_id: impl Into<String>, deadline: Deadline) -> TenantGraph {
        TenantGraph { client: self.clone(), tenant: tenant_id.into(), deadline, low_priority: false }
    }
}

/// Graph as seen by the app in one customer tenant, until a deadline. Every call lives here.
/// Cheap to clone; streams hold a clone.
#[derive(Clone)]
pub struct TenantGraph {
    client: GraphClient,
    tenant: String,
    deadline: Deadline,
    low_priority: bool,
}

/// One request to send (and maybe resend).
pub(crate) struct Call {
    pub method: Method,
    pub url: Url,
    pub body: Option<Value>,
    pub headers: Vec<(&'static str, String)>,
    /// Named in the 403 hint.
    pub permission: &'static str,
    /// Whether resending after a 5xx or a broken connection is safe. A 429 is always resent:
    /// Graph did not run the request.
    pub idempotent: bool,
}

impl Call {
    pub fn new(method: Method, url: Url, permission: &'static str) -> Self {
        let idempotent = method != Method::POST;
        Call { method, url, body: None, headers: Vec::new(), permission, idempotent }
    }

    pub fn get(url: Url, permission: &'static str) -> Self {
        Call::new(Method::GET, url, permission)
    }

    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Marks a POST safe to resend (it reads, or carries its own de-duplication key).
    pub fn idempotent(mut self) -> Self {
        self.idempotent = true;
        self
    }
}

/// A successful answer.
pub(crate) struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl TenantGraph {
    pub fn tenant_id(&self) -> &str {
        &self.tenant
    }

    pub fn deadline(&self) -> Deadline {
        self.deadline
    }

    /// Sends `x-ms-throttle-priority: low`, so that Graph throttles these calls first when the
    /// tenant is busy (graph.md §5.3); for background syncs.
    pub fn low_priority(mut self) -> Self {
        self.low_priority = true;
        self
    }

    pub(crate) fn policy(&self) -> &RetryPolicy {
        &self.client.inner.policy
    }

    /// `{GRAPH_URL}/v1.0{path}` with `query` appended; `path` starts with `/` and has its ids
    /// already encoded with [`path_segment`].
    pub(crate) fn url(&self, path: &str, query: &[(&str, &str)]) -> Url {
        let mut url = format!("{}/v1.0{path}", self.client.inner.base);
        for (i, (key, value)) in query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(key);
            url.push('=');
            url.extend(utf8_percent_encode(value, QUERY_VALUE));
        }
        // The base was a valid URL and everything added is encoded.
        Url::parse(&url).unwrap_or_else(|_| unreachable!("built an invalid URL from {path}"))
    }

    /// `{GRAPH_URL}/v1.0/users('{id}')` for `user@odata.bind`.
    pub(crate) fn user_bind(&self, user: &str) -> String {
        format!("{}/v1.0/users('{}')", self.client.inner.base, user.replace('\'', "''"))
    }

    /// `{GRAPH_URL}/v1.0/directoryObjects/{id}` for `@odata.id`.
    pub(crate) fn directory_object(&self, id: &str) -> String {
        format!("{}/v1.0/directoryObjects/{}", self.client.inner.base, path_segment(id))
    }

    /// Parses a link Graph handed out (nextLink, deltaLink). The token is only ever sent to
    /// `GRAPH_URL`'s origin, whatever a response says.
    pub(crate) fn link(&self, link: &str) -> Result<Url, GraphError> {
        let url = Url::parse(link).map_err(|_| GraphError::InvalidResponse(format!("unparsable link {link:?}")))?;
        if url.origin() != self.client.inner.origin {
            return Err(GraphError::Invalid(format!("refusing to follow a link outside GRAPH_URL: {link}")));
        }
        Ok(url)
    }

    pub(crate) async fn json<T: DeserializeOwned>(&self, call: Call) -> Result<T, GraphError> {
        let reply = self.execute(&call).await?;
        serde_json::from_slice(&reply.body).map_err(|e| {
            GraphError::InvalidResponse(format!("{} {} answered {}: {e}", call.method, call.url.path(), reply.status))
        })
    }

    pub(crate) async fn send(&self, call: Call) -> Result<u16, GraphError> {
        Ok(self.execute(&call).await?.status)
    }

    /// Sends `call`, absorbing throttling and transient failures while the deadline allows,
    /// and renewing the token once on a 401. A 429 is always waited out and resent (Graph did
    /// not run the request); 500, 502, 503, 504 and broken connections only for idempotent
    /// calls (graph.md §6.3).
    pub(crate) async fn execute(&self, call: &Call) -> Result<Reply, GraphError> {
        let inner = &self.client.inner;
        let mut attempt = 0;
        let mut renewed_token = false;
        loop {
            attempt += 1;
            let remaining = self.deadline.remaining();
            if remaining.is_zero() {
                return Err(GraphError::DeadlineExceeded);
            }
            let token = inner.tokens.token(&self.tenant, &inner.scope).await?;
            let client_request_id = uuid::Uuid::new_v4().to_string();
            let mut request = inner
                .http
                .request(call.method.clone(), call.url.clone())
                .bearer_auth(token.secret())
                .header("accept", "application/json")
                .header("client-request-id", &client_request_id)
                .timeout(remaining.min(inner.policy.request_timeout));
            if self.low_priority {
                request = request.header("x-ms-throttle-priority", "low");
            }
            for (name, value) in &call.headers {
                request = request.header(*name, value);
            }
            if let Some(body) = &call.body {
                request = request.json(body);
            }
            let started = Instant::now();
            let response = match request.send().await {
                Ok(response) => response,
                Err(e) => {
                    let detail = if e.is_timeout() {
                        format!("{} {} timed out", call.method, call.url.path())
                    } else {
                        format!("{} {} failed: {}", call.method, call.url.path(), e.without_url())
                    };
                    tracing::debug!(
                        tenant = %self.tenant,
                        method = %call.method,
                        path = call.url.path(),
                        attempt,
                        %detail,
                        "graph request failed"
                    );
                    let wait = self.policy().backoff(attempt);
                    if call.idempotent && attempt < inner.policy.max_attempts && self.deadline.allows(wait) {
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    return Err(GraphError::Transient { status: None, retry_after: None, detail });
                }
            };
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let request_id = header(&headers, "request-id");
            tracing::debug!(
                tenant = %self.tenant,
                method = %call.method,
                path = call.url.path(),
                status,
                request_id = request_id.as_deref().unwrap_or(""),
                client_request_id,
                attempt,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "graph call"
            );
            let body = match response.bytes().await {
                Ok(bytes) => bytes.to_vec(),
                Err(e) if (200..300).contains(&status) => {
                    return Err(GraphError::Transient {
                        status: Some(status),
                        retry_after: None,
                        detail: format!("reading the body failed: {}", e.without_url()),
                    });
                }
                Err(_) => Vec::new(),
            };
            if (200..300).contains(&status) {
                return Ok(Reply { status, body });
            }
            if status == 401 && !renewed_token {
                // The token may have been revoked or rotated before its expiry: one fresh try.
                renewed_token = true;
                inner.tokens.invalidate(&self.tenant, &inner.scope).await;
                continue;
            }
            let failure = GraphFailure::from_body(status, &body, request_id.as_deref());
            let retry_after = header(&headers, RETRY_AFTER.as_str()).as_deref().and_then(parse_retry_after);
            let retryable = status == 429 || (call.idempotent && matches!(status, 500 | 502 | 503 | 504));
            if !retryable {
                return Err(classify(failure, retry_after, call.permission));
            }
            let wait = retry_after.unwrap_or_else(|| self.policy().backoff(attempt));
            if attempt < inner.policy.max_attempts && self.deadline.allows(wait) {
                tracing::info!(
                    tenant = %self.tenant,
                    method = %call.method,
                    path = call.url.path(),
                    status,
                    wait_ms = wait.as_millis() as u64,
                    "graph throttled or unavailable; retrying"
                );
                tokio::time::sleep(wait).await;
                continue;
            }
            return Err(classify(failure, Some(wait), call.permission));
        }
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}
