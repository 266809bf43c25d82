//! The management API's behaviour, through its router, on the embedded store and a file vault.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use domain::model::{ConversationKind, ConversationStatus};
use domain::{ConnectionId, RouteId};
use serde_json::{Value, json};
use std::sync::atomic::Ordering;

const CHANNEL: &str = "19:general@thread.tacv2";
const TEAM: &str = "19:team@thread.tacv2";

fn sha256_hex(s: &str) -> String {
    management_api::webhook_secret_sha256(s)
}

// ---- authentication ----

#[tokio::test]
async fn refuses_requests_without_the_right_bearer_token() {
    let h = Harness::new().await;
    let id = h.create_connection(TENANT, "Contoso").await.str("id");
    let paths = [
        ("GET", "/admin/v1/connections".to_owned()),
        ("POST", "/admin/v1/connections".to_owned()),
        ("GET", format!("/admin/v1/connections/{id}")),
        ("DELETE", format!("/admin/v1/connections/{id}")),
        ("GET", format!("/admin/v1/connections/{id}/routes")),
        // Unknown paths too: an unauthenticated caller learns nothing about what exists.
        ("GET", "/admin/v1/nothing-here".to_owned()),
    ];
    let wrong_auth = [
        None,
        Some("Basic YWRtaW46YWRtaW4=".to_owned()),
        Some(format!("Token {TOKEN}")),
        Some("Bearer not-the-token".to_owned()),
        Some(format!("Bearer {TOKEN}x")),
        Some(format!("Bearer  {TOKEN}")),
        Some("Bearer".to_owned()),
    ];
    for (method, path) in &paths {
        for auth in &wrong_auth {
            let reply = h.call_with_auth(auth.as_deref(), method, path, None).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{method} {path} with {auth:?}");
            assert_eq!(reply.headers[header::WWW_AUTHENTICATE], "Bearer");
            assert_eq!(reply.error_code(), "unauthorized");
        }
    }
    // The connection is untouched by all those DELETEs.
    assert!(h.stored_connection(&id).await.is_some());
    h.assert_never_replied(TOKEN);
}

#[tokio::test]
async fn answers_503_naming_admin_token_when_none_is_configured() {
    let h = Harness::with_env(&[("PUBLIC_BASE_URL", BASE_URL)]).await;
    for (method, path) in [("GET", "/admin/v1/connections"), ("POST", "/admin/v1/connections")] {
        for auth in [None, Some("Bearer anything")] {
            let reply = h.call_with_auth(auth, method, path, None).await;
            assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(reply.error_code(), "not_configured");
            assert!(reply.message().starts_with("ADMIN_TOKEN is not set"), "{}", reply.message());
        }
    }
}

// ---- connections ----

#[tokio::test]
async fn creates_a_connection_showing_the_webhook_secret_once() {
    let h = Harness::new().await;
    let reply = h.create_connection(&TENANT.to_uppercase(), "  Contoso on-call  ").await;
    let id = reply.str("id");
    let mut keys: Vec<&str> = reply.body.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["createdAt", "id", "name", "tenantId", "webhookSecret", "webhookUrl"]);
    assert_eq!(reply.str("tenantId"), TENANT, "tenant ids are kept lower-case, as Teams sends them");
    assert_eq!(reply.str("name"), "Contoso on-call");
    assert_eq!(reply.str("webhookUrl"), format!("{BASE_URL}/webhooks/ilert/{id}"));
    assert_eq!(reply.headers[header::LOCATION], format!("/admin/v1/connections/{id}"));
    assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store");
    let secret = reply.str("webhookSecret");
    assert!(secret.len() >= 43 && secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));

    // Only the hash is stored; the key is in the vault, the connection only references it.
    let stored = h.stored_connection(&id).await.unwrap();
    assert_eq!(stored.webhook_secret_sha256, sha256_hex(&secret));
    let stored_json = serde_json::to_string(&stored).unwrap();
    assert!(!stored_json.contains(&secret));
    assert!(!stored_json.contains(API_KEY));
    assert_eq!(h.vault_value(&stored.ilert_api_key_ref).await.as_deref(), Some(API_KEY));
    assert!(stored.ilert_api_key_ref.starts_with(&format!("connections/{id}/")));

    // Reads never show the secret again.
    let got = h.call("GET", &format!("/admin/v1/connections/{id}"), None).await;
    assert_eq!(got.status, StatusCode::OK);
    assert!(got.body.get("webhookSecret").is_none());
    assert_eq!(got.str("webhookUrl"), reply.str("webhookUrl"));
    let listed = h.call("GET", "/admin/v1/connections", None).await;
    assert_eq!(listed.body["connections"][0]["id"], id.as_str());
    assert!(listed.body["connections"][0].get("webhookSecret").is_none());
    assert!(!listed.body.to_string().contains(&secret));
    h.assert_never_replied(API_KEY);
}

