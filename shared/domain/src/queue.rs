//! The work-queue port. In Lambda it is SQS (FIFO where order matters); in the local runner an
//! embedded queue with the same semantics. Consumers are written once against [`JobHandler`].

use async_trait::async_trait;
use std::time::Duration;

/// A message to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingMessage {
    pub body: String,
    /// Messages with the same group are delivered one at a time, in order (SQS FIFO group id).
    pub group: Option<String>,
    /// Re-sending the same id within the de-duplication window enqueues nothing new.
    pub dedup_id: Option<String>,
    /// Deliver no sooner than this (not available on FIFO queues; ignored there).
    pub delay: Option<Duration>,
}

impl OutgoingMessage {
    pub fn new(body: impl Into<String>) -> Self {
        Self { body: body.into(), group: None, dedup_id: None, delay: None }
    }

    pub fn in_group(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into());
        self
    }

    pub fn dedup(mut self, id: impl Into<String>) -> Self {
        self.dedup_id = Some(id.into());
        self
    }

    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("queue unavailable: {0}")]
    Unavailable(String),
    #[error("message refused: {0}")]
    Refused(String),
}

#[async_trait]
pub trait Queue: Send + Sync {
    async fn send(&self, message: OutgoingMessage) -> Result<(), QueueError>;
}

/// A delivered message.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    pub body: String,
    pub group: Option<String>,
    /// 1 on first delivery.
    pub attempt: u32,
}

/// What a consumer made of a job.
#[derive(Debug)]
pub enum JobOutcome {
    Done,
    /// Try again no sooner than this (e.g. the remote said 429 Retry-After), keeping order.
    RetryAfter(Duration),
    /// Failed; retried with the queue's backoff until its budget sends it to the dead-letter queue.
    Failed(String),
}

#[async_trait]
pub trait JobHandler: Send + Sync {
    async fn handle(&self, job: &Job) -> JobOutcome;
}
