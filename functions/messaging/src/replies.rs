//! The bot's own messages (welcome, help, connect, hints) and sending them proactively.

use crate::state::MessagingState;
use botframework::Activity;
use domain::model::{Connection, ConversationKind};
use serde_json::Value;
use std::time::{Duration, Instant};

/// How long a proactive reply may take: the HTTP answer waits for it, so it stays well inside
/// Teams' 15 s window.
const SEND_BUDGET: Duration = Duration::from_secs(5);

const CONNECT_HOWTO: &str = "An ilert admin connects this Microsoft tenant in ilert (management API \
     POST /admin/v1/connections with this tenant's id); alerts then arrive in the channels routed to them.";

pub fn welcome_card(kind: ConversationKind, connection: Option<&Connection>) -> Value {
    let linked = match connection {
        Some(c) => format!("This tenant is connected to ilert ({}).", c.name),
        None => format!("This tenant is not connected to ilert yet. {CONNECT_HOWTO}"),
    };
    match kind {
        ConversationKind::Personal => cards::render_notice_card(
            "Hi, I'm the ilert bot",
            &format!(
                "I'll tell you about your ilert alerts and who is on call. Type help to see what I can do. {linked}"
            ),
        ),
        _ => cards::render_notice_card(
            "ilert is now in this conversation",
            &format!(
                "ilert alerts routed here appear as cards you can accept, resolve, reassign and comment on. \
                 Mention me with help to see the commands. {linked}"
            ),
        ),
    }
}

pub fn help_card() -> Value {
    cards::render_notice_card(
        "What the ilert bot can do",
        "help: this card. connect: whether this tenant is linked to ilert. whoami: the ilert user you are matched to. \
         oncall [policy or alert source]: who is on call now. alerts: open alerts for this conversation. \
         accept <id>, resolve <id>: act on an alert. subscribe / unsubscribe <alert source or escalation policy>, \
         subscriptions: which alerts post here (ilert admins only). On alert cards: Accept, Resolve, Reassign, Comment.",
    )
}

pub fn connect_card(connection: Option<&Connection>) -> Value {
    match connection {
        Some(c) => cards::render_notice_card(
            "Connected to ilert",
            &format!("This tenant is linked to the ilert connection \"{}\".", c.name),
        ),
        None => not_connected_card(),
    }
}

pub fn not_connected_card() -> Value {
    cards::render_notice_card("This tenant is not connected to ilert", CONNECT_HOWTO)
}

/// Sends a card; failures are logged, not raised: the activity itself was handled.
pub async fn send_card(state: &MessagingState, service_url: &str, conversation: &str, card: Value) {
    send(state, service_url, conversation, &Activity::card_message(card)).await;
}

pub async fn send_text(state: &MessagingState, service_url: &str, conversation: &str, text: &str) {
    send(state, service_url, conversation, &Activity::text_message(text)).await;
}

async fn send(state: &MessagingState, service_url: &str, conversation: &str, activity: &Activity) {
    let deadline = Instant::now() + SEND_BUDGET;
    if let Err(e) = state.inner.connector.send_to_conversation(service_url, conversation, activity, deadline).await {
        tracing::warn!(error = %e, "could not send the bot's reply");
    }
}
