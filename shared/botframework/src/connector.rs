//! The Bot Connector REST client (`{serviceUrl}v3/conversations…`): create conversations,
//! send, reply, update, delete activities and read a member.
//!
//! The bot's token goes only to a serviceUrl whose host is allow-listed
//! (`BOT_SERVICE_URL_HOSTS`) and that is https (plain http only on loopback hosts), checked
//! before any request: a forged serviceUrl must not collect the token. Transient answers
//! (429, 412, 502, 503, 504) are retried within the caller's deadline, honouring
//! `Retry-After`; when the next wait does not fit, the call ends with
//! [`ConnectorError::Throttled`] so a queue consumer can re-queue with that delay instead of
//! sleeping. A 401 drops the cached token and retries once with a fresh one.

use crate::activity::{Activity, ChannelAccount, TeamsChannelData};
use entra::TokenProvider;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use rand::Rng;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::{Duration, Instant};
use url::Url;

/// Everything but RFC 3986 unreserved characters is encoded in a path segment, so ids like
/// `19:…@thread.tacv2;messageid=1` arrive as one segment, as the SDKs send them.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Longest error message kept from a Connector answer.
const MAX_MESSAGE_CHARS: usize = 300;

/// Why a Connector call failed. Messages carry Teams' error codes and texts, never a token.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// The serviceUrl does not parse or carries credentials.
    #[error("serviceUrl is not a valid URL")]
    InvalidServiceUrl,
    /// Refused before any request: the host is not in `BOT_SERVICE_URL_HOSTS`.
    #[error("serviceUrl host {host} is not an allowed Bot Connector host")]
    HostNotAllowed {
        /// The serviceUrl's host.
        host: String,
    },
    /// Refused before any request: https is required except on loopback hosts.
    #[error("serviceUrl is not https")]
    InsecureServiceUrl,
    /// The Connector throttled the bot (429) or was briefly unavailable (412, 502, 503, 504),
    /// and the next wait fits neither the deadline nor the retry budget: try again after
    /// `retry_after`.
    #[error("Bot Connector asked to retry after {retry_after:?}")]
    Throttled {
        /// How long to wait before trying again.
        retry_after: Duration,
    },
    /// 403 `MessageWritesBlocked`: the bot was blocked or removed from this conversation.
    #[error("the bot can no longer write to this conversation (MessageWritesBlocked)")]
    WritesBlocked,
    /// Another 403 (the app is not installed here, the token is not accepted, …).
    #[error("Bot Connector forbade the request: {code}: {message}")]
    Forbidden {
        /// Teams' error code.
        code: String,
        /// Teams' error message.
        message: String,
    },
    /// 404: unknown conversation, activity or member.
    #[error("not found: {code}: {message}")]
    NotFound {
        /// Teams' error code, e.g. `ConversationNotFound`.
        code: String,
        /// Teams' error message.
        message: String,
    },
    /// 413 `MessageSizeTooBig`.
    #[error("activity too large for Teams ({code})")]
    TooLarge {
        /// Teams' error code, normally `MessageSizeTooBig`.
        code: String,
    },
    /// 401 even with a freshly issued token.
    #[error("Bot Connector refused the bot's token")]
    Unauthorized,
    /// Any other 4xx, e.g. 400 `BadSyntax`.
    #[error("Bot Connector rejected the request with {status}: {code}: {message}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// Teams' error code, e.g. `BadSyntax`.
        code: String,
        /// Teams' error message.
        message: String,
    },
    /// A 5xx that is not retried, or the Connector could not be reached.
    #[error("Bot Connector unavailable: {0}")]
    Unavailable(String),
    /// The deadline passed before the Connector answered.
    #[error("deadline reached before the Bot Connector answered")]
    Timeout,
    /// The Connector answered 2xx with a body that is not the expected JSON.
    #[error("unreadable Bot Connector response: {0}")]
    InvalidResponse(String),
    /// The bot's token could not be had.
    #[error(transparent)]
    Token(#[from] entra::TokenError),
}

