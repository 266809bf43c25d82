//! Holds the router to `openapi.json`: the documented and the routed endpoints are the same
//! set, and what a scripted session gets back has the documented status codes, headers and
//! shapes (a small checker over serde_json for the schema subset the document uses).

mod common;

use axum::http::StatusCode;
use common::*;
use domain::model::ConversationKind;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const CHANNEL: &str = "19:general@thread.tacv2";
/// The Microsoft 365 group id of the team every fixture has in its teams directory.
const GROUP: &str = "5f1c9a2e-3b7d-4e8f-9a0b-1c2d3e4f5a6b";
/// The methods probed on every documented path (HEAD and OPTIONS are axum's business).
const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

fn doc() -> Value {
    serde_json::from_str(include_str!("../openapi.json")).expect("openapi.json is JSON")
}

/// `(METHOD, path template)` of every documented operation.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method.to_ascii_lowercase()).is_some() {
                out.insert((method.to_owned(), path.clone()));
            }
        }
    }
    out
}

fn operation<'a>(doc: &'a Value, method: &str, template: &str) -> &'a Value {
    let op = &doc["paths"][template][method.to_ascii_lowercase()];
    assert!(op.is_object(), "{method} {template} is not documented");
    op
}

/// Follows a local `$ref` (`#/components/...`).
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.strip_prefix('#').expect("only local references");
            resolve(doc, doc.pointer(pointer).unwrap_or_else(|| panic!("dangling $ref {reference}")))
        }
        None => value,
    }
}

fn documented_statuses(doc: &Value, method: &str, template: &str) -> BTreeSet<u16> {
    let responses = operation(doc, method, template)["responses"].as_object().expect("responses");
    responses.keys().map(|code| code.parse().expect("numeric status codes")).collect()
}

fn concrete(template: &str, connection: &str, route: &str) -> String {
    template.replace("{id}", connection).replace("{routeId}", route).replace("{teamId}", GROUP)
}

/// The tenant's teams directory: `GROUP` (with `CHANNEL`, where the bot is installed) and a
/// team the bot is not in, so a listing has more than one page at `limit=1`.
async fn seed_directory(h: &Harness) {
    let mut ops = directory_team(TENANT, GROUP, "Ops", &[(CHANNEL, "General"), ("19:db@thread.tacv2", "Databases")]);
    ops.description = Some("Operations".into());
    let other = directory_team(TENANT, "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b", "Sales", &[]);
    h.seed_teams(TENANT, &[ops, other]).await;
}

#[test]
fn documented_and_routed_endpoints_are_the_same() {
    let routed: BTreeSet<(String, String)> =
        management_api::endpoints().into_iter().map(|(m, p)| (m.as_str().to_owned(), p)).collect();
    let documented = documented(&doc());
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(undocumented.is_empty(), "routed but not in openapi.json: {undocumented:?}");
    assert!(unrouted.is_empty(), "in openapi.json but not routed: {unrouted:?}");
}

/// A connection with a conversation and a route, so every documented path names something.
async fn fixture() -> (Harness, String, String) {
    let h = Harness::new().await;
    let id = h.create_connection(TENANT, "Contoso").await.str("id");
    h.seed_conversation(TENANT, CHANNEL, ConversationKind::Channel, active(), None, Some("General")).await;
    seed_directory(&h).await;
    let routes = format!("/admin/v1/connections/{id}/routes");
    let route_id = h.call("POST", &routes, Some(json!({ "conversationId": CHANNEL }))).await.str("id");
    (h, id, route_id)
}

#[tokio::test]
async fn every_documented_operation_is_served_and_nothing_else() {
    let doc = doc();
    let operations = documented(&doc);
    let paths: BTreeSet<&String> = operations.iter().map(|(_, p)| p).collect();
    for template in paths {
        for method in METHODS {
            // A fresh fixture per call, so a DELETE cannot hide what the next call would find.
            let (h, id, route_id) = fixture().await;
            let path = concrete(template, &id, &route_id);
            let is_documented = operations.contains(&(method.to_owned(), template.clone()));
            let has_body = is_documented && operation(&doc, method, template).get("requestBody").is_some();
            let reply = h.call(method, &path, has_body.then(|| json!({}))).await;
            if is_documented {
                assert!(
                    reply.status != StatusCode::NOT_FOUND && reply.status != StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {template} is documented but answered {}",
                    reply.status
                );
                let statuses = documented_statuses(&doc, method, template);
                assert!(
                    statuses.contains(&reply.status.as_u16()),
                    "{method} {template}: undocumented {}",
                    reply.status
                );
            } else {
                assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {template} is not documented");
                assert_eq!(reply.error_code(), "method_not_allowed");
                assert_schema(&doc, &json!({ "$ref": "#/components/schemas/Error" }), &reply.body, "405");
            }
        }
    }
}

/// Checks replies against the document and remembers which operations answered 2xx.
struct Conformance {
    doc: Value,
    succeeded: BTreeSet<(String, String)>,
}

