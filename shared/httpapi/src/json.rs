//! A JSON request body that refuses clearly.
//!
//! * The content type must be `application/json` (or `application/*+json`); anything else,
//!   or none, is 415 `unsupported_media_type`. 415 rather than 400 because the fix is in the
//!   request's headers, not its content, and HTTP has a status for exactly that.
//! * A body over the limit is 413, whether `Content-Length` announces it or not.
//! * The body must be one JSON object; broken JSON, trailing data or another top-level value
//!   is 400 `invalid` without a field.
//! * A value of the wrong type or shape is 400 `invalid` with `field` set to its path
//!   (`tenantId`, `priorities[0]`); so is a missing required field.
//! * Unknown fields are refused when the target type says `#[serde(deny_unknown_fields)]`,
//!   which every write request should, so a misspelt field is a 400 naming it instead of a
//!   silent no-op.

use crate::ApiError;
use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::de::DeserializeOwned;

/// The largest body [`JsonBody`] accepts unless told otherwise: 64 KiB, far above any
/// management request and small enough that a Lambda never buffers much.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// Extracts and deserialises a JSON object body of at most `LIMIT` bytes; see the module docs
/// for what is refused and how. Rejections are [`ApiError`]s.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonBody<T, const LIMIT: usize = DEFAULT_BODY_LIMIT>(pub T);

impl<S, T, const LIMIT: usize> FromRequest<S> for JsonBody<T, LIMIT>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        check_content_type(req.headers())?;
        check_declared_length(req.headers(), LIMIT)?;
        let bytes = read_limited(req.into_body(), LIMIT).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let refused = || {
        ApiError::UnsupportedMediaType("send the body as JSON, with the header Content-Type: application/json".into())
    };
    let value = headers.get(header::CONTENT_TYPE).ok_or_else(refused)?;
    let value = value.to_str().map_err(|_| refused())?;
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let is_json = essence == "application/json"
        || essence.strip_prefix("application/").is_some_and(|subtype| subtype.ends_with("+json"));
    if is_json { Ok(()) } else { Err(refused()) }
}

/// Refuses an announced oversize body before reading any of it.
fn check_declared_length(headers: &HeaderMap, limit: usize) -> Result<(), ApiError> {
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(length) if length > limit as u64 => Err(ApiError::PayloadTooLarge { limit }),
        _ => Ok(()),
    }
}

async fn read_limited(body: Body, limit: usize) -> Result<axum::body::Bytes, ApiError> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(ApiError::PayloadTooLarge { limit }),
        Err(e) => Err(ApiError::invalid_request(format!("the request body could not be read: {e}"))),
    }
}

/// Deserialises one JSON object into `T`, with the errors described in the module docs.
/// Exposed for bodies that arrive another way than through the extractor.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        None => return Err(ApiError::invalid_request("the request body is empty; send a JSON object")),
        // serde would also read a struct from an array; nobody means that, so say so.
        Some(b'{') => {}
        Some(_) => return Err(ApiError::invalid_request("the request body must be a JSON object")),
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(from_serde)?;
    de.end()
        .map_err(|e| ApiError::invalid_request(format!("the request body is not valid JSON: {}", reason_of(&e))))?;
    Ok(value)
}

fn from_serde(e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = e.path().to_string();
    let inner = e.into_inner();
    if !inner.is_data() {
        return ApiError::invalid_request(format!("the request body is not valid JSON: {}", reason_of(&inner)));
    }
    let reason = reason_of(&inner);
    // serde reports a missing field at its parent's path; the client wants the field itself.
    let missing = reason.strip_prefix("missing field `").and_then(|rest| rest.split('`').next()).map(str::to_owned);
    let parent = (path != "." && path != "?").then_some(path);
    let field = match (parent, missing) {
        (Some(parent), Some(missing)) => Some(format!("{parent}.{missing}")),
        (None, Some(missing)) => Some(missing),
        (parent, None) => parent,
    };
    ApiError::Invalid { field, reason }
}

