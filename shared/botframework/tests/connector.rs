//! The Connector client against the Bot Connector and Microsoft login simulators.

use botframework::{Activity, ConnectorClient, ConnectorConfig, ConnectorError, ConversationParameters, RetryPolicy};
use entra::TokenProvider;
use secrets::FixedSecret;
use serde_json::json;
use simulators::connector::{ConnectorSim, RateLimits};
use simulators::login::LoginSim;
use std::sync::Arc;
use std::time::{Duration, Instant};

const BOT_ID: &str = "0b6fe6d1-fece-44f7-9a48-56465e2d5ab8";
const BOT_TENANT: &str = "9d1c2b3a-4e5f-4a6b-8c7d-0e1f2a3b4c5d";
const SCOPE: &str = "https://api.botframework.com/.default";
const TENANT: &str = "3f3d1cea-7a18-41af-872b-cfbbd5140984";
const CHANNEL: &str = "19:LydFnezGKSkhYoiLNP6kZ8AuXQr36EDAkvG9CNJSPKc1@thread.tacv2";
const USER: &str = "29:1aK9mYhSZ3egG5Ve2UaOoEjrOppWz-gl7AQmsXeW-4XS1et5FiZ3_V45othuWHgfY0Ytv82M6WnH8lRI8gLMeHg";

struct Harness {
    login: LoginSim,
    connector: ConnectorSim,
    client: ConnectorClient,
    service_url: String,
}

fn client_for(login: &LoginSim, allowed_hosts: &[&str]) -> ConnectorClient {
    let tokens = TokenProvider::new(
        reqwest::Client::new(),
        login.url().parse().unwrap(),
        BOT_ID,
        Arc::new(FixedSecret::new("bot-secret")),
    );
    let config = ConnectorConfig {
        bot_tenant_id: BOT_TENANT.into(),
        token_scope: SCOPE.into(),
        allowed_hosts: allowed_hosts.iter().map(|h| (*h).to_owned()).collect(),
    };
    ConnectorClient::new(reqwest::Client::new(), Arc::new(tokens), config).with_retry_policy(RetryPolicy {
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(200),
        ..RetryPolicy::default()
    })
}

async fn harness() -> Harness {
    let login = LoginSim::start().await;
    login.register_app(BOT_ID, "bot-secret");
    let connector = ConnectorSim::start(login.clone(), SCOPE).await;
    connector.add_conversation(CHANNEL, TENANT);
    let client = client_for(&login, &["127.0.0.1"]);
    let service_url = connector.service_url(TENANT);
    Harness { login, connector, client, service_url }
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(10)
}

fn card(title: &str) -> Activity {
    Activity::card_message(json!({
        "type": "AdaptiveCard", "version": "1.5",
        "body": [{"type": "TextBlock", "text": title}]
    }))
}

fn statuses(connector: &ConnectorSim) -> Vec<u16> {
    connector.requests().iter().map(|r| r.status).collect()
}

