//! Every Graph response body among the reference fixtures parses into the client's types.
//! The fixtures live beside the checkout (`../shared/fixtures/graph/`, or under
//! `$REFERENCE_FIXTURES`); their `index.json` says which file answers which request.

use graph::*;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;

/// Responses the client has no type for, and why.
const NOT_OURS: &[(&str, &str)] = &[
    ("token-response.200.json", "Entra's token reply, parsed by the entra crate"),
    ("findmeetingtimes.200.json", "findMeetingTimes has no application permission"),
    ("members-add-bulk.200.json", "team bulk add needs TeamMember.ReadWrite.All, which the app lacks"),
    ("members-add-bulk-partial.207.json", "team bulk add needs TeamMember.ReadWrite.All, which the app lacks"),
];

fn fixtures_dir() -> PathBuf {
    let root = std::env::var_os("REFERENCE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures")));
    let dir = if root.join("graph/index.json").is_file() { root.join("graph") } else { root.clone() };
    assert!(
        dir.join("index.json").is_file(),
        "Graph fixtures not found under {} (set REFERENCE_FIXTURES to the fixtures folder)",
        root.display()
    );
    dir
}

fn strip_notes(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|k, _| !k.starts_with("_note"));
            map.values_mut().for_each(strip_notes);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_notes),
        _ => {}
    }
}

