//! One conformance suite, run against both adapters: every case below exists twice, as
//! `embedded::case` and `dynamodb::case`, so the test output shows each backend.
//! The DynamoDB half runs against a real DynamoDB API (moto's server, started by the test
//! command and found through `AWS_ENDPOINT_URL`).

mod support;

use chrono::Utc;
use domain::model::{
    AlertCard, AlertRecord, AlertStatus, Connection, ConversationKind, ConversationRef, ConversationStatus,
    DirectoryChannel, DirectoryTeam, MappingSource, Route, SyncCursor, TeamRef, UserMapping,
};
use domain::store::{
    AlertStore, ClaimScope, ClaimStore, ConnectionStore, ConversationStore, DirectoryStore, RouteStore, StoreError,
    SyncCursorStore, UserMappingStore,
};
use domain::{AadObjectId, AlertId, ConnectionId, ConversationId, GroupId, RouteId, TenantId};
use std::sync::Arc;
use std::time::Duration;
use store::TableStore;
use store::table::{ItemTable, Query};

fn tenant(s: &str) -> TenantId {
    TenantId::parse(s).unwrap()
}

fn conversation(t: &TenantId, id: &str, team: Option<&str>) -> ConversationRef {
    ConversationRef {
        tenant_id: t.clone(),
        conversation_id: ConversationId::parse(id).unwrap(),
        kind: if team.is_some() { ConversationKind::Channel } else { ConversationKind::Personal },
        service_url: format!("https://smba.trafficmanager.net/amer/{t}/"),
        bot_id: "28:bot".into(),
        team: team.map(|id| TeamRef { id: id.into(), aad_group_id: Some("group".into()), name: Some("Ops".into()) }),
        channel_name: Some("General".into()),
        title: None,
        user_id: None,
        user_aad_object_id: None,
        status: ConversationStatus::Active,
        updated_at: Utc::now(),
        version: 0,
    }
}

fn connection(id: &str, t: &TenantId) -> Connection {
    Connection {
        id: ConnectionId::parse(id).unwrap(),
        tenant_id: t.clone(),
        name: format!("ilert {id}"),
        ilert_api_key_ref: format!("secret-{id}"),
        webhook_secret_sha256: "00".repeat(32),
        created_at: Utc::now(),
        updated_at: Utc::now(),
        version: 0,
    }
}

fn route(c: &ConnectionId, id: &str, conv: &str) -> Route {
    Route {
        id: RouteId::parse(id).unwrap(),
        connection_id: c.clone(),
        conversation_id: ConversationId::parse(conv).unwrap(),
        alert_source_ids: vec![1],
        escalation_policy_ids: vec![],
        priorities: vec![],
        events: vec![],
        notify_responders: false,
        created_at: Utc::now(),
    }
}

fn mapping(t: &TenantId, n: usize, ilert_user: i64) -> UserMapping {
    UserMapping {
        tenant_id: t.clone(),
        aad_object_id: AadObjectId::parse(format!("user-{n:04}")).unwrap(),
        ilert_user_id: ilert_user,
        email: format!("user{n}@contoso.com"),
        display_name: Some(format!("User {n}")),
        source: MappingSource::DirectorySync,
        updated_at: Utc::now(),
    }
}

fn alert(c: &ConnectionId, id: &str) -> AlertRecord {
    AlertRecord {
        connection_id: c.clone(),
        alert_id: AlertId::parse(id).unwrap(),
        status: AlertStatus::Pending,
        last_event_at: Utc::now(),
        snapshot: serde_json::json!({ "summary": "disk full" }),
        channel: None,
        meeting: None,
        chat: None,
        version: 0,
    }
}

