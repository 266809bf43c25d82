//! Microsoft Graph (`graph.microsoft.com`), the slice the app uses with application
//! permissions, under `/v1.0/...` and in Graph's formats (shapes from
//! `../shared/fixtures/graph/`, rules from `../shared/reference/graph.md`).
//!
//! **Auth and tenants.** Every request needs a live token from the [`LoginSim`] for
//! [`GraphSim::scope`] (`{url}/.default` unless [`GraphSim::set_scope`] says otherwise); the
//! token's tenant selects that tenant's data and nothing else, so tenants are isolated as in
//! Graph. A missing or foreign token gets 401 `InvalidAuthenticationToken`.
//!
//! **Routes.**
//! - `GET /groups` (all, or `$filter=resourceProvisioningOptions/Any(x:x eq 'Team')`),
//!   `GET /groups/{id}/members`, `POST /groups/{id}/members/$ref` (204; a second add is 400
//!   "added object references already exist").
//! - `GET /teams/{id}`; `GET|POST /teams/{id}/channels`; `GET /teams/{id}/channels/{id}`;
//!   `GET|POST /teams/{id}/channels/{id}/members`. Creating a channel applies Teams' name
//!   rules (≤ 50 characters, the forbidden characters, words, start and end) and answers a name
//!   already used in the team, deleted channels included and ignoring case, with 400
//!   `BadRequest` "Channel name already existed, please use other name" (or
//!   `NameAlreadyExists`, see [`GraphSim::set_duplicate_name_code`]). A private channel needs
//!   members, each with `@odata.type`. Standard channels list the team's members; members can
//!   be added to private channels only.
//! - `POST /chats`: `oneOnOne` (exactly two members, no topic, unique per pair: a second create
//!   returns the first chat) or `group`.
//! - `GET /users` (`$top`, `$select`), `GET /users/{id|upn}`, `GET /users/delta` (see below).
//! - `GET|POST /users/{id}/events`, `GET|PATCH /users/{id}/events/{id}`,
//!   `POST /users/{id}/events/{id}/cancel` (202). A create repeating a `transactionId` in the
//!   same mailbox returns the first event, as Graph does; `teamsForBusiness` events get a
//!   `joinUrl`.
//! - `POST /users/{id}/calendar/getSchedule`: busy slots from the events (organized or
//!   attended, not cancelled). Times are compared as written: no time-zone conversion.
//! - `POST /$batch`: ≤ 20 requests with unique ids (else 400); each runs through these same
//!   routes, faults included, and the responses come back in reverse order, so clients must
//!   match them by id.
//!
//! **Paging.** Lists return at most [`GraphSim::set_page_size`] items (default 100, or `$top`)
//! and an `@odata.nextLink`. Delta: the first round lists every user (removed ones as
//! `{"id","@removed":{"reason"}}`), later rounds from a deltaLink list what changed since; pages
//! end with `@odata.deltaLink`. [`GraphSim::expire_delta_tokens`] turns the issued delta tokens
//! stale, answered as chosen by [`DeltaExpiry`].
//!
//! **Faults and log.** [`GraphSim::inject`] makes the next matching requests fail (429 with any
//! `Retry-After`, fractional included; 503; 504; 403 missing permission; 401; latency; any
//! status); [`GraphSim::inject_after`] lets the request run first (e.g. a create that succeeds
//! but times out). Patterns are paths with `*` for one segment, e.g. `/v1.0/teams/*/channels`.
//! [`GraphSim::requests`] is the log of every request (never the token).

#![allow(clippy::result_large_err, reason = "handlers stop early with the Graph error response itself")]

use crate::Running;
use crate::login::LoginSim;
use axum::body::{Body, Bytes};
use axum::extract::{Extension, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use chrono::{NaiveDateTime, SecondsFormat, Utc};
use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;
use tower::ServiceExt;

const TEAM_FILTER: &str = "resourceprovisioningoptions/any(x:xeq'team')";
const DUPLICATE_NAME: &str = "Channel name already existed, please use other name";
const FORBIDDEN_NAME_CHARS: &str = "~#%&*{}+/\\:<>?|'\",";
const RESERVED_NAMES: &[&str] = &[
    "forms",
    "con",
    "conin$",
    "conout$",
    "prn",
    "aux",
    "nul",
    "com1",
    "com2",
    "com3",
    "com4",
    "com5",
    "com6",
    "com7",
    "com8",
    "com9",
    "lpt1",
    "lpt2",
    "lpt3",
    "lpt4",
    "lpt5",
    "lpt6",
    "lpt7",
    "lpt8",
    "lpt9",
    "desktop.ini",
];
/// What a link's query value must encode.
const LINK_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
/// What must be encoded for a `$batch` item's URL to be a valid request target.
const BATCH_URL: &AsciiSet =
    &CONTROLS.add(b' ').add(b'"').add(b'<').add(b'>').add(b'`').add(b'{').add(b'}').add(b'|').add(b'\\').add(b'^');

/// A failure to answer with instead of running the request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// 429 `TooManyRequests`, with this `Retry-After` value if any (e.g. `"2.128"`).
    Throttle(Option<String>),
    /// 503 `serviceNotAvailable`, with this `Retry-After` value if any.
    Unavailable(Option<String>),
    /// 504 `GatewayTimeout`.
    GatewayTimeout,
    /// 403 `Authorization_RequestDenied`, as for an app without the permission.
    MissingPermission,
    /// 401 `InvalidAuthenticationToken`, as for a revoked token.
    Unauthorized,
    /// Answers (normally) this much later.
    Latency(Duration),
    /// Any status with a Graph error body of this code and message.
    Status(u16, String, String),
}

/// How a stale delta token is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeltaExpiry {
    /// 400 with code `syncStateNotFound`.
    SyncStateNotFound,
    /// 400 with code `resyncRequired`.
    ResyncRequired,
    /// 410 Gone, with a `Location` holding an empty `$deltatoken`.
    Gone,
}

/// One request the simulator received.
#[derive(Debug, Clone)]
pub struct LoggedRequest {
    pub method: String,
    /// Percent-decoded, e.g. `/v1.0/teams/t/channels/19:a@thread.tacv2`.
    pub path: String,
    /// Percent-decoded query, without `?`.
    pub query: String,
    /// Lower-case names; never `authorization`.
    pub headers: BTreeMap<String, String>,
    pub body: Option<Value>,
    /// The tenant of a valid token.
    pub tenant: Option<String>,
    /// Sent as an item of a `$batch`.
    pub in_batch: bool,
}

struct Rule {
    method: String,
    pattern: String,
    fault: Fault,
    remaining: usize,
    after: bool,
}

struct UserRec {
    id: String,
    display_name: String,
    upn: String,
    /// `mail`; `None` for accounts without a mailbox.
    mail: Option<String>,
    other_mails: Vec<String>,
    account_enabled: bool,
    removed: Option<&'static str>,
    changed: u64,
}

struct MemberRec {
    user_id: String,
    roles: Vec<String>,
}

struct ChannelRec {
    id: String,
    display_name: String,
    description: Option<String>,
    membership_type: String,
    members: Vec<MemberRec>,
    created: String,
    deleted: bool,
}

struct GroupRec {
    id: String,
    display_name: String,
    description: String,
    team: bool,
    members: Vec<String>,
    channels: Vec<ChannelRec>,
}

struct EventRec {
    mailbox: String,
    event: Value,
}

