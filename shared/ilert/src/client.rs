//! The REST and events API client: one attempt loop (auth, retries within a deadline, error
//! mapping) under a method per call we make.

use crate::IlertError;
use crate::model::{
    Alert, AlertSource, AlertStatus, EscalationPolicy, Event, EventAccepted, ManualAlert, OnCall, Responder, User,
};
use chrono::{DateTime, SecondsFormat, Utc};
use futures::stream::{self, Stream, TryStreamExt};
use rand::Rng;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue, USER_AGENT};
use reqwest::{Method, StatusCode};
use secrets::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::marker::PhantomData;
use std::time::{Duration, Instant};
use url::Url;

/// ilert's API host; paths are under `/api`.
pub const DEFAULT_API_URL: &str = "https://api.ilert.com";

const USER_AGENT_VALUE: &str = concat!("ilert-for-microsoft-teams/", env!("CARGO_PKG_VERSION"));

/// How a call waits between attempts. The defaults follow ilert's advice; tests shorten them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Shortest wait after a 429. ilert sends no `Retry-After` and asks for 10–30 s.
    pub throttle_min: Duration,
    /// Longest wait after a 429; each wait is drawn evenly between the two.
    pub throttle_max: Duration,
    /// Wait after the first 5xx or network failure, doubled per attempt (with jitter).
    pub server_error_initial: Duration,
    /// Cap of the doubling.
    pub server_error_max: Duration,
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    /// Deadline of a call when the caller set none.
    pub default_budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            throttle_min: Duration::from_secs(10),
            throttle_max: Duration::from_secs(30),
            server_error_initial: Duration::from_secs(1),
            server_error_max: Duration::from_secs(8),
            max_attempts: 4,
            default_budget: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    fn throttle_wait(&self) -> Duration {
        let (low, high) = (self.throttle_min, self.throttle_max.max(self.throttle_min));
        rand::rng().random_range(low..=high)
    }

    /// Between half and all of `initial * 2^(attempt-1)`, so parallel callers spread out.
    fn server_error_wait(&self, attempt: u32) -> Duration {
        let full =
            self.server_error_initial.saturating_mul(1 << attempt.saturating_sub(1).min(16)).min(self.server_error_max);
        rand::rng().random_range(full / 2..=full)
    }
}

/// ilert's API endpoint with the HTTP client and retry policy: what every call shares. Cheap
/// to clone; keep one per process and make an [`IlertClient`] per API key.
#[derive(Debug, Clone)]
pub struct Ilert {
    http: reqwest::Client,
    base: Url,
    retry: RetryPolicy,
    deadline: Option<Instant>,
}

impl Ilert {
    /// `base_url` is `ILERT_API_URL` as the configuration read it (default
    /// [`DEFAULT_API_URL`]); `/api/…` is appended to its path.
    pub fn new(http: reqwest::Client, base_url: Url) -> Self {
        Self { http, base: base_url, retry: RetryPolicy::default(), deadline: None }
    }

    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Calls give up (rather than wait out a 429 or 5xx) when they cannot finish by then.
    pub fn with_deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// A client acting as the owner of `api_key`.
    pub fn client(&self, api_key: SecretString) -> IlertClient {
        IlertClient { api: self.clone(), api_key }
    }

    /// `POST /api/events`. Authenticated by the event's integration key alone: no
    /// `Authorization` header is sent. Retried like other calls, as ilert's events
    /// documentation asks (ALERT events with an `alertKey` de-duplicate).
    pub async fn send_event(&self, event: &Event) -> Result<EventAccepted, IlertError> {
        let body = serde_json::to_value(event).map_err(|e| IlertError::UnexpectedResponse(e.to_string()))?;
        let bytes = self.execute(Request::new(Method::POST, "events").body(body), None).await?;
        // The body is usually empty; ilert-go reads these fields when there are any.
        Ok(serde_json::from_slice(&bytes).unwrap_or_default())
    }

