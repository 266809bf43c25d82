//! Graph's error model (`{"error":{"code","message","innerError":{…}}}`, graph.md §6) and the
//! typed errors every call returns.

use crate::names::ChannelNameError;
use serde::Deserialize;
use serde_json::Value;
use std::fmt;
use std::time::Duration;

/// The body Graph sends with a failed request.
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorResponse {
    pub error: ErrorDetail,
}

/// `error` of an [`ErrorResponse`]. `innerError` is kept as JSON: its shape varies by service
/// and it may nest further `innerError` objects.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ErrorDetail {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default, rename = "innerError", alias = "innererror")]
    pub inner_error: Option<Value>,
}

/// What Graph said about one failed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphFailure {
    pub status: u16,
    /// `error.code`; may be empty (some services send `""`).
    pub code: String,
    /// Developer text: not localised and liable to change, so only the documented
    /// duplicate-channel-name case looks at it.
    pub message: String,
    /// Codes of the nested `innerError` objects, outermost first.
    pub inner_codes: Vec<String>,
    /// `innerError.request-id` (or the `request-id` header): quote it to Microsoft support.
    pub request_id: Option<String>,
}

impl GraphFailure {
    /// Reads a Graph error body; a body that is not one still gives a failure with the status.
    pub fn from_body(status: u16, body: &[u8], header_request_id: Option<&str>) -> Self {
        let detail = serde_json::from_slice::<ErrorResponse>(body).map(|r| r.error).unwrap_or_default();
        let mut inner_codes = Vec::new();
        let mut request_id = None;
        let mut inner = detail.inner_error.as_ref();
        while let Some(Value::Object(map)) = inner {
            if let Some(code) = map.get("code").and_then(value_text) {
                inner_codes.push(code);
            }
            if request_id.is_none() {
                request_id = map.get("request-id").and_then(value_text);
            }
            inner = map.get("innerError").or_else(|| map.get("innererror"));
        }
        GraphFailure {
            status,
            code: detail.code,
            message: detail.message,
            inner_codes,
            request_id: request_id.or_else(|| header_request_id.map(str::to_owned)),
        }
    }

    /// Whether `error.code` or any nested code is `code`, ignoring case: services spell the
    /// same code differently (`nameAlreadyExists` / `NameAlreadyExists`).
    pub fn has_code(&self, code: &str) -> bool {
        self.code.eq_ignore_ascii_case(code) || self.inner_codes.iter().any(|c| c.eq_ignore_ascii_case(code))
    }
}

fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl fmt::Display for GraphFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if !self.code.is_empty() {
            write!(f, " {}", self.code)?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request-id {id})")?;
        }
        Ok(())
    }
}

