//! The alert card: status and summary, facts, responders, details, links, images, the linked
//! channel / meeting / chat, and the actions that still apply to the alert's state.
//!
//! Size: every user-controlled piece is cut to a byte bound and every list to a count, at one
//! of three budgets. The card is rendered at the roomiest budget first and re-rendered at a
//! tighter one while it serialises over [`MAX_CARD_BYTES`](crate::MAX_CARD_BYTES); if even
//! the tightest is too big (in practice only a large `action_data`, repeated in every action), a
//! small "open it in ilert" card is returned. So the bound holds by construction, not by
//! arithmetic over worst cases.

use crate::MAX_CARD_BYTES;
use crate::actions::{COMMENT_MAX_CHARS, DATA_ALERT_ID, DATA_VERB, ReassignTarget, Verb, input};
use crate::alert::{AlertStatus, AlertView, Priority, Responder, ResponderStatus};
use crate::context::{CardContext, Choice, Link, NoticeKind, Refresh};
use crate::elements::{bold, card, heading, inner_card, label, note, open_url, rich, run, with};
use crate::text::{Schemes, clean_lines, escape_markdown, inline, markdown_url, truncate, web_url};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

/// Details up to this many chars and [`SHORT_DETAILS_LINES`] lines are shown in full;
/// longer ones collapse behind "Show details".
pub const SHORT_DETAILS_CHARS: usize = 300;
/// See [`SHORT_DETAILS_CHARS`].
pub const SHORT_DETAILS_LINES: usize = 6;

/// Teams honours at most this many `refresh.userIds` (Bot Framework reference §6.1).
pub const MAX_REFRESH_USER_IDS: usize = 60;

/// Element ids of the details toggle. Fixed, because one card has one details section.
const ID_DETAILS_PREVIEW: &str = "detailsPreview";
const ID_DETAILS_FULL: &str = "detailsFull";
const ID_DETAILS_SHOW: &str = "detailsShow";

// Byte bounds of single fields, the same at every budget.
const NAME_BYTES: usize = 80;
const STATUS_BYTES: usize = 24;
const NOTICE_BYTES: usize = 300;
const LINK_TEXT_BYTES: usize = 100;
const LINK_URL_BYTES: usize = 500;
const IMAGE_URL_BYTES: usize = 600;
const IMAGE_ALT_BYTES: usize = 100;
const CHOICE_ID_BYTES: usize = 64;
const REFRESH_ID_BYTES: usize = 128;
/// Teams channel and meeting URLs run to several hundred bytes; longer ones are dropped.
const CONTEXT_URL_BYTES: usize = 2048;
const PREVIEW_LINES: usize = 3;
const PREVIEW_BYTES: usize = 300;

/// How much of each variable-size part a rendering may show.
#[derive(Debug, Clone, Copy)]
struct Budget {
    summary_bytes: usize,
    /// Bytes and lines of the expanded details; `None`: the preview only.
    full_details: Option<(usize, usize)>,
    /// Whether details appear at all.
    details: bool,
    responders: usize,
    links: usize,
    images: usize,
    users: usize,
    policies: usize,
}

/// Tried in order until the card fits.
const BUDGETS: [Budget; 3] = [
    Budget {
        summary_bytes: 400,
        full_details: Some((2500, 25)),
        details: true,
        responders: 8,
        links: 6,
        images: 3,
        users: 15,
        policies: 8,
    },
    Budget {
        summary_bytes: 300,
        full_details: None,
        details: true,
        responders: 5,
        links: 3,
        images: 1,
        users: 8,
        policies: 4,
    },
    Budget {
        summary_bytes: 200,
        full_details: None,
        details: false,
        responders: 0,
        links: 0,
        images: 0,
        users: 0,
        policies: 0,
    },
];

