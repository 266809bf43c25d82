//! Every key of the table, built in one place from validated ids. Each partition key starts
//! with the tenant or connection it belongs to, so a key for one tenant can never name
//! another's item. The layout is documented in this crate's README; keep them in step.

use domain::store::ClaimScope;
use domain::{AadObjectId, AlertId, ConnectionId, ConversationId, GroupId, RouteId, TenantId};

pub fn connection(id: &ConnectionId) -> (String, String) {
    (format!("CONNECTION#{id}"), "CONNECTION".into())
}

/// GSI1 key listing every connection (the operator's directory).
pub fn connection_directory(id: &ConnectionId) -> (String, String) {
    ("CONNECTIONS".into(), format!("CONNECTION#{id}"))
}

pub const CONNECTION_DIRECTORY_PK: &str = "CONNECTIONS";

/// The tenant's link to its one connection; its existence enforces "one connection per tenant".
pub fn tenant_connection(tenant: &TenantId) -> (String, String) {
    (format!("TENANT#{tenant}"), "CONNECTION".into())
}

pub fn conversations_pk(tenant: &TenantId) -> String {
    format!("TENANT#{tenant}")
}

pub const CONVERSATION_PREFIX: &str = "CONVERSATION#";

pub fn conversation(tenant: &TenantId, id: &ConversationId) -> (String, String) {
    (conversations_pk(tenant), format!("{CONVERSATION_PREFIX}{id}"))
}

pub fn team_conversations(tenant: &TenantId, team_id: &str) -> String {
    format!("TENANT#{tenant}#TEAM#{team_id}")
}

pub fn routes_pk(connection: &ConnectionId) -> String {
    format!("CONNECTION#{connection}")
}

pub const ROUTE_PREFIX: &str = "ROUTE#";

pub fn route(connection: &ConnectionId, id: &RouteId) -> (String, String) {
    (routes_pk(connection), format!("{ROUTE_PREFIX}{id}"))
}

pub fn conversation_routes(connection: &ConnectionId, conversation: &ConversationId) -> String {
    format!("CONNECTION#{connection}#CONVERSATION#{conversation}")
}

pub fn alert_pk(connection: &ConnectionId, alert: &AlertId) -> String {
    format!("CONNECTION#{connection}#ALERT#{alert}")
}

pub fn alert(connection: &ConnectionId, alert: &AlertId) -> (String, String) {
    (alert_pk(connection, alert), "ALERT".into())
}

/// GSI1 partition listing a connection's alerts.
pub fn connection_alerts(connection: &ConnectionId) -> String {
    format!("CONNECTION#{connection}#ALERTS")
}

pub const CARD_PREFIX: &str = "CARD#";

pub fn card(connection: &ConnectionId, alert_id: &AlertId, conversation: &ConversationId) -> (String, String) {
    (alert_pk(connection, alert_id), format!("{CARD_PREFIX}{conversation}"))
}

/// GSI1 key of a card under the thread it opened, so a reply in the thread finds its alert.
pub fn card_thread(connection: &ConnectionId, thread: &ConversationId) -> (String, String) {
    (format!("CONNECTION#{connection}#THREAD#{thread}"), "CARD".into())
}

pub fn users_pk(tenant: &TenantId) -> String {
    format!("TENANT#{tenant}#USERS")
}

pub fn user(tenant: &TenantId, user: &AadObjectId) -> (String, String) {
    (users_pk(tenant), format!("USER#{user}"))
}

pub fn ilert_user(tenant: &TenantId, ilert_user_id: i64) -> String {
    format!("TENANT#{tenant}#ILERTUSER#{ilert_user_id}")
}

pub fn teams_pk(tenant: &TenantId) -> String {
    format!("TENANT#{tenant}#TEAMS")
}

pub fn team(tenant: &TenantId, group: &GroupId) -> (String, String) {
    (teams_pk(tenant), format!("TEAM#{group}"))
}

pub fn sync_cursor(tenant: &TenantId, resource: &str) -> (String, String) {
    (format!("TENANT#{tenant}"), format!("SYNC#{resource}"))
}

pub fn claim(scope: &ClaimScope, kind: &str, key: &str) -> (String, String) {
    let scope = match scope {
        ClaimScope::Tenant(t) => format!("TENANT#{t}"),
        ClaimScope::Connection(c) => format!("CONNECTION#{c}"),
    };
    (format!("{scope}#CLAIM#{kind}#{key}"), "CLAIM".into())
}