async fn exactly_one_of_many_concurrent_claimers_wins(store: Arc<TableStore>) {
    let scope = ClaimScope::Tenant(tenant("t-claims"));
    let claims = (0..16).map(|_| {
        let store = store.clone();
        let scope = scope.clone();
        async move {
            store
                .claim(&scope, "activity", "19:abc@thread.tacv2;1759944781430", Duration::from_secs(3600))
                .await
                .unwrap()
        }
    });
    let won = futures::future::join_all(claims).await;
    assert_eq!(won.iter().filter(|w| **w).count(), 1, "{won:?}");
    // Another scope or key is another claim.
    assert!(
        store
            .claim(
                &ClaimScope::Tenant(tenant("t-other")),
                "activity",
                "19:abc@thread.tacv2;1759944781430",
                Duration::from_secs(60)
            )
            .await
            .unwrap()
    );
    assert!(store.claim(&scope, "event", "19:abc@thread.tacv2;1759944781430", Duration::from_secs(60)).await.unwrap());
}

async fn a_claim_expires_after_its_ttl_and_can_be_released(store: Arc<TableStore>) {
    let scope = ClaimScope::Connection(ConnectionId::parse("c-ttl").unwrap());
    assert!(store.claim(&scope, "event", "e1", Duration::from_secs(1)).await.unwrap());
    assert!(!store.claim(&scope, "event", "e1", Duration::from_secs(1)).await.unwrap());
    assert!(store.is_claimed(&scope, "event", "e1").await.unwrap());
    assert!(!store.is_claimed(&scope, "event", "e2").await.unwrap());
    // TTL is in whole seconds: wait past the next boundary.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert!(
        !store.is_claimed(&scope, "event", "e1").await.unwrap(),
        "an expired claim is not live, even before it is deleted"
    );
    assert!(
        store.claim(&scope, "event", "e1", Duration::from_secs(60)).await.unwrap(),
        "an expired claim can be taken again"
    );
    assert!(!store.claim(&scope, "event", "e1", Duration::from_secs(60)).await.unwrap());
    store.release(&scope, "event", "e1").await.unwrap();
    assert!(
        store.claim(&scope, "event", "e1", Duration::from_secs(60)).await.unwrap(),
        "a released claim can be taken again"
    );
}