/// Every way a Graph call can fail. Tokens never appear in these.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// Refused on our side before calling Graph (graph.md §1.2).
    #[error("invalid channel name: {0}")]
    InvalidChannelName(#[from] ChannelNameError),
    /// A request we would not send, or a link we would not follow.
    #[error("invalid Graph request: {0}")]
    Invalid(String),
    #[error("Graph rejected the request: {0}")]
    BadRequest(GraphFailure),
    /// Graph refused the token even after a fresh one was fetched.
    #[error("Graph did not accept the app's token: {0}")]
    Unauthorized(GraphFailure),
    /// Usually a missing application permission or admin consent.
    #[error("the app lacks the Graph application permission {permission}; grant it and admin-consent ({failure})")]
    Forbidden { permission: &'static str, failure: GraphFailure },
    #[error("not found in Graph: {0}")]
    NotFound(GraphFailure),
    /// 409, or a 400 saying the name or reference already exists (e.g. a duplicate channel
    /// name, which Graph answers with 400 `NameAlreadyExists` or `BadRequest`).
    #[error("conflict in Graph: {0}")]
    Conflict(GraphFailure),
    /// The delta token expired (`syncStateNotFound`, `resyncRequired` or 410 Gone): drop the
    /// stored deltaLink and start a full sync.
    #[error("the delta token is no longer valid, a full resync is needed: {0}")]
    ResyncRequired(GraphFailure),
    /// Throttled, and waiting would pass the caller's deadline: re-queue with this delay.
    #[error("throttled by Graph; retry after {retry_after:?}")]
    Throttled { retry_after: Duration, request_id: Option<String> },
    /// 5xx, a timeout or a broken connection. For a create, the outcome is unknown.
    #[error("Graph temporarily unavailable: {detail}")]
    Transient { status: Option<u16>, retry_after: Option<Duration>, detail: String },
    /// The caller's deadline passed before the request could be sent.
    #[error("the deadline passed before the Graph request was sent")]
    DeadlineExceeded,
    #[error("Graph failed: {0}")]
    Other(GraphFailure),
    #[error("no Graph token: {0}")]
    Token(#[from] entra::TokenError),
    /// Graph answered something that is not what the API documents.
    #[error("unexpected response from Graph: {0}")]
    InvalidResponse(String),
}

impl GraphError {
    /// How long to wait before trying again, when trying again can help.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            GraphError::Throttled { retry_after, .. } => Some(*retry_after),
            GraphError::Transient { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether the same request may succeed later without any change.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            GraphError::Throttled { .. }
                | GraphError::Transient { .. }
                | GraphError::DeadlineExceeded
                | GraphError::Token(entra::TokenError::Unavailable(_))
        )
    }

    /// The Graph failure behind this error, if Graph answered.
    pub fn failure(&self) -> Option<&GraphFailure> {
        match self {
            GraphError::BadRequest(f)
            | GraphError::Unauthorized(f)
            | GraphError::NotFound(f)
            | GraphError::Conflict(f)
            | GraphError::ResyncRequired(f)
            | GraphError::Other(f)
            | GraphError::Forbidden { failure: f, .. } => Some(f),
            _ => None,
        }
    }
}

/// Stands in for the permission in the 403 hint when the caller did not name one.
pub(crate) const UNNAMED_PERMISSION: &str = "this request needs";

/// Maps a non-success answer to its typed error. `permission` names what the call needs, for
/// the 403 hint.
pub(crate) fn classify(failure: GraphFailure, retry_after: Option<Duration>, permission: &'static str) -> GraphError {
    let permission = if permission.is_empty() { UNNAMED_PERMISSION } else { permission };
    let status = failure.status;
    if status == 410 || failure.has_code("syncStateNotFound") || failure.has_code("resyncRequired") {
        return GraphError::ResyncRequired(failure);
    }
    match status {
        400 if failure.has_code("nameAlreadyExists") || mentions_existing(&failure.message) => {
            GraphError::Conflict(failure)
        }
        409 => GraphError::Conflict(failure),
        400 => GraphError::BadRequest(failure),
        401 => GraphError::Unauthorized(failure),
        403 => GraphError::Forbidden { permission, failure },
        404 => GraphError::NotFound(failure),
        429 => GraphError::Throttled {
            retry_after: retry_after.unwrap_or(crate::retry::THROTTLED_FALLBACK),
            request_id: failure.request_id,
        },
        500 | 502 | 503 | 504 => {
            GraphError::Transient { status: Some(status), retry_after, detail: failure.to_string() }
        }
        _ => GraphError::Other(failure),
    }
}

/// Teams says "Channel name already existed" with code `BadRequest`; the directory says "One or
/// more added object references already exist" for a member added twice.
fn mentions_existing(message: &str) -> bool {
    message.to_ascii_lowercase().contains("already exist")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(status: u16, body: &str) -> GraphFailure {
        GraphFailure::from_body(status, body.as_bytes(), None)
    }

    #[test]
    fn walks_nested_inner_errors() {
        let f = failure(
            400,
            r#"{"error":{"code":"BadRequest","message":"m","innerError":{"code":"outer","request-id":"r1",
                "innerError":{"code":"SyncStateNotFound"}}}}"#,
        );
        assert_eq!(f.inner_codes, ["outer", "SyncStateNotFound"]);
        assert_eq!(f.request_id.as_deref(), Some("r1"));
        assert!(matches!(classify(f, None, "User.Read.All"), GraphError::ResyncRequired(_)));
    }

    #[test]
    fn duplicate_channel_names_are_conflicts_in_both_spellings() {
        let msg = "Channel name already existed, please use other name";
        for code in ["BadRequest", "NameAlreadyExists", "nameAlreadyExists"] {
            let body = format!(r#"{{"error":{{"code":"{code}","message":"{msg}"}}}}"#);
            assert!(matches!(classify(failure(400, &body), None, "Channel.Create"), GraphError::Conflict(_)), "{code}");
        }
        let other = failure(400, r#"{"error":{"code":"BadRequest","message":"Invalid bind"}}"#);
        assert!(matches!(classify(other, None, "Channel.Create"), GraphError::BadRequest(_)));
    }

    #[test]
    fn forbidden_names_the_permission() {
        let f = failure(403, r#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges"}}"#);
        let e = classify(f, None, "Channel.Create");
        assert!(
            e.to_string()
                .contains("the app lacks the Graph application permission Channel.Create; grant it and admin-consent")
        );
    }

    #[test]
    fn a_body_that_is_not_json_keeps_the_status() {
        let f = GraphFailure::from_body(502, b"<html>bad gateway</html>", Some("hdr-id"));
        assert_eq!(f.code, "");
        assert_eq!(f.request_id.as_deref(), Some("hdr-id"));
        assert!(matches!(classify(f, None, ""), GraphError::Transient { status: Some(502), .. }));
    }

    #[test]
    fn gone_is_a_resync() {
        assert!(matches!(classify(failure(410, ""), None, ""), GraphError::ResyncRequired(_)));
    }
}
