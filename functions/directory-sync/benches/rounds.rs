//! Directory-sync rounds at tenant scale, against the Graph, login and ilert simulators on the
//! embedded store: a full round over 10 000 Teams users (8 000 of them in ilert), an
//! incremental round with nothing changed and one with 200 changes, and a teams listing of
//! 200 teams with 5 channels each. Prints wall time and the Graph and ilert calls each made.
//!
//! `cargo bench -p directory-sync --bench rounds` (under a minute).

use chrono::Utc;
use directory_sync::{DirectorySync, SyncOptions};
use domain::model::Connection;
use domain::store::Store;
use domain::{ConnectionId, TenantId};
use simulators::graph::GraphSim;
use simulators::ilert::IlertSim;
use simulators::login::LoginSim;
use std::sync::Arc;
use std::time::{Duration, Instant};

const APP: &str = "8f3b287d-df09-44e2-93b3-35e0dfa90756";
const SECRET: &str = "bot-client-secret";
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const USERS: usize = 10_000;
const IN_ILERT: usize = 8_000;
const CHANGES: usize = 200;
const TEAMS: usize = 200;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(run());
}

async fn run() {
    let login = LoginSim::start().await;
    login.register_app(APP, SECRET);
    let graph = GraphSim::start(&login).await;
    graph.set_page_size(999);
    let ilert = IlertSim::start().await;
    let admin = ilert.add_user("Ada", "Admin", "ada@contoso.com");
    ilert.add_api_key("key", admin);
    let users: Vec<String> =
        (0..USERS).map(|i| graph.add_user(TENANT, &format!("User {i}"), &format!("user{i}@contoso.com"))).collect();
    for i in 0..IN_ILERT {
        ilert.add_user("User", &i.to_string(), &format!("User{i}@Contoso.com"));
    }
    for t in 0..TEAMS {
        let team = graph.add_team(TENANT, &format!("Team {t}"));
        for c in 0..4 {
            graph.add_channel(TENANT, &team, &format!("Channel {c}"), false, &[]);
        }
    }

    let dir = std::env::temp_dir().join(format!("directory-sync-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let vault: Arc<dyn secrets::SecretVault> = Arc::new(secrets::FileVault::new(dir.join("secrets.json")));
    let store: Arc<dyn Store> = Arc::new(store::TableStore::new(Arc::new(store::EmbeddedTable::in_memory().unwrap())));
    let connection = Connection {
        id: ConnectionId::parse("bench").unwrap(),
        tenant_id: TenantId::parse(TENANT).unwrap(),
        name: "bench".into(),
        ilert_api_key_ref: vault.put("bench", "key".to_owned().into()).await.unwrap(),
        webhook_secret_sha256: Connection::hash_webhook_secret("s"),
        created_at: Utc::now(),
        updated_at: Utc::now(),
        version: 0,
    };
    store.create_connection(&connection).await.unwrap();
    let http = reqwest::Client::new();
    let tokens = Arc::new(entra::TokenProvider::new(
        http.clone(),
        login.url().parse().unwrap(),
        APP,
        Arc::new(secrets::FixedSecret::new(SECRET)),
    ));
    let sync = DirectorySync::new(
        store.clone(),
        graph::GraphClient::new(http.clone(), &graph.url().parse().unwrap(), tokens).unwrap(),
        ilert::Ilert::new(http, ilert.url().parse().unwrap()),
        vault,
        SyncOptions { full_round_every: Duration::from_secs(3600), ..SyncOptions::default() },
    );

    println!("directory sync, {USERS} Teams users ({IN_ILERT} in ilert), Graph pages of 999, ilert pages of 100");
    let measure = |label: &'static str| {
        graph.clear_requests();
        ilert.clear_calls();
        (label, Instant::now())
    };
    let report_line = |(label, started): (&str, Instant), detail: String| {
        // The simulator logs each item of a `$batch` as a request of its own, as well as the batch.
        let batches = graph.count("POST", "/v1.0/$batch");
        println!(
            "{label:<38} {:>8.1} ms   Graph requests {:>4} ($batch {batches:>2})   ilert requests {:>4}   {detail}",
            started.elapsed().as_secs_f64() * 1000.0,
            graph.requests().len(),
            ilert.calls().len()
        );
    };

    let m = measure("full round");
    let r = sync.sync_users(&connection).await.unwrap();
    report_line(m, format!("matched {} unmatched {}", r.matched, r.unmatched));

    let m = measure("incremental round, no changes");
    let r = sync.sync_users(&connection).await.unwrap();
    report_line(m, format!("changed {}", r.changed));

    for (i, user) in users.iter().take(CHANGES).enumerate() {
        graph.rename_user(TENANT, user, &format!("Renamed {i}"));
    }
    let m = measure("incremental round, 200 changes");
    let r = sync.sync_users(&connection).await.unwrap();
    report_line(m, format!("changed {} matched {}", r.changed, r.matched));

    let m = measure("teams listing, 200 teams x 5 channels");
    let r = sync.sync_teams(&connection).await.unwrap();
    report_line(m, format!("teams {} channels {}", r.teams, r.channels));
    let _ = std::fs::remove_dir_all(&dir);
}
