//! The Bot Connector as Teams runs it: `{serviceUrl}v3/conversations…`, served under a
//! `/{region}/{tenantId}/` prefix so a serviceUrl looks like Teams' tenant-scoped ones
//! (`http://127.0.0.1:PORT/amer/{tenantId}/`, see [`ConnectorSim::service_url`]).
//!
//! Routes (conversation and activity ids percent-encoded in the path, as the SDKs send them):
//! - `POST v3/conversations`: create a conversation, validated as Teams does: a new channel
//!   thread (`isGroup: true`, `channelData.channel.id`, required `activity`) answers 201
//!   `{id: "19:…@thread.tacv2;messageid=<ms>", activityId}`; a 1:1 chat (`isGroup: false`, one
//!   `29:` member) answers 201 `{id: "a:…"}`, the same id every time for a user; group chats,
//!   a channel thread without `activity` and a missing `tenantId` answer 400 `BadSyntax`.
//! - `POST v3/conversations/{id}/activities` (send; to a channel id it starts a new thread),
//!   `POST …/activities/{activityId}` (reply), `PUT …/activities/{activityId}` (update),
//!   `DELETE …/activities/{activityId}`, and `GET v3/conversations/{id}/members/{userId}`.
//!
//! Every request needs a bearer token the [`LoginSim`] issued for the bot scope, else 401.
//! Activity ids are epoch milliseconds (strictly increasing). Every activity posted, updated
//! or deleted is recorded, with its versions, for tests to assert on: [`ConnectorSim::activities_in`],
//! [`ConnectorSim::thread`]; every request is recorded with its raw path and answer status.
//!
//! Teams' documented limits are enforced on writes (per conversation 7/1 s, 8/2 s, 60/30 s,
//! 1800/h; per tenant 50/s), answering 429 with `Retry-After` in seconds; they can be replaced
//! or switched off ([`ConnectorSim::set_rate_limits`]). Faults: 403 `MessageWritesBlocked` for a
//! conversation, 413 `MessageSizeTooBig` above a size, the next N requests failing with a
//! status (429s with `Retry-After`), revoked tokens (401) and latency.

use crate::Running;
use crate::login::LoginSim;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// An activity the bot wrote, as the connector keeps it.
#[derive(Debug, Clone)]
pub struct RecordedActivity {
    /// Its activity id (epoch milliseconds).
    pub id: String,
    /// The conversation it lives in; for channel posts the thread (`19:…;messageid=<root>`).
    pub conversation_id: String,
    /// The activity it replies to, when posted with reply-to-activity.
    pub reply_to_id: Option<String>,
    /// The current version.
    pub activity: Value,
    /// Every version, the first as posted, then each update.
    pub versions: Vec<Value>,
    /// Whether the bot deleted it.
    pub deleted: bool,
}

/// A message and the replies to it.
#[derive(Debug, Clone)]
pub struct Thread {
    /// The message.
    pub root: RecordedActivity,
    /// Its replies, oldest first.
    pub replies: Vec<RecordedActivity>,
}

/// One request as received: method, raw (still percent-encoded) path, answer status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path exactly as sent, percent-encoding included.
    pub path: String,
    /// The status answered.
    pub status: u16,
}

/// Sliding-window limits on writes: at most `count` within each `window`.
#[derive(Debug, Clone)]
pub struct RateLimits {
    /// Windows per conversation (a channel and its threads count as one).
    pub per_conversation: Vec<(Duration, usize)>,
    /// Windows per tenant (the serviceUrl's), across conversations.
    pub per_tenant: Vec<(Duration, usize)>,
}

impl RateLimits {
    /// Teams' documented limits for one bot.
    pub fn teams() -> Self {
        let s = Duration::from_secs;
        RateLimits {
            per_conversation: vec![(s(1), 7), (s(2), 8), (s(30), 60), (s(3600), 1800)],
            per_tenant: vec![(s(1), 50)],
        }
    }
}