#[derive(Default)]
struct Tenant {
    /// Bumped by every user change; delta tokens remember it.
    seq: u64,
    users: Vec<UserRec>,
    groups: Vec<GroupRec>,
    chats: Vec<(Value, Vec<String>)>,
    events: Vec<EventRec>,
    /// `$deltatoken` → (changes after this seq, answer once stale).
    delta_tokens: HashMap<String, (u64, Option<DeltaExpiry>)>,
    /// Delta `$skiptoken` → (the rest of the round, the seq it ends at).
    delta_rounds: HashMap<String, (Vec<Value>, u64)>,
}

#[derive(Default)]
struct World {
    tenants: HashMap<String, Tenant>,
    rules: Vec<Rule>,
    log: Vec<LoggedRequest>,
    page_size: Option<usize>,
    scope: String,
    duplicate_code: Option<String>,
    counter: u64,
}

impl World {
    fn tenant(&mut self, tenant: &str) -> &mut Tenant {
        self.tenants.entry(tenant.to_owned()).or_default()
    }

    fn next_token(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}{}x{}", self.counter, uuid::Uuid::new_v4().simple())
    }
}

struct Shared {
    world: Mutex<World>,
    login: LoginSim,
    base: OnceLock<String>,
}

impl Shared {
    fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn base(&self) -> &str {
        self.base.get().map(String::as_str).unwrap_or_default()
    }
}

type S = State<Arc<Shared>>;

/// The caller, as established from its token.
#[derive(Clone)]
struct Caller {
    tenant: String,
}

type C = Extension<Caller>;

/// Marks a request made by `$batch`.
#[derive(Clone)]
struct InBatch;

/// A running Graph simulator. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct GraphSim {
    shared: Arc<Shared>,
    server: Arc<Running>,
}

impl GraphSim {
    /// Starts a simulator accepting tokens issued by `login`.
    pub async fn start(login: &LoginSim) -> GraphSim {
        let shared =
            Arc::new(Shared { world: Mutex::new(World::default()), login: login.clone(), base: OnceLock::new() });
        let server = Arc::new(Running::serve(routes(shared.clone())).await);
        let _ = shared.base.set(server.url());
        shared.world().scope = format!("{}/.default", server.url());
        GraphSim { shared, server }
    }

    /// Base URL, to use as `GRAPH_URL`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The scope tokens must have been issued for.
    pub fn scope(&self) -> String {
        self.shared.world().scope.clone()
    }

    pub fn set_scope(&self, scope: &str) {
        self.shared.world().scope = scope.to_owned();
    }

    /// Largest page of any list from now on.
    pub fn set_page_size(&self, size: usize) {
        self.shared.world().page_size = Some(size.max(1));
    }

    /// The code of the duplicate-channel-name 400: `BadRequest` (newer replies, the default) or
    /// `NameAlreadyExists` (older ones).
    pub fn set_duplicate_name_code(&self, code: &str) {
        self.shared.world().duplicate_code = Some(code.to_owned());
    }

    /// The next `times` requests matching `method` (`*` for any) and `pattern` get `fault`.
    pub fn inject(&self, method: &str, pattern: &str, fault: Fault, times: usize) {
        self.add_rule(method, pattern, fault, times, false);
    }

    /// Like [`GraphSim::inject`], but the request runs first and its answer is replaced (or, for
    /// latency, delayed): the change happened, the client cannot tell.
    pub fn inject_after(&self, method: &str, pattern: &str, fault: Fault, times: usize) {
        self.add_rule(method, pattern, fault, times, true);
    }

    fn add_rule(&self, method: &str, pattern: &str, fault: Fault, times: usize, after: bool) {
        let rule = Rule { method: method.to_uppercase(), pattern: pattern.to_owned(), fault, remaining: times, after };
        self.shared.world().rules.push(rule);
    }

    pub fn clear_faults(&self) {
        self.shared.world().rules.clear();
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared.world().log.clone()
    }

    /// How many logged requests match `method` (`*` for any) and `pattern`.
    pub fn count(&self, method: &str, pattern: &str) -> usize {
        self.shared
            .world()
            .log
            .iter()
            .filter(|r| method_matches(method, &r.method) && path_matches(pattern, &r.path))
            .count()
    }

    pub fn clear_requests(&self) {
        self.shared.world().log.clear();
    }

