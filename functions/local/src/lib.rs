//! The local runner: every function of the product in one process, for a laptop.
//!
//! It serves the HTTP routes that `template.yaml` gives API Gateway, runs the queue consumers
//! on an embedded durable queue in place of SQS, and runs the scheduled jobs on timers. State
//! lives in the embedded store under `DATA_DIR` unless `TABLE_NAME` names a DynamoDB table;
//! secrets we create (ilert API keys) in `DATA_DIR/secrets.json`. Handlers, consumers and jobs
//! are the same library code the Lambda functions run; this crate only wires them together.

use axum::Json;
use axum::Router;
use axum::routing::get;
use config::Config;
use domain::queue::{JobHandler, Queue};
use domain::store::Store;
use queue::{LocalQueue, LocalQueueOptions};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// A job the runner starts on a timer, as EventBridge schedules do in AWS.
#[async_trait::async_trait]
pub trait ScheduledJob: Send + Sync {
    fn name(&self) -> &'static str;
    fn every(&self) -> Duration;
    async fn run(&self);
}

/// Deletes items whose TTL has passed, as DynamoDB's TTL sweeper does in AWS.
struct PurgeExpired(store::EmbeddedTable);

#[async_trait::async_trait]
impl ScheduledJob for PurgeExpired {
    fn name(&self) -> &'static str {
        "purge-expired-items"
    }

    fn every(&self) -> Duration {
        Duration::from_secs(60)
    }

    async fn run(&self) {
        match self.0.purge_expired(chrono::Utc::now().timestamp()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "purged expired items"),
            Err(e) => tracing::warn!(error = %e, "could not purge expired items"),
        }
    }
}

/// Queues a directory sync of every connection, as the EventBridge schedule does in AWS.
struct ScheduleDirectorySync {
    sync: Arc<directory_sync::DirectorySync>,
    queue: LocalQueue,
}

#[async_trait::async_trait]
impl ScheduledJob for ScheduleDirectorySync {
    fn name(&self) -> &'static str {
        DIRECTORY_SYNC_JOB
    }

    fn every(&self) -> Duration {
        // template.yaml: rate(15 minutes).
        Duration::from_secs(15 * 60)
    }

    async fn run(&self) {
        match self.sync.enqueue_all(&self.queue, chrono::Utc::now()).await {
            Ok(queued) => tracing::info!(queued, "directory sync jobs queued"),
            Err(e) => tracing::warn!(error = %e, "could not queue the directory sync"),
        }
    }
}

/// The queue names of the runner, one per SQS queue of `template.yaml`.
pub const NOTIFICATIONS_QUEUE: &str = "notifications";
pub const PROVISIONING_QUEUE: &str = "provisioning";
pub const DIRECTORY_SYNC_QUEUE: &str = "directory-sync";
/// The scheduled job that starts a directory sync (see [`Runner::run_job_now`]).
pub const DIRECTORY_SYNC_JOB: &str = "directory-sync";

/// Everything the runner serves and runs.
pub struct Runner {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub router: Router,
    pub notifications: LocalQueue,
    pub provisioning: LocalQueue,
    pub directory_sync: LocalQueue,
    consumers: Vec<(LocalQueue, Arc<dyn JobHandler>)>,
    jobs: Vec<Arc<dyn ScheduledJob>>,
}

/// How the runner's embedded queues behave; tests make them poll faster.
pub fn queue_options() -> LocalQueueOptions {
    LocalQueueOptions { max_receives: 20, ..LocalQueueOptions::default() }
}

impl Runner {
    /// Opens the store and wires every capability. Fails only on what cannot work at all
    /// (an unusable data directory); missing settings are reported per endpoint instead.
    pub async fn build(config: Config) -> Result<Runner, String> {
        Self::build_with(config, queue_options()).await
    }