/// Largest activity accepted, measured as Teams does on the UTF-16 encoding (about 100 KB).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 100 * 1024;

struct Inner {
    login: LoginSim,
    scope: String,
    /// Conversations the bot can write to, with their tenant.
    conversations: HashMap<String, String>,
    personal: HashMap<(String, String), String>,
    members: Vec<Value>,
    activities: Vec<RecordedActivity>,
    last_activity_ms: i64,
    blocked: HashSet<String>,
    max_message_bytes: usize,
    limits: Option<RateLimits>,
    conversation_writes: HashMap<String, VecDeque<Instant>>,
    tenant_writes: HashMap<String, VecDeque<Instant>>,
    fail_next: VecDeque<(u16, Option<u64>)>,
    latency: Duration,
    tokens_seen: HashSet<String>,
    revoked: HashSet<String>,
    requests: Vec<RecordedRequest>,
}

type Shared = Arc<Mutex<Inner>>;

/// A running connector simulator. Cheap to clone; all clones share state.
#[derive(Clone)]
pub struct ConnectorSim {
    inner: Shared,
    server: Arc<Running>,
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({ "error": { "code": code, "message": message } }))).into_response()
}

fn bad_syntax() -> Response {
    error(StatusCode::BAD_REQUEST, "BadSyntax", "Incorrect conversation creation parameters")
}

fn conversation_not_found() -> Response {
    error(StatusCode::NOT_FOUND, "ConversationNotFound", "Conversation not found.")
}

/// The body Teams sends when the bot was blocked or removed (fixture
/// `proactive-403-messagewritesblocked.response.json`).
fn writes_blocked() -> Response {
    let body = json!({
        "errorCode": 209,
        "message": "{\r\n  \"subCode\": \"MessageWritesBlocked\",\r\n  \"details\": \"Thread is blocked from message writes.\",\r\n  \"errorCode\": null,\r\n  \"errorSubCode\": null\r\n}",
    });
    (StatusCode::FORBIDDEN, Json(body)).into_response()
}

fn throttled(retry_after_secs: u64) -> Response {
    let mut response =
        error(StatusCode::TOO_MANY_REQUESTS, "Throttled", "The request was throttled, retry after some time.");
    response.headers_mut().insert(header::RETRY_AFTER, retry_after_secs.into());
    response
}

/// The channel, group or personal conversation a thread id belongs to.
fn base(conversation: &str) -> &str {
    conversation.split_once(";messageid=").map_or(conversation, |(b, _)| b)
}

fn is_channel(conversation: &str) -> bool {
    conversation.starts_with("19:")
        && (conversation.ends_with("@thread.tacv2") || conversation.ends_with("@thread.skype"))
}

fn utf16_bytes(activity: &Value) -> usize {
    activity.to_string().encode_utf16().count() * 2
}

impl Inner {
    fn next_activity_id(&mut self) -> String {
        let now = chrono::Utc::now().timestamp_millis();
        self.last_activity_ms = now.max(self.last_activity_ms + 1);
        self.last_activity_ms.to_string()
    }

    fn known(&self, conversation: &str) -> bool {
        if self.conversations.contains_key(conversation) {
            return true;
        }
        // A thread exists once its root message does.
        conversation.split_once(";messageid=").is_some_and(|(channel, root)| {
            self.conversations.contains_key(channel) && self.activities.iter().any(|a| a.id == root)
        })
    }

    /// The answer refusing a write, if any check fails (in Teams' order of concern).
    fn refuse_write(&mut self, conversation: &str, tenant: &str, activity: Option<&Value>) -> Option<Response> {
        if self.blocked.contains(base(conversation)) {
            return Some(writes_blocked());
        }
        if activity.is_some_and(|a| utf16_bytes(a) > self.max_message_bytes) {
            return Some(error(StatusCode::PAYLOAD_TOO_LARGE, "MessageSizeTooBig", "Message size too big."));
        }
        let wait = self.rate_limited(base(conversation), tenant)?;
        Some(throttled(wait.as_secs_f64().ceil().max(1.0) as u64))
    }

