use std::time::Duration;

/// What went wrong talking to ilert. Messages come from ilert's `{status, message, code}`
/// error body and never contain the API key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IlertError {
    /// 403 `KEY_ERROR`: the connection needs a new key; retrying cannot help.
    #[error("the ilert API key is invalid or revoked")]
    InvalidApiKey,
    /// 401: no usable credentials were presented.
    #[error("ilert refused the request as unauthenticated: {message}")]
    Unauthorized { message: String },
    /// 403 other than `KEY_ERROR`: the key's user lacks a permission, or an OAuth token lacks
    /// a scope (`OAUTH2_SCOPE_ERROR`).
    #[error("ilert denied permission ({code}): {message}")]
    Forbidden { code: String, message: String },
    /// 404; ilert also answers this for entities the key's user may not see.
    #[error("not found in ilert: {message}")]
    NotFound { message: String },
    /// 402: the ilert plan does not include this (`FEATURE_REQUIRED`, `QUOTA_EXCEEDED`).
    #[error("the ilert plan does not allow this ({code}): {message}")]
    PlanLimit { code: String, message: String },
    /// 400, with ilert's explanation.
    #[error("ilert rejected the request: {message}")]
    BadRequest { message: String },
    /// Another 4xx, e.g. 405 "responder is already present on the alert".
    #[error("ilert answered {status} ({code}): {message}")]
    Rejected { status: u16, code: String, message: String },
    /// 429 that could not be waited out before the deadline. ilert sends no `Retry-After`;
    /// `retry_after` is the jittered back-off this client would have waited.
    #[error("ilert rate limit reached; retry in {}s", retry_after.as_secs())]
    Throttled { retry_after: Duration },
    /// 5xx, a network failure or no answer before the deadline; a later retry may work.
    #[error("ilert unavailable: {message}")]
    Transient { status: Option<u16>, message: String },
    /// A success status with a body that does not match the spec.
    #[error("unexpected answer from ilert: {0}")]
    UnexpectedResponse(String),
}

impl IlertError {
    /// Whether the same request may succeed later unchanged.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Throttled { .. } | Self::Transient { .. })
    }

    /// How long to wait before trying again, when ilert said so by throttling.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Throttled { retry_after } => Some(*retry_after),
            _ => None,
        }
    }
}