/// Who the bot is towards the Connector, and where its token may go.
#[derive(Debug, Clone)]
pub struct ConnectorConfig {
    /// `BOT_TENANT_ID`: the tenant the bot's token is requested from.
    pub bot_tenant_id: String,
    /// `BOT_TOKEN_SCOPE`.
    pub token_scope: String,
    /// `BOT_SERVICE_URL_HOSTS`.
    pub allowed_hosts: Vec<String>,
}

impl ConnectorConfig {
    /// The configured scope and allow-list (`BOT_TOKEN_SCOPE`, `BOT_SERVICE_URL_HOSTS`) for a
    /// bot registered in `bot_tenant_id` (`BOT_TENANT_ID`).
    pub fn from_endpoints(endpoints: &config::Endpoints, bot_tenant_id: impl Into<String>) -> Self {
        Self {
            bot_tenant_id: bot_tenant_id.into(),
            token_scope: endpoints.bot_token_scope.clone(),
            allowed_hosts: endpoints.bot_service_url_hosts.clone(),
        }
    }
}

/// How transient failures are retried. The caller's deadline bounds everything.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Backoff before the first retry when the Connector gives no `Retry-After`; doubles
    /// with each retry, ±20 % jitter.
    pub base_delay: Duration,
    /// Longest backoff between retries.
    pub max_delay: Duration,
    /// Retries after the first attempt, at most.
    pub max_retries: u32,
    /// Longest wait for one answer.
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
            max_retries: 4,
            request_timeout: Duration::from_secs(15),
        }
    }
}

impl RetryPolicy {
    fn backoff(&self, retry: u32) -> Duration {
        let exponential = self.base_delay.saturating_mul(2u32.saturating_pow(retry)).min(self.max_delay);
        exponential.mul_f64(rand::rng().random_range(0.8..=1.2))
    }
}

/// `ConversationParameters` of `POST v3/conversations`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationParameters {
    /// `true` for a channel post, `false` for a 1:1 chat (group chats cannot be created).
    pub is_group: bool,
    /// The bot (`28:{appId}`); optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot: Option<ChannelAccount>,
    /// 1:1: exactly one member, the user's `29:` id; ignored for channel posts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<ChannelAccount>,
    /// Topic; not used by Teams for the creates it supports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_name: Option<String>,
    /// Required by Teams for every create.
    pub tenant_id: String,
    /// The first activity; required for channel posts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<Activity>,
    /// `channel.id` names the channel of a new post.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_data: Option<TeamsChannelData>,
}

impl ConversationParameters {
    /// A new post in a channel (`19:…@thread.tacv2`), which Teams creates only together with
    /// its first activity. The answer's `id` is the thread, its `activityId` the post.
    pub fn channel_thread(channel_id: impl Into<String>, tenant_id: impl Into<String>, activity: Activity) -> Self {
        Self {
            is_group: true,
            tenant_id: tenant_id.into(),
            activity: Some(activity),
            channel_data: Some(TeamsChannelData {
                channel: Some(crate::activity::ChannelInfo { id: channel_id.into(), name: None }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// The 1:1 chat with a user, by their `29:` id; the same conversation every time.
    pub fn personal(member_id: impl Into<String>, tenant_id: impl Into<String>) -> Self {
        Self { members: vec![ChannelAccount::with_id(member_id)], tenant_id: tenant_id.into(), ..Default::default() }
    }
}

/// The answer to a create: the conversation id, and for channel threads the post's id.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationResourceResponse {
    /// The conversation: `a:…`, or `19:…;messageid=<post>` for a channel post.
    pub id: String,
    /// The new post's activity id (channel posts only).
    #[serde(default)]
    pub activity_id: Option<String>,
    /// A serviceUrl to use for the conversation, when Teams gives one.
    #[serde(default)]
    pub service_url: Option<String>,
}

/// The answer to a send, reply or update: the activity's id, when Teams gives one (it does
/// not when it split a message).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ResourceResponse {
    /// The activity id.
    #[serde(default)]
    pub id: Option<String>,
}

/// A member as `GET v3/conversations/{id}/members/{userId}` gives it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamsChannelAccount {
    /// The user's `29:` id for this bot.
    #[serde(default)]
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Entra object id.
    #[serde(default)]
    pub aad_object_id: Option<String>,
    /// Email address.
    #[serde(default)]
    pub email: Option<String>,
    /// User principal name.
    #[serde(default)]
    pub user_principal_name: Option<String>,
    /// The user's tenant.
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// Given name.
    #[serde(default)]
    pub given_name: Option<String>,
    /// Surname.
    #[serde(default)]
    pub surname: Option<String>,
    /// `user`, `guest`, …
    #[serde(default)]
    pub user_role: Option<String>,
}

#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    error: Option<ErrorDetail>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize, Default)]
struct ErrorDetail {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// Teams' 403s put a JSON document inside `message`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct TeamsErrorMessage {
    #[serde(default)]
    sub_code: Option<String>,
    #[serde(default)]
    details: Option<String>,
}

/// `(code, message)` of an error answer, whichever of the Connector's shapes it has.
fn error_code_and_message(body: &[u8]) -> (String, String) {
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let (mut code, mut message) = match parsed.error {
        Some(detail) => (detail.code.unwrap_or_default(), detail.message.unwrap_or_default()),
        None => (String::new(), parsed.message.unwrap_or_default()),
    };
    if let Ok(inner) = serde_json::from_str::<TeamsErrorMessage>(&message)
        && let Some(sub_code) = inner.sub_code
    {
        code = sub_code;
        message = inner.details.unwrap_or_default();
    }
    if message.is_empty() {
        message = String::from_utf8_lossy(body).into_owned();
    }
    (code, message.chars().take(MAX_MESSAGE_CHARS).collect())
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let seconds: f64 = value.parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds.min(86_400.0)))
}

