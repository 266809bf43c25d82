//! "Alert an on-call engineer": the `alert` command, the dialog (`task/fetch`) and its submit
//! (`task/submit`) against the simulators.

mod common;

use axum::http::StatusCode;
use common::*;
use domain::{AlertId, ConnectionId};
use serde_json::{Value, json};

fn task(s: &Scene, name: &str, id: &str, data: Value) -> Value {
    json!({
        "type": "invoke", "name": name, "id": id, "channelId": "msteams",
        "from": {"id": "29:jane", "name": "Jane Doe", "aadObjectId": s.user_aad},
        "recipient": {"id": BOT, "name": "ilert"},
        "conversation": {"id": format!("{};messageid={}", s.channel, s.card_id), "conversationType": "channel", "isGroup": true, "tenantId": TENANT},
        "channelData": {"tenant": {"id": TENANT}, "channel": {"id": s.channel}, "team": {"id": s.team_thread}},
        "value": {"data": data, "context": {"theme": "default"}}
    })
}

/// The dialog card of a `continue` answer.
fn dialog_card(body: &Value) -> &Value {
    assert_eq!(body["task"]["type"], "continue", "{body}");
    assert_eq!(body["task"]["value"]["title"], "Alert an on-call engineer");
    &body["task"]["value"]["card"]["content"]
}

fn choices(card: &Value) -> Vec<String> {
    let set = card["body"].as_array().unwrap().iter().find(|e| e["type"] == "Input.ChoiceSet").expect("choice set");
    assert_eq!(set["id"], "target");
    set["choices"].as_array().unwrap().iter().map(|c| c["value"].as_str().unwrap().to_owned()).collect()
}

fn posted_alerts(w: &World) -> usize {
    w.ilert.calls().iter().filter(|c| c.method == "POST" && c.path.ends_with("/alerts")).count()
}

#[tokio::test]
async fn the_alert_command_opens_a_dialog_that_creates_the_alert_and_posts_its_card() {
    let w = World::start().await;
    let s = w.scene().await;
    let thread = format!("{};messageid={}", s.channel, s.card_id);
    // The command answers with a card whose button opens the dialog.
    assert_eq!(w.send(w.message(&thread, "channel", "m1", "alert", &s.user_aad)).await.0, StatusCode::OK);
    let posted = w.connector.activities_in(&thread);
    let launcher = &posted.last().unwrap().activity["attachments"][0]["content"];
    assert_eq!(launcher["actions"][0]["type"], "Action.Submit");
    assert_eq!(launcher["actions"][0]["data"]["msteams"]["type"], "task/fetch");
    let data = launcher["actions"][0]["data"].clone();

    // task/fetch: the dialog with the alert sources and escalation policies.
    let (status, body) = w.send(task(&s, "task/fetch", "t1", data.clone())).await;
    assert_eq!(status, StatusCode::OK);
    let card = dialog_card(&body);
    let offered = choices(card);
    assert!(offered.iter().any(|c| c.starts_with("source:")), "{offered:?}");
    assert!(offered.iter().any(|c| c.starts_with("policy:")), "{offered:?}");
    let summary = card["body"].as_array().unwrap().iter().find(|e| e["id"] == "summary").unwrap();
    assert_eq!(summary["isRequired"], true);
    let details = card["body"].as_array().unwrap().iter().find(|e| e["id"] == "details").unwrap();
    assert_eq!(details["isMultiline"], true);
    let submit = card["actions"][0]["data"].clone();

    // No summary: the dialog again, with an error line and the inputs kept.
    let mut inputs = submit.clone();
    inputs["target"] = json!(offered[0]);
    inputs["summary"] = json!("   ");
    inputs["details"] = json!("since 10:00");
    let (status, body) = w.send(task(&s, "task/submit", "t2", inputs.clone())).await;
    assert_eq!(status, StatusCode::OK);
    let card = dialog_card(&body);
    assert!(text_of(card).contains("Write a summary of the problem."), "{card}");
    assert!(text_of(card).contains("since 10:00"));
    assert_eq!(posted_alerts(&w), 0);

    // A proper submit: created in ilert, the dialog closes, the card is posted and recorded.
    inputs["summary"] = json!("Checkout is down");
    let (status, body) = w.send(task(&s, "task/submit", "t3", inputs.clone())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["task"]["type"], "message", "{body}");
    let message = body["task"]["value"].as_str().unwrap();
    assert!(message.contains("created in ilert: Checkout is down"), "{message}");
    assert!(!message.contains("could not be posted"), "{message}");
    assert_eq!(posted_alerts(&w), 1);
    let created: i64 = message.split_whitespace().nth(1).unwrap().parse().unwrap();
    let alert = w.ilert.alert(created);
    assert_eq!(alert["summary"], "Checkout is down");
    let details = alert["details"].as_str().unwrap();
    assert!(details.starts_with("since 10:00") && details.contains("Jane Doe (jane@contoso.com)"), "{details}");
    let connection = ConnectionId::parse("conn-1").unwrap();
    let cards = w.store.list_cards(&connection, &AlertId::parse(created.to_string()).unwrap()).await.unwrap();
    assert_eq!(cards.len(), 1);
    assert_eq!(cards[0].conversation_id.as_str(), s.channel);
    assert_eq!(cards[0].thread_id.to_string(), format!("{};messageid={}", s.channel, cards[0].activity_id));
    let card = w.connector.activity(&cards[0].activity_id).expect("the alert card was posted");
    let content = &card.activity["attachments"][0]["content"];
    assert!(text_of(content).contains("Checkout is down"), "{content}");
    assert!(text_of(content).contains("conn-1"), "the card's actions carry the connection");
    assert_eq!(w.store.card_for_thread(&connection, &cards[0].thread_id).await.unwrap().as_ref(), Some(&cards[0]));

    // The same submit re-delivered creates nothing.
    let (_, body) = w.send(task(&s, "task/submit", "t3", inputs)).await;
    assert_eq!(body["task"]["type"], "message");
    assert_eq!(posted_alerts(&w), 1);
}