#[tokio::test]
async fn a_channel_thread_is_created_replied_to_updated_and_deleted() {
    let h = harness().await;
    let created = h
        .client
        .create_conversation(
            &h.service_url,
            &ConversationParameters::channel_thread(CHANNEL, TENANT, card("open")),
            soon(),
        )
        .await
        .unwrap();
    let post = created.activity_id.clone().expect("a channel post has an activity id");
    assert_eq!(created.id, format!("{CHANNEL};messageid={post}"));
    assert!(post.parse::<u64>().is_ok(), "activity ids are numeric: {post}");

    let (details, more) = (Activity::text_message("details"), Activity::text_message("more"));
    let reply = h.client.send_to_conversation(&h.service_url, &created.id, &details, soon()).await.unwrap().id.unwrap();
    h.client.reply_to_activity(&h.service_url, CHANNEL, &post, &more, soon()).await.unwrap();
    h.client.update_activity(&h.service_url, &created.id, &post, &card("acknowledged"), soon()).await.unwrap();
    h.client.delete_activity(&h.service_url, &created.id, &reply, soon()).await.unwrap();

    let thread = h.connector.thread(&created.id, &post).expect("the thread exists");
    assert_eq!(thread.root.versions.len(), 2);
    assert_eq!(thread.root.activity["attachments"][0]["content"]["body"][0]["text"], "acknowledged");
    assert_eq!(thread.root.versions[0]["attachments"][0]["content"]["body"][0]["text"], "open");
    assert_eq!(thread.replies.len(), 2);
    assert!(thread.replies.iter().any(|r| r.id == reply && r.deleted));
    assert_eq!(h.connector.activities_in(CHANNEL).len(), 3);

    // Ids travel percent-encoded, `;messageid=` included, as single path segments.
    let encoded = format!("/v3/conversations/{}/activities/{post}", percent(&created.id));
    assert!(h.connector.requests().iter().any(|r| r.method == "PUT" && r.path.ends_with(&encoded)), "{encoded}");
    assert!(encoded.contains("19%3ALydFnez") && encoded.contains("%40thread.tacv2%3Bmessageid%3D"));
}

fn percent(id: &str) -> String {
    id.replace(':', "%3A").replace('@', "%40").replace(';', "%3B").replace('=', "%3D")
}

#[tokio::test]
async fn a_personal_chat_is_stable_per_user_and_members_are_read() {
    let h = harness().await;
    let params = ConversationParameters::personal(USER, TENANT);
    let first = h.client.create_conversation(&h.service_url, &params, soon()).await.unwrap();
    let again = h.client.create_conversation(&h.service_url, &params, soon()).await.unwrap();
    assert!(first.id.starts_with("a:"), "{}", first.id);
    assert_eq!(first.id, again.id);
    assert_eq!(first.activity_id, None);
    let sent = h.client.send_to_conversation(&h.service_url, &first.id, &card("alert"), soon()).await.unwrap();
    assert_eq!(h.connector.activities_in(&first.id)[0].id, sent.id.unwrap());

    h.connector.add_member(json!({
        "id": USER, "name": "Megan Bowen", "aadObjectId": "7faf8ab2-3d56-4244-b585-20c8a42ed2b8",
        "email": "megan@contoso.com", "userPrincipalName": "megan@contoso.com", "tenantId": TENANT,
        "userRole": "user"
    }));
    let member = h.client.get_member(&h.service_url, &first.id, USER, soon()).await.unwrap();
    assert_eq!(member.aad_object_id.as_deref(), Some("7faf8ab2-3d56-4244-b585-20c8a42ed2b8"));
    assert_eq!(member.user_principal_name.as_deref(), Some("megan@contoso.com"));
    assert_eq!(member.tenant_id.as_deref(), Some(TENANT));
    let by_object_id = h.client.get_member(&h.service_url, CHANNEL, "7faf8ab2-3d56-4244-b585-20c8a42ed2b8", soon());
    assert_eq!(by_object_id.await.unwrap().id, USER);
    let missing = h.client.get_member(&h.service_url, CHANNEL, "29:nobody", soon()).await;
    assert!(matches!(missing, Err(ConnectorError::NotFound { code, .. }) if code == "MemberNotFoundInConversation"));
}

