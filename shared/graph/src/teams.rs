//! Teams, channels and their members, and group membership (graph.md §1, §4.3).

use crate::client::{Call, TenantGraph, path_segment};
use crate::error::GraphError;
use crate::names::validate_channel_name;
use crate::paging::ItemStream;
use futures::TryStreamExt;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Graph's own cap on members named when a private channel is created.
pub const MAX_PRIVATE_CHANNEL_CREATE_MEMBERS: usize = 200;

const TEAMS_FILTER: &str = "resourceProvisioningOptions/Any(x:x eq 'Team')";

/// A team as listed through its group.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamSummary {
    /// The group id, which is also the team id.
    pub id: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
}

/// `GET /teams/{id}`. Graph's sample of this reply carries neither id nor name, hence the
/// options.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Team {
    pub id: Option<String>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub is_archived: Option<bool>,
    pub web_url: Option<String>,
    pub tenant_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MembershipType {
    Standard,
    Private,
    Shared,
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Channel {
    /// Like `19:…@thread.tacv2`.
    pub id: String,
    pub display_name: String,
    pub description: Option<String>,
    /// Absent from some replies (the standard create and the list samples); absent means standard.
    pub membership_type: Option<MembershipType>,
    pub web_url: Option<String>,
    pub email: Option<String>,
    pub created_date_time: Option<String>,
}

/// A channel to create. Build it with [`NewChannel::standard`] or [`NewChannel::private`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChannel {
    pub display_name: String,
    pub description: Option<String>,
    /// Users (ids or UPNs) made owners at creation; only private channels take them, and an
    /// app-only call must name at least one.
    pub owners: Vec<String>,
    pub membership_type: MembershipType,
}

impl NewChannel {
    pub fn standard(display_name: impl Into<String>) -> Self {
        NewChannel {
            display_name: display_name.into(),
            description: None,
            owners: Vec::new(),
            membership_type: MembershipType::Standard,
        }
    }

    /// A private channel; add plain members afterwards with
    /// [`TenantGraph::add_channel_member`] (only owners reliably stick at creation).
    pub fn private(display_name: impl Into<String>, owners: Vec<String>) -> Self {
        NewChannel { owners, membership_type: MembershipType::Private, ..NewChannel::standard(display_name) }
    }

    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }
}

/// The result of [`TenantGraph::create_channel_idempotent`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnsuredChannel {
    pub channel: Channel,
    /// True when an existing channel of that name was adopted instead of a new one created; its
    /// membership type may differ from the one asked for.
    pub adopted: bool,
}

/// A member of a channel (an `aadUserConversationMember`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationMember {
    /// Opaque membership id, not the user id.
    pub id: String,
    pub display_name: Option<String>,
    pub user_id: Option<String>,
    pub email: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    /// Set for members from other tenants (shared channels).
    pub tenant_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelRole {
    Member,
    Owner,
}

/// The outcome of [`TenantGraph::add_group_member`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupMemberAdded {
    Added,
    AlreadyMember,
}

impl TenantGraph {
    /// Every team of the tenant, through `GET /groups?$filter=resourceProvisioningOptions/Any(x:x eq 'Team')`.
    /// Very old teams may lack the property and not appear (known issue 13633).
    ///
    /// Permission: Directory.Read.All (or Group.ReadWrite.All).
    pub fn list_teams(&self) -> ItemStream<TeamSummary> {
        let url = self.url(
            "/groups",
            &[("$filter", TEAMS_FILTER), ("$select", "id,displayName,description,resourceProvisioningOptions")],
        );
        self.items(url, "Directory.Read.All (or Group.ReadWrite.All)")
    }

    /// `GET /teams/{id}`.
    ///
    /// Permission: Team.ReadBasic.All.
    pub async fn get_team(&self, team_id: &str) -> Result<Team, GraphError> {
        let url = self.url(&format!("/teams/{}", path_segment(team_id)), &[]);
        self.json(Call::get(url, "Team.ReadBasic.All")).await
    }

    /// `GET /teams/{id}/channels`.
    ///
    /// Permission: Channel.ReadBasic.All.
    pub fn list_channels(&self, team_id: &str) -> ItemStream<Channel> {
        let url = self.url(&format!("/teams/{}/channels", path_segment(team_id)), &[]);
        self.items(url, "Channel.ReadBasic.All")
    }

    /// `GET /teams/{id}/channels/{id}`.
    ///
    /// Permission: Channel.ReadBasic.All.
    pub async fn get_channel(&self, team_id: &str, channel_id: &str) -> Result<Channel, GraphError> {
        let url = self.url(&format!("/teams/{}/channels/{}", path_segment(team_id), path_segment(channel_id)), &[]);
        self.json(Call::get(url, "Channel.ReadBasic.All")).await
    }

    /// The team's channel whose name equals `name` ignoring case (whether Teams' uniqueness check
    /// ignores case is not documented, so assume it does). Lists in code: `$filter` on
    /// displayName is not documented for channels.
    ///
    /// Permission: Channel.ReadBasic.All.
    pub async fn find_channel_by_name(&self, team_id: &str, name: &str) -> Result<Option<Channel>, GraphError> {
        let wanted = name.trim().to_lowercase();
        let mut channels = self.list_channels(team_id);
        while let Some(channel) = channels.try_next().await? {
            if channel.display_name.trim().to_lowercase() == wanted {
                return Ok(Some(channel));
            }
        }
        Ok(None)
    }