#[tokio::test]
async fn a_policy_choice_sets_the_policy_and_unmatched_users_are_refused() {
    let w = World::start().await;
    let s = w.scene().await;
    let (_, body) = w.send(task(&s, "task/fetch", "t1", json!({"dialog": "createAlert"}))).await;
    let policy = choices(dialog_card(&body)).into_iter().find(|c| c.starts_with("policy:")).unwrap();
    let data = json!({"dialog": "createAlert", "connection": "conn-1", "target": policy, "summary": "Payments slow"});
    let (_, body) = w.send(task(&s, "task/submit", "t2", data)).await;
    assert_eq!(body["task"]["type"], "message", "{body}");
    let call = w.ilert.calls().into_iter().find(|c| c.method == "POST" && c.path.ends_with("/alerts")).unwrap();
    let sent = call.body.unwrap();
    assert_eq!(sent["escalationPolicy"]["id"].to_string(), policy.trim_start_matches("policy:"), "{sent}");

    // An unknown choice: the dialog again.
    let data = json!({"dialog": "createAlert", "target": "source:999999", "summary": "x"});
    let (_, body) = w.send(task(&s, "task/submit", "t3", data)).await;
    assert!(text_of(dialog_card(&body)).contains("Choose a problem area."));

    // A Teams user ilert does not know: the dialog does not open.
    let stranger = w.graph.add_user(TENANT, "Sam Stranger", "sam@contoso.com");
    w.connector
        .add_member(json!({"id": "29:sam", "aadObjectId": stranger, "email": "sam@contoso.com", "tenantId": TENANT}));
    let mut fetch = task(&s, "task/fetch", "t4", json!({}));
    fetch["from"]["aadObjectId"] = json!(stranger);
    let (_, body) = w.send(fetch).await;
    assert_eq!(body["task"]["type"], "message");
    assert!(body["task"]["value"].as_str().unwrap().contains("not linked to an ilert user"), "{body}");
    // Another connection's dialog.
    let (_, body) = w.send(task(&s, "task/submit", "t5", json!({"connection": "conn-other", "summary": "x"}))).await;
    assert!(body["task"]["value"].as_str().unwrap().contains("another ilert account"), "{body}");
}