    /// Adds a user; returns its id.
    pub fn add_user(&self, tenant: &str, display_name: &str, upn: &str) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        let mut world = self.shared.world();
        let t = world.tenant(tenant);
        t.seq += 1;
        t.users.push(UserRec {
            id: id.clone(),
            display_name: display_name.to_owned(),
            upn: upn.to_owned(),
            mail: Some(upn.to_owned()),
            other_mails: Vec::new(),
            account_enabled: true,
            removed: None,
            changed: t.seq,
        });
        id
    }

    /// Renames a user (a change the next delta round reports).
    pub fn rename_user(&self, tenant: &str, user_id: &str, display_name: &str) {
        self.change_user(tenant, user_id, |u| u.display_name = display_name.to_owned());
    }

    /// Deletes a user: soft (`@removed` reason `changed`, restorable) or for good (`deleted`).
    pub fn remove_user(&self, tenant: &str, user_id: &str, permanently: bool) {
        self.change_user(tenant, user_id, |u| u.removed = Some(if permanently { "deleted" } else { "changed" }));
    }

    /// Sets `mail` (`None`: no mailbox) and `otherMails`.
    pub fn set_user_mail(&self, tenant: &str, user_id: &str, mail: Option<&str>, other_mails: &[&str]) {
        self.change_user(tenant, user_id, |u| {
            u.mail = mail.map(str::to_owned);
            u.other_mails = other_mails.iter().map(|m| (*m).to_owned()).collect();
        });
    }

    /// Blocks or unblocks sign-in (`accountEnabled`).
    pub fn set_account_enabled(&self, tenant: &str, user_id: &str, enabled: bool) {
        self.change_user(tenant, user_id, |u| u.account_enabled = enabled);
    }

    pub fn restore_user(&self, tenant: &str, user_id: &str) {
        self.change_user(tenant, user_id, |u| u.removed = None);
    }

    fn change_user(&self, tenant: &str, user_id: &str, change: impl FnOnce(&mut UserRec)) {
        let mut world = self.shared.world();
        let t = world.tenant(tenant);
        t.seq += 1;
        let seq = t.seq;
        if let Some(u) = t.users.iter_mut().find(|u| u.id == user_id) {
            change(u);
            u.changed = seq;
        }
    }

    /// Makes every delta token issued so far stale (as after 7 days).
    pub fn expire_delta_tokens(&self, tenant: &str, how: DeltaExpiry) {
        for token in self.shared.world().tenant(tenant).delta_tokens.values_mut() {
            token.1 = Some(how);
        }
    }

    /// Adds a group with a team and its General channel; returns the id (group id = team id).
    pub fn add_team(&self, tenant: &str, display_name: &str) -> String {
        let id = self.add_group(tenant, display_name);
        let mut world = self.shared.world();
        if let Some(g) = world.tenant(tenant).groups.iter_mut().find(|g| g.id == id) {
            g.team = true;
            g.channels.push(new_channel("General", None, "standard", Vec::new()));
        }
        id
    }

    /// Adds a group without a team; returns its id.
    pub fn add_group(&self, tenant: &str, display_name: &str) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        self.shared.world().tenant(tenant).groups.push(GroupRec {
            id: id.clone(),
            display_name: display_name.to_owned(),
            description: format!("Welcome to {display_name}."),
            team: false,
            members: Vec::new(),
            channels: Vec::new(),
        });
        id
    }

    pub fn add_group_member(&self, tenant: &str, group_id: &str, user_id: &str) {
        let mut world = self.shared.world();
        if let Some(g) = world.tenant(tenant).groups.iter_mut().find(|g| g.id == group_id)
            && !g.members.iter().any(|m| m == user_id)
        {
            g.members.push(user_id.to_owned());
        }
    }

    /// Adds a channel (private ones with `owners`); returns its id.
    pub fn add_channel(&self, tenant: &str, team_id: &str, name: &str, private: bool, owners: &[&str]) -> String {
        let members =
            owners.iter().map(|u| MemberRec { user_id: (*u).to_owned(), roles: vec!["owner".into()] }).collect();
        let channel = new_channel(name, None, if private { "private" } else { "standard" }, members);
        let id = channel.id.clone();
        let mut world = self.shared.world();
        if let Some(g) = world.tenant(tenant).groups.iter_mut().find(|g| g.id == team_id) {
            g.channels.push(channel);
        }
        id
    }

    /// Deletes a channel; its name stays taken (for 30 days in Teams).
    pub fn delete_channel(&self, tenant: &str, team_id: &str, channel_id: &str) {
        let mut world = self.shared.world();
        if let Some(g) = world.tenant(tenant).groups.iter_mut().find(|g| g.id == team_id) {
            g.channels.iter_mut().filter(|c| c.id == channel_id).for_each(|c| c.deleted = true);
        }
    }

    /// Names of the team's live channels, in creation order.
    pub fn channel_names(&self, tenant: &str, team_id: &str) -> Vec<String> {
        let mut world = self.shared.world();
        let t = world.tenant(tenant);
        let group = t.groups.iter().find(|g| g.id == team_id);
        group
            .map(|g| g.channels.iter().filter(|c| !c.deleted).map(|c| c.display_name.clone()).collect())
            .unwrap_or_default()
    }

    pub fn group_member_ids(&self, tenant: &str, group_id: &str) -> Vec<String> {
        let mut world = self.shared.world();
        world.tenant(tenant).groups.iter().find(|g| g.id == group_id).map(|g| g.members.clone()).unwrap_or_default()
    }

    /// User ids of a private channel's own members.
    pub fn channel_member_ids(&self, tenant: &str, team_id: &str, channel_id: &str) -> Vec<String> {
        let mut world = self.shared.world();
        let t = world.tenant(tenant);
        let channel =
            t.groups.iter().find(|g| g.id == team_id).and_then(|g| g.channels.iter().find(|c| c.id == channel_id));
        channel.map(|c| c.members.iter().map(|m| m.user_id.clone()).collect()).unwrap_or_default()
    }

    /// Events in a user's mailbox, as Graph would return them.
    pub fn events(&self, tenant: &str, user_id: &str) -> Vec<Value> {
        let mut world = self.shared.world();
        world.tenant(tenant).events.iter().filter(|e| e.mailbox == user_id).map(|e| e.event.clone()).collect()
    }

    /// Adds a busy event to a user's mailbox (`start`/`end` like `2019-03-15T09:00:00`); returns its id.
    pub fn add_event(&self, tenant: &str, user_id: &str, subject: &str, start: &str, end: &str) -> String {
        let mut world = self.shared.world();
        let t = world.tenant(tenant);
        let Some(owner) = t.users.iter().find(|u| u.id == user_id) else { return String::new() };
        let body = json!({
            "subject": subject,
            "start": {"dateTime": start, "timeZone": "UTC"},
            "end": {"dateTime": end, "timeZone": "UTC"},
        });
        let event = event_json(&body, owner, None);
        let id = event["id"].as_str().unwrap_or_default().to_owned();
        t.events.push(EventRec { mailbox: user_id.to_owned(), event });
        id
    }

    /// Chats created so far, each with `members` (user ids) added.
    pub fn chats(&self, tenant: &str) -> Vec<Value> {
        let mut world = self.shared.world();
        world
            .tenant(tenant)
            .chats
            .iter()
            .map(|(chat, members)| {
                let mut chat = chat.clone();
                chat["members"] = json!(members);
                chat
            })
            .collect()
    }
}

fn routes(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1.0/$batch", post(batch))
        .route("/v1.0/users", get(list_users))
        .route("/v1.0/users/delta", get(users_delta))
        .route("/v1.0/users/{user}", get(get_user))
        .route("/v1.0/users/{user}/events", get(list_events).post(create_event))
        .route("/v1.0/users/{user}/events/{event}", get(get_event).patch(update_event))
        .route("/v1.0/users/{user}/events/{event}/cancel", post(cancel_event))
        .route("/v1.0/users/{user}/calendar/getSchedule", post(get_schedule))
        .route("/v1.0/groups", get(list_groups))
        .route("/v1.0/groups/{group}/members", get(list_group_members))
        .route("/v1.0/groups/{group}/members/$ref", post(add_group_member))
        .route("/v1.0/teams/{team}", get(get_team))
        .route("/v1.0/teams/{team}/channels", get(list_channels).post(create_channel))
        .route("/v1.0/teams/{team}/channels/{channel}", get(get_channel))
        .route("/v1.0/teams/{team}/channels/{channel}/members", get(list_channel_members).post(add_channel_member))
        .route("/v1.0/chats", post(create_chat))
        .fallback(unknown_segment)
        .layer(middleware::from_fn_with_state(shared.clone(), gate))
        .with_state(shared)
}

// ---- the gate: log, token, faults ----

async fn gate(State(shared): S, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 16 << 20).await.unwrap_or_default();
    let method = parts.method.as_str().to_owned();
    let path = decode(parts.uri.path());
    let auth = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let scope = shared.world().scope.clone();
    let tenant = shared.login.check_header(auth, &scope).map(|info| info.tenant);
    let (fault, after) = {
        let mut world = shared.world();
        world.log.push(LoggedRequest {
            method: method.clone(),
            path: path.clone(),
            query: parts.uri.query().map(decode).unwrap_or_default(),
            headers: parts
                .headers
                .iter()
                .filter(|(name, _)| *name != header::AUTHORIZATION)
                .map(|(name, value)| (name.as_str().to_owned(), value.to_str().unwrap_or_default().to_owned()))
                .collect(),
            body: serde_json::from_slice(&bytes).ok(),
            tenant: tenant.clone(),
            in_batch: parts.extensions.get::<InBatch>().is_some(),
        });
        let rule = if tenant.is_some() {
            world
                .rules
                .iter_mut()
                .find(|r| r.remaining > 0 && method_matches(&r.method, &method) && path_matches(&r.pattern, &path))
        } else {
            None
        };
        match rule {
            Some(rule) => {
                rule.remaining -= 1;
                (Some(rule.fault.clone()), rule.after)
            }
            None => (None, false),
        }
    };
    let Some(tenant) = tenant else {
        return graph_error(401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.");
    };
    if let (Some(fault), false) = (&fault, after) {
        match fault {
            Fault::Latency(delay) => tokio::time::sleep(*delay).await,
            fault => return fault_response(fault),
        }
    }
    parts.extensions.insert(Caller { tenant });
    let mut response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    if let (Some(fault), true) = (&fault, after) {
        match fault {
            Fault::Latency(delay) => tokio::time::sleep(*delay).await,
            fault => response = fault_response(fault),
        }
    }
    if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        response.headers_mut().insert("request-id", id);
    }
    response
}

