//! Microsoft Graph as the app sees it with application permissions, one customer tenant at a
//! time: typed calls for teams, channels and their members, group members, chats, users (with
//! delta), calendar events and getSchedule, and JSON `$batch` (the facts are in
//! `../shared/reference/graph.md`).
//!
//! This crate owns the Graph protocol: app-only tokens per tenant (from [`entra`], scope
//! `{GRAPH_URL}/.default`, renewed once on a 401), collections as lazy streams following
//! `@odata.nextLink`, the delta cycle, throttling (`Retry-After` in fractional seconds, jittered
//! backoff, all within the caller's [`Deadline`]), Graph's error bodies as a typed
//! [`GraphError`], and Teams' channel-name rules. It knows nothing of ilert, DynamoDB or our
//! domain: callers map these types onto theirs.
//!
//! ```no_run
//! # async fn demo(tokens: std::sync::Arc<entra::TokenProvider>) -> Result<(), graph::GraphError> {
//! use graph::{Deadline, GraphClient, NewChannel};
//! let client = GraphClient::new(reqwest::Client::new(), &"https://graph.microsoft.com".parse().unwrap(), tokens)?;
//! let deadline = Deadline::after(std::time::Duration::from_secs(20));
//! let graph = client.tenant("72f988bf-86f1-41af-91ab-2d7cd011db47", deadline);
//! let ensured = graph.create_channel_idempotent("team-id", &NewChannel::standard("Incident 42")).await?;
//! # Ok(()) }
//! ```
//!
//! Permissions the calls need, all application permissions: Calendars.ReadWrite,
//! Channel.Create, Channel.ReadBasic.All, ChannelMember.Read.All, ChannelMember.ReadWrite.All,
//! Chat.Create, Directory.Read.All, Group.ReadWrite.All, Team.ReadBasic.All, User.Read.All. Each
//! call's documentation names its own; a 403 names it in [`GraphError::Forbidden`]. Adding people
//! to a team goes through its group ([`TenantGraph::add_group_member`]): the team-level bulk add
//! needs TeamMember.ReadWrite.All, which the app does not request.

mod batch;
mod calendar;
mod chats;
mod client;
mod error;
mod names;
mod paging;
mod retry;
mod teams;
mod users;

pub use batch::{BatchReply, BatchRequest, BatchResponse, MAX_BATCH_REQUESTS};
pub use calendar::{
    Attendee, AttendeeType, BodyType, DateTimeTimeZone, EmailAddress, Event, EventUpdate, FreeBusyError, ItemBody,
    Location, NewEvent, OnlineMeetingInfo, ResponseStatus, ScheduleInformation, ScheduleItem, ScheduleRequest,
    TimeZoneName, WorkingHours,
};
pub use chats::{Chat, ChatType, NewChat};
pub use client::{GraphClient, TenantGraph, path_segment};
pub use error::{ErrorDetail, ErrorResponse, GraphError, GraphFailure};
pub use names::{ChannelNameError, MAX_CHANNEL_NAME_CHARS, sanitize_channel_name, validate_channel_name};
pub use paging::{Change, ItemStream, Page, PageStream, RemovedReason};
pub use retry::{Deadline, RetryPolicy, parse_retry_after};
pub use teams::{
    Channel, ChannelRole, ConversationMember, EnsuredChannel, GroupMemberAdded, MAX_PRIVATE_CHANNEL_CREATE_MEMBERS,
    MembershipType, NewChannel, Team, TeamSummary,
};
pub use users::{DeltaStart, USER_SELECT, User};
