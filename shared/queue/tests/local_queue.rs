//! The embedded queue keeps the SQS semantics consumers rely on.

use async_trait::async_trait;
use domain::queue::{Job, JobHandler, JobOutcome, OutgoingMessage, Queue};
use queue::{LocalQueue, LocalQueueOptions};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn fast() -> LocalQueueOptions {
    LocalQueueOptions {
        visibility_timeout: Duration::from_millis(300),
        max_receives: 3,
        concurrency: 4,
        poll_interval: Duration::from_millis(5),
    }
}

#[tokio::test]
async fn a_group_is_delivered_in_order_and_one_at_a_time() {
    let q = LocalQueue::in_memory("q", fast()).unwrap();
    for i in 0..3 {
        q.send(OutgoingMessage::new(format!("a{i}")).in_group("A")).await.unwrap();
        q.send(OutgoingMessage::new(format!("b{i}")).in_group("B")).await.unwrap();
    }
    let first = q.receive(10).await.unwrap();
    let bodies: Vec<_> = first.iter().map(|j| j.body.as_str()).collect();
    assert_eq!(bodies, vec!["a0", "b0"], "only each group's head is ready");
    assert!(q.receive(10).await.unwrap().is_empty(), "heads in flight block their groups");
    q.settle(&first[0], JobOutcome::Done).await.unwrap();
    let next = q.receive(10).await.unwrap();
    assert_eq!(next.iter().map(|j| j.body.as_str()).collect::<Vec<_>>(), vec!["a1"]);
}

#[tokio::test]
async fn a_dedup_id_enqueues_once() {
    let q = LocalQueue::in_memory("q", fast()).unwrap();
    for _ in 0..3 {
        q.send(OutgoingMessage::new("x").dedup("same")).await.unwrap();
    }
    q.send(OutgoingMessage::new("y").dedup("other")).await.unwrap();
    assert_eq!(q.depth().await.unwrap(), 2);
}

#[tokio::test]
async fn delay_and_retry_after_hold_a_job_back() {
    let q = LocalQueue::in_memory("q", fast()).unwrap();
    q.send(OutgoingMessage::new("later").delayed(Duration::from_millis(150))).await.unwrap();
    assert!(q.receive(1).await.unwrap().is_empty());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let job = q.receive(1).await.unwrap().remove(0);
    q.settle(&job, JobOutcome::RetryAfter(Duration::from_millis(150))).await.unwrap();
    assert!(q.receive(1).await.unwrap().is_empty());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let again = q.receive(1).await.unwrap().remove(0);
    assert_eq!(again.attempt, 2);
}

#[tokio::test]
async fn an_unsettled_job_comes_back_after_the_visibility_timeout() {
    let q = LocalQueue::in_memory("q", fast()).unwrap();
    q.send(OutgoingMessage::new("crashy")).await.unwrap();
    let _lost = q.receive(1).await.unwrap();
    assert!(q.receive(1).await.unwrap().is_empty());
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(q.receive(1).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_job_that_keeps_failing_lands_in_the_dead_letter_table() {
    let q = LocalQueue::in_memory("q", LocalQueueOptions { max_receives: 2, ..fast() }).unwrap();
    q.send(OutgoingMessage::new("poison").in_group("g")).await.unwrap();
    let job = q.receive(1).await.unwrap().remove(0);
    q.settle(&job, JobOutcome::Failed("boom".into())).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let job = q.receive(1).await.unwrap().remove(0);
    assert_eq!(job.attempt, 2);
    q.settle(&job, JobOutcome::Failed("boom again".into())).await.unwrap();
    assert_eq!(q.depth().await.unwrap(), 0);
    let dead = q.dead_letters().await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body, "poison");
    assert_eq!(dead[0].reason, "boom again");
}

#[tokio::test]
async fn messages_survive_a_restart() {
    let dir = std::env::temp_dir().join(format!("local-queue-{}", std::process::id()));
    let path = dir.join("queue.sqlite3");
    {
        let q = LocalQueue::open(&path, "q", fast()).unwrap();
        q.send(OutgoingMessage::new("durable")).await.unwrap();
    }
    let q = LocalQueue::open(&path, "q", fast()).unwrap();
    assert_eq!(q.receive(1).await.unwrap()[0].body, "durable");
    let _ = std::fs::remove_dir_all(dir);
}

struct Recorder {
    seen: Mutex<Vec<String>>,
    fail_first: Mutex<bool>,
}

#[async_trait]
impl JobHandler for Recorder {
    async fn handle(&self, job: &Job) -> JobOutcome {
        let mut first = self.fail_first.lock().unwrap();
        if *first && job.body == "g1" {
            *first = false;
            return JobOutcome::RetryAfter(Duration::from_millis(20));
        }
        self.seen.lock().unwrap().push(job.body.clone());
        JobOutcome::Done
    }
}

#[tokio::test]
async fn the_consumer_keeps_group_order_through_retries() {
    let q = LocalQueue::in_memory("q", fast()).unwrap();
    for i in 0..5 {
        q.send(OutgoingMessage::new(format!("g{i}")).in_group("conversation-1")).await.unwrap();
    }
    let handler = Arc::new(Recorder { seen: Mutex::new(Vec::new()), fail_first: Mutex::new(true) });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let consumer = tokio::spawn({
        let q = q.clone();
        let handler = handler.clone();
        async move { q.consume(handler, stopped).await }
    });
    for _ in 0..200 {
        if handler.seen.lock().unwrap().len() == 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.send(true).unwrap();
    consumer.await.unwrap();
    assert_eq!(*handler.seen.lock().unwrap(), vec!["g0", "g1", "g2", "g3", "g4"]);
    assert_eq!(q.depth().await.unwrap(), 0);
}