    fn endpoint(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        // Always possible for the http(s) URLs the configuration accepts.
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push("api").extend(path.split('/'));
        }
        url
    }

    /// Runs one request to completion: retries 429 and (when safe) 5xx and network failures
    /// while the deadline allows, and maps failure answers to [`IlertError`].
    async fn execute(&self, request: Request, api_key: Option<&SecretString>) -> Result<Vec<u8>, IlertError> {
        let deadline = self.deadline.unwrap_or_else(|| Instant::now() + self.retry.default_budget);
        let auth = api_key.map(bearer).transpose()?;
        let url = self.endpoint(&request.path);
        let mut attempt = 1;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(IlertError::Transient { status: None, message: "no answer before the deadline".into() });
            }
            let mut builder = self
                .http
                .request(request.method.clone(), url.clone())
                .header(ACCEPT, "application/json")
                .header(USER_AGENT, USER_AGENT_VALUE)
                .query(&request.query)
                .timeout(remaining);
            if let Some(auth) = &auth {
                builder = builder.header(AUTHORIZATION, auth.clone());
            }
            if let Some(body) = &request.body {
                builder = builder.json(body);
            }
            let (failure, wait) = match send(builder).await {
                Ok((status, body)) if status.is_success() => return Ok(body),
                Ok((status, body)) => {
                    let failure = error_from_answer(status, &body);
                    let wait = match status {
                        StatusCode::TOO_MANY_REQUESTS => self.retry.throttle_wait(),
                        s if s.is_server_error() && request.idempotent => self.retry.server_error_wait(attempt),
                        _ => return Err(failure),
                    };
                    (failure, wait)
                }
                // A refused connection never reached ilert, so even a create may be repeated.
                Err(e) if request.idempotent || e.is_connect() => (
                    IlertError::Transient { status: None, message: e.to_string() },
                    self.retry.server_error_wait(attempt),
                ),
                Err(e) => return Err(IlertError::Transient { status: None, message: e.to_string() }),
            };
            if attempt >= self.retry.max_attempts || Instant::now() + wait >= deadline {
                return Err(match failure {
                    IlertError::Throttled { .. } => IlertError::Throttled { retry_after: wait },
                    other => other,
                });
            }
            tracing::warn!(
                method = %request.method,
                path = %request.path,
                attempt,
                wait_ms = wait.as_millis() as u64,
                error = %failure,
                "ilert call failed; retrying"
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn fetch<T: DeserializeOwned>(&self, request: Request, api_key: &SecretString) -> Result<T, IlertError> {
        let path = request.path.clone();
        let body = self.execute(request, Some(api_key)).await?;
        decode(&path, &body)
    }
}

/// The `Authorization` value, marked sensitive so HTTP-level debug logs never print it.
fn bearer(api_key: &SecretString) -> Result<HeaderValue, IlertError> {
    let mut value =
        HeaderValue::from_str(&format!("Bearer {}", api_key.expose_secret())).map_err(|_| IlertError::InvalidApiKey)?;
    value.set_sensitive(true);
    Ok(value)
}

async fn send(builder: reqwest::RequestBuilder) -> Result<(StatusCode, Vec<u8>), SendError> {
    let response = builder.send().await.map_err(SendError)?;
    let status = response.status();
    let body = response.bytes().await.map_err(SendError)?.to_vec();
    Ok((status, body))
}

/// A transport failure, printed without the URL (which reqwest would append).
struct SendError(reqwest::Error);

impl SendError {
    fn is_connect(&self) -> bool {
        self.0.is_connect()
    }
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_timeout() {
            return f.write_str("no answer before the deadline");
        }
        let text = self.0.to_string();
        f.write_str(text.split(" for url").next().unwrap_or(&text))?;
        // The cause ("connection refused", "dns error") is in the source chain.
        let mut source = std::error::Error::source(&self.0);
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

fn decode<T: DeserializeOwned>(path: &str, body: &[u8]) -> Result<T, IlertError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de)
        .map_err(|e| IlertError::UnexpectedResponse(format!("{path}: at {}: {}", e.path(), e.inner())))
}

