//! The provisioner against the Graph, login and Bot Connector simulators, on the embedded store.

use async_trait::async_trait;
use channel_provisioner::{
    ActingUser, Provisioner, ProvisionerOptions, ProvisioningJob, ProvisioningKind, meeting_transaction_id,
};
use chrono::Utc;
use domain::model::{
    AlertCard, AlertRecord, AlertStatus, ConversationKind, ConversationRef, ConversationStatus, MappingSource, TeamRef,
    UserMapping,
};
use domain::queue::{Job, JobHandler, JobOutcome};
use domain::store::Store;
use domain::{AadObjectId, AlertId, ConnectionId, ConversationId, TenantId};
use notifications::{ConnectorPoster, PostError, PostedCard, TeamsPoster};
use serde_json::{Value, json};
use simulators::connector::ConnectorSim;
use simulators::graph::{Fault, GraphSim};
use simulators::login::LoginSim;
use std::sync::Arc;
use std::time::Duration;

const APP: &str = "8f3b287d-df09-44e2-93b3-35e0dfa90756";
const SECRET: &str = "bot-client-secret";
const BOT_TENANT: &str = "0c4b3b5e-1d2f-4a36-9a57-7b6c1e2d3f40";
const BOT_SCOPE: &str = "https://api.botframework.com/.default";
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CHANNEL: &str = "19:alerts@thread.tacv2";

/// The bot is installed in the team, so Teams lets it post in every channel of it, new ones
/// included; the connector simulator knows conversations one by one, so learn each on first post.
struct InstalledInTeam {
    inner: ConnectorPoster,
    sim: ConnectorSim,
}

#[async_trait]
impl TeamsPoster for InstalledInTeam {
    async fn post_card(&self, conversation: &ConversationRef, card: Value) -> Result<PostedCard, PostError> {
        self.sim.add_conversation(conversation.conversation_id.as_str(), conversation.tenant_id.as_str());
        self.inner.post_card(conversation, card).await
    }
    async fn update_card(
        &self,
        conversation: &ConversationRef,
        card: &AlertCard,
        content: Value,
    ) -> Result<(), PostError> {
        self.inner.update_card(conversation, card, content).await
    }
    async fn reply(&self, conversation: &ConversationRef, card: &AlertCard, text: &str) -> Result<(), PostError> {
        self.inner.reply(conversation, card, text).await
    }
}

struct World {
    graph: GraphSim,
    connector: ConnectorSim,
    store: Arc<dyn Store>,
    provisioner: Provisioner,
    team: String,
    acting: String,
    jane: String,
    card: AlertCard,
}

fn connection() -> ConnectionId {
    ConnectionId::parse("conn1").unwrap()
}

fn alert() -> AlertId {
    AlertId::parse("42").unwrap()
}

