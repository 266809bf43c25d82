//! Bearer-token authentication (`Authorization: Bearer <token>`, RFC 6750).
//!
//! The token is compared in constant time and never logged or echoed: failures say only
//! "a valid bearer token is required", whatever was wrong.

use crate::ApiError;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrets::{ExposeSecret, SecretSource, SecretString};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The token presented in the request's one `Authorization` header, if it is exactly
/// `Bearer <token>`: the scheme (case-insensitive, as RFC 9110 §11.1 says), one space, and a
/// token of visible ASCII without spaces. Anything else (no header, two headers, another
/// scheme, stray whitespace) is `None`.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    let (scheme, token) = value.to_str().ok()?.split_once(' ')?;
    let well_formed =
        scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic());
    well_formed.then_some(token)
}

/// Checks the request's bearer token against `expected`, in constant time.
pub fn verify_bearer(headers: &HeaderMap, expected: &SecretString) -> Result<(), ApiError> {
    let presented = bearer_token(headers).ok_or(ApiError::Unauthorized)?;
    let expected = expected.expose_secret();
    if expected.is_empty() {
        // An empty secret would make every comparison fail anyway; say why in the log.
        return Err(ApiError::internal("the configured bearer token is empty"));
    }
    // Comparing digests rather than the raw values keeps the comparison's duration
    // independent of the expected token's length too.
    let matches =
        secrets::constant_time_eq(&Sha256::digest(presented.as_bytes()), &Sha256::digest(expected.as_bytes()));
    if matches { Ok(()) } else { Err(ApiError::Unauthorized) }
}

/// The token a group of routes expects: a secret source, or, when none is configured, the
/// setting that is missing (its routes answer 503 naming it).
#[derive(Clone)]
pub struct BearerAuth {
    expected: Option<Arc<dyn SecretSource>>,
    missing: config::Missing,
}

impl BearerAuth {
    pub fn new(expected: Option<Arc<dyn SecretSource>>, missing: config::Missing) -> Self {
        Self { expected, missing }
    }

    /// 503 when no token is configured, 401 when the request's is missing or wrong, 503 when
    /// the secret store cannot be read.
    pub async fn check(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let source = self.expected.as_ref().ok_or_else(|| ApiError::NotConfigured(self.missing.clone()))?;
        // Refuse a malformed header before reading the secret store.
        bearer_token(headers).ok_or(ApiError::Unauthorized)?;
        let expected = source.get().await?;
        verify_bearer(headers, &expected)
    }
}

/// Middleware (`axum::middleware::from_fn_with_state(auth, require_bearer)`) that lets a
/// request through only with the expected bearer token.
pub async fn require_bearer(State(auth): State<BearerAuth>, request: Request, next: Next) -> Response {
    match auth.check(request.headers()).await {
        Ok(()) => next.run(request).await,
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderValue, StatusCode};
    use secrets::FixedSecret;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn parses_exactly_one_bearer_token() {
        assert_eq!(bearer_token(&headers(&["Bearer abc.def"])), Some("abc.def"));
        assert_eq!(bearer_token(&headers(&["bearer abc"])), Some("abc"));
        for bad in
            [&[][..], &["Basic abc"], &["Bearer"], &["Bearer "], &["Bearer  abc"], &["Bearer a b"], &["Bearerabc"]]
        {
            assert_eq!(bearer_token(&headers(bad)), None, "{bad:?}");
        }
        assert_eq!(bearer_token(&headers(&["Bearer a", "Bearer a"])), None);
    }

    #[test]
    fn verifies_in_constant_time_against_the_secret() {
        let expected = SecretString::from("s3cret-token".to_owned());
        assert!(verify_bearer(&headers(&["Bearer s3cret-token"]), &expected).is_ok());
        for wrong in ["Bearer s3cret-toke", "Bearer s3cret-token2", "Bearer S3CRET-TOKEN", "Basic s3cret-token"] {
            let e = verify_bearer(&headers(&[wrong]), &expected).unwrap_err();
            assert_eq!(e.status(), StatusCode::UNAUTHORIZED, "{wrong}");
        }
    }

    #[tokio::test]
    async fn unconfigured_is_503_naming_the_variable() {
        let missing = config::Missing { var: "ADMIN_TOKEN", meaning: "the token" };
        let auth = BearerAuth::new(None, missing);
        let e = auth.check(&headers(&["Bearer x"])).await.unwrap_err();
        assert_eq!(e.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(e.public_message().starts_with("ADMIN_TOKEN is not set"));

        let auth = BearerAuth::new(Some(Arc::new(FixedSecret::new("t"))), config::Missing { var: "X", meaning: "" });
        assert!(auth.check(&headers(&["Bearer t"])).await.is_ok());
        assert_eq!(auth.check(&headers(&[])).await.unwrap_err().status(), StatusCode::UNAUTHORIZED);
    }
}
