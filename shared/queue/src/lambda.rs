//! Consuming an SQS event in Lambda with partial-batch failures (`ReportBatchItemFailures`).

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::Client;
use domain::queue::{Job, JobHandler, JobOutcome};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tracing::Instrument;

/// Changes a message's visibility so a throttled job comes back after `Retry-After`
/// while keeping its place in its FIFO group.
pub struct Visibility {
    client: Client,
    urls: Mutex<HashMap<String, String>>,
}

impl Visibility {
    pub fn new(client: Client) -> Self {
        Self { client, urls: Mutex::new(HashMap::new()) }
    }

    async fn queue_url(&self, arn: &str) -> Option<String> {
        if let Some(url) = self.urls.lock().ok().and_then(|m| m.get(arn).cloned()) {
            return Some(url);
        }
        // arn:aws:sqs:region:account:name
        let mut parts = arn.rsplitn(3, ':');
        let name = parts.next()?;
        let account = parts.next()?;
        let url = self
            .client
            .get_queue_url()
            .queue_name(name)
            .queue_owner_aws_account_id(account)
            .send()
            .await
            .ok()?
            .queue_url?;
        if let Ok(mut m) = self.urls.lock() {
            m.insert(arn.to_owned(), url.clone());
        }
        Some(url)
    }

    async fn delay(&self, message: &SqsMessage, seconds: u64) {
        let (Some(arn), Some(handle)) = (message.event_source_arn.as_deref(), message.receipt_handle.as_deref()) else {
            return;
        };
        let Some(url) = self.queue_url(arn).await else {
            tracing::warn!("cannot resolve queue url; the job retries after the queue's visibility timeout");
            return;
        };
        // SQS allows at most 12 hours.
        let seconds = seconds.clamp(1, 43_200) as i32;
        if let Err(e) = self
            .client
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(handle)
            .visibility_timeout(seconds)
            .send()
            .await
        {
            tracing::warn!(error = %e, "could not delay a throttled job; it retries after the visibility timeout");
        }
    }
}

fn job(message: &SqsMessage) -> Job {
    let attempt = message.attributes.get("ApproximateReceiveCount").and_then(|c| c.parse().ok()).unwrap_or(1);
    Job {
        id: message.message_id.clone().unwrap_or_default(),
        body: message.body.clone().unwrap_or_default(),
        group: message.attributes.get("MessageGroupId").cloned(),
        attempt,
    }
}

/// Runs `handler` on every record and reports the ones to retry. On a FIFO queue the first
/// failure also fails every later record of its message group, so order is kept.
pub async fn process_batch(event: SqsEvent, handler: &dyn JobHandler, visibility: &Visibility) -> SqsBatchResponse {
    let mut failures = Vec::new();
    let mut blocked_groups: Vec<String> = Vec::new();
    for message in &event.records {
        let job = job(message);
        let span = tracing::info_span!("job", correlation_id = %job.id, attempt = job.attempt, tenant_id = tracing::field::Empty);
        if job.group.as_ref().is_some_and(|g| blocked_groups.contains(g)) {
            failures.push(failure(&job.id));
            continue;
        }
        let outcome = handler.handle(&job).instrument(span.clone()).await;
        let failed = match outcome {
            JobOutcome::Done => false,
            JobOutcome::RetryAfter(wait) => {
                span.in_scope(|| tracing::info!(retry_after_secs = wait.as_secs(), "job deferred"));
                visibility.delay(message, wait.as_secs().max(1)).await;
                true
            }
            JobOutcome::Failed(reason) => {
                span.in_scope(|| tracing::warn!(%reason, "job failed"));
                true
            }
        };
        if failed {
            failures.push(failure(&job.id));
            if let Some(group) = job.group {
                blocked_groups.push(group);
            }
        }
    }
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failures;
    response
}

fn failure(id: &str) -> BatchItemFailure {
    let mut f = BatchItemFailure::default();
    f.item_identifier = id.to_owned();
    f
}

/// Runs `handler` as the Lambda function of an SQS event source until the runtime stops: the
/// whole `main` of a queue consumer after its start-up.
pub async fn serve(handler: Arc<dyn JobHandler>, sqs: Client) -> Result<(), lambda_runtime::Error> {
    let visibility = Arc::new(Visibility::new(sqs));
    lambda_runtime::run(lambda_runtime::service_fn(move |event: lambda_runtime::LambdaEvent<SqsEvent>| {
        let handler = handler.clone();
        let visibility = visibility.clone();
        async move { Ok::<_, lambda_runtime::Error>(process_batch(event.payload, handler.as_ref(), &visibility).await) }
    }))
    .await
}
