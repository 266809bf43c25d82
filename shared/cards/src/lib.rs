//! The Adaptive Cards users see from the ilert bot in Teams: the alert card (status, facts,
//! responders, details, links, images, linked channel / meeting / chat, and the actions that
//! still apply) and the plain notice card for "under way" and error answers.
//!
//! The crate is pure: data in ([`AlertView`], [`CardContext`]), card JSON
//! ([`serde_json::Value`]) out. It must not know HTTP, AWS, the Bot Framework wire format, the
//! store or ilert's API: the bot fetches the alert, decides the context, and sends the card.
//! What it does own are the rules that keep a card safe to post:
//!
//! * **Version 1.5**, the highest Teams renders and the lowest with `Action.Execute` and
//!   `refresh`; every `Action.Execute` button carries its verb in `data` too and falls back to
//!   an `Action.Submit` with the same data ([`actions`] holds the names the handler matches).
//! * **Size**: every card serialises to at most [`MAX_CARD_BYTES`] (see [`render_alert_card`]).
//!   Teams counts a message as UTF-16, so that is at most about 56 KB by Teams' count, well
//!   inside its ~100 KB limit and its 80 KB advice; old clients cap near 28–40 KB.
//! * **User text is never markdown**: it goes into `TextRun`s, which no renderer
//!   markdown-processes; the links list, the one markdown field, is escaped ([`text`]).

pub mod actions;
pub mod alert;
mod alert_card;
pub mod context;
mod elements;
mod notice;
pub mod text;

pub use actions::{ReassignTarget, Verb};
pub use alert::{AlertImage, AlertLink, AlertStatus, AlertView, AlertViewError, NamedRef, Priority, Responder};
pub use alert::{ResponderStatus, UserRef};
pub use alert_card::{MAX_REFRESH_USER_IDS, SHORT_DETAILS_CHARS, SHORT_DETAILS_LINES, render_alert_card};
pub use context::{CardContext, Choice, Link, Notice, NoticeKind, Refresh};
pub use elements::{CARD_SCHEMA, CARD_VERSION};
pub use notice::render_notice_card;

/// Upper bound of a rendered card's JSON, in bytes. 28 KB is the smallest message limit any
/// Teams path has had (webhooks, connectors, Graph posts), so a card under it posts anywhere.
pub const MAX_CARD_BYTES: usize = 28 * 1024;
