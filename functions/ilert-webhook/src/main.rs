//! Lambda entry point of the ilert webhook endpoint (see the library docs).

use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init("ilert-webhook");
    let config = config::Config::from_env().map_err(|e| fail(e.to_string()))?;
    let table = config.require_table().map_err(|e| fail(e.to_string()))?;
    let queue_url = config.require_notifications_queue().map_err(|e| fail(e.to_string()))?;
    let state = ilert_webhook::WebhookState {
        store: store::dynamodb(table).await,
        queue: Arc::new(queue::SqsQueue::from_env(queue_url.to_owned()).await),
    };
    httpapi::run_lambda(ilert_webhook::router(state)).await
}

type Error = Box<dyn std::error::Error + Send + Sync>;

fn fail(message: String) -> Error {
    tracing::error!(%message, "cannot start");
    message.into()
}
