//! The Graph client against the Graph and login simulators: each call's success path and each
//! failure class.

use entra::TokenProvider;
use futures::{StreamExt, TryStreamExt};
use graph::*;
use reqwest::Method;
use secrets::FixedSecret;
use serde_json::json;
use simulators::graph::{DeltaExpiry, Fault, GraphSim};
use simulators::login::LoginSim;
use std::sync::Arc;
use std::time::{Duration, Instant};

const APP: &str = "0c4b3b5e-1d2f-4a36-9a57-7b6c1e2d3f40";
const SECRET: &str = "app-secret";
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const OTHER_TENANT: &str = "0fddfdc5-f319-491f-a514-be1bc1bf9ddc";

struct Env {
    login: LoginSim,
    sim: GraphSim,
    client: GraphClient,
}

impl Env {
    async fn start() -> Env {
        Env::with_policy(RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(100),
            request_timeout: Duration::from_secs(5),
        })
        .await
    }

    async fn with_policy(policy: RetryPolicy) -> Env {
        let login = LoginSim::start().await;
        login.register_app(APP, SECRET);
        let sim = GraphSim::start(&login).await;
        let http = reqwest::Client::new();
        let tokens = Arc::new(TokenProvider::new(
            http.clone(),
            login.url().parse().unwrap(),
            APP,
            Arc::new(FixedSecret::new(SECRET)),
        ));
        let client = GraphClient::new(http, &sim.url().parse().unwrap(), tokens).unwrap().with_retry_policy(policy);
        Env { login, sim, client }
    }

    fn graph(&self) -> TenantGraph {
        self.client.tenant(TENANT, Deadline::after(Duration::from_secs(10)))
    }

    fn graph_until(&self, budget: Duration) -> TenantGraph {
        self.client.tenant(TENANT, Deadline::after(budget))
    }

    fn user(&self, name: &str) -> String {
        let upn = format!("{}@contoso.onmicrosoft.com", name.to_lowercase().replace(' ', "."));
        self.sim.add_user(TENANT, name, &upn)
    }
}

// ---- setup and tokens ----

#[tokio::test]
async fn graph_url_must_be_https_except_on_loopback() {
    let login = LoginSim::start().await;
    let tokens = Arc::new(TokenProvider::new(
        reqwest::Client::new(),
        login.url().parse().unwrap(),
        APP,
        Arc::new(FixedSecret::new(SECRET)),
    ));
    let plain = "http://graph.example.com".parse().unwrap();
    assert!(matches!(GraphClient::new(reqwest::Client::new(), &plain, tokens.clone()), Err(GraphError::Invalid(_))));
    let https = "https://graph.microsoft.us/".parse().unwrap();
    let client = GraphClient::new(reqwest::Client::new(), &https, tokens).unwrap();
    assert_eq!(client.scope(), "https://graph.microsoft.us/.default");
}

#[tokio::test]
async fn a_401_renews_the_token_once_and_retries() {
    let env = Env::start().await;
    let id = env.user("Adele Vance");
    env.sim.inject("GET", "/v1.0/users/*", Fault::Unauthorized, 1);
    let user = env.graph().get_user(&id, &[]).await.unwrap();
    assert_eq!(user.display_name.as_deref(), Some("Adele Vance"));
    assert_eq!(env.login.token_requests(), 2, "the refused token was dropped and a new one fetched");
    assert_eq!(env.sim.count("GET", "/v1.0/users/*"), 2);

    env.sim.inject("GET", "/v1.0/users/*", Fault::Unauthorized, 2);
    let err = env.graph().get_user(&id, &[]).await.unwrap_err();
    assert!(matches!(err, GraphError::Unauthorized(_)), "{err:?}");
}

#[tokio::test]
async fn tokens_are_cached_per_tenant_and_tenants_are_isolated() {
    let env = Env::start().await;
    let team = env.sim.add_team(TENANT, "Ops");
    let user = env.user("Adele Vance");
    let mine = env.graph();
    let theirs = env.client.tenant(OTHER_TENANT, Deadline::after(Duration::from_secs(10)));

    assert_eq!(mine.list_teams().try_collect::<Vec<_>>().await.unwrap().len(), 1);
    mine.get_team(&team).await.unwrap();
    assert_eq!(env.login.token_requests(), 1, "one token for the tenant, reused");

    assert!(theirs.list_teams().try_collect::<Vec<_>>().await.unwrap().is_empty());
    assert!(matches!(theirs.get_team(&team).await, Err(GraphError::NotFound(_))));
    assert!(matches!(theirs.get_user(&user, &[]).await, Err(GraphError::NotFound(_))));
    let err = theirs.create_channel(&team, &NewChannel::standard("Sneaky")).await.unwrap_err();
    assert!(matches!(err, GraphError::NotFound(_)), "{err:?}");
    assert_eq!(env.sim.channel_names(TENANT, &team), ["General"]);
    assert_eq!(env.login.token_requests(), 2);
    let tenants: Vec<_> = env.sim.requests().into_iter().filter_map(|r| r.tenant).collect();
    assert_eq!(tenants.iter().filter(|t| *t == OTHER_TENANT).count(), 4);
}

