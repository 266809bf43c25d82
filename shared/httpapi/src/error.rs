//! The error answer of every JSON API: `{"error": {"code", "message", "field"?}}`.

use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use domain::store::StoreError;
use secrets::SecretError;
use serde::Serialize;

pub type ApiResult<T> = Result<T, ApiError>;

/// Why a request failed, as the caller is told. Each variant has one status code and one
/// stable `code` string that clients may switch on; `message` is for people.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 `invalid`: the request, or the value of `field` in it, is not acceptable.
    #[error("{}", invalid_message(field.as_deref(), reason))]
    Invalid { field: Option<String>, reason: String },
    /// 401 `unauthorized`, with `WWW-Authenticate: Bearer`. Deliberately says nothing about
    /// whether the token was missing, malformed or wrong.
    #[error("a valid bearer token is required (Authorization: Bearer <token>)")]
    Unauthorized,
    /// 403 `forbidden`: authenticated, but not allowed to do this.
    #[error("{0}")]
    Forbidden(String),
    /// 404 `not_found`.
    #[error("{0}")]
    NotFound(String),
    /// 405 `method_not_allowed`; the router adds the `Allow` header.
    #[error("this method is not allowed on this path")]
    MethodNotAllowed,
    /// 409 `conflict`: the request contradicts the current state (a duplicate, a lost race).
    #[error("{0}")]
    Conflict(String),
    /// 413 `payload_too_large`.
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// 415 `unsupported_media_type`.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 503 `not_configured`: a setting this endpoint needs is missing; the message names the
    /// variable to set.
    #[error(transparent)]
    NotConfigured(#[from] config::Missing),
    /// 503 `unavailable`: a backend (state store, secret store) did not answer; retrying later
    /// may work. The detail is logged, the caller gets a generic message.
    #[error("backend unavailable: {0}")]
    Unavailable(String),
    /// 500 `internal`. The detail is logged, the caller gets a generic message.
    #[error("internal error: {0}")]
    Internal(String),
}

fn invalid_message(field: Option<&str>, reason: &str) -> String {
    match field {
        Some(field) => format!("{field}: {reason}"),
        None => reason.to_owned(),
    }
}

impl ApiError {
    /// 400 about one field of the request (`field` as the client spells it, e.g. `tenantId`
    /// or `priorities[0]`).
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid { field: Some(field.into()), reason: reason.into() }
    }

    /// 400 about the request as a whole.
    pub fn invalid_request(reason: impl Into<String>) -> Self {
        Self::Invalid { field: None, reason: reason.into() }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(message.into())
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict(message.into())
    }

    /// 500 whose `detail` is logged but never shown.
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::Internal(detail.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Invalid { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::NotConfigured(_) | Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable, machine-readable `code` of the body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid { .. } => "invalid",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict(_) => "conflict",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::NotConfigured(_) => "not_configured",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }

    /// The field the error is about, if it is about one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Invalid { field, .. } => field.as_deref(),
            _ => None,
        }
    }

    /// What the caller is told. Server-side failures are generic so no internal detail
    /// (table names, ARNs, SDK messages) leaks; the detail is in the log line.
    pub fn public_message(&self) -> String {
        match self {
            Self::Unavailable(_) => "a backend service is temporarily unavailable; try again shortly".to_owned(),
            Self::Internal(_) => "something went wrong on our side; the details are in our logs".to_owned(),
            other => other.to_string(),
        }
    }
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: Body<'a>,
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            // Logged here, inside the request span, so the line carries the correlation id.
            Self::Internal(detail) => tracing::error!(error = %detail, "request failed"),
            Self::Unavailable(detail) => tracing::warn!(error = %detail, "request failed: backend unavailable"),
            Self::NotConfigured(missing) => tracing::warn!(var = missing.var, "request refused: not configured"),
            // Client errors are routine; the field name is enough to debug them, and the
            // message could echo submitted values.
            other => tracing::debug!(code = other.code(), field = other.field(), "request rejected"),
        }
        let body = Envelope { error: Body { code: self.code(), message: self.public_message(), field: self.field() } };
        let mut response = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    /// Callers that expect a conflict (a duplicate, a stale version) match it themselves and
    /// say what it means; one reaching this conversion is reported generically.
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(_) => {
                Self::Conflict("the item was changed by another request at the same time; reload it and retry".into())
            }
            StoreError::Unavailable(detail) => Self::Unavailable(detail),
            e @ (StoreError::Corrupt { .. } | StoreError::Invalid(_)) => Self::Internal(e.to_string()),
        }
    }
}

impl From<SecretError> for ApiError {
    fn from(e: SecretError) -> Self {
        match e {
            SecretError::Unavailable(detail) => Self::Unavailable(detail),
            // A secret we reference but cannot find is our inconsistency, not the caller's.
            not_found @ SecretError::NotFound { .. } => Self::Internal(not_found.to_string()),
        }
    }
}

/// A router's fallback: a JSON 404 for a path no route matches.
pub async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::NotFound(format!("there is no endpoint {method} {}", uri.path()))
}

/// A router's `method_not_allowed_fallback`: a JSON 405 (axum still adds `Allow`).
pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(e: ApiError) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
        let response = e.into_response();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, headers, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn invalid_names_the_field() {
        let (status, _, body) = body_of(ApiError::invalid("name", "must not be empty")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body,
            serde_json::json!({"error": {"code": "invalid", "message": "name: must not be empty", "field": "name"}})
        );
    }

    #[tokio::test]
    async fn unauthorized_asks_for_a_bearer_token() {
        let (status, headers, body) = body_of(ApiError::Unauthorized).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
        assert_eq!(body["error"]["code"], "unauthorized");
        assert!(body["error"].get("field").is_none());
    }

    #[tokio::test]
    async fn missing_settings_name_the_variable() {
        let missing = config::Missing { var: "ADMIN_TOKEN", meaning: "the management API's bearer token" };
        let (status, _, body) = body_of(missing.into()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["error"]["code"], "not_configured");
        assert_eq!(body["error"]["message"], "ADMIN_TOKEN is not set: the management API's bearer token");
    }

    #[tokio::test]
    async fn server_errors_hide_their_detail() {
        let (status, _, body) = body_of(ApiError::internal("table ilert-prod: item corrupt")).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!body.to_string().contains("ilert-prod"));
        let (status, _, body) = body_of(StoreError::Unavailable("dynamodb.eu-west-1 timed out".into()).into()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(!body.to_string().contains("dynamodb"));
    }

    #[tokio::test]
    async fn every_status_has_its_code() {
        let cases = [
            (ApiError::Forbidden("no".into()), 403, "forbidden"),
            (ApiError::not_found("no such connection"), 404, "not_found"),
            (ApiError::MethodNotAllowed, 405, "method_not_allowed"),
            (ApiError::conflict("exists"), 409, "conflict"),
            (ApiError::PayloadTooLarge { limit: 10 }, 413, "payload_too_large"),
            (ApiError::UnsupportedMediaType("json only".into()), 415, "unsupported_media_type"),
        ];
        for (error, status, code) in cases {
            let (got, _, body) = body_of(error).await;
            assert_eq!(got.as_u16(), status);
            assert_eq!(body["error"]["code"], code);
            assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
    }
}