fn log_answer(method: &Method, url: &Url, status: StatusCode, headers: &HeaderMap) {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    tracing::debug!(
        %method,
        path = url.path(),
        status = status.as_u16(),
        ms_cv = header("ms-cv"),
        correlating_operation_id = header("x-correlating-operationid"),
        "Bot Connector answered"
    );
}

fn encode(segment: &str) -> String {
    utf8_percent_encode(segment, SEGMENT).to_string()
}

/// The bot's client for the Bot Connector.
pub struct ConnectorClient {
    http: reqwest::Client,
    tokens: Arc<TokenProvider>,
    config: ConnectorConfig,
    retry: RetryPolicy,
}

impl ConnectorClient {
    /// `tokens` issues the bot's outbound token (the bot's app registration).
    pub fn new(http: reqwest::Client, tokens: Arc<TokenProvider>, config: ConnectorConfig) -> Self {
        Self { http, tokens, config, retry: RetryPolicy::default() }
    }

    /// Replaces the default retry policy.
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// `POST v3/conversations`.
    pub async fn create_conversation(
        &self,
        service_url: &str,
        parameters: &ConversationParameters,
        deadline: Instant,
    ) -> Result<ConversationResourceResponse, ConnectorError> {
        self.call(Method::POST, service_url, "v3/conversations".into(), Some(parameters), deadline).await
    }

    /// `POST v3/conversations/{id}/activities`; to a channel id this starts a new thread.
    pub async fn send_to_conversation(
        &self,
        service_url: &str,
        conversation_id: &str,
        activity: &Activity,
        deadline: Instant,
    ) -> Result<ResourceResponse, ConnectorError> {
        let path = format!("v3/conversations/{}/activities", encode(conversation_id));
        self.call(Method::POST, service_url, path, Some(activity), deadline).await
    }

    /// `POST v3/conversations/{id}/activities/{activityId}`.
    pub async fn reply_to_activity(
        &self,
        service_url: &str,
        conversation_id: &str,
        activity_id: &str,
        activity: &Activity,
        deadline: Instant,
    ) -> Result<ResourceResponse, ConnectorError> {
        let path = activity_path(conversation_id, activity_id);
        self.call(Method::POST, service_url, path, Some(activity), deadline).await
    }

    /// `PUT v3/conversations/{id}/activities/{activityId}`: replaces the message for everyone.
    pub async fn update_activity(
        &self,
        service_url: &str,
        conversation_id: &str,
        activity_id: &str,
        activity: &Activity,
        deadline: Instant,
    ) -> Result<ResourceResponse, ConnectorError> {
        let path = activity_path(conversation_id, activity_id);
        self.call(Method::PUT, service_url, path, Some(activity), deadline).await
    }

