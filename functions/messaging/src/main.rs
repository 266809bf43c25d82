//! `messaging`: the Bot Framework endpoint as a Lambda function behind API Gateway. Only
//! start-up lives here (see the library): it refuses to start without what the endpoint cannot
//! work without, so a misconfiguration shows at deployment, not per request.

use config::Config;
use messaging::MessagingState;
use std::process::ExitCode;
use std::sync::Arc;

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init("messaging");
    let state = match start().await {
        Ok(state) => state,
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            eprintln!("messaging: {e}");
            return ExitCode::from(2);
        }
    };
    match httpapi::run_lambda(messaging::router(state)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "Lambda runtime stopped");
            ExitCode::FAILURE
        }
    }
}

async fn start() -> Result<MessagingState, String> {
    let config = Config::from_env().map_err(|e| e.to_string())?;
    let table = config.require_table().map_err(|e| e.to_string())?.to_owned();
    let queue_url = config.require_provisioning_queue().map_err(|e| e.to_string())?.to_owned();
    let http =
        reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build().map_err(|e| e.to_string())?;
    let store = store::dynamodb(&table).await;
    let vault = Arc::new(secrets::SecretsManagerVault::from_env(config.connection_secret_prefix.clone()).await);
    let sqs = aws_sdk_sqs::Client::new(&aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await);
    let queue = Arc::new(queue::SqsQueue::new(sqs, queue_url));
    MessagingState::from_config(&config, store, vault, queue, http).await.map_err(|e| e.to_string())
}
