//! The client against the ilert simulator: each call's success path and each failure class.

use futures::TryStreamExt;
use ilert::{
    AlertFilter, AlertStatus, Assignee, Event, Ilert, IlertClient, IlertError, ManualAlert, OnCallFilter, Priority,
    ResponderStatus, RetryPolicy,
};
use secrets::SecretString;
use simulators::ilert::IlertSim;
use std::time::{Duration, Instant};

const KEY: &str = "ilert-api-key-of-ada";
const INTEGRATION_KEY: &str = "il1api-integration-key";

/// Waits in milliseconds instead of seconds.
fn fast() -> RetryPolicy {
    RetryPolicy {
        throttle_min: Duration::from_millis(10),
        throttle_max: Duration::from_millis(30),
        server_error_initial: Duration::from_millis(5),
        server_error_max: Duration::from_millis(20),
        max_attempts: 4,
        default_budget: Duration::from_secs(10),
    }
}

struct World {
    sim: IlertSim,
    api: Ilert,
    client: IlertClient,
    ada: i64,
    policy: i64,
    source: i64,
}

async fn world() -> World {
    let sim = IlertSim::start().await;
    let ada = sim.add_user("Ada", "Lovelace", "ada@example.com");
    let policy = sim.add_policy("Ops Team");
    sim.add_on_call(ada, policy, 1, Some((77, "Nachtdienst")));
    let source = sim.add_source("Grafana", policy, INTEGRATION_KEY);
    sim.add_api_key(KEY, ada);
    let api = Ilert::new(reqwest::Client::new(), sim.url().parse().unwrap()).with_retry_policy(fast());
    let client = api.client(SecretString::from(KEY));
    World { sim, api, client, ada, policy, source }
}

#[tokio::test]
async fn get_alert_sends_the_key_as_bearer_and_asks_for_json() {
    let w = world().await;
    let id = w.sim.add_alert(w.source, "CPU high", Some("cpu/web01"));
    let alert = w.client.get_alert(id).await.unwrap();
    assert_eq!(alert.id, id);
    assert_eq!(alert.summary, "CPU high");
    assert_eq!(alert.status, AlertStatus::Pending);
    assert_eq!(alert.alert_key.as_deref(), Some("cpu/web01"));
    assert_eq!(alert.alert_source.as_ref().map(|s| s.name.as_str()), Some("Grafana"));
    assert_eq!(alert.escalation_policy.as_ref().map(|p| p.id), Some(w.policy));
    assert_eq!(alert.responders[0].user.id, w.ada);
    assert!(alert.report_time.is_some());

    let call = &w.sim.calls()[0];
    assert_eq!((call.method.as_str(), call.path.as_str()), ("GET", format!("/api/alerts/{id}").as_str()));
    assert_eq!(call.api_key.as_deref(), Some(KEY));
    assert_eq!(call.accept.as_deref(), Some("application/json"));
}

#[tokio::test]
async fn list_alerts_filters_and_pages_through_everything() {
    let w = world().await;
    let other_policy = w.sim.add_policy("Other");
    let other_source = w.sim.add_source("Other", other_policy, "other-key");
    let ids: Vec<i64> = (0..6).map(|i| w.sim.add_alert(w.source, &format!("alert {i}"), None)).collect();
    w.sim.add_alert(other_source, "elsewhere", None);
    w.client.accept_alert(ids[0]).await.unwrap();
    w.sim.clear_calls();

    let filter = AlertFilter {
        states: vec![AlertStatus::Pending, AlertStatus::Accepted],
        sources: vec![w.source],
        policies: vec![w.policy],
    };
    let alerts = w.client.list_alerts(&filter).page_size(4).all().await.unwrap();
    assert_eq!(alerts.iter().map(|a| a.id).collect::<Vec<_>>(), ids);

    let calls = w.sim.calls();
    assert_eq!(calls.len(), 2, "a short page ends the listing");
    assert_eq!(calls[0].query_values("states"), ["PENDING", "ACCEPTED"]);
    assert_eq!(calls[0].query_values("sources"), [w.source.to_string()]);
    assert_eq!(calls[0].query_values("policies"), [w.policy.to_string()]);
    assert_eq!(calls[0].query_values("start-index"), ["0"]);
    assert_eq!(calls[1].query_values("start-index"), ["4"]);
    assert_eq!(calls[1].query_values("max-results"), ["4"]);

    let pending = AlertFilter { states: vec![AlertStatus::Pending], ..AlertFilter::default() };
    let second_page = w.client.list_alerts(&pending).page_size(2).page(2).await.unwrap();
    assert_eq!(second_page.iter().map(|a| a.id).collect::<Vec<_>>(), &ids[3..5]);

    // Page sizes are capped at ilert's maximum (more would be a 400).
    w.sim.clear_calls();
    w.client.list_alerts(&AlertFilter::default()).page_size(1000).page(0).await.unwrap();
    assert_eq!(w.sim.calls()[0].query_values("max-results"), ["100"]);
}