// ---- teams and channels ----

#[tokio::test]
async fn lists_teams_through_groups_and_gets_a_team() {
    let env = Env::start().await;
    let ops = env.sim.add_team(TENANT, "Ops");
    let plain = env.sim.add_group(TENANT, "Just a group");
    let teams: Vec<TeamSummary> = env.graph().list_teams().try_collect().await.unwrap();
    assert_eq!(teams.len(), 1);
    assert_eq!(teams[0].id, ops);
    assert_eq!(teams[0].display_name.as_deref(), Some("Ops"));
    let logged = env.sim.requests().pop().unwrap();
    assert_eq!(logged.path, "/v1.0/groups");
    assert!(logged.query.contains("$filter=resourceProvisioningOptions/Any(x:x eq 'Team')"), "{}", logged.query);

    let team = env.graph().get_team(&ops).await.unwrap();
    assert_eq!(team.id.as_deref(), Some(ops.as_str()));
    assert_eq!(team.is_archived, Some(false));
    assert!(matches!(env.graph().get_team(&plain).await, Err(GraphError::NotFound(_))));
}

#[tokio::test]
async fn creates_lists_and_gets_standard_and_private_channels() {
    let env = Env::start().await;
    let team = env.sim.add_team(TENANT, "Ops");
    let owner = env.user("Adele Vance");
    let graph = env.graph();

    let standard =
        graph.create_channel(&team, &NewChannel::standard("Incident 42").with_description("db")).await.unwrap();
    assert!(standard.id.starts_with("19:") && standard.id.ends_with("@thread.tacv2"), "{}", standard.id);
    assert_eq!(standard.display_name, "Incident 42");
    assert_eq!(standard.membership_type, Some(MembershipType::Standard));

    let private = graph.create_channel(&team, &NewChannel::private("Incident 43", vec![owner.clone()])).await.unwrap();
    assert_eq!(private.membership_type, Some(MembershipType::Private));
    let body = env.sim.requests().pop().unwrap().body.unwrap();
    assert_eq!(body["@odata.type"], "#Microsoft.Graph.channel");
    assert_eq!(body["members"][0]["@odata.type"], "#microsoft.graph.aadUserConversationMember");
    assert_eq!(body["members"][0]["user@odata.bind"], format!("{}/v1.0/users('{owner}')", env.sim.url()));
    assert_eq!(body["members"][0]["roles"], json!(["owner"]));

    let names: Vec<String> = graph.list_channels(&team).map_ok(|c| c.display_name).try_collect().await.unwrap();
    assert_eq!(names, ["General", "Incident 42", "Incident 43"]);
    let fetched = graph.get_channel(&team, &private.id).await.unwrap();
    assert_eq!(fetched.id, private.id);
    let logged = env.sim.requests().pop().unwrap();
    assert_eq!(logged.path, format!("/v1.0/teams/{team}/channels/{}", private.id), "ids are encoded and decoded back");
    assert!(matches!(graph.get_channel(&team, "19:nope@thread.tacv2").await, Err(GraphError::NotFound(_))));

    let before = env.sim.requests().len();
    let err = graph.create_channel(&team, &NewChannel::private("No owners", vec![])).await.unwrap_err();
    assert!(matches!(err, GraphError::Invalid(_)), "{err:?}");
    assert_eq!(env.sim.requests().len(), before, "refused before calling Graph");
}

#[tokio::test]
async fn channel_names_are_checked_before_calling_graph() {
    let env = Env::start().await;
    let team = env.sim.add_team(TENANT, "Ops");
    for name in ["Alert #12", &"x".repeat(51), "CON", "_hidden", "end.", "a..b"] {
        let err = env.graph().create_channel(&team, &NewChannel::standard(name)).await.unwrap_err();
        assert!(matches!(err, GraphError::InvalidChannelName(_)), "{name}: {err:?}");
        let err = env.graph().create_channel_idempotent(&team, &NewChannel::standard(name)).await.unwrap_err();
        assert!(matches!(err, GraphError::InvalidChannelName(_)), "{name}: {err:?}");
    }
    assert_eq!(env.sim.count("*", "/v1.0/teams/*/channels"), 0);
}

