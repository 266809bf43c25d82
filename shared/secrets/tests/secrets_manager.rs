//! Secrets Manager adapters against a real Secrets Manager API (moto's server, started by the
//! test command, found through `AWS_ENDPOINT_URL`).

use secrets::{
    ExposeSecret, SecretError, SecretSource, SecretString, SecretVault, SecretsManagerSecret, SecretsManagerVault,
};

async fn client() -> aws_sdk_secretsmanager::Client {
    assert!(
        std::env::var("AWS_ENDPOINT_URL").is_ok(),
        "AWS_ENDPOINT_URL is not set: run the README's test command, which starts a local Secrets Manager"
    );
    aws_sdk_secretsmanager::Client::new(&aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await)
}

fn unique(name: &str) -> String {
    format!(
        "{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    )
}

#[tokio::test]
async fn a_secret_is_read_once_and_then_served_from_the_cache() {
    let client = client().await;
    let arn =
        client.create_secret().name(unique("bot-password")).secret_string("first").send().await.unwrap().arn.unwrap();
    let secret = SecretsManagerSecret::new(client.clone(), arn.clone());
    assert_eq!(secret.get().await.unwrap().expose_secret(), "first");
    // A rotation is picked up once the cache expires (5 minutes), not on every call.
    client.put_secret_value().secret_id(&arn).secret_string("second").send().await.unwrap();
    assert_eq!(secret.get().await.unwrap().expose_secret(), "first");
    let fresh = SecretsManagerSecret::new(client, arn);
    assert_eq!(fresh.get().await.unwrap().expose_secret(), "second");
}

#[tokio::test]
async fn an_unknown_secret_is_not_found() {
    let secret =
        SecretsManagerSecret::new(client().await, "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope".into());
    assert!(matches!(secret.get().await, Err(SecretError::NotFound { .. })));
}

#[tokio::test]
async fn the_vault_creates_replaces_reads_and_deletes_named_secrets() {
    let client = client().await;
    let vault = SecretsManagerVault::new(client.clone(), format!("{}/", unique("ilert-teams")));
    let reference = vault.put("connections/c1/ilert-api-key", SecretString::from("key-1".to_string())).await.unwrap();
    assert!(reference.starts_with("arn:"), "{reference}");
    assert_eq!(vault.get(&reference).await.unwrap().expose_secret(), "key-1");
    let again = vault.put("connections/c1/ilert-api-key", SecretString::from("key-2".to_string())).await.unwrap();
    assert_eq!(vault.get(&again).await.unwrap().expose_secret(), "key-2");
    vault.delete(&again).await.unwrap();
    let other = SecretsManagerVault::new(client, "unused/");
    assert!(matches!(other.get(&again).await, Err(SecretError::NotFound { .. })));
    vault.delete(&again).await.unwrap();
}