#[tokio::test]
async fn exact_page_multiples_end_on_an_empty_page() {
    let w = world().await;
    for i in 0..4 {
        w.sim.add_alert(w.source, &format!("alert {i}"), None);
    }
    let stream = w.client.list_alerts(&AlertFilter::default()).page_size(2).stream();
    let alerts: Vec<_> = stream.try_collect().await.unwrap();
    assert_eq!(alerts.len(), 4);
    assert_eq!(w.sim.calls().len(), 3);
}

#[tokio::test]
async fn accept_then_resolve_and_no_accepting_a_resolved_alert() {
    let w = world().await;
    let id = w.sim.add_alert(w.source, "disk full", None);

    let accepted = w.client.accept_alert(id).await.unwrap();
    assert_eq!(accepted.status, AlertStatus::Accepted);
    let ada = accepted.responders.iter().find(|r| r.user.id == w.ada).unwrap();
    assert_eq!(ada.status, Some(ResponderStatus::Accepted));
    assert!(ada.accepted_at.is_some());

    let resolved = w.client.resolve_alert(id).await.unwrap();
    assert_eq!(resolved.status, AlertStatus::Resolved);
    assert!(resolved.resolved_on.is_some());

    match w.client.accept_alert(id).await {
        Err(IlertError::BadRequest { message }) => assert!(message.contains("resolved"), "{message}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let calls = w.sim.calls();
    assert_eq!(calls[0].method, "PUT");
    assert_eq!(calls[0].path, format!("/api/alerts/{id}/accept"));
    assert_eq!(calls[1].path, format!("/api/alerts/{id}/resolve"));
    assert_eq!(calls.len(), 3, "a 400 is not retried");
}

#[tokio::test]
async fn assign_uses_the_spec_parameter_names() {
    let w = world().await;
    let grace = w.sim.add_user("Grace", "Hopper", "grace@example.com");
    let backup = w.sim.add_policy("Backup");
    w.sim.add_on_call(grace, backup, 1, None);
    let id = w.sim.add_alert(w.source, "latency", None);

    let to_grace = w.client.assign_alert(id, Assignee::User(grace)).await.unwrap();
    assert_eq!(to_grace.responders.iter().map(|r| r.user.id).collect::<Vec<_>>(), [grace]);
    let to_backup = w.client.assign_alert(id, Assignee::EscalationPolicy(backup)).await.unwrap();
    assert_eq!(to_backup.escalation_policy.map(|p| p.name), Some("Backup".to_owned()));
    let to_schedule = w.client.assign_alert(id, Assignee::Schedule(77)).await.unwrap();
    assert_eq!(to_schedule.responders[0].user.id, w.ada);

    let calls = w.sim.calls();
    assert_eq!(calls[0].query_values("user"), [grace.to_string()]);
    assert_eq!(calls[1].query_values("policy"), [backup.to_string()]);
    assert_eq!(calls[2].query_values("schedule"), ["77"]);
    assert!(calls.iter().all(|c| c.method == "PUT" && c.path == format!("/api/alerts/{id}/assign")));
}

#[tokio::test]
async fn add_responder_then_adding_again_is_rejected() {
    let w = world().await;
    let grace = w.sim.add_user("Grace", "Hopper", "grace@example.com");
    let id = w.sim.add_alert(w.source, "latency", None);

    let responder = w.client.add_responder(id, grace).await.unwrap();
    assert_eq!(responder.user.id, grace);
    assert_eq!(responder.user.display_name(), "Grace Hopper");
    assert_eq!(w.sim.calls()[0].body.as_ref().unwrap()["user"]["id"], grace);

    match w.client.add_responder(id, grace).await {
        Err(IlertError::Rejected { status: 405, message, .. }) => assert!(message.contains("already"), "{message}"),
        other => panic!("expected 405, got {other:?}"),
    }
    assert!(matches!(w.client.add_responder(id, 999_999).await, Err(IlertError::NotFound { .. })));
}

#[tokio::test]
async fn create_alert_sends_a_manual_alert() {
    let w = world().await;
    let grace = w.sim.add_user("Grace", "Hopper", "grace@example.com");
    let mut manual = ManualAlert::new(w.source, "Teams user reports an outage");
    manual.details = Some("reported from Teams".into());
    manual.priority = Some(Priority::Low);
    manual.responder_user_ids = vec![grace];

    let alert = w.client.create_alert(&manual).await.unwrap();
    assert_eq!(alert.summary, "Teams user reports an outage");
    assert_eq!(alert.priority, Some(Priority::Low));
    assert_eq!(alert.responders.iter().map(|r| r.user.id).collect::<Vec<_>>(), [grace]);

    let call = &w.sim.calls()[0];
    assert_eq!((call.method.as_str(), call.path.as_str()), ("POST", "/api/alerts"));
    let body = call.body.as_ref().unwrap();
    assert_eq!(body["alertSource"]["id"], w.source);
    assert_eq!(body["responders"][0]["user"]["id"], grace);
    assert_eq!(body["details"], "reported from Teams");
    assert!(body.get("escalationPolicy").is_none());
}

#[tokio::test]
async fn events_open_dedupe_comment_accept_and_resolve_without_authorization() {
    let w = world().await;
    let key = || SecretString::from(INTEGRATION_KEY);

    w.api.send_event(&Event::alert(key(), "Host srv/mail01 is CRITICAL", Some("srv/mail01".into()))).await.unwrap();
    w.api.send_event(&Event::alert(key(), "Host srv/mail01 is DOWN", Some("SRV/mail01 ".into()))).await.unwrap();
    let ids = w.sim.alerts_with_key("srv/mail01");
    assert_eq!(ids.len(), 1, "the same alertKey adds to the open alert");
    let id = ids[0];
    assert_eq!(w.sim.appended_events(id), 1);

    let comment = Event::comment(key(), "srv/mail01", "Ada Lovelace (Teams)", "looking into it");
    w.client.send_event(&comment).await.unwrap();
    let comments = w.sim.comments(id);
    assert_eq!(
        (comments[0].creator.as_str(), comments[0].content.as_str()),
        ("Ada Lovelace (Teams)", "looking into it")
    );

    w.api.send_event(&Event::accept(key(), "srv/mail01")).await.unwrap();
    assert_eq!(w.sim.alert(id)["status"], "ACCEPTED");
    w.sim.set_event_response_body(true);
    let answer = w.api.send_event(&Event::resolve(key(), "srv/mail01")).await.unwrap();
    assert_eq!(answer.alert_key.as_deref(), Some("srv/mail01"));
    assert!(answer.response_code.is_some());
    assert_eq!(w.sim.alert(id)["status"], "RESOLVED");

    let calls = w.sim.calls();
    assert!(calls.iter().all(|c| c.path == "/api/events" && c.method == "POST"));
    assert!(calls.iter().all(|c| c.api_key.is_none()), "the events API gets no Authorization header");
    let body = calls[2].body.as_ref().unwrap();
    assert_eq!(body["integrationKey"], INTEGRATION_KEY);
    assert_eq!(body["eventType"], "COMMENT");
    assert_eq!(body["comments"][0]["content"], "looking into it");
    assert!(calls[3].body.as_ref().unwrap().get("summary").is_none());

    let unknown = Event::alert(SecretString::from("nope"), "x", None);
    assert!(matches!(w.api.send_event(&unknown).await, Err(IlertError::BadRequest { .. })));
}

#[tokio::test]
async fn users_page_and_search_by_email() {
    let w = world().await;
    for i in 0..4 {
        w.sim.add_user("User", &i.to_string(), &format!("user{i}@example.com"));
    }
    let users = w.client.list_users().page_size(2).all().await.unwrap();
    assert_eq!(users.len(), 5);
    assert_eq!(users[0].email, "ada@example.com");
    assert_eq!(w.sim.calls().len(), 3);

    let found = w.client.find_user_by_email("ADA@example.com").await.unwrap().unwrap();
    assert_eq!((found.id, found.display_name()), (w.ada, "Ada Lovelace".to_owned()));
    assert_eq!(w.client.find_user_by_email("nobody@example.com").await.unwrap(), None);
    let search = w.sim.calls().into_iter().find(|c| c.path == "/api/users/search-email").unwrap();
    assert_eq!(search.method, "POST");
    assert_eq!(search.body.unwrap()["email"], "ADA@example.com");
}

#[tokio::test]
async fn on_calls_are_expanded_and_filtered_by_policy() {
    let w = world().await;
    let grace = w.sim.add_user("Grace", "Hopper", "grace@example.com");
    let other = w.sim.add_policy("Other");
    w.sim.add_on_call(grace, other, 2, None);

    let filter = OnCallFilter { policies: vec![w.policy], ..OnCallFilter::default() };
    let on_calls = w.client.list_on_calls(&filter).all().await.unwrap();
    assert_eq!(on_calls.len(), 1);
    let duty = &on_calls[0];
    assert_eq!(duty.user.email, "ada@example.com");
    assert_eq!(duty.escalation_policy.as_ref().map(|p| p.name.as_str()), Some("Ops Team"));
    assert_eq!(duty.schedule.as_ref().map(|s| s.name.as_str()), Some("Nachtdienst"));
    assert_eq!(duty.escalation_level, Some(1));
    assert!(duty.start.unwrap() < duty.end.unwrap());

    let call = &w.sim.calls()[0];
    assert_eq!(call.path, "/api/on-calls");
    assert_eq!(call.query_values("expand"), ["user", "escalationPolicy", "schedule"]);
    assert_eq!(call.query_values("policies"), [w.policy.to_string()]);
    assert_eq!(call.query_values("max-results"), ["250"]);

    assert_eq!(w.client.list_on_calls(&OnCallFilter::default()).all().await.unwrap().len(), 2);
}

#[tokio::test]
async fn escalation_policies_and_alert_sources_page() {
    let w = world().await;
    for i in 0..3 {
        let policy = w.sim.add_policy(&format!("Policy {i}"));
        w.sim.add_source(&format!("Source {i}"), policy, &format!("key-{i}"));
    }
    let policies = w.client.list_escalation_policies().page_size(3).all().await.unwrap();
    assert_eq!(policies.len(), 4);
    assert_eq!(policies[0].name, "Ops Team");
    assert_eq!(policies[0].escalation_rules[0].escalation_timeout, Some(15));

    let sources = w.client.list_alert_sources().page_size(3).all().await.unwrap();
    assert_eq!(sources.len(), 4);
    assert_eq!(sources[0].escalation_policy.as_ref().map(|p| p.id), Some(w.policy));
    use secrets::ExposeSecret;
    assert_eq!(sources[0].integration_key.as_ref().map(|k| k.expose_secret().to_owned()), Some(INTEGRATION_KEY.into()));
    assert!(!format!("{:?}", sources[0]).contains(INTEGRATION_KEY));

    let one = w.client.get_alert_source(w.source).await.unwrap();
    assert_eq!(one.name, "Grafana");
    let max_results: Vec<String> = w.sim.calls().iter().map(|c| c.query_values("max-results").join(",")).collect();
    assert!(max_results.iter().take(4).all(|m| m == "3"), "{max_results:?}");
}

#[tokio::test]
async fn throttling_is_waited_out_within_the_deadline() {
    let w = world().await;
    let id = w.sim.add_alert(w.source, "x", None);
    w.sim.fail_next(2, 429);
    let client = w.client.clone().with_deadline(Instant::now() + Duration::from_secs(5));
    assert_eq!(client.get_alert(id).await.unwrap().id, id);
    assert_eq!(w.sim.calls().len(), 3);
}

#[tokio::test]
async fn throttling_beyond_the_deadline_is_returned_with_a_retry_delay() {
    let w = world().await;
    // ilert's real waits (10-30 s) cannot fit a 2 s deadline: give up at once.
    let client = w.api.clone().with_retry_policy(RetryPolicy::default()).client(SecretString::from(KEY));
    let client = client.with_deadline(Instant::now() + Duration::from_secs(2));
    w.sim.fail_next(1, 429);
    let started = Instant::now();
    match client.get_alert(1).await {
        Err(IlertError::Throttled { retry_after }) => {
            assert!((Duration::from_secs(10)..=Duration::from_secs(30)).contains(&retry_after), "{retry_after:?}");
        }
        other => panic!("expected Throttled, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(w.sim.calls().len(), 1);
}

#[tokio::test]
async fn endless_throttling_stops_after_the_attempt_budget() {
    let w = world().await;
    w.sim.fail_next(10, 429);
    let err = w.client.get_alert(1).await.unwrap_err();
    assert!(err.retry_after().is_some_and(|d| d >= Duration::from_millis(10)), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(w.sim.calls().len(), 4);
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff() {
    let w = world().await;
    let id = w.sim.add_alert(w.source, "x", None);
    w.sim.fail_next(2, 503);
    assert_eq!(w.client.resolve_alert(id).await.unwrap().status, AlertStatus::Resolved);
    assert_eq!(w.sim.calls().len(), 3);

    w.sim.clear_calls();
    w.sim.fail_next(4, 500);
    match w.client.get_alert(id).await {
        Err(IlertError::Transient { status: Some(500), .. }) => {}
        other => panic!("expected Transient, got {other:?}"),
    }
    assert_eq!(w.sim.calls().len(), 4);
}

#[tokio::test]
async fn creating_an_alert_is_not_repeated_after_a_server_error() {
    let w = world().await;
    w.sim.fail_next(1, 502);
    let err = w.client.create_alert(&ManualAlert::new(w.source, "once")).await.unwrap_err();
    assert!(matches!(err, IlertError::Transient { status: Some(502), .. }), "{err:?}");
    assert_eq!(w.sim.calls().len(), 1);
}

#[tokio::test]
async fn a_revoked_key_is_an_invalid_api_key() {
    let w = world().await;
    w.sim.revoke_api_key(KEY);
    let err = w.client.get_alert(1).await.unwrap_err();
    assert_eq!(err, IlertError::InvalidApiKey);
    assert_eq!(err.to_string(), "the ilert API key is invalid or revoked");
    assert!(!err.is_retryable());
    assert_eq!(w.sim.calls().len(), 1);
}

#[tokio::test]
async fn unknown_alerts_are_not_found() {
    let w = world().await;
    assert!(matches!(w.client.get_alert(424242).await, Err(IlertError::NotFound { .. })));
}

#[tokio::test]
async fn error_bodies_map_to_their_classes() {
    let w = world().await;
    type Expected = fn(&IlertError) -> bool;
    let cases: [(u16, &str, Expected); 4] = [
        (401, "AUTH_ERROR", |e| matches!(e, IlertError::Unauthorized { .. })),
        (
            403,
            "OAUTH2_SCOPE_ERROR",
            |e| matches!(e, IlertError::Forbidden { code, .. } if code == "OAUTH2_SCOPE_ERROR"),
        ),
        (402, "FEATURE_REQUIRED", |e| matches!(e, IlertError::PlanLimit { code, .. } if code == "FEATURE_REQUIRED")),
        (400, "BAD_REQUEST", |e| matches!(e, IlertError::BadRequest { message } if message == "told you so")),
    ];
    for (status, code, expected) in cases {
        w.sim.fail_next_with(status, code, "told you so");
        let err = w.client.list_users().page(0).await.unwrap_err();
        assert!(expected(&err), "{status} {code}: {err:?}");
    }
}

#[tokio::test]
async fn a_slow_answer_past_the_deadline_is_transient() {
    let w = world().await;
    w.sim.set_latency(Duration::from_millis(500));
    let client = w.client.clone().with_deadline(Instant::now() + Duration::from_millis(100));
    let started = Instant::now();
    let err = client.get_alert(1).await.unwrap_err();
    assert!(matches!(err, IlertError::Transient { status: None, .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_millis(400));
}

#[tokio::test]
async fn the_api_key_never_prints() {
    let w = world().await;
    assert!(!format!("{:?}", w.client).contains(KEY));
    w.sim.revoke_api_key(KEY);
    let err = w.client.get_alert(1).await.unwrap_err();
    assert!(!format!("{err:?} {err}").contains(KEY));
}

#[tokio::test]
async fn an_unreachable_ilert_is_transient_and_says_why() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let api = Ilert::new(reqwest::Client::new(), format!("http://127.0.0.1:{port}").parse().unwrap());
    let client = api.with_retry_policy(fast()).client(SecretString::from(KEY));
    match client.create_alert(&ManualAlert::new(1, "x")).await {
        Err(IlertError::Transient { status: None, message }) => {
            assert!(message.to_lowercase().contains("refused"), "{message}");
            assert!(!message.contains(KEY));
        }
        other => panic!("expected Transient, got {other:?}"),
    }
}
