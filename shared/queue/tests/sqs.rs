//! The SQS adapter and the Lambda batch consumer against a real SQS API (moto's server,
//! started by the test command, found through `AWS_ENDPOINT_URL`).

use async_trait::async_trait;
use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::QueueAttributeName;
use domain::queue::{Job, JobHandler, JobOutcome, OutgoingMessage, Queue};
use queue::SqsQueue;
use queue::lambda::{Visibility, process_batch};
use std::collections::HashMap;
use std::time::Duration;

async fn client() -> Client {
    assert!(
        std::env::var("AWS_ENDPOINT_URL").is_ok(),
        "AWS_ENDPOINT_URL is not set: run the README's test command, which starts a local SQS/DynamoDB server"
    );
    Client::new(&aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await)
}

async fn fifo_queue(client: &Client, name: &str) -> String {
    let name = format!("{name}-{}-{}.fifo", std::process::id(), rand_suffix());
    client
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .expect("create queue")
        .queue_url
        .expect("queue url")
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos()
}

async fn receive_all(client: &Client, url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    client
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
        .send()
        .await
        .expect("receive")
        .messages
        .unwrap_or_default()
}

#[tokio::test]
async fn fifo_sends_keep_groups_and_drop_duplicates() {
    let client = client().await;
    let url = fifo_queue(&client, "deliveries").await;
    let q = SqsQueue::new(client.clone(), url.clone());
    assert!(q.is_fifo());
    q.send(OutgoingMessage::new("one").in_group("conv-1").dedup("e1")).await.unwrap();
    q.send(OutgoingMessage::new("one again").in_group("conv-1").dedup("e1")).await.unwrap();
    q.send(OutgoingMessage::new("two").in_group("conv-1").dedup("e2").delayed(Duration::from_secs(5))).await.unwrap();
    let got = receive_all(&client, &url).await;
    let bodies: Vec<_> = got.iter().filter_map(|m| m.body.as_deref()).collect();
    assert_eq!(bodies, vec!["one", "two"]);
    let groups: Vec<_> = got
        .iter()
        .filter_map(|m| {
            m.attributes.as_ref()?.get(&aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId).cloned()
        })
        .collect();
    assert_eq!(groups, vec!["conv-1", "conv-1"]);
}

struct Scripted(HashMap<String, &'static str>);

#[async_trait]
impl JobHandler for Scripted {
    async fn handle(&self, job: &Job) -> JobOutcome {
        match self.0.get(&job.body).copied() {
            Some("retry") => JobOutcome::RetryAfter(Duration::from_secs(30)),
            Some("fail") => JobOutcome::Failed("boom".into()),
            _ => JobOutcome::Done,
        }
    }
}

fn record(message: &aws_sdk_sqs::types::Message, arn: &str) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = message.message_id.clone();
    m.receipt_handle = message.receipt_handle.clone();
    m.body = message.body.clone();
    m.event_source_arn = Some(arn.to_owned());
    if let Some(attrs) = &message.attributes {
        for (k, v) in attrs {
            m.attributes.insert(k.as_str().to_owned(), v.clone());
        }
    }
    m
}

#[tokio::test]
async fn a_batch_reports_failures_and_defers_throttled_jobs_in_their_group() {
    let client = client().await;
    let url = fifo_queue(&client, "batch").await;
    let arn = client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()
        .remove(&QueueAttributeName::QueueArn)
        .unwrap();
    let q = SqsQueue::new(client.clone(), url.clone());
    q.send(OutgoingMessage::new("a-ok").in_group("A").dedup("1")).await.unwrap();
    q.send(OutgoingMessage::new("a-throttled").in_group("A").dedup("2")).await.unwrap();
    q.send(OutgoingMessage::new("a-after").in_group("A").dedup("3")).await.unwrap();
    q.send(OutgoingMessage::new("b-fails").in_group("B").dedup("4")).await.unwrap();
    let received = receive_all(&client, &url).await;
    assert_eq!(received.len(), 4);
    let mut event = SqsEvent::default();
    event.records = received.iter().map(|m| record(m, &arn)).collect();
    let handler = Scripted(HashMap::from([("a-throttled".to_string(), "retry"), ("b-fails".to_string(), "fail")]));
    let response = process_batch(event, &handler, &Visibility::new(client.clone())).await;
    let failed: Vec<String> = response.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
    let id_of =
        |body: &str| received.iter().find(|m| m.body.as_deref() == Some(body)).unwrap().message_id.clone().unwrap();
    assert!(!failed.contains(&id_of("a-ok")));
    assert!(failed.contains(&id_of("a-throttled")));
    assert!(failed.contains(&id_of("a-after")), "a later message of a failed group is failed too, to keep order");
    assert!(failed.contains(&id_of("b-fails")));
    assert_eq!(failed.len(), 3);
}
