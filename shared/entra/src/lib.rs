//! App-only access tokens from Microsoft Entra ID, by the OAuth 2.0 client-credentials grant:
//! `POST {MICROSOFT_LOGIN_URL}/{tenant}/oauth2/v2.0/token`. The bot's outbound token (scope
//! `BOT_TOKEN_SCOPE`, tenant `BOT_TENANT_ID`) and Graph's per-customer-tenant tokens (scope
//! `{GRAPH_URL}/.default`) both come from here.
//!
//! Tokens are cached per (tenant, scope) and renewed five minutes before they expire;
//! concurrent callers of one key share a single request. Neither the client secret nor a token
//! is ever logged or put in an error.

use secrets::{ExposeSecret, SecretSource, SecretString};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use url::Url;

/// A token is renewed this long before it expires.
pub const RENEW_BEFORE: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Entra refused the request (bad secret, unknown tenant, no consent, …).
    #[error("Microsoft login refused the token request for tenant {tenant}: {error}: {description}")]
    Rejected { tenant: String, status: u16, error: String, description: String },
    /// The login service could not be reached or failed; retrying may work.
    #[error("Microsoft login unavailable: {0}")]
    Unavailable(String),
    #[error("the client secret could not be read: {0}")]
    Secret(#[from] secrets::SecretError),
}

/// A bearer token. `Debug` does not print it.
#[derive(Clone)]
pub struct AccessToken {
    value: SecretString,
    expires_at: Instant,
}

impl AccessToken {
    /// The value to put after `Bearer `.
    pub fn secret(&self) -> &str {
        self.value.expose_secret()
    }

    pub fn expires_at(&self) -> Instant {
        self.expires_at
    }

    fn fresh(&self) -> bool {
        Instant::now() + RENEW_BEFORE < self.expires_at
    }
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken").field("value", &"[REDACTED]").field("expires_at", &self.expires_at).finish()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
}

#[derive(Deserialize, Default)]
struct TokenErrorBody {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

type Slot = Arc<tokio::sync::Mutex<Option<AccessToken>>>;

/// Client-credentials tokens of one app registration.
pub struct TokenProvider {
    http: reqwest::Client,
    login_url: Url,
    client_id: String,
    secret: Arc<dyn SecretSource>,
    slots: Mutex<HashMap<(String, String), Slot>>,
}

/// The bot's app-only tokens: its app id and client secret at the configured login authority.
/// One provider serves the Bot Connector (the bot's tenant) and Graph (every customer tenant),
/// caching per tenant and scope, so a process needs only one.
pub async fn bot_tokens(
    config: &config::Config,
    bot: &config::BotSettings,
    http: reqwest::Client,
) -> Arc<TokenProvider> {
    let secret = secrets::source_for(&bot.app_password).await;
    Arc::new(TokenProvider::new(http, config.endpoints.microsoft_login_url.clone(), bot.app_id.clone(), secret))
}

impl TokenProvider {
    pub fn new(
        http: reqwest::Client,
        login_url: Url,
        client_id: impl Into<String>,
        secret: Arc<dyn SecretSource>,
    ) -> Self {
        Self { http, login_url, client_id: client_id.into(), secret, slots: Mutex::new(HashMap::new()) }
    }

    /// A token for `scope` in `tenant`, from the cache while it has more than five minutes left.
    pub async fn token(&self, tenant: &str, scope: &str) -> Result<AccessToken, TokenError> {
        let slot = {
            let mut slots = self.slots.lock().map_err(|_| TokenError::Unavailable("token cache poisoned".into()))?;
            slots.entry((tenant.to_owned(), scope.to_owned())).or_default().clone()
        };
        // One refresh per key at a time: the first caller fetches, the others wait and reuse it.
        let mut cached = slot.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| t.fresh()) {
            return Ok(token.clone());
        }
        let token = self.fetch(tenant, scope).await?;
        *cached = Some(token.clone());
        Ok(token)
    }

    /// Forgets a cached token (the remote said it was invalid).
    pub async fn invalidate(&self, tenant: &str, scope: &str) {
        let slot = self.slots.lock().ok().and_then(|s| s.get(&(tenant.to_owned(), scope.to_owned())).cloned());
        if let Some(slot) = slot {
            *slot.lock().await = None;
        }
    }

    async fn fetch(&self, tenant: &str, scope: &str) -> Result<AccessToken, TokenError> {
        let mut url = self.login_url.clone();
        url.path_segments_mut()
            .map_err(|_| TokenError::Unavailable("MICROSOFT_LOGIN_URL cannot be a base URL".into()))?
            .pop_if_empty()
            .extend([tenant, "oauth2", "v2.0", "token"]);
        let secret = self.secret.get().await?;
        let started = Instant::now();
        let response = self
            .http
            .post(url)
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", self.client_id.as_str()),
                ("client_secret", secret.expose_secret()),
                ("scope", scope),
            ])
            .send()
            .await
            .map_err(|e| TokenError::Unavailable(format!("token request failed: {}", without_url(&e))))?;
        let status = response.status();
        if status.is_success() {
            let body: TokenResponse = response
                .json()
                .await
                .map_err(|e| TokenError::Unavailable(format!("unreadable token response: {}", without_url(&e))))?;
            tracing::debug!(tenant, scope, expires_in = body.expires_in, "acquired access token");
            return Ok(AccessToken {
                value: SecretString::from(body.access_token),
                expires_at: started + Duration::from_secs(body.expires_in),
            });
        }
        let body: TokenErrorBody = response.json().await.unwrap_or_default();
        if status.is_server_error() || status.as_u16() == 429 {
            return Err(TokenError::Unavailable(format!("token endpoint answered {status}: {}", body.error)));
        }
        Err(TokenError::Rejected {
            tenant: tenant.to_owned(),
            status: status.as_u16(),
            error: body.error,
            // The first line names the AADSTS code and cause; later lines are trace and correlation ids.
            description: body.error_description.lines().next().unwrap_or_default().to_owned(),
        })
    }
}

fn without_url(e: &reqwest::Error) -> String {
    let mut e = e.to_string();
    if let Some(i) = e.find(" for url") {
        e.truncate(i);
    }
    e
}