/// Renders the card for `alert` in `ctx`: one Adaptive Card 1.5 that always serialises to at
/// most [`MAX_CARD_BYTES`].
///
/// Layout: an optional notice; `[STATUS] summary` (status in colour, summary linking to
/// ilert); facts; a row for the Teams channel / meeting / chat and Refresh; responders;
/// details (collapsed behind "Show details" when long); links; images. The card's actions are
/// Accept, Resolve, Reassign (a form), Comment (a form) and Open in ilert.
///
/// Actions follow the alert's state: Accept only while pending (or in a state this crate does
/// not know, leaving the decision to ilert); Resolve, Reassign and Create channel / meeting /
/// chat until resolved; Comment always, because ilert takes comments on resolved alerts too
/// (a post-mortem note is a comment). Create channel / meeting / chat give way to a link once
/// `ctx` has one. Reassign appears only when `ctx` offers someone to reassign to.
pub fn render_alert_card(alert: &AlertView, ctx: &CardContext) -> Value {
    for budget in &BUDGETS {
        let card = render(alert, ctx, budget);
        if json_len(&card) <= MAX_CARD_BYTES {
            return card;
        }
    }
    too_large_card(alert, ctx)
}

/// Serialised size in bytes, counted without building the string.
pub(crate) fn json_len(value: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing a `Value` to an infallible writer cannot fail.
    serde_json::to_writer(&mut count, value).expect("serialise a JSON value");
    count.0
}

/// Where the alert stands, as far as actions care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Pending, or a state we do not know.
    Open,
    Accepted,
    Resolved,
}

fn stage(alert: &AlertView) -> Stage {
    match alert.status {
        Some(AlertStatus::Accepted) => Stage::Accepted,
        Some(AlertStatus::Resolved) => Stage::Resolved,
        _ => Stage::Open,
    }
}

/// The status label and its Adaptive Card colour.
fn status_label(alert: &AlertView) -> (String, &'static str) {
    match &alert.status {
        Some(AlertStatus::Pending) => ("PENDING".into(), "Attention"),
        Some(AlertStatus::Accepted) => ("ACCEPTED".into(), "Warning"),
        Some(AlertStatus::Resolved) => ("RESOLVED".into(), "Good"),
        Some(AlertStatus::Other(other)) => (inline(&other.to_uppercase(), STATUS_BYTES), "Default"),
        None => ("UNKNOWN".into(), "Default"),
    }
}

fn summary_text(alert: &AlertView, max_bytes: usize) -> String {
    let summary = alert.summary.as_deref().map(|s| inline(s, max_bytes)).unwrap_or_default();
    if summary.is_empty() { format!("Alert {}", alert.id) } else { summary }
}

/// A context link with a usable URL.
fn usable(link: &Option<Link>) -> Option<(String, String)> {
    let link = link.as_ref()?;
    let url = web_url(&link.url, Schemes::Web, CONTEXT_URL_BYTES)?;
    Some((inline(&link.name, NAME_BYTES), url))
}

fn alert_url(ctx: &CardContext) -> Option<String> {
    ctx.alert_url.as_deref().and_then(|url| web_url(url, Schemes::Web, CONTEXT_URL_BYTES))
}