fn fault_response(fault: &Fault) -> Response {
    let with_retry_after = |mut response: Response, retry_after: &Option<String>| {
        if let Some(value) = retry_after.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    };
    match fault {
        Fault::Throttle(retry_after) => with_retry_after(
            error_with_inner(
                429,
                "TooManyRequests",
                "Please retry again later.",
                json!({"code": "429", "status": "429"}),
            ),
            retry_after,
        ),
        Fault::Unavailable(retry_after) => with_retry_after(
            graph_error(503, "serviceNotAvailable", "The service is temporarily unavailable."),
            retry_after,
        ),
        Fault::GatewayTimeout => graph_error(504, "GatewayTimeout", "The gateway timed out."),
        Fault::MissingPermission => {
            graph_error(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
        }
        Fault::Unauthorized => {
            graph_error(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
        }
        Fault::Status(status, code, message) => graph_error(*status, code, message),
        Fault::Latency(_) => StatusCode::OK.into_response(),
    }
}

fn method_matches(pattern: &str, method: &str) -> bool {
    pattern == "*" || pattern.eq_ignore_ascii_case(method)
}

/// `*` stands for exactly one segment.
fn path_matches(pattern: &str, path: &str) -> bool {
    let (p, s): (Vec<_>, Vec<_>) = (pattern.split('/').collect(), path.split('/').collect());
    p.len() == s.len() && p.iter().zip(&s).all(|(p, s)| *p == "*" || p == s)
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

// ---- Graph's formats ----

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn graph_error(status: u16, code: &str, message: &str) -> Response {
    error_with_inner(status, code, message, json!({}))
}

fn error_with_inner(status: u16, code: &str, message: &str, mut inner: Value) -> Response {
    inner["date"] = json!(Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string());
    inner["request-id"] = json!(uuid::Uuid::new_v4().to_string());
    inner["client-request-id"] = json!(uuid::Uuid::new_v4().to_string());
    let body = json!({"error": {"code": code, "message": message, "innerError": inner}});
    (StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), Json(body)).into_response()
}

fn created(body: Value) -> Response {
    (StatusCode::CREATED, Json(body)).into_response()
}

fn not_found(what: &str) -> Response {
    graph_error(404, "NotFound", &format!("{what} not found"))
}

fn user_not_found(id: &str) -> Response {
    graph_error(
        404,
        "Request_ResourceNotFound",
        &format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
    )
}

fn parse_body(bytes: &Bytes) -> Result<Value, Response> {
    serde_json::from_slice(bytes).map_err(|_| graph_error(400, "BadRequest", "Unable to read JSON request payload."))
}

fn query(raw: &Option<String>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.as_deref().unwrap_or_default().as_bytes()).into_owned().collect()
}

/// A query option, its name compared without case (`$deltaToken` = `$deltatoken`).
fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// Keeps only the `$select`ed properties (and `id`).
fn project(mut item: Value, select: Option<&str>) -> Value {
    let Some(select) = select.filter(|s| !s.is_empty()) else { return item };
    let keep: Vec<String> = select.split(',').map(|s| s.trim().to_lowercase()).collect();
    if let Value::Object(map) = &mut item {
        map.retain(|k, _| k == "id" || k.starts_with('@') || keep.contains(&k.to_lowercase()));
    }
    item
}

/// One page of `items` from `$skiptoken` (an offset here), with a nextLink repeating the query.
fn paged(shared: &Shared, path: &str, query: &[(String, String)], items: Vec<Value>) -> Response {
    let top = param(query, "$top").and_then(|t| t.parse::<usize>().ok()).unwrap_or(100).clamp(1, 999);
    let size = shared.world().page_size.map_or(top, |p| p.min(top));
    let offset = param(query, "$skiptoken").and_then(|t| t.parse::<usize>().ok()).unwrap_or(0);
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(offset).take(size).collect();
    let context = format!("{}/v1.0/$metadata#{}", shared.base(), path.trim_start_matches("/v1.0/"));
    let mut body = json!({"@odata.context": context, "value": page});
    if offset + size < total {
        let mut link = format!("{}{path}?", shared.base());
        for (k, v) in query.iter().filter(|(k, _)| !k.eq_ignore_ascii_case("$skiptoken")) {
            link.push_str(&format!("{k}={}&", utf8_percent_encode(v, LINK_VALUE)));
        }
        link.push_str(&format!("$skiptoken={}", offset + size));
        body["@odata.nextLink"] = json!(link);
    }
    Json(body).into_response()
}

fn user_json(u: &UserRec) -> Value {
    let mut names = u.display_name.splitn(2, ' ');
    json!({
        "businessPhones": [],
        "displayName": u.display_name,
        "givenName": names.next(),
        "surname": names.next(),
        "jobTitle": null,
        "mail": u.mail,
        "mobilePhone": null,
        "officeLocation": null,
        "preferredLanguage": null,
        "userPrincipalName": u.upn,
        "accountEnabled": u.account_enabled,
        "otherMails": u.other_mails,
        "id": u.id,
    })
}

fn find_user<'a>(t: &'a Tenant, id_or_upn: &str) -> Option<&'a UserRec> {
    t.users.iter().find(|u| u.removed.is_none() && (u.id == id_or_upn || u.upn.eq_ignore_ascii_case(id_or_upn)))
}

/// The user of a `user@odata.bind` (`…/users('{id|upn}')`) or `@odata.id` (`…/directoryObjects/{id}`).
fn bound_user<'a>(t: &'a Tenant, bind: &str) -> Option<&'a UserRec> {
    let key = match bind.rfind("users('") {
        Some(i) => bind[i + 7..].trim_end_matches("')").replace("''", "'"),
        None => decode(bind.rsplit('/').next().unwrap_or_default()),
    };
    find_user(t, &key)
}

// ---- users and delta ----

async fn list_users(State(s): S, Extension(c): C, RawQuery(raw): RawQuery) -> Response {
    let q = query(&raw);
    let items: Vec<Value> = {
        let mut world = s.world();
        let t = world.tenant(&c.tenant);
        t.users.iter().filter(|u| u.removed.is_none()).map(|u| project(user_json(u), param(&q, "$select"))).collect()
    };
    paged(&s, "/v1.0/users", &q, items)
}

async fn get_user(State(s): S, Extension(c): C, Path(user): Path<String>, RawQuery(raw): RawQuery) -> Response {
    let q = query(&raw);
    let mut world = s.world();
    match find_user(world.tenant(&c.tenant), &user) {
        Some(u) => Json(project(user_json(u), param(&q, "$select"))).into_response(),
        None => user_not_found(&user),
    }
}