#[tokio::test]
async fn a_duplicate_name_is_a_conflict_in_both_spellings_and_is_adopted_when_visible() {
    let env = Env::start().await;
    let team = env.sim.add_team(TENANT, "Ops");
    let existing = env.sim.add_channel(TENANT, &team, "Incident 42", false, &[]);
    let graph = env.graph();

    let err = graph.create_channel(&team, &NewChannel::standard("incident 42")).await.unwrap_err();
    let GraphError::Conflict(failure) = &err else { panic!("{err:?}") };
    assert_eq!(failure.code, "BadRequest");
    env.sim.set_duplicate_name_code("NameAlreadyExists");
    let err = graph.create_channel(&team, &NewChannel::standard("Incident 42")).await.unwrap_err();
    assert!(matches!(&err, GraphError::Conflict(f) if f.code == "NameAlreadyExists"), "{err:?}");

    let ensured = graph.create_channel_idempotent(&team, &NewChannel::standard("INCIDENT 42")).await.unwrap();
    assert!(ensured.adopted);
    assert_eq!(ensured.channel.id, existing);

    // A deleted channel keeps its name but cannot be adopted.
    let gone = env.sim.add_channel(TENANT, &team, "Old incident", false, &[]);
    env.sim.delete_channel(TENANT, &team, &gone);
    let err = graph.create_channel_idempotent(&team, &NewChannel::standard("Old incident")).await.unwrap_err();
    assert!(matches!(err, GraphError::Conflict(_)), "{err:?}");
}

#[tokio::test]
async fn a_create_that_fails_after_running_is_reconciled_not_doubled() {
    let env = Env::start().await;
    let team = env.sim.add_team(TENANT, "Ops");
    env.sim.inject_after("POST", "/v1.0/teams/*/channels", Fault::GatewayTimeout, 1);
    let ensured = env.graph().create_channel_idempotent(&team, &NewChannel::standard("Incident 7")).await.unwrap();
    assert!(ensured.adopted);
    assert_eq!(env.sim.channel_names(TENANT, &team), ["General", "Incident 7"]);
    assert_eq!(env.sim.count("POST", "/v1.0/teams/*/channels"), 1, "a 5xx on create is not resent blindly");

    // Failed before running: nothing to adopt, so the create is tried again.
    env.sim.inject("POST", "/v1.0/teams/*/channels", Fault::Unavailable(None), 1);
    let ensured = env.graph().create_channel_idempotent(&team, &NewChannel::standard("Incident 8")).await.unwrap();
    assert!(!ensured.adopted);
    assert_eq!(env.sim.channel_names(TENANT, &team), ["General", "Incident 7", "Incident 8"]);

    // The plain create reports the 5xx as transient.
    env.sim.inject("POST", "/v1.0/teams/*/channels", Fault::Unavailable(None), 1);
    let err = env.graph().create_channel(&team, &NewChannel::standard("Incident 9")).await.unwrap_err();
    assert!(matches!(err, GraphError::Transient { status: Some(503), .. }), "{err:?}");
}

#[tokio::test]
async fn a_create_that_times_out_is_reconciled() {
    let env = Env::with_policy(RetryPolicy {
        base_delay: Duration::from_millis(10),
        request_timeout: Duration::from_millis(300),
        ..RetryPolicy::default()
    })
    .await;
    let team = env.sim.add_team(TENANT, "Ops");
    env.sim.inject_after("POST", "/v1.0/teams/*/channels", Fault::Latency(Duration::from_secs(2)), 1);
    let ensured = env.graph().create_channel_idempotent(&team, &NewChannel::standard("Slow one")).await.unwrap();
    assert!(ensured.adopted);
    assert_eq!(ensured.channel.display_name, "Slow one");
    assert_eq!(env.sim.count("POST", "/v1.0/teams/*/channels"), 1);
}

#[tokio::test]
async fn lists_and_adds_channel_members() {
    let env = Env::start().await;
    let team = env.sim.add_team(TENANT, "Ops");
    let owner = env.user("Adele Vance");
    let responder = env.user("Megan Bowen");
    env.sim.add_group_member(TENANT, &team, &owner);
    let private = env.sim.add_channel(TENANT, &team, "War room", true, &[&owner]);
    let graph = env.graph();

    let member = graph.add_channel_member(&team, &private, &responder, ChannelRole::Member).await.unwrap();
    assert_eq!(member.user_id.as_deref(), Some(responder.as_str()));
    assert!(member.roles.is_empty());
    let body = env.sim.requests().pop().unwrap().body.unwrap();
    assert_eq!(body["@odata.type"], "#microsoft.graph.aadUserConversationMember");
    assert_eq!(body["roles"], json!([]));

    let members: Vec<ConversationMember> = graph.list_channel_members(&team, &private).try_collect().await.unwrap();
    let ids: Vec<_> = members.iter().filter_map(|m| m.user_id.clone()).collect();
    assert_eq!(ids, [owner.clone(), responder.clone()]);
    assert_eq!(members[0].roles, ["owner"]);

    let general = graph.find_channel_by_name(&team, "general").await.unwrap().unwrap();
    let standard: Vec<ConversationMember> = graph.list_channel_members(&team, &general.id).try_collect().await.unwrap();
    assert_eq!(standard.len(), 1, "a standard channel lists the team's members");
    let err = graph.add_channel_member(&team, &general.id, &responder, ChannelRole::Owner).await.unwrap_err();
    assert!(matches!(err, GraphError::BadRequest(_)), "{err:?}");
}

