//! ilert's protocol, and nothing else: a typed client for the REST calls we make (written
//! from ilert's OpenAPI spec, `shared/specs/ilert-openapi.json`), the events API, and the body
//! of ilert's outbound webhook.
//!
//! * [`Ilert`] holds the endpoint (`ILERT_API_URL`, default [`DEFAULT_API_URL`]), the HTTP
//!   client and the [`RetryPolicy`]; [`Ilert::client`] makes an [`IlertClient`] acting as one
//!   API key's user (`Authorization: Bearer …`). Keys are [`secrets::SecretString`]s and
//!   appear in no log, error or `Debug` output.
//! * ilert answers 429 without `Retry-After`; calls wait 10–30 s (jittered) and retry 5xx with
//!   back-off, but only while the deadline ([`IlertClient::with_deadline`]) allows. Otherwise
//!   they return [`IlertError::Throttled`] with the wait, so a queue consumer can re-queue
//!   with that delay.
//! * [`parse_webhook`] reads a delivery into a [`WebhookEvent`] or says which field is wrong.
//!
//! Readers are tolerant: unknown fields are ignored, enums are open (`Other(String)`),
//! timestamps may have any precision. This crate must not know Teams, DynamoDB or our domain:
//! mapping ilert's shapes onto the product's model is the caller's job.

mod client;
mod error;
mod model;
mod webhook;
mod wire;

pub use client::{AlertFilter, Assignee, DEFAULT_API_URL, Ilert, IlertClient, Listing, OnCallFilter, RetryPolicy};
pub use error::IlertError;
pub use model::{
    Alert, AlertAction, AlertActionTrigger, AlertSource, AlertSourceId, AlertStatus, EscalationPolicy, EscalationRule,
    Event, EventAccepted, EventComment, EventType, Image, Link, ManualAlert, NamedRef, OnCall, Priority, Responder,
    ResponderStatus, Role, ScheduleRef, User, UserRef,
};
pub use webhook::{AssignedUser, MergeState, WebhookEvent, WebhookEventType, WebhookParseError, parse_webhook};
