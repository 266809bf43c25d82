//! The routes of one conversation as chat commands: `subscribe`, `unsubscribe` (ilert admins
//! only) and `subscriptions` (everyone), plus what `alerts` and `oncall` read from them.
//!
//! A subscription is a [`Route`] of this conversation that selects one alert source or one
//! escalation policy (no priority or event filter). `unsubscribe X` removes X from every route
//! of the conversation that selects it: a route left with no source (or no policy, whichever X
//! was) is deleted, since an empty selector would mean "any"; a route still selecting others
//! is replaced by one without X.

use crate::context::Turn;
use crate::handler::Failure;
use crate::identity::{self, Refusal};
use crate::state::MessagingState;
use chrono::Utc;
use domain::model::{Connection, Route};
use domain::{ConversationId, RouteId};
use futures::{StreamExt, TryStreamExt};
use ilert::{AlertSource, EscalationPolicy, IlertClient, IlertError, Role};

/// What a subscription names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Source(i64),
    Policy(i64),
}

/// The alert sources and escalation policies of the connection, to resolve and name them.
#[derive(Default)]
pub struct Catalog {
    pub sources: Vec<AlertSource>,
    pub policies: Vec<EscalationPolicy>,
}

/// How an argument resolved.
pub enum Resolved {
    One(Target),
    None,
    Many(Vec<Target>),
}

impl Catalog {
    pub async fn load(client: &IlertClient) -> Result<Catalog, IlertError> {
        let (sources, policies) =
            futures::try_join!(client.list_alert_sources().all(), client.list_escalation_policies().all())?;
        Ok(Catalog { sources, policies })
    }

    fn source_name(&self, id: i64) -> Option<&str> {
        self.sources.iter().find(|s| s.id == id).map(|s| s.name.as_str())
    }

    fn policy_name(&self, id: i64) -> Option<&str> {
        self.policies.iter().find(|p| p.id == id).map(|p| p.name.as_str())
    }

    /// "alert source Grafana (id 12)".
    pub fn describe(&self, target: Target) -> String {
        let (kind, id, name) = match target {
            Target::Source(id) => ("alert source", id, self.source_name(id)),
            Target::Policy(id) => ("escalation policy", id, self.policy_name(id)),
        };
        match name {
            Some(name) => format!("{kind} {name} (id {id})"),
            None => format!("{kind} {id}"),
        }
    }

    /// An exact id or a case-insensitive name, of an alert source or an escalation policy; a
    /// leading `source` / `alert source` / `policy` / `escalation policy` narrows the kind.
    pub fn resolve(&self, argument: &str) -> Resolved {
        let (sources, policies, wanted) = narrow(argument);
        let wanted = wanted.trim().trim_matches(|c| c == '"' || c == '\'' || c == '#').trim().to_lowercase();
        if wanted.is_empty() {
            return Resolved::None;
        }
        let pick = |by_id: bool| -> Vec<Target> {
            let hit = |id: i64, name: &str| {
                if by_id { id.to_string() == wanted } else { name.trim().to_lowercase() == wanted }
            };
            let s = self.sources.iter().filter(|s| sources && hit(s.id, &s.name)).map(|s| Target::Source(s.id));
            let p = self.policies.iter().filter(|p| policies && hit(p.id, &p.name)).map(|p| Target::Policy(p.id));
            s.chain(p).collect()
        };
        let mut found = pick(true);
        if found.is_empty() {
            found = pick(false);
        }
        match found.len() {
            0 => Resolved::None,
            1 => Resolved::One(found[0]),
            _ => Resolved::Many(found),
        }
    }
}

/// Which kinds the argument allows, and the rest of it.
fn narrow(argument: &str) -> (bool, bool, &str) {
    let lower = argument.trim_start().to_lowercase();
    for (prefix, sources, policies) in [
        ("alert source ", true, false),
        ("source ", true, false),
        ("escalation policy ", false, true),
        ("policy ", false, true),
    ] {
        if lower.starts_with(prefix) {
            return (sources, policies, &argument.trim_start()[prefix.len()..]);
        }
    }
    (true, true, argument)
}

/// The routes of the conversation the command was said in.
pub async fn routes_here(state: &MessagingState, turn: &Turn, connection: &Connection) -> Result<Vec<Route>, Failure> {
    let Some(conversation) = turn.base_conversation() else { return Ok(Vec::new()) };
    Ok(state.inner.store.routes_for_conversation(&connection.id, &conversation).await?)
}

