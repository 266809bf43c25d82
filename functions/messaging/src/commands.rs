//! Chat commands, in channels, group chats and personal chats (the bot's mention stripped,
//! case-insensitive). Replies are sent to the conversation before the 200 is answered, each
//! within a short budget, so the answer stays inside Teams' window.
//!
//! `alerts` answers with a line of text and then one alert card per open alert (the newest
//! [`MAX_ALERT_CARDS`]), each with its actions (accept, resolve, reassign, comment, …) exactly
//! as on a posted card. These cards are not tracked as the alert's card of the conversation:
//! acting on one refreshes that card, later ilert events update only the routed cards.

mod subscriptions;

use crate::actions::{self, ActionError};
use crate::answer::Answer;
use crate::context::Turn;
use crate::handler::HandlerResult;
use crate::identity;
use crate::replies;
use crate::state::MessagingState;
use cards::Verb;
use domain::AlertId;
use domain::model::Connection;
use domain::model::{AlertFacts, Priority, Route};
use futures::{StreamExt, TryStreamExt};
use std::collections::{BTreeMap, BTreeSet};

/// At most this many alert cards answer `alerts`.
pub const MAX_ALERT_CARDS: usize = 10;

/// Open alerts read per ilert query before picking the newest.
const MAX_ALERTS_SCANNED: usize = 500;

/// A message: a command, or (an `Action.Submit` fallback with `value`) ignored here.
pub async fn on_message(state: &MessagingState, turn: &Turn) -> HandlerResult {
    let text = turn.activity.text_without_bot_mention();
    let mut words = text.split_whitespace();
    let command = words.next().unwrap_or_default().to_ascii_lowercase();
    let rest: Vec<&str> = words.collect();
    let argument = rest.join(" ");
    let reply_to = turn.conversation_id().to_owned();
    let say = |text: String| {
        let reply_to = reply_to.clone();
        async move { replies::send_text(state, &turn.service_url, &reply_to, &text).await }
    };
    let show = |card: serde_json::Value| {
        let reply_to = reply_to.clone();
        async move { replies::send_card(state, &turn.service_url, &reply_to, card).await }
    };
    if command.is_empty() && turn.activity.value.is_some() {
        return Ok(Answer::Ok);
    }
    match command.as_str() {
        "help" => show(replies::help_card()).await,
        "connect" => show(replies::connect_card(turn.connection.as_ref())).await,
        _ if turn.connection.is_none() => show(replies::not_connected_card()).await,
        "alert" => crate::dialog::on_command(state, turn).await,
        "whoami" => say(whoami(state, turn, connection(turn)).await).await,
        "accept" | "resolve" => {
            let verb = if command == "accept" { Verb::Accept } else { Verb::Resolve };
            say(act(state, turn, connection(turn), verb, &argument).await?).await
        }
        "oncall" => say(oncall(state, turn, connection(turn), &argument).await?).await,
        "alerts" => {
            let (text, cards) = alerts(state, turn, connection(turn)).await?;
            say(text).await;
            for card in cards {
                show(card).await;
            }
        }
        "subscribe" => say(subscriptions::subscribe(state, turn, connection(turn), &argument).await?).await,
        "unsubscribe" => say(subscriptions::unsubscribe(state, turn, connection(turn), &argument).await?).await,
        "subscriptions" => say(subscriptions::list(state, turn, connection(turn)).await?).await,
        _ => {
            say(format!("I don't know \"{}\". Here is what I can do:", text.chars().take(60).collect::<String>()))
                .await;
            show(replies::help_card()).await
        }
    }
    Ok(Answer::Ok)
}

fn connection(turn: &Turn) -> &Connection {
    turn.connection.as_ref().expect("checked by the caller")
}

async fn whoami(state: &MessagingState, turn: &Turn, connection: &Connection) -> String {
    match identity::matched_user(state, turn, connection).await {
        Ok(m) => format!(
            "You are matched to the ilert user {} (id {}, {}).",
            m.display_name.as_deref().unwrap_or(&m.email),
            m.ilert_user_id,
            m.email
        ),
        Err(e) => e.to_string(),
    }
}

