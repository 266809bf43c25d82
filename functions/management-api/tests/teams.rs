//! The teams directory endpoints: a connection's tenant's teams and their channels, marked
//! with where the bot is installed, through the router on the embedded store.

mod common;

use axum::http::{StatusCode, header};
use common::*;
use domain::model::{ConversationKind, ConversationStatus};
use serde_json::{Value, json};

const OPS: &str = "3a1b2c3d-0000-4000-8000-000000000001";
const SALES: &str = "3a1b2c3d-0000-4000-8000-000000000002";
const GENERAL: &str = "19:ops-general@thread.tacv2";
const INCIDENTS: &str = "19:ops-incidents@thread.tacv2";
const DATABASES: &str = "19:ops-databases@thread.tacv2";

fn teams_path(connection: &str) -> String {
    format!("/admin/v1/connections/{connection}/teams")
}

fn channels_path(connection: &str, team: &str) -> String {
    format!("/admin/v1/connections/{connection}/teams/{team}/channels")
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_owned()).collect()
}

/// A group id that sorts by `n`.
fn group(n: usize) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

/// Ops (three channels, the bot in two of them) and Sales (the bot not installed).
async fn contoso(h: &Harness) -> String {
    let id = h.create_connection(TENANT, "Contoso").await.str("id");
    let mut ops =
        directory_team(TENANT, OPS, "Ops", &[(INCIDENTS, "incidents"), (DATABASES, "Databases"), (GENERAL, "General")]);
    ops.description = Some("On-call and incidents".into());
    ops.channels[1].membership_type = "private".into();
    let sales = directory_team(TENANT, SALES, "Sales", &[("19:sales-general@thread.tacv2", "General")]);
    h.seed_teams(TENANT, &[sales, ops]).await;
    h.seed_team_channel(TENANT, GENERAL, OPS, active()).await;
    let removed = ConversationStatus::Unusable { reason: "the bot was blocked".into() };
    h.seed_team_channel(TENANT, DATABASES, OPS, removed).await;
    id
}