    pub async fn build_with(config: Config, queue_options: LocalQueueOptions) -> Result<Runner, String> {
        let unusable =
            |e: &dyn std::fmt::Display| format!("DATA_DIR ({}) is not usable: {e}", config.data_dir.display());
        let mut jobs: Vec<Arc<dyn ScheduledJob>> = Vec::new();
        let store: Arc<dyn Store> = match &config.table_name {
            Some(table) => store::dynamodb(table).await,
            None => {
                let (store, table) = store::embedded(&config.data_dir).map_err(|e| unusable(&e))?;
                jobs.push(Arc::new(PurgeExpired(table)));
                store
            }
        };
        let notifications =
            LocalQueue::open(&config.data_dir.join("queue.sqlite3"), NOTIFICATIONS_QUEUE, queue_options.clone())
                .map_err(|e| unusable(&e))?;
        let provisioning = notifications.sibling(PROVISIONING_QUEUE, queue_options.clone());
        let directory_sync = notifications.sibling(DIRECTORY_SYNC_QUEUE, queue_options);
        let vault: Arc<dyn secrets::SecretVault> =
            Arc::new(secrets::FileVault::new(config.data_dir.join("secrets.json")));
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;

        let mut consumers: Vec<(LocalQueue, Arc<dyn JobHandler>)> = Vec::new();
        match config.require_bot() {
            Ok(bot) => {
                // One token provider for the consumers, as each Lambda function has one.
                let tokens = entra::bot_tokens(&config, &bot, http.clone()).await;
                let connector = Arc::new(botframework::ConnectorClient::new(
                    http.clone(),
                    tokens.clone(),
                    botframework::ConnectorConfig::from_endpoints(&config.endpoints, bot.tenant_id.clone()),
                ));
                let graph = graph::GraphClient::new(http.clone(), &config.endpoints.graph_url, tokens)
                    .map_err(|e| format!("GRAPH_URL is not usable: {e}"))?;
                let queue: Arc<dyn Queue> = Arc::new(notifications.clone());
                consumers.push((
                    notifications.clone(),
                    Arc::new(notifier::notifier(store.clone(), queue, connector.clone())),
                ));
                consumers.push((
                    provisioning.clone(),
                    Arc::new(channel_provisioner::handler(store.clone(), graph.clone(), connector)),
                ));
                let sync =
                    Arc::new(directory_sync::from_config(&config, graph, store.clone(), vault.clone(), http.clone()));
                consumers.push((directory_sync.clone(), sync.clone()));
                jobs.push(Arc::new(ScheduleDirectorySync { sync, queue: directory_sync.clone() }));
            }
            Err(missing) => {
                tracing::warn!(%missing, "the notifier, channel provisioner and directory sync are not running; ilert events wait in the queue until the bot is configured");
            }
        }

        let health = health_body(&config, store.backend());
        let admin = management_api::AdminState::from_config(config.clone(), store.clone(), vault.clone()).await;
        let webhook = ilert_webhook::WebhookState { store: store.clone(), queue: Arc::new(notifications.clone()) };
        let messaging = match messaging::MessagingState::from_config(
            &config,
            store.clone(),
            vault.clone(),
            Arc::new(provisioning.clone()),
            http.clone(),
        )
        .await
        {
            Ok(state) => messaging::router(state),
            // The endpoint still answers, naming the setting to add, so a half-configured
            // runner says what it needs.
            Err(missing) => Router::new().route(
                "/api/messages",
                axum::routing::any(move || {
                    let missing = missing.clone();
                    async move { httpapi::ApiError::NotConfigured(missing) }
                }),
            ),
        };
        let router = Router::new()
            .route("/health", get(move || std::future::ready(Json(health.clone()))))
            .merge(management_api::router(admin))
            .merge(ilert_webhook::router(webhook))
            .merge(messaging);
        Ok(Runner { config, store, router, notifications, provisioning, directory_sync, consumers, jobs })
    }

    /// Starts the queue consumers and scheduled jobs in the background until `shutdown`.
    pub fn start_background(&self, shutdown: watch::Receiver<bool>) {
        for (queue, handler) in &self.consumers {
            let (queue, handler, shutdown) = (queue.clone(), handler.clone(), shutdown.clone());
            tokio::spawn(async move { queue.consume(handler, shutdown).await });
        }
        for job in &self.jobs {
            tokio::spawn(run_on_timer(job.clone(), shutdown.clone()));
        }
    }

    /// Runs the scheduled job `name` once now, as a test or an impatient operator would;
    /// `false` if there is no such job (e.g. the bot is not configured).
    pub async fn run_job_now(&self, name: &str) -> bool {
        match self.jobs.iter().find(|j| j.name() == name) {
            Some(job) => {
                job.run().await;
                true
            }
            None => false,
        }
    }

    /// Serves until `shutdown` turns true.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: watch::Receiver<bool>,
    ) -> std::io::Result<()> {
        self.start_background(shutdown.clone());
        let mut stop = shutdown.clone();
        axum::serve(listener, self.router)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await
    }
}

fn health_body(config: &Config, store: &str) -> serde_json::Value {
    serde_json::json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "store": store,
        "notConfigured": config.unconfigured(),
    })
}

async fn run_on_timer(job: Arc<dyn ScheduledJob>, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(job.every());
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let span = telemetry::request_span("schedule", job.name());
                tracing::Instrument::instrument(job.run(), span).await;
            }
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    return;
                }
            }
        }
    }
}