    /// `DELETE v3/conversations/{id}/activities/{activityId}`.
    pub async fn delete_activity(
        &self,
        service_url: &str,
        conversation_id: &str,
        activity_id: &str,
        deadline: Instant,
    ) -> Result<(), ConnectorError> {
        let path = activity_path(conversation_id, activity_id);
        self.send(Method::DELETE, service_url, path, None, deadline).await.map(drop)
    }

    /// `GET v3/conversations/{id}/members/{userId}` (a `29:` id or an Entra object id).
    pub async fn get_member(
        &self,
        service_url: &str,
        conversation_id: &str,
        user_id: &str,
        deadline: Instant,
    ) -> Result<TeamsChannelAccount, ConnectorError> {
        let path = format!("v3/conversations/{}/members/{}", encode(conversation_id), encode(user_id));
        self.call(Method::GET, service_url, path, None::<&()>, deadline).await
    }

    /// The serviceUrl, if the bot's token may be sent there.
    fn base_url(&self, service_url: &str) -> Result<Url, ConnectorError> {
        let url = Url::parse(service_url).map_err(|_| ConnectorError::InvalidServiceUrl)?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ConnectorError::InvalidServiceUrl);
        }
        let host = url.host_str().ok_or(ConnectorError::InvalidServiceUrl)?;
        if !self.config.allowed_hosts.iter().any(|allowed| allowed.eq_ignore_ascii_case(host)) {
            return Err(ConnectorError::HostNotAllowed { host: host.to_owned() });
        }
        match url.scheme() {
            "https" => Ok(url),
            "http" if config::is_loopback_host(host) => Ok(url),
            _ => Err(ConnectorError::InsecureServiceUrl),
        }
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        service_url: &str,
        path: String,
        body: Option<&impl Serialize>,
        deadline: Instant,
    ) -> Result<T, ConnectorError> {
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| ConnectorError::InvalidResponse(format!("unserializable request: {e}")))?;
        let answer = self.send(method, service_url, path, body, deadline).await?;
        // Some answers (updates, Teams-split messages) come without a body.
        let answer: &[u8] = if answer.iter().all(u8::is_ascii_whitespace) { b"{}" } else { &answer };
        serde_json::from_slice(answer).map_err(|e| ConnectorError::InvalidResponse(e.to_string()))
    }

    /// One logical request: retries, token refresh, and the mapping of failures.
    async fn send(
        &self,
        method: Method,
        service_url: &str,
        path: String,
        body: Option<Vec<u8>>,
        deadline: Instant,
    ) -> Result<Vec<u8>, ConnectorError> {
        let mut url = self.base_url(service_url)?;
        let base_path = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{base_path}/{path}"));
        url.set_query(None);
        url.set_fragment(None);

        let (tenant, scope) = (&self.config.bot_tenant_id, &self.config.token_scope);
        let mut retries = 0;
        let mut refreshed_token = false;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(ConnectorError::Timeout);
            }
            let token = self.tokens.token(tenant, scope).await?;
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(token.secret())
                .header(ACCEPT, "application/json")
                .timeout(remaining.min(self.retry.request_timeout));
            if let Some(body) = &body {
                request = request.header(CONTENT_TYPE, "application/json; charset=utf-8").body(body.clone());
            }
            let response = match request.send().await {
                Ok(response) => response,
                Err(e) if e.is_timeout() => return Err(ConnectorError::Timeout),
                // Nothing reached the Connector: as safe to retry as a 503.
                Err(e) if e.is_connect() => {
                    let wait = self.retry.backoff(retries);
                    if retries >= self.retry.max_retries || Instant::now() + wait > deadline {
                        return Err(ConnectorError::Unavailable(format!("connect failed: {}", e.without_url())));
                    }
                    retries += 1;
                    tokio::time::sleep(wait).await;
                    continue;
                }
                Err(e) => return Err(ConnectorError::Unavailable(e.without_url().to_string())),
            };
            let status = response.status();
            let headers = response.headers().clone();
            log_answer(&method, &url, status, &headers);
            let answer = match response.bytes().await {
                Ok(bytes) => bytes.to_vec(),
                Err(e) if e.is_timeout() => return Err(ConnectorError::Timeout),
                Err(e) => return Err(ConnectorError::Unavailable(e.without_url().to_string())),
            };
            if status.is_success() {
                return Ok(answer);
            }
            match status.as_u16() {
                401 if !refreshed_token => {
                    // The cached token may have been revoked or rolled over: one retry with a new one.
                    self.tokens.invalidate(tenant, scope).await;
                    refreshed_token = true;
                }
                429 | 412 | 502 | 503 | 504 => {
                    let wait = retry_after(&headers).unwrap_or_else(|| self.retry.backoff(retries));
                    if retries >= self.retry.max_retries || Instant::now() + wait > deadline {
                        tracing::debug!(
                            status = status.as_u16(),
                            ?wait,
                            "Bot Connector retry does not fit the deadline"
                        );
                        return Err(ConnectorError::Throttled { retry_after: wait });
                    }
                    retries += 1;
                    tokio::time::sleep(wait).await;
                }
                _ => return Err(failure(status, &answer)),
            }
        }
    }
}