async fn a_stale_write_is_refused_not_lost(store: Arc<TableStore>) {
    let t = tenant("t-occ");
    let saved = store.save_conversation(&conversation(&t, "19:occ@thread.tacv2", Some("team-1"))).await.unwrap();
    assert_eq!(saved.version, 1);
    let mut a = saved.clone();
    let mut b = saved.clone();
    a.channel_name = Some("Renamed by A".into());
    b.channel_name = Some("Renamed by B".into());
    let a = store.save_conversation(&a).await.unwrap();
    assert_eq!(a.version, 2);
    let err = store.save_conversation(&b).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let stored = store.get_conversation(&t, &saved.conversation_id).await.unwrap().unwrap();
    assert_eq!(stored.channel_name.as_deref(), Some("Renamed by A"));
    assert_eq!(stored.version, 2);
    // Creating over an existing item with version 0 is a conflict too.
    assert!(matches!(
        store.save_conversation(&conversation(&t, "19:occ@thread.tacv2", None)).await,
        Err(StoreError::Conflict(_))
    ));
    // Same for sync cursors and alerts.
    let cursor = SyncCursor {
        tenant_id: t.clone(),
        resource: "users".into(),
        delta_link: "https://graph/delta?token=1".into(),
        updated_at: Utc::now(),
        full_round_at: Some(Utc::now()),
        version: 0,
    };
    let v1 = store.save_cursor(&cursor).await.unwrap();
    store.save_cursor(&SyncCursor { delta_link: "https://graph/delta?token=2".into(), ..v1.clone() }).await.unwrap();
    assert!(matches!(
        store.save_cursor(&SyncCursor { delta_link: "stale".into(), ..v1 }).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.get_cursor(&t, "users").await.unwrap().unwrap().delta_link, "https://graph/delta?token=2");
}

async fn one_connection_per_tenant_written_atomically(store: Arc<TableStore>) {
    let t = tenant("t-conn");
    let first = connection("conn-1", &t);
    store.create_connection(&first).await.unwrap();
    assert!(matches!(store.create_connection(&first).await, Err(StoreError::Conflict(_))));
    // A second connection for the same tenant is refused and leaves nothing behind.
    let second = connection("conn-2", &t);
    assert!(matches!(store.create_connection(&second).await, Err(StoreError::Conflict(_))));
    assert!(store.get_connection(&second.id).await.unwrap().is_none(), "the failed transaction wrote nothing");
    assert_eq!(store.connection_for_tenant(&t).await.unwrap().unwrap().id, first.id);
    let listed = store.list_connections().await.unwrap();
    assert!(listed.iter().any(|c| c.id == first.id));
    assert!(!listed.iter().any(|c| c.id == second.id));
    // Updates are versioned.
    let current = store.get_connection(&first.id).await.unwrap().unwrap();
    let renamed = store.update_connection(&Connection { name: "renamed".into(), ..current.clone() }).await.unwrap();
    assert_eq!(renamed.version, current.version + 1);
    assert!(matches!(
        store.update_connection(&Connection { name: "stale".into(), ..current }).await,
        Err(StoreError::Conflict(_))
    ));
}

async fn deleting_a_connection_removes_what_hangs_off_it(store: Arc<TableStore>) {
    let t = tenant("t-del");
    let c = connection("conn-del", &t);
    store.create_connection(&c).await.unwrap();
    store.create_route(&route(&c.id, "r1", "19:a@thread.tacv2")).await.unwrap();
    store.create_route(&route(&c.id, "r2", "19:b@thread.tacv2")).await.unwrap();
    let a = store.save_alert(&alert(&c.id, "4711")).await.unwrap();
    let card = AlertCard {
        connection_id: c.id.clone(),
        alert_id: a.alert_id.clone(),
        conversation_id: ConversationId::parse("19:a@thread.tacv2").unwrap(),
        thread_id: ConversationId::parse("19:a@thread.tacv2;messageid=1759944781430").unwrap(),
        activity_id: "1759944781430".into(),
        rendered_revision: 1,
        updated_at: Utc::now(),
        version: 0,
    };
    store.save_card(&card).await.unwrap();
    assert_eq!(store.list_cards(&c.id, &a.alert_id).await.unwrap().len(), 1);
    assert!(store.delete_connection(&c.id).await.unwrap());
    assert!(!store.delete_connection(&c.id).await.unwrap());
    assert!(store.get_connection(&c.id).await.unwrap().is_none());
    assert!(store.connection_for_tenant(&t).await.unwrap().is_none());
    assert!(store.list_routes(&c.id).await.unwrap().is_empty());
    assert!(store.get_alert(&c.id, &a.alert_id).await.unwrap().is_none());
    assert!(store.list_cards(&c.id, &a.alert_id).await.unwrap().is_empty());
    // The tenant can be connected again.
    store.create_connection(&connection("conn-del-2", &t)).await.unwrap();
}

async fn queries_page_past_one_megabyte(store: Arc<TableStore>) {
    let t = tenant("t-big");
    // 24 items of ~60 KB: about 1.4 MB in one partition.
    for i in 0..24 {
        let mut c = conversation(&t, &format!("19:big{i:02}@thread.tacv2"), None);
        c.title = Some("x".repeat(60_000));
        store.save_conversation(&c).await.unwrap();
    }
    let all = store.list_conversations(&t).await.unwrap();
    assert_eq!(all.len(), 24);
    let first = store.table().query(&Query::primary(format!("TENANT#{t}")).prefix("CONVERSATION#")).await.unwrap();
    assert!(first.next.is_some(), "a partition over 1 MB comes back in more than one page");
    assert!(first.items.len() < 24);
}

async fn queries_page_by_page_size(store: Arc<TableStore>) {
    let t = tenant("t-pages");
    store.put_user_mappings(&(0..30).map(|n| mapping(&t, n, 100 + n as i64 % 3)).collect::<Vec<_>>()).await.unwrap();
    let mut seen = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = store.list_user_mappings(&t, 7, cursor).await.unwrap();
        pages += 1;
        assert!(page.items.len() <= 7);
        seen.extend(page.items.into_iter().map(|m| m.aad_object_id));
        match page.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
        assert!(pages < 10, "paging must end");
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 30);
    assert!(pages >= 5);
    assert_eq!(store.users_for_ilert_user(&t, 100).await.unwrap().len(), 10);
}