async fn users_delta(State(s): S, Extension(c): C, RawQuery(raw): RawQuery) -> Response {
    let q = query(&raw);
    let base = s.base().to_owned();
    let mut world = s.world();
    let page_size = world.page_size.unwrap_or(100);
    let delta_token = param(&q, "$deltatoken").map(str::to_owned);
    let skip_token = param(&q, "$skiptoken").map(str::to_owned);
    let select = param(&q, "$select").map(str::to_owned);
    let t = world.tenant(&c.tenant);
    let (items, upto) = if let Some(skip) = skip_token {
        match t.delta_rounds.remove(&skip) {
            Some(round) => round,
            None => return graph_error(400, "syncStateNotFound", "The skip token is not valid."),
        }
    } else {
        let since = match delta_token.as_deref() {
            None => None,
            Some(token) if token.eq_ignore_ascii_case("latest") => Some(t.seq),
            Some(token) => match t.delta_tokens.get(token) {
                Some((_, Some(how))) => return stale_delta(*how, &base),
                Some((since, None)) => Some(*since),
                None => return graph_error(400, "syncStateNotFound", "The delta token is not valid."),
            },
        };
        let items = t
            .users
            .iter()
            .filter(|u| since.is_none_or(|since| u.changed > since))
            .map(|u| match u.removed {
                Some(reason) => json!({"id": u.id, "@removed": {"reason": reason}}),
                None => project(user_json(u), select.as_deref()),
            })
            .collect();
        (items, t.seq)
    };
    let mut items = items;
    let rest = items.split_off(items.len().min(page_size));
    let mut body = json!({"@odata.context": format!("{base}/v1.0/$metadata#users"), "value": items});
    let key = world.next_token(if rest.is_empty() { "d" } else { "s" });
    let t = world.tenant(&c.tenant);
    if rest.is_empty() {
        t.delta_tokens.insert(key.clone(), (upto, None));
        body["@odata.deltaLink"] = json!(format!("{base}/v1.0/users/delta?$deltatoken={key}"));
    } else {
        t.delta_rounds.insert(key.clone(), (rest, upto));
        body["@odata.nextLink"] = json!(format!("{base}/v1.0/users/delta?$skiptoken={key}"));
    }
    Json(body).into_response()
}

fn stale_delta(how: DeltaExpiry, base: &str) -> Response {
    match how {
        DeltaExpiry::SyncStateNotFound => {
            graph_error(400, "syncStateNotFound", "The sync state generation is not found; start a new sync.")
        }
        DeltaExpiry::ResyncRequired => {
            graph_error(400, "resyncRequired", "The delta token is no longer valid; the app must reset the sync state.")
        }
        DeltaExpiry::Gone => {
            let mut response = graph_error(410, "Gone", "The delta token has expired.");
            if let Ok(location) = HeaderValue::from_str(&format!("{base}/v1.0/users/delta?$deltatoken=")) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            response
        }
    }
}

// ---- groups and teams ----

fn group_json(g: &GroupRec) -> Value {
    json!({
        "id": g.id,
        "description": g.description,
        "displayName": g.display_name,
        "groupTypes": ["Unified"],
        "mailEnabled": true,
        "mailNickname": g.display_name.replace(' ', ""),
        "resourceBehaviorOptions": [],
        "resourceProvisioningOptions": if g.team { json!(["Team"]) } else { json!([]) },
        "securityEnabled": false,
        "visibility": "Private",
    })
}

async fn list_groups(State(s): S, Extension(c): C, RawQuery(raw): RawQuery) -> Response {
    let q = query(&raw);
    let teams_only = match param(&q, "$filter") {
        None => false,
        Some(f) if f.replace(' ', "").to_lowercase() == TEAM_FILTER => true,
        Some(_) => return graph_error(400, "Request_UnsupportedQuery", "Unsupported Query."),
    };
    let items: Vec<Value> = {
        let mut world = s.world();
        let t = world.tenant(&c.tenant);
        t.groups
            .iter()
            .filter(|g| g.team || !teams_only)
            .map(|g| project(group_json(g), param(&q, "$select")))
            .collect()
    };
    paged(&s, "/v1.0/groups", &q, items)
}

async fn list_group_members(
    State(s): S,
    Extension(c): C,
    Path(group): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = query(&raw);
    let items: Vec<Value> = {
        let mut world = s.world();
        let t = world.tenant(&c.tenant);
        let Some(g) = t.groups.iter().find(|g| g.id == group) else { return user_not_found(&group) };
        g.members
            .iter()
            .filter_map(|m| find_user(t, m))
            .map(|u| {
                let mut v = user_json(u);
                v["@odata.type"] = json!("#microsoft.graph.user");
                v
            })
            .collect()
    };
    paged(&s, &format!("/v1.0/groups/{group}/members"), &q, items)
}

async fn add_group_member(State(s): S, Extension(c): C, Path(group): Path<String>, body: Bytes) -> Response {
    let body = match parse_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(reference) = body["@odata.id"].as_str() else {
        return graph_error(400, "Request_BadRequest", "Invalid object identifier ''.");
    };
    let mut world = s.world();
    let t = world.tenant(&c.tenant);
    let Some(user_id) = bound_user(t, reference).map(|u| u.id.clone()) else { return user_not_found(reference) };
    let Some(g) = t.groups.iter_mut().find(|g| g.id == group) else { return user_not_found(&group) };
    if g.members.contains(&user_id) {
        return graph_error(
            400,
            "Request_BadRequest",
            "One or more added object references already exist for the following modified properties: 'members'.",
        );
    }
    g.members.push(user_id);
    StatusCode::NO_CONTENT.into_response()
}

async fn get_team(State(s): S, Extension(c): C, Path(team): Path<String>) -> Response {
    let tenant = c.tenant.clone();
    let mut world = s.world();
    let Some(g) = world.tenant(&c.tenant).groups.iter().find(|g| g.id == team && g.team) else {
        return graph_error(404, "NotFound", &format!("No team found with Group Id {team}"));
    };
    Json(json!({
        "id": g.id,
        "displayName": g.display_name,
        "description": g.description,
        "internalId": format!("19:{}@thread.tacv2", uuid::Uuid::new_v4().simple()),
        "webUrl": format!(
            "https://teams.microsoft.com/l/team/19%3a{}%40thread.tacv2/conversations?groupId={}&tenantId={tenant}",
            g.id.replace('-', ""),
            g.id
        ),
        "isArchived": false,
        "tenantId": tenant,
        "memberSettings": {"allowCreateUpdateChannels": true, "allowDeleteChannels": true},
        "guestSettings": {"allowCreateUpdateChannels": false, "allowDeleteChannels": false},
        "messagingSettings": {"allowUserEditMessages": true, "allowUserDeleteMessages": true},
        "funSettings": {"allowGiphy": true, "giphyContentRating": "moderate"},
    }))
    .into_response()
}

// ---- channels ----

fn new_channel(name: &str, description: Option<String>, membership_type: &str, members: Vec<MemberRec>) -> ChannelRec {
    ChannelRec {
        id: format!("19:{}@thread.tacv2", uuid::Uuid::new_v4().simple()),
        display_name: name.to_owned(),
        description,
        membership_type: membership_type.to_owned(),
        members,
        created: now(),
        deleted: false,
    }
}

fn channel_json(ch: &ChannelRec, team: &str, tenant: &str) -> Value {
    json!({
        "id": ch.id,
        "createdDateTime": ch.created,
        "displayName": ch.display_name,
        "description": ch.description,
        "isFavoriteByDefault": null,
        "email": "",
        "webUrl": format!("https://teams.microsoft.com/l/channel/{}/{}?groupId={team}&tenantId={tenant}",
            utf8_percent_encode(&ch.id, LINK_VALUE), utf8_percent_encode(&ch.display_name, LINK_VALUE)),
        "membershipType": ch.membership_type,
    })
}

fn member_json(team: &str, user: Option<&UserRec>, user_id: &str, roles: &[String], tenant: &str) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.aadUserConversationMember",
        "id": base64::engine::general_purpose::STANDARD.encode(format!("{team}##{user_id}")),
        "roles": roles,
        "displayName": user.map(|u| u.display_name.clone()),
        "visibleHistoryStartDateTime": "0001-01-01T00:00:00Z",
        "userId": user_id,
        "email": user.map(|u| u.upn.clone()),
        "tenantId": tenant,
    })
}

