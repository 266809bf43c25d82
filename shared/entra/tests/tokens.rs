//! The token provider against the Microsoft login simulator.

use entra::{TokenError, TokenProvider};
use secrets::FixedSecret;
use simulators::login::LoginSim;
use std::sync::Arc;

const CLIENT_ID: &str = "0c4b3b5e-1d2f-4a36-9a57-7b6c1e2d3f40";
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const SCOPE: &str = "https://api.botframework.com/.default";

fn provider(login: &LoginSim, secret: &str) -> TokenProvider {
    TokenProvider::new(
        reqwest::Client::new(),
        login.url().parse().unwrap(),
        CLIENT_ID,
        Arc::new(FixedSecret::new(secret)),
    )
}

#[tokio::test]
async fn issues_and_caches_tokens_per_tenant_and_scope() {
    let login = LoginSim::start().await;
    login.register_app(CLIENT_ID, "s3cret");
    let p = provider(&login, "s3cret");
    let a = p.token(TENANT, SCOPE).await.unwrap();
    let b = p.token(TENANT, SCOPE).await.unwrap();
    assert_eq!(a.secret(), b.secret());
    assert_eq!(login.token_requests(), 1);
    let info = login.check(a.secret(), SCOPE).expect("the simulator knows the token it issued");
    assert_eq!(info.tenant, TENANT);
    assert_eq!(info.client_id, CLIENT_ID);
    p.token("other-tenant.onmicrosoft.com", SCOPE).await.unwrap();
    p.token(TENANT, "https://graph.microsoft.com/.default").await.unwrap();
    assert_eq!(login.token_requests(), 3);
}

#[tokio::test]
async fn concurrent_callers_share_one_refresh() {
    let login = LoginSim::start().await;
    login.register_app(CLIENT_ID, "s3cret");
    login.set_latency(std::time::Duration::from_millis(100));
    let p = Arc::new(provider(&login, "s3cret"));
    let calls = (0..20).map(|_| {
        let p = p.clone();
        async move { p.token(TENANT, SCOPE).await.map(|t| t.secret().to_owned()) }
    });
    let tokens = futures::future::join_all(calls).await;
    assert!(tokens.iter().all(|t| t.as_ref().unwrap() == tokens[0].as_ref().unwrap()));
    assert_eq!(login.token_requests(), 1);
}

#[tokio::test]
async fn renews_five_minutes_before_expiry() {
    let login = LoginSim::start().await;
    login.register_app(CLIENT_ID, "s3cret");
    // A token that lives less than the five-minute margin is never reused.
    login.set_expires_in(299);
    let p = provider(&login, "s3cret");
    p.token(TENANT, SCOPE).await.unwrap();
    p.token(TENANT, SCOPE).await.unwrap();
    assert_eq!(login.token_requests(), 2);
    login.set_expires_in(3599);
    p.token(TENANT, SCOPE).await.unwrap();
    p.token(TENANT, SCOPE).await.unwrap();
    assert_eq!(login.token_requests(), 3);
}

#[tokio::test]
async fn a_wrong_secret_is_a_typed_rejection_without_the_secret() {
    let login = LoginSim::start().await;
    login.register_app(CLIENT_ID, "s3cret");
    let p = provider(&login, "not-the-secret");
    let err = p.token(TENANT, SCOPE).await.unwrap_err();
    match &err {
        TokenError::Rejected { status, error, description, .. } => {
            assert_eq!(*status, 401);
            assert_eq!(error, "invalid_client");
            assert!(description.starts_with("AADSTS7000215"), "{description}");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert!(!err.to_string().contains("not-the-secret"));
}

#[tokio::test]
async fn server_errors_are_transient() {
    let login = LoginSim::start().await;
    login.register_app(CLIENT_ID, "s3cret");
    login.fail_next(1, 503);
    let p = provider(&login, "s3cret");
    assert!(matches!(p.token(TENANT, SCOPE).await, Err(TokenError::Unavailable(_))));
    assert!(p.token(TENANT, SCOPE).await.is_ok());
}

#[tokio::test]
async fn invalidate_forces_a_new_token() {
    let login = LoginSim::start().await;
    login.register_app(CLIENT_ID, "s3cret");
    let p = provider(&login, "s3cret");
    let a = p.token(TENANT, SCOPE).await.unwrap();
    p.invalidate(TENANT, SCOPE).await;
    let b = p.token(TENANT, SCOPE).await.unwrap();
    assert_ne!(a.secret(), b.secret());
}
