//! ilert webhook → notifications queue → cards in Teams, end to end against the simulators.

use axum::http::StatusCode;
use base64::Engine;
use domain::model::ConversationStatus;
use domain::{ConversationId, TenantId};
use e2e::{TENANT, World, alert_event, card_of, verbs};
use serde_json::json;
use std::time::Duration;

const CHANNEL: &str = "19:alerts@thread.tacv2";
const WAIT: Duration = Duration::from_secs(20);

async fn connected_world(route: serde_json::Value) -> (World, String, String) {
    let world = World::start().await;
    let (connection, secret) = world.connect(TENANT).await;
    world.install_channel(TENANT, CHANNEL).await;
    let mut body = json!({ "conversationId": CHANNEL });
    body.as_object_mut().unwrap().extend(route.as_object().unwrap().clone());
    world.route(&connection, body).await;
    (world, connection, secret)
}

fn replies(world: &World, root: &str) -> Vec<String> {
    world
        .connector
        .thread(CHANNEL, root)
        .map(|t| t.replies.iter().filter_map(|r| r.activity["text"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn an_alert_becomes_one_card_that_updates_in_place_with_thread_replies() {
    let (world, connection, secret) = connected_world(json!({})).await;
    let (status, body) =
        world.webhook(&connection, &secret, &alert_event("4711", "alert-created", "PENDING", 0, "e-created")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    world.settle(WAIT).await;

    let posts = world.connector.activities_in(CHANNEL);
    assert_eq!(posts.len(), 1, "one card thread");
    let root = posts[0].id.clone();
    let card = card_of(&posts[0].activity);
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(card["version"], "1.5");
    assert!(card.to_string().contains("Disk full on db-1"));
    assert!(verbs(&card).contains(&"accept".to_string()));

    let mut comment = alert_event("4711", "alert-comment-added", "PENDING", 1, "e-comment");
    comment["comment"] = json!("Looking into it");
    for event in [
        alert_event("4711", "alert-assigned", "PENDING", 1, "e-assigned"),
        comment,
        alert_event("4711", "alert-acknowledged", "ACCEPTED", 2, "e-ack"),
        alert_event("4711", "alert-resolved", "RESOLVED", 3, "e-resolved"),
    ] {
        let (status, body) = world.webhook(&connection, &secret, &event).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        world.settle(WAIT).await;
    }
    let thread = world.connector.thread(CHANNEL, &root).unwrap();
    assert!(thread.root.versions.len() >= 3, "the card was updated in place: {} versions", thread.root.versions.len());
    let last = card_of(&thread.root.activity);
    let last_verbs = verbs(&last);
    assert!(!last_verbs.contains(&"accept".to_string()), "no Accept on a resolved alert: {last_verbs:?}");
    assert!(!last_verbs.contains(&"resolve".to_string()));
    assert_eq!(
        replies(&world, &root),
        vec!["Assigned to Jane Doe", "Comment: Looking into it", "Accepted by Jane Doe", "Resolved"],
    );
    let roots: Vec<_> = world.connector.activities_in(CHANNEL).into_iter().filter(|a| a.id == root).collect();
    assert_eq!(roots.len(), 1, "still one card");
}

#[tokio::test]
async fn the_webhook_authenticates_and_validates() {
    let world = World::start().await;
    let (connection, secret) = world.connect(TENANT).await;
    let path = format!("/webhooks/ilert/{connection}");
    let body = alert_event("1", "alert-created", "PENDING", 0, "e1").to_string().into_bytes();
    let post = |headers: Vec<(&'static str, String)>, body: Vec<u8>| {
        let world = &world;
        let path = path.clone();
        async move {
            let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            world.call("POST", &path, &h, Some(body)).await
        }
    };
    assert_eq!(post(vec![], body.clone()).await.0, StatusCode::UNAUTHORIZED, "no secret");
    assert_eq!(post(vec![("authorization", "Bearer wrong".into())], body.clone()).await.0, StatusCode::UNAUTHORIZED);
    let (status, err) = world
        .call(
            "POST",
            "/webhooks/ilert/no-such-connection",
            &[("authorization", &format!("Bearer {secret}"))],
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{err}");
    // ilert puts Basic credentials in the URL; any user name, the secret as password.
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("ilert:{secret}"));
    assert_eq!(post(vec![("authorization", format!("Basic {basic}"))], body.clone()).await.0, StatusCode::ACCEPTED);
    let other = alert_event("2", "alert-created", "PENDING", 0, "e2").to_string().into_bytes();
    assert_eq!(post(vec![("x-webhook-secret", secret.clone())], other).await.0, StatusCode::ACCEPTED);

    let auth = vec![("authorization", format!("Bearer {secret}"))];
    let (status, err) = post(auth.clone(), b"{not json".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(err["error"]["message"].as_str().unwrap().contains("not JSON"), "{err}");
    let (status, err) = post(auth.clone(), b"[1,2]".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    let (status, err) = post(auth.clone(), json!({ "eventType": "alert-created" }).to_string().into_bytes()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["field"], "id");
    let (status, _) = post(auth.clone(), vec![b' '; 300 * 1024]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (status, answer) =
        post(auth.clone(), json!({ "id": "3", "eventType": "alert-snoozed" }).to_string().into_bytes()).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(answer["status"], "ignored");

    // The fixture ilert documents (a legacy event name) is accepted too.
    let fixture = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/ilert/webhook-payload-docs-sample.json"
    ))
    .expect("../shared/fixtures beside the checkout");
    let (status, answer) = post(auth, fixture).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
}

#[tokio::test]
async fn duplicates_and_late_events_neither_post_twice_nor_revert_the_card() {
    let (world, connection, secret) = connected_world(json!({})).await;
    let resolved = alert_event("77", "alert-resolved", "RESOLVED", 30, "e-resolved");
    assert_eq!(world.webhook(&connection, &secret, &resolved).await.0, StatusCode::ACCEPTED);
    world.settle(WAIT).await;
    // ilert redelivers the same event: the endpoint says so and nothing is posted again.
    let (status, answer) = world.webhook(&connection, &secret, &resolved).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["status"], "duplicate");
    // A late, older event does not revert the card.
    assert_eq!(
        world.webhook(&connection, &secret, &alert_event("77", "alert-created", "PENDING", 1, "e-created")).await.0,
        StatusCode::ACCEPTED
    );
    world.settle(WAIT).await;
    let posts: Vec<_> = world
        .connector
        .activities_in(CHANNEL)
        .into_iter()
        .filter(|a| !a.conversation_id.contains("messageid") || a.reply_to_id.is_none())
        .collect();
    let roots: Vec<_> = posts.iter().filter(|a| a.activity["attachments"].is_array()).collect();
    assert_eq!(roots.len(), 1, "one card, however often and in whatever order the events came");
    let card = card_of(&roots[0].activity);
    assert!(!verbs(&card).contains(&"accept".to_string()), "the card still shows the alert resolved");
    assert_eq!(roots[0].versions.len(), 1, "the late event did not update the card");
}

#[tokio::test]
async fn per_event_toggles_decide_what_posts() {
    let (world, connection, secret) = connected_world(json!({ "events": ["created", "resolved"] })).await;
    for event in [
        alert_event("9", "alert-created", "PENDING", 0, "a"),
        alert_event("9", "alert-acknowledged", "ACCEPTED", 1, "b"),
        alert_event("9", "alert-resolved", "RESOLVED", 2, "c"),
    ] {
        world.webhook(&connection, &secret, &event).await;
        world.settle(WAIT).await;
    }
    let root = world.connector.activities_in(CHANNEL)[0].id.clone();
    assert_eq!(replies(&world, &root), vec!["Resolved"], "acceptances do not post on this route");
    let thread = world.connector.thread(CHANNEL, &root).unwrap();
    assert_eq!(thread.root.versions.len(), 3, "the card itself still follows every change");

    // A route that does not select the alert's source gets nothing.
    let (world, connection, secret) = connected_world(json!({ "alertSourceIds": [12345] })).await;
    world.webhook(&connection, &secret, &alert_event("10", "alert-created", "PENDING", 0, "d")).await;
    world.settle(WAIT).await;
    assert!(world.connector.activities_in(CHANNEL).is_empty());
}

#[tokio::test]
async fn a_conversation_that_refuses_the_bot_is_marked_unusable_and_left_alone() {
    let (world, connection, secret) = connected_world(json!({})).await;
    world.connector.block(CHANNEL);
    world.webhook(&connection, &secret, &alert_event("5", "alert-created", "PENDING", 0, "x")).await;
    world.settle(WAIT).await;
    let stored = world
        .runner
        .store
        .get_conversation(&TenantId::parse(TENANT).unwrap(), &ConversationId::parse(CHANNEL).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(stored.status, ConversationStatus::Unusable { .. }), "{:?}", stored.status);
    let (_, listed) = world.admin("GET", &format!("/admin/v1/connections/{connection}/conversations"), None).await;
    assert_eq!(listed["conversations"][0]["usable"], false, "{listed}");
    let requests = world.connector.requests().len();
    world.webhook(&connection, &secret, &alert_event("6", "alert-created", "PENDING", 0, "y")).await;
    world.settle(WAIT).await;
    assert_eq!(world.connector.requests().len(), requests, "no more posts to a conversation that refused us");
}

#[tokio::test]
async fn throttling_is_absorbed_and_every_card_arrives() {
    let (world, connection, secret) = connected_world(json!({})).await;
    world.connector.throttle_next(3, 1);
    for (i, id) in ["100", "101", "102"].into_iter().enumerate() {
        world
            .webhook(&connection, &secret, &alert_event(id, "alert-created", "PENDING", i as u32, &format!("t{id}")))
            .await;
    }
    world.settle(WAIT).await;
    let cards: Vec<_> =
        world.connector.activities_in(CHANNEL).into_iter().filter(|a| a.activity["attachments"].is_array()).collect();
    assert_eq!(cards.len(), 3, "every card delivered once despite the 429s");
    assert!(world.connector.requests().iter().any(|r| r.status == 429), "the simulator did throttle");
}

#[tokio::test]
async fn a_route_can_also_notify_the_responders_personally() {
    let (world, connection, secret) = connected_world(json!({ "notifyResponders": true })).await;
    let tenant = TenantId::parse(TENANT).unwrap();
    // Jane (ilert user 2, the alert's responder) has the bot installed personally.
    let jane = domain::AadObjectId::parse("aad-jane").unwrap();
    let chat = "a:1personal-jane";
    world.connector.add_conversation(chat, TENANT);
    let mut personal = world.install_channel(TENANT, chat).await;
    personal.kind = domain::model::ConversationKind::Personal;
    personal.team = None;
    personal.user_aad_object_id = Some(jane.clone());
    world.runner.store.save_conversation(&personal).await.unwrap();
    world
        .runner
        .store
        .put_user_mapping(&domain::model::UserMapping {
            tenant_id: tenant,
            aad_object_id: jane,
            ilert_user_id: 2,
            email: "jane@contoso.com".into(),
            display_name: Some("Jane Doe".into()),
            source: domain::model::MappingSource::DirectorySync,
            updated_at: chrono::Utc::now(),
        })
        .await
        .unwrap();
    world.webhook(&connection, &secret, &alert_event("55", "alert-created", "PENDING", 0, "p1")).await;
    world.settle(WAIT).await;
    assert_eq!(world.connector.activities_in(CHANNEL).len(), 1, "the channel card");
    let direct = world.connector.activities_in(chat);
    assert_eq!(direct.len(), 1, "and Jane's own card");
    assert!(card_of(&direct[0].activity).to_string().contains("Disk full on db-1"));
}