/// The hint given where nothing is subscribed yet.
pub const HOW_TO_SUBSCRIBE: &str =
    "An ilert admin can say subscribe <alert source or escalation policy> here to route alerts to this conversation.";

/// `subscriptions`: this conversation's routes, with names.
pub async fn list(state: &MessagingState, turn: &Turn, connection: &Connection) -> Result<String, Failure> {
    let routes = routes_here(state, turn, connection).await?;
    if routes.is_empty() {
        return Ok(format!("Nothing is subscribed in this conversation yet. {HOW_TO_SUBSCRIBE}"));
    }
    // Names are a nicety: without ilert the ids are shown.
    let catalog = match identity::ilert_client(state, connection).await {
        Ok(client) => Catalog::load(&client).await.unwrap_or_default(),
        Err(_) => Catalog::default(),
    };
    let lines: Vec<String> = routes.iter().map(|r| format!("- {}", describe_route(&catalog, r))).collect();
    Ok(format!("Alerts posted in this conversation:\n\n{}", lines.join("\n")))
}

fn describe_route(catalog: &Catalog, route: &Route) -> String {
    let names =
        |targets: Vec<Target>| targets.into_iter().map(|t| catalog.describe(t)).collect::<Vec<_>>().join(" or ");
    let sources = names(route.alert_source_ids.iter().map(|id| Target::Source(*id)).collect());
    let policies = names(route.escalation_policy_ids.iter().map(|id| Target::Policy(*id)).collect());
    let mut text = match (sources.is_empty(), policies.is_empty()) {
        (true, true) => "all alerts".to_owned(),
        (false, true) => sources,
        (true, false) => policies,
        (false, false) => format!("{sources}, on {policies}"),
    };
    if !route.priorities.is_empty() {
        let p: Vec<String> = route.priorities.iter().map(wire_name).collect();
        text.push_str(&format!(", priority {}", p.join(" or ")));
    }
    if !route.events.is_empty() {
        let e: Vec<String> = route.events.iter().map(wire_name).collect();
        text.push_str(&format!(", events: {}", e.join(", ")));
    }
    if route.notify_responders {
        text.push_str(", responders notified personally");
    }
    text
}

fn wire_name<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// `subscribe <alert source | escalation policy>`.
pub async fn subscribe(
    state: &MessagingState,
    turn: &Turn,
    connection: &Connection,
    argument: &str,
) -> Result<String, Failure> {
    let (conversation, catalog) = match prepare(state, turn, connection, argument, "subscribe").await {
        Ok(ready) => ready,
        Err(message) => return Ok(message),
    };
    let target = match catalog.resolve(argument) {
        Resolved::One(t) => t,
        Resolved::None => return Ok(not_found(argument)),
        Resolved::Many(candidates) => return Ok(ambiguous(&catalog, argument, &candidates)),
    };
    let routes = state.inner.store.routes_for_conversation(&connection.id, &conversation).await?;
    let (sources, policies) = match target {
        Target::Source(id) => (vec![id], Vec::new()),
        Target::Policy(id) => (Vec::new(), vec![id]),
    };
    let what = catalog.describe(target);
    if routes.iter().any(|r| {
        r.alert_source_ids == sources
            && r.escalation_policy_ids == policies
            && r.priorities.is_empty()
            && r.events.is_empty()
    }) {
        return Ok(format!("This conversation is already subscribed to {what}."));
    }
    let route = Route {
        id: RouteId::generate(),
        connection_id: connection.id.clone(),
        conversation_id: conversation,
        alert_source_ids: sources,
        escalation_policy_ids: policies,
        priorities: Vec::new(),
        events: Vec::new(),
        notify_responders: false,
        created_at: Utc::now(),
    };
    state.inner.store.create_route(&route).await?;
    Ok(format!("Subscribed: alerts of {what} now post in this conversation."))
}