impl World {
    async fn start() -> World {
        let login = LoginSim::start().await;
        login.register_app(APP, SECRET);
        let graph = GraphSim::start(&login).await;
        let connector = ConnectorSim::start(login.clone(), BOT_SCOPE).await;
        let http = reqwest::Client::new();
        let tokens = Arc::new(entra::TokenProvider::new(
            http.clone(),
            login.url().parse().unwrap(),
            APP,
            Arc::new(secrets::FixedSecret::new(SECRET)),
        ));
        let graph_client =
            graph::GraphClient::new(http.clone(), &graph.url().parse().unwrap(), tokens.clone()).unwrap();
        let connector_client = Arc::new(botframework::ConnectorClient::new(
            http,
            tokens,
            botframework::ConnectorConfig {
                bot_tenant_id: BOT_TENANT.into(),
                token_scope: BOT_SCOPE.into(),
                allowed_hosts: vec!["127.0.0.1".into()],
            },
        ));
        let poster = Arc::new(InstalledInTeam {
            inner: ConnectorPoster::new(connector_client, Duration::from_secs(5)),
            sim: connector.clone(),
        });
        let store: Arc<dyn Store> =
            Arc::new(store::TableStore::new(Arc::new(store::EmbeddedTable::in_memory().unwrap())));

        let team = graph.add_team(TENANT, "Ops");
        let acting = graph.add_user(TENANT, "Ann Actor", "ann@contoso.com");
        let jane = graph.add_user(TENANT, "Jane Doe", "jane@contoso.com");
        graph.add_group_member(TENANT, &team, &acting);
        for (aad, ilert, email, name) in
            [(&acting, 1, "ann@contoso.com", "Ann Actor"), (&jane, 2, "jane@contoso.com", "Jane Doe")]
        {
            store
                .put_user_mapping(&UserMapping {
                    tenant_id: TenantId::parse(TENANT).unwrap(),
                    aad_object_id: AadObjectId::parse(aad.as_str()).unwrap(),
                    ilert_user_id: ilert,
                    email: email.into(),
                    display_name: Some(name.into()),
                    source: MappingSource::DirectorySync,
                    updated_at: Utc::now(),
                })
                .await
                .unwrap();
        }

        connector.add_conversation(CHANNEL, TENANT);
        let conversation = store
            .save_conversation(&ConversationRef {
                tenant_id: TenantId::parse(TENANT).unwrap(),
                conversation_id: ConversationId::parse(CHANNEL).unwrap(),
                kind: ConversationKind::Channel,
                service_url: connector.service_url(TENANT),
                bot_id: format!("28:{APP}"),
                team: Some(TeamRef {
                    id: "19:team@thread.tacv2".into(),
                    aad_group_id: Some(team.clone()),
                    name: Some("Ops".into()),
                }),
                channel_name: Some("Alerts".into()),
                title: None,
                user_id: None,
                user_aad_object_id: None,
                status: ConversationStatus::Active,
                updated_at: Utc::now(),
                version: 0,
            })
            .await
            .unwrap();
        let record = store
            .save_alert(&AlertRecord {
                connection_id: connection(),
                alert_id: alert(),
                status: AlertStatus::Pending,
                last_event_at: Utc::now(),
                snapshot: json!({
                    "id": "42",
                    "summary": "Disk full on db-1",
                    "status": "PENDING",
                    "alertSource": { "id": 7, "name": "Grafana" },
                    "responders": [{ "user": { "id": 2, "firstName": "Jane", "lastName": "Doe", "email": "jane@contoso.com" }, "status": "PENDING" }],
                }),
                channel: None,
                meeting: None,
                chat: None,
                version: 0,
            })
            .await
            .unwrap();
        let posted = poster.post_card(&conversation, notifications::render(&record)).await.unwrap();
        let card = store
            .save_card(&AlertCard {
                connection_id: connection(),
                alert_id: alert(),
                conversation_id: conversation.conversation_id.clone(),
                thread_id: ConversationId::parse(posted.thread_id).unwrap(),
                activity_id: posted.activity_id,
                rendered_revision: record.version,
                updated_at: Utc::now(),
                version: 0,
            })
            .await
            .unwrap();
        let graph_client = graph_client.with_retry_policy(graph::RetryPolicy { max_attempts: 2, ..Default::default() });
        let provisioner = Provisioner::new(
            store.clone(),
            graph_client,
            poster.clone(),
            ProvisionerOptions { graph_budget: Duration::from_secs(5), ..Default::default() },
        );
        World { graph, connector, store, provisioner, team, acting, jane, card }
    }

    fn job(&self, kind: ProvisioningKind) -> ProvisioningJob {
        ProvisioningJob {
            v: ProvisioningJob::VERSION,
            kind,
            connection_id: connection(),
            tenant_id: TenantId::parse(TENANT).unwrap(),
            alert_id: alert(),
            conversation_id: ConversationId::parse(CHANNEL).unwrap(),
            card_activity_id: Some(self.card.activity_id.clone()),
            service_url: self.connector.service_url(TENANT),
            acting_user: ActingUser {
                aad_object_id: AadObjectId::parse(self.acting.as_str()).unwrap(),
                ilert_user_id: 1,
                name: Some("Ann Actor".into()),
            },
        }
    }

    async fn run(&self, job: &ProvisioningJob) -> JobOutcome {
        let job = Job { id: uuid(), body: serde_json::to_string(job).unwrap(), group: None, attempt: 1 };
        self.provisioner.handle(&job).await
    }

    async fn record(&self) -> AlertRecord {
        self.store.get_alert(&connection(), &alert()).await.unwrap().unwrap()
    }

    /// The original card as Teams shows it now.
    fn original_card(&self) -> Value {
        self.connector.activity(&self.card.activity_id).unwrap().activity
    }
}

fn uuid() -> String {
    format!("job-{}", Utc::now().timestamp_nanos_opt().unwrap_or_default())
}

fn done(outcome: &JobOutcome) -> bool {
    matches!(outcome, JobOutcome::Done)
}

#[tokio::test]
async fn channel_is_created_once_gets_the_card_and_is_linked_from_the_original() {
    let w = World::start().await;
    let job = w.job(ProvisioningKind::Channel);
    let first = w.run(&job).await;
    assert!(done(&first), "{first:?}");
    let second = w.run(&job).await;
    assert!(done(&second), "{second:?}");

    let names = w.graph.channel_names(TENANT, &w.team);
    assert_eq!(names.iter().filter(|n| n.as_str() == "Grafana_alert_42").count(), 1, "{names:?}");
    assert_eq!(w.graph.count("POST", "/v1.0/teams/*/channels"), 1);

    let record = w.record().await;
    let linked = record.channel.clone().expect("channel saved on the record");
    assert_eq!(linked.name, "Grafana_alert_42");
    assert_eq!(linked.team_id, w.team);
    let web_url = linked.web_url.clone().expect("web url");

    // The responder outside the team joined its group, so the standard channel is visible to her.
    assert!(w.graph.group_member_ids(TENANT, &w.team).contains(&w.jane));

    // The card was posted once into the new channel, and its AlertCard stored.
    let in_channel = w.connector.activities_in(&linked.channel_id);
    assert_eq!(in_channel.len(), 1, "{in_channel:?}");
    let channel_id = ConversationId::parse(linked.channel_id.clone()).unwrap();
    let channel_card = w.store.get_card(&connection(), &alert(), &channel_id).await.unwrap().expect("card stored");
    assert_eq!(channel_card.activity_id, in_channel[0].id);
    assert!(in_channel[0].activity.to_string().contains("Disk full on db-1"));
    // The new channel is a conversation the notifier can keep current.
    assert!(w.store.get_conversation(&job.tenant_id, &channel_id).await.unwrap().is_some());

    // The original card was updated in place (PUT) with the link, and its revision saved.
    let original = w.connector.activity(&w.card.activity_id).unwrap();
    assert_eq!(original.versions.len(), 2, "one update, not two");
    assert!(w.original_card().to_string().contains(&web_url));
    let card = w.store.get_card(&connection(), &alert(), &job.conversation_id).await.unwrap().unwrap();
    assert_eq!(card.rendered_revision, record.version);
}

