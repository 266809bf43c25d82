//! Lambda entry point of the channel provisioner: an SQS event source (the provisioning queue)
//! with partial-batch failures.

use std::sync::Arc;

type Error = Box<dyn std::error::Error + Send + Sync>;

fn fail(message: String) -> Error {
    tracing::error!(%message, "cannot start");
    message.into()
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init("channel-provisioner");
    let config = config::Config::from_env().map_err(|e| fail(e.to_string()))?;
    let bot = config.require_bot().map_err(|e| fail(e.to_string()))?;
    let table = config.require_table().map_err(|e| fail(e.to_string()))?;
    // The queue this function consumes; required so a deployment without it fails at start.
    let queue_url = config.require_provisioning_queue().map_err(|e| fail(e.to_string()))?;
    tracing::info!(queue = queue_url, "consuming the provisioning queue");
    let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(15)).build()?;
    let tokens = entra::bot_tokens(&config, &bot, http.clone()).await;
    let graph = graph::GraphClient::new(http.clone(), &config.endpoints.graph_url, tokens.clone())
        .map_err(|e| fail(format!("GRAPH_URL: {e}")))?;
    let connector = Arc::new(botframework::ConnectorClient::new(
        http,
        tokens,
        botframework::ConnectorConfig::from_endpoints(&config.endpoints, bot.tenant_id.clone()),
    ));
    let sqs = aws_sdk_sqs::Client::new(&aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await);
    let handler = Arc::new(channel_provisioner::handler(store::dynamodb(table).await, graph, connector));
    queue::lambda::serve(handler, sqs).await
}
