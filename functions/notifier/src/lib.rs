//! The notifier function: the consumer of the notifications queue (see the `notifications`
//! crate for what it does). This crate only builds its parts from the configuration, so the
//! Lambda `main` and the local runner construct it the same way.

use config::{BotSettings, Config};
use domain::queue::Queue;
use domain::store::Store;
use notifications::{ConnectorPoster, Notifier, NotifierOptions};
use std::sync::Arc;
use std::time::Duration;

/// How long one Bot Connector call may spend on retries before the job is re-queued instead.
pub const CONNECTOR_BUDGET: Duration = Duration::from_secs(20);

/// The bot's Bot Connector client, from its settings.
pub async fn connector(config: &Config, bot: &BotSettings, http: reqwest::Client) -> botframework::ConnectorClient {
    let secret = secrets::source_for(&bot.app_password).await;
    let tokens = Arc::new(entra::TokenProvider::new(
        http.clone(),
        config.endpoints.microsoft_login_url.clone(),
        bot.app_id.clone(),
        secret,
    ));
    botframework::ConnectorClient::new(
        http,
        tokens,
        botframework::ConnectorConfig::from_endpoints(&config.endpoints, bot.tenant_id.clone()),
    )
}

/// The notifier over a store, the queue it feeds deliveries back into, and Teams.
pub fn notifier(
    store: Arc<dyn Store>,
    queue: Arc<dyn Queue>,
    connector: Arc<botframework::ConnectorClient>,
) -> Notifier {
    Notifier::new(store, queue, Arc::new(ConnectorPoster::new(connector, CONNECTOR_BUDGET)), NotifierOptions::default())
}
