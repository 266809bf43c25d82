//! Microsoft Entra ID's token endpoint (`login.microsoftonline.com`), enough for the
//! client-credentials grant: `POST /{tenant}/oauth2/v2.0/token` with a form body
//! (`grant_type`, `client_id`, `client_secret`, `scope`) answered as Entra does:
//! `{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"…"}`,
//! or `{"error","error_description"}` with AADSTS codes.
//!
//! State: registered apps (id → secret) and every token issued, so the connector and Graph
//! simulators can check a bearer token with [`LoginSim::check`]. Faults: a fixed number of
//! failures with a chosen status, latency, and short token lifetimes.

use crate::Running;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Who a token was issued to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub tenant: String,
    pub client_id: String,
    pub scope: String,
    expires: Instant,
}

#[derive(Default)]
struct Inner {
    apps: HashMap<String, String>,
    issued: HashMap<String, TokenInfo>,
    requests: usize,
    fail_next: Vec<u16>,
    latency: Duration,
    expires_in: Option<u64>,
}

/// A running login simulator. Cheap to clone; all clones share state.
#[derive(Clone)]
pub struct LoginSim {
    inner: Arc<Mutex<Inner>>,
    server: Arc<Running>,
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    scope: Option<String>,
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = json!({
        "error": error,
        "error_description": format!("{description}\r\nTrace ID: {}\r\nCorrelation ID: {}", uuid::Uuid::new_v4(), uuid::Uuid::new_v4()),
        "error_codes": [description.get(6..13).and_then(|c| c.parse::<u64>().ok()).unwrap_or(0)],
        "timestamp": chrono::Utc::now().to_rfc3339(),
    });
    (status, Json(body)).into_response()
}

type Shared = Arc<Mutex<Inner>>;

async fn token(State(shared): State<Shared>, Path(tenant): Path<String>, Form(form): Form<TokenForm>) -> Response {
    let (latency, failure) = {
        let mut inner = shared.lock().unwrap();
        inner.requests += 1;
        let failure = if inner.fail_next.is_empty() { None } else { Some(inner.fail_next.remove(0)) };
        (inner.latency, failure)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if let Some(status) = failure {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return oauth_error(status, "temporarily_unavailable", "AADSTS50196: The server is temporarily unavailable.");
    }
    if form.grant_type.as_deref() != Some("client_credentials") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "AADSTS70003: The app requested an unsupported grant type.",
        );
    }
    let Some(scope) = form.scope.filter(|s| s.ends_with("/.default")) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "AADSTS1002012: The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.",
        );
    };
    let client_id = form.client_id.unwrap_or_default();
    let mut inner = shared.lock().unwrap();
    match inner.apps.get(&client_id) {
        None => oauth_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "AADSTS700016: Application was not found in the directory.",
        ),
        Some(secret) if Some(secret) != form.client_secret.as_ref() => oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
        ),
        Some(_) => {
            let expires_in = inner.expires_in.unwrap_or(3599);
            let access_token = format!("sim.{}", uuid::Uuid::new_v4().simple());
            let info =
                TokenInfo { tenant, client_id, scope, expires: Instant::now() + Duration::from_secs(expires_in) };
            inner.issued.insert(access_token.clone(), info);
            Json(json!({
                "token_type": "Bearer",
                "expires_in": expires_in,
                "ext_expires_in": expires_in,
                "access_token": access_token,
            }))
            .into_response()
        }
    }
}

impl LoginSim {
    pub async fn start() -> LoginSim {
        let inner: Shared = Arc::new(Mutex::new(Inner::default()));
        let router = Router::new().route("/{tenant}/oauth2/v2.0/token", post(token)).with_state(inner.clone());
        let server = Arc::new(Running::serve(router).await);
        LoginSim { inner, server }
    }

    /// Base URL, to use as `MICROSOFT_LOGIN_URL`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Makes `client_id` a known app with this secret.
    pub fn register_app(&self, client_id: &str, secret: &str) {
        self.inner.lock().unwrap().apps.insert(client_id.to_owned(), secret.to_owned());
    }

    /// Token requests received so far.
    pub fn token_requests(&self) -> usize {
        self.inner.lock().unwrap().requests
    }

    /// The next `count` token requests fail with `status`.
    pub fn fail_next(&self, count: usize, status: u16) {
        self.inner.lock().unwrap().fail_next.extend(std::iter::repeat_n(status, count));
    }

    pub fn set_latency(&self, latency: Duration) {
        self.inner.lock().unwrap().latency = latency;
    }

    /// Lifetime of tokens issued from now on, in seconds.
    pub fn set_expires_in(&self, seconds: u64) {
        self.inner.lock().unwrap().expires_in = Some(seconds);
    }

    /// Who holds `token`, if it is live and was issued for `scope`.
    pub fn check(&self, token: &str, scope: &str) -> Option<TokenInfo> {
        let inner = self.inner.lock().unwrap();
        inner.issued.get(token).filter(|i| i.scope == scope && i.expires > Instant::now()).cloned()
    }

    /// Checks an `Authorization` header value (`Bearer …`).
    pub fn check_header(&self, header: Option<&str>, scope: &str) -> Option<TokenInfo> {
        header.and_then(|h| h.strip_prefix("Bearer ")).and_then(|t| self.check(t, scope))
    }
}