#[tokio::test]
async fn adds_group_members_by_reference() {
    let env = Env::start().await;
    let team = env.sim.add_team(TENANT, "Ops");
    let user = env.user("Adele Vance");
    let graph = env.graph();
    assert_eq!(graph.add_group_member(&team, &user).await.unwrap(), GroupMemberAdded::Added);
    let body = env.sim.requests().pop().unwrap().body.unwrap();
    assert_eq!(body["@odata.id"], format!("{}/v1.0/directoryObjects/{user}", env.sim.url()));
    assert_eq!(graph.add_group_member(&team, &user).await.unwrap(), GroupMemberAdded::AlreadyMember);
    assert_eq!(env.sim.group_member_ids(TENANT, &team), [user]);
    let err = graph.add_group_member(&team, "00000000-0000-0000-0000-000000000000").await.unwrap_err();
    assert!(matches!(err, GraphError::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn a_missing_permission_is_forbidden_with_a_hint() {
    let env = Env::start().await;
    let team = env.sim.add_team(TENANT, "Ops");
    env.sim.inject("POST", "/v1.0/teams/*/channels", Fault::MissingPermission, 1);
    let err = env.graph().create_channel(&team, &NewChannel::standard("Incident")).await.unwrap_err();
    let GraphError::Forbidden { permission, failure } = &err else { panic!("{err:?}") };
    assert_eq!(*permission, "Channel.Create");
    assert_eq!(failure.code, "Authorization_RequestDenied");
    assert!(failure.request_id.is_some());
    assert!(
        err.to_string()
            .contains("the app lacks the Graph application permission Channel.Create; grant it and admin-consent"),
        "{err}"
    );
    assert!(!err.is_retryable());
}

// ---- chats ----

#[tokio::test]
async fn creates_one_on_one_and_group_chats() {
    let env = Env::start().await;
    let a = env.user("Adele Vance");
    let b = env.user("Megan Bowen");
    let c = env.user("Lidia Holloway");
    let graph = env.graph();

    let one = graph.create_chat(&NewChat::one_on_one(&a, &b)).await.unwrap();
    assert_eq!(one.chat_type, ChatType::OneOnOne);
    assert!(one.id.ends_with("@unq.gbl.spaces"), "{}", one.id);
    let body = env.sim.requests().pop().unwrap().body.unwrap();
    assert_eq!(body["chatType"], "oneOnOne");
    assert_eq!(body["members"].as_array().unwrap().len(), 2);
    assert_eq!(body["members"][1]["user@odata.bind"], format!("{}/v1.0/users('{b}')", env.sim.url()));
    assert!(body.get("topic").is_none());
    assert_eq!(graph.create_chat(&NewChat::one_on_one(&b, &a)).await.unwrap().id, one.id, "unique per pair");

    let group = graph.create_chat(&NewChat::group(Some("Incident 42".into()), vec![a, b, c])).await.unwrap();
    assert_eq!(group.chat_type, ChatType::Group);
    assert_eq!(group.topic.as_deref(), Some("Incident 42"));
    assert!(group.id.ends_with("@thread.v2"));
    assert_eq!(env.sim.chats(TENANT).len(), 2);
}

// ---- users and delta ----

#[tokio::test]
async fn gets_and_lists_users() {
    let env = Env::start().await;
    env.sim.set_page_size(2);
    let adele = env.user("Adele Vance");
    for name in ["Megan Bowen", "Lidia Holloway", "Patti Fernandez", "Diego Siciliani"] {
        env.user(name);
    }
    let graph = env.graph();
    let by_id = graph.get_user(&adele, USER_SELECT).await.unwrap();
    let by_upn = graph.get_user("ADELE.VANCE@contoso.onmicrosoft.com", &[]).await.unwrap();
    assert_eq!(by_id.id, by_upn.id);
    assert_eq!(by_id.user_principal_name.as_deref(), Some("adele.vance@contoso.onmicrosoft.com"));
    assert_eq!(by_id.account_enabled, Some(true));
    assert!(env.sim.requests().iter().any(|r| r.query.contains("$select=id,displayName")));

    env.sim.clear_requests();
    let users: Vec<User> = graph.list_users(&["id", "displayName"]).try_collect().await.unwrap();
    assert_eq!(users.len(), 5);
    assert_eq!(env.sim.count("GET", "/v1.0/users"), 3, "three pages of two");
    assert!(users.iter().all(|u| u.mail.is_none()), "only the selected properties");

    let err = graph.get_user("nobody@contoso.onmicrosoft.com", &[]).await.unwrap_err();
    let GraphError::NotFound(failure) = &err else { panic!("{err:?}") };
    assert_eq!(failure.code, "Request_ResourceNotFound");
}

#[tokio::test]
async fn paging_is_lazy() {
    let env = Env::start().await;
    env.sim.set_page_size(2);
    for i in 0..10 {
        env.user(&format!("User {i}"));
    }
    let graph = env.graph();
    let first_three: Vec<User> = graph.list_users(&[]).take(3).try_collect().await.unwrap();
    assert_eq!(first_three.len(), 3);
    assert_eq!(env.sim.count("GET", "/v1.0/users"), 2, "pages are fetched only as items are consumed");

    env.sim.clear_requests();
    let mut pages = graph.users_delta(DeltaStart::Full { select: &[] });
    let first = pages.try_next().await.unwrap().unwrap();
    assert!(first.next_link.is_some());
    drop(pages);
    assert_eq!(env.sim.count("GET", "/v1.0/users/delta"), 1);
}

async fn delta_round(
    graph: &TenantGraph,
    start: DeltaStart<'_>,
) -> Result<(Vec<Change<User>>, String, usize), GraphError> {
    let mut pages = graph.users_delta(start);
    let (mut changes, mut link, mut count) = (Vec::new(), None, 0);
    while let Some(page) = pages.try_next().await? {
        count += 1;
        assert!(link.is_none(), "no page after the deltaLink");
        assert!(page.next_link.is_some() != page.delta_link.is_some(), "each page has exactly one link");
        changes.extend(page.value);
        link = page.delta_link;
    }
    Ok((changes, link.expect("a round ends with a deltaLink"), count))
}

#[tokio::test]
async fn delta_runs_full_then_incremental_then_asks_for_a_resync() {
    let env = Env::start().await;
    env.sim.set_page_size(2);
    let adele = env.user("Adele Vance");
    let megan = env.user("Megan Bowen");
    let lidia = env.user("Lidia Holloway");
    env.user("Patti Fernandez");
    let gone = env.user("Conf Room Adams");
    env.sim.remove_user(TENANT, &gone, true);
    let graph = env.graph().low_priority();

    let (full, link, pages) = delta_round(&graph, DeltaStart::Full { select: USER_SELECT }).await.unwrap();
    assert_eq!(pages, 3);
    assert_eq!(full.len(), 5);
    assert!(full.contains(&Change::Removed { id: gone.clone(), reason: RemovedReason::Deleted }));
    let upserted = full.iter().filter(|c| matches!(c, Change::Upserted(_))).count();
    assert_eq!(upserted, 4);
    let logged = env.sim.requests();
    assert!(logged[0].query.contains("$select="), "the selection goes into the first request only");
    assert!(logged[1..].iter().all(|r| !r.query.contains("$select")));
    assert!(logged.iter().all(|r| r.headers.get("x-ms-throttle-priority").map(String::as_str) == Some("low")));

    let (nothing, link, _) = delta_round(&graph, DeltaStart::Link(&link)).await.unwrap();
    assert!(nothing.is_empty());

    env.sim.rename_user(TENANT, &adele, "Adele V.");
    env.sim.remove_user(TENANT, &megan, false);
    env.sim.remove_user(TENANT, &lidia, true);
    let (changes, link, _) = delta_round(&graph, DeltaStart::Link(&link)).await.unwrap();
    assert_eq!(changes.len(), 3);
    assert!(changes.iter().any(|c| matches!(c, Change::Upserted(u) if u.display_name.as_deref() == Some("Adele V."))));
    assert!(changes.contains(&Change::Removed { id: megan.clone(), reason: RemovedReason::Changed }));
    assert!(changes.contains(&Change::Removed { id: lidia, reason: RemovedReason::Deleted }));

    env.sim.restore_user(TENANT, &megan);
    let (restored, link, _) = delta_round(&graph, DeltaStart::Link(&link)).await.unwrap();
    assert!(matches!(&restored[..], [Change::Upserted(u)] if u.id == megan));

    for how in [DeltaExpiry::SyncStateNotFound, DeltaExpiry::ResyncRequired, DeltaExpiry::Gone] {
        env.sim.expire_delta_tokens(TENANT, how);
        let err = delta_round(&graph, DeltaStart::Link(&link)).await.unwrap_err();
        assert!(matches!(err, GraphError::ResyncRequired(_)), "{how:?}: {err:?}");
    }

    let (none, fresh, pages) = delta_round(&graph, DeltaStart::Latest).await.unwrap();
    assert!(none.is_empty());
    assert_eq!(pages, 1);
    assert!(delta_round(&graph, DeltaStart::Link(&fresh)).await.unwrap().0.is_empty());
}

#[tokio::test]
async fn links_outside_graph_url_are_not_followed() {
    let env = Env::start().await;
    let mut pages =
        env.graph().users_delta(DeltaStart::Link("https://evil.example.com/v1.0/users/delta?$deltatoken=x"));
    assert!(matches!(pages.try_next().await, Err(GraphError::Invalid(_))));
    assert!(env.sim.requests().is_empty(), "the token was not sent anywhere");
}

// ---- throttling and transient failures ----

#[tokio::test]
async fn a_429_is_absorbed_within_the_deadline_honouring_fractional_retry_after() {
    let env = Env::start().await;
    let id = env.user("Adele Vance");
    env.sim.inject("GET", "/v1.0/users/*", Fault::Throttle(Some("0.25".into())), 1);
    let started = Instant::now();
    env.graph().get_user(&id, &[]).await.unwrap();
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(250), "{waited:?}");
    assert!(waited < Duration::from_millis(1000), "0.25 s is not rounded up to a second: {waited:?}");
    assert_eq!(env.sim.count("GET", "/v1.0/users/*"), 2);
}

#[tokio::test]
async fn a_wait_past_the_deadline_is_returned_as_throttled_at_once() {
    let env = Env::start().await;
    let id = env.user("Adele Vance");
    env.sim.inject("GET", "/v1.0/users/*", Fault::Throttle(Some("30".into())), 1);
    let started = Instant::now();
    let err = env.graph_until(Duration::from_secs(2)).get_user(&id, &[]).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1), "no sleeping: {:?}", started.elapsed());
    let GraphError::Throttled { retry_after, request_id } = &err else { panic!("{err:?}") };
    assert_eq!(*retry_after, Duration::from_secs(30));
    assert!(request_id.is_some());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(30)));
    assert!(err.is_retryable());

    env.sim.inject("GET", "/v1.0/users/*", Fault::Throttle(Some("1.5".into())), 1);
    let err = env.graph_until(Duration::from_secs(1)).get_user(&id, &[]).await.unwrap_err();
    assert!(matches!(err, GraphError::Throttled { retry_after, .. } if retry_after == Duration::from_millis(1500)));
}