    /// How long until the write would fit every window; records it when it fits now.
    fn rate_limited(&mut self, conversation: &str, tenant: &str) -> Option<Duration> {
        let limits = self.limits.clone()?;
        let now = Instant::now();
        let wait = |log: Option<&VecDeque<Instant>>, windows: &[(Duration, usize)]| {
            let log = log?;
            windows
                .iter()
                .filter_map(|&(window, max)| {
                    let inside: Vec<&Instant> = log.iter().filter(|t| now.duration_since(**t) < window).collect();
                    // The write fits once enough of the oldest writes in the window have aged out.
                    (inside.len() >= max)
                        .then(|| window.saturating_sub(now.duration_since(*inside[inside.len() - max])))
                })
                .max()
        };
        let longest = wait(self.conversation_writes.get(conversation), &limits.per_conversation)
            .into_iter()
            .chain(wait(self.tenant_writes.get(tenant), &limits.per_tenant))
            .max();
        if longest.is_some() {
            return longest;
        }
        let keep = limits.per_conversation.iter().chain(&limits.per_tenant).map(|l| l.0).max().unwrap_or_default();
        for log in [
            self.conversation_writes.entry(conversation.to_owned()).or_default(),
            self.tenant_writes.entry(tenant.to_owned()).or_default(),
        ] {
            log.push_back(now);
            while log.front().is_some_and(|t| now.duration_since(*t) >= keep) {
                log.pop_front();
            }
        }
        None
    }

    fn record(&mut self, conversation: String, reply_to_id: Option<String>, activity: Value) -> String {
        let id = self.next_activity_id();
        let conversation =
            if is_channel(&conversation) { format!("{conversation};messageid={id}") } else { conversation };
        let mut activity = activity;
        activity["id"] = json!(id);
        self.activities.push(RecordedActivity {
            id: id.clone(),
            conversation_id: conversation,
            reply_to_id,
            versions: vec![activity.clone()],
            activity,
            deleted: false,
        });
        id
    }

    fn find_mut(&mut self, conversation: &str, id: &str) -> Option<&mut RecordedActivity> {
        self.activities.iter_mut().find(|a| a.id == id && !a.deleted && base(&a.conversation_id) == base(conversation))
    }
}

/// Records the request, adds latency, checks the token and applies injected failures.
async fn gate(State(shared): State<Shared>, request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::to_owned);
    let (latency, login, scope) = {
        let inner = shared.lock().unwrap();
        (inner.latency, inner.login.clone(), inner.scope.clone())
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let early = {
        let mut inner = shared.lock().unwrap();
        let authorized = token.as_ref().is_some_and(|t| !inner.revoked.contains(t) && login.check(t, &scope).is_some());
        if !authorized {
            let body = json!({ "message": "Authorization has been denied for this request." });
            Some((StatusCode::UNAUTHORIZED, Json(body)).into_response())
        } else {
            inner.tokens_seen.extend(token);
            inner.fail_next.pop_front().map(|(status, retry_after)| match retry_after {
                Some(secs) => throttled(secs),
                None => {
                    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
                    error(status, "ServiceError", "Simulated failure.")
                }
            })
        }
    };
    let mut response = match early {
        Some(response) => response,
        None => next.run(request).await,
    };
    let headers = response.headers_mut();
    headers.insert("ms-cv", uuid::Uuid::new_v4().simple().to_string().parse().expect("a header value"));
    let status = response.status().as_u16();
    shared.lock().unwrap().requests.push(RecordedRequest { method, path, status });
    response
}

