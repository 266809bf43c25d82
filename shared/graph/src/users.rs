//! Users: get, list and the delta cycle (graph.md §4.1, §4.2).

use crate::client::{Call, TenantGraph, path_segment};
use crate::error::GraphError;
use crate::paging::{Change, ItemStream, PageStream};
use serde::Deserialize;

/// The properties directory sync needs; `accountEnabled` and `otherMails` are not in Graph's
/// default set, so they must be selected.
pub const USER_SELECT: &[&str] =
    &["id", "displayName", "givenName", "surname", "mail", "userPrincipalName", "otherMails", "accountEnabled"];

const PERMISSION: &str = "User.Read.All";

/// A user; every property but `id` may be missing (not selected) or null.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub mail: Option<String>,
    pub user_principal_name: Option<String>,
    pub job_title: Option<String>,
    pub mobile_phone: Option<String>,
    #[serde(default)]
    pub business_phones: Vec<String>,
    #[serde(default)]
    pub other_mails: Vec<String>,
    pub account_enabled: Option<bool>,
}

/// Where a delta round starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeltaStart<'a> {
    /// A full sync selecting these properties (`&[]` for Graph's defaults). Graph remembers the
    /// selection in the links it hands out.
    Full { select: &'a [&'a str] },
    /// Nothing now, only a deltaLink to sync "from now on" (`$deltatoken=latest`).
    Latest,
    /// A stored deltaLink (the next round), or a stored nextLink (resuming an unfinished round).
    Link(&'a str),
}

impl TenantGraph {
    /// `GET /users/{id | userPrincipalName}`, with `select` (`&[]` for Graph's defaults).
    ///
    /// Permission: User.Read.All.
    pub async fn get_user(&self, id_or_upn: &str, select: &[&str]) -> Result<User, GraphError> {
        let select = select.join(",");
        let query: &[(&str, &str)] = if select.is_empty() { &[] } else { &[("$select", &select)] };
        let url = self.url(&format!("/users/{}", path_segment(id_or_upn)), query);
        self.json(Call::get(url, PERMISSION)).await
    }

    /// `GET /users`, 999 per page (Graph's maximum).
    ///
    /// Permission: User.Read.All.
    pub fn list_users(&self, select: &[&str]) -> ItemStream<User> {
        let select = select.join(",");
        let mut query = vec![("$top", "999")];
        if !select.is_empty() {
            query.push(("$select", &select));
        }
        self.items(self.url("/users", &query), PERMISSION)
    }

    /// One delta round over users, as pages: follow them to the end, where the last page carries
    /// `delta_link`, the URL to store for the next round (tokens last 7 days). Pages may be
    /// empty; entries come in no order, may repeat, and include [`Change::Removed`] (in the
    /// first round too). An expired token ends the stream with
    /// [`GraphError::ResyncRequired`]: drop the stored link and start a full round.
    ///
    /// Permission: User.Read.All.
    pub fn users_delta(&self, start: DeltaStart<'_>) -> PageStream<Change<User>> {
        let first = match start {
            DeltaStart::Full { select } if !select.is_empty() => {
                Ok(self.url("/users/delta", &[("$select", &select.join(","))]))
            }
            DeltaStart::Full { .. } => Ok(self.url("/users/delta", &[])),
            DeltaStart::Latest => Ok(self.url("/users/delta", &[("$deltaToken", "latest")])),
            DeltaStart::Link(link) => self.link(link),
        };
        self.pages(first, PERMISSION, Vec::new())
    }
}
