//! The per-connection webhook secret: shown once, stored only as a hash.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

/// Random bytes per secret: 256 bits, beyond guessing.
const SECRET_BYTES: usize = 32;

/// A fresh webhook secret. Deliberately neither `Debug` nor `Serialize`: it leaves only
/// through [`WebhookSecret::reveal`], into the one response that shows it.
pub struct WebhookSecret(String);

impl WebhookSecret {
    /// 32 bytes from the thread-local CSPRNG (ChaCha, seeded and reseeded from the OS),
    /// URL-safe base64 without padding (43 characters), so it fits a URL or header as is.
    pub fn generate() -> Self {
        let mut bytes = [0u8; SECRET_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// What [`domain::model::Connection::webhook_secret_sha256`] keeps.
    pub fn sha256_hex(&self) -> String {
        sha256_hex(&self.0)
    }

    pub fn reveal(self) -> String {
        self.0
    }
}

/// Lower-case hex SHA-256 of the secret's UTF-8 text, exactly as shown to the admin.
pub fn sha256_hex(secret: &str) -> String {
    domain::model::Connection::hash_webhook_secret(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_url_safe_and_distinct() {
        let a = WebhookSecret::generate();
        let b = WebhookSecret::generate();
        let (ha, hb) = (a.sha256_hex(), b.sha256_hex());
        let (a, b) = (a.reveal(), b.reveal());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), SECRET_BYTES);
        assert_eq!(ha, sha256_hex(&a));
        assert_ne!(ha, hb);
        assert_eq!(ha.len(), 64);
    }
}
