//! Structured JSON logs for every function.
//!
//! Each line is one JSON object carrying the fields of the spans it happened in, so a handler
//! that enters [`request_span`] and records the tenant once gets `tenant_id` and
//! `correlation_id` on every line of that request. Secrets never reach a log: they live in
//! types that do not print (see the `config` and `secrets` crates) and headers are not logged.

use tracing::Span;
use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber once. The level comes from `RUST_LOG`, else Lambda's
/// `AWS_LAMBDA_LOG_LEVEL`, else `info`. Calling it again is harmless.
pub fn init(service: &'static str) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .or_else(|| std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().map(|l| l.to_ascii_lowercase()))
        .and_then(|spec| EnvFilter::try_new(spec).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let installed = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
        .with_target(false)
        .with_writer(std::io::stdout)
        .try_init()
        .is_ok();
    if installed {
        tracing::info!(service, "logging initialised");
    }
}

/// The span of one unit of work (an HTTP request, a queue message, a scheduled run).
/// `correlation_id` is the activity id, ilert event id or SQS message id; the tenant is
/// recorded once known with [`record_tenant`].
pub fn request_span(operation: &'static str, correlation_id: &str) -> Span {
    tracing::info_span!("request", operation, correlation_id, tenant_id = tracing::field::Empty)
}

/// Records the tenant on the current request span.
pub fn record_tenant(tenant_id: &str) {
    Span::current().record("tenant_id", tenant_id);
}
