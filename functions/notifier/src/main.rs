//! Lambda entry point of the notifier: an SQS event source with partial-batch failures.

use std::sync::Arc;

type Error = Box<dyn std::error::Error + Send + Sync>;

fn fail(message: String) -> Error {
    tracing::error!(%message, "cannot start");
    message.into()
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init("notifier");
    let config = config::Config::from_env().map_err(|e| fail(e.to_string()))?;
    let bot = config.require_bot().map_err(|e| fail(e.to_string()))?;
    let table = config.require_table().map_err(|e| fail(e.to_string()))?;
    let queue_url = config.require_notifications_queue().map_err(|e| fail(e.to_string()))?;
    let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(15)).build()?;
    let tokens = entra::bot_tokens(&config, &bot, http.clone()).await;
    let connector = Arc::new(botframework::ConnectorClient::new(
        http,
        tokens,
        botframework::ConnectorConfig::from_endpoints(&config.endpoints, bot.tenant_id.clone()),
    ));
    let sqs = aws_sdk_sqs::Client::new(&aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await);
    let queue = Arc::new(queue::SqsQueue::new(sqs.clone(), queue_url));
    let handler = Arc::new(notifier::notifier(store::dynamodb(table).await, queue, connector));
    queue::lambda::serve(handler, sqs).await
}
