//! [`CardContext`]: what the bot knows about an alert beyond ilert's own data (its URL, the
//! Teams channel, meeting and chat linked to it, whom it may be reassigned to, who gets
//! automatic refreshes) and extra data the bot wants back in every action.

use serde_json::{Map, Value};

/// A Teams resource linked to the alert (channel, meeting or chat).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// What to call it on the card, e.g. the channel name.
    pub name: String,
    /// Where it opens; must be http(s), or the link is treated as absent.
    pub url: String,
}

impl Link {
    /// A link named `name` to `url`.
    pub fn new(name: impl Into<String>, url: impl Into<String>) -> Self {
        Self { name: name.into(), url: url.into() }
    }
}

/// One option of the reassign form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The ilert id (user or escalation policy).
    pub id: String,
    /// What the user sees.
    pub title: String,
}

impl Choice {
    /// A choice of `id` shown as `title`.
    pub fn new(id: impl Into<String>, title: impl Into<String>) -> Self {
        Self { id: id.into(), title: title.into() }
    }
}

/// The card's Universal Actions `refresh` section (Bot Framework reference §6.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Refresh {
    /// No `refresh` section: the card never refreshes by itself.
    Off,
    /// `userIds: []`: no automatic refresh; Teams offers a manual "Refresh card" menu item.
    /// The default, because it is safe in a channel of any size.
    #[default]
    Manual,
    /// `userIds` listed: these users (Teams `29:` MRIs) get an automatic user-specific refresh
    /// when they view the card. Teams honours at most 60; the first 60 distinct ids are used.
    Users(Vec<String>),
    /// `userIds` omitted: everyone refreshes automatically, but only in conversations of at
    /// most 60 members (Teams' rule). Fits 1:1 and small group chats.
    AllMembers,
}

/// How a notice at the top of the card reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NoticeKind {
    /// Neutral progress, e.g. "Creating the channel…".
    #[default]
    Info,
    /// Something failed, e.g. "ilert refused: the alert is already resolved".
    Error,
}

/// A one-line message shown above the alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Info or error.
    pub kind: NoticeKind,
    /// The message (shown as plain text, cut to a bound).
    pub text: String,
}

impl Notice {
    /// A neutral notice.
    pub fn info(text: impl Into<String>) -> Self {
        Self { kind: NoticeKind::Info, text: text.into() }
    }

    /// An error notice.
    pub fn error(text: impl Into<String>) -> Self {
        Self { kind: NoticeKind::Error, text: text.into() }
    }
}

/// Everything about an alert card that does not come from ilert's alert object.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CardContext {
    /// The alert in ilert's web app ("Open in ilert", and the summary links there).
    pub alert_url: Option<String>,
    /// The dedicated channel, if one exists: shown as a link, and "Create channel" goes away.
    pub channel: Option<Link>,
    /// The meeting, if one exists: shown as a link, and "Create meeting" goes away.
    pub meeting: Option<Link>,
    /// The group chat, if one exists: shown as a link, and "Create chat" goes away.
    pub chat: Option<Link>,
    /// Users the alert may be reassigned to (the first few are offered).
    pub reassign_users: Vec<Choice>,
    /// Escalation policies the alert may be reassigned to (the first few are offered).
    pub reassign_policies: Vec<Choice>,
    /// The `refresh` section.
    pub refresh: Refresh,
    /// Merged into the `data` of every action (e.g. `{"connection": "<id>"}`), so the handler
    /// gets it back. `verb` and `alertId` are always the card's own and win over keys here.
    /// Not bounded by the renderer: keep it small, it is repeated in every action.
    pub action_data: Map<String, Value>,
    /// A message at the top of the card, e.g. progress or the error of the last action.
    pub notice: Option<Notice>,
}