/// serde_json's message without its " at line L column C" suffix, which means nothing to a
/// client that has the field name.
fn reason_of(e: &serde_json::Error) -> String {
    let message = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    message.strip_suffix(&suffix).map(str::to_owned).unwrap_or(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Create {
        tenant_id: String,
        #[serde(default)]
        priorities: Vec<Prio>,
        inner: Option<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Inner {
        max_count: u8,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "UPPERCASE")]
    enum Prio {
        High,
        Low,
    }

    fn field_of(body: &str) -> (Option<String>, String) {
        match parse_json::<Create>(body.as_bytes()) {
            Err(ApiError::Invalid { field, reason }) => (field, reason),
            other => panic!("expected a 400 for {body}, got {other:?}"),
        }
    }

    #[test]
    fn accepts_a_valid_object() {
        let c: Create = parse_json(br#" {"tenantId":"t","priorities":["HIGH"],"inner":{"maxCount":3}} "#).unwrap();
        assert_eq!(c.tenant_id, "t");
        assert_eq!(c.priorities, vec![Prio::High]);
        assert_eq!(c.inner.map(|i| i.max_count), Some(3));
    }

    #[test]
    fn names_the_offending_field() {
        assert_eq!(field_of(r#"{"tenantId":5}"#).0.as_deref(), Some("tenantId"));
        let (field, reason) = field_of(r#"{"tenantId":"t","priorities":["HIGH","MEDIUM"]}"#);
        assert_eq!(field.as_deref(), Some("priorities[1]"));
        assert!(reason.contains("MEDIUM") && reason.contains("HIGH"), "{reason}");
        assert!(!reason.contains("line 1"), "position noise should be gone: {reason}");
        assert_eq!(field_of(r#"{"tenantId":"t","inner":{"maxCount":300}}"#).0.as_deref(), Some("inner.maxCount"));
    }

    #[test]
    fn names_missing_fields_themselves() {
        assert_eq!(field_of(r#"{"priorities":[]}"#).0.as_deref(), Some("tenantId"));
        assert_eq!(field_of(r#"{"tenantId":"t","inner":{}}"#).0.as_deref(), Some("inner.maxCount"));
    }

    #[test]
    fn refuses_unknown_fields_by_name() {
        let (field, reason) = field_of(r#"{"tenantId":"t","priorites":[]}"#);
        assert_eq!(field.as_deref(), Some("priorites"));
        assert!(reason.starts_with("unknown field `priorites`"), "{reason}");
        assert_eq!(field_of(r#"{"tenantId":"t","inner":{"maxCount":1,"x":1}}"#).0.as_deref(), Some("inner.x"));
    }

    #[test]
    fn refuses_what_is_not_one_json_object() {
        for body in
            ["", "   ", "[\"t\"]", "\"t\"", "{\"tenantId\":", "{\"tenantId\":\"t\"} trailing", "{\"tenantId\":\"t\"}{}"]
        {
            let (field, _) = field_of(body);
            assert_eq!(field, None, "{body:?}");
        }
    }

    async fn extract(content_type: Option<&str>, body: Vec<u8>) -> Result<JsonBody<Create, 64>, ApiError> {
        let mut builder = Request::builder().method("POST").uri("/");
        if let Some(ct) = content_type {
            builder = builder.header(header::CONTENT_TYPE, ct);
        }
        JsonBody::<Create, 64>::from_request(builder.body(Body::from(body)).unwrap(), &()).await
    }

    #[tokio::test]
    async fn checks_the_content_type() {
        let ok = br#"{"tenantId":"t"}"#.to_vec();
        assert!(extract(Some("application/json"), ok.clone()).await.is_ok());
        assert!(extract(Some("Application/JSON; charset=utf-8"), ok.clone()).await.is_ok());
        assert!(extract(Some("application/merge-patch+json"), ok.clone()).await.is_ok());
        for ct in [None, Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("json")] {
            let e = extract(ct, ok.clone()).await.unwrap_err();
            assert_eq!(e.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "{ct:?}");
        }
    }

    #[tokio::test]
    async fn refuses_bodies_over_the_limit() {
        let big = format!(r#"{{"tenantId":"{}"}}"#, "x".repeat(100)).into_bytes();
        let e = extract(Some("application/json"), big.clone()).await.unwrap_err();
        assert_eq!(e.status(), StatusCode::PAYLOAD_TOO_LARGE);

        // Also when the length is not announced up front (chunked).
        let stream = Body::from_stream(chunked(big));
        let req = Request::builder()
            .method("POST")
            .uri("/")
            .header(header::CONTENT_TYPE, "application/json")
            .body(stream)
            .unwrap();
        let e = JsonBody::<Create, 64>::from_request(req, &()).await.unwrap_err();
        assert_eq!(e.status(), StatusCode::PAYLOAD_TOO_LARGE);

        let e = ApiError::PayloadTooLarge { limit: 64 };
        assert_eq!(e.code(), "payload_too_large");
    }

    #[tokio::test]
    async fn announced_oversize_is_refused_before_reading() {
        let req = Request::builder()
            .method("POST")
            .uri("/")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_LENGTH, "1000000")
            .body(Body::empty())
            .unwrap();
        let e = JsonBody::<Create, 64>::from_request(req, &()).await.unwrap_err();
        assert_eq!(e.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }

    /// A body in 10-byte chunks with no size hint, as a chunked upload arrives.
    fn chunked(
        bytes: Vec<u8>,
    ) -> impl futures::Stream<Item = Result<axum::body::Bytes, std::io::Error>> + Send + 'static {
        let chunks: Vec<_> = bytes.chunks(10).map(|c| Ok(axum::body::Bytes::copy_from_slice(c))).collect();
        futures::stream::iter(chunks)
    }
}
