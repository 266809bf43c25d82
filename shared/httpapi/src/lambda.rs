//! Serving an axum router as a Lambda function behind API Gateway (HTTP API).

use crate::trace::CORRELATION_HEADERS;
use axum::Router;
use axum::http::{HeaderName, HeaderValue};
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use tower::ServiceExt;

/// Runs `router` on the Lambda runtime until the runtime stops. The router should already
/// carry its [`RequestSpanLayer`](crate::RequestSpanLayer); this only adapts events.
///
/// API Gateway passes its request id in the event's request context, not as a header; it is
/// copied into `x-amzn-requestid` (unless the request already has a correlation header) so
/// the request span's `correlation_id` matches API Gateway's access logs.
pub async fn run_lambda(router: Router) -> Result<(), lambda_http::Error> {
    lambda_http::run(router.map_request(with_request_id_header)).await
}

fn with_request_id_header(mut request: Request) -> Request {
    if CORRELATION_HEADERS.iter().any(|name| request.headers().contains_key(*name)) {
        return request;
    }
    let gateway_id = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.request_id.clone(),
        _ => None,
    };
    let id = gateway_id.or_else(|| request.lambda_context_ref().map(|c| c.request_id.clone()));
    if let Some(value) = id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        request.headers_mut().insert(HeaderName::from_static(CORRELATION_HEADERS[0]), value);
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;

    #[test]
    fn copies_the_gateway_request_id_into_a_header() {
        let mut context = ApiGatewayV2httpRequestContext::default();
        context.request_id = Some("abc-123".into());
        let request = Request::default().with_request_context(RequestContext::ApiGatewayV2(context));
        let request = with_request_id_header(request);
        assert_eq!(request.headers()["x-amzn-requestid"], "abc-123");
    }

    #[test]
    fn keeps_a_correlation_header_the_caller_sent() {
        let mut context = ApiGatewayV2httpRequestContext::default();
        context.request_id = Some("abc-123".into());
        let mut request = Request::default().with_request_context(RequestContext::ApiGatewayV2(context));
        request.headers_mut().insert("x-request-id", HeaderValue::from_static("mine"));
        let request = with_request_id_header(request);
        assert!(!request.headers().contains_key("x-amzn-requestid"));
    }
}
