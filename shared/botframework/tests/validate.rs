//! Inbound channel-token validation against the Bot Framework OpenID simulator.

use botframework::{AuthError, ChannelAuthConfig, ChannelValidator};
use jsonwebtoken::Algorithm;
use serde_json::json;
use simulators::botframework_login::{BotLoginSim, Broken, ISSUER};

const APP_ID: &str = "5e2b4f1a-8c3d-4e6f-9a7b-1c2d3e4f5a6b";
const SERVICE_URL: &str = "https://smba.trafficmanager.net/amer/50612dbb-0237-4969-b378-8d42590f9c00/";
const TEAMS: &str = "msteams";

fn validator(sim: &BotLoginSim) -> ChannelValidator {
    ChannelValidator::new(
        reqwest::Client::new(),
        ChannelAuthConfig {
            metadata_url: sim.metadata_url().parse().unwrap(),
            issuer: ISSUER.into(),
            app_id: APP_ID.into(),
        },
    )
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[tokio::test]
async fn a_valid_channel_token_is_accepted() {
    let sim = BotLoginSim::start().await;
    let identity = validator(&sim)
        .validate(Some(&bearer(&sim.channel_token(APP_ID, SERVICE_URL))), SERVICE_URL, TEAMS)
        .await
        .expect("a valid token");
    assert_eq!(identity.app_id, APP_ID);
    assert_eq!(identity.service_url, SERVICE_URL);
    assert!(identity.expires_at > chrono::Utc::now().timestamp() as u64);
}

#[tokio::test]
async fn each_broken_token_is_rejected_with_its_reason() {
    let sim = BotLoginSim::start().await;
    let v = validator(&sim);
    let cases = [
        (Broken::AlgNone, AuthError::UnsupportedAlgorithm),
        (Broken::Hs256WithPublicKey, AuthError::UnsupportedAlgorithm),
        (Broken::UnknownKid, AuthError::UnknownKey),
        (Broken::BadSignature, AuthError::BadSignature),
        (Broken::WrongIssuer, AuthError::WrongIssuer),
        (Broken::WrongAudience, AuthError::WrongAudience),
        (Broken::ExpiredBeyondSkew, AuthError::Expired),
        (Broken::NotYetValidBeyondSkew, AuthError::NotYetValid),
        (Broken::MissingServiceUrl, AuthError::MissingServiceUrl),
        (Broken::NotEndorsedForTeams, AuthError::NotEndorsed),
        (Broken::KeyAlgorithmMismatch, AuthError::KeyAlgorithmMismatch),
    ];
    for (how, expected) in cases {
        let token = sim.broken_token(APP_ID, SERVICE_URL, how);
        let result = v.validate(Some(&bearer(&token)), SERVICE_URL, TEAMS).await;
        assert_eq!(result, Err(expected), "{how:?}");
    }
}

#[tokio::test]
async fn malformed_headers_and_tokens_are_rejected() {
    let sim = BotLoginSim::start().await;
    let v = validator(&sim);
    let token = sim.channel_token(APP_ID, SERVICE_URL);
    let cases = [
        (None, AuthError::MissingHeader),
        (Some(String::new()), AuthError::MissingHeader),
        (Some(format!("bearer {token}")), AuthError::WrongScheme),
        (Some(format!("Basic {token}")), AuthError::WrongScheme),
        (Some(token.clone()), AuthError::WrongScheme),
        (Some(format!("Bearer  {token}")), AuthError::MalformedHeader),
        (Some(format!("Bearer {token} extra")), AuthError::MalformedHeader),
        (Some("Bearer not-a-jwt".into()), AuthError::MalformedToken),
        (Some("Bearer a.b".into()), AuthError::MalformedToken),
        (Some("Bearer !!.??.**".into()), AuthError::MalformedToken),
        (Some(format!("Bearer {token}.extra")), AuthError::MalformedToken),
    ];
    for (header, expected) in cases {
        assert_eq!(v.validate(header.as_deref(), SERVICE_URL, TEAMS).await, Err(expected), "{header:?}");
    }
    // A token whose claims are not JSON at all.
    let (header, _) = token.split_once('.').unwrap();
    let garbage = format!("Bearer {header}.bm90IGpzb24.c2ln");
    assert_eq!(v.validate(Some(&garbage), SERVICE_URL, TEAMS).await, Err(AuthError::MalformedToken));
}

#[tokio::test]
async fn lifetime_within_the_five_minute_skew_is_accepted() {
    let sim = BotLoginSim::start().await;
    let v = validator(&sim);
    let now = chrono::Utc::now().timestamp();
    let mut claims = BotLoginSim::claims(APP_ID, SERVICE_URL);
    claims["exp"] = json!(now - 120);
    let expired_recently = sim.sign(&claims, &sim.signing_kid(), Algorithm::RS256);
    assert!(v.validate(Some(&bearer(&expired_recently)), SERVICE_URL, TEAMS).await.is_ok());
    claims["exp"] = json!(now + 3600);
    claims["nbf"] = json!(now + 120);
    let valid_shortly = sim.sign(&claims, &sim.signing_kid(), Algorithm::RS256);
    assert!(v.validate(Some(&bearer(&valid_shortly)), SERVICE_URL, TEAMS).await.is_ok());
}

#[tokio::test]
async fn the_serviceurl_claim_must_equal_the_activity_byte_for_byte() {
    let sim = BotLoginSim::start().await;
    let v = validator(&sim);
    let token = bearer(&sim.channel_token(APP_ID, SERVICE_URL));
    for other in [
        "https://evil.example.com/amer/50612dbb-0237-4969-b378-8d42590f9c00/",
        "https://smba.trafficmanager.net/AMER/50612dbb-0237-4969-b378-8d42590f9c00/",
        "https://smba.trafficmanager.net/amer/50612dbb-0237-4969-b378-8d42590f9c00",
        "",
    ] {
        assert_eq!(v.validate(Some(&token), other, TEAMS).await, Err(AuthError::ServiceUrlMismatch), "{other}");
    }
    // A claim of the wrong type is no claim to match.
    let mut claims = BotLoginSim::claims(APP_ID, SERVICE_URL);
    claims["serviceurl"] = json!([SERVICE_URL]);
    let token = sim.sign(&claims, &sim.signing_kid(), Algorithm::RS256);
    assert_eq!(v.validate(Some(&bearer(&token)), SERVICE_URL, TEAMS).await, Err(AuthError::ServiceUrlMismatch));
}

#[tokio::test]
async fn endorsements_bind_keys_to_channels() {
    let sim = BotLoginSim::start().await;
    sim.add_key("sim-key-open", &[]);
    let v = validator(&sim);
    let token = bearer(&sim.channel_token(APP_ID, SERVICE_URL));
    assert_eq!(v.validate(Some(&token), SERVICE_URL, "webchat").await, Err(AuthError::NotEndorsed));
    assert_eq!(v.validate(Some(&token), SERVICE_URL, "").await, Err(AuthError::NotEndorsed));
    // A key without endorsements may sign for any channel.
    let open = sim.sign(&BotLoginSim::claims(APP_ID, SERVICE_URL), "sim-key-open", Algorithm::RS256);
    assert!(v.validate(Some(&bearer(&open)), SERVICE_URL, TEAMS).await.is_ok());
}

#[tokio::test]
async fn rs384_and_rs512_are_accepted_and_the_audience_must_be_a_string() {
    let sim = BotLoginSim::start().await;
    let v = validator(&sim);
    for alg in [Algorithm::RS384, Algorithm::RS512] {
        let token = sim.sign(&BotLoginSim::claims(APP_ID, SERVICE_URL), &sim.signing_kid(), alg);
        assert!(v.validate(Some(&bearer(&token)), SERVICE_URL, TEAMS).await.is_ok(), "{alg:?}");
    }
    let mut claims = BotLoginSim::claims(APP_ID, SERVICE_URL);
    claims["aud"] = json!([APP_ID, "another"]);
    let token = sim.sign(&claims, &sim.signing_kid(), Algorithm::RS256);
    assert_eq!(v.validate(Some(&bearer(&token)), SERVICE_URL, TEAMS).await, Err(AuthError::WrongAudience));
}

#[tokio::test]
async fn keys_are_fetched_once_for_many_validations_across_validators() {
    let sim = BotLoginSim::start().await;
    let (a, b) = (validator(&sim), validator(&sim));
    let token = bearer(&sim.channel_token(APP_ID, SERVICE_URL));
    let concurrent = (0..20).map(|i| {
        let v = if i % 2 == 0 { a.clone() } else { b.clone() };
        let token = token.clone();
        async move { v.validate(Some(&token), SERVICE_URL, TEAMS).await }
    });
    assert!(futures::future::join_all(concurrent).await.iter().all(Result::is_ok));
    for _ in 0..30 {
        assert!(b.validate(Some(&token), SERVICE_URL, TEAMS).await.is_ok());
    }
    assert_eq!((sim.metadata_fetches(), sim.key_fetches()), (1, 1));
}

#[tokio::test]
async fn a_flood_of_unknown_kids_causes_at_most_one_refetch() {
    let sim = BotLoginSim::start().await;
    let v = validator(&sim);
    let valid = bearer(&sim.channel_token(APP_ID, SERVICE_URL));
    assert!(v.validate(Some(&valid), SERVICE_URL, TEAMS).await.is_ok());
    let flood = (0..25).map(|_| {
        let v = v.clone();
        let token = bearer(&sim.broken_token(APP_ID, SERVICE_URL, Broken::UnknownKid));
        async move { v.validate(Some(&token), SERVICE_URL, TEAMS).await }
    });
    let results = futures::future::join_all(flood).await;
    assert!(results.iter().all(|r| *r == Err(AuthError::UnknownKey)));
    for _ in 0..25 {
        let token = bearer(&sim.broken_token(APP_ID, SERVICE_URL, Broken::UnknownKid));
        assert_eq!(v.validate(Some(&token), SERVICE_URL, TEAMS).await, Err(AuthError::UnknownKey));
    }
    assert_eq!(sim.key_fetches(), 2, "one initial fetch and one re-fetch for the unknown kids");
    assert!(v.validate(Some(&valid), SERVICE_URL, TEAMS).await.is_ok());
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_by_the_refetch() {
    let sim = BotLoginSim::start().await;
    let v = validator(&sim);
    let old = bearer(&sim.channel_token(APP_ID, SERVICE_URL));
    assert!(v.validate(Some(&old), SERVICE_URL, TEAMS).await.is_ok());
    let new_kid = sim.rotate();
    let new = bearer(&sim.channel_token(APP_ID, SERVICE_URL));
    assert_eq!(sim.signing_kid(), new_kid);
    assert!(v.validate(Some(&new), SERVICE_URL, TEAMS).await.is_ok());
    assert_eq!(sim.key_fetches(), 2);
    // The retired key is gone from the fresh key set, and asking again fetches nothing.
    assert_eq!(v.validate(Some(&old), SERVICE_URL, TEAMS).await, Err(AuthError::UnknownKey));
    assert_eq!(sim.key_fetches(), 2);
}

#[tokio::test]
async fn a_failed_key_fetch_is_a_typed_rejection_and_the_next_request_retries() {
    let sim = BotLoginSim::start().await;
    let v = validator(&sim);
    let token = bearer(&sim.channel_token(APP_ID, SERVICE_URL));
    sim.fail_next(1, 503);
    match v.validate(Some(&token), SERVICE_URL, TEAMS).await {
        Err(AuthError::KeysUnavailable(detail)) => {
            assert!(detail.contains("503"), "{detail}");
            assert!(!detail.contains(&token[7..]), "the token never reaches an error");
        }
        other => panic!("expected KeysUnavailable, got {other:?}"),
    }
    sim.fail_next(1, 500);
    assert!(matches!(v.validate(Some(&token), SERVICE_URL, TEAMS).await, Err(AuthError::KeysUnavailable(_))));
    assert!(v.validate(Some(&token), SERVICE_URL, TEAMS).await.is_ok());
    assert_eq!(sim.metadata_fetches(), 3);
}

#[tokio::test]
async fn a_foreign_issuer_is_refused_without_fetching_keys() {
    let sim = BotLoginSim::start().await;
    let v = validator(&sim);
    let token = bearer(&sim.broken_token(APP_ID, SERVICE_URL, Broken::WrongIssuer));
    assert_eq!(v.validate(Some(&token), SERVICE_URL, TEAMS).await, Err(AuthError::WrongIssuer));
    let none = bearer(&sim.broken_token(APP_ID, SERVICE_URL, Broken::AlgNone));
    assert_eq!(v.validate(Some(&none), SERVICE_URL, TEAMS).await, Err(AuthError::UnsupportedAlgorithm));
    assert_eq!(sim.metadata_fetches(), 0);
}

#[tokio::test]
async fn the_simulator_serves_documents_shaped_like_bot_frameworks() {
    let fixtures = std::env::var("REFERENCE_FIXTURES")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures").to_owned());
    let path = std::path::Path::new(&fixtures).join("teams/openid-configuration-botframework.json");
    let real: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
            .unwrap();
    let sim = BotLoginSim::start().await;
    let http = reqwest::Client::new();
    let metadata: serde_json::Value = http.get(sim.metadata_url()).send().await.unwrap().json().await.unwrap();
    let keys_of = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys_of(&metadata), keys_of(&real));
    assert_eq!(metadata["issuer"], real["issuer"]);
    let jwks_uri = metadata["jwks_uri"].as_str().unwrap();
    assert!(jwks_uri.starts_with(&sim.url()) && jwks_uri.ends_with("/v1/.well-known/keys"));
    let jwks: serde_json::Value = http.get(jwks_uri).send().await.unwrap().json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert!(keys.len() >= 3);
    for key in keys {
        assert_eq!(key["kty"], "RSA");
        assert_eq!(key["use"], "sig");
        assert!(key["kid"].is_string() && key["n"].as_str().unwrap().len() > 300 && key["e"] == "AQAB", "{key}");
        assert!(key["endorsements"].is_array());
    }
    assert!(keys.iter().any(|k| k["endorsements"].as_array().unwrap().iter().any(|e| e == "msteams")));
    assert_eq!((sim.metadata_fetches(), sim.key_fetches()), (1, 1));
}