#[tokio::test]
async fn pages_through_every_team_exactly_once() {
    let h = Harness::new().await;
    let id = h.create_connection(TENANT, "Contoso").await.str("id");
    // Stored out of order: the listing is by group id whatever the sync wrote first.
    let teams: Vec<_> =
        [4, 0, 6, 2, 5, 1, 3].map(|n| directory_team(TENANT, &group(n), &format!("Team {n}"), &[])).into();
    h.seed_teams(TENANT, &teams).await;

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let query = match &cursor {
            Some(c) => format!("?limit=3&cursor={c}"),
            None => "?limit=3".to_owned(),
        };
        let reply = h.call("GET", &format!("{}{query}", teams_path(&id)), None).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let page = ids(&reply.body["teams"]);
        assert!(page.len() <= 3, "{page:?}");
        seen.extend(page);
        pages += 1;
        assert!(pages <= 7, "the listing never ends");
        match reply.body.get("next") {
            Some(next) => cursor = Some(next.as_str().unwrap().to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, (0..7).map(group).collect::<Vec<_>>(), "every team once, by group id");
    assert!(pages >= 3);

    // Without `limit` a page holds up to 100: here all of them, and no `next`.
    let all = h.call("GET", &teams_path(&id), None).await;
    assert_eq!(ids(&all.body["teams"]), seen);
    assert!(all.body.get("next").is_none(), "{}", all.body);
    assert_eq!(h.call("GET", &format!("{}?limit=200", teams_path(&id)), None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn refuses_a_limit_outside_1_to_200_naming_limit() {
    let h = Harness::new().await;
    let id = contoso(&h).await;
    for bad in ["0", "201", "abc", "", "-1", "2.5", "99999999999"] {
        let reply = h.call("GET", &format!("{}?limit={bad}", teams_path(&id)), None).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "limit={bad}");
        assert_eq!(reply.error_code(), "invalid");
        assert_eq!(reply.error_field(), Some("limit"), "limit={bad}: {}", reply.body);
        assert!(reply.message().contains("1 to 200"), "{}", reply.message());
    }
    // A misspelt or repeated parameter is refused too, not silently ignored.
    for (query, field) in [("limt=5", "limt"), ("limit=5&limit=6", "limit"), ("cursor=a&cursor=b", "cursor")] {
        let reply = h.call("GET", &format!("{}?{query}", teams_path(&id)), None).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(reply.error_field(), Some(field), "{query}: {}", reply.body);
    }
}

#[tokio::test]
async fn refuses_a_garbage_cursor_naming_cursor() {
    let h = Harness::new().await;
    let id = contoso(&h).await;
    // Not base64, base64 of something else, and a well-formed cursor of another partition.
    let foreign = "eyJwayI6IlRFTkFOVCN4Iiwic2siOiJURUFNI3giLCJnc2kxc2siOm51bGx9";
    for bad in ["garbage!", "", "bm90IGpzb24", foreign, "%7B%7D"] {
        let reply = h.call("GET", &format!("{}?cursor={bad}", teams_path(&id)), None).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "cursor={bad}: {}", reply.body);
        assert_eq!(reply.error_code(), "invalid");
        assert_eq!(reply.error_field(), Some("cursor"), "cursor={bad}");
    }
}

#[tokio::test]
async fn says_where_the_bot_is_installed() {
    let h = Harness::new().await;
    let id = contoso(&h).await;

    let reply = h.call("GET", &teams_path(&id), None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let teams = reply.body["teams"].as_array().unwrap();
    assert_eq!(ids(&reply.body["teams"]), [OPS, SALES]);
    let synced_at = teams[0]["syncedAt"].clone();
    assert!(chrono::DateTime::parse_from_rfc3339(synced_at.as_str().unwrap()).is_ok());
    assert_eq!(
        teams[0],
        json!({ "id": OPS, "displayName": "Ops", "description": "On-call and incidents", "channelCount": 3,
                "syncedAt": synced_at, "botInstalled": true })
    );
    assert_eq!(teams[1]["botInstalled"], false, "the bot is in no channel of Sales");
    assert!(teams[1].get("description").is_none());

    let reply = h.call("GET", &channels_path(&id, OPS), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        reply.body["team"],
        json!({ "id": OPS, "displayName": "Ops", "description": "On-call and incidents", "syncedAt": synced_at })
    );
    let channels = reply.body["channels"].as_array().unwrap();
    assert_eq!(ids(&reply.body["channels"]), [GENERAL, DATABASES, INCIDENTS], "General first, then by name");
    assert_eq!(
        channels[0],
        json!({ "id": GENERAL, "displayName": "General", "membershipType": "standard", "botInstalled": true,
                "usable": true, "status": "active" })
    );
    assert_eq!(
        channels[1],
        json!({ "id": DATABASES, "displayName": "Databases", "membershipType": "private", "botInstalled": true,
                "usable": false, "status": "unusable", "reason": "the bot was blocked" })
    );
    assert_eq!(
        channels[2],
        json!({ "id": INCIDENTS, "displayName": "incidents", "membershipType": "standard", "botInstalled": false })
    );

    let sales = h.call("GET", &channels_path(&id, SALES), None).await;
    assert_eq!(sales.body["channels"][0]["botInstalled"], false);
    assert!(sales.body["team"].get("description").is_none());
}

#[tokio::test]
async fn a_team_is_installed_only_by_a_conversation_of_its_own_group_and_tenant() {
    let h = Harness::new().await;
    let id = h.create_connection(TENANT, "Contoso").await.str("id");
    h.seed_teams(TENANT, &[directory_team(TENANT, OPS, "Ops", &[(GENERAL, "General")])]).await;
    // A channel of another group, a team channel without a group id, and the same group id
    // in another tenant: none of them is the bot in Ops.
    h.seed_team_channel(TENANT, "19:elsewhere@thread.tacv2", SALES, active()).await;
    h.seed_conversation(
        TENANT,
        "19:nogroup@thread.tacv2",
        ConversationKind::Channel,
        active(),
        Some((GENERAL, "Ops")),
        None,
    )
    .await;
    h.seed_team_channel(OTHER_TENANT, GENERAL, OPS, active()).await;
    let reply = h.call("GET", &teams_path(&id), None).await;
    assert_eq!(reply.body["teams"][0]["botInstalled"], false, "{}", reply.body);
    let reply = h.call("GET", &channels_path(&id, OPS), None).await;
    assert_eq!(reply.body["channels"][0]["botInstalled"], false, "{}", reply.body);

    // Teams may spell the group id in capitals.
    h.seed_team_channel(TENANT, GENERAL, &OPS.to_uppercase(), active()).await;
    let reply = h.call("GET", &teams_path(&id), None).await;
    assert_eq!(reply.body["teams"][0]["botInstalled"], true, "{}", reply.body);
    let reply = h.call("GET", &channels_path(&id, OPS), None).await;
    assert_eq!(reply.body["channels"][0]["botInstalled"], true, "{}", reply.body);
}

#[tokio::test]
async fn an_empty_directory_is_an_empty_list() {
    let h = Harness::new().await;
    let id = h.create_connection(TENANT, "Contoso").await.str("id");
    let reply = h.call("GET", &teams_path(&id), None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, json!({ "teams": [] }));
}

#[tokio::test]
async fn unknown_connections_are_404() {
    let h = Harness::new().await;
    contoso(&h).await;
    for id in ["0123456789abcdef0123456789abcdef", "x%23y", &"z".repeat(200)] {
        for path in [teams_path(id), format!("{}?limit=0", teams_path(id)), channels_path(id, OPS)] {
            let reply = h.call("GET", &path, None).await;
            assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
            assert_eq!(reply.error_code(), "not_found");
            assert!(reply.message().contains("no connection"), "{}", reply.message());
        }
    }
}

#[tokio::test]
async fn unknown_teams_are_404_saying_when_teams_appear() {
    let h = Harness::new().await;
    let id = contoso(&h).await;
    let long = "g".repeat(65);
    for team in ["00000000-0000-4000-8000-00000000ffff", "a%23b", long.as_str()] {
        let reply = h.call("GET", &channels_path(&id, team), None).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{team}");
        assert_eq!(reply.error_code(), "not_found");
        let message = reply.message();
        assert!(message.contains("no team"), "{message}");
        assert!(message.contains("directory sync") && message.contains("every 15 minutes"), "{message}");
    }
}

#[tokio::test]
async fn a_connection_sees_only_its_own_tenants_teams() {
    let h = Harness::new().await;
    let a = h.create_connection(TENANT, "Contoso").await.str("id");
    let b = h.create_connection(OTHER_TENANT, "Fabrikam").await.str("id");
    h.seed_teams(TENANT, &[directory_team(TENANT, &group(1), "Contoso Ops", &[])]).await;
    let theirs: Vec<_> = (2..6)
        .map(|n| directory_team(OTHER_TENANT, &group(n), &format!("Fabrikam {n}"), &[(GENERAL, "General")]))
        .collect();
    h.seed_teams(OTHER_TENANT, &theirs).await;

    let mine = h.call("GET", &teams_path(&a), None).await;
    assert_eq!(ids(&mine.body["teams"]), [group(1)]);
    // B's team is not found through A, even by its exact id.
    let reply = h.call("GET", &channels_path(&a, &group(3)), None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);

    // A cursor from B's listing does not resume anything through A.
    let first = h.call("GET", &format!("{}?limit=1", teams_path(&b)), None).await;
    assert_eq!(ids(&first.body["teams"]), [group(2)]);
    let cursor = first.str("next");
    let reply = h.call("GET", &format!("{}?limit=1&cursor={cursor}", teams_path(&a)), None).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert_eq!(reply.error_field(), Some("cursor"));
    let text = reply.body.to_string();
    assert!(!text.contains("Fabrikam") && !text.contains(&group(3)), "{text}");
    // It still works where it came from.
    let second = h.call("GET", &format!("{}?limit=1&cursor={cursor}", teams_path(&b)), None).await;
    assert_eq!(ids(&second.body["teams"]), [group(3)]);
}

#[tokio::test]
async fn refuses_requests_without_the_right_bearer_token() {
    let h = Harness::new().await;
    let id = contoso(&h).await;
    for path in [teams_path(&id), channels_path(&id, OPS), channels_path(&id, "nope")] {
        for auth in [None, Some("Bearer not-the-token")] {
            let reply = h.call_with_auth(auth, "GET", &path, None).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{path} with {auth:?}");
            assert_eq!(reply.headers[header::WWW_AUTHENTICATE], "Bearer");
            assert_eq!(reply.error_code(), "unauthorized");
            assert!(!reply.body.to_string().contains("Ops"), "nothing about the teams leaks");
        }
    }
}
