//! Validation of the channel tokens the Bot Connector sends with every activity, as
//! Microsoft specifies it (Bot Connector authentication, "Connector to Bot"; botbuilder's
//! `ChannelValidation`), with the optional checks made mandatory.
//!
//! The HTTP layer calls [`ChannelValidator::validate`] with the `Authorization` header and the
//! activity's `serviceUrl` and `channelId` before it acts on anything else in the body, and
//! answers 401 on any [`AuthError`].

use crate::keys::{self, FetchError, KeyCache, Lookup};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use std::sync::Arc;
use url::Url;

/// Clock skew allowed on `exp` and `nbf`, in seconds (Microsoft: five minutes).
pub const CLOCK_SKEW_SECS: u64 = 300;

/// Why a request's token was refused. `Display` is a short reason, safe to log and to answer
/// with; it never contains the token or any of its claims.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The request has no (or an empty) `Authorization` header.
    #[error("no Authorization header")]
    MissingHeader,
    /// The scheme is not exactly `Bearer`.
    #[error("Authorization scheme is not Bearer")]
    WrongScheme,
    /// The header is not exactly two parts separated by one space.
    #[error("Authorization header is not `Bearer <token>`")]
    MalformedHeader,
    /// The token is not three base64url JSON parts, or its claims are unusable.
    #[error("token is not a well-formed JWT")]
    MalformedToken,
    /// `alg` is `none`, an HMAC or anything but RS256/RS384/RS512.
    #[error("token algorithm is not RS256, RS384 or RS512")]
    UnsupportedAlgorithm,
    /// No published key has the token's `kid` (or it has none), even after a re-fetch.
    #[error("signing key could not be retrieved")]
    UnknownKey,
    /// The published key names another `alg` than the token's.
    #[error("token algorithm does not match its signing key")]
    KeyAlgorithmMismatch,
    /// The signature does not verify with the published key.
    #[error("token signature is invalid")]
    BadSignature,
    /// `iss` is not the configured issuer.
    #[error("token issuer is not the Bot Framework")]
    WrongIssuer,
    /// `aud` is not the bot's app id.
    #[error("token audience is not this bot")]
    WrongAudience,
    /// `exp` is more than the skew in the past.
    #[error("token has expired")]
    Expired,
    /// `nbf` is more than the skew in the future.
    #[error("token is not valid yet")]
    NotYetValid,
    /// The token has no `serviceurl` claim.
    #[error("token has no serviceurl claim")]
    MissingServiceUrl,
    /// The `serviceurl` claim is not byte-equal to the activity's `serviceUrl`.
    #[error("token serviceurl does not match the activity's serviceUrl")]
    ServiceUrlMismatch,
    /// The signing key lists endorsements and the activity's channel is not among them.
    #[error("signing key is not endorsed for the activity's channel")]
    NotEndorsed,
    /// The signing keys could not be fetched; the detail names only which document and status.
    #[error("signing keys unavailable: {0}")]
    KeysUnavailable(String),
}

/// Where channel tokens come from and whom they must be for.
#[derive(Debug, Clone)]
pub struct ChannelAuthConfig {
    /// `BOT_OPENID_METADATA_URL`.
    pub metadata_url: Url,
    /// `BOT_TOKEN_ISSUER`: the exact `iss` required.
    pub issuer: String,
    /// `BOT_APP_ID`: the exact `aud` required.
    pub app_id: String,
}

impl ChannelAuthConfig {
    /// The configured metadata URL and issuer (`BOT_OPENID_METADATA_URL`, `BOT_TOKEN_ISSUER`)
    /// for the bot `app_id` (`BOT_APP_ID`).
    pub fn from_endpoints(endpoints: &config::Endpoints, app_id: impl Into<String>) -> Self {
        Self {
            metadata_url: endpoints.bot_openid_metadata_url.clone(),
            issuer: endpoints.bot_token_issuer.clone(),
            app_id: app_id.into(),
        }
    }
}

/// What a valid token vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelIdentity {
    /// The bot app id the token was issued to (its `aud`).
    pub app_id: String,
    /// The serviceUrl the token binds the activity to: safe to send the bot's token to.
    pub service_url: String,
    /// `exp`, seconds since the epoch.
    pub expires_at: u64,
}

/// Validates channel tokens for one bot. Cheap to clone; the key cache behind it is shared by
/// every validator of the same metadata URL in the process.
#[derive(Clone)]
pub struct ChannelValidator {
    http: reqwest::Client,
    config: Arc<ChannelAuthConfig>,
    keys: Arc<KeyCache>,
}

#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    kid: Option<String>,
}

/// Claims whose type is ours to judge: a wrongly typed one parses as absent or unusable
/// rather than failing the whole token as malformed.
#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    iss: Option<serde_json::Value>,
    #[serde(default)]
    aud: Option<serde_json::Value>,
    #[serde(default)]
    serviceurl: Option<serde_json::Value>,
    #[serde(default)]
    exp: Option<serde_json::Value>,
}

fn allowed_algorithm(alg: &str) -> Option<Algorithm> {
    match alg {
        "RS256" => Some(Algorithm::RS256),
        "RS384" => Some(Algorithm::RS384),
        "RS512" => Some(Algorithm::RS512),
        _ => None,
    }
}

