//! Every captured Teams activity in the shared fixtures parses into [`Activity`], and the
//! helpers read the right things from real payloads.

use botframework::{Activity, ActivityType, invoke::Invoke};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

fn fixtures_dir() -> PathBuf {
    let root = std::env::var("REFERENCE_FIXTURES")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures").to_owned());
    let dir = PathBuf::from(root).join("teams");
    assert!(
        dir.is_dir(),
        "Teams fixtures not found at {} (set REFERENCE_FIXTURES to the fixtures folder)",
        dir.display()
    );
    dir
}

/// Removes annotation keys (`_note…`) at every depth.
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

fn is_activity(value: &Value) -> bool {
    value.get("type").is_some_and(Value::is_string)
        && (value.get("channelId").is_some() || value.get("serviceUrl").is_some())
}

/// Every activity fixture by file name, parsed.
fn activities() -> BTreeMap<String, Activity> {
    let mut found = BTreeMap::new();
    for entry in std::fs::read_dir(fixtures_dir()).expect("readable fixtures folder") {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let mut value: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        strip_notes(&mut value);
        if !is_activity(&value) {
            continue;
        }
        let activity: Activity =
            serde_json::from_value(value).unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()));
        found.insert(path.file_name().unwrap().to_string_lossy().into_owned(), activity);
    }
    found
}

fn fixture<'a>(all: &'a BTreeMap<String, Activity>, name: &str) -> &'a Activity {
    all.get(name).unwrap_or_else(|| panic!("fixture {name} is missing or not an activity"))
}

#[test]
fn every_activity_fixture_parses() {
    let all = activities();
    assert!(all.len() >= 11, "found only {:?}", all.keys());
    for (name, activity) in &all {
        assert_eq!(activity.channel_id.as_deref(), Some("msteams"), "{name}");
        assert!(activity.tenant_id().is_some(), "{name} has a tenant");
        assert!(!matches!(activity.kind, ActivityType::Other(_)), "{name} has a known type");
        // What we parse, we can write back and parse again to the same thing.
        let again: Activity = serde_json::from_value(serde_json::to_value(activity).unwrap()).unwrap();
        assert_eq!(&again, activity, "{name}");
    }
}

#[test]
fn a_channel_mention_is_stripped_by_its_entity() {
    let all = activities();
    let message = fixture(&all, "teams-message-channel-thread-reply-mention.teamsnet.json");
    assert_eq!(message.kind, ActivityType::Message);
    assert!(message.mentions_bot());
    assert_eq!(message.text_without_bot_mention(), "reply to thread");
    assert_eq!(message.tenant_id(), Some("50612dbb-0237-4969-b378-8d42590f9c00"));
    assert!(message.conversation_id().ends_with(";messageid=1759881511856"));
    let personal = fixture(&all, "teams-message-personal.json");
    assert!(!personal.mentions_bot());
    assert_eq!(personal.text_without_bot_mention(), "Hello Teams TestBot.Sending bold-italic rich text");
    assert_eq!(personal.from.as_ref().unwrap().aad_object_id.as_deref(), Some("7faf8ab2-3d56-4244-b585-20c8a42ed2b8"));
}

#[test]
fn installs_and_removals_are_recognised() {
    let all = activities();
    let added = fixture(&all, "teams-conversationupdate-bot-added-to-team.json");
    assert!(added.bot_added() && !added.bot_removed());
    assert_eq!(added.event_type(), Some("teamMemberAdded"));
    let team = added.team().unwrap();
    assert_eq!(team.aad_group_id.as_deref(), Some("f3ec8cd2-e704-4344-8c47-9a3a21d683c0"));
    let selected =
        added.channel_data.as_ref().and_then(|c| c.settings.as_ref()).and_then(|s| s.selected_channel.as_ref());
    assert_eq!(selected.unwrap().id, "19:0b7f32667e064dd9b25d7969801541f4@thread.tacv2");

    let install = fixture(&all, "teams-installationupdate-add.json");
    assert_eq!(install.kind, ActivityType::InstallationUpdate);
    assert_eq!(install.action.as_deref(), Some("add"));
    assert_eq!(install.tenant_id(), Some("b28fdbfd-2b78-4f93-b0f8-8881793f0f8f"));

    // A user (not the bot) leaving the team.
    let removed = fixture(&all, "teams-conversationupdate-member-removed.json");
    assert!(!removed.bot_removed() && !removed.bot_added());
    assert_eq!(removed.event_type(), Some("teamMemberRemoved"));
}

#[test]
fn an_adaptive_card_invoke_is_read() {
    let all = activities();
    let invoke = fixture(&all, "teams-invoke-adaptivecard-action.teamsnet.json");
    assert_eq!(invoke.kind, ActivityType::Invoke);
    assert_eq!(invoke.reply_to_id.as_deref(), Some("1767765488332"));
    match invoke.invoke().unwrap() {
        Invoke::AdaptiveCardAction(action) => {
            assert_eq!(action.action.kind, "Action.Execute");
            assert_eq!(action.action.verb, None, "this capture has no verb");
            assert_eq!(action.action.data["feedback"], "test invokes");
            assert_eq!(action.trigger.as_deref(), Some("manual"));
        }
        other => panic!("expected an adaptiveCard/action, got {other:?}"),
    }
}

#[test]
fn reactions_keep_their_target() {
    let all = activities();
    let reaction = fixture(&all, "teams-messagereaction-added.json");
    assert_eq!(reaction.kind, ActivityType::MessageReaction);
    assert_eq!(reaction.reactions_added[0].kind, "like");
    assert_eq!(reaction.reply_to_id.as_deref(), Some("1575667808184"));
}
