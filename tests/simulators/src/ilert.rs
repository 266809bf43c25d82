//! ilert's REST API and events API under `/api`, in the formats of
//! `shared/specs/ilert-openapi.json`, with the behaviour noted in `shared/reference/ilert.md`.
//!
//! * Auth: every path but `POST /api/events` needs `Authorization: Bearer <key>` of a key
//!   added with [`IlertSim::add_api_key`] (it acts as that user). No header → 401; an unknown
//!   or revoked key → 403 `KEY_ERROR`. Errors are `{status, message, code}`.
//! * Alerts: `GET /alerts` (filters `states`, `sources`, `policies`; paging `start-index`,
//!   `max-results` ≤ 100, more is a 400), `POST /alerts` (`ManualAlert`, 201),
//!   `GET /alerts/{id}`, `PUT …/accept` (refused with 400 once resolved), `PUT …/resolve`,
//!   `PUT …/assign?user=|policy=|schedule=` (the spec's names; anything else is a 400),
//!   `POST …/responders` with `{"user":{"id"}}` (201; 404 unknown user; 405 already there).
//!   New alerts get the level-1 on-call users of their policy as responders.
//! * `GET /users` (≤ 100), `POST /users/search-email` (404 when nobody), `GET /on-calls`
//!   (filters `policies`, `users`; ≤ 250; without `expand=user|escalationPolicy|schedule`
//!   those come as `{id}` only), `GET /escalation-policies` and `GET /alert-sources` (≤ 50),
//!   `GET /alert-sources/{id or integration key}`.
//! * `POST /events` by integration key: ALERT opens an alert or is appended to the open one
//!   with the same `alertKey` (trimmed, case-insensitive); ACCEPT, RESOLVE and COMMENT act on
//!   that open alert; the answer is 202 with an empty body (or ilert-go's
//!   `{alertKey, alertUrl, responseCode}` after [`IlertSim::set_event_response_body`]), also
//!   when no alert matched, as ilert does.
//! * Faults: the next answers can be forced to any status ([`IlertSim::fail_next`]; a 429
//!   carries no `Retry-After`), and every answer can be delayed ([`IlertSim::set_latency`]).
//! * Every request is recorded as a [`Call`] (method, path, query, body, acting API key).

use crate::Running;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration as Age, SecondsFormat, Utc};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// One request as the simulator received it.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub method: String,
    /// Without the query, e.g. `/api/alerts/1001/accept`.
    pub path: String,
    pub query: Vec<(String, String)>,
    /// The JSON body, if any.
    pub body: Option<Value>,
    /// The bearer token presented, if any.
    pub api_key: Option<String>,
    /// The `Accept` header.
    pub accept: Option<String>,
}

impl Call {
    /// Every value of a query parameter, in order.
    pub fn query_values(&self, name: &str) -> Vec<&str> {
        self.query.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }
}

/// A comment posted to an alert through the events API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub creator: String,
    pub content: String,
}

struct User {
    first_name: String,
    last_name: String,
    email: String,
}

struct Source {
    name: String,
    integration_key: String,
    policy_id: i64,
}

struct Duty {
    user_id: i64,
    policy_id: i64,
    level: u32,
    schedule: Option<(i64, String)>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

struct Responder {
    user_id: i64,
    accepted_at: Option<DateTime<Utc>>,
}

struct Alert {
    summary: String,
    details: String,
    status: &'static str,
    priority: String,
    source_id: i64,
    policy_id: i64,
    alert_key: Option<String>,
    responders: Vec<Responder>,
    links: Value,
    images: Value,
    report_time: DateTime<Utc>,
    resolved_on: Option<DateTime<Utc>>,
    comments: Vec<Comment>,
    /// Events appended after the one that opened it.
    appended_events: usize,
}

#[derive(Default)]
struct Inner {
    /// API key → the user it acts as.
    keys: HashMap<String, i64>,
    users: BTreeMap<i64, User>,
    /// Roles set by [`IlertSim::set_user_role`]; everyone else is a `RESPONDER`.
    roles: HashMap<i64, String>,
    policies: BTreeMap<i64, String>,
    sources: BTreeMap<i64, Source>,
    duties: Vec<Duty>,
    alerts: BTreeMap<i64, Alert>,
    last_id: i64,
    calls: Vec<Call>,
    faults: VecDeque<Refusal>,
    latency: Duration,
    event_response_body: bool,
}

type Shared = Arc<Mutex<Inner>>;

/// A success status with its JSON body (`Null` for none), or an error answer.
type Reply = Result<(StatusCode, Value), Refusal>;

/// An error answer, sent as ilert's `{status, message, code}`.
struct Refusal {
    status: u16,
    code: String,
    message: String,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = json!({ "status": status.as_u16(), "message": self.message, "code": self.code });
        (status, axum::Json(body)).into_response()
    }
}