/// Maps a failure status and ilert's `{status, message, code}` body to an error.
fn error_from_answer(status: StatusCode, body: &[u8]) -> IlertError {
    #[derive(Deserialize, Default)]
    struct ErrorBody {
        message: Option<String>,
        code: Option<String>,
    }
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    // Non-JSON bodies (proxy pages) are not echoed.
    let message = parsed
        .message
        .filter(|m| !m.trim().is_empty())
        .map(|m| m.chars().take(300).collect())
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("no message").to_owned());
    let code = parsed.code.unwrap_or_default();
    match status.as_u16() {
        400 => IlertError::BadRequest { message },
        401 => IlertError::Unauthorized { message },
        402 => IlertError::PlanLimit { code, message },
        403 if code == "KEY_ERROR" => IlertError::InvalidApiKey,
        403 => IlertError::Forbidden { code, message },
        404 => IlertError::NotFound { message },
        429 => IlertError::Throttled { retry_after: Duration::ZERO },
        500..=599 => IlertError::Transient { status: Some(status.as_u16()), message },
        other => IlertError::Rejected { status: other, code, message },
    }
}

struct Request {
    method: Method,
    /// Below `/api/`.
    path: String,
    query: Vec<(&'static str, String)>,
    body: Option<Value>,
    /// Whether repeating it after a 5xx or a lost answer is harmless.
    idempotent: bool,
}

impl Request {
    fn new(method: Method, path: impl Into<String>) -> Self {
        Self { method, path: path.into(), query: Vec::new(), body: None, idempotent: true }
    }

    fn query(mut self, query: Vec<(&'static str, String)>) -> Self {
        self.query = query;
        self
    }

    fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    fn not_idempotent(mut self) -> Self {
        self.idempotent = false;
        self
    }
}

/// Filters of `GET /api/alerts`; empty lists do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertFilter {
    pub states: Vec<AlertStatus>,
    /// Alert source ids.
    pub sources: Vec<i64>,
    /// Escalation policy ids.
    pub policies: Vec<i64>,
}

/// Filters of `GET /api/on-calls`. With no time window ilert answers for "now".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OnCallFilter {
    /// Escalation policy ids.
    pub policies: Vec<i64>,
    /// User ids.
    pub users: Vec<i64>,
    pub from: Option<DateTime<Utc>>,
    /// At most three months after `from`.
    pub until: Option<DateTime<Utc>>,
}

/// Whom `PUT /api/alerts/{id}/assign` hands the alert to.
///
/// The spec names the query parameters `user`, `policy` and `schedule`, which is what is
/// sent; its own prose (and ilert-go) say `user-id`, `policy-id` and `schedule-id`. Which one
/// the live API honours is unverified (reference §3.2, open question 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignee {
    User(i64),
    EscalationPolicy(i64),
    Schedule(i64),
}

impl Assignee {
    fn query(self) -> (&'static str, String) {
        match self {
            Self::User(id) => ("user", id.to_string()),
            Self::EscalationPolicy(id) => ("policy", id.to_string()),
            Self::Schedule(id) => ("schedule", id.to_string()),
        }
    }
}

/// The REST API acting as the owner of one API key. Cheap to clone; `Debug` hides the key.
#[derive(Debug, Clone)]
pub struct IlertClient {
    api: Ilert,
    api_key: SecretString,
}

impl IlertClient {
    /// Calls give up (rather than wait out a 429 or 5xx) when they cannot finish by then.
    pub fn with_deadline(mut self, deadline: Instant) -> Self {
        self.api.deadline = Some(deadline);
        self
    }

    /// `GET /api/alerts/{id}`.
    pub async fn get_alert(&self, id: i64) -> Result<Alert, IlertError> {
        self.api.fetch(Request::new(Method::GET, format!("alerts/{id}")), &self.api_key).await
    }

    /// `GET /api/alerts`, up to 100 per page.
    pub fn list_alerts(&self, filter: &AlertFilter) -> Listing<Alert> {
        let mut query = Vec::new();
        query.extend(filter.states.iter().map(|s| ("states", s.to_string())));
        query.extend(filter.sources.iter().map(|id| ("sources", id.to_string())));
        query.extend(filter.policies.iter().map(|id| ("policies", id.to_string())));
        Listing::new(self.clone(), "alerts", query, 100)
    }

    /// `PUT /api/alerts/{id}/accept`, as the key's user. ilert refuses it for a resolved alert.
    pub async fn accept_alert(&self, id: i64) -> Result<Alert, IlertError> {
        self.api.fetch(Request::new(Method::PUT, format!("alerts/{id}/accept")), &self.api_key).await
    }

