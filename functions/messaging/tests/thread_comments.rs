//! Replies in an alert card's thread become comments on the alert in ilert.

mod common;

use axum::http::StatusCode;
use chrono::Utc;
use common::*;
use domain::model::AlertCard;
use domain::{AlertId, ConnectionId, ConversationId};
use serde_json::{Value, json};

/// Records the scene's card as the notifier would, so its thread can be found.
async fn record_card(w: &World, s: &Scene) -> String {
    let thread = format!("{};messageid={}", s.channel, s.card_id);
    w.store
        .save_card(&AlertCard {
            connection_id: ConnectionId::parse("conn-1").unwrap(),
            alert_id: AlertId::parse(s.alert.to_string()).unwrap(),
            conversation_id: ConversationId::parse(&s.channel).unwrap(),
            thread_id: ConversationId::parse(&thread).unwrap(),
            activity_id: s.card_id.clone(),
            rendered_revision: 1,
            updated_at: Utc::now(),
            version: 0,
        })
        .await
        .unwrap();
    thread
}

/// A reply in `thread` without a mention of the bot.
fn reply(thread: &str, id: &str, text: &str, aad: &str) -> Value {
    json!({
        "type": "message", "id": id, "channelId": "msteams", "text": text,
        "from": {"id": "29:jane", "name": "Jane Doe", "aadObjectId": aad},
        "recipient": {"id": BOT, "name": "ilert"},
        "conversation": {"id": thread, "conversationType": "channel", "isGroup": true, "tenantId": TENANT},
        "channelData": {"tenant": {"id": TENANT}}
    })
}

#[tokio::test]
async fn a_reply_in_the_cards_thread_becomes_a_comment_once() {
    let w = World::start().await;
    let s = w.scene().await;
    let thread = record_card(&w, &s).await;
    assert_eq!(w.send(reply(&thread, "r1", "restarting db-1 now", &s.user_aad)).await.0, StatusCode::OK);
    let comments = w.ilert.comments(s.alert);
    assert_eq!(comments.len(), 1, "{comments:?}");
    let comment = format!("{:?}", comments[0]);
    assert!(comment.contains("restarting db-1 now") && comment.contains("Jane Doe"), "{comment}");
    let event = w.ilert.calls().into_iter().find(|c| c.path.ends_with("/events")).unwrap().body.unwrap();
    assert_eq!(event["eventType"], "COMMENT");
    assert_eq!(event["alertKey"], "disk-db-1");
    assert_eq!(event["integrationKey"], "il-integration-key");
    // Nothing is said in the thread on success.
    assert_eq!(w.connector.activities_in(&thread).len(), 1, "only the card");
    // Re-delivered: no second comment.
    assert_eq!(w.send(reply(&thread, "r1", "restarting db-1 now", &s.user_aad)).await.0, StatusCode::OK);
    assert_eq!(w.ilert.comments(s.alert).len(), 1);
}

#[tokio::test]
async fn mentions_stay_commands_and_other_threads_are_ignored() {
    let w = World::start().await;
    let s = w.scene().await;
    let thread = record_card(&w, &s).await;
    // A mention in the card's thread is a command, not a comment.
    assert_eq!(w.send(w.message(&thread, "channel", "m1", "help", &s.user_aad)).await.0, StatusCode::OK);
    assert!(w.ilert.comments(s.alert).is_empty());
    let texts: Vec<String> = w.connector.activities_in(&thread).iter().map(|a| text_of(&a.activity)).collect();
    assert!(texts.last().unwrap().contains("What the ilert bot can do"), "{texts:?}");
    // A thread whose root is not one of our cards: nothing happens, nothing is said.
    let other_root = w.post_card(&s.channel).await;
    let other = format!("{};messageid={other_root}", s.channel);
    assert_eq!(w.send(reply(&other, "r2", "unrelated chatter", &s.user_aad)).await.0, StatusCode::OK);
    assert!(w.ilert.comments(s.alert).is_empty());
    assert_eq!(w.connector.activities_in(&other).len(), 1, "only the root");
}

#[tokio::test]
async fn unmatched_users_and_alerts_without_a_key_are_told_why() {
    let w = World::start().await;
    let s = w.scene().await;
    let thread = record_card(&w, &s).await;
    let stranger = w.graph.add_user(TENANT, "Sam Stranger", "sam@contoso.com");
    w.connector
        .add_member(json!({"id": "29:sam", "aadObjectId": stranger, "email": "sam@contoso.com", "tenantId": TENANT}));
    assert_eq!(w.send(reply(&thread, "r1", "me too", &stranger)).await.0, StatusCode::OK);
    assert!(w.ilert.comments(s.alert).is_empty());
    let said = text_of(&w.connector.activities_in(&thread).last().unwrap().activity);
    assert!(said.contains("not added to ilert alert") && said.contains("sam@contoso.com"), "{said}");

    // An alert without an alert key cannot take comments through the events API.
    let policy = w.ilert.add_policy("Other");
    let source = w.ilert.add_source("Manual", policy, "il-other-key");
    let keyless = w.ilert.add_alert(source, "No key", None);
    let root = w.post_card(&s.channel).await;
    let keyless_thread = format!("{};messageid={root}", s.channel);
    w.store
        .save_card(&AlertCard {
            connection_id: ConnectionId::parse("conn-1").unwrap(),
            alert_id: AlertId::parse(keyless.to_string()).unwrap(),
            conversation_id: ConversationId::parse(&s.channel).unwrap(),
            thread_id: ConversationId::parse(&keyless_thread).unwrap(),
            activity_id: root,
            rendered_revision: 1,
            updated_at: Utc::now(),
            version: 0,
        })
        .await
        .unwrap();
    assert_eq!(w.send(reply(&keyless_thread, "r2", "looking", &s.user_aad)).await.0, StatusCode::OK);
    let said = text_of(&w.connector.activities_in(&keyless_thread).last().unwrap().activity);
    assert!(said.contains("it has no alert key"), "{said}");
}
