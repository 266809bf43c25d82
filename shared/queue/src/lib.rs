//! The work queue between functions. In Lambda it is SQS ([`SqsQueue`] to send,
//! [`lambda::process_batch`] to consume an SQS event with partial-batch failures); in the local
//! runner an embedded, durable queue ([`LocalQueue`]) with the same semantics: FIFO order per
//! message group, de-duplication ids, visibility timeouts, retries and a dead-letter table.
//! Consumers are written once against `domain::queue::JobHandler` and run unchanged on both.
//!
//! This crate knows SQS and SQLite; it knows nothing of what the jobs mean.

pub mod lambda;
mod local;
mod sqs;

pub use local::{DeadLetter, LocalQueue, LocalQueueOptions};
pub use sqs::SqsQueue;

use std::time::Duration;

/// Backoff for a failed job before its next attempt: 1 s, 2 s, 4 s … capped at 5 minutes.
pub fn failure_backoff(attempt: u32) -> Duration {
    Duration::from_secs(1u64 << attempt.saturating_sub(1).min(8)).min(Duration::from_secs(300))
}
