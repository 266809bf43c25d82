use crate::{CACHE_TTL, SecretError, SecretSource, SecretVault};
use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

async fn client_from_env() -> Client {
    Client::new(&aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await)
}

fn unavailable<E: ProvideErrorMetadata, R>(name: &str, e: SdkError<E, R>) -> SecretError {
    match e.as_service_error().and_then(|s| s.code()) {
        Some("ResourceNotFoundException") => SecretError::NotFound { name: name.to_owned() },
        Some(code) => SecretError::Unavailable(format!("Secrets Manager {code} for {name}")),
        None => SecretError::Unavailable(format!("Secrets Manager unreachable for {name}: {e}")),
    }
}

/// Reads the secret behind an ARN, reusing a value for [`CACHE_TTL`].
pub struct SecretsManagerSecret {
    client: Client,
    arn: String,
    cached: tokio::sync::Mutex<Option<(SecretString, Instant)>>,
}

impl SecretsManagerSecret {
    pub fn new(client: Client, arn: String) -> Self {
        Self { client, arn, cached: tokio::sync::Mutex::new(None) }
    }

    pub async fn from_env(arn: String) -> Self {
        Self::new(client_from_env().await, arn)
    }
}

#[async_trait]
impl SecretSource for SecretsManagerSecret {
    async fn get(&self) -> Result<SecretString, SecretError> {
        // Holding the lock across the fetch makes concurrent callers share one read.
        let mut cached = self.cached.lock().await;
        if let Some((value, _)) = cached.as_ref().filter(|(_, at)| at.elapsed() < CACHE_TTL) {
            return Ok(value.clone());
        }
        let out =
            self.client.get_secret_value().secret_id(&self.arn).send().await.map_err(|e| unavailable(&self.arn, e))?;
        let value = SecretString::from(out.secret_string.unwrap_or_default());
        *cached = Some((value.clone(), Instant::now()));
        Ok(value)
    }
}

/// Named secrets in Secrets Manager under a prefix (e.g. `ilert-teams/connections/`).
pub struct SecretsManagerVault {
    client: Client,
    prefix: String,
    cache: Mutex<HashMap<String, (SecretString, Instant)>>,
}

impl SecretsManagerVault {
    pub fn new(client: Client, prefix: impl Into<String>) -> Self {
        Self { client, prefix: prefix.into(), cache: Mutex::new(HashMap::new()) }
    }

    pub async fn from_env(prefix: impl Into<String>) -> Self {
        Self::new(client_from_env().await, prefix)
    }

    fn remember(&self, reference: &str, value: &SecretString) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(reference.to_owned(), (value.clone(), Instant::now()));
        }
    }
}

#[async_trait]
impl SecretVault for SecretsManagerVault {
    async fn put(&self, name: &str, value: SecretString) -> Result<String, SecretError> {
        let full = format!("{}{name}", self.prefix);
        let created = self.client.create_secret().name(&full).secret_string(value.expose_secret()).send().await;
        let arn = match created {
            Ok(out) => out.arn.unwrap_or(full.clone()),
            Err(e) if e.as_service_error().and_then(|s| s.code()) == Some("ResourceExistsException") => {
                let out = self
                    .client
                    .put_secret_value()
                    .secret_id(&full)
                    .secret_string(value.expose_secret())
                    .send()
                    .await
                    .map_err(|e| unavailable(&full, e))?;
                out.arn.unwrap_or(full.clone())
            }
            Err(e) => return Err(unavailable(&full, e)),
        };
        self.remember(&arn, &value);
        Ok(arn)
    }

    async fn get(&self, reference: &str) -> Result<SecretString, SecretError> {
        let cached =
            self.cache.lock().ok().and_then(|c| c.get(reference).filter(|(_, at)| at.elapsed() < CACHE_TTL).cloned());
        if let Some((value, _)) = cached {
            return Ok(value);
        }
        let out =
            self.client.get_secret_value().secret_id(reference).send().await.map_err(|e| unavailable(reference, e))?;
        let value = SecretString::from(out.secret_string.unwrap_or_default());
        self.remember(reference, &value);
        Ok(value)
    }

    async fn delete(&self, reference: &str) -> Result<(), SecretError> {
        if let Ok(mut cache) = self.cache.lock() {
            cache.remove(reference);
        }
        match self.client.delete_secret().secret_id(reference).force_delete_without_recovery(true).send().await {
            Ok(_) => Ok(()),
            Err(e) => match unavailable(reference, e) {
                SecretError::NotFound { .. } => Ok(()),
                other => Err(other),
            },
        }
    }
}