#[tokio::test]
async fn a_429_without_retry_after_backs_off_until_the_attempts_run_out() {
    let env = Env::start().await;
    let id = env.user("Adele Vance");
    env.sim.inject("GET", "/v1.0/users/*", Fault::Throttle(None), 2);
    env.graph().get_user(&id, &[]).await.unwrap();
    assert_eq!(env.sim.count("GET", "/v1.0/users/*"), 3);

    env.sim.clear_requests();
    env.sim.inject("GET", "/v1.0/users/*", Fault::Throttle(None), 10);
    let err = env.graph().get_user(&id, &[]).await.unwrap_err();
    assert!(matches!(err, GraphError::Throttled { .. }), "{err:?}");
    assert_eq!(env.sim.count("GET", "/v1.0/users/*"), 6, "max_attempts");
}

#[tokio::test]
async fn a_503_or_504_is_retried_for_reads() {
    let env = Env::start().await;
    let id = env.user("Adele Vance");
    env.sim.inject("GET", "/v1.0/users/*", Fault::Unavailable(Some("0.05".into())), 1);
    env.sim.inject("GET", "/v1.0/users/*", Fault::GatewayTimeout, 1);
    env.sim.inject("GET", "/v1.0/users/*", Fault::Unavailable(None), 1);
    env.graph().get_user(&id, &[]).await.unwrap();
    assert_eq!(env.sim.count("GET", "/v1.0/users/*"), 4);

    env.sim.inject("GET", "/v1.0/users/*", Fault::Unavailable(Some("5".into())), 1);
    let err = env.graph_until(Duration::from_secs(1)).get_user(&id, &[]).await.unwrap_err();
    let GraphError::Transient { status, retry_after, .. } = &err else { panic!("{err:?}") };
    assert_eq!((*status, *retry_after), (Some(503), Some(Duration::from_secs(5))));
}