#[tokio::test]
async fn a_tenant_has_at_most_one_connection() {
    let h = Harness::new().await;
    let first = h.create_connection(TENANT, "Contoso").await.str("id");
    for tenant in [TENANT.to_owned(), TENANT.to_uppercase()] {
        let body = json!({ "tenantId": tenant, "name": "Again", "ilertApiKey": "another-key" });
        let reply = h.call("POST", "/admin/v1/connections", Some(body)).await;
        assert_eq!(reply.status, StatusCode::CONFLICT);
        assert_eq!(reply.error_code(), "conflict");
        assert!(reply.message().contains(TENANT) && reply.message().contains(&first), "{}", reply.message());
    }
    // Nothing of the refused attempts was kept.
    assert_eq!(h.vault_names().len(), 1);
    assert_eq!(h.call("GET", "/admin/v1/connections", None).await.body["connections"].as_array().unwrap().len(), 1);
    h.create_connection(OTHER_TENANT, "Fabrikam").await;
}

#[tokio::test]
async fn a_failed_store_write_leaves_no_secret_behind() {
    let h = Harness::new().await;
    h.faults.fail_creates.store(true, Ordering::SeqCst);
    let body = json!({ "tenantId": TENANT, "name": "Contoso", "ilertApiKey": API_KEY });
    let reply = h.call("POST", "/admin/v1/connections", Some(body)).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.error_code(), "unavailable");
    assert!(!reply.message().contains("injected"), "backend detail stays in the logs");
    assert!(h.vault_names().is_empty(), "the API key put before the failed write must be deleted");
}

#[tokio::test]
async fn validates_every_field_of_a_new_connection() {
    let h = Harness::new().await;
    let valid = json!({ "tenantId": TENANT, "name": "Contoso", "ilertApiKey": API_KEY });
    let with = |field: &str, value: Value| {
        let mut body = valid.clone();
        body[field] = value;
        body
    };
    let without = |field: &str| {
        let mut body = valid.clone();
        body.as_object_mut().unwrap().remove(field);
        body
    };
    let cases = [
        (with("tenantId", json!("contoso.onmicrosoft.com")), "tenantId"),
        (with("tenantId", json!("72f988bf-86f1-41af-91ab")), "tenantId"),
        (with("tenantId", json!(42)), "tenantId"),
        (without("tenantId"), "tenantId"),
        (with("name", json!("")), "name"),
        (with("name", json!("   ")), "name"),
        (with("name", json!("n".repeat(101))), "name"),
        (with("name", json!("two\nlines")), "name"),
        (with("name", json!(null)), "name"),
        (without("name"), "name"),
        (with("ilertApiKey", json!("")), "ilertApiKey"),
        (with("ilertApiKey", json!("k".repeat(513))), "ilertApiKey"),
        (with("ilertApiKey", json!(["a"])), "ilertApiKey"),
        (without("ilertApiKey"), "ilertApiKey"),
        (with("tenantID", json!(TENANT)), "tenantID"),
        (with("webhookSecret", json!("mine")), "webhookSecret"),
    ];
    for (body, field) in cases {
        let reply = h.call("POST", "/admin/v1/connections", Some(body.clone())).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(reply.error_code(), "invalid");
        assert_eq!(reply.error_field(), Some(field), "{body} -> {}", reply.body);
        assert!(reply.message().starts_with(&format!("{field}: ")), "{}", reply.message());
    }
    // The limits are inclusive.
    let edge = json!({ "tenantId": TENANT, "name": "n".repeat(100), "ilertApiKey": "k".repeat(512) });
    assert_eq!(h.call("POST", "/admin/v1/connections", Some(edge)).await.status, StatusCode::CREATED);
    assert_eq!(h.vault_names().len(), 1, "refused requests never reach the vault");
}