impl Conformance {
    fn check(&mut self, method: &str, template: &str, reply: &Reply) {
        let status = reply.status.as_u16();
        let op = operation(&self.doc, method, template);
        let what = format!("{method} {template} → {status}");
        let response = op["responses"]
            .get(status.to_string())
            .unwrap_or_else(|| panic!("{what}: status not documented ({})", reply.body));
        let response = resolve(&self.doc, response);
        match response.pointer("/content/application~1json/schema") {
            Some(schema) => assert_schema(&self.doc, schema, &reply.body, &what),
            None => assert_eq!(reply.body, Value::Null, "{what}: documented without a body"),
        }
        for header in response.get("headers").and_then(Value::as_object).into_iter().flatten().map(|(k, _)| k) {
            assert!(reply.headers.contains_key(header.as_str()), "{what}: documented header {header} missing");
        }
        if reply.status.is_success() {
            self.succeeded.insert((method.to_owned(), template.to_owned()));
        }
    }
}

#[tokio::test]
async fn a_scripted_session_matches_the_documented_responses() {
    let h = Harness::new().await;
    let mut c = Conformance { doc: doc(), succeeded: BTreeSet::new() };
    h.seed_conversation(
        TENANT,
        CHANNEL,
        ConversationKind::Channel,
        active(),
        Some(("19:t@thread.tacv2", "Ops")),
        Some("General"),
    )
    .await;
    let unusable = domain::model::ConversationStatus::Unusable { reason: "blocked".into() };
    h.seed_conversation(TENANT, "a:personal", ConversationKind::Personal, unusable.clone(), None, None).await;
    h.seed_team_channel(TENANT, "19:db@thread.tacv2", GROUP, unusable).await;
    seed_directory(&h).await;

    let create = json!({ "tenantId": TENANT, "name": "Contoso", "ilertApiKey": API_KEY });
    let reply = h.call("POST", "/admin/v1/connections", Some(create.clone())).await;
    c.check("POST", "/admin/v1/connections", &reply);
    let id = reply.str("id");
    let one = "/admin/v1/connections/{id}";
    let path = |template: &str, route: &str| concrete(template, &id, route);

    let steps: Vec<(&str, &str, Option<Value>)> = vec![
        ("GET", "/admin/v1/connections", None),
        ("GET", one, None),
        ("PATCH", one, Some(json!({ "name": "Contoso EU", "ilertApiKey": "il1api-second" }))),
        ("GET", "/admin/v1/connections/{id}/conversations", None),
        ("GET", "/admin/v1/connections/{id}/teams", None),
        ("GET", "/admin/v1/connections/{id}/teams/{teamId}/channels", None),
        ("GET", "/admin/v1/connections/{id}/routes", None),
    ];
    for (method, template, body) in steps {
        let reply = h.call(method, &path(template, ""), body).await;
        assert!(reply.status.is_success(), "{method} {template}: {}", reply.body);
        c.check(method, template, &reply);
    }

    let routes = "/admin/v1/connections/{id}/routes";
    let route_body = json!({
        "conversationId": CHANNEL, "alertSourceIds": [1], "escalationPolicyIds": [], "priorities": ["LOW"],
        "events": ["accepted"], "notifyResponders": false
    });
    let reply = h.call("POST", &path(routes, ""), Some(route_body)).await;
    c.check("POST", routes, &reply);
    let route_id = reply.str("id");
    let route = "/admin/v1/connections/{id}/routes/{routeId}";
    for (method, template) in [("GET", routes), ("GET", route), ("DELETE", route)] {
        let reply = h.call(method, &path(template, &route_id), None).await;
        assert!(reply.status.is_success(), "{method} {template}: {}", reply.body);
        c.check(method, template, &reply);
    }
    let reply = h.call("POST", &path("/admin/v1/connections/{id}/webhook-secret", ""), None).await;
    c.check("POST", "/admin/v1/connections/{id}/webhook-secret", &reply);
    assert_eq!(reply.status, StatusCode::OK);

    // A page that is not the last has `next`; a page's query can be refused.
    let teams = "/admin/v1/connections/{id}/teams";
    let first = h.call("GET", &format!("{}?limit=1", path(teams, "")), None).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert!(first.body.get("next").is_some(), "{}", first.body);
    c.check("GET", teams, &first);
    let last = h.call("GET", &format!("{}?limit=1&cursor={}", path(teams, ""), first.str("next")), None).await;
    assert_eq!(last.status, StatusCode::OK, "{}", last.body);
    assert!(last.body.get("next").is_none(), "{}", last.body);
    c.check("GET", teams, &last);
    for query in ["limit=0", "cursor=garbage"] {
        let reply = h.call("GET", &format!("{}?{query}", path(teams, "")), None).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}: {}", reply.body);
        c.check("GET", teams, &reply);
    }
    let channels = "/admin/v1/connections/{id}/teams/{teamId}/channels";
    let unknown_team = path(channels, "").replace(GROUP, "00000000-0000-4000-8000-000000000000");
    let reply = h.call("GET", &unknown_team, None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    c.check("GET", channels, &reply);

    // The documented failures have the documented shape too.
    let token = format!("Bearer {TOKEN}");
    let failures = [
        ("POST", "/admin/v1/connections", Some(create.clone()), token.as_str(), StatusCode::CONFLICT),
        ("POST", "/admin/v1/connections", Some(json!({ "tenantId": "x" })), &token, StatusCode::BAD_REQUEST),
        ("POST", routes, Some(json!({ "conversationId": "a:personal" })), &token, StatusCode::BAD_REQUEST),
        ("GET", route, None, &token, StatusCode::NOT_FOUND),
        ("GET", one, None, "Bearer wrong", StatusCode::UNAUTHORIZED),
        ("GET", teams, None, "Bearer wrong", StatusCode::UNAUTHORIZED),
        ("GET", channels, None, "Bearer wrong", StatusCode::UNAUTHORIZED),
    ];
    for (method, template, body, auth, expected) in failures {
        let reply = h.call_with_auth(Some(auth), method, &path(template, "no-such-route"), body).await;
        assert_eq!(reply.status, expected, "{method} {template}: {}", reply.body);
        c.check(method, template, &reply);
    }

    let reply = h.call("DELETE", &path(one, ""), None).await;
    c.check("DELETE", one, &reply);
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    for template in [one, teams, channels] {
        let reply = h.call("GET", &path(template, ""), None).await;
        c.check("GET", template, &reply);
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{template} of a deleted connection");
    }

    let not_covered: Vec<_> = documented(&c.doc).difference(&c.succeeded).cloned().collect();
    assert!(not_covered.is_empty(), "the session never saw these succeed: {not_covered:?}");
    h.assert_never_replied(API_KEY);
    h.assert_never_replied("il1api-second");
}

