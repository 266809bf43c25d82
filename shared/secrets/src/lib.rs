//! Secrets: the bot's client secret, the management API token and each connection's ilert API
//! key. A secret is a [`SecretString`], whose `Debug` prints `[REDACTED]`, so none can reach a
//! log by accident. Locally secrets come from the environment and a file under the data
//! directory; in Lambda from Secrets Manager, cached for a few minutes so a rotation takes
//! effect without a redeploy.
//!
//! This crate knows Secrets Manager and files; it knows nothing of the domain or of HTTP.

mod file;
mod manager;

pub use file::FileVault;
pub use manager::{SecretsManagerSecret, SecretsManagerVault};
pub use secrecy::{ExposeSecret, SecretString};

use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

/// How long a secret read from Secrets Manager is reused before it is read again.
pub const CACHE_TTL: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secret {name} not found")]
    NotFound { name: String },
    #[error("secret store unavailable: {0}")]
    Unavailable(String),
}

/// One secret value, however it is kept.
#[async_trait]
pub trait SecretSource: Send + Sync {
    async fn get(&self) -> Result<SecretString, SecretError>;
}

/// A secret given as a value (local runs, tests).
pub struct FixedSecret(SecretString);

impl FixedSecret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(SecretString::from(value.into()))
    }
}

#[async_trait]
impl SecretSource for FixedSecret {
    async fn get(&self) -> Result<SecretString, SecretError> {
        Ok(self.0.clone())
    }
}

/// Named secrets we create ourselves (one ilert API key per connection).
#[async_trait]
pub trait SecretVault: Send + Sync {
    /// Stores `value` under `name` (replacing it) and returns the reference to keep.
    async fn put(&self, name: &str, value: SecretString) -> Result<String, SecretError>;
    async fn get(&self, reference: &str) -> Result<SecretString, SecretError>;
    async fn delete(&self, reference: &str) -> Result<(), SecretError>;
}

/// The secret a setting points at: its value, or a cached Secrets Manager read of its ARN.
pub async fn source_for(setting: &config::SecretSetting) -> Arc<dyn SecretSource> {
    match setting {
        config::SecretSetting::Value(v) => Arc::new(FixedSecret(v.clone())),
        config::SecretSetting::SecretArn(arn) => Arc::new(SecretsManagerSecret::from_env(arn.clone()).await),
    }
}

/// Compares a presented secret with the expected one in constant time (no early exit on the
/// first differing byte, so response timing reveals nothing about the secret).
pub fn constant_time_eq(presented: &[u8], expected: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    presented.ct_eq(expected).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_compare_is_exact() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
    }

    #[tokio::test]
    async fn fixed_secrets_do_not_print() {
        let s = FixedSecret::new("hunter2");
        let v = s.get().await.unwrap();
        assert_eq!(v.expose_secret(), "hunter2");
        assert!(!format!("{v:?}").contains("hunter2"));
    }
}
