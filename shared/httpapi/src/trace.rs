//! One request span per HTTP request, so every log line of it carries `correlation_id`.

use axum::http::{HeaderMap, HeaderName, HeaderValue, Request, Response};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;
use tower::{Layer, Service};
use tracing::Instrument;

/// Headers a correlation id is taken from, in order: API Gateway's request id (which
/// [`run_lambda`](crate::run_lambda) fills in from the request context), then the common
/// `x-request-id` a proxy or client may send. The id is echoed back in `x-request-id`.
pub const CORRELATION_HEADERS: [&str; 2] = ["x-amzn-requestid", "x-request-id"];

/// The request's correlation id, in the request extensions for handlers that pass it on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrelationId(pub String);

/// Wraps each request in `telemetry::request_span(operation, correlation_id)` and logs one
/// line when it finishes (method, path, status, duration). The query string and headers are
/// never logged: they may carry secrets.
#[derive(Debug, Clone, Copy)]
pub struct RequestSpanLayer {
    operation: &'static str,
}

impl RequestSpanLayer {
    /// `operation` names the function in every line, e.g. `management-api`.
    pub fn new(operation: &'static str) -> Self {
        Self { operation }
    }
}

impl<S> Layer<S> for RequestSpanLayer {
    type Service = RequestSpan<S>;

    fn layer(&self, inner: S) -> RequestSpan<S> {
        RequestSpan { inner, operation: self.operation }
    }
}

/// The service [`RequestSpanLayer`] makes.
#[derive(Debug, Clone)]
pub struct RequestSpan<S> {
    inner: S,
    operation: &'static str,
}

impl<S, B, RB> Service<Request<B>> for RequestSpan<S>
where
    S: Service<Request<B>, Response = Response<RB>>,
    S::Future: Send + 'static,
{
    type Response = Response<RB>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<RB>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let correlation_id = correlation_id(request.headers());
        let span = telemetry::request_span(self.operation, &correlation_id);
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        request.extensions_mut().insert(CorrelationId(correlation_id.clone()));
        let future = span.in_scope(|| self.inner.call(request));
        let started = Instant::now();
        Box::pin(
            async move {
                let mut result = future.await;
                if let Ok(response) = &mut result {
                    let status = response.status().as_u16();
                    let duration_ms = started.elapsed().as_millis() as u64;
                    tracing::info!(%method, path, status, duration_ms, "request finished");
                    if let Ok(value) = HeaderValue::from_str(&correlation_id) {
                        response.headers_mut().entry(HeaderName::from_static("x-request-id")).or_insert(value);
                    }
                }
                result
            }
            .instrument(span),
        )
    }
}

/// The caller's correlation id if it sent a sane one, else a fresh one.
fn correlation_id(headers: &HeaderMap) -> String {
    CORRELATION_HEADERS
        .iter()
        .filter_map(|name| headers.get(*name)?.to_str().ok())
        .map(str::trim)
        // Bounded and printable, so a hostile header cannot bloat or break log lines.
        .find(|id| !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    async fn echo(axum::Extension(id): axum::Extension<CorrelationId>) -> String {
        id.0
    }

    fn app() -> Router {
        Router::new().route("/", get(echo)).layer(RequestSpanLayer::new("test"))
    }

    async fn call(headers: &[(&str, &str)]) -> (String, String) {
        let mut req = Request::get("/");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let response = app().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
        let echoed = response.headers()["x-request-id"].to_str().unwrap().to_owned();
        let body = axum::body::to_bytes(response.into_body(), 1024).await.unwrap();
        (String::from_utf8(body.to_vec()).unwrap(), echoed)
    }

    #[tokio::test]
    async fn takes_the_gateway_request_id_first() {
        let (id, echoed) = call(&[("x-request-id", "proxy-1"), ("x-amzn-requestid", "apigw-1")]).await;
        assert_eq!(id, "apigw-1");
        assert_eq!(echoed, "apigw-1");
        assert_eq!(call(&[("x-request-id", "proxy-1")]).await.0, "proxy-1");
    }

    #[tokio::test]
    async fn generates_one_when_absent_or_unusable() {
        let (id, echoed) = call(&[]).await;
        assert_eq!(id.len(), 36);
        assert_eq!(id, echoed);
        let long = "x".repeat(500);
        assert_ne!(call(&[("x-request-id", &long)]).await.0, long);
        assert_ne!(call(&[("x-request-id", "a b")]).await.0, "a b");
    }
}
