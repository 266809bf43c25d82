use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::ProvideErrorMetadata;
use domain::queue::{OutgoingMessage, Queue, QueueError};

/// Sends to one SQS queue. A FIFO queue (URL ending in `.fifo`) requires a message group and
/// cannot delay single messages, so a delay is dropped there and the group defaults to the
/// de-duplication id.
#[derive(Clone)]
pub struct SqsQueue {
    client: Client,
    url: String,
}

impl SqsQueue {
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        Self { client, url: url.into() }
    }

    pub async fn from_env(url: impl Into<String>) -> Self {
        let conf = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Self::new(Client::new(&conf), url)
    }

    pub fn is_fifo(&self) -> bool {
        self.url.ends_with(".fifo")
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send(&self, message: OutgoingMessage) -> Result<(), QueueError> {
        let mut request = self.client.send_message().queue_url(&self.url).message_body(message.body);
        if self.is_fifo() {
            let group = message.group.or_else(|| message.dedup_id.clone()).unwrap_or_else(|| "default".into());
            request = request.message_group_id(group).set_message_deduplication_id(message.dedup_id);
        } else if let Some(delay) = message.delay {
            // SQS delays a message by at most 15 minutes.
            request = request.delay_seconds(delay.as_secs().min(900) as i32);
        }
        request.send().await.map(|_| ()).map_err(|e| {
            let code = e.as_service_error().and_then(|s| s.code()).unwrap_or("unreachable").to_owned();
            QueueError::Unavailable(format!("SQS {code}"))
        })
    }
}