#[tokio::test]
async fn refuses_bodies_that_are_not_small_json_objects() {
    let h = Harness::new().await;
    let post = |content_type: Option<&'static str>, body: String| {
        let mut request =
            Request::post("/admin/v1/connections").header(header::AUTHORIZATION, format!("Bearer {TOKEN}"));
        if let Some(ct) = content_type {
            request = request.header(header::CONTENT_TYPE, ct);
        }
        request.body(Body::from(body)).unwrap()
    };
    let valid = json!({ "tenantId": TENANT, "name": "Contoso", "ilertApiKey": API_KEY }).to_string();

    let reply = h.send(post(Some("text/plain"), valid.clone())).await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(reply.error_code(), "unsupported_media_type");
    assert_eq!(h.send(post(None, valid.clone())).await.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let trailing = format!("{valid} {{}}");
    for broken in ["", "{", "[]", "\"x\"", "{\"tenantId\": }", &trailing] {
        let reply = h.send(post(Some("application/json"), broken.to_owned())).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{broken:?}");
        assert_eq!(reply.error_code(), "invalid");
        assert_eq!(reply.error_field(), None);
    }

    let huge = json!({ "tenantId": TENANT, "name": "x".repeat(70 * 1024), "ilertApiKey": API_KEY }).to_string();
    let reply = h.send(post(Some("application/json"), huge)).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.error_code(), "payload_too_large");
}

#[tokio::test]
async fn unknown_connections_are_404() {
    let h = Harness::new().await;
    let route_body = json!({ "conversationId": CHANNEL });
    for id in ["0123456789abcdef0123456789abcdef", "x%23y", &"z".repeat(200)] {
        let base = format!("/admin/v1/connections/{id}");
        let calls = [
            ("GET", base.clone(), None),
            ("PATCH", base.clone(), Some(json!({ "name": "New" }))),
            ("DELETE", base.clone(), None),
            ("POST", format!("{base}/webhook-secret"), None),
            ("GET", format!("{base}/conversations"), None),
            ("GET", format!("{base}/routes"), None),
            ("POST", format!("{base}/routes"), Some(route_body.clone())),
            ("GET", format!("{base}/routes/r1"), None),
            ("DELETE", format!("{base}/routes/r1"), None),
        ];
        for (method, path, body) in calls {
            let reply = h.call(method, &path, body).await;
            assert_eq!(reply.status, StatusCode::NOT_FOUND, "{method} {path}");
            assert_eq!(reply.error_code(), "not_found");
        }
    }
}

