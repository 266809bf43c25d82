//! The directory sync through the runner: its schedule queues a job per connection, the
//! consumer matches the tenant's Teams users to ilert users and lists its teams.

use domain::model::MappingSource;
use domain::{AadObjectId, TenantId};
use e2e::{TENANT, World};
use std::time::Duration;

#[tokio::test]
async fn the_schedule_matches_teams_users_to_ilert_users() {
    let world = World::start().await;
    let admin = world.ilert.add_user("Ada", "Admin", "ada@contoso.com");
    world.ilert.add_api_key("il-api-key", admin);
    let ann_ilert = world.ilert.add_user("Ann", "Lee", "ann@contoso.com");
    let ann = world.graph.add_user(TENANT, "Ann Lee", "Ann@contoso.com");
    let nobody = world.graph.add_user(TENANT, "No Body", "nobody@contoso.com");
    let ops = world.graph.add_team(TENANT, "Ops");
    let (connection, _) = world.connect(TENANT).await;

    assert!(world.runner.run_job_now(local_runner::DIRECTORY_SYNC_JOB).await);
    let started = std::time::Instant::now();
    while world.runner.directory_sync.depth().await.unwrap() > 0 {
        assert!(started.elapsed() < Duration::from_secs(20), "the directory sync job did not finish");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let tenant = TenantId::parse(TENANT).unwrap();
    let mapping =
        world.runner.store.get_user_mapping(&tenant, &AadObjectId::parse(&ann).unwrap()).await.unwrap().unwrap();
    assert_eq!((mapping.ilert_user_id, mapping.source), (ann_ilert, MappingSource::DirectorySync));
    assert!(
        world.runner.store.get_user_mapping(&tenant, &AadObjectId::parse(&nobody).unwrap()).await.unwrap().is_none()
    );
    assert!(world.runner.store.get_cursor(&tenant, directory_sync::USERS_CURSOR).await.unwrap().is_some());
    assert!(world.runner.directory_sync.dead_letters().await.unwrap().is_empty());
    // The same job refreshed the teams directory the management API lists.
    let (status, body) =
        world.admin("GET", &format!("/admin/v1/connections/{connection}/teams/{ops}/channels"), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["team"]["displayName"], "Ops");
    assert_eq!(body["channels"][0]["displayName"], "General");
}
