//! The Bot Framework protocol as Teams speaks it, for the bot's endpoint and its workers:
//!
//! - [`ChannelValidator`]: validation of the channel token on every inbound request, as
//!   Microsoft specifies it (signature by a published, endorsed key; issuer; audience;
//!   lifetime with five minutes of skew; `serviceurl` bound to the activity), with the signing
//!   keys cached process-wide;
//! - [`Activity`] and Teams' `channelData`, tolerant of fields and types it does not know,
//!   with the helpers a handler needs (tenant, mention stripping, bot added or removed);
//! - invoke values and the responses Teams expects inline ([`invoke`]);
//! - [`ConnectorClient`]: the Bot Connector REST API, sending the bot's token (from
//!   [`entra::TokenProvider`]) only to allow-listed serviceUrls, with retries bounded by the
//!   caller's deadline and typed failures.
//!
//! It knows the Bot Framework and Teams wire protocol and nothing else: not ilert, not our
//! storage, not what an incident is. Tokens and secrets never reach a log or an error.

#![warn(missing_docs)]

mod activity;
mod auth;
mod connector;
pub mod invoke;
mod keys;

pub use activity::{
    ADAPTIVE_CARD_CONTENT_TYPE, Activity, ActivityType, Attachment, ChannelAccount, ChannelInfo, ConversationAccount,
    Entity, MessageReaction, NotificationInfo, TeamInfo, TeamsChannelData, TeamsChannelDataSettings, TenantInfo,
};
pub use auth::{AuthError, CLOCK_SKEW_SECS, ChannelAuthConfig, ChannelIdentity, ChannelValidator};
pub use connector::{
    ConnectorClient, ConnectorConfig, ConnectorError, ConversationParameters, ConversationResourceResponse,
    ResourceResponse, RetryPolicy, TeamsChannelAccount,
};
pub use keys::{KEY_REFRESH_INTERVAL, UNKNOWN_KID_REFETCH_INTERVAL};
