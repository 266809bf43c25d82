//! The endpoint end to end against the simulators: HTTP checks, installs, card actions,
//! de-duplication, refusals and the real Teams fixtures.

mod common;

use axum::http::StatusCode;
use common::*;
use domain::{ConversationId, TenantId};
use serde_json::json;

#[tokio::test]
async fn http_checks_come_before_the_body_is_trusted() {
    let w = World::start().await;
    assert_eq!(w.raw("GET", None, vec![]).await.0, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(w.raw("POST", None, b"[1]".to_vec()).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(w.raw("POST", None, vec![b' '; 300 * 1024]).await.0, StatusCode::PAYLOAD_TOO_LARGE);
    let (status, body) =
        w.raw("POST", None, json!({"type": "message", "channelId": "msteams"}).to_string().into_bytes()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, "no Authorization header");
    // A valid token for another serviceUrl does not vouch for this body.
    let token = w.bot_login.channel_token(APP_ID, "http://127.0.0.1:1/evil/");
    let body = json!({"type": "message", "channelId": "msteams", "serviceUrl": w.service_url(TENANT)});
    let (status, _) = w.raw("POST", Some(&format!("Bearer {token}")), body.to_string().into_bytes()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Signed but without a type.
    let (status, _) = w.send(json!({"channelId": "msteams", "channelData": {"tenant": {"id": TENANT}}})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Unknown types are fine; unknown invokes get a proper "not implemented".
    let (status, _) = w
        .send(json!({"type": "someFutureThing", "channelId": "msteams", "channelData": {"tenant": {"id": TENANT}}}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = w
        .send(json!({"type": "invoke", "name": "config/fetch", "id": "i1", "channelId": "msteams", "conversation": {"id": "a:1"}, "channelData": {"tenant": {"id": TENANT}}}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["statusCode"], 501);
    assert_eq!(body["type"], "application/vnd.microsoft.error");
}

#[tokio::test]
async fn install_in_a_team_stores_the_reference_and_welcomes_once() {
    let w = World::start().await;
    let mut install = fixture("teams-conversationupdate-bot-added-to-team.json");
    let channel = install["conversation"]["id"].as_str().unwrap().to_owned();
    let tenant = install["channelData"]["tenant"]["id"].as_str().unwrap().to_owned();
    install["recipient"]["id"] = json!(BOT);
    install["membersAdded"][0]["id"] = json!(BOT);
    w.connector.add_conversation(&channel, &tenant);
    assert_eq!(w.send(install.clone()).await.0, StatusCode::OK);
    let posted = w.connector.activities_in(&channel);
    assert_eq!(posted.len(), 1, "one welcome card");
    assert!(text_of(&posted[0].activity).contains("not connected to ilert"), "{:?}", posted[0].activity);
    let tenant_id = TenantId::parse(&tenant).unwrap();
    let stored =
        w.store.get_conversation(&tenant_id, &ConversationId::parse(&channel).unwrap()).await.unwrap().unwrap();
    assert_eq!(stored.team.as_ref().unwrap().aad_group_id.as_deref(), Some("f3ec8cd2-e704-4344-8c47-9a3a21d683c0"));
    assert_eq!(stored.service_url, w.service_url(&tenant));
    // Re-delivery, and the installationUpdate that accompanies it: no second welcome.
    assert_eq!(w.send(install.clone()).await.0, StatusCode::OK);
    let mut add = install.clone();
    add["type"] = json!("installationUpdate");
    add["action"] = json!("add");
    add["id"] = json!("f:another");
    assert_eq!(w.send(add).await.0, StatusCode::OK);
    assert_eq!(w.connector.activities_in(&channel).len(), 1);

    // A channel created, then the bot removed from the team: every reference goes.
    let created = json!({"type": "conversationUpdate", "id": "f:c1", "channelId": "msteams", "recipient": {"id": BOT},
        "conversation": {"id": channel, "conversationType": "channel", "tenantId": tenant},
        "channelData": {"eventType": "channelCreated", "channel": {"id": "19:new@thread.tacv2", "name": "Incidents"},
            "team": install["channelData"]["team"], "tenant": {"id": tenant}}});
    assert_eq!(w.send(created).await.0, StatusCode::OK);
    let team_id = install["channelData"]["team"]["id"].as_str().unwrap();
    assert_eq!(w.store.list_team_conversations(&tenant_id, team_id).await.unwrap().len(), 2);
    let mut removed = install.clone();
    removed["id"] = json!("f:removed");
    removed["membersAdded"] = json!([]);
    removed["membersRemoved"] = json!([{"id": BOT}]);
    removed["channelData"]["eventType"] = json!("teamMemberRemoved");
    assert_eq!(w.send(removed).await.0, StatusCode::OK);
    assert!(w.store.list_team_conversations(&tenant_id, team_id).await.unwrap().is_empty());
    assert!(w.store.list_conversations(&tenant_id).await.unwrap().is_empty());
}

#[tokio::test]
async fn accept_returns_the_refreshed_card_and_updates_it_for_everyone() {
    let w = World::start().await;
    let s = w.scene().await;
    let (status, body) = w.send(w.execute(&s, "f:accept-1", "accept", json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["statusCode"], 200);
    assert_eq!(body["type"], "application/vnd.microsoft.card.adaptive");
    assert_eq!(w.ilert.alert(s.alert)["status"], "ACCEPTED");
    let calls = w.ilert.calls();
    let assign = calls.iter().find(|c| c.path.ends_with("/assign")).expect("assigned first");
    assert_eq!(assign.query_values("user"), vec![s.ilert_user.to_string().as_str()]);
    let card = w.connector.activity(&s.card_id).unwrap();
    assert_eq!(card.versions.len(), 2, "the card was PUT");
    assert_eq!(card.activity["attachments"][0]["content"], body["value"]);
    // The match was remembered as an on-demand mapping.
    let aad = domain::AadObjectId::parse(&s.user_aad).unwrap();
    let mapping = w.store.get_user_mapping(&TenantId::parse(TENANT).unwrap(), &aad).await.unwrap().unwrap();
    assert_eq!(mapping.ilert_user_id, s.ilert_user);
    assert_eq!(mapping.source, domain::model::MappingSource::OnDemand);

    // The same invoke again: the current card, nothing done twice.
    let before = w.ilert.calls().len();
    let (status, again) = w.send(w.execute(&s, "f:accept-1", "accept", json!({}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["type"], "application/vnd.microsoft.card.adaptive");
    assert_eq!(w.ilert.calls().len(), before);
    assert_eq!(w.connector.activity(&s.card_id).unwrap().versions.len(), 2);

    // Resolve, then resolving again is refused with a reason.
    let (_, body) = w.send(w.execute(&s, "f:resolve-1", "resolve", json!({}))).await;
    assert_eq!(body["statusCode"], 200, "{body}");
    assert_eq!(w.ilert.alert(s.alert)["status"], "RESOLVED");
    let (status, body) = w.send(w.execute(&s, "f:resolve-2", "resolve", json!({}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["value"]["message"], "This alert was already resolved");
}

#[tokio::test]
async fn reassign_and_comment() {
    let w = World::start().await;
    let s = w.scene().await;
    let other = w.ilert.add_user("Max", "Muster", "max@contoso.com");
    let (_, body) = w.send(w.execute(&s, "f:r1", "reassign", json!({"reassignTarget": format!("user:{other}")}))).await;
    assert_eq!(body["statusCode"], 200, "{body}");
    let assign = w.ilert.calls().into_iter().rfind(|c| c.path.ends_with("/assign")).unwrap();
    assert_eq!(assign.query_values("user"), vec![other.to_string().as_str()]);
    let (status, body) = w.send(w.execute(&s, "f:r2", "reassign", json!({"reassignTarget": "nobody"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let (_, body) = w.send(w.execute(&s, "f:c1", "comment", json!({"comment": "rebooting db-1"}))).await;
    assert_eq!(body["statusCode"], 200, "{body}");
    let comments = w.ilert.comments(s.alert);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert_eq!(w.connector.activity(&s.card_id).unwrap().versions.len(), 3);
}

#[tokio::test]
async fn create_channel_queues_a_job_and_shows_a_notice() {
    let w = World::start().await;
    let s = w.scene().await;
    let (_, body) = w.send(w.execute(&s, "f:p1", "createChannel", json!({}))).await;
    assert_eq!(body["statusCode"], 200, "{body}");
    assert!(text_of(&body["value"]).contains("Creating the channel…"));
    let jobs = w.queue.receive(10).await.unwrap();
    assert_eq!(jobs.len(), 1);
    let job: messaging::jobs::ProvisioningJob = serde_json::from_str(&jobs[0].body).unwrap();
    assert_eq!(job.kind, messaging::jobs::ProvisioningKind::Channel);
    assert_eq!(job.acting_user.ilert_user_id, s.ilert_user);
    assert_eq!(job.conversation_id.as_str(), s.channel);
}

#[tokio::test]
async fn unmatched_users_non_members_and_other_tenants_are_refused() {
    let w = World::start().await;
    let s = w.scene().await;
    // A Teams user ilert does not know.
    let stranger = w.graph.add_user(TENANT, "Sam Stranger", "sam@contoso.com");
    w.connector
        .add_member(json!({"id": "29:sam", "aadObjectId": stranger, "email": "sam@contoso.com", "tenantId": TENANT}));
    let mut invoke = w.execute(&s, "f:u1", "accept", json!({}));
    invoke["from"]["aadObjectId"] = json!(stranger);
    let (status, body) = w.send(invoke).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["value"]["message"],
        "You are not linked to an ilert user: ask your ilert admin to add sam@contoso.com"
    );

    // Known to ilert but not in the channel.
    let outsider = w.graph.add_user(TENANT, "Olga Outsider", "olga@contoso.com");
    w.connector
        .add_member(json!({"id": "29:olga", "aadObjectId": outsider, "email": "olga@contoso.com", "tenantId": TENANT}));
    w.ilert.add_user("Olga", "Outsider", "olga@contoso.com");
    let mut invoke = w.execute(&s, "f:u2", "accept", json!({}));
    invoke["from"]["aadObjectId"] = json!(outsider);
    let (_, body) = w.send(invoke).await;
    assert_eq!(body["value"]["message"], "You are not a member of this channel");
    assert_eq!(w.ilert.alert(s.alert)["status"], "PENDING");

    // A card of this connection clicked in another tenant.
    let mut invoke = w.execute(&s, "f:u3", "accept", json!({}));
    invoke["channelData"]["tenant"]["id"] = json!(OTHER_TENANT);
    invoke["conversation"]["tenantId"] = json!(OTHER_TENANT);
    let (_, body) = w.send(invoke).await;
    assert_eq!(body["value"]["code"], "NotConnected", "{body}");
    // A card naming another connection, in this tenant.
    let (_, body) = w.send(w.execute(&s, "f:u4", "accept", json!({"connection": "conn-other"}))).await;
    assert_eq!(body["value"]["code"], "WrongTenant");
    assert_eq!(w.ilert.alert(s.alert)["status"], "PENDING");
}

#[tokio::test]
async fn commands_answer_in_the_conversation() {
    let w = World::start().await;
    let s = w.scene().await;
    let thread = format!("{};messageid={}", s.channel, s.card_id);
    let send = |id: &str, text: &str| w.send(w.message(&thread, "channel", id, text, &s.user_aad));
    assert_eq!(send("1", "HELP").await.0, StatusCode::OK);
    assert_eq!(send("2", "whoami").await.0, StatusCode::OK);
    assert_eq!(send("3", "connect").await.0, StatusCode::OK);
    assert_eq!(send("4", "oncall Ops on-call").await.0, StatusCode::OK);
    assert_eq!(send("5", "frobnicate").await.0, StatusCode::OK);
    assert_eq!(send("6", &format!("accept {}", s.alert)).await.0, StatusCode::OK);
    // A re-delivered command has no second effect.
    assert_eq!(send("6", &format!("accept {}", s.alert)).await.0, StatusCode::OK);
    // The first activity of the thread is the alert card itself.
    let texts: Vec<String> = w.connector.activities_in(&thread).iter().skip(1).map(|a| text_of(&a.activity)).collect();
    assert!(texts[0].contains("What the ilert bot can do"), "{texts:?}");
    assert!(texts[1].contains("matched to the ilert user Jane Doe"), "{texts:?}");
    assert!(texts[2].contains("Acme ilert"), "{texts:?}");
    assert!(texts[3].contains("Jane Doe (Ops on-call, level 1)"), "{texts:?}");
    assert!(texts[4].contains("I don't know \"frobnicate\""), "{texts:?}");
    assert!(texts[5].contains("What the ilert bot can do"), "{texts:?}");
    assert!(texts[6].contains(&format!("Alert {} accepted", s.alert)), "{texts:?}");
    assert_eq!(texts.len(), 7, "{texts:?}");
    assert_eq!(w.ilert.alert(s.alert)["status"], "ACCEPTED");
    assert_eq!(send("7", &format!("resolve {}", s.alert)).await.0, StatusCode::OK);
    assert_eq!(w.ilert.alert(s.alert)["status"], "RESOLVED");
    let last = w.connector.activities_in(&thread).last().map(|a| text_of(&a.activity)).unwrap();
    assert!(last.contains(&format!("Alert {} resolved", s.alert)), "{last}");
}

#[tokio::test]
async fn team_and_channel_changes_keep_the_references_true() {
    let w = World::start().await;
    let mut install = fixture("teams-conversationupdate-bot-added-to-team.json");
    let channel = install["conversation"]["id"].as_str().unwrap().to_owned();
    let tenant = install["channelData"]["tenant"]["id"].as_str().unwrap().to_owned();
    install["recipient"]["id"] = json!(BOT);
    install["membersAdded"][0]["id"] = json!(BOT);
    w.connector.add_conversation(&channel, &tenant);
    assert_eq!(w.send(install.clone()).await.0, StatusCode::OK);
    let tenant_id = TenantId::parse(&tenant).unwrap();
    let team = install["channelData"]["team"].clone();
    let event = |id: &str, event_type: &str, channel_data: serde_json::Value| {
        let mut data = json!({"eventType": event_type, "team": team, "tenant": {"id": tenant}});
        data.as_object_mut().unwrap().extend(channel_data.as_object().unwrap().clone());
        json!({"type": "conversationUpdate", "id": id, "channelId": "msteams", "recipient": {"id": BOT},
            "conversation": {"id": channel, "conversationType": "channel", "tenantId": tenant}, "channelData": data})
    };
    let get =
        || async { w.store.get_conversation(&tenant_id, &ConversationId::parse(&channel).unwrap()).await.unwrap() };
    let mut renamed_team = team.clone();
    renamed_team["name"] = json!("Platform Ops");
    let mut e = event("f:t1", "teamRenamed", json!({}));
    e["channelData"]["team"] = renamed_team;
    assert_eq!(w.send(e).await.0, StatusCode::OK);
    assert_eq!(get().await.unwrap().team.unwrap().name.as_deref(), Some("Platform Ops"));
    let e = event("f:t2", "channelRenamed", json!({"channel": {"id": channel, "name": "alerts-prod"}}));
    assert_eq!(w.send(e).await.0, StatusCode::OK);
    assert_eq!(get().await.unwrap().channel_name.as_deref(), Some("alerts-prod"));
    assert_eq!(w.send(event("f:t3", "teamArchived", json!({}))).await.0, StatusCode::OK);
    assert_eq!(get().await.unwrap().status, domain::model::ConversationStatus::Archived);
    assert_eq!(w.send(event("f:t4", "teamUnarchived", json!({}))).await.0, StatusCode::OK);
    assert_eq!(get().await.unwrap().status, domain::model::ConversationStatus::Active);
    assert_eq!(w.send(event("f:t5", "teamDeleted", json!({}))).await.0, StatusCode::OK);
    assert!(get().await.is_none(), "a deleted team's references go");
}

#[tokio::test]
async fn real_teams_fixtures_get_the_right_answer() {
    let w = World::start().await;
    // A channel thread message with a mention, in a tenant without a connection.
    let mut message = fixture("teams-message-channel-thread-reply-mention.teamsnet.json");
    let channel = message["channelData"]["channel"]["id"].as_str().unwrap().to_owned();
    let tenant = message["channelData"]["tenant"]["id"].as_str().unwrap().to_owned();
    w.connector.add_conversation(&channel, &tenant);
    // The thread's root must exist in the simulator for the reply to land in it.
    let root = w.post_card_in(&tenant, &channel).await;
    let conversation = format!("{channel};messageid={root}");
    message["conversation"]["id"] = json!(conversation);
    let (status, _) = w.send(message).await;
    assert_eq!(status, StatusCode::OK);
    let posted = w.connector.activities_in(&conversation);
    assert_eq!(posted.len(), 2, "the root and the answer");
    assert!(text_of(&posted[1].activity).contains("not connected to ilert"));

    // The real invoke (personal, no verb): a clear error, not a failure.
    let (status, body) = w.send(fixture("teams-invoke-adaptivecard-action.teamsnet.json")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["type"], "application/vnd.microsoft.error");
    assert_eq!(body["value"]["code"], "UnknownAction");

    // Personal install: reference with the user, and a personal welcome.
    let mut install = fixture("teams-conversationupdate-bot-added-personal.json");
    // The fixture's recipient is a placeholder; the bot is the first member added.
    install["recipient"]["id"] = install["membersAdded"][0]["id"].clone();
    let chat = install["conversation"]["id"].as_str().unwrap().to_owned();
    let tenant = install["conversation"]["tenantId"]
        .as_str()
        .or(install["channelData"]["tenant"]["id"].as_str())
        .unwrap()
        .to_owned();
    w.connector.add_conversation(&chat, &tenant);
    assert_eq!(w.send(install).await.0, StatusCode::OK);
    let posted = w.connector.activities_in(&chat);
    assert_eq!(posted.len(), 1, "personal welcome");
    assert!(text_of(&posted[0].activity).contains("Hi, I'm the ilert bot"));
    let stored = w
        .store
        .get_conversation(&TenantId::parse(&tenant).unwrap(), &ConversationId::parse(&chat).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.kind, domain::model::ConversationKind::Personal);
}

#[tokio::test]
async fn the_action_submit_fallback_acts_like_action_execute() {
    let w = World::start().await;
    let s = w.scene().await;
    // Clients without Universal Actions send the card's data as a message `value`.
    let mut submit = w.execute(&s, "1759944781999", "accept", json!({}));
    submit["type"] = json!("message");
    submit["value"] = submit["value"]["action"]["data"].take();
    submit.as_object_mut().unwrap().remove("name");
    let (status, _) = w.send(submit.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(w.ilert.alert(s.alert)["status"], "ACCEPTED");
    assert_eq!(w.connector.activity(&s.card_id).unwrap().versions.len(), 2, "the card was updated for everyone");
    // A refusal has no inline answer on this path: it is posted as a reply.
    let mut again = submit;
    again["id"] = json!("1759944782000");
    again["value"]["verb"] = json!("accept");
    let resolved = w.execute(&s, "f:resolve-fallback", "resolve", json!({}));
    w.send(resolved).await;
    let (status, _) = w.send(again).await;
    assert_eq!(status, StatusCode::OK);
    let texts: Vec<String> = w.connector.activities_in(&s.channel).iter().map(|a| text_of(&a.activity)).collect();
    assert!(texts.iter().any(|t| t.contains("already resolved")), "{texts:?}");
}
