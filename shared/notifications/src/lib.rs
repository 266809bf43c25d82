//! The alert path, from an ilert webhook to the cards responders see.
//!
//! 1. [`ingest`] turns ilert's webhook body into a domain [`AlertEvent`](domain::alerts::AlertEvent)
//!    and queues it (the webhook function answers 2xx only once the queue has it).
//! 2. [`Notifier`] consumes the queue. An event job applies the event to the alert record
//!    (state only moves forward) and fans out one delivery job per matching route; a delivery
//!    job posts the alert's card as a new thread, or updates it in place and adds a thread
//!    reply. Deliveries are grouped per conversation on a FIFO queue, so a card is never
//!    updated before it exists, and each step is idempotent so a re-delivered job has no
//!    second effect.
//!
//! Teams is reached through the [`TeamsPoster`] port; [`ConnectorPoster`] implements it over
//! the Bot Connector. This crate knows nothing of HTTP servers, SQS or DynamoDB.

pub mod ingest;
mod jobs;
mod notifier;
mod teams;

pub use jobs::{Delivery, EventJob, NotificationJob};
pub use notifier::{Notifier, NotifierOptions, render};
pub use teams::{ConnectorPoster, PostError, PostedCard, TeamsPoster};