/// Teams' channel-name rules (graph.md §1.2); the message says what is wrong.
fn channel_name_problem(name: &str) -> Option<&'static str> {
    let lower = name.to_lowercase();
    if name.trim().is_empty() {
        Some("displayName is required.")
    } else if name.chars().count() > 50 {
        Some("Channel name cannot be longer than 50 characters.")
    } else if name.chars().any(|c| FORBIDDEN_NAME_CHARS.contains(c) || matches!(c as u32, 0..=0x1F | 0x80..=0x9F))
        || name.contains("..")
    {
        Some("Channel name contains invalid characters.")
    } else if RESERVED_NAMES.contains(&lower.as_str()) || lower.contains("_vti_") {
        Some("Channel name is a reserved word.")
    } else if name.starts_with(['_', '.']) || name.ends_with('.') {
        Some("Channel name cannot start with '_' or '.' or end with '.'.")
    } else {
        None
    }
}

/// Members of a create or add body: each needs `@odata.type`, a known user and roles of
/// `owner`/`guest` at most.
fn parse_members(t: &Tenant, members: &[Value]) -> Result<Vec<MemberRec>, Response> {
    let mut out = Vec::new();
    for m in members {
        if m.get("@odata.type").and_then(Value::as_str).is_none() {
            return Err(graph_error(
                400,
                "BadRequest",
                "'odata.type' must be specified in the request body for each member.",
            ));
        }
        let bind = m["user@odata.bind"].as_str().unwrap_or_default();
        let Some(user) = bound_user(t, bind) else { return Err(user_not_found(bind)) };
        let roles: Vec<String> =
            m["roles"].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect();
        if roles.iter().any(|r| !r.eq_ignore_ascii_case("owner") && !r.eq_ignore_ascii_case("guest")) {
            return Err(graph_error(400, "BadRequest", "Member roles must be 'owner' or 'guest'."));
        }
        out.push(MemberRec { user_id: user.id.clone(), roles });
    }
    Ok(out)
}

async fn list_channels(State(s): S, Extension(c): C, Path(team): Path<String>, RawQuery(raw): RawQuery) -> Response {
    let q = query(&raw);
    let items: Vec<Value> = {
        let mut world = s.world();
        let Some(g) = world.tenant(&c.tenant).groups.iter().find(|g| g.id == team && g.team) else {
            return not_found("Team");
        };
        g.channels.iter().filter(|ch| !ch.deleted).map(|ch| channel_json(ch, &team, &c.tenant)).collect()
    };
    paged(&s, &format!("/v1.0/teams/{team}/channels"), &q, items)
}

async fn get_channel(State(s): S, Extension(c): C, Path((team, channel)): Path<(String, String)>) -> Response {
    let mut world = s.world();
    let g = world.tenant(&c.tenant).groups.iter().find(|g| g.id == team && g.team);
    match g.and_then(|g| g.channels.iter().find(|ch| ch.id == channel && !ch.deleted)) {
        Some(ch) => Json(channel_json(ch, &team, &c.tenant)).into_response(),
        None => not_found("Channel"),
    }
}

async fn create_channel(State(s): S, Extension(c): C, Path(team): Path<String>, body: Bytes) -> Response {
    let body = match parse_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let name = body["displayName"].as_str().unwrap_or_default().to_owned();
    if let Some(problem) = channel_name_problem(&name) {
        return graph_error(400, "BadRequest", problem);
    }
    let membership = body["membershipType"].as_str().unwrap_or("standard").to_owned();
    let mut world = s.world();
    let duplicate_code = world.duplicate_code.clone().unwrap_or_else(|| "BadRequest".into());
    let t = world.tenant(&c.tenant);
    let members = match membership.as_str() {
        "standard" => Vec::new(),
        "private" => {
            let listed = body["members"].as_array().cloned().unwrap_or_default();
            if listed.is_empty() {
                return graph_error(
                    400,
                    "BadRequest",
                    "CreateChannel_Private: Cannot create private channel, \
                     no members specified when calling from an Application.",
                );
            }
            match parse_members(t, &listed) {
                Ok(members) => members,
                Err(r) => return r,
            }
        }
        other => return graph_error(400, "BadRequest", &format!("membershipType '{other}' is not supported here.")),
    };
    let Some(g) = t.groups.iter_mut().find(|g| g.id == team && g.team) else { return not_found("Team") };
    if g.channels.iter().any(|ch| ch.display_name.to_lowercase() == name.to_lowercase()) {
        return graph_error(400, &duplicate_code, DUPLICATE_NAME);
    }
    let channel = new_channel(&name, body["description"].as_str().map(str::to_owned), &membership, members);
    let mut reply = channel_json(&channel, &team, &c.tenant);
    reply["@odata.context"] = json!(format!("{}/v1.0/$metadata#teams('{team}')/channels/$entity", s.base()));
    g.channels.push(channel);
    created(reply)
}

async fn list_channel_members(State(s): S, Extension(c): C, Path((team, channel)): Path<(String, String)>) -> Response {
    let mut world = s.world();
    let t = world.tenant(&c.tenant);
    let Some(g) = t.groups.iter().find(|g| g.id == team && g.team) else { return not_found("Team") };
    let Some(ch) = g.channels.iter().find(|ch| ch.id == channel && !ch.deleted) else { return not_found("Channel") };
    let members: Vec<Value> = if ch.membership_type == "standard" {
        g.members.iter().map(|id| member_json(&team, find_user(t, id), id, &[], &c.tenant)).collect()
    } else {
        ch.members
            .iter()
            .map(|m| member_json(&team, find_user(t, &m.user_id), &m.user_id, &m.roles, &c.tenant))
            .collect()
    };
    Json(json!({"@odata.count": members.len(), "value": members})).into_response()
}