#[tokio::test]
async fn patch_renames_replaces_the_key_and_refuses_lost_updates() {
    let h = Harness::new().await;
    let created = h.create_connection(TENANT, "Contoso").await;
    let id = created.str("id");
    let path = format!("/admin/v1/connections/{id}");
    let before = h.stored_connection(&id).await.unwrap();

    let renamed = h.call("PATCH", &path, Some(json!({ "name": " Contoso EU " }))).await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    assert_eq!(renamed.str("name"), "Contoso EU");
    assert_eq!(renamed.str("createdAt"), created.str("createdAt"));
    assert_ne!(renamed.str("updatedAt"), renamed.str("createdAt"));
    let after = h.stored_connection(&id).await.unwrap();
    assert_eq!(after.version, before.version + 1, "updates are versioned");
    assert_eq!(after.ilert_api_key_ref, before.ilert_api_key_ref, "a rename leaves the key alone");

    let rekeyed = h.call("PATCH", &path, Some(json!({ "ilertApiKey": "il1api-new-key" }))).await;
    assert_eq!(rekeyed.status, StatusCode::OK);
    let after_key = h.stored_connection(&id).await.unwrap();
    assert_ne!(after_key.ilert_api_key_ref, before.ilert_api_key_ref);
    assert_eq!(h.vault_value(&after_key.ilert_api_key_ref).await.as_deref(), Some("il1api-new-key"));
    assert_eq!(h.vault_value(&before.ilert_api_key_ref).await, None, "the replaced key is deleted");
    assert_eq!(h.vault_names().len(), 1);

    for (body, field) in [
        (json!({}), None),
        (json!({ "name": "" }), Some("name")),
        (json!({ "ilertApiKey": "" }), Some("ilertApiKey")),
        (json!({ "nmae": "typo" }), Some("nmae")),
        (json!({ "tenantId": OTHER_TENANT }), Some("tenantId")),
    ] {
        let reply = h.call("PATCH", &path, Some(body.clone())).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(reply.error_field(), field, "{body}");
    }

    // Another writer changes the connection between this request's read and its write.
    h.faults.race_next_update.store(true, Ordering::SeqCst);
    let lost = h.call("PATCH", &path, Some(json!({ "name": "Mine", "ilertApiKey": "il1api-lost-key" }))).await;
    assert_eq!(lost.status, StatusCode::CONFLICT);
    assert_eq!(lost.error_code(), "conflict");
    let now = h.stored_connection(&id).await.unwrap();
    assert_eq!(now.name, "changed elsewhere", "the other writer's change stands");
    assert_eq!(now.ilert_api_key_ref, after_key.ilert_api_key_ref);
    assert_eq!(h.vault_names(), vec![after_key.ilert_api_key_ref.clone()], "the refused key was not kept");
    h.assert_never_replied("il1api-new-key");
    h.assert_never_replied("il1api-lost-key");
    h.assert_never_replied(API_KEY);
}