async fn create(
    State(shared): State<Shared>,
    Path((_region, _tenant)): Path<(String, String)>,
    body: Json<Value>,
) -> Response {
    let params = body.0;
    let Some(tenant) = params["tenantId"].as_str().filter(|t| !t.is_empty()).map(str::to_owned) else {
        return bad_syntax();
    };
    let activity = params.get("activity").filter(|a| a.is_object()).cloned();
    let mut inner = shared.lock().unwrap();
    if params["isGroup"].as_bool().unwrap_or(false) {
        // Only new channel posts can be created as groups; group chats cannot be created at all.
        let Some(channel) = params["channelData"]["channel"]["id"].as_str().filter(|c| is_channel(c)) else {
            return bad_syntax();
        };
        let Some(activity) = activity else { return bad_syntax() };
        if let Some(response) = inner.refuse_write(channel, &tenant, Some(&activity)) {
            return response;
        }
        inner.conversations.insert(channel.to_owned(), tenant);
        let id = inner.record(channel.to_owned(), None, activity);
        return (StatusCode::CREATED, Json(json!({ "id": format!("{channel};messageid={id}"), "activityId": id })))
            .into_response();
    }
    let members = params["members"].as_array().cloned().unwrap_or_default();
    let [member] = members.as_slice() else { return bad_syntax() };
    let Some(member) = member["id"].as_str().filter(|m| m.starts_with("29:")).map(str::to_owned) else {
        return bad_syntax();
    };
    let key = (tenant.clone(), member);
    let conversation = inner
        .personal
        .entry(key)
        .or_insert_with(|| {
            let random: [u8; 72] = rand::random();
            format!("a:1{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random))
        })
        .clone();
    inner.conversations.insert(conversation.clone(), tenant.clone());
    if let Some(activity) = activity {
        if let Some(response) = inner.refuse_write(&conversation, &tenant, Some(&activity)) {
            return response;
        }
        inner.record(conversation.clone(), None, activity);
    }
    (StatusCode::CREATED, Json(json!({ "id": conversation }))).into_response()
}

fn post_activity(
    shared: &Shared,
    tenant: &str,
    conversation: String,
    reply_to: Option<String>,
    activity: Value,
) -> Response {
    let mut inner = shared.lock().unwrap();
    if !inner.known(&conversation) {
        return conversation_not_found();
    }
    if let Some(response) = inner.refuse_write(&conversation, tenant, Some(&activity)) {
        return response;
    }
    // A reply to a channel post lands in that post's thread.
    let conversation = match &reply_to {
        Some(root) if is_channel(&conversation) => format!("{conversation};messageid={root}"),
        _ => conversation,
    };
    let id = inner.record(conversation, reply_to, activity);
    (StatusCode::CREATED, Json(json!({ "id": id }))).into_response()
}

async fn send(
    State(shared): State<Shared>,
    Path((_region, tenant, conversation)): Path<(String, String, String)>,
    body: Json<Value>,
) -> Response {
    post_activity(&shared, &tenant, conversation, None, body.0)
}

async fn reply(
    State(shared): State<Shared>,
    Path((_region, tenant, conversation, activity_id)): Path<(String, String, String, String)>,
    body: Json<Value>,
) -> Response {
    post_activity(&shared, &tenant, conversation, Some(activity_id), body.0)
}

async fn update(
    State(shared): State<Shared>,
    Path((_region, tenant, conversation, activity_id)): Path<(String, String, String, String)>,
    body: Json<Value>,
) -> Response {
    let mut inner = shared.lock().unwrap();
    if !inner.known(&conversation) {
        return conversation_not_found();
    }
    if inner.find_mut(&conversation, &activity_id).is_none() {
        return error(StatusCode::NOT_FOUND, "ActivityNotFound", "Activity not found.");
    }
    if let Some(response) = inner.refuse_write(&conversation, &tenant, Some(&body.0)) {
        return response;
    }
    let Some(record) = inner.find_mut(&conversation, &activity_id) else { return conversation_not_found() };
    let mut activity = body.0;
    activity["id"] = json!(activity_id);
    record.versions.push(activity.clone());
    record.activity = activity;
    Json(json!({ "id": activity_id })).into_response()
}

async fn delete(
    State(shared): State<Shared>,
    Path((_region, tenant, conversation, activity_id)): Path<(String, String, String, String)>,
) -> Response {
    let mut inner = shared.lock().unwrap();
    if !inner.known(&conversation) {
        return conversation_not_found();
    }
    if inner.find_mut(&conversation, &activity_id).is_none() {
        return error(StatusCode::NOT_FOUND, "ActivityNotFound", "Activity not found.");
    }
    if let Some(response) = inner.refuse_write(&conversation, &tenant, None) {
        return response;
    }
    if let Some(record) = inner.find_mut(&conversation, &activity_id) {
        record.deleted = true;
    }
    StatusCode::OK.into_response()
}

async fn member(
    State(shared): State<Shared>,
    Path((_region, _tenant, conversation, user)): Path<(String, String, String, String)>,
) -> Response {
    let inner = shared.lock().unwrap();
    let Some(tenant) = inner.conversations.get(base(&conversation)).filter(|_| inner.known(&conversation)) else {
        return conversation_not_found();
    };
    // Teams accepts the `29:` id or the Entra object id.
    let found = inner.members.iter().find(|m| {
        (m["id"].as_str() == Some(user.as_str()) || m["aadObjectId"].as_str() == Some(user.as_str()))
            && m["tenantId"].as_str().is_none_or(|t| t == tenant)
    });
    match found {
        Some(member) => Json(member.clone()).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "MemberNotFoundInConversation",
            "The member could not be found in the conversation.",
        ),
    }
}