fn decode_part<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, AuthError> {
    let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|_| AuthError::MalformedToken)?;
    serde_json::from_slice(&bytes).map_err(|_| AuthError::MalformedToken)
}

fn bearer_token(authorization: Option<&str>) -> Result<&str, AuthError> {
    let header = authorization.filter(|h| !h.is_empty()).ok_or(AuthError::MissingHeader)?;
    let mut parts = header.split(' ');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("Bearer"), Some(token), None) if !token.is_empty() => Ok(token),
        (Some(scheme), _, _) if scheme != "Bearer" => Err(AuthError::WrongScheme),
        _ => Err(AuthError::MalformedHeader),
    }
}

impl ChannelValidator {
    /// A validator using `http` to fetch the signing keys.
    pub fn new(http: reqwest::Client, config: ChannelAuthConfig) -> Self {
        let keys = keys::cache_for(&config.metadata_url);
        Self { http, config: Arc::new(config), keys }
    }

    /// Checks the `Authorization` header of an activity whose body says `service_url` and
    /// `channel_id`. Only on `Ok` may the body be trusted, and only the returned serviceUrl
    /// be sent the bot's token.
    pub async fn validate(
        &self,
        authorization: Option<&str>,
        service_url: &str,
        channel_id: &str,
    ) -> Result<ChannelIdentity, AuthError> {
        let token = bearer_token(authorization)?;
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(_signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthError::MalformedToken);
        };
        let header: RawHeader = decode_part(header)?;
        let alg = allowed_algorithm(&header.alg).ok_or(AuthError::UnsupportedAlgorithm)?;

        // Decided before any key work, as the SDK does: a foreign issuer is not ours to verify
        // and must not make us fetch keys.
        let unverified: Claims = decode_part(payload)?;
        if unverified.iss.as_ref().and_then(|i| i.as_str()) != Some(self.config.issuer.as_str()) {
            return Err(AuthError::WrongIssuer);
        }

        let kid = header.kid.ok_or(AuthError::UnknownKey)?;
        let key = match self.keys.lookup(&self.http, &kid).await {
            Ok(Lookup::Found(key)) => key,
            Ok(Lookup::Unknown) => return Err(AuthError::UnknownKey),
            Err(FetchError(detail)) => return Err(AuthError::KeysUnavailable(detail)),
        };
        if key.alg.as_deref().is_some_and(|a| a != header.alg) {
            return Err(AuthError::KeyAlgorithmMismatch);
        }

        let mut validation = Validation::new(alg);
        validation.leeway = CLOCK_SKEW_SECS;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "iss"]);
        validation.set_issuer(&[self.config.issuer.as_str()]);
        // Checked below, exactly: the library would also accept an array containing the app id.
        validation.validate_aud = false;
        let claims = jsonwebtoken::decode::<Claims>(token, &key.key, &validation)
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidSignature => AuthError::BadSignature,
                ErrorKind::ExpiredSignature => AuthError::Expired,
                ErrorKind::ImmatureSignature => AuthError::NotYetValid,
                ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => AuthError::UnsupportedAlgorithm,
                _ => AuthError::MalformedToken,
            })?
            .claims;

        if claims.aud.as_ref().and_then(|a| a.as_str()) != Some(self.config.app_id.as_str()) {
            return Err(AuthError::WrongAudience);
        }
        let claimed = claims.serviceurl.as_ref().ok_or(AuthError::MissingServiceUrl)?;
        if claimed.as_str() != Some(service_url) {
            return Err(AuthError::ServiceUrlMismatch);
        }
        // An empty channel id cannot be among a key's endorsements, so it fails here too
        // (the SDK would skip the check).
        if !key.endorsements.is_empty() && !key.endorsements.iter().any(|e| e == channel_id) {
            return Err(AuthError::NotEndorsed);
        }
        Ok(ChannelIdentity {
            app_id: self.config.app_id.clone(),
            service_url: service_url.to_owned(),
            expires_at: claims.exp.as_ref().and_then(|e| e.as_u64()).unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_must_be_exactly_bearer_and_a_token() {
        assert_eq!(bearer_token(None), Err(AuthError::MissingHeader));
        assert_eq!(bearer_token(Some("")), Err(AuthError::MissingHeader));
        assert_eq!(bearer_token(Some("bearer abc")), Err(AuthError::WrongScheme));
        assert_eq!(bearer_token(Some("Basic abc")), Err(AuthError::WrongScheme));
        assert_eq!(bearer_token(Some("Bearer")), Err(AuthError::MalformedHeader));
        assert_eq!(bearer_token(Some("Bearer ")), Err(AuthError::MalformedHeader));
        assert_eq!(bearer_token(Some("Bearer  abc")), Err(AuthError::MalformedHeader));
        assert_eq!(bearer_token(Some("Bearer a b")), Err(AuthError::MalformedHeader));
        assert_eq!(bearer_token(Some("Bearer abc")), Ok("abc"));
    }

    #[test]
    fn only_rsa_pkcs1_algorithms_are_allowed() {
        for alg in ["none", "HS256", "HS512", "PS256", "ES256", "EdDSA", "rs256", ""] {
            assert_eq!(allowed_algorithm(alg), None, "{alg}");
        }
        assert_eq!(allowed_algorithm("RS384"), Some(Algorithm::RS384));
    }
}