    /// `PUT /api/alerts/{id}/resolve`, as the key's user.
    pub async fn resolve_alert(&self, id: i64) -> Result<Alert, IlertError> {
        self.api.fetch(Request::new(Method::PUT, format!("alerts/{id}/resolve")), &self.api_key).await
    }

    /// `PUT /api/alerts/{id}/assign` (see [`Assignee`] on the parameter names).
    pub async fn assign_alert(&self, id: i64, to: Assignee) -> Result<Alert, IlertError> {
        let request = Request::new(Method::PUT, format!("alerts/{id}/assign")).query(vec![to.query()]);
        self.api.fetch(request, &self.api_key).await
    }

    /// `POST /api/alerts/{id}/responders`. The spec does not describe the body; this sends
    /// `{"user": {"id": …}}`, the `AlertResponder` shape. A responder already on the alert is
    /// [`IlertError::Rejected`] with status 405.
    pub async fn add_responder(&self, alert_id: i64, user_id: i64) -> Result<Responder, IlertError> {
        let request = Request::new(Method::POST, format!("alerts/{alert_id}/responders"))
            .body(json!({ "user": { "id": user_id } }));
        self.api.fetch(request, &self.api_key).await
    }

    /// `POST /api/alerts`. Not repeated after a 5xx or a lost answer, which could create the
    /// alert twice; the caller decides.
    pub async fn create_alert(&self, alert: &ManualAlert) -> Result<Alert, IlertError> {
        let request = Request::new(Method::POST, "alerts").body(alert.to_wire()).not_idempotent();
        self.api.fetch(request, &self.api_key).await
    }

    /// `POST /api/events` (see [`Ilert::send_event`]; the API key is not sent).
    pub async fn send_event(&self, event: &Event) -> Result<EventAccepted, IlertError> {
        self.api.send_event(event).await
    }

    /// `GET /api/users`, up to 100 per page.
    pub fn list_users(&self) -> Listing<User> {
        Listing::new(self.clone(), "users", Vec::new(), 100)
    }