impl ConnectorSim {
    /// Starts a connector that accepts tokens `login` issued for `scope` (the bot's
    /// `BOT_TOKEN_SCOPE`), with Teams' rate limits on.
    pub async fn start(login: LoginSim, scope: &str) -> ConnectorSim {
        let inner: Shared = Arc::new(Mutex::new(Inner {
            login,
            scope: scope.to_owned(),
            conversations: HashMap::new(),
            personal: HashMap::new(),
            members: Vec::new(),
            activities: Vec::new(),
            last_activity_ms: 0,
            blocked: HashSet::new(),
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            limits: Some(RateLimits::teams()),
            conversation_writes: HashMap::new(),
            tenant_writes: HashMap::new(),
            fail_next: VecDeque::new(),
            latency: Duration::ZERO,
            tokens_seen: HashSet::new(),
            revoked: HashSet::new(),
            requests: Vec::new(),
        }));
        let activity = "/{region}/{tenant}/v3/conversations/{conversation}/activities/{activity}";
        let router = Router::new()
            .route("/{region}/{tenant}/v3/conversations", post(create))
            .route("/{region}/{tenant}/v3/conversations/{conversation}/activities", post(send))
            .route(activity, post(reply).put(update).delete(delete))
            .route("/{region}/{tenant}/v3/conversations/{conversation}/members/{member}", get(member))
            .layer(middleware::from_fn_with_state(inner.clone(), gate))
            .with_state(inner.clone());
        let server = Arc::new(Running::serve(router).await);
        ConnectorSim { inner, server }
    }

    /// Base URL of the server (no trailing slash).
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// A Teams-style serviceUrl for `tenant`: `http://127.0.0.1:PORT/amer/{tenant}/`.
    pub fn service_url(&self, tenant: &str) -> String {
        format!("{}/amer/{tenant}/", self.server.url())
    }

    /// Makes a conversation the bot can write to (as after an install): a channel
    /// (`19:…@thread.tacv2`), group chat or personal chat id.
    pub fn add_conversation(&self, conversation: &str, tenant: &str) {
        self.inner.lock().unwrap().conversations.insert(conversation.to_owned(), tenant.to_owned());
    }