async fn batch_writes_apply_every_item(store: Arc<TableStore>) {
    let t = tenant("t-batch");
    let many: Vec<UserMapping> = (0..60).map(|n| mapping(&t, n, 7)).collect();
    store.put_user_mappings(&many).await.unwrap();
    let mut count = 0;
    let mut cursor = None;
    loop {
        let page = store.list_user_mappings(&t, 100, cursor).await.unwrap();
        count += page.items.len();
        match page.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    assert_eq!(count, 60);
}

async fn tenants_are_kept_apart(store: Arc<TableStore>) {
    let (a, b) = (tenant("t-iso-a"), tenant("t-iso-b"));
    // The same conversation id in two tenants is two items.
    store.save_conversation(&conversation(&a, "19:same@thread.tacv2", Some("team"))).await.unwrap();
    let mut theirs = conversation(&b, "19:same@thread.tacv2", Some("team"));
    theirs.channel_name = Some("B's channel".into());
    store.save_conversation(&theirs).await.unwrap();
    store.save_conversation(&conversation(&a, "19:only-a@thread.tacv2", None)).await.unwrap();
    let id = ConversationId::parse("19:same@thread.tacv2").unwrap();
    assert_eq!(store.get_conversation(&b, &id).await.unwrap().unwrap().channel_name.as_deref(), Some("B's channel"));
    assert_eq!(store.get_conversation(&a, &id).await.unwrap().unwrap().channel_name.as_deref(), Some("General"));
    assert_eq!(store.list_conversations(&a).await.unwrap().len(), 2);
    assert_eq!(store.list_conversations(&b).await.unwrap().len(), 1);
    assert_eq!(store.list_team_conversations(&a, "team").await.unwrap().len(), 1);
    assert!(
        store.get_conversation(&b, &ConversationId::parse("19:only-a@thread.tacv2").unwrap()).await.unwrap().is_none()
    );
    // User mappings and their index.
    store.put_user_mapping(&mapping(&a, 1, 42)).await.unwrap();
    assert!(store.get_user_mapping(&b, &AadObjectId::parse("user-0001").unwrap()).await.unwrap().is_none());
    assert!(store.users_for_ilert_user(&b, 42).await.unwrap().is_empty());
    assert_eq!(store.users_for_ilert_user(&a, 42).await.unwrap().len(), 1);
    // A cursor from one tenant's listing cannot open another's.
    store.put_user_mappings(&(2..6).map(|n| mapping(&a, n, 1)).collect::<Vec<_>>()).await.unwrap();
    let page = store.list_user_mappings(&a, 2, None).await.unwrap();
    let cursor = page.next.expect("more than one page");
    assert!(matches!(store.list_user_mappings(&b, 2, Some(cursor)).await, Err(StoreError::Conflict(_))));
    // Routes of one connection are invisible to another.
    let (ca, cb) = (ConnectionId::parse("conn-iso-a").unwrap(), ConnectionId::parse("conn-iso-b").unwrap());
    store.create_route(&route(&ca, "r", "19:same@thread.tacv2")).await.unwrap();
    assert!(store.list_routes(&cb).await.unwrap().is_empty());
    assert!(store.get_route(&cb, &RouteId::parse("r").unwrap()).await.unwrap().is_none());
    assert!(store.routes_for_conversation(&cb, &id).await.unwrap().is_empty());
    assert_eq!(store.routes_for_conversation(&ca, &id).await.unwrap().len(), 1);
}

async fn alerts_and_cards_round_trip(store: Arc<TableStore>) {
    let c = ConnectionId::parse("conn-alerts").unwrap();
    let saved = store.save_alert(&alert(&c, "99")).await.unwrap();
    let mut accepted = saved.clone();
    accepted.status = AlertStatus::Accepted;
    let accepted = store.save_alert(&accepted).await.unwrap();
    assert_eq!(accepted.version, 2);
    let got = store.get_alert(&c, &saved.alert_id).await.unwrap().unwrap();
    assert_eq!(got, accepted);
    assert!(matches!(store.save_alert(&saved).await, Err(StoreError::Conflict(_))));
    assert!(store.delete_route(&c, &RouteId::parse("nope").unwrap()).await.is_ok_and(|deleted| !deleted));
}

async fn a_card_is_found_by_its_thread(store: Arc<TableStore>) {
    let c = ConnectionId::parse("conn-threads").unwrap();
    let other = ConnectionId::parse("conn-threads-other").unwrap();
    let a = store.save_alert(&alert(&c, "314")).await.unwrap();
    let thread = ConversationId::parse("19:t@thread.tacv2;messageid=1759944781430").unwrap();
    let card = AlertCard {
        connection_id: c.clone(),
        alert_id: a.alert_id.clone(),
        conversation_id: ConversationId::parse("19:t@thread.tacv2").unwrap(),
        thread_id: thread.clone(),
        activity_id: "1759944781430".into(),
        rendered_revision: 1,
        updated_at: Utc::now(),
        version: 0,
    };
    let saved = store.save_card(&card).await.unwrap();
    assert_eq!(store.card_for_thread(&c, &thread).await.unwrap(), Some(saved.clone()));
    // Another thread of the same channel, the bare channel, another connection: nothing.
    let elsewhere = ConversationId::parse("19:t@thread.tacv2;messageid=1759944781999").unwrap();
    assert!(store.card_for_thread(&c, &elsewhere).await.unwrap().is_none());
    assert!(store.card_for_thread(&c, &card.conversation_id).await.unwrap().is_none());
    assert!(store.card_for_thread(&other, &thread).await.unwrap().is_none());
    // An update keeps one entry, with the new revision.
    let updated = store.save_card(&AlertCard { rendered_revision: 2, ..saved }).await.unwrap();
    let found = store.card_for_thread(&c, &thread).await.unwrap().unwrap();
    assert_eq!((found.rendered_revision, found.version), (2, updated.version));
    // Deleting the connection takes the card, and so its thread entry, with it.
    store.create_connection(&connection("conn-threads", &tenant("t-threads"))).await.unwrap();
    assert!(store.delete_connection(&c).await.unwrap());
    assert!(store.card_for_thread(&c, &thread).await.unwrap().is_none());
}

fn team(t: &TenantId, n: usize, channels: usize) -> DirectoryTeam {
    DirectoryTeam {
        tenant_id: t.clone(),
        group_id: GroupId::parse(format!("00000000-0000-4000-8000-{n:012}")).unwrap(),
        display_name: format!("Team {n}"),
        description: None,
        channels: (0..channels)
            .map(|c| DirectoryChannel {
                id: format!("19:team{n}-channel{c}@thread.tacv2"),
                display_name: format!("Channel {c}"),
                membership_type: "standard".into(),
            })
            .collect(),
        synced_at: Utc::now(),
    }
}

async fn the_teams_directory_is_replaced_whole_per_tenant(store: Arc<TableStore>) {
    let (a, b) = (tenant("t-dir-a"), tenant("t-dir-b"));
    let first: Vec<_> = (0..30).map(|n| team(&a, n, 3)).collect();
    store.replace_teams(&a, &first).await.unwrap();
    let b_team = team(&b, 7, 1);
    store.replace_teams(&b, std::slice::from_ref(&b_team)).await.unwrap();

    // Teams 0..10 are gone, 30..35 are new, team 12 lost a channel.
    let mut second: Vec<_> = (10..35).map(|n| team(&a, n, 3)).collect();
    second[2].channels.pop();
    store.replace_teams(&a, &second).await.unwrap();

    let mut listed = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.list_teams(&a, 7, cursor).await.unwrap();
        assert!(page.items.len() <= 7);
        listed.extend(page.items);
        match page.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    assert_eq!(listed, second);
    assert_eq!(store.get_team(&a, &second[2].group_id).await.unwrap().unwrap().channels.len(), 2);
    assert!(store.get_team(&a, &first[0].group_id).await.unwrap().is_none());
    // The other tenant's list is untouched, and cannot be read or written through this one.
    assert_eq!(store.list_teams(&b, 100, None).await.unwrap().items, vec![b_team.clone()]);
    assert!(store.get_team(&a, &b_team.group_id).await.unwrap().is_none());
    assert!(matches!(store.replace_teams(&a, &[b_team]).await, Err(StoreError::Invalid(_))));
    // An empty list empties the tenant's directory.
    store.replace_teams(&a, &[]).await.unwrap();
    assert!(store.list_teams(&a, 100, None).await.unwrap().items.is_empty());
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            use super::*;
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(support::embedded()).await;
                }
            )*
        }
        mod dynamodb {
            use super::*;
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(support::dynamodb().await).await;
                }
            )*
        }
    };
}