fn activity_path(conversation_id: &str, activity_id: &str) -> String {
    format!("v3/conversations/{}/activities/{}", encode(conversation_id), encode(activity_id))
}

/// The typed error of a final, non-retried failure.
fn failure(status: StatusCode, body: &[u8]) -> ConnectorError {
    let (code, message) = error_code_and_message(body);
    match status.as_u16() {
        401 => ConnectorError::Unauthorized,
        403 if code == "MessageWritesBlocked" => ConnectorError::WritesBlocked,
        403 => ConnectorError::Forbidden { code, message },
        404 => ConnectorError::NotFound { code, message },
        413 => ConnectorError::TooLarge { code },
        400..=499 => ConnectorError::Rejected { status: status.as_u16(), code, message },
        _ => ConnectorError::Unavailable(format!("{status}: {code}: {message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_encoded_as_single_segments() {
        assert_eq!(
            encode("19:abc@thread.tacv2;messageid=1776390257332"),
            "19%3Aabc%40thread.tacv2%3Bmessageid%3D1776390257332"
        );
        assert_eq!(encode("a:1-x_y.z~"), "a%3A1-x_y.z~");
        assert_eq!(encode("../x/y"), "..%2Fx%2Fy");
    }

    #[test]
    fn error_bodies_of_both_shapes_are_read() {
        // The body of fixture proactive-403-messagewritesblocked.response.json.
        let blocked = r#"{"errorCode": 209, "message": "{\r\n  \"subCode\": \"MessageWritesBlocked\",\r\n  \"details\": \"Thread is blocked from message writes.\",\r\n  \"errorCode\": null,\r\n  \"errorSubCode\": null\r\n}"}"#;
        assert_eq!(error_code_and_message(blocked.as_bytes()).0, "MessageWritesBlocked");
        assert!(matches!(failure(StatusCode::FORBIDDEN, blocked.as_bytes()), ConnectorError::WritesBlocked));
        let bad = br#"{"error":{"code":"BadSyntax","message":"Incorrect conversation creation parameters"}}"#;
        assert_eq!(
            error_code_and_message(bad),
            ("BadSyntax".to_owned(), "Incorrect conversation creation parameters".to_owned())
        );
        assert_eq!(error_code_and_message(b"oops").1, "oops");
    }

    #[test]
    fn retry_after_is_read_in_seconds() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(RETRY_AFTER, "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, "-1".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn backoff_grows_within_jitter_and_cap() {
        let policy = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            ..Default::default()
        };
        for _ in 0..50 {
            let first = policy.backoff(0);
            assert!(first >= Duration::from_millis(80) && first <= Duration::from_millis(120), "{first:?}");
            let third = policy.backoff(2);
            assert!(third >= Duration::from_millis(320) && third <= Duration::from_millis(480), "{third:?}");
            assert!(policy.backoff(30) <= Duration::from_millis(1200));
        }
    }
}