fn time(at: &DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn render(alert: &AlertView, ctx: &CardContext, budget: &Budget) -> Value {
    let (status, colour) = status_label(alert);
    let summary = summary_text(alert, budget.summary_bytes);
    let stage = stage(alert);
    let url = alert_url(ctx);
    let data = base_data(alert, ctx);

    let mut body = Vec::new();
    if let Some(notice) = &ctx.notice {
        let text = inline(&notice.text, NOTICE_BYTES);
        if !text.is_empty() {
            let style = if notice.kind == NoticeKind::Error { "attention" } else { "emphasis" };
            body.push(json!({
                "type": "Container",
                "style": style,
                "items": [rich(vec![run(text)])],
            }));
        }
    }
    body.push(headline(&status, colour, &summary, url.as_deref()));
    body.push(facts(alert));
    body.push(teams_row(stage, ctx, &data));
    body.extend(responders(alert, budget.responders));
    if budget.details {
        body.extend(details(alert, budget));
    }
    body.extend(links(alert, budget.links));
    body.extend(images(alert, budget.images));

    let actions = actions(stage, ctx, &data, url.as_deref(), budget);
    let mut card = card(body, actions, &format!("[{status}] {}", truncate(&summary, 200)));
    if let Some(refresh) = refresh(ctx, &data) {
        card["refresh"] = refresh;
    }
    card
}

/// `[PENDING] Summary`, status in colour, summary linking to ilert.
fn headline(status: &str, colour: &str, summary: &str, url: Option<&str>) -> Value {
    let status_run = with(with(bold(format!("[{status}] ")), "color", colour), "size", "Medium");
    let mut summary_run = with(bold(summary), "size", "Medium");
    if let Some(url) = url {
        summary_run = with(summary_run, "selectAction", json!({ "type": "Action.OpenUrl", "url": url }));
    }
    Value::Object(rich(vec![status_run, summary_run]))
}

/// One "Name: value" line per fact, as runs (plain text, no markdown).
fn facts(alert: &AlertView) -> Value {
    let mut lines: Vec<(&str, String)> = Vec::new();
    if let Some(priority) = &alert.priority {
        let shown = match priority {
            Priority::High => "High".to_owned(),
            Priority::Low => "Low".to_owned(),
            Priority::Other(other) => inline(other, NAME_BYTES),
        };
        lines.push(("Priority", shown));
    }
    let name =
        |r: &Option<crate::alert::NamedRef>| r.as_ref().and_then(|r| r.name.as_deref()).map(|n| inline(n, NAME_BYTES));
    if let Some(source) = name(&alert.alert_source).filter(|n| !n.is_empty()) {
        lines.push(("Alert source", source));
    }
    if let Some(policy) = name(&alert.escalation_policy).filter(|n| !n.is_empty()) {
        lines.push(("Escalation policy", policy));
    }
    lines.push(("Alert ID", alert.id.clone()));
    if let Some(at) = &alert.report_time {
        lines.push(("Reported", time(at)));
    }
    if let Some(at) = &alert.resolved_on {
        lines.push(("Resolved", time(at)));
    }
    let items: Vec<Value> = lines
        .into_iter()
        .enumerate()
        .map(|(i, (title, value))| {
            let block = rich(vec![bold(format!("{title}: ")), run(value)]);
            Value::Object(if i == 0 { block } else { with(block, "spacing", "None") })
        })
        .collect();
    json!({ "type": "Container", "spacing": "Medium", "items": items })
}

/// Most actions an action collection may hold: the adaptivecards library's default host
/// config caps it at 5 (counting overflow actions too), and Teams shows no more than 6.
const MAX_ACTIONS: usize = 5;

/// The Teams row under the facts: for the channel, meeting and chat, a button that opens the
/// one linked to the alert or, until it is resolved, creates one; then Refresh. Kept out of the
/// card's own actions so neither collection exceeds [`MAX_ACTIONS`].
fn teams_row(stage: Stage, ctx: &CardContext, base: &Map<String, Value>) -> Value {
    let resources = [
        (&ctx.channel, "Open channel", Verb::CreateChannel, "Create channel"),
        (&ctx.meeting, "Join meeting", Verb::CreateMeeting, "Create meeting"),
        (&ctx.chat, "Open chat", Verb::CreateChat, "Create chat"),
    ];
    let mut buttons = Vec::new();
    for (link, open, verb, create) in resources {
        match usable(link) {
            // Short titles keep the row on one line; the name goes into the tooltip (1.5).
            Some((name, url)) => {
                let mut button = open_url(open, &url);
                if !name.is_empty() {
                    button["tooltip"] = Value::String(name);
                }
                buttons.push(button);
            }
            None if stage != Stage::Resolved => buttons.push(Value::Object(execute(verb, create, base))),
            None => {}
        }
    }
    buttons.push(Value::Object(execute(Verb::Refresh, "Refresh", base)));
    debug_assert!(buttons.len() <= MAX_ACTIONS);
    json!({ "type": "ActionSet", "spacing": "Medium", "actions": buttons })
}

fn responder_name(responder: &Responder) -> String {
    let user = responder.user.as_ref();
    match user.and_then(|u| u.display_name()) {
        Some(name) => inline(&name, NAME_BYTES),
        None => match user.and_then(|u| u.id.as_deref()) {
            Some(id) => format!("ilert user {}", inline(id, NAME_BYTES)),
            None => "Unknown user".into(),
        },
    }
}

fn responders(alert: &AlertView, max: usize) -> Vec<Value> {
    let mut out = Vec::new();
    if alert.responders.is_empty() {
        // Old payloads name a single assignee instead.
        if let Some(name) = alert.assigned_to.as_ref().and_then(|u| u.display_name()) {
            out.push(Value::Object(with(
                rich(vec![bold("Assigned to: "), run(inline(&name, NAME_BYTES))]),
                "spacing",
                "None",
            )));
        }
        return out;
    }
    let total = alert.responders.len();
    out.push(heading("Responders"));
    for responder in alert.responders.iter().take(max) {
        let mut runs = vec![run(format!("• {}", responder_name(responder)))];
        match &responder.status {
            Some(ResponderStatus::Accepted) => {
                let at = responder.accepted_at.as_ref().map(|at| format!(" {}", time(at))).unwrap_or_default();
                runs.push(with(run(format!(" — accepted{at}")), "color", "Good"));
            }
            Some(ResponderStatus::Pending) => runs.push(with(run(" — pending"), "isSubtle", true)),
            Some(ResponderStatus::Other(other)) => {
                runs.push(with(run(format!(" — {}", inline(&other.to_lowercase(), STATUS_BYTES))), "isSubtle", true))
            }
            None => {}
        }
        out.push(Value::Object(with(rich(runs), "spacing", "None")));
    }
    let shown = total.min(max);
    if total > shown {
        let text =
            if shown == 0 { format!("{total} responders; see ilert.") } else { format!("and {} more", total - shown) };
        out.push(note(&text));
    }
    out
}

/// Lines of text cut to `max_bytes` and `max_lines`; whether anything was left out.
fn bounded_lines(lines: &[String], max_bytes: usize, max_lines: usize) -> (Vec<String>, bool) {
    let mut out = Vec::new();
    let mut left = max_bytes;
    for (i, line) in lines.iter().enumerate() {
        if out.len() == max_lines || left == 0 {
            return (out, true);
        }
        if line.len() > left {
            // Not worth a line for a few bytes; mark the cut on the previous one.
            if left >= 16 || out.is_empty() {
                out.push(truncate(line, left).into_owned());
            } else if let Some(last) = out.last_mut() {
                last.push(crate::text::ELLIPSIS);
            }
            return (out, true);
        }
        left -= line.len();
        out.push(line.clone());
        if i + 1 == lines.len() {
            return (out, false);
        }
    }
    (out, false)
}

/// One monospace `RichTextBlock` per line: `TextRun`s take no markdown, and a block per line
/// keeps line breaks on every client. An empty line becomes extra spacing before the next.
fn detail_blocks(lines: &[String]) -> Vec<Value> {
    let mut blocks = Vec::new();
    let mut gap = false;
    for line in lines {
        if line.is_empty() {
            gap = true;
            continue;
        }
        let block = rich(vec![with(with(run(line.clone()), "fontType", "Monospace"), "size", "Small")]);
        blocks.push(Value::Object(with(block, "spacing", if gap { "Small" } else { "None" })));
        gap = false;
    }
    blocks
}

fn details(alert: &AlertView, budget: &Budget) -> Vec<Value> {
    let Some(text) = alert.details.as_deref() else { return Vec::new() };
    let lines = clean_lines(text);
    if lines.is_empty() {
        return Vec::new();
    }
    let chars: usize = lines.iter().map(|l| l.chars().count()).sum();
    let mut out = vec![heading("Details")];
    if chars <= SHORT_DETAILS_CHARS && lines.len() <= SHORT_DETAILS_LINES {
        out.extend(detail_blocks(&lines));
        return out;
    }

    let (mut preview, _) = bounded_lines(&lines, PREVIEW_BYTES, PREVIEW_LINES);
    if let Some(last) = preview.last_mut().filter(|l| !l.ends_with(crate::text::ELLIPSIS)) {
        last.push_str(" …");
    }
    let preview_container = json!({ "type": "Container", "id": ID_DETAILS_PREVIEW, "items": detail_blocks(&preview) });
    let Some((max_bytes, max_lines)) = budget.full_details else {
        out.push(preview_container);
        out.push(note("Full details in ilert."));
        return out;
    };

    let (full, cut) = bounded_lines(&lines, max_bytes, max_lines);
    let targets = json!([ID_DETAILS_PREVIEW, ID_DETAILS_FULL, ID_DETAILS_SHOW]);
    let toggle = |title: &str| json!({ "type": "Action.ToggleVisibility", "title": title, "targetElements": targets });
    let mut full_items = detail_blocks(&full);
    if cut {
        full_items.push(note("Details shortened; the full text is in ilert."));
    }
    full_items.push(json!({ "type": "ActionSet", "actions": [toggle("Hide details")] }));
    out.push(preview_container);
    out.push(json!({ "type": "Container", "id": ID_DETAILS_FULL, "isVisible": false, "items": full_items }));
    out.push(json!({ "type": "ActionSet", "id": ID_DETAILS_SHOW, "actions": [toggle("Show details")] }));
    out
}

/// A markdown bullet list of the http(s) links: the one place user text meets markdown, so
/// text is escaped and URLs are encoded.
fn links(alert: &AlertView, max: usize) -> Vec<Value> {
    let usable: Vec<(String, String)> = alert
        .links
        .iter()
        .filter_map(|link| {
            let url = web_url(link.href.as_deref()?, Schemes::Web, LINK_URL_BYTES)?;
            let text = link.text.as_deref().map(|t| inline(t, LINK_TEXT_BYTES)).unwrap_or_default();
            let text = if text.is_empty() { inline(&url, LINK_TEXT_BYTES) } else { text };
            Some((text, url))
        })
        .collect();
    if usable.is_empty() || max == 0 {
        return Vec::new();
    }
    let items: Vec<String> = usable
        .iter()
        .take(max)
        .map(|(text, url)| format!("- [{}]({})", escape_markdown(text), markdown_url(url)))
        .collect();
    // `\r` separates list items in Teams' markdown (Microsoft's card formatting docs) and
    // is a line ending in CommonMark too.
    let mut out = vec![heading("Links"), Value::Object(with(label(&items.join("\r")), "spacing", "Small"))];
    if usable.len() > max {
        out.push(note(&format!("and {} more in ilert", usable.len() - max)));
    }
    out
}

/// The first few https images; a click opens the image's `href` when it is a web URL.
fn images(alert: &AlertView, max: usize) -> Vec<Value> {
    alert
        .images
        .iter()
        .filter_map(|image| {
            let url = web_url(image.src.as_deref()?, Schemes::Https, IMAGE_URL_BYTES)?;
            let alt = image.alt.as_deref().map(|a| inline(a, IMAGE_ALT_BYTES)).filter(|a| !a.is_empty());
            let mut element = json!({ "type": "Image", "url": url, "size": "Large", "altText": alt.unwrap_or_else(|| "Alert image".into()) });
            if let Some(href) = image.href.as_deref().and_then(|h| web_url(h, Schemes::Web, IMAGE_URL_BYTES)) {
                element["selectAction"] = json!({ "type": "Action.OpenUrl", "url": href });
            }
            Some(element)
        })
        .take(max)
        .collect()
}

/// `ctx.action_data` plus the alert id; each action adds its verb.
fn base_data(alert: &AlertView, ctx: &CardContext) -> Map<String, Value> {
    let mut data = ctx.action_data.clone();
    data.insert(DATA_ALERT_ID.into(), Value::String(alert.id.clone()));
    data
}

fn data_for(verb: Verb, base: &Map<String, Value>) -> Value {
    let mut data = base.clone();
    data.insert(DATA_VERB.into(), verb.as_str().into());
    Value::Object(data)
}

/// `Action.Execute` with the verb in `verb` and in `data`, falling back to an `Action.Submit`
/// with the same data on clients below 1.4.
fn execute(verb: Verb, title: &str, base: &Map<String, Value>) -> Map<String, Value> {
    let data = data_for(verb, base);
    let mut action = Map::new();
    action.insert("type".into(), "Action.Execute".into());
    action.insert("title".into(), title.into());
    action.insert("verb".into(), verb.as_str().into());
    action.insert("data".into(), data.clone());
    action.insert("fallback".into(), json!({ "type": "Action.Submit", "title": title, "data": data }));
    action
}

fn choices(users: &[Choice], policies: &[Choice], budget: &Budget) -> (Vec<Value>, usize) {
    let valid = |choice: &&Choice| !choice.id.trim().is_empty() && choice.id.len() <= CHOICE_ID_BYTES;
    let users: Vec<&Choice> = users.iter().filter(valid).collect();
    let policies: Vec<&Choice> = policies.iter().filter(valid).collect();
    let mut out = Vec::new();
    for user in users.iter().take(budget.users) {
        let title = inline(&user.title, NAME_BYTES);
        let title = if title.is_empty() { format!("User {}", user.id) } else { title };
        let value = ReassignTarget::User(user.id.trim().to_owned()).to_choice_value();
        out.push(json!({ "title": title, "value": value }));
    }
    for policy in policies.iter().take(budget.policies) {
        let name = inline(&policy.title, NAME_BYTES);
        let title = if name.is_empty() {
            format!("Escalation policy {}", policy.id)
        } else {
            format!("{name} (escalation policy)")
        };
        let value = ReassignTarget::EscalationPolicy(policy.id.trim().to_owned()).to_choice_value();
        out.push(json!({ "title": title, "value": value }));
    }
    let hidden = users.len() + policies.len() - out.len();
    (out, hidden)
}

fn reassign_form(ctx: &CardContext, base: &Map<String, Value>, budget: &Budget) -> Option<Value> {
    let (choices, hidden) = choices(&ctx.reassign_users, &ctx.reassign_policies, budget);
    if choices.is_empty() {
        return None;
    }
    let mut body = vec![json!({
        "type": "Input.ChoiceSet",
        "id": input::REASSIGN_TARGET,
        "label": "Assign to",
        "style": "filtered",
        "isRequired": true,
        "errorMessage": "Choose a user or an escalation policy.",
        "placeholder": "Choose a user or an escalation policy",
        "choices": choices,
    })];
    if hidden > 0 {
        body.push(note(&format!("{hidden} more can be chosen in ilert.")));
    }
    let submit = Value::Object(execute(Verb::Reassign, "Reassign", base));
    Some(json!({ "type": "Action.ShowCard", "title": "Reassign", "card": inner_card(body, vec![submit]) }))
}

fn comment_form(base: &Map<String, Value>) -> Value {
    let body = vec![json!({
        "type": "Input.Text",
        "id": input::COMMENT,
        "label": "Comment",
        "isMultiline": true,
        "isRequired": true,
        "maxLength": COMMENT_MAX_CHARS,
        "placeholder": "Add a comment to the alert in ilert",
        "errorMessage": "Write a comment first.",
    })];
    let submit = Value::Object(execute(Verb::Comment, "Add comment", base));
    json!({ "type": "Action.ShowCard", "title": "Comment", "card": inner_card(body, vec![submit]) })
}

/// The card's own actions, at most [`MAX_ACTIONS`]: Accept, Resolve, Reassign, Comment and
/// Open in ilert, as far as they apply.
fn actions(
    stage: Stage,
    ctx: &CardContext,
    base: &Map<String, Value>,
    url: Option<&str>,
    budget: &Budget,
) -> Vec<Value> {
    let mut actions = Vec::new();
    if stage == Stage::Open {
        actions.push(Value::Object(with(execute(Verb::Accept, "Accept", base), "style", "positive")));
    }
    if stage != Stage::Resolved {
        actions.push(Value::Object(execute(Verb::Resolve, "Resolve", base)));
        actions.extend(reassign_form(ctx, base, budget));
    }
    actions.push(comment_form(base));
    if let Some(url) = url {
        actions.push(open_url("Open in ilert", url));
    }
    debug_assert!(actions.len() <= MAX_ACTIONS);
    actions
}

/// The `refresh` section. Its action gets no `Action.Submit` fallback: a refresh runs by
/// itself, and a client without `Action.Execute` cannot run it either way.
fn refresh(ctx: &CardContext, base: &Map<String, Value>) -> Option<Value> {
    let action = json!({
        "type": "Action.Execute",
        "title": "Refresh",
        "verb": Verb::Refresh.as_str(),
        "data": data_for(Verb::Refresh, base),
    });
    match &ctx.refresh {
        Refresh::Off => None,
        Refresh::Manual => Some(json!({ "action": action, "userIds": [] })),
        Refresh::AllMembers => Some(json!({ "action": action })),
        Refresh::Users(ids) => {
            let mut kept: Vec<&str> = Vec::new();
            for id in ids.iter().map(|id| id.trim()) {
                // A cut MRI names nobody, so overlong ids are skipped, not shortened.
                if !id.is_empty() && id.len() <= REFRESH_ID_BYTES && !kept.contains(&id) {
                    kept.push(id);
                    if kept.len() == MAX_REFRESH_USER_IDS {
                        break;
                    }
                }
            }
            Some(json!({ "action": action, "userIds": kept }))
        }
    }
}

/// The last resort when even the tightest budget does not fit: status, summary and a way to
/// ilert. Every part is bounded, so this card is a few KB at most.
fn too_large_card(alert: &AlertView, ctx: &CardContext) -> Value {
    let (status, colour) = status_label(alert);
    let summary = summary_text(alert, 200);
    let url = alert_url(ctx);
    let body = vec![
        headline(&status, colour, &summary, url.as_deref()),
        Value::Object(rich(vec![run("This alert has too much to show here. Open it in ilert to act on it.")])),
    ];
    let actions = url.iter().map(|url| open_url("Open in ilert", url)).collect();
    card(body, actions, &format!("[{status}] {summary}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(n: usize, each: &str) -> Vec<String> {
        (0..n).map(|_| each.to_owned()).collect()
    }

    #[test]
    fn bounded_lines_respects_both_bounds() {
        let (out, cut) = bounded_lines(&lines(10, "abcd"), 1000, 3);
        assert_eq!((out.len(), cut), (3, true));
        let (out, cut) = bounded_lines(&lines(3, "abcd"), 1000, 3);
        assert_eq!((out.len(), cut), (3, false));
        let (out, cut) = bounded_lines(&lines(3, &"x".repeat(100)), 130, 10);
        assert!(cut);
        assert_eq!(out.len(), 2);
        assert!(out.iter().map(String::len).sum::<usize>() <= 130);
        // Too little room for a second line: the first gets the ellipsis instead.
        let (out, _) = bounded_lines(&lines(3, &"x".repeat(100)), 105, 10);
        assert_eq!(out.len(), 1);
        assert!(out[0].ends_with('…'));
    }

    #[test]
    fn refresh_ids_are_deduplicated_capped_and_never_cut() {
        let mut ids: Vec<String> = (0..100).map(|i| format!("29:user-{i}")).collect();
        ids.insert(0, "29:user-0".into());
        ids.insert(1, format!("29:{}", "x".repeat(200)));
        let ctx = CardContext { refresh: Refresh::Users(ids), ..CardContext::default() };
        let section = refresh(&ctx, &Map::new()).unwrap();
        let kept = section["userIds"].as_array().unwrap();
        assert_eq!(kept.len(), MAX_REFRESH_USER_IDS);
        assert_eq!(kept[0], "29:user-0");
        assert_eq!(kept[1], "29:user-1");
        assert_eq!(kept[59], "29:user-59");
    }

    #[test]
    fn json_len_matches_serialisation() {
        let value = json!({"a": "ä\"\n", "b": [1, 2, null]});
        assert_eq!(json_len(&value), serde_json::to_string(&value).unwrap().len());
    }
}