#[tokio::test]
async fn a_passed_deadline_sends_nothing() {
    let env = Env::start().await;
    let graph = env.client.tenant(TENANT, Deadline::at(Instant::now()));
    assert!(matches!(graph.get_user("x", &[]).await, Err(GraphError::DeadlineExceeded)));
    assert!(env.sim.requests().is_empty());
}

// ---- calendar ----

fn at(s: &str) -> DateTimeTimeZone {
    DateTimeTimeZone { date_time: s.into(), time_zone: "UTC".into() }
}

fn lunch(transaction_id: &str) -> NewEvent {
    NewEvent {
        subject: "Incident review".into(),
        body: Some(ItemBody { content_type: BodyType::Html, content: "<p>Let's talk</p>".into() }),
        start: at("2026-03-15T12:00:00"),
        end: at("2026-03-15T13:00:00"),
        location: Some(Location { display_name: "Teams".into() }),
        attendees: vec![Attendee::required("megan.bowen@contoso.onmicrosoft.com", Some("Megan Bowen".into()))],
        transaction_id: transaction_id.into(),
    }
}

#[tokio::test]
async fn creates_updates_and_cancels_a_teams_meeting() {
    let env = Env::start().await;
    let organizer = env.user("Adele Vance");
    let graph = env.graph();

    let event = graph.create_event(&organizer, &lunch("ilert-req-1")).await.unwrap();
    assert_eq!(event.is_online_meeting, Some(true));
    assert_eq!(event.online_meeting_provider.as_deref(), Some("teamsForBusiness"));
    assert!(
        event.online_meeting.as_ref().and_then(|m| m.join_url.as_deref()).is_some_and(|u| u.starts_with("https://"))
    );
    let body = env.sim.requests().pop().unwrap().body.unwrap();
    assert_eq!(body["isOnlineMeeting"], true);
    assert_eq!(body["onlineMeetingProvider"], "teamsForBusiness");
    assert_eq!(body["transactionId"], "ilert-req-1");
    assert_eq!(body["attendees"][0]["type"], "required");
    assert_eq!(body["body"]["contentType"], "html");

    let update = EventUpdate {
        subject: Some("Incident review (moved)".into()),
        start: Some(at("2026-03-15T14:00:00")),
        ..Default::default()
    };
    let updated = graph.update_event(&organizer, &event.id, &update).await.unwrap();
    assert_eq!(updated.subject.as_deref(), Some("Incident review (moved)"));
    assert_eq!(updated.start, Some(at("2026-03-15T14:00:00")));
    let logged = env.sim.requests().pop().unwrap();
    assert_eq!(logged.method, "PATCH");
    assert_eq!(
        logged.body.unwrap(),
        json!({"subject": "Incident review (moved)", "start": {"dateTime": "2026-03-15T14:00:00", "timeZone": "UTC"}})
    );

    graph.cancel_event(&organizer, &event.id, Some("Resolved")).await.unwrap();
    let logged = env.sim.requests().pop().unwrap();
    assert!(logged.path.ends_with("/cancel"));
    assert_eq!(logged.body.unwrap(), json!({"comment": "Resolved"}));
    assert_eq!(env.sim.events(TENANT, &organizer)[0]["isCancelled"], true);
    assert!(matches!(graph.cancel_event(&organizer, &event.id, None).await, Err(GraphError::NotFound(_))));
    assert!(matches!(graph.create_event("nobody@x.test", &lunch("t2")).await, Err(GraphError::NotFound(_))));
}

