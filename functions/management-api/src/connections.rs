//! Connections: one ilert account linked to one Microsoft tenant.
//!
//! Two things are kept apart on purpose: the ilert API key lives in the [`SecretVault`] and
//! the connection holds only its reference; the webhook secret lives nowhere but in the one
//! response that shows it, the connection keeps its SHA-256. Every write that touches both
//! the vault and the store undoes its vault write when the store write fails.
//!
//! [`SecretVault`]: secrets::SecretVault

use crate::state::AdminState;
use crate::validate;
use crate::views::{
    ConnectionList, ConnectionView, CreateConnection, CreatedConnection, PatchConnection, RotatedSecret,
};
use crate::webhook_secret::WebhookSecret;
use chrono::Utc;
use domain::model::Connection;
use domain::store::StoreError;
use domain::{ConnectionId, TenantId};
use httpapi::{ApiError, ApiResult};
use rand::RngCore;

/// Loads a connection or answers 404, and tags the request's logs with its tenant.
pub async fn load(state: &AdminState, raw_id: &str) -> ApiResult<Connection> {
    let not_found = || ApiError::not_found(format!("there is no connection {raw_id}"));
    // An id that cannot be valid cannot name a connection.
    let id = ConnectionId::parse(raw_id).map_err(|_| not_found())?;
    let connection = state.store.get_connection(&id).await?.ok_or_else(not_found)?;
    telemetry::record_tenant(connection.tenant_id.as_str());
    Ok(connection)
}

pub async fn create(state: &AdminState, request: CreateConnection) -> ApiResult<CreatedConnection> {
    let tenant_id = validate::tenant_id(&request.tenant_id)?;
    let name = validate::connection_name(&request.name)?;
    let api_key = validate::ilert_api_key(&request.ilert_api_key)?;
    telemetry::record_tenant(tenant_id.as_str());
    // Checked first so a duplicate costs no vault write; the store's create refuses a
    // duplicate by itself too, which covers two creates racing.
    if let Some(existing) = state.store.connection_for_tenant(&tenant_id).await? {
        return Err(tenant_taken(&tenant_id, Some(&existing.id)));
    }

    let id = ConnectionId::generate();
    let api_key_ref = state.vault.put(&api_key_name(&id), api_key).await?;
    let secret = WebhookSecret::generate();
    let now = Utc::now();
    let connection = Connection {
        id,
        tenant_id,
        name,
        ilert_api_key_ref: api_key_ref,
        webhook_secret_sha256: secret.sha256_hex(),
        created_at: now,
        updated_at: now,
        version: 0,
    };
    if let Err(e) = state.store.create_connection(&connection).await {
        discard_secret(state, &connection.ilert_api_key_ref).await;
        return Err(match e {
            StoreError::Conflict(_) => tenant_taken(&connection.tenant_id, None),
            other => other.into(),
        });
    }
    tracing::info!(connection_id = %connection.id, "connection created");
    Ok(CreatedConnection {
        id: connection.id.to_string(),
        tenant_id: connection.tenant_id.to_string(),
        name: connection.name,
        webhook_url: state.webhook_url(&connection.id),
        webhook_secret: secret.reveal(),
        created_at: connection.created_at,
    })
}

pub async fn list(state: &AdminState) -> ApiResult<ConnectionList> {
    let mut connections = state.store.list_connections().await?;
    connections.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.id.cmp(&b.id)));
    let connections = connections.iter().map(|c| view(state, c)).collect();
    Ok(ConnectionList { connections })
}

pub async fn get(state: &AdminState, id: &str) -> ApiResult<ConnectionView> {
    load(state, id).await.map(|c| view(state, &c))
}

