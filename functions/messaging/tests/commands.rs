//! The chat commands against the simulators: `help`, `alerts`, `subscribe`, `unsubscribe`,
//! `subscriptions` and `oncall` without an argument, in a channel, a group chat and a
//! personal chat.

mod common;

use axum::http::StatusCode;
use chrono::Utc;
use common::*;
use domain::model::Route;
use domain::{ConnectionId, ConversationId, RouteId};
use serde_json::Value;

/// Sends `text` as the scene's user in `conversation` and returns what the bot posted there.
async fn ask(w: &World, conversation: &str, kind: &str, id: &str, text: &str, aad: &str) -> Vec<Value> {
    let before = w.connector.activities_in(conversation).len();
    let (status, body) = w.send(w.message(conversation, kind, id, text, aad)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    w.connector.activities_in(conversation).into_iter().skip(before).map(|a| a.activity).collect()
}

async fn ask_text(w: &World, conversation: &str, kind: &str, id: &str, text: &str, aad: &str) -> String {
    ask(w, conversation, kind, id, text, aad).await.iter().map(text_of).collect::<Vec<_>>().join("\n")
}

fn conn() -> ConnectionId {
    ConnectionId::parse("conn-1").unwrap()
}

async fn routes_of(w: &World, conversation: &str) -> Vec<Route> {
    w.store.routes_for_conversation(&conn(), &ConversationId::parse(conversation).unwrap()).await.unwrap()
}

async fn add_route(w: &World, conversation: &str, sources: Vec<i64>, policies: Vec<i64>) {
    let route = Route {
        id: RouteId::generate(),
        connection_id: conn(),
        conversation_id: ConversationId::parse(conversation).unwrap(),
        alert_source_ids: sources,
        escalation_policy_ids: policies,
        priorities: Vec::new(),
        events: Vec::new(),
        notify_responders: false,
        created_at: Utc::now(),
    };
    w.store.create_route(&route).await.unwrap();
}

fn source_of(w: &World, alert: i64) -> i64 {
    w.ilert.alert(alert)["alertSource"]["id"].as_i64().unwrap()
}

#[tokio::test]
async fn help_lists_every_command() {
    let w = World::start().await;
    let s = w.scene().await;
    let thread = format!("{};messageid={}", s.channel, s.card_id);
    let help = ask_text(&w, &thread, "channel", "h1", "Help", &s.user_aad).await;
    for command in [
        "help",
        "connect",
        "whoami",
        "oncall",
        "alerts",
        "accept <id>",
        "resolve <id>",
        "subscribe",
        "unsubscribe",
        "subscriptions",
    ] {
        assert!(help.contains(command), "help does not mention {command}: {help}");
    }
}

#[tokio::test]
async fn alerts_shows_open_routed_alerts_newest_first_as_actionable_cards() {
    let w = World::start().await;
    let s = w.scene().await;
    let thread = format!("{};messageid={}", s.channel, s.card_id);
    // No routes: say so, and how to subscribe.
    let answer = ask_text(&w, &thread, "channel", "a1", "ALERTS", &s.user_aad).await;
    assert!(answer.contains("No alerts are routed to this conversation"), "{answer}");
    assert!(answer.contains("subscribe"), "{answer}");

    let grafana = source_of(&w, s.alert);
    let newer = w.ilert.add_alert(grafana, "CPU hot on web-2", None);
    let resolved = w.ilert.add_alert(grafana, "Old and resolved", None);
    w.send(w.execute(&s, "f:res", "resolve", serde_json::json!({"alertId": resolved.to_string()}))).await;
    assert_eq!(w.ilert.alert(resolved)["status"], "RESOLVED");
    let other_policy = w.ilert.add_policy("Other");
    let other_source = w.ilert.add_source("Datadog", other_policy, "dd-key");
    w.ilert.add_alert(other_source, "Not routed here", None);
    add_route(&w, &s.channel, vec![grafana], vec![]).await;

    let posted = ask(&w, &thread, "channel", "a2", "alerts", &s.user_aad).await;
    assert_eq!(posted.len(), 3, "a line and two cards: {posted:?}");
    assert!(text_of(&posted[0]).contains("2 open alerts for this conversation"), "{:?}", posted[0]);
    assert!(text_of(&posted[1]).contains("CPU hot on web-2"), "newest first: {:?}", posted[1]);
    assert!(text_of(&posted[2]).contains("Disk full on db-1"));
    for card in &posted[1..] {
        let raw = card.to_string();
        assert!(raw.contains("application/vnd.microsoft.card.adaptive"), "{raw}");
        assert!(raw.contains(r#""connection":"conn-1""#), "action data names the connection: {raw}");
        assert!(raw.contains(r#""verb":"accept""#), "with its actions: {raw}");
    }
    assert!(!posted.iter().any(|p| text_of(p).contains("Not routed here") || text_of(p).contains("Old and resolved")));

    // The card's actions work: accept the newer one through the posted card's data.
    let mut invoke = w.execute(&s, "f:acc", "accept", serde_json::json!({"alertId": newer.to_string()}));
    invoke["replyToId"] = serde_json::json!(s.card_id);
    let (_, body) = w.send(invoke).await;
    assert_eq!(body["statusCode"], 200, "{body}");
    assert_eq!(w.ilert.alert(newer)["status"], "ACCEPTED");
    // Accepted alerts are still open.
    let posted = ask(&w, &thread, "channel", "a3", "alerts", &s.user_aad).await;
    assert_eq!(posted.len(), 3, "{posted:?}");
}

#[tokio::test]
async fn only_admins_subscribe_and_everyone_sees_subscriptions() {
    let w = World::start().await;
    let s = w.scene().await;
    let thread = format!("{};messageid={}", s.channel, s.card_id);
    let grafana = source_of(&w, s.alert);

    // Nothing yet.
    let answer = ask_text(&w, &thread, "channel", "s0", "subscriptions", &s.user_aad).await;
    assert!(answer.contains("Nothing is subscribed in this conversation yet"), "{answer}");

    // A responder may not.
    let answer = ask_text(&w, &thread, "channel", "s1", "subscribe Grafana", &s.user_aad).await;
    assert!(answer.contains("Only ilert admins can change subscriptions; ask an admin of Acme ilert"), "{answer}");
    assert!(routes_of(&w, &s.channel).await.is_empty());

    // An unmatched Teams user may not either.
    let stranger = w.graph.add_user(TENANT, "Sam Stranger", "sam@contoso.com");
    w.connector.add_member(
        serde_json::json!({"id": "29:sam", "aadObjectId": stranger, "email": "sam@contoso.com", "tenantId": TENANT}),
    );
    let answer = ask_text(&w, &thread, "channel", "s2", "subscribe Grafana", &stranger).await;
    assert!(answer.contains("Only ilert admins can change subscriptions"), "{answer}");
    assert!(answer.contains("sam@contoso.com"), "{answer}");

    // An admin may: by name, case-insensitively.
    w.ilert.set_user_role(s.ilert_user, "ADMIN");
    let answer = ask_text(&w, &thread, "channel", "s3", "Subscribe grafana", &s.user_aad).await;
    assert!(answer.contains(&format!("Subscribed: alerts of alert source Grafana (id {grafana})")), "{answer}");
    let routes = routes_of(&w, &s.channel).await;
    assert_eq!(routes.len(), 1);
    assert_eq!(routes[0].alert_source_ids, vec![grafana]);
    assert!(routes[0].escalation_policy_ids.is_empty());
    let answer = ask_text(&w, &thread, "channel", "s4", "subscribe Grafana", &s.user_aad).await;
    assert!(answer.contains("already subscribed"), "{answer}");
    assert_eq!(routes_of(&w, &s.channel).await.len(), 1);

    // By policy id.
    let policy = w.ilert.alert(s.alert)["escalationPolicy"]["id"].as_i64().unwrap();
    let answer = ask_text(&w, &thread, "channel", "s5", &format!("subscribe {policy}"), &s.user_aad).await;
    assert!(answer.contains("escalation policy Ops on-call"), "{answer}");

    // Ambiguous and unknown names.
    let dup_policy = w.ilert.add_policy("Shared");
    w.ilert.add_source("Shared", dup_policy, "shared-key");
    let answer = ask_text(&w, &thread, "channel", "s6", "subscribe shared", &s.user_aad).await;
    assert!(answer.contains("could be any of these"), "{answer}");
    assert!(answer.contains("alert source Shared") && answer.contains("escalation policy Shared"), "{answer}");
    let answer = ask_text(&w, &thread, "channel", "s7", "subscribe Nope", &s.user_aad).await;
    assert!(answer.contains("No alert source or escalation policy is called \"Nope\""), "{answer}");
    let answer = ask_text(&w, &thread, "channel", "s8", "subscribe policy shared", &s.user_aad).await;
    assert!(answer.contains(&format!("escalation policy Shared (id {dup_policy})")), "{answer}");
    assert_eq!(routes_of(&w, &s.channel).await.len(), 3);

    // Everyone sees them, with names.
    let answer = ask_text(&w, &thread, "channel", "s9", "subscriptions", &stranger).await;
    assert!(answer.contains(&format!("alert source Grafana (id {grafana})")), "{answer}");
    assert!(answer.contains(&format!("escalation policy Ops on-call (id {policy})")), "{answer}");

    // Unsubscribe: refused for others, done for admins; a route with more sources is narrowed.
    let answer = ask_text(&w, &thread, "channel", "u1", "unsubscribe Grafana", &stranger).await;
    assert!(answer.contains("Only ilert admins"), "{answer}");
    let datadog = w.ilert.add_source("Datadog", policy, "dd-key");
    add_route(&w, &s.channel, vec![grafana, datadog], vec![]).await;
    let answer = ask_text(&w, &thread, "channel", "u2", "unsubscribe GRAFANA", &s.user_aad).await;
    assert!(answer.contains("Unsubscribed: alerts of alert source Grafana"), "{answer}");
    let routes = routes_of(&w, &s.channel).await;
    assert!(routes.iter().all(|r| !r.alert_source_ids.contains(&grafana)), "{routes:?}");
    assert!(routes.iter().any(|r| r.alert_source_ids == vec![datadog]), "{routes:?}");
    assert_eq!(routes.len(), 3, "{routes:?}");
    let answer = ask_text(&w, &thread, "channel", "u3", "unsubscribe Grafana", &s.user_aad).await;
    assert!(answer.contains("not subscribed to alert source Grafana"), "{answer}");
}

#[tokio::test]
async fn subscriptions_work_in_group_and_personal_chats() {
    let w = World::start().await;
    let s = w.scene().await;
    w.ilert.set_user_role(s.ilert_user, "ADMIN");
    let grafana = source_of(&w, s.alert);
    for (chat, kind) in [("19:group-chat@thread.v2", "groupChat"), ("a:personal-jane", "personal")] {
        w.connector.add_conversation(chat, TENANT);
        let answer = ask_text(&w, chat, kind, &format!("{kind}-1"), "subscribe Grafana", &s.user_aad).await;
        assert!(answer.contains("Subscribed"), "{kind}: {answer}");
        assert_eq!(routes_of(&w, chat).await.len(), 1, "{kind}");
        let answer = ask_text(&w, chat, kind, &format!("{kind}-2"), "subscriptions", &s.user_aad).await;
        assert!(answer.contains("Grafana"), "{kind}: {answer}");
        let posted = ask(&w, chat, kind, &format!("{kind}-3"), "alerts", &s.user_aad).await;
        assert_eq!(posted.len(), 2, "{kind}: {posted:?}");
        assert!(text_of(&posted[1]).contains("Disk full on db-1"), "{kind}");
        let answer =
            ask_text(&w, chat, kind, &format!("{kind}-4"), &format!("unsubscribe {grafana}"), &s.user_aad).await;
        assert!(answer.contains("Unsubscribed"), "{kind}: {answer}");
        assert!(routes_of(&w, chat).await.is_empty(), "{kind}");
    }
    // The channel was never subscribed.
    assert!(routes_of(&w, &s.channel).await.is_empty());
}

#[tokio::test]
async fn oncall_without_argument_follows_the_routes() {
    let w = World::start().await;
    let s = w.scene().await;
    let thread = format!("{};messageid={}", s.channel, s.card_id);
    let max = w.ilert.add_user("Max", "Muster", "max@contoso.com");
    let other = w.ilert.add_policy("Database on-call");
    w.ilert.add_on_call(max, other, 2, None);

    // No routes: everyone on call now.
    let answer = ask_text(&w, &thread, "channel", "o1", "oncall", &s.user_aad).await;
    assert!(answer.contains("Jane Doe (Ops on-call, level 1) until"), "{answer}");
    assert!(answer.contains("Max Muster (Database on-call, level 2) until"), "{answer}");

    // Routed to the Grafana source: its policy only.
    add_route(&w, &s.channel, vec![source_of(&w, s.alert)], vec![]).await;
    let answer = ask_text(&w, &thread, "channel", "o2", "OnCall", &s.user_aad).await;
    assert!(answer.contains("for the escalation policies of this conversation"), "{answer}");
    assert!(answer.contains("Jane Doe (Ops on-call, level 1)"), "{answer}");
    assert!(!answer.contains("Max Muster"), "{answer}");

    // And a route naming the other policy adds it.
    add_route(&w, &s.channel, vec![], vec![other]).await;
    let answer = ask_text(&w, &thread, "channel", "o3", "oncall", &s.user_aad).await;
    assert!(answer.contains("Jane Doe") && answer.contains("Max Muster (Database on-call, level 2)"), "{answer}");
}
