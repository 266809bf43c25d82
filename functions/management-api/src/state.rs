//! What the handlers share: the ports they work through and the configuration.

use config::{Config, Missing};
use domain::ConnectionId;
use domain::store::Store;
use httpapi::BearerAuth;
use secrets::{SecretSource, SecretVault};
use std::sync::Arc;

/// The management API's state. Cheap to clone (all handles are `Arc`s), so the router can be
/// served concurrently and by the local runner alike.
#[derive(Clone)]
pub struct AdminState {
    pub(crate) store: Arc<dyn Store>,
    /// Where each connection's ilert API key is kept.
    pub(crate) vault: Arc<dyn SecretVault>,
    /// The expected bearer token; `None` when `ADMIN_TOKEN` is not configured.
    pub(crate) admin_token: Option<Arc<dyn SecretSource>>,
    pub(crate) config: Arc<Config>,
}

impl AdminState {
    /// The state for `config`: the admin token comes from `config.admin_token` (`ADMIN_TOKEN`,
    /// or a cached Secrets Manager read of `ADMIN_TOKEN_SECRET_ARN`).
    pub async fn from_config(config: Config, store: Arc<dyn Store>, vault: Arc<dyn SecretVault>) -> Self {
        let admin_token = match &config.admin_token {
            Some(setting) => Some(secrets::source_for(setting).await),
            None => None,
        };
        Self::new(config, store, vault, admin_token)
    }

    /// The state with an explicit token source (tests, or a runner that builds its own).
    pub fn new(
        config: Config,
        store: Arc<dyn Store>,
        vault: Arc<dyn SecretVault>,
        admin_token: Option<Arc<dyn SecretSource>>,
    ) -> Self {
        Self { store, vault, admin_token, config: Arc::new(config) }
    }

    pub(crate) fn bearer_auth(&self) -> BearerAuth {
        let missing = match self.config.require_admin_token() {
            Err(missing) => missing,
            // Configured but no source handed in: still the same variable to look at.
            Ok(_) => Missing { var: "ADMIN_TOKEN", meaning: "the management API's bearer token" },
        };
        BearerAuth::new(self.admin_token.clone(), missing)
    }

    /// The absolute URL ilert delivers this connection's webhooks to.
    pub(crate) fn webhook_url(&self, id: &ConnectionId) -> String {
        self.config.public_url(&format!("/webhooks/ilert/{id}"))
    }
}