#[tokio::test]
async fn creates_teams_refuses_are_bad_syntax() {
    let h = harness().await;
    let mut no_activity = ConversationParameters::channel_thread(CHANNEL, TENANT, card("x"));
    no_activity.activity = None;
    let mut group_chat = ConversationParameters::personal(USER, TENANT);
    group_chat.is_group = true;
    group_chat.members.push(botframework::ChannelAccount::with_id("29:another"));
    let no_tenant = ConversationParameters::personal(USER, "");
    for params in [no_activity, group_chat, no_tenant] {
        match h.client.create_conversation(&h.service_url, &params, soon()).await {
            Err(ConnectorError::Rejected { status: 400, code, message }) => {
                assert_eq!(code, "BadSyntax");
                assert_eq!(message, "Incorrect conversation creation parameters");
            }
            other => panic!("expected 400 BadSyntax for {params:?}, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out() {
    let h = harness().await;
    h.connector.throttle_next(1, 1);
    let started = Instant::now();
    h.client.send_to_conversation(&h.service_url, CHANNEL, &card("a"), soon()).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After was honoured");
    assert_eq!(statuses(&h.connector), [429, 201]);
}

#[tokio::test]
async fn a_wait_past_the_deadline_is_returned_as_throttled() {
    let h = harness().await;
    h.connector.throttle_next(1, 30);
    let started = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(2);
    let result = h.client.send_to_conversation(&h.service_url, CHANNEL, &card("a"), deadline).await;
    assert!(matches!(result, Err(ConnectorError::Throttled { retry_after }) if retry_after == Duration::from_secs(30)));
    assert!(started.elapsed() < Duration::from_secs(1), "no sleeping towards a wait that cannot fit");
    assert_eq!(statuses(&h.connector), [429]);
}

#[tokio::test]
async fn transient_5xx_and_412_are_retried_with_backoff() {
    let h = harness().await;
    for status in [502, 503, 504, 412] {
        h.connector.fail_next(1, status);
    }
    h.client.send_to_conversation(&h.service_url, CHANNEL, &card("a"), soon()).await.unwrap();
    assert_eq!(statuses(&h.connector), [502, 503, 504, 412, 201]);
    assert_eq!(h.connector.activities_in(CHANNEL).len(), 1);
}

#[tokio::test]
async fn retries_stop_at_the_budget_and_500_is_not_retried() {
    let h = harness().await;
    h.connector.fail_next(10, 503);
    let result = h.client.send_to_conversation(&h.service_url, CHANNEL, &card("a"), soon()).await;
    assert!(matches!(result, Err(ConnectorError::Throttled { .. })), "{result:?}");
    assert_eq!(h.connector.requests().len(), 5, "one attempt and four retries");

    let h = harness().await;
    h.connector.fail_next(1, 500);
    let result = h.client.send_to_conversation(&h.service_url, CHANNEL, &card("a"), soon()).await;
    assert!(matches!(result, Err(ConnectorError::Unavailable(_))), "{result:?}");
    assert_eq!(statuses(&h.connector), [500]);
}

#[tokio::test]
async fn a_blocked_bot_gets_writes_blocked() {
    let h = harness().await;
    h.connector.block(CHANNEL);
    let result = h.client.send_to_conversation(&h.service_url, CHANNEL, &card("a"), soon()).await;
    assert!(matches!(result, Err(ConnectorError::WritesBlocked)), "{result:?}");
    let thread = ConversationParameters::channel_thread(CHANNEL, TENANT, card("a"));
    let result = h.client.create_conversation(&h.service_url, &thread, soon()).await;
    assert!(matches!(result, Err(ConnectorError::WritesBlocked)), "{result:?}");
    assert_eq!(statuses(&h.connector), [403, 403], "not retried");
}

#[tokio::test]
async fn an_oversized_message_is_too_large() {
    let h = harness().await;
    h.connector.set_max_message_bytes(4096);
    let big = card(&"x".repeat(5000));
    let result = h.client.send_to_conversation(&h.service_url, CHANNEL, &big, soon()).await;
    assert!(matches!(result, Err(ConnectorError::TooLarge { ref code }) if code == "MessageSizeTooBig"), "{result:?}");
    assert!(h.client.send_to_conversation(&h.service_url, CHANNEL, &card("small"), soon()).await.is_ok());
}

#[tokio::test]
async fn unknown_conversations_and_activities_are_not_found() {
    let h = harness().await;
    let result = h.client.send_to_conversation(&h.service_url, "19:nope@thread.tacv2", &card("a"), soon()).await;
    assert!(matches!(result, Err(ConnectorError::NotFound { code, .. }) if code == "ConversationNotFound"));
    let result = h.client.update_activity(&h.service_url, CHANNEL, "1700000000000", &card("a"), soon()).await;
    assert!(matches!(result, Err(ConnectorError::NotFound { .. })), "{result:?}");
}

#[tokio::test]
async fn a_401_refreshes_the_token_once() {
    let h = harness().await;
    h.client.send_to_conversation(&h.service_url, CHANNEL, &card("a"), soon()).await.unwrap();
    h.connector.revoke_tokens();
    h.client.send_to_conversation(&h.service_url, CHANNEL, &card("b"), soon()).await.unwrap();
    assert_eq!(h.login.token_requests(), 2, "a new token after the 401");
    assert_eq!(statuses(&h.connector), [201, 401, 201]);

    h.connector.fail_next(2, 401);
    let result = h.client.send_to_conversation(&h.service_url, CHANNEL, &card("c"), soon()).await;
    assert!(matches!(result, Err(ConnectorError::Unauthorized)), "{result:?}");
    assert_eq!(h.login.token_requests(), 3);
}

#[tokio::test]
async fn the_token_goes_only_to_allow_listed_https_hosts() {
    let h = harness().await;
    let strict = client_for(&h.login, &["smba.trafficmanager.net"]);
    let refused = [
        (h.service_url.clone(), "loopback, but not allow-listed"),
        ("https://evil.example.com/amer/".to_owned(), "foreign host"),
        ("https://smba.trafficmanager.net.evil.example.com/amer/".to_owned(), "suffix trick"),
        ("https://user:pw@smba.trafficmanager.net/amer/".to_owned(), "credentials"),
        ("not a url".to_owned(), "garbage"),
    ];
    for (service_url, why) in refused {
        let result = strict.send_to_conversation(&service_url, CHANNEL, &card("a"), soon()).await;
        assert!(
            matches!(result, Err(ConnectorError::HostNotAllowed { .. } | ConnectorError::InvalidServiceUrl)),
            "{why}: {result:?}"
        );
    }
    let result = strict.send_to_conversation("http://smba.trafficmanager.net/amer/", CHANNEL, &card("a"), soon()).await;
    assert!(matches!(result, Err(ConnectorError::InsecureServiceUrl)), "{result:?}");
    assert!(h.connector.requests().is_empty(), "nothing was sent anywhere");
    assert_eq!(h.login.token_requests(), 0, "not even a token was requested");
}

#[tokio::test]
async fn teams_rate_limits_are_absorbed_within_the_deadline() {
    let h = harness().await;
    let started = Instant::now();
    for i in 0..10 {
        let message = Activity::text_message(format!("{i}"));
        h.client.send_to_conversation(&h.service_url, CHANNEL, &message, soon()).await.unwrap();
    }
    assert_eq!(h.connector.activities_in(CHANNEL).len(), 10);
    assert!(statuses(&h.connector).contains(&429), "8 per 2 s was exceeded and answered 429");
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn the_tenant_limit_spans_conversations() {
    let h = harness().await;
    let (a, b) = ("19:a@thread.tacv2", "19:b@thread.tacv2");
    h.connector.add_conversation(a, TENANT);
    h.connector.add_conversation(b, TENANT);
    h.connector
        .set_rate_limits(Some(RateLimits { per_conversation: vec![], per_tenant: vec![(Duration::from_secs(5), 3)] }));
    for conversation in [CHANNEL, a, b] {
        h.client.send_to_conversation(&h.service_url, conversation, &card("x"), soon()).await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_millis(500);
    let result = h.client.send_to_conversation(&h.service_url, a, &card("x"), deadline).await;
    assert!(matches!(result, Err(ConnectorError::Throttled { retry_after }) if retry_after >= Duration::from_secs(4)));
    h.connector.set_rate_limits(None);
    assert!(h.client.send_to_conversation(&h.service_url, a, &card("x"), soon()).await.is_ok());
}