#[tokio::test]
async fn a_resent_event_create_does_not_double_the_event() {
    let env = Env::start().await;
    let organizer = env.user("Adele Vance");
    env.sim.inject_after("POST", "/v1.0/users/*/events", Fault::Unavailable(Some("0.05".into())), 1);
    let event = env.graph().create_event(&organizer, &lunch("ilert-req-7")).await.unwrap();
    assert_eq!(env.sim.count("POST", "/v1.0/users/*/events"), 2, "resent after the 503");
    let stored = env.sim.events(TENANT, &organizer);
    assert_eq!(stored.len(), 1, "the transactionId de-duplicated it");
    assert_eq!(stored[0]["id"], event.id.as_str());
}

#[tokio::test]
async fn reads_free_busy_with_get_schedule() {
    let env = Env::start().await;
    let adele = env.user("Adele Vance");
    let megan = env.user("Megan Bowen");
    env.sim.add_event(TENANT, &megan, "Standup", "2026-03-15T10:00:00", "2026-03-15T11:00:00");
    let request = ScheduleRequest {
        schedules: vec!["megan.bowen@contoso.onmicrosoft.com".into(), "ghost@contoso.onmicrosoft.com".into()],
        start_time: at("2026-03-15T09:00:00"),
        end_time: at("2026-03-15T12:00:00"),
        availability_view_interval: Some(60),
        reply_time_zone: Some("UTC".into()),
    };
    let schedules = env.graph().get_schedule(&adele, &request).await.unwrap();
    assert_eq!(schedules.len(), 2);
    let megan_s = schedules.iter().find(|s| s.schedule_id.starts_with("megan")).unwrap();
    assert_eq!(megan_s.availability_view.as_deref(), Some("020"));
    assert_eq!(megan_s.schedule_items[0].status, "busy");
    assert_eq!(megan_s.schedule_items[0].subject.as_deref(), Some("Standup"));
    assert!(megan_s.working_hours.is_some());
    assert!(schedules.iter().any(|s| s.error.is_some()), "an unknown address gets an error entry");
    let logged = env.sim.requests().pop().unwrap();
    assert_eq!(logged.headers.get("prefer").map(String::as_str), Some("outlook.timezone=\"UTC\""));

    let bad = ScheduleRequest { availability_view_interval: Some(2), ..request };
    assert!(matches!(env.graph().get_schedule(&adele, &bad).await, Err(GraphError::Invalid(_))));
}