/// `unsubscribe <alert source | escalation policy>`.
pub async fn unsubscribe(
    state: &MessagingState,
    turn: &Turn,
    connection: &Connection,
    argument: &str,
) -> Result<String, Failure> {
    let (conversation, catalog) = match prepare(state, turn, connection, argument, "unsubscribe").await {
        Ok(ready) => ready,
        Err(message) => return Ok(message),
    };
    let routes = state.inner.store.routes_for_conversation(&connection.id, &conversation).await?;
    let target = match catalog.resolve(argument) {
        Resolved::One(t) => t,
        Resolved::Many(candidates) => return Ok(ambiguous(&catalog, argument, &candidates)),
        // An id ilert no longer knows may still be routed here.
        Resolved::None => match argument.trim().trim_start_matches('#').parse::<i64>() {
            Ok(id) if routes.iter().any(|r| r.alert_source_ids.contains(&id)) => Target::Source(id),
            Ok(id) if routes.iter().any(|r| r.escalation_policy_ids.contains(&id)) => Target::Policy(id),
            _ => return Ok(not_found(argument)),
        },
    };
    let what = catalog.describe(target);
    let mut removed = 0;
    let mut narrowed = 0;
    for route in routes {
        let mut kept = route.clone();
        let (list, id) = match target {
            Target::Source(id) => (&mut kept.alert_source_ids, id),
            Target::Policy(id) => (&mut kept.escalation_policy_ids, id),
        };
        if !list.contains(&id) {
            continue;
        }
        list.retain(|x| *x != id);
        if list.is_empty() {
            removed += 1;
        } else {
            // The replacement first: a failure in between posts twice rather than never.
            kept.id = RouteId::generate();
            state.inner.store.create_route(&kept).await?;
            narrowed += 1;
        }
        state.inner.store.delete_route(&connection.id, &route.id).await?;
    }
    Ok(match (removed, narrowed) {
        (0, 0) => format!("This conversation is not subscribed to {what}."),
        (_, 0) => format!("Unsubscribed: alerts of {what} no longer post in this conversation."),
        _ => format!(
            "Unsubscribed: alerts of {what} no longer post in this conversation ({removed} subscription(s) removed, \
             {narrowed} kept for their other alert sources or policies)."
        ),
    })
}

/// The checks `subscribe` and `unsubscribe` share: an argument, a conversation, an admin, and
/// ilert's catalog. `Err` is the answer to give.
async fn prepare(
    state: &MessagingState,
    turn: &Turn,
    connection: &Connection,
    argument: &str,
    command: &str,
) -> Result<(ConversationId, Catalog), String> {
    if argument.trim().is_empty() {
        return Err(format!("Say what to {command}: {command} <alert source or escalation policy name or id>."));
    }
    let conversation = turn.base_conversation().ok_or_else(|| Refusal::Anonymous.to_string())?;
    let client = identity::ilert_client(state, connection).await.map_err(|e| e.to_string())?;
    ensure_admin(state, turn, connection, &client).await?;
    let catalog = Catalog::load(&client).await.map_err(|e| format!("ilert did not answer: {e}"))?;
    Ok((conversation, catalog))
}

/// Only a Teams user matched to an ilert user with the ADMIN role may change routes.
async fn ensure_admin(
    state: &MessagingState,
    turn: &Turn,
    connection: &Connection,
    client: &IlertClient,
) -> Result<(), String> {
    let only = format!("Only ilert admins can change subscriptions; ask an admin of {}.", connection.name);
    let mapping = match identity::matched_user(state, turn, connection).await {
        Ok(m) => m,
        Err(e @ Refusal::Unavailable(_)) => return Err(e.to_string()),
        Err(e) => return Err(format!("{only} ({e})")),
    };
    let unavailable = |e: IlertError| format!("Could not check your ilert role right now ({e}); please try again.");
    let user = match client.find_user_by_email(&mapping.email).await.map_err(unavailable)? {
        Some(user) if user.id == mapping.ilert_user_id => Some(user),
        // The stored match may name another address than ilert's: look the user up by id.
        _ => client
            .list_users()
            .stream()
            .try_filter(|u| futures::future::ready(u.id == mapping.ilert_user_id))
            .boxed()
            .try_next()
            .await
            .map_err(unavailable)?,
    };
    match user.and_then(|u| u.role) {
        Some(Role::Admin) => Ok(()),
        _ => Err(only),
    }
}

fn not_found(argument: &str) -> String {
    format!(
        "No alert source or escalation policy is called \"{}\" (use its exact name or id).",
        argument.trim().chars().take(80).collect::<String>()
    )
}

fn ambiguous(catalog: &Catalog, argument: &str, candidates: &[Target]) -> String {
    let lines: Vec<String> = candidates.iter().map(|t| format!("- {}", catalog.describe(*t))).collect();
    format!(
        "\"{}\" could be any of these; say it again with the id (e.g. source <id> or policy <id>):\n\n{}",
        argument.trim().chars().take(80).collect::<String>(),
        lines.join("\n")
    )
}