async fn act(
    state: &MessagingState,
    turn: &Turn,
    connection: &Connection,
    verb: Verb,
    argument: &str,
) -> Result<String, crate::handler::Failure> {
    let Some((number, id)) = argument
        .trim()
        .trim_start_matches('#')
        .parse::<i64>()
        .ok()
        .and_then(|n| AlertId::parse(n.to_string()).ok().map(|id| (n, id)))
    else {
        return Ok(format!("Say which alert: {} <alert id>.", verb.as_str()));
    };
    match actions::perform(state, turn, connection, verb, number, &id, &serde_json::Value::Null).await {
        Ok(_) => Ok(format!("Alert {number} {}.", if verb == Verb::Accept { "accepted" } else { "resolved" })),
        Err(ActionError::Failed(f)) => Err(f),
        Err(e) => Ok(e.to_string()),
    }
}

/// Who is on call now, for the named escalation policy or alert source, else for the
/// policies this conversation's routes name (or all, when they name none).
async fn oncall(
    state: &MessagingState,
    turn: &Turn,
    connection: &Connection,
    argument: &str,
) -> Result<String, crate::handler::Failure> {
    let client = match identity::ilert_client(state, connection).await {
        Ok(c) => c,
        Err(e) => return Ok(e.to_string()),
    };
    let mut filter = ilert::OnCallFilter::default();
    let mut heading = "On call now";
    if !argument.is_empty() {
        let wanted = argument.to_lowercase();
        let policies = client.list_escalation_policies().stream().try_collect::<Vec<_>>().await.unwrap_or_default();
        if let Some(p) = policies.iter().find(|p| p.name.to_lowercase() == wanted || p.id.to_string() == wanted) {
            filter.policies.push(p.id);
        } else {
            let sources = client.list_alert_sources().stream().try_collect::<Vec<_>>().await.unwrap_or_default();
            match sources.iter().find(|s| s.name.to_lowercase() == wanted || s.id.to_string() == wanted) {
                Some(s) => filter.policies.extend(s.escalation_policy.as_ref().map(|p| p.id)),
                None => return Ok(format!("No escalation policy or alert source is called \"{argument}\".")),
            }
        }
    } else {
        let routes = subscriptions::routes_here(state, turn, connection).await?;
        if let Some(policies) = route_policies(&client, &routes).await {
            filter.policies = policies;
            heading = "On call now for the escalation policies of this conversation";
        }
    }
    let on_calls = match client.list_on_calls(&filter).all().await {
        Ok(list) => list,
        Err(e) => return Ok(format!("ilert did not answer: {e}")),
    };
    if on_calls.is_empty() {
        return Ok("Nobody is on call right now.".into());
    }
    let lines: Vec<String> = on_calls
        .iter()
        .map(|o| {
            let policy = o.escalation_policy.as_ref().map(|p| p.name.as_str()).unwrap_or("?");
            let until =
                o.end.map(|e| e.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_else(|| "further notice".into());
            let level = o.escalation_level.map(|l| format!(", level {l}")).unwrap_or_default();
            format!("- {} ({policy}{level}) until {until}", o.user.display_name())
        })
        .collect();
    Ok(format!("{heading}:\n\n{}", lines.join("\n")))
}

/// The escalation policies of these routes: their own, and for routes naming only alert
/// sources, those sources' policies. `None`: everyone (no routes, a route taking every alert,
/// or nothing resolvable).
async fn route_policies(client: &ilert::IlertClient, routes: &[Route]) -> Option<Vec<i64>> {
    if routes.is_empty() || routes.iter().any(|r| r.alert_source_ids.is_empty() && r.escalation_policy_ids.is_empty()) {
        return None;
    }
    let mut policies: BTreeSet<i64> = routes.iter().flat_map(|r| r.escalation_policy_ids.iter().copied()).collect();
    let source_ids: BTreeSet<i64> = routes
        .iter()
        .filter(|r| r.escalation_policy_ids.is_empty())
        .flat_map(|r| r.alert_source_ids.iter().copied())
        .collect();
    if !source_ids.is_empty() {
        let sources = client.list_alert_sources().all().await.unwrap_or_default();
        policies.extend(
            sources
                .iter()
                .filter(|s| source_ids.contains(&s.id))
                .filter_map(|s| s.escalation_policy.as_ref().map(|p| p.id)),
        );
    }
    (!policies.is_empty()).then(|| policies.into_iter().collect())
}

/// `alerts`: the open alerts this conversation's routes select, newest first, as alert cards.
async fn alerts(
    state: &MessagingState,
    turn: &Turn,
    connection: &Connection,
) -> Result<(String, Vec<serde_json::Value>), crate::handler::Failure> {
    let routes = subscriptions::routes_here(state, turn, connection).await?;
    if routes.is_empty() {
        return Ok((
            format!(
                "No alerts are routed to this conversation, so there are none to show. {}",
                subscriptions::HOW_TO_SUBSCRIBE
            ),
            Vec::new(),
        ));
    }
    let client = match identity::ilert_client(state, connection).await {
        Ok(c) => c,
        Err(e) => return Ok((e.to_string(), Vec::new())),
    };
    // One ilert query per distinct selector (a route taking every alert needs just one); the
    // priority the API cannot filter on is checked here, with the routes' own rule.
    let open = vec![ilert::AlertStatus::Pending, ilert::AlertStatus::Accepted];
    let mut filters: Vec<ilert::AlertFilter> = Vec::new();
    for route in &routes {
        let filter = if route.alert_source_ids.is_empty() && route.escalation_policy_ids.is_empty() {
            ilert::AlertFilter { states: open.clone(), ..Default::default() }
        } else {
            ilert::AlertFilter {
                states: open.clone(),
                sources: route.alert_source_ids.clone(),
                policies: route.escalation_policy_ids.clone(),
            }
        };
        if !filters.contains(&filter) {
            filters.push(filter);
        }
    }
    let mut found: BTreeMap<i64, ilert::Alert> = BTreeMap::new();
    for filter in &filters {
        let listed: Vec<ilert::Alert> =
            match client.list_alerts(filter).stream().take(MAX_ALERTS_SCANNED).try_collect().await {
                Ok(list) => list,
                Err(e) => return Ok((format!("ilert did not answer: {e}"), Vec::new())),
            };
        for alert in listed {
            if routes.iter().any(|r| r.selects(&facts(&alert))) {
                found.insert(alert.id, alert);
            }
        }
    }
    if found.is_empty() {
        return Ok(("No open alerts for this conversation.".into(), Vec::new()));
    }
    let total = found.len();
    let mut newest: Vec<ilert::Alert> = found.into_values().collect();
    newest.sort_by(|a, b| b.report_time.cmp(&a.report_time).then(b.id.cmp(&a.id)));
    newest.truncate(MAX_ALERT_CARDS);
    let text = if total > newest.len() {
        format!("{total} open alerts for this conversation; the newest {}:", newest.len())
    } else if total == 1 {
        "1 open alert for this conversation:".to_owned()
    } else {
        format!("{total} open alerts for this conversation, newest first:")
    };
    let mut ctx = cards::CardContext::default();
    ctx.action_data.insert("connection".into(), connection.id.as_str().into());
    let cards = newest
        .iter()
        .map(|alert| {
            let view = serde_json::to_value(alert)
                .ok()
                .and_then(|v| cards::AlertView::from_json(&v).ok())
                .unwrap_or_else(|| cards::AlertView::new(alert.id.to_string()));
            cards::render_alert_card(&view, &ctx)
        })
        .collect();
    Ok((text, cards))
}

/// What a route looks at, from an ilert alert.
fn facts(alert: &ilert::Alert) -> AlertFacts {
    AlertFacts {
        alert_source_id: alert.alert_source.as_ref().map(|s| s.id),
        escalation_policy_id: alert.escalation_policy.as_ref().map(|p| p.id),
        priority: match alert.priority {
            Some(ilert::Priority::High) => Some(Priority::High),
            Some(ilert::Priority::Low) => Some(Priority::Low),
            _ => None,
        },
    }
}