    /// `POST /api/users/search-email`: the user with this address, or `None` (404).
    pub async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, IlertError> {
        let request = Request::new(Method::POST, "users/search-email").body(json!({ "email": email }));
        match self.api.fetch(request, &self.api_key).await {
            Ok(user) => Ok(Some(user)),
            Err(IlertError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET /api/on-calls` with users, policies and schedules expanded (otherwise ilert sends
    /// only their ids), up to 250 per page.
    pub fn list_on_calls(&self, filter: &OnCallFilter) -> Listing<OnCall> {
        let mut query: Vec<(&'static str, String)> =
            ["user", "escalationPolicy", "schedule"].into_iter().map(|e| ("expand", e.to_owned())).collect();
        query.extend(filter.policies.iter().map(|id| ("policies", id.to_string())));
        query.extend(filter.users.iter().map(|id| ("users", id.to_string())));
        let time = |t: &DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
        query.extend(filter.from.iter().map(|t| ("from", time(t))));
        query.extend(filter.until.iter().map(|t| ("until", time(t))));
        Listing::new(self.clone(), "on-calls", query, 250)
    }

    /// `GET /api/escalation-policies`, up to 50 per page.
    pub fn list_escalation_policies(&self) -> Listing<EscalationPolicy> {
        Listing::new(self.clone(), "escalation-policies", Vec::new(), 50)
    }

    /// `GET /api/alert-sources`, up to 50 per page.
    pub fn list_alert_sources(&self) -> Listing<AlertSource> {
        Listing::new(self.clone(), "alert-sources", Vec::new(), 50)
    }

    /// `GET /api/alert-sources/{id}` (carries the integration key if the user may update it).
    pub async fn get_alert_source(&self, id: i64) -> Result<AlertSource, IlertError> {
        self.api.fetch(Request::new(Method::GET, format!("alert-sources/{id}")), &self.api_key).await
    }
}

/// A paged list (`start-index`/`max-results`): one page at a time, or every item as a stream.
/// Pages are as large as ilert allows for the resource unless [`Listing::page_size`] says less.
pub struct Listing<T> {
    client: IlertClient,
    resource: &'static str,
    query: Vec<(&'static str, String)>,
    page_size: u32,
    max_page_size: u32,
    item: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned + Send + 'static> Listing<T> {
    fn new(client: IlertClient, resource: &'static str, query: Vec<(&'static str, String)>, max: u32) -> Self {
        Self { client, resource, query, page_size: max, max_page_size: max, item: PhantomData }
    }

    /// Items per request, clamped to 1 ..= ilert's cap for the resource (a larger
    /// `max-results` is a 400).
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = size.clamp(1, self.max_page_size);
        self
    }

    /// The page starting at item `start_index` (0-based).
    pub async fn page(&self, start_index: u32) -> Result<Vec<T>, IlertError> {
        let mut query = self.query.clone();
        query.push(("start-index", start_index.to_string()));
        query.push(("max-results", self.page_size.to_string()));
        self.client.api.fetch(Request::new(Method::GET, self.resource).query(query), &self.client.api_key).await
    }

    /// Every item, fetching the next page when the previous one was full.
    pub fn stream(self) -> impl Stream<Item = Result<T, IlertError>> + Send + 'static {
        stream::try_unfold((self, Some(0u32)), |(listing, next)| async move {
            let Some(start) = next else { return Ok(None) };
            let items = listing.page(start).await?;
            let count = u32::try_from(items.len()).unwrap_or(u32::MAX);
            let next = (count >= listing.page_size).then(|| start.saturating_add(count));
            Ok(Some((items, (listing, next))))
        })
        .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
        .try_flatten()
    }

    /// Every item, collected.
    pub async fn all(self) -> Result<Vec<T>, IlertError> {
        self.stream().try_collect().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_waits_follow_ilert_advice() {
        let policy = RetryPolicy::default();
        for _ in 0..100 {
            let wait = policy.throttle_wait();
            assert!((Duration::from_secs(10)..=Duration::from_secs(30)).contains(&wait), "{wait:?}");
        }
        for attempt in 1..10 {
            assert!(policy.server_error_wait(attempt) <= policy.server_error_max);
        }
        let first = policy.server_error_wait(1);
        assert!((Duration::from_millis(500)..=Duration::from_secs(1)).contains(&first), "{first:?}");
    }

    #[test]
    fn error_bodies_become_typed_errors() {
        let answer =
            |status: u16, body: &str| error_from_answer(StatusCode::from_u16(status).unwrap(), body.as_bytes());
        let key = answer(403, r#"{"status":403,"message":"Invalid API key","code":"KEY_ERROR"}"#);
        assert_eq!(key, IlertError::InvalidApiKey);
        assert_eq!(key.to_string(), "the ilert API key is invalid or revoked");
        assert!(matches!(
            answer(403, r#"{"status":403,"message":"scope","code":"OAUTH2_SCOPE_ERROR"}"#),
            IlertError::Forbidden { code, .. } if code == "OAUTH2_SCOPE_ERROR"
        ));
        assert!(
            matches!(answer(400, r#"{"message":"bad max-results"}"#), IlertError::BadRequest { message } if message == "bad max-results")
        );
        assert!(matches!(answer(402, r#"{"code":"QUOTA_EXCEEDED","message":"q"}"#), IlertError::PlanLimit { .. }));
        assert!(
            matches!(answer(502, "<html>proxy</html>"), IlertError::Transient { status: Some(502), message } if message == "Bad Gateway")
        );
        assert!(matches!(answer(405, ""), IlertError::Rejected { status: 405, .. }));
    }

    #[test]
    fn paths_go_under_api() {
        let api = Ilert::new(reqwest::Client::new(), Url::parse("https://api.ilert.com").unwrap());
        assert_eq!(api.endpoint("alerts/5/accept").as_str(), "https://api.ilert.com/api/alerts/5/accept");
        let proxied = Ilert::new(reqwest::Client::new(), Url::parse("http://127.0.0.1:9/ilert/").unwrap());
        assert_eq!(proxied.endpoint("on-calls").as_str(), "http://127.0.0.1:9/ilert/api/on-calls");
    }
}