async fn add_channel_member(
    State(s): S,
    Extension(c): C,
    Path((team, channel)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let body = match parse_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut world = s.world();
    let t = world.tenant(&c.tenant);
    let member = match parse_members(t, std::slice::from_ref(&body)) {
        Ok(mut members) => members.remove(0),
        Err(r) => return r,
    };
    let user = find_user(t, &member.user_id).map(|u| (u.display_name.clone(), u.upn.clone()));
    let Some(g) = t.groups.iter_mut().find(|g| g.id == team && g.team) else { return not_found("Team") };
    let Some(ch) = g.channels.iter_mut().find(|ch| ch.id == channel && !ch.deleted) else {
        return not_found("Channel");
    };
    if ch.membership_type == "standard" {
        return graph_error(400, "BadRequest", "Members can only be added to private or shared channels.");
    }
    let reply = json!({
        "@odata.type": "#microsoft.graph.aadUserConversationMember",
        "id": base64::engine::general_purpose::STANDARD.encode(format!("{team}##{}", member.user_id)),
        "roles": member.roles,
        "displayName": user.as_ref().map(|u| &u.0),
        "userId": member.user_id,
        "email": user.as_ref().map(|u| &u.1),
    });
    ch.members.retain(|m| m.user_id != member.user_id);
    ch.members.push(member);
    created(reply)
}

// ---- chats ----

async fn create_chat(State(s): S, Extension(c): C, body: Bytes) -> Response {
    let body = match parse_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let chat_type = body["chatType"].as_str().unwrap_or_default().to_owned();
    let mut world = s.world();
    let t = world.tenant(&c.tenant);
    let listed = body["members"].as_array().cloned().unwrap_or_default();
    let members = match parse_members(t, &listed) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let mut ids: Vec<String> = members.into_iter().map(|m| m.user_id).collect();
    let id = match chat_type.as_str() {
        "oneOnOne" if ids.len() != 2 => {
            return graph_error(400, "BadRequest", "A one-on-one chat needs exactly two members.");
        }
        "oneOnOne" if body.get("topic").is_some_and(|t| !t.is_null()) => {
            return graph_error(400, "BadRequest", "A one-on-one chat cannot have a topic.");
        }
        "oneOnOne" => {
            ids.sort();
            format!("19:{}_{}@unq.gbl.spaces", ids[0], ids[1])
        }
        "group" if ids.len() < 2 => return graph_error(400, "BadRequest", "A group chat needs at least two members."),
        "group" => format!("19:{}@thread.v2", uuid::Uuid::new_v4().simple()),
        _ => return graph_error(400, "BadRequest", "chatType must be oneOnOne or group."),
    };
    if let Some((existing, _)) = t.chats.iter().find(|(chat, _)| chat["id"] == id.as_str()) {
        return created(existing.clone());
    }
    let at = now();
    let chat = json!({
        "@odata.context": format!("{}/v1.0/$metadata#chats/$entity", s.base()),
        "id": id,
        "topic": body["topic"],
        "createdDateTime": at,
        "lastUpdatedDateTime": at,
        "chatType": chat_type,
        "webUrl": format!(
            "https://teams.microsoft.com/l/chat/{}/0?tenantId={}",
            utf8_percent_encode(&id, LINK_VALUE),
            c.tenant
        ),
    });
    t.chats.push((chat.clone(), ids));
    created(chat)
}

// ---- calendar ----

fn event_json(body: &Value, organizer: &UserRec, transaction_id: Option<&str>) -> Value {
    let id = format!("AAMkA{}=", uuid::Uuid::new_v4().simple());
    let at = now();
    let online = body["isOnlineMeeting"].as_bool() == Some(true);
    let provider = body["onlineMeetingProvider"].as_str().unwrap_or("unknown");
    let attendees: Vec<Value> = body["attendees"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            let mut a = a.clone();
            a["status"] = json!({"response": "none", "time": "0001-01-01T00:00:00Z"});
            a
        })
        .collect();
    let mut event = json!({
        "@odata.etag": format!("W/\"{}\"", uuid::Uuid::new_v4().simple()),
        "id": id,
        "createdDateTime": at,
        "lastModifiedDateTime": at,
        "changeKey": uuid::Uuid::new_v4().simple().to_string(),
        "iCalUId": format!("040000008200E00074C5B7101A82E008{}", uuid::Uuid::new_v4().simple()).to_uppercase(),
        "subject": body["subject"],
        "body": body.get("body").cloned().unwrap_or(json!({"contentType": "text", "content": ""})),
        "start": body["start"],
        "end": body["end"],
        "location": body.get("location").cloned().unwrap_or(json!({"displayName": ""})),
        "attendees": attendees,
        "organizer": {"emailAddress": {"name": organizer.display_name, "address": organizer.upn}},
        "isOrganizer": true,
        "isCancelled": false,
        "showAs": "busy",
        "type": "singleInstance",
        "webLink": format!(
            "https://outlook.office365.com/owa/?itemid={}&exvsurl=1&path=/calendar/item",
            utf8_percent_encode(&id, LINK_VALUE)
        ),
        "onlineMeetingUrl": null,
        "isOnlineMeeting": online,
        "onlineMeetingProvider": provider,
        "onlineMeeting": null,
        "transactionId": transaction_id,
    });
    if online && provider == "teamsForBusiness" {
        event["onlineMeeting"] = json!({
            "joinUrl": format!(
                "https://teams.microsoft.com/l/meetup-join/19%3ameeting_{}%40thread.v2/0",
                uuid::Uuid::new_v4().simple()
            ),
            "conferenceId": "177513992",
            "tollNumber": "+1 425 555 0123",
        });
    }
    event
}

fn mailbox_not_found(user: &str) -> Response {
    graph_error(404, "ErrorInvalidUser", &format!("The requested user '{user}' is invalid."))
}

fn event_not_found() -> Response {
    graph_error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
}

async fn list_events(State(s): S, Extension(c): C, Path(user): Path<String>, RawQuery(raw): RawQuery) -> Response {
    let q = query(&raw);
    let items: Vec<Value> = {
        let mut world = s.world();
        let t = world.tenant(&c.tenant);
        let Some(owner) = find_user(t, &user).map(|u| u.id.clone()) else { return mailbox_not_found(&user) };
        t.events.iter().filter(|e| e.mailbox == owner).map(|e| e.event.clone()).collect()
    };
    paged(&s, &format!("/v1.0/users/{user}/events"), &q, items)
}

async fn create_event(State(s): S, Extension(c): C, Path(user): Path<String>, body: Bytes) -> Response {
    let body = match parse_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    for field in ["start", "end"] {
        if body[field]["dateTime"].as_str().and_then(parse_local).is_none()
            || body[field]["timeZone"].as_str().is_none()
        {
            return graph_error(400, "ErrorInvalidRequest", &format!("{field} must be a dateTimeTimeZone."));
        }
    }
    let mut world = s.world();
    let t = world.tenant(&c.tenant);
    let Some(owner) = find_user(t, &user) else { return mailbox_not_found(&user) };
    let transaction_id = body["transactionId"].as_str();
    if let Some(tx) = transaction_id
        && let Some(existing) = t.events.iter().find(|e| e.mailbox == owner.id && e.event["transactionId"] == tx)
    {
        return created(existing.event.clone());
    }
    let mut event = event_json(&body, owner, transaction_id);
    let mailbox = owner.id.clone();
    t.events.push(EventRec { mailbox: mailbox.clone(), event: event.clone() });
    event["@odata.context"] = json!(format!("{}/v1.0/$metadata#users('{mailbox}')/events/$entity", s.base()));
    created(event)
}

fn find_event<'a>(t: &'a mut Tenant, user: &str, event: &str) -> Result<&'a mut Value, Response> {
    let Some(owner) = find_user(t, user).map(|u| u.id.clone()) else { return Err(mailbox_not_found(user)) };
    t.events
        .iter_mut()
        .find(|e| e.mailbox == owner && e.event["id"] == event)
        .map(|e| &mut e.event)
        .ok_or_else(event_not_found)
}

async fn get_event(State(s): S, Extension(c): C, Path((user, event)): Path<(String, String)>) -> Response {
    let mut world = s.world();
    match find_event(world.tenant(&c.tenant), &user, &event) {
        Ok(e) => Json(e.clone()).into_response(),
        Err(r) => r,
    }
}