fn parse<T: DeserializeOwned>(file: &str, body: &Value) -> T {
    serde_json::from_value(body.clone()).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// An error body typed as the client would, through the batch item path.
fn typed_error(status: u16, body: &Value) -> GraphError {
    let item: BatchResponse = serde_json::from_value(json!({"id": "1", "status": status, "body": body})).unwrap();
    item.error().unwrap()
}

/// Parses one response fixture; false when there is no parser for it.
fn check(file: &str, status: Option<u16>, body: &Value) -> bool {
    match file {
        "channel-create-standard.201.json" => {
            let c: Channel = parse(file, body);
            assert!(c.id.ends_with("@thread.tacv2"));
        }
        "channel-create-private.201.json" => {
            let c: Channel = parse(file, body);
            assert_eq!(c.membership_type, Some(MembershipType::Private));
            assert!(c.web_url.is_some());
        }
        "channel-list.200.json" => {
            let p: Page<Channel> = parse(file, body);
            assert_eq!(p.value.len(), 1);
        }
        "channel-add-member.201.json" => {
            let m: ConversationMember = parse(file, body);
            assert_eq!(m.user_id.as_deref(), Some("8b081ef6-4792-4def-b2c9-c363a1bf41d5"));
        }
        "channel-list-members.200.json" => {
            let p: Page<ConversationMember> = parse(file, body);
            assert_eq!(p.count, Some(2));
            assert_eq!(p.value[1].roles, ["owner"]);
        }
        "chat-create-oneonone.201.json" | "chat-create-group.201.json" => {
            let c: Chat = parse(file, body);
            assert_ne!(c.chat_type, ChatType::Unknown);
        }
        "event-create-online-meeting.201.json" => {
            let e: Event = parse(file, body);
            assert_eq!(e.online_meeting_provider.as_deref(), Some("teamsForBusiness"));
            assert!(e.online_meeting.and_then(|m| m.join_url).is_some());
            assert!(e.ical_uid.is_some());
        }
        "getschedule.200.json" => {
            let p: Page<ScheduleInformation> = parse(file, body);
            assert!(!p.value.is_empty());
        }
        "users-delta-page1-nextlink.200.json" => {
            let p: Page<Change<User>> = parse(file, body);
            assert!(p.next_link.is_some() && p.delta_link.is_none());
            assert!(p.value.contains(&Change::Removed {
                id: "86462606-fde0-4fc4-9e0c-a20eb73e54c6".into(),
                reason: RemovedReason::Deleted
            }));
        }
        "users-delta-page2-nextlink.200.json" => {
            let p: Page<Change<User>> = parse(file, body);
            assert!(p.next_link.is_some());
        }
        "users-delta-page3-deltalink.200.json"
        | "users-delta-deltalink-nochanges.200.json"
        | "users-delta-deltalink-changes-removed.200.json" => {
            let p: Page<Change<User>> = parse(file, body);
            assert!(p.delta_link.is_some() && p.next_link.is_none());
        }
        "users-list.200.json" => {
            let p: Page<User> = parse(file, body);
            assert_eq!(p.value[1].user_principal_name.as_deref(), Some("AdeleV@Contoso.com"));
            assert_eq!(p.value[0].given_name, None);
        }
        "groups-teams-filter.200.json" | "teams-list.200.json" => {
            let p: Page<TeamSummary> = parse(file, body);
            assert!(!p.value.is_empty());
        }
        "team-get.200.json" => {
            let t: Team = parse(file, body);
            assert_eq!(t.is_archived, Some(false));
        }
        "batch-response-mixed.200.json" => {
            let reply: BatchReply = parse(file, body);
            let statuses: Vec<u16> = reply.responses.iter().map(|r| r.status).collect();
            assert_eq!(statuses, [200, 403, 403, 405, 200]);
            assert!(matches!(reply.responses[1].error(), Some(GraphError::Forbidden { .. })));
            assert!(matches!(reply.responses[3].error(), Some(GraphError::Other(f)) if f.code == "Request_BadRequest"));
            let page: Page<User> = reply.responses[4].clone().into_result().unwrap();
            assert_eq!(page.count, Some(36));
        }
        "batch-response-with-429.composed.200.json" => {
            let reply: BatchReply = parse(file, body);
            let throttled = &reply.responses[1];
            assert_eq!(throttled.retry_after(), Some(Duration::from_millis(2128)));
            assert!(matches!(
                throttled.error(),
                Some(GraphError::Throttled { retry_after, request_id: Some(_) }) if retry_after.as_millis() == 2128
            ));
        }
        f if f.starts_with("error-") || f.contains(".400") || f.contains("duplicate-name") => {
            let e: ErrorResponse = parse(file, body);
            assert!(!e.error.message.is_empty(), "{file}");
            let status = status.unwrap_or(400);
            let failure = GraphFailure::from_body(status, body.to_string().as_bytes(), None);
            assert!(!failure.code.is_empty(), "{file}");
            let typed = typed_error(status, body);
            match file {
                "error-429-toomanyrequests.json" => {
                    assert!(matches!(typed, GraphError::Throttled { .. }));
                    assert_eq!(failure.inner_codes, ["429"]);
                    assert_eq!(failure.request_id.as_deref(), Some("94fb3b52-452a-4535-a601-69e0a90e3aa2"));
                }
                f if f.contains("duplicate-name") => assert!(matches!(typed, GraphError::Conflict(_)), "{file}"),
                "error-403-authorization-requestdenied.json" => {
                    assert!(matches!(typed, GraphError::Forbidden { .. }))
                }
                _ => {}
            }
        }
        _ => return false,
    }
    true
}

#[test]
fn every_graph_response_fixture_parses() {
    let dir = fixtures_dir();
    let index: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("index.json")).unwrap()).unwrap();
    let entries = index["fixtures"].as_array().expect("index.json lists fixtures");
    let mut parsed = 0;
    for entry in entries {
        let Some(file) = entry["file"].as_str() else { continue };
        let status = entry["status"].as_u64().map(|s| s as u16);
        // Request bodies have no status; error samples are responses whatever their status.
        if status.is_none() && !file.starts_with("error-") {
            continue;
        }
        let text =
            std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file} is listed but unreadable: {e}"));
        let mut body: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        strip_notes(&mut body);
        if NOT_OURS.iter().any(|(f, _)| *f == file) {
            continue;
        }
        assert!(
            check(file, status, &body),
            "{file} is a Graph response with no parser here: add one or list it in NOT_OURS"
        );
        parsed += 1;
    }
    assert!(parsed >= 20, "only {parsed} response fixtures found");

    // Every JSON file in the folder is accounted for by the index.
    let listed: Vec<&str> = entries.iter().filter_map(|e| e["file"].as_str()).collect();
    for file in std::fs::read_dir(&dir).unwrap() {
        let name = file.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".json") && name != "index.json" {
            assert!(listed.contains(&name.as_str()), "{name} is not in index.json, so it cannot be classified");
        }
    }
}
