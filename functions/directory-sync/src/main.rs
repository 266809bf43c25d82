//! Lambda entry point of the directory sync. Two triggers reach the one function: its
//! EventBridge schedule, which queues a job per connection, and the SQS event source of that
//! queue, which runs the jobs (with partial-batch failures).

use chrono::Utc;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use std::process::ExitCode;
use std::sync::Arc;

struct Function {
    sync: Arc<directory_sync::DirectorySync>,
    queue: queue::SqsQueue,
    visibility: queue::lambda::Visibility,
}

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init("directory-sync");
    let function = match start().await {
        Ok(function) => Arc::new(function),
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            eprintln!("directory-sync: {e}");
            return ExitCode::from(2);
        }
    };
    let run = service_fn(move |event: LambdaEvent<Value>| {
        let function = function.clone();
        async move { function.invoke(event).await }
    });
    match lambda_runtime::run(run).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "Lambda runtime stopped");
            ExitCode::FAILURE
        }
    }
}

impl Function {
    async fn invoke(&self, event: LambdaEvent<Value>) -> Result<Value, lambda_runtime::Error> {
        if event.payload.get("Records").is_some() {
            let batch: aws_lambda_events::sqs::SqsEvent = serde_json::from_value(event.payload)?;
            let response = queue::lambda::process_batch(batch, self.sync.as_ref(), &self.visibility).await;
            return Ok(serde_json::to_value(response)?);
        }
        let span = telemetry::request_span("schedule", &event.context.request_id);
        let queued =
            tracing::Instrument::instrument(self.sync.enqueue_all(&self.queue, Utc::now()), span.clone()).await?;
        span.in_scope(|| tracing::info!(queued, "directory sync jobs queued"));
        Ok(serde_json::json!({ "queued": queued }))
    }
}

/// Reads the configuration and wires the sync, or names what is missing or invalid.
async fn start() -> Result<Function, String> {
    let config = config::Config::from_env().map_err(|e| e.to_string())?;
    let bot = config.require_bot().map_err(|e| e.to_string())?;
    let table = config.require_table().map_err(|e| e.to_string())?.to_owned();
    let queue_url = config.require_directory_sync_queue().map_err(|e| e.to_string())?.to_owned();
    let store = store::dynamodb(&table).await;
    let vault = Arc::new(secrets::SecretsManagerVault::from_env(config.connection_secret_prefix.clone()).await);
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let tokens = entra::bot_tokens(&config, &bot, http.clone()).await;
    let graph = graph::GraphClient::new(http.clone(), &config.endpoints.graph_url, tokens)
        .map_err(|e| format!("GRAPH_URL: {e}"))?;
    let sync = directory_sync::from_config(&config, graph, store, vault, http);
    let sqs = aws_sdk_sqs::Client::new(&aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await);
    Ok(Function {
        sync: Arc::new(sync),
        queue: queue::SqsQueue::new(sqs.clone(), queue_url),
        visibility: queue::lambda::Visibility::new(sqs),
    })
}