fn lock(shared: &Shared) -> MutexGuard<'_, Inner> {
    shared.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn error(status: u16, code: &str, message: &str) -> Refusal {
    Refusal { status, code: code.to_owned(), message: message.to_owned() }
}

fn bad_request(message: &str) -> Refusal {
    error(400, "BAD_REQUEST", message)
}

fn ok(status: StatusCode, body: Value) -> Reply {
    Ok((status, body))
}

fn time(t: DateTime<Utc>) -> Value {
    Value::from(t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// The parts of a request the handlers read.
struct Req {
    query: Vec<(String, String)>,
    body: Value,
}

impl Req {
    fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.query.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn ids(&self, name: &str) -> Result<Vec<i64>, Refusal> {
        self.all(name).map(|v| v.parse().map_err(|_| bad_request(&format!("{name} must be numeric")))).collect()
    }

    fn one(&self, name: &str) -> Result<Option<i64>, Refusal> {
        Ok(self.ids(name)?.first().copied())
    }

    /// `start-index`/`max-results` applied to `items`, with ilert's cap for the resource.
    fn page(&self, cap: i64, items: Vec<Value>) -> Reply {
        let start = self.one("start-index")?.unwrap_or(0).max(0);
        let max = self.one("max-results")?.unwrap_or(50);
        if !(0..=cap).contains(&max) {
            return Err(bad_request(&format!("max-results may not exceed {cap}")));
        }
        let page: Vec<Value> = items.into_iter().skip(start as usize).take(max as usize).collect();
        ok(StatusCode::OK, Value::Array(page))
    }

    fn text(&self, pointer: &str) -> Option<&str> {
        self.body.pointer(pointer).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
    }
}

fn same_key(a: &Option<String>, b: &str) -> bool {
    a.as_deref().is_some_and(|a| a.trim().eq_ignore_ascii_case(b.trim()))
}

impl Inner {
    fn next_id(&mut self) -> i64 {
        self.last_id = self.last_id.max(1000) + 1;
        self.last_id
    }

    fn user_rel(&self, id: i64) -> Value {
        match self.users.get(&id) {
            Some(u) => json!({ "id": id, "firstName": u.first_name, "lastName": u.last_name }),
            None => json!({ "id": id }),
        }
    }

    fn user_json(&self, id: i64) -> Value {
        match self.users.get(&id) {
            Some(u) => json!({
                "id": id, "firstName": u.first_name, "lastName": u.last_name, "email": u.email,
                "timezone": "Europe/Berlin", "language": "en",
                "role": self.roles.get(&id).map(String::as_str).unwrap_or("RESPONDER"),
            }),
            None => json!({ "id": id }),
        }
    }

    fn policy_ref(&self, id: i64) -> Value {
        json!({ "id": id, "name": self.policies.get(&id).cloned().unwrap_or_default() })
    }

    fn alert_json(&self, id: i64) -> Value {
        let Some(a) = self.alerts.get(&id) else { return Value::Null };
        let source = self.sources.get(&a.source_id).map(|s| s.name.clone()).unwrap_or_default();
        let responders: Vec<Value> = a
            .responders
            .iter()
            .map(|r| {
                json!({
                    "user": self.user_rel(r.user_id),
                    "status": if r.accepted_at.is_some() { "ACCEPTED" } else { "PENDING" },
                    "acceptedAt": r.accepted_at.map(time),
                })
            })
            .collect();
        json!({
            "id": id,
            "summary": a.summary,
            "details": a.details,
            "reportTime": time(a.report_time),
            "resolvedOn": a.resolved_on.map(time),
            "status": a.status,
            "alertSource": { "id": a.source_id, "name": source },
            "escalationPolicy": self.policy_ref(a.policy_id),
            "priority": a.priority,
            "alertKey": a.alert_key,
            "images": a.images,
            "links": a.links,
            "responders": responders,
        })
    }

    /// Level-1 on-call users of a policy: whom a new alert notifies first.
    fn first_responders(&self, policy_id: i64) -> Vec<Responder> {
        let on_call = self.duties.iter().filter(|d| d.policy_id == policy_id && d.level == 1);
        on_call.map(|d| Responder { user_id: d.user_id, accepted_at: None }).collect()
    }

    /// A new PENDING alert; `body` is a `ManualAlert` or an ALERT event.
    fn open_alert(&mut self, source_id: i64, summary: String, body: &Value) -> i64 {
        let id = self.next_id();
        let source_policy = self.sources.get(&source_id).map(|s| s.policy_id).unwrap_or_default();
        let policy_id = body.pointer("/escalationPolicy/id").and_then(Value::as_i64).unwrap_or(source_policy);
        let responders = match body.get("responders").and_then(Value::as_array) {
            Some(list) if !list.is_empty() => list
                .iter()
                .filter_map(|r| r.pointer("/user/id").and_then(Value::as_i64))
                .map(|user_id| Responder { user_id, accepted_at: None })
                .collect(),
            _ => self.first_responders(policy_id),
        };
        let text = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
        let alert = Alert {
            summary,
            details: text("details").unwrap_or_default(),
            status: "PENDING",
            priority: text("priority").unwrap_or_else(|| "HIGH".to_owned()),
            source_id,
            policy_id,
            alert_key: text("alertKey"),
            responders,
            links: body.get("links").cloned().unwrap_or_else(|| json!([])),
            images: body.get("images").cloned().unwrap_or_else(|| json!([])),
            report_time: Utc::now(),
            resolved_on: None,
            comments: Vec::new(),
            appended_events: 0,
        };
        self.alerts.insert(id, alert);
        id
    }

    fn alert_mut(&mut self, id: &str) -> Result<(i64, &mut Alert), Refusal> {
        let id: i64 = id.parse().map_err(|_| bad_request("alert id must be numeric"))?;
        self.alerts.get_mut(&id).map(|a| (id, a)).ok_or_else(|| error(404, "NOT_FOUND", "Alert not found"))
    }

    fn list_alerts(&self, req: &Req) -> Reply {
        let states: Vec<&str> = req.all("states").collect();
        let (sources, policies) = (req.ids("sources")?, req.ids("policies")?);
        let items = self
            .alerts
            .iter()
            .filter(|(_, a)| states.is_empty() || states.contains(&a.status))
            .filter(|(_, a)| sources.is_empty() || sources.contains(&a.source_id))
            .filter(|(_, a)| policies.is_empty() || policies.contains(&a.policy_id))
            .map(|(id, _)| self.alert_json(*id))
            .collect();
        req.page(100, items)
    }

    fn create_alert(&mut self, req: &Req) -> Reply {
        let summary = req.text("/summary").ok_or_else(|| bad_request("summary is required"))?.to_owned();
        let source_id = req
            .body
            .pointer("/alertSource/id")
            .and_then(Value::as_i64)
            .ok_or_else(|| bad_request("alertSource is required"))?;
        if !self.sources.contains_key(&source_id) {
            return Err(bad_request("Unknown alert source"));
        }
        let id = self.open_alert(source_id, summary, &req.body);
        ok(StatusCode::CREATED, self.alert_json(id))
    }

    fn accept(&mut self, id: &str, user_id: i64) -> Reply {
        let (id, alert) = self.alert_mut(id)?;
        if alert.status == "RESOLVED" {
            return Err(error(400, "ALERT_ALREADY_RESOLVED", "Alert is already resolved and cannot be accepted"));
        }
        alert.status = "ACCEPTED";
        let now = Some(Utc::now());
        match alert.responders.iter_mut().find(|r| r.user_id == user_id) {
            Some(r) => r.accepted_at = r.accepted_at.or(now),
            None => alert.responders.push(Responder { user_id, accepted_at: now }),
        }
        ok(StatusCode::OK, self.alert_json(id))
    }

    fn resolve(&mut self, id: &str) -> Reply {
        let (id, alert) = self.alert_mut(id)?;
        alert.status = "RESOLVED";
        alert.resolved_on = alert.resolved_on.or(Some(Utc::now()));
        ok(StatusCode::OK, self.alert_json(id))
    }

    fn assign(&mut self, id: &str, req: &Req) -> Reply {
        let targets = (req.one("user")?, req.one("policy")?, req.one("schedule")?);
        let (responders, policy) = match targets {
            (Some(user), None, None) => {
                if !self.users.contains_key(&user) {
                    return Err(error(404, "NOT_FOUND", "User not found"));
                }
                (vec![Responder { user_id: user, accepted_at: None }], None)
            }
            (None, Some(policy), None) => {
                if !self.policies.contains_key(&policy) {
                    return Err(error(404, "NOT_FOUND", "Escalation policy not found"));
                }
                (self.first_responders(policy), Some(policy))
            }
            (None, None, Some(schedule)) => {
                let on_call: Vec<Responder> = self
                    .duties
                    .iter()
                    .filter(|d| d.schedule.as_ref().is_some_and(|(s, _)| *s == schedule))
                    .map(|d| Responder { user_id: d.user_id, accepted_at: None })
                    .collect();
                if on_call.is_empty() {
                    return Err(error(404, "NOT_FOUND", "Schedule not found"));
                }
                (on_call, None)
            }
            _ => return Err(bad_request("Either provide a user, policy or schedule")),
        };
        let (id, alert) = self.alert_mut(id)?;
        if alert.status == "RESOLVED" {
            return Err(error(400, "ALERT_ALREADY_RESOLVED", "Alert is already resolved"));
        }
        alert.status = "PENDING";
        alert.responders = responders;
        alert.policy_id = policy.unwrap_or(alert.policy_id);
        ok(StatusCode::OK, self.alert_json(id))
    }

    fn add_responder(&mut self, id: &str, req: &Req) -> Reply {
        let user_id =
            req.body.pointer("/user/id").and_then(Value::as_i64).ok_or_else(|| bad_request("user.id is required"))?;
        let known = self.users.contains_key(&user_id);
        let (_, alert) = self.alert_mut(id)?;
        if !known {
            return Err(error(404, "NOT_FOUND", "Responder did not exist"));
        }
        if alert.responders.iter().any(|r| r.user_id == user_id) {
            return Err(error(405, "METHOD_NOT_ALLOWED", "Responder is already present on the alert"));
        }
        alert.responders.push(Responder { user_id, accepted_at: None });
        ok(StatusCode::CREATED, json!({ "user": self.user_rel(user_id), "status": "PENDING", "acceptedAt": null }))
    }

    fn search_email(&self, req: &Req) -> Reply {
        let email = req.text("/email").ok_or_else(|| bad_request("email is required"))?;
        let found = self.users.iter().find(|(_, u)| u.email.eq_ignore_ascii_case(email));
        match found {
            Some((id, _)) => ok(StatusCode::OK, self.user_json(*id)),
            None => Err(error(404, "NOT_FOUND", "User not found")),
        }
    }

    fn on_calls(&self, req: &Req) -> Reply {
        let expand: Vec<&str> = req.all("expand").collect();
        let (policies, users) = (req.ids("policies")?, req.ids("users")?);
        let items = self
            .duties
            .iter()
            .filter(|d| policies.is_empty() || policies.contains(&d.policy_id))
            .filter(|d| users.is_empty() || users.contains(&d.user_id))
            .map(|d| {
                let mut duty = json!({
                    "user": if expand.contains(&"user") { self.user_json(d.user_id) } else { json!({ "id": d.user_id }) },
                    "escalationPolicy": if expand.contains(&"escalationPolicy") {
                        self.policy_ref(d.policy_id)
                    } else {
                        json!({ "id": d.policy_id })
                    },
                    // Seconds only, where alerts carry milliseconds: ilert's precision varies.
                    "start": d.start.to_rfc3339_opts(SecondsFormat::Secs, true),
                    "end": d.end.to_rfc3339_opts(SecondsFormat::Secs, true),
                    "escalationLevel": d.level,
                });
                if let Some((id, name)) = &d.schedule {
                    duty["schedule"] = if expand.contains(&"schedule") {
                        json!({ "id": id, "name": name, "type": "RECURRING" })
                    } else {
                        json!({ "id": id })
                    };
                }
                duty
            })
            .collect();
        req.page(250, items)
    }

    fn policies_json(&self) -> Vec<Value> {
        let rule = |policy: i64, level: u32| {
            let users: Vec<Value> = self
                .duties
                .iter()
                .filter(|d| d.policy_id == policy && d.level == level && d.schedule.is_none())
                .map(|d| self.user_rel(d.user_id))
                .collect();
            json!({ "escalationTimeout": 15, "users": users, "schedules": [] })
        };
        let levels =
            |policy: i64| self.duties.iter().filter(|d| d.policy_id == policy).map(|d| d.level).max().unwrap_or(1);
        self.policies
            .iter()
            .map(|(id, name)| {
                let rules: Vec<Value> = (1..=levels(*id)).map(|level| rule(*id, level)).collect();
                json!({ "id": id, "name": name, "escalationRules": rules, "repeating": false, "frequency": 1 })
            })
            .collect()
    }

    fn source_json(&self, id: i64) -> Value {
        let Some(s) = self.sources.get(&id) else { return Value::Null };
        json!({
            "id": id, "name": s.name, "integrationType": "API", "integrationKey": s.integration_key,
            "escalationPolicy": self.policy_ref(s.policy_id), "active": true,
        })
    }

    fn get_source(&self, id_or_key: &str) -> Reply {
        let id = id_or_key.parse().ok().filter(|id| self.sources.contains_key(id));
        let id = id.or_else(|| self.sources.iter().find(|(_, s)| s.integration_key == id_or_key).map(|(id, _)| *id));
        match id {
            Some(id) => ok(StatusCode::OK, self.source_json(id)),
            None => Err(error(404, "NOT_FOUND", "Alert source not found")),
        }
    }

    fn event(&mut self, req: &Req) -> Reply {
        let key = req.text("/integrationKey").ok_or_else(|| bad_request("integrationKey is required"))?;
        let event_type = req.text("/eventType").unwrap_or_default().to_ascii_uppercase();
        if !["ALERT", "ACCEPT", "RESOLVE", "COMMENT"].contains(&event_type.as_str()) {
            return Err(bad_request("eventType must be one of ALERT, ACCEPT, RESOLVE, COMMENT"));
        }
        let source_id = self
            .sources
            .iter()
            .find(|(_, s)| s.integration_key == key)
            .map(|(id, _)| *id)
            .ok_or_else(|| bad_request("No alert source found for this integration key"))?;
        let alert_key = req.text("/alertKey").map(str::to_owned);
        let open = alert_key.as_deref().and_then(|k| {
            self.alerts
                .iter_mut()
                .find(|(_, a)| a.source_id == source_id && a.status != "RESOLVED" && same_key(&a.alert_key, k))
        });
        let response_code = match (event_type.as_str(), open) {
            ("ALERT", Some((_, alert))) => {
                alert.appended_events += 1;
                "INCIDENT_UPDATED"
            }
            ("ALERT", None) => {
                let summary = req.text("/summary").ok_or_else(|| bad_request("summary is required"))?.to_owned();
                self.open_alert(source_id, summary, &req.body);
                "NEW_INCIDENT_CREATED"
            }
            ("ACCEPT", Some((_, alert))) => {
                alert.status = "ACCEPTED";
                "INCIDENT_ACCEPTED"
            }
            ("RESOLVE", Some((_, alert))) => {
                alert.status = "RESOLVED";
                alert.resolved_on = Some(Utc::now());
                "INCIDENT_RESOLVED"
            }
            ("COMMENT", Some((_, alert))) => {
                let comments = req.body.get("comments").and_then(Value::as_array).cloned().unwrap_or_default();
                alert.comments.extend(comments.iter().map(|c| Comment {
                    creator: c.get("creator").and_then(Value::as_str).unwrap_or_default().to_owned(),
                    content: c.get("content").and_then(Value::as_str).unwrap_or_default().to_owned(),
                }));
                "COMMENT_ADDED"
            }
            _ => "NO_OPEN_INCIDENT_WITH_KEY",
        };
        if !self.event_response_body {
            return ok(StatusCode::ACCEPTED, Value::Null);
        }
        let url = alert_key.as_ref().map(|k| format!("https://sim.ilert.invalid/alerts?key={k}"));
        ok(StatusCode::ACCEPTED, json!({ "alertKey": alert_key, "alertUrl": url, "responseCode": response_code }))
    }

    fn route(&mut self, method: &Method, segments: &[&str], req: &Req, user: i64) -> Reply {
        match (method.as_str(), segments) {
            ("GET", ["alerts"]) => self.list_alerts(req),
            ("POST", ["alerts"]) => self.create_alert(req),
            ("GET", ["alerts", id]) => {
                self.alert_mut(id).map(|(id, _)| id).and_then(|id| ok(StatusCode::OK, self.alert_json(id)))
            }
            ("PUT", ["alerts", id, "accept"]) => self.accept(id, user),
            ("PUT", ["alerts", id, "resolve"]) => self.resolve(id),
            ("PUT", ["alerts", id, "assign"]) => self.assign(id, req),
            ("POST", ["alerts", id, "responders"]) => self.add_responder(id, req),
            ("GET", ["users"]) => req.page(100, self.users.keys().map(|id| self.user_json(*id)).collect()),
            ("POST", ["users", "search-email"]) => self.search_email(req),
            ("GET", ["on-calls"]) => self.on_calls(req),
            ("GET", ["escalation-policies"]) => req.page(50, self.policies_json()),
            ("GET", ["alert-sources"]) => req.page(50, self.sources.keys().map(|id| self.source_json(*id)).collect()),
            ("GET", ["alert-sources", id]) => self.get_source(id),
            _ => Err(error(404, "NOT_FOUND", "No such resource in the ilert simulator")),
        }
    }
}

async fn handle(State(shared): State<Shared>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()).into_owned().collect();
    let json_body: Option<Value> = serde_json::from_slice(&body).ok();
    let header_text = |name| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let authorization = header_text(header::AUTHORIZATION);
    let api_key = authorization.as_deref().and_then(|h| h.strip_prefix("Bearer ")).map(str::to_owned);
    let (latency, fault) = {
        let mut inner = lock(&shared);
        inner.calls.push(Call {
            method: method.to_string(),
            path: uri.path().to_owned(),
            query: query.clone(),
            body: json_body.clone(),
            api_key: api_key.clone(),
            accept: header_text(header::ACCEPT),
        });
        (inner.latency, inner.faults.pop_front())
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if let Some(fault) = fault {
        // ilert's 429 has no Retry-After, and neither has any fault here.
        return fault.into_response();
    }
    if !body.is_empty() && json_body.is_none() {
        return bad_request("Malformed JSON body").into_response();
    }
    let Some(segments) = uri.path().strip_prefix("/api/") else {
        return error(404, "NOT_FOUND", "ilert's API is under /api").into_response();
    };
    let segments: Vec<&str> = segments.split('/').filter(|s| !s.is_empty()).collect();
    let req = Req { query, body: json_body.unwrap_or(Value::Null) };
    let mut inner = lock(&shared);
    let reply = if method == Method::POST && segments == ["events"] {
        inner.event(&req)
    } else {
        match (authorization, api_key.and_then(|k| inner.keys.get(&k).copied())) {
            (None, _) => Err(error(401, "AUTH_ERROR", "Missing Authorization header")),
            (Some(_), None) => Err(error(403, "KEY_ERROR", "The API key is invalid or has been revoked")),
            (Some(_), Some(user)) => inner.route(&method, &segments, &req, user),
        }
    };
    match reply {
        Ok((status, Value::Null)) => status.into_response(),
        Ok((status, body)) => (status, axum::Json(body)).into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

/// A running ilert simulator. Cheap to clone; all clones share state.
#[derive(Clone)]
pub struct IlertSim {
    inner: Shared,
    server: Arc<Running>,
}

impl IlertSim {
    pub async fn start() -> IlertSim {
        let inner: Shared = Arc::new(Mutex::new(Inner::default()));
        let router = Router::new().fallback(handle).with_state(inner.clone());
        let server = Arc::new(Running::serve(router).await);
        IlertSim { inner, server }
    }

    /// Base URL, to use as `ILERT_API_URL` (paths are under `/api`).
    pub fn url(&self) -> String {
        self.server.url()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        lock(&self.inner)
    }

    /// Accepts `key` as an API key acting as `user_id`.
    pub fn add_api_key(&self, key: &str, user_id: i64) {
        self.lock().keys.insert(key.to_owned(), user_id);
    }

    /// Makes `key` invalid from now on (403 `KEY_ERROR`).
    pub fn revoke_api_key(&self, key: &str) {
        self.lock().keys.remove(key);
    }

    pub fn add_user(&self, first_name: &str, last_name: &str, email: &str) -> i64 {
        let mut inner = self.lock();
        let id = inner.next_id();
        let user = User { first_name: first_name.into(), last_name: last_name.into(), email: email.into() };
        inner.users.insert(id, user);
        id
    }

    pub fn set_user_email(&self, user_id: i64, email: &str) {
        if let Some(u) = self.lock().users.get_mut(&user_id) {
            u.email = email.into();
        }
    }

    pub fn remove_user(&self, user_id: i64) {
        self.lock().users.remove(&user_id);
    }

    pub fn add_policy(&self, name: &str) -> i64 {
        let mut inner = self.lock();
        let id = inner.next_id();
        inner.policies.insert(id, name.to_owned());
        id
    }

    /// An API alert source escalating to `policy_id`, taking events with `integration_key`.
    pub fn add_source(&self, name: &str, policy_id: i64, integration_key: &str) -> i64 {
        let mut inner = self.lock();
        let id = inner.next_id();
        let source = Source { name: name.into(), integration_key: integration_key.into(), policy_id };
        inner.sources.insert(id, source);
        id
    }

    /// `user_id` is on call now (for the next day) at `level` of `policy_id`, through a
    /// schedule `(id, name)` or named in the policy directly.
    pub fn add_on_call(&self, user_id: i64, policy_id: i64, level: u32, schedule: Option<(i64, &str)>) {
        let start = Utc::now() - Age::hours(1);
        let schedule = schedule.map(|(id, name)| (id, name.to_owned()));
        let duty = Duty { user_id, policy_id, level, schedule, start, end: start + Age::days(1) };
        self.lock().duties.push(duty);
    }

    /// A PENDING alert on `source_id`, as if an ALERT event had opened it.
    pub fn add_alert(&self, source_id: i64, summary: &str, alert_key: Option<&str>) -> i64 {
        let mut inner = self.lock();
        assert!(inner.sources.contains_key(&source_id), "seed the alert source {source_id} first");
        let body = json!({ "alertKey": alert_key, "details": format!("Details of {summary}") });
        inner.open_alert(source_id, summary.to_owned(), &body)
    }

    /// The alert as `GET /api/alerts/{id}` shows it (`Value::Null` if there is none).
    pub fn alert(&self, id: i64) -> Value {
        self.lock().alert_json(id)
    }

    /// Ids of alerts with this `alertKey`, oldest first.
    pub fn alerts_with_key(&self, alert_key: &str) -> Vec<i64> {
        let inner = self.lock();
        inner.alerts.iter().filter(|(_, a)| same_key(&a.alert_key, alert_key)).map(|(id, _)| *id).collect()
    }

    /// Comments the events API added to an alert.
    pub fn comments(&self, alert_id: i64) -> Vec<Comment> {
        self.lock().alerts.get(&alert_id).map(|a| a.comments.clone()).unwrap_or_default()
    }

    /// ALERT events appended to an open alert instead of opening a new one.
    pub fn appended_events(&self, alert_id: i64) -> usize {
        self.lock().alerts.get(&alert_id).map(|a| a.appended_events).unwrap_or_default()
    }

    /// Every request so far, oldest first.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    pub fn clear_calls(&self) {
        self.lock().calls.clear();
    }

    /// The next `count` requests answer `status` (a 429 without `Retry-After`, a 5xx, …).
    pub fn fail_next(&self, count: usize, status: u16) {
        let (code, message) = match status {
            429 => ("TOO_MANY_REQUESTS", "Rate limit exceeded"),
            500..=599 => ("INTERNAL_SERVER_ERROR", "Something went wrong on our side"),
            _ => ("ERROR", "Injected failure"),
        };
        for _ in 0..count {
            self.fail_next_with(status, code, message);
        }
    }

    /// The next request not yet failing answers `status` with this `code` and `message`.
    pub fn fail_next_with(&self, status: u16, code: &str, message: &str) {
        self.lock().faults.push_back(error(status, code, message));
    }

    /// Every answer is delayed this long.
    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }

    /// Whether 202 answers to events carry `{alertKey, alertUrl, responseCode}` (default: empty).
    pub fn set_event_response_body(&self, on: bool) {
        self.lock().event_response_body = on;
    }

    /// Gives `user_id` another role (`ADMIN`, `USER`, `STAKEHOLDER`, …) than `RESPONDER`.
    pub fn set_user_role(&self, user_id: i64, role: &str) {
        self.lock().roles.insert(user_id, role.to_owned());
    }
}
