//! The directory sync against the Graph, login and ilert simulators, on the embedded store.

use chrono::Utc;
use directory_sync::{DirectorySync, SyncOptions, USERS_CURSOR};
use domain::model::{Connection, MappingSource, UserMapping};
use domain::queue::{Job, JobHandler, JobOutcome};
use domain::store::Store;
use domain::{AadObjectId, ConnectionId, GroupId, TenantId};
use simulators::graph::{DeltaExpiry, Fault, GraphSim};
use simulators::ilert::IlertSim;
use simulators::login::LoginSim;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

const APP: &str = "8f3b287d-df09-44e2-93b3-35e0dfa90756";
const SECRET: &str = "bot-client-secret";
const CONTOSO: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const FABRIKAM: &str = "0d2f1c3e-7a5b-4c6d-8e9f-112233445566";
const DELTA: &str = "/v1.0/users/delta";

struct World {
    graph: GraphSim,
    ilert: IlertSim,
    store: Arc<dyn Store>,
    vault: Arc<dyn secrets::SecretVault>,
    login: LoginSim,
}

impl World {
    async fn start() -> World {
        let login = LoginSim::start().await;
        login.register_app(APP, SECRET);
        let graph = GraphSim::start(&login).await;
        // Small pages, so every round follows nextLinks.
        graph.set_page_size(2);
        let ilert = IlertSim::start().await;
        let dir = std::env::temp_dir().join(format!("directory-sync-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let vault: Arc<dyn secrets::SecretVault> = Arc::new(secrets::FileVault::new(dir.join("secrets.json")));
        let store: Arc<dyn Store> =
            Arc::new(store::TableStore::new(Arc::new(store::EmbeddedTable::in_memory().unwrap())));
        World { graph, ilert, store, vault, login }
    }

    /// Connects `tenant` to ilert with its own API key (acting as an ilert admin).
    async fn connect(&self, id: &str, tenant: &str) -> Connection {
        let admin = self.ilert.add_user("Ada", "Admin", &format!("admin-{id}@ilert.example"));
        let key = format!("key-{id}");
        self.ilert.add_api_key(&key, admin);
        let key_ref = self.vault.put(&format!("ilert-api-key-{id}"), key.into()).await.unwrap();
        let connection = Connection {
            id: ConnectionId::parse(id).unwrap(),
            tenant_id: TenantId::parse(tenant).unwrap(),
            name: format!("{id} ilert"),
            ilert_api_key_ref: key_ref,
            webhook_secret_sha256: Connection::hash_webhook_secret("s"),
            created_at: Utc::now(),
            updated_at: Utc::now(),
            version: 0,
        };
        self.store.create_connection(&connection).await.unwrap();
        connection
    }

    fn sync(&self, options: SyncOptions) -> DirectorySync {
        let http = reqwest::Client::new();
        let tokens = Arc::new(entra::TokenProvider::new(
            http.clone(),
            self.login.url().parse().unwrap(),
            APP,
            Arc::new(secrets::FixedSecret::new(SECRET)),
        ));
        let graph = graph::GraphClient::new(http.clone(), &self.graph.url().parse().unwrap(), tokens)
            .unwrap()
            .with_retry_policy(graph::RetryPolicy {
                max_attempts: 3,
                base_delay: Duration::from_millis(10),
                max_delay: Duration::from_millis(50),
                request_timeout: Duration::from_secs(5),
            });
        let ilert = ilert::Ilert::new(http, self.ilert.url().parse().unwrap()).with_retry_policy(ilert::RetryPolicy {
            throttle_min: Duration::from_millis(10),
            throttle_max: Duration::from_millis(20),
            server_error_initial: Duration::from_millis(10),
            server_error_max: Duration::from_millis(20),
            max_attempts: 3,
            default_budget: Duration::from_secs(10),
        });
        DirectorySync::new(self.store.clone(), graph, ilert, self.vault.clone(), options)
    }

    /// The tenant's mappings: Entra object id → (ilert user, matched address, source).
    async fn mappings(&self, tenant: &str) -> BTreeMap<String, (i64, String, MappingSource)> {
        let tenant = TenantId::parse(tenant).unwrap();
        let mut all = BTreeMap::new();
        let mut cursor = None;
        loop {
            let page = self.store.list_user_mappings(&tenant, 2, cursor).await.unwrap();
            for m in page.items {
                all.insert(m.aad_object_id.to_string(), (m.ilert_user_id, m.email, m.source));
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return all,
            }
        }
    }

    fn ilert_user_listings(&self) -> usize {
        self.ilert.calls().iter().filter(|c| c.method == "GET" && c.path == "/api/users").count()
    }
}

fn incremental() -> SyncOptions {
    SyncOptions { full_round_every: Duration::from_secs(3600), ..SyncOptions::default() }
}

fn always_full() -> SyncOptions {
    SyncOptions { full_round_every: Duration::ZERO, ..SyncOptions::default() }
}

fn ds(user: i64, email: &str) -> (i64, String, MappingSource) {
    (user, email.to_owned(), MappingSource::DirectorySync)
}

#[tokio::test]
async fn first_round_matches_by_mail_then_upn_then_other_mails() {
    let w = World::start().await;
    let connection = w.connect("conn-1", CONTOSO).await;
    let ann_i = w.ilert.add_user("Ann", "Lee", "ANN@contoso.com");
    let bob_i = w.ilert.add_user("Bob", "Ray", "bob@contoso.com");
    let carol_i = w.ilert.add_user("Carol", "Kim", "carol@contoso.com");
    let erin_i = w.ilert.add_user("Erin", "Fox", "erin@contoso.com");
    let ann = w.graph.add_user(CONTOSO, "Ann Lee", "ann@contoso.com");
    let bob = w.graph.add_user(CONTOSO, "Bob Ray", "bob@contoso.com");
    w.graph.set_user_mail(CONTOSO, &bob, None, &[]);
    let carol = w.graph.add_user(CONTOSO, "Carol Kim", "ckim@contoso.onmicrosoft.com");
    w.graph.set_user_mail(CONTOSO, &carol, Some("ckim@contoso.onmicrosoft.com"), &["Carol@Contoso.com"]);
    let _dave = w.graph.add_user(CONTOSO, "Dave Nobody", "dave@contoso.com");
    let erin = w.graph.add_user(CONTOSO, "Erin Fox", "erin@contoso.com");
    w.graph.set_account_enabled(CONTOSO, &erin, false);

    let report = w.sync(incremental()).sync_users(&connection).await.unwrap();

    assert!(report.full, "no cursor yet: a full round");
    assert_eq!((report.changed, report.matched, report.unmatched, report.removed), (5, 3, 1, 0));
    let expected = BTreeMap::from([
        (ann.clone(), ds(ann_i, "ann@contoso.com")),
        (bob.clone(), ds(bob_i, "bob@contoso.com")),
        (carol.clone(), ds(carol_i, "carol@contoso.com")),
    ]);
    assert_eq!(w.mappings(CONTOSO).await, expected);
    let mapping = w
        .store
        .get_user_mapping(&TenantId::parse(CONTOSO).unwrap(), &AadObjectId::parse(&ann).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mapping.display_name.as_deref(), Some("Ann Lee"));
    assert!(w.store.users_for_ilert_user(&connection.tenant_id, erin_i).await.unwrap().is_empty());

    let cursor = w.store.get_cursor(&connection.tenant_id, USERS_CURSOR).await.unwrap().unwrap();
    assert!(cursor.delta_link.contains("$deltatoken="), "{}", cursor.delta_link);
    assert!(cursor.full_round_at.is_some());
    // The full round selected the properties matching needs; Graph keeps that in its links.
    let first = w.graph.requests().into_iter().find(|r| r.path == DELTA).unwrap();
    assert!(first.query.contains("accountEnabled") && first.query.contains("otherMails"), "{}", first.query);
    assert!(w.graph.count("GET", DELTA) >= 3, "five users in pages of two");
}

#[tokio::test]
async fn later_rounds_apply_only_what_changed() {
    let w = World::start().await;
    let connection = w.connect("conn-1", CONTOSO).await;
    w.ilert.add_user("Ann", "Lee", "ann@contoso.com");
    w.ilert.add_user("Carol", "Kim", "carol@contoso.com");
    let erin_i = w.ilert.add_user("Erin", "Fox", "erin@contoso.com");
    let ann = w.graph.add_user(CONTOSO, "Ann Lee", "ann@contoso.com");
    let bob = w.graph.add_user(CONTOSO, "Bob Ray", "bob@contoso.com");
    let carol = w.graph.add_user(CONTOSO, "Carol Kim", "ckim@contoso.onmicrosoft.com");
    w.graph.set_user_mail(CONTOSO, &carol, Some("carol@contoso.com"), &[]);
    let erin = w.graph.add_user(CONTOSO, "Erin Fox", "erin@contoso.com");
    w.graph.set_account_enabled(CONTOSO, &erin, false);
    let sync = w.sync(incremental());
    sync.sync_users(&connection).await.unwrap();
    assert_eq!(w.mappings(CONTOSO).await.len(), 2);

    // Nothing changed: one Graph call, and ilert is not asked at all.
    w.graph.clear_requests();
    w.ilert.clear_calls();
    let quiet = sync.sync_users(&connection).await.unwrap();
    assert_eq!(quiet, directory_sync::UsersReport::default());
    assert_eq!(w.graph.count("GET", DELTA), 1);
    assert_eq!(w.ilert_user_listings(), 0);

    // Ann leaves, Carol's address moves, Bob gets an ilert account, Erin is unblocked.
    w.graph.remove_user(CONTOSO, &ann, true);
    w.graph.set_user_mail(CONTOSO, &carol, Some("carol.kim@fabrikam.example"), &[]);
    let bob_i = w.ilert.add_user("Bob", "Ray", "bob@contoso.com");
    w.graph.rename_user(CONTOSO, &bob, "Bob Ray (Ops)");
    w.graph.set_account_enabled(CONTOSO, &erin, true);
    let report = sync.sync_users(&connection).await.unwrap();

    assert!(!report.full);
    assert_eq!((report.changed, report.matched, report.unmatched, report.removed), (4, 2, 1, 2));
    assert_eq!(
        w.mappings(CONTOSO).await,
        BTreeMap::from([(bob, ds(bob_i, "bob@contoso.com")), (erin, ds(erin_i, "erin@contoso.com"))])
    );
    assert_eq!(w.ilert_user_listings(), 1, "ilert's users are listed once per round with changes");
}

#[tokio::test]
async fn an_expired_delta_token_falls_back_to_a_full_round() {
    for how in [DeltaExpiry::SyncStateNotFound, DeltaExpiry::ResyncRequired, DeltaExpiry::Gone] {
        let w = World::start().await;
        let connection = w.connect("conn-1", CONTOSO).await;
        let ann_i = w.ilert.add_user("Ann", "Lee", "ann@contoso.com");
        let ann = w.graph.add_user(CONTOSO, "Ann Lee", "ann@contoso.com");
        let sync = w.sync(incremental());
        sync.sync_users(&connection).await.unwrap();
        let before = w.store.get_cursor(&connection.tenant_id, USERS_CURSOR).await.unwrap().unwrap();

        w.graph.expire_delta_tokens(CONTOSO, how);
        let report = sync.sync_users(&connection).await.unwrap();

        assert!(report.full, "{how:?}");
        assert_eq!(w.mappings(CONTOSO).await, BTreeMap::from([(ann.clone(), ds(ann_i, "ann@contoso.com"))]));
        let after = w.store.get_cursor(&connection.tenant_id, USERS_CURSOR).await.unwrap().unwrap();
        assert_ne!(after.delta_link, before.delta_link, "{how:?}: a fresh deltaLink is kept");
        // And the fresh link works.
        assert!(!sync.sync_users(&connection).await.unwrap().full, "{how:?}");
    }
}

#[tokio::test]
async fn a_full_round_drops_mappings_that_no_longer_match() {
    let w = World::start().await;
    let connection = w.connect("conn-1", CONTOSO).await;
    let ann_i = w.ilert.add_user("Ann", "Lee", "ann@contoso.com");
    let bob_i = w.ilert.add_user("Bob", "Ray", "bob@contoso.com");
    let ann = w.graph.add_user(CONTOSO, "Ann Lee", "ann@contoso.com");
    let bob = w.graph.add_user(CONTOSO, "Bob Ray", "bob@contoso.com");
    // An on-demand match the bot made for someone Graph no longer lists.
    let ghost = "5b1c3a40-8e2f-4d6b-9c7a-0f1e2d3c4b5a";
    w.store
        .put_user_mapping(&UserMapping {
            tenant_id: connection.tenant_id.clone(),
            aad_object_id: AadObjectId::parse(ghost).unwrap(),
            ilert_user_id: 999,
            email: "ghost@contoso.com".into(),
            display_name: None,
            source: MappingSource::OnDemand,
            updated_at: Utc::now(),
        })
        .await
        .unwrap();
    let sync = w.sync(always_full());
    let first = sync.sync_users(&connection).await.unwrap();
    assert_eq!((first.matched, first.removed), (2, 1));

    // Bob's ilert account is deleted: Graph reports no change, only a full round can see it.
    w.ilert.remove_user(bob_i);
    w.ilert.set_user_email(ann_i, "Ann@Contoso.com");
    let report = sync.sync_users(&connection).await.unwrap();

    assert!(report.full);
    assert_eq!((report.matched, report.removed), (1, 1));
    assert_eq!(w.mappings(CONTOSO).await, BTreeMap::from([(ann, ds(ann_i, "ann@contoso.com"))]));
    assert!(
        w.store.get_user_mapping(&connection.tenant_id, &AadObjectId::parse(&bob).unwrap()).await.unwrap().is_none()
    );
}

#[tokio::test]
async fn a_round_that_fails_midway_keeps_its_cursor_and_is_repeated() {
    let w = World::start().await;
    let connection = w.connect("conn-1", CONTOSO).await;
    let ann_i = w.ilert.add_user("Ann", "Lee", "ann@contoso.com");
    let ann = w.graph.add_user(CONTOSO, "Ann Lee", "ann@contoso.com");
    for i in 0..4 {
        w.graph.add_user(CONTOSO, &format!("User {i}"), &format!("user{i}@contoso.com"));
    }
    let short = SyncOptions { graph_budget: Duration::from_secs(1), ..incremental() };

    // Throttled on the second page for longer than the budget: the round stops, nothing saved.
    w.graph.inject("GET", DELTA, Fault::Latency(Duration::ZERO), 1);
    w.graph.inject("GET", DELTA, Fault::Throttle(Some("30".into())), 10);
    let err = w.sync(short.clone()).sync_users(&connection).await.unwrap_err();
    assert!(err.to_string().contains("throttled"), "{err}");
    assert!(w.store.get_cursor(&connection.tenant_id, USERS_CURSOR).await.unwrap().is_none());
    assert!(w.mappings(CONTOSO).await.is_empty());

    // ilert down after Graph answered: still no cursor, so Graph's changes are not skipped.
    w.graph.clear_faults();
    // As many failures as the client makes attempts.
    w.ilert.fail_next(3, 503);
    let err = w.sync(short.clone()).sync_users(&connection).await.unwrap_err();
    assert!(err.to_string().contains("ilert"), "{err}");
    assert!(w.store.get_cursor(&connection.tenant_id, USERS_CURSOR).await.unwrap().is_none());

    // Graph's 503 and ilert's 429 within the budget are waited out.
    w.graph.inject("GET", DELTA, Fault::Unavailable(None), 1);
    w.ilert.fail_next(1, 429);
    let report = w.sync(short).sync_users(&connection).await.unwrap();
    assert!(report.full);
    assert_eq!(w.mappings(CONTOSO).await, BTreeMap::from([(ann, ds(ann_i, "ann@contoso.com"))]));
    assert!(w.store.get_cursor(&connection.tenant_id, USERS_CURSOR).await.unwrap().is_some());
}

#[tokio::test]
async fn the_schedule_queues_a_job_per_tenant_and_each_runs_apart() {
    let w = World::start().await;
    let contoso = w.connect("conn-contoso", CONTOSO).await;
    let fabrikam = w.connect("conn-fabrikam", FABRIKAM).await;
    // The same address in both tenants and both ilert accounts must not cross.
    let contoso_ann = w.ilert.add_user("Ann", "Contoso", "ann@shared.example");
    let ann_c = w.graph.add_user(CONTOSO, "Ann C", "ann@shared.example");
    let ann_f = w.graph.add_user(FABRIKAM, "Ann F", "ann@shared.example");
    let sync = w.sync(incremental());
    let queue = queue::LocalQueue::in_memory("directory-sync", Default::default()).unwrap();
    let tick = Utc::now();

    assert_eq!(sync.enqueue_all(&queue, tick).await.unwrap(), 2);
    // EventBridge delivers at least once: the same tick again queues nothing new.
    sync.enqueue_all(&queue, tick).await.unwrap();
    assert_eq!(queue.depth().await.unwrap(), 2);

    // Every ilert call with Fabrikam's key is refused: its job ends (a person must replace the
    // key; the next run tries again), Contoso's goes on.
    w.ilert.revoke_api_key("key-conn-fabrikam");
    let jobs = queue.receive(10).await.unwrap();
    assert_eq!(jobs.len(), 2);
    let groups: BTreeMap<_, _> = jobs.iter().map(|j| (j.group.clone().unwrap(), j.clone())).collect();
    assert_eq!(groups.keys().cloned().collect::<Vec<_>>(), vec![FABRIKAM.to_owned(), CONTOSO.to_owned()]);
    for job in &jobs {
        let outcome = sync.handle(job).await;
        assert!(matches!(outcome, JobOutcome::Done), "{outcome:?}");
        queue.settle(job, outcome).await.unwrap();
    }
    assert_eq!(w.mappings(CONTOSO).await, BTreeMap::from([(ann_c, ds(contoso_ann, "ann@shared.example"))]));
    assert!(w.mappings(FABRIKAM).await.is_empty(), "{ann_f} must not be matched with Contoso's ilert user");
    assert!(w.store.get_cursor(&fabrikam.tenant_id, USERS_CURSOR).await.unwrap().is_none());
    assert!(w.store.get_cursor(&contoso.tenant_id, USERS_CURSOR).await.unwrap().is_some());
    assert_eq!(queue.depth().await.unwrap(), 0);
    assert_eq!(sync.enqueue_all(&queue, tick + chrono::Duration::minutes(15)).await.unwrap(), 2);
}

fn job_for(connection: &str) -> Job {
    let body = serde_json::json!({ "v": 1, "connectionId": connection }).to_string();
    Job { id: "m-1".into(), body, group: Some(CONTOSO.into()), attempt: 1 }
}

#[tokio::test]
async fn a_job_retries_what_can_pass_and_ends_what_needs_a_person() {
    let w = World::start().await;
    let connection = w.connect("conn-1", CONTOSO).await;
    w.graph.add_user(CONTOSO, "Ann Lee", "ann@contoso.com");
    let sync = w.sync(SyncOptions { graph_budget: Duration::from_secs(1), ..incremental() });

    // Throttled past the budget: back after Graph's Retry-After.
    w.graph.inject("GET", DELTA, Fault::Throttle(Some("30".into())), 10);
    match sync.handle(&job_for("conn-1")).await {
        JobOutcome::RetryAfter(wait) => assert_eq!(wait, Duration::from_secs(30)),
        other => panic!("{other:?}"),
    }
    // Graph down: the queue's backoff, then the dead-letter queue.
    w.graph.clear_faults();
    w.graph.inject("GET", DELTA, Fault::Unavailable(None), 10);
    assert!(matches!(sync.handle(&job_for("conn-1")).await, JobOutcome::Failed(_)));
    // No consent in the tenant: retrying cannot help; the message names the permission.
    w.graph.clear_faults();
    w.graph.inject("GET", DELTA, Fault::MissingPermission, 10);
    let err = sync.sync_users(&connection).await.unwrap_err();
    assert!(err.to_string().contains("User.Read.All"), "{err}");
    assert!(matches!(sync.handle(&job_for("conn-1")).await, JobOutcome::Done));
    // A connection deleted since the schedule: nothing to do.
    assert!(matches!(sync.handle(&job_for("conn-gone")).await, JobOutcome::Done));
    // Not a job at all.
    let junk = Job { body: "{}".into(), ..job_for("conn-1") };
    assert!(matches!(sync.handle(&junk).await, JobOutcome::Failed(_)));
    assert!(w.store.get_cursor(&connection.tenant_id, USERS_CURSOR).await.unwrap().is_none());

    w.graph.clear_faults();
    assert!(matches!(sync.handle(&job_for("conn-1")).await, JobOutcome::Done));
    assert_eq!(w.mappings(CONTOSO).await.len(), 0, "Ann has no ilert user");
    assert!(w.store.get_cursor(&connection.tenant_id, USERS_CURSOR).await.unwrap().is_some());
}

#[tokio::test]
async fn the_teams_directory_lists_every_team_with_its_channels() {
    let w = World::start().await;
    let connection = w.connect("conn-1", CONTOSO).await;
    let owner = w.graph.add_user(CONTOSO, "Olga Owner", "olga@contoso.com");
    // More teams than one $batch holds, and a group without a team, which is not listed.
    let teams: Vec<String> = (0..23).map(|n| w.graph.add_team(CONTOSO, &format!("Team {n:02}"))).collect();
    w.graph.add_group(CONTOSO, "Just a mailing group");
    let ops = &teams[0];
    w.graph.add_channel(CONTOSO, ops, "Alerts", false, &[]);
    w.graph.add_channel(CONTOSO, ops, "Leads", true, &[&owner]);
    let gone = w.graph.add_channel(CONTOSO, ops, "Old", false, &[]);
    w.graph.delete_channel(CONTOSO, ops, &gone);
    let other = w.graph.add_team(FABRIKAM, "Fabrikam Ops");
    let sync = w.sync(incremental());

    let report = sync.sync_teams(&connection).await.unwrap();

    assert_eq!(report, directory_sync::TeamsReport { teams: 23, channels: 23 + 2 });
    assert!(w.graph.count("POST", "/v1.0/$batch") >= 2, "23 channel listings in batches of 20");
    let stored = w.store.list_teams(&connection.tenant_id, 100, None).await.unwrap().items;
    assert_eq!(stored.len(), 23);
    assert!(stored.iter().all(|t| t.group_id.as_str() != other), "another tenant's team");
    let ops_team =
        w.store.get_team(&connection.tenant_id, &GroupId::parse(ops.as_str()).unwrap()).await.unwrap().unwrap();
    assert_eq!(ops_team.display_name, "Team 00");
    let channels: Vec<(&str, &str)> =
        ops_team.channels.iter().map(|c| (c.display_name.as_str(), c.membership_type.as_str())).collect();
    assert_eq!(channels, vec![("General", "standard"), ("Alerts", "standard"), ("Leads", "private")]);
    assert!(ops_team.channels.iter().all(|c| c.id.starts_with("19:")), "{:?}", ops_team.channels);

    // A channel added and a team gone are both seen by the next listing.
    w.graph.add_channel(CONTOSO, &teams[1], "Incidents", false, &[]);
    w.graph.inject("GET", "/v1.0/teams/*/channels", Fault::Throttle(Some("0.05".into())), 3);
    let report = sync.sync_teams(&connection).await.unwrap();
    assert_eq!(report.channels, 23 + 3, "throttled batch items are sent again");
    let team1 = w.store.get_team(&connection.tenant_id, &GroupId::parse(teams[1].as_str()).unwrap()).await.unwrap();
    assert_eq!(team1.unwrap().channels.len(), 2);
}

#[tokio::test]
async fn without_channel_consent_the_job_still_syncs_users_and_names_the_permission() {
    let w = World::start().await;
    let connection = w.connect("conn-1", CONTOSO).await;
    let ann_i = w.ilert.add_user("Ann", "Lee", "ann@contoso.com");
    let ann = w.graph.add_user(CONTOSO, "Ann Lee", "ann@contoso.com");
    w.graph.add_team(CONTOSO, "Ops");
    let sync = w.sync(incremental());

    w.graph.inject("GET", "/v1.0/teams/*/channels", Fault::MissingPermission, 100);
    let err = sync.sync_teams(&connection).await.unwrap_err();
    assert!(err.to_string().contains("Channel.ReadBasic.All"), "{err}");
    assert!(matches!(sync.handle(&job_for("conn-1")).await, JobOutcome::Done));
    assert_eq!(w.mappings(CONTOSO).await, BTreeMap::from([(ann, ds(ann_i, "ann@contoso.com"))]));
    assert!(w.store.list_teams(&connection.tenant_id, 10, None).await.unwrap().items.is_empty());

    // Teams throttled past the budget: the job comes back, users already done stay done.
    w.graph.clear_faults();
    w.graph.inject("GET", "/v1.0/groups", Fault::Throttle(Some("40".into())), 100);
    let short = w.sync(SyncOptions { graph_budget: Duration::from_secs(1), ..incremental() });
    match short.handle(&job_for("conn-1")).await {
        JobOutcome::RetryAfter(wait) => assert_eq!(wait, Duration::from_secs(40)),
        other => panic!("{other:?}"),
    }
    assert_eq!(w.mappings(CONTOSO).await.len(), 1);
}
