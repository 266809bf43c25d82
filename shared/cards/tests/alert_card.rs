//! The alert card rendered from the ilert fixtures and from hostile or huge input.

mod common;

use cards::actions::{DATA_ALERT_ID, DATA_VERB, input};
use cards::{
    AlertStatus, AlertView, CardContext, Choice, Link, MAX_CARD_BYTES, Notice, ReassignTarget, Refresh, Verb,
    render_alert_card,
};
use common::{channel_link, docs_sample, fixture, full_ctx, huge, schema_derived};
use serde_json::{Map, Value, json};
use std::collections::HashSet;

/// Every JSON object in `value`, in document order.
fn objects(value: &Value) -> Vec<&Map<String, Value>> {
    fn walk<'a>(value: &'a Value, out: &mut Vec<&'a Map<String, Value>>) {
        match value {
            Value::Object(map) => {
                out.push(map);
                map.values().for_each(|v| walk(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, &mut out);
    out
}

fn of_type<'a>(card: &'a Value, kind: &str) -> Vec<&'a Map<String, Value>> {
    objects(card).into_iter().filter(|o| o.get("type").and_then(Value::as_str) == Some(kind)).collect()
}

/// The card without its `refresh` section: what a user can click.
fn clickable(card: &Value) -> Value {
    let mut card = card.clone();
    card.as_object_mut().unwrap().remove("refresh");
    card
}

/// Verbs of the `Action.Execute` buttons anywhere in the card (show cards included).
fn verbs(card: &Value) -> HashSet<String> {
    of_type(&clickable(card), "Action.Execute").iter().map(|a| a["verb"].as_str().unwrap().to_owned()).collect()
}

fn has(card: &Value, verb: Verb) -> bool {
    verbs(card).contains(verb.as_str())
}

/// Titles of the top-level actions.
fn top_titles(card: &Value) -> Vec<String> {
    card["actions"].as_array().unwrap().iter().map(|a| a["title"].as_str().unwrap().to_owned()).collect()
}

/// Text of every `TextRun`, joined: what the card shows as plain text.
fn run_text(card: &Value) -> String {
    of_type(card, "TextRun").iter().map(|r| r["text"].as_str().unwrap()).collect::<Vec<_>>().join("|")
}

/// Text of every `TextBlock`: the markdown the card contains.
fn markdown(card: &Value) -> Vec<String> {
    of_type(card, "TextBlock").iter().map(|b| b["text"].as_str().unwrap().to_owned()).collect()
}

fn size(card: &Value) -> usize {
    serde_json::to_vec(card).unwrap().len()
}

fn status_run(card: &Value) -> &Map<String, Value> {
    let headline = card["body"].as_array().unwrap().iter().find(|b| b["type"] == "RichTextBlock").unwrap();
    headline["inlines"][0].as_object().unwrap()
}

fn assert_envelope(card: &Value) {
    assert_eq!(card["$schema"], "http://adaptivecards.io/schemas/adaptive-card.json");
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(card["version"], "1.5");
    assert_eq!(card["msteams"], json!({"width": "Full"}));
}

/// Every Execute button carries verb and alert id in `data`, plus the context's data, and
/// falls back to a Submit with identical data.
fn assert_executes_are_well_formed(card: &Value, alert_id: &str, extra: &Map<String, Value>) {
    let executes = of_type(&clickable(card), "Action.Execute").into_iter().cloned().collect::<Vec<_>>();
    assert!(!executes.is_empty());
    for action in executes {
        let verb = action["verb"].as_str().unwrap();
        assert!(Verb::parse(verb).is_some(), "unknown verb {verb}");
        assert_eq!(action["data"][DATA_VERB], verb, "{action:?}");
        assert_eq!(action["data"][DATA_ALERT_ID], alert_id);
        for (key, value) in extra {
            assert_eq!(&action["data"][key], value, "{key} missing in {verb}");
        }
        let fallback = &action["fallback"];
        assert_eq!(fallback["type"], "Action.Submit", "{verb} has no Submit fallback");
        assert_eq!(fallback["data"], action["data"]);
        assert_eq!(fallback["title"], action["title"]);
    }
}

/// Inputs have ids, and no id (input or element) repeats.
fn assert_ids_unique(card: &Value) {
    let mut seen = HashSet::new();
    for object in objects(card) {
        let kind = object.get("type").and_then(Value::as_str).unwrap_or("");
        if kind.starts_with("Input.") {
            assert!(object.get("id").and_then(Value::as_str).is_some_and(|id| !id.is_empty()), "input without id");
        }
        // Choices have no type but a value; only typed objects carry ids.
        if !kind.is_empty()
            && let Some(id) = object.get("id").and_then(Value::as_str)
        {
            assert!(seen.insert(id.to_owned()), "duplicate id {id}");
        }
    }
}

/// No action collection holds more than 5 actions (the adaptivecards default host config's
/// `maxActions`, which its validator enforces; Teams shows at most 6).
fn assert_action_counts(card: &Value) {
    for object in objects(card) {
        if let Some(Value::Array(actions)) = object.get("actions") {
            assert!(actions.len() <= 5, "{} actions in {:?}", actions.len(), object.get("type"));
        }
    }
}

/// Titles of the buttons in the body's Teams row.
fn row_titles(card: &Value) -> Vec<String> {
    let row = card["body"].as_array().unwrap().iter().find(|b| b["type"] == "ActionSet").unwrap();
    row["actions"].as_array().unwrap().iter().map(|a| a["title"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn docs_sample_renders_accepted_card() {
    let alert = docs_sample();
    let ctx = full_ctx(&alert.id);
    let card = render_alert_card(&alert, &ctx);
    assert_envelope(&card);

    let status = status_run(&card);
    assert_eq!(status["text"], "[ACCEPTED] ");
    assert_eq!(status["color"], "Warning");
    let text = run_text(&card);
    for expected in [
        "PROBLEM Host Alert: app.compute is DOWN",
        "Priority: |Low",
        "Alert source: |Nagios Network and Hosts",
        "Alert ID: |2983781",
        "Reported: |2019-08-29 09:52 UTC",
        "Assigned to: |Andreas Farmer",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in {text}");
    }
    // No escalation policy in this payload, so no such fact.
    assert!(!text.contains("Escalation policy"));

    assert!(!has(&card, Verb::Accept), "accepted alert offers Accept");
    for verb in [
        Verb::Resolve,
        Verb::Reassign,
        Verb::Comment,
        Verb::CreateChannel,
        Verb::CreateMeeting,
        Verb::CreateChat,
        Verb::Refresh,
    ] {
        assert!(has(&card, verb), "missing {verb:?}");
    }
    assert_eq!(top_titles(&card), ["Resolve", "Reassign", "Comment", "Open in ilert"]);
    let open = card["actions"].as_array().unwrap().iter().find(|a| a["title"] == "Open in ilert").unwrap();
    assert_eq!(open["type"], "Action.OpenUrl");
    assert_eq!(open["url"], "https://acme.ilert.com/alert/view?id=2983781");

    assert_eq!(row_titles(&card), ["Create channel", "Create meeting", "Create chat", "Refresh"]);
    assert_executes_are_well_formed(&card, "2983781", &ctx.action_data);
    assert_ids_unique(&card);
    assert_action_counts(&card);
    assert!(size(&card) <= MAX_CARD_BYTES);
}

#[test]
fn schema_derived_renders_pending_card() {
    let alert = schema_derived();
    assert_eq!(alert.id, "4160228");
    let ctx = full_ctx(&alert.id);
    let card = render_alert_card(&alert, &ctx);
    assert_envelope(&card);

    let status = status_run(&card);
    assert_eq!(status["text"], "[PENDING] ");
    assert_eq!(status["color"], "Attention");
    let headline = &card["body"][0]["inlines"][1];
    assert_eq!(headline["text"], "Test alert");
    assert_eq!(headline["selectAction"]["url"], "https://acme.ilert.com/alert/view?id=4160228");

    let text = run_text(&card);
    for expected in [
        "Priority: |High",
        "Alert source: |Test API Source",
        "Escalation policy: |Default",
        "Alert ID: |4160228",
        "Reported: |2023-08-09 11:55 UTC",
        "• Gunter Meier| — pending",
        "Test alert details",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in {text}");
    }
    assert!(
        markdown(&card).iter().any(|m| m == "- [View MS-Teams channel](https://teams.microsoft.com/l/channel/...)")
    );

    assert!(has(&card, Verb::Accept) && has(&card, Verb::Resolve) && has(&card, Verb::Reassign));
    let accept = &card["actions"][0];
    assert_eq!((accept["title"].as_str(), accept["style"].as_str()), (Some("Accept"), Some("positive")));
    // Short details are shown as they are, with no toggle.
    assert!(of_type(&card, "Action.ToggleVisibility").is_empty());
    assert_executes_are_well_formed(&card, "4160228", &ctx.action_data);
    assert_ids_unique(&card);
    assert_action_counts(&card);
}

#[test]
fn resolved_alert_keeps_only_comment_open_and_refresh() {
    let mut alert = schema_derived();
    alert.status = Some(AlertStatus::Resolved);
    let card = render_alert_card(&alert, &full_ctx(&alert.id));
    assert_eq!(status_run(&card)["color"], "Good");
    assert_eq!(verbs(&card), HashSet::from(["comment".to_owned(), "refresh".to_owned()]));
    assert_eq!(top_titles(&card), ["Comment", "Open in ilert"]);
    assert_eq!(row_titles(&card), ["Refresh"]);
    assert!(of_type(&card, "Input.ChoiceSet").is_empty());
}

#[test]
fn unknown_status_is_treated_as_open() {
    let alert = AlertView::from_json(&json!({"id": 9, "status": "SNOOZED", "summary": "s"})).unwrap();
    let card = render_alert_card(&alert, &CardContext::default());
    assert_eq!(status_run(&card)["text"], "[SNOOZED] ");
    assert_eq!(status_run(&card)["color"], "Default");
    assert!(has(&card, Verb::Accept) && has(&card, Verb::Resolve));
    // Nobody to reassign to and no URL: neither form nor button.
    assert!(!has(&card, Verb::Reassign));
    assert!(!top_titles(&card).contains(&"Open in ilert".to_owned()));
}

#[test]
fn linked_resources_replace_their_create_actions() {
    let alert = schema_derived();
    let mut ctx = full_ctx(&alert.id);
    ctx.channel = Some(channel_link());
    ctx.chat = Some(Link::new("", "https://teams.microsoft.com/l/chat/19:abc@thread.v2/0"));
    // A link that is not http(s) counts as no link.
    ctx.meeting = Some(Link::new("bridge", "javascript:alert(1)"));
    let card = render_alert_card(&alert, &ctx);

    assert!(!has(&card, Verb::CreateChannel) && !has(&card, Verb::CreateChat));
    assert!(has(&card, Verb::CreateMeeting));
    let buttons: Vec<(String, String)> = of_type(&card, "ActionSet")
        .iter()
        .flat_map(|set| set["actions"].as_array().unwrap().iter())
        .filter(|a| a["type"] == "Action.OpenUrl")
        .map(|a| (a["title"].as_str().unwrap().to_owned(), a["url"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        buttons,
        [
            ("Open channel".to_owned(), channel_link().url),
            ("Open chat".to_owned(), "https://teams.microsoft.com/l/chat/19:abc@thread.v2/0".to_owned()),
        ]
    );
    assert_eq!(row_titles(&card), ["Open channel", "Create meeting", "Open chat", "Refresh"]);
    let row = card["body"].as_array().unwrap().iter().find(|b| b["type"] == "ActionSet").unwrap();
    assert_eq!(row["actions"][0]["tooltip"], "test_api_source_alert_4160228");
    assert!(row["actions"][2].get("tooltip").is_none(), "an unnamed chat has no tooltip");
    assert!(!serde_json::to_string(&card).unwrap().contains("javascript:"));
    assert_action_counts(&card);

    // Once resolved, existing links stay and nothing new is offered.
    let mut resolved = alert.clone();
    resolved.status = Some(AlertStatus::Resolved);
    let card = render_alert_card(&resolved, &ctx);
    assert_eq!(row_titles(&card), ["Open channel", "Open chat", "Refresh"]);
}

#[test]
fn reassign_form_offers_users_and_policies_by_id() {
    let alert = schema_derived();
    let card = render_alert_card(&alert, &full_ctx(&alert.id));
    let sets = of_type(&card, "Input.ChoiceSet");
    assert_eq!(sets.len(), 1);
    let set = sets[0];
    assert_eq!(set["id"], input::REASSIGN_TARGET);
    assert_eq!(set["isRequired"], true);
    let values: Vec<ReassignTarget> = set["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| ReassignTarget::parse(c["value"].as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(
        values,
        [
            ReassignTarget::User("123".into()),
            ReassignTarget::User("124".into()),
            ReassignTarget::EscalationPolicy("2256025".into())
        ]
    );
    assert_eq!(set["choices"][2]["title"], "Default (escalation policy)");

    let comment = of_type(&card, "Input.Text");
    assert_eq!(comment.len(), 1);
    assert_eq!((comment[0]["id"].as_str(), comment[0]["isMultiline"].as_bool()), (Some(input::COMMENT), Some(true)));
    assert_eq!(comment[0]["isRequired"], true);
}

#[test]
fn refresh_follows_the_context() {
    let alert = schema_derived();
    let mut ctx = full_ctx(&alert.id);
    let card = render_alert_card(&alert, &ctx);
    let refresh = &card["refresh"];
    assert_eq!(refresh["userIds"], json!(["29:1a-gunter", "29:1b-ana"]));
    assert_eq!(refresh["action"]["type"], "Action.Execute");
    assert_eq!(refresh["action"]["verb"], "refresh");
    assert_eq!(refresh["action"]["data"], json!({"verb": "refresh", "alertId": "4160228", "connection": "conn-7f3a"}));
    // Same shape as Microsoft's sample card with a user-specific refresh.
    let sample = fixture("teams/adaptive-card-with-refresh-userids.json");
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<HashSet<_>>();
    assert_eq!(keys(refresh), keys(&sample["refresh"]));
    assert!(keys(&sample["refresh"]["action"]).is_subset(&keys(&refresh["action"])));

    ctx.refresh = Refresh::Manual;
    assert_eq!(render_alert_card(&alert, &ctx)["refresh"]["userIds"], json!([]));
    ctx.refresh = Refresh::AllMembers;
    let all = render_alert_card(&alert, &ctx);
    assert!(all["refresh"]["action"].is_object() && all["refresh"].get("userIds").is_none());
    ctx.refresh = Refresh::Off;
    assert!(render_alert_card(&alert, &ctx).get("refresh").is_none());
}

#[test]
fn context_data_never_overrides_verb_or_alert_id() {
    let alert = schema_derived();
    let mut ctx = full_ctx(&alert.id);
    ctx.action_data.insert("verb".into(), json!("accept"));
    ctx.action_data.insert("alertId".into(), json!("999"));
    let card = render_alert_card(&alert, &ctx);
    for action in of_type(&clickable(&card), "Action.Execute") {
        assert_eq!(action["data"]["verb"], action["verb"]);
        assert_eq!(action["data"]["alertId"], "4160228");
    }
}

#[test]
fn long_details_collapse_behind_a_toggle() {
    let mut alert = schema_derived();
    alert.details = Some((0..40).map(|i| format!("line {i}\n")).collect());
    let card = render_alert_card(&alert, &CardContext::default());
    let toggles = of_type(&card, "Action.ToggleVisibility");
    assert_eq!(toggles.iter().map(|t| t["title"].as_str().unwrap()).collect::<Vec<_>>().len(), 2);
    let ids: HashSet<&str> = objects(&card).iter().filter_map(|o| o.get("id").and_then(Value::as_str)).collect();
    for toggle in &toggles {
        for target in toggle["targetElements"].as_array().unwrap() {
            assert!(ids.contains(target.as_str().unwrap()), "toggle targets missing element {target}");
        }
    }
    let full = objects(&card).into_iter().find(|o| o.get("id") == Some(&json!("detailsFull"))).unwrap();
    assert_eq!(full["isVisible"], false);
    let text = run_text(&card);
    assert!(text.contains("line 0|line 1|line 2 …"), "preview: {text}");
    assert!(text.contains("line 24") && !text.contains("line 25"), "the full view is bounded to 25 lines");

    // Exactly at the threshold: shown inline.
    alert.details = Some((0..6).map(|i| format!("line {i}\n")).collect());
    assert!(of_type(&render_alert_card(&alert, &CardContext::default()), "Action.ToggleVisibility").is_empty());
    // One long line counts as long too.
    alert.details = Some("x".repeat(301));
    assert!(!of_type(&render_alert_card(&alert, &CardContext::default()), "Action.ToggleVisibility").is_empty());
}

#[test]
fn huge_alert_stays_under_the_bound_and_still_shows_everything_in_part() {
    let (alert, ctx) = huge();
    let card = render_alert_card(&alert, &ctx);
    let bytes = size(&card);
    eprintln!("huge alert card: {bytes} bytes (bound {MAX_CARD_BYTES})");
    assert!(bytes <= MAX_CARD_BYTES, "{bytes} bytes");
    // It fits at the roomiest budget: details expand, lists say how many more there are.
    assert_eq!(of_type(&card, "Action.ToggleVisibility").len(), 2);
    let notes = markdown(&card);
    for expected in ["and 92 more", "and 194 more in ilert", "377 more can be chosen in ilert."] {
        assert!(notes.iter().any(|n| n == expected), "missing {expected:?} in {notes:?}");
    }
    assert_eq!(of_type(&card, "Image").len(), 3);
    assert_eq!(card["refresh"]["userIds"].as_array().unwrap().len(), 60);
    assert_ids_unique(&card);
    assert_action_counts(&card);
    assert_executes_are_well_formed(&card, "4160228", &ctx.action_data);
}

#[test]
fn hostile_sizes_degrade_but_never_exceed_the_bound() {
    let (mut alert, mut ctx) = huge();
    // Worst cases for bytes per char and for JSON escaping.
    for filler in ["😀", "\"", "\\", "\u{1}", "日"] {
        alert.summary = Some(filler.repeat(20_000));
        alert.details = Some(format!("{}\n", filler.repeat(50)).repeat(1000));
        for link in &mut alert.links {
            link.text = Some(filler.repeat(500));
        }
        for responder in &mut alert.responders {
            responder.user.as_mut().unwrap().first_name = Some(filler.repeat(500));
        }
        ctx.reassign_users.iter_mut().for_each(|c| c.title = filler.repeat(500));
        let card = render_alert_card(&alert, &ctx);
        assert!(size(&card) <= MAX_CARD_BYTES, "{filler:?}: {} bytes", size(&card));
        assert_envelope(&card);
    }
    // Context data no budget can absorb: the last-resort card still fits and still links to ilert.
    ctx.action_data.insert("blob".into(), json!("b".repeat(10_000)));
    let card = render_alert_card(&alert, &ctx);
    assert!(size(&card) <= MAX_CARD_BYTES);
    assert!(verbs(&card).is_empty());
    assert_eq!(card["actions"][0]["url"], "https://acme.ilert.com/alert/view?id=4160228");
}

#[test]
fn multibyte_text_is_cut_on_char_boundaries_at_every_length() {
    let base = "äö😀日本\u{301}e\u{200D}👩‍👩‍👧";
    for n in 0..60 {
        let text: String = base.chars().cycle().take(n * 13).collect();
        let alert = AlertView::from_json(&json!({
            "id": n, "summary": text, "details": format!("{text}\n").repeat(n), "links": [{"href": "https://x.io", "text": text}],
            "alertSource": {"name": text}, "responders": [{"user": {"firstName": text}}]
        }))
        .unwrap();
        let ctx = CardContext { reassign_users: vec![Choice::new("1", text.clone())], ..CardContext::default() };
        let card = render_alert_card(&alert, &ctx);
        assert!(size(&card) <= MAX_CARD_BYTES);
    }
}

#[test]
fn markdown_in_user_text_never_becomes_a_link() {
    let alert = AlertView::from_json(&json!({
        "id": "1",
        "status": "PENDING",
        "summary": "[click](javascript:alert(1)) **urgent**",
        "details": "[a](javascript:b) <https://evil.example>",
        "alertSource": {"name": "[src](https://evil.example)"},
        "responders": [{"user": {"firstName": "[me](https://evil.example)"}, "status": "PENDING"}],
        "links": [
            {"href": "javascript:alert(1)", "text": "bad scheme"},
            {"href": "data:text/html,hi", "text": "bad scheme too"},
            {"href": "https://ok.example/a_(b)", "text": "[x](javascript:alert(1)) *b*"},
        ],
        "images": [{"src": "http://insecure.example/i.png"}, {"src": "https://ok.example/i.png", "href": "javascript:x"}]
    }))
    .unwrap();
    let ctx = CardContext { notice: Some(Notice::error("[n](javascript:n)")), ..CardContext::default() };
    let card = render_alert_card(&alert, &ctx);

    // User text reaches the card verbatim, but only as plain-text runs.
    let text = run_text(&card);
    assert!(text.contains("[click](javascript:alert(1)) **urgent**"));
    assert!(text.contains("[src](https://evil.example)"));
    // Markdown fields hold exactly one link, ours, with escaped text and an encoded URL.
    let md = markdown(&card);
    let link_lists: Vec<&String> = md.iter().filter(|m| m.contains("](")).collect();
    assert_eq!(link_lists, [r"- [\[x\]\(javascript:alert\(1\)\) \*b\*](https://ok.example/a_%28b%29)"]);
    // Every link destination in markdown is a web URL; user text never forms `](`.
    for m in &md {
        for (at, _) in m.match_indices("](") {
            let target = &m[at + 2..];
            assert!(target.starts_with("https://") || target.starts_with("http://"), "link to {target} in {m}");
        }
    }
    // No javascript:/data:/http image URL anywhere a client would follow or fetch.
    for object in objects(&card) {
        for key in ["url", "selectAction"] {
            if let Some(Value::String(url)) = object.get(key) {
                assert!(url.starts_with("https://"), "{key}: {url}");
            }
        }
    }
    assert_eq!(of_type(&card, "Image").len(), 1);
    assert!(of_type(&card, "Image")[0].get("selectAction").is_none());
}

#[test]
fn notice_appears_above_the_alert() {
    let alert = schema_derived();
    let mut ctx = CardContext {
        notice: Some(Notice::error("ilert refused: the alert is already resolved")),
        ..CardContext::default()
    };
    let card = render_alert_card(&alert, &ctx);
    assert_eq!(card["body"][0]["type"], "Container");
    assert_eq!(card["body"][0]["style"], "attention");
    assert_eq!(card["body"][0]["items"][0]["inlines"][0]["text"], "ilert refused: the alert is already resolved");
    ctx.notice = Some(Notice::info("Creating the channel…"));
    assert_eq!(render_alert_card(&alert, &ctx)["body"][0]["style"], "emphasis");
}

#[test]
fn fixture_card_sizes() {
    for (name, alert) in [("docs sample", docs_sample()), ("schema-derived", schema_derived())] {
        let card = render_alert_card(&alert, &full_ctx(&alert.id));
        eprintln!("{name} card: {} bytes", size(&card));
        // Small alerts make small cards: nothing is padded.
        assert!(size(&card) < 8 * 1024, "{name}: {} bytes", size(&card));
    }
}