conformance!(
    exactly_one_of_many_concurrent_claimers_wins,
    a_claim_expires_after_its_ttl_and_can_be_released,
    a_stale_write_is_refused_not_lost,
    one_connection_per_tenant_written_atomically,
    deleting_a_connection_removes_what_hangs_off_it,
    queries_page_past_one_megabyte,
    queries_page_by_page_size,
    batch_writes_apply_every_item,
    tenants_are_kept_apart,
    alerts_and_cards_round_trip,
    a_card_is_found_by_its_thread,
    the_teams_directory_is_replaced_whole_per_tenant,
);

#[tokio::test]
async fn dynamodb_batch_writes_retry_unprocessed_items() {
    let proxy = support::ThrottlingProxy::start().await;
    let store = support::dynamodb_via(&proxy.url()).await;
    let t = tenant("t-unprocessed");
    store.put_user_mappings(&(0..60).map(|n| mapping(&t, n, 1)).collect::<Vec<_>>()).await.unwrap();
    assert!(proxy.withheld() > 0, "the proxy handed back unprocessed items");
    let mut count = 0;
    let mut cursor = None;
    loop {
        let page = store.list_user_mappings(&t, 1000, cursor).await.unwrap();
        count += page.items.len();
        match page.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    assert_eq!(count, 60, "every withheld item was retried and written");
}

#[tokio::test]
async fn embedded_store_persists_and_purges_expired_items() {
    let dir = std::env::temp_dir().join(format!("store-persist-{}", std::process::id()));
    let t = tenant("t-persist");
    {
        let (store, _) = store::embedded(&dir).unwrap();
        store.save_conversation(&conversation(&t, "19:keep@thread.tacv2", None)).await.unwrap();
        store.claim(&ClaimScope::Tenant(t.clone()), "activity", "a1", Duration::from_secs(1)).await.unwrap();
    }
    let (store, table) = store::embedded(&dir).unwrap();
    assert_eq!(store.list_conversations(&t).await.unwrap().len(), 1, "data survives a restart");
    assert_eq!(table.purge_expired(Utc::now().timestamp() + 5).await.unwrap(), 1);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_foreign_cursor_is_refused_by_both_tables() {
    for table in [support::embedded().table().clone(), support::dynamodb().await.table().clone()] {
        let forged = support::cursor_for("TENANT#victim", "USER#x");
        let err = table.query(&Query::primary("TENANT#attacker#USERS").after(Some(forged))).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{}: {err:?}", table.backend());
        let _: &dyn ItemTable = table.as_ref();
    }
}