/// Renames and/or replaces the API key. The write carries the version read, so an update
/// that raced another is refused (409) rather than silently overwriting it.
pub async fn patch(state: &AdminState, id: &str, request: PatchConnection) -> ApiResult<ConnectionView> {
    if request.name.is_none() && request.ilert_api_key.is_none() {
        return Err(ApiError::invalid_request("nothing to change: give name, ilertApiKey or both"));
    }
    let name = request.name.as_deref().map(validate::connection_name).transpose()?;
    let api_key = request.ilert_api_key.as_ref().map(validate::ilert_api_key).transpose()?;
    let mut connection = load(state, id).await?;

    // A new key goes under a new name, so the old one keeps working until the connection
    // points at the new one, and a failed update can drop the new one without loss.
    let new_key_ref = match api_key {
        Some(key) => Some(state.vault.put(&api_key_name(&connection.id), key).await?),
        None => None,
    };
    let old_key_ref = connection.ilert_api_key_ref.clone();
    if let Some(name) = name {
        connection.name = name;
    }
    if let Some(reference) = &new_key_ref {
        connection.ilert_api_key_ref = reference.clone();
    }
    connection.updated_at = Utc::now();

    match state.store.update_connection(&connection).await {
        Ok(updated) => {
            if new_key_ref.is_some() {
                discard_secret(state, &old_key_ref).await;
            }
            tracing::info!(connection_id = %updated.id, key_replaced = new_key_ref.is_some(), "connection updated");
            Ok(view(state, &updated))
        }
        Err(e) => {
            if let Some(reference) = &new_key_ref {
                discard_secret(state, reference).await;
            }
            Err(concurrent_change(e))
        }
    }
}

/// Deletes the connection, its API key and everything stored under it (routes, alerts).
pub async fn delete(state: &AdminState, id: &str) -> ApiResult<()> {
    let connection = load(state, id).await?;
    // The key first: if the store delete then fails, the connection is still there to delete
    // again (the vault delete is idempotent). The other order could orphan a key nobody
    // references any more.
    state.vault.delete(&connection.ilert_api_key_ref).await?;
    state.store.delete_connection(&connection.id).await?;
    tracing::info!(connection_id = %connection.id, "connection deleted");
    Ok(())
}

/// A new webhook secret; the old one stops working as soon as the store has the new hash.
pub async fn rotate_webhook_secret(state: &AdminState, id: &str) -> ApiResult<RotatedSecret> {
    let mut connection = load(state, id).await?;
    let secret = WebhookSecret::generate();
    connection.webhook_secret_sha256 = secret.sha256_hex();
    connection.updated_at = Utc::now();
    let updated = state.store.update_connection(&connection).await.map_err(concurrent_change)?;
    tracing::info!(connection_id = %updated.id, "webhook secret rotated");
    Ok(RotatedSecret { webhook_url: state.webhook_url(&updated.id), webhook_secret: secret.reveal() })
}

fn view(state: &AdminState, connection: &Connection) -> ConnectionView {
    ConnectionView::new(connection, state.webhook_url(&connection.id))
}

/// The vault name of a connection's API key. The random suffix makes every stored key a new
/// secret, so replacing a key never overwrites the one still in use, and a name freed by a
/// (asynchronous, in Secrets Manager) delete is never needed again.
fn api_key_name(id: &ConnectionId) -> String {
    let mut suffix = [0u8; 4];
    rand::rng().fill_bytes(&mut suffix);
    format!("connections/{id}/ilert-api-key-{}", hex::encode(suffix))
}

/// Best-effort removal of a secret no connection references (any more). A failure leaves an
/// orphan, which is logged by reference (never by value) for clean-up, and does not fail the
/// request: the request's own outcome is already decided.
async fn discard_secret(state: &AdminState, reference: &str) {
    if let Err(e) = state.vault.delete(reference).await {
        let message = "could not delete an unreferenced secret; delete it by hand";
        tracing::error!(secret_ref = reference, error = %e, "{message}");
    }
}

fn tenant_taken(tenant: &TenantId, existing: Option<&ConnectionId>) -> ApiError {
    let which = existing.map(|id| format!(" ({id})")).unwrap_or_default();
    ApiError::conflict(format!(
        "Microsoft tenant {tenant} already has a connection{which}; a tenant can have only one, so update or delete \
         that connection instead"
    ))
}

fn concurrent_change(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(_) => ApiError::conflict(
            "the connection was changed or deleted by another request at the same time; reload it and try again",
        ),
        other => other.into(),
    }
}
