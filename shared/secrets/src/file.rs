use crate::{SecretError, SecretVault};
use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Named secrets in one JSON file readable only by its owner (local runs).
pub struct FileVault {
    path: PathBuf,
    lock: tokio::sync::Mutex<()>,
}

impl FileVault {
    pub fn new(path: PathBuf) -> Self {
        Self { path, lock: tokio::sync::Mutex::new(()) }
    }

    fn read(&self) -> Result<BTreeMap<String, String>, SecretError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| SecretError::Unavailable(format!("{} is not valid JSON: {e}", self.path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(SecretError::Unavailable(format!("cannot read {}: {e}", self.path.display()))),
        }
    }

    fn write(&self, map: &BTreeMap<String, String>) -> Result<(), SecretError> {
        let fail = |e: std::io::Error| SecretError::Unavailable(format!("cannot write {}: {e}", self.path.display()));
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        let tmp = self.path.with_extension("tmp");
        let bytes = serde_json::to_vec_pretty(map).map_err(|e| SecretError::Unavailable(e.to_string()))?;
        write_private(&tmp, &bytes).map_err(fail)?;
        std::fs::rename(&tmp, &self.path).map_err(fail)
    }
}

#[cfg(unix)]
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[async_trait]
impl SecretVault for FileVault {
    async fn put(&self, name: &str, value: SecretString) -> Result<String, SecretError> {
        let _guard = self.lock.lock().await;
        let mut map = self.read()?;
        map.insert(name.to_owned(), value.expose_secret().to_owned());
        self.write(&map)?;
        Ok(name.to_owned())
    }

    async fn get(&self, reference: &str) -> Result<SecretString, SecretError> {
        let _guard = self.lock.lock().await;
        self.read()?
            .remove(reference)
            .map(SecretString::from)
            .ok_or_else(|| SecretError::NotFound { name: reference.to_owned() })
    }

    async fn delete(&self, reference: &str) -> Result<(), SecretError> {
        let _guard = self.lock.lock().await;
        let mut map = self.read()?;
        if map.remove(reference).is_some() {
            self.write(&map)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stores_reads_and_deletes_privately() {
        let dir = std::env::temp_dir().join(format!("vault-{}", std::process::id()));
        let vault = FileVault::new(dir.join("secrets.json"));
        let r = vault.put("conn-1", SecretString::from("key-1".to_string())).await.unwrap();
        assert_eq!(vault.get(&r).await.unwrap().expose_secret(), "key-1");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("secrets.json")).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "secrets file must not be readable by others");
        }
        vault.delete(&r).await.unwrap();
        assert!(matches!(vault.get(&r).await, Err(SecretError::NotFound { .. })));
        let _ = std::fs::remove_dir_all(dir);
    }
}