    /// Registers a member for `GET …/members/{userId}` (a `TeamsChannelAccount`:
    /// `id`, `name`, `aadObjectId`, `email`, `userPrincipalName`, `tenantId`, …).
    pub fn add_member(&self, member: Value) {
        self.inner.lock().unwrap().members.push(member);
    }

    /// Writes to this conversation (and its threads) answer 403 `MessageWritesBlocked`.
    pub fn block(&self, conversation: &str) {
        self.inner.lock().unwrap().blocked.insert(base(conversation).to_owned());
    }

    /// Undoes [`block`](Self::block).
    pub fn unblock(&self, conversation: &str) {
        self.inner.lock().unwrap().blocked.remove(base(conversation));
    }

    /// Activities larger than this (UTF-16 bytes of their JSON) answer 413.
    pub fn set_max_message_bytes(&self, bytes: usize) {
        self.inner.lock().unwrap().max_message_bytes = bytes;
    }

    /// Replaces the write limits; `None` switches rate limiting off.
    pub fn set_rate_limits(&self, limits: Option<RateLimits>) {
        let mut inner = self.inner.lock().unwrap();
        inner.limits = limits;
        inner.conversation_writes.clear();
        inner.tenant_writes.clear();
    }

    /// The next `count` requests (after the token check) fail with `status`.
    pub fn fail_next(&self, count: usize, status: u16) {
        self.inner.lock().unwrap().fail_next.extend(std::iter::repeat_n((status, None), count));
    }

    /// The next `count` requests answer 429 with `Retry-After: retry_after_secs`.
    pub fn throttle_next(&self, count: usize, retry_after_secs: u64) {
        self.inner.lock().unwrap().fail_next.extend(std::iter::repeat_n((429, Some(retry_after_secs)), count));
    }

    /// Every token presented so far is refused from now on (401), as after a key rollover.
    pub fn revoke_tokens(&self) {
        let mut inner = self.inner.lock().unwrap();
        let seen = std::mem::take(&mut inner.tokens_seen);
        inner.revoked.extend(seen);
    }

    /// Delays every answer by `latency`.
    pub fn set_latency(&self, latency: Duration) {
        self.inner.lock().unwrap().latency = latency;
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.inner.lock().unwrap().requests.clone()
    }

    /// Activities in a conversation, oldest first, deleted ones included. A channel id gives
    /// every post and reply in the channel; a thread id (`…;messageid=<root>`) that thread.
    pub fn activities_in(&self, conversation: &str) -> Vec<RecordedActivity> {
        let inner = self.inner.lock().unwrap();
        let in_it = |a: &&RecordedActivity| {
            if conversation.contains(";messageid=") {
                a.conversation_id == conversation
            } else {
                base(&a.conversation_id) == conversation
            }
        };
        inner.activities.iter().filter(in_it).cloned().collect()
    }

    /// One activity by id.
    pub fn activity(&self, id: &str) -> Option<RecordedActivity> {
        self.inner.lock().unwrap().activities.iter().find(|a| a.id == id).cloned()
    }

    /// The message `activity_id` in `conversation` (a channel, thread or chat id) and the
    /// replies to it: those in its thread and those posted with reply-to-activity.
    pub fn thread(&self, conversation: &str, activity_id: &str) -> Option<Thread> {
        let inner = self.inner.lock().unwrap();
        let channel = base(conversation);
        let root = inner.activities.iter().find(|a| a.id == activity_id && base(&a.conversation_id) == channel)?;
        let thread_id = format!("{channel};messageid={activity_id}");
        let replies = inner
            .activities
            .iter()
            .filter(|a| a.id != activity_id)
            .filter(|a| a.conversation_id == thread_id || a.reply_to_id.as_deref() == Some(activity_id))
            .cloned()
            .collect();
        Some(Thread { root: root.clone(), replies })
    }
}
