//! What every HTTP function of the product shares, so each one answers the same way:
//!
//! * [`ApiError`]: the one error shape of our JSON APIs, `{"error": {"code", "message", "field"?}}`,
//!   with its status code; 5xx details go to the log, never to the caller.
//! * [`JsonBody`]: a JSON request body with a size cap and 400s that name the offending field.
//! * [`BearerAuth`] / [`require_bearer`]: `Authorization: Bearer …` checked in constant time.
//! * [`RequestSpanLayer`]: one `telemetry` request span (with a correlation id) per request.
//! * [`run_lambda`]: serves an axum [`Router`](axum::Router) as a Lambda function.
//! * [`no_route`] / [`method_not_allowed`]: JSON 404 and 405 answers for a router's gaps.
//!
//! This crate knows HTTP, axum and Lambda's HTTP adapter. It must not know any route, entity or
//! business rule: those belong to the functions and the `domain` crate.

mod auth;
mod error;
mod json;
mod lambda;
mod path;
mod trace;

pub use auth::{BearerAuth, bearer_token, require_bearer, verify_bearer};
pub use error::{ApiError, ApiResult, method_not_allowed, no_route};
pub use json::{DEFAULT_BODY_LIMIT, JsonBody, parse_json};
pub use lambda::run_lambda;
pub use path::Path;
pub use trace::{CORRELATION_HEADERS, CorrelationId, RequestSpan, RequestSpanLayer};
