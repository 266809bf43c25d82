//! `messaging`: the Bot Framework endpoint `POST /api/messages`, where Teams delivers every
//! activity for the ilert bot.
//!
//! It owns: checking the Bot Connector's token before anything in the body is trusted; the
//! HTTP answers Teams expects (401/400/405/413, inline invoke responses); de-duplicating
//! re-delivered activities; picking the tenant's connection; the bot's install lifecycle
//! (stored conversation references, welcome cards, deletion on removal); the card actions
//! (accept, resolve, reassign, comment, refresh, and queueing provisioning jobs, see
//! [`jobs`]); and the chat commands (`help`, `connect`, `whoami`, `oncall`, `alerts`, …).
//!
//! It must not know how the store or queue are implemented (it works through the `domain`
//! ports), the Bot Framework or ilert wire formats beyond the shared crates' types, or how
//! provisioning jobs are carried out. See `README.md` for what is attributed to whom.

mod actions;
mod answer;
mod commands;
mod context;
mod dialog;
mod handler;
mod identity;
pub mod jobs;
mod lifecycle;
mod replies;
mod state;
mod thread_comments;

pub use handler::MAX_BODY_BYTES;
pub use state::{MessagingDeps, MessagingState};

use axum::Router;
use axum::routing::any;

/// `POST /api/messages` (any other method answers 405), with the request span.
pub fn router(state: MessagingState) -> Router {
    Router::new()
        .route("/api/messages", any(handler::messages))
        .with_state(state)
        .layer(httpapi::RequestSpanLayer::new("messaging"))
}
