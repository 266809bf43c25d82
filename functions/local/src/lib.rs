//! The local runner: every function of the product in one process, for a laptop.
//!
//! It serves the HTTP routes that `template.yaml` gives API Gateway, runs the queue consumers
//! on an embedded durable queue in place of SQS, and runs the scheduled jobs on timers. State
//! lives in the embedded store under `DATA_DIR` unless `TABLE_NAME` names a DynamoDB table.
//! Handlers, consumers and jobs are the same library code the Lambda functions run; this crate
//! only wires them together.

use axum::Json;
use axum::Router;
use axum::routing::get;
use config::Config;
use domain::store::Store;
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

/// Everything the runner serves and runs.
pub struct Runner {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub router: Router,
    jobs: Vec<Arc<dyn ScheduledJob>>,
}

impl Runner {
    /// Opens the store and wires every capability. Fails only on what cannot work at all
    /// (an unreadable data directory); missing settings are reported per endpoint instead.
    pub async fn build(config: Config) -> Result<Runner, String> {
        let mut jobs: Vec<Arc<dyn ScheduledJob>> = Vec::new();
        let store: Arc<dyn Store> = match &config.table_name {
            Some(table) => store::dynamodb(table).await,
            None => {
                let (store, table) = store::embedded(&config.data_dir)
                    .map_err(|e| format!("DATA_DIR ({}) is not usable: {e}", config.data_dir.display()))?;
                jobs.push(Arc::new(PurgeExpired(table)));
                store
            }
        };
        let health = health_body(&config, store.backend());
        let router = Router::new().route("/health", get(move || std::future::ready(Json(health.clone()))));
        Ok(Runner { config, store, router, jobs })
    }

    /// Serves until `shutdown` turns true.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: watch::Receiver<bool>,
    ) -> std::io::Result<()> {
        for job in &self.jobs {
            tokio::spawn(run_on_timer(job.clone(), shutdown.clone()));
        }
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
