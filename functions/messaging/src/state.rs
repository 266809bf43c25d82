//! What the handlers share: the ports they work through and the remote clients.

use botframework::{ChannelAuthConfig, ChannelValidator, ConnectorClient, ConnectorConfig};
use config::{Config, Missing};
use domain::queue::Queue;
use domain::store::Store;
use graph::GraphClient;
use ilert::Ilert;
use secrets::SecretVault;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a channel's member list is trusted: long enough that a burst of clicks on one card
/// costs one Graph call, short enough that a removed member loses access within a minute.
pub(crate) const MEMBER_CACHE_TTL: Duration = Duration::from_secs(60);

/// Everything the endpoint is built from.
pub struct MessagingDeps {
    pub store: Arc<dyn Store>,
    /// Where each connection's ilert API key is kept.
    pub vault: Arc<dyn SecretVault>,
    /// The provisioning queue (channel, meeting and chat jobs, see [`crate::jobs`]).
    pub provisioning: Arc<dyn Queue>,
    /// Validates inbound channel tokens.
    pub validator: ChannelValidator,
    /// Sends the bot's proactive messages and card updates.
    pub connector: Arc<ConnectorClient>,
    /// Channel membership checks.
    pub graph: GraphClient,
    /// The ilert API (endpoint only; each connection's key is read from the vault).
    pub ilert: Ilert,
}

type MemberKey = (String, String, String);

/// Member ids of a channel and when they were listed.
type MemberEntry = (Instant, Arc<HashSet<String>>);

/// The endpoint's state. Cheap to clone.
#[derive(Clone)]
pub struct MessagingState {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub store: Arc<dyn Store>,
    pub vault: Arc<dyn SecretVault>,
    pub provisioning: Arc<dyn Queue>,
    pub validator: ChannelValidator,
    pub connector: Arc<ConnectorClient>,
    pub graph: GraphClient,
    pub ilert: Ilert,
    members: Mutex<HashMap<MemberKey, MemberEntry>>,
}

impl MessagingState {
    /// The state over explicit parts (tests, the local runner).
    pub fn new(deps: MessagingDeps) -> Self {
        let MessagingDeps { store, vault, provisioning, validator, connector, graph, ilert } = deps;
        Self {
            inner: Arc::new(Inner {
                store,
                vault,
                provisioning,
                validator,
                connector,
                graph,
                ilert,
                members: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The state for `config`: the bot settings (`BOT_APP_ID`, `BOT_TENANT_ID`,
    /// `BOT_APP_PASSWORD[_SECRET_ARN]`) are required; the Microsoft and ilert endpoints come from
    /// the configuration's URLs.
    pub async fn from_config(
        config: &Config,
        store: Arc<dyn Store>,
        vault: Arc<dyn SecretVault>,
        provisioning: Arc<dyn Queue>,
        http: reqwest::Client,
    ) -> Result<Self, Missing> {
        let bot = config.require_bot()?;
        let tokens = entra::bot_tokens(config, &bot, http.clone()).await;
        let connector = ConnectorClient::new(
            http.clone(),
            tokens.clone(),
            ConnectorConfig::from_endpoints(&config.endpoints, bot.tenant_id.clone()),
        );
        let graph = GraphClient::new(http.clone(), &config.endpoints.graph_url, tokens)
            .map_err(|_| Missing { var: "GRAPH_URL", meaning: "a usable Microsoft Graph base URL" })?;
        let validator =
            ChannelValidator::new(http.clone(), ChannelAuthConfig::from_endpoints(&config.endpoints, bot.app_id));
        let ilert = Ilert::new(http, config.endpoints.ilert_api_url.clone());
        Ok(Self::new(MessagingDeps {
            store,
            vault,
            provisioning,
            validator,
            connector: Arc::new(connector),
            graph,
            ilert,
        }))
    }
}

impl Inner {
    /// The cached member ids of a channel, if fresh.
    pub fn cached_members(&self, key: &MemberKey) -> Option<Arc<HashSet<String>>> {
        let cache = self.members.lock().ok()?;
        cache.get(key).filter(|(at, _)| at.elapsed() < MEMBER_CACHE_TTL).map(|(_, m)| m.clone())
    }

    pub fn cache_members(&self, key: MemberKey, members: Arc<HashSet<String>>) {
        if let Ok(mut cache) = self.members.lock() {
            cache.retain(|_, (at, _)| at.elapsed() < MEMBER_CACHE_TTL);
            cache.insert(key, (Instant::now(), members));
        }
    }
}