    /// `POST /teams/{id}/channels`. The name is checked first ([`crate::validate_channel_name`]).
    /// Not retried after a 5xx or timeout (the channel may exist by then): use
    /// [`TenantGraph::create_channel_idempotent`] to reconcile.
    ///
    /// Permission: Channel.Create.
    pub async fn create_channel(&self, team_id: &str, channel: &NewChannel) -> Result<Channel, GraphError> {
        validate_channel_name(&channel.display_name)?;
        let mut body = json!({
            "displayName": channel.display_name,
            "membershipType": channel.membership_type,
        });
        if let Some(description) = &channel.description {
            body["description"] = json!(description);
        }
        match channel.membership_type {
            MembershipType::Standard => {
                if !channel.owners.is_empty() {
                    return Err(GraphError::Invalid("a standard channel takes no members at creation".into()));
                }
            }
            MembershipType::Private => {
                if channel.owners.is_empty() {
                    return Err(GraphError::Invalid(
                        "an app-only call must name at least one owner of a private channel".into(),
                    ));
                }
                if channel.owners.len() > MAX_PRIVATE_CHANNEL_CREATE_MEMBERS {
                    return Err(GraphError::Invalid(format!(
                        "a private channel takes at most {MAX_PRIVATE_CHANNEL_CREATE_MEMBERS} members at creation"
                    )));
                }
                body["@odata.type"] = json!("#Microsoft.Graph.channel");
                body["members"] =
                    channel.owners.iter().map(|user| self.member_body(user, ChannelRole::Owner)).collect();
            }
            MembershipType::Shared | MembershipType::Unknown => {
                return Err(GraphError::Invalid("only standard and private channels can be created here".into()));
            }
        }
        let url = self.url(&format!("/teams/{}/channels", path_segment(team_id)), &[]);
        self.json(Call::new(Method::POST, url, "Channel.Create").json(body)).await
    }

    /// Creates the channel, or adopts the team's existing channel of the same name
    /// (case-insensitive). Graph refuses a duplicate name with a 400, and a create that timed out
    /// or failed with a 5xx may have succeeded or still be running, so after either the channels
    /// are listed and a match is adopted; after a 5xx or timeout with no match the create is
    /// tried again, up to three times while the deadline allows. A duplicate name with no
    /// visible match (a channel deleted less than 30 days ago keeps its name) stays a
    /// [`GraphError::Conflict`].
    ///
    /// Permissions: Channel.Create and Channel.ReadBasic.All.
    pub async fn create_channel_idempotent(
        &self,
        team_id: &str,
        channel: &NewChannel,
    ) -> Result<EnsuredChannel, GraphError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let error = match self.create_channel(team_id, channel).await {
                Ok(channel) => return Ok(EnsuredChannel { channel, adopted: false }),
                Err(e @ (GraphError::Conflict(_) | GraphError::Transient { .. })) => e,
                Err(e) => return Err(e),
            };
            tracing::info!(tenant = self.tenant_id(), team_id, %error, "channel create unclear; looking the name up");
            if let Some(existing) = self.find_channel_by_name(team_id, &channel.display_name).await? {
                return Ok(EnsuredChannel { channel: existing, adopted: true });
            }
            let wait = self.policy().backoff(attempt);
            if !matches!(error, GraphError::Transient { .. }) || attempt >= 3 || !self.deadline().allows(wait) {
                return Err(error);
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// `GET /teams/{id}/channels/{id}/members`.
    ///
    /// Permission: ChannelMember.Read.All.
    pub fn list_channel_members(&self, team_id: &str, channel_id: &str) -> ItemStream<ConversationMember> {
        let url =
            self.url(&format!("/teams/{}/channels/{}/members", path_segment(team_id), path_segment(channel_id)), &[]);
        self.items(url, "ChannelMember.Read.All")
    }

    /// `POST /teams/{id}/channels/{id}/members` for a private (or shared) channel. `user` is an
    /// id or UPN. Not resent after a 5xx.
    ///
    /// Permission: ChannelMember.ReadWrite.All.
    pub async fn add_channel_member(
        &self,
        team_id: &str,
        channel_id: &str,
        user: &str,
        role: ChannelRole,
    ) -> Result<ConversationMember, GraphError> {
        let url =
            self.url(&format!("/teams/{}/channels/{}/members", path_segment(team_id), path_segment(channel_id)), &[]);
        let call = Call::new(Method::POST, url, "ChannelMember.ReadWrite.All").json(self.member_body(user, role));
        self.json(call).await
    }

    /// Adds a user to a group, e.g. a responder to a team's group (the team-level members/add
    /// needs TeamMember.ReadWrite.All, which the app does not have):
    /// `POST /groups/{id}/members/$ref` with `{"@odata.id": ".../directoryObjects/{id}"}`.
    /// A user who is already a member is reported, not an error, which also makes the call safe
    /// to resend.
    ///
    /// Permission: Group.ReadWrite.All.
    pub async fn add_group_member(&self, group_id: &str, user_id: &str) -> Result<GroupMemberAdded, GraphError> {
        let url = self.url(&format!("/groups/{}/members/$ref", path_segment(group_id)), &[]);
        let body = json!({ "@odata.id": self.directory_object(user_id) });
        match self.send(Call::new(Method::POST, url, "Group.ReadWrite.All").json(body).idempotent()).await {
            Ok(_) => Ok(GroupMemberAdded::Added),
            Err(GraphError::Conflict(_)) => Ok(GroupMemberAdded::AlreadyMember),
            Err(e) => Err(e),
        }
    }

    fn member_body(&self, user: &str, role: ChannelRole) -> Value {
        let roles: &[&str] = match role {
            ChannelRole::Member => &[],
            ChannelRole::Owner => &["owner"],
        };
        json!({
            "@odata.type": "#microsoft.graph.aadUserConversationMember",
            "user@odata.bind": self.user_bind(user),
            "roles": roles,
        })
    }
}