#[tokio::test]
async fn a_service_without_admin_token_answers_the_documented_503() {
    let doc = doc();
    let h = Harness::with_env(&[("PUBLIC_BASE_URL", BASE_URL)]).await;
    let mut c = Conformance { doc: doc.clone(), succeeded: BTreeSet::new() };
    for (method, template) in documented(&doc) {
        let reply = h.call(&method, &concrete(&template, "c1", "r1"), None).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
        c.check(&method, &template, &reply);
    }
}

// ---- a checker for the JSON Schema subset openapi.json uses ----

fn assert_schema(doc: &Value, schema: &Value, value: &Value, what: &str) {
    let mut errors = Vec::new();
    validate(doc, schema, value, "$", &mut errors);
    assert!(
        errors.is_empty(),
        "{what}: the reply does not match its schema:\n  {}\nreply: {value}",
        errors.join("\n  ")
    );
}

fn validate(doc: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        errors.push(format!("{at}: {value} is not one of {allowed:?}"));
    }
    let Some(kind) = schema.get("type").and_then(Value::as_str) else {
        return;
    };
    let type_ok = match kind {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        other => panic!("{at}: the checker does not know type {other}"),
    };
    if !type_ok {
        errors.push(format!("{at}: expected {kind}, got {value}"));
        return;
    }
    match kind {
        "object" => validate_object(doc, schema, value, at, errors),
        "array" => {
            for (i, item) in value.as_array().into_iter().flatten().enumerate() {
                validate(doc, &schema["items"], item, &format!("{at}[{i}]"), errors);
            }
        }
        "string" => validate_string(schema, value.as_str().unwrap_or_default(), at, errors),
        "integer" => {
            if let (Some(min), Some(v)) = (schema.get("minimum").and_then(Value::as_i64), value.as_i64())
                && v < min
            {
                errors.push(format!("{at}: {v} is below the minimum {min}"));
            }
        }
        _ => {}
    }
}

fn validate_object(doc: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let object = value.as_object().expect("checked");
    let properties = schema.get("properties").and_then(Value::as_object);
    for required in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
        let name = required.as_str().expect("required names");
        if !object.contains_key(name) {
            errors.push(format!("{at}: required property {name} is missing"));
        }
    }
    for (name, item) in object {
        match properties.and_then(|p| p.get(name)) {
            Some(property) => validate(doc, property, item, &format!("{at}.{name}"), errors),
            None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                errors.push(format!("{at}: property {name} is not documented"));
            }
            None => {}
        }
    }
}

fn validate_string(schema: &Value, s: &str, at: &str, errors: &mut Vec<String>) {
    let length = s.chars().count() as u64;
    if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
        && length < min
    {
        errors.push(format!("{at}: shorter than {min}"));
    }
    if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
        && length > max
    {
        errors.push(format!("{at}: longer than {max}"));
    }
    let format_ok = match schema.get("format").and_then(Value::as_str) {
        Some("date-time") => chrono::DateTime::parse_from_rfc3339(s).is_ok(),
        Some("uri") => url_like(s),
        Some("uuid") => {
            let groups: Vec<&str> = s.split('-').collect();
            groups.len() == 5 && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n)
        }
        _ => true,
    };
    if !format_ok {
        errors.push(format!("{at}: {s:?} is not a {}", schema["format"]));
    }
}

fn url_like(s: &str) -> bool {
    (s.starts_with("https://") || s.starts_with("http://")) && !s.contains(char::is_whitespace)
}