// ---- $batch ----

#[tokio::test]
async fn batches_split_match_by_id_and_retry_only_throttled_items() {
    let env = Env::start().await;
    let team = env.sim.add_team(TENANT, "Ops");
    let mut ids = Vec::new();
    for i in 0..23 {
        ids.push(env.user(&format!("User {i}")));
    }
    env.sim.inject("GET", &format!("/v1.0/users/{}", ids[3]), Fault::Throttle(Some("0.1".into())), 1);
    env.sim.inject("GET", &format!("/v1.0/users/{}", ids[21]), Fault::Throttle(Some("0.2".into())), 1);
    let mut requests: Vec<BatchRequest> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| BatchRequest::get(format!("u{i}"), format!("/users/{}", path_segment(id))))
        .collect();
    requests
        .push(BatchRequest::get("missing", "/users/nobody@contoso.onmicrosoft.com").with_permission("User.Read.All"));
    requests.push(
        BatchRequest::new("channel", Method::POST, format!("/teams/{team}/channels"))
            .with_body(json!({"displayName": "From a batch", "membershipType": "standard"})),
    );
    requests.push(
        BatchRequest::new("duplicate", Method::POST, format!("/teams/{team}/channels"))
            .with_body(json!({"displayName": "General", "membershipType": "standard"})),
    );

    let started = Instant::now();
    let responses = env.graph().batch(requests.clone()).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(200), "waited the longest retry-after");
    assert_eq!(responses.len(), requests.len());
    for (request, response) in requests.iter().zip(&responses) {
        assert_eq!(request.id, response.id, "in request order although the simulator reverses them");
    }
    for (i, response) in responses[..23].iter().enumerate() {
        let user: User = response.clone().into_result().unwrap();
        assert_eq!(user.id, ids[i]);
    }
    assert!(matches!(responses[23].error(), Some(GraphError::NotFound(_))));
    let channel: Channel = responses[24].clone().into_result().unwrap();
    assert_eq!(channel.display_name, "From a batch");
    assert!(matches!(responses[25].clone().into_result::<Channel>(), Err(GraphError::Conflict(_))));
    assert_eq!(env.sim.channel_names(TENANT, &team), ["General", "From a batch"]);

    let outer = env.sim.count("POST", "/v1.0/$batch");
    assert_eq!(outer, 3, "26 requests in two batches, then one retry round for both throttled items");
    let retried: Vec<_> = env.sim.requests().into_iter().filter(|r| r.in_batch && r.method == "POST").collect();
    assert_eq!(retried.len(), 2, "the POSTs ran exactly once");
    let sizes: Vec<usize> = env
        .sim
        .requests()
        .iter()
        .filter(|r| r.path == "/v1.0/$batch")
        .map(|r| r.body.as_ref().unwrap()["requests"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [20, 6, 2]);
}

#[tokio::test]
async fn a_batch_item_throttled_past_the_deadline_is_returned_as_throttled() {
    let env = Env::start().await;
    let id = env.user("Adele Vance");
    env.sim.inject("GET", "/v1.0/users/*", Fault::Throttle(Some("30".into())), 1);
    let requests = vec![BatchRequest::get("a", format!("/users/{id}")), BatchRequest::get("B", "/users?$top=1")];
    let responses = env.graph_until(Duration::from_secs(2)).batch(requests).await.unwrap();
    assert_eq!(responses[0].status, 429);
    assert_eq!(responses[0].retry_after(), Some(Duration::from_secs(30)));
    assert!(
        matches!(responses[0].error(), Some(GraphError::Throttled { retry_after, .. }) if retry_after.as_secs() == 30)
    );
    assert_eq!(responses[1].status, 200);

    let dup = vec![BatchRequest::get("x", "/users"), BatchRequest::get("X", "/users")];
    assert!(matches!(env.graph().batch(dup).await, Err(GraphError::Invalid(_))));
}