#[tokio::test]
async fn chat_is_created_with_the_acting_user_and_the_responders() {
    let w = World::start().await;
    let job = w.job(ProvisioningKind::Chat);
    assert!(done(&w.run(&job).await));
    assert!(done(&w.run(&job).await));

    let chats = w.graph.chats(TENANT);
    assert_eq!(chats.len(), 1, "{chats:?}");
    let mut members: Vec<String> =
        chats[0]["members"].as_array().unwrap().iter().map(|m| m.as_str().unwrap().to_owned()).collect();
    members.sort();
    let mut expected = vec![w.acting.clone(), w.jane.clone()];
    expected.sort();
    assert_eq!(members, expected);
    assert_eq!(chats[0]["chatType"], "group");
    assert_eq!(chats[0]["topic"], "Disk full on db-1");

    let record = w.record().await;
    let chat = record.chat.expect("chat saved");
    assert_eq!(chat.chat_id, chats[0]["id"].as_str().unwrap());
    assert!(w.original_card().to_string().contains(chat.web_url.as_deref().unwrap()));
}

#[tokio::test]
async fn meeting_is_created_once_with_a_stable_transaction_id() {
    let w = World::start().await;
    let job = w.job(ProvisioningKind::Meeting);
    assert!(done(&w.run(&job).await));
    let first = w.record().await.meeting.expect("meeting saved");

    // As if the first run had died after Graph created the event but before the record was saved.
    let mut record = w.record().await;
    record.meeting = None;
    w.store.save_alert(&record).await.unwrap();
    assert!(done(&w.run(&job).await));

    let events = w.graph.events(TENANT, &w.acting);
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(event["transactionId"], meeting_transaction_id(&job).as_str());
    assert_eq!(event["onlineMeetingProvider"], "teamsForBusiness");
    let attendees: Vec<&str> =
        event["attendees"].as_array().unwrap().iter().filter_map(|a| a["emailAddress"]["address"].as_str()).collect();
    assert_eq!(attendees, vec!["jane@contoso.com"]);
    let start =
        chrono::NaiveDateTime::parse_from_str(event["start"]["dateTime"].as_str().unwrap(), "%Y-%m-%dT%H:%M:%S")
            .unwrap();
    let end =
        chrono::NaiveDateTime::parse_from_str(event["end"]["dateTime"].as_str().unwrap(), "%Y-%m-%dT%H:%M:%S").unwrap();
    assert_eq!(end - start, chrono::Duration::minutes(30));

    let meeting = w.record().await.meeting.expect("meeting saved again");
    assert_eq!(meeting.event_id, first.event_id);
    assert_eq!(meeting.organizer, w.acting);
    assert!(w.original_card().to_string().contains(&meeting.join_url));
}

#[tokio::test]
async fn a_missing_permission_becomes_a_notice_under_the_card() {
    let w = World::start().await;
    w.graph.inject("POST", "/v1.0/teams/*/channels", Fault::MissingPermission, 5);
    let outcome = w.run(&w.job(ProvisioningKind::Channel)).await;
    assert!(done(&outcome), "{outcome:?}");
    assert!(w.record().await.channel.is_none());
    let thread = w.connector.thread(CHANNEL, &w.card.activity_id).unwrap();
    assert_eq!(thread.replies.len(), 1);
    let text = thread.replies[0].activity["text"].as_str().unwrap_or_default().to_owned();
    assert!(text.contains("Channel.Create"), "{text}");
}

#[tokio::test]
async fn throttling_becomes_retry_after() {
    let w = World::start().await;
    w.graph.inject("POST", "/v1.0/chats", Fault::Throttle(Some("120".into())), 10);
    match w.run(&w.job(ProvisioningKind::Chat)).await {
        JobOutcome::RetryAfter(wait) => assert!(wait >= Duration::from_secs(100), "{wait:?}"),
        other => panic!("expected RetryAfter, got {other:?}"),
    }
    assert!(w.record().await.chat.is_none());
    assert!(w.graph.chats(TENANT).is_empty());
}