async fn update_event(
    State(s): S,
    Extension(c): C,
    Path((user, event)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let Ok(Value::Object(patch)) = parse_body(&body) else {
        return graph_error(400, "ErrorInvalidRequest", "The body must be a JSON object.");
    };
    let mut world = s.world();
    let e = match find_event(world.tenant(&c.tenant), &user, &event) {
        Ok(e) => e,
        Err(r) => return r,
    };
    const FIXED: &[&str] = &["id", "iCalUId", "organizer", "createdDateTime", "transactionId"];
    for (key, value) in patch.into_iter().filter(|(k, _)| !FIXED.contains(&k.as_str())) {
        e[key] = value;
    }
    e["lastModifiedDateTime"] = json!(now());
    e["changeKey"] = json!(uuid::Uuid::new_v4().simple().to_string());
    Json(e.clone()).into_response()
}

async fn cancel_event(State(s): S, Extension(c): C, Path((user, event)): Path<(String, String)>) -> Response {
    let mut world = s.world();
    match find_event(world.tenant(&c.tenant), &user, &event) {
        Ok(e) if e["isCancelled"] == true => event_not_found(),
        Ok(e) => {
            e["isCancelled"] = json!(true);
            StatusCode::ACCEPTED.into_response()
        }
        Err(r) => r,
    }
}

fn parse_local(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").ok()
}

fn event_span(e: &Value) -> Option<(NaiveDateTime, NaiveDateTime)> {
    Some((parse_local(e["start"]["dateTime"].as_str()?)?, parse_local(e["end"]["dateTime"].as_str()?)?))
}

async fn get_schedule(State(s): S, Extension(c): C, Path(user): Path<String>, body: Bytes) -> Response {
    let body = match parse_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let span = (
        body["startTime"]["dateTime"].as_str().and_then(parse_local),
        body["endTime"]["dateTime"].as_str().and_then(parse_local),
    );
    let (Some(from), Some(to)) = span else {
        return graph_error(400, "ErrorInvalidParameter", "startTime and endTime must be dateTimeTimeZone values.");
    };
    let interval = body["availabilityViewInterval"].as_i64().unwrap_or(30);
    if !(5..=1440).contains(&interval) || to <= from {
        return graph_error(400, "ErrorInvalidParameter", "availabilityViewInterval must be 5 to 1440 minutes.");
    }
    let zone = body["startTime"]["timeZone"].clone();
    let mut world = s.world();
    let t = world.tenant(&c.tenant);
    if find_user(t, &user).is_none() {
        return mailbox_not_found(&user);
    }
    let mut value = Vec::new();
    for address in body["schedules"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        let Some(who) = find_user(t, address) else {
            value.push(json!({
                "scheduleId": address,
                "availabilityView": "",
                "scheduleItems": [],
                "error": {
                    "message": format!("The mailbox {address} was not found."),
                    "responseCode": "ErrorMailboxNotFound",
                },
            }));
            continue;
        };
        let busy: Vec<(&Value, NaiveDateTime, NaiveDateTime)> = t
            .events
            .iter()
            .filter(|e| e.event["isCancelled"] != true)
            .filter(|e| {
                e.mailbox == who.id
                    || e.event["attendees"].as_array().into_iter().flatten().any(|a| {
                        a["emailAddress"]["address"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(&who.upn))
                    })
            })
            .filter_map(|e| event_span(&e.event).map(|(a, b)| (&e.event, a, b)))
            .filter(|(_, a, b)| *a < to && *b > from)
            .collect();
        let step = chrono::Duration::minutes(interval);
        let mut view = String::new();
        let mut slot = from;
        while slot < to {
            let end = slot + step;
            view.push(if busy.iter().any(|(_, a, b)| *a < end && *b > slot) { '2' } else { '0' });
            slot = end;
        }
        let items: Vec<Value> = busy
            .iter()
            .map(|(e, _, _)| {
                json!({
                    "isPrivate": false,
                    "status": e["showAs"],
                    "subject": e["subject"],
                    "location": e["location"]["displayName"],
                    "start": e["start"],
                    "end": e["end"],
                })
            })
            .collect();
        value.push(json!({
            "scheduleId": address,
            "availabilityView": view,
            "scheduleItems": items,
            "workingHours": {
                "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
                "startTime": "08:00:00.0000000",
                "endTime": "17:00:00.0000000",
                "timeZone": {"name": zone},
            },
        }));
    }
    let context = format!("{}/v1.0/$metadata#Collection(microsoft.graph.scheduleInformation)", s.base());
    Json(json!({"@odata.context": context, "value": value})).into_response()
}

// ---- $batch ----

async fn batch(State(s): S, headers: HeaderMap, nested: Option<Extension<InBatch>>, body: Bytes) -> Response {
    if nested.is_some() {
        return graph_error(400, "BadRequest", "A batch cannot contain a batch.");
    }
    let body = match parse_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(requests) = body["requests"].as_array() else {
        return graph_error(400, "BadRequest", "Invalid batch payload format.");
    };
    if requests.len() > 20 {
        return graph_error(400, "BadRequest", "The number of batch requests exceeds the limit of 20.");
    }
    let mut ids: Vec<String> = requests.iter().map(|r| r["id"].as_str().unwrap_or_default().to_lowercase()).collect();
    ids.sort();
    if ids.iter().any(String::is_empty) || ids.windows(2).any(|w| w[0] == w[1]) {
        return graph_error(400, "BadRequest", "Batch request ids must be present and unique.");
    }
    let mut responses = Vec::new();
    for item in requests {
        responses.push(run_batch_item(&s, &headers, item).await);
    }
    responses.reverse();
    Json(json!({"responses": responses})).into_response()
}

async fn run_batch_item(s: &Arc<Shared>, outer: &HeaderMap, item: &Value) -> Value {
    let id = item["id"].clone();
    let url = item["url"].as_str().unwrap_or_default();
    let target = format!("/v1.0/{}", utf8_percent_encode(url.trim_start_matches('/'), BATCH_URL));
    let item_headers: Map<String, Value> = item["headers"].as_object().cloned().unwrap_or_default();
    let has_body = item.get("body").is_some_and(|b| !b.is_null());
    if has_body && !item_headers.keys().any(|k| k.eq_ignore_ascii_case("content-type")) {
        return batch_item_error(id, "Content-Type header must be specified for a request with a body.");
    }
    let mut request = axum::http::Request::builder().method(item["method"].as_str().unwrap_or("GET")).uri(target);
    if let Some(auth) = outer.get(header::AUTHORIZATION) {
        request = request.header(header::AUTHORIZATION, auth);
    }
    for (name, value) in &item_headers {
        request = request.header(name.as_str(), value.as_str().unwrap_or_default());
    }
    let body = if has_body { Body::from(item["body"].to_string()) } else { Body::empty() };
    let Ok(mut request) = request.body(body) else {
        return batch_item_error(id, "Invalid request URL or method.");
    };
    request.extensions_mut().insert(InBatch);
    let Ok(response) = routes(s.clone()).oneshot(request).await;
    let status = response.status().as_u16();
    let headers: Map<String, Value> = response
        .headers()
        .iter()
        .filter(|(name, _)| [header::CONTENT_TYPE, header::RETRY_AFTER, header::LOCATION].contains(name))
        .map(|(name, value)| (name.as_str().to_owned(), json!(value.to_str().unwrap_or_default())))
        .collect();
    let bytes = axum::body::to_bytes(response.into_body(), 16 << 20).await.unwrap_or_default();
    let mut answer = json!({"id": id, "status": status, "headers": headers});
    if let Ok(body) = serde_json::from_slice::<Value>(&bytes) {
        answer["body"] = body;
    }
    answer
}

fn batch_item_error(id: Value, message: &str) -> Value {
    json!({"id": id, "status": 400, "body": {"error": {"code": "BadRequest", "message": message}}})
}

async fn unknown_segment(request: Request) -> Response {
    let path = decode(request.uri().path());
    let segment = path.rsplit('/').next().unwrap_or_default().to_owned();
    graph_error(400, "BadRequest", &format!("Resource not found for the segment '{segment}'."))
}
