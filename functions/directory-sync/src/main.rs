//! Lambda entry point of the directory sync, invoked by its EventBridge schedule. The event's
//! content does not matter: every invocation syncs every connection. Reserved concurrency 1
//! (template.yaml) keeps two runs from overlapping.

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use std::process::ExitCode;
use std::sync::Arc;

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init("directory-sync");
    let sync = match start().await {
        Ok(sync) => Arc::new(sync),
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            eprintln!("directory-sync: {e}");
            return ExitCode::from(2);
        }
    };
    let run = service_fn(move |event: LambdaEvent<Value>| {
        let sync = sync.clone();
        async move {
            let span = telemetry::request_span("schedule", &event.context.request_id);
            let report = tracing::Instrument::instrument(sync.run(), span).await?;
            tracing::info!(connections = report.connections.len(), failed = report.failed(), "directory sync run");
            Ok::<_, lambda_runtime::Error>(serde_json::to_value(report)?)
        }
    });
    match lambda_runtime::run(run).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "Lambda runtime stopped");
            ExitCode::FAILURE
        }
    }
}

/// Reads the configuration and wires the sync, or names what is missing or invalid.
async fn start() -> Result<directory_sync::DirectorySync, String> {
    let config = config::Config::from_env().map_err(|e| e.to_string())?;
    let bot = config.require_bot().map_err(|e| e.to_string())?;
    let table = config.require_table().map_err(|e| e.to_string())?.to_owned();
    let store = store::dynamodb(&table).await;
    let vault = Arc::new(secrets::SecretsManagerVault::from_env(config.connection_secret_prefix.clone()).await);
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    directory_sync::from_config(&config, &bot, store, vault, http).await.map_err(|e| format!("GRAPH_URL: {e}"))
}