#[tokio::test]
async fn rotating_the_webhook_secret_replaces_its_hash() {
    let h = Harness::new().await;
    let created = h.create_connection(TENANT, "Contoso").await;
    let id = created.str("id");
    let old_secret = created.str("webhookSecret");

    let rotated = h.call("POST", &format!("/admin/v1/connections/{id}/webhook-secret"), None).await;
    assert_eq!(rotated.status, StatusCode::OK);
    assert_eq!(rotated.headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(rotated.str("webhookUrl"), created.str("webhookUrl"));
    let new_secret = rotated.str("webhookSecret");
    assert_ne!(new_secret, old_secret);
    let stored = h.stored_connection(&id).await.unwrap();
    assert_eq!(stored.webhook_secret_sha256, sha256_hex(&new_secret));
    assert_ne!(stored.webhook_secret_sha256, sha256_hex(&old_secret), "the old secret stops working at once");

    h.faults.race_next_update.store(true, Ordering::SeqCst);
    let raced = h.call("POST", &format!("/admin/v1/connections/{id}/webhook-secret"), None).await;
    assert_eq!(raced.status, StatusCode::CONFLICT);
    assert_eq!(h.stored_connection(&id).await.unwrap().webhook_secret_sha256, sha256_hex(&new_secret));
}

#[tokio::test]
async fn deleting_a_connection_removes_its_key_and_routes() {
    let h = Harness::new().await;
    let id = h.create_connection(TENANT, "Contoso").await.str("id");
    h.seed_conversation(TENANT, CHANNEL, ConversationKind::Channel, active(), Some((TEAM, "Ops")), Some("General"))
        .await;
    let route_body = json!({ "conversationId": CHANNEL });
    let route_id = h.call("POST", &format!("/admin/v1/connections/{id}/routes"), Some(route_body)).await.str("id");
    let key_ref = h.stored_connection(&id).await.unwrap().ilert_api_key_ref;

    let reply = h.call("DELETE", &format!("/admin/v1/connections/{id}"), None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(reply.body, Value::Null);
    assert_eq!(h.vault_value(&key_ref).await, None);
    assert!(h.vault_names().is_empty());
    let connection_id = ConnectionId::parse(id.as_str()).unwrap();
    assert!(h.store.list_routes(&connection_id).await.unwrap().is_empty());
    assert!(h.store.get_route(&connection_id, &RouteId::parse(route_id).unwrap()).await.unwrap().is_none());
    assert_eq!(h.call("GET", &format!("/admin/v1/connections/{id}"), None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(h.call("DELETE", &format!("/admin/v1/connections/{id}"), None).await.status, StatusCode::NOT_FOUND);

    // The tenant is free again.
    h.create_connection(TENANT, "Contoso again").await;
}

// ---- conversations ----

#[tokio::test]
async fn lists_where_the_bot_is_installed_for_the_tenant() {
    let h = Harness::new().await;
    let id = h.create_connection(TENANT, "Contoso").await.str("id");
    let unusable = ConversationStatus::Unusable { reason: "the bot was removed from the team".into() };
    h.seed_conversation(TENANT, "a:personal-1", ConversationKind::Personal, active(), None, None).await;
    h.seed_conversation(TENANT, "19:chat@thread.v2", ConversationKind::GroupChat, active(), None, Some("War room"))
        .await;
    h.seed_conversation(TENANT, CHANNEL, ConversationKind::Channel, active(), Some((TEAM, "Ops")), Some("General"))
        .await;
    let (archived, removed) = ("19:old@thread.tacv2", "19:gone@thread.tacv2");
    h.seed_conversation(
        TENANT,
        archived,
        ConversationKind::Channel,
        ConversationStatus::Archived,
        Some((TEAM, "Ops")),
        Some("Old"),
    )
    .await;
    h.seed_conversation(
        TENANT,
        removed,
        ConversationKind::Channel,
        unusable,
        Some(("19:t2@thread.tacv2", "Apps")),
        Some("Gone"),
    )
    .await;
    h.seed_conversation(OTHER_TENANT, "19:theirs@thread.tacv2", ConversationKind::Channel, active(), None, Some("X"))
        .await;

    let reply = h.call("GET", &format!("/admin/v1/connections/{id}/conversations"), None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let list = reply.body["conversations"].as_array().unwrap();
    let ids: Vec<&str> = list.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [removed, CHANNEL, archived, "19:chat@thread.v2", "a:personal-1"], "another tenant's never shows");

    assert_eq!(
        list[1],
        json!({ "id": CHANNEL, "type": "channel", "teamId": TEAM, "teamName": "Ops", "channelName": "General",
                "usable": true, "status": "active" })
    );
    assert_eq!(list[0]["usable"], false);
    assert_eq!(list[0]["status"], "unusable");
    assert_eq!(list[0]["reason"], "the bot was removed from the team");
    assert_eq!(list[2]["usable"], false);
    assert_eq!(list[2]["status"], "archived");
    assert!(list[2]["reason"].as_str().unwrap().contains("archived"));
    assert_eq!(
        list[3],
        json!({ "id": "19:chat@thread.v2", "type": "groupChat", "title": "War room",
                "usable": true, "status": "active" })
    );
    assert_eq!(list[4], json!({ "id": "a:personal-1", "type": "personal", "usable": true, "status": "active" }));
}

// ---- routes ----

#[tokio::test]
async fn routes_echo_their_filters_and_can_be_read_and_deleted() {
    let h = Harness::new().await;
    let id = h.create_connection(TENANT, "Contoso").await.str("id");
    h.seed_conversation(TENANT, CHANNEL, ConversationKind::Channel, active(), Some((TEAM, "Ops")), Some("General"))
        .await;
    let routes = format!("/admin/v1/connections/{id}/routes");

    let body = json!({
        "conversationId": CHANNEL,
        "alertSourceIds": [7, 3, 7],
        "escalationPolicyIds": [11],
        "priorities": ["HIGH"],
        "events": ["created", "responderAdded", "resolved"],
        "notifyResponders": true
    });
    let created = h.call("POST", &routes, Some(body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let route_id = created.str("id");
    assert_eq!(created.headers[header::LOCATION], format!("{routes}/{route_id}"));
    let expected = json!({
        "id": route_id, "connectionId": id, "conversationId": CHANNEL,
        "alertSourceIds": [7, 3], "escalationPolicyIds": [11], "priorities": ["HIGH"],
        "events": ["created", "responderAdded", "resolved"], "notifyResponders": true,
        "createdAt": created.body["createdAt"]
    });
    assert_eq!(created.body, expected);

    // Everything but the conversation may be left out: "any", and no personal notifications.
    let minimal = h.call("POST", &routes, Some(json!({ "conversationId": CHANNEL }))).await;
    assert_eq!(minimal.status, StatusCode::CREATED);
    for list in ["alertSourceIds", "escalationPolicyIds", "priorities", "events"] {
        assert_eq!(minimal.body[list], json!([]));
    }
    assert_eq!(minimal.body["notifyResponders"], false);

    let listed = h.call("GET", &routes, None).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.body["routes"].as_array().unwrap().len(), 2);
    assert!(listed.body["routes"].as_array().unwrap().contains(&expected));
    let got = h.call("GET", &format!("{routes}/{route_id}"), None).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body, expected);

    assert_eq!(h.call("DELETE", &format!("{routes}/{route_id}"), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(h.call("GET", &format!("{routes}/{route_id}"), None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(h.call("DELETE", &format!("{routes}/{route_id}"), None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(h.call("GET", &routes, None).await.body["routes"].as_array().unwrap().len(), 1);

    // A route is only found under its own connection.
    let other = h.create_connection(OTHER_TENANT, "Fabrikam").await.str("id");
    let minimal_id = minimal.str("id");
    let reply = h.call("GET", &format!("/admin/v1/connections/{other}/routes/{minimal_id}"), None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.error_code(), "not_found");
}

#[tokio::test]
async fn routes_only_target_conversations_the_bot_can_post_to() {
    let h = Harness::new().await;
    let id = h.create_connection(TENANT, "Contoso").await.str("id");
    let unusable = ConversationStatus::Unusable { reason: "the bot was blocked".into() };
    h.seed_conversation(TENANT, "19:gone@thread.tacv2", ConversationKind::Channel, unusable, None, Some("Gone")).await;
    h.seed_conversation(
        TENANT,
        "19:old@thread.tacv2",
        ConversationKind::Channel,
        ConversationStatus::Archived,
        None,
        None,
    )
    .await;
    h.seed_conversation(OTHER_TENANT, "19:theirs@thread.tacv2", ConversationKind::Channel, active(), None, None).await;
    let routes = format!("/admin/v1/connections/{id}/routes");

    for (conversation, hint) in [
        ("19:unknown@thread.tacv2", "add it in Teams first"),
        ("19:theirs@thread.tacv2", "add it in Teams first"),
        ("19:gone@thread.tacv2", "the bot was blocked"),
        ("19:old@thread.tacv2", "archived"),
        ("", "conversation id"),
        ("a#b", "conversation id"),
    ] {
        let reply = h.call("POST", &routes, Some(json!({ "conversationId": conversation }))).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{conversation}");
        assert_eq!(reply.error_field(), Some("conversationId"));
        assert!(reply.message().contains(hint), "{conversation}: {}", reply.message());
    }
    assert!(h.call("GET", &routes, None).await.body["routes"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn validates_route_selectors() {
    let h = Harness::new().await;
    let id = h.create_connection(TENANT, "Contoso").await.str("id");
    h.seed_conversation(TENANT, CHANNEL, ConversationKind::Channel, active(), None, Some("General")).await;
    let routes = format!("/admin/v1/connections/{id}/routes");
    let with = |field: &str, value: Value| {
        let mut body = json!({ "conversationId": CHANNEL });
        body[field] = value;
        body
    };
    for (body, field) in [
        (with("priorities", json!(["MEDIUM"])), "priorities[0]"),
        (with("priorities", json!(["HIGH", "high"])), "priorities[1]"),
        (with("events", json!(["created", "deleted"])), "events[1]"),
        (with("events", json!("created")), "events"),
        (with("alertSourceIds", json!([1, 0])), "alertSourceIds[1]"),
        (with("alertSourceIds", json!(["7"])), "alertSourceIds[0]"),
        (with("escalationPolicyIds", json!([-4])), "escalationPolicyIds[0]"),
        (with("escalationPolicyIds", json!((1..=101).collect::<Vec<_>>())), "escalationPolicyIds"),
        (with("notifyResponders", json!("yes")), "notifyResponders"),
        (with("conversationID", json!(CHANNEL)), "conversationID"),
        (json!({ "events": [] }), "conversationId"),
    ] {
        let reply = h.call("POST", &routes, Some(body.clone())).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(reply.error_code(), "invalid");
        assert_eq!(reply.error_field(), Some(field), "{body} -> {}", reply.body);
    }
    assert!(h.call("GET", &routes, None).await.body["routes"].as_array().unwrap().is_empty());
}

// ---- the router's gaps ----

#[tokio::test]
async fn wrong_methods_and_unknown_paths_answer_json() {
    let h = Harness::new().await;
    let id = h.create_connection(TENANT, "Contoso").await.str("id");

    let reply = h.call("PUT", "/admin/v1/connections", None).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.error_code(), "method_not_allowed");
    let allow = reply.headers[header::ALLOW].to_str().unwrap().to_owned();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    let reply = h.call("POST", &format!("/admin/v1/connections/{id}"), None).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.error_code(), "method_not_allowed");

    for path in [
        "/admin/v1".to_owned(),
        "/admin/v1/".to_owned(),
        "/admin/v1/tenants".to_owned(),
        format!("/admin/v1/connections/{id}/webhooks"),
        format!("/admin/v1/connections/{id}/routes/r1/extra"),
    ] {
        let reply = h.call("GET", &path, None).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(reply.error_code(), "not_found", "{path}");
    }
}

#[tokio::test]
async fn the_ilert_api_key_never_appears_in_any_reply() {
    let h = Harness::new().await;
    let id = h.create_connection(TENANT, "Contoso").await.str("id");
    h.seed_conversation(TENANT, CHANNEL, ConversationKind::Channel, active(), None, Some("General")).await;
    let base = format!("/admin/v1/connections/{id}");
    h.call("GET", "/admin/v1/connections", None).await;
    h.call("GET", &base, None).await;
    h.call("PATCH", &base, Some(json!({ "name": "Renamed" }))).await;
    h.call("PATCH", &base, Some(json!({ "ilertApiKey": 5 }))).await;
    h.call("PATCH", &base, Some(json!({ "ilertApiKey": format!("{API_KEY} x") }))).await;
    h.call("POST", &format!("{base}/webhook-secret"), None).await;
    h.call("GET", &format!("{base}/conversations"), None).await;
    h.call("POST", &format!("{base}/routes"), Some(json!({ "conversationId": CHANNEL }))).await;
    h.call("GET", &format!("{base}/routes"), None).await;
    let duplicate = json!({ "tenantId": TENANT, "name": "Dup", "ilertApiKey": API_KEY });
    h.call("POST", "/admin/v1/connections", Some(duplicate)).await;
    let bad = json!({ "tenantId": "nope", "name": "Bad", "ilertApiKey": API_KEY });
    h.call("POST", "/admin/v1/connections", Some(bad)).await;
    h.call("DELETE", &base, None).await;
    assert!(h.replies_seen() >= 13);
    h.assert_never_replied(API_KEY);
    h.assert_never_replied("il1api-test-key");
}
